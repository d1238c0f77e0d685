/**
 * ECS container definition → the runtime's ContainerSpec. Pure: the task runner supplies
 * where the container joins the network, the bind address for published ports and the
 * environment Berth adds (metadata endpoint, region). Every ECS field Berth honours is
 * mapped here and nowhere else.
 */
import type { ContainerSpec as RuntimeSpec, MountSpec } from "../runtime/runtime.ts";
import type { TaskSpec } from "../protocol/agent-protocol.ts";

export const LABEL = {
  agentId: "berth.agent-id",
  taskArn: "com.amazonaws.ecs.task-arn",
  containerName: "com.amazonaws.ecs.container-name",
  cluster: "com.amazonaws.ecs.cluster",
  family: "com.amazonaws.ecs.task-definition-family",
  revision: "com.amazonaws.ecs.task-definition-version",
  role: "berth.role",
} as const;

export interface ContainerContext {
  task: TaskSpec;
  agentId: string;
  /** "bridge", "host", "none" or "container:<pause id>" for awsvpc. */
  networkMode: string;
  /** Address published ports bind to (bridge mode). */
  bindIp: string;
  /** Environment Berth adds after the definition's own. */
  extraEnv: Record<string, string>;
  /** Values of the container's `secrets`, resolved by the server; they win over `environment`. */
  secretEnv?: Record<string, string>;
  /** Docker names of the task's other containers, for volumesFrom. */
  dockerNameOf: (containerName: string) => string;
}

type Def = Record<string, unknown>;
const list = <T>(v: unknown): T[] => (Array.isArray(v) ? (v as T[]) : []);
const num = (v: unknown): number | undefined => (typeof v === "number" ? v : undefined);

export function dockerName(task: TaskSpec, containerName: string): string {
  const safe = `${task.family}-${task.revision}-${containerName}`.replace(/[^a-zA-Z0-9_.-]/g, "-");
  return `ecs-${safe}-${task.taskId.slice(0, 12)}`;
}

/** Name of the task-scoped Docker volume for a task definition volume. */
export const taskVolumeName = (task: TaskSpec, volume: string): string => `berth-${task.taskId.slice(0, 12)}-${volume}`;

export function taskLabels(task: TaskSpec, agentId: string, role: "container" | "pause", containerName?: string): Record<string, string> {
  const labels: Record<string, string> = {
    [LABEL.agentId]: agentId,
    [LABEL.taskArn]: task.taskArn,
    [LABEL.cluster]: task.clusterArn,
    [LABEL.family]: task.family,
    [LABEL.revision]: String(task.revision),
    [LABEL.role]: role,
  };
  if (containerName !== undefined) labels[LABEL.containerName] = containerName;
  return labels;
}

export function containerSpec(def: Def, ctx: ContainerContext): RuntimeSpec {
  const name = def["name"] as string;
  const spec: RuntimeSpec = {
    name: dockerName(ctx.task, name),
    image: def["image"] as string,
    labels: { ...(def["dockerLabels"] as Record<string, string> | undefined), ...taskLabels(ctx.task, ctx.agentId, "container", name) },
    networkMode: ctx.networkMode,
    env: environment(def, ctx.extraEnv, ctx.secretEnv ?? {}),
  };
  const set = <K extends keyof RuntimeSpec>(key: K, value: RuntimeSpec[K] | undefined): void => {
    if (value !== undefined) spec[key] = value;
  };
  set("cmd", def["command"] as string[] | undefined);
  set("entrypoint", def["entryPoint"] as string[] | undefined);
  set("workingDir", def["workingDirectory"] as string | undefined);
  set("user", def["user"] as string | undefined);
  if (ctx.task.networkMode === "bridge" || ctx.task.networkMode === "none") set("hostname", def["hostname"] as string | undefined);
  if (ctx.task.networkMode === "bridge") set("ports", ports(def, ctx.bindIp));
  applyResources(spec, def, ctx.task);
  set("healthCheck", healthCheck(def));
  applyLinuxParameters(spec, def);
  set("privileged", def["privileged"] as boolean | undefined);
  set("readonlyRootfs", def["readonlyRootFilesystem"] as boolean | undefined);
  const ulimits = list<{ name: string; softLimit: number; hardLimit: number }>(def["ulimits"]);
  if (ulimits.length) spec.ulimits = ulimits.map((u) => ({ name: u.name, soft: u.softLimit, hard: u.hardLimit }));
  const hosts = list<{ hostname: string; ipAddress: string }>(def["extraHosts"]);
  if (hosts.length) spec.extraHosts = hosts.map((h) => `${h.hostname}:${h.ipAddress}`);
  set("dns", nonEmpty(list<string>(def["dnsServers"])));
  set("dnsSearch", nonEmpty(list<string>(def["dnsSearchDomains"])));
  set("securityOpt", nonEmpty(list<string>(def["dockerSecurityOptions"])));
  const sysctls = list<{ namespace: string; value: string }>(def["systemControls"]);
  if (sysctls.length) spec.sysctls = Object.fromEntries(sysctls.map((s) => [s.namespace, s.value]));
  set("stopTimeoutSec", num(def["stopTimeout"]));
  set("mounts", nonEmpty(mounts(def, ctx.task)));
  const from = list<{ sourceContainer: string; readOnly?: boolean }>(def["volumesFrom"]);
  if (from.length) spec.volumesFrom = from.map((v) => `${ctx.dockerNameOf(v.sourceContainer)}${v.readOnly ? ":ro" : ""}`);
  set("logDriver", logDriver(def));
  return spec;
}

