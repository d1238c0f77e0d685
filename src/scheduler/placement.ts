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
import { invalidParameter } from "../core/errors.ts";
import { type QueryExpr, type QuerySubject, evaluateQuery, parseQuery, queryReadsTasks } from "./query-language.ts";

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

export const MAX_PLACEMENT_STRATEGIES = 5;

/** ECS's service default: spread across Availability Zones, then across instances. */
export function defaultServiceStrategy(): PlacementStrategy[] {
  return [{ type: "spread", field: "attribute:ecs.availability-zone" }, { type: "spread", field: "instanceId" }];
}

/** Pipeline stages in check order; an instance failing a later stage got further. */
const Stage = { Status: 0, Agent: 1, Cpu: 2, Memory: 3, Ports: 4, Attribute: 5, Distinct: 6, MemberOf: 7, Pass: 8 } as const;
type Stage = (typeof Stage)[keyof typeof Stage];

const STAGE_REASONS: readonly PlacementFailureReason[] = [
  "INSTANCE_DRAINING", "AGENT", "RESOURCE:CPU", "RESOURCE:MEMORY", "RESOURCE:PORTS", "ATTRIBUTE",
  "DISTINCT_INSTANCE", "MemberOf placement constraint unsatisfied.",
];

/** How a candidate compares with the best so far in a pass. */
const Rank = { Worse: 0, Tie: 1, Better: 2, AtBound: 3 } as const;
type Rank = (typeof Rank)[keyof typeof Rank];

const UDP_OFFSET = 65_536;

/** How a strategy ranks an instance; smaller is better. */
type StrategyKey =
  | { readonly kind: "cpu" | "memory" | "instance" }
  | { readonly kind: "attribute"; readonly spread: number };

interface Plan {
  readonly cpu: number;
  readonly memory: number;
  readonly group: string;
  /** Encoded host ports (udp offset by 65,536); undefined when the task's own ports collide. */
  readonly ports: readonly number[] | undefined;
  readonly distinct: boolean;
  readonly requiredAttributes: readonly { name: string; value?: string | undefined }[];
  /** memberOf queries whose truth placing tasks cannot change: checked once per call. */
  readonly staticQueries: readonly QueryExpr[];
  /** memberOf queries reading task:group or runningTasksCount: checked for every task. */
  readonly taskQueries: readonly QueryExpr[];
  readonly keys: readonly StrategyKey[];
  /** Ties left after `keys` are broken at random (else: first in input order). */
  readonly randomTies: boolean;
  /** Attribute names of the `spread attribute:<name>` strategies. */
  readonly attributeSpreads: readonly string[];
}

/** Tasks of this group per value of one spread attribute (per Availability Zone, say). */
interface AttributeSpread {
  readonly bucketOf: Int32Array;
  readonly counts: Float64Array;
}

/** Where a strategy key's value lives: `values[i]`, or `values[index[i]]` for attribute spreads. */
interface KeySource {
  readonly values: Float64Array;
  readonly index: Int32Array | undefined;
}

/**
 * The state of one call, as arrays indexed by the instance's input position (every index used is
 * in range, hence the `!`s). The hot loop reads only these arrays, never the instance objects.
 */
