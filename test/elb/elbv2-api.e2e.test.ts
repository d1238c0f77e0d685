/**
 * ELBv2 and ACM end to end: a real Berth server driven by the AWS CLI (`aws elbv2`, `aws acm`)
 * and the JS SDK. The setup built with `aws elbv2` alone, Describe outputs in AWS's
 * shapes, the snapshot the engine keeps for the data plane, registration and draining states,
 * AWS's errors for bad input with nothing changed, an HTTPS listener on an imported
 * certificate, and an HTTPS target group whose target is reached over TLS.
 */
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { existsSync, readFileSync, rmSync } from "node:fs";
import { createServer as createHttpsServer } from "node:https";
import type { AddressInfo } from "node:net";
import { join } from "node:path";
import { after, before, test } from "node:test";
import type { TLSSocket } from "node:tls";
import {
  AddTagsCommand,
  CreateListenerCommand,
  CreateLoadBalancerCommand,
  CreateRuleCommand,
  CreateTargetGroupCommand,
  DescribeRulesCommand,
  DescribeTagsCommand,
  DescribeTargetGroupsCommand,
  ElasticLoadBalancingV2Client,
} from "@aws-sdk/client-elastic-load-balancing-v2";
import { FakeClock } from "../../src/core/clock.ts";
import { Envelope } from "../../src/secrets/envelope.ts";
import { loadMasterKey } from "../../src/secrets/master-key.ts";
import { SqliteElbEngine } from "../../src/elb/sqlite-elb-engine.ts";
import { REGION, type TestServer, aws, freePort, startTestServer, tempDir, until } from "../support/harness.ts";

let server: TestServer;
before(async () => {
  server = await startTestServer();
});
after(async () => {
  await server.close();
});

const elb = (...args: string[]) => aws(server, ["elbv2", ...args]);

/** The engine's snapshot, read through a second connection to the server's elb.db. */
function snapshotOnDisk() {
  // Private keys are sealed under the data dir's master key, as the server seals them.
  const keySealer = new Envelope(loadMasterKey({ dataDir: server.dataDir })).textSealer("acm");
  const reader = new SqliteElbEngine({ path: join(server.dataDir, "elb.db"), clock: new FakeClock(), keySealer });
  try {
    return reader.snapshot();
  } finally {
    void reader.close();
  }
}

async function ok(args: string[]): Promise<any> { // eslint-disable-line @typescript-eslint/no-explicit-any
  const r = await elb(...args);
  assert.equal(r.code, 0, `aws elbv2 ${args[0]} failed: ${r.stderr}`);
  return r.json;
}

async function fails(args: string[], exception: string): Promise<string> {
  const r = await elb(...args);
  assert.equal(r.code, 254, `aws elbv2 ${args[0]} should fail with ${exception}: ${r.stdout}${r.stderr}`);
  assert.match(r.stderr, new RegExp(`\\(${exception}\\)`), `aws elbv2 ${args[0]}: ${r.stderr}`);
  return r.stderr;
}

