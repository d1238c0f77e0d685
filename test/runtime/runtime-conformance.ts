/**
 * One conformance suite for every Runtime adapter: each adapter's test file calls
 * `runtimeConformance(name, makeRuntime, { image })`. It checks the port's promises (states,
 * exit codes, events, labels, ports, health, OOM, logs, networks, volumes), not an engine's
 * wire format. Every container it makes carries `berth.test=1` and this run's id, and is
 * removed in `after`. The commands are exported so the fake's test can give them behaviours.
 * Every assert.ok carries a message: without one, node:assert re-reads and parses the
 * transpiled source to describe the failure, which takes minutes under tsx.
 */
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { after, before, describe, test } from "node:test";
import { createTar } from "../../src/runtime/tar.ts";
import {
  isRuntimeError,
  type ContainerSpec,
  type ContainerState,
  type Runtime,
  type RuntimeEvent,
} from "../../src/runtime/runtime.ts";

/** Commands the suite runs; a fake runtime keys its pretend behaviours on these. */
export const ConformanceCommands = {
  sleep: ["sleep", "100"],
  exit3: ["sh", "-c", "exit 3"],
  exit5: ["sh", "-c", "exit 5"],
  ignoreTerm: ["sh", "-c", 'trap "" TERM; sleep 100'],
  oom: ["sh", "-c", "x=a; while true; do x=$x$x; done"],
  output: ["sh", "-c", "echo out; echo err >&2"],
  followOutput: ["sh", "-c", "echo one; sleep 0.5; echo two"],
  healthyTest: ["CMD-SHELL", "true"],
  unhealthyTest: ["CMD-SHELL", "exit 1"],
} as const;

export interface ConformanceOptions {
  /** A local image with busybox's sh, sleep and echo. */
  image: string;
}

const SECOND = 1000;

async function waitFor<T>(what: string, probe: () => Promise<T | undefined>, timeoutMs = 15 * SECOND): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

/** Collects events until `stop()`; the events promise must resolve once aborted. */
function recordEvents(runtime: Runtime): { seen: RuntimeEvent[]; stop: () => Promise<void> } {
  const seen: RuntimeEvent[] = [];
  const abort = new AbortController();
  const done = runtime.events((e) => seen.push(e), abort.signal);
  return {
    seen,
    stop: async () => {
      abort.abort();
      await done;
    },
  };
}