interface Run {
  readonly plan: Plan;
  readonly instances: readonly InstanceCapacity[];
  readonly cpuLeft: Float64Array;
  readonly memoryLeft: Float64Array;
  /** Tasks placed by this call. */
  readonly placed: Int32Array;
  /** Tasks of the requirement's group, including those placed by this call. */
  readonly groupCount: Float64Array;
  readonly spreads: readonly AttributeSpread[];
  /** One per strategy key, in order. */
  readonly keySources: readonly KeySource[];
  /** Instances that may still take a task, in input order; shrinks as capacity runs out. */
  readonly candidates: Int32Array;
  candidateCount: number;
  /** Host ports taken by this call, per instance. */
  readonly takenPorts: Map<number, Set<number>>;
  /** Task groups including this call's, for instances whose groups it changed. */
  readonly groups: Map<number, ReadonlySet<string>>;
  /** Key values of the best instance so far in a pass. */
  readonly best: Float64Array;
  /** Per key, at most its value on any candidate: a priori bounds, then each complete pass's minimum. */
  readonly lowerBound: Float64Array;
  /** Per key, the least value seen in the current pass. */
  readonly passMin: Float64Array;
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

function compilePlan(req: TaskRequirements): Plan {
  const ports = req.ports.map((p) => (p.protocol === "udp" ? p.port + UDP_OFFSET : p.port));
  const queries = compileConstraints(req.constraints);
  return {
    cpu: req.cpu,
    memory: req.memory,
    group: req.group,
    ports: new Set(ports).size === ports.length ? ports : undefined,
    distinct: req.constraints.some((c) => c.type === "distinctInstance"),
    requiredAttributes: req.requiredAttributes ?? [],
    staticQueries: queries.filter((q) => !queryReadsTasks(q)),
    taskQueries: queries.filter(queryReadsTasks),
    ...compileStrategies(req.strategy),
  };
}

function compileConstraints(constraints: readonly PlacementConstraint[]): QueryExpr[] {
  const queries: QueryExpr[] = [];
  for (const c of constraints) {
    if (c.type === "memberOf") {
      if (c.expression === undefined || c.expression === "") {
        throw invalidParameter("A memberOf placement constraint requires an expression.");
      }
      queries.push(parseQuery(c.expression));
    } else if (c.type === "distinctInstance") {
      if (c.expression !== undefined) {
        throw invalidParameter("A distinctInstance placement constraint cannot have an expression.");
      }
    } else throw invalidParameter(`Unknown placement constraint type: ${String(c.type)}`);
  }
  return queries;
}

function compileStrategies(strategies: readonly PlacementStrategy[]): Pick<Plan, "keys" | "randomTies" | "attributeSpreads"> {
  if (strategies.length > MAX_PLACEMENT_STRATEGIES) {
    throw invalidParameter(`A task can have at most ${MAX_PLACEMENT_STRATEGIES} placement strategies.`);
  }
  const keys: StrategyKey[] = [];
  const attributeSpreads: string[] = [];
  for (const s of strategies) {
    // A random ranking leaves no ties, so strategies after it could never matter.
    if (s.type === "random") return { keys, randomTies: true, attributeSpreads };
    keys.push(strategyKey(s, attributeSpreads));
  }
  return { keys, randomTies: strategies.length === 0, attributeSpreads };
}

function strategyKey(s: PlacementStrategy, attributeSpreads: string[]): StrategyKey {
  const field = s.field ?? "";
  const lower = field.toLowerCase();
  if (s.type === "binpack") {
    if (lower === "cpu" || lower === "memory") return { kind: lower };
    throw invalidParameter(`Invalid binpack placement strategy field '${field}': use cpu or memory.`);
  }
  if (s.type === "spread") {
    if (lower === "instanceid" || lower === "host") return { kind: "instance" };
    if (lower.startsWith("attribute:") && field.length > "attribute:".length) {
      return { kind: "attribute", spread: attributeSpreads.push(field.slice("attribute:".length)) - 1 };
    }
    throw invalidParameter(`Invalid spread placement strategy field '${field}'.`);
  }
  throw invalidParameter(`Unknown placement strategy type: ${String(s.type)}`);
}

/** One pass over all instances: free capacity, group counts, spread buckets and the static filters. */
function startRun(instances: readonly InstanceCapacity[], plan: Plan): Run {
  const n = instances.length;
  const cpuLeft = new Float64Array(n);
  const memoryLeft = new Float64Array(n);
  const groupCount = new Float64Array(n);
  const candidates = new Int32Array(n);
  let candidateCount = 0;
  const countGroup = plan.distinct || plan.keys.some((k) => k.kind === "instance" || k.kind === "attribute");
  for (let i = 0; i < n; i++) {
    const instance = instances[i]!;
    cpuLeft[i] = instance.remainingCpu;
    memoryLeft[i] = instance.remainingMemory;
    groupCount[i] = countGroup ? instance.tasksByGroup.get(plan.group) ?? 0 : 0;
    const usable = instance.status === "ACTIVE" && instance.agentConnected;
    if (usable && attributesOk(plan, instance) && staticQueriesOk(plan, instance)) candidates[candidateCount++] = i;
  }
  const spreads = plan.attributeSpreads.map((name) => attributeSpread(instances, name, groupCount));
  const keySources = plan.keys.map((key): KeySource => {
    if (key.kind === "attribute") {
      const spread = spreads[key.spread]!;
      return { values: spread.counts, index: spread.bucketOf };
    }
    const values = key.kind === "cpu" ? cpuLeft : key.kind === "memory" ? memoryLeft : groupCount;
    return { values, index: undefined };
  });
  const lowerBound = Float64Array.from(plan.keys, (key) => {
    if (key.kind !== "attribute") return key.kind === "cpu" ? plan.cpu : key.kind === "memory" ? plan.memory : 0;
    const { counts, bucketOf } = spreads[key.spread]!;
    let least = Infinity;
    for (let r = 0; r < candidateCount; r++) least = Math.min(least, counts[bucketOf[candidates[r]!]!]!);
    return least;
  });
  return {
    plan, instances, cpuLeft, memoryLeft, placed: new Int32Array(n), groupCount, spreads, keySources,
    candidates, candidateCount, takenPorts: new Map(), groups: new Map(), best: new Float64Array(plan.keys.length),
    lowerBound, passMin: new Float64Array(plan.keys.length),
  };
}

/** Buckets instances by the attribute's value (a missing attribute is a bucket too) and counts the group per bucket. */
function attributeSpread(instances: readonly InstanceCapacity[], name: string, groupCount: Float64Array): AttributeSpread {
  const bucketOf = new Int32Array(instances.length);
  const buckets = new BucketIds();
  const counts: number[] = [];
  for (let i = 0; i < instances.length; i++) {
    const bucket = buckets.idOf(ownAttribute(instances[i]!, name));
    if (bucket === counts.length) counts.push(0);
    bucketOf[i] = bucket;
    counts[bucket]! += groupCount[i]!;
  }
  return { bucketOf, counts: Float64Array.from(counts) };
}

/** Dense ids for attribute values: a linear scan while there are few (Availability Zones), then a Map. */
class BucketIds {
  private readonly values: (string | undefined)[] = [];
  private map: Map<string | undefined, number> | undefined;

