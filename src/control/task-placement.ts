/**
 * Where new tasks go. EC2 and EXTERNAL tasks go to the cluster's container instances, through
 * the scheduler with the instances' remaining resources; FARGATE tasks go to agents that offer
 * Fargate capacity (any cluster), checked for memory only: CPU is shared, as on a laptop.
 */
import { randomInt } from "node:crypto";
import { invalidParameter } from "../core/errors.ts";
import type { AgentRecord } from "../domain/agent.ts";
import type { Task } from "../domain/task.ts";
import { type InstanceCapacity, type TaskRequirements, placeTasks } from "../scheduler/placement.ts";
import type { ControlDeps } from "./context.ts";

export interface Slot {
  agentId: string;
  containerInstanceArn?: string;
  availabilityZone: string;
}

export interface PlacementFailure {
  arn?: string;
  reason: string;
  detail?: string;
}

/** Agents not heard from for this long are treated as disconnected for placement. */
export const AGENT_TTL_MS = 30_000;

const random = (): number => randomInt(0, 2 ** 31) / 2 ** 31;

function usage(tasks: readonly Task[]) {
  const byAgent = new Map<string, { cpu: number; memory: number; tcp: Set<number>; udp: Set<number>; groups: Map<string, number>; count: number }>();
  for (const t of tasks) {
    const u = byAgent.get(t.agentId) ?? { cpu: 0, memory: 0, tcp: new Set<number>(), udp: new Set<number>(), groups: new Map<string, number>(), count: 0 };
    u.cpu += t.reservedCpu;
    u.memory += t.reservedMemory;
    for (const p of t.reservedPorts) u[p.protocol].add(p.port);
    u.groups.set(t.group, (u.groups.get(t.group) ?? 0) + 1);
    u.count++;
    byAgent.set(t.agentId, u);
  }
  return byAgent;
}

export async function placeOnAgents(
  deps: ControlDeps,
  region: string,
  cluster: string,
  launchType: Task["launchType"],
  req: TaskRequirements,
  count: number,
): Promise<{ placements: Slot[]; failures: PlacementFailure[] }> {
  const now = deps.clock.now();
  const agents = new Map((await deps.store.listAgents()).map((a) => [a.agentId, a] as const));
  const connected = (a: AgentRecord | undefined) => !!a && a.connected && now - a.lastSeenAt < AGENT_TTL_MS;

  if (launchType === "FARGATE") {
    const hosts = [...agents.values()].filter((a) => a.fargate && connected(a));
    if (hosts.length === 0) {
      return { placements: [], failures: [{ reason: "AGENT", detail: "No Berth agent offering Fargate capacity is connected." }] };
    }
    const used = usage(await deps.store.liveTasksOnAgents(hosts.map((h) => h.agentId)));
    const capacity: InstanceCapacity[] = hosts.map((h) => capacityOf(h.agentId, "ACTIVE", true, h.attributes, h.cpu, h.memoryMiB, [], used.get(h.agentId)));
    const result = placeTasks(capacity, { ...req, cpu: 0, ports: [], strategy: [{ type: "spread", field: "instanceId" }] }, count, random);
    return {
      placements: result.placements.map((id) => ({ agentId: id, availabilityZone: agents.get(id)?.attributes["ecs.availability-zone"] ?? `${region}a` })),
      failures: result.failures.map((f) => ({ reason: f.reason })),
    };
  }

  const instances = (await deps.store.listContainerInstances(region, cluster)).filter((ci) => ci.status !== "INACTIVE");
  if (instances.length === 0) throw invalidParameter("No Container Instances were found in your cluster.");
  const used = usage(await deps.store.liveTasksOnAgents(instances.map((i) => i.agentId)));
  const byId = new Map(instances.map((i) => [i.containerInstanceArn, i] as const));
  const capacity = instances.map((ci) =>
    capacityOf(
      ci.containerInstanceArn,
      ci.status,
      ci.agentConnected && connected(agents.get(ci.agentId)),
      Object.fromEntries(ci.attributes.map((a) => [a.name, a.value])),
      ci.registeredCpu,
      ci.registeredMemory,
      ci.reservedPorts,
      used.get(ci.agentId),
      ci.registeredAt,
    ),
  );
  const result = placeTasks(capacity, req, count, random);
  return {
    placements: result.placements.map((arn) => {
      const ci = byId.get(arn)!;
      const zone = ci.attributes.find((a) => a.name === "ecs.availability-zone")?.value ?? `${region}a`;
      return { agentId: ci.agentId, containerInstanceArn: arn, availabilityZone: zone };
    }),
    failures: result.failures.map((f) => (f.closestInstance ? { arn: f.closestInstance, reason: f.reason } : { reason: f.reason })),
  };
}

/** Whether a task fits on one named container instance (StartTask). */
export async function placeOnInstance(
  deps: ControlDeps,
  region: string,
  cluster: string,
  instanceId: string,
  req: TaskRequirements,
): Promise<{ slot: Slot } | { failure: PlacementFailure }> {
  const ci = await deps.store.getContainerInstance(region, cluster, instanceId);
  if (!ci || ci.status === "INACTIVE") return { failure: { arn: instanceId, reason: "MISSING" } };
  const agent = await deps.store.getAgent(ci.agentId);
  const connected = ci.agentConnected && !!agent && agent.connected && deps.clock.now() - agent.lastSeenAt < AGENT_TTL_MS;
  const used = usage(await deps.store.liveTasksOnAgent(ci.agentId)).get(ci.agentId);
  const attributes = Object.fromEntries(ci.attributes.map((a) => [a.name, a.value]));
  const capacity = capacityOf(ci.containerInstanceArn, ci.status, connected, attributes, ci.registeredCpu, ci.registeredMemory, ci.reservedPorts, used, ci.registeredAt);
  const result = placeTasks([capacity], req, 1, random);
  if (result.placements.length === 1) {
    return { slot: { agentId: ci.agentId, containerInstanceArn: ci.containerInstanceArn, availabilityZone: attributes["ecs.availability-zone"] ?? `${region}a` } };
  }
  return { failure: { arn: ci.containerInstanceArn, reason: result.failures[0]?.reason ?? "RESOURCE:CPU" } };
}

function capacityOf(
  id: string,
  status: string,
  agentConnected: boolean,
  attributes: Record<string, string | undefined>,
  cpu: number,
  memory: number,
  reserved: number[],
  used: ReturnType<typeof usage> extends Map<string, infer U> ? U | undefined : never,
  registeredAt?: number,
): InstanceCapacity {
  return {
    id,
    status,
    agentConnected,
    attributes,
    registeredAt,
    remainingCpu: cpu - (used?.cpu ?? 0),
    remainingMemory: memory - (used?.memory ?? 0),
    reservedPorts: { tcp: new Set([...reserved, ...(used?.tcp ?? [])]), udp: new Set(used?.udp ?? []) },
    runningTasksCount: used?.count ?? 0,
    taskGroups: new Set(used?.groups.keys() ?? []),
    tasksByGroup: used?.groups ?? new Map(),
  };
}
