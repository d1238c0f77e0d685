/**
 * The service scheduler's arithmetic as one pure function: from a service, its tasks and the
 * time, decide which tasks to launch and which to stop, and how the service's deployments,
 * rollout states, circuit breaker and events change. No I/O; ids and time come in.
 *
 * ECS's rules (shared/reference/ecs.md §2.3–2.5): at least ceil(desired × min%) healthy, at
 * most floor(desired × max%) running plus pending; a task is healthy when RUNNING and its
 * essential health checks pass and, behind a load balancer, its targets are healthy (or 40 s
 * after RUNNING when it has neither); the circuit breaker
 * fails a deployment after its threshold of failed tasks and may roll back to the last
 * COMPLETED deployment; drained deployments leave `deployments[]`.
 */
import {
  type Deployment,
  type Service,
  addEvent,
  failureThreshold,
  maximumTotal,
  minimumHealthy,
  startDeployment,
  throttleDelayMs,
} from "./service.ts";

export interface ServiceTask {
  taskId: string;
  /** The deployment that launched it (the task's startedBy). */
  deploymentId: string;
  lastStatus: string;
  desiredStatus: "RUNNING" | "STOPPED";
  healthStatus: "HEALTHY" | "UNHEALTHY" | "UNKNOWN";
  /** Whether an essential container defines a health check. */
  hasHealthCheck: boolean;
  startedAt?: number;
  stopCode?: string;
  stoppedReason?: string;
  availabilityZone: string;
  instance?: string;
  /** On a DRAINING container instance: replaced elsewhere like an old deployment's task. */
  draining?: boolean;
  /**
   * Behind a load balancer: the worst of its targets' health over the service's target groups
   * ("initial" until registered and checked), with the group and reason when unhealthy.
   */
  lb?: { state: "healthy" | "unhealthy" | "initial"; targetGroupArn?: string; port?: number; reason?: string };
}

export interface PlanInput {
  service: Service;
  tasks: readonly ServiceTask[];
  now: number;
  /** Event ids. */
  newId: () => string;
  /** Deployment ids (`ecs-svc/<digits>`), for a rollback. */
  newDeploymentId: () => string;
}

export interface Plan {
  launch: { deploymentId: string; count: number }[];
  stop: { taskId: string; reason: string }[];
  service: Service;
}

/** Without container health checks (or a load balancer), a task counts 40 s after RUNNING. */
export const HEALTHY_AFTER_MS = 40_000;
const STEADY_REPEAT_MS = 6 * 60 * 60_000;
export const HEALTH_CHECK_STOP_REASON = "Task failed container health checks";

const isLive = (t: ServiceTask) => t.desiredStatus === "RUNNING" && t.lastStatus !== "STOPPED";

export function isHealthy(t: ServiceTask, now: number): boolean {
  if (!isLive(t) || t.lastStatus !== "RUNNING") return false;
  if (t.lb) return t.lb.state === "healthy" && (!t.hasHealthCheck || t.healthStatus === "HEALTHY");
  if (t.hasHealthCheck) return t.healthStatus === "HEALTHY";
  return t.startedAt !== undefined && now - t.startedAt >= HEALTHY_AFTER_MS;
}

/** A stopped task that counts against its deployment: it failed rather than being stopped. */
function failed(t: ServiceTask): boolean {
  if (t.lastStatus !== "STOPPED") return false;
  if (t.stopCode === "ServiceSchedulerInitiated") return t.stoppedReason?.startsWith("Task failed") ?? false;
  return t.stopCode !== "UserInitiated";
}

