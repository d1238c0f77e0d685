/**
 * Task use cases: RunTask (resolve the definition and overrides, place, store), StopTask
 * (desired status only: the agent stops the containers and reports), DescribeTasks and
 * ListTasks. The API never waits for containers.
 */
import { ecsArn, lastSegment, parseArn } from "../core/arn.ts";
import { BerthError, ErrorCode, clientError, invalidParameter } from "../core/errors.ts";
import type { Tag } from "../domain/tags.ts";
import type { Cluster } from "../domain/cluster.ts";
import type { TaskDefinitionRecord } from "../domain/task-definition-record.ts";
import { type Task, type TaskStopCode, USER_STOP_REASON } from "../domain/task.ts";
import { defaultServiceStrategy } from "../scheduler/placement.ts";
import { type LaunchPlan, type TaskOverride, planLaunch } from "../domain/task-launch.ts";
import { effectiveSetting } from "./account-settings.ts";
import { assertProviders } from "./capacity-providers.ts";
import { clusterNameOf, requireCluster } from "./clusters.ts";
import type { CallContext, ControlDeps } from "./context.ts";
import { pageRequest, withToken } from "./pagination.ts";
import { type PlacementFailure, type Slot, placeOnAgents, placeOnInstance } from "./task-placement.ts";
import { findTaskDefinition } from "./task-definitions.ts";

export interface RunTaskCommand {
  cluster?: string;
  taskDefinition: string;
  count?: number;
  launchType?: "EC2" | "FARGATE" | "EXTERNAL";
  capacityProviderStrategy?: { capacityProvider: string; weight?: number; base?: number }[];
  overrides?: TaskOverride;
  startedBy?: string;
  group?: string;
  tags?: Tag[];
  clientToken?: string;
  networkConfiguration?: { awsvpcConfiguration?: { subnets?: string[] } };
  placementConstraints?: { type: "distinctInstance" | "memberOf"; expression?: string }[];
  placementStrategy?: { type: "binpack" | "spread" | "random"; field?: string }[];
  propagateTags?: string;
}

export interface RunTaskResult {
  tasks: Task[];
  failures: PlacementFailure[];
}

/** Tells the agent side that an agent's desired set changed (wakes long-polls). */
export type AgentNotifier = (agentId: string) => void;

interface PreparedLaunch {
  cluster: Cluster;
  td: TaskDefinitionRecord;
  plan: LaunchPlan;
  launchType: Task["launchType"];
  capacityProviderName?: string;
  networkMode: Task["networkMode"];
  group: string;
}

/**
 * Resolves cluster, definition, launch type and overrides; checks what ECS checks before
 * placing. Services may keep running a revision that was deregistered (`allowInactive`).
 */
async function prepareLaunch(deps: ControlDeps, ctx: CallContext, cmd: RunTaskCommand, allowInactive = false): Promise<PreparedLaunch> {
  const cluster = await requireCluster(deps, ctx, cmd.cluster);
  const td = await findTaskDefinition(deps, ctx, cmd.taskDefinition);
  if (!td) throw clientError("TaskDefinition not found.");
  if (td.status !== "ACTIVE" && !(allowInactive && td.status === "INACTIVE")) throw clientError("TaskDefinition is inactive");
  const { launchType, capacityProviderName } = chooseLaunchType(cmd, cluster);
  const networkMode = (td.document["networkMode"] as Task["networkMode"] | undefined) ?? "bridge";
  if (launchType === "FARGATE" && !td.compatibilities.includes("FARGATE")) {
    throw clientError("Task definition does not support launch_type FARGATE.");
  }
  if (networkMode === "awsvpc" && !cmd.networkConfiguration?.awsvpcConfiguration) {
    throw invalidParameter("Network Configuration must be provided when networkMode 'awsvpc' is specified.");
  }
  const prepared: PreparedLaunch = {
    cluster,
    td,
    plan: planLaunch(td.document, cmd.overrides ?? {}, await effectiveSetting(deps, ctx, "defaultLogDriverMode")),
    launchType,
    networkMode,
    group: cmd.group ?? `family:${td.family}`,
  };
  if (capacityProviderName) prepared.capacityProviderName = capacityProviderName;
  return prepared;
}

