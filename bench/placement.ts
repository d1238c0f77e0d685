/**
 * Placement throughput: --tasks tasks (10,000) over --instances simulated container instances
 * (5,000) of one cluster, with binpack(memory) and with spread(attribute:ecs.availability-zone) +
 * spread(instanceId), through the real control path (control/tasks.ts launchForService, as the
 * service controller calls it, --batch tasks per call) on a real SqliteStore: once on a file (WAL,
 * synchronous=FULL, as in production) and once on ":memory:". Next to them, the same placements
 * through scheduler/placement.ts alone (no store) in the same run. No Docker, no agents running:
 * the instances are registered through control/agents.ts registerAgent and never heard from again
 * (the fake clock does not move, so they stay connected).
 *
 * Each phase runs in its own child process, so peak RSS (getrusage maxRSS) and heap belong to that
 * phase alone; heap is sampled after every call. Removes its children and temp dir on any exit,
 * Ctrl-C included.
 *
 *   node --import tsx bench/placement.ts [--tasks 10000] [--instances 5000] [--batch 100]
 */
import { spawn } from "node:child_process";
import { rmSync } from "node:fs";
import { availableParallelism, cpus, loadavg, tmpdir } from "node:os";
import { join } from "node:path";
import { performance } from "node:perf_hooks";
import { parseArgs } from "node:util";
import { FakeClock } from "../src/core/clock.ts";
import { SequentialIds } from "../src/core/ids.ts";
import { registerAgent } from "../src/control/agents.ts";
import { createCluster } from "../src/control/clusters.ts";
import type { CallContext, ControlDeps } from "../src/control/context.ts";
import { registerTaskDefinition } from "../src/control/task-definitions.ts";
import { launchForService } from "../src/control/tasks.ts";
import { type InstanceCapacity, type PlacementStrategy, type TaskRequirements, placeTasks } from "../src/scheduler/placement.ts";
import { SqliteStore } from "../src/store/sqlite-store.ts";
import { tempDir } from "../test/support/harness.ts";

const REGION = "us-east-1";
const CLUSTER = "bench";
const GROUP = "service:bench";
const ZONES = ["us-east-1a", "us-east-1b", "us-east-1c"];
const INSTANCE_CPU = 4096;
const INSTANCE_MEMORY = 16384;
const TASK_CPU = 128;
const TASK_MEMORY = 256;
const TARGET_RATE = 2000;
const TARGET_TAIL = 0.8;
/** Untimed JIT warm-up before each measured run: this many tasks over this many instances, thrown away. */
const WARMUP_TASKS = 1000;
const WARMUP_INSTANCES = 300;
const STRATEGIES: Record<string, { type: PlacementStrategy["type"]; field: string }[]> = {
  binpack: [{ type: "binpack", field: "memory" }],
  spread: [{ type: "spread", field: "attribute:ecs.availability-zone" }, { type: "spread", field: "instanceId" }],
};
const PATHS = ["scheduler", "file", "memory"] as const;
type Path = (typeof PATHS)[number];

const { values: flags } = parseArgs({
  options: {
    tasks: { type: "string", default: "10000" },
    instances: { type: "string", default: "5000" },
    batch: { type: "string", default: "100" },
    phase: { type: "string" },
    "data-dir": { type: "string" },
  },
});
const tasks = Number(flags.tasks);
const instances = Number(flags.instances);
const batch = Number(flags.batch);
for (const n of [tasks, instances, batch]) if (!Number.isInteger(n) || n < 1) throw new Error("--tasks, --instances and --batch must be positive integers");
if (tasks % 10 !== 0 || (tasks / 10) % batch !== 0) throw new Error("--tasks must be a multiple of 10 × --batch, so that calls fall into tenths");

/** What one phase (child process) reports, as one JSON line on stdout. */
interface PhaseResult {
  setupS: number;
  /** The control path's untimed first call, which places nothing but loads the caches. */
  firstCallMs?: number;
  placeS: number;
  /** Tasks per second over each tenth of the tasks, in order. */
  tenths: number[];
  peakRssMiB: number;
  peakHeapMiB: number;
  /** Placement failures or a wrong spread/binpack shape: the figures are not valid. */
  errors: string[];
  shape: string;
}

const ctx: CallContext = { scope: { partition: "aws", region: REGION, accountId: "123456789012" }, principalArn: "arn:aws:iam::123456789012:user/bench" };
const zoneOf = (i: number) => ZONES[i % ZONES.length]!;

/**
 * Times `place` over calls of `batch` tasks; each call returns where its tasks went (zone and
 * instance id). Heap is sampled after every call (timers never fire inside the synchronous store).
 */
