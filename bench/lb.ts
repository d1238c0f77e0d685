/**
 * Load balancer throughput and latency: Berth's ALB data plane (2 proxy worker processes) against
 * HAProxy (Debian's, `nbthread 2`, `http-reuse always`), in front of the same nginx backend, in
 * one run. wrk (2 threads, 64 keep-alive connections) gives peak requests/s for the backend alone,
 * HAProxy, Berth, and Berth with upstream keep-alive off (the guard that pooling is in use), and
 * HAProxy without server-side keep-alive (the same guard for HAProxy, for scale).
 * Then an open-loop generator (below: fixed rate, raw keep-alive sockets) at half Berth's peak
 * gives p50/p99 straight to the backend and through each proxy: Berth's added p99 is its p99 minus
 * the direct p99; beside it, the CPU time per request of each proxy's processes (from /proc).
 * The same again at a quarter of Berth's peak, for context: the box then has room to spare. Next to them, as a floor, a bare Node pass-through (bench/pipe-proxy.mjs: as
 * many processes as Berth's workers, bytes copied between a client connection and its own backend
 * connection, nothing parsed). Installs wrk, haproxy and nginx-light with apt-get when missing. Loopback only;
 * it stops its children and removes its temp dir on any exit.
 *
 * The box is shared, so HAProxy and Berth are measured in alternating rounds (`--rounds`, 2 by
 * default) and each row shows its best round (the open loop: the lowest p99 of the rounds).
 *
 *   node --import tsx bench/lb.ts [--seconds 10] [--connections 64] [--workers 2] [--rounds 2]
 */
import { type ChildProcess, execFile, spawn, spawnSync } from "node:child_process";
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { connect, type Socket } from "node:net";
import { availableParallelism, cpus, tmpdir } from "node:os";
import { join } from "node:path";
import { performance } from "node:perf_hooks";
import { parseArgs } from "node:util";
import { silentLogger } from "../src/core/logger.ts";
import { LoadBalancerDataPlane } from "../src/lb/load-balancer-data-plane.ts";
import type { LbSnapshot } from "../src/protocol/lb-protocol.ts";
import { freePort } from "../test/lb/lb-fixtures.ts";
import { ROOT } from "../test/support/harness.ts";
import { ensureBuilt } from "./support.ts";

const WARMUP_S = 3;
const TARGET_SHARE = 0.5;
const TARGET_ADDED_P99_MS = 2;
const TARGET_KEEPALIVE_GAIN = 10;
const OPEN_LOOP_CONNECTIONS = 64;

const { values: flags } = parseArgs({
  options: { seconds: { type: "string", default: "10" }, connections: { type: "string", default: "64" }, workers: { type: "string", default: "2" }, rounds: { type: "string", default: "2" } },
});
const [seconds, connections, workers, rounds] = [Number(flags.seconds), Number(flags.connections), Number(flags.workers), Number(flags.rounds)];
if (![seconds, connections, workers, rounds].every((n) => Number.isInteger(n) && n >= 1)) throw new Error("--seconds, --connections, --workers and --rounds must be positive integers");

const dir = mkdtempSync(join(tmpdir(), "berth-bench-lb-"));
const children: ChildProcess[] = [];
process.on("exit", () => {
  // SIGTERM: nginx's master then stops its worker too (a SIGKILLed master leaves it behind).
  for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill("SIGTERM");
  rmSync(dir, { recursive: true, force: true });
});
for (const signal of ["SIGINT", "SIGTERM"] as const) process.on(signal, () => process.exit(130));

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));
const has = (cmd: string): boolean => spawnSync("sh", ["-c", `command -v ${cmd} || test -x /usr/sbin/${cmd}`], { stdio: "ignore" }).status === 0;

function ensureTools(): void {
  const missing = [["wrk", "wrk"], ["haproxy", "haproxy"], ["nginx", "nginx-light"]].filter(([cmd]) => !has(cmd!)).map(([, pkg]) => pkg!);
  if (missing.length === 0) return;
  console.log(`installing ${missing.join(", ")}`);
  const install = spawnSync("sh", ["-c", `apt-get install -y ${missing.join(" ")} || (apt-get update && apt-get install -y ${missing.join(" ")})`], { stdio: "inherit", env: { ...process.env, DEBIAN_FRONTEND: "noninteractive" } });
  if (install.status !== 0) throw new Error(`apt-get install ${missing.join(" ")} failed`);
}