const nonEmpty = <T>(items: T[]): T[] | undefined => (items.length ? items : undefined);

function environment(def: Def, extra: Record<string, string>, secrets: Record<string, string>): string[] {
  const env = new Map<string, string>();
  for (const e of list<{ name: string; value: string }>(def["environment"])) env.set(e.name, e.value);
  for (const [k, v] of Object.entries(extra)) if (!env.has(k)) env.set(k, v);
  for (const [k, v] of Object.entries(secrets)) env.set(k, v);
  return [...env].map(([k, v]) => `${k}=${v}`);
}

function ports(def: Def, bindIp: string): RuntimeSpec["ports"] {
  return list<{ containerPort?: number; hostPort?: number; protocol?: string }>(def["portMappings"])
    .filter((p) => p.containerPort !== undefined)
    .map((p) => ({ containerPort: p.containerPort!, hostPort: p.hostPort ?? 0, protocol: p.protocol === "udp" ? "udp" : "tcp", hostIp: bindIp }));
}

/** The kernel's bounds on CPU shares (ECS agents 1.84.0 on cap at 262144). */
const [MIN_SHARES, MAX_SHARES] = [2, 262_144];

/**
 * Container cpu → CPU shares; memory → hard limit, memoryReservation → soft limit. A container
 * without cpu (or 0) keeps Docker's default weight: the ECS agent passes 2 there, which on an
 * ECS instance only ranks it below other containers, but on a workstation or CI runner would
 * starve it behind every busy process. For
 * FARGATE the task size bounds every container: a container without its own memory gets the
 * task's, and CPU is capped at the task's vCPUs.
 */
function applyResources(spec: RuntimeSpec, def: Def, task: TaskSpec): void {
  const cpu = num(def["cpu"]);
  if (cpu !== undefined && cpu > 0) spec.cpuShares = Math.min(MAX_SHARES, Math.max(MIN_SHARES, cpu));
  const memory = num(def["memory"]) ?? (task.launchType === "FARGATE" ? task.memory : undefined);
  if (memory !== undefined) spec.memoryMiB = memory;
  const reservation = num(def["memoryReservation"]);
  if (reservation !== undefined) spec.memoryReservationMiB = reservation;
  if (task.launchType === "FARGATE" && task.cpu !== undefined) spec.nanoCpus = Math.round((task.cpu / 1024) * 1e9);
}

function healthCheck(def: Def): RuntimeSpec["healthCheck"] {
  const hc = def["healthCheck"] as { command?: string[]; interval?: number; timeout?: number; retries?: number; startPeriod?: number } | undefined;
  if (!hc?.command?.length) return undefined;
  return {
    test: hc.command,
    intervalMs: (hc.interval ?? 30) * 1000,
    timeoutMs: (hc.timeout ?? 5) * 1000,
    retries: hc.retries ?? 3,
    startPeriodMs: (hc.startPeriod ?? 0) * 1000,
  };
}

