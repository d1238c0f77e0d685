/**
 * Logs ingest and search. Ingest: a real `berth up` runs 4 awslogs tasks whose busybox shell writes
 * --lines numbered lines as fast as it can; the newest event of each stream is polled (GetLogEvents,
 * limit 1) every 100 ms, giving lines/s visible and write→visible latency against Docker's own
 * per-line timestamps, next to the rate Docker received the lines at, with DescribeClusters timed
 * during the burst and alone, and Berth's CPU per line; every stream is then read back in full, and
 * a bare reader of the same writers' files gives the floor. Filter: in process, a SqliteLogsEngine
 * holding --events access-log lines, and the same lines as a text file; FilterLogEvents term
 * queries (paged, counted) timed next to `grep -c` and a bare Node scan of the file (the floor).
 * Loopback only, bounded in time; on any exit (Ctrl-C included) it kills Berth and removes this
 * run's containers (by its agent id) and temp dirs.
 *
 *   node --import tsx bench/logs.ts [--lines 250000] [--events 1000000] [--reps 5] [--only ingest|filter]
 */
import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { availableParallelism, cpus, loadavg, tmpdir } from "node:os";
import { join } from "node:path";
import { performance } from "node:perf_hooks";
import { parseArgs } from "node:util";
import { CloudWatchLogsClient, GetLogEventsCommand } from "@aws-sdk/client-cloudwatch-logs";
import { DescribeClustersCommand, DescribeTasksCommand, ListContainerInstancesCommand, RegisterTaskDefinitionCommand, RunTaskCommand } from "@aws-sdk/client-ecs";
import { systemClock } from "../src/core/clock.ts";
import { SqliteLogsEngine } from "../src/logs/sqlite-logs-engine.ts";
import { type BerthProcess, ecsClient, freePort, killHard, REGION, spawnBerth, tempDir } from "../test/support/harness.ts";
import { BUSYBOX_IMAGE, ensureBusyboxImage } from "../test/support/images.ts";
import { ensureBuilt } from "./support.ts";

const TASKS = 4;
const GROUP = "/bench/logs";
const POLL_MS = 100;
const SAMPLES_PER_TASK = 250;
const INGEST_TIMEOUT_MS = 5 * 60_000;
const OVERALL_TIMEOUT_MS = 12 * 60_000;
const TARGET_RATE = 50_000;
const TARGET_P99_MS = 1_000;
const [RARE, COMMON] = ["wp-login", "checkout"];

process.env["AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED"] ??= "true";
const { values: flags } = parseArgs({
  options: { lines: { type: "string", default: "250000" }, events: { type: "string", default: "1000000" }, reps: { type: "string", default: "5" }, only: { type: "string" } },
});
const [lines, eventCount, reps] = [Number(flags.lines), Number(flags.events), Number(flags.reps)];
if (![lines, eventCount, reps].every((n) => Number.isInteger(n) && n >= 1)) throw new Error("--lines, --events and --reps must be positive integers");
if (flags.only !== undefined && !["ingest", "filter"].includes(flags.only)) throw new Error("--only must be ingest or filter");

const dataDir = tempDir("berth-bench-");
const filterDir = mkdtempSync(join(tmpdir(), "berth-bench-filter-"));
let berth: BerthProcess | undefined;
let [failed, interrupted] = [false, false];
const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

const agentId = () => (existsSync(join(dataDir, "agent/agent-id")) ? readFileSync(join(dataDir, "agent/agent-id"), "utf8").trim() : undefined);

