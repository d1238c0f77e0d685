// kill -9 of `berth up` at random moments during rolling deployments, ten times: after each
// restart the deploy continues and completes, nothing acknowledged is lost, and the limits
// hold throughout (min 100% / max 200% of desired 3: never fewer than 3 healthy containers,
// never more than 6 running). The limits are sampled from Docker, not from the API, which is
// down while Berth restarts.
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { randomBytes } from "node:crypto";
import { readFileSync, rmSync } from "node:fs";
import { join } from "node:path";
import { after, describe, test } from "node:test";
import {
  CreateServiceCommand,
  DeleteServiceCommand,
  DescribeServicesCommand,
  DescribeTaskDefinitionCommand,
  DescribeTasksCommand,
  type ECSClient,
  ListTasksCommand,
  RegisterTaskDefinitionCommand,
  type Service,
  UpdateServiceCommand,
  waitUntilServicesStable,
} from "@aws-sdk/client-ecs";
import { BUSYBOX_IMAGE, ensureBusyboxImage } from "../support/images.ts";
import { type BerthProcess, ecsClient, freePort, killHard, spawnBerth, tempDir } from "../support/harness.ts";

const REGION_ARGS = ["--region", "ap-south-1"];
const HTTPD = "mkdir -p /www && echo ok > /www/health && exec httpd -f -p 8080 -h /www";
const HEALTH = { command: ["CMD-SHELL", "wget -q -O- http://localhost:8080/health || exit 1"], interval: 5, timeout: 2, retries: 2, startPeriod: 5 };
const KILLS = 10;
const DESIRED = 3;
const MAX_LIVE = 6;
const SERVICE = "crashy";

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** Runs docker; resolves with stdout (a failing command rejects with its stderr). */
function docker(args: string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile("docker", args, { encoding: "utf8", timeout: 30_000, maxBuffer: 16 * 1024 * 1024 }, (error, stdout, stderr) => {
      if (error) reject(new Error(`docker ${args.join(" ")}: ${stderr || error.message}`));
      else resolve(stdout);
    });
  });
}

interface Sample {
  at: number;
  running: { id: string; revision: string; health: string }[];
}

function definition(family: string, version: number) {
  return new RegisterTaskDefinitionCommand({
    family,
    networkMode: "bridge",
    containerDefinitions: [
      {
        name: "web",
        image: BUSYBOX_IMAGE,
        memory: 32,
        command: ["sh", "-c", HTTPD],
        environment: [{ name: "VERSION", value: String(version) }],
        linuxParameters: { initProcessEnabled: true },
        healthCheck: HEALTH,
        portMappings: [{ containerPort: 8080, hostPort: 0 }],
      },
    ],
  });
}

async function describeService(client: ECSClient): Promise<Service> {
  return (await client.send(new DescribeServicesCommand({ cluster: "default", services: [SERVICE] }))).services![0]!;
}