export function planService(input: PlanInput): Plan {
  const { now } = input;
  let service: Service = { ...input.service, deployments: input.service.deployments.map((d) => ({ ...d })) };
  const events: { message: string; dedupeMs: number }[] = [];
  const event: EventSink = (message, dedupeMs = 0) => events.push({ message, dedupeMs });
  const name = `(service ${service.serviceName})`;
  const stop: Plan["stop"] = [];
  const stopping = new Set<string>();
  const stopTask = (t: ServiceTask, reason: string) => {
    if (stopping.has(t.taskId)) return;
    stopping.add(t.taskId);
    stop.push({ taskId: t.taskId, reason });
  };

  for (const t of countFailures(service, input.tasks, now)) {
    event(`${name} (task ${t.taskId}) stopped: ${t.stoppedReason ?? t.stopCode ?? "unknown reason"}.`);
  }
  service = applyThrottle(service, input.tasks, now, event, name);
  service = circuitBreaker(service, now, input.newDeploymentId, event, name);

  const primary = service.deployments[0]!;
  const desired = service.status === "ACTIVE" ? service.desiredCount : 0;
  const config = service.deploymentConfiguration;
  const scaleReason = `Scaling activity initiated by (deployment ${primary.id})`;
  const grace = (service.healthCheckGracePeriodSeconds ?? 0) * 1000;

  // Unhealthy tasks past the grace period are replaced.
  for (const t of input.tasks) {
    if (!isLive(t) || t.lastStatus !== "RUNNING" || t.healthStatus !== "UNHEALTHY") continue;
    if (t.startedAt !== undefined && now - t.startedAt < grace) continue;
    event(`${name} (task ${t.taskId}) failed container health checks.`);
    stopTask(t, HEALTH_CHECK_STOP_REASON);
  }
  // So are tasks whose load balancer targets failed their health checks.
  for (const t of input.tasks) {
    if (!isLive(t) || t.lastStatus !== "RUNNING" || t.lb?.state !== "unhealthy" || stopping.has(t.taskId)) continue;
    if (t.startedAt !== undefined && now - t.startedAt < grace) continue;
    const group = t.lb.targetGroupArn ?? "";
    event(`${name} (task ${t.taskId}) (port ${t.lb.port ?? 0}) is unhealthy in (target-group ${group}) due to (reason ${t.lb.reason ?? "Health checks failed"}).`);
    stopTask(t, `Task failed ELB health checks in (target-group ${group})`);
  }

  const live = input.tasks.filter((t) => isLive(t) && !stopping.has(t.taskId));
  const isOld = (t: ServiceTask) => t.deploymentId !== primary.id || t.draining === true;
  const primaryLive = live.filter((t) => !isOld(t));
  const oldLive = live.filter(isOld);
  const maxTotal = maximumTotal(desired, config.maximumPercent);
  const minHealthy = minimumHealthy(desired, config.minimumHealthyPercent);

  // Scale in the primary when it has more than desired: pending first, then fullest zone and instance.
  for (const t of scaleInOrder(primaryLive, now).slice(0, Math.max(0, primaryLive.length - desired))) stopTask(t, scaleReason);

  // Launch for the primary within maximumPercent, unless it failed or the service is throttled.
  const launch: Plan["launch"] = [];
  const keptPrimary = primaryLive.filter((t) => !stopping.has(t.taskId)).length;
  const launchable = primary.rolloutState !== "FAILED" && service.throttle.until <= now;
  const want = desired - keptPrimary;
  // Tasks told to stop still run until their agent stops them: they keep their place under
  // maximumPercent until they are STOPPED.
  const goingDown = input.tasks.filter((t) => t.lastStatus !== "STOPPED" && (!isLive(t) || stopping.has(t.taskId))).length;
  let count = launchable ? Math.max(0, Math.min(want, maxTotal - (keptPrimary + oldLive.length + goingDown))) : 0;
  // With the circuit breaker on, launch no more than could fail before it trips, so a bad
  // revision fails after exactly its threshold of failed tasks.
  const breaker = config.deploymentCircuitBreaker;
  if (breaker?.enable && primary.rolloutState === "IN_PROGRESS") {
    const unproven = primaryLive.filter((t) => !stopping.has(t.taskId) && !isHealthy(t, now)).length;
    count = Math.min(count, Math.max(0, failureThreshold(primary.desiredCount, breaker) - primary.failedTasks - unproven));
  }
  if (count > 0) launch.push({ deploymentId: primary.id, count });

  // Stop old deployments' tasks down to the floor. Healthy tasks, and old RUNNING tasks whose
  // health is not known yet, hold the floor; pending or UNHEALTHY old tasks may always go.
  const holdsFloor = (t: ServiceTask) =>
    isHealthy(t, now) || (isOld(t) && t.lastStatus === "RUNNING" && t.healthStatus !== "UNHEALTHY" && t.lb?.state !== "unhealthy");
  let budget = live.filter((t) => !stopping.has(t.taskId) && holdsFloor(t)).length - minHealthy;
  const stopRank = (t: ServiceTask) => (!holdsFloor(t) ? 0 : isHealthy(t, now) ? 2 : 1);
  for (const t of [...oldLive].sort((a, b) => stopRank(a) - stopRank(b))) {
    if (!holdsFloor(t)) stopTask(t, scaleReason);
    else if (budget > 0) {
      stopTask(t, scaleReason);
      budget--;
    }
  }
  if (want > 0 && count === 0 && launchable && stop.length === 0 && oldLive.length > 0 && goingDown === 0) {
    event(
      `${name} was unable to stop or start tasks during a deployment because of the service deployment configuration. Update the minimumHealthyPercent or maximumPercent value and try again.`,
      60 * 60_000,
    );
  }

  service = settleDeployments(service, input.tasks, stopping, desired, now, event, name);
  for (const e of events) service = addEvent(service, { id: input.newId(), createdAt: now, message: e.message }, e.dedupeMs);
  return { launch, stop, service };
}

