/**
 * Translation between the Runtime port's shapes and the Docker Engine API 1.41 wire shapes:
 * ContainerSpec → container create body, container inspect → ContainerState, event message
 * → RuntimeEvent, image inspect → ImageInfo. Pure functions; no I/O.
 */
import type {
  ContainerSpec,
  ContainerState,
  ContainerStatus,
  HealthCheckSpec,
  HealthStatus,
  ImageInfo,
  PortBinding,
  PortMapping,
  RuntimeEvent,
  RuntimeEventType,
} from "./runtime.ts";

const MIB = 1024 * 1024;
const NS_PER_MS = 1_000_000;

/** Network modes that are not user-defined networks (no aliases or static IPs there). */
function isUserNetwork(mode: string): boolean {
  return !["bridge", "host", "none", "default"].includes(mode) && !mode.startsWith("container:");
}

/** The body of POST /containers/create. */
export function createBody(spec: ContainerSpec): Record<string, unknown> {
  const { exposed, bindings } = portMaps(spec.ports ?? []);
  const endpoint = endpointConfig(spec);
  return {
    Image: spec.image,
    Labels: spec.labels,
    Cmd: spec.cmd,
    Entrypoint: spec.entrypoint,
    Env: spec.env,
    WorkingDir: spec.workingDir,
    User: spec.user,
    Hostname: spec.hostname,
    ExposedPorts: exposed,
    Healthcheck: spec.healthCheck === undefined ? undefined : healthcheck(spec.healthCheck),
    StopSignal: spec.stopSignal,
    StopTimeout: spec.stopTimeoutSec,
    HostConfig: hostConfig(spec, bindings),
    NetworkingConfig: endpoint === undefined ? undefined : { EndpointsConfig: { [spec.networkMode]: endpoint } },
  };
}

type EngineBindings = Record<string, { HostIp: string; HostPort: string }[]>;

/** The create body's ExposedPorts and HostConfig.PortBindings, keyed "port/protocol". */
function portMaps(ports: readonly PortMapping[]): { exposed: Record<string, object>; bindings: EngineBindings } {
  const exposed: Record<string, object> = {};
  const bindings: EngineBindings = {};
  for (const p of ports) {
    const key = `${p.containerPort}/${p.protocol}`;
    exposed[key] = {};
    (bindings[key] ??= []).push({
      HostIp: p.hostIp ?? "",
      // "" asks the engine for a dynamic port.
      HostPort: p.hostPort !== undefined && p.hostPort > 0 ? String(p.hostPort) : "",
    });
  }
  return { exposed, bindings };
}

/** The create body's HostConfig: resources, privileges, mounts, DNS and the log driver. */
function hostConfig(spec: ContainerSpec, bindings: EngineBindings): Record<string, unknown> {
  return {
    NetworkMode: spec.networkMode,
    PortBindings: bindings,
    Memory: spec.memoryMiB === undefined ? undefined : spec.memoryMiB * MIB,
    MemoryReservation: spec.memoryReservationMiB === undefined ? undefined : spec.memoryReservationMiB * MIB,
    CpuShares: spec.cpuShares,
    NanoCpus: spec.nanoCpus,
    PidsLimit: spec.pidsLimit,
    Init: spec.init,
    CapAdd: spec.capAdd,
    CapDrop: spec.capDrop,
    Privileged: spec.privileged,
    ReadonlyRootfs: spec.readonlyRootfs,
    Tmpfs: spec.tmpfs,
    ShmSize: spec.shmSizeMiB === undefined ? undefined : spec.shmSizeMiB * MIB,
    Ulimits: spec.ulimits?.map((u) => ({ Name: u.name, Soft: u.soft, Hard: u.hard })),
    ExtraHosts: spec.extraHosts,
    Dns: spec.dns,
    DnsSearch: spec.dnsSearch,
    Binds: spec.binds,
    Mounts: spec.mounts?.map((m) => ({
      Type: m.type,
      Source: m.type === "tmpfs" ? "" : m.source,
      Target: m.target,
      ReadOnly: m.readOnly,
    })),
    VolumesFrom: spec.volumesFrom,
    Sysctls: spec.sysctls,
    LogConfig: spec.logDriver === undefined ? undefined : { Type: spec.logDriver.type, Config: spec.logDriver.config },
    SecurityOpt: spec.securityOpt,
  };
}

/** The engine's Healthcheck: durations in nanoseconds. */
function healthcheck(hc: HealthCheckSpec): Record<string, unknown> {
  return {
    Test: hc.test,
    Interval: hc.intervalMs * NS_PER_MS,
    Timeout: hc.timeoutMs * NS_PER_MS,
    Retries: hc.retries,
    StartPeriod: hc.startPeriodMs * NS_PER_MS,
  };
}

