/**
 * The control plane's side of the agent channel: registration (an agent becomes a container
 * instance of its cluster, keeping its ARN across restarts), the desired task set for an
 * agent (long-polled), observation reports (the agent owns lastStatus), heartbeats, and the
 * liveness sweep that marks silent agents disconnected.
 */
import { ecsArn } from "../core/arn.ts";
import { BerthError, ErrorCode } from "../core/errors.ts";
import type { AgentRecord } from "../domain/agent.ts";
import type { Attribute, ContainerInstance } from "../domain/container-instance.ts";
import { DEFAULT_CLUSTER } from "../domain/cluster.ts";
import { type Task, type TaskObservation, applyObservation } from "../domain/task.ts";
import { createCluster } from "./clusters.ts";
import type { CallContext, ControlDeps } from "./context.ts";
import { AGENT_TTL_MS } from "./task-placement.ts";

export interface AgentRegistration {
  agentId: string;
  hostname: string;
  agentVersion: string;
  cpu: number;
  memoryMiB: number;
  fargate: boolean;
  attributes: Record<string, string>;
  region: string;
  cluster?: string;
  reservedPorts: number[];
}

/** Wakes long-polls when an agent's desired set changes. In-memory; a lost wake costs one poll. */
export class AgentSignals {
  private readonly waiters = new Map<string, Set<() => void>>();

  notify = (agentId: string): void => {
    const set = this.waiters.get(agentId);
    if (!set) return;
    this.waiters.delete(agentId);
    for (const wake of set) wake();
  };

  wait(agentId: string, ms: number): Promise<void> {
    return new Promise((resolve) => {
      const set = this.waiters.get(agentId) ?? new Set();
      const done = (): void => {
        clearTimeout(timer);
        set.delete(done);
        resolve();
      };
      const timer = setTimeout(done, ms);
      // A pending long poll must not keep the process alive after the server closes.
      timer.unref();
      set.add(done);
      this.waiters.set(agentId, set);
    });
  }
}

export async function registerAgent(deps: ControlDeps, ctx: CallContext, reg: AgentRegistration): Promise<{ containerInstanceArn?: string }> {
  const now = deps.clock.now();
  const previous = await deps.store.getAgent(reg.agentId);
  const agent: AgentRecord = {
    agentId: reg.agentId,
    hostname: reg.hostname,
    agentVersion: reg.agentVersion,
    cpu: reg.cpu,
    memoryMiB: reg.memoryMiB,
    fargate: reg.fargate,
    attributes: reg.attributes,
    connected: true,
    lastSeenAt: now,
    registeredAt: previous?.registeredAt ?? now,
  };
  if (!reg.cluster) {
    await deps.store.putAgent(agent);
    return {};
  }
  // The ECS agent's registration creates the default cluster when it does not exist yet.
  if (reg.cluster === DEFAULT_CLUSTER) await createCluster(deps, ctx, { clusterName: DEFAULT_CLUSTER });
  const cluster = await deps.store.getCluster(ctx.scope.region, reg.cluster);
  if (!cluster || cluster.status !== "ACTIVE") throw new BerthError(ErrorCode.ClusterNotFound, "Cluster not found.");
  const instance = await upsertInstance(deps, ctx, reg, now);
  await deps.store.putAgent({ ...agent, region: ctx.scope.region, clusterName: reg.cluster, containerInstanceArn: instance.containerInstanceArn });
  return { containerInstanceArn: instance.containerInstanceArn };
}

function builtInAttributes(reg: AgentRegistration): Attribute[] {
  const names = { ...reg.attributes };
  const attrs: Attribute[] = Object.entries(names).map(([name, value]) => ({ name, value }));
  for (const cap of [
    "com.amazonaws.ecs.capability.docker-remote-api.1.17",
    "com.amazonaws.ecs.capability.docker-remote-api.1.18",
    "com.amazonaws.ecs.capability.docker-remote-api.1.19",
    "com.amazonaws.ecs.capability.docker-remote-api.1.29",
    "com.amazonaws.ecs.capability.logging-driver.awslogs",
    "com.amazonaws.ecs.capability.task-iam-role",
    "ecs.capability.execution-role-awslogs",
    "ecs.capability.container-health-check",
    "ecs.capability.container-ordering",
    "ecs.capability.task-eni",
    "ecs.capability.secrets.asm.environment-variables",
    "ecs.capability.secrets.ssm.environment-variables",
  ]) {
    if (!(cap in names)) attrs.push({ name: cap });
  }
  return attrs;
}