export async function runTask(deps: ControlDeps, notify: AgentNotifier, ctx: CallContext, cmd: RunTaskCommand): Promise<RunTaskResult> {
  const count = cmd.count ?? 1;
  if (!Number.isInteger(count) || count < 1 || count > 10) throw invalidParameter("count must be between 1 and 10.");
  if (cmd.clientToken) {
    const cluster = await requireCluster(deps, ctx, cmd.cluster);
    const earlier = await deps.store.findTasksByClientToken(ctx.scope.region, cluster.clusterName, cmd.clientToken);
    if (earlier.length > 0) return { tasks: earlier, failures: [] };
  }
  const launch = await prepareLaunch(deps, ctx, cmd);
  const { plan, td } = launch;
  const placement = await placeOnAgents(deps, ctx.scope.region, launch.cluster.clusterName, launch.launchType, {
    cpu: plan.reservedCpu,
    memory: plan.reservedMemory,
    ports: plan.fixedPorts,
    group: launch.group,
    constraints: [...(cmd.placementConstraints ?? []), ...((td.document["placementConstraints"] as never[] | undefined) ?? [])],
    strategy: cmd.placementStrategy ?? [],
  }, count);
  const tasks = await createTasks(deps, notify, ctx, cmd, launch, placement.placements);
  return { tasks, failures: placement.failures };
}

/** StartTask: one task on each named container instance, if it fits there. */
export async function startTask(
  deps: ControlDeps,
  notify: AgentNotifier,
  ctx: CallContext,
  cmd: RunTaskCommand & { containerInstances: string[] },
): Promise<RunTaskResult> {
  if (cmd.containerInstances.length < 1 || cmd.containerInstances.length > 10) {
    throw invalidParameter("containerInstances must contain between 1 and 10 container instances.");
  }
  const launch = await prepareLaunch(deps, ctx, { ...cmd, launchType: "EC2" });
  const { plan } = launch;
  const slots: Slot[] = [];
  const failures: PlacementFailure[] = [];
  for (const ref of cmd.containerInstances) {
    const result = await placeOnInstance(deps, ctx.scope.region, launch.cluster.clusterName, lastSegment(ref), {
      cpu: plan.reservedCpu,
      memory: plan.reservedMemory,
      ports: plan.fixedPorts,
      group: launch.group,
      constraints: [],
      strategy: [],
    });
    if ("slot" in result) slots.push(result.slot);
    else failures.push(result.failure);
  }
  return { tasks: await createTasks(deps, notify, ctx, cmd, launch, slots), failures };
}

/** Stores one new task for each slot, tags them, and wakes the agents that are to run them. */
async function createTasks(
  deps: ControlDeps,
  notify: AgentNotifier,
  ctx: CallContext,
  cmd: RunTaskCommand,
  launch: PreparedLaunch,
  slots: Slot[],
): Promise<Task[]> {
  const now = deps.clock.now();
  const tasks = slots.map((slot) => newTask(deps, ctx, cmd, launch, slot, now));
  if (tasks.length === 0) return tasks;
  await deps.store.createTasks(tasks);
  const tags = cmd.tags ?? [];
  const inherited = cmd.propagateTags === "TASK_DEFINITION" ? await deps.store.getTags(launch.td.taskDefinitionArn) : [];
  if (tags.length + inherited.length > 0) {
    for (const t of tasks) await deps.store.putTags(t.taskArn, [...inherited, ...tags]);
  }
  for (const agentId of new Set(tasks.map((t) => t.agentId))) notify(agentId);
  return tasks;
}