function applyLinuxParameters(spec: RuntimeSpec, def: Def): void {
  const lp = def["linuxParameters"] as
    | {
        initProcessEnabled?: boolean;
        capabilities?: { add?: string[]; drop?: string[] };
        tmpfs?: { containerPath: string; size: number; mountOptions?: string[] }[];
        sharedMemorySize?: number;
      }
    | undefined;
  if (!lp) return;
  if (lp.initProcessEnabled) spec.init = true;
  if (lp.capabilities?.add?.length) spec.capAdd = lp.capabilities.add;
  if (lp.capabilities?.drop?.length) spec.capDrop = lp.capabilities.drop;
  if (lp.tmpfs?.length) {
    spec.tmpfs = Object.fromEntries(lp.tmpfs.map((t) => [t.containerPath, [`size=${t.size}m`, ...(t.mountOptions ?? [])].join(",")]));
  }
  if (lp.sharedMemorySize !== undefined) spec.shmSizeMiB = lp.sharedMemorySize;
}

function mounts(def: Def, task: TaskSpec): MountSpec[] {
  const volumes = new Map(task.volumes.map((v) => [v["name"] as string, v] as const));
  return list<{ sourceVolume?: string; containerPath?: string; readOnly?: boolean }>(def["mountPoints"]).flatMap((mp): MountSpec[] => {
    const volume = mp.sourceVolume === undefined ? undefined : volumes.get(mp.sourceVolume);
    if (!volume || mp.containerPath === undefined) return [];
    const readOnly = mp.readOnly ?? false;
    const host = volume["host"] as { sourcePath?: string } | undefined;
    if (host?.sourcePath) return [{ type: "bind" as const, source: host.sourcePath, target: mp.containerPath, readOnly }];
    const docker = volume["dockerVolumeConfiguration"] as { scope?: string } | undefined;
    const source = docker?.scope === "shared" ? mp.sourceVolume! : taskVolumeName(task, mp.sourceVolume!);
    return [{ type: "volume" as const, source, target: mp.containerPath, readOnly }];
  });
}

/** The log options ECS applies to every driver: Docker implements them between the container and its driver. */
const DELIVERY_OPTIONS = ["mode", "max-buffer-size"];

/**
 * Docker's own drivers get their options as they are. awslogs is Berth's job (the shipper
 * reads Docker's json-file log), so Docker gets json-file with only the delivery options:
 * `mode: non-blocking` puts a ring buffer of `max-buffer-size` in front of that file, and
 * Docker refuses values it does not know, as it does on ECS.
 */
function logDriver(def: Def): RuntimeSpec["logDriver"] {
  const lc = def["logConfiguration"] as { logDriver?: string; options?: Record<string, string> } | undefined;
  const options = lc?.options ?? {};
  if (lc?.logDriver === "awslogs") {
    const delivery = Object.fromEntries(DELIVERY_OPTIONS.filter((k) => options[k] !== undefined).map((k) => [k, options[k]!]));
    return { type: "json-file", config: delivery };
  }
  if (!lc?.logDriver || !["json-file", "local", "none", "syslog", "journald"].includes(lc.logDriver)) return undefined;
  return { type: lc.logDriver, config: options };
}

/** Volumes the runner must create before the containers: task-scoped and shared Docker volumes. */
export function dockerVolumes(task: TaskSpec): { name: string; shared: boolean; driver?: string; driverOpts?: Record<string, string>; labels?: Record<string, string> }[] {
  return task.volumes.flatMap((v) => {
    const name = v["name"] as string;
    if ((v["host"] as { sourcePath?: string } | undefined)?.sourcePath) return [];
    const dvc = v["dockerVolumeConfiguration"] as
      | { scope?: string; driver?: string; driverOpts?: Record<string, string>; labels?: Record<string, string>; autoprovision?: boolean }
      | undefined;
    const shared = dvc?.scope === "shared";
    const out: ReturnType<typeof dockerVolumes>[number] = { name: shared ? name : taskVolumeName(task, name), shared };
    if (dvc?.driver) out.driver = dvc.driver;
    if (dvc?.driverOpts) out.driverOpts = dvc.driverOpts;
    if (dvc?.labels) out.labels = dvc.labels;
    return [out];
  });
}
