import { test } from "node:test";
import assert from "node:assert/strict";
import { BerthError, ErrorCode } from "../../src/core/errors.ts";
import {
  type InstanceCapacity,
  type PlacementStrategy,
  type TaskRequirements,
  defaultServiceStrategy,
  placeTasks,
} from "../../src/scheduler/placement.ts";
import { evaluateQuery, parseQuery } from "../../src/scheduler/query-language.ts";

/** mulberry32: a small seeded PRNG so that random tests replay exactly. */
function seeded(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const noRandom = (): number => {
  throw new Error("random() must not be called");
};

interface InstanceOptions {
  zone?: string;
  cpu?: number;
  memory?: number;
  status?: string;
  agentConnected?: boolean;
  tcp?: number[];
  udp?: number[];
  groups?: Record<string, number>;
  attributes?: Record<string, string>;
}

function instance(id: string, o: InstanceOptions = {}): InstanceCapacity {
  const groups = new Map(Object.entries(o.groups ?? {}));
  return {
    id,
    status: o.status ?? "ACTIVE",
    agentConnected: o.agentConnected ?? true,
    attributes: { "ecs.availability-zone": o.zone ?? "zone-a", ...o.attributes },
    remainingCpu: o.cpu ?? 1024,
    remainingMemory: o.memory ?? 2048,
    reservedPorts: { tcp: new Set(o.tcp ?? []), udp: new Set(o.udp ?? []) },
    runningTasksCount: [...groups.values()].reduce((a, b) => a + b, 0),
    taskGroups: new Set(groups.keys()),
    tasksByGroup: groups,
  };
}

function task(o: Partial<TaskRequirements> = {}): TaskRequirements {
  return { cpu: 128, memory: 256, ports: [], group: "service:web", constraints: [], strategy: [], ...o };
}

const binpack = (field: string): PlacementStrategy => ({ type: "binpack", field });
const spread = (field: string): PlacementStrategy => ({ type: "spread", field });

test("binpack places on the instance with the least remaining resource first", () => {
  const cluster = [instance("a", { memory: 1000 }), instance("b", { memory: 500 }), instance("c", { memory: 2000 })];
  const result = placeTasks(cluster, task({ memory: 200, strategy: [binpack("memory")] }), 8, noRandom);
  assert.deepEqual(result.placements, ["b", "b", "a", "a", "a", "a", "a", "c"]);
  assert.deepEqual(result.failures, []);

  const byCpu = [instance("a", { cpu: 512 }), instance("b", { cpu: 256 })];
  const cpu = placeTasks(byCpu, task({ cpu: 128, strategy: [binpack("cpu")] }), 3, noRandom);
  assert.deepEqual(cpu.placements, ["b", "b", "a"]);
});

test("spread by Availability Zone alternates zones, then instances", () => {
  const cluster = [
    instance("a1", { zone: "zone-a" }), instance("a2", { zone: "zone-a" }),
    instance("b1", { zone: "zone-b" }), instance("b2", { zone: "zone-b" }),
  ];
  const result = placeTasks(cluster, task({ strategy: defaultServiceStrategy() }), 4, noRandom);
  assert.deepEqual(result.placements, ["a1", "b1", "a2", "b2"]);
});

test("spread by Availability Zone counts the group's existing tasks", () => {
  const cluster = [
    instance("a1", { zone: "zone-a", groups: { "service:web": 2, "service:other": 5 } }),
    instance("b1", { zone: "zone-b", groups: { "service:other": 1 } }),
  ];
  const result = placeTasks(cluster, task({ strategy: [spread("attribute:ecs.availability-zone")] }), 3, noRandom);
  assert.deepEqual(result.placements, ["b1", "b1", "a1"]);
});

test("spread by instanceId (or host) evens out the group's tasks", () => {
  for (const field of ["instanceId", "host"]) {
    const cluster = [
      instance("a", { groups: { "service:web": 2 } }),
      instance("b"),
      instance("c", { groups: { "service:web": 1 } }),
    ];
    const result = placeTasks(cluster, task({ strategy: [spread(field)] }), 6, noRandom);
    const counts = countBy(result.placements);
    assert.deepEqual(counts, { a: 1, b: 3, c: 2 }, field);
  }
});

test("chained strategies: ties of the first are broken by the next", () => {
  const cluster = [
    instance("a-big", { zone: "zone-a", memory: 4000 }),
    instance("a-small", { zone: "zone-a", memory: 1000 }),
    instance("b-big", { zone: "zone-b", memory: 3000 }),
    instance("b-small", { zone: "zone-b", memory: 900 }),
  ];
  const req = task({ memory: 100, strategy: [spread("attribute:ecs.availability-zone"), binpack("memory")] });
  const result = placeTasks(cluster, req, 4, noRandom);
  assert.deepEqual(result.placements, ["b-small", "a-small", "b-small", "a-small"]);
});

test("the random strategy draws from the random parameter among the tied candidates", () => {
  const cluster = [instance("a"), instance("b"), instance("c")];
  assert.deepEqual(placeTasks(cluster, task({ strategy: [{ type: "random" }] }), 1, () => 0.999).placements, ["a"]);
  assert.deepEqual(placeTasks(cluster, task({ strategy: [{ type: "random" }] }), 1, () => 0).placements, ["c"]);
  // An empty strategy list means random, like a standalone RunTask.
  const rng = seeded(7);
  const picks = placeTasks(cluster.map((i) => ({ ...i, remainingMemory: 1e9 })), task({ cpu: 0 }), 3000, rng);
  const counts = countBy(picks.placements);
  for (const id of ["a", "b", "c"]) assert.ok((counts[id] ?? 0) > 850 && (counts[id] ?? 0) < 1150, JSON.stringify(counts));
  // Ties of an earlier strategy are the only candidates random chooses from.
  const zones = [instance("a", { memory: 500 }), instance("b", { memory: 500 }), instance("c", { memory: 900 })];
  const chained = placeTasks(zones, task({ memory: 100, strategy: [binpack("memory"), { type: "random" }] }), 1, () => 0);
  assert.deepEqual(chained.placements, ["b"]);
});

test("distinctInstance puts at most one task of a group on an instance, within one call too", () => {
  const cluster = [instance("a"), instance("b", { groups: { "service:web": 1 } }), instance("c"), instance("d")];
  const req = task({ constraints: [{ type: "distinctInstance" }], strategy: [binpack("memory")] });
  const result = placeTasks(cluster, req, 5, noRandom);
  assert.deepEqual(result.placements, ["a", "c", "d"]);
  assert.deepEqual(result.failures, [{ reason: "DISTINCT_INSTANCE", closestInstance: "a" }]);
});

test("memberOf: only instances matching the expression receive tasks", () => {
  const cluster = [
    instance("a1", { zone: "zone-a" }), instance("b1", { zone: "zone-b" }),
    instance("a2", { zone: "zone-a" }), instance("c1", { zone: "zone-c" }),
  ];
  const req = task({
    constraints: [{ type: "memberOf", expression: "attribute:ecs.availability-zone == zone-a" }],
    strategy: defaultServiceStrategy(),
  });
  const result = placeTasks(cluster, req, 6, noRandom);
  assert.deepEqual(new Set(result.placements), new Set(["a1", "a2"]));
  assert.equal(result.placements.length, 6);

  const none = placeTasks(cluster, task({ constraints: [{ type: "memberOf", expression: "attribute:stack exists" }] }), 1, noRandom);
  assert.deepEqual(none.failures, [{ reason: "MemberOf placement constraint unsatisfied.", closestInstance: "a1" }]);
});

test("memberOf on task:group and runningTasksCount sees tasks placed earlier in the call", () => {
  const cluster = [instance("db-host", { groups: { "service:db": 1 } }), instance("empty")];
  const affinity = task({ constraints: [{ type: "memberOf", expression: "task:group == service:db" }] });
  assert.deepEqual(placeTasks(cluster, affinity, 3, seeded(1)).placements, ["db-host", "db-host", "db-host"]);

  const anti = task({ constraints: [{ type: "memberOf", expression: "not task:group == service:web" }] });
  const antiResult = placeTasks(cluster, anti, 3, seeded(1));
  assert.deepEqual(antiResult.placements.sort(), ["db-host", "empty"]);
  assert.equal(antiResult.failures[0]?.reason, "MemberOf placement constraint unsatisfied.");

  const light = task({ constraints: [{ type: "memberOf", expression: "runningTasksCount < 2" }], strategy: [binpack("cpu")] });
  assert.deepEqual(placeTasks(cluster, light, 3, noRandom).placements, ["db-host", "empty", "empty"]);
});

test("never places beyond cpu, memory or host ports, and names the closest instance", () => {
  const cases: readonly {
    name: string;
    cluster: InstanceCapacity[];
    req: TaskRequirements;
    count: number;
    placed: string[];
    failure: { reason: string; closestInstance?: string };
  }[] = [
    {
      name: "memory",
      cluster: [instance("a", { memory: 600 }), instance("b", { memory: 100 })],
      req: task({ memory: 256 }),
      count: 3,
      placed: ["a", "a"],
      failure: { reason: "RESOURCE:MEMORY", closestInstance: "a" },
    },
    {
      name: "cpu",
      cluster: [instance("a", { cpu: 100 }), instance("b", { cpu: 300, memory: 100 })],
      req: task({ cpu: 256, memory: 512 }),
      count: 1,
      placed: [],
      failure: { reason: "RESOURCE:MEMORY", closestInstance: "b" },
    },
    {
      name: "cpu only",
      cluster: [instance("a", { cpu: 100 }), instance("b", { cpu: 200 })],
      req: task({ cpu: 256 }),
      count: 1,
      placed: [],
      failure: { reason: "RESOURCE:CPU", closestInstance: "a" },
    },
    {
      name: "ports reserved",
      cluster: [instance("a", { tcp: [80] }), instance("b", { udp: [53], tcp: [22] })],
      req: task({ ports: [{ port: 80, protocol: "tcp" }, { port: 53, protocol: "udp" }] }),
      count: 1,
      placed: [],
      failure: { reason: "RESOURCE:PORTS", closestInstance: "a" },
    },
    {
      name: "ports taken within the call",
      cluster: [instance("a", { udp: [80] }), instance("b")],
      req: task({ ports: [{ port: 80, protocol: "tcp" }] }),
      count: 3,
      placed: ["a", "b"],
      failure: { reason: "RESOURCE:PORTS", closestInstance: "a" },
    },
    {
      name: "draining and disconnected get nothing",
      cluster: [instance("d", { status: "DRAINING" }), instance("x", { agentConnected: false })],
      req: task(),
      count: 1,
      placed: [],
      failure: { reason: "AGENT", closestInstance: "x" },
    },
    {
      name: "draining only",
      cluster: [instance("d", { status: "DRAINING" }), instance("i", { status: "INACTIVE" })],
      req: task(),
      count: 2,
      placed: [],
      failure: { reason: "INSTANCE_DRAINING", closestInstance: "d" },
    },
    {
      name: "required attribute",
      cluster: [instance("a", { attributes: { "ecs.capability.secrets.asm.environment-variables": "" } }), instance("b")],
      req: task({ requiredAttributes: [{ name: "com.amazonaws.ecs.capability.docker-remote-api.1.19" }] }),
      count: 1,
      placed: [],
      failure: { reason: "ATTRIBUTE", closestInstance: "a" },
    },
    { name: "no instances", cluster: [], req: task(), count: 1, placed: [], failure: { reason: "NO_INSTANCES" } },
  ];
  for (const c of cases) {
    const result = placeTasks(c.cluster, { ...c.req, strategy: [binpack("memory")] }, c.count, noRandom);
    assert.deepEqual(result.placements.sort(), c.placed, c.name);
    assert.deepEqual(result.failures, [c.failure], c.name);
  }
});

test("a healthy instance next to draining and disconnected ones takes every task", () => {
  const cluster = [instance("d", { status: "DRAINING" }), instance("x", { agentConnected: false }), instance("ok")];
  const result = placeTasks(cluster, task({ strategy: defaultServiceStrategy() }), 4, noRandom);
  assert.deepEqual(result.placements, ["ok", "ok", "ok", "ok"]);
});

test("invalid strategies and constraints fail with InvalidParameter", () => {
  const bad: readonly TaskRequirements[] = [
    task({ strategy: [binpack("disk")] }),
    task({ strategy: [{ type: "spread" }] }),
    task({ strategy: [spread("attribute:")] }),
    task({ strategy: Array.from({ length: 6 }, () => spread("instanceId")) }),
    task({ constraints: [{ type: "memberOf" }] }),
    task({ constraints: [{ type: "memberOf", expression: "colour == red" }] }),
    task({ constraints: [{ type: "distinctInstance", expression: "attribute:x exists" }] }),
  ];
  for (const req of bad) {
    assert.throws(
      () => placeTasks([instance("a")], req, 1, noRandom),
      (err: unknown) => err instanceof BerthError && err.code === ErrorCode.InvalidParameter,
      JSON.stringify(req),
    );
  }
});

test("inputs are never mutated", () => {
  const cluster = [instance("a", { tcp: [22] })];
  const before = JSON.stringify(cluster, (_k, v: unknown) => (v instanceof Set || v instanceof Map ? [...v] : v));
  placeTasks(cluster, task({ ports: [{ port: 80, protocol: "tcp" }], strategy: defaultServiceStrategy() }), 1, noRandom);
  const after = JSON.stringify(cluster, (_k, v: unknown) => (v instanceof Set || v instanceof Map ? [...v] : v));
  assert.equal(after, before);
});

test("property: random clusters never break the placement invariants", () => {
  const rng = seeded(20240611);
  const pick = <T>(items: readonly T[]): T => items[Math.floor(rng() * items.length)] as T;
  for (let round = 0; round < 300; round++) {
    const cluster = randomCluster(rng, pick);
    const req = randomRequirements(rng, pick);
    const count = 1 + Math.floor(rng() * 40);
    const result = placeTasks(cluster, req, count, rng);
    checkInvariants(cluster, req, count, result.placements, result.failures.length, `round ${round}`);
  }
});

function randomCluster(rng: () => number, pick: <T>(items: readonly T[]) => T): InstanceCapacity[] {
  return Array.from({ length: Math.floor(rng() * 12) }, (_, n) =>
    instance(`i${n}`, {
      zone: pick(["zone-a", "zone-b", "zone-c"]),
      cpu: pick([0, 128, 512, 1024, 4096]),
      memory: pick([0, 256, 1024, 4096]),
      status: pick(["ACTIVE", "ACTIVE", "ACTIVE", "DRAINING"]),
      agentConnected: rng() > 0.1,
      tcp: rng() > 0.7 ? [80] : [],
      groups: rng() > 0.6 ? { "service:web": 1 + Math.floor(rng() * 3) } : {},
      attributes: { stack: pick(["prod", "dev"]) },
    }),
  );
}

function randomRequirements(rng: () => number, pick: <T>(items: readonly T[]) => T): TaskRequirements {
  const constraints: TaskRequirements["constraints"] = [];
  if (rng() > 0.6) constraints.push({ type: "distinctInstance" });
  if (rng() > 0.6) constraints.push({ type: "memberOf", expression: pick(["attribute:stack == prod", "runningTasksCount < 3"]) });
  const strategies = [defaultServiceStrategy(), [binpack("memory")], [binpack("cpu"), spread("host")], [{ type: "random" } as const], []];
  return task({
    cpu: pick([0, 64, 256]),
    memory: pick([64, 256, 512]),
    ports: rng() > 0.6 ? [{ port: 80, protocol: "tcp" }] : [],
    constraints,
    strategy: pick(strategies),
  });
}

/** Replays the placements on copies of the instances and checks every rule at every step. */
function checkInvariants(
  cluster: readonly InstanceCapacity[],
  req: TaskRequirements,
  count: number,
  placements: readonly string[],
  failureCount: number,
  label: string,
): void {
  assert.equal(placements.length + (failureCount > 0 ? count - placements.length : 0), count, label);
  assert.equal(failureCount, placements.length < count ? 1 : 0, label);
  const state = new Map(cluster.map((i) => [i.id, { cpu: i.remainingCpu, memory: i.remainingMemory, ports: new Set(i.reservedPorts.tcp), group: i.tasksByGroup.get(req.group) ?? 0, running: i.runningTasksCount }]));
  const queries = req.constraints.flatMap((c) => (c.expression === undefined ? [] : [parseQuery(c.expression)]));
  const fits = (i: InstanceCapacity): boolean => {
    const s = state.get(i.id);
    if (s === undefined || i.status !== "ACTIVE" || !i.agentConnected) return false;
    if (s.cpu < req.cpu || s.memory < req.memory || req.ports.some((p) => s.ports.has(p.port))) return false;
    if (req.constraints.some((c) => c.type === "distinctInstance") && s.group > 0) return false;
    const groups = new Set(i.taskGroups);
    if (s.group > 0) groups.add(req.group);
    const subject = { ...i, instanceId: i.id, runningTasksCount: s.running, taskGroups: groups };
    return queries.every((q) => evaluateQuery(q, subject));
  };
  for (const id of placements) {
    const inst = cluster.find((i) => i.id === id);
    assert.ok(inst !== undefined && fits(inst), `${label}: placed on ${id} which does not fit`);
    const s = state.get(id);
    if (s === undefined) continue;
    s.cpu -= req.cpu;
    s.memory -= req.memory;
    s.group++;
    s.running++;
    for (const p of req.ports) s.ports.add(p.port);
  }
  if (placements.length < count) {
    assert.ok(!cluster.some(fits), `${label}: stopped although an instance still fits`);
  }
}

test("timing: 10,000 placements over 5,000 instances (printed, not asserted)", () => {
  const cluster = Array.from({ length: 5000 }, (_, n) =>
    instance(`ci-${n}`, { zone: `zone-${"abc"[n % 3]}`, cpu: 4096, memory: 8192 }),
  );
  const req = task({ cpu: 256, memory: 512, strategy: defaultServiceStrategy() });
  placeTasks(cluster, req, 2_000, noRandom); // warm up the JIT
  const started = performance.now();
  const result = placeTasks(cluster, req, 10_000, noRandom);
  const elapsed = performance.now() - started;
  assert.equal(result.placements.length, 10_000);

  const singleStarted = performance.now();
  for (let n = 0; n < 200; n++) placeTasks(cluster, req, 1, noRandom);
  const single = (performance.now() - singleStarted) / 200;
  console.log(
    `placement timing: 10,000 tasks over 5,000 instances in ${elapsed.toFixed(0)} ms ` +
      `(${((10_000 / elapsed) * 1000).toFixed(0)} tasks/s, ${((elapsed / 10_000) * 1000).toFixed(1)} µs/task); ` +
      `one-task call incl. setup: ${(single * 1000).toFixed(0)} µs`,
  );
});

function countBy(ids: readonly string[]): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const id of ids) counts[id] = (counts[id] ?? 0) + 1;
  return counts;
}