/** The PROVISIONING task a launch places in one slot, with new ids; not stored yet. */
function newTask(deps: ControlDeps, ctx: CallContext, cmd: RunTaskCommand, launch: PreparedLaunch, slot: Slot, now: number): Task {
  const { cluster, td, plan, launchType, capacityProviderName, networkMode } = launch;
  const overrides = cmd.overrides ?? {};
  const taskId = deps.ids.hex32();
  const task: Task = {
    region: ctx.scope.region,
    taskArn: ecsArn(ctx.scope, `task/${cluster.clusterName}/${taskId}`),
    taskId,
    clusterArn: cluster.clusterArn,
    clusterName: cluster.clusterName,
    taskDefinitionArn: td.taskDefinitionArn,
    family: td.family,
    revision: td.revision,
    launchType,
    agentId: slot.agentId,
    networkMode,
    lastStatus: "PROVISIONING",
    desiredStatus: "RUNNING",
    reservedCpu: plan.reservedCpu,
    reservedMemory: plan.reservedMemory,
    reservedPorts: plan.fixedPorts,
    overrides: overrides as Record<string, unknown>,
    resolvedContainers: plan.containers,
    volumes: (td.document["volumes"] as Record<string, unknown>[] | undefined) ?? [],
    ...roles(td.document, overrides),
    group: launch.group,
    availabilityZone: slot.availabilityZone,
    containers: newContainers(deps, ctx, cluster.clusterName, taskId, plan),
    healthStatus: "UNKNOWN",
    createdAt: now,
    version: 1,
  };
  if (plan.cpu !== undefined) task.cpu = String(plan.cpu);
  if (plan.memory !== undefined) task.memory = String(plan.memory);
  if (slot.containerInstanceArn) task.containerInstanceArn = slot.containerInstanceArn;
  if (capacityProviderName) task.capacityProviderName = capacityProviderName;
  if (cmd.startedBy !== undefined) task.startedBy = cmd.startedBy;
  if (cmd.clientToken !== undefined) task.clientToken = cmd.clientToken;
  for (const key of ["pidMode", "ipcMode"] as const) {
    const v = td.document[key];
    if (typeof v === "string") task[key] = v;
  }
  return task;
}

/** A new task's containers, one for each resolved container: PENDING, health UNKNOWN, no bindings yet. */
function newContainers(deps: ControlDeps, ctx: CallContext, clusterName: string, taskId: string, plan: LaunchPlan): Task["containers"] {
  return plan.containers.map((c) => ({
    containerArn: ecsArn(ctx.scope, `container/${clusterName}/${taskId}/${deps.ids.uuid()}`),
    name: c["name"] as string,
    image: c["image"] as string,
    essential: c["essential"] !== false,
    lastStatus: "PENDING",
    healthStatus: "UNKNOWN",
    networkBindings: [],
    cpu: String(c["cpu"] ?? 0),
    ...(c["memory"] !== undefined ? { memory: String(c["memory"]) } : {}),
    ...(c["memoryReservation"] !== undefined ? { memoryReservation: String(c["memoryReservation"]) } : {}),
  }));
}

/**
 * Launch type from the request, else the capacity provider strategy (the request's, else the
 * cluster's default), else EC2. A strategy picks its provider by base first, then weight.
 */
function chooseLaunchType(cmd: RunTaskCommand, cluster: Cluster): { launchType: Task["launchType"]; capacityProviderName?: string } {
  if (cmd.launchType && cmd.capacityProviderStrategy?.length) {
    throw invalidParameter("Specifying both a launch type and capacity provider strategy is not supported. Remove one and try again.");
  }
  if (cmd.launchType) return { launchType: cmd.launchType };
  const given = cmd.capacityProviderStrategy ?? [];
  if (given.length) assertProviders(cluster.capacityProviders, given);
  const strategy = given.length ? given : cluster.defaultCapacityProviderStrategy;
  const chosen = [...strategy].sort((a, b) => (b.base ?? 0) - (a.base ?? 0) || (b.weight ?? 0) - (a.weight ?? 0))[0];
  if (chosen) return { launchType: "FARGATE", capacityProviderName: chosen.capacityProvider };
  return { launchType: "EC2" };
}

