/**
 * Health checks and what they do to routing: ALB's states and reason codes, an unhealthy target
 * getting no traffic and coming back, fail-open, draining with a request in flight, and the
 * target selection knobs (lb_cookie stickiness, slow start, least outstanding requests).
 */
import assert from "node:assert/strict";
import { createServer } from "node:net";
import { test } from "node:test";
import type { TargetHealthReport } from "../../src/protocol/lb-protocol.ts";
import {
  type Backend,
  closeClients,
  FAST_CHECK,
  forwardTo,
  freePort,
  get,
  listener,
  loadBalancer,
  newDataPlane,
  sleep,
  snapshot,
  startBackend,
  target,
  targetGroup,
  until,
  untilState,
} from "./lb-fixtures.ts";

async function withBackends(names: string[], body: (backends: Backend[], port: number) => Promise<void>): Promise<void> {
  const backends = await Promise.all(names.map((n) => startBackend(n)));
  try {
    await body(backends, await freePort());
  } finally {
    closeClients();
    await Promise.all(backends.map((b) => b.close()));
  }
}

const names = (hits: string[]): Record<string, number> => hits.reduce<Record<string, number>>((acc, n) => ({ ...acc, [n]: (acc[n] ?? 0) + 1 }), {});

async function hitNames(port: number, count: number, path = "/"): Promise<string[]> {
  const out: string[] = [];
  for (let i = 0; i < count; i++) out.push((await get(port, path)).body.split(" ")[0] ?? "");
  return out;
}

test("ALB's states and reasons: initial, healthy, unhealthy by code, refusal and timeout, unused, disabled", async () => {
  const good = await startBackend("good");
  const bad = await startBackend("bad");
  bad.healthStatus = 500;
  const silent = createServer(() => {});
  await new Promise<void>((r) => silent.listen(0, "127.0.0.1", r));
  const silentPort = (silent.address() as { port: number }).port;
  const refusedPort = await freePort();
  const port = await freePort();
  const dp = newDataPlane();
  let changes = 0;
  dp.onHealthChange(() => changes++);
  const slowCheck = { ...FAST_CHECK, intervalSeconds: 0.5, timeoutSeconds: 0.2 };
  const used = targetGroup("used", [target(good.port), target(bad.port), target(refusedPort), target(silentPort)], { healthCheck: slowCheck });
  const unused = targetGroup("unused", [target(good.port)]);
  const unchecked = targetGroup("unchecked", [target(good.port)], { healthCheck: { ...FAST_CHECK, enabled: false } });
  try {
    await dp.apply(snapshot([loadBalancer([listener(port, [forwardTo(used)], [{ arn: "r", priority: 1, conditions: [{ field: "path-pattern", values: ["/u"] }], actions: [forwardTo(unchecked)] }])])], [used, unused, unchecked]));
    const first = dp.targetHealth().filter((r) => r.targetGroupArn === used.arn);
    assert.ok(
      first.every((r) => r.state === "initial" && (r.reason === "Elb.RegistrationInProgress" || r.reason === "Elb.InitialHealthChecking")),
      `new targets start initial: ${JSON.stringify(first)}`,
    );
    await until("all used targets settled", () => (dp.targetHealth().filter((r) => r.targetGroupArn === used.arn && r.state !== "initial").length === 4 ? true : undefined));
    const byPort = (p: number, arn = used.arn): TargetHealthReport | undefined => dp.targetHealth().find((r) => r.targetGroupArn === arn && r.port === p);
    assert.deepEqual(byPort(good.port), { targetGroupArn: used.arn, id: "127.0.0.1", port: good.port, state: "healthy" }, "one passing check makes a new target healthy");
    assert.equal(byPort(bad.port)?.reason, "Target.ResponseCodeMismatch", "500 from /health");
    assert.equal(byPort(bad.port)?.description, "Health checks failed with these codes: [500]", "the code is named");
    assert.equal(byPort(refusedPort)?.reason, "Target.FailedHealthChecks", "connection refused");
    assert.equal(byPort(silentPort)?.reason, "Target.Timeout", "no answer within the timeout");
    assert.equal(byPort(good.port, unused.arn)?.state, "unused", "no listener forwards to the group");
    assert.equal(byPort(good.port, unused.arn)?.reason, "Target.NotInUse", "unused reason");
    assert.equal(byPort(good.port, unchecked.arn)?.state, "unavailable", "health checks disabled");
    assert.ok(changes >= 4, `onHealthChange was called (${changes})`);
    const m = dp.metrics().targetGroups[used.arn];
    assert.deepEqual([m?.healthyHostCount, m?.unhealthyHostCount], [1, 3], "host counts");
  } finally {
    await dp.close();
    await Promise.all([good.close(), bad.close()]);
    silent.close();
  }
});

