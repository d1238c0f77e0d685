// TaskRunner lifecycle rules on the fake runtime: fast, no Docker.
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import type { DesiredTask, TaskReport, TaskSecretsResult } from "../../src/protocol/agent-protocol.ts";
import { FakeRuntime } from "../../src/runtime/fake-runtime.ts";
import { type RunnerDeps, TaskRunner } from "../../src/agent/task-runner.ts";

const IMAGE = "app:1";

function desired(containers: Record<string, unknown>[], networkMode: "bridge" | "awsvpc" = "bridge"): DesiredTask {
  return {
    desiredStatus: "RUNNING",
    spec: {
      taskArn: "arn:aws:ecs:us-east-1:123456789012:task/default/0123456789abcdef0123456789abcdef",
      taskId: "0123456789abcdef0123456789abcdef",
      clusterArn: "arn:aws:ecs:us-east-1:123456789012:cluster/default",
      family: "fam",
      revision: 1,
      taskDefinitionArn: "arn:aws:ecs:us-east-1:123456789012:task-definition/fam:1",
      launchType: "EC2",
      networkMode,
      containers: containers.map((definition, i) => ({
        name: definition["name"] as string,
        containerArn: `arn:container/${i}`,
        image: (definition["image"] as string | undefined) ?? IMAGE,
        essential: definition["essential"] !== false,
        definition: { image: IMAGE, ...definition },
      })),
      volumes: [],
      availabilityZone: "us-east-1a",
      region: "us-east-1",
    },
  };
}

function harness(runtime: FakeRuntime, secrets: TaskSecretsResult = { ok: true, containers: {} }) {
  const reports: TaskReport[] = [];
  const deps: RunnerDeps = {
    runtime,
    agentId: "agent-1",
    now: () => Date.now(),
    bindIp: "127.0.0.1",
    pullBehavior: "prefer-cached",
    network: { provision: async () => ({ pauseId: "pause", ipAddress: "10.0.0.2" }), release: async () => undefined },
    extraEnv: () => ({}),
    report: (r) => reports.push(r),
    secrets: async () => secrets,
    logs: { prepare: async () => undefined, follow: () => undefined, forget: () => undefined },
    pollMs: 10,
    cleanupMs: 60_000,
    log: () => undefined,
  };
  const last = () => reports[reports.length - 1]!;
  return { deps, reports, last };
}

const statuses = (reports: TaskReport[]) => [...new Set(reports.map((r) => r.lastStatus))];

