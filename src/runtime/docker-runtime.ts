/**
 * DockerRuntime: the Runtime port on a Docker Engine (API 1.41) reached over its unix socket.
 * It owns the choice of endpoints and how their statuses and streams mean success or failure;
 * the wire shapes live in docker-mapping.ts and the HTTP plumbing in docker-engine-client.ts.
 * It never invents state: everything it returns was just read from the engine.
 */
import { silentLogger, type Logger } from "../core/logger.ts";
import { DockerEngineClient, LogDemuxer, engineError, readLines, type EngineRequest } from "./docker-engine-client.ts";
import { type LogFileRead, readJsonLogFile } from "./docker-log-file.ts";
import {
  containerState,
  createBody,
  engineTimestamp,
  imageInfo,
  logTimeParser,
  pullParams,
  refPath,
  runtimeEvent,
  type EventJson,
} from "./docker-mapping.ts";
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

const EVENT_FILTERS = JSON.stringify({
  type: ["container"],
  event: ["start", "die", "oom", "health_status", "destroy", "stop", "kill"],
});
const BRIDGE_NAME_OPTION = "com.docker.network.bridge.name";
const RECONNECT_MIN_MS = 250;
const RECONNECT_MAX_MS = 5_000;

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

  async events(onEvent: (event: RuntimeEvent) => void, signal: AbortSignal): Promise<void> {
    // Resume point: the engine replays buffered events at or after `since`, so the first
    // connection also catches events between this call and the subscription.
    let sinceMs = Date.now();
    let seenAtSince = new Set<string>();
    let delay = RECONNECT_MIN_MS;
    while (!signal.aborted) {
      try {
        const res = await this.client.open({
          method: "GET",
          path: "/events",
          query: { since: engineTimestamp(sinceMs), filters: EVENT_FILTERS },
          signal,
          timeoutMs: 0,
        });
        if (res.statusCode !== 200) {
          const chunks: Buffer[] = [];
          for await (const c of res) chunks.push(c as Buffer);
          throw engineError({ status: res.statusCode ?? 0, body: Buffer.concat(chunks) }, "events");
        }
        delay = RECONNECT_MIN_MS;
        await readLines(
          res,
          (line) => {
            if (line.trim().length === 0) return;
            const json = JSON.parse(line) as EventJson;
            const timeMs = json.timeNano !== undefined ? Math.floor(json.timeNano / 1e6) : (json.time ?? 0) * 1000;
            const key = `${json.timeNano}/${json.Actor?.ID ?? json.id}/${json.Action ?? json.status}`;
            // Replays after a reconnect repeat what was delivered at the resume millisecond.
            if (timeMs < sinceMs || (timeMs === sinceMs && seenAtSince.has(key))) return;
            if (timeMs > sinceMs) {
              sinceMs = timeMs;
              seenAtSince = new Set();
            }
            seenAtSince.add(key);
            const event = runtimeEvent(json);
            if (event !== undefined) onEvent(event);
          },
          signal,
        );
        if (!signal.aborted) this.logger.warn("docker event stream ended; reconnecting", { delayMs: delay });
      } catch (err) {
        if (signal.aborted) break;
        // The engine may be restarting: keep trying; callers resync after gaps anyway.
        this.logger.warn("docker event stream failed; reconnecting", { error: String(err), delayMs: delay });
      }
      await sleep(delay, signal);
      delay = Math.min(delay * 2, RECONNECT_MAX_MS);
    }
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

  async logs(containerId: string, options: LogsOptions, onLine: LogLineHandler): Promise<void> {
    const inspected = await this.client.json<{ Config?: { Tty?: boolean }; LogPath?: string; HostConfig?: { LogConfig?: { Type?: string } } }>(
      { method: "GET", path: `/containers/${id(containerId)}/json` },
      `logs ${containerId}`,
    );
    const tty = inspected.value.Config?.Tty === true;
    const logPath = inspected.value.LogPath;
    if (this.logFiles && logPath && inspected.value.HostConfig?.LogConfig?.Type === "json-file") {
      const read: LogFileRead = { path: logPath, follow: options.follow === true, tty, running: async () => (await this.inspectContainer(containerId))?.running === true };
      if (options.since !== undefined) read.since = options.since;
      if (options.signal !== undefined) read.signal = options.signal;
      const fromFile = await readJsonLogFile(read, onLine).catch((err: unknown) => {
        throw new RuntimeError(RuntimeErrorKind.Unavailable, `logs ${containerId}: ${String(err)}`, 0, { cause: err });
      });
      if (fromFile) return;
      this.logger.info("log file not readable here; using the logs endpoint", { containerId, logPath });
    }
    const req: EngineRequest = {
      method: "GET",
      path: `/containers/${id(containerId)}/logs`,
      query: {
        stdout: true,
        stderr: true,
        timestamps: true,
        follow: options.follow === true,
        since: options.since === undefined ? undefined : engineTimestamp(options.since),
      },
    };
    if (options.follow === true) req.timeoutMs = 0;
    if (options.signal !== undefined) req.signal = options.signal;
    let res;
    try {
      res = await this.client.open(req);
    } catch (err) {
      if (options.signal?.aborted === true) return;
      throw err;
    }
    if (res.statusCode !== 200) {
      const chunks: Buffer[] = [];
      for await (const c of res) chunks.push(c as Buffer);
      throw engineError({ status: res.statusCode ?? 0, body: Buffer.concat(chunks) }, `logs ${containerId}`);
    }
    const parseTime = logTimeParser();
    const demux = new LogDemuxer((stream, raw) => {
      // Each line is "<RFC 3339 nano timestamp> <text>"; TTY output ends lines with "\r\n".
      const space = raw.indexOf(" ");
      const timeMs = space > 0 ? parseTime(raw.slice(0, space)) : undefined;
      const text = timeMs === undefined ? raw : raw.slice(space + 1);
      onLine(stream, tty ? text.replace(/\r$/, "") : text, timeMs ?? 0);
    });
    try {
      for await (const chunk of res) {
        if (tty) demux.pushRaw(chunk as Buffer);
        else demux.push(chunk as Buffer);
      }
    } catch (err) {
      if (options.signal?.aborted !== true) {
        throw new RuntimeError(RuntimeErrorKind.Unavailable, `logs ${containerId}: ${String(err)}`, 0, { cause: err });
      }
    }
    demux.end();
  }

  /** Runs a request whose answer is a JSON-lines progress stream that reports errors inline. */
  private async streamJson(req: EngineRequest, what: string, kind: RuntimeErrorKind): Promise<void> {
    const res = await this.client.open(req);
    const chunks: Buffer[] = [];
    if (res.statusCode !== 200) {
      for await (const c of res) chunks.push(c as Buffer);
      throw engineError({ status: res.statusCode ?? 0, body: Buffer.concat(chunks) }, what, kind);
    }
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

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(done, ms);
    function done(): void {
      clearTimeout(timer);
      signal.removeEventListener("abort", done);
      resolve();
    }
    signal.addEventListener("abort", done, { once: true });
  });
}
