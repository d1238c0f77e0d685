/**
 * The task aggregate as the control plane keeps it, and the pure rules over it: the ordered
 * lifecycle, which reports may move a task (never backwards), health aggregation over
 * essential containers, and ECS's stop codes.
 *
 * One writer per field: the agent's reports own lastStatus, containers and timestamps of
 * execution; the control plane owns desiredStatus, stop code and reason of a user stop.
 */

export const TaskStatus = {
  Provisioning: "PROVISIONING",
  Pending: "PENDING",
  Activating: "ACTIVATING",
  Running: "RUNNING",
  Deactivating: "DEACTIVATING",
  Stopping: "STOPPING",
  Deprovisioning: "DEPROVISIONING",
  Stopped: "STOPPED",
} as const;
export type TaskStatus = (typeof TaskStatus)[keyof typeof TaskStatus];

const ORDER: readonly TaskStatus[] = Object.values(TaskStatus);

export function statusRank(status: string): number {
  return ORDER.indexOf(status as TaskStatus);
}

export const isTerminal = (status: string): boolean => status === TaskStatus.Stopped;

export const TaskStopCode = {
  TaskFailedToStart: "TaskFailedToStart",
  EssentialContainerExited: "EssentialContainerExited",
  UserInitiated: "UserInitiated",
  ServiceSchedulerInitiated: "ServiceSchedulerInitiated",
  SpotInterruption: "SpotInterruption",
  TerminationNotice: "TerminationNotice",
  InfrastructureHealth: "InfrastructureHealth",
} as const;
export type TaskStopCode = (typeof TaskStopCode)[keyof typeof TaskStopCode];

export type HealthStatus = "HEALTHY" | "UNHEALTHY" | "UNKNOWN";
export type LaunchType = "EC2" | "FARGATE" | "EXTERNAL";

export interface NetworkBinding {
  bindIP: string;
  containerPort: number;
  hostPort: number;
  protocol: "tcp" | "udp";
}

export interface TaskContainer {
  containerArn: string;
  name: string;
  image: string;
  essential: boolean;
  imageDigest?: string;
  runtimeId?: string;
  lastStatus: "PENDING" | "RUNNING" | "STOPPED";
  exitCode?: number;
  reason?: string;
  healthStatus: HealthStatus;
  networkBindings: NetworkBinding[];
  privateIPv4Address?: string;
  cpu: string;
  memory?: string;
  memoryReservation?: string;
}

export interface Task {
  region: string;
  taskArn: string;
  taskId: string;
  clusterArn: string;
  clusterName: string;
  taskDefinitionArn: string;
  family: string;
  revision: number;
  launchType: LaunchType;
  capacityProviderName?: string;
  /** The agent that runs it; for EC2/EXTERNAL tasks also a container instance. */
  agentId: string;
  containerInstanceArn?: string;
  networkMode: "bridge" | "host" | "awsvpc" | "none";
  lastStatus: TaskStatus;
  desiredStatus: "RUNNING" | "STOPPED";
  cpu?: string;
  memory?: string;
  /** Resources reserved on the instance, for placement accounting. */
  reservedCpu: number;
  reservedMemory: number;
  reservedPorts: { port: number; protocol: "tcp" | "udp" }[];
  overrides: Record<string, unknown>;
  /** Container definitions with overrides applied, in definition order (what the agent runs). */
  resolvedContainers: Record<string, unknown>[];
  volumes: Record<string, unknown>[];
  /** The roles it runs with (RunTask overrides applied). */
  taskRoleArn?: string;
  executionRoleArn?: string;
  pidMode?: string;
  ipcMode?: string;
  startedBy?: string;
  group: string;
  clientToken?: string;
  availabilityZone: string;
  containers: TaskContainer[];
  healthStatus: HealthStatus;
  privateIPv4Address?: string;
  createdAt: number;
  pullStartedAt?: number;
  pullStoppedAt?: number;
  startedAt?: number;
  stoppingAt?: number;
  executionStoppedAt?: number;
  stoppedAt?: number;
  stopCode?: TaskStopCode;
  stoppedReason?: string;
  /** Told to stop while its load balancer targets drain: its agent holds it in DEACTIVATING. */
  drainingTargets?: boolean;
  connectivity?: "CONNECTED" | "DISCONNECTED";
  connectivityAt?: number;
  /** Bumped on every state change, as ECS's Task.version. */
  version: number;
}