test("the issue's setup with aws elbv2 alone: Describe in AWS's shapes and the data plane's snapshot", async () => {
  const port = await freePort();
  const lb = (await ok(["create-load-balancer", "--name", "shop", "--type", "application", "--subnets", "subnet-aaa", "subnet-bbb", "--security-groups", "sg-123", "--tags", "Key=team,Value=web"])).LoadBalancers[0];
  assert.match(lb.LoadBalancerArn, new RegExp(`^arn:aws:elasticloadbalancing:${REGION}:\\d{12}:loadbalancer/app/shop/[0-9a-f]{16}$`), "ALB ARN");
  assert.equal(lb.State.Code, "provisioning", "provisioning at first");
  const group = async (name: string, containerPort: number) =>
    (await ok(["create-target-group", "--name", name, "--protocol", "HTTP", "--port", String(containerPort), "--vpc-id", "vpc-1", "--target-type", "ip", "--health-check-path", "/health"])).TargetGroups[0];
  const api = await group("shop-api", 8080);
  const web = await group("shop-web", 8081);
  const listener = (await ok(["create-listener", "--load-balancer-arn", lb.LoadBalancerArn, "--protocol", "HTTP", "--port", String(port), "--default-actions", `Type=forward,TargetGroupArn=${web.TargetGroupArn}`])).Listeners[0];
  const rule = (await ok(["create-rule", "--listener-arn", listener.ListenerArn, "--priority", "10", "--conditions", "Field=path-pattern,Values=/api/*", "--actions", `Type=forward,TargetGroupArn=${api.TargetGroupArn}`])).Rules[0];

  const described = (await ok(["describe-load-balancers", "--names", "shop"])).LoadBalancers[0];
  assert.deepEqual(
    {
      name: described.LoadBalancerName,
      state: described.State.Code,
      type: described.Type,
      scheme: described.Scheme,
      zones: described.AvailabilityZones.map((z: { ZoneName: string; SubnetId: string }) => `${z.ZoneName}/${z.SubnetId}`),
      groups: described.SecurityGroups,
      ipType: described.IpAddressType,
    },
    { name: "shop", state: "active", type: "application", scheme: "internet-facing", zones: [`${REGION}a/subnet-aaa`, `${REGION}b/subnet-bbb`], groups: ["sg-123"], ipType: "ipv4" },
    "DescribeLoadBalancers",
  );
  assert.match(described.DNSName, new RegExp(`^shop-\\d{10}\\.${REGION}\\.elb\\.localhost$`), "DNS name");
  assert.ok(!Number.isNaN(Date.parse(described.CreatedTime)), `CreatedTime is a timestamp: ${described.CreatedTime}`);

  const groups = (await ok(["describe-target-groups", "--load-balancer-arn", lb.LoadBalancerArn])).TargetGroups;
  assert.deepEqual(
    groups.map((g: any) => [g.TargetGroupName, g.HealthCheckPath, g.HealthCheckIntervalSeconds, g.HealthCheckTimeoutSeconds, g.HealthyThresholdCount, g.UnhealthyThresholdCount, g.Matcher.HttpCode, g.LoadBalancerArns]), // eslint-disable-line @typescript-eslint/no-explicit-any
    [["shop-api", "/health", 30, 5, 5, 2, "200", [lb.LoadBalancerArn]], ["shop-web", "/health", 30, 5, 5, 2, "200", [lb.LoadBalancerArn]]],
    "both groups with ALB's health check defaults, used by the ALB",
  );
  const rules = (await ok(["describe-rules", "--listener-arn", listener.ListenerArn])).Rules;
  assert.deepEqual(rules.map((r: any) => [r.Priority, r.IsDefault]), [["10", false], ["default", true]], "the path rule and the default rule"); // eslint-disable-line @typescript-eslint/no-explicit-any
  assert.deepEqual(rules[0].Conditions, [{ Field: "path-pattern", Values: ["/api/*"], PathPatternConfig: { Values: ["/api/*"] } }], "the legacy form echoed with its config");
  assert.equal(rules[0].RuleArn, rule.RuleArn, "same rule");
  assert.deepEqual(rules[1].Actions[0].ForwardConfig.TargetGroups, [{ TargetGroupArn: web.TargetGroupArn, Weight: 1 }], "default forward");
  const listeners = (await ok(["describe-listeners", "--load-balancer-arn", lb.LoadBalancerArn])).Listeners;
  assert.deepEqual(listeners.map((l: any) => [l.Protocol, l.Port]), [["HTTP", port]], "DescribeListeners"); // eslint-disable-line @typescript-eslint/no-explicit-any
  const attrs = (await ok(["describe-load-balancer-attributes", "--load-balancer-arn", lb.LoadBalancerArn])).Attributes;
  assert.ok(attrs.some((a: { Key: string; Value: string }) => a.Key === "idle_timeout.timeout_seconds" && a.Value === "60"), "idle timeout 60 by default");
  const modified = (await ok(["modify-target-group-attributes", "--target-group-arn", api.TargetGroupArn, "--attributes", "Key=deregistration_delay.timeout_seconds,Value=30", "Key=load_balancing.algorithm.type,Value=least_outstanding_requests"])).Attributes;
  assert.ok(modified.some((a: { Key: string; Value: string }) => a.Key === "deregistration_delay.timeout_seconds" && a.Value === "30"), "delay changed");
  const tags = (await ok(["describe-tags", "--resource-arns", lb.LoadBalancerArn])).TagDescriptions;
  assert.deepEqual(tags, [{ ResourceArn: lb.LoadBalancerArn, Tags: [{ Key: "team", Value: "web" }] }], "tags given at creation");

  const snap = snapshotOnDisk();
  const spec = snap.loadBalancers.find((l) => l.arn === lb.LoadBalancerArn)!;
  assert.deepEqual(spec.listeners.map((l) => [l.protocol, l.port, l.bindPort]), [["HTTP", port, port]], "the listener binds the user's port");
  assert.deepEqual(spec.listeners[0]!.rules.map((r) => [r.priority, r.conditions, r.actions]), [[10, [{ field: "path-pattern", values: ["/api/*"] }], [{ type: "forward", targetGroups: [{ arn: api.TargetGroupArn, weight: 1 }] }]]], "the rule as the data plane reads it");
  assert.equal(snap.targetGroups.find((g) => g.arn === api.TargetGroupArn)!.attributes["load_balancing.algorithm.type"], "least_outstanding_requests", "attributes reach the data plane");

  // Registration and draining as DescribeTargetHealth shows them.
  await ok(["register-targets", "--target-group-arn", api.TargetGroupArn, "--targets", "Id=127.0.0.1,Port=9001", "Id=127.0.0.1,Port=9002", "Id=127.0.0.1,Port=9003"]);
  const health = async () =>
    (await ok(["describe-target-health", "--target-group-arn", api.TargetGroupArn])).TargetHealthDescriptions.map(
      (d: any) => `${d.Target.Port}:${d.TargetHealth.State}:${d.TargetHealth.Reason}:${d.HealthCheckPort}`, // eslint-disable-line @typescript-eslint/no-explicit-any
    );
  // Not yet checked: registration in progress, or (once the data plane took the targets) the
  // first health check under way.
  const initial = (await health()).map((h: string) => h.replace("Elb.InitialHealthChecking", "Elb.RegistrationInProgress"));
  assert.deepEqual(initial, ["9001:initial:Elb.RegistrationInProgress:9001", "9002:initial:Elb.RegistrationInProgress:9002", "9003:initial:Elb.RegistrationInProgress:9003"], "registered, not yet checked");
  await ok(["deregister-targets", "--target-group-arn", api.TargetGroupArn, "--targets", "Id=127.0.0.1,Port=9003"]);
  // The running data plane has nothing in flight to 9003, so it may report it drained at once:
  // the target is draining or already gone, never registered.
  const after = await health();
  assert.ok(after.length === 2 || after[2] === "9003:draining:Target.DeregistrationInProgress:9003", `draining after deregistration: ${after.join(" ")}`);
  const onDisk = snapshotOnDisk().targetGroups.find((g) => g.arn === api.TargetGroupArn)!.targets.map((t) => `${t.port}:${t.state}`);
  assert.deepEqual(onDisk.filter((t) => t !== "9003:draining"), ["9001:registered", "9002:registered"], "the data plane sees 9003 draining or gone");
  const spare = (await ok(["create-target-group", "--name", "shop-spare", "--protocol", "HTTP", "--port", "80", "--target-type", "ip"])).TargetGroups[0];
  await ok(["register-targets", "--target-group-arn", spare.TargetGroupArn, "--targets", "Id=10.0.0.9"]);
  const unused = (await ok(["describe-target-health", "--target-group-arn", spare.TargetGroupArn])).TargetHealthDescriptions[0].TargetHealth;
  assert.deepEqual(unused, { State: "unused", Reason: "Target.NotInUse", Description: "Target group is not configured to receive traffic from the load balancer" }, "unused group");
});