/** Synchronous so that it also runs from the exit handler; the data dir is fresh, so its agent id is this run's only. */
function cleanup(): void {
  if (berth && berth.child.exitCode === null && berth.child.signalCode === null) berth.child.kill("SIGKILL");
  const id = agentId();
  if (id) {
    const ids = (spawnSync("docker", ["ps", "-aq", "--filter", `label=berth.agent-id=${id}`], { encoding: "utf8", timeout: 30_000 }).stdout ?? "").split("\n").filter(Boolean);
    if (ids.length) spawnSync("docker", ["rm", "-f", ...ids], { stdio: "ignore", timeout: 60_000 });
  }
  const floorIds = (spawnSync("docker", ["ps", "-aq", "--filter", `label=berth.bench-floor=${process.pid}`], { encoding: "utf8", timeout: 30_000 }).stdout ?? "").split("\n").filter(Boolean);
  if (floorIds.length) spawnSync("docker", ["rm", "-f", ...floorIds], { stdio: "ignore", timeout: 60_000 });
  rmSync(dataDir, { recursive: true, force: true });
  rmSync(filterDir, { recursive: true, force: true });
}
process.on("exit", cleanup);
for (const signal of ["SIGINT", "SIGTERM"] as const) {
  process.on(signal, () => {
    interrupted = true;
    console.error(`\n${signal}: cleaning up`);
    // Berth first, then a moment for any container create it had sent; the exit handler removes the rest.
    void (berth ? killHard(berth) : Promise.resolve()).then(() => sleep(300)).finally(() => process.exit(130));
  });
}
setTimeout(() => {
  console.error(`bench: gave up after ${OVERALL_TIMEOUT_MS / 60_000} min`);
  process.exit(1);
}, OVERALL_TIMEOUT_MS).unref();

const sorted = (xs: readonly number[]) => [...xs].sort((a, b) => a - b);
const pct = (s: readonly number[], p: number) => s[Math.max(0, Math.ceil(p * s.length) - 1)] ?? NaN;
const median = (xs: readonly number[]) => pct(sorted(xs), 0.5);
const f1 = (n: number) => (Number.isFinite(n) ? n.toFixed(1) : "-");
const int = (n: number) => (Number.isFinite(n) ? Math.round(n).toLocaleString("en-US") : "-");
/** Docker's RFC 3339 nano timestamp as fractional epoch ms. */
const dockerMs = (ts: string) => Date.parse(`${ts.slice(0, 19)}Z`) + Number(ts.slice(19, -1) || "0") * 1000;

// ---- ingest ----

/** The number at the start of the newest event of a stream, or -1 while there is none. */
async function newest(logs: CloudWatchLogsClient, stream: string): Promise<number> {
  try {
    const page = await logs.send(new GetLogEventsCommand({ logGroupName: GROUP, logStreamName: stream, limit: 1, startFromHead: false }));
    const m = page.events?.[0]?.message;
    return m === undefined ? -1 : parseInt(m, 10);
  } catch (e) {
    if ((e as Error).name === "ResourceNotFoundException") return -1;
    throw e;
  }
}

/** User plus system CPU seconds a process has used so far (Linux /proc; NaN elsewhere). */
function cpuSeconds(pid: number | undefined): number {
  try {
    const fields = readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1]!.split(" ");
    return (Number(fields[11]) + Number(fields[12])) / 100;
  } catch {
    return NaN;
  }
}

/** Every line of a stream in order; the problems found, if any, described. */
async function checkStream(logs: CloudWatchLogsClient, stream: string): Promise<string | undefined> {
  let [expect, token, bad] = [0, undefined as string | undefined, 0];
  for (;;) {
    const page = await logs.send(new GetLogEventsCommand({ logGroupName: GROUP, logStreamName: stream, startFromHead: true, ...(token ? { nextToken: token } : {}) }));
    for (const e of page.events ?? []) if (parseInt(e.message ?? "", 10) !== expect++) bad++;
    if (!page.nextForwardToken || page.nextForwardToken === token) break;
    token = page.nextForwardToken;
  }
  return expect === lines && bad === 0 ? undefined : `${stream}: ${expect} events, ${bad} out of place (expected ${lines} in order)`;
}