describe("service deployments under kill -9", () => {
  const dataDir = tempDir("berth-crash-");
  const family = `crash-${randomBytes(4).toString("hex")}`;
  const t0 = Date.now();
  const timeline: string[] = [];
  const log = (line: string) => timeline.push(`${((Date.now() - t0) / 1000).toFixed(2).padStart(7)}s ${line}`);
  let berth: BerthProcess | undefined;
  let sampling = false;
  let sampler: Promise<void> | undefined;

  const agentId = (): string | undefined => {
    try {
      return readFileSync(join(dataDir, "agent", "agent-id"), "utf8").trim();
    } catch {
      return undefined;
    }
  };

  /** Running containers of this run's family, in one `docker ps` snapshot. */
  async function sample(id: string): Promise<Sample> {
    const out = await docker([
      "ps",
      "--no-trunc",
      "--filter", "status=running",
      "--filter", `label=berth.agent-id=${id}`,
      "--filter", `label=com.amazonaws.ecs.task-definition-family=${family}`,
      "--format", '{{.ID}}\t{{.Label "com.amazonaws.ecs.task-definition-version"}}\t{{.Label "com.amazonaws.ecs.cluster"}}\t{{.Status}}',
    ]);
    const running = out
      .split("\n")
      .filter((l) => l.trim())
      .map((l) => l.split("\t"))
      .filter(([, , cluster]) => cluster?.endsWith(":cluster/default"))
      .map(([cid, revision, , status]) => ({
        id: cid!.slice(0, 12),
        revision: revision!,
        health: /\(healthy\)/.test(status!) ? "healthy" : /\(unhealthy\)/.test(status!) ? "unhealthy" : /starting/.test(status!) ? "starting" : "none",
      }));
    return { at: Date.now(), running };
  }

  const describeSample = (s: Sample) =>
    s.running
      .map((c) => `${c.id}:r${c.revision}:${c.health}`)
      .sort()
      .join(" ");

  async function spawn(port: number): Promise<BerthProcess> {
    const proc = await spawnBerth(dataDir, port, REGION_ARGS);
    const pid = proc.child.pid;
    let buffered = "";
    const onData = (d: Buffer) => {
      buffered += d.toString();
      let nl: number;
      while ((nl = buffered.indexOf("\n")) >= 0) {
        const line = buffered.slice(0, nl);
        buffered = buffered.slice(nl + 1);
        if (/"level":"(warn|error)"|Error/.test(line)) log(`berth[${pid}] ${line.slice(0, 400)}`);
      }
    };
    proc.child.stdout!.on("data", onData);
    proc.child.stderr!.on("data", onData);
    return proc;
  }

  after(async () => {
    sampling = false;
    await sampler?.catch(() => undefined);
    if (berth && berth.child.exitCode === null) {
      const client = ecsClient(berth);
      try {
        await client.send(new DeleteServiceCommand({ cluster: "default", service: SERVICE, force: true }));
        const deadline = Date.now() + 30_000;
        while (Date.now() < deadline) {
          const live = (await client.send(new ListTasksCommand({ cluster: "default", serviceName: SERVICE }))).taskArns ?? [];
          if (live.length === 0) break;
          await sleep(500);
        }
      } catch {
        // the containers are removed below regardless
      }
      await killHard(berth);
    }
    const id = agentId();
    if (id) {
      const ids = (await docker(["ps", "-aq", "--filter", `label=berth.agent-id=${id}`]).catch(() => "")).split("\n").filter(Boolean);
      if (ids.length) await docker(["rm", "-f", ...ids]).catch(() => undefined);
    }
    rmSync(dataDir, { recursive: true, force: true });
  });

  test("ten kill -9s during rolling deploys: each deploy continues and completes within its limits, nothing acknowledged is lost", { timeout: 240_000 }, async (t) => {
    await ensureBusyboxImage();
    const port = await freePort();
    berth = await spawn(port);
    let client = ecsClient(berth);
    const id = agentId();
    assert.ok(id, "the embedded agent wrote its id to <dataDir>/agent/agent-id");

    // Revision 1, a service of 3, steady.
    await client.send(definition(family, 1));
    await client.send(
      new CreateServiceCommand({
        cluster: "default",
        serviceName: SERVICE,
        taskDefinition: `${family}:1`,
        desiredCount: DESIRED,
        launchType: "EC2",
        deploymentConfiguration: { minimumHealthyPercent: 100, maximumPercent: 200 },
      }),
    );
    await waitUntilServicesStable({ client, maxWaitTime: 90, minDelay: 1, maxDelay: 2 }, { cluster: "default", services: [SERVICE] });
    const stableAt = Date.now();
    // Docker agrees: three healthy containers of revision 1.
    let first: Sample | undefined;
    for (const deadline = Date.now() + 20_000; Date.now() < deadline; await sleep(200)) {
      first = await sample(id);
      if (first.running.filter((c) => c.health === "healthy").length >= DESIRED) break;
    }
    assert.equal(first?.running.filter((c) => c.health === "healthy").length, DESIRED, `docker shows 3 healthy containers once stable: ${first && describeSample(first)}`);
    log(`stable after ${((stableAt - t0) / 1000).toFixed(1)}s: ${describeSample(first!)}`);

    // From here on, sample Docker continuously.
    let samples = 0;
    let minHealthy = Infinity;
    let maxLive = 0;
    let worstFloor: Sample | undefined;
    let worstCeiling: Sample | undefined;
    let previous = "";
    sampling = true;
    sampler = (async () => {
      while (sampling) {
        const s = await sample(id);
        samples++;
        const healthy = s.running.filter((c) => c.health === "healthy").length;
        const described = describeSample(s);
        if (described !== previous) log(`docker: healthy=${healthy} running=${s.running.length} [${described}]`);
        previous = described;
        if (healthy < minHealthy) {
          minHealthy = healthy;
          worstFloor = s;
        }
        if (s.running.length > maxLive) {
          maxLive = s.running.length;
          worstCeiling = s;
        }
        await sleep(100);
      }
    })();

    // Acknowledged writes, checked after every restart.
    let revision = 1;
    let acknowledged = 1;
    let rollouts = 0;
    const startRollout = async () => {
      const next = revision + 1;
      const registered = await client.send(definition(family, next));
      assert.equal(registered.taskDefinition?.revision, next, "revisions are numbered in order");
      revision = next;
      await client.send(
        new UpdateServiceCommand({
          cluster: "default",
          service: SERVICE,
          taskDefinition: `${family}:${next}`,
          deploymentConfiguration: { minimumHealthyPercent: 100, maximumPercent: 200 },
        }),
      );
      acknowledged = next;
      rollouts++;
      log(`UpdateService → ${family}:${next} acknowledged`);
    };
    const rolloutDone = (svc: Service) =>
      svc.deployments?.length === 1 && svc.deployments[0]?.rolloutState === "COMPLETED" && svc.taskDefinition?.endsWith(`:${acknowledged}`) === true;

    await startRollout();
    const restartTimes: number[] = [];
    for (let kill = 1; kill <= KILLS; kill++) {
      await sleep(500 + Math.random() * 3500);
      log(`kill -9 #${kill} (pid ${berth.child.pid})`);
      await killHard(berth);
      const began = Date.now();
      berth = await spawn(port);
      restartTimes.push(Date.now() - began);
      client = ecsClient(berth);
      const svc = await describeService(client);
      log(`restart #${kill} in ${Date.now() - began} ms: service at ${svc.taskDefinition?.split("/").pop()}, deployments ${JSON.stringify(svc.deployments?.map((d) => [d.taskDefinition?.split(":").pop(), d.rolloutState, d.runningCount, d.pendingCount]))}`);
      // Nothing acknowledged is lost: the last UpdateService and every registered revision survive.
      assert.equal(svc.taskDefinition?.split("/").pop(), `${family}:${acknowledged}`, `after restart #${kill} the service runs the last acknowledged revision`);
      assert.equal(svc.deployments?.[0]?.taskDefinition?.split("/").pop(), `${family}:${acknowledged}`, `after restart #${kill} the primary deployment is the acknowledged one`);
      const latest = await client.send(new DescribeTaskDefinitionCommand({ taskDefinition: family }));
      assert.equal(latest.taskDefinition?.revision, revision, `after restart #${kill} the last registered revision exists`);
      if (kill < KILLS && rolloutDone(svc)) await startRollout();
    }

    // The last rollout finishes after the last restart.
    const finalStart = Date.now();
    await waitUntilServicesStable({ client, maxWaitTime: 90, minDelay: 1, maxDelay: 2 }, { cluster: "default", services: [SERVICE] });
    let svc = await describeService(client);
    for (const deadline = Date.now() + 15_000; !rolloutDone(svc) && Date.now() < deadline; await sleep(250)) svc = await describeService(client);
    log(`final stable after ${Date.now() - finalStart} ms`);
    // The old revision's containers may still be stopping: let the sampler watch until Docker
    // runs exactly the last revision's three, healthy, then stop it before any cleanup.
    let settled = await sample(id);
    const settledOk = (s: Sample) => s.running.length === DESIRED && s.running.every((c) => c.revision === String(acknowledged) && c.health === "healthy");
    for (const deadline = Date.now() + 20_000; !settledOk(settled) && Date.now() < deadline; await sleep(250)) settled = await sample(id);
    log(`docker settled ${Date.now() - finalStart} ms after the last restart`);
    await sleep(500);
    sampling = false;
    await sampler;

    t.diagnostic(`rollouts started ${rollouts}, last revision ${acknowledged}, restarts ${restartTimes.join("/")} ms, samples ${samples}, min healthy ${minHealthy}, max running ${maxLive}`);
    const story = () => `\n${timeline.join("\n")}`;
    assert.ok(minHealthy >= DESIRED, `healthy containers dipped to ${minHealthy} at ${worstFloor && ((worstFloor.at - t0) / 1000).toFixed(2)}s [${worstFloor && describeSample(worstFloor)}]${story()}`);
    assert.ok(maxLive <= MAX_LIVE, `running containers reached ${maxLive} at ${worstCeiling && ((worstCeiling.at - t0) / 1000).toFixed(2)}s [${worstCeiling && describeSample(worstCeiling)}]${story()}`);
    assert.ok(samples > 50, `the sampler ran throughout (${samples} samples)`);

    // The deploy completed on the last revision with three RUNNING tasks.
    assert.equal(svc.deployments?.length, 1, `one deployment left: ${JSON.stringify(svc.deployments)}${story()}`);
    assert.equal(svc.deployments?.[0]?.rolloutState, "COMPLETED", `the last deployment completed${story()}`);
    assert.equal(svc.deployments?.[0]?.taskDefinition?.split("/").pop(), `${family}:${acknowledged}`, "the last deployment runs the last revision");
    assert.equal(svc.runningCount, DESIRED, "the service counts 3 running");
    const arns = (await client.send(new ListTasksCommand({ cluster: "default", serviceName: SERVICE }))).taskArns ?? [];
    const tasks = arns.length ? ((await client.send(new DescribeTasksCommand({ cluster: "default", tasks: arns }))).tasks ?? []) : [];
    assert.equal(tasks.length, DESIRED, `3 live tasks: ${tasks.map((x) => `${x.taskDefinitionArn?.split("/").pop()}:${x.lastStatus}`).join(" ")}`);
    for (const task of tasks) {
      assert.equal(task.lastStatus, "RUNNING", `task ${task.taskArn} RUNNING`);
      assert.equal(task.healthStatus, "HEALTHY", `task ${task.taskArn} HEALTHY`);
      assert.equal(task.taskDefinitionArn?.split("/").pop(), `${family}:${acknowledged}`, `task ${task.taskArn} runs the last revision`);
    }
    settled = await sample(id);
    assert.equal(settled.running.length, DESIRED, `docker runs exactly 3 containers of the family: ${describeSample(settled)}`);
    assert.ok(settled.running.every((c) => c.revision === String(acknowledged) && c.health === "healthy"), `all on revision ${acknowledged} and healthy: ${describeSample(settled)}`);
    const taskContainers = new Set(tasks.map((x) => x.containers?.[0]?.runtimeId?.slice(0, 12)));
    assert.ok(settled.running.every((c) => taskContainers.has(c.id)), `the running containers are the tasks' own: ${describeSample(settled)} vs ${[...taskContainers].join(" ")}`);

    // Docker never restarted a container, and no task ever got a second container. (Stopped
    // containers are removed a minute after they stop, so some may be gone already.)
    const all = (await docker(["ps", "-a", "--no-trunc", "--filter", `label=berth.agent-id=${id}`, "--format", '{{.ID}}\t{{.Label "com.amazonaws.ecs.task-arn"}}']))
      .split("\n")
      .filter(Boolean)
      .map((l) => l.split("\t") as [string, string]);
    const restarted: string[] = [];
    for (const [cid] of all) {
      const count = await docker(["inspect", "--format", "{{.RestartCount}}", cid]).catch(() => "0");
      if (count.trim() !== "0") restarted.push(`${cid.slice(0, 12)}×${count.trim()}`);
    }
    assert.equal(restarted.length, 0, `containers restarted by Docker: ${restarted.join(" ")}`);
    const counts = new Map<string, number>();
    for (const [, arn] of all) counts.set(arn, (counts.get(arn) ?? 0) + 1);
    const doubled = [...counts].filter(([, n]) => n > 1);
    assert.equal(doubled.length, 0, `tasks with more than one container: ${JSON.stringify(doubled)}`);
    t.diagnostic(`containers of this run still known to Docker: ${all.length}`);
    log("done");
    t.diagnostic(story());
  });
});
