/**
 * Task placement for the EC2/EXTERNAL launch types: picks a container instance for each of
 * `count` tasks the way ECS does (developer guide, "task placement"). Per task: instance status
 * and agent → required attributes → resources (cpu, memory, fixed host ports) → constraints
 * (`distinctInstance`, `memberOf`) → strategies (≤ 5, chained: each one breaks the ties of the one
 * before). Tasks are placed one after another; each placement consumes cpu, memory, ports and
 * group counts before the next task is placed.
 *
 * Ties left after the last strategy go to the first instance in input order; a `random` strategy
 * (or none at all) breaks them with `random` instead. Spread counts are the group's tasks on every
 * listed instance, whatever its status.
 *
 * Pure: no I/O, no clock, randomness only through `random`; inputs are never mutated. One task
 * costs at most one linear pass over the still-feasible instances, with no sorting.
 */
import { compilePlan } from "./placement-plan.ts";
import { chooseInstance, closestFailure, consume, startRun } from "./placement-run.ts";

export { MAX_PLACEMENT_STRATEGIES } from "./placement-plan.ts";

export interface InstanceCapacity {
  /** Container instance id or ARN; what `placements` returns. */
  id: string;
  status: "ACTIVE" | "DRAINING" | "INACTIVE" | (string & {});
  agentConnected: boolean;
  attributes: Record<string, string | undefined>;
  registeredAt?: number | undefined;
  ec2InstanceId?: string | undefined;
  agentVersion?: string | undefined;
  remainingCpu: number;
  remainingMemory: number;
  reservedPorts: { tcp: ReadonlySet<number>; udp: ReadonlySet<number> };
  runningTasksCount: number;
  taskGroups: ReadonlySet<string>;
  /** Tasks per group on this instance: the counts spread and distinctInstance use. */
  tasksByGroup: ReadonlyMap<string, number>;
}

export interface PlacementConstraint {
  type: "distinctInstance" | "memberOf";
  expression?: string | undefined;
}

export interface PlacementStrategy {
  type: "binpack" | "spread" | "random";
  field?: string | undefined;
}

export interface TaskRequirements {
  cpu: number;
  memory: number;
  /** Fixed host ports only; dynamic host ports need none. */
  ports: { port: number; protocol: "tcp" | "udp" }[];
  group: string;
  constraints: PlacementConstraint[];
  /** Empty means `random` (the standalone-task default). */
  strategy: PlacementStrategy[];
  /** The task definition's `requiresAttributes`: the instance must have each (with `value`, if given). */
  requiredAttributes?: { name: string; value?: string | undefined }[] | undefined;
}

export type PlacementFailureReason =
  | "RESOURCE:CPU" | "RESOURCE:MEMORY" | "RESOURCE:PORTS" | "AGENT" | "ATTRIBUTE" | "DISTINCT_INSTANCE"
  | "MemberOf placement constraint unsatisfied." | "INSTANCE_DRAINING" | "NO_INSTANCES";

export interface PlacementFailure {
  reason: PlacementFailureReason;
  closestInstance?: string;
}

export interface PlacementResult {
  /** Instance ids, one per placed task, in placement order. */
  placements: string[];
  /** Empty when all `count` tasks were placed; otherwise one entry for the first task that fit nowhere. */
  failures: PlacementFailure[];
}

/** ECS's service default: spread across Availability Zones, then across instances. */
export function defaultServiceStrategy(): PlacementStrategy[] {
  return [{ type: "spread", field: "attribute:ecs.availability-zone" }, { type: "spread", field: "instanceId" }];
}

/** Places up to `count` tasks; stops at the first task that fits nowhere. */
export function placeTasks(
  instances: readonly InstanceCapacity[],
  req: TaskRequirements,
  count: number,
  random: () => number,
): PlacementResult {
  const plan = compilePlan(req);
  if (count <= 0) return { placements: [], failures: [] };
  if (instances.length === 0) return { placements: [], failures: [{ reason: "NO_INSTANCES" }] };
  const run = startRun(instances, plan);
  const placements: string[] = [];
  for (let n = 0; n < count; n++) {
    const chosen = chooseInstance(run, random);
    // Nothing changed since this pass, so every later task would fail the same way.
    if (chosen < 0) return { placements, failures: [closestFailure(run)] };
    consume(run, chosen);
    placements.push(instances[chosen]!.id);
  }
  return { placements, failures: [] };
}