async function timed(place: (count: number) => Promise<{ zone: string; instance: string }[]>) {
  const callEnds: number[] = [];
  const placed: { zone: string; instance: string }[] = [];
  // Setup's garbage is collected before timing, not inside the first tenth (children run with --expose-gc).
  (globalThis as { gc?: () => void }).gc?.();
  let peakHeap = process.memoryUsage().heapUsed;
  const t0 = performance.now();
  for (let done = 0; done < tasks; done += batch) {
    for (const p of await place(batch)) placed.push(p);
    callEnds.push(performance.now());
    peakHeap = Math.max(peakHeap, process.memoryUsage().heapUsed);
  }
  const callsPerTenth = tasks / 10 / batch;
  const tenths = Array.from({ length: 10 }, (_, k) => {
    const start = k === 0 ? t0 : callEnds[k * callsPerTenth - 1]!;
    return tasks / 10 / ((callEnds[(k + 1) * callsPerTenth - 1]! - start) / 1000);
  });
  return { placeS: (callEnds.at(-1)! - t0) / 1000, tenths, peakHeap, placed };
}

/** The spread or binpack shape the placements must have; a wrong one is an error. */
function checkShape(strategy: string, placed: readonly { zone: string; instance: string }[]): { shape: string; errors: string[] } {
  const errors: string[] = [];
  if (placed.length !== tasks) errors.push(`placed ${placed.length} of ${tasks} tasks`);
  const perZone = new Map<string, number>();
  const perInstance = new Map<string, number>();
  const instanceZone = new Map<string, string>();
  for (const p of placed) {
    perZone.set(p.zone, (perZone.get(p.zone) ?? 0) + 1);
    perInstance.set(p.instance, (perInstance.get(p.instance) ?? 0) + 1);
    instanceZone.set(p.instance, p.zone);
  }
  const zoneCounts = [...perZone.values()];
  const most = Math.max(...perInstance.values());
  const perHost = Math.min(INSTANCE_CPU / TASK_CPU, INSTANCE_MEMORY / TASK_MEMORY);
  if (strategy === "spread") {
    if (Math.max(...zoneCounts) - Math.min(...zoneCounts) > 1) errors.push(`zones unbalanced: ${zoneCounts.join("/")}`);
    // Within a zone, spread(instanceId) keeps every instance (those with none included) within one task of the others.
    for (const zone of ZONES) {
      const counts = [...perInstance].filter(([id]) => instanceZone.get(id) === zone).map(([, n]) => n);
      const zoneSize = Array.from({ length: instances }, (_, i) => zoneOf(i)).filter((z) => z === zone).length;
      const least = counts.length < zoneSize ? 0 : Math.min(...counts);
      if (Math.max(...counts) - least > 1) errors.push(`zone ${zone} unbalanced: instances hold ${least} to ${Math.max(...counts)} tasks`);
    }
  } else if (perInstance.size !== Math.ceil(tasks / perHost)) errors.push(`binpack used ${perInstance.size} instances, expected ${Math.ceil(tasks / perHost)}`);
  return { shape: `${perInstance.size} instances, ≤${most} each, zones ${zoneCounts.join("/")}`, errors };
}

/** A fresh SqliteStore with the cluster, `n` agents registered into it, and the task definition. */
async function registeredCluster(path: string, n: number) {
  const store = new SqliteStore({ path });
  const deps: ControlDeps = { store, clock: new FakeClock(), ids: new SequentialIds() };
  await createCluster(deps, ctx, { clusterName: CLUSTER });
  for (let i = 0; i < n; i++) {
    await registerAgent(deps, ctx, {
      agentId: `agent-${String(i).padStart(5, "0")}`, hostname: `host-${i}`, agentVersion: "bench", cpu: INSTANCE_CPU, memoryMiB: INSTANCE_MEMORY, fargate: false,
      attributes: { "ecs.availability-zone": zoneOf(i), "ecs.instance-type": "m5.xlarge", "ecs.os-type": "linux" },
      region: REGION, cluster: CLUSTER, reservedPorts: [22],
    });
  }
  const { record: td } = await registerTaskDefinition(deps, ctx, {
    family: "bench", networkMode: "bridge",
    containerDefinitions: [{ name: "app", image: "public.ecr.aws/docker/library/busybox:latest", cpu: TASK_CPU, memory: TASK_MEMORY, essential: true }],
  });
  return { store, deps, taskDefinition: td.taskDefinitionArn };
}

/** One launchForService call, as the service controller makes it; any placement failure throws. */
async function launch(cluster: Awaited<ReturnType<typeof registeredCluster>>, strategy: string, count: number, notify: (agentId: string) => void) {
  const result = await launchForService(cluster.deps, notify, ctx, {
    cluster: CLUSTER, taskDefinition: cluster.taskDefinition, count, group: GROUP, startedBy: "ecs-svc/bench",
    placementConstraints: [], placementStrategy: STRATEGIES[strategy]!, tags: [],
  });
  if (result.failures.length) throw new Error(`placement failed: ${JSON.stringify(result.failures[0])}`);
  return result.tasks;
}

