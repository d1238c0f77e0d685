import assert from "node:assert/strict";
import { test } from "node:test";
import { FakeRuntime, type FakeTimers } from "../../src/runtime/fake-runtime.ts";
import type { RuntimeEvent } from "../../src/runtime/runtime.ts";
import { ConformanceCommands as C, runtimeConformance } from "./runtime-conformance.ts";

const IMAGE = "berth-test/busybox:latest";
const line = (argv: readonly string[]): string => argv.join(" ");

/** Real timers with the clock running 20 times faster, so second-long waits take 50 ms. */
function fastTimers(speed = 20): FakeTimers {
  const origin = Date.now();
  return {
    now: () => origin + (Date.now() - origin) * speed,
    setTimeout: (fn, ms) => setTimeout(fn, ms / speed),
    clearTimeout: (h) => clearTimeout(h as ReturnType<typeof setTimeout>),
  };
}

function conformingFake(): FakeRuntime {
  const fake = new FakeRuntime({ timers: fastTimers() });
  fake.addImage(IMAGE);
  fake.behave(line(C.exit3), { runMs: 100, exitCode: 3 });
  fake.behave(line(C.exit5), { runMs: 100, exitCode: 5 });
  fake.behave(line(C.ignoreTerm), { ignoreSignals: ["SIGTERM"] });
  fake.behave(line(C.oom), { oom: true, runMs: 300 });
  fake.behave(line(C.output), { runMs: 50, output: [{ stream: "stdout", line: "out" }, { stream: "stderr", line: "err" }] });
  fake.behave(line(C.followOutput), {
    runMs: 600,
    output: [{ stream: "stdout", line: "one" }, { stream: "stdout", line: "two", atMs: 500 }],
  });
  fake.behave((s) => s.healthCheck?.test.join(" ") === line(C.unhealthyTest), {
    health: { status: "unhealthy", afterMs: 1000 },
  });
  return fake;
}

runtimeConformance("FakeRuntime", async () => conformingFake(), { image: IMAGE });

// Fake-only promises: what the tests of the agent lean on.

test("FakeRuntime: pulling an only-pullable image makes it present and records the auth", async () => {
  const fake = new FakeRuntime();
  fake.addImage("registry.example/app:1", { stopSignal: "SIGQUIT" }, { present: false });
  assert.equal(await fake.inspectImage("registry.example/app:1"), undefined);
  const auth = { username: "u", password: "p", serveraddress: "registry.example" };
  await fake.pullImage("registry.example/app:1", auth);
  assert.equal((await fake.inspectImage("registry.example/app:1"))?.stopSignal, "SIGQUIT");
  assert.deepEqual(fake.pulls, [{ ref: "registry.example/app:1", auth }]);
});

test("FakeRuntime: the image's stop signal is used, and events come in Docker's order", async () => {
  const fake = new FakeRuntime({ timers: fastTimers() });
  fake.addImage("app", { stopSignal: "SIGINT" });
  const seen: RuntimeEvent[] = [];
  const abort = new AbortController();
  const done = fake.events((e) => seen.push(e), abort.signal);
  const id = await fake.createContainer({ name: "a", image: "app:latest", labels: { k: "v" }, networkMode: "bridge" });
  await fake.startContainer(id);
  await fake.stopContainer(id, 5);
  await fake.removeContainer(id);
  abort.abort();
  await done;
  assert.deepEqual(seen.map((e) => e.type), ["start", "kill", "die", "stop", "destroy"]);
  assert.equal(seen[2]?.exitCode, 130);
  assert.deepEqual(seen[0]?.labels, { k: "v" });
});

test("FakeRuntime: dynamic ports count up from 32768; a taken fixed port fails to start", async () => {
  const fake = new FakeRuntime();
  fake.addImage("app");
  const make = async (name: string, hostPort?: number) => {
    const port = hostPort === undefined ? { containerPort: 80, protocol: "tcp" as const } : { containerPort: 80, protocol: "tcp" as const, hostPort };
    return fake.createContainer({ name, image: "app", labels: {}, networkMode: "bridge", ports: [port] });
  };
  const a = await make("a");
  const b = await make("b");
  await fake.startContainer(a);
  await fake.startContainer(b);
  assert.equal((await fake.inspectContainer(a))?.ports[0]?.hostPort, 32768);
  assert.equal((await fake.inspectContainer(b))?.ports[0]?.hostPort, 32769);
  const c = await make("c", 32768);
  await assert.rejects(fake.startContainer(c), /port is already allocated/);
});

test("FakeRuntime: a manual clock drives run time and health exactly", async () => {
  let now = 0;
  const pending: { at: number; fn: () => void }[] = [];
  const timers: FakeTimers = {
    now: () => now,
    setTimeout: (fn, ms) => {
      const t = { at: now + ms, fn };
      pending.push(t);
      return t;
    },
    clearTimeout: (h) => {
      const i = pending.indexOf(h as (typeof pending)[number]);
      if (i >= 0) pending.splice(i, 1);
    },
  };
  const advance = (ms: number): void => {
    now += ms;
    for (const t of pending.filter((p) => p.at <= now).sort((x, y) => x.at - y.at)) {
      pending.splice(pending.indexOf(t), 1);
      t.fn();
    }
  };
  const fake = new FakeRuntime({ timers });
  fake.addImage("app");
  fake.behave("app", { runMs: 10_000, exitCode: 2, health: { status: "healthy", afterMs: 3_000 } });
  const hc = { test: ["CMD", "true"], intervalMs: 1000, timeoutMs: 1000, retries: 3, startPeriodMs: 0 };
  const id = await fake.createContainer({ name: "a", image: "app", labels: {}, networkMode: "bridge", healthCheck: hc });
  await fake.startContainer(id);
  advance(2_999);
  assert.equal((await fake.inspectContainer(id))?.health, "starting");
  advance(1);
  assert.equal((await fake.inspectContainer(id))?.health, "healthy");
  advance(7_000);
  const s = await fake.inspectContainer(id);
  assert.deepEqual([s?.running, s?.exitCode, s?.finishedAt], [false, 2, 10_000]);
});
