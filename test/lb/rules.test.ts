/**
 * The pure parts of the data plane, table-driven: wildcard and CIDR matching, rule evaluation
 * order, redirect placeholders, health check matchers, trace ids, target selection (round robin,
 * fail-open, slow start weights) and sealed cookie values.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import { parseMatcher } from "../../src/lb/health-checker.ts";
import { redirectLocation } from "../../src/lb/http-listener.ts";
import { traceHeader } from "../../src/lb/forwarded-head.ts";
import { cidr, wildcard } from "../../src/lb/patterns.ts";
import { actionFor, compileRules, type RequestFacts } from "../../src/lb/rules.ts";
import { openValue, readCookie, sealValue } from "../../src/lb/stickiness.ts";
import { TargetPool } from "../../src/lb/target-pool.ts";
import type { ActionSpec } from "../../src/protocol/lb-protocol.ts";
import { target, targetGroup } from "./lb-fixtures.ts";

const facts = (over: Partial<RequestFacts> = {}): RequestFacts => ({ method: "GET", path: "/", query: "", headers: { host: "example.com" }, sourceIp: "10.0.0.5", ...over });
const fixed = (body: string): ActionSpec => ({ type: "fixed-response", statusCode: "200", messageBody: body });

test("wildcards: * is any run, ? exactly one character; case as the condition says", () => {
  const cases: [string, string, boolean, boolean][] = [
    ["/api/*", "/api/", false, true],
    ["/api/*", "/api/v1/users", false, true],
    ["/api/*", "/API/v1", false, false],
    ["/img/?.png", "/img/a.png", false, true],
    ["/img/?.png", "/img/ab.png", false, false],
    ["*.example.com", "WWW.Example.com", true, true],
    ["a+b(c)", "a+b(c)", false, true],
    ["a.c", "abc", false, false],
  ];
  for (const [pattern, value, ci, expected] of cases) assert.equal(wildcard(pattern, ci)(value), expected, `${pattern} vs ${value}`);
});

test("source-ip CIDR blocks for IPv4, IPv6 and IPv4-mapped addresses", () => {
  const cases: [string, string, boolean][] = [
    ["10.0.0.0/8", "10.1.2.3", true],
    ["10.0.0.0/8", "11.0.0.1", false],
    ["192.168.1.0/25", "192.168.1.127", true],
    ["192.168.1.0/25", "192.168.1.128", false],
    ["127.0.0.1/32", "::ffff:127.0.0.1", true],
    ["2001:db8::/32", "2001:db8:abcd::1", true],
    ["2001:db8::/32", "2001:db9::1", false],
    ["::1/128", "::1", true],
    ["10.0.0.0/8", "::1", false],
  ];
  for (const [block, address, expected] of cases) assert.equal(cidr(block)(address), expected, `${address} in ${block}`);
});

test("rules are evaluated by priority, all conditions of a rule must match, any value of a condition may", () => {
  const compiled = compileRules({
    rules: [
      { arn: "late", priority: 50, conditions: [{ field: "path-pattern", values: ["/a*"] }], actions: [fixed("late")] },
      {
        arn: "early",
        priority: 2,
        conditions: [
          { field: "path-pattern", values: ["/x", "/a/*"] },
          { field: "http-header", headerName: "X-Env", values: ["prod", "stag*"] },
        ],
        actions: [fixed("early")],
      },
      { arn: "ip", priority: 3, conditions: [{ field: "source-ip", values: ["192.0.2.0/24"] }], actions: [fixed("ip")] },
      { arn: "method", priority: 4, conditions: [{ field: "http-request-method", values: ["DELETE"] }], actions: [fixed("method")] },
      { arn: "q", priority: 5, conditions: [{ field: "query-string", values: [{ value: "debug" }] }], actions: [fixed("q")] },
    ],
    defaultActions: [fixed("default")],
  });
  const body = (f: RequestFacts): string | undefined => {
    const a = actionFor(compiled, f);
    return a?.type === "fixed-response" ? a.messageBody : undefined;
  };
  assert.equal(body(facts({ path: "/a/b", headers: { "x-env": "STAGING" } })), "early", "both conditions, header value wildcard case-insensitive");
  assert.equal(body(facts({ path: "/a/b", headers: { "x-env": "dev" } })), "late", "header mismatch falls to the next rule");
  assert.equal(body(facts({ sourceIp: "192.0.2.9" })), "ip", "source-ip");
  assert.equal(body(facts({ method: "DELETE" })), "method", "method");
  assert.equal(body(facts({ method: "delete" })), "default", "methods are case-sensitive");
  assert.equal(body(facts({ query: "x=1&mode=Debug" })), "q", "query value without key, case-insensitive");
  assert.equal(body(facts({ query: "mode=%64ebug" })), "q", "query values are decoded");
  assert.equal(body(facts()), "default", "default action");
});

test("redirect placeholders", () => {
  const config = { proto: "http", spec: { port: 8080 } };
  const redirect = (over: Partial<Extract<ActionSpec, { type: "redirect" }>>): string =>
    redirectLocation({ type: "redirect", protocol: "#{protocol}", port: "#{port}", host: "#{host}", path: "/#{path}", query: "#{query}", statusCode: "HTTP_302", ...over }, facts({ path: "/p/q", query: "a=1", headers: { host: "h.example:8080" } }), config);
  assert.equal(redirect({}), "http://h.example:8080/p/q?a=1", "everything kept");
  assert.equal(redirect({ protocol: "HTTPS", port: "443" }), "https://h.example/p/q?a=1", "to HTTPS on its default port");
  assert.equal(redirect({ path: "/v2/#{path}", query: "" }), "http://h.example:8080/v2/p/q", "path rewritten, query dropped");
});

test("health check matchers", () => {
  const cases: [string, number, boolean][] = [
    ["200", 200, true],
    ["200", 204, false],
    ["200-299", 204, true],
    ["200-299", 302, false],
    ["200,302", 302, true],
    ["200, 400-404", 404, true],
  ];
  for (const [matcher, status, expected] of cases) assert.equal(parseMatcher(matcher)(status), expected, `${status} vs ${matcher}`);
});

test("trace ids: a new Root, or the incoming one kept with a replaced Self", () => {
  const now = Date.UTC(2026, 0, 1);
  assert.match(traceHeader(undefined, now), new RegExp(`^Root=1-${Math.floor(now / 1000).toString(16)}-[0-9a-f]{24}$`), "new root");
  assert.match(traceHeader("garbage", now), /^Root=1-/, "an invalid header is replaced");
  assert.match(traceHeader("Self=1-00000000-000000000000000000000000;Root=1-5759e988-bd862e3fe1be46a994272793", now), /^Self=1-[0-9a-f]{8}-[0-9a-f]{24};Root=1-5759e988-bd862e3fe1be46a994272793$/, "one Self");
});

test("target pool: healthy only, fail-open, draining never picked, slow start weights", () => {
  const group = targetGroup("g", [target(1), target(2), target(3, "draining")], { attributes: { "slow_start.duration_seconds": "10" } });
  const pool = new TargetPool(group, { "127.0.0.1:1": { state: "healthy" }, "127.0.0.1:2": { state: "unhealthy" }, "127.0.0.1:3": { state: "healthy" } });
  const picks = Array.from({ length: 4 }, () => pool.pick(0)?.port);
  assert.deepEqual(picks, [1, 1, 1, 1], "only the healthy, non-draining target");
  pool.setHealth({ "127.0.0.1:1": { state: "unhealthy" }, "127.0.0.1:2": { state: "unhealthy" } });
  assert.deepEqual(new Set(Array.from({ length: 4 }, () => pool.pick(0)?.port)), new Set([1, 2]), "fail-open over the registered targets");
  pool.setHealth({ "127.0.0.1:1": { state: "healthy" }, "127.0.0.1:2": { state: "healthy", slowStartFrom: 0 } });
  assert.deepEqual(pool.weights(pool.candidates(), 2_500), [1, 0.25], "a quarter of the way through slow start");
  assert.deepEqual(pool.weights(pool.candidates(), 20_000), [1, 1], "after slow start");
  const counts = { 1: 0, 2: 0 } as Record<number, number>;
  for (let i = 0; i < 100; i++) counts[pool.pick(2_500)?.port ?? 0]!++;
  assert.deepEqual(counts, { 1: 80, 2: 20 }, "picks follow the weights");
  assert.equal(new TargetPool(targetGroup("e", [target(1, "draining")]), {}).pick(0), undefined, "only draining targets: nothing (503)");
});

test("sealed cookie values cannot be forged and are read from either cookie name", () => {
  const key = Buffer.alloc(32, 7);
  const sealed = sealValue(key, "127.0.0.1:8080");
  assert.equal(openValue(key, sealed), "127.0.0.1:8080", "round trip");
  assert.equal(openValue(Buffer.alloc(32, 8), sealed), undefined, "another key");
  assert.equal(openValue(key, `${Buffer.from("10.0.0.1:80").toString("base64url")}.${sealed.split(".")[1]}`), undefined, "swapped body");
  assert.equal(readCookie("a=1; AWSALBCORS=x; b=2", "AWSALB"), "x", "the CORS twin counts");
  assert.equal(readCookie("AWSALBCORS=y; AWSALB=x", "AWSALB"), "x", "the plain cookie wins");
});
