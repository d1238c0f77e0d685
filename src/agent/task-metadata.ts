/**
 * The v3/v4 task and container metadata documents, built from a snapshot of the task. It owns
 * their wire shapes: field names follow AWS's "task metadata v4 JSON response" documentation
 * and the ECS agent's v4 handlers. Snapshot facts Berth does not have (an ENI's subnet, clock
 * error, disk use) are derived or reported as a fixed, healthy value; each such place says so.
 *
 * It must never do I/O or change a snapshot: a document depends only on the snapshot, the
 * clock, and the HealthClock's memory of when each health status was first seen.
 */
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

/** A task as its runner sees it now (TaskRunner.snapshot()): what every document is built from. */
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

/** Docker's smallest CPU share; the ECS agent reports it for containers with cpu 0 or 1. */
const MIN_CPU_UNITS = 2;
/** Fargate's default ephemeral storage (20 GiB); TaskSpec carries no ephemeralStorage. */
const FARGATE_EPHEMERAL_MIB = 20 * 1024;
const HEALTH_MEMO_LIMIT = 4096;

export function taskMetadata(task: TaskSnapshot, health: HealthClock): Record<string, unknown> {
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

export function containerMetadata(task: TaskSnapshot, c: ContainerSnapshot, health: HealthClock): ContainerMetadata {
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
export class HealthClock {
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
