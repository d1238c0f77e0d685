/**
 * API latency: DescribeClusters and RegisterTaskDefinition against a real `berth up` (the built
 * bundle, SQLite with synchronous=FULL), at a fixed open-loop request rate, next to a bare
 * node:http handler (bench/bare-server.mjs) measured the same way in the same run.
 * Every request is signed before the phase starts; a latency runs from just before the request
 * is written (so it includes any wait for a free keep-alive socket) to the end of the reply body.
 * Loopback only, stops by itself, and removes its child processes and temp dir on any exit.
 *
 *   node --import tsx bench/api-latency.ts [--rate 200] [--seconds 10]
 */
import { spawn, type ChildProcess } from "node:child_process";
import { readFileSync, rmSync } from "node:fs";
import http from "node:http";
import { availableParallelism, cpus, tmpdir } from "node:os";
import { join } from "node:path";
import { performance } from "node:perf_hooks";
import { parseArgs } from "node:util";
import { SignatureV4 } from "@smithy/signature-v4";
import { freePort, killHard, ROOT, spawnBerth, tempDir } from "../test/support/harness.ts";
import { NodeSha256 } from "../test/support/signer.ts";
import { ensureBuilt } from "./support.ts";

const TARGET = "AmazonEC2ContainerServiceV20141113";
const REGION = "us-east-1";
const WARMUP_S = 2;
const REQUEST_TIMEOUT_MS = 10_000;
const TARGET_RATIO = 10;
const TARGET_P99_MS = 20;

const { values: flags } = parseArgs({ options: { rate: { type: "string", default: "200" }, seconds: { type: "string", default: "10" } } });
const rate = Number(flags.rate);
const seconds = Number(flags.seconds);
if (!(rate > 0) || !(seconds > 0)) throw new Error("--rate and --seconds must be positive numbers");

interface Signed {
  headers: Record<string, string>;
  body: string;
}
interface Reply {
  status: number;
  body: string;
  ms: number;
}
interface Phase {
  latencies: number[];
  errors: number;
  firstError: string | undefined;
  maxLagMs: number;
}

// Children and the data dir go on any exit: normal end, thrown error, or Ctrl-C.
const children: ChildProcess[] = [];
const dataDir = tempDir("berth-bench-");
process.on("exit", () => {
  for (const child of children) if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
  rmSync(dataDir, { recursive: true, force: true });
});
for (const signal of ["SIGINT", "SIGTERM"] as const) process.on(signal, () => process.exit(130));

async function spawnBare(port: number, reply: string): Promise<void> {
  const child = spawn(process.execPath, [join(ROOT, "bench/bare-server.mjs"), String(port)], {
    env: { ...process.env, BARE_REPLY: reply },
    stdio: ["ignore", "pipe", "inherit"],
  });
  children.push(child);
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error("bare server did not start in 10 s")), 10_000);
    child.stdout!.once("data", () => (clearTimeout(timer), resolve()));
    child.once("exit", (code) => reject(new Error(`bare server exited with ${code}`)));
  });
}

/** POSTs one pre-signed request; ms runs from just before the write to the end of the body. */
function send(agent: http.Agent, port: number, req: Signed): Promise<Reply> {
  return new Promise((resolve) => {
    const fail = (e: Error) => resolve({ status: 0, body: String(e), ms: NaN });
    const r = http.request({ host: "127.0.0.1", port, method: "POST", path: "/", headers: req.headers, agent, timeout: REQUEST_TIMEOUT_MS }, (res) => {
      const chunks: Buffer[] = [];
      res.on("data", (c: Buffer) => chunks.push(c));
      res.on("end", () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString(), ms: performance.now() - start }));
      res.on("error", fail);
    });
    r.on("timeout", () => r.destroy(new Error(`no reply in ${REQUEST_TIMEOUT_MS} ms`)));
    r.on("error", fail);
    const start = performance.now();
    r.end(req.body);
  });
}

/** Fires requests[i] at t0 + i/rate whether or not earlier ones have answered (open loop). */
async function runPhase(agent: http.Agent, port: number, requests: readonly Signed[]): Promise<Phase> {
  const warmup = Math.round(rate * WARMUP_S);
  const phase: Phase = { latencies: [], errors: 0, firstError: undefined, maxLagMs: 0 };
  const replies: Promise<void>[] = [];
  const dueAt = (i: number) => t0 + (i * 1000) / rate;
  const t0 = performance.now() + 5;
  let i = 0;
  await new Promise<void>((done) => {
    const tick = () => {
      const now = performance.now();
      for (; i < requests.length && dueAt(i) <= now; i++) {
        const measured = i >= warmup;
        if (measured) phase.maxLagMs = Math.max(phase.maxLagMs, now - dueAt(i));
        replies.push(
          send(agent, port, requests[i]!).then((reply) => {
            if (reply.status !== 200) {
              phase.errors++;
              phase.firstError ??= `${reply.status} ${reply.body.slice(0, 300)}`;
            } else if (measured) phase.latencies.push(reply.ms);
          }),
        );
      }
      if (i === requests.length) return done();
      setTimeout(tick, Math.max(0, dueAt(i) - performance.now()));
    };
    tick();
  });
  await Promise.all(replies);
  return phase;
}

