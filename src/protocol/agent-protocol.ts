/**
 * Messages between the control plane and an agent, version 1. The server owns desired
 * state (which tasks an agent should run, and whether they should be RUNNING or STOPPED);
 * the agent owns what is true on its host (each task's lastStatus, exit codes, health,
 * bindings). Delivery is level-triggered: the agent fetches the full desired set for itself
 * and reports full task states, so a lost message costs one round, not correctness.
 */
import type { LogCursor } from "../core/log-cursor.ts";

export const AGENT_PROTOCOL_VERSION = 1;

export interface HostResources {
  /** CPU units: 1024 per core. */
  cpu: number;
  memoryMiB: number;
}

export interface AgentHello {
  protocolVersion: number;
  /** Stable id the agent keeps in its data dir across restarts. */
  agentId: string;
  hostname: string;
  agentVersion: string;
  resources: HostResources;
  /** Built-in and configured attributes (ecs.os-type, ecs.cpu-architecture, ecs.availability-zone, …). */
  attributes: Record<string, string>;
  /** The cluster whose container instance this agent is; absent for a Fargate-only host. */
  cluster?: string;
  /** Whether this host also runs FARGATE tasks for every cluster. */
  fargate: boolean;
  /** Region of the container instance it registers (the embedded agent uses the server's default). */
  region: string;
  /** Host ports in use outside Berth that tasks must not claim. */
  reservedPorts: number[];
}

export interface AgentWelcome {
  agentId: string;
  containerInstanceArn?: string;
  region: string;
  accountId: string;
}

/** A port mapping as the task definition (after overrides) gives it. */
export interface PortMappingSpec {
  containerPort: number;
  hostPort?: number;
  protocol: "tcp" | "udp";
  name?: string;
}

/** One container of a task, resolved from its definition plus RunTask overrides. */
export interface ContainerSpec {
  name: string;
  containerArn: string;
  image: string;
  essential: boolean;
  /** The container definition exactly as registered, with overrides applied. */
  definition: Record<string, unknown>;
}

export interface TaskSpec {
  taskArn: string;
  taskId: string;
  clusterArn: string;
  family: string;
  revision: number;
  taskDefinitionArn: string;
  launchType: "EC2" | "FARGATE" | "EXTERNAL";
  networkMode: "bridge" | "host" | "awsvpc" | "none";
  /** Task-level size, CPU units and MiB; absent when the definition has none. */
  cpu?: number;
  memory?: number;
  containers: ContainerSpec[];
  volumes: Record<string, unknown>[];
  availabilityZone: string;
  region: string;
  pidMode?: string;
  ipcMode?: string;
  /** The task role: its credentials are served to the task's containers. */
  taskRoleArn?: string;
  /** The execution role: the server reads secrets with it; it never reaches a container. */
  executionRoleArn?: string;
}

export type DesiredStatus = "RUNNING" | "STOPPED";

export interface DesiredTask {
  spec: TaskSpec;
  desiredStatus: DesiredStatus;
  /** Why the server wants it stopped (StopTask reason), when it does. */
  stopCode?: string;
  stoppedReason?: string;
  /** Stay in DEACTIVATING, containers running, until this clears: its targets are draining. */
  holdDeactivating?: boolean;
}

export interface DesiredState {
  tasks: DesiredTask[];
  /** Increases whenever anything in the set changes; the agent long-polls for a newer one. */
  generation: number;
}

export interface NetworkBinding {
  bindIP: string;
  containerPort: number;
  hostPort: number;
  protocol: "tcp" | "udp";
}

export type HealthStatus = "HEALTHY" | "UNHEALTHY" | "UNKNOWN";

export interface ContainerReport {
  name: string;
  runtimeId?: string;
  imageDigest?: string;
  lastStatus: "PENDING" | "RUNNING" | "STOPPED";
  exitCode?: number;
  reason?: string;
  healthStatus: HealthStatus;
  networkBindings: NetworkBinding[];
  /** The task IP for awsvpc tasks. */
  privateIPv4Address?: string;
  startedAt?: number;
  finishedAt?: number;
}

/** The full observed state of one task; `seq` orders reports from one agent run. */
export interface TaskReport {
  taskArn: string;
  lastStatus: string;
  seq: number;
  pullStartedAt?: number;
  pullStoppedAt?: number;
  startedAt?: number;
  stoppingAt?: number;
  executionStoppedAt?: number;
  stoppedAt?: number;
  stopCode?: string;
  stoppedReason?: string;
  containers: ContainerReport[];
  privateIPv4Address?: string;
  macAddress?: string;
}

/** Where a container's awslogs output goes. */
export interface LogTarget {
  region: string;
  logGroup: string;
  logStream: string;
  /** awslogs-create-group: create the group when it does not exist. */
  createGroup: boolean;
}

export interface LogBatch extends LogTarget {
  /** Chronological, as read from the container. */
  events: { timestamp: number; message: string }[];
  /** The container and the cursor this batch starts at: a batch sent again stores nothing twice. */
  source?: { key: string; from: LogCursor };
}

/** What one container gets from `secrets` and `repositoryCredentials`, resolved by the server. */
export interface ContainerSecrets {
  env: Record<string, string>;
  registryAuth?: { username: string; password: string };
}

/** Resolution failures are answers, not errors: the task stops with ECS's ResourceInitializationError. */
export type TaskSecretsResult = { ok: true; containers: Record<string, ContainerSecrets> } | { ok: false; message: string };

/** Temporary credentials for a task's role, as the credentials endpoint serves them. */
export interface RoleCredentials {
  roleArn: string;
  accessKeyId: string;
  secretAccessKey: string;
  sessionToken: string;
  /** Epoch milliseconds. */
  expiration: number;
}

/**
 * The calls an agent makes. Implemented in-process for the agent inside `berth up`, and
 * over HTTP for `berth agent` on other hosts. Every call is idempotent.
 */
export interface AgentChannel {
  register(hello: AgentHello): Promise<AgentWelcome>;
  /** Long-polls until the desired state's generation exceeds `afterGeneration` or `waitMs` passes. */
  desiredState(agentId: string, afterGeneration: number, waitMs: number): Promise<DesiredState>;
  report(agentId: string, reports: TaskReport[]): Promise<void>;
  heartbeat(agentId: string): Promise<void>;
  /**
   * Makes sure the stream (and, if asked, the group) exists; throws when the group does not, or
   * when the task's execution role may not create them.
   */
  prepareLogStream(agentId: string, target: LogTarget, taskArn?: string): Promise<void>;
  /** Stores container output; resolves once it is durable. */
  shipLogs(agentId: string, batches: LogBatch[]): Promise<void>;
  /** The task's secrets and registry credentials, read with its execution role. Values are never stored. */
  resolveSecrets(agentId: string, taskArn: string): Promise<TaskSecretsResult>;
  /** Fresh temporary credentials for the task's role; throws when the role cannot be assumed. */
  taskCredentials(agentId: string, taskArn: string): Promise<RoleCredentials>;
}
