/**
 * The ALB listener over real loopback sockets: rules route by path and host, a group spreads
 * over its three targets, ALB's forwarded headers, fixed responses and redirects, and the
 * failure answers (502, 503, 504) byte for byte.
 */
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import type { LoadBalancerDataPlane } from "../../src/lb/load-balancer-data-plane.ts";
import {
  type Backend,
  closeClients,
  forwardTo,
  freePort,
  get,
  listener,
  loadBalancer,
  newDataPlane,
  snapshot,
  startBackend,
  target,
  targetGroup,
  untilState,
} from "./lb-fixtures.ts";

describe("ALB routing", () => {
  let dp: LoadBalancerDataPlane;
  let port: number;
  const backends: Backend[] = [];
  const api = () => targetGroup("api", backends.slice(0, 3).map((b) => target(b.port)));
  const web = () => targetGroup("web", [target(backends[3]!.port)]);
  const admin = () => targetGroup("admin", [target(backends[4]!.port)]);
  const empty = targetGroup("empty", []);

  before(async () => {
    for (const name of ["api-1", "api-2", "api-3", "web", "admin"]) backends.push(await startBackend(name));
    port = await freePort();
    dp = newDataPlane();
    const rules = [
      { arn: "r-admin", priority: 5, conditions: [{ field: "host-header" as const, values: ["ADMIN.example.com"] }], actions: [forwardTo(admin())] },
      { arn: "r-api", priority: 10, conditions: [{ field: "path-pattern" as const, values: ["/api/*"] }], actions: [forwardTo(api())] },
      { arn: "r-empty", priority: 20, conditions: [{ field: "path-pattern" as const, values: ["/empty"] }], actions: [forwardTo(empty)] },
      {
        arn: "r-old",
        priority: 30,
        conditions: [{ field: "path-pattern" as const, values: ["/old/*"] }],
        actions: [{ type: "redirect" as const, protocol: "HTTPS", port: "443", host: "#{host}", path: "/new/#{path}", query: "#{query}&moved=1", statusCode: "HTTP_301" as const }],
      },
      {
        arn: "r-teapot",
        priority: 40,
        conditions: [
          { field: "http-request-method" as const, values: ["GET"] },
          { field: "query-string" as const, values: [{ key: "brew", value: "t?a" }] },
        ],
        actions: [{ type: "fixed-response" as const, statusCode: "418", contentType: "text/plain", messageBody: "short and stout" }],
      },
    ];
    await dp.apply(snapshot([loadBalancer([listener(port, [forwardTo(web())], rules)])], [api(), web(), admin(), empty]));
    await untilState(dp, api().arn, "healthy", 3);
    await untilState(dp, web().arn, "healthy", 1);
  });

  after(async () => {
    closeClients();
    await dp.close();
    await Promise.all(backends.map((b) => b.close()));
  });

  test("path and host rules choose the target group; everything else takes the default action", async () => {
    const apiReply = await get(port, "/api/users?x=1");
    assert.match(apiReply.body, /^api-\d \/api\/users$/, "/api/* goes to the api group");
    assert.equal((await get(port, "/")).body, "web /", "the default action forwards to web");
    assert.equal((await get(port, "/API/users")).body, "web /API/users", "path patterns are case-sensitive");
    assert.equal((await get(port, "/api/x", { Host: "admin.EXAMPLE.com:8080" })).body, "admin /api/x", "host-header is case-insensitive, port ignored, and the lower priority number wins");
  });

  test("a group spreads requests round robin over its three targets", async () => {
    const before = backends.slice(0, 3).map((b) => b.hits);
    for (let i = 0; i < 30; i++) await get(port, "/api/spread");
    const spread = backends.slice(0, 3).map((b, i) => b.hits - (before[i] ?? 0));
    assert.deepEqual(spread, [10, 10, 10], `30 requests over three targets: ${spread.join(",")}`);
  });

  test("the target sees X-Forwarded-For (appended), -Proto, -Port and a fresh or extended X-Amzn-Trace-Id", async () => {
    const fresh = JSON.parse((await get(port, "/?echo")).body) as { headers: Record<string, string> };
    assert.equal(fresh.headers["x-forwarded-for"], "127.0.0.1", "client address");
    assert.equal(fresh.headers["x-forwarded-proto"], "http", "listener protocol");
    assert.equal(fresh.headers["x-forwarded-port"], String(port), "listener port");
    assert.match(fresh.headers["x-amzn-trace-id"] ?? "", /^Root=1-[0-9a-f]{8}-[0-9a-f]{24}$/, "a new trace id");
    const epoch = parseInt((fresh.headers["x-amzn-trace-id"] ?? "").slice(7, 15), 16);
    assert.ok(Math.abs(epoch - Date.now() / 1000) < 60, "the trace id starts with the epoch seconds");
    const chained = JSON.parse((await get(port, "/?echo", { "X-Forwarded-For": "203.0.113.7", "X-Amzn-Trace-Id": "Root=1-5759e988-bd862e3fe1be46a994272793;Sampled=1" })).body) as {
      headers: Record<string, string>;
    };
    assert.equal(chained.headers["x-forwarded-for"], "203.0.113.7, 127.0.0.1", "the client address is appended");
    assert.match(chained.headers["x-amzn-trace-id"] ?? "", /^Self=1-[0-9a-f]{8}-[0-9a-f]{24};Root=1-5759e988-bd862e3fe1be46a994272793;Sampled=1$/, "the incoming trace is kept, with a Self field");
  });

  test("fixed-response and redirect actions answer from the load balancer", async () => {
    const teapot = await get(port, "/anything?brew=tea");
    assert.equal(teapot.status, 418, "fixed status");
    assert.equal(teapot.body, "short and stout", "fixed body");
    assert.equal(teapot.headers["server"], "awselb/2.0", "ALB's Server header");
    assert.equal((await get(port, "/anything?brew=coffee")).body, "web /anything", "query-string wildcard did not match");
    const moved = await get(port, "/old/page?a=b", { Host: "shop.example.com" });
    assert.equal(moved.status, 301, "HTTP_301");
    assert.equal(moved.headers["location"], "https://shop.example.com/new/old/page?a=b&moved=1", "placeholders filled, default port dropped");
  });

  test("503 when the target group has no registered target", async () => {
    const reply = await get(port, "/empty");
    assert.equal(reply.status, 503, "no targets");
    assert.equal(reply.statusMessage, "Service Temporarily Unavailable", "ALB's reason phrase");
    assert.equal(reply.headers["server"], "awselb/2.0", "ALB's Server header");
    assert.equal(reply.body, "<html>\r\n<head><title>503 Service Temporarily Unavailable</title></head>\r\n<body>\r\n<center><h1>503 Service Temporarily Unavailable</h1></center>\r\n</body>\r\n</html>\r\n", "ALB's body");
  });

  test("metrics count requests, target status classes and load balancer 5xx", () => {
    const m = dp.metrics();
    const lb = m.loadBalancers[loadBalancer([]).arn];
    assert.ok(lb && lb.requestCount >= 40, `load balancer requests: ${lb?.requestCount}`);
    assert.ok(lb && lb.elb5xx >= 1, "the 503 counts as an ELB 5xx");
    const apiGroup = m.targetGroups[api().arn];
    assert.ok(apiGroup && apiGroup.requestCount >= 31 && apiGroup.target2xx === apiGroup.requestCount, `api group counters: ${JSON.stringify(apiGroup)}`);
    assert.equal(apiGroup?.healthyHostCount, 3, "three healthy hosts");
    assert.ok((apiGroup?.targetResponseTimeSumMs ?? 0) > 0, "response time accumulates");
  });
});

