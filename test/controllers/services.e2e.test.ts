// Services on real Docker: steady state, rolling deployments within the limits, the circuit
// breaker with rollback, replacement of a killed task, and the deploy action's flow.
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { after, before, describe, test } from "node:test";
import {
  CreateServiceCommand,
  DeleteServiceCommand,
  DescribeServicesCommand,
  DescribeTasksCommand,
  type ECSClient,
  ListServiceDeploymentsCommand,
  ListTasksCommand,
  RegisterTaskDefinitionCommand,
  type Service,
  UpdateServiceCommand,
  waitUntilServicesStable,
} from "@aws-sdk/client-ecs";
import { BUSYBOX_IMAGE } from "../support/images.ts";
import { type TestServer, aws, ecsClient, startTestServer, until } from "../support/harness.ts";

const HTTPD = "mkdir -p /www && echo ok > /www/health && exec httpd -f -p 8080 -h /www";
const HEALTH = { command: ["CMD-SHELL", "wget -q -O- http://localhost:8080/health || exit 1"], interval: 5, timeout: 2, retries: 2, startPeriod: 5 };

function webDefinition(family: string, version: string, command = HTTPD) {
  return new RegisterTaskDefinitionCommand({
    family,
    containerDefinitions: [
      {
        name: "web",
        image: BUSYBOX_IMAGE,
        memory: 32,
        command: ["sh", "-c", command],
        environment: [{ name: "VERSION", value: version }],
        linuxParameters: { initProcessEnabled: true },
        healthCheck: HEALTH,
        portMappings: [{ containerPort: 8080, hostPort: 0 }],
      },
    ],
  });
}

async function describeService(client: ECSClient, name: string): Promise<Service> {
  return (await client.send(new DescribeServicesCommand({ cluster: "default", services: [name] }))).services![0]!;
}