const pct = (sorted: number[], p: number) => sorted[Math.max(0, Math.ceil(p * sorted.length) - 1)] ?? NaN;
const ms = (n: number) => n.toFixed(n < 10 ? 2 : 1);

async function main(): Promise<number> {
  ensureBuilt();
  const berth = await spawnBerth(dataDir, await freePort());
  children.push(berth.child);
  const berthPort = Number(new URL(berth.url).port);
  const signer = new SignatureV4({
    credentials: { accessKeyId: berth.identity.admin.accessKeyId, secretAccessKey: berth.identity.admin.secretAccessKey },
    region: REGION,
    service: "ecs",
    sha256: NodeSha256,
  });
  const sign = async (action: string, body: string): Promise<Signed> => {
    const headers = { host: `127.0.0.1:${berthPort}`, "content-type": "application/x-amz-json-1.1", "x-amz-target": `${TARGET}.${action}` };
    const signed = await signer.sign({ method: "POST", protocol: "http:", hostname: "127.0.0.1", port: berthPort, path: "/", headers, body });
    return { headers: { ...(signed.headers as Record<string, string>), "content-length": String(Buffer.byteLength(body)) }, body };
  };
  const signMany = async (action: string, body: string) => {
    const out: Signed[] = [];
    for (let n = Math.round(rate * (WARMUP_S + seconds)); n > 0; n--) out.push(await sign(action, body));
    return out;
  };

  const berthAgent = new http.Agent({ keepAlive: true, maxSockets: 32 });
  const bareAgent = new http.Agent({ keepAlive: true, maxSockets: 32 });
  const describeBody = JSON.stringify({ clusters: ["bench"], include: ["TAGS"] });
  const setup = [
    await send(berthAgent, berthPort, await sign("CreateCluster", JSON.stringify({ clusterName: "bench", tags: [{ key: "team", value: "platform" }] }))),
    await send(berthAgent, berthPort, await sign("DescribeClusters", describeBody)),
  ];
  const failed = setup.find((r) => r.status !== 200);
  if (failed) throw new Error(`setup call failed: ${failed.status} ${failed.body}`);
  const barePort = await freePort();
  await spawnBare(barePort, setup[1]!.body);

  const operations = [
    { name: "DescribeClusters", body: describeBody },
    { name: "RegisterTaskDefinition", body: readFileSync(join(ROOT, "test/fixtures/api-blue.json"), "utf8") },
  ];
  console.log(`${seconds} s per phase after ${WARMUP_S} s warm-up, open loop at ${rate} req/s; Berth data dir ${dataDir}\n`);
  const head = `${"operation".padEnd(24)}  ${"rate/s".padEnd(6)}  ${"n".padEnd(5)}  ${"p50 ms".padEnd(6)}  ${"p99 ms".padEnd(6)}  ${"max ms".padEnd(7)}  | bare p50  bare p99  | p99 ratio  target`;
  console.log(head);
  const notes: string[] = [];
  let errors = 0;
  for (const op of operations) {
    const requests = await signMany(op.name, op.body);
    const bare = await runPhase(bareAgent, barePort, requests);
    const real = await runPhase(berthAgent, berthPort, requests);
    for (const [who, p] of [["Berth", real], ["bare", bare]] as const) {
      errors += p.errors;
      if (p.errors) notes.push(`ERRORS: ${p.errors} non-200 replies from ${who} ${op.name}; first: ${p.firstError}`);
      if (p.maxLagMs > 5) notes.push(`note: the load generator fired ${who} ${op.name} up to ${ms(p.maxLagMs)} ms late`);
    }
    const [b, r] = [bare, real].map((p) => p.latencies.sort((x, y) => x - y)) as [number[], number[]];
    const ratio = pct(r, 0.99) / pct(b, 0.99);
    const verdict = real.errors > 0 ? "ERRORS" : ratio < TARGET_RATIO && pct(r, 0.99) < TARGET_P99_MS ? "PASS" : "MISS";
    console.log(
      `${op.name.padEnd(24)}  ${String(rate).padEnd(6)}  ${String(r.length).padEnd(5)}  ${ms(pct(r, 0.5)).padEnd(6)}  ${ms(pct(r, 0.99)).padEnd(6)}  ${ms(r.at(-1) ?? NaN).padEnd(7)}  | ` +
        `${ms(pct(b, 0.5)).padEnd(8)}  ${ms(pct(b, 0.99)).padEnd(8)}  | ${(ratio.toFixed(1) + "x").padEnd(9)}  <${TARGET_RATIO}x and <${TARGET_P99_MS}ms: ${verdict}`,
    );
  }
  console.log(`\nmachine: ${availableParallelism()} cpus (${cpus()[0]?.model ?? "unknown"}), node ${process.version}, ${process.platform}-${process.arch}, tmpdir ${tmpdir()}`);
  for (const note of notes) console.log(note);
  berthAgent.destroy();
  bareAgent.destroy();
  await killHard(berth);
  if (errors === 0) return 0;
  console.error(`\n!!! ${errors} request(s) failed: these figures are not valid !!!`);
  return 1;
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    console.error(error);
    process.exit(1);
  },
);