async function upsertInstance(deps: ControlDeps, ctx: CallContext, reg: AgentRegistration, now: number): Promise<ContainerInstance> {
  const existing = await deps.store.findContainerInstanceByAgent(reg.agentId);
  if (existing && existing.clusterName === reg.cluster && existing.region === ctx.scope.region) {
    return deps.store.putContainerInstance({
      ...existing,
      agentConnected: true,
      lastHeartbeatAt: now,
      agentVersion: reg.agentVersion,
      registeredCpu: reg.cpu,
      registeredMemory: reg.memoryMiB,
      reservedPorts: reg.reservedPorts,
      attributes: mergeAttributes(existing.attributes, builtInAttributes(reg)),
    });
  }
  const id = deps.ids.hex32();
  return deps.store.putContainerInstance({
    region: ctx.scope.region,
    containerInstanceArn: ecsArn(ctx.scope, `container-instance/${reg.cluster}/${id}`),
    id,
    clusterName: reg.cluster!,
    agentId: reg.agentId,
    ec2InstanceId: `i-${reg.agentId.slice(0, 17)}`,
    status: "ACTIVE",
    agentConnected: true,
    agentVersion: reg.agentVersion,
    hostname: reg.hostname,
    registeredCpu: reg.cpu,
    registeredMemory: reg.memoryMiB,
    reservedPorts: reg.reservedPorts,
    attributes: builtInAttributes(reg),
    registeredAt: now,
    lastHeartbeatAt: now,
    version: 0,
  });
}

/** Attributes the agent reports replace same-named ones; custom ones (PutAttributes) stay. */
function mergeAttributes(current: Attribute[], reported: Attribute[]): Attribute[] {
  const byName = new Map(current.map((a) => [a.name, a] as const));
  for (const a of reported) byName.set(a.name, a);
  return [...byName.values()];
}

export async function desiredTasks(deps: ControlDeps, signals: AgentSignals, agentId: string, afterGeneration: number, waitMs: number) {
  let generation = await deps.store.agentGeneration(agentId);
  if (generation <= afterGeneration && waitMs > 0) {
    await signals.wait(agentId, waitMs);
    generation = await deps.store.agentGeneration(agentId);
  }
  return { tasks: await deps.store.liveTasksOnAgent(agentId), generation };
}

/** Applies each observation; stale or backwards reports are dropped (the agent resends). */
export async function applyReports(deps: ControlDeps, agentId: string, region: (taskArn: string) => string, observations: TaskObservation[]): Promise<void> {
  for (const obs of observations) {
    const taskId = obs.taskArn.slice(obs.taskArn.lastIndexOf("/") + 1);
    for (let attempt = 0; attempt < 10; attempt++) {
      const task = await deps.store.getTask(region(obs.taskArn), taskId);
      if (!task || task.agentId !== agentId) break;
      const next = applyObservation(task, obs, deps.clock.now());
      if (!next) break;
      try {
        await deps.store.updateTask(next);
        break;
      } catch (error) {
        // A StopTask landed in between: re-read and apply again.
        if (!(error instanceof BerthError && error.code === ErrorCode.StaleVersion)) throw error;
      }
    }
  }
}

export async function heartbeat(deps: ControlDeps, agentId: string): Promise<void> {
  const agent = await deps.store.getAgent(agentId);
  if (!agent) throw new BerthError(ErrorCode.ResourceNotFound, `Agent ${agentId} is not registered.`);
  const now = deps.clock.now();
  await deps.store.putAgent({ ...agent, connected: true, lastSeenAt: now });
  if (!agent.connected) await setInstanceConnected(deps, agent, true, now);
}

/** Marks agents silent for longer than the TTL as disconnected. Their tasks keep running. */
export async function sweepAgents(deps: ControlDeps): Promise<void> {
  const now = deps.clock.now();
  for (const agent of await deps.store.listAgents()) {
    if (agent.connected && now - agent.lastSeenAt > AGENT_TTL_MS) {
      await deps.store.putAgent({ ...agent, connected: false });
      await setInstanceConnected(deps, agent, false, now);
    }
  }
}

async function setInstanceConnected(deps: ControlDeps, agent: AgentRecord, connected: boolean, now: number): Promise<void> {
  const ci = await deps.store.findContainerInstanceByAgent(agent.agentId);
  if (!ci || ci.agentConnected === connected) return;
  await deps.store.putContainerInstance({ ...ci, agentConnected: connected, ...(connected ? { lastHeartbeatAt: now } : {}) });
}

/** Removes STOPPED tasks older than the retention (ECS keeps them describable ≥ 1 hour). */
export async function expireStoppedTasks(deps: ControlDeps, retentionMs: number): Promise<number> {
  return deps.store.deleteTasksStoppedBefore(deps.clock.now() - retentionMs);
}

export type { Task };