describe("services", () => {
  let server: TestServer;
  let client: ECSClient;
  before(async () => {
    server = await startTestServer({ agent: true });
    client = ecsClient(server);
  });
  after(async () => {
    for (const name of ["web", "breaker", "deployed"]) {
      await client.send(new DeleteServiceCommand({ cluster: "default", service: name, force: true })).catch(() => undefined);
    }
    await until("services drained", async () => {
      const live = (await client.send(new ListTasksCommand({ cluster: "default" }))).taskArns ?? [];
      return live.length === 0 ? true : undefined;
    }, 60_000).catch(() => undefined);
    await server.close();
  });

  test("create-service desired 3 reaches a steady state; a rolling update stays within its limits", async () => {
    await client.send(webDefinition("web", "1"));
    await client.send(new CreateServiceCommand({ cluster: "default", serviceName: "web", taskDefinition: "web", desiredCount: 3, launchType: "EC2" }));
    const stable = await aws(server, ["ecs", "wait", "services-stable", "--cluster", "default", "--services", "web"]);
    assert.equal(stable.code, 0, stable.stderr);
    let svc = await describeService(client, "web");
    assert.equal(svc.runningCount, 3);
    // services-stable only counts running tasks; the steady state also waits for their health.
    svc = await until("the steady-state event", async () => {
      const current = await describeService(client, "web");
      return current.events?.some((e) => e.message === "(service web) has reached a steady state.") ? current : undefined;
    }, 60_000);
    assert.match(svc.deployments?.[0]?.id ?? "", /^ecs-svc\/\d{19}$/);
    const firstDeployment = svc.deployments![0]!.id!;

    await client.send(webDefinition("web", "2"));
    const updated = await client.send(
      new UpdateServiceCommand({ cluster: "default", service: "web", taskDefinition: "web:2", deploymentConfiguration: { minimumHealthyPercent: 100, maximumPercent: 200 } }),
    );
    const newDeployment = updated.service!.deployments![0]!.id!;
    assert.notEqual(newDeployment, firstDeployment);
    assert.equal(updated.service?.deployments?.length, 2);

    // Sample throughout the rollout: never below 3 healthy, never above 6 running + pending.
    let minHealthy = Infinity;
    let maxLive = 0;
    const sampler = (async () => {
      for (;;) {
        const arns = (await client.send(new ListTasksCommand({ cluster: "default", serviceName: "web" }))).taskArns ?? [];
        const tasks = arns.length ? (await client.send(new DescribeTasksCommand({ cluster: "default", tasks: arns }))).tasks ?? [] : [];
        const live = tasks.filter((t) => t.lastStatus !== "STOPPED" && t.lastStatus !== "DEPROVISIONING" && t.lastStatus !== "STOPPING" && t.lastStatus !== "DEACTIVATING");
        minHealthy = Math.min(minHealthy, tasks.filter((t) => t.lastStatus === "RUNNING" && t.healthStatus === "HEALTHY").length);
        maxLive = Math.max(maxLive, live.length);
        svc = await describeService(client, "web");
        if (svc.deployments?.length === 1 && svc.deployments[0]?.rolloutState === "COMPLETED") return;
        await new Promise((r) => setTimeout(r, 300));
      }
    })();
    const waited = await aws(server, ["ecs", "wait", "services-stable", "--cluster", "default", "--services", "web"]);
    assert.equal(waited.code, 0, waited.stderr);
    await sampler;
    svc = await describeService(client, "web");
    assert.equal(svc.deployments?.length, 1);
    assert.equal(svc.deployments?.[0]?.id, newDeployment);
    assert.equal(svc.deployments?.[0]?.rolloutState, "COMPLETED");
    assert.match(svc.taskDefinition ?? "", /web:2$/);
    assert.ok(minHealthy >= 3, `healthy tasks dipped to ${minHealthy}`);
    assert.ok(maxLive <= 6, `running + pending reached ${maxLive}`);
    const stopped = (await client.send(new ListTasksCommand({ cluster: "default", serviceName: "web", desiredStatus: "STOPPED" }))).taskArns ?? [];
    const stoppedTasks = (await client.send(new DescribeTasksCommand({ cluster: "default", tasks: stopped }))).tasks ?? [];
    assert.equal(stoppedTasks.length, 3);
    for (const t of stoppedTasks) {
      assert.equal(t.stopCode, "ServiceSchedulerInitiated");
      assert.equal(t.stoppedReason, `Scaling activity initiated by (deployment ${newDeployment})`);
    }
    assert.ok(svc.events?.some((e) => e.message === `(service web) (deployment ${newDeployment}) deployment completed.`), "completed event");
  });

  test("a killed task is replaced within seconds and the event says why", async () => {
    const before = (await client.send(new ListTasksCommand({ cluster: "default", serviceName: "web" }))).taskArns!;
    const victim = (await client.send(new DescribeTasksCommand({ cluster: "default", tasks: [before[0]!] }))).tasks![0]!;
    execFileSync("docker", ["kill", victim.containers![0]!.runtimeId!]);
    const replaced = await until("a replacement", async () => {
      const arns = (await client.send(new ListTasksCommand({ cluster: "default", serviceName: "web" }))).taskArns ?? [];
      const tasks = (await client.send(new DescribeTasksCommand({ cluster: "default", tasks: arns }))).tasks ?? [];
      const fresh = tasks.filter((t) => !before.includes(t.taskArn!) && t.lastStatus === "RUNNING");
      return fresh.length === 1 ? fresh[0] : undefined;
    }, 30_000);
    assert.ok(replaced.taskArn);
    const svc = await describeService(client, "web");
    const id = victim.taskArn!.split("/").pop();
    assert.ok(svc.events?.some((e) => e.message === `(service web) (task ${id}) stopped: Essential container in task exited.`), JSON.stringify(svc.events?.slice(0, 5)));
  });

  test("the circuit breaker fails a revision that cannot start and rolls back", async () => {
    await client.send(webDefinition("breaker", "good"));
    await client.send(
      new CreateServiceCommand({
        cluster: "default",
        serviceName: "breaker",
        taskDefinition: "breaker:1",
        desiredCount: 2,
        launchType: "EC2",
        deploymentConfiguration: { minimumHealthyPercent: 100, maximumPercent: 200, deploymentCircuitBreaker: { enable: true, rollback: true } },
      }),
    );
    await waitUntilServicesStable({ client, maxWaitTime: 120, minDelay: 2, maxDelay: 5 }, { cluster: "default", services: ["breaker"] });
    const good = (await describeService(client, "breaker")).deployments![0]!.id!;
    await client.send(webDefinition("breaker", "bad", "exit 1"));
    const bad = (await client.send(new UpdateServiceCommand({ cluster: "default", service: "breaker", taskDefinition: "breaker:2" }))).service!.deployments![0]!.id!;

    let minRunning = Infinity;
    const failed = await until("the deployment to fail", async () => {
      const svc = await describeService(client, "breaker");
      // The rollback deployment runs breaker:1 too: count the old revision across deployments.
      const oldRunning = (svc.deployments ?? []).filter((d) => d.taskDefinition?.endsWith("breaker:1")).reduce((n, d) => n + (d.runningCount ?? 0), 0);
      minRunning = Math.min(minRunning, oldRunning);
      return svc.events?.some((e) => e.message?.includes("rolling back")) ? svc : undefined;
    });
    const messages = failed.events!.map((e) => e.message);
    assert.ok(messages.includes(`(service breaker) (deployment ${bad}) deployment failed: tasks failed to start.`), JSON.stringify(messages.slice(0, 6)));
    assert.ok(messages.includes(`(service breaker) rolling back to deployment ${good}.`));
    assert.ok(minRunning >= 2, `old tasks dipped to ${minRunning}`);
    const deployments = (await client.send(new ListServiceDeploymentsCommand({ cluster: "default", service: "breaker" }))).serviceDeployments ?? [];
    const badBrief = deployments.find((d) => d.targetServiceRevisionArn?.endsWith(bad.split("/")[1]!));
    assert.match(badBrief?.status ?? "", /^ROLLBACK_/);
    const stoppedBad = (await client.send(new ListTasksCommand({ cluster: "default", startedBy: bad, desiredStatus: "STOPPED" }))).taskArns ?? [];
    assert.equal(stoppedBad.length, 3, "exactly the threshold of failed tasks was launched");
    await waitUntilServicesStable({ client, maxWaitTime: 120, minDelay: 2, maxDelay: 5 }, { cluster: "default", services: ["breaker"] });
    const after = await describeService(client, "breaker");
    assert.match(after.taskDefinition ?? "", /breaker:1$/);
    assert.equal(after.runningCount, 2);
  });

  test("the deploy action's flow with the JS SDK", async () => {
    await client.send(webDefinition("deployed", "1"));
    await client.send(new CreateServiceCommand({ cluster: "default", serviceName: "deployed", taskDefinition: "deployed", desiredCount: 1, launchType: "EC2" }));
    const registered = await client.send(webDefinition("deployed", "2"));
    const described = await describeService(client, "deployed");
    assert.equal(described.status, "ACTIVE");
    assert.equal(described.deploymentController?.type, "ECS");
    const update = await client.send(
      new UpdateServiceCommand({ cluster: "default", service: "deployed", taskDefinition: registered.taskDefinition!.taskDefinitionArn!, forceNewDeployment: false }),
    );
    const primary = update.service!.deployments!.find((d) => d.status === "PRIMARY")!.id!;
    await waitUntilServicesStable({ client, maxWaitTime: 120, minDelay: 2, maxDelay: 5 }, { cluster: "default", services: ["deployed"] });
    const final = await describeService(client, "deployed");
    const deployment = final.deployments!.find((d) => d.id === primary);
    assert.ok(deployment, "the action's deployment is still present");
    assert.notEqual(deployment!.rolloutState, "FAILED");
  });
});
