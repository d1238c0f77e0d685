// Tasks on real Docker containers, driven with the AWS CLI and the JS SDK.
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import {
  DescribeClustersCommand,
  DescribeContainerInstancesCommand,
  PutClusterCapacityProvidersCommand,
  StartTaskCommand,
  DescribeTasksCommand,
  type ECSClient,
  ListContainerInstancesCommand,
  ListTasksCommand,
  RegisterTaskDefinitionCommand,
  RunTaskCommand,
  StopTaskCommand,
} from "@aws-sdk/client-ecs";
import { BUSYBOX_IMAGE } from "../support/images.ts";
import { type TestServer, aws, ecsClient, startTestServer, waitForTask } from "../support/harness.ts";

const AWSVPC = { awsvpcConfiguration: { subnets: ["subnet-12345678"], securityGroups: ["sg-12345678"] } };
const HTTPD = "mkdir -p /www && echo ok > /www/health && exec httpd -f -p 8080 -h /www";

describe("tasks on Docker", () => {
  let server: TestServer;
  let client: ECSClient;
  const started: string[] = [];
  before(async () => {
    server = await startTestServer({ agent: true });
    client = ecsClient(server);
  });
  after(async () => {
    for (const arn of started) await client.send(new StopTaskCommand({ cluster: "default", task: arn })).catch(() => undefined);
    for (const arn of started) await waitForTask(client, "default", arn, (t) => t.lastStatus === "STOPPED").catch(() => undefined);
    await server.close();
  });

  // An init as PID 1 forwards SIGTERM, so stops are quick (a bare `sleep` as PID 1 ignores it).
  const withInit = (defs: object[]) => defs.map((d) => ({ linuxParameters: { initProcessEnabled: true }, ...d }));
  const run = async (family: string, containerDefinitions: object[], extra: object = {}) => {
    await client.send(new RegisterTaskDefinitionCommand({ family, containerDefinitions: withInit(containerDefinitions), ...extra } as never));
    // Say the launch type: a later test gives the cluster a FARGATE default strategy.
    const awsvpc = (extra as { networkMode?: string }).networkMode === "awsvpc";
    const launch = awsvpc ? { launchType: "FARGATE", networkConfiguration: AWSVPC } : { launchType: "EC2" };
    const out = await client.send(new RunTaskCommand({ cluster: "default", taskDefinition: family, ...launch } as never));
    assert.deepEqual(out.failures, [], JSON.stringify(out.failures));
    const arn = out.tasks![0]!.taskArn!;
    started.push(arn);
    return arn;
  };

  test("a FARGATE task with a health check runs, turns HEALTHY, and stops when asked", async () => {
    // awslogs needs its group (ECS fails the task otherwise).
    assert.equal((await aws(server, ["logs", "create-log-group", "--log-group-name", "/ecs/api"])).code, 0);
    const arn = await run(
      "api-blue",
      [
        {
          name: "web",
          image: BUSYBOX_IMAGE,
          command: ["sh", "-c", HTTPD],
          portMappings: [{ containerPort: 8080, protocol: "tcp" }],
          essential: true,
          linuxParameters: { initProcessEnabled: true },
          environment: [{ name: "ENV", value: "prod" }],
          healthCheck: { command: ["CMD-SHELL", "wget -q -O- http://localhost:8080/health || exit 1"], interval: 5, timeout: 2, retries: 3, startPeriod: 1 },
          logConfiguration: { logDriver: "awslogs", options: { "awslogs-group": "/ecs/api", "awslogs-region": "ap-south-1", "awslogs-stream-prefix": "web" } },
        },
      ],
      {
        networkMode: "awsvpc",
        requiresCompatibilities: ["FARGATE"],
        cpu: "256",
        memory: "512",
        executionRoleArn: "arn:aws:iam::123456789012:role/ecsTaskExecutionRole",
      },
    );
    const waited = await aws(server, ["ecs", "wait", "tasks-running", "--cluster", "default", "--tasks", arn]);
    assert.equal(waited.code, 0, waited.stderr);
    const healthy = await waitForTask(client, "default", arn, (t) => t.healthStatus === "HEALTHY");
    assert.equal(healthy.lastStatus, "RUNNING");
    assert.equal(healthy.launchType, "FARGATE");
    assert.equal(healthy.containers?.[0]?.healthStatus, "HEALTHY");
    assert.match(healthy.containers?.[0]?.runtimeId ?? "", /^[0-9a-f]{64}$/);
    const eni = healthy.attachments?.[0];
    assert.equal(eni?.type, "ElasticNetworkInterface");
    assert.match(eni?.details?.find((d) => d.name === "privateIPv4Address")?.value ?? "", /^\d+\.\d+\.\d+\.\d+$/);
    assert.ok(healthy.startedAt && healthy.pullStartedAt && healthy.pullStoppedAt);

    const stopped = await aws(server, ["ecs", "stop-task", "--cluster", "default", "--task", arn]);
    assert.equal(stopped.code, 0, stopped.stderr);
    assert.equal(stopped.json.task.desiredStatus, "STOPPED");
    const waitStopped = await aws(server, ["ecs", "wait", "tasks-stopped", "--cluster", "default", "--tasks", arn]);
    assert.equal(waitStopped.code, 0, waitStopped.stderr);
    const final = (await client.send(new DescribeTasksCommand({ cluster: "default", tasks: [arn] }))).tasks![0]!;
    assert.equal(final.stopCode, "UserInitiated");
    assert.equal(final.stoppedReason, "Task stopped by user");
    assert.ok(final.stoppedAt && final.executionStoppedAt);
    assert.equal(final.containers?.[0]?.lastStatus, "STOPPED");
  });

  test("an essential container exiting 3 stops the task; a non-essential one does not", async () => {
    const arn = await run("exits", [
      { name: "main", image: BUSYBOX_IMAGE, command: ["sh", "-c", "sleep 1; exit 3"], memory: 32 },
      { name: "side", image: BUSYBOX_IMAGE, command: ["sleep", "300"], memory: 32 },
    ]);
    const stopped = await waitForTask(client, "default", arn, (t) => t.lastStatus === "STOPPED");
    assert.equal(stopped.stopCode, "EssentialContainerExited");
    assert.equal(stopped.stoppedReason, "Essential container in task exited");
    assert.equal(stopped.containers?.find((c) => c.name === "main")?.exitCode, 3);

    const lives = await run("side-exits", [
      { name: "main", image: BUSYBOX_IMAGE, command: ["sleep", "300"], memory: 32 },
      { name: "side", image: BUSYBOX_IMAGE, command: ["sh", "-c", "exit 0"], essential: false, memory: 32 },
    ]);
    const sideDone = await waitForTask(client, "default", lives, (t) => t.containers?.find((c) => c.name === "side")?.lastStatus === "STOPPED");
    assert.equal(sideDone.lastStatus, "RUNNING");
    assert.equal(sideDone.containers?.find((c) => c.name === "side")?.exitCode, 0);
  });

  test("dependsOn HEALTHY holds a container back until its dependency is healthy", async () => {
    const arn = await run("ordered", [
      {
        name: "db",
        image: BUSYBOX_IMAGE,
        command: ["sh", "-c", "sleep 3; touch /ready; exec sleep 300"],
        memory: 32,
        healthCheck: { command: ["CMD-SHELL", "test -f /ready"], interval: 5, timeout: 2, retries: 3, startPeriod: 10 },
      },
      { name: "app", image: BUSYBOX_IMAGE, command: ["sleep", "300"], memory: 32, dependsOn: [{ containerName: "db", condition: "HEALTHY" }] },
    ]);
    const running = await waitForTask(client, "default", arn, (t) => t.lastStatus === "RUNNING");
    const ids = Object.fromEntries(running.containers!.map((c) => [c.name, c.runtimeId]));
    const started = JSON.parse((await import("node:child_process")).execFileSync("docker", ["inspect", ids["db"]!, ids["app"]!], { encoding: "utf8" })) as {
      State: { StartedAt: string };
    }[];
    const [dbStart, appStart] = started.map((c) => Date.parse(c.State.StartedAt));
    assert.ok(appStart! - dbStart! >= 2500, `app started ${appStart! - dbStart!} ms after db`);
    assert.equal(running.containers?.find((c) => c.name === "db")?.healthStatus, "HEALTHY");
  });

  test("a missing image fails the task with CannotPullContainerError", async () => {
    const arn = await run("no-image", [{ name: "c", image: "berth-test/does-not-exist:1", memory: 32 }]);
    const stopped = await waitForTask(client, "default", arn, (t) => t.lastStatus === "STOPPED");
    assert.equal(stopped.stopCode, "TaskFailedToStart");
    assert.match(stopped.stoppedReason ?? "", /^CannotPullContainerError: /);
  });

  test("a container over its memory is reported as killed for memory", async () => {
    const arn = await run("hog", [{ name: "hog", image: BUSYBOX_IMAGE, memory: 8, command: ["sh", "-c", "x=a; while true; do x=$x$x; done"] }]);
    const stopped = await waitForTask(client, "default", arn, (t) => t.lastStatus === "STOPPED");
    const hog = stopped.containers?.[0];
    assert.equal(hog?.exitCode, 137);
    assert.equal(hog?.reason, "OutOfMemoryError: Container killed due to memory usage");
  });

  test("awsvpc containers of one task share localhost", async () => {
    const arn = await run(
      "pair",
      [
        { name: "server", image: BUSYBOX_IMAGE, command: ["sh", "-c", HTTPD] },
        {
          name: "client",
          image: BUSYBOX_IMAGE,
          essential: false,
          command: ["sh", "-c", "for i in 1 2 3 4 5 6 7 8 9 10; do wget -q -O- http://127.0.0.1:8080/health && exit 0; sleep 0.5; done; exit 1"],
        },
      ],
      { networkMode: "awsvpc", requiresCompatibilities: ["FARGATE"], cpu: "256", memory: "512" },
    );
    const done = await waitForTask(client, "default", arn, (t) => t.containers?.find((c) => c.name === "client")?.lastStatus === "STOPPED");
    assert.equal(done.containers?.find((c) => c.name === "client")?.exitCode, 0);
  });

  test("bridge mode publishes a dynamic host port that answers", async () => {
    const arn = await run("bridged", [
      { name: "web", image: BUSYBOX_IMAGE, memory: 32, command: ["sh", "-c", HTTPD], portMappings: [{ containerPort: 8080, hostPort: 0 }] },
    ]);
    const running = await waitForTask(client, "default", arn, (t) => t.lastStatus === "RUNNING");
    const binding = running.containers?.[0]?.networkBindings?.[0];
    assert.equal(binding?.containerPort, 8080);
    assert.equal(binding?.bindIP, "127.0.0.1");
    assert.ok((binding?.hostPort ?? 0) > 1024);
    let body = "";
    for (let i = 0; i < 20 && body === ""; i++) {
      body = await fetch(`http://127.0.0.1:${binding!.hostPort}/health`).then((r) => r.text(), () => "");
      if (body === "") await new Promise((r) => setTimeout(r, 250));
    }
    assert.equal(body.trim(), "ok");
    const listed = await client.send(new ListTasksCommand({ cluster: "default", family: "bridged" }));
    assert.deepEqual(listed.taskArns, [arn]);
  });

  test("the host is a container instance; a task that cannot fit gets RESOURCE:MEMORY", async () => {
    const list = await client.send(new ListContainerInstancesCommand({ cluster: "default" }));
    assert.equal(list.containerInstanceArns?.length, 1);
    const ci = (await client.send(new DescribeContainerInstancesCommand({ cluster: "default", containerInstances: list.containerInstanceArns! }))).containerInstances![0]!;
    assert.equal(ci.agentConnected, true);
    const memory = ci.registeredResources?.find((r) => r.name === "MEMORY")?.integerValue ?? 0;
    assert.ok(memory > 0);
    assert.ok(ci.attributes?.some((a) => a.name === "ecs.availability-zone" && a.value === "ap-south-1a"));
    await client.send(new RegisterTaskDefinitionCommand({ family: "huge", containerDefinitions: [{ name: "c", image: BUSYBOX_IMAGE, memory: memory + 1 }] }));
    const out = await client.send(new RunTaskCommand({ cluster: "default", taskDefinition: "huge" }));
    assert.deepEqual(out.tasks, []);
    assert.equal(out.failures?.[0]?.reason, "RESOURCE:MEMORY");
    assert.equal(out.failures?.[0]?.arn, ci.containerInstanceArn);
  });

  test("capacity providers, StartTask and cluster counts", async () => {
    await assert.rejects(
      client.send(new PutClusterCapacityProvidersCommand({ cluster: "default", capacityProviders: ["MY_ASG"], defaultCapacityProviderStrategy: [] })),
      { name: "InvalidParameterException" },
    );
    await client.send(
      new PutClusterCapacityProvidersCommand({
        cluster: "default",
        capacityProviders: ["FARGATE", "FARGATE_SPOT"],
        defaultCapacityProviderStrategy: [{ capacityProvider: "FARGATE", weight: 1, base: 1 }],
      }),
    );
    await client.send(
      new RegisterTaskDefinitionCommand({
        family: "by-provider",
        networkMode: "awsvpc",
        requiresCompatibilities: ["FARGATE"],
        cpu: "256",
        memory: "512",
        containerDefinitions: withInit([{ name: "c", image: BUSYBOX_IMAGE, command: ["sleep", "300"] }]) as never,
      }),
    );
    const viaDefault = await client.send(new RunTaskCommand({ cluster: "default", taskDefinition: "by-provider", networkConfiguration: AWSVPC }));
    started.push(viaDefault.tasks![0]!.taskArn!);
    assert.equal(viaDefault.tasks?.[0]?.launchType, "FARGATE");
    assert.equal(viaDefault.tasks?.[0]?.capacityProviderName, "FARGATE");
    await assert.rejects(
      client.send(new RunTaskCommand({ cluster: "default", taskDefinition: "by-provider", launchType: "FARGATE", capacityProviderStrategy: [{ capacityProvider: "FARGATE" }], networkConfiguration: AWSVPC })),
      { name: "InvalidParameterException" },
    );

    const [instanceArn] = (await client.send(new ListContainerInstancesCommand({ cluster: "default" }))).containerInstanceArns!;
    await client.send(new RegisterTaskDefinitionCommand({ family: "pinned", containerDefinitions: withInit([{ name: "c", image: BUSYBOX_IMAGE, command: ["sleep", "300"], memory: 16 }]) as never }));
    const pinned = await client.send(new StartTaskCommand({ cluster: "default", taskDefinition: "pinned", containerInstances: [instanceArn!] }));
    assert.equal(pinned.tasks?.[0]?.containerInstanceArn, instanceArn);
    started.push(pinned.tasks![0]!.taskArn!);
    await waitForTask(client, "default", pinned.tasks![0]!.taskArn!, (t) => t.lastStatus === "RUNNING");

    const cluster = (await client.send(new DescribeClustersCommand({ clusters: ["default"] }))).clusters![0]!;
    assert.equal(cluster.registeredContainerInstancesCount, 1);
    assert.ok((cluster.runningTasksCount ?? 0) >= 1, `runningTasksCount ${cluster.runningTasksCount}`);
    assert.deepEqual(cluster.capacityProviders, ["FARGATE", "FARGATE_SPOT"]);
  });

  test("the metadata endpoint answers from inside containers with the task's ARN and family", async () => {
    const probe = 'wget -q -O- "$ECS_CONTAINER_METADATA_URI_V4/task"; echo; wget -q -O- "$ECS_CONTAINER_METADATA_URI_V4"; echo; exec sleep 300';
    for (const mode of ["awsvpc", "bridge"] as const) {
      const extra = mode === "awsvpc"
        ? { networkMode: "awsvpc", requiresCompatibilities: ["FARGATE"], cpu: "256", memory: "512" }
        : { networkMode: "bridge" };
      const arn = await run(`meta-${mode}`, [{ name: "probe", image: BUSYBOX_IMAGE, memory: 32, command: ["sh", "-c", probe] }], extra);
      const running = await waitForTask(client, "default", arn, (t) => t.lastStatus === "RUNNING");
      const id = running.containers![0]!.runtimeId!;
      let lines: string[] = [];
      for (let i = 0; i < 40 && lines.length < 2; i++) {
        const out = (await import("node:child_process")).execFileSync("docker", ["logs", id], { encoding: "utf8" });
        lines = out.split("\n").filter((l) => l.startsWith("{"));
        if (lines.length < 2) await new Promise((r) => setTimeout(r, 250));
      }
      assert.equal(lines.length, 2, `${mode}: two JSON documents from the endpoint`);
      const task = JSON.parse(lines[0]!) as { TaskARN: string; Family: string; Revision: string; Containers: { DockerId: string }[] };
      const container = JSON.parse(lines[1]!) as { DockerId: string; Name: string };
      assert.equal(task.TaskARN, arn, mode);
      assert.equal(task.Family, `meta-${mode}`);
      assert.equal(container.DockerId, id);
      assert.equal(container.Name, "probe");
    }
  });
});