async function ingest(): Promise<void> {
  ensureBuilt();
  await ensureBusyboxImage();
  berth = await spawnBerth(dataDir, await freePort(), ["--region", REGION]);
  const ecs = ecsClient(berth);
  const creds = { accessKeyId: berth.identity.admin.accessKeyId, secretAccessKey: berth.identity.admin.secretAccessKey };
  const logs = new CloudWatchLogsClient({ endpoint: berth.url, region: REGION, credentials: creds, maxAttempts: 1 });
  for (let deadline = Date.now() + 20_000; !(await ecs.send(new ListContainerInstancesCommand({ cluster: "default" }))).containerInstanceArns?.length; await sleep(100)) {
    if (Date.now() > deadline) throw new Error("the embedded agent did not join cluster default in 20 s");
  }
  const script = `i=0; while [ $i -lt ${lines} ]; do echo "$i 10.0.3.17 - - \\"GET /api/v1/items/48213 HTTP/1.1\\" 200 5123 12ms"; i=$((i+1)); done; exec sleep 3600`;
  const options = { "awslogs-group": GROUP, "awslogs-region": REGION, "awslogs-stream-prefix": "bench", "awslogs-create-group": "true" };
  const writer = { name: "writer", image: BUSYBOX_IMAGE, memory: 64, essential: true, command: ["sh", "-c", script], linuxParameters: { initProcessEnabled: true } };
  await ecs.send(new RegisterTaskDefinitionCommand({ family: "bench-logs", networkMode: "bridge", requiresCompatibilities: ["EC2"], containerDefinitions: [{ ...writer, logConfiguration: { logDriver: "awslogs", options } }] }));
  // The ECS API with nothing else going on, to set beside its answers during the burst.
  const describeCluster = async (into: number[]) => {
    const t = performance.now();
    await ecs.send(new DescribeClustersCommand({ clusters: ["default"] }));
    into.push(performance.now() - t);
  };
  const apiIdle: number[] = [];
  for (let i = 0; i < 50; i++) await describeCluster(apiIdle);
  const apiBusy: number[] = [];
  const startWall = Date.now();
  const cpuAtStart = cpuSeconds(berth.child.pid);
  const run = await ecs.send(new RunTaskCommand({ cluster: "default", taskDefinition: "bench-logs", launchType: "EC2", count: TASKS }));
  const arns = (run.tasks ?? []).map((t) => t.taskArn!);
  if (arns.length !== TASKS) throw new Error(`RunTask placed ${arns.length} of ${TASKS} tasks: ${JSON.stringify(run.failures)}`);
  const streams = arns.map((a) => `bench/writer/${a.split("/").pop()}`);

  // When each stream's newest visible line moved on: a line is visible once a later one is (each batch is one transaction, in order).
  const seen: { wall: number; max: number }[][] = streams.map(() => []);
  const rounds: number[] = [];
  for (let next = Date.now(); ; next += POLL_MS) {
    const t = Date.now();
    const [maxes] = await Promise.all([Promise.all(streams.map(async (s) => ({ max: await newest(logs, s), wall: Date.now() }))), describeCluster(apiBusy)]);
    rounds.push(Date.now() - t);
    maxes.forEach((m, k) => m.max > (seen[k]!.at(-1)?.max ?? -1) && seen[k]!.push(m));
    if (seen.every((s) => (s.at(-1)?.max ?? -1) >= lines - 1)) break;
    if (Date.now() - startWall > INGEST_TIMEOUT_MS) throw new Error(`not every last line visible after ${INGEST_TIMEOUT_MS / 1000} s: ${seen.map((s) => s.at(-1)?.max ?? -1).join(", ")}`);
    await sleep(Math.max(0, next + POLL_MS - Date.now()));
  }

  const berthCpu = cpuSeconds(berth.child.pid) - cpuAtStart;
  // Docker's record of when it received each line, from the containers' own logs.
  const tasks = (await ecs.send(new DescribeTasksCommand({ cluster: "default", tasks: arns }))).tasks ?? [];
  const written = arns.map((arn) => {
    const id = tasks.find((t) => t.taskArn === arn)?.containers?.[0]?.runtimeId ?? "";
    const out = spawnSync("docker", ["logs", "--timestamps", id], { encoding: "utf8", maxBuffer: 1 << 30, timeout: 120_000 }).stdout ?? "";
    const times = new Float64Array(lines).fill(NaN);
    for (const l of out.split("\n")) {
      const sp = l.indexOf(" ");
      const n = parseInt(l.slice(sp + 1), 10);
      if (sp > 0 && n >= 0 && n < lines) times[n] = dockerMs(l.slice(0, sp));
    }
    return times;
  });
  const problems = (await Promise.all(streams.map((s) => checkStream(logs, s)))).filter((p): p is string => !!p);

  const step = Math.max(1, Math.floor(lines / SAMPLES_PER_TASK));
  const latencies: number[] = [];
  streams.forEach((_, k) => {
    for (let s = 0; s < lines; s = s === lines - 1 ? lines : Math.min(s + step, lines - 1)) {
      const at = seen[k]!.find((e) => e.max >= s);
      const w = written[k]![s]!;
      if (at && Number.isFinite(w)) latencies.push(at.wall - w);
    }
  });
  let [dFirst, dLast, received] = [Infinity, -Infinity, 0];
  for (const t of written) for (const w of t) if (Number.isFinite(w)) [dFirst, dLast, received] = [Math.min(dFirst, w), Math.max(dLast, w), received + 1];
  const vFirst = Math.min(...seen.map((s) => s[0]!.wall));
  const vLast = Math.max(...seen.map((s) => s.at(-1)!.wall));
  const total = TASKS * lines;
  const [dockerRate, berthRate] = [total / ((dLast - dFirst) / 1000), total / ((vLast - vFirst) / 1000)];
  const lat = sorted(latencies);
  const verdict = `≥${int(TARGET_RATE)}/s ${berthRate >= TARGET_RATE ? "PASS" : "MISS"}, p99 <${TARGET_P99_MS} ms ${pct(lat, 0.99) < TARGET_P99_MS ? "PASS" : "MISS"}`;
  console.log(`\ningest: ${TASKS} tasks × ${int(lines)} lines (busybox sh, one echo per line), awslogs driver → berth up; newest event per stream polled every ${POLL_MS} ms`);
  console.log(`${"".padEnd(18)}${"lines".padEnd(11)}${"span s".padEnd(9)}${"lines/s".padEnd(10)}| write→visible ms: p50     p99       max       n     | target`);
  console.log(`${"docker received".padEnd(18)}${int(received).padEnd(11)}${f1((dLast - dFirst) / 1000).padEnd(9)}${int(dockerRate).padEnd(10)}| baseline: Docker's own timestamps, first line to last`);
  console.log(
    `${"Berth visible".padEnd(18)}${int(total).padEnd(11)}${f1((vLast - vFirst) / 1000).padEnd(9)}${int(berthRate).padEnd(10)}| ${"".padEnd(17)}${int(pct(lat, 0.5)).padEnd(8)}${int(pct(lat, 0.99)).padEnd(10)}${int(lat.at(-1) ?? NaN).padEnd(10)}${String(lat.length).padEnd(6)}| ${verdict}`,
  );
  const r = sorted(rounds);
  console.log(`poll rounds (4 GetLogEvents at once): p50 ${r.length ? pct(r, 0.5) : "-"} ms, max ${r.at(-1) ?? "-"} ms; a latency includes up to one poll interval plus one round`);
  const [idle, busy] = [sorted(apiIdle), sorted(apiBusy)];
  console.log(`ECS API meanwhile: DescribeClusters (one a round, beside the polls) p50 ${f1(pct(busy, 0.5))} ms, p99 ${f1(pct(busy, 0.99))} ms, n ${busy.length}; before RunTask, alone: p50 ${f1(pct(idle, 0.5))} ms, p99 ${f1(pct(idle, 0.99))} ms`);
  console.log(`first line written ${int(dFirst - startWall)} ms after RunTask, first visible ${int(vFirst - startWall)} ms; last written ${int(dLast - startWall)} ms, last visible ${int(vLast - startWall)} ms`);
  console.log(`Berth's CPU from RunTask to the last line visible: ${f1(berthCpu)} s (${f1((berthCpu * 1e6) / total)} µs a line; the server, its agent and the polls, one process)`);
  if (dockerRate < TARGET_RATE) console.log(`note: the writers reached only ${int(dockerRate)} lines/s here, so the Berth figure is limited by the writers, not by Berth`);
  failed ||= problems.length > 0;
  console.log(problems.length ? `ERRORS: ${problems.join("; ")}` : `read back: all ${int(total)} lines, each once and in order`);
  const [id, ev] = [agentId(), spawnSync("docker", ["events", "--since", String(Math.floor(startWall / 1000)), "--until", String(Math.ceil(Date.now() / 1000)), "--filter", "type=container", "--filter", "event=start", "--format", '{{index .Actor.Attributes "berth.agent-id"}}'], { encoding: "utf8", timeout: 30_000 })];
  const others = (ev.stdout ?? "").split("\n").filter((l, i, a) => i < a.length - 1 && l !== id).length;
  if (others > 0) console.log(`note: ${others} container(s) not from this run started on this Docker host during the ingest; these figures are noisier`);
  await killHard(berth);
  berth = undefined;
  await floor(script);
}