async function waitForPort(port: number): Promise<void> {
  for (let i = 0; i < 100; i++) {
    const ok = await new Promise<boolean>((resolve) => {
      const s = connect({ host: "127.0.0.1", port }, () => (s.destroy(), resolve(true)));
      s.on("error", () => resolve(false));
    });
    if (ok) return;
    await sleep(50);
  }
  throw new Error(`nothing listens on ${port}`);
}

async function startNginx(port: number): Promise<void> {
  const conf = join(dir, "nginx.conf");
  writeFileSync(
    conf,
    `worker_processes 1;\ndaemon off;\npid ${dir}/nginx.pid;\nerror_log ${dir}/nginx-error.log;\nevents { worker_connections 4096; }\n` +
      `http {\n access_log off;\n keepalive_requests 10000000;\n keepalive_timeout 120s;\n client_body_temp_path ${dir};\n` +
      ` server {\n  listen 127.0.0.1:${port};\n  location / { default_type text/plain; return 200 "hello from the backend\\n"; }\n }\n}\n`,
  );
  children.push(spawn("/usr/sbin/nginx", ["-p", dir, "-c", conf, "-e", join(dir, "nginx-error.log")], { stdio: "ignore" }));
  await waitForPort(port);
}

/** HAProxy on `port`, and on `closePort` the same without server-side keep-alive (each request opens its own connection to the backend). */
async function startHaproxy(port: number, closePort: number, backendPort: number): Promise<number> {
  const conf = join(dir, "haproxy.cfg");
  writeFileSync(
    conf,
    `global\n  nbthread 2\n  maxconn 4000\n\ndefaults\n  mode http\n  option http-keep-alive\n  option forwardfor\n  http-reuse always\n` +
      `  timeout connect 5s\n  timeout client 60s\n  timeout server 60s\n  timeout http-keep-alive 60s\n\n` +
      `frontend fe\n  bind 127.0.0.1:${port}\n  default_backend be\n\nbackend be\n  server s1 127.0.0.1:${backendPort}\n\n` +
      `frontend fe_close\n  bind 127.0.0.1:${closePort}\n  default_backend be_close\n\nbackend be_close\n  option http-server-close\n  http-reuse never\n  server s1 127.0.0.1:${backendPort}\n`,
  );
  const haproxy = spawn("/usr/sbin/haproxy", ["-f", conf, "-db", "-q"], { stdio: ["ignore", "ignore", "inherit"] });
  children.push(haproxy);
  await waitForPort(port);
  return haproxy.pid as number;
}

function albSnapshot(port: number, backendPort: number): LbSnapshot {
  const account = "arn:aws:elasticloadbalancing:ap-south-1:123456789012";
  const group = `${account}:targetgroup/bench/0123456789abcdef`;
  return {
    loadBalancers: [
      {
        arn: `${account}:loadbalancer/app/bench/0123456789abcdef`,
        name: "bench",
        type: "application",
        attributes: { "idle_timeout.timeout_seconds": "60" },
        listeners: [{ arn: `${account}:listener/app/bench/0123456789abcdef/1`, protocol: "HTTP", port: 80, bindPort: port, bindHost: "127.0.0.1", certificateArns: [], rules: [], defaultActions: [{ type: "forward", targetGroups: [{ arn: group, weight: 1 }] }] }],
      },
    ],
    targetGroups: [
      {
        arn: group,
        name: "bench",
        protocol: "HTTP",
        port: 80,
        targetType: "ip",
        healthCheck: { enabled: true, protocol: "HTTP", port: "traffic-port", path: "/", intervalSeconds: 5, timeoutSeconds: 2, healthyThreshold: 2, unhealthyThreshold: 2, httpCode: "200" },
        attributes: {},
        targets: [{ id: "127.0.0.1", port: backendPort, address: "127.0.0.1", state: "registered" }],
      },
    ],
    certificates: {},
  };
}

async function startBerth(port: number, backendPort: number, upstreamKeepAlive: boolean): Promise<LoadBalancerDataPlane> {
  // The workers run the bundle's script, as under `berth up` (from src they would carry tsx's loader thread).
  const dp = new LoadBalancerDataPlane({ logger: silentLogger, workers, upstreamKeepAlive, workerScript: join(ROOT, "dist/lb-worker.js") });
  await dp.apply(albSnapshot(port, backendPort));
  if (dp.listenerErrors().length > 0) throw new Error(JSON.stringify(dp.listenerErrors()));
  for (let i = 0; i < 100 && dp.targetHealth()[0]?.state !== "healthy"; i++) await sleep(50);
  return dp;
}