test("bad input gets ELB's errors and changes nothing", async () => {
  const lb = (await ok(["create-load-balancer", "--name", "errs", "--subnets", "subnet-1"])).LoadBalancers[0];
  const tg = (await ok(["create-target-group", "--name", "errs", "--protocol", "HTTP", "--port", "80", "--target-type", "ip"])).TargetGroups[0];
  const tcp = (await ok(["create-target-group", "--name", "errs-tcp", "--protocol", "TCP", "--port", "80", "--target-type", "ip"])).TargetGroups[0];
  const listener = (await ok(["create-listener", "--load-balancer-arn", lb.LoadBalancerArn, "--protocol", "HTTP", "--port", String(await freePort()), "--default-actions", `Type=forward,TargetGroupArn=${tg.TargetGroupArn}`])).Listeners[0];
  await ok(["create-rule", "--listener-arn", listener.ListenerArn, "--priority", "5", "--conditions", "Field=host-header,Values=a.example.test", "--actions", "Type=fixed-response,FixedResponseConfig={StatusCode=404,ContentType=text/plain,MessageBody=gone}"]);
  const before = JSON.stringify(snapshotOnDisk());

  const priority = await fails(["create-rule", "--listener-arn", listener.ListenerArn, "--priority", "5", "--conditions", "Field=path-pattern,Values=/x", "--actions", `Type=forward,TargetGroupArn=${tg.TargetGroupArn}`], "PriorityInUse");
  assert.match(priority, /Priority '5' is currently in use/, "AWS's wording");
  await fails(["create-load-balancer", "--name", "errs"], "DuplicateLoadBalancerName");
  await fails(["create-target-group", "--name", "errs", "--protocol", "HTTP", "--port", "81", "--target-type", "ip"], "DuplicateTargetGroupName");
  await fails(["create-target-group", "--name", "errs-fn", "--target-type", "lambda"], "InvalidConfigurationRequest");
  await fails(["create-target-group", "--name", "errs-hc", "--protocol", "HTTP", "--port", "81", "--health-check-interval-seconds", "5", "--health-check-timeout-seconds", "6"], "ValidationError");
  await fails(["delete-target-group", "--target-group-arn", tg.TargetGroupArn], "ResourceInUse");
  await fails(["create-listener", "--load-balancer-arn", lb.LoadBalancerArn, "--protocol", "HTTP", "--port", String(listener.Port), "--default-actions", `Type=forward,TargetGroupArn=${tg.TargetGroupArn}`], "DuplicateListener");
  await fails(["create-listener", "--load-balancer-arn", lb.LoadBalancerArn, "--protocol", "HTTP", "--port", "1", "--default-actions", `Type=forward,TargetGroupArn=${tcp.TargetGroupArn}`], "IncompatibleProtocols");
  await fails(["create-listener", "--load-balancer-arn", lb.LoadBalancerArn, "--protocol", "TCP", "--port", "1", "--default-actions", `Type=forward,TargetGroupArn=${tcp.TargetGroupArn}`], "ValidationError");
  await fails(["register-targets", "--target-group-arn", tg.TargetGroupArn, "--targets", "Id=not-an-ip"], "InvalidTarget");
  await fails(["describe-load-balancers", "--names", "no-such-lb"], "LoadBalancerNotFound");
  await fails(["describe-target-groups", "--names", "no-such-group"], "TargetGroupNotFound");
  await fails(["describe-listeners"], "ValidationError");
  await fails(["delete-listener", "--listener-arn", `${listener.ListenerArn.slice(0, -16)}ffffffffffffffff`], "ListenerNotFound");
  await fails(["create-rule", "--listener-arn", listener.ListenerArn, "--priority", "6", "--conditions", '[{"Field":"path-pattern","Values":["/a"],"PathPatternConfig":{"Values":["/b"]}}]', "--actions", `Type=forward,TargetGroupArn=${tg.TargetGroupArn}`], "ValidationError");
  await fails(["modify-load-balancer-attributes", "--load-balancer-arn", lb.LoadBalancerArn, "--attributes", "Key=idle_timeout.timeout_seconds,Value=9999"], "InvalidConfigurationRequest");
  const other = (await ok(["create-load-balancer", "--name", "errs-other"])).LoadBalancers[0];
  const during = JSON.stringify(snapshotOnDisk());
  await fails(["create-listener", "--load-balancer-arn", other.LoadBalancerArn, "--protocol", "HTTP", "--port", "2", "--default-actions", `Type=forward,TargetGroupArn=${tg.TargetGroupArn}`], "TargetGroupAssociationLimit");
  assert.equal(JSON.stringify(snapshotOnDisk()), during, "the refused listener left nothing behind");
  assert.notEqual(before, during, "(the second load balancer itself is new)");
  assert.equal((await ok(["describe-rules", "--listener-arn", listener.ListenerArn])).Rules.length, 2, "still one rule and the default");
  assert.deepEqual((await ok(["describe-target-health", "--target-group-arn", tg.TargetGroupArn])).TargetHealthDescriptions, [], "no target registered");
});

