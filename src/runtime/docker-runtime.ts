/**
 * DockerRuntime: the Runtime port on a Docker Engine (API 1.41) reached over its unix socket.
 * It owns the choice of endpoints and how their statuses and streams mean success or failure;
 * the wire shapes live in docker-mapping.ts, the HTTP plumbing in docker-engine-client.ts, log
 * reading in docker-logs.ts and the event stream with its reconnects in docker-events.ts.
 * It never invents state: everything it returns was just read from the engine.
 */
import { silentLogger, type Logger } from "../core/logger.ts";
import { DockerEngineClient, engineError, expectStreamOk, readLines, type EngineRequest } from "./docker-engine-client.ts";
import { followEngineEvents } from "./docker-events.ts";
import { readContainerLogs } from "./docker-logs.ts";
import { containerState, createBody, imageInfo, pullParams, refPath } from "./docker-mapping.ts";
import {
  RuntimeError,
  RuntimeErrorKind,
  type ContainerSpec,
  type ContainerState,
  type ImageInfo,
  type LogLineHandler,
  type LogsOptions,
  type NetworkInfo,
  type NetworkOptions,
  type RegistryAuth,
  type Runtime,
  type RuntimeEvent,
  type RuntimeInfo,
  type VolumeOptions,
} from "./runtime.ts";

export interface DockerRuntimeOptions {
  /** Default /var/run/docker.sock. */
  socketPath?: string;
  logger?: Logger;
  /** Answer timeout for ordinary calls (not pulls, builds or streams). Default 60 s. */
  timeoutMs?: number;
  /**
   * Read json-file logs from the file the engine writes when this host can open it (the
   * default), instead of through the engine's logs endpoint. See docker-log-file.ts.
   */
  logFiles?: boolean;
}

const BRIDGE_NAME_OPTION = "com.docker.network.bridge.name";

const id = (value: string): string => encodeURIComponent(value);

export class DockerRuntime implements Runtime {
  private readonly client: DockerEngineClient;
  private readonly logger: Logger;
  private readonly logFiles: boolean;

  constructor(options: DockerRuntimeOptions = {}) {
    this.client = new DockerEngineClient(options.socketPath ?? "/var/run/docker.sock", options.timeoutMs);
    this.logger = options.logger ?? silentLogger;
    this.logFiles = options.logFiles ?? true;
  }

  /** Releases idle sockets; the runtime stays usable (new calls open new ones). */
  close(): void {
    this.client.close();
  }

  async ping(): Promise<void> {
    const res = await this.client.request({ method: "GET", path: "/_ping", timeoutMs: 5_000 });
    if (res.status !== 200) throw engineError(res, "ping", RuntimeErrorKind.Unavailable);
  }

  async info(): Promise<RuntimeInfo> {
    const { value } = await this.client.json<{
      NCPU: number;
      MemTotal: number;
      OSType: string;
      Architecture: string;
      ServerVersion: string;
      Name: string;
    }>({ method: "GET", path: "/info" }, "info");
    return {
      cpus: value.NCPU,
      memoryMiB: Math.floor(value.MemTotal / (1024 * 1024)),
      os: value.OSType,
      arch: value.Architecture,
      serverVersion: value.ServerVersion,
      hostname: value.Name,
    };
  }

  async inspectImage(ref: string): Promise<ImageInfo | undefined> {
    const res = await this.client.request({ method: "GET", path: `/images/${refPath(ref)}/json` });
    if (res.status === 404) return undefined;
    if (res.status !== 200) throw engineError(res, `inspect image ${ref}`);
    return imageInfo(JSON.parse(res.body.toString("utf8")));
  }

