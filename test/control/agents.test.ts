// The agent channel's server side on an in-memory store and a fake clock: registration,
// liveness, and that nothing is placed on a silent agent.
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { FakeClock } from "../../src/core/clock.ts";
import { SequentialIds } from "../../src/core/ids.ts";
import { AgentSignals, applyReports, desiredTasks, expireStoppedTasks, heartbeat, registerAgent, sweepAgents } from "../../src/control/agents.ts";
import type { CallContext, ControlDeps } from "../../src/control/context.ts";
import { registerTaskDefinition } from "../../src/control/task-definitions.ts";
import { runTask, stopTask } from "../../src/control/tasks.ts";
import { SqliteStore } from "../../src/store/sqlite-store.ts";

const ctx: CallContext = { scope: { partition: "aws", region: "us-east-1", accountId: "123456789012" }, principalArn: "arn:aws:iam::123456789012:user/admin" };
const registration = {
  agentId: "agent-a",
  hostname: "host-a",
  agentVersion: "test",
  cpu: 2048,
  memoryMiB: 4096,
  fargate: false,
  attributes: { "ecs.availability-zone": "us-east-1a" },
  region: "us-east-1",
  cluster: "default",
  reservedPorts: [22],
};

async function setup() {
  const clock = new FakeClock();
  const deps: ControlDeps = { store: new SqliteStore({ path: ":memory:" }), clock, ids: new SequentialIds() };
  const woken: string[] = [];
  await registerAgent(deps, ctx, registration);
  await registerTaskDefinition(deps, ctx, { family: "web", containerDefinitions: [{ name: "c", image: "i", memory: 128 }] });
  return { deps, clock, woken, notify: (id: string) => woken.push(id) };
}

describe("agents", () => {
  test("registration makes a container instance, kept across re-registration", async () => {
    const { deps } = await setup();
    const first = await deps.store.findContainerInstanceByAgent("agent-a");
    assert.equal(first?.clusterName, "default");
    assert.equal(first?.registeredMemory, 4096);
    await registerAgent(deps, ctx, { ...registration, memoryMiB: 8192 });
    const again = await deps.store.findContainerInstanceByAgent("agent-a");
    assert.equal(again?.containerInstanceArn, first?.containerInstanceArn);
    assert.equal(again?.registeredMemory, 8192);
  });

  test("a silent agent is marked disconnected and gets no new tasks; a heartbeat brings it back", async () => {
    const { deps, clock, notify } = await setup();
    const placed = await runTask(deps, notify, ctx, { taskDefinition: "web" });
    assert.equal(placed.tasks.length, 1);
    clock.advance(31_000);
    await sweepAgents(deps);
    assert.equal((await deps.store.findContainerInstanceByAgent("agent-a"))?.agentConnected, false);
    const refused = await runTask(deps, notify, ctx, { taskDefinition: "web" });
    assert.deepEqual(refused.tasks, []);
    assert.equal(refused.failures[0]?.reason, "AGENT");
    const stillThere = await deps.store.getTask("us-east-1", placed.tasks[0]!.taskId);
    assert.equal(stillThere?.desiredStatus, "RUNNING", "tasks on a disconnected agent are left alone");
    await heartbeat(deps, "agent-a");
    assert.equal((await deps.store.findContainerInstanceByAgent("agent-a"))?.agentConnected, true);
    assert.equal((await runTask(deps, notify, ctx, { taskDefinition: "web" })).tasks.length, 1);
  });

  test("desired state wakes on StopTask; reports never move a task backwards; a user's reason wins", async () => {
    const { deps, notify, woken } = await setup();
    const signals = new AgentSignals();
    const { tasks } = await runTask(deps, (id) => { notify(id); signals.notify(id); }, ctx, { taskDefinition: "web" });
    const task = tasks[0]!;
    assert.deepEqual(woken, ["agent-a"]);
    const first = await desiredTasks(deps, signals, "agent-a", -1, 0);
    const report = (status: string, extra = {}) =>
      applyReports(deps, "agent-a", () => "us-east-1", [{ taskArn: task.taskArn, lastStatus: status, containers: [], ...extra }]);
    await report("RUNNING");
    await report("PENDING");
    assert.equal((await deps.store.getTask("us-east-1", task.taskId))?.lastStatus, "RUNNING");

    const waiting = desiredTasks(deps, signals, "agent-a", first.generation, 10_000);
    await stopTask(deps, (id) => signals.notify(id), ctx, "default", task.taskArn, "maintenance");
    const next = await waiting;
    assert.ok(next.generation > first.generation, "the long poll returned with a newer generation");
    assert.equal(next.tasks[0]?.desiredStatus, "STOPPED");
    await report("STOPPED", { stopCode: "EssentialContainerExited", stoppedReason: "Essential container in task exited" });
    const stopped = await deps.store.getTask("us-east-1", task.taskId);
    assert.equal(stopped?.lastStatus, "STOPPED");
    assert.equal(stopped?.stopCode, "UserInitiated");
    assert.equal(stopped?.stoppedReason, "maintenance");
    assert.deepEqual((await desiredTasks(deps, signals, "agent-a", -1, 0)).tasks, [], "stopped tasks leave the desired set");
  });

  test("STOPPED tasks stay describable for the retention, then go", async () => {
    const { deps, clock, notify } = await setup();
    const { tasks } = await runTask(deps, notify, ctx, { taskDefinition: "web" });
    const task = tasks[0]!;
    await applyReports(deps, "agent-a", () => "us-east-1", [{ taskArn: task.taskArn, lastStatus: "STOPPED", containers: [] }]);
    clock.advance(59 * 60_000);
    assert.equal(await expireStoppedTasks(deps, 60 * 60_000), 0);
    assert.equal((await deps.store.getTask("us-east-1", task.taskId))?.lastStatus, "STOPPED");
    clock.advance(2 * 60_000);
    assert.equal(await expireStoppedTasks(deps, 60 * 60_000), 1);
    assert.equal(await deps.store.getTask("us-east-1", task.taskId), undefined);
  });
});
