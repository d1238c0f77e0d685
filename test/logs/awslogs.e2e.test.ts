// The awslogs driver end to end: a task's output lands in CloudWatch Logs under
// prefix/container/task-id, `aws logs tail --follow` prints new lines, get-log-events pages,
// and a missing group without awslogs-create-group fails the task as ECS does.
import assert from "node:assert/strict";
import { execFile, execFileSync, spawn } from "node:child_process";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { DescribeTasksCommand, type ECSClient, RegisterTaskDefinitionCommand, RunTaskCommand, StopTaskCommand, type Task } from "@aws-sdk/client-ecs";
import { BUSYBOX_IMAGE } from "../support/images.ts";
import { AWS_CLI, ROOT, type TestServer, aws, cliEnv, ecsClient, startTestServer, until } from "../support/harness.ts";
import { CreateServiceCommand, DeleteServiceCommand } from "@aws-sdk/client-ecs";

/** Runs the built `berth` command against the test server (async: the server is in this process). */
function berth(server: TestServer, args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  const port = new URL(server.url).port;
  return new Promise((resolve) => {
    execFile(process.execPath, [join(ROOT, "dist/berth.js"), ...args, "--data-dir", server.dataDir, "--port", port, "--region", "ap-south-1"], { timeout: 30_000 }, (error, stdout, stderr) =>
      resolve({ code: error ? (typeof error.code === "number" ? error.code : 1) : 0, stdout, stderr }),
    );
  });
}

