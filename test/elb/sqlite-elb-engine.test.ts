/**
 * The ELB engine on an in-memory SQLite file with a fake clock and a fake data plane (a
 * subscriber that re-reads the snapshot, and health reports fed to applyHealth): the snapshot
 * for the issue's setup, target health states and reason codes, draining completed by the data
 * plane or by the delay, the ports the ECS integration calls, and bad input that changes nothing.
 */
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { readFileSync, rmSync, statSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { FakeClock } from "../../src/core/clock.ts";
import { isBerthError } from "../../src/core/errors.ts";
import { SequentialIds } from "../../src/core/ids.ts";
import type { Action, ElbScope, RuleCondition } from "../../src/domain/load-balancing.ts";
import { SqliteElbEngine } from "../../src/elb/sqlite-elb-engine.ts";
import type { LbSnapshot } from "../../src/protocol/lb-protocol.ts";
import { tempDir } from "../support/harness.ts";

const scope: ElbScope = { region: "ap-south-1", accountId: "123456789012" };
const forward = (arn: string): Action => ({ type: "forward", targetGroups: [{ targetGroupArn: arn, weight: 1 }], stickiness: { enabled: false } });

/** A fake data plane: counts changes and keeps the last snapshot it read. */
function harness(options: { instanceAddress?: (id: string) => string | undefined; path?: string } = {}) {
  const clock = new FakeClock();
  const engine = new SqliteElbEngine({
    path: options.path ?? ":memory:",
    clock,
    ids: new SequentialIds(),
    bindPortFor: (l) => l.port + 10_000,
    ...(options.instanceAddress ? { instanceAddress: options.instanceAddress } : {}),
  });
  const plane = { changes: 0, last: undefined as LbSnapshot | undefined };
  engine.onChange(() => {
    plane.changes++;
    plane.last = engine.snapshot();
  });
  return { clock, engine, plane };
}

/** The issue's setup: an ALB, two target groups checked on /health, `/api/*` → api, default → web. */
async function issueSetup(engine: SqliteElbEngine) {
  const lb = await engine.createLoadBalancer(scope, { name: "shop", subnets: ["subnet-1", "subnet-2"] });
  const api = await engine.createTargetGroup(scope, { name: "api", protocol: "HTTP", port: 8080, targetType: "ip", healthCheck: { path: "/health" } });
  const web = await engine.createTargetGroup(scope, { name: "web", protocol: "HTTP", port: 8081, targetType: "ip", healthCheck: { path: "/health" } });
  const listener = await engine.createListener(scope, { loadBalancerArn: lb.arn, protocol: "HTTP", port: 80, defaultActions: [forward(web.arn)] });
  const rule = await engine.createRule(scope, {
    listenerArn: listener.arn,
    priority: 10,
    conditions: [{ field: "path-pattern", values: ["/api/*"], legacy: true }],
    actions: [forward(api.arn)],
  });
  return { lb, api, web, listener, rule };
}

async function rejectsWith(promise: Promise<unknown>, code: string, what: string): Promise<void> {
  await assert.rejects(promise, (e: unknown) => {
    assert.ok(isBerthError(e), `${what}: a BerthError, got ${String(e)}`);
    assert.equal(e.code, code, `${what}: ${e.message}`);
    return true;
  });
}

test("the issue's setup: ARNs in AWS's form and the snapshot the data plane runs", async () => {
  const { engine, plane } = harness();
  const { lb, api, web, listener, rule } = await issueSetup(engine);
  assert.match(lb.arn, /^arn:aws:elasticloadbalancing:ap-south-1:123456789012:loadbalancer\/app\/shop\/[0-9a-f]{16}$/, "load balancer ARN");
  assert.match(api.arn, /^arn:aws:elasticloadbalancing:ap-south-1:123456789012:targetgroup\/api\/[0-9a-f]{16}$/, "target group ARN");
  const lbPath = lb.arn.split("loadbalancer/")[1]!;
  assert.match(listener.arn, new RegExp(`:listener/${lbPath}/[0-9a-f]{16}$`), "listener ARN");
  assert.match(rule.arn, new RegExp(`:listener-rule/${lbPath}/${listener.arn.slice(-16)}/[0-9a-f]{16}$`), "rule ARN");
  assert.match(lb.dnsName, /^shop-\d{10}\.ap-south-1\.elb\.localhost$/, "DNS name");
  assert.equal(lb.state, "provisioning", "a new load balancer is provisioning");
  const described = await engine.describeLoadBalancers(scope, {});
  assert.equal(described.items[0]!.state, "active", "then active");

  await engine.registerTargets(scope, api.arn, [{ id: "10.0.0.1" }, { id: "10.0.0.2", port: 9000 }]);
  assert.ok(plane.changes >= 6, `the data plane was told of every change (${plane.changes})`);
  const snap = plane.last!;
  assert.deepEqual(snap, engine.snapshot(), "what subscribers read is the current snapshot");
  assert.equal(snap.loadBalancers.length, 1, "one load balancer");
  const l = snap.loadBalancers[0]!;
  assert.equal(l.type, "application", "type");
  assert.equal(l.attributes["idle_timeout.timeout_seconds"], "60", "ALB idle timeout default");
  assert.deepEqual(
    l.listeners.map((x) => ({ protocol: x.protocol, port: x.port, bindPort: x.bindPort, bindHost: x.bindHost })),
    [{ protocol: "HTTP", port: 80, bindPort: 10_080, bindHost: "0.0.0.0" }],
    "the listener with the port bindPortFor chose",
  );
  assert.deepEqual(l.listeners[0]!.rules, [
    { arn: rule.arn, priority: 10, conditions: [{ field: "path-pattern", values: ["/api/*"] }], actions: [{ type: "forward", targetGroups: [{ arn: api.arn, weight: 1 }] }] },
  ], "the path rule");
  assert.deepEqual(l.listeners[0]!.defaultActions, [{ type: "forward", targetGroups: [{ arn: web.arn, weight: 1 }] }], "the default forward");
  const apiSpec = snap.targetGroups.find((g) => g.arn === api.arn)!;
  assert.deepEqual(apiSpec.healthCheck, {
    enabled: true, protocol: "HTTP", port: "traffic-port", path: "/health", intervalSeconds: 30, timeoutSeconds: 5, healthyThreshold: 5, unhealthyThreshold: 2, httpCode: "200",
  }, "ALB's health check defaults with the given path");
  assert.equal(apiSpec.attributes["deregistration_delay.timeout_seconds"], "300", "deregistration delay default");
  assert.deepEqual(apiSpec.targets, [
    { id: "10.0.0.1", port: 8080, address: "10.0.0.1", state: "registered" },
    { id: "10.0.0.2", port: 9000, address: "10.0.0.2", state: "registered" },
  ], "targets with the group's port by default");
  const groups = await engine.describeTargetGroups(scope, { loadBalancerArn: lb.arn });
  assert.deepEqual(groups.items.map((g) => [g.name, g.loadBalancerArns]), [["api", [lb.arn]], ["web", [lb.arn]]], "groups by load balancer");
  const rules = await engine.describeRules(scope, { listenerArn: listener.arn });
  assert.deepEqual(rules.items.map((r) => [r.priority, r.isDefault]), [[10, false], [undefined, true]], "the default rule comes last");
});

test("target health: unused, initial, the data plane's verdict, draining until drained or the delay", async () => {
  const { engine, plane, clock } = harness();
  const { lb, api } = await issueSetup(engine);
  const spare = await engine.createTargetGroup(scope, { name: "spare", protocol: "HTTP", port: 80, targetType: "ip", healthCheck: {} });
  await engine.registerTargets(scope, spare.arn, [{ id: "10.0.1.1" }]);
  assert.deepEqual((await engine.targetHealth(scope, spare.arn)).map((t) => [t.state, t.reason]), [["unused", "Target.NotInUse"]], "a group no listener uses");

  await engine.registerTargets(scope, api.arn, [{ id: "10.0.0.1" }, { id: "10.0.0.2" }, { id: "10.0.0.3" }]);
  const states = async () => (await engine.targetHealth(scope, api.arn)).map((t) => `${t.id}:${t.state}:${t.reason ?? ""}`);
  assert.deepEqual(await states(), ["10.0.0.1:initial:Elb.RegistrationInProgress", "10.0.0.2:initial:Elb.RegistrationInProgress", "10.0.0.3:initial:Elb.RegistrationInProgress"], "never reported");

  engine.applyHealth([
    { targetGroupArn: api.arn, id: "10.0.0.1", port: 8080, state: "healthy" },
    { targetGroupArn: api.arn, id: "10.0.0.2", port: 8080, state: "unhealthy", reason: "Target.ResponseCodeMismatch", description: "Health checks failed with these codes: [500]" },
  ]);
  assert.deepEqual(await states(), ["10.0.0.1:healthy:", "10.0.0.2:unhealthy:Target.ResponseCodeMismatch", "10.0.0.3:initial:Elb.RegistrationInProgress"], "the data plane's verdicts");
  assert.equal((await engine.targetHealth(scope, api.arn, [{ id: "10.0.0.2" }]))[0]!.description, "Health checks failed with these codes: [500]", "description kept");
  assert.deepEqual(
    (await engine.targetHealth(scope, api.arn, [{ id: "10.9.9.9", port: 1 }])).map((t) => [t.state, t.reason]),
    [["unused", "Target.NotRegistered"]],
    "a target asked for but not registered",
  );

  const before = plane.changes;
  await engine.deregisterTargets(scope, api.arn, [{ id: "10.0.0.1" }, { id: "10.0.0.2" }]);
  assert.ok(plane.changes > before, "deregistration reaches the data plane");
  assert.deepEqual(
    plane.last!.targetGroups.find((g) => g.arn === api.arn)!.targets.map((t) => `${t.id}:${t.state}`),
    ["10.0.0.1:draining", "10.0.0.2:draining", "10.0.0.3:registered"],
    "draining targets stay in the snapshot",
  );
  assert.deepEqual((await states()).slice(0, 2), ["10.0.0.1:draining:Target.DeregistrationInProgress", "10.0.0.2:draining:Target.DeregistrationInProgress"], "draining");

  engine.applyHealth([{ targetGroupArn: api.arn, id: "10.0.0.1", port: 8080, state: "draining", drained: true }]);
  assert.deepEqual(await states(), ["10.0.0.2:draining:Target.DeregistrationInProgress", "10.0.0.3:initial:Elb.RegistrationInProgress"], "drained: gone");

  clock.advance(299_000);
  engine.tick(clock.now());
  assert.equal((await engine.targetHealth(scope, api.arn)).length, 2, "still draining before the 300 s delay");
  clock.advance(1_000);
  engine.tick(clock.now());
  assert.deepEqual(await states(), ["10.0.0.3:initial:Elb.RegistrationInProgress"], "the delay passed: gone");
  assert.deepEqual(plane.last!.targetGroups.find((g) => g.arn === api.arn)!.targets.map((t) => t.id), ["10.0.0.3"], "and gone from the snapshot");

  await engine.deregisterTargets(scope, api.arn, [{ id: "10.0.0.3" }]);
  await engine.registerTargets(scope, api.arn, [{ id: "10.0.0.3" }]);
  assert.deepEqual(await states(), ["10.0.0.3:initial:Elb.RegistrationInProgress"], "registering a draining target again");

  await engine.modifyTargetGroupAttributes(scope, api.arn, { "deregistration_delay.timeout_seconds": "0" });
  await engine.deregisterTargets(scope, api.arn, [{ id: "10.0.0.3" }]);
  assert.deepEqual(await states(), [], "a zero delay removes at once");
  await engine.deregisterTargets(scope, spare.arn, [{ id: "10.0.1.1" }]);
  assert.deepEqual(await engine.targetHealth(scope, spare.arn), [], "an unused group has nothing to drain");
  assert.ok(lb.arn.length > 0, "load balancer kept");
});

test("ECS ports: describeTargetGroup, register, deregister and health for instance targets", async () => {
  const addresses: Record<string, string> = { "i-0123456789abcdef0": "192.168.1.10" };
  const { engine, plane } = harness({ instanceAddress: (id) => addresses[id] });
  const lb = await engine.createLoadBalancer(scope, { name: "svc" });
  const tg = await engine.createTargetGroup(scope, { name: "svc", protocol: "HTTP", port: 80, healthCheck: { intervalSeconds: 10, healthyThreshold: 3 } });
  assert.equal(await engine.describeTargetGroup(scope, tg.arn.replace("ap-south-1", "eu-west-1")), undefined, "another region's ARN");
  await engine.createListener(scope, { loadBalancerArn: lb.arn, protocol: "HTTP", port: 8080, defaultActions: [forward(tg.arn)] });
  const info = await engine.describeTargetGroup(scope, tg.arn);
  assert.deepEqual(
    info && { type: info.targetType, lbs: info.loadBalancerArns, interval: info.healthCheck.intervalSeconds, healthy: info.healthCheck.healthyThreshold, delay: info.deregistrationDelaySeconds },
    { type: "instance", lbs: [lb.arn], interval: 10, healthy: 3, delay: 300 },
    "what the ECS integration reads",
  );
  await engine.registerTargets(scope, tg.arn, [{ id: "i-0123456789abcdef0", port: 32768, availabilityZone: "ap-south-1a" }]);
  assert.deepEqual(plane.last!.targetGroups[0]!.targets, [
    { id: "i-0123456789abcdef0", port: 32768, address: "192.168.1.10", availabilityZone: "ap-south-1a", state: "registered" },
  ], "an instance target resolved to its host's address");
  await rejectsWith(engine.registerTargets(scope, tg.arn, [{ id: "i-ffffffffffffffff0" }]), "InvalidTarget", "unknown instance");
  const health = await engine.targetHealth(scope, tg.arn);
  assert.deepEqual(health.map((h) => [h.id, h.port, h.healthCheckPort, h.state]), [["i-0123456789abcdef0", 32768, "32768", "initial"]], "health check port is the traffic port");
  await engine.deregisterTargets(scope, tg.arn, [{ id: "i-0123456789abcdef0", port: 32768 }]);
  assert.equal((await engine.targetHealth(scope, tg.arn))[0]!.state, "draining", "draining after deregistration");
});

test("bad input is refused with ELB's error and changes nothing", async () => {
  const { engine, plane } = harness();
  const { lb, api, web, listener, rule } = await issueSetup(engine);
  const nlb = await engine.createLoadBalancer(scope, { name: "tcp", type: "network" });
  const tcp = await engine.createTargetGroup(scope, { name: "tcp", protocol: "TCP", port: 5432, targetType: "ip", healthCheck: {} });
  const nlbListener = await engine.createListener(scope, { loadBalancerArn: nlb.arn, protocol: "TCP", port: 5432, defaultActions: [forward(tcp.arn)] });
  const other = await engine.createLoadBalancer(scope, { name: "other" });
  const second = await engine.createRule(scope, { listenerArn: listener.arn, priority: 20, conditions: [{ field: "http-request-method", values: ["POST"] }], actions: [forward(api.arn)] });
  const rule11 = (conditions: RuleCondition[], actions: Action[] = [forward(api.arn)]) => () =>
    engine.createRule(scope, { listenerArn: listener.arn, priority: 11, conditions, actions });
  const cases: [string, string, () => Promise<unknown>][] = [
    ["DuplicateLoadBalancerName", "same name", () => engine.createLoadBalancer(scope, { name: "shop" })],
    ["Validation", "name with a dot", () => engine.createLoadBalancer(scope, { name: "a.b" })],
    ["Validation", "internal- prefix", () => engine.createLoadBalancer(scope, { name: "internal-x" })],
    ["DuplicateTargetGroupName", "same group name", () => engine.createTargetGroup(scope, { name: "api", protocol: "HTTP", port: 1, healthCheck: {} })],
    ["InvalidConfigurationRequest", "lambda targets", () => engine.createTargetGroup(scope, { name: "fn", targetType: "lambda", healthCheck: {} })],
    ["Validation", "timeout not below interval", () => engine.createTargetGroup(scope, { name: "x", protocol: "HTTP", port: 1, healthCheck: { intervalSeconds: 5, timeoutSeconds: 5 } })],
    ["InvalidConfigurationRequest", "path on a TCP check", () => engine.createTargetGroup(scope, { name: "x", protocol: "TCP", port: 1, healthCheck: { path: "/" } })],
    ["Validation", "matcher out of range", () => engine.modifyTargetGroup(scope, api.arn, { matcher: "600" })],
    ["PriorityInUse", "priority taken", () => engine.createRule(scope, { listenerArn: listener.arn, priority: 10, conditions: [{ field: "host-header", values: ["a.example"], legacy: false }], actions: [forward(api.arn)] })],
    ["Validation", "two path-pattern conditions", rule11([{ field: "path-pattern", values: ["/a"], legacy: true }, { field: "path-pattern", values: ["/b"], legacy: true }])],
    ["Validation", "six condition values", rule11([{ field: "path-pattern", values: ["/1", "/2", "/3", "/4", "/5", "/6"], legacy: true }])],
    ["Validation", "a bad source CIDR", rule11([{ field: "source-ip", values: ["10.0.0.0/33"] }])],
    ["Validation", "no condition", rule11([])],
    ["InvalidLoadBalancerAction", "a redirect to itself", rule11([{ field: "path-pattern", values: ["/r"], legacy: true }], [
      { type: "redirect", redirect: { protocol: "#{protocol}", port: "#{port}", host: "#{host}", path: "/#{path}", query: "#{query}", statusCode: "HTTP_301" } },
    ])],
    ["InvalidLoadBalancerAction", "two terminal actions", rule11([{ field: "path-pattern", values: ["/r"], legacy: true }], [forward(api.arn), forward(web.arn)])],
    ["DuplicateListener", "port taken", () => engine.createListener(scope, { loadBalancerArn: lb.arn, protocol: "HTTP", port: 80, defaultActions: [forward(web.arn)] })],
    ["Validation", "TCP on an ALB", () => engine.createListener(scope, { loadBalancerArn: lb.arn, protocol: "TCP", port: 81, defaultActions: [forward(tcp.arn)] })],
    ["IncompatibleProtocols", "TCP group behind HTTP", () => engine.createListener(scope, { loadBalancerArn: lb.arn, protocol: "HTTP", port: 81, defaultActions: [forward(tcp.arn)] })],
    ["IncompatibleProtocols", "HTTP group behind TCP", () => engine.createListener(scope, { loadBalancerArn: nlb.arn, protocol: "TCP", port: 81, defaultActions: [forward(api.arn)] })],
    ["TargetGroupAssociationLimit", "a group on a second load balancer", () => engine.createListener(scope, { loadBalancerArn: other.arn, protocol: "HTTP", port: 80, defaultActions: [forward(api.arn)] })],
    ["TargetGroupNotFound", "forward to nothing", () => engine.createListener(scope, { loadBalancerArn: lb.arn, protocol: "HTTP", port: 81, defaultActions: [forward(api.arn.replace(/.{16}$/, "ffffffffffffffff"))] })],
    ["Validation", "HTTPS without a certificate", () => engine.createListener(scope, { loadBalancerArn: lb.arn, protocol: "HTTPS", port: 443, defaultActions: [forward(web.arn)] })],
    ["CertificateNotFound", "HTTPS with an unknown certificate", () => engine.createListener(scope, { loadBalancerArn: lb.arn, protocol: "HTTPS", port: 443, certificates: ["arn:aws:acm:ap-south-1:123456789012:certificate/00000000-0000-4000-8000-000000000000"], defaultActions: [forward(web.arn)] })],
    ["InvalidConfigurationRequest", "rules on an NLB listener", () => engine.createRule(scope, { listenerArn: nlbListener.arn, priority: 1, conditions: [{ field: "path-pattern", values: ["/"], legacy: true }], actions: [forward(tcp.arn)] })],
    ["ResourceInUse", "delete a group in use", () => engine.deleteTargetGroup(scope, api.arn)],
    ["InvalidTarget", "not an IP", () => engine.registerTargets(scope, api.arn, [{ id: "i-0123" }])],
    ["TooManyTargets", "1,001 targets", () => engine.registerTargets(scope, api.arn, Array.from({ length: 1001 }, (_, i) => ({ id: `10.1.${i >> 8}.${i & 255}` })))],
    ["InvalidTarget", "deregister what is not registered", () => engine.deregisterTargets(scope, api.arn, [{ id: "10.2.2.2" }])],
    ["Validation", "unknown attribute", () => engine.modifyLoadBalancerAttributes(scope, lb.arn, { "no.such": "1" })],
    ["InvalidConfigurationRequest", "idle timeout 0", () => engine.modifyLoadBalancerAttributes(scope, lb.arn, { "routing.http2.enabled": "false", "idle_timeout.timeout_seconds": "0" })],
    ["InvalidConfigurationRequest", "unknown algorithm", () => engine.modifyTargetGroupAttributes(scope, api.arn, { "load_balancing.algorithm.type": "random" })],
    ["LoadBalancerNotFound", "describe unknown name", () => engine.describeLoadBalancers(scope, { names: ["nope"] })],
    ["LoadBalancerNotFound", "another region's ARN", () => engine.loadBalancerAttributes({ ...scope, region: "eu-west-1" }, lb.arn)],
    ["DuplicateTagKeys", "duplicate tag keys", () => engine.addTags(scope, [lb.arn], [{ key: "a", value: "1" }, { key: "a", value: "2" }])],
    ["PriorityInUse", "SetRulePriorities onto a taken priority", () => engine.setRulePriorities(scope, [{ ruleArn: rule.arn, priority: 20 }])],
    ["Validation", "SetRulePriorities naming a rule twice", () => engine.setRulePriorities(scope, [{ ruleArn: second.arn, priority: 30 }, { ruleArn: second.arn, priority: 31 }])],
  ];
  const settled = JSON.stringify(engine.snapshot());
  const settledChanges = plane.changes;
  for (const [code, what, call] of cases) await rejectsWith(call(), code, what);
  assert.equal(JSON.stringify(engine.snapshot()), settled, "no refused call changed the configuration");
  assert.equal(plane.changes, settledChanges, "and none was announced");
  assert.deepEqual(await engine.describeTags(scope, [lb.arn]), [{ arn: lb.arn, tags: [] }], "no tags were written");
});

test("SetRulePriorities swaps two rules in one step", async () => {
  const { engine } = harness();
  const { listener, api } = await issueSetup(engine);
  const second = await engine.createRule(scope, { listenerArn: listener.arn, priority: 20, conditions: [{ field: "http-request-method", values: ["POST"] }], actions: [forward(api.arn)] });
  const first = (await engine.describeRules(scope, { listenerArn: listener.arn })).items[0]!;
  await engine.setRulePriorities(scope, [{ ruleArn: first.arn, priority: 20 }, { ruleArn: second.arn, priority: 10 }]);
  const after = (await engine.describeRules(scope, { listenerArn: listener.arn })).items.map((r) => [r.arn, r.priority]);
  assert.deepEqual(after, [[second.arn, 10], [first.arn, 20], [after[2]![0], undefined]], "swapped");
  await rejectsWith(engine.deleteRule(scope, after[2]![0] as string), "OperationNotPermitted", "the default rule stays");
});

test("attributes: ALB and NLB defaults, changes kept, deletion protection honoured", async () => {
  const { engine } = harness();
  const alb = await engine.createLoadBalancer(scope, { name: "a" });
  const nlb = await engine.createLoadBalancer(scope, { name: "n", type: "network" });
  const albAttrs = await engine.loadBalancerAttributes(scope, alb.arn);
  assert.equal(albAttrs["routing.http2.enabled"], "true", "ALB http2");
  assert.equal(albAttrs["deletion_protection.enabled"], "false", "ALB deletion protection");
  const nlbAttrs = await engine.loadBalancerAttributes(scope, nlb.arn);
  assert.equal(nlbAttrs["load_balancing.cross_zone.enabled"], "false", "NLB cross zone");
  assert.equal(nlbAttrs["idle_timeout.timeout_seconds"], undefined, "no ALB keys on an NLB");
  const tcp = await engine.createTargetGroup(scope, { name: "t", protocol: "TCP", port: 1, targetType: "ip", healthCheck: {} });
  assert.deepEqual(
    [tcp.healthCheck.protocol, tcp.healthCheck.intervalSeconds, tcp.healthCheck.timeoutSeconds, tcp.healthCheck.healthyThreshold, tcp.healthCheck.unhealthyThreshold, tcp.healthCheck.path],
    ["TCP", 30, 10, 5, 2, undefined],
    "NLB TCP health check defaults",
  );
  const tgAttrs = await engine.targetGroupAttributes(scope, tcp.arn);
  assert.equal(tgAttrs["stickiness.type"], "source_ip", "NLB stickiness type");
  assert.equal(tgAttrs["preserve_client_ip.enabled"], "false", "ip targets do not preserve the client IP by default");
  const changed = await engine.modifyLoadBalancerAttributes(scope, alb.arn, { "idle_timeout.timeout_seconds": "120", "deletion_protection.enabled": "true" });
  assert.equal(changed["idle_timeout.timeout_seconds"], "120", "idle timeout changed");
  await rejectsWith(engine.deleteLoadBalancer(scope, alb.arn), "OperationNotPermitted", "deletion protection");
  await engine.modifyLoadBalancerAttributes(scope, alb.arn, { "deletion_protection.enabled": "false" });
  await engine.deleteLoadBalancer(scope, alb.arn);
  await engine.deleteLoadBalancer(scope, alb.arn); // AWS: deleting again succeeds
  assert.deepEqual((await engine.describeLoadBalancers(scope, {})).items.map((l) => l.name), ["n"], "deleted");
});

test("deleting a load balancer deletes its listeners and frees its target groups", async () => {
  const { engine } = harness();
  const { lb, api, listener } = await issueSetup(engine);
  await engine.deleteLoadBalancer(scope, lb.arn);
  await rejectsWith(engine.describeListeners(scope, { arns: [listener.arn] }), "ListenerNotFound", "listener gone");
  assert.deepEqual((await engine.describeTargetGroup(scope, api.arn))?.loadBalancerArns, [], "group no longer in use");
  await engine.deleteTargetGroup(scope, api.arn);
  assert.equal(engine.snapshot().loadBalancers.length, 0, "nothing left to serve");
});

test("an imported certificate serves HTTPS listeners, is never described with its key, and cannot be deleted in use", async () => {
  const dir = tempDir("berth-elb-");
  try {
    execFileSync("openssl", ["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", join(dir, "k.pem"), "-out", join(dir, "c.pem"), "-days", "30", "-subj", "/CN=shop.example.test", "-addext", "subjectAltName=DNS:shop.example.test,DNS:www.shop.example.test"], { stdio: "ignore" });
    const certificatePem = readFileSync(join(dir, "c.pem"), "utf8");
    const privateKeyPem = readFileSync(join(dir, "k.pem"), "utf8");
    const { engine } = harness({ path: join(dir, "elb.db") });
    assert.equal(statSync(join(dir, "elb.db")).mode & 0o777, 0o600, "the file holding private keys is private");
    const arn = await engine.importCertificate(scope, { certificatePem, privateKeyPem });
    assert.match(arn, /^arn:aws:acm:ap-south-1:123456789012:certificate\/[0-9a-f-]{36}$/, "ACM ARN");
    const cert = await engine.describeCertificate(scope, arn);
    assert.deepEqual([cert.domainName, cert.subjectAlternativeNames, cert.keyAlgorithm, cert.status, cert.type], ["shop.example.test", ["shop.example.test", "www.shop.example.test"], "RSA_2048", "ISSUED", "IMPORTED"], "facts read from the PEM");
    assert.ok(!JSON.stringify(cert).includes("PRIVATE KEY"), "no key in Describe");
    const lb = await engine.createLoadBalancer(scope, { name: "tls" });
    const tg = await engine.createTargetGroup(scope, { name: "tls", protocol: "HTTP", port: 80, targetType: "ip", healthCheck: {} });
    const listener = await engine.createListener(scope, { loadBalancerArn: lb.arn, protocol: "HTTPS", port: 443, certificates: [arn], defaultActions: [forward(tg.arn)] });
    assert.equal(listener.sslPolicy, "ELBSecurityPolicy-2016-08", "default SSL policy");
    const snap = engine.snapshot();
    assert.deepEqual(snap.loadBalancers[0]!.listeners[0]!.certificateArns, [arn], "listener names its certificate");
    assert.equal(snap.certificates[arn]?.privateKeyPem, privateKeyPem, "the data plane gets the key");
    assert.deepEqual((await engine.describeCertificate(scope, arn)).inUseBy, [lb.arn], "in use by the load balancer");
    await rejectsWith(engine.deleteCertificate(scope, arn), "ResourceInUse", "in use");
    await rejectsWith(engine.importCertificate(scope, { certificatePem, privateKeyPem: privateKeyPem.replace(/[A-Za-z]{10}/, "AAAAAAAAAA") }), "Validation", "a damaged key");
    await engine.close();
    const reopened = new SqliteElbEngine({ path: join(dir, "elb.db"), clock: new FakeClock() });
    assert.deepEqual(reopened.snapshot(), snap, "everything survives a restart");
    await reopened.close();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
