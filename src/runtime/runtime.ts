/**
 * The Runtime port: everything Berth asks of a container engine, in Berth's words.
 *
 * Callers: the node agent (one task runner per task creates, starts, watches, stops and
 * removes that task's containers), the agent's resync loop (listContainers by label) and
 * Berth itself when it builds its helper images. Implementations: DockerRuntime (Engine API
 * 1.41 over a unix socket) and FakeRuntime (in memory, for unit tests). Both must pass
 * test/runtime/runtime-conformance.ts.
 *
 * This module owns the shapes only. It must never name an engine's wire fields: the
 * adapters translate. Every method fails with a RuntimeError whose `kind` says what
 * happened; nobody branches on message text.
 */

/** A port to publish. `hostPort` 0 or absent asks the engine for a dynamic port. */
export interface PortMapping {
  containerPort: number;
  protocol: "tcp" | "udp";
  hostPort?: number;
  hostIp?: string;
}

/** A port the engine actually bound; `hostPort` is never 0 here. */
export interface PortBinding {
  containerPort: number;
  protocol: "tcp" | "udp";
  hostPort: number;
  hostIp: string;
}

export interface HealthCheckSpec {
  /** ["CMD", ...argv] or ["CMD-SHELL", "command"] (ECS and Docker share this form). */
  test: string[];
  intervalMs: number;
  timeoutMs: number;
  retries: number;
  startPeriodMs: number;
}

export interface Ulimit {
  name: string;
  soft: number;
  hard: number;
}

export interface MountSpec {
  type: "volume" | "bind" | "tmpfs";
  /** Volume name or host path; ignored for tmpfs. */
  source: string;
  target: string;
  readOnly: boolean;
}

export interface LogDriverSpec {
  type: string;
  config: Record<string, string>;
}

/**
 * What to run. Built by the agent from an ECS container definition; the runtime applies it
 * as given and adds nothing of its own (no default labels, no restart policy).
 */
export interface ContainerSpec {
  /** Unique among live containers on the engine; a clash fails with kind Conflict. */
  name: string;
  image: string;
  /** Berth's ownership labels live here; listContainers and events filter on them. */
  labels: Record<string, string>;
  cmd?: string[];
  entrypoint?: string[];
  /** "KEY=value" entries. */
  env?: string[];
  workingDir?: string;
  user?: string;
  hostname?: string;
  ports?: PortMapping[];
  /** "bridge" | "host" | "none" | "container:<id>" | a user network's name. */
  networkMode: string;
  /** DNS aliases on a user network (not the default bridge). */
  networkAliases?: string[];
  /** Static IPv4 on a user network created with a subnet. */
  ipv4Address?: string;
  /** Hard limit; the kernel OOM-kills the container past it. */
  memoryMiB?: number;
  memoryReservationMiB?: number;
  cpuShares?: number;
  /** CPU quota in billionths of a CPU (0.5 CPU = 500_000_000). */
  nanoCpus?: number;
  pidsLimit?: number;
  healthCheck?: HealthCheckSpec;
  /** Run a tiny init as PID 1 that forwards signals and reaps zombies. */
  init?: boolean;
  capAdd?: string[];
  capDrop?: string[];
  privileged?: boolean;
  readonlyRootfs?: boolean;
  /** container path → mount options ("rw,size=64m"). */
  tmpfs?: Record<string, string>;
  shmSizeMiB?: number;
  ulimits?: Ulimit[];
  /** "host:ip" entries for /etc/hosts. */
  extraHosts?: string[];
  dns?: string[];
  dnsSearch?: string[];
  /** "src:dst[:ro]" entries. */
  binds?: string[];
  mounts?: MountSpec[];
  /** Container names or ids, optionally ":ro". */
  volumesFrom?: string[];
  sysctls?: Record<string, string>;
  /** Signal sent by stopContainer before the timeout ("SIGTERM" when absent and the image sets none). */
  stopSignal?: string;
  stopTimeoutSec?: number;
  logDriver?: LogDriverSpec;
  securityOpt?: string[];
}