type EventSink = (message: string, dedupeMs?: number) => void;

/** Scale-in order: not-yet-running first, then tasks in the zone and on the instance with the most. */
function scaleInOrder(tasks: ServiceTask[], now: number): ServiceTask[] {
  const zoneCount = countBy(tasks, (t) => t.availabilityZone);
  const instanceCount = countBy(tasks, (t) => t.instance ?? t.taskId);
  return [...tasks].sort(
    (a, b) =>
      Number(isHealthy(a, now)) - Number(isHealthy(b, now)) ||
      (zoneCount.get(b.availabilityZone) ?? 0) - (zoneCount.get(a.availabilityZone) ?? 0) ||
      (instanceCount.get(b.instance ?? b.taskId) ?? 0) - (instanceCount.get(a.instance ?? a.taskId) ?? 0) ||
      a.taskId.localeCompare(b.taskId),
  );
}

function countBy<T>(items: T[], key: (t: T) => string): Map<string, number> {
  const m = new Map<string, number>();
  for (const i of items) m.set(key(i), (m.get(key(i)) ?? 0) + 1);
  return m;
}

/** Adds each newly stopped, failed task to its deployment's failedTasks, once; returns them. */
function countFailures(service: Service, tasks: readonly ServiceTask[], now: number): ServiceTask[] {
  const all: ServiceTask[] = [];
  for (const d of service.deployments) {
    const own = tasks.filter((t) => t.deploymentId === d.id);
    const fresh = own.filter((t) => failed(t) && !d.failedTaskIds.includes(t.taskId));
    if (fresh.length > 0) {
      d.failedTaskIds = [...d.failedTaskIds, ...fresh.map((t) => t.taskId)].slice(-400);
      d.failedTasks += fresh.length;
      d.updatedAt = now;
      all.push(...fresh);
    }
    const reset = d.rolloutState === "IN_PROGRESS" && service.deploymentConfiguration.deploymentCircuitBreaker?.resetOnHealthyTask !== false;
    if (reset && d.failedTasks > 0 && own.some((t) => isHealthy(t, now))) d.failedTasks = 0;
  }
  return all;
}

