// The agent's awslogs shipping: batches, cursors, resuming and multi-line events, on stub
// runtimes; exactly-once is checked against the real log engine.
import assert from "node:assert/strict";
import { test } from "node:test";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { FakeClock } from "../../src/core/clock.ts";
import { silentLogger } from "../../src/core/logger.ts";
import { LogShipper, awslogsOptionsError, awslogsTarget } from "../../src/agent/log-shipper.ts";
import { SqliteLogsEngine } from "../../src/logs/sqlite-logs-engine.ts";
import type { LogBatch } from "../../src/protocol/agent-protocol.ts";
import type { LogLineHandler, Runtime } from "../../src/runtime/runtime.ts";
import { tempDir } from "../support/harness.ts";

const T = 1_800_000_000_000;
const target = { region: "r", logGroup: "/g", logStream: "s", createGroup: false };

/** Emits `lines` (all at time T) in two bursts, far enough apart that they ship separately. */
function stubRuntime(first: string[], second: string[], sinceSeen: number[]): Runtime {
  return {
    async logs(_id: string, options: { since?: number }, onLine: LogLineHandler) {
      sinceSeen.push(options.since ?? -1);
      for (const l of first) onLine("stdout", l, T);
      await new Promise((r) => setTimeout(r, 500));
      for (const l of second) onLine("stdout", l, T);
    },
  } as unknown as Runtime;
}