/**
 * The floor on this host: the same 4 writers run straight on Docker (no Berth), each json-file
 * log tailed by a bare reader in this process (read, split, JSON.parse, nothing stored). Its
 * delays are measured when a line is read, without a poll round, so they sit below Berth's.
 */
async function floor(script: string): Promise<void> {
  const root = spawnSync("docker", ["info", "-f", "{{.DockerRootDir}}"], { encoding: "utf8", timeout: 30_000 }).stdout.trim();
  const ids = Array.from({ length: TASKS }, () => {
    const create = spawnSync("docker", ["create", "--label", `berth.bench-floor=${process.pid}`, BUSYBOX_IMAGE, "sh", "-c", script.replace("exec sleep 3600", "true")], { encoding: "utf8" });
    if (!/^[0-9a-f]{64}$/.test(create.stdout.trim())) throw new Error(`docker create failed: ${create.stderr}`);
    return create.stdout.trim();
  });
  const step = Math.max(1, Math.floor(lines / SAMPLES_PER_TASK));
  const lags: number[] = [];
  let [first, last] = [Infinity, 0];
  const tail = async (id: string): Promise<void> => {
    const path = join(root, "containers", id, `${id}-json.log`);
    const { open } = await import("node:fs/promises");
    let file;
    for (let deadline = Date.now() + 30_000; !file; await sleep(5)) {
      file = await open(path, "r").catch(() => undefined);
      if (!file && Date.now() > deadline) throw new Error(`no log file at ${path}`);
    }
    const buf = Buffer.allocUnsafe(1 << 20);
    let [pos, rest, n] = [0, "", 0];
    while (n < lines) {
      const { bytesRead } = await file.read(buf, 0, buf.length, pos);
      if (bytesRead === 0) {
        await sleep(25);
        continue;
      }
      pos += bytesRead;
      const parts = (rest + buf.toString("utf8", 0, bytesRead)).split("\n");
      rest = parts.pop()!;
      const now = Date.now();
      for (const part of parts) {
        const e = JSON.parse(part) as { log: string; time: string };
        if (n % step === 0 || n === lines - 1) lags.push(now - dockerMs(e.time));
        n++;
      }
      [first, last] = [Math.min(first, now), Math.max(last, now)];
    }
    await file.close();
  };
  const tails = ids.map(tail);
  spawnSync("docker", ["start", ...ids], { stdio: "ignore" });
  await Promise.all(tails);
  spawnSync("docker", ["rm", "-f", ...ids], { stdio: "ignore", timeout: 60_000 });
  const lat = sorted(lags);
  const rate = (TASKS * lines) / ((last - first) / 1000);
  console.log(
    `${"bare file reader".padEnd(18)}${int(TASKS * lines).padEnd(11)}${f1((last - first) / 1000).padEnd(9)}${int(rate).padEnd(10)}| ${"".padEnd(17)}${int(pct(lat, 0.5)).padEnd(8)}${int(pct(lat, 0.99)).padEnd(10)}${int(lat.at(-1) ?? NaN).padEnd(10)}${String(lat.length).padEnd(6)}| floor: the same writers without Berth, their json-file logs read as written`,
  );
}

