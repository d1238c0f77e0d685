/**
 * Where new tasks go. EC2 and EXTERNAL tasks go to the cluster's container instances, through
 * the scheduler with the instances' remaining resources; FARGATE tasks go to agents that offer
 * Fargate capacity (any cluster), checked for memory only: CPU is shared, as on a laptop.
 * Remaining resources come from the store's placement reads (instances with their agents, and
 * per-agent reservations of live tasks), never from whole task records.
 */
import { randomInt } from "node:crypto";
import { invalidParameter } from "../core/errors.ts";
import type { AgentRecord } from "../domain/agent.ts";
import type { ContainerInstance } from "../domain/container-instance.ts";
import type { Task } from "../domain/task.ts";
import { type InstanceCapacity, type TaskRequirements, placeTasks } from "../scheduler/placement.ts";
import type { AgentReservations } from "../store/store.ts";
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

export async function placeOnAgents(
  deps: ControlDeps,
  region: string,
  cluster: string,
  launchType: Task["launchType"],
  req: TaskRequirements,
  count: number,
): Promise<{ placements: Slot[]; failures: PlacementFailure[] }> {
  const now = deps.clock.now();
  const connected = (a: Readonly<AgentRecord> | undefined) => !!a && a.connected && now - a.lastSeenAt < AGENT_TTL_MS;

  if (launchType === "FARGATE") {
    const hosts = (await deps.store.listAgents()).filter((a) => a.fargate && connected(a));
    if (hosts.length === 0) {
      return { placements: [], failures: [{ reason: "AGENT", detail: "No Berth agent offering Fargate capacity is connected." }] };
    }
    const used = await reservationsByAgent(deps, hosts.map((h) => h.agentId));
    const capacity: InstanceCapacity[] = hosts.map((h) => capacityOf(h.agentId, "ACTIVE", true, h.attributes, h.cpu, h.memoryMiB, NO_PORTS, used.get(h.agentId)));
    const result = placeTasks(capacity, { ...req, cpu: 0, ports: [], strategy: [{ type: "spread", field: "instanceId" }] }, count, random);
    const byId = new Map(hosts.map((h) => [h.agentId, h] as const));
    return {
      placements: result.placements.map((id) => ({ agentId: id, availabilityZone: byId.get(id)?.attributes["ecs.availability-zone"] ?? `${region}a` })),
      failures: result.failures.map((f) => ({ reason: f.reason })),
    };
  }

  const instances = await deps.store.listInstancesWithAgents(region, cluster);
  if (instances.length === 0) throw invalidParameter("No Container Instances were found in your cluster.");
  const used = await reservationsByAgent(deps, instances.map((i) => i.instance.agentId));
  const byArn = new Map<string, Readonly<ContainerInstance>>();
  const capacity = instances.map(({ instance: ci, agent }) => {
    byArn.set(ci.containerInstanceArn, ci);
    const fixed = fixedParts(ci);
    return capacityOf(
      ci.containerInstanceArn,
      ci.status,
      ci.agentConnected && connected(agent),
      fixed.attributes,
      ci.registeredCpu,
      ci.registeredMemory,
      fixed.tcp,
      used.get(ci.agentId),
      ci.registeredAt,
    );
  });
  const result = placeTasks(capacity, req, count, random);
  return {
    placements: result.placements.map((arn) => {
      const ci = byArn.get(arn)!;
      return { agentId: ci.agentId, containerInstanceArn: arn, availabilityZone: fixedParts(ci).zone ?? `${region}a` };
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
  const used = (await reservationsByAgent(deps, [ci.agentId])).get(ci.agentId);
  const attributes = Object.fromEntries(ci.attributes.map((a) => [a.name, a.value]));
  const capacity = capacityOf(ci.containerInstanceArn, ci.status, connected, attributes, ci.registeredCpu, ci.registeredMemory, new Set(ci.reservedPorts), used, ci.registeredAt);
  const result = placeTasks([capacity], req, 1, random);
  if (result.placements.length === 1) {
    return { slot: { agentId: ci.agentId, containerInstanceArn: ci.containerInstanceArn, availabilityZone: attributes["ecs.availability-zone"] ?? `${region}a` } };
  }
  return { failure: { arn: ci.containerInstanceArn, reason: result.failures[0]?.reason ?? "RESOURCE:CPU" } };
}

async function reservationsByAgent(deps: ControlDeps, agentIds: readonly string[]): Promise<Map<string, Readonly<AgentReservations>>> {
  return new Map((await deps.store.reservationsOnAgents(agentIds)).map((r) => [r.agentId, r] as const));
}

const NO_PORTS: ReadonlySet<number> = new Set();
const NO_GROUPS: ReadonlyMap<string, number> = new Map();

/**
 * What placement derives from an instance record alone, computed once per record: records from
 * listInstancesWithAgents are frozen and stay the same object until the instance is written.
 */
const fixedPartsOf = new WeakMap<Readonly<ContainerInstance>, { attributes: Record<string, string | undefined>; zone: string | undefined; tcp: ReadonlySet<number> }>();

function fixedParts(ci: Readonly<ContainerInstance>) {
  let parts = fixedPartsOf.get(ci);
  if (!parts) {
    const attributes = Object.freeze(Object.fromEntries(ci.attributes.map((a) => [a.name, a.value])));
    parts = { attributes, zone: ci.attributes.find((a) => a.name === "ecs.availability-zone")?.value, tcp: new Set(ci.reservedPorts) };
    fixedPartsOf.set(ci, parts);
  }
  return parts;
}

/** The instance's remaining resources: registered minus what its agent's live tasks reserve. */
function capacityOf(
  id: string,
  status: string,
  agentConnected: boolean,
  attributes: Record<string, string | undefined>,
  cpu: number,
  memory: number,
  reservedTcp: ReadonlySet<number>,
  used: Readonly<AgentReservations> | undefined,
  registeredAt?: number,
): InstanceCapacity {
  let tcp = reservedTcp;
  let udp = NO_PORTS;
  if (used && used.ports.length > 0) {
    const [t, u] = [new Set(reservedTcp), new Set<number>()];
    for (const p of used.ports) (p.protocol === "udp" ? u : t).add(p.port);
    [tcp, udp] = [t, u];
  }
  return {
    id,
    status,
    agentConnected,
    attributes,
    registeredAt,
    remainingCpu: cpu - (used?.cpu ?? 0),
    remainingMemory: memory - (used?.memory ?? 0),
    reservedPorts: { tcp, udp },
    runningTasksCount: used?.tasks ?? 0,
    taskGroups: new Set(used?.groups.keys() ?? []),
    tasksByGroup: used?.groups ?? NO_GROUPS,
  };
}