async function drain(shipper: LogShipper, shipped: LogBatch[], expect: number): Promise<void> {
  const deadline = Date.now() + 5000;
  while (shipped.flatMap((b) => b.events).length < expect && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
  shipper.stop();
}

test("lines sharing a millisecond across two batches all ship; a restart resumes after them", async () => {
  const dir = tempDir();
  const shipped: LogBatch[] = [];
  const since: number[] = [];
  const first = new LogShipper(stubRuntime(["a", "b"], ["c", "d"], since), async (b) => void shipped.push(...b), dir, silentLogger);
  first.follow("c1", target);
  await drain(first, shipped, 4);
  assert.deepEqual(shipped.flatMap((b) => b.events.map((e) => e.message)), ["a", "b", "c", "d"]);
  assert.ok(shipped.length >= 2, `the bursts shipped as ${shipped.length} batches`);
  assert.deepEqual(shipped[1]?.source, { key: "c1", from: { time: T, count: 2 } }, "the second batch starts after a and b");

  // A new agent reads the same container again: what shipped is skipped, the rest follows.
  const again: LogBatch[] = [];
  const second = new LogShipper(stubRuntime(["a", "b", "c", "d"], ["e"], since), async (b) => void again.push(...b), dir, silentLogger);
  second.follow("c1", target);
  await drain(second, again, 1);
  assert.deepEqual(again.flatMap((b) => b.events.map((e) => e.message)), ["e"]);
  assert.deepEqual(since, [0, T - 1000], "the restart asks the runtime for lines from a second before the cursor's time");
});

test("a line written while the shipper is idle ships at once, without waiting for its flush timer", async () => {
  const shipped: LogBatch[] = [];
  // A flush timer longer than the wait below: only the line itself can wake the shipper in time.
  const shipper = new LogShipper(stubRuntime(["a"], ["b"], []), async (b) => void shipped.push(...b), tempDir(), silentLogger, { flushMs: 60_000 });
  shipper.follow("c0", target);
  await drain(shipper, shipped, 2);
  assert.deepEqual(shipped.flatMap((b) => b.events.map((e) => e.message)), ["a", "b"]);
});

test("a full buffer pauses reading instead of dropping lines; every line ships once, in order", async () => {
  // 50 lines, several per millisecond, from a runtime that honours `since` and abort.
  const lines = Array.from({ length: 50 }, (_, i) => ({ text: `l${i}`, time: T + Math.floor(i / 3) }));
  let sessions = 0;
  const runtime = {
    async logs(_id: string, options: { since?: number; signal?: AbortSignal }, onLine: LogLineHandler) {
      sessions++;
      for (const l of lines) {
        if (options.signal?.aborted) return;
        if (l.time >= (options.since ?? 0)) onLine("stdout", l.text, l.time);
        await new Promise((r) => setTimeout(r, 1));
      }
    },
  } as unknown as Runtime;
  const shipped: LogBatch[] = [];
  const slowServer = async (b: LogBatch[]) => {
    await new Promise((r) => setTimeout(r, 30));
    shipped.push(...b);
  };
  const shipper = new LogShipper(runtime, slowServer, tempDir(), silentLogger, { maxBuffer: 4 });
  shipper.follow("c2", target);
  await drain(shipper, shipped, 50);
  assert.deepEqual(shipped.flatMap((b) => b.events.map((e) => e.message)), lines.map((l) => l.text));
  assert.ok(sessions > 1, `reading paused and resumed (${sessions} sessions)`);
});

type Line = { text: string; time: number };
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * A container that writes `bursts` `gapMs` apart (each session replays them from `since`,
 * as Docker does), then either stops (the stream ends) or keeps running until aborted.
 */
function scriptedRuntime(bursts: Line[][], gapMs: number, ends: boolean): Runtime {
  return {
    async logs(_id: string, options: { since?: number; signal?: AbortSignal }, onLine: LogLineHandler) {
      for (const burst of bursts) {
        for (const l of burst) {
          if (options.signal?.aborted) return;
          if (l.time >= (options.since ?? 0)) onLine("stdout", l.text, l.time);
        }
        await sleep(gapMs);
      }
      if (!ends && !options.signal?.aborted) await new Promise((r) => options.signal?.addEventListener("abort", r, { once: true }));
    },
  } as unknown as Runtime;
}

/** A stack-trace-like block; two blocks share each millisecond, so line and event counts differ. */
const block = (k: number): Line[] => {
  const time = T + Math.floor(k / 2);
  return [`ERROR request ${k} failed`, `java.lang.IllegalStateException: boom ${k}`, `\tat com.example.Handler.run(Handler.java:${k})`].map((text) => ({ text, time }));
};
const eventOf = (k: number) => `${block(k).map((l) => l.text).join("\n")}\n`;
const multiline = { ...target, multilinePattern: "^ERROR" };

async function logEngine() {
  const engine = new SqliteLogsEngine({ path: ":memory:", clock: new FakeClock(T) });
  const scope = { region: "r", accountId: "000000000000" };
  await engine.createLogGroup(scope, "/g");
  await engine.createLogStream(scope, "/g", "s");
  return {
    engine,
    put: (b: LogBatch) => engine.putLogEvents(scope, b.logGroup, b.logStream, b.events, b.source),
    stored: async () => (await engine.getLogEvents(scope, { logGroupName: "/g", logStreamName: "s", startFromHead: true })).events.map((e) => e.message),
  };
}

async function waitFor(what: string, probe: () => Promise<boolean> | boolean): Promise<void> {
  const deadline = Date.now() + 8000;
  while (!(await probe())) {
    if (Date.now() > deadline) assert.fail(`timed out waiting for ${what}`);
    await sleep(20);
  }
}

test("multi-line events ship whole; a crash after the server stored a batch, before the cursor was saved, repeats and splits nothing", async () => {
  const { engine, put, stored } = await logEngine();
  const dir = tempDir();
  const bursts = [0, 1, 2, 3].map(block);
  // The agent dies right after the server stored its second batch, before the acknowledgement.
  let batches = 0;
  let crashed = false;
  const first = new LogShipper(
    scriptedRuntime(bursts, 300, false),
    async (bs) => {
      for (const b of bs) await put(b);
      assert.ok(!bs.some((b) => "multilinePattern" in b), "the pattern is not shipped");
      if (++batches === 2) {
        crashed = true;
        first.stop();
        throw new Error("connection reset");
      }
    },
    dir,
    silentLogger,
    { now: () => T },
  );
  first.follow("c1", multiline);
  await waitFor("the crash", () => crashed);
  assert.deepEqual(await stored(), [eventOf(0), eventOf(1)], "each block completes when the next one starts");
  const saved = JSON.parse(readFileSync(join(dir, "agent", "logs", "c1.json"), "utf8")) as unknown;
  assert.deepEqual(saved, { time: T, count: 3, events: { time: T, count: 1 } }, "the cursors after block 0: three lines, one event");
  await sleep(1100); // the first shipper gives up its retry and ends

  // The restarted agent reads the same output again; the container then stops.
  const second = new LogShipper(scriptedRuntime(bursts, 0, true), async (bs) => void (await Promise.all(bs.map(put))), dir, silentLogger, { now: () => T });
  second.follow("c1", multiline);
  await waitFor("every block", async () => (await stored()).length >= 4);
  await sleep(300);
  assert.deepEqual(await stored(), [0, 1, 2, 3].map(eventOf), "every block exactly once, whole, in order");
  second.stop();
  await engine.close();
});

test("a line longer than an event ships in parts; a crash between its parts resumes without losing or repeating one", async () => {
  const { engine, put, stored } = await logEngine();
  const dir = tempDir();
  const lines = [{ text: "first", time: T }, { text: "abcdefghij", time: T + 1 }, { text: "last", time: T + 2 }];
  const options = { now: () => T, maxBatch: 2, framing: { maxEventBytes: 5, quietMs: 1000, maxAgeMs: 5000 } };
  let batches = 0;
  let crashed = false;
  const first = new LogShipper(
    scriptedRuntime([lines], 0, false),
    async (bs) => {
      if (++batches === 2) {
        crashed = true;
        first.stop();
        throw new Error("connection reset");
      }
      for (const b of bs) await put(b);
    },
    dir,
    silentLogger,
    options,
  );
  first.follow("c5", target);
  await waitFor("the crash", () => crashed);
  assert.deepEqual(await stored(), ["first", "abcde"], "the first batch ends inside the long line");
  await sleep(1100);
  const second = new LogShipper(scriptedRuntime([lines], 0, true), async (bs) => void (await Promise.all(bs.map(put))), dir, silentLogger, options);
  second.follow("c5", target);
  await waitFor("the rest", async () => (await stored()).length >= 4);
  await sleep(300);
  assert.deepEqual(await stored(), ["first", "abcde", "fghij", "last"]);
  second.stop();
  await engine.close();
});

test("a trailing multi-line event ships once the output has been quiet; nothing ships early", async () => {
  const start = Date.now();
  const lines: Line[] = [
    { text: "ERROR first", time: start },
    { text: "  at a", time: start + 1 },
    { text: "ERROR second", time: start + 2 },
    { text: "  at b", time: start + 3 },
  ];
  const shipped: LogBatch[] = [];
  const shipper = new LogShipper(scriptedRuntime([lines], 0, false), async (b) => void shipped.push(...b), tempDir(), silentLogger, {
    framing: { maxEventBytes: 1000, quietMs: 800, maxAgeMs: 5000 },
  });
  shipper.follow("c3", multiline);
  await waitFor("the first event", () => shipped.length > 0);
  assert.deepEqual(shipped.flatMap((b) => b.events.map((e) => e.message)), ["ERROR first\n  at a\n"], "the second is still open");
  await waitFor("the quiet flush", () => shipped.flatMap((b) => b.events).length === 2);
  const waited = Date.now() - start;
  assert.ok(waited >= 800 && waited < 2500, `the trailing event shipped after ${waited} ms of quiet`);
  assert.deepEqual(shipped.at(-1)?.events, [{ timestamp: start + 2, message: "ERROR second\n  at b\n" }]);
  shipper.stop();
});

test("a cursor file written before multi-line events (lines only) resumes after those lines", async () => {
  const dir = tempDir();
  mkdirSync(join(dir, "agent", "logs"), { recursive: true });
  writeFileSync(join(dir, "agent", "logs", "c4.json"), JSON.stringify({ time: T, count: 5 }));
  const shipped: LogBatch[] = [];
  const shipper = new LogShipper(scriptedRuntime([block(0), block(1), block(2)], 0, true), async (b) => void shipped.push(...b), dir, silentLogger);
  shipper.follow("c4", target);
  await waitFor("the rest", () => shipped.flatMap((b) => b.events).length >= 4);
  await sleep(300);
  assert.deepEqual(shipped.flatMap((b) => b.events.map((e) => e.message)), [block(1)[2]!.text, ...block(2).map((l) => l.text)]);
  assert.deepEqual(shipped[0]?.source?.from, { time: T, count: 5 }, "the engine's cursor is the old line cursor");
  shipper.stop();
});

test("awslogs options: the pattern rides on the target; bad ones are the stopped reason ECS gives", () => {
  const def = (options: Record<string, string>) => ({ name: "app", logConfiguration: { logDriver: "awslogs", options: { "awslogs-group": "/g", ...options } } });
  const task = { region: "r", taskId: "t1" };
  assert.equal(awslogsTarget(def({ "awslogs-multiline-pattern": "^ERROR" }), task)?.multilinePattern, "^ERROR");
  assert.equal(awslogsTarget(def({ "awslogs-datetime-format": "%Y" }), task)?.multilinePattern, "\\d{4}");
  assert.ok(!("multilinePattern" in awslogsTarget(def({}), task)!), "no pattern: one event per line");
  assert.equal(awslogsOptionsError(def({})), undefined);
  assert.match(awslogsOptionsError(def({ "awslogs-multiline-pattern": "[" })) ?? "", /^CannotStartContainerError: .*could not parse multiline pattern key "\["/);
  assert.match(awslogsOptionsError(def({ "awslogs-multiline-pattern": "^E", "awslogs-datetime-format": "%Y" })) ?? "", /^CannotCreateContainerError: .*at the same time$/);
});

test("stdout and stderr stepping back in time ship in file order, chronological, once across a restart", async () => {
  // As Docker writes them: stderr stamped a millisecond before the stdout line it follows.
  const lines = [
    { stream: "stdout", text: "o1", time: T + 10 },
    { stream: "stderr", text: "e1", time: T + 9 },
    { stream: "stdout", text: "o2", time: T + 11 },
    { stream: "stderr", text: "e2", time: T + 10 },
    { stream: "stdout", text: "o3", time: T + 12 },
  ] as const;
  const runtime = (upTo: number) =>
    ({
      async logs(_id: string, options: { since?: number; signal?: AbortSignal }, onLine: LogLineHandler) {
        for (const l of lines.slice(0, upTo)) if (l.time >= (options.since ?? 0)) onLine(l.stream, l.text, l.time);
        await new Promise((r) => setTimeout(r, 300));
      },
    }) as unknown as Runtime;
  const dir = tempDir();
  const engine = new SqliteLogsEngine({ path: ":memory:", clock: new FakeClock(T + 60_000) });
  const scope = { region: "r", accountId: "000000000000" };
  await engine.createLogGroup(scope, "/g");
  await engine.createLogStream(scope, "/g", "s");
  const store = async (batches: LogBatch[]) => {
    for (const b of batches) await engine.putLogEvents(scope, b.logGroup, b.logStream, b.events, b.source);
  };
  const stored = async () => (await engine.getLogEvents(scope, { logGroupName: "/g", logStreamName: "s", startFromHead: true })).events;
  const first = new LogShipper(runtime(4), store, dir, silentLogger);
  first.follow("c3", target);
  for (const deadline = Date.now() + 5000; (await stored()).length < 4 && Date.now() < deadline; ) await new Promise((r) => setTimeout(r, 20));
  first.stop();
  const second = new LogShipper(runtime(5), store, dir, silentLogger);
  second.follow("c3", target);
  for (const deadline = Date.now() + 5000; (await stored()).length < 5 && Date.now() < deadline; ) await new Promise((r) => setTimeout(r, 20));
  second.stop();
  const events = await stored();
  assert.deepEqual(events.map((e) => e.message), ["o1", "e1", "o2", "e2", "o3"], "every line once, in the file's order");
  assert.deepEqual(events.map((e) => e.timestamp - T), [10, 10, 11, 11, 12], "times never step back");
});