test("an unhealthy target receives no traffic and comes back after healthyThreshold passes", () =>
  withBackends(["a", "b", "c"], async (backends, port) => {
    const dp = newDataPlane();
    const group = targetGroup("g", backends.map((b) => target(b.port)));
    try {
      await dp.apply(snapshot([loadBalancer([listener(port, [forwardTo(group)])])], [group]));
      await untilState(dp, group.arn, "healthy", 3);
      backends[1]!.healthStatus = 503;
      await untilState(dp, group.arn, "unhealthy", 1);
      const during = names(await hitNames(port, 20));
      assert.deepEqual(during, { a: 10, c: 10 }, `b gets nothing while unhealthy: ${JSON.stringify(during)}`);
      backends[1]!.healthStatus = 200;
      await untilState(dp, group.arn, "healthy", 3);
      const afterwards = names(await hitNames(port, 30));
      assert.deepEqual(afterwards, { a: 10, b: 10, c: 10 }, `b is back: ${JSON.stringify(afterwards)}`);
    } finally {
      await dp.close();
    }
  }));

test("fail-open: when every target is unhealthy, requests go to all of them", () =>
  withBackends(["a", "b"], async (backends, port) => {
    const dp = newDataPlane();
    for (const b of backends) b.healthStatus = 500;
    const group = targetGroup("g", backends.map((b) => target(b.port)));
    try {
      await dp.apply(snapshot([loadBalancer([listener(port, [forwardTo(group)])])], [group]));
      await untilState(dp, group.arn, "unhealthy", 2);
      const spread = names(await hitNames(port, 10));
      assert.deepEqual(spread, { a: 5, b: 5 }, `all unhealthy → all used: ${JSON.stringify(spread)}`);
    } finally {
      await dp.close();
    }
  }));

test("a 5-s request in flight when its target starts draining completes 200; new requests go elsewhere; then it is drained", () =>
  withBackends(["old", "new"], async ([oldB, newB], port) => {
    const dp = newDataPlane();
    const lb = (g: ReturnType<typeof targetGroup>) => snapshot([loadBalancer([listener(port, [forwardTo(g)])])], [g]);
    try {
      await dp.apply(lb(targetGroup("g", [target(oldB!.port)])));
      await untilState(dp, targetGroup("g", []).arn, "healthy", 1);
      const slow = get(port, "/work?delay=5000");
      await until("the slow request reached old", () => (oldB!.hits === 1 ? true : undefined));
      await dp.apply(lb(targetGroup("g", [target(oldB!.port, "draining"), target(newB!.port)])));
      const draining = () => dp.targetHealth().find((r) => r.port === oldB!.port);
      assert.equal(draining()?.state, "draining", "deregistered target drains");
      assert.equal(draining()?.reason, "Target.DeregistrationInProgress", "draining reason");
      assert.equal(draining()?.drained, false, "a request is still in flight");
      const fresh = names(await hitNames(port, 5));
      assert.deepEqual(fresh, { new: 5 }, "new requests go to the new target (fail-open while it is initial)");
      const reply = await slow;
      assert.equal(reply.status, 200, "the in-flight request completes");
      assert.equal(reply.body, "old /work", "from the draining target");
      await until("drained", () => (draining()?.drained === true ? true : undefined), 2000);
    } finally {
      await dp.close();
    }
  }));

