// Placement on several container instances, seen through the ECS API: four in-process agents on
// fake runtimes (2 vCPU, 2 GiB each; two in zone-a, two in zone-b) join one cluster over HTTP.
// memberOf, distinctInstance, binpack, spread and resource failures for RunTask; a replica service
// moving off a DRAINING instance within its deployment limits; a DAEMON service following the
// ACTIVE instances.
import assert from "node:assert/strict";
import { rmSync } from "node:fs";
import { after, before, describe, test } from "node:test";
import {
  type ContainerInstance,
  CreateClusterCommand,
  CreateServiceCommand,
  DeleteServiceCommand,
  DescribeContainerInstancesCommand,
  DescribeServicesCommand,
  DescribeTasksCommand,
  type ECSClient,
  ListTasksCommand,
  type PlacementStrategy,
  RegisterTaskDefinitionCommand,
  RunTaskCommand,
  type RunTaskCommandInput,
  type Service,
  StartTaskCommand,
  StopTaskCommand,
  type Task,
  UpdateContainerInstancesStateCommand,
} from "@aws-sdk/client-ecs";
import { Agent } from "../../src/agent/agent.ts";
import { HttpAgentChannel } from "../../src/agent/http-agent-channel.ts";
import { silentLogger } from "../../src/core/logger.ts";
import { FakeRuntime } from "../../src/runtime/fake-runtime.ts";
import { REGION, type TestServer, ecsClient, startTestServer, tempDir, until } from "../support/harness.ts";

const CLUSTER = "multi";
const IMAGE = "app:1";
const ZONES = ["zone-a", "zone-a", "zone-b", "zone-b"] as const;
const INSTANCE_MEMORY = 2048;
const HEALTH = { command: ["CMD-SHELL", "true"], interval: 5, timeout: 2, retries: 2, startPeriod: 0 };
const SPREAD_AZ: PlacementStrategy = { type: "spread", field: "attribute:ecs.availability-zone" };
const SPREAD_ID: PlacementStrategy = { type: "spread", field: "instanceId" };

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function countBy<T>(items: readonly T[], key: (t: T) => string): Map<string, number> {
  const m = new Map<string, number>();
  for (const i of items) m.set(key(i), (m.get(key(i)) ?? 0) + 1);
  return m;
}