/** The task a reference (id or ARN) names in a cluster, or undefined. */
export async function findTask(deps: ControlDeps, ctx: CallContext, clusterRef: string | undefined, ref: string): Promise<Task | undefined> {
  const arn = parseArn(ref);
  const region = arn?.region || ctx.scope.region;
  const task = await deps.store.getTask(region, lastSegment(ref));
  if (!task || task.clusterName !== clusterNameOf(clusterRef)) return undefined;
  return task;
}

export async function stopTask(deps: ControlDeps, notify: AgentNotifier, ctx: CallContext, clusterRef: string | undefined, ref: string, reason?: string): Promise<Task> {
  await requireCluster(deps, ctx, clusterRef);
  const task = await findTask(deps, ctx, clusterRef, ref);
  if (!task) throw invalidParameter("The referenced task was not found.");
  return requestStop(deps, notify, task, "UserInitiated", reason ?? USER_STOP_REASON);
}

/**
 * Sets a task's desired status to STOPPED with the given stop code and reason; the agent
 * stops its containers. A concurrent agent report is re-read and the stop applied again.
 */
export async function requestStop(
  deps: ControlDeps,
  notify: AgentNotifier,
  task: Task,
  stopCode: TaskStopCode,
  reason: string,
  options: { drainTargets?: boolean } = {},
): Promise<Task> {
  let current = task;
  for (let attempt = 0; ; attempt++) {
    if (current.desiredStatus === "STOPPED") return current;
    const next: Task = { ...current, desiredStatus: "STOPPED", stopCode, stoppedReason: reason };
    if (options.drainTargets) next.drainingTargets = true;
    next.stoppingAt ??= deps.clock.now();
    try {
      const stored = await deps.store.updateTask(next);
      notify(current.agentId);
      return stored;
    } catch (error) {
      // An agent report landed in between: re-read and apply the stop again.
      if (!(error instanceof BerthError && error.code === ErrorCode.StaleVersion) || attempt > 10) throw error;
      const fresh = await deps.store.getTask(current.region, current.taskId);
      if (!fresh) return current;
      current = fresh;
    }
  }
}

/** Its load balancer targets have drained: the agent may stop the task's containers now. */
export async function releaseDrainedTask(deps: ControlDeps, notify: AgentNotifier, task: Task): Promise<void> {
  let current = task;
  for (let attempt = 0; current.drainingTargets; attempt++) {
    try {
      const { drainingTargets: _held, ...rest } = current;
      await deps.store.updateTask(rest);
      notify(current.agentId);
      return;
    } catch (error) {
      if (!(error instanceof BerthError && error.code === ErrorCode.StaleVersion) || attempt > 10) throw error;
      const fresh = await deps.store.getTask(current.region, current.taskId);
      if (!fresh) return;
      current = fresh;
    }
  }
}

/** What a service deployment launches its tasks with. */
export interface ServiceLaunch {
  cluster: string;
  taskDefinition: string;
  count: number;
  group: string;
  startedBy: string;
  launchType?: Task["launchType"];
  capacityProviderStrategy?: RunTaskCommand["capacityProviderStrategy"];
  networkConfiguration?: RunTaskCommand["networkConfiguration"];
  placementConstraints: NonNullable<RunTaskCommand["placementConstraints"]>;
  placementStrategy: NonNullable<RunTaskCommand["placementStrategy"]>;
  tags: Tag[];
}

