// 100,000 lines on stdout and 10,000 on stderr written by a container while berth up (and its
// agent) is killed with SIGKILL three times: every line arrives exactly once, each stream's in
// order. Docker stamps the two streams apart, so its file steps back in time now and then; the
// batches must still be chronological, or PutLogEvents would refuse them.
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { readFileSync, rmSync } from "node:fs";
import { join } from "node:path";
import { after, describe, test } from "node:test";
import { CloudWatchLogsClient, GetLogEventsCommand } from "@aws-sdk/client-cloudwatch-logs";
import { RegisterTaskDefinitionCommand, RunTaskCommand } from "@aws-sdk/client-ecs";
import { BUSYBOX_IMAGE, ensureBusyboxImage } from "../support/images.ts";
import { type BerthProcess, REGION, ecsClient, freePort, killHard, spawnBerth, tempDir } from "../support/harness.ts";

const LINES = 100_000;
const ERRORS = LINES / 10;
// 100 blocks of 1,000 lines (and 100 on stderr), a tenth of a second apart: about ten seconds of output.
const SCRIPT = `b=0; while [ $b -lt 100 ]; do i=0; while [ $i -lt 1000 ]; do n=$((b*1000+i)); echo "line $n"; if [ $((i % 10)) -eq 0 ]; then echo "err $((n / 10))" >&2; fi; i=$((i+1)); done; b=$((b+1)); usleep 100000; done; exec sleep 300`;

function logsClient(berth: BerthProcess): CloudWatchLogsClient {
  return new CloudWatchLogsClient({
    endpoint: berth.url,
    region: REGION,
    credentials: { accessKeyId: berth.identity.admin.accessKeyId, secretAccessKey: berth.identity.admin.secretAccessKey },
    maxAttempts: 1,
  });
}

async function readAll(berth: BerthProcess, stream: string): Promise<string[]> {
  const client = logsClient(berth);
  const messages: string[] = [];
  let token: string | undefined;
  for (;;) {
    const page = await client.send(new GetLogEventsCommand({ logGroupName: "/ecs/ship", logStreamName: stream, startFromHead: true, ...(token ? { nextToken: token } : {}) }));
    messages.push(...(page.events ?? []).map((e) => e.message ?? ""));
    if (!page.nextForwardToken || page.nextForwardToken === token) return messages;
    token = page.nextForwardToken;
  }
}

describe("log shipping across agent restarts", () => {
  const dataDir = tempDir();
  let berth: BerthProcess | undefined;
  after(async () => {
    if (berth) await killHard(berth);
    const agentId = readFileSync(join(dataDir, "agent", "agent-id"), "utf8").trim();
    const ids = execFileSync("docker", ["ps", "-aq", "--filter", `label=berth.agent-id=${agentId}`], { encoding: "utf8" }).split("\n").filter(Boolean);
    if (ids.length) execFileSync("docker", ["rm", "-f", ...ids]);
    rmSync(dataDir, { recursive: true, force: true });
  });

  test("every line exactly once, in order, through three SIGKILLs", async () => {
    await ensureBusyboxImage();
    const port = await freePort();
    berth = await spawnBerth(dataDir, port, ["--region", REGION]);
    const ecs = ecsClient(berth);
    await ecs.send(
      new RegisterTaskDefinitionCommand({
        family: "ship",
        containerDefinitions: [
          {
            name: "writer",
            image: BUSYBOX_IMAGE,
            memory: 64,
            command: ["sh", "-c", SCRIPT],
            linuxParameters: { initProcessEnabled: true },
            logConfiguration: {
              logDriver: "awslogs",
              options: { "awslogs-group": "/ecs/ship", "awslogs-region": REGION, "awslogs-stream-prefix": "p", "awslogs-create-group": "true" },
            },
          },
        ],
      }),
    );
    const run = await ecs.send(new RunTaskCommand({ cluster: "default", taskDefinition: "ship", launchType: "EC2" }));
    const taskId = run.tasks![0]!.taskArn!.split("/").pop()!;
    const stream = `p/writer/${taskId}`;

    for (let kill = 0; kill < 3; kill++) {
      await new Promise((r) => setTimeout(r, 1500 + Math.random() * 1500));
      await killHard(berth);
      berth = await spawnBerth(dataDir, port, ["--region", REGION]);
    }

    const deadline = Date.now() + 90_000;
    let all: string[] = [];
    while (Date.now() < deadline) {
      all = await readAll(berth, stream);
      if (all.length >= LINES + ERRORS) break;
      await new Promise((r) => setTimeout(r, 1000));
    }
    const errors = all.filter((m) => m.startsWith("err "));
    assert.deepEqual(errors, Array.from({ length: ERRORS }, (_, k) => `err ${k}`), `stderr: ${errors.length} of ${ERRORS} lines, once each, in order`);
    const messages = all.filter((m) => !m.startsWith("err "));
    if (messages.length !== LINES) {
      const seen = new Set(messages);
      const missing: number[] = [];
      for (let i = 0; i < LINES; i++) if (!seen.has(`line ${i}`)) missing.push(i);
      const ranges: string[] = [];
      for (let i = 0; i < missing.length; i++) {
        let j = i;
        while (j + 1 < missing.length && missing[j + 1] === missing[j]! + 1) j++;
        ranges.push(i === j ? `${missing[i]}` : `${missing[i]}-${missing[j]}`);
        i = j;
      }
      assert.fail(`got ${messages.length} lines (${seen.size} distinct); missing ${ranges.slice(0, 20).join(", ")}`);
    }
    for (let i = 0; i < LINES; i++) {
      if (messages[i] !== `line ${i}`) assert.fail(`line ${i} is ${JSON.stringify(messages[i])} (neighbours ${JSON.stringify(messages.slice(Math.max(0, i - 2), i + 3))})`);
    }
  });
});