describe("TaskRunner", () => {
  test("walks the lifecycle in ECS's order and stops when asked", async () => {
    const runtime = new FakeRuntime();
    runtime.addImage(IMAGE);
    const h = harness(runtime);
    const task = desired([{ name: "web" }]);
    const runner = new TaskRunner(h.deps, task);
    await waitUntil(() => h.last().lastStatus === "RUNNING");
    runner.update({ ...task, desiredStatus: "STOPPED", stopCode: "UserInitiated", stoppedReason: "because" });
    await runner.done;
    assert.deepEqual(statuses(h.reports), ["PROVISIONING", "PENDING", "ACTIVATING", "RUNNING", "DEACTIVATING", "STOPPING", "DEPROVISIONING", "STOPPED"]);
    assert.equal(h.last().stopCode, "UserInitiated");
    assert.equal(h.last().stoppedReason, "because");
    assert.equal(h.last().containers[0]?.lastStatus, "STOPPED");
    const seqs = h.reports.map((r) => r.seq);
    assert.deepEqual(seqs, [...seqs].sort((a, b) => a - b), "report sequence numbers only grow");
  });

  test("an essential exit stops the task; a non-essential exit does not", async () => {
    const runtime = new FakeRuntime();
    runtime.addImage(IMAGE);
    runtime.addImage("side:1");
    runtime.behave("side:1", { runMs: 20, exitCode: 0 });
    runtime.behave("crash:1", { runMs: 80, exitCode: 3 });
    runtime.addImage("crash:1");
    const h = harness(runtime);
    const runner = new TaskRunner(h.deps, desired([{ name: "main", image: "crash:1" }, { name: "side", image: "side:1", essential: false }]));
    await waitUntil(() => h.last().containers.find((c) => c.name === "side")?.lastStatus === "STOPPED");
    assert.notEqual(h.last().lastStatus, "STOPPED", "a non-essential exit leaves the task alone");
    await runner.done;
    assert.equal(h.last().stopCode, "EssentialContainerExited");
    assert.equal(h.last().stoppedReason, "Essential container in task exited");
    assert.equal(h.last().containers.find((c) => c.name === "main")?.exitCode, 3);
  });

  test("dependsOn SUCCESS that exits non-zero fails the task before the dependent starts", async () => {
    const runtime = new FakeRuntime();
    runtime.addImage(IMAGE);
    runtime.addImage("init:1");
    runtime.behave("init:1", { runMs: 10, exitCode: 2 });
    const h = harness(runtime);
    const runner = new TaskRunner(
      h.deps,
      desired([
        { name: "init", image: "init:1", essential: false },
        { name: "app", dependsOn: [{ containerName: "init", condition: "SUCCESS" }] },
      ]),
    );
    await runner.done;
    assert.equal(h.last().stopCode, "TaskFailedToStart");
    assert.match(h.last().stoppedReason ?? "", /^DependencyError: dependency container init exited with code 2/);
    assert.equal(h.last().containers.find((c) => c.name === "app")?.runtimeId !== undefined, true);
    assert.equal(h.last().containers.find((c) => c.name === "app")?.startedAt, undefined, "the dependent never started");
  });

  test("a missing image fails with CannotPullContainerError", async () => {
    const runtime = new FakeRuntime();
    const h = harness(runtime);
    const runner = new TaskRunner(h.deps, desired([{ name: "web", image: "nowhere:1" }]));
    await runner.done;
    assert.equal(h.last().stopCode, "TaskFailedToStart");
    assert.match(h.last().stoppedReason ?? "", /^CannotPullContainerError: /);
  });

  test("secrets become environment variables that win over environment; registry credentials reach the pull", async () => {
    const runtime = new FakeRuntime();
    runtime.addImage("registry.local:5000/app:1");
    const h = harness(runtime, {
      ok: true,
      containers: { web: { env: { DB_PASSWORD: "s3cret" }, registryAuth: { username: "u", password: "p" } } },
    });
    h.deps.pullBehavior = "default";
    const runner = new TaskRunner(
      h.deps,
      desired([
        {
          name: "web",
          image: "registry.local:5000/app:1",
          environment: [{ name: "DB_PASSWORD", value: "placeholder" }, { name: "MODE", value: "prod" }],
          secrets: [{ name: "DB_PASSWORD", valueFrom: "arn:aws:ssm:us-east-1:123456789012:parameter/prod/db" }],
          repositoryCredentials: { credentialsParameter: "arn:aws:secretsmanager:us-east-1:123456789012:secret:reg-AbCdEf" },
        },
      ]),
    );
    await waitUntil(() => h.last().lastStatus === "RUNNING");
    const env = runtime.specOf(h.last().containers[0]!.runtimeId!)?.env ?? [];
    assert.ok(env.includes("DB_PASSWORD=s3cret"), `the secret's value is in the environment: ${env.join(" ")}`);
    assert.ok(env.includes("MODE=prod"), "plain environment stays");
    assert.deepEqual(runtime.pulls.at(-1)?.auth, { username: "u", password: "p", serveraddress: "registry.local:5000" });
    runner.update({ ...desired([]), spec: runner.snapshot().spec, desiredStatus: "STOPPED" });
    await runner.done;
  });

  test("a secret the server cannot resolve stops the task with ResourceInitializationError before any pull", async () => {
    const runtime = new FakeRuntime();
    runtime.addImage(IMAGE);
    const h = harness(runtime, { ok: false, message: "execution resource retrieval failed: AccessDeniedException: no" });
    const runner = new TaskRunner(h.deps, desired([{ name: "web", secrets: [{ name: "X", valueFrom: "/prod/x" }] }]));
    await runner.done;
    assert.equal(h.last().stopCode, "TaskFailedToStart");
    assert.equal(h.last().stoppedReason, "ResourceInitializationError: unable to pull secrets or registry auth: execution resource retrieval failed: AccessDeniedException: no");
    assert.equal(runtime.pulls.length, 0, "nothing was pulled");
    assert.equal(h.last().containers[0]?.runtimeId, undefined, "no container was created");
  });

  test("OOM is reported in ECS's words", async () => {
    const runtime = new FakeRuntime();
    runtime.addImage("hog:1");
    runtime.behave("hog:1", { runMs: 20, oom: true });
    const h = harness(runtime);
    const runner = new TaskRunner(h.deps, desired([{ name: "hog", image: "hog:1", memory: 8 }]));
    await runner.done;
    assert.equal(h.last().containers[0]?.reason, "OutOfMemoryError: Container killed due to memory usage");
    assert.equal(h.last().containers[0]?.exitCode, 137);
  });

  test("a new runner adopts running containers instead of creating them", async () => {
    const runtime = new FakeRuntime();
    runtime.addImage(IMAGE);
    const h = harness(runtime);
    const task = desired([{ name: "web" }]);
    const first = new TaskRunner(h.deps, task);
    await waitUntil(() => h.last().lastStatus === "RUNNING");
    const id = h.last().containers[0]!.runtimeId!;
    const existing = await runtime.listContainers({ "com.amazonaws.ecs.task-arn": task.spec.taskArn });
    assert.equal(existing.length, 1);
    void first; // the old runner is abandoned, as when its agent was killed
    const h2 = harness(runtime);
    const second = new TaskRunner(h2.deps, task, existing);
    await waitUntil(() => h2.last().lastStatus === "RUNNING");
    assert.equal(h2.last().containers[0]?.runtimeId, id, "the same container");
    assert.equal((await runtime.listContainers({ "com.amazonaws.ecs.task-arn": task.spec.taskArn })).length, 1, "nothing new created");
    second.update({ ...task, desiredStatus: "STOPPED" });
    first.update({ ...task, desiredStatus: "STOPPED" });
    await Promise.all([first.done, second.done]);
  });

  test("stops dependents before their dependencies", async () => {
    const runtime = new FakeRuntime();
    runtime.addImage(IMAGE);
    const stops: string[] = [];
    const stop = runtime.stopContainer.bind(runtime);
    runtime.stopContainer = async (id, t) => {
      stops.push((await runtime.inspectContainer(id))!.labels["com.amazonaws.ecs.container-name"]!);
      return stop(id, t);
    };
    const h = harness(runtime);
    const task = desired([
      { name: "db" },
      { name: "app", dependsOn: [{ containerName: "db", condition: "START" }] },
      { name: "proxy", dependsOn: [{ containerName: "app", condition: "START" }] },
    ]);
    const runner = new TaskRunner(h.deps, task);
    await waitUntil(() => h.last().lastStatus === "RUNNING");
    runner.update({ ...task, desiredStatus: "STOPPED" });
    await runner.done;
    assert.deepEqual(stops, ["proxy", "app", "db"]);
  });
});

async function waitUntil(cond: () => boolean, ms = 5_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error("condition not met in time");
    await new Promise((r) => setTimeout(r, 5));
  }
}