/** Launches `count` tasks for a service deployment (no 10-task cap; service placement defaults). */
export async function launchForService(deps: ControlDeps, notify: AgentNotifier, ctx: CallContext, launch: ServiceLaunch): Promise<RunTaskResult> {
  const cmd: RunTaskCommand = { cluster: launch.cluster, taskDefinition: launch.taskDefinition, group: launch.group, startedBy: launch.startedBy, tags: launch.tags };
  if (launch.launchType) cmd.launchType = launch.launchType;
  if (launch.capacityProviderStrategy?.length) cmd.capacityProviderStrategy = launch.capacityProviderStrategy;
  if (launch.networkConfiguration) cmd.networkConfiguration = launch.networkConfiguration;
  const prepared = await prepareLaunch(deps, ctx, cmd, true);
  const { plan, td } = prepared;
  const placement = await placeOnAgents(deps, ctx.scope.region, prepared.cluster.clusterName, prepared.launchType, {
    cpu: plan.reservedCpu,
    memory: plan.reservedMemory,
    ports: plan.fixedPorts,
    group: launch.group,
    constraints: [...launch.placementConstraints, ...((td.document["placementConstraints"] as never[] | undefined) ?? [])],
    strategy: launch.placementStrategy.length ? launch.placementStrategy : defaultServiceStrategy(),
  }, launch.count);
  return { tasks: await createTasks(deps, notify, ctx, cmd, prepared, placement.placements), failures: placement.failures };
}

export async function describeTasks(deps: ControlDeps, ctx: CallContext, clusterRef: string | undefined, refs: string[]) {
  const cluster = await requireCluster(deps, ctx, clusterRef);
  if (refs.length > 100) throw invalidParameter("Tasks cannot have more than 100 elements");
  const tasks: Task[] = [];
  const failures: { arn: string; reason: string }[] = [];
  for (const ref of refs) {
    const task = await findTask(deps, ctx, cluster.clusterName, ref);
    if (task) tasks.push(task);
    else failures.push({ arn: parseArn(ref) ? ref : ecsArn(ctx.scope, `task/${cluster.clusterName}/${ref}`), reason: "MISSING" });
  }
  return { tasks, failures };
}

export interface ListTasksCommand {
  cluster?: string;
  containerInstance?: string;
  family?: string;
  serviceName?: string;
  startedBy?: string;
  desiredStatus?: "RUNNING" | "PENDING" | "STOPPED";
  launchType?: string;
  nextToken?: string;
  maxResults?: number;
}

export async function listTasks(deps: ControlDeps, ctx: CallContext, cmd: ListTasksCommand) {
  const cluster = await requireCluster(deps, ctx, cmd.cluster);
  const page = pageRequest(cmd.nextToken, cmd.maxResults);
  if (cmd.family !== undefined && cmd.serviceName !== undefined) {
    throw invalidParameter("The family and serviceName parameters can not be used together.");
  }
  // ECS never sets desiredStatus PENDING, so that filter matches nothing.
  if (cmd.desiredStatus === "PENDING") return { taskArns: [] as string[] };
  let instanceArn: string | undefined;
  if (cmd.containerInstance !== undefined) {
    instanceArn = parseArn(cmd.containerInstance)
      ? cmd.containerInstance
      : ecsArn(ctx.scope, `container-instance/${cluster.clusterName}/${cmd.containerInstance}`);
  }
  const result = await deps.store.listTasks({
    ...page,
    region: ctx.scope.region,
    cluster: cluster.clusterName,
    desiredStatus: cmd.desiredStatus ?? "RUNNING",
    ...(instanceArn ? { containerInstanceArn: instanceArn } : {}),
    ...(cmd.family !== undefined ? { family: cmd.family } : {}),
    ...(cmd.serviceName !== undefined ? { group: `service:${cmd.serviceName}` } : {}),
    ...(cmd.startedBy !== undefined ? { startedBy: cmd.startedBy } : {}),
    ...(cmd.launchType !== undefined ? { launchType: cmd.launchType } : {}),
  });
  return withToken({ ...result, items: result.items.map((t) => t.taskArn) }, "taskArns");
}

/** The task and execution roles: RunTask's overrides win over the definition's. */
function roles(definition: Record<string, unknown>, overrides: TaskOverride): Pick<Task, "taskRoleArn" | "executionRoleArn"> {
  const taskRoleArn = overrides.taskRoleArn ?? (definition["taskRoleArn"] as string | undefined);
  const executionRoleArn = overrides.executionRoleArn ?? (definition["executionRoleArn"] as string | undefined);
  return { ...(taskRoleArn ? { taskRoleArn } : {}), ...(executionRoleArn ? { executionRoleArn } : {}) };
}
