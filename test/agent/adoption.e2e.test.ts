// kill -9 of `berth up` while a task runs: the container is never restarted (same id, same
// start time), the task stays RUNNING, and the server's view converges after each restart.
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { rmSync } from "node:fs";
import { after, describe, test } from "node:test";
import { DescribeTasksCommand, RegisterTaskDefinitionCommand, RunTaskCommand, StopTaskCommand, type Task } from "@aws-sdk/client-ecs";
import { BUSYBOX_IMAGE, ensureBusyboxImage } from "../support/images.ts";
import { type BerthProcess, ecsClient, freePort, killHard, spawnBerth, tempDir, until } from "../support/harness.ts";

const REGION_ARGS = ["--region", "ap-south-1"];

function dockerState(id: string): { StartedAt: string; Running: boolean; RestartCount: number } {
  const [info] = JSON.parse(execFileSync("docker", ["inspect", id], { encoding: "utf8" })) as {
    State: { StartedAt: string; Running: boolean };
    RestartCount: number;
  }[];
  return { ...info!.State, RestartCount: info!.RestartCount };
}

/** The server is being killed and restarted under these probes: a failed call means "not yet". */
const untilUp = <T>(what: string, probe: () => Promise<T | undefined>) => until(what, () => probe().catch(() => undefined), 20_000);

async function describe1(berth: BerthProcess, arn: string): Promise<Task | undefined> {
  return (await ecsClient(berth).send(new DescribeTasksCommand({ cluster: "default", tasks: [arn] }))).tasks?.[0];
}

describe("agent re-adoption", () => {
  const dataDir = tempDir();
  let berth: BerthProcess | undefined;
  after(async () => {
    if (berth) await killHard(berth);
    rmSync(dataDir, { recursive: true, force: true });
  });

  test("kill -9 ten times: the task's containers are adopted, never restarted", async () => {
    await ensureBusyboxImage();
    const port = await freePort();
    berth = await spawnBerth(dataDir, port, REGION_ARGS);
    const client = ecsClient(berth);
    await client.send(
      new RegisterTaskDefinitionCommand({
        family: "steady",
        networkMode: "awsvpc",
        requiresCompatibilities: ["FARGATE"],
        cpu: "256",
        memory: "512",
        containerDefinitions: [
          { name: "app", image: BUSYBOX_IMAGE, command: ["sleep", "3600"], linuxParameters: { initProcessEnabled: true } },
        ],
      }),
    );
    const run = await client.send(
      new RunTaskCommand({
        cluster: "default",
        taskDefinition: "steady",
        launchType: "FARGATE",
        networkConfiguration: { awsvpcConfiguration: { subnets: ["subnet-1"] } },
      }),
    );
    const arn = run.tasks![0]!.taskArn!;
    const running = await untilUp("RUNNING", async () => {
      const t = await describe1(berth!, arn);
      return t?.lastStatus === "RUNNING" ? t : undefined;
    });
    const id = running.containers![0]!.runtimeId!;
    const firstStart = dockerState(id).StartedAt;

    for (let round = 0; round < 10; round++) {
      await killHard(berth);
      const state = dockerState(id);
      assert.equal(state.Running, true, `round ${round}: the container runs while Berth is down`);
      berth = await spawnBerth(dataDir, port, REGION_ARGS);
      const seen = await untilUp(`round ${round} view`, async () => {
        const t = await describe1(berth!, arn);
        return t?.lastStatus === "RUNNING" && t.containers?.[0]?.runtimeId === id ? t : undefined;
      });
      assert.equal(seen.desiredStatus, "RUNNING");
      const after = dockerState(id);
      assert.equal(after.StartedAt, firstStart, `round ${round}: same start time`);
      assert.equal(after.RestartCount, 0);
    }

    // The adopted task still obeys: StopTask stops that very container.
    await ecsClient(berth).send(new StopTaskCommand({ cluster: "default", task: arn }));
    const stopped = await untilUp("STOPPED", async () => {
      const t = await describe1(berth!, arn);
      return t?.lastStatus === "STOPPED" ? t : undefined;
    });
    assert.equal(stopped.stopCode, "UserInitiated");
    assert.equal(dockerState(id).Running, false);
  });
});
