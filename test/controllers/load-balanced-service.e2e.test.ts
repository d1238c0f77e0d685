// ECS services behind Berth's ALB, set up with `aws elbv2` and `aws ecs` alone, on real
// containers: path rules route to the right service and spread over its tasks; a rolling
// deploy under a steady stream of requests fails none; a target in flight when its task is
// drained finishes with 200 while new requests go elsewhere; a task whose health path starts
// answering 500 goes unhealthy and is replaced with ECS's stop reason.
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { Agent, request } from "node:http";
import { after, before, describe, test } from "node:test";
import { type TestServer, REGION, aws, freePort, startTestServer, until, awsOk } from "../support/harness.ts";
import { BUSYBOX_IMAGE } from "../support/images.ts";

/** A shell line that writes these files (CGI scripts executable) and serves /www on 8080. */
function httpdCommand(files: Record<string, string>): string {
  const quote = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;
  const writes = Object.entries(files).map(([path, body]) => `printf '%s' ${quote(body)} > ${path} && chmod +x ${path}`);
  // /api/whoami is a static file: the api service answers paths under /api/ itself.
  const api = `echo "$SERVICE $VERSION $(hostname -i)" > /www/api/whoami`;
  return ["mkdir -p /www/cgi-bin /www/api", ...writes, api, "exec httpd -f -p 8080 -h /www"].join(" && ");
}

const CGI = (body: string) => `#!/bin/sh\n${body}\n`;
const SITE = {
  "/www/cgi-bin/health": CGI(
    `if [ -e /www/sick ]; then printf 'Status: 500 Internal Server Error\\r\\nContent-Type: text/plain\\r\\n\\r\\nsick\\n'; else printf 'Content-Type: text/plain\\r\\n\\r\\nok\\n'; fi`,
  ),
  "/www/cgi-bin/whoami": CGI(`printf 'Content-Type: text/plain\\r\\n\\r\\n%s %s %s\\n' "$SERVICE" "$VERSION" "$(hostname -i)"`),
  "/www/cgi-bin/slow": CGI(`sleep 5; printf 'Content-Type: text/plain\\r\\n\\r\\nslow %s\\n' "$(hostname -i)"`),
};

interface Reply {
  status: number;
  body: string;
}