describe("placement on several container instances", () => {
  let server: TestServer;
  let client: ECSClient;
  const agents: Agent[] = [];
  const dirs: string[] = [];
  /** Container instance ARN → its zone, in agent order. */
  const zoneOf = new Map<string, string>();
  let arns: string[] = [];

  const describeTasks = async (taskArns: readonly string[]): Promise<Task[]> => {
    const out: Task[] = [];
    for (let i = 0; i < taskArns.length; i += 100) {
      const page = await client.send(new DescribeTasksCommand({ cluster: CLUSTER, tasks: taskArns.slice(i, i + 100) }));
      out.push(...(page.tasks ?? []));
    }
    return out;
  };
  const listTasks = async (input: { serviceName?: string; desiredStatus?: "RUNNING" | "STOPPED" } = {}): Promise<Task[]> =>
    describeTasks((await client.send(new ListTasksCommand({ cluster: CLUSTER, maxResults: 100, ...input }))).taskArns ?? []);
  const describeInstances = async (): Promise<ContainerInstance[]> =>
    (await client.send(new DescribeContainerInstancesCommand({ cluster: CLUSTER, containerInstances: arns }))).containerInstances ?? [];
  const describeService = async (name: string): Promise<Service> =>
    (await client.send(new DescribeServicesCommand({ cluster: CLUSTER, services: [name] }))).services![0]!;
  const remainingMemory = (ci: ContainerInstance) => ci.remainingResources?.find((r) => r.name === "MEMORY")?.integerValue;
  const setState = (arn: string, status: "ACTIVE" | "DRAINING") =>
    client.send(new UpdateContainerInstancesStateCommand({ cluster: CLUSTER, containerInstances: [arn], status }));

  async function run(input: Omit<RunTaskCommandInput, "cluster">) {
    const out = await client.send(new RunTaskCommand({ cluster: CLUSTER, launchType: "EC2", ...input }));
    return { tasks: out.tasks ?? [], failures: out.failures ?? [] };
  }

  /** Stops every standalone task and waits until all of them are STOPPED and their resources free. */
  async function clearStandaloneTasks(): Promise<void> {
    const live = (await listTasks()).filter((t) => !t.group?.startsWith("service:"));
    for (const t of live) await client.send(new StopTaskCommand({ cluster: CLUSTER, task: t.taskArn! }));
    await until("standalone tasks to stop", async () => {
      const tasks = await describeTasks(live.map((t) => t.taskArn!));
      return tasks.every((t) => t.lastStatus === "STOPPED") ? true : undefined;
    });
  }

  async function waitRunning(tasks: readonly Task[]): Promise<Task[]> {
    let last: Task[] = [];
    return until("tasks to be RUNNING", async () => {
      last = await describeTasks(tasks.map((t) => t.taskArn!));
      return last.length === tasks.length && last.every((t) => t.lastStatus === "RUNNING") ? last : undefined;
    }, 30_000, () => last.map((t) => [t.taskArn, t.lastStatus]));
  }

  before(async () => {
    server = await startTestServer();
    client = ecsClient(server);
    await client.send(new CreateClusterCommand({ clusterName: CLUSTER }));
    for (const [i, zone] of ZONES.entries()) {
      const runtime = new FakeRuntime({ info: { cpus: 2, memoryMiB: INSTANCE_MEMORY, hostname: `host-${i}` } });
      runtime.addImage(IMAGE);
      const dir = tempDir("berth-placement-agent-");
      dirs.push(dir);
      const agent = new Agent({
        channel: new HttpAgentChannel({ serverUrl: server.url, token: server.server.agentToken }),
        runtime,
        dataDir: dir,
        region: REGION,
        cluster: CLUSTER,
        fargate: false,
        availabilityZone: zone,
        bindIp: "127.0.0.1",
        pullBehavior: "prefer-cached",
        metadata: false,
        logger: silentLogger,
        pollMs: 50,
        cleanupMs: 1000,
      });
      agents.push(agent);
      await agent.start();
      assert.ok(agent.containerInstanceArn, `agent ${i} registered as a container instance`);
      zoneOf.set(agent.containerInstanceArn, zone);
    }
    arns = [...zoneOf.keys()];
    const container = (extra: Record<string, unknown>) => ({ name: "app", image: IMAGE, essential: true, ...extra });
    for (const [family, extra] of [
      ["small", { memory: 128 }],
      ["half", { memory: 512 }],
      ["huge", { memory: 4096 }],
      ["cpuhog", { memory: 128, cpu: 4096 }],
      ["web", { memory: 128, healthCheck: HEALTH }],
      ["daemon", { memory: 64 }],
    ] as const) {
      await client.send(new RegisterTaskDefinitionCommand({ family, containerDefinitions: [container(extra)] }));
    }
  });

  after(async () => {
    for (const name of ["web", "agentd"]) {
      await client?.send(new DeleteServiceCommand({ cluster: CLUSTER, service: name, force: true })).catch(() => undefined);
    }
    for (const agent of agents) await agent.stop();
    await server?.close();
    for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
  });

  test("four instances register with their zones and 2048 MiB each", { timeout: 60_000 }, async () => {
    const instances = await describeInstances();
    assert.equal(instances.length, 4);
    for (const ci of instances) {
      const zone = ci.attributes?.find((a) => a.name === "ecs.availability-zone")?.value;
      assert.equal(zone, zoneOf.get(ci.containerInstanceArn!), "the zone attribute is the agent's");
      assert.equal(ci.status, "ACTIVE");
      assert.equal(ci.agentConnected, true);
      assert.equal(remainingMemory(ci), INSTANCE_MEMORY);
    }
  });

  test("memberOf(attribute:ecs.availability-zone == zone-a) places only on zone-a instances", { timeout: 60_000 }, async () => {
    await clearStandaloneTasks();
    const out = await run({
      taskDefinition: "small",
      count: 6,
      placementConstraints: [{ type: "memberOf", expression: "attribute:ecs.availability-zone == zone-a" }],
    });
    assert.deepEqual(out.failures, [], JSON.stringify(out.failures));
    assert.equal(out.tasks.length, 6);
    const running = await waitRunning(out.tasks);
    for (const t of running) {
      assert.equal(zoneOf.get(t.containerInstanceArn!), "zone-a", `task ${t.taskArn} on ${t.containerInstanceArn}`);
      assert.equal(t.availabilityZone, "zone-a");
    }
    const instances = await describeInstances();
    const onZoneA = instances.filter((ci) => zoneOf.get(ci.containerInstanceArn!) === "zone-a").reduce((n, ci) => n + (ci.runningTasksCount ?? 0), 0);
    const onZoneB = instances.filter((ci) => zoneOf.get(ci.containerInstanceArn!) === "zone-b").reduce((n, ci) => n + (ci.runningTasksCount ?? 0), 0);
    assert.equal(onZoneA, 6, "DescribeContainerInstances counts the six tasks in zone-a");
    assert.equal(onZoneB, 0, "and none in zone-b");

    const none = await run({
      taskDefinition: "small",
      placementConstraints: [{ type: "memberOf", expression: "attribute:ecs.availability-zone == zone-c" }],
    });
    assert.equal(none.tasks.length, 0);
    assert.equal(none.failures[0]?.reason, "MemberOf placement constraint unsatisfied.", JSON.stringify(none.failures));
    assert.ok(arns.includes(none.failures[0]?.arn ?? ""), `the failure names an instance: ${JSON.stringify(none.failures)}`);
  });

  test("distinctInstance puts at most one task of a group on each instance", { timeout: 60_000 }, async () => {
    await clearStandaloneTasks();
    const distinct = [{ type: "distinctInstance" as const }];
    const first = await run({ taskDefinition: "small", count: 4, group: "distinct-1", placementConstraints: distinct });
    assert.deepEqual(first.failures, [], JSON.stringify(first.failures));
    assert.equal(new Set(first.tasks.map((t) => t.containerInstanceArn)).size, 4, "four different instances");
    await waitRunning(first.tasks);

    // A fifth task of the same group, while the four run: every instance already has one.
    const fifth = await run({ taskDefinition: "small", group: "distinct-1", placementConstraints: distinct });
    assert.equal(fifth.tasks.length, 0);
    assert.equal(fifth.failures.length, 1, JSON.stringify(fifth.failures));
    assert.equal(fifth.failures[0]?.reason, "DISTINCT_INSTANCE");
    assert.ok(arns.includes(fifth.failures[0]?.arn ?? ""), `the failure names an instance: ${JSON.stringify(fifth.failures)}`);

    // Another group is not constrained by the first; within one call, five tasks fit on four instances only.
    const other = await run({ taskDefinition: "small", count: 5, group: "distinct-2", placementConstraints: distinct });
    assert.equal(other.tasks.length, 4, JSON.stringify(other.failures));
    assert.equal(new Set(other.tasks.map((t) => t.containerInstanceArn)).size, 4, "four different instances");
    assert.equal(other.failures[0]?.reason, "DISTINCT_INSTANCE", JSON.stringify(other.failures));
  });

  test("binpack memory fills the fullest instance that fits first", { timeout: 60_000 }, async () => {
    await clearStandaloneTasks();
    const binpack: PlacementStrategy[] = [{ type: "binpack", field: "memory" }];
    const placed: Task[] = [];
    for (let i = 0; i < 6; i++) {
      const out = await run({ taskDefinition: "half", placementStrategy: binpack });
      assert.deepEqual(out.failures, [], JSON.stringify(out.failures));
      placed.push(out.tasks[0]!);
    }
    const [a, b] = [placed[0]!.containerInstanceArn!, placed[4]!.containerInstanceArn!];
    assert.deepEqual(placed.slice(0, 4).map((t) => t.containerInstanceArn), [a, a, a, a], "four 512 MiB tasks fill one instance");
    assert.notEqual(b, a, "the fifth goes elsewhere once the first is full");
    assert.equal(placed[5]!.containerInstanceArn, b, "the sixth joins the fifth: the fullest instance that fits");
    await waitRunning(placed);
    const instances = new Map((await describeInstances()).map((ci) => [ci.containerInstanceArn!, ci] as const));
    assert.equal(remainingMemory(instances.get(a)!), 0);
    assert.equal(instances.get(a)!.runningTasksCount, 4);
    assert.equal(remainingMemory(instances.get(b)!), INSTANCE_MEMORY - 1024);
    for (const arn of arns.filter((x) => x !== a && x !== b)) assert.equal(remainingMemory(instances.get(arn)!), INSTANCE_MEMORY);
  });

  test("spread by zone puts two tasks in each zone; spread by instanceId evens the instances out", { timeout: 60_000 }, async () => {
    await clearStandaloneTasks();
    const byZone = await run({ taskDefinition: "small", count: 4, group: "spread-az", placementStrategy: [SPREAD_AZ] });
    assert.deepEqual(byZone.failures, [], JSON.stringify(byZone.failures));
    const zones = countBy(byZone.tasks, (t) => zoneOf.get(t.containerInstanceArn!)!);
    assert.deepEqual([...zones.entries()].sort(), [["zone-a", 2], ["zone-b", 2]]);

    const both = await run({ taskDefinition: "small", count: 4, group: "spread-both", placementStrategy: [SPREAD_AZ, SPREAD_ID] });
    assert.equal(new Set(both.tasks.map((t) => t.containerInstanceArn)).size, 4, "zone, then instance: one task per instance");

    // Two tasks of a group start on one instance; spreading six more fills the other three first.
    const [first] = arns;
    for (let i = 0; i < 2; i++) {
      const started = await client.send(new StartTaskCommand({ cluster: CLUSTER, taskDefinition: "small", group: "even", containerInstances: [first!] }));
      assert.deepEqual(started.failures, [], JSON.stringify(started.failures));
    }
    const spread = await run({ taskDefinition: "small", count: 6, group: "even", placementStrategy: [SPREAD_ID] });
    assert.deepEqual(spread.failures, [], JSON.stringify(spread.failures));
    assert.ok(spread.tasks.every((t) => t.containerInstanceArn !== first), "nothing more on the instance that already had two");
    const live = (await listTasks()).filter((t) => t.group === "even");
    assert.deepEqual([...countBy(live, (t) => t.containerInstanceArn!).values()], [2, 2, 2, 2], "two per instance");
    await waitRunning([...byZone.tasks, ...both.tasks, ...live]);
  });

  test("a task that fits nowhere fails with RESOURCE:MEMORY or RESOURCE:CPU naming an instance", { timeout: 60_000 }, async () => {
    await clearStandaloneTasks();
    const memory = await run({ taskDefinition: "huge" });
    assert.equal(memory.tasks.length, 0);
    assert.equal(memory.failures[0]?.reason, "RESOURCE:MEMORY", JSON.stringify(memory.failures));
    assert.ok(arns.includes(memory.failures[0]?.arn ?? ""), `the failure names a container instance: ${JSON.stringify(memory.failures)}`);

    const cpu = await run({ taskDefinition: "cpuhog" });
    assert.equal(cpu.tasks.length, 0);
    assert.equal(cpu.failures[0]?.reason, "RESOURCE:CPU", JSON.stringify(cpu.failures));
    assert.ok(arns.includes(cpu.failures[0]?.arn ?? ""), `the failure names a container instance: ${JSON.stringify(cpu.failures)}`);
  });

  test("a service's tasks move off a DRAINING instance without dropping below its healthy floor", { timeout: 60_000 }, async () => {
    await clearStandaloneTasks();
    await client.send(new CreateServiceCommand({ cluster: CLUSTER, serviceName: "web", taskDefinition: "web", desiredCount: 4, launchType: "EC2" }));
    let tasks: Task[] = [];
    await until("four healthy service tasks", async () => {
      tasks = await listTasks({ serviceName: "web" });
      const healthy = tasks.filter((t) => t.lastStatus === "RUNNING" && t.healthStatus === "HEALTHY");
      const svc = await describeService("web");
      return healthy.length === 4 && tasks.length === 4 && svc.deployments?.[0]?.rolloutState === "COMPLETED" ? true : undefined;
    }, 30_000, () => tasks.map((t) => [t.lastStatus, t.healthStatus]));
    // The default service strategy: spread across zones, then instances.
    assert.deepEqual([...countBy(tasks, (t) => zoneOf.get(t.containerInstanceArn!)!).entries()].sort(), [["zone-a", 2], ["zone-b", 2]]);
    assert.equal(new Set(tasks.map((t) => t.containerInstanceArn)).size, 4, "one task per instance");

    const victim = tasks[0]!;
    const drained = victim.containerInstanceArn!;
    let minHealthy = Infinity;
    let maxLive = 0;
    let done = false;
    const sampler = (async () => {
      while (!done) {
        const now = await listTasks({ serviceName: "web" });
        const stoppedNow = await listTasks({ serviceName: "web", desiredStatus: "STOPPED" });
        const all = [...now, ...stoppedNow];
        minHealthy = Math.min(minHealthy, all.filter((t) => t.lastStatus === "RUNNING" && t.healthStatus === "HEALTHY").length);
        maxLive = Math.max(maxLive, now.length);
        await sleep(100);
      }
    })();
    try {
      const started = Date.now();
      const answer = await setState(drained, "DRAINING");
      assert.equal(answer.containerInstances?.[0]?.status, "DRAINING");
      let last: Task[] = [];
      await until("the drained instance's task to be replaced", async () => {
        last = await listTasks({ serviceName: "web" });
        const [stoppedVictim] = await describeTasks([victim.taskArn!]);
        const healthyElsewhere = last.filter((t) => t.containerInstanceArn !== drained && t.lastStatus === "RUNNING" && t.healthStatus === "HEALTHY");
        return stoppedVictim?.lastStatus === "STOPPED" && healthyElsewhere.length === 4 && last.length === 4 ? true : undefined;
      }, 30_000, () => last.map((t) => [t.containerInstanceArn, t.lastStatus, t.healthStatus]));
      const took = Date.now() - started;
      // The replacement must turn healthy (one 5 s health interval) before the old task may stop.
      assert.ok(took >= 4_000, `the old task stopped after ${took} ms, before its replacement could be healthy`);
    } finally {
      done = true;
      await sampler;
    }
    assert.ok(minHealthy >= 4, `healthy service tasks dipped to ${minHealthy} (minimumHealthyPercent 100 of 4)`);
    assert.ok(maxLive <= 8, `running + pending reached ${maxLive} (maximumPercent 200 of 4)`);

    const [stopped] = await describeTasks([victim.taskArn!]);
    assert.equal(stopped?.stopCode, "ServiceSchedulerInitiated");
    const ci = (await describeInstances()).find((c) => c.containerInstanceArn === drained)!;
    assert.equal(ci.status, "DRAINING");
    assert.equal(ci.runningTasksCount, 0, "the drained instance runs nothing");
    assert.equal(ci.pendingTasksCount, 0);
    let svc: Service | undefined;
    await until("the service to count 4 of 4", async () => {
      svc = await describeService("web");
      return svc.desiredCount === 4 && svc.runningCount === 4 ? true : undefined;
    }, 10_000, () => [svc?.desiredCount, svc?.runningCount]);

    // New standalone tasks avoid a DRAINING instance too.
    const spread = await run({ taskDefinition: "small", count: 3, group: "after-drain", placementStrategy: [SPREAD_ID] });
    assert.deepEqual(spread.failures, [], JSON.stringify(spread.failures));
    assert.deepEqual(spread.tasks.map((t) => t.containerInstanceArn).sort(), arns.filter((a) => a !== drained).sort(), "one on each ACTIVE instance");

    await client.send(new DeleteServiceCommand({ cluster: CLUSTER, service: "web", force: true }));
    await until("the service's tasks to stop", async () => ((await listTasks({ serviceName: "web" })).length === 0 ? true : undefined));
    await setState(drained, "ACTIVE");
  });

  test("a DAEMON service runs one task per ACTIVE instance and follows draining and reactivation", { timeout: 60_000 }, async () => {
    await clearStandaloneTasks();
    for (const arn of arns) await setState(arn, "ACTIVE");
    await client.send(new CreateServiceCommand({ cluster: CLUSTER, serviceName: "agentd", taskDefinition: "daemon", schedulingStrategy: "DAEMON", launchType: "EC2" }));

    let tasks: Task[] = [];
    const onePerInstance = async (expected: readonly string[]) => {
      tasks = await listTasks({ serviceName: "agentd" });
      const running = tasks.filter((t) => t.lastStatus === "RUNNING");
      const on = running.map((t) => t.containerInstanceArn!).sort();
      return tasks.length === expected.length && JSON.stringify(on) === JSON.stringify([...expected].sort()) ? true : undefined;
    };
    const show = () => tasks.map((t) => [t.containerInstanceArn, t.lastStatus]);
    await until("one daemon task per instance", () => onePerInstance(arns), 30_000, show);
    assert.equal((await describeService("agentd")).desiredCount, 4);

    const drained = arns[2]!;
    const victim = tasks.find((t) => t.containerInstanceArn === drained)!;
    await setState(drained, "DRAINING");
    const rest = arns.filter((a) => a !== drained);
    await until("the daemon to leave the drained instance", () => onePerInstance(rest), 30_000, show);
    const stopped = await until("the drained daemon task to be STOPPED", async () => {
      const [t] = await describeTasks([victim.taskArn!]);
      return t?.lastStatus === "STOPPED" ? t : undefined;
    });
    assert.equal(stopped.stopCode, "ServiceSchedulerInitiated");
    assert.equal((await describeService("agentd")).desiredCount, 3, "desiredCount follows the ACTIVE instances");

    await setState(drained, "ACTIVE");
    await until("the daemon to return to the reactivated instance", () => onePerInstance(arns), 30_000, show);
    // The service's counts follow its tasks at the controller's next pass.
    let svc: Service | undefined;
    await until("the daemon service to count 4 of 4", async () => {
      svc = await describeService("agentd");
      return svc.desiredCount === 4 && svc.runningCount === 4 ? true : undefined;
    }, 10_000, () => [svc?.desiredCount, svc?.runningCount]);
  });
});