export const ContainerStatus = {
  Created: "created",
  Running: "running",
  Paused: "paused",
  Restarting: "restarting",
  Removing: "removing",
  Exited: "exited",
  Dead: "dead",
} as const;
export type ContainerStatus = (typeof ContainerStatus)[keyof typeof ContainerStatus];

export type HealthStatus = "starting" | "healthy" | "unhealthy";

/**
 * One container as the engine sees it now. Snapshots go stale at once; the agent treats them
 * as observations, never as commands.
 */
export interface ContainerState {
  id: string;
  name: string;
  /** The image reference the container was created from. */
  image: string;
  /** The content id of that image ("sha256:…"). */
  imageId: string;
  labels: Record<string, string>;
  status: ContainerStatus;
  running: boolean;
  /** Set once the container has run and stopped. */
  exitCode?: number;
  oomKilled: boolean;
  /** The engine's reason when the container could not start. */
  error?: string;
  /** Epoch milliseconds. */
  createdAt: number;
  /** Absent until first started. */
  startedAt?: number;
  /** Absent until first stopped. */
  finishedAt?: number;
  /** Absent when the container has no health check. */
  health?: HealthStatus;
  /** Actual bindings; empty when nothing is published. */
  ports: PortBinding[];
  /** network name → address on it. Empty for "container:<id>" mode. */
  networks: Record<string, { ipAddress: string; gateway?: string }>;
  /** Host PID of the container's first process while it runs. */
  pid?: number;
}

export type RuntimeEventType = "start" | "die" | "oom" | "health_status" | "destroy" | "stop" | "kill";

/** A container lifecycle event. Only these types are delivered; others are dropped. */
export interface RuntimeEvent {
  type: RuntimeEventType;
  containerId: string;
  /** Epoch milliseconds, from the engine's clock. */
  time: number;
  /** On "die". */
  exitCode?: number;
  /** On "health_status". */
  health?: HealthStatus;
  /** The container's labels at the time of the event. */
  labels: Record<string, string>;
}

export interface ImageInfo {
  /** Content id ("sha256:…"). */
  id: string;
  /** "repo@sha256:…" for images that came from a registry; empty for local builds. */
  repoDigests: string[];
  stopSignal?: string;
  user?: string;
  env?: string[];
}

export interface RuntimeInfo {
  cpus: number;
  memoryMiB: number;
  os: string;
  arch: string;
  serverVersion: string;
  hostname: string;
}

export interface RegistryAuth {
  username: string;
  password: string;
  serveraddress: string;
}

export interface NetworkOptions {
  /** CIDR; the engine picks one when absent. */
  subnet?: string;
  gateway?: string;
  labels?: Record<string, string>;
  /** Linux bridge device name, so the host can add addresses to it. */
  bridgeName?: string;
}

export interface NetworkInfo {
  id: string;
  subnet?: string;
  gateway?: string;
  bridgeName?: string;
}

export interface VolumeOptions {
  driver?: string;
  labels?: Record<string, string>;
  driverOpts?: Record<string, string>;
}

export interface LogsOptions {
  /** Only lines at or after this epoch-millisecond time. */
  since?: number;
  /** Keep streaming until the container stops or `signal` aborts. */
  follow?: boolean;
  signal?: AbortSignal;
}

export type LogLineHandler = (stream: "stdout" | "stderr", line: string, timeMs: number) => void;