// ---- filter ----

/** Deterministic access-log lines; RARE in exactly 1 of 10,000, COMMON in about 1 of 10. */
function* accessLog(n: number, t0: number): Generator<{ timestamp: number; message: string; rare: boolean; common: boolean }> {
  let seed = 0x9e3779b9;
  const rnd = () => ((seed = (seed * 1664525 + 1013904223) >>> 0) / 2 ** 32);
  const methods = ["GET /api/v1/items/", "GET /api/v1/users/", "POST /api/v1/cart/", "GET /static/app.js?v="];
  for (let i = 0; i < n; i++) {
    const timestamp = t0 + i * 5;
    const r = rnd();
    const rare = i % 10_000 === 4_321;
    const common = !rare && r < 0.1;
    const req = rare ? "GET /wp-login.php" : common ? "POST /api/v1/checkout" : `${methods[Math.floor(r * 40) % 4]}${Math.floor(rnd() * 100_000)}`;
    const status = rare ? 404 : rnd() < 0.97 ? 200 : 500;
    const ip = `10.${Math.floor(rnd() * 256)}.${Math.floor(rnd() * 256)}.${Math.floor(rnd() * 256)}`;
    const message = `${ip} - - [${new Date(timestamp).toISOString().slice(11, 19)}] "${req}" ${status} ${Math.floor(rnd() * 20_000)} ${Math.floor(rnd() * 900)}ms`;
    yield { timestamp, message, rare, common };
  }
}