interface WrkResult {
  rps: number;
  p50: string;
  p99: string;
  errors: string;
}

function wrk(port: number, durationS: number): Promise<WrkResult> {
  return new Promise((resolve, reject) => {
    execFile("wrk", ["-t2", `-c${connections}`, `-d${durationS}s`, "--latency", `http://127.0.0.1:${port}/`], { timeout: (durationS + 30) * 1000 }, (error, stdout) => {
      if (error) return reject(error);
      const rps = Number(/Requests\/sec:\s+([\d.]+)/.exec(stdout)?.[1] ?? NaN);
      const p50 = /\s50%\s+(\S+)/.exec(stdout)?.[1] ?? "?";
      const p99 = /\s99%\s+(\S+)/.exec(stdout)?.[1] ?? "?";
      const errors = [/Non-2xx or 3xx responses: (\d+)/.exec(stdout)?.[1], /Socket errors: (.*)/.exec(stdout)?.[1]].filter(Boolean).join("; ");
      resolve({ rps, p50, p99, errors });
    });
  });
}

async function peak(port: number): Promise<WrkResult> {
  await wrk(port, WARMUP_S);
  return wrk(port, seconds);
}

interface Conn {
  socket: Socket;
  start: number;
  buffer: Buffer;
}

interface OpenLoop {
  latencies: number[];
  errors: number;
  sent: number;
  /** CPU time the proxy's processes spent while latencies were recorded (ms). */
  cpuMs: number;
}

const CLK_TCK = Number(spawnSync("getconf", ["CLK_TCK"]).stdout?.toString().trim()) || 100;

/** User plus system CPU time of the processes so far (ms), from /proc. */
function cpuMs(pids: number[]): number {
  let ticks = 0;
  for (const pid of pids) {
    try {
      const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
      const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
      ticks += Number(fields[11]) + Number(fields[12]);
    } catch {
      // It exited: its time is lost to the figure, which then reads low.
    }
  }
  return (ticks * 1000) / CLK_TCK;
}

/** The processes below `pid` (children, theirs, …) whose command line holds `marker`. */
function descendants(pid: number, marker = ""): number[] {
  const parents = new Map<number, number[]>();
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, "utf8");
      const ppid = Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]);
      parents.set(ppid, [...(parents.get(ppid) ?? []), Number(entry)]);
    } catch {
      // It exited while we looked.
    }
  }
  const out: number[] = [];
  const walk = (p: number): void => {
    for (const child of parents.get(p) ?? []) {
      out.push(child);
      walk(child);
    }
  };
  walk(pid);
  return out.filter((p) => {
    try {
      return readFileSync(`/proc/${p}/cmdline`, "utf8").includes(marker);
    } catch {
      return false;
    }
  });
}

/**
 * Fixed-rate open loop over raw keep-alive sockets: request i is due at t0 + i/rate. A latency
 * runs from the write, or from the due time when it had to wait for a free connection, to the
 * last byte of the reply (parsed by Content-Length).
 */
async function openLoop(port: number, rate: number, durationS: number, pids: number[]): Promise<OpenLoop> {
  const result: OpenLoop = { latencies: [], errors: 0, sent: 0, cpuMs: 0 };
  const request = Buffer.from(`GET / HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nUser-Agent: berth-bench\r\n\r\n`);
  const free: Conn[] = [];
  const waiting: number[] = [];
  let recording = false;
  const conns = await Promise.all(
    Array.from({ length: OPEN_LOOP_CONNECTIONS }, () => {
      return new Promise<Conn>((resolve, reject) => {
        const conn: Conn = { socket: connect({ host: "127.0.0.1", port }), start: 0, buffer: Buffer.alloc(0) };
        conn.socket.setNoDelay(true);
        conn.socket.once("connect", () => resolve(conn));
        conn.socket.once("error", reject);
        conn.socket.on("data", (chunk: Buffer) => {
          conn.buffer = conn.buffer.length === 0 ? chunk : Buffer.concat([conn.buffer, chunk]);
          const headerEnd = conn.buffer.indexOf("\r\n\r\n");
          if (headerEnd === -1) return;
          const head = conn.buffer.subarray(0, headerEnd).toString("latin1");
          const length = Number(/\r\ncontent-length:\s*(\d+)/i.exec(head)?.[1] ?? NaN);
          if (!Number.isFinite(length)) throw new Error(`reply without Content-Length: ${head}`);
          if (conn.buffer.length < headerEnd + 4 + length) return;
          conn.buffer = Buffer.alloc(0);
          if (recording) {
            if (head.startsWith("HTTP/1.1 200")) result.latencies.push(performance.now() - conn.start);
            else result.errors++;
          }
          const due = waiting.shift();
          if (due !== undefined) send(conn, due);
          else free.push(conn);
        });
      });
    }),
  );
  free.push(...conns);
  const send = (conn: Conn, start: number): void => {
    conn.start = start;
    result.sent++;
    conn.socket.write(request);
  };
  const run = async (phaseS: number, record: boolean): Promise<void> => {
    recording = record;
    const t0 = performance.now();
    const total = Math.floor(rate * phaseS);
    let next = 0;
    while (next < total) {
      const now = performance.now();
      while (next < total && t0 + (next * 1000) / rate <= now) {
        const due = t0 + (next * 1000) / rate;
        const conn = free.pop();
        if (conn) send(conn, performance.now());
        else waiting.push(due);
        next++;
      }
      await sleep(1);
    }
    while (free.length < conns.length) await sleep(5);
  };
  await run(WARMUP_S, false);
  const cpuBefore = cpuMs(pids);
  await run(durationS, true);
  result.cpuMs = cpuMs(pids) - cpuBefore;
  for (const c of conns) c.socket.destroy();
  return result;
}