/** ECS's service throttle: tasks that keep failing to start get a growing launch delay. */
function applyThrottle(service: Service, tasks: readonly ServiceTask[], now: number, event: EventSink, name: string): Service {
  const primary = service.deployments[0]!;
  const own = tasks.filter((t) => t.deploymentId === primary.id);
  if (own.some((t) => t.lastStatus === "RUNNING" && t.startedAt !== undefined)) {
    return service.throttle.failures === 0 ? service : { ...service, throttle: { failures: 0, until: 0 } };
  }
  const neverStarted = own.filter((t) => t.lastStatus === "STOPPED" && t.startedAt === undefined && failed(t)).length;
  if (neverStarted <= service.throttle.failures) return service;
  const delay = throttleDelayMs(neverStarted);
  if (delay > 0) event(`${name} is unable to consistently start tasks successfully.`, 10 * 60_000);
  return { ...service, throttle: { failures: neverStarted, until: now + delay } };
}

function circuitBreaker(service: Service, now: number, newId: () => string, event: EventSink, name: string): Service {
  const breaker = service.deploymentConfiguration.deploymentCircuitBreaker;
  const primary = service.deployments[0]!;
  if (!breaker?.enable || primary.rolloutState !== "IN_PROGRESS") return service;
  if (primary.failedTasks < failureThreshold(primary.desiredCount, breaker)) return service;
  primary.rolloutState = "FAILED";
  primary.rolloutStateReason = "ECS deployment circuit breaker: tasks failed to start.";
  primary.updatedAt = now;
  event(`${name} (deployment ${primary.id}) deployment failed: tasks failed to start.`);
  // Roll back to the last COMPLETED deployment, else to the one this deployment replaced.
  const earlier = [...service.deployments.slice(1), ...service.history];
  const target = breaker.rollback ? (earlier.find((d) => d.rolloutState === "COMPLETED") ?? earlier.find((d) => d.rolloutState !== "FAILED")) : undefined;
  if (!target) return service;
  const rollback: Deployment = { ...startDeployment(newId(), target, service.desiredCount, now), rollbackOf: primary.id };
  event(`${name} rolling back to deployment ${target.id}.`);
  // A new deployment resets the service throttle, as a new task definition does on ECS.
  return {
    ...service,
    taskDefinition: target.taskDefinition,
    throttle: { failures: 0, until: 0 },
    deployments: [rollback, ...service.deployments.map((d) => ({ ...d, status: "ACTIVE" as const }))],
  };
}

/** Counts, completion, drained deployments leaving, and the steady-state event. */
function settleDeployments(
  service: Service,
  tasks: readonly ServiceTask[],
  stopping: ReadonlySet<string>,
  desired: number,
  now: number,
  event: EventSink,
  name: string,
): Service {
  const live = (d: Deployment) => tasks.filter((t) => t.deploymentId === d.id && isLive(t) && !stopping.has(t.taskId));
  for (const d of service.deployments) {
    const own = live(d);
    d.runningCount = own.filter((t) => t.lastStatus === "RUNNING").length;
    d.pendingCount = own.length - d.runningCount;
  }
  const [primary, ...older] = service.deployments;
  const remaining = older.filter((d) => live(d).length > 0);
  const drained = older.filter((d) => live(d).length === 0).map((d) => ({ ...d, status: "INACTIVE" as const, finishedAt: d.finishedAt ?? now }));
  let next: Service = { ...service, deployments: [primary!, ...remaining], history: [...drained, ...service.history].slice(0, 50) };
  const healthyPrimary = live(primary!).filter((t) => isHealthy(t, now)).length;
  if (primary!.rolloutState === "IN_PROGRESS" && remaining.length === 0 && healthyPrimary >= desired && live(primary!).length === desired) {
    primary!.rolloutState = "COMPLETED";
    primary!.rolloutStateReason = `ECS deployment ${primary!.id} completed.`;
    primary!.updatedAt = now;
    primary!.finishedAt = now;
    event(`${name} (deployment ${primary!.id}) deployment completed.`);
  }
  const steady = next.deployments.length === 1 && primary!.rolloutState === "COMPLETED" && primary!.runningCount === desired && primary!.pendingCount === 0;
  if (!steady) {
    delete next.steadySince;
    return next;
  }
  if (next.steadySince === undefined || now - next.steadySince >= STEADY_REPEAT_MS) {
    event(`${name} has reached a steady state.`);
    next = { ...next, steadySince: now };
  }
  return next;
}