test("lb_cookie stickiness keeps a client on one target with AWSALB and AWSALBCORS", () =>
  withBackends(["a", "b", "c"], async (backends, port) => {
    const dp = newDataPlane();
    const group = targetGroup("g", backends.map((b) => target(b.port)), {
      attributes: { "stickiness.enabled": "true", "stickiness.type": "lb_cookie", "stickiness.lb_cookie.duration_seconds": "120" },
    });
    try {
      await dp.apply(snapshot([loadBalancer([listener(port, [forwardTo(group)])])], [group]));
      await untilState(dp, group.arn, "healthy", 3);
      const first = await get(port, "/");
      const cookies = first.headers["set-cookie"] ?? [];
      assert.equal(cookies.length, 2, `two cookies: ${cookies.join(" | ")}`);
      assert.match(cookies[0] ?? "", /^AWSALB=[^;]+; Expires=[^;]+ GMT; Path=\/$/, "AWSALB");
      assert.match(cookies[1] ?? "", /^AWSALBCORS=[^;]+; Expires=[^;]+; Path=\/; SameSite=None$/, "AWSALBCORS (no Secure over HTTP)");
      const expires = Date.parse(/Expires=([^;]+)/.exec(cookies[0] ?? "")?.[1] ?? "");
      assert.ok(Math.abs(expires - Date.now() - 120_000) < 5_000, "expires after the duration");
      const value = /^AWSALB=([^;]+)/.exec(cookies[0] ?? "")?.[1] ?? "";
      const sticky = await hitNames(port, 9, "/").then(async () => {
        const out: string[] = [];
        for (let i = 0; i < 9; i++) out.push((await get(port, "/", { Cookie: `AWSALB=${value}` })).body.split(" ")[0] ?? "");
        return out;
      });
      const owner = first.body.split(" ")[0];
      assert.deepEqual(new Set(sticky), new Set([owner]), `every request with the cookie lands on ${owner}: ${sticky.join(",")}`);
      const forged = await hitNames(port, 3);
      assert.ok(new Set(forged).size > 1, "without the cookie requests spread");
      const tampered = (await get(port, "/", { Cookie: `AWSALB=${value.slice(0, -2)}xx` })).status;
      assert.equal(tampered, 200, "a tampered cookie is ignored, not an error");
    } finally {
      await dp.close();
    }
  }));

test("slow start: a newly healthy target's share ramps up linearly", () =>
  withBackends(["old", "new"], async ([oldB, newB], port) => {
    const dp = newDataPlane();
    const attributes = { "slow_start.duration_seconds": "2" };
    const lb = (g: ReturnType<typeof targetGroup>) => snapshot([loadBalancer([listener(port, [forwardTo(g)])])], [g]);
    try {
      await dp.apply(lb(targetGroup("g", [target(oldB!.port)], { attributes })));
      await untilState(dp, targetGroup("g", []).arn, "healthy", 1);
      await dp.apply(lb(targetGroup("g", [target(oldB!.port), target(newB!.port)], { attributes })));
      await untilState(dp, targetGroup("g", []).arn, "healthy", 2);
      const share = async (): Promise<number> => (names(await hitNames(port, 100))["new"] ?? 0) / 100;
      const early = await share();
      await sleep(800);
      const middle = await share();
      await sleep(1400);
      const late = await share();
      assert.ok(early < 0.25, `early share small: ${early}`);
      assert.ok(middle > early, `share grows: ${early} → ${middle}`);
      assert.ok(late >= 0.45 && late <= 0.55, `after the duration an even share: ${late}`);
    } finally {
      await dp.close();
    }
  }));

test("least_outstanding_requests sends new requests to the target with fewer in flight", () =>
  withBackends(["a", "b"], async (backends, port) => {
    const dp = newDataPlane();
    const group = targetGroup("g", backends.map((b) => target(b.port)), { attributes: { "load_balancing.algorithm.type": "least_outstanding_requests" } });
    try {
      await dp.apply(snapshot([loadBalancer([listener(port, [forwardTo(group)])])], [group]));
      await untilState(dp, group.arn, "healthy", 2);
      const slow = get(port, "/?delay=1000&echo");
      await until("the slow request arrived", () => (backends.some((b) => b.hits === 1) ? true : undefined));
      const busy = backends.find((b) => b.hits === 1)?.name;
      const fast = await hitNames(port, 6);
      assert.ok(busy !== undefined && !fast.includes(busy), `while ${busy} holds a request every new one goes to the other: ${fast.join(",")}`);
      await slow;
      const after = names(await hitNames(port, 6));
      assert.deepEqual(after, { a: 3, b: 3 }, `idle targets share again: ${JSON.stringify(after)}`);
    } finally {
      await dp.close();
    }
  }));
