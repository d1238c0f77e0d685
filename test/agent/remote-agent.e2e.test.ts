// A remote agent: a server without an embedded agent, and an Agent that joins it over HTTP
// (HttpAgentChannel → /_berth/agent/v1/*) and runs tasks on real Docker.
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { rmSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import {
  CreateClusterCommand,
  DescribeContainerInstancesCommand,
  type ECSClient,
  ListContainerInstancesCommand,
  RegisterTaskDefinitionCommand,
  RunTaskCommand,
  StopTaskCommand,
} from "@aws-sdk/client-ecs";
import { Agent } from "../../src/agent/agent.ts";
import { HttpAgentChannel } from "../../src/agent/http-agent-channel.ts";
import { silentLogger } from "../../src/core/logger.ts";
import { DockerRuntime } from "../../src/runtime/docker-runtime.ts";
import { BUSYBOX_IMAGE, ensureBusyboxImage } from "../support/images.ts";
import { REGION, ROOT, type TestServer, ecsClient, noteTestAgent, startTestServer, tempDir, waitForTask } from "../support/harness.ts";

const CLUSTER = "remote";

function runBerth(args: string[]): Promise<{ code: number | null; stderr: string }> {
  const env = { ...process.env };
  delete env["BERTH_SERVER"];
  delete env["BERTH_AGENT_TOKEN"];
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [join(ROOT, "dist/berth.js"), ...args], { env, stdio: ["ignore", "ignore", "pipe"] });
    let stderr = "";
    child.stderr!.on("data", (d: Buffer) => (stderr += d.toString()));
    child.once("error", reject);
    child.once("exit", (code) => resolve({ code, stderr }));
  });
}

describe("an agent on another host", () => {
  let server: TestServer;
  let client: ECSClient;
  let agent: Agent;
  const agentDir = tempDir("berth-remote-agent-");
  const started: string[] = [];

  before(async () => {
    const runtime = new DockerRuntime();
    await ensureBusyboxImage(runtime);
    server = await startTestServer();
    client = ecsClient(server);
    await client.send(new CreateClusterCommand({ clusterName: CLUSTER }));
    agent = new Agent({
      channel: new HttpAgentChannel({ serverUrl: server.url, token: server.server.agentToken }),
      runtime,
      dataDir: agentDir,
      region: REGION,
      cluster: CLUSTER,
      fargate: false,
      availabilityZone: `${REGION}a`,
      bindIp: "127.0.0.1",
      pullBehavior: "default",
      // Test files run side by side: leave 169.254.170.2:80 to the embedded agents' tests.
      metadata: false,
      logger: silentLogger,
      pollMs: 250,
      cleanupMs: 5_000,
    });
    await agent.start();
    noteTestAgent(agentDir);
  });

  after(async () => {
    for (const arn of started) await client.send(new StopTaskCommand({ cluster: CLUSTER, task: arn })).catch(() => undefined);
    for (const arn of started) await waitForTask(client, CLUSTER, arn, (t) => t.lastStatus === "STOPPED").catch(() => undefined);
    await agent?.stop();
    await server?.close();
    rmSync(agentDir, { recursive: true, force: true });
  });

  test("the host registers as a connected container instance of its cluster", async () => {
    const list = await client.send(new ListContainerInstancesCommand({ cluster: CLUSTER }));
    assert.deepEqual(list.containerInstanceArns, [agent.containerInstanceArn]);
    const described = await client.send(new DescribeContainerInstancesCommand({ cluster: CLUSTER, containerInstances: list.containerInstanceArns! }));
    const ci = described.containerInstances?.[0];
    assert.equal(ci?.agentConnected, true);
    assert.equal(ci?.status, "ACTIVE");
  });

  test("an EC2 task runs on the remote host and stops when asked", async () => {
    await client.send(
      new RegisterTaskDefinitionCommand({
        family: "remote-sleep",
        networkMode: "bridge",
        containerDefinitions: [{ name: "c", image: BUSYBOX_IMAGE, command: ["sleep", "300"], memory: 16, linuxParameters: { initProcessEnabled: true } }],
      }),
    );
    const out = await client.send(new RunTaskCommand({ cluster: CLUSTER, taskDefinition: "remote-sleep", launchType: "EC2" }));
    assert.deepEqual(out.failures, [], JSON.stringify(out.failures));
    const arn = out.tasks![0]!.taskArn!;
    started.push(arn);
    assert.equal(out.tasks![0]!.containerInstanceArn, agent.containerInstanceArn);

    const running = await waitForTask(client, CLUSTER, arn, (t) => t.lastStatus === "RUNNING");
    assert.match(running.containers?.[0]?.runtimeId ?? "", /^[0-9a-f]{64}$/);

    await client.send(new StopTaskCommand({ cluster: CLUSTER, task: arn }));
    const stopped = await waitForTask(client, CLUSTER, arn, (t) => t.lastStatus === "STOPPED");
    assert.equal(stopped.stopCode, "UserInitiated");
    assert.equal(stopped.containers?.[0]?.lastStatus, "STOPPED");
  });

  test("the agent endpoint refuses a wrong token, unknown calls and other protocol versions", async () => {
    const post = (path: string, token: string, body: unknown) =>
      fetch(`${server.url}/_berth/agent/v1/${path}`, {
        method: "POST",
        headers: { "content-type": "application/json", authorization: `Bearer ${token}` },
        body: JSON.stringify(body),
      });
    const wrong = await post("heartbeat", "not-the-token", { agentId: agent.agentId });
    assert.equal(wrong.status, 401);
    assert.match(((await wrong.json()) as { message: string }).message, /token/);

    const token = server.server.agentToken;
    assert.equal((await post("nope", token, {})).status, 404);
    const badJson = await fetch(`${server.url}/_berth/agent/v1/heartbeat`, { method: "POST", headers: { authorization: `Bearer ${token}` }, body: "{" });
    assert.equal(badJson.status, 400);
    const oldAgent = await post("register", token, { protocolVersion: 0, agentId: "x" });
    assert.equal(oldAgent.status, 400);
    assert.match(((await oldAgent.json()) as { message: string }).message, /protocol version/);
    const unknownAgent = await post("heartbeat", token, { agentId: "never-registered" });
    assert.equal(unknownAgent.status, 409);
    assert.equal((await post("heartbeat", token, { agentId: agent.agentId })).status, 200);
  });

  test("berth agent refuses to start without a token", async () => {
    const { code, stderr } = await runBerth(["agent", "--server", "http://127.0.0.1:1"]);
    assert.notEqual(code, 0);
    assert.match(stderr, /--token/);
  });
});