describe("services behind the ALB (real Docker, aws elbv2 + aws ecs)", () => {
  let server: TestServer;
  let port: number;
  const keepAlive = new Agent({ keepAlive: true, maxSockets: 8 });
  const groups: Record<string, string> = {};

  const cli = (args: string[]) => awsOk(server, args);

  const get = (path: string): Promise<Reply> =>
    new Promise((resolve, reject) => {
      const req = request({ host: "127.0.0.1", port, path, agent: keepAlive }, (res) => {
        let body = "";
        res.setEncoding("utf8");
        res.on("data", (c: string) => (body += c));
        res.on("end", () => resolve({ status: res.statusCode ?? 0, body: body.trim() }));
      });
      req.on("error", reject);
      req.end();
    });

  const healthy = async (group: string) => {
    const r = await cli(["elbv2", "describe-target-health", "--target-group-arn", groups[group]!]);
    return (r.TargetHealthDescriptions as { Target: { Id: string }; TargetHealth: { State: string } }[]).filter((d) => d.TargetHealth.State === "healthy").length;
  };

  const registerApp = (family: string, service: string, version: string) =>
    cli([
      "ecs", "register-task-definition", "--family", family, "--network-mode", "awsvpc", "--requires-compatibilities", "FARGATE",
      "--cpu", "256", "--memory", "512",
      "--container-definitions",
      JSON.stringify([
        {
          name: "app",
          image: BUSYBOX_IMAGE,
          entryPoint: ["sh", "-c"],
          command: [httpdCommand(SITE)],
          portMappings: [{ containerPort: 8080 }],
          environment: [{ name: "SERVICE", value: service }, { name: "VERSION", value: version }],
          stopTimeout: 2,
        },
      ]),
    ]);

  before(async () => {
    server = await startTestServer({ agent: true, config: { metricsPeriodMs: 1000 } });
    port = await freePort();
    const lb = (await cli(["elbv2", "create-load-balancer", "--name", "front", "--type", "application", "--subnets", "subnet-a", "subnet-b"])).LoadBalancers[0];
    for (const name of ["web", "api"]) {
      groups[name] = (
        await cli([
          "elbv2", "create-target-group", "--name", name, "--protocol", "HTTP", "--port", "8080", "--target-type", "ip",
          "--health-check-path", "/cgi-bin/health", "--health-check-interval-seconds", "5", "--health-check-timeout-seconds", "2",
          "--healthy-threshold-count", "2", "--unhealthy-threshold-count", "2",
        ])
      ).TargetGroups[0].TargetGroupArn;
      await cli(["elbv2", "modify-target-group-attributes", "--target-group-arn", groups[name]!, "--attributes", "Key=deregistration_delay.timeout_seconds,Value=15"]);
    }
    const listener = (
      await cli([
        "elbv2", "create-listener", "--load-balancer-arn", lb.LoadBalancerArn, "--protocol", "HTTP", "--port", String(port),
        "--default-actions", `Type=forward,TargetGroupArn=${groups["web"]}`,
      ])
    ).Listeners[0];
    await cli([
      "elbv2", "create-rule", "--listener-arn", listener.ListenerArn, "--priority", "10",
      "--conditions", "Field=path-pattern,Values=/api/*", "--actions", `Type=forward,TargetGroupArn=${groups["api"]}`,
    ]);
    for (const name of ["web", "api"]) {
      await registerApp(name, name, "1");
      await cli([
        "ecs", "create-service", "--service-name", name, "--task-definition", name, "--desired-count", "3", "--launch-type", "FARGATE",
        "--network-configuration", "awsvpcConfiguration={subnets=[subnet-a]}",
        "--load-balancers", `targetGroupArn=${groups[name]},containerName=app,containerPort=8080`,
        "--deployment-configuration", "minimumHealthyPercent=100,maximumPercent=200",
      ]);
    }
    await until("3 healthy targets in each group", async () => ((await healthy("web")) === 3 && (await healthy("api")) === 3 ? true : undefined), 120_000);
  });

  after(async () => {
    keepAlive.destroy();
    for (const name of ["web", "api"]) await aws(server, ["ecs", "delete-service", "--service", name, "--force"]);
    await server?.close();
  });

  test("path rules route /api/* and / to their services, spread over each service's three tasks", async () => {
    const seen: Record<string, Set<string>> = { web: new Set(), api: new Set() };
    for (let i = 0; i < 30; i++) {
      const web = await get("/cgi-bin/whoami");
      const api = await get("/api/whoami");
      assert.equal(web.status, 200, web.body);
      assert.match(web.body, /^web 1 /, "/ goes to the web service");
      seen["web"]!.add(web.body.split(" ")[2]!);
      assert.equal(api.status, 200, api.body);
      assert.match(api.body, /^api 1 /, "/api/* goes to the api service");
      seen["api"]!.add(api.body.split(" ")[2]!);
    }
    assert.equal(seen["web"]!.size, 3, `requests spread over three web tasks: ${[...seen["web"]!].join(", ")}`);
    assert.equal(seen["api"]!.size, 3, `requests spread over three api tasks: ${[...seen["api"]!].join(", ")}`);
    // The requests are recorded as the ALB's CloudWatch metrics.
    const scope = { region: REGION, accountId: server.identity.accountId };
    const dimensions = { TargetGroup: groups["web"]!.slice(groups["web"]!.indexOf("targetgroup/")) };
    const query = (name: string) => server.server.metrics.getMetricStatistics(scope, { namespace: "AWS/ApplicationELB", name, dimensions, startTime: 0, endTime: Date.now() + 60_000, period: 3600 });
    await until("30 web requests in RequestCount", async () => ((await query("RequestCount"))[0]?.sum === 30 ? true : undefined), 10_000, async () => query("RequestCount"));
    assert.equal((await query("HealthyHostCount")).at(-1)?.maximum, 3, "HealthyHostCount");
    assert.equal((await query("HTTPCode_Target_2XX_Count"))[0]?.sum, 30, "2XX from the web targets");
    const health = await cli(["elbv2", "describe-target-health", "--target-group-arn", groups["api"]!]);
    assert.equal(health.TargetHealthDescriptions.length, 3);
    assert.ok(health.TargetHealthDescriptions.every((d: { TargetHealth: { State: string } }) => d.TargetHealth.State === "healthy"), JSON.stringify(health));
  });

  test("CreateService refuses load balancers ECS would refuse, in ECS's words, and creates nothing", async () => {
    const lonely = (await cli(["elbv2", "create-target-group", "--name", "lonely", "--protocol", "HTTP", "--port", "8080", "--target-type", "ip"])).TargetGroups[0].TargetGroupArn;
    const cases: [string, RegExp][] = [
      [`targetGroupArn=${groups["web"]},containerName=nope,containerPort=8080`, /The container nope does not exist in the task definition\./],
      [`targetGroupArn=${groups["web"]},containerName=app,containerPort=9999`, /The container app did not have a container port 9999 defined\./],
      [`targetGroupArn=${lonely},containerName=app,containerPort=8080`, /does not have an associated load balancer\./],
      [`targetGroupArn=${groups["web"]!.replace(/[0-9a-f]{16}$/, "0000000000000000")},containerName=app,containerPort=8080`, /Unable to assume role and validate the specified targetGroupArn/],
    ];
    for (const [spec, message] of cases) {
      const r = await aws(server, [
        "ecs", "create-service", "--service-name", "bad", "--task-definition", "web", "--desired-count", "1", "--launch-type", "FARGATE",
        "--network-configuration", "awsvpcConfiguration={subnets=[subnet-a]}", "--load-balancers", spec,
      ]);
      assert.notEqual(r.code, 0, `refused: ${spec}`);
      assert.match(r.stderr, /InvalidParameterException/);
      assert.match(r.stderr, message);
    }
    const listed = (await cli(["ecs", "list-services"])).serviceArns as string[];
    assert.ok(!listed.some((arn) => arn.endsWith("/bad")), "nothing was created");
  });

  test("a rolling deploy under a steady stream of 2,000+ requests fails none", async () => {
    await registerApp("web", "web", "2");
    let sent = 0;
    const failures: string[] = [];
    const versions = new Set<string>();
    let done = false;
    const worker = async () => {
      while (!done || sent < 2000) {
        sent++;
        try {
          const r = await get("/cgi-bin/whoami");
          if (r.status !== 200) failures.push(`${r.status} ${r.body.slice(0, 80)}`);
          else versions.add(r.body.split(" ")[1]!);
        } catch (error) {
          failures.push(String(error));
        }
      }
    };
    const workers = [worker(), worker(), worker(), worker()];
    await cli(["ecs", "update-service", "--service", "web", "--task-definition", "web:2"]);
    await until("the deployment completes and old tasks are gone", async () => {
      const s = (await cli(["ecs", "describe-services", "--services", "web"])).services[0];
      const rolled = s.deployments.length === 1 && s.deployments[0].rolloutState === "COMPLETED" && s.runningCount === 3;
      return rolled && (await healthy("web")) === 3 ? true : undefined;
    }, 240_000);
    done = true;
    await Promise.all(workers);
    assert.ok(sent >= 2000, `sent ${sent} requests`);
    assert.deepEqual(failures.slice(0, 5), [], `${failures.length} of ${sent} requests failed`);
    assert.ok(versions.has("1") && versions.has("2"), `traffic moved from version 1 to 2: ${[...versions].join(",")}`);
    const last = await get("/cgi-bin/whoami");
    assert.match(last.body, /^web 2 /, "after the deploy only version 2 answers");
    const events = (await cli(["ecs", "describe-services", "--services", "web"])).services[0].events.map((e: { message: string }) => e.message);
    assert.ok(events.some((m: string) => /^\(service web\) registered \d+ targets in \(target-group arn:aws:elasticloadbalancing:/.test(m)), events.join("\n"));
    assert.ok(events.some((m: string) => /^\(service web\) has begun draining connections on \d+ tasks\.$/.test(m)), events.join("\n"));
  });

  test("a request in flight when its task is drained completes with 200; new requests go elsewhere", async () => {
    const slow = [get("/cgi-bin/slow"), get("/cgi-bin/slow"), get("/cgi-bin/slow")];
    await new Promise((r) => setTimeout(r, 500));
    await cli(["ecs", "update-service", "--service", "web", "--desired-count", "2"]);
    const draining = await until("a task held in DEACTIVATING while it drains", async () => {
      const arns = (await cli(["ecs", "list-tasks", "--service-name", "web", "--desired-status", "STOPPED"])).taskArns as string[];
      if (arns.length === 0) return undefined;
      const tasks = (await cli(["ecs", "describe-tasks", "--tasks", ...arns])).tasks as { lastStatus: string; containers: { networkInterfaces?: { privateIpv4Address: string }[] }[]; attachments: { details: { name: string; value: string }[] }[] }[];
      const t = tasks.find((x) => x.lastStatus === "DEACTIVATING");
      return t?.attachments[0]?.details.find((d) => d.name === "privateIPv4Address")?.value;
    }, 30_000);
    for (let i = 0; i < 10; i++) {
      const r = await get("/cgi-bin/whoami");
      assert.equal(r.status, 200);
      assert.ok(!r.body.endsWith(` ${draining}`), `no new request reaches the draining task (${draining})`);
    }
    const replies = await Promise.all(slow);
    for (const r of replies) assert.equal(r.status, 200, `the in-flight request completed: ${r.body}`);
    await cli(["ecs", "update-service", "--service", "web", "--desired-count", "3"]);
  });

  test("a task whose health path starts answering 500 goes unhealthy and is replaced with ECS's stop reason", async () => {
    await until("3 healthy web targets", async () => ((await healthy("web")) === 3 ? true : undefined), 90_000);
    const running = (await cli(["ecs", "list-tasks", "--service-name", "web", "--desired-status", "RUNNING"])).taskArns as string[];
    const victim = (await cli(["ecs", "describe-tasks", "--tasks", running[0]!])).tasks[0];
    await new Promise<void>((resolve, reject) =>
      execFile("docker", ["exec", victim.containers[0].runtimeId, "touch", "/www/sick"], (e) => (e ? reject(e) : resolve())),
    );
    const reasons = new Set<string>();
    let last: unknown;
    let health: unknown;
    const stopped = await until("the sick task stops", async () => {
      const r = await cli(["elbv2", "describe-target-health", "--target-group-arn", groups["web"]!]);
      health = r.TargetHealthDescriptions;
      for (const d of r.TargetHealthDescriptions as { TargetHealth: { State: string; Reason?: string } }[]) if (d.TargetHealth.State === "unhealthy") reasons.add(d.TargetHealth.Reason ?? "");
      const t = (await cli(["ecs", "describe-tasks", "--tasks", victim.taskArn])).tasks[0];
      last = [t.lastStatus, t.desiredStatus, t.stoppedReason, t.attachments?.[0]?.details];
      return t.lastStatus === "STOPPED" ? t : undefined;
    }, 120_000, () => ({ victim: last, reasons: [...reasons], health }));
    const events = (await cli(["ecs", "describe-services", "--services", "web"])).services[0].events.map((e: { message: string }) => e.message) as string[];
    const id = victim.taskArn.slice(victim.taskArn.lastIndexOf("/") + 1);
    assert.ok(
      events.some((m) => m.startsWith(`(service web) (task ${id}) (port 8080) is unhealthy in (target-group ${groups["web"]}) due to (reason `)),
      `the service event says why: ${events.slice(0, 8).join("\n")} (seen: ${[...reasons].join(",")})`,
    );
    assert.equal(stopped.stopCode, "ServiceSchedulerInitiated");
    assert.equal(stopped.stoppedReason, `Task failed ELB health checks in (target-group ${groups["web"]})`);
    await until("the service is back to 3 healthy targets", async () => ((await healthy("web")) === 3 ? true : undefined), 120_000);
  });
});