export function runtimeConformance(name: string, makeRuntime: () => Promise<Runtime>, options: ConformanceOptions): void {
  describe(`Runtime conformance: ${name}`, () => {
    const runId = randomBytes(4).toString("hex");
    const labels = { "berth.test": "1", "berth.test.run": runId };
    const network = `berth-test-${runId}`;
    const volume = `berth-test-${runId}`;
    let runtime: Runtime;
    let counter = 0;

    const spec = (overrides: Partial<ContainerSpec> = {}): ContainerSpec => ({
      name: `berth-test-${runId}-${++counter}`,
      image: options.image,
      labels,
      cmd: [...ConformanceCommands.sleep],
      networkMode: "bridge",
      ...overrides,
    });
    const run = async (overrides: Partial<ContainerSpec> = {}): Promise<string> => {
      const id = await runtime.createContainer(spec(overrides));
      await runtime.startContainer(id);
      return id;
    };
    const inspect = async (id: string): Promise<ContainerState> => {
      const state = await runtime.inspectContainer(id);
      assert.ok(state, `container ${id} should exist`);
      return state;
    };
    const exited = (id: string, timeoutMs?: number): Promise<ContainerState> =>
      waitFor(`${id} to exit`, async () => {
        const s = await inspect(id);
        return s.running ? undefined : s;
      }, timeoutMs);

    before(async () => {
      runtime = await makeRuntime();
    });

    after(async () => {
      for (const c of await runtime.listContainers(labels)) await runtime.removeContainer(c.id, { force: true });
      await runtime.removeNetwork(network);
      await runtime.removeVolume(volume);
    });

    test("ping and info describe the host", async () => {
      await runtime.ping();
      const info = await runtime.info();
      assert.ok(info.cpus > 0 && info.memoryMiB > 0, `capacity ${info.cpus} CPUs, ${info.memoryMiB} MiB`);
      assert.equal(info.os, "linux");
      assert.ok(info.serverVersion.length > 0 && info.hostname.length > 0, "version and hostname");
    });

    test("inspectImage finds the local image and not a missing one", async () => {
      const image = await runtime.inspectImage(options.image);
      assert.ok(image?.id.startsWith("sha256:"), `image id ${image?.id}`);
      assert.equal(await runtime.inspectImage("berth-test/missing:nope"), undefined);
    });

    test("pulling a nonexistent image fails with PullFailed and the engine's message", async () => {
      await assert.rejects(runtime.pullImage("berth-test/does-not-exist:nope"), (err: unknown) => {
        assert.ok(isRuntimeError(err, "PullFailed"), String(err));
        assert.match(err.message, /does-not-exist/);
        return true;
      });
    });

    test("creating from a missing image is NotFound; a taken name is a Conflict", async () => {
      await assert.rejects(runtime.createContainer(spec({ image: "berth-test/missing:nope" })), (e: unknown) =>
        isRuntimeError(e, "NotFound"),
      );
      const s = spec();
      await runtime.createContainer(s);
      await assert.rejects(runtime.createContainer(s), (e: unknown) => isRuntimeError(e, "Conflict"));
    });

    test("create, start and inspect a running container", async () => {
      const s = spec({ init: true });
      const id = await runtime.createContainer(s);
      const created = await inspect(id);
      assert.equal(created.id, id);
      assert.equal(created.name, s.name);
      assert.equal(created.status, "created");
      assert.equal(created.running, false);
      assert.equal(created.startedAt, undefined);
      assert.equal(created.finishedAt, undefined);
      assert.equal(created.exitCode, undefined);
      assert.equal(created.image, options.image);
      assert.equal(created.imageId, (await runtime.inspectImage(options.image))?.id);
      assert.deepEqual({ ...created.labels, ...labels }, created.labels);

      await runtime.startContainer(id);
      await runtime.startContainer(id); // already running: resolves
      const running = await inspect(id);
      assert.equal(running.status, "running");
      assert.equal(running.running, true);
      assert.ok(running.startedAt !== undefined && running.startedAt >= created.createdAt, `startedAt ${running.startedAt}`);
      assert.ok(running.pid !== undefined && running.pid > 0, `pid ${running.pid}`);
      assert.equal(running.health, undefined);
      assert.ok(running.networks["bridge"]?.ipAddress, "an address on the bridge");
      assert.equal((await inspect(s.name)).id, id, "inspect by name");
    });

    test("a command's exit code and finishedAt are reported", async () => {
      const id = await run({ cmd: [...ConformanceCommands.exit3] });
      const s = await exited(id);
      assert.equal(s.status, "exited");
      assert.equal(s.exitCode, 3);
      assert.equal(s.oomKilled, false);
      assert.ok(
        s.finishedAt !== undefined && s.startedAt !== undefined && s.finishedAt >= s.startedAt,
        `startedAt ${s.startedAt} ≤ finishedAt ${s.finishedAt}`,
      );
      assert.equal(s.pid, undefined);
    });

    test("stop sends SIGTERM: the process exits 143", async () => {
      const id = await run({ init: true });
      await runtime.stopContainer(id, 10);
      const s = await inspect(id);
      assert.equal(s.running, false);
      assert.equal(s.exitCode, 143);
      await runtime.stopContainer(id, 10); // already stopped: resolves
    });

    test("stop escalates to SIGKILL after the timeout when SIGTERM is ignored: 137", async () => {
      const id = await run({ cmd: [...ConformanceCommands.ignoreTerm] });
      await waitFor("the trap to be set", async () => ((await inspect(id)).running ? true : undefined));
      await new Promise((r) => setTimeout(r, 200)); // let sh install its trap
      await runtime.stopContainer(id, 1);
      const s = await inspect(id);
      assert.equal(s.running, false);
      assert.equal(s.exitCode, 137);
    });

    test("kill delivers a signal; killing a stopped container is a Conflict", async () => {
      const id = await run({ init: true });
      await runtime.killContainer(id, "SIGKILL");
      assert.equal((await exited(id)).exitCode, 137);
      await assert.rejects(runtime.killContainer(id, "SIGKILL"), (e: unknown) => isRuntimeError(e, "Conflict"));
    });

    test("events report start, die (with exit code and labels) and destroy", async () => {
      const events = recordEvents(runtime);
      try {
        const id = await run({ cmd: [...ConformanceCommands.exit5], labels: { ...labels, "berth.test.case": "events" } });
        await exited(id);
        await runtime.removeContainer(id);
        const mine = await waitFor("start, die and destroy events", async () => {
          const list = events.seen.filter((e) => e.containerId === id);
          return list.some((e) => e.type === "destroy") ? list : undefined;
        });
        assert.deepEqual(
          mine.map((e) => e.type),
          ["start", "die", "destroy"],
        );
        const die = mine[1]!;
        assert.equal(die.exitCode, 5);
        assert.equal(die.labels["berth.test.case"], "events");
        assert.equal(die.labels["berth.test.run"], runId);
        assert.ok(Math.abs(die.time - Date.now()) < 60 * SECOND, `event time ${die.time}`);
      } finally {
        await events.stop();
      }
    });

    test("listContainers filters by label equality and returns every state", async () => {
      const a = await runtime.createContainer(spec({ labels: { ...labels, "berth.test.group": "a" } }));
      const b = await run({ labels: { ...labels, "berth.test.group": "b" }, init: true });
      const onlyA = await runtime.listContainers({ ...labels, "berth.test.group": "a" });
      assert.deepEqual(onlyA.map((c) => c.id), [a]);
      assert.equal(onlyA[0]!.status, "created");
      assert.equal(onlyA[0]!.labels["berth.test.group"], "a");
      const all = (await runtime.listContainers(labels)).map((c) => c.id);
      assert.ok(all.includes(a) && all.includes(b), "both containers listed");
      assert.deepEqual(await runtime.listContainers({ ...labels, "berth.test.group": "none" }), []);
    });

    test("a dynamic host port is assigned and reported", async () => {
      const id = await run({ init: true, ports: [{ containerPort: 8080, protocol: "tcp" }] });
      const bindings = (await inspect(id)).ports.filter((p) => p.containerPort === 8080);
      assert.ok(bindings.length >= 1, "a binding for 8080/tcp");
      for (const p of bindings) {
        assert.equal(p.protocol, "tcp");
        assert.ok(p.hostPort >= 1024, `dynamic port ${p.hostPort}`);
      }
    });

    test("remove: running needs force; then inspect is undefined; removing again resolves", async () => {
      const id = await run({ init: true });
      await assert.rejects(runtime.removeContainer(id), (e: unknown) => isRuntimeError(e, "Conflict"));
      await runtime.removeContainer(id, { force: true });
      assert.equal(await runtime.inspectContainer(id), undefined);
      await runtime.removeContainer(id);
      await assert.rejects(runtime.startContainer(id), (e: unknown) => isRuntimeError(e, "NotFound"));
    });

    const healthCheck = (test: readonly string[]) => ({
      test: [...test],
      intervalMs: SECOND,
      timeoutMs: SECOND,
      retries: 1,
      startPeriodMs: 0,
    });

    test("a passing health check reaches healthy (and says so in an event)", async () => {
      const events = recordEvents(runtime);
      try {
        const id = await run({ init: true, healthCheck: healthCheck(ConformanceCommands.healthyTest) });
        assert.equal((await inspect(id)).health, "starting");
        await waitFor("healthy", async () => ((await inspect(id)).health === "healthy" ? true : undefined));
        await waitFor("a health_status event", async () =>
          events.seen.find((e) => e.containerId === id && e.type === "health_status" && e.health === "healthy"),
        );
      } finally {
        await events.stop();
      }
    });

    test("a failing health check reaches unhealthy", async () => {
      const id = await run({ init: true, healthCheck: healthCheck(ConformanceCommands.unhealthyTest) });
      await waitFor("unhealthy", async () => ((await inspect(id)).health === "unhealthy" ? true : undefined));
      assert.equal((await inspect(id)).running, true, "unhealthy does not stop the container");
    });

    test("a container past its memory limit is OOM-killed: 137, oomKilled", async () => {
      const events = recordEvents(runtime);
      try {
        const id = await run({ memoryMiB: 8, cmd: [...ConformanceCommands.oom] });
        const s = await exited(id, 30 * SECOND);
        assert.equal(s.oomKilled, true);
        assert.equal(s.exitCode, 137);
        await waitFor("an oom event", async () => events.seen.find((e) => e.containerId === id && e.type === "oom"));
      } finally {
        await events.stop();
      }
    });

    test("logs give stdout and stderr lines with times; since filters them", async () => {
      const id = await run({ cmd: [...ConformanceCommands.output] });
      const s = await exited(id);
      const lines: { stream: string; line: string; timeMs: number }[] = [];
      await runtime.logs(id, {}, (stream, line, timeMs) => lines.push({ stream, line, timeMs }));
      assert.deepEqual(
        lines.map((l) => `${l.stream}:${l.line}`).sort(),
        ["stderr:err", "stdout:out"],
      );
      for (const l of lines) {
        assert.ok(l.timeMs >= s.createdAt - SECOND && l.timeMs <= s.finishedAt! + SECOND, `line time ${l.timeMs}`);
      }
      const last = Math.max(...lines.map((l) => l.timeMs));
      const later: string[] = [];
      await runtime.logs(id, { since: last + 1 }, (_s, line) => later.push(line));
      assert.deepEqual(later, []);
      await assert.rejects(runtime.logs("berth-test-missing", {}, () => {}), (e: unknown) => isRuntimeError(e, "NotFound"));
    });

    test("logs with follow stream until the container stops", async () => {
      const id = await run({ cmd: [...ConformanceCommands.followOutput] });
      const lines: string[] = [];
      await runtime.logs(id, { follow: true }, (_s, line) => lines.push(line));
      assert.deepEqual(lines, ["one", "two"]);
      assert.equal((await inspect(id)).running, false);
    });

    test("logs with follow end when the signal aborts", async () => {
      const id = await run({ init: true });
      const abort = new AbortController();
      setTimeout(() => abort.abort(), 200);
      await runtime.logs(id, { follow: true, signal: abort.signal }, () => {});
      assert.equal((await inspect(id)).running, true);
    });

    test("stats returns the engine's document", async () => {
      const id = await run({ init: true });
      const stats = await runtime.stats(id);
      assert.equal(typeof stats["cpu_stats"], "object");
      assert.equal(typeof stats["memory_stats"], "object");
    });

    test("networks: create is idempotent; static IPs apply; in use → Conflict; remove", async () => {
      const third = 1 + (parseInt(runId.slice(0, 2), 16) % 250);
      const subnet = `172.29.${third}.0/24`;
      const netId = await runtime.createNetwork(network, { subnet, labels });
      assert.equal(await runtime.createNetwork(network, { subnet, labels }), netId);
      const info = await runtime.inspectNetwork(network);
      assert.equal(info?.id, netId);
      assert.equal(info?.subnet, subnet);
      assert.ok(info?.bridgeName, "a bridge device name");
      const ip = `172.29.${third}.10`;
      const id = await run({ init: true, networkMode: network, ipv4Address: ip, networkAliases: ["svc"] });
      assert.equal((await inspect(id)).networks[network]?.ipAddress, ip);
      await assert.rejects(runtime.removeNetwork(network), (e: unknown) => isRuntimeError(e, "Conflict"));
      await runtime.removeContainer(id, { force: true });
      await runtime.removeNetwork(network);
      assert.equal(await runtime.inspectNetwork(network), undefined);
      await runtime.removeNetwork(network);
    });

    test("volumes: create, in use → Conflict, remove", async () => {
      await runtime.createVolume(volume, { labels });
      await runtime.createVolume(volume, { labels });
      const id = await runtime.createContainer(
        spec({ mounts: [{ type: "volume", source: volume, target: "/data", readOnly: false }] }),
      );
      await assert.rejects(runtime.removeVolume(volume), (e: unknown) => isRuntimeError(e, "Conflict"));
      await runtime.removeContainer(id);
      await runtime.removeVolume(volume);
      await runtime.removeVolume(volume);
    });

    test("buildImage tags an image built from a tar context", async () => {
      const tag = "berth-test/conformance-build:latest";
      const dockerfile = `FROM ${options.image}\nLABEL berth.test=1\nCMD ["sleep", "100"]\n`;
      await runtime.buildImage(createTar([{ name: "Dockerfile", data: dockerfile }]), tag);
      assert.ok((await runtime.inspectImage(tag))?.id.startsWith("sha256:"), `${tag} is present`);
    });
  });
}
