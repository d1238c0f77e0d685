/**
 * One placement call's run: the per-call state (free capacity, group and spread counts, ports
 * taken, surviving candidates) as arrays indexed by instance position, the candidate pass that
 * picks the best instance by the plan's strategy keys, what placing a task consumes, and the
 * diagnosis of the closest failure when no instance fits. Owns the hot loop; never validates
 * input (compilePlan has) and never mutates the instances it is given.
 */
import type { InstanceCapacity, PlacementFailure, PlacementFailureReason } from "./placement.ts";
import { type Plan, UDP_OFFSET } from "./placement-plan.ts";
import { type QuerySubject, evaluateQuery } from "./query-language.ts";

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
export interface Run {
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

/** One pass over all instances: free capacity, group counts, spread buckets and the static filters. */
export function startRun(instances: readonly InstanceCapacity[], plan: Plan): Run {
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
export function chooseInstance(run: Run, random: () => number): number {
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

/** Charges the instance for one more task of the plan: cpu, memory, ports and group counts. */
export function consume(run: Run, i: number): void {
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
export function closestFailure(run: Run): PlacementFailure {
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