export interface Runtime {
  /** Resolves when the engine answers; fails with kind Unavailable when it does not. */
  ping(): Promise<void>;
  /** Capacity and identity of the host, for container-instance registration. */
  info(): Promise<RuntimeInfo>;
  /** Undefined when the image is not present locally. Never pulls. */
  inspectImage(ref: string): Promise<ImageInfo | undefined>;
  /**
   * Pulls `ref` (a missing tag means "latest"). Resolves once the image is present. Fails with
   * kind PullFailed carrying the engine's message ("pull access denied…", "manifest unknown").
   */
  pullImage(ref: string, auth?: RegistryAuth): Promise<void>;
  /**
   * Builds an image from a tar of a build context with a Dockerfile at its root and tags it.
   * Used for Berth's own helper images; fails with kind Failed and the build's error.
   */
  buildImage(contextTar: Buffer, tag: string): Promise<void>;
  /** Creates (does not start) a container. Missing image → NotFound; name taken → Conflict. */
  createContainer(spec: ContainerSpec): Promise<string>;
  /** Starts a created or stopped container. Already running → resolves. */
  startContainer(id: string): Promise<void>;
  /**
   * Sends the stop signal (the container's, else the image's, else SIGTERM), waits up to
   * `timeoutSec`, then SIGKILL. Resolves once the container has stopped; already stopped →
   * resolves. Missing → NotFound.
   */
  stopContainer(id: string, timeoutSec: number): Promise<void>;
  /** Sends one signal ("SIGKILL", "SIGHUP", …). Not running → Conflict. */
  killContainer(id: string, signal: string): Promise<void>;
  /**
   * Removes a container. Running and not `force` → Conflict. Already gone → resolves, so
   * cleanup may be repeated safely.
   */
  removeContainer(id: string, options?: { force?: boolean; volumes?: boolean }): Promise<void>;
  /** By id, id prefix or name. Undefined when no such container exists. */
  inspectContainer(id: string): Promise<ContainerState | undefined>;
  /**
   * Every container in any state whose labels include all of `labels` (equality), fully
   * inspected. Containers that vanish while listing are left out.
   */
  listContainers(labels: Record<string, string>): Promise<ContainerState[]>;
  /**
   * Delivers container events from the moment of the call until `signal` aborts; the promise
   * then resolves. It never rejects: if the stream drops it reconnects with backoff, resuming
   * from the last event seen. Events can still be missed (the engine keeps a short buffer,
   * and nothing is delivered while it is down), so callers must also resync with
   * listContainers after a gap. `onEvent` is called in order and must not throw.
   */
  events(onEvent: (event: RuntimeEvent) => void, signal: AbortSignal): Promise<void>;
  /** The engine's raw one-shot stats document (Docker's `/stats?stream=false` JSON). */
  stats(id: string): Promise<Record<string, unknown>>;
  /** Creates a bridge network, or returns the id of the existing one with that name. */
  createNetwork(name: string, options?: NetworkOptions): Promise<string>;
  /** Already gone → resolves. Containers still attached → Conflict. */
  removeNetwork(name: string): Promise<void>;
  inspectNetwork(name: string): Promise<NetworkInfo | undefined>;
  /** Creates a volume; an existing volume with that name is kept as it is. */
  createVolume(name: string, options?: VolumeOptions): Promise<void>;
  /** Already gone → resolves. In use → Conflict. */
  removeVolume(name: string): Promise<void>;
  /**
   * Reads a container's output line by line (without the trailing newline) with the engine's
   * timestamp. Without `follow` it resolves at the end of what is stored; with it, when the
   * container stops or `signal` aborts. Missing container → NotFound.
   */
  logs(id: string, options: LogsOptions, onLine: LogLineHandler): Promise<void>;
}

export const RuntimeErrorKind = {
  NotFound: "NotFound",
  Conflict: "Conflict",
  PullFailed: "PullFailed",
  /** The engine did not answer; worth retrying later. */
  Unavailable: "Unavailable",
  Failed: "Failed",
} as const;
export type RuntimeErrorKind = (typeof RuntimeErrorKind)[keyof typeof RuntimeErrorKind];

/** The one failure type of the port. `status` is the engine's HTTP status (0 when none). */
export class RuntimeError extends Error {
  readonly kind: RuntimeErrorKind;
  readonly status: number;

  constructor(kind: RuntimeErrorKind, message: string, status = 0, options: { cause?: unknown } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = "RuntimeError";
    this.kind = kind;
    this.status = status;
  }
}

export function isRuntimeError(value: unknown, kind?: RuntimeErrorKind): value is RuntimeError {
  return value instanceof RuntimeError && (kind === undefined || value.kind === kind);
}