test("the SDK: weighted forward with stickiness, header and query conditions, pagination, model validation", async () => {
  const client = new ElasticLoadBalancingV2Client({
    endpoint: server.url,
    region: REGION,
    credentials: { accessKeyId: server.identity.admin.accessKeyId, secretAccessKey: server.identity.admin.secretAccessKey },
    maxAttempts: 1,
  });
  try {
    const lb = (await client.send(new CreateLoadBalancerCommand({ Name: "sdk", Subnets: ["subnet-1"] }))).LoadBalancers![0]!;
    assert.ok(lb.CreatedTime instanceof Date && !Number.isNaN(lb.CreatedTime.getTime()), "CreatedTime parses as a date");
    const blue = (await client.send(new CreateTargetGroupCommand({ Name: "sdk-blue", Protocol: "HTTP", Port: 80, TargetType: "ip", Matcher: { HttpCode: "200-299" } }))).TargetGroups![0]!;
    const green = (await client.send(new CreateTargetGroupCommand({ Name: "sdk-green", Protocol: "HTTP", Port: 80, TargetType: "ip" }))).TargetGroups![0]!;
    const listener = (
      await client.send(
        new CreateListenerCommand({
          LoadBalancerArn: lb.LoadBalancerArn!,
          Protocol: "HTTP",
          Port: await freePort(),
          DefaultActions: [
            {
              Type: "forward",
              ForwardConfig: {
                TargetGroups: [{ TargetGroupArn: blue.TargetGroupArn!, Weight: 80 }, { TargetGroupArn: green.TargetGroupArn!, Weight: 20 }],
                TargetGroupStickinessConfig: { Enabled: true, DurationSeconds: 600 },
              },
            },
          ],
        }),
      )
    ).Listeners![0]!;
    assert.equal(listener.DefaultActions![0]!.TargetGroupArn, undefined, "no single TargetGroupArn for a weighted forward");
    assert.deepEqual(listener.DefaultActions![0]!.ForwardConfig?.TargetGroupStickinessConfig, { Enabled: true, DurationSeconds: 600 }, "stickiness echoed");
    await client.send(
      new CreateRuleCommand({
        ListenerArn: listener.ListenerArn!,
        Priority: 1,
        Conditions: [
          { Field: "http-header", HttpHeaderConfig: { HttpHeaderName: "X-Env", Values: ["beta"] } },
          { Field: "query-string", QueryStringConfig: { Values: [{ Key: "v", Value: "2" }] } },
        ],
        Actions: [{ Type: "forward", TargetGroupArn: green.TargetGroupArn! }],
      }),
    );
    const rules = (await client.send(new DescribeRulesCommand({ ListenerArn: listener.ListenerArn! }))).Rules!;
    assert.deepEqual(rules[0]!.Conditions, [
      { Field: "http-header", HttpHeaderConfig: { HttpHeaderName: "X-Env", Values: ["beta"] } },
      { Field: "query-string", QueryStringConfig: { Values: [{ Key: "v", Value: "2" }] } },
    ], "config forms echoed");
    const first = await client.send(new DescribeTargetGroupsCommand({ LoadBalancerArn: lb.LoadBalancerArn!, PageSize: 1 }));
    assert.equal(first.TargetGroups!.length, 1, "one per page");
    assert.ok(first.NextMarker, "a marker for the next page");
    const second = await client.send(new DescribeTargetGroupsCommand({ LoadBalancerArn: lb.LoadBalancerArn!, PageSize: 1, Marker: first.NextMarker! }));
    assert.deepEqual([first.TargetGroups![0]!.TargetGroupName, second.TargetGroups![0]!.TargetGroupName, second.NextMarker], ["sdk-blue", "sdk-green", undefined], "two pages");
    assert.equal(first.TargetGroups![0]!.Matcher?.HttpCode, "200-299", "matcher kept");
    await assert.rejects(
      client.send(new CreateRuleCommand({ ListenerArn: listener.ListenerArn!, Priority: 0, Conditions: [{ Field: "path-pattern", Values: ["/"] }], Actions: [{ Type: "forward", TargetGroupArn: blue.TargetGroupArn! }] })),
      (e: Error & { $metadata?: { httpStatusCode?: number } }) => {
        assert.equal(e.name, "ValidationError", `model validation: ${e.message}`);
        assert.equal(e.$metadata?.httpStatusCode, 400, "HTTP 400");
        assert.match(e.message, /priority/i, "names the member");
        return true;
      },
    );
    await client.send(new AddTagsCommand({ ResourceArns: [blue.TargetGroupArn!], Tags: [{ Key: "color", Value: "blue" }] }));
    const tags = await client.send(new DescribeTagsCommand({ ResourceArns: [blue.TargetGroupArn!] }));
    assert.deepEqual(tags.TagDescriptions![0]!.Tags, [{ Key: "color", Value: "blue" }], "tags");
  } finally {
    client.destroy();
  }
});

