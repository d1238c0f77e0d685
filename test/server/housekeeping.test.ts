// The control plane's periodic chores on mocked timers: each runs on its own period, a failed
// chore is logged and runs again on the next tick, and stop ends them all.
import assert from "node:assert/strict";
import { afterEach, beforeEach, describe, mock, test } from "node:test";
import { FakeClock } from "../../src/core/clock.ts";
import { SequentialIds } from "../../src/core/ids.ts";
import type { Logger } from "../../src/core/logger.ts";
import { registerAgent } from "../../src/control/agents.ts";
import type { CallContext, ControlDeps } from "../../src/control/context.ts";
import type { SecretsScope } from "../../src/domain/secrets.ts";
import { SqliteMetricsStore } from "../../src/metrics/sqlite-metrics-store.ts";
import { startHousekeeping } from "../../src/server/housekeeping.ts";
import { SqliteStore } from "../../src/store/sqlite-store.ts";

const scope: SecretsScope = { region: "us-east-1", accountId: "123456789012" };
const ctx: CallContext = { scope: { partition: "aws", ...scope }, principalArn: "arn:aws:iam::123456789012:user/admin" };
const settle = () => new Promise<void>((resolve) => setImmediate(resolve));

async function setup() {
  const clock = new FakeClock();
  const deps: ControlDeps = { store: new SqliteStore({ path: ":memory:" }), clock, ids: new SequentialIds() };
  await registerAgent(deps, ctx, { agentId: "agent-a", hostname: "host-a", agentVersion: "test", cpu: 1024, memoryMiB: 1024, fargate: false, attributes: {}, region: "us-east-1", cluster: "default", reservedPorts: [] });
  const calls: string[] = [];
  const warnings: string[] = [];
  const logger: Logger = { info: () => undefined, warn: (message) => warnings.push(message), error: () => undefined };
  let retentionFails = true;
  const stop = startHousekeeping({
    deps,
    logs: {
      enforceRetention: async () => {
        calls.push("log retention");
        if (retentionFails) {
          retentionFails = false;
          throw new Error("disk full");
        }
        return 0;
      },
    },
    secrets: {
      purgeDeleted: async () => (calls.push("purge"), 0),
      dueRotations: async () => [{ scope, arn: "arn:aws:secretsmanager:us-east-1:123456789012:secret:db-AbCdEf" }],
      rotate: async (_scope, arn) => void calls.push(`rotate ${arn.slice(-9)}`),
    },
    metrics: new SqliteMetricsStore({ path: ":memory:" }),
    recorder: { sample: async () => (calls.push("metrics"), 0) },
    logger,
    stoppedTaskRetentionMs: 3_600_000,
    metricsPeriodMs: 10_000,
  });
  return { deps, clock, calls, warnings, stop };
}

describe("housekeeping", () => {
  beforeEach(() => mock.timers.enable({ apis: ["setInterval"] }));
  afterEach(() => mock.timers.reset());

  test("an agent silent for over 30 s is marked disconnected on the next 5 s sweep", async () => {
    const { deps, clock, stop } = await setup();
    clock.advance(31_000);
    mock.timers.tick(4_999);
    await settle();
    assert.equal((await deps.store.findContainerInstanceByAgent("agent-a"))?.agentConnected, true);
    mock.timers.tick(1);
    await settle();
    assert.equal((await deps.store.findContainerInstanceByAgent("agent-a"))?.agentConnected, false);
    stop();
  });

  test("each chore runs on its period; a failure is logged and the chore runs again next time; stop ends them", async () => {
    const { calls, warnings, stop } = await setup();
    mock.timers.tick(10_000);
    await settle();
    assert.deepEqual(calls, ["metrics"]);
    mock.timers.tick(50_000);
    await settle();
    assert.deepEqual(calls.sort(), ["log retention", "metrics", "metrics", "metrics", "metrics", "metrics", "metrics", "purge", "rotate db-AbCdEf"]);
    assert.deepEqual(warnings, ["log retention failed"]);
    calls.length = 0;
    mock.timers.tick(60_000);
    await settle();
    assert.ok(calls.includes("log retention"), "retention runs again after a failure");
    assert.equal(warnings.length, 1);
    stop();
    calls.length = 0;
    mock.timers.tick(600_000);
    await settle();
    assert.deepEqual(calls, []);
  });
});