/** Not timed: the same path on a small throwaway cluster, so that the first tenth is not JIT compilation. */
async function warmUp(strategy: string): Promise<void> {
  const warm = await registeredCluster(":memory:", WARMUP_INSTANCES);
  for (let n = 0; n < WARMUP_TASKS; n += batch) await launch(warm, strategy, batch, () => {});
  await warm.store.close();
}

/** The control path: a fresh SqliteStore, registered agents and definition, launchForService per batch. */
async function controlPhase(strategy: string, path: Path): Promise<PhaseResult> {
  await warmUp(strategy);

  const setup0 = performance.now();
  const cluster = await registeredCluster(path === "file" ? join(flags["data-dir"]!, `${strategy}.db`) : ":memory:", instances);
  const setupS = (performance.now() - setup0) / 1000;
  // Not timed either: a first call that places nothing. As the first placement after a server
  // starts, it loads the store's placement cache and derives each instance's fixed parts.
  const first0 = performance.now();
  await launch(cluster, strategy, 0, () => {});
  const firstCallMs = performance.now() - first0;
  const { store } = cluster;
  let notified = 0;
  const run = await timed(async (count) => {
    const placed = await launch(cluster, strategy, count, () => notified++);
    return placed.map((t) => ({ zone: t.availabilityZone, instance: t.containerInstanceArn ?? "" }));
  });
  const { shape, errors } = checkShape(strategy, run.placed);
  const stored = await store.clusterCounts(REGION, CLUSTER);
  if (stored.pendingTasks !== tasks) errors.push(`the store holds ${stored.pendingTasks} live tasks, expected ${tasks}`);
  if (notified === 0) errors.push("no agent was notified");
  await store.close();
  return { setupS, firstCallMs, placeS: run.placeS, tenths: run.tenths, peakRssMiB: 0, peakHeapMiB: run.peakHeap / 2 ** 20, errors, shape };
}

const freshInstance = (i: number): InstanceCapacity => ({
  id: `ci-${i}`, status: "ACTIVE", agentConnected: true, attributes: { "ecs.availability-zone": zoneOf(i) },
  remainingCpu: INSTANCE_CPU, remainingMemory: INSTANCE_MEMORY, reservedPorts: { tcp: new Set([22]), udp: new Set() },
  runningTasksCount: 0, taskGroups: new Set(), tasksByGroup: new Map(),
});

/** The scheduler alone: the same capacities in memory, charged for each call's placements before the next. */
async function schedulerPhase(strategy: string): Promise<PhaseResult> {
  const req: TaskRequirements = { cpu: TASK_CPU, memory: TASK_MEMORY, ports: [], group: GROUP, constraints: [], strategy: STRATEGIES[strategy]! };
  // Not timed: JIT warm-up on a throwaway set of instances.
  const warm = Array.from({ length: WARMUP_INSTANCES }, (_, i) => freshInstance(i));
  for (let n = 0; n < WARMUP_TASKS; n += batch) placeTasks(warm, req, batch, Math.random);
  const setup0 = performance.now();
  let capacity: InstanceCapacity[] = Array.from({ length: instances }, (_, i) => freshInstance(i));
  const indexOf = new Map(capacity.map((c, i) => [c.id, i] as const));
  const setupS = (performance.now() - setup0) / 1000;
  const run = await timed(async (count) => {
    const result = placeTasks(capacity, req, count, Math.random);
    if (result.failures.length) throw new Error(`placement failed: ${JSON.stringify(result.failures[0])}`);
    capacity = [...capacity];
    for (const id of result.placements) {
      const i = indexOf.get(id)!;
      const c = capacity[i]!;
      const n = (c.tasksByGroup.get(GROUP) ?? 0) + 1;
      capacity[i] = {
        ...c, remainingCpu: c.remainingCpu - TASK_CPU, remainingMemory: c.remainingMemory - TASK_MEMORY,
        runningTasksCount: c.runningTasksCount + 1, taskGroups: new Set([GROUP]), tasksByGroup: new Map([[GROUP, n]]),
      };
    }
    return result.placements.map((id) => ({ zone: zoneOf(indexOf.get(id)!), instance: id }));
  });
  const { shape, errors } = checkShape(strategy, run.placed);
  return { setupS, placeS: run.placeS, tenths: run.tenths, peakRssMiB: 0, peakHeapMiB: run.peakHeap / 2 ** 20, errors, shape };
}