type OpenLoopTarget = [name: string, port: number, pids: number[]];

/** Open loops at `rate` against each target in turn, `--rounds` times; prints each one's best round (lowest p99). */
async function openLoopTable(rate: number, what: string, targets: OpenLoopTarget[], judged: boolean): Promise<void> {
  console.log(`\nOpen loop at ${rate} req/s (${what}), ${OPEN_LOOP_CONNECTIONS} keep-alive connections, ${seconds} s after ${WARMUP_S} s warm-up, best of ${rounds}:`);
  console.log(`${"".padEnd(22)} ${"n".padStart(7)}  ${"p50 ms".padStart(7)}  ${"p99 ms".padStart(7)}  ${"max ms".padStart(7)}  ${"CPU µs/req".padStart(10)}  errors`);
  const bestLoop: Record<string, { sorted: number[]; errors: number; cpuUs: number }> = {};
  for (let round = 0; round < rounds; round++) {
    for (const [name, port, pids] of targets) {
      const r = await openLoop(port, rate, seconds, pids);
      const sorted = r.latencies.sort((a, b) => a - b);
      const prior = bestLoop[name];
      if (!prior || pct(sorted, 99) < pct(prior.sorted, 99)) bestLoop[name] = { sorted, errors: r.errors, cpuUs: (r.cpuMs * 1000) / Math.max(1, sorted.length) };
    }
  }
  const p99s: Record<string, number> = {};
  for (const [name] of targets) {
    const { sorted, errors, cpuUs } = bestLoop[name] ?? { sorted: [], errors: 0, cpuUs: NaN };
    p99s[name] = pct(sorted, 99);
    let note = "";
    if (name !== "direct to backend") {
      const added = pct(sorted, 99) - (p99s["direct to backend"] ?? 0);
      const about = name === "Berth ALB" && judged ? ` (target ≤ ${TARGET_ADDED_P99_MS} ms): ${added <= TARGET_ADDED_P99_MS ? "PASS" : "MISS"}` : name === "Node pass-through" ? ` (floor: ${workers} Node processes copying bytes, a backend connection per client one)` : "";
      note = `   added p99 ${added.toFixed(2)} ms${about}`;
    }
    const cpu = name === "direct to backend" ? "-" : cpuUs.toFixed(1);
    console.log(`${name.padEnd(22)} ${String(sorted.length).padStart(7)}  ${ms(pct(sorted, 50))}  ${ms(pct(sorted, 99))}  ${ms(sorted[sorted.length - 1] ?? NaN)}  ${cpu.padStart(10)}  ${errors}${note}`);
  }
}

const pct = (sorted: number[], p: number): number => sorted[Math.min(sorted.length - 1, Math.floor((sorted.length * p) / 100))] ?? NaN;
const ms = (n: number): string => n.toFixed(2).padStart(7);