async function filter(): Promise<void> {
  const engine = new SqliteLogsEngine({ path: join(filterDir, "logs.db"), clock: systemClock });
  const scope = { region: REGION, accountId: "000000000000" };
  const streams = ["app/web/1", "app/web/2", "app/web/3", "app/web/4"];
  await engine.createLogGroup(scope, GROUP);
  for (const s of streams) await engine.createLogStream(scope, GROUP, s);
  const text: string[] = [];
  const expected = new Map([[RARE, 0], [COMMON, 0]]);
  let batch: { timestamp: number; message: string }[] = [];
  let [putMs, b] = [0, 0];
  const put = async () => {
    const t = performance.now();
    await engine.putLogEvents(scope, GROUP, streams[b++ % streams.length]!, batch);
    putMs += performance.now() - t;
    batch = [];
    await new Promise(setImmediate); // let a Ctrl-C in
  };
  for (const e of accessLog(eventCount, Date.now() - eventCount * 5 - 60_000)) {
    batch.push({ timestamp: e.timestamp, message: e.message });
    text.push(e.message);
    if (e.rare) expected.set(RARE, expected.get(RARE)! + 1);
    if (e.common) expected.set(COMMON, expected.get(COMMON)! + 1);
    if (batch.length === 10_000) await put();
  }
  if (batch.length) await put();
  // The term index is built behind ingest; the queries below are timed against a fully indexed group.
  const indexStart = performance.now();
  engine.indexPending();
  const indexMs = performance.now() - indexStart;
  const file = join(filterDir, "events.log");
  writeFileSync(file, `${text.join("\n")}\n`);
  const bytes = statSync(file).size;
  text.length = 0;

  const filterCount = async (term: string) => {
    let [n, token] = [0, undefined as string | undefined];
    do {
      const page = await engine.filterLogEvents(scope, { logGroupName: GROUP, filterPattern: term, limit: 10_000, ...(token ? { nextToken: token } : {}) });
      n += page.events.length;
      token = page.nextToken;
    } while (token);
    return n;
  };
  const grepCount = (term: string) => Number(spawnSync("grep", ["-c", term, file], { encoding: "utf8" }).stdout.trim() || NaN);
  // The floor for any Node implementation: the file read whole (page cache), Buffer.indexOf for the
  // term, and one small result object per matching line; nothing ordered, paged or stored.
  const bareScan = (term: string) => {
    const [text, needle, found] = [readFileSync(file), Buffer.from(term), [] as { message: string; eventId: string }[]];
    for (let at = text.indexOf(needle); at >= 0; ) {
      const [start, end] = [text.lastIndexOf(10, at) + 1, text.indexOf(10, at)];
      found.push({ message: text.toString("utf8", start, end), eventId: String(start) });
      at = text.indexOf(needle, end);
    }
    return found.length;
  };
  const timed = async (fn: () => number | Promise<number>, t = performance.now()) => ({ n: await fn(), ms: performance.now() - t });
  console.log(`\nfilter: ${int(eventCount)} events (${int(bytes / 2 ** 20)} MiB of access-log lines) in one group of ${streams.length} streams, stored in ${f1(putMs / 1000)} s (${int(eventCount / (putMs / 1000))} events/s, engine alone, batches of 10,000), then term-indexed in ${f1(indexMs / 1000)} s (${int(eventCount / (indexMs / 1000))} events/s)`);
  console.log(`FilterLogEvents in process (limit 10,000, paged to the end) vs \`grep -c <term> <file>\` (spawned, file in page cache); median of ${reps} after 1 warm-up, interleaved`);
  console.log(`${"term".padEnd(10)}${"matches".padEnd(10)}| Filter p50 ms  min       max       | grep p50 ms  min      max      | ratio   target${"".padEnd(30)}| bare Node scan p50 ms (floor)`);
  for (const term of [RARE, COMMON]) {
    const [fs, gs, bs] = [[] as number[], [] as number[], [] as number[]];
    let counts = new Set<number>([expected.get(term)!]);
    for (let i = 0; i <= reps; i++) {
      const [f, g, bare] = [await timed(() => filterCount(term)), await timed(() => grepCount(term)), await timed(() => bareScan(term))];
      counts = new Set([...counts, f.n, g.n, bare.n]);
      if (i > 0) (fs.push(f.ms), gs.push(g.ms), bs.push(bare.ms));
      await new Promise(setImmediate);
    }
    const [fsS, gsS] = [sorted(fs), sorted(gs)];
    const ratio = median(fs) / median(gs);
    const verdict = counts.size !== 1 ? `ERRORS: counts differ (${[...counts].join(" / ")})` : `no slower than grep: ${ratio <= 1 ? "PASS" : "MISS"}`;
    if (counts.size !== 1) failed = true;
    console.log(
      `${term.padEnd(10)}${int(expected.get(term)!).padEnd(10)}| ${f1(median(fs)).padEnd(14)}${f1(fsS[0]!).padEnd(10)}${f1(fsS.at(-1)!).padEnd(10)}| ${f1(median(gs)).padEnd(13)}${f1(gsS[0]!).padEnd(9)}${f1(gsS.at(-1)!).padEnd(9)}| ${`${ratio.toFixed(2)}x`.padEnd(8)}${verdict.padEnd(38)}| ${f1(median(bs))} (${(median(bs) / median(gs)).toFixed(2)}x grep)`,
    );
  }
  await engine.close();
}

async function main(): Promise<void> {
  if (flags.only !== "filter") await ingest();
  if (flags.only !== "ingest") await filter();
  const grepVersion = spawnSync("grep", ["--version"], { encoding: "utf8" }).stdout?.split("\n")[0] ?? "grep";
  console.log(
    `\nmachine: ${availableParallelism()} cpus (${cpus()[0]?.model ?? "unknown"}), node ${process.version}, ${grepVersion}, LANG=${process.env["LANG"] ?? ""}, tmpdir ${tmpdir()}, load average ${loadavg().map((l) => l.toFixed(2)).join(" ")}`,
  );
}

main().then(
  () => process.exit(failed ? 1 : 0),
  (error: unknown) => {
    if (interrupted) return; // the signal handler is already cleaning up
    console.error(error);
    process.exit(1);
  },
);