test("aws acm import-certificate with a self-signed certificate, and an HTTPS listener naming it", async (t) => {
  const dir = tempDir("berth-acm-");
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  execFileSync("openssl", ["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", join(dir, "key.pem"), "-out", join(dir, "cert.pem"), "-days", "30", "-subj", "/CN=secure.example.test", "-addext", "subjectAltName=DNS:secure.example.test"], { stdio: "ignore" });
  const imported = await aws(server, ["acm", "import-certificate", "--certificate", `fileb://${join(dir, "cert.pem")}`, "--private-key", `fileb://${join(dir, "key.pem")}`, "--tags", "Key=env,Value=test"]);
  assert.equal(imported.code, 0, `import-certificate: ${imported.stderr}`);
  const arn: string = imported.json.CertificateArn;
  assert.match(arn, new RegExp(`^arn:aws:acm:${REGION}:\\d{12}:certificate/[0-9a-f-]{36}$`), "ACM ARN");
  const described = (await aws(server, ["acm", "describe-certificate", "--certificate-arn", arn])).json.Certificate;
  assert.deepEqual([described.DomainName, described.KeyAlgorithm, described.Type, described.Status], ["secure.example.test", "RSA_2048", "IMPORTED", "ISSUED"], "DescribeCertificate");
  assert.ok(!Number.isNaN(Date.parse(described.NotAfter)), "NotAfter is a date");
  const listed = (await aws(server, ["acm", "list-certificates"])).json.CertificateSummaryList;
  assert.ok(listed.some((c: { CertificateArn: string }) => c.CertificateArn === arn), "ListCertificates");
  const got = (await aws(server, ["acm", "get-certificate", "--certificate-arn", arn])).json;
  assert.equal(got.Certificate, readFileSync(join(dir, "cert.pem"), "utf8"), "GetCertificate returns the PEM");
  assert.ok(!JSON.stringify(got).includes("PRIVATE KEY"), "and never the key");

  const lb = (await ok(["create-load-balancer", "--name", "secure"])).LoadBalancers[0];
  const tg = (await ok(["create-target-group", "--name", "secure", "--protocol", "HTTP", "--port", "80", "--target-type", "ip"])).TargetGroups[0];
  const port = await freePort();
  const listener = (await ok(["create-listener", "--load-balancer-arn", lb.LoadBalancerArn, "--protocol", "HTTPS", "--port", String(port), "--certificates", `CertificateArn=${arn}`, "--default-actions", `Type=forward,TargetGroupArn=${tg.TargetGroupArn}`])).Listeners[0];
  assert.deepEqual([listener.Protocol, listener.SslPolicy, listener.Certificates], ["HTTPS", "ELBSecurityPolicy-2016-08", [{ CertificateArn: arn }]], "HTTPS listener");
  const certs = (await ok(["describe-listener-certificates", "--listener-arn", listener.ListenerArn])).Certificates;
  assert.deepEqual(certs, [{ CertificateArn: arn, IsDefault: true }], "DescribeListenerCertificates");
  const inUse = (await aws(server, ["acm", "describe-certificate", "--certificate-arn", arn])).json.Certificate.InUseBy;
  assert.deepEqual(inUse, [lb.LoadBalancerArn], "in use by the load balancer");
  const del = await aws(server, ["acm", "delete-certificate", "--certificate-arn", arn]);
  assert.equal(del.code, 254, "a certificate in use cannot be deleted");
  assert.match(del.stderr, /ResourceInUseException/, del.stderr);
  const snap = snapshotOnDisk();
  assert.equal(snap.certificates[arn]?.privateKeyPem, readFileSync(join(dir, "key.pem"), "utf8"), "the data plane gets the key");
  const keyLine = readFileSync(join(dir, "key.pem"), "utf8").split("\n")[1]!;
  for (const file of ["elb.db", "elb.db-wal"]) {
    const bytes = existsSync(join(server.dataDir, file)) ? readFileSync(join(server.dataDir, file)) : Buffer.alloc(0);
    assert.ok(!bytes.includes(keyLine), `${file} does not hold the private key in the clear`);
  }
  await fails(["create-listener", "--load-balancer-arn", lb.LoadBalancerArn, "--protocol", "HTTPS", "--port", String(port + 1), "--certificates", `CertificateArn=${arn.slice(0, -4)}ffff`, "--default-actions", `Type=forward,TargetGroupArn=${tg.TargetGroupArn}`], "CertificateNotFound");
  const bad = await aws(server, ["acm", "import-certificate", "--certificate", `fileb://${join(dir, "key.pem")}`, "--private-key", `fileb://${join(dir, "key.pem")}`]);
  assert.equal(bad.code, 254, "a key is not a certificate");
  assert.match(bad.stderr, /ValidationException/, bad.stderr);
  await ok(["delete-listener", "--listener-arn", listener.ListenerArn]);
  const deleted = await aws(server, ["acm", "delete-certificate", "--certificate-arn", arn]);
  assert.equal(deleted.code, 0, `deleted once unused: ${deleted.stderr}`);
});