/** Runs one phase in a child process (this script with --phase) and reads its JSON line. */
function runChild(strategy: string, path: Path, dataDir: string): Promise<PhaseResult> {
  const args = [
    ...process.execArgv, "--expose-gc", process.argv[1]!, "--phase", `${strategy}:${path}`, "--data-dir", dataDir,
    "--tasks", String(tasks), "--instances", String(instances), "--batch", String(batch),
  ];
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, args, { stdio: ["ignore", "pipe", "inherit"] });
    const killChild = () => child.kill("SIGKILL");
    process.once("exit", killChild);
    let out = "";
    child.stdout.on("data", (chunk: Buffer) => (out += chunk.toString()));
    child.once("error", reject);
    child.once("exit", (code) => {
      process.off("exit", killChild);
      if (code !== 0) return reject(new Error(`phase ${strategy}:${path} exited with ${code}`));
      resolve(JSON.parse(out.trim().split("\n").at(-1)!) as PhaseResult);
    });
  });
}

const rate = (n: number) => String(Math.round(n));

async function main(): Promise<number> {
  if (flags.phase !== undefined) {
    const [strategy, path] = flags.phase.split(":") as [string, Path];
    if (!(strategy in STRATEGIES) || !PATHS.includes(path)) throw new Error(`unknown phase ${flags.phase}`);
    const result = path === "scheduler" ? await schedulerPhase(strategy) : await controlPhase(strategy, path);
    result.peakRssMiB = process.resourceUsage().maxRSS / 1024;
    console.log(JSON.stringify(result));
    return 0;
  }
  // The file stores live here; this process removes it on any exit, Ctrl-C included.
  const dataDir = tempDir("berth-bench-placement-");
  process.on("exit", () => rmSync(dataDir, { recursive: true, force: true }));
  console.log(
    `${tasks} tasks over ${instances} instances (${INSTANCE_CPU} cpu, ${INSTANCE_MEMORY} MiB, ${ZONES.length} zones), ` +
      `${TASK_CPU} cpu / ${TASK_MEMORY} MiB per task, launchForService ${batch} tasks per call; one child process per row\n`,
  );
  console.log(
    `${"strategy".padEnd(8)}  ${"path".padEnd(17)}  ${"setup s".padEnd(7)}  ${"place s".padEnd(7)}  ${"tasks/s".padEnd(7)}  ${"1st 10th".padEnd(8)}  ${"last 10th".padEnd(9)}  ` +
      `${"last/1st".padEnd(8)}  ${"peak RSS".padEnd(8)}  ${"peak heap".padEnd(9)}  target`,
  );
  const tails: string[] = [];
  let errors = 0;
  for (const strategy of Object.keys(STRATEGIES)) {
    for (const path of PATHS) {
      const r = await runChild(strategy, path, dataDir);
      const overall = tasks / r.placeS;
      const [first, last] = [r.tenths[0]!, r.tenths.at(-1)!];
      const ratio = last / first;
      const verdict = r.errors.length ? "ERRORS" : path === "scheduler" ? "baseline" : overall >= TARGET_RATE && ratio >= TARGET_TAIL ? "PASS" : "MISS";
      const label = path === "scheduler" ? "scheduler only" : path === "file" ? "control, file" : "control, :memory:";
      console.log(
        `${strategy.padEnd(8)}  ${label.padEnd(17)}  ${r.setupS.toFixed(1).padEnd(7)}  ${r.placeS.toFixed(2).padEnd(7)}  ${rate(overall).padEnd(7)}  ${rate(first).padEnd(8)}  ` +
          `${rate(last).padEnd(9)}  ${ratio.toFixed(2).padEnd(8)}  ${(r.peakRssMiB.toFixed(0) + " MiB").padEnd(8)}  ${(r.peakHeapMiB.toFixed(0) + " MiB").padEnd(9)}  ` +
          `${path === "scheduler" ? "" : `≥${TARGET_RATE}/s and ≥${TARGET_TAIL * 100}%: `}${verdict}`,
      );
      const load = r.firstCallMs === undefined ? "" : `; untimed first call ${r.firstCallMs.toFixed(0)} ms`;
      tails.push(`${strategy.padEnd(8)}  ${label.padEnd(17)}  ${r.tenths.map(rate).join(" ")}   (${r.shape}${load})`);
      for (const e of r.errors) console.log(`ERRORS: ${strategy} ${label}: ${e}`);
      errors += r.errors.length;
    }
  }
  console.log(`\ntasks/s per tenth:\n${tails.join("\n")}`);
  console.log(`\nmachine: ${availableParallelism()} cpus (${cpus()[0]?.model ?? "unknown"}), node ${process.version}, ${process.platform}-${process.arch}, tmpdir ${tmpdir()}, load average ${loadavg().map((l) => l.toFixed(2)).join(" ")}`);
  if (errors === 0) return 0;
  console.error(`\n!!! ${errors} check(s) failed: these figures are not valid !!!`);
  return 1;
}

for (const signal of ["SIGINT", "SIGTERM"] as const) process.on(signal, () => process.exit(130));
main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    console.error(error);
    process.exit(1);
  },
);