describe("awslogs", () => {
  let server: TestServer;
  let client: ECSClient;
  const tasks: string[] = [];
  before(async () => {
    server = await startTestServer({ agent: true });
    client = ecsClient(server);
  });
  after(async () => {
    for (const t of tasks) await client.send(new StopTaskCommand({ cluster: "default", task: t })).catch(() => undefined);
    await server.close();
  });

  const runLogger = async (family: string, script: string, options: Record<string, string>) => {
    await client.send(
      new RegisterTaskDefinitionCommand({
        family,
        containerDefinitions: [
          {
            name: "app",
            image: BUSYBOX_IMAGE,
            memory: 32,
            command: ["sh", "-c", script],
            linuxParameters: { initProcessEnabled: true },
            logConfiguration: { logDriver: "awslogs", options: { "awslogs-region": "ap-south-1", ...options } },
          },
        ],
      }),
    );
    const out = await client.send(new RunTaskCommand({ cluster: "default", taskDefinition: family, launchType: "EC2" }));
    const arn = out.tasks![0]!.taskArn!;
    tasks.push(arn);
    return arn;
  };

  test("output lands under prefix/container/task-id; tail --follow prints new lines; get-log-events pages", async () => {
    const created = await aws(server, ["logs", "create-log-group", "--log-group-name", "/ecs/app"]);
    assert.equal(created.code, 0, created.stderr);
    const script = 'i=0; while [ $i -lt 30 ]; do echo "line $i"; i=$((i+1)); done; echo ready; sleep 3; echo "late line"; exec sleep 300';
    const arn = await runLogger("logger", script, { "awslogs-group": "/ecs/app", "awslogs-stream-prefix": "web" });
    const taskId = arn.split("/").pop()!;
    const stream = `web/app/${taskId}`;

    const streams = await until("the stream", async () => {
      const r = await aws(server, ["logs", "describe-log-streams", "--log-group-name", "/ecs/app"]);
      return r.json?.logStreams?.length ? r.json.logStreams : undefined;
    });
    assert.equal(streams[0].logStreamName, stream);

    // tail --follow prints the late line within a couple of seconds of it being written.
    const tail = spawn(AWS_CLI, ["logs", "tail", "/ecs/app", "--follow", "--since", "5m", "--format", "short", "--endpoint-url", server.url], {
      // Python block-buffers a piped stdout; unbuffered, lines arrive as the CLI prints them.
      env: cliEnv(server, { PYTHONUNBUFFERED: "1" }),
    });
    let tailed = "";
    let tailErr = "";
    tail.stdout.on("data", (d: Buffer) => (tailed += d.toString()));
    tail.stderr.on("data", (d: Buffer) => (tailErr += d.toString()));
    try {
      await until("tail to print the late line", async () => (tailed.includes("late line") ? true : undefined), 20_000).catch((e: Error) => {
        throw new Error(`${e.message}; tail printed ${JSON.stringify(tailed.slice(-300))} and ${JSON.stringify(tailErr.slice(-300))}`);
      });
      assert.match(tailed, /line 0\b/);
    } finally {
      tail.kill("SIGINT");
    }
    const exit = await new Promise<number | null>((r) => tail.once("exit", (code) => r(code)));
    assert.notEqual(exit, null, "tail exits on interrupt");

    const forward = await aws(server, ["logs", "get-log-events", "--log-group-name", "/ecs/app", "--log-stream-name", stream, "--start-from-head", "--limit", "10", "--no-paginate"]);
    assert.deepEqual(forward.json.events.map((e: { message: string }) => e.message), Array.from({ length: 10 }, (_, i) => `line ${i}`));
    const next = await aws(server, ["logs", "get-log-events", "--log-group-name", "/ecs/app", "--log-stream-name", stream, "--limit", "10", "--next-token", forward.json.nextForwardToken, "--no-paginate"]);
    assert.deepEqual(next.json.events.map((e: { message: string }) => e.message), Array.from({ length: 10 }, (_, i) => `line ${i + 10}`));
    const back = await aws(server, ["logs", "get-log-events", "--log-group-name", "/ecs/app", "--log-stream-name", stream, "--limit", "10", "--next-token", next.json.nextBackwardToken, "--no-paginate"]);
    assert.deepEqual(back.json.events.map((e: { message: string }) => e.message), Array.from({ length: 10 }, (_, i) => `line ${i}`));
  });

  test("awslogs-create-group creates the group; a missing group without it fails the task", async () => {
    const created = await runLogger("creates", "echo hello; exec sleep 300", { "awslogs-group": "/ecs/created", "awslogs-stream-prefix": "p", "awslogs-create-group": "true" });
    await until("the created group's event", async () => {
      const r = await aws(server, ["logs", "filter-log-events", "--log-group-name", "/ecs/created"]);
      return r.json?.events?.some((e: { message: string }) => e.message === "hello") ? true : undefined;
    });
    assert.ok(created, "task started");

    const arn = await runLogger("nogroup", "echo never", { "awslogs-group": "/ecs/missing", "awslogs-stream-prefix": "p" });
    const stopped = await until<Task>("the task to fail", async () => {
      const t = (await client.send(new DescribeTasksCommand({ cluster: "default", tasks: [arn] }))).tasks?.[0];
      return t?.lastStatus === "STOPPED" ? t : undefined;
    });
    assert.equal(stopped.stopCode, "TaskFailedToStart");
    assert.match(stopped.stoppedReason ?? "", /^ResourceInitializationError: failed to validate logger args: .*The specified log group does not exist/);
  });

  test("berth logs prints a task's and a service's output, with a filter", async () => {
    const arn = await runLogger("human", 'echo "GET /health 200"; echo "GET /boom 500"; exec sleep 300', {
      "awslogs-group": "/ecs/human",
      "awslogs-stream-prefix": "web",
      "awslogs-create-group": "true",
    });
    const taskId = arn.split("/").pop()!;
    const out = await until("berth logs to show both lines", async () => {
      const r = await berth(server, ["logs", taskId]);
      return r.stdout.includes("GET /boom 500") ? r : undefined;
    });
    assert.match(out.stdout, new RegExp(`Z web/app/${taskId} GET /health 200\n`));
    const filtered = await berth(server, ["logs", arn, "--filter", "500"]);
    assert.equal(filtered.code, 0, filtered.stderr);
    assert.deepEqual(filtered.stdout.trim().split("\n").map((l) => l.split(" ").slice(2).join(" ")), ["GET /boom 500"]);

    await client.send(new CreateServiceCommand({ cluster: "default", serviceName: "human", taskDefinition: "human", desiredCount: 1, launchType: "EC2" }));
    const viaService = await until("berth logs for the service", async () => {
      const r = await berth(server, ["logs", "human", "--filter", "health"]);
      return r.stdout.includes("GET /health 200") ? r : undefined;
    });
    assert.equal(viaService.code, 0);
    await client.send(new DeleteServiceCommand({ cluster: "default", service: "human", force: true }));
    const missing = await berth(server, ["logs", "nothing-here"]);
    assert.notEqual(missing.code, 0);
    assert.match(missing.stderr, /no task or service named nothing-here/);
  });

  test("mode and max-buffer-size reach Docker; no mode takes defaultLogDriverMode; Docker's refusals fail the task", async () => {
    const describeTask = async (arn: string) => (await client.send(new DescribeTasksCommand({ cluster: "default", tasks: [arn] }))).tasks?.[0];
    const logConfigOf = async (arn: string) => {
      const running = await until("the task to run", async () => {
        const t = await describeTask(arn);
        return t?.lastStatus === "RUNNING" ? t : undefined;
      });
      const [info] = JSON.parse(execFileSync("docker", ["inspect", running.containers![0]!.runtimeId!], { encoding: "utf8" })) as { HostConfig: { LogConfig: unknown } }[];
      return info!.HostConfig.LogConfig;
    };
    const group = { "awslogs-group": "/ecs/modes", "awslogs-stream-prefix": "m", "awslogs-create-group": "true" };

    const buffered = await runLogger("nonblocking", "echo buffered; exec sleep 300", { ...group, mode: "non-blocking", "max-buffer-size": "4m" });
    assert.deepEqual(await logConfigOf(buffered), { Type: "json-file", Config: { mode: "non-blocking", "max-buffer-size": "4m" } });
    await until("the buffered task's line", async () => {
      const r = await aws(server, ["logs", "filter-log-events", "--log-group-name", "/ecs/modes", "--filter-pattern", "buffered"]);
      return r.json?.events?.length === 1 ? true : undefined;
    });

    const unset = await runLogger("defaultmode", "exec sleep 300", group);
    assert.deepEqual(await logConfigOf(unset), { Type: "json-file", Config: { mode: "non-blocking" } }, "ECS's default mode");
    const put = await aws(server, ["ecs", "put-account-setting", "--name", "defaultLogDriverMode", "--value", "blocking"]);
    assert.equal(put.code, 0, put.stderr);
    try {
      const blocking = await runLogger("defaultmode", "exec sleep 300", group);
      assert.deepEqual(await logConfigOf(blocking), { Type: "json-file", Config: { mode: "blocking" } }, "the account setting's mode");
    } finally {
      await aws(server, ["ecs", "delete-account-setting", "--name", "defaultLogDriverMode"]);
    }

    for (const [family, options, reason] of [
      ["badmode", { mode: "fast" }, /^CannotCreateContainerError: .*logging mode not supported: fast/],
      ["badbuffer", { mode: "blocking", "max-buffer-size": "4m" }, /^CannotCreateContainerError: .*max-buffer-size option is only supported with 'mode=non-blocking'/],
    ] as const) {
      const arn = await runLogger(family, "echo never", { ...group, ...options });
      const stopped = await until<Task>(`${family} to fail`, async () => {
        const t = await describeTask(arn);
        return t?.lastStatus === "STOPPED" ? t : undefined;
      });
      assert.equal(stopped.stopCode, "TaskFailedToStart", family);
      assert.match(stopped.stoppedReason ?? "", reason, family);
    }
  });
});
