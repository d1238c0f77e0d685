// awslogs-multiline-pattern and awslogs-datetime-format end to end on real Docker: a
// stack-trace-like block is one CloudWatch event (read back with `aws logs get-log-events`),
// a pattern that does not compile fails the task as ECS does, and blocks written while
// `berth up` is killed with SIGKILL arrive exactly once, whole.
import assert from "node:assert/strict";
import { type ChildProcess, execFileSync, spawn } from "node:child_process";
import { readFileSync, rmSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { CloudWatchLogsClient, GetLogEventsCommand } from "@aws-sdk/client-cloudwatch-logs";
import { type ECSClient, RegisterTaskDefinitionCommand, RunTaskCommand, StopTaskCommand, type Task } from "@aws-sdk/client-ecs";
import { loadOrCreateIdentity } from "../../src/server/identity.ts";
import { BUSYBOX_IMAGE, ensureBusyboxImage } from "../support/images.ts";
import { type BerthProcess, REGION, ROOT, type TestServer, aws, ecsClient, freePort, killHard, startTestServer, tempDir, until, waitForTask } from "../support/harness.ts";

/** Prints `n` stack-trace-like blocks, `pause` apart; each block is four lines. */
const blocksScript = (n: number, pause: string) =>
  `b=0; while [ $b -lt ${n} ]; do echo "ERROR request $b failed"; echo "java.lang.IllegalStateException: boom $b"; ` +
  `echo "    at com.example.Handler.run(Handler.java:$b)"; echo "    at java.lang.Thread.run(Thread.java:833)"; b=$((b+1)); ${pause}; done; ` +
  `echo "INFO done"; exec sleep 300`;
const blockEvent = (b: number) =>
  `ERROR request ${b} failed\njava.lang.IllegalStateException: boom ${b}\n    at com.example.Handler.run(Handler.java:${b})\n    at java.lang.Thread.run(Thread.java:833)\n`;

const container = (name: string, command: string, options: Record<string, string>) => ({
  name,
  image: BUSYBOX_IMAGE,
  memory: 32,
  command: ["sh", "-c", command],
  linuxParameters: { initProcessEnabled: true },
  logConfiguration: { logDriver: "awslogs" as const, options: { "awslogs-region": REGION, "awslogs-create-group": "true", "awslogs-stream-prefix": "p", ...options } },
});

describe("awslogs multi-line events", () => {
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

  const run = async (family: string, containers: ReturnType<typeof container>[]): Promise<string> => {
    await client.send(new RegisterTaskDefinitionCommand({ family, containerDefinitions: containers }));
    const arn = (await client.send(new RunTaskCommand({ cluster: "default", taskDefinition: family, launchType: "EC2" }))).tasks![0]!.taskArn!;
    tasks.push(arn);
    return arn;
  };

  const events = async (group: string, stream: string): Promise<string[]> => {
    const r = await aws(server, ["logs", "get-log-events", "--log-group-name", group, "--log-stream-name", stream, "--start-from-head"]);
    assert.equal(r.code, 0, r.stderr);
    return (r.json?.events ?? []).map((e: { message: string }) => e.message);
  };

  test("a stack trace is one event, by pattern and by datetime format", async () => {
    const dated = 'for i in 1 2; do echo "2026-01-05 10:00:0$i ERROR job $i failed"; echo "Traceback (most recent call last):"; echo "  File \\"job.py\\", line $i"; done; exec sleep 300';
    const arn = await run("multiline", [
      container("pattern", blocksScript(3, "true"), { "awslogs-group": "/ecs/multiline", "awslogs-multiline-pattern": "^(INFO|ERROR)" }),
      container("dated", dated, { "awslogs-group": "/ecs/multiline", "awslogs-datetime-format": "%Y-%m-%d %H:%M:%S" }),
    ]);
    const taskId = arn.split("/").pop()!;
    // The last event of each stream closes after the output has been quiet for two seconds.
    const byPattern = await until("four events from the pattern container", async () => {
      const got = await events("/ecs/multiline", `p/pattern/${taskId}`);
      return got.length >= 4 ? got : undefined;
    });
    assert.deepEqual(byPattern, [blockEvent(0), blockEvent(1), blockEvent(2), "INFO done\n"]);
    const byDate = await until("two events from the datetime container", async () => {
      const got = await events("/ecs/multiline", `p/dated/${taskId}`);
      return got.length >= 2 ? got : undefined;
    });
    assert.deepEqual(byDate, [1, 2].map((i) => `2026-01-05 10:00:0${i} ERROR job ${i} failed\nTraceback (most recent call last):\n  File "job.py", line ${i}\n`));
  });

  test("a pattern that does not compile fails the task as ECS does", async () => {
    const arn = await run("badpattern", [container("app", "echo never", { "awslogs-group": "/ecs/bad", "awslogs-multiline-pattern": "^(ERROR" })]);
    const stopped: Task = await waitForTask(client, "default", arn, (t) => t.lastStatus === "STOPPED");
    assert.equal(stopped.stopCode, "TaskFailedToStart");
    assert.match(stopped.stoppedReason ?? "", /^CannotStartContainerError: .*awslogs could not parse multiline pattern key "\^\(ERROR"/);
  });
});

/** `berth up` from the sources (the bundle in dist/ may predate them), as log-shipping.e2e spawns the bundle. */
async function spawnFromSource(dataDir: string, port: number): Promise<BerthProcess> {
  const child: ChildProcess = spawn(process.execPath, ["--import", "tsx", join(ROOT, "src/main.ts"), "up", "--port", String(port), "--data-dir", dataDir, "--region", REGION], {
    stdio: ["ignore", "pipe", "pipe"],
    cwd: ROOT,
  });
  let output = "";
  child.stdout!.on("data", (d: Buffer) => (output += d.toString()));
  child.stderr!.on("data", (d: Buffer) => (output += d.toString()));
  const url = `http://127.0.0.1:${port}`;
  await until(
    "berth up to answer",
    async () => {
      if (child.exitCode !== null) throw new Error(`berth up exited with ${child.exitCode}: ${output}`);
      return fetch(`${url}/_berth/health`).then((r) => (r.ok ? true : undefined)).catch(() => undefined);
    },
    60_000,
  ).catch((e: unknown) => {
    child.kill("SIGKILL");
    throw e;
  });
  return { url, child, identity: loadOrCreateIdentity(dataDir) };
}

describe("multi-line events across agent restarts", () => {
  const dataDir = tempDir();
  let berth: BerthProcess | undefined;
  after(async () => {
    if (berth) await killHard(berth);
    const agentId = readFileSync(join(dataDir, "agent", "agent-id"), "utf8").trim();
    const ids = execFileSync("docker", ["ps", "-aq", "--filter", `label=berth.agent-id=${agentId}`], { encoding: "utf8" }).split("\n").filter(Boolean);
    if (ids.length) execFileSync("docker", ["rm", "-f", ...ids]);
    rmSync(dataDir, { recursive: true, force: true });
  });

  test("every block exactly once and whole, through two SIGKILLs", async () => {
    const BLOCKS = 80;
    await ensureBusyboxImage();
    const port = await freePort();
    berth = await spawnFromSource(dataDir, port);
    const ecs = ecsClient(berth);
    await ecs.send(
      new RegisterTaskDefinitionCommand({
        family: "restarts",
        containerDefinitions: [container("writer", blocksScript(BLOCKS, "usleep 100000"), { "awslogs-group": "/ecs/restarts", "awslogs-multiline-pattern": "^(INFO|ERROR)" })],
      }),
    );
    const arn = (await ecs.send(new RunTaskCommand({ cluster: "default", taskDefinition: "restarts", launchType: "EC2" }))).tasks![0]!.taskArn!;
    const stream = `p/writer/${arn.split("/").pop()}`;
    for (let kill = 0; kill < 2; kill++) {
      await new Promise((r) => setTimeout(r, 1500 + Math.random() * 1500));
      await killHard(berth);
      berth = await spawnFromSource(dataDir, port);
    }
    const expected = [...Array.from({ length: BLOCKS }, (_, b) => blockEvent(b)), "INFO done\n"];
    const logs = new CloudWatchLogsClient({
      endpoint: berth.url,
      region: REGION,
      credentials: { accessKeyId: berth.identity.admin.accessKeyId, secretAccessKey: berth.identity.admin.secretAccessKey },
      maxAttempts: 1,
    });
    let messages: string[] = [];
    await until(
      "every block",
      async () => {
        messages = [];
        let token: string | undefined;
        for (;;) {
          const page = await logs.send(new GetLogEventsCommand({ logGroupName: "/ecs/restarts", logStreamName: stream, startFromHead: true, ...(token ? { nextToken: token } : {}) }));
          messages.push(...(page.events ?? []).map((e) => e.message ?? ""));
          if (!page.nextForwardToken || page.nextForwardToken === token) break;
          token = page.nextForwardToken;
        }
        return messages.length >= expected.length ? true : undefined;
      },
      90_000,
      () => ({ events: messages.length, last: messages.at(-1) }),
    );
    const wrong = messages.map((m, i) => (m === expected[i] ? undefined : { i, got: m, want: expected[i] })).filter(Boolean);
    assert.deepEqual(wrong.slice(0, 3), [], `${messages.length} events for ${expected.length} blocks`);
    assert.equal(messages.length, expected.length, "no event repeated");
  });
});