  idOf(value: string | undefined): number {
    if (this.map === undefined) {
      const found = this.values.indexOf(value);
      if (found >= 0) return found;
      if (this.values.length < 8) return this.values.push(value) - 1;
      this.map = new Map(this.values.map((v, id) => [v, id]));
    }
    const id = this.map.get(value);
    if (id !== undefined) return id;
    this.map.set(value, this.map.size);
    return this.map.size - 1;
  }
}

/**
 * One pass over the candidates: drops those that can never fit again (resources and ports only
 * shrink, group counts only grow) and returns the best by the strategy keys, or -1. Without
 * random ties the pass stops early at a candidate that reaches `lowerBound` on every key: no other
 * candidate can beat it, and no earlier one tied it.
 */
function chooseInstance(run: Run, random: () => number): number {
  const { plan, candidates, cpuLeft, memoryLeft, groupCount, passMin } = run;
  const { cpu, memory, distinct, randomTies } = plan;
  const checkPorts = plan.ports === undefined || plan.ports.length > 0;
  const checkQueries = plan.taskQueries.length > 0;
  const count = run.candidateCount;
  passMin.fill(Infinity);
  let kept = 0;
  let chosen = -1;
  let ties = 0;
  for (let r = 0; r < count; r++) {
    const i = candidates[r]!;
    if (cpuLeft[i]! < cpu || memoryLeft[i]! < memory) continue;
    if ((checkPorts && !portsFree(run, i)) || (distinct && groupCount[i]! > 0)) continue;
    candidates[kept++] = i;
    const order = rankCandidate(run, i, chosen < 0);
    if (checkQueries && !taskQueriesOk(run, i)) continue;
    if (order === Rank.Better || order === Rank.AtBound) {
      chosen = i;
      ties = 1;
      recordBest(run, i);
      if (order === Rank.AtBound && !randomTies) {
        candidates.copyWithin(kept, r + 1, count);
        run.candidateCount = kept + count - r - 1;
        return chosen;
      }
    } else if (order === Rank.Tie && randomTies) {
      ties++;
      // Reservoir sampling: each of the tied instances ends up chosen with probability 1/ties.
      if (random() * ties < 1) chosen = i;
    }
  }
  run.candidateCount = kept;
  run.lowerBound.set(passMin);
  return chosen;
}

/** Ranks the instance against the pass's best so far and folds its keys into `passMin`. */
function rankCandidate(run: Run, i: number, first: boolean): Rank {
  const { keySources, best, passMin, lowerBound } = run;
  let order = first ? -1 : 0;
  let atBound = true;
  for (let k = 0; k < keySources.length; k++) {
    const { values, index } = keySources[k]!;
    const value = index === undefined ? values[i]! : values[index[i]!]!;
    if (value < passMin[k]!) passMin[k] = value;
    if (value !== lowerBound[k]) atBound = false;
    if (order === 0 && value !== best[k]) order = value < best[k]! ? -1 : 1;
  }
  if (order > 0) return Rank.Worse;
  if (order === 0) return Rank.Tie;
  return atBound ? Rank.AtBound : Rank.Better;
}

function recordBest(run: Run, i: number): void {
  const { keySources, best } = run;
  for (let k = 0; k < keySources.length; k++) {
    const { values, index } = keySources[k]!;
    best[k] = index === undefined ? values[i]! : values[index[i]!]!;
  }
}

function resourceStage(run: Run, i: number): Stage {
  if (run.cpuLeft[i]! < run.plan.cpu) return Stage.Cpu;
  if (run.memoryLeft[i]! < run.plan.memory) return Stage.Memory;
  return portsFree(run, i) ? Stage.Pass : Stage.Ports;
}

function portsFree(run: Run, i: number): boolean {
  const { ports } = run.plan;
  if (ports === undefined) return false;
  const reserved = run.instances[i]!.reservedPorts;
  const taken = run.takenPorts.get(i);
  for (const code of ports) {
    const busy = code >= UDP_OFFSET ? reserved.udp.has(code - UDP_OFFSET) : reserved.tcp.has(code);
    if (busy || taken?.has(code) === true) return false;
  }
  return true;
}

function consume(run: Run, i: number): void {
  const { plan } = run;
  run.cpuLeft[i]! -= plan.cpu;
  run.memoryLeft[i]! -= plan.memory;
  run.placed[i]!++;
  run.groupCount[i]!++;
  for (const spread of run.spreads) spread.counts[spread.bucketOf[i]!]!++;
  if (plan.ports !== undefined && plan.ports.length > 0) {
    const taken = run.takenPorts.get(i) ?? new Set<number>();
    for (const code of plan.ports) taken.add(code);
    run.takenPorts.set(i, taken);
  }
  // Only this instance's cpu and memory went down (counts only go up): folding its keys in keeps
  // `lowerBound` a lower bound for every candidate.
  recordBest(run, i);
  for (let k = 0; k < run.best.length; k++) run.lowerBound[k] = Math.min(run.lowerBound[k]!, run.best[k]!);
  const groups = run.groups.get(i) ?? run.instances[i]!.taskGroups;
  if (plan.taskQueries.length > 0 && !groups.has(plan.group)) run.groups.set(i, new Set([...groups, plan.group]));
}

/** Where the instance that got furthest through the pipeline failed (first such instance on ties). */
function closestFailure(run: Run): PlacementFailure {
  let closest = 0;
  let furthest: Stage = Stage.Status;
  for (let i = 0; i < run.instances.length; i++) {
    const stage = stageOf(run, i);
    if (stage > furthest) {
      closest = i;
      furthest = stage;
    }
  }
  return { reason: STAGE_REASONS[furthest] ?? "NO_INSTANCES", closestInstance: run.instances[closest]!.id };
}

function stageOf(run: Run, i: number): Stage {
  const instance = run.instances[i]!;
  if (instance.status !== "ACTIVE") return Stage.Status;
  if (!instance.agentConnected) return Stage.Agent;
  const resources = resourceStage(run, i);
  if (resources !== Stage.Pass) return resources;
  if (!attributesOk(run.plan, instance)) return Stage.Attribute;
  if (run.plan.distinct && run.groupCount[i]! > 0) return Stage.Distinct;
  return staticQueriesOk(run.plan, instance) && taskQueriesOk(run, i) ? Stage.Pass : Stage.MemberOf;
}

function attributesOk(plan: Plan, instance: InstanceCapacity): boolean {
  for (const required of plan.requiredAttributes) {
    const value = ownAttribute(instance, required.name);
    if (value === undefined || (required.value !== undefined && required.value !== value)) return false;
  }
  return true;
}

function staticQueriesOk(plan: Plan, instance: InstanceCapacity): boolean {
  if (plan.staticQueries.length === 0) return true;
  const subject = querySubject(instance, instance.runningTasksCount, instance.taskGroups);
  return plan.staticQueries.every((q) => evaluateQuery(q, subject));
}

function taskQueriesOk(run: Run, i: number): boolean {
  const instance = run.instances[i]!;
  const groups = run.groups.get(i) ?? instance.taskGroups;
  const subject = querySubject(instance, instance.runningTasksCount + run.placed[i]!, groups);
  return run.plan.taskQueries.every((q) => evaluateQuery(q, subject));
}

function querySubject(instance: InstanceCapacity, runningTasksCount: number, taskGroups: ReadonlySet<string>): QuerySubject {
  return { ...instance, instanceId: instance.id, runningTasksCount, taskGroups };
}

/** The attribute's value; inherited Object.prototype members (`constructor`) are never strings. */
function ownAttribute(instance: InstanceCapacity, name: string): string | undefined {
  const value: unknown = instance.attributes[name];
  return typeof value === "string" ? value : undefined;
}