  async pullImage(ref: string, auth?: RegistryAuth): Promise<void> {
    const headers: Record<string, string> = {};
    if (auth !== undefined) {
      // The engine decodes base64 with the URL alphabet and padding kept.
      headers["X-Registry-Auth"] = Buffer.from(JSON.stringify(auth)).toString("base64").replace(/\+/g, "-").replace(/\//g, "_");
    }
    const what = `pull ${ref}`;
    await this.streamJson(
      { method: "POST", path: "/images/create", query: pullParams(ref), headers, timeoutMs: 0 },
      what,
      RuntimeErrorKind.PullFailed,
    );
  }

  async buildImage(contextTar: Buffer, tag: string): Promise<void> {
    await this.streamJson(
      {
        method: "POST",
        path: "/build",
        query: { t: tag, rm: true, forcerm: true },
        headers: { "Content-Type": "application/x-tar" },
        body: contextTar,
        timeoutMs: 0,
      },
      `build ${tag}`,
      RuntimeErrorKind.Failed,
    );
  }

  async createContainer(spec: ContainerSpec): Promise<string> {
    const { value } = await this.client.json<{ Id: string; Warnings?: string[] | null }>(
      { method: "POST", path: "/containers/create", query: { name: spec.name }, body: createBody(spec) },
      `create container ${spec.name}`,
    );
    for (const warning of value.Warnings ?? []) {
      this.logger.warn("docker warned on container create", { name: spec.name, warning });
    }
    return value.Id;
  }

  async startContainer(containerId: string): Promise<void> {
    // 304: already running.
    await this.client.json({ method: "POST", path: `/containers/${id(containerId)}/start` }, `start ${containerId}`, [304]);
  }

  async stopContainer(containerId: string, timeoutSec: number): Promise<void> {
    // 304: already stopped. The engine answers only once the container is down.
    await this.client.json(
      {
        method: "POST",
        path: `/containers/${id(containerId)}/stop`,
        query: { t: timeoutSec },
        timeoutMs: (timeoutSec + 60) * 1000,
      },
      `stop ${containerId}`,
      [304],
    );
  }

  async killContainer(containerId: string, signal: string): Promise<void> {
    await this.client.json(
      { method: "POST", path: `/containers/${id(containerId)}/kill`, query: { signal } },
      `kill ${containerId}`,
    );
  }

  async removeContainer(containerId: string, options: { force?: boolean; volumes?: boolean } = {}): Promise<void> {
    const res = await this.client.request({
      method: "DELETE",
      path: `/containers/${id(containerId)}`,
      query: { force: options.force, v: options.volumes },
    });
    if (res.status === 404 || (res.status >= 200 && res.status < 300)) return;
    throw engineError(res, `remove ${containerId}`);
  }

  async inspectContainer(containerId: string): Promise<ContainerState | undefined> {
    const res = await this.client.request({ method: "GET", path: `/containers/${id(containerId)}/json` });
    if (res.status === 404) return undefined;
    if (res.status !== 200) throw engineError(res, `inspect ${containerId}`);
    return containerState(JSON.parse(res.body.toString("utf8")));
  }

  async listContainers(labels: Record<string, string>): Promise<ContainerState[]> {
    const filters = JSON.stringify({ label: Object.entries(labels).map(([k, v]) => `${k}=${v}`) });
    const { value } = await this.client.json<{ Id: string }[]>(
      { method: "GET", path: "/containers/json", query: { all: true, filters } },
      "list containers",
    );
    const states = await Promise.all(value.map((c) => this.inspectContainer(c.Id)));
    return states.filter((s): s is ContainerState => s !== undefined);
  }

  events(onEvent: (event: RuntimeEvent) => void, signal: AbortSignal): Promise<void> {
    return followEngineEvents(this.client, this.logger, onEvent, signal);
  }

  async stats(containerId: string): Promise<Record<string, unknown>> {
    const { value } = await this.client.json<Record<string, unknown>>(
      { method: "GET", path: `/containers/${id(containerId)}/stats`, query: { stream: false } },
      `stats ${containerId}`,
    );
    return value;
  }

  async createNetwork(name: string, options: NetworkOptions = {}): Promise<string> {
    const existing = await this.inspectNetwork(name);
    if (existing !== undefined) return existing.id;
    const body = {
      Name: name,
      CheckDuplicate: true,
      Driver: "bridge",
      Labels: options.labels,
      IPAM:
        options.subnet === undefined
          ? undefined
          : { Driver: "default", Config: [{ Subnet: options.subnet, Gateway: options.gateway }] },
      Options: options.bridgeName === undefined ? undefined : { [BRIDGE_NAME_OPTION]: options.bridgeName },
    };
    const res = await this.client.request({ method: "POST", path: "/networks/create", body });
    if (res.status === 201) return (JSON.parse(res.body.toString("utf8")) as { Id: string }).Id;
    // 409: someone created it between our inspect and create; theirs is as good as ours.
    const raced = res.status === 409 ? await this.inspectNetwork(name) : undefined;
    if (raced !== undefined) return raced.id;
    throw engineError(res, `create network ${name}`);
  }

  async removeNetwork(name: string): Promise<void> {
    const res = await this.client.request({ method: "DELETE", path: `/networks/${id(name)}` });
    if (res.status === 404 || (res.status >= 200 && res.status < 300)) return;
    throw engineError(res, `remove network ${name}`);
  }

  async inspectNetwork(name: string): Promise<NetworkInfo | undefined> {
    const res = await this.client.request({ method: "GET", path: `/networks/${id(name)}` });
    if (res.status === 404) return undefined;
    if (res.status !== 200) throw engineError(res, `inspect network ${name}`);
    const json = JSON.parse(res.body.toString("utf8")) as {
      Id: string;
      Name: string;
      Driver: string;
      IPAM?: { Config?: { Subnet?: string; Gateway?: string }[] | null };
      Options?: Record<string, string> | null;
    };
    // The engine also matches id prefixes; only an exact name (or id) counts here.
    if (json.Name !== name && json.Id !== name) return undefined;
    const info: NetworkInfo = { id: json.Id };
    const ipam = json.IPAM?.Config?.[0];
    if (ipam?.Subnet) info.subnet = ipam.Subnet;
    if (ipam?.Gateway) info.gateway = ipam.Gateway;
    const bridge = json.Options?.[BRIDGE_NAME_OPTION];
    if (bridge) info.bridgeName = bridge;
    else if (json.Driver === "bridge") info.bridgeName = `br-${json.Id.slice(0, 12)}`;
    return info;
  }

  async createVolume(name: string, options: VolumeOptions = {}): Promise<void> {
    await this.client.json(
      {
        method: "POST",
        path: "/volumes/create",
        body: { Name: name, Driver: options.driver, Labels: options.labels, DriverOpts: options.driverOpts },
      },
      `create volume ${name}`,
    );
  }

  async removeVolume(name: string): Promise<void> {
    const res = await this.client.request({ method: "DELETE", path: `/volumes/${id(name)}` });
    if (res.status === 404 || (res.status >= 200 && res.status < 300)) return;
    throw engineError(res, `remove volume ${name}`);
  }

  logs(containerId: string, options: LogsOptions, onLine: LogLineHandler): Promise<void> {
    const source = {
      client: this.client,
      logger: this.logger,
      logFiles: this.logFiles,
      running: async (cid: string) => (await this.inspectContainer(cid))?.running === true,
    };
    return readContainerLogs(source, containerId, options, onLine);
  }

  /** Runs a request whose answer is a JSON-lines progress stream that reports errors inline. */
  private async streamJson(req: EngineRequest, what: string, kind: RuntimeErrorKind): Promise<void> {
    const res = await this.client.open(req);
    await expectStreamOk(res, what, kind);
    let failure: string | undefined;
    try {
      await readLines(res, (line) => {
        if (line.trim().length === 0) return;
        const msg = JSON.parse(line) as { error?: string; errorDetail?: { message?: string } };
        if (msg.error !== undefined || msg.errorDetail !== undefined) failure ??= msg.errorDetail?.message ?? msg.error;
      });
    } catch (err) {
      throw new RuntimeError(RuntimeErrorKind.Unavailable, `${what}: ${String(err)}`, 0, { cause: err });
    }
    if (failure !== undefined) throw new RuntimeError(kind, `${what}: ${failure}`, res.statusCode);
  }
}
