// The agent's awslogs shipping: batches, cursors and resuming, on a stub runtime.
import assert from "node:assert/strict";
import { test } from "node:test";
import { silentLogger } from "../../src/core/logger.ts";
import { LogShipper } from "../../src/agent/log-shipper.ts";
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
  assert.deepEqual(since, [0, T], "the restart asks the runtime for lines since the cursor's time");
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
  const shipper = new LogShipper(runtime, slowServer, tempDir(), silentLogger, 4);
  shipper.follow("c2", target);
  await drain(shipper, shipped, 50);
  assert.deepEqual(shipped.flatMap((b) => b.events.map((e) => e.message)), lines.map((l) => l.text));
  assert.ok(sessions > 1, `reading paused and resumed (${sessions} sessions)`);
});
