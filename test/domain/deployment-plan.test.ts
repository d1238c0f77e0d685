// The service scheduler's arithmetic, pure: rolling limits, circuit breaker, rollback,
// scale-in, unhealthy replacement, drained deployments and steady state.
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { HEALTHY_AFTER_MS, type ServiceTask, planService } from "../../src/domain/deployment-plan.ts";
import type { Deployment, Service } from "../../src/domain/service.ts";
import { failureThreshold } from "../../src/domain/service.ts";

const NOW = 1_000_000_000;

function deployment(id: string, over: Partial<Deployment> = {}): Deployment {
  return {
    id, status: "PRIMARY", taskDefinition: `td:${id}`, desiredCount: 3, pendingCount: 0, runningCount: 0, failedTasks: 0,
    failedTaskIds: [], createdAt: NOW - 1000, updatedAt: NOW - 1000, rolloutState: "IN_PROGRESS",
    rolloutStateReason: `ECS deployment ${id} in progress.`, ...over,
  };
}

function service(deployments: Deployment[], over: Partial<Service> = {}): Service {
  return {
    region: "us-east-1", serviceArn: "arn:svc", serviceName: "web", clusterName: "default", clusterArn: "arn:cluster",
    status: "ACTIVE", desiredCount: 3, taskDefinition: deployments[0]!.taskDefinition, capacityProviderStrategy: [],
    deploymentConfiguration: { maximumPercent: 200, minimumHealthyPercent: 100 }, deploymentController: { type: "ECS" },
    placementConstraints: [], placementStrategy: [], loadBalancers: [], serviceRegistries: [], schedulingStrategy: "REPLICA",
    enableECSManagedTags: false, enableExecuteCommand: false, createdAt: NOW - 10_000, createdBy: "me",
    deployments, events: [], history: [], throttle: { failures: 0, until: 0 }, version: 1, ...over,
  };
}

let n = 0;
function task(deploymentId: string, state: "pending" | "running" | "healthy" | "unhealthy" | "failed" | "stopped", over: Partial<ServiceTask> = {}): ServiceTask {
  const base: ServiceTask = { taskId: `t${++n}`, deploymentId, lastStatus: "RUNNING", desiredStatus: "RUNNING", healthStatus: "UNKNOWN", hasHealthCheck: true, availabilityZone: "a" };
  switch (state) {
    case "pending": return { ...base, lastStatus: "PENDING", ...over };
    case "running": return { ...base, startedAt: NOW - 1000, ...over };
    case "healthy": return { ...base, startedAt: NOW - 1000, healthStatus: "HEALTHY", ...over };
    case "unhealthy": return { ...base, startedAt: NOW - 100_000, healthStatus: "UNHEALTHY", ...over };
    case "failed": return { ...base, lastStatus: "STOPPED", desiredStatus: "STOPPED", stopCode: "TaskFailedToStart", ...over };
    case "stopped": return { ...base, lastStatus: "STOPPED", desiredStatus: "STOPPED", stopCode: "ServiceSchedulerInitiated", stoppedReason: "Scaling activity initiated by (deployment x)", ...over };
  }
}

let ids = 0;
const plan = (svc: Service, tasks: ServiceTask[], now = NOW) =>
  planService({ service: svc, tasks, now, newId: () => `event-${++ids}`, newDeploymentId: () => `ecs-svc/${++ids}` });
const messages = (svc: Service) => svc.events.map((e) => e.message);

