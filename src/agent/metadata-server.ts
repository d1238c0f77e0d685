/**
 * The ECS task metadata endpoint (v4, and v3 with the same content) that containers reach at
 * `${ECS_CONTAINER_METADATA_URI_V4}`. It owns the wire shapes of that endpoint: field names
 * follow AWS's "task metadata v4 JSON response" documentation and the ECS agent's v4 handlers.
 *
 * It only reads: a MetadataSource (the agent) resolves a token to a snapshot of the task and
 * hands over Docker stats. It must never change a task, start anything, or answer anything but
 * GET. Snapshot facts Berth does not have (an ENI's subnet, clock error, disk use) are derived
 * or reported as a fixed, healthy value; each such place says so.
 */
import { execFile } from "node:child_process";
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import { type Logger, silentLogger } from "../core/logger.ts";
import type { TaskSpec } from "../protocol/agent-protocol.ts";
import type { ContainerState } from "../runtime/runtime.ts";

export interface ContainerSnapshot {
  name: string;
  definition: Record<string, unknown>;
  containerArn: string;
  state?: ContainerState;
  imageDigest?: string;
  knownStatus: "PENDING" | "RUNNING" | "STOPPED";
  health?: "HEALTHY" | "UNHEALTHY" | "UNKNOWN";
}

export interface TaskSnapshot {
  spec: TaskSpec;
  knownStatus: string;
  desiredStatus: "RUNNING" | "STOPPED";
  pullStartedAt?: number;
  pullStoppedAt?: number;
  executionStoppedAt?: number;
  ipAddress?: string;
  containers: ContainerSnapshot[];
  clusterName: string;
  availabilityZone: string;
}

/** Implemented by the agent; called once per request, so snapshots may be built on demand. */
export interface MetadataSource {
  /** The task and container a token names (tokens are opaque strings in the URL path). */
  lookup(token: string): { task: TaskSnapshot; containerName: string } | undefined;
  /** Docker's one-shot stats JSON for a container id (as GET /containers/{id}/stats?stream=false returns). */
  stats(runtimeId: string): Promise<Record<string, unknown>>;
  /**
   * The task role credentials a credentials id names, if the caller at `remoteAddress` belongs
   * to that task; undefined otherwise (the endpoint does not say which).
   */
  credentials?(id: string, remoteAddress: string): Promise<TaskRoleCredentials | undefined>;
  /** Forwards a SigV4-signed AWS API request to the Berth server, for AWS_ENDPOINT_URL_*. */
  forwardApi?(req: IncomingMessage, res: ServerResponse): void;
}

/** The credentials endpoint's JSON, field for field as the ECS agent serves it. */
export interface TaskRoleCredentials {
  RoleArn: string;
  AccessKeyId: string;
  SecretAccessKey: string;
  Token: string;
  Expiration: string;
}

export interface MetadataServerOptions {
  source: MetadataSource;
  host: string;
  port: number;
  logger?: Logger;
}

interface NetworkMetadata {
  NetworkMode: string;
  IPv4Addresses?: string[] | undefined;
  AttachmentIndex?: number | undefined;
  MACAddress?: string | undefined;
  IPv4SubnetCIDRBlock?: string | undefined;
  PrivateDNSName?: string | undefined;
  SubnetGatewayIpv4Address?: string | undefined;
}

interface PortMetadata {
  ContainerPort: number;
  Protocol: string;
  HostPort: number;
  HostIp?: string | undefined;
}

/** Optional fields hold `undefined` when absent; JSON.stringify leaves them out. */
interface ContainerMetadata {
  DockerId: string;
  Name: string;
  DockerName: string;
  Image: string;
  ImageID: string;
  Ports?: PortMetadata[] | undefined;
  Labels?: Record<string, string> | undefined;
  DesiredStatus: "RUNNING" | "STOPPED";
  KnownStatus: string;
  ExitCode?: number | undefined;
  Limits: { CPU: number; Memory?: number | undefined };
  CreatedAt?: string | undefined;
  StartedAt?: string | undefined;
  FinishedAt?: string | undefined;
  Type: "NORMAL";
  ContainerARN: string;
  LogDriver?: string | undefined;
  LogOptions?: Record<string, string> | undefined;
  Networks?: NetworkMetadata[] | undefined;
  Health?: { status: string; statusSince: string; output?: string } | undefined;
  Snapshotter: "overlayfs";
  RestartCount: number;
}

type Route = "container" | "task" | "container-stats" | "task-stats";