describe("ALB failure answers", () => {
  test("502 when the target refuses, 504 when it is slower than the idle timeout", async () => {
    const slow = await startBackend("slow");
    const deadPort = await freePort();
    const port = await freePort();
    const dp = newDataPlane();
    const noCheck = { ...targetGroup("x", []).healthCheck, enabled: false };
    const dead = targetGroup("dead", [target(deadPort)], { healthCheck: noCheck });
    const slowGroup = targetGroup("slow", [target(slow.port)], { healthCheck: noCheck });
    try {
      await dp.apply(
        snapshot(
          [loadBalancer([listener(port, [forwardTo(slowGroup)], [{ arn: "r", priority: 1, conditions: [{ field: "path-pattern", values: ["/dead"] }], actions: [forwardTo(dead)] }])], { "idle_timeout.timeout_seconds": "1" })],
          [dead, slowGroup],
        ),
      );
      const refused = await get(port, "/dead");
      assert.equal(refused.status, 502, "connection refused");
      assert.equal(refused.statusMessage, "Bad Gateway", "reason phrase");
      assert.equal(refused.headers["content-length"], "122", "ALB's 502 body length");
      const started = Date.now();
      const timedOut = await get(port, "/?delay=3000");
      assert.equal(timedOut.status, 504, "slower than the 1 s idle timeout");
      assert.equal(timedOut.statusMessage, "Gateway Time-out", "reason phrase");
      assert.ok(Date.now() - started < 2500, "answered at the idle timeout");
      assert.equal((await get(port, "/?delay=200")).status, 200, "a target within the timeout answers");
      assert.equal(dp.metrics().loadBalancers[loadBalancer([]).arn]?.elb5xx, 2, "two ELB 5xx");
    } finally {
      closeClients();
      await dp.close();
      await slow.close();
    }
  });

  test("requests reuse pooled keep-alive connections to the target", async () => {
    const backend = await startBackend("pooled");
    const port = await freePort();
    const dp = newDataPlane();
    const group = targetGroup("pooled", [target(backend.port)], { healthCheck: { ...targetGroup("x", []).healthCheck, enabled: false } });
    try {
      await dp.apply(snapshot([loadBalancer([listener(port, [forwardTo(group)])])], [group]));
      for (let i = 0; i < 50; i++) await get(port, "/", {}, false);
      assert.equal(backend.hits, 50, "all served");
      assert.equal(backend.connections, 1, "50 requests from 50 client connections went over one upstream connection");
    } finally {
      closeClients();
      await dp.close();
      await backend.close();
    }
  });

  test("502 when the target answers with garbage", async () => {
    const { createServer } = await import("node:net");
    const garbage = createServer((s) => s.once("data", () => s.end("NOT HTTP AT ALL\r\n\r\n")));
    await new Promise<void>((r) => garbage.listen(0, "127.0.0.1", r));
    const port = await freePort();
    const dp = newDataPlane();
    const group = targetGroup("garbage", [target((garbage.address() as { port: number }).port)], { healthCheck: { ...targetGroup("x", []).healthCheck, enabled: false } });
    try {
      await dp.apply(snapshot([loadBalancer([listener(port, [forwardTo(group)])])], [group]));
      assert.equal((await get(port, "/")).status, 502, "malformed response");
    } finally {
      closeClients();
      await dp.close();
      garbage.close();
    }
  });

  test("a listener whose port is taken is reported, and binds once the port is free", async () => {
    const { createServer } = await import("node:net");
    const squatter = createServer();
    await new Promise<void>((r) => squatter.listen(0, "127.0.0.1", r));
    const port = (squatter.address() as { port: number }).port;
    const dp = newDataPlane();
    const snap = snapshot([loadBalancer([listener(port, [{ type: "fixed-response", statusCode: "200", messageBody: "up" }])])], []);
    try {
      await dp.apply(snap);
      assert.deepEqual(
        dp.listenerErrors().map((e) => e.message),
        [`port ${port} on 127.0.0.1 is already in use`],
        "port in use",
      );
      await new Promise<void>((r) => squatter.close(() => r()));
      await dp.apply(snap);
      assert.deepEqual(dp.listenerErrors(), [], "bound on the next snapshot");
      assert.equal((await get(port, "/")).body, "up", "serving");
    } finally {
      closeClients();
      await dp.close();
    }
  });
});
