/**
 * Task start latency: RunTask → RUNNING (the first DescribeTasks reply that says so) against a real
 * `berth up` (the built bundle, its embedded agent on this host's Docker), next to `docker run -d`
 * of the same image and command in the same run. Two phases:
 *   - one at a time: --tasks Berth tasks and as many `docker run -d`, alternating ABAB/BABA;
 *   - at once: --batch concurrent RunTask calls (count 1 each) until all are RUNNING, and --batch
 *     concurrent `docker run -d` commands until all have returned.
 * --trace prints, per sequential task, where Berth's time went (RunTask reply, pullStartedAt,
 * pullStoppedAt, the container's create and start as Docker recorded them, startedAt, first seen
 * RUNNING). Loopback only, bounded in time, and on any exit (Ctrl-C included) it kills Berth,
 * removes every container this run created and its temp data dir.
 *
 *   node --import tsx bench/run-task.ts [--tasks 20] [--batch 50] [--pull-behavior default] [--trace]
 */
import { type ChildProcess, execFile, spawnSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { existsSync, readFileSync, rmSync } from "node:fs";
import { availableParallelism, cpus, loadavg, tmpdir } from "node:os";
import { join } from "node:path";
import { performance } from "node:perf_hooks";
import { parseArgs } from "node:util";
import {
  DescribeTasksCommand,
  type ECSClient,
  ListContainerInstancesCommand,
  RegisterTaskDefinitionCommand,
  RunTaskCommand,
  StopTaskCommand,
  type Task,
} from "@aws-sdk/client-ecs";
import { type BerthProcess, ecsClient, freePort, killHard, spawnBerth, tempDir } from "../test/support/harness.ts";
import { BUSYBOX_IMAGE, ensureBusyboxImage } from "../test/support/images.ts";
import { ensureBuilt } from "./support.ts";

const FAMILY = "bench-run-task";
const COMMAND = ["sleep", "3600"];
const WARMUP = 1;
const POLL_MS = 10;
const BATCH_POLL_MS = 20;
const TASK_TIMEOUT_MS = 60_000;
const BATCH_TIMEOUT_MS = 180_000;
const DOCKER_TIMEOUT_MS = 120_000;
const OVERALL_TIMEOUT_MS = 15 * 60_000;
const TARGET_P50 = 1.3;
const TARGET_P99 = 2;
const TARGET_BATCH = 1.25;
const PULL_BEHAVIORS = ["default", "always", "once", "prefer-cached"];

// The SDK's notice that later versions need Node 22 is not this bench's business.
process.env["AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED"] ??= "true";

const { values: flags } = parseArgs({
  options: {
    tasks: { type: "string", default: "20" },
    batch: { type: "string", default: "50" },
    "pull-behavior": { type: "string", default: "default" },
    trace: { type: "boolean", default: false },
  },
});
const tasks = Number(flags.tasks);
const batch = Number(flags.batch);
const pullBehavior = flags["pull-behavior"];
if (!Number.isInteger(tasks) || tasks < 1 || !Number.isInteger(batch) || batch < 1) throw new Error("--tasks and --batch must be positive integers");
if (!PULL_BEHAVIORS.includes(pullBehavior)) throw new Error(`--pull-behavior must be one of ${PULL_BEHAVIORS.join(", ")}`);

// What cleanup needs: Berth, the task ARNs it returned, and this run's id on the baseline containers.
const runId = randomBytes(6).toString("hex");
const dataDir = tempDir("berth-bench-");
const taskArns = new Set<string>();
let berth: BerthProcess | undefined;
/** `docker run` commands still going: on Ctrl-C they may yet create a container, so wait for them. */
const dockerCommands = new Set<ChildProcess>();
let cleaned = false;
let interrupted = false;

/** The id Berth's agent labels its containers with (fresh data dir, so only this run's). */
function ourAgentId(): string | undefined {
  const file = join(dataDir, "agent/agent-id");
  return existsSync(file) ? readFileSync(file, "utf8").trim() : undefined;
}

/** Every container this run created: baseline ones by label, Berth's by task ARN or agent id. */
function ourContainers(): string[] {
  const agentId = ourAgentId();
  const format = '{{.ID}}\t{{.Label "berth.bench.run"}}\t{{.Label "com.amazonaws.ecs.task-arn"}}\t{{.Label "berth.agent-id"}}';
  const ids: string[] = [];
  for (const filter of ["label=berth.bench.run", "label=com.amazonaws.ecs.cluster"]) {
    const ps = spawnSync("docker", ["ps", "-a", "--no-trunc", "--filter", filter, "--format", format], { encoding: "utf8", timeout: 30_000 });
    for (const line of (ps.stdout ?? "").split("\n")) {
      const [id, run, arn, agent] = line.split("\t");
      if (id && (run === runId || (arn && taskArns.has(arn)) || (agentId && agent === agentId))) ids.push(id);
    }
  }
  return ids;
}

function removeContainers(ids: readonly string[]): void {
  for (let i = 0; i < ids.length; i += 100) spawnSync("docker", ["rm", "-f", ...ids.slice(i, i + 100)], { stdio: "ignore", timeout: 60_000 });
}

/** Synchronous so that it also runs from the exit handler. */
function cleanup(): void {
  if (cleaned) return;
  cleaned = true;
  if (berth && berth.child.exitCode === null && berth.child.signalCode === null) berth.child.kill("SIGKILL");
  removeContainers(ourContainers());
  rmSync(dataDir, { recursive: true, force: true });
}

/** Kills Berth and waits (briefly) for it and any `docker run` still going, so no container create is on its way. */
async function stopBerth(): Promise<void> {
  const exits = [...dockerCommands].map((c) => new Promise((r) => c.once("exit", r)));
  await Promise.race([Promise.all([berth && killHard(berth), ...exits]), sleep(15_000)]);
  await sleep(300);
}

process.on("exit", cleanup);
for (const signal of ["SIGINT", "SIGTERM"] as const) {
  process.on(signal, () => {
    if (interrupted) return;
    interrupted = true;
    console.error(`\n${signal}: cleaning up`);
    void stopBerth().finally(() => process.exit(130));
  });
}
setTimeout(() => {
  console.error(`bench: gave up after ${OVERALL_TIMEOUT_MS / 60_000} min`);
  void stopBerth().finally(() => process.exit(1));
}, OVERALL_TIMEOUT_MS).unref();

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

// ---- Docker baseline ----

interface DockerRun {
  id: string;
  /** performance.now() when the command was started and when it returned. */
  start: number;
  end: number;
  startWall: number;
  endWall: number;
}

function dockerRun(): Promise<DockerRun> {
  const args = ["run", "-d", "--init", "--memory", "16m", "--label", "berth.bench=1", "--label", `berth.bench.run=${runId}`, BUSYBOX_IMAGE, ...COMMAND];
  return new Promise((resolve, reject) => {
    const startWall = Date.now();
    const start = performance.now();
    const child = execFile("docker", args, { timeout: DOCKER_TIMEOUT_MS }, (error, stdout, stderr) => {
      const end = performance.now();
      if (error) return reject(new Error(`docker run failed: ${stderr.trim() || error.message}`));
      resolve({ id: stdout.trim(), start, end, startWall, endWall: Date.now() });
    });
    dockerCommands.add(child);
    child.once("exit", () => dockerCommands.delete(child));
  });
}

/** Docker's own record of a container: when it was created and when its process started (ms). */
function dockerTimes(ids: readonly string[]): Map<string, { created: number; started: number }> {
  const out = new Map<string, { created: number; started: number }>();
  if (ids.length === 0) return out;
  const r = spawnSync("docker", ["inspect", "--format", "{{.Id}} {{.Created}} {{.State.StartedAt}}", ...ids], { encoding: "utf8", timeout: 30_000 });
  for (const line of (r.stdout ?? "").split("\n")) {
    const [id, created, started] = line.split(" ");
    if (id && created && started) out.set(id, { created: Date.parse(created), started: Date.parse(started) });
  }
  return out;
}

// ---- Berth ----

interface BerthRun {
  arn: string;
  start: number;
  /** performance.now() at the end of the first DescribeTasks reply that said RUNNING. */
  end: number;
  sentWall: number;
  returnedWall: number;
  seenWall: number;
  task: Task;
}

async function runTask(client: ECSClient): Promise<string> {
  const reply = await client.send(new RunTaskCommand({ cluster: "default", taskDefinition: FAMILY, launchType: "EC2", count: 1 }));
  const arn = reply.tasks?.[0]?.taskArn;
  if (!arn) throw new Error(`RunTask placed no task: ${JSON.stringify(reply.failures)}`);
  taskArns.add(arn);
  return arn;
}

function stoppedError(task: Task): Error {
  return new Error(`task ${task.taskArn} STOPPED before RUNNING: ${task.stopCode} ${task.stoppedReason}`);
}

async function berthOne(client: ECSClient): Promise<BerthRun> {
  const sentWall = Date.now();
  const start = performance.now();
  const arn = await runTask(client);
  const returnedWall = Date.now();
  for (let next = performance.now(); ; ) {
    next += POLL_MS;
    const task = (await client.send(new DescribeTasksCommand({ cluster: "default", tasks: [arn] }))).tasks?.[0];
    if (task?.lastStatus === "RUNNING") return { arn, start, end: performance.now(), sentWall, returnedWall, seenWall: Date.now(), task };
    if (task?.lastStatus === "STOPPED") throw stoppedError(task);
    if (performance.now() - start > TASK_TIMEOUT_MS) throw new Error(`task ${arn} not RUNNING after ${TASK_TIMEOUT_MS} ms (last ${task?.lastStatus})`);
    await sleep(Math.max(0, next - performance.now()));
  }
}

/** DescribeTasks for any number of ARNs, 100 per call. */
async function describeAll(client: ECSClient, arns: readonly string[]): Promise<Task[]> {
  const out: Task[] = [];
  for (let i = 0; i < arns.length; i += 100) {
    out.push(...((await client.send(new DescribeTasksCommand({ cluster: "default", tasks: arns.slice(i, i + 100) }))).tasks ?? []));
  }
  return out;
}

interface BatchTask {
  /** ms from the first call to the poll that saw it RUNNING. */
  ms: number;
  repliedWall: number;
  task: Task;
}

/** n RunTask calls at once; each task's time is from the first call to the poll that saw it RUNNING. */
async function berthBatch(client: ECSClient, poller: ECSClient, n: number): Promise<{ t0Wall: number; tasks: BatchTask[] }> {
  const arns: string[] = [];
  const replied = new Map<string, number>();
  const seen = new Map<string, BatchTask>();
  let failure: unknown;
  const t0Wall = Date.now();
  const t0 = performance.now();
  const calls = Array.from({ length: n }, () =>
    runTask(client).then(
      (arn) => void (arns.push(arn), replied.set(arn, Date.now())),
      (e: unknown) => void (failure ??= e),
    ),
  );
  for (let next = t0; seen.size < n; ) {
    next += BATCH_POLL_MS;
    if (failure) throw failure;
    if (performance.now() - t0 > BATCH_TIMEOUT_MS) throw new Error(`only ${seen.size} of ${n} tasks RUNNING after ${BATCH_TIMEOUT_MS} ms`);
    const pending = arns.filter((a) => !seen.has(a));
    if (pending.length > 0) {
      const described = await describeAll(poller, pending);
      const now = performance.now();
      for (const task of described) {
        if (task.lastStatus === "RUNNING") seen.set(task.taskArn!, { ms: now - t0, repliedWall: replied.get(task.taskArn!)!, task });
        else if (task.lastStatus === "STOPPED") throw stoppedError(task);
      }
    }
    await sleep(Math.max(0, next - performance.now()));
  }
  await Promise.all(calls);
  return { t0Wall, tasks: [...seen.values()] };
}

async function waitForInstance(client: ECSClient): Promise<void> {
  const deadline = Date.now() + 20_000;
  while (Date.now() < deadline) {
    const list = await client.send(new ListContainerInstancesCommand({ cluster: "default" })).catch(() => undefined);
    if (list?.containerInstanceArns?.length) return;
    await sleep(100);
  }
  throw new Error("the embedded agent did not join cluster default in 20 s");
}

/** StopTask for each, then waits for STOPPED and removes the containers, so the next phase starts clean. */
async function stopTasks(client: ECSClient, arns: readonly string[]): Promise<void> {
  await Promise.all(arns.map((task) => client.send(new StopTaskCommand({ cluster: "default", task, reason: "bench phase over" }))));
  const deadline = Date.now() + 60_000;
  for (;;) {
    const described = await describeAll(client, arns);
    if (described.every((t) => t.lastStatus === "STOPPED")) {
      removeContainers(described.flatMap((t) => (t.containers ?? []).map((c) => c.runtimeId).filter((id): id is string => !!id)));
      return;
    }
    if (Date.now() > deadline) {
      console.log(`note: ${described.filter((t) => t.lastStatus !== "STOPPED").length} task(s) not STOPPED after 60 s; carrying on`);
      return;
    }
    await sleep(100);
  }
}

// ---- figures ----

const pct = (sorted: readonly number[], p: number) => sorted[Math.max(0, Math.ceil(p * sorted.length) - 1)] ?? NaN;
const ms = (n: number) => (Number.isFinite(n) ? n.toFixed(Math.abs(n) < 10 ? 2 : 1) : "-");
const sorted = (xs: readonly number[]) => [...xs].sort((a, b) => a - b);
/** Whole ms, for figures that come from millisecond timestamps. */
const whole = (n: number) => (Number.isFinite(n) ? n.toFixed(0) : "-");
const verdict = (ratio: number, target: number) => `${ratio.toFixed(2)}x ≤${target}x ${ratio <= target ? "PASS" : "MISS"}`;

function row(name: string, n: number, berthMs: readonly number[], dockerMs: readonly number[], targets: string): string {
  const [b, d] = [sorted(berthMs), sorted(dockerMs)];
  const cols = (xs: number[]) => `${ms(pct(xs, 0.5)).padEnd(11)}${ms(pct(xs, 0.99)).padEnd(9)}${ms(xs.at(-1) ?? NaN).padEnd(7)}`;
  return `${name.padEnd(20)}  ${String(n).padEnd(3)}  | ${cols(b)}  | ${cols(d)}  | ${targets}`;
}

function printTrace(runs: readonly BerthRun[], baseline: readonly DockerRun[]): void {
  const times = dockerTimes([...runs.map((r) => r.task.containers?.[0]?.runtimeId ?? ""), ...baseline.map((d) => d.id)].filter(Boolean));
  const at = (d: Date | undefined) => d?.getTime() ?? NaN;
  const heads = ["RunTask", "→pullStart", "pull", "→startedAt", "(→created", "→started", "→startedAt)", "→seen", "total"];
  console.log(`\ntrace, one row per measured Berth task (ms; each column is the gap from the previous event):`);
  console.log("  RunTask: sent → reply; →pullStart: reply → pullStartedAt; pull: → pullStoppedAt; →startedAt: → task startedAt,");
  console.log("  which the bracket splits by Docker's own record: → container created, → process started, → task startedAt;");
  console.log("  →seen: startedAt → the bench's first DescribeTasks reply saying RUNNING.");
  console.log(`  ${"task".padEnd(4)}  ${heads.map((h) => h.padStart(11)).join(" ")}`);
  const gaps: number[][] = [];
  for (const [i, r] of runs.entries()) {
    const t = r.task;
    const docker = times.get(t.containers?.[0]?.runtimeId ?? "");
    const [pullStarted, pullStopped, started] = [at(t.pullStartedAt), at(t.pullStoppedAt), at(t.startedAt)];
    const g = [
      r.returnedWall - r.sentWall,
      pullStarted - r.returnedWall,
      pullStopped - pullStarted,
      started - pullStopped,
      (docker?.created ?? NaN) - pullStopped,
      (docker?.started ?? NaN) - (docker?.created ?? NaN),
      started - (docker?.started ?? NaN),
      r.seenWall - started,
      r.end - r.start,
    ];
    gaps.push(g);
    console.log(`  ${String(i + 1).padEnd(4)}  ${g.map((x) => whole(x).padStart(11)).join(" ")}`);
  }
  const p50 = heads.map((_, c) => pct(sorted(gaps.map((g) => g[c]!).filter(Number.isFinite)), 0.5));
  console.log(`  ${"p50".padEnd(4)}  ${p50.map((x) => whole(x).padStart(11)).join(" ")}`);
  const d = baseline.map((b) => {
    const x = times.get(b.id);
    return [(x?.created ?? NaN) - b.startWall, (x?.started ?? NaN) - (x?.created ?? NaN), b.endWall - (x?.started ?? NaN), b.end - b.start];
  });
  const dp = [0, 1, 2, 3].map((c) => pct(sorted(d.map((g) => g[c]!).filter(Number.isFinite)), 0.5));
  console.log(`docker run -d, p50 over ${d.length}: command start → created ${whole(dp[0]!)}, → process started ${whole(dp[1]!)}, → command returned ${whole(dp[2]!)}; total ${whole(dp[3]!)} ms`);
}

type DockerTimes = ReturnType<typeof dockerTimes>;

function printBatchTrace(berthT0: number, berthTasks: readonly BatchTask[], dockerT0: number, docker: readonly DockerRun[], dockerRecord: DockerTimes): void {
  const record = dockerTimes(berthTasks.map((t) => t.task.containers?.[0]?.runtimeId ?? "").filter(Boolean));
  const of = (t: BatchTask) => record.get(t.task.containers?.[0]?.runtimeId ?? "");
  const at = (d: Date | undefined) => d?.getTime() ?? NaN;
  const line = (events: [string, number[]][]) =>
    events.map(([name, xs]) => {
      const s = sorted(xs.filter(Number.isFinite));
      return `${name} ${whole(pct(s, 0.5))} / ${whole(s.at(-1) ?? NaN)}`;
    }).join(", ");
  console.log(`\ntrace, ${berthTasks.length} at once (ms from the first call to each event, p50 / max over the tasks):`);
  console.log(
    `  Berth:  ${line([
      ["RunTask reply", berthTasks.map((t) => t.repliedWall - berthT0)],
      ["pullStartedAt", berthTasks.map((t) => at(t.task.pullStartedAt) - berthT0)],
      ["pullStoppedAt", berthTasks.map((t) => at(t.task.pullStoppedAt) - berthT0)],
      ["created", berthTasks.map((t) => (of(t)?.created ?? NaN) - berthT0)],
      ["process started", berthTasks.map((t) => (of(t)?.started ?? NaN) - berthT0)],
      ["startedAt", berthTasks.map((t) => at(t.task.startedAt) - berthT0)],
      ["seen RUNNING", berthTasks.map((t) => t.ms)],
    ])}`,
  );
  console.log(
    `  docker: ${line([
      ["created", docker.map((d) => (dockerRecord.get(d.id)?.created ?? NaN) - dockerT0)],
      ["process started", docker.map((d) => (dockerRecord.get(d.id)?.started ?? NaN) - dockerT0)],
      ["command returned", docker.map((d) => d.endWall - dockerT0)],
    ])}`,
  );
}

/** Containers started on this Docker host during the run by anyone else (other test runs, say). */
function othersStarted(sinceWall: number): number {
  const r = spawnSync(
    "docker",
    ["events", "--since", String(Math.floor(sinceWall / 1000)), "--until", String(Math.ceil(Date.now() / 1000)), "--filter", "type=container", "--filter", "event=start", "--format", '{{.Actor.ID}}\t{{index .Actor.Attributes "berth.bench.run"}}\t{{index .Actor.Attributes "berth.agent-id"}}'],
    { encoding: "utf8", timeout: 30_000 },
  );
  const agentId = ourAgentId();
  return (r.stdout ?? "").split("\n").filter((l) => {
    const [id, run, agent] = l.split("\t");
    return id && run !== runId && agent !== agentId;
  }).length;
}

async function main(): Promise<void> {
  const startWall = Date.now();
  ensureBuilt();
  await ensureBusyboxImage();
  berth = await spawnBerth(dataDir, await freePort(), ["--region", "ap-south-1", "--pull-behavior", pullBehavior]);
  const client = ecsClient(berth);
  const poller = ecsClient(berth);
  await waitForInstance(client);
  await client.send(
    new RegisterTaskDefinitionCommand({
      family: FAMILY,
      networkMode: "bridge",
      requiresCompatibilities: ["EC2"],
      containerDefinitions: [{ name: "app", image: BUSYBOX_IMAGE, command: COMMAND, memory: 16, essential: true, linuxParameters: { initProcessEnabled: true } }],
    }),
  );
  const dockerVersion = spawnSync("docker", ["version", "--format", "{{.Server.Version}}"], { encoding: "utf8" }).stdout.trim();
  console.log(`Berth pull behavior: ${pullBehavior}; image ${BUSYBOX_IMAGE}, command ${COMMAND.join(" ")}, memory 16 MiB, init process`);
  console.log(`Berth: launch type EC2, bridge network, embedded agent; docker: docker run -d --init --memory 16m (Docker ${dockerVersion})`);

  // One at a time, alternating who goes first; the first WARMUP of each are not counted.
  const berthRuns: BerthRun[] = [];
  const dockerRuns: DockerRun[] = [];
  for (let i = 0; i < WARMUP + tasks; i++) {
    const pair = i % 2 === 0 ? [() => berthOne(client), dockerRun] : [dockerRun, () => berthOne(client)];
    for (const step of pair) {
      const r = await step();
      if (i < WARMUP) continue;
      if ("arn" in r) berthRuns.push(r);
      else dockerRuns.push(r);
    }
  }
  if (flags.trace) printTrace(berthRuns, dockerRuns);
  await stopTasks(client, [...taskArns]);
  removeContainers(ourContainers());

  // At once: docker first, its containers removed, then Berth on the same empty host.
  await sleep(1000);
  const d0Wall = Date.now();
  const d0 = performance.now();
  const dockerBatchRuns = await Promise.all(Array.from({ length: batch }, dockerRun));
  const dockerBatch = dockerBatchRuns.map((r) => r.end - d0);
  const dockerBatchRecord = flags.trace ? dockerTimes(dockerBatchRuns.map((r) => r.id)) : new Map();
  removeContainers(ourContainers());
  await sleep(1000);
  const berthBatchRun = await berthBatch(client, poller, batch);
  const berthBatchMs = berthBatchRun.tasks.map((t) => t.ms);
  if (flags.trace) printBatchTrace(berthBatchRun.t0Wall, berthBatchRun.tasks, d0Wall, dockerBatchRuns, dockerBatchRecord);
  const others = othersStarted(startWall);

  const [bs, ds] = [sorted(berthRuns.map((r) => r.end - r.start)), sorted(dockerRuns.map((r) => r.end - r.start))];
  const seqTargets = `p50 ${verdict(pct(bs, 0.5) / pct(ds, 0.5), TARGET_P50)}, p99 ${verdict(pct(bs, 0.99) / pct(ds, 0.99), TARGET_P99)}`;
  const batchTargets = `all ${verdict(Math.max(...berthBatchMs) / Math.max(...dockerBatch), TARGET_BATCH)}`;
  console.log(`\nms from RunTask sent (Berth) or command started (docker) to RUNNING seen by DescribeTasks (Berth) or the command returning (docker)`);
  const head = (who: string) => `${`${who} p50`.padEnd(11)}${"p99".padEnd(9)}${"max".padEnd(7)}`;
  console.log(`${"phase".padEnd(20)}  ${"n".padEnd(3)}  | ${head("Berth")}  | ${head("docker")}  | ratio and target`);
  console.log(row("one at a time", bs.length, bs, ds, seqTargets));
  console.log(row(`${batch} at once`, batch, berthBatchMs, dockerBatch, batchTargets));
  console.log(
    `\nmachine: ${availableParallelism()} cpus (${cpus()[0]?.model ?? "unknown"}), node ${process.version}, ${process.platform}-${process.arch}, Docker ${dockerVersion}, tmpdir ${tmpdir()}, load average ${loadavg().map((l) => l.toFixed(2)).join(" ")}`,
  );
  console.log(`one at a time: ${WARMUP} warm-up run of each not counted (p99 of ${bs.length} is the ${Math.ceil(0.99 * bs.length)}th); DescribeTasks polled every ${POLL_MS} ms. At once: polled every ${BATCH_POLL_MS} ms; "all" compares the max columns`);
  if (others > 0) console.log(`note: ${others} container(s) not from this run started on this Docker host during the run; these figures are noisier`);
  await stopBerth();
}

main().then(
  () => process.exit(0),
  (error: unknown) => {
    if (interrupted) return; // the signal handler is already cleaning up
    console.error(error);
    void stopBerth().finally(() => process.exit(1));
  },
);