/** The endpoint settings for a user-defined network (aliases, a static IP), or undefined when there are none. */
function endpointConfig(spec: ContainerSpec): Record<string, unknown> | undefined {
  if (!isUserNetwork(spec.networkMode) || (spec.networkAliases === undefined && spec.ipv4Address === undefined)) return undefined;
  return {
    Aliases: spec.networkAliases,
    IPAMConfig: spec.ipv4Address === undefined ? undefined : { IPv4Address: spec.ipv4Address },
  };
}

/** Docker's RFC 3339 times with nanoseconds → epoch ms; the zero time "0001-01-01…" → undefined. */
export function parseEngineTime(value: unknown): number | undefined {
  if (typeof value !== "string" || value.length === 0 || value.startsWith("0001-01-01")) return undefined;
  const ms = Date.parse(value.replace(/(\.\d{3})\d+/, "$1"));
  return Number.isNaN(ms) ? undefined : ms;
}

/**
 * parseEngineTime for a stream of log timestamps ("2026-11-28T17:51:30.123456789Z", UTC, the
 * fraction trimmed of trailing zeros): the seconds part is parsed once per second and the
 * fraction by hand, since a busy container has thousands of lines a second. Other shapes go
 * to parseEngineTime.
 */
export function logTimeParser(): (value: string) => number | undefined {
  let second = "";
  let secondMs = 0;
  return (value) => {
    if (value.length < 20 || value.charCodeAt(value.length - 1) !== 90 /* Z */ || value.charCodeAt(10) !== 84 /* T */) return parseEngineTime(value);
    const head = value.slice(0, 19);
    if (head !== second) {
      const ms = Date.parse(`${head}Z`);
      if (Number.isNaN(ms)) return parseEngineTime(value);
      [second, secondMs] = [head, ms];
    }
    if (value.length === 20) return secondMs;
    if (value.charCodeAt(19) !== 46 /* . */) return parseEngineTime(value);
    let fraction = 0;
    for (let i = 20, scale = 100; i < 23 && i < value.length - 1; i++, scale /= 10) {
      const digit = value.charCodeAt(i) - 48;
      if (digit < 0 || digit > 9) return parseEngineTime(value);
      fraction += digit * scale;
    }
    return secondMs + fraction;
  };
}

/** Epoch ms → the "seconds.nanoseconds" form the engine accepts for `since`. */
export function engineTimestamp(ms: number): string {
  const seconds = Math.floor(ms / 1000);
  const nanos = Math.round((ms - seconds * 1000) * NS_PER_MS);
  return `${seconds}.${String(nanos).padStart(9, "0")}`;
}

interface InspectJson {
  Id: string;
  Name?: string;
  Image?: string;
  Created?: string;
  Config?: { Image?: string; Labels?: Record<string, string> | null; Tty?: boolean };
  State?: {
    Status?: string;
    Running?: boolean;
    OOMKilled?: boolean;
    Pid?: number;
    ExitCode?: number;
    Error?: string;
    StartedAt?: string;
    FinishedAt?: string;
    Health?: { Status?: string };
  };
  NetworkSettings?: {
    Ports?: Record<string, { HostIp: string; HostPort: string }[] | null> | null;
    Networks?: Record<string, { IPAddress?: string; Gateway?: string }> | null;
  };
}

function healthOf(value: string | undefined): HealthStatus | undefined {
  return value === "starting" || value === "healthy" || value === "unhealthy" ? value : undefined;
}