/** `/v4/<token>`, `/v4/<token>/task`, `/v4/<token>/stats`, `/v4/<token>/task/stats` (and v3). */
const ROUTE_RE = /^\/v[34]\/([^/]+)(\/task)?(\/stats)?\/?$/;
/** Docker's smallest CPU share; the ECS agent reports it for containers with cpu 0 or 1. */
const MIN_CPU_UNITS = 2;
/** Fargate's default ephemeral storage (20 GiB); TaskSpec carries no ephemeralStorage. */
const FARGATE_EPHEMERAL_MIB = 20 * 1024;
const HEALTH_MEMO_LIMIT = 4096;

export function metadataHandler(source: MetadataSource): (req: IncomingMessage, res: ServerResponse) => void {
  return handlerWith(source, silentLogger);
}

export async function startMetadataServer(options: MetadataServerOptions): Promise<{ port: number; close(): Promise<void> }> {
  const logger = options.logger ?? silentLogger;
  const server = createServer(handlerWith(options.source, logger));
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(options.port, options.host, () => {
      server.off("error", reject);
      resolve();
    });
  });
  server.on("error", (error) => logger.error("metadata endpoint error", { error: String(error) }));
  const address = server.address();
  const port = typeof address === "object" && address !== null ? address.port : options.port;
  logger.info("metadata endpoint listening", { host: options.host, port });
  return {
    port,
    close: () =>
      new Promise<void>((resolve) => {
        // A second close reports "not running"; closing is idempotent for callers.
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

function handlerWith(source: MetadataSource, logger: Logger): (req: IncomingMessage, res: ServerResponse) => void {
  const health = new HealthClock();
  return (req, res) => {
    serve(source, health, req, res).catch((error: unknown) => {
      logger.error("metadata request failed", { path: req.url, error: String(error) });
      if (res.headersSent) res.destroy();
      else send(res, 500, { error: "internal error" });
    });
  };
}

/** `/v2/credentials/<id>`: the task role's credentials (AWS_CONTAINER_CREDENTIALS_RELATIVE_URI). */
const CREDENTIALS_RE = /^\/v2\/credentials\/([^/]+)\/?$/;

async function serve(source: MetadataSource, health: HealthClock, req: IncomingMessage, res: ServerResponse): Promise<void> {
  if (source.forwardApi && /^AWS4-HMAC-SHA256 /.test(req.headers.authorization ?? "")) return source.forwardApi(req, res);
  if (req.method !== "GET") {
    res.setHeader("Allow", "GET");
    return send(res, 405, { error: `method ${req.method ?? ""} not allowed` });
  }
  const path = (req.url ?? "/").split("?")[0] ?? "/";
  const creds = CREDENTIALS_RE.exec(path);
  if (creds) {
    const found = source.credentials ? await source.credentials(decodeToken(creds[1]!) ?? "", req.socket.remoteAddress ?? "") : undefined;
    // As the ECS agent answers an id it does not know; a foreign task learns nothing more.
    if (!found) return send(res, 400, { code: "InvalidIdInRequest", message: "CredentialsV2Request: Credentials not found" });
    return send(res, 200, found);
  }
  const m = ROUTE_RE.exec(path);
  const token = m ? decodeToken(m[1]!) : undefined;
  const found = token === undefined ? undefined : source.lookup(token);
  if (!m || !found) return send(res, 404, { error: m ? "unknown metadata token" : "no such metadata path" });
  const { task, containerName } = found;
  const container = task.containers.find((c) => c.name === containerName);
  const route: Route = m[2] ? (m[3] ? "task-stats" : "task") : m[3] ? "container-stats" : "container";
  switch (route) {
    case "container":
      if (!container) return send(res, 404, { error: "unknown container" });
      return send(res, 200, containerMetadata(task, container, health));
    case "task":
      return send(res, 200, taskMetadata(task, health));
    case "container-stats": {
      if (!container) return send(res, 404, { error: "unknown container" });
      // Not created yet: there is nothing to measure, which is not an error.
      if (!container.state) return send(res, 200, {});
      return send(res, 200, await source.stats(container.state.id));
    }
    case "task-stats":
      return send(res, 200, await taskStats(source, task));
  }
}

function decodeToken(raw: string): string | undefined {
  try {
    return decodeURIComponent(raw);
  } catch {
    return undefined; // a malformed escape names no token
  }
}

function send(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { "Content-Type": "application/json", "Content-Length": Buffer.byteLength(text) });
  res.end(text);
}

async function taskStats(source: MetadataSource, task: TaskSnapshot): Promise<Record<string, Record<string, unknown> | null>> {
  const ids = task.containers.flatMap((c) => (c.state ? [c.state.id] : []));
  // One container's stats failing (it was just removed) must not hide the others'; ECS reports null.
  const docs = await Promise.all(ids.map((id) => source.stats(id).catch(() => null)));
  return Object.fromEntries(ids.map((id, i) => [id, docs[i] ?? null]));
}

function taskMetadata(task: TaskSnapshot, health: HealthClock): Record<string, unknown> {
  const spec = task.spec;
  // Task-level size: CPU in vCPUs, memory in MiB; left out when the definition sets neither.
  const limits =
    spec.cpu === undefined && spec.memory === undefined
      ? undefined
      : { CPU: spec.cpu === undefined ? undefined : spec.cpu / 1024, Memory: spec.memory };
  return {
    Cluster: spec.clusterArn,
    VPCID: spec.networkMode === "awsvpc" ? "vpc-berth" : undefined,
    TaskARN: spec.taskArn,
    Family: spec.family,
    Revision: String(spec.revision),
    DesiredStatus: task.desiredStatus,
    KnownStatus: task.knownStatus,
    Limits: limits,
    PullStartedAt: iso(task.pullStartedAt),
    PullStoppedAt: iso(task.pullStoppedAt),
    ExecutionStoppedAt: iso(task.executionStoppedAt),
    AvailabilityZone: task.availabilityZone || spec.availabilityZone,
    LaunchType: spec.launchType,
    Containers: task.containers.map((c) => containerMetadata(task, c, health)),
    // Berth does not measure the host clock's error; it reports a synchronized clock.
    ClockDrift: {
      ClockErrorBound: 0,
      ReferenceTimestamp: new Date().toISOString().replace(/\.\d+Z$/, "Z"),
      ClockSynchronizationStatus: "SYNCHRONIZED",
    },
    // Berth does not meter a task's disk; Utilized stays 0.
    EphemeralStorageMetrics: spec.launchType === "FARGATE" ? { Utilized: 0, Reserved: FARGATE_EPHEMERAL_MIB } : undefined,
    FaultInjectionEnabled: false,
  };
}

function containerMetadata(task: TaskSnapshot, c: ContainerSnapshot, health: HealthClock): ContainerMetadata {
  const def = c.definition;
  const state = c.state;
  const log = def["logConfiguration"] as { logDriver?: string; options?: Record<string, string> } | undefined;
  const memory = num(def["memory"]);
  return {
    DockerId: state?.id ?? "",
    Name: c.name,
    DockerName: state?.name ?? "",
    Image: str(def["image"]) ?? state?.image ?? "",
    ImageID: state?.imageId ?? c.imageDigest ?? "",
    Ports: ports(task, c),
    Labels: state?.labels,
    DesiredStatus: task.desiredStatus === "STOPPED" || c.knownStatus === "STOPPED" ? "STOPPED" : "RUNNING",
    KnownStatus: c.knownStatus,
    ExitCode: c.knownStatus === "STOPPED" ? state?.exitCode : undefined,
    Limits: { CPU: Math.max(num(def["cpu"]) ?? 0, MIN_CPU_UNITS), Memory: memory },
    CreatedAt: iso(state?.createdAt),
    StartedAt: iso(state?.startedAt),
    FinishedAt: iso(state?.finishedAt),
    Type: "NORMAL",
    ContainerARN: c.containerArn,
    LogDriver: log?.logDriver,
    LogOptions: log?.options,
    Networks: networks(task, c),
    Health: def["healthCheck"] ? healthOf(c, health) : undefined,
    Snapshotter: "overlayfs",
    RestartCount: 0,
  };
}

function healthOf(c: ContainerSnapshot, clock: HealthClock): { status: string; statusSince: string } {
  const status = c.health ?? "UNKNOWN";
  return { status, statusSince: new Date(clock.since(c.containerArn, status, c.state?.startedAt)).toISOString() };
}

function ports(task: TaskSnapshot, c: ContainerSnapshot): PortMetadata[] | undefined {
  let out: PortMetadata[];
  if (task.spec.networkMode === "awsvpc") {
    // An ENI publishes each container port on the task's own address: host port = container port.
    const mappings = (c.definition["portMappings"] as { containerPort?: number; protocol?: string }[] | undefined) ?? [];
    out = mappings.flatMap((p) =>
      p.containerPort === undefined ? [] : [{ ContainerPort: p.containerPort, Protocol: p.protocol ?? "tcp", HostPort: p.containerPort }],
    );
  } else {
    out = (c.state?.ports ?? []).map((b) => ({ ContainerPort: b.containerPort, Protocol: b.protocol, HostPort: b.hostPort, HostIp: b.hostIp }));
  }
  return out.length > 0 ? out : undefined;
}

function networks(task: TaskSnapshot, c: ContainerSnapshot): NetworkMetadata[] | undefined {
  const mode = task.spec.networkMode;
  if (mode === "awsvpc") return task.ipAddress ? [awsvpcNetwork(task, task.ipAddress)] : undefined;
  if (mode === "none") return [{ NetworkMode: "none" }];
  const entries = Object.entries(c.state?.networks ?? {});
  if (entries.length === 0) return [{ NetworkMode: mode }];
  // As the ECS agent does: one entry per Docker network the container is on, named for it.
  return entries.map(([name, n]) => ({ NetworkMode: name, IPv4Addresses: n.ipAddress ? [n.ipAddress] : [] }));
}

/**
 * The task's "ENI": Berth's task network is a Docker bridge network whose subnet the engine
 * chose. Docker derives a container's MAC from its IPv4 address (02:42 + the four octets); the
 * subnet follows Docker's default address pools (172.16/12 in /16s, 192.168/16 in /20s); the
 * gateway is the one a container reports on that network, else the subnet's first address.
 */
function awsvpcNetwork(task: TaskSnapshot, ip: string): NetworkMetadata {
  const octets = ip.split(".").map(Number);
  const prefix = octets[0] === 172 ? 16 : octets[0] === 192 && octets[1] === 168 ? 20 : 24;
  const size = 2 ** (32 - prefix);
  const base = Math.floor(toInt(octets) / size) * size;
  const observed = task.containers.flatMap((c) => Object.values(c.state?.networks ?? {})).find((n) => n.ipAddress === ip && n.gateway);
  const gateway = observed?.gateway ?? toIp(base + 1);
  const region = task.spec.region;
  const domain = region === "us-east-1" ? "ec2.internal" : `${region}.compute.internal`;
  return {
    NetworkMode: "awsvpc",
    IPv4Addresses: [ip],
    AttachmentIndex: 0,
    MACAddress: ["02", "42", ...octets.map((o) => o.toString(16).padStart(2, "0"))].join(":"),
    IPv4SubnetCIDRBlock: `${toIp(base)}/${prefix}`,
    PrivateDNSName: `ip-${ip.replace(/\./g, "-")}.${domain}`,
    SubnetGatewayIpv4Address: `${gateway}/${prefix}`,
  };
}

function toInt(octets: number[]): number {
  return octets.reduce((acc, o) => acc * 256 + (o & 255), 0);
}

function toIp(n: number): string {
  return [24, 16, 8, 0].map((shift) => Math.floor(n / 2 ** shift) % 256).join(".");
}

function iso(ms: number | undefined): string | undefined {
  return ms === undefined ? undefined : new Date(ms).toISOString();
}

function num(value: unknown): number | undefined {
  return typeof value === "number" && Number.isFinite(value) ? value : undefined;
}

function str(value: unknown): string | undefined {
  return typeof value === "string" && value !== "" ? value : undefined;
}

/**
 * When each container's health status was first seen at its current value, so `statusSince`
 * holds still between requests. Snapshots carry no change time; the first UNKNOWN is dated to
 * the container's start (it has been unknown since then), any other first sight to now.
 */
class HealthClock {
  private readonly seen = new Map<string, { status: string; since: number }>();

  since(containerArn: string, status: string, startedAt: number | undefined): number {
    const last = this.seen.get(containerArn);
    if (last?.status === status) return last.since;
    const since = !last && status === "UNKNOWN" && startedAt !== undefined ? startedAt : Date.now();
    this.seen.delete(containerArn);
    this.seen.set(containerArn, { status, since });
    // Bounded: the oldest entry belongs to a container long gone, or is re-learned on next sight.
    if (this.seen.size > HEALTH_MEMO_LIMIT) this.seen.delete(this.seen.keys().next().value!);
    return since;
  }
}

const IPV4_RE = /^(25[0-5]|2[0-4]\d|1?\d?\d)(\.(25[0-5]|2[0-4]\d|1?\d?\d)){3}$/;

/** Adds `address`/32 to `device` with `ip addr add` if it is not there yet (idempotent); returns false (and does not throw) if it cannot (not root / no such device / no `ip`). */
export async function ensureHostAddress(address: string, device: string): Promise<boolean> {
  if (!IPV4_RE.test(address) || device === "" || device.startsWith("-")) return false;
  const shown = await run("ip", ["-4", "-o", "addr", "show", "dev", device]);
  if (!shown.ok) return false;
  if (shown.stdout.includes(` ${address}/`)) return true;
  const added = await run("ip", ["addr", "add", `${address}/32`, "dev", device]);
  // "File exists": another caller added it between our look and our add, which is success.
  return added.ok || /File exists/.test(added.stderr);
}

function run(file: string, args: string[]): Promise<{ ok: boolean; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(file, args, { timeout: 5_000 }, (error, stdout, stderr) => {
      resolve({ ok: error === null, stdout: String(stdout), stderr: String(stderr) });
    });
  });
}