/** Task health over essential containers: UNHEALTHY > UNKNOWN > HEALTHY. */
export function taskHealth(containers: readonly Pick<TaskContainer, "essential" | "healthStatus">[]): HealthStatus {
  const essential = containers.filter((c) => c.essential);
  if (essential.some((c) => c.healthStatus === "UNHEALTHY")) return "UNHEALTHY";
  if (essential.length === 0 || essential.some((c) => c.healthStatus === "UNKNOWN")) return "UNKNOWN";
  return "HEALTHY";
}

/** A report may move lastStatus forward or keep it; a backwards move is dropped. */
export function acceptsStatus(current: string, reported: string): boolean {
  return statusRank(reported) >= statusRank(current);
}

/** The stoppedReason ECS shows for a user's StopTask without a reason. */
export const USER_STOP_REASON = "Task stopped by user";

/** What an agent observed about a task: applied by control/agents.ts, never by the API. */
export interface TaskObservation {
  taskArn: string;
  lastStatus: string;
  pullStartedAt?: number;
  pullStoppedAt?: number;
  startedAt?: number;
  stoppingAt?: number;
  executionStoppedAt?: number;
  stoppedAt?: number;
  stopCode?: string;
  stoppedReason?: string;
  privateIPv4Address?: string;
  containers: {
    name: string;
    runtimeId?: string;
    imageDigest?: string;
    lastStatus: "PENDING" | "RUNNING" | "STOPPED";
    exitCode?: number;
    reason?: string;
    healthStatus: HealthStatus;
    networkBindings: NetworkBinding[];
    privateIPv4Address?: string;
  }[];
}

/**
 * Applies an observation to a task: status only moves forward; the agent's stop code and
 * reason fill in only when the control plane set none (a user's StopTask reason wins).
 * Returns undefined when the observation would change nothing or move backwards.
 */
export function applyObservation(task: Task, obs: TaskObservation, now: number): Task | undefined {
  if (!acceptsStatus(task.lastStatus, obs.lastStatus)) return undefined;
  const next: Task = { ...task, lastStatus: obs.lastStatus as TaskStatus, connectivity: "CONNECTED" };
  next.containers = task.containers.map((c) => {
    const seen = obs.containers.find((o) => o.name === c.name);
    if (!seen) return c;
    const merged: TaskContainer = { ...c, lastStatus: seen.lastStatus, healthStatus: seen.healthStatus, networkBindings: seen.networkBindings };
    if (seen.runtimeId !== undefined) merged.runtimeId = seen.runtimeId;
    if (seen.imageDigest !== undefined) merged.imageDigest = seen.imageDigest;
    if (seen.exitCode !== undefined) merged.exitCode = seen.exitCode;
    if (seen.reason !== undefined) merged.reason = seen.reason.slice(0, 1024);
    if (seen.privateIPv4Address !== undefined) merged.privateIPv4Address = seen.privateIPv4Address;
    return merged;
  });
  next.healthStatus = taskHealth(next.containers);
  for (const key of ["pullStartedAt", "pullStoppedAt", "startedAt", "stoppingAt", "executionStoppedAt", "stoppedAt"] as const) {
    if (obs[key] !== undefined && next[key] === undefined) next[key] = obs[key];
  }
  if (obs.privateIPv4Address !== undefined) next.privateIPv4Address = obs.privateIPv4Address;
  if (obs.stopCode !== undefined && next.stopCode === undefined) next.stopCode = obs.stopCode as TaskStopCode;
  if (obs.stoppedReason !== undefined && next.stoppedReason === undefined) next.stoppedReason = obs.stoppedReason;
  if (statusRank(next.lastStatus) >= statusRank(TaskStatus.Deactivating)) {
    next.desiredStatus = "STOPPED";
    next.stoppingAt ??= now;
  }
  if (next.lastStatus === TaskStatus.Stopped) next.stoppedAt ??= now;
  return JSON.stringify(next) === JSON.stringify(task) ? undefined : next;
}