test("an HTTPS target group made with aws elbv2 reaches its target over TLS, health checks included", async (t) => {
  const dir = tempDir("berth-tls-target-");
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  execFileSync("openssl", ["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", join(dir, "key.pem"), "-out", join(dir, "cert.pem"), "-days", "2", "-subj", "/CN=app.internal"], { stdio: "ignore" });
  const seen: string[] = [];
  const app = createHttpsServer({ cert: readFileSync(join(dir, "cert.pem")), key: readFileSync(join(dir, "key.pem")) }, (req, res) => {
    seen.push(`${req.url} ${(req.socket as TLSSocket).getProtocol()}`);
    res.end(`tls app ${req.url}`);
  });
  await new Promise<void>((r) => app.listen(0, "127.0.0.1", r));
  t.after(() => {
    app.closeAllConnections();
    app.close();
  });
  const appPort = (app.address() as AddressInfo).port;
  const lb = (await ok(["create-load-balancer", "--name", "tls-targets"])).LoadBalancers[0];
  const tg = (await ok(["create-target-group", "--name", "tls-app", "--protocol", "HTTPS", "--port", "8443", "--target-type", "ip", "--health-check-path", "/health", "--health-check-interval-seconds", "5", "--health-check-timeout-seconds", "2", "--healthy-threshold-count", "2"])).TargetGroups[0];
  assert.deepEqual([tg.Protocol, tg.HealthCheckProtocol], ["HTTPS", "HTTPS"], "an HTTPS group checks over HTTPS by default");
  const port = await freePort();
  await ok(["create-listener", "--load-balancer-arn", lb.LoadBalancerArn, "--protocol", "HTTP", "--port", String(port), "--default-actions", `Type=forward,TargetGroupArn=${tg.TargetGroupArn}`]);
  await ok(["register-targets", "--target-group-arn", tg.TargetGroupArn, "--targets", `Id=127.0.0.1,Port=${appPort}`]);
  await until("the TLS target turns healthy", async () => {
    const health = (await ok(["describe-target-health", "--target-group-arn", tg.TargetGroupArn])).TargetHealthDescriptions;
    return health[0]?.TargetHealth.State === "healthy" ? true : undefined;
  });
  const reply = await fetch(`http://127.0.0.1:${port}/orders`);
  assert.deepEqual([reply.status, await reply.text()], [200, "tls app /orders"], "answered through the load balancer");
  assert.ok(seen.includes("/health TLSv1.3"), `health checks came over TLS: ${seen.join(", ")}`);
  assert.ok(seen.includes("/orders TLSv1.3"), `the request came over TLS: ${seen.join(", ")}`);
});