async function main(): Promise<void> {
  ensureTools();
  ensureBuilt();
  const [backendPort, haproxyPort, haproxyClosePort, berthPort, berthNoKaPort] = await Promise.all([freePort(), freePort(), freePort(), freePort(), freePort()]);
  await startNginx(backendPort);
  const haproxyPid = await startHaproxy(haproxyPort, haproxyClosePort, backendPort);
  const berth = await startBerth(berthPort, backendPort, true);
  console.log(`Load balancer benchmark: wrk -t2 -c${connections}, ${seconds} s per run after ${WARMUP_S} s warm-up, best of ${rounds} alternating rounds; backend nginx (1 worker) on loopback.`);
  console.log(`Machine: ${availableParallelism()} vCPU (${cpus()[0]?.model ?? "?"}), Node ${process.version}, Berth workers ${workers}.\n`);
  const rows: [string, WrkResult][] = [];
  const show = (name: string, r: WrkResult, note = ""): void => {
    rows.push([name, r]);
    console.log(`${name.padEnd(34)} ${r.rps.toFixed(0).padStart(8)} req/s   p50 ${r.p50.padStart(8)}   p99 ${r.p99.padStart(8)}${r.errors ? `   ERRORS ${r.errors}` : ""}${note}`);
  };
  const roundErrors: string[] = [];
  const best = async (port: number, previous: WrkResult | undefined): Promise<WrkResult> => {
    const r = await peak(port);
    if (r.errors) roundErrors.push(`port ${port}: ${r.errors}`);
    return previous && previous.rps >= r.rps ? previous : r;
  };
  let direct: WrkResult | undefined;
  let haproxy: WrkResult | undefined;
  let berthPeak: WrkResult | undefined;
  for (let round = 0; round < rounds; round++) {
    direct = await best(backendPort, direct);
    haproxy = await best(haproxyPort, haproxy);
    berthPeak = await best(berthPort, berthPeak);
  }
  if (!direct || !haproxy || !berthPeak) throw new Error("no rounds");
  show("direct to backend", direct);
  show("HAProxy (nbthread 2)", haproxy);
  const share = berthPeak.rps / haproxy.rps;
  show(`Berth ALB (${workers} workers)`, berthPeak, `   ${(share * 100).toFixed(0)}% of HAProxy (target ≥ ${TARGET_SHARE * 100}%): ${share >= TARGET_SHARE ? "PASS" : "MISS"}`);
  await berth.close();
  const noKa = await startBerth(berthNoKaPort, backendPort, false);
  let noKaPeak: WrkResult | undefined;
  for (let round = 0; round < rounds; round++) noKaPeak = await best(berthNoKaPort, noKaPeak);
  await noKa.close();
  if (!noKaPeak) throw new Error("no rounds");
  const gain = berthPeak.rps / noKaPeak.rps;
  show("Berth ALB, upstream keep-alive off", noKaPeak, `   keep-alive gives ${gain.toFixed(1)}× (target ≥ ${TARGET_KEEPALIVE_GAIN}×): ${gain >= TARGET_KEEPALIVE_GAIN ? "PASS" : "MISS"}`);
  // The same guard for HAProxy: what server-side keep-alive buys on loopback, for scale.
  let haproxyClose: WrkResult | undefined;
  for (let round = 0; round < rounds; round++) haproxyClose = await best(haproxyClosePort, haproxyClose);
  if (haproxyClose) show("HAProxy, server keep-alive off", haproxyClose, `   keep-alive gives HAProxy ${(haproxy.rps / haproxyClose.rps).toFixed(1)}×`);

  const rate = Math.round(berthPeak.rps / 2);
  const berthAgain = await startBerth(berthPort, backendPort, true);
  const pipePort = await freePort();
  const pipe = spawn(process.execPath, [join(ROOT, "bench/pipe-proxy.mjs"), String(pipePort), String(backendPort), String(workers)], { stdio: "inherit" });
  children.push(pipe);
  await waitForPort(pipePort);
  // CPU per request: the proxy's processes only (Berth's workers, HAProxy, the pass-through's), from /proc.
  const targets: OpenLoopTarget[] = [
    ["direct to backend", backendPort, []],
    ["Berth ALB", berthPort, descendants(process.pid, "lb-worker")],
    ["HAProxy", haproxyPort, [haproxyPid]],
    ["Node pass-through", pipePort, [pipe.pid as number, ...descendants(pipe.pid as number)]],
  ];
  await openLoopTable(rate, "half Berth's peak: the target's rate", targets, true);
  // For context: the same at half that rate, where the two vCPUs have room to spare.
  await openLoopTable(Math.round(rate / 2), "a quarter of Berth's peak", targets, false);
  await berthAgain.close();
  if (rows.some(([, r]) => r.errors) || roundErrors.length > 0) {
    console.log(`\nwrk reported errors: ${roundErrors.join(" | ")}`);
    process.exitCode = 1;
  }
}

await main();
process.exit(process.exitCode ?? 0);