/** GET /containers/{id}/json → ContainerState. */
export function containerState(json: InspectJson): ContainerState {
  const state = json.State ?? {};
  const ports: PortBinding[] = [];
  for (const [key, list] of Object.entries(json.NetworkSettings?.Ports ?? {})) {
    const [port, protocol] = key.split("/");
    for (const b of list ?? []) {
      const hostPort = Number(b.HostPort);
      if (hostPort > 0) {
        ports.push({ containerPort: Number(port), protocol: protocol === "udp" ? "udp" : "tcp", hostPort, hostIp: b.HostIp });
      }
    }
  }
  const networks: ContainerState["networks"] = {};
  for (const [name, n] of Object.entries(json.NetworkSettings?.Networks ?? {})) {
    networks[name] = n.Gateway ? { ipAddress: n.IPAddress ?? "", gateway: n.Gateway } : { ipAddress: n.IPAddress ?? "" };
  }
  const running = state.Running === true;
  const finishedAt = parseEngineTime(state.FinishedAt);
  let startedAt = parseEngineTime(state.StartedAt);
  // The engine stamps StartedAt after its start call returns, so a process that exits at once
  // can show a FinishedAt a few ms earlier; the port promises startedAt ≤ finishedAt.
  if (!running && startedAt !== undefined && finishedAt !== undefined && finishedAt < startedAt) startedAt = finishedAt;
  const result: ContainerState = {
    id: json.Id,
    name: (json.Name ?? "").replace(/^\//, ""),
    image: json.Config?.Image ?? "",
    imageId: json.Image ?? "",
    labels: json.Config?.Labels ?? {},
    status: (state.Status ?? "dead") as ContainerStatus,
    running,
    oomKilled: state.OOMKilled === true,
    createdAt: parseEngineTime(json.Created) ?? 0,
    ports,
    networks,
  };
  if (!running && finishedAt !== undefined && state.ExitCode !== undefined) result.exitCode = state.ExitCode;
  if (state.Error) result.error = state.Error;
  if (startedAt !== undefined) result.startedAt = startedAt;
  if (finishedAt !== undefined) result.finishedAt = finishedAt;
  const health = healthOf(state.Health?.Status);
  if (health !== undefined) result.health = health;
  if (running && state.Pid !== undefined && state.Pid > 0) result.pid = state.Pid;
  return result;
}

const EVENT_TYPES: ReadonlySet<string> = new Set<RuntimeEventType>([
  "start",
  "die",
  "oom",
  "health_status",
  "destroy",
  "stop",
  "kill",
]);

/** Attributes the engine mixes into an event's labels. */
const ENGINE_ATTRIBUTES = new Set(["name", "image", "exitCode", "signal", "execDuration"]);

export interface EventJson {
  Type?: string;
  Action?: string;
  status?: string;
  id?: string;
  Actor?: { ID?: string; Attributes?: Record<string, string> };
  time?: number;
  timeNano?: number;
}

/** One /events message → RuntimeEvent, or undefined for types the port does not carry. */
export function runtimeEvent(json: EventJson): RuntimeEvent | undefined {
  if (json.Type !== undefined && json.Type !== "container") return undefined;
  const action = json.Action ?? json.status ?? "";
  // Health changes arrive as "health_status: healthy".
  const [type, detail] = action.split(": ", 2) as [string, string | undefined];
  if (!EVENT_TYPES.has(type)) return undefined;
  const attributes = json.Actor?.Attributes ?? {};
  const labels: Record<string, string> = {};
  for (const [k, v] of Object.entries(attributes)) if (!ENGINE_ATTRIBUTES.has(k)) labels[k] = v;
  const event: RuntimeEvent = {
    type: type as RuntimeEventType,
    containerId: json.Actor?.ID ?? json.id ?? "",
    time: json.timeNano !== undefined ? Math.floor(json.timeNano / NS_PER_MS) : (json.time ?? 0) * 1000,
    labels,
  };
  if (type === "die" && attributes["exitCode"] !== undefined) event.exitCode = Number(attributes["exitCode"]);
  const health = healthOf(detail?.trim());
  if (type === "health_status" && health !== undefined) event.health = health;
  return event;
}

interface ImageJson {
  Id: string;
  RepoDigests?: string[] | null;
  Config?: { StopSignal?: string; User?: string; Env?: string[] | null } | null;
}

export function imageInfo(json: ImageJson): ImageInfo {
  const info: ImageInfo = { id: json.Id, repoDigests: json.RepoDigests ?? [] };
  if (json.Config?.StopSignal) info.stopSignal = json.Config.StopSignal;
  if (json.Config?.User) info.user = json.Config.User;
  if (json.Config?.Env) info.env = json.Config.Env;
  return info;
}

/**
 * Splits "repo[:tag][@digest]" into the pull endpoint's fromImage and tag; a reference with
 * neither means ":latest" (an empty tag would pull every tag).
 */
export function pullParams(ref: string): { fromImage: string; tag: string } {
  const at = ref.indexOf("@");
  if (at >= 0) return { fromImage: ref.slice(0, at), tag: ref.slice(at + 1) };
  const colon = ref.lastIndexOf(":");
  if (colon > ref.lastIndexOf("/")) return { fromImage: ref.slice(0, colon), tag: ref.slice(colon + 1) };
  return { fromImage: ref, tag: "latest" };
}

/** A path segment for names that may hold "/" (image references): escape each part. */
export function refPath(ref: string): string {
  return ref.split("/").map(encodeURIComponent).join("/");
}