describe("deployment plan", () => {
  test("a new service launches desired tasks at once (max 200%)", () => {
    const p = plan(service([deployment("d1")]), []);
    assert.deepEqual(p.launch, [{ deploymentId: "d1", count: 3 }]);
    assert.deepEqual(p.stop, []);
  });

  test("rolling update min 100 / max 200: starts 3 new, stops none until the new are healthy", () => {
    const svc = service([deployment("d2"), deployment("d1", { status: "ACTIVE", rolloutState: "COMPLETED" })]);
    const old = [task("d1", "healthy"), task("d1", "healthy"), task("d1", "healthy")];
    const first = plan(svc, old);
    assert.deepEqual(first.launch, [{ deploymentId: "d2", count: 3 }]);
    assert.deepEqual(first.stop, [], "nothing stops while only 3 are healthy");
    const fresh = [task("d2", "running"), task("d2", "healthy"), task("d2", "healthy")];
    const second = plan(svc, [...old, ...fresh]);
    assert.deepEqual(second.launch, []);
    assert.equal(second.stop.length, 2, "5 healthy, floor 3: two old tasks may stop");
    assert.match(second.stop[0]!.reason, /^Scaling activity initiated by \(deployment d2\)$/);
  });

  test("min 50 / max 100 stops half first, then launches into the room", () => {
    const svc = service([deployment("d2"), deployment("d1", { status: "ACTIVE" })], { desiredCount: 4, deploymentConfiguration: { maximumPercent: 100, minimumHealthyPercent: 50 } });
    svc.deployments[0]!.desiredCount = 4;
    const old = [1, 2, 3, 4].map(() => task("d1", "healthy"));
    const p = plan(svc, old);
    assert.deepEqual(p.launch, [], "no room under 100% until old tasks stop");
    assert.equal(p.stop.length, 2, "4 healthy, floor ceil(4 × 0.5) = 2");
  });

  test("min 100 / max 100 cannot move and says so", () => {
    const svc = service([deployment("d2"), deployment("d1", { status: "ACTIVE" })], { deploymentConfiguration: { maximumPercent: 100, minimumHealthyPercent: 100 } });
    const p = plan(svc, [task("d1", "healthy"), task("d1", "healthy"), task("d1", "healthy")]);
    assert.deepEqual(p.launch, []);
    assert.deepEqual(p.stop, []);
    assert.match(messages(p.service)[0]!, /was unable to stop or start tasks during a deployment because of the service deployment configuration/);
  });

  test("a drained old deployment leaves deployments[]; completion and steady state follow", () => {
    const svc = service([deployment("d2"), deployment("d1", { status: "ACTIVE" })]);
    const tasks = [task("d2", "healthy"), task("d2", "healthy"), task("d2", "healthy"), task("d1", "stopped")];
    const p = plan(svc, tasks);
    assert.deepEqual(p.service.deployments.map((d) => d.id), ["d2"]);
    assert.equal(p.service.deployments[0]!.rolloutState, "COMPLETED");
    assert.equal(p.service.deployments[0]!.rolloutStateReason, "ECS deployment d2 completed.");
    assert.equal(p.service.deployments[0]!.runningCount, 3);
    assert.deepEqual(messages(p.service), ["(service web) has reached a steady state.", "(service web) (deployment d2) deployment completed."]);
    assert.equal(p.service.history[0]?.id, "d1");
    const again = plan(p.service, tasks, NOW + 1000);
    assert.equal(again.service.events.length, 2, "steady state is not repeated at once");
  });

  test("without health checks a task counts 40 s after RUNNING", () => {
    const svc = service([deployment("d2"), deployment("d1", { status: "ACTIVE" })], { desiredCount: 1 });
    svc.deployments[0]!.desiredCount = 1;
    const old = task("d1", "running", { hasHealthCheck: false, startedAt: NOW - 100_000 });
    const young = task("d2", "running", { hasHealthCheck: false, startedAt: NOW - 1000 });
    assert.deepEqual(plan(svc, [old, young]).stop, [], "the new task is not healthy yet");
    const later = plan(svc, [old, { ...young, startedAt: NOW - HEALTHY_AFTER_MS }]);
    assert.deepEqual(later.stop.map((s) => s.taskId), [old.taskId]);
  });

  test("the circuit breaker fails after exactly the threshold and rolls back", () => {
    const completed = deployment("d1", { status: "ACTIVE", rolloutState: "COMPLETED" });
    const svc = service([deployment("d2", { taskDefinition: "td:bad" }), completed], {
      deploymentConfiguration: { maximumPercent: 200, minimumHealthyPercent: 100, deploymentCircuitBreaker: { enable: true, rollback: true } },
    });
    const old = [task("d1", "healthy"), task("d1", "healthy"), task("d1", "healthy")];
    assert.equal(failureThreshold(3, { enable: true, rollback: true }), 3);
    const twoFailed = plan(svc, [...old, task("d2", "failed"), task("d2", "failed")]);
    assert.equal(twoFailed.service.deployments[0]!.rolloutState, "IN_PROGRESS");
    assert.equal(twoFailed.service.deployments[0]!.failedTasks, 2);
    const three = plan(twoFailed.service, [...old, task("d2", "failed", { taskId: twoFailed.service.deployments[0]!.failedTaskIds[0]! }), task("d2", "failed", { taskId: twoFailed.service.deployments[0]!.failedTaskIds[1]! }), task("d2", "failed")]);
    // The failed deployment has no live tasks left, so it drains out of deployments[].
    const [rollback, previous] = three.service.deployments;
    assert.equal(previous!.id, "d1");
    const failedDeployment = three.service.history.find((d) => d.id === "d2");
    assert.equal(failedDeployment!.rolloutState, "FAILED");
    assert.equal(failedDeployment!.rolloutStateReason, "ECS deployment circuit breaker: tasks failed to start.");
    assert.equal(rollback!.taskDefinition, "td:d1");
    assert.equal(rollback!.status, "PRIMARY");
    assert.equal(three.service.taskDefinition, "td:d1");
    assert.deepEqual(messages(three.service).slice(0, 2), [
      "(service web) rolling back to deployment d1.",
      "(service web) (deployment d2) deployment failed: tasks failed to start.",
    ]);
    assert.equal(three.service.throttle.until, 0, "the rollback is not throttled");
    assert.deepEqual(three.launch, [{ deploymentId: rollback!.id, count: 3 }], "max 200% of 3 is 6: the 3 old tasks plus 3 for the rollback");
    assert.deepEqual(three.stop, [], "the old tasks keep serving: never below the floor");
  });

  test("old RUNNING tasks of unknown health hold the floor; pending ones may go", () => {
    const svc = service([deployment("d2"), deployment("d1", { status: "ACTIVE" })], { desiredCount: 2 });
    svc.deployments[0]!.desiredCount = 2;
    const starting = [task("d1", "running"), task("d1", "running"), task("d1", "pending")];
    const p = plan(svc, starting);
    assert.deepEqual(p.stop.map((x) => x.taskId), [starting[2]!.taskId], "only the pending old task stops");
  });

  test("with the breaker on, launches stop at the threshold", () => {
    const svc = service([deployment("d2", { failedTasks: 2, failedTaskIds: ["x", "y"] })], {
      desiredCount: 2,
      deploymentConfiguration: { maximumPercent: 200, minimumHealthyPercent: 100, deploymentCircuitBreaker: { enable: true, rollback: false } },
    });
    svc.deployments[0]!.desiredCount = 2;
    assert.deepEqual(plan(svc, []).launch, [{ deploymentId: "d2", count: 1 }], "threshold 3, 2 failed: one more may be tried");
  });

  test("tasks on a draining instance are replaced first, then stopped down to the floor", () => {
    const svc = service([deployment("d1", { rolloutState: "COMPLETED" })], { desiredCount: 2 });
    svc.deployments[0]!.desiredCount = 2;
    const onDraining = task("d1", "healthy", { draining: true, instance: "i-1" });
    const elsewhere = task("d1", "healthy", { instance: "i-2" });
    const first = plan(svc, [onDraining, elsewhere]);
    assert.deepEqual(first.launch, [{ deploymentId: "d1", count: 1 }], "a replacement first");
    assert.deepEqual(first.stop, [], "min 100%: the draining task holds the floor until the replacement is healthy");
    const second = plan(svc, [onDraining, elsewhere, task("d1", "healthy", { instance: "i-2" })]);
    assert.deepEqual(second.stop.map((x) => x.taskId), [onDraining.taskId]);
  });

  test("tasks on their way down keep their place under maximumPercent", () => {
    // An update lands while the previous rollout's tasks are still being stopped.
    const svc = service([deployment("d3"), deployment("d2", { status: "ACTIVE" }), deployment("d1", { status: "ACTIVE" })]);
    const old = [task("d1", "healthy"), task("d1", "healthy"), task("d1", "healthy")];
    const stopping = [1, 2, 3].map(() => task("d2", "running", { desiredStatus: "STOPPED" }));
    const p = plan(svc, [...old, ...stopping]);
    assert.deepEqual(p.launch, [], "3 running + 3 still stopping = 6 = 200% of 3: no room yet");
    const later = plan(svc, [...old, ...stopping.map((t) => ({ ...t, lastStatus: "STOPPED" }))]);
    assert.deepEqual(later.launch, [{ deploymentId: "d3", count: 3 }]);
  });

  test("a FAILED deployment without rollback launches nothing more", () => {
    const svc = service([deployment("d2", { rolloutState: "FAILED" })]);
    assert.deepEqual(plan(svc, []).launch, []);
  });

  test("unhealthy tasks past the grace period are replaced; inside it they are left", () => {
    const svc = service([deployment("d1", { rolloutState: "COMPLETED" })], { healthCheckGracePeriodSeconds: 300 });
    const sick = task("d1", "unhealthy");
    assert.deepEqual(plan(svc, [task("d1", "healthy"), task("d1", "healthy"), sick]).stop, [], "inside the grace period");
    const noGrace = plan(service([deployment("d1", { rolloutState: "COMPLETED" })]), [task("d1", "healthy"), task("d1", "healthy"), sick]);
    assert.deepEqual(noGrace.stop, [{ taskId: sick.taskId, reason: "Task failed container health checks" }]);
    assert.ok(messages(noGrace.service).includes(`(service web) (task ${sick.taskId}) failed container health checks.`), "event names the task");
  });

  test("behind a load balancer a task counts only once its targets are healthy", () => {
    const svc = service([deployment("d2"), deployment("d1", { status: "ACTIVE", rolloutState: "COMPLETED" })]);
    const old = [1, 2, 3].map(() => task("d1", "running", { hasHealthCheck: false, startedAt: NOW - 100_000, lb: { state: "healthy" } }));
    const fresh = [1, 2, 3].map(() => task("d2", "running", { hasHealthCheck: false, startedAt: NOW - 100_000, lb: { state: "initial" } }));
    assert.deepEqual(plan(svc, [...old, ...fresh]).stop, [], "new tasks whose targets are still initial do not let old ones go, however long they ran");
    const healthy = fresh.map((t) => ({ ...t, lb: { state: "healthy" as const } }));
    assert.equal(plan(svc, [...old, ...healthy]).stop.length, 3, "healthy targets free the old tasks");
  });

  test("a task whose target fails ELB health checks is replaced with ECS's stop reason and event", () => {
    const arn = "arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/web/0123456789abcdef";
    const bad = task("d1", "running", { hasHealthCheck: false, startedAt: NOW - 100_000, lb: { state: "unhealthy", targetGroupArn: arn, port: 8080, reason: "Health checks failed with these codes: [500]" } });
    const good = [1, 2].map(() => task("d1", "running", { hasHealthCheck: false, startedAt: NOW - 100_000, lb: { state: "healthy" } }));
    const p = plan(service([deployment("d1", { rolloutState: "COMPLETED" })]), [bad, ...good]);
    assert.deepEqual(p.stop, [{ taskId: bad.taskId, reason: `Task failed ELB health checks in (target-group ${arn})` }]);
    assert.ok(messages(p.service).includes(`(service web) (task ${bad.taskId}) (port 8080) is unhealthy in (target-group ${arn}) due to (reason Health checks failed with these codes: [500]).`), messages(p.service).join("\n"));
    const graced = plan(service([deployment("d1", { rolloutState: "COMPLETED" })], { healthCheckGracePeriodSeconds: 600 }), [bad, ...good]);
    assert.deepEqual(graced.stop, [], "inside the grace period ELB health is ignored");
  });

  test("scale in stops pending tasks first, then from the fullest zone", () => {
    const svc = service([deployment("d1", { rolloutState: "COMPLETED" })], { desiredCount: 2 });
    const tasks = [task("d1", "healthy", { availabilityZone: "a" }), task("d1", "healthy", { availabilityZone: "a" }), task("d1", "healthy", { availabilityZone: "b" }), task("d1", "pending", { availabilityZone: "b" })];
    const p = plan(svc, tasks);
    assert.deepEqual(p.stop.map((s) => s.taskId).sort(), [tasks[3]!.taskId, tasks[0]!.taskId].sort());
  });

  test("a DRAINING service stops everything", () => {
    const svc = service([deployment("d1", { rolloutState: "COMPLETED" })], { status: "DRAINING" });
    const p = plan(svc, [task("d1", "healthy"), task("d1", "healthy")]);
    assert.equal(p.stop.length, 2);
    assert.deepEqual(p.launch, []);
  });

  test("threshold arithmetic", () => {
    assert.equal(failureThreshold(1, undefined), 3);
    assert.equal(failureThreshold(10, undefined), 5);
    assert.equal(failureThreshold(1000, undefined), 200);
    assert.equal(failureThreshold(10, { enable: true, rollback: false, thresholdConfiguration: { type: "COUNT", value: 7 } }), 7);
    assert.equal(failureThreshold(1000, { enable: true, rollback: false, thresholdConfiguration: { type: "UNBOUNDED_PERCENT", value: 50 } }), 500);
  });
});
