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
  const { tasks, now } = input;
  const events: { message: string; dedupeMs: number }[] = [];
  const round: Round = {
    tasks,
    now,
    name: `(service ${input.service.serviceName})`,
    event: (message, dedupeMs = 0) => events.push({ message, dedupeMs }),
    stops: new Stops(),
  };
  // The steps change deployments in place: on a copy, so the input is left as it was.
  let service: Service = { ...input.service, deployments: input.service.deployments.map((d) => ({ ...d })) };

  service = applyFailures(round, service, input.newDeploymentId);
  replaceUnhealthy(round, (service.healthCheckGracePeriodSeconds ?? 0) * 1000);
  const rollout = splitLive(round, service);
  scaleInPrimary(round, rollout);
  const { count, held } = launchCount(round, service, rollout);
  stopOldTasks(round, service, rollout);
  // Stuck: the primary wants tasks, maximumPercent leaves no room and minimumHealthyPercent lets no old task go.
  if (held && round.stops.list.length === 0 && rollout.oldLive.length > 0) {
    round.event(
      `${round.name} was unable to stop or start tasks during a deployment because of the service deployment configuration. Update the minimumHealthyPercent or maximumPercent value and try again.`,
      60 * 60_000,
    );
  }

  service = settleDeployments(service, tasks, round.stops.ids, rollout.desired, now, round.event, round.name);
  for (const e of events) service = addEvent(service, { id: input.newId(), createdAt: now, message: e.message }, e.dedupeMs);
  const launch: Plan["launch"] = count > 0 ? [{ deploymentId: rollout.primary.id, count }] : [];
  return { launch, stop: round.stops.list, service };
}

type EventSink = (message: string, dedupeMs?: number) => void;

/** What the steps of one planService call share: its tasks and time, its events, its stops so far. */
interface Round {
  readonly tasks: readonly ServiceTask[];
  readonly now: number;
  /** `(service name)`, as the service's events begin. */
  readonly name: string;
  readonly event: EventSink;
  readonly stops: Stops;
}

/** The tasks a plan stops: each once, with the first reason it is given. */
class Stops {
  readonly list: Plan["stop"] = [];
  private readonly taskIds = new Set<string>();

  get ids(): ReadonlySet<string> {
    return this.taskIds;
  }

  has(t: ServiceTask): boolean {
    return this.taskIds.has(t.taskId);
  }

  add(t: ServiceTask, reason: string): void {
    if (this.taskIds.has(t.taskId)) return;
    this.taskIds.add(t.taskId);
    this.list.push({ taskId: t.taskId, reason });
  }
}

/** The live tasks not yet told to stop, split between the primary deployment and the old ones. */
interface Rollout {
  primary: Deployment;
  /** The service's desired count; 0 once it is no longer ACTIVE. */
  desired: number;
  scaleReason: string;
  live: ServiceTask[];
  primaryLive: ServiceTask[];
  oldLive: ServiceTask[];
}

/** A task on a DRAINING container instance is replaced like an old deployment's task. */
const isOld = (t: ServiceTask, primary: Deployment) => t.deploymentId !== primary.id || t.draining === true;

/** Counts newly failed tasks against their deployments, then applies the throttle and the circuit breaker. */
function applyFailures(round: Round, service: Service, newDeploymentId: () => string): Service {
  const { now, event, name } = round;
  for (const t of countFailures(service, round.tasks, now)) {
    event(`${name} (task ${t.taskId}) stopped: ${t.stoppedReason ?? t.stopCode ?? "unknown reason"}.`);
  }
  const throttled = applyThrottle(service, round.tasks, now, event, name);
  return circuitBreaker(throttled, now, newDeploymentId, event, name);
}

/** Stops RUNNING tasks that fail their container or load balancer health checks past the grace period. */
function replaceUnhealthy(round: Round, grace: number): void {
  const { now, event, name, stops } = round;
  for (const t of round.tasks) {
    if (!isLive(t) || t.lastStatus !== "RUNNING" || t.healthStatus !== "UNHEALTHY") continue;
    if (t.startedAt !== undefined && now - t.startedAt < grace) continue;
    event(`${name} (task ${t.taskId}) failed container health checks.`);
    stops.add(t, HEALTH_CHECK_STOP_REASON);
  }
  for (const t of round.tasks) {
    if (!isLive(t) || t.lastStatus !== "RUNNING" || t.lb?.state !== "unhealthy" || stops.has(t)) continue;
    if (t.startedAt !== undefined && now - t.startedAt < grace) continue;
    const group = t.lb.targetGroupArn ?? "";
    event(`${name} (task ${t.taskId}) (port ${t.lb.port ?? 0}) is unhealthy in (target-group ${group}) due to (reason ${t.lb.reason ?? "Health checks failed"}).`);
    stops.add(t, `Task failed ELB health checks in (target-group ${group})`);
  }
}

function splitLive(round: Round, service: Service): Rollout {
  const primary = service.deployments[0]!;
  const live = round.tasks.filter((t) => isLive(t) && !round.stops.has(t));
  return {
    primary,
    desired: service.status === "ACTIVE" ? service.desiredCount : 0,
    scaleReason: `Scaling activity initiated by (deployment ${primary.id})`,
    live,
    primaryLive: live.filter((t) => !isOld(t, primary)),
    oldLive: live.filter((t) => isOld(t, primary)),
  };
}

/** Stops the primary's tasks beyond desired: pending first, then from the fullest zone and instance. */
function scaleInPrimary(round: Round, r: Rollout): void {
  const excess = Math.max(0, r.primaryLive.length - r.desired);
  for (const t of scaleInOrder(r.primaryLive, round.now).slice(0, excess)) round.stops.add(t, r.scaleReason);
}

/**
 * How many tasks to launch for the primary: up to desired within maximumPercent, none once it has
 * failed or while the service is throttled. `held`: it wants tasks, may launch, gets none, and no
 * task is on its way down to make room.
 */
function launchCount(round: Round, service: Service, r: Rollout): { count: number; held: boolean } {
  const { now, stops } = round;
  const { primary } = r;
  const config = service.deploymentConfiguration;
  const keptPrimary = r.primaryLive.filter((t) => !stops.has(t)).length;
  const launchable = primary.rolloutState !== "FAILED" && service.throttle.until <= now;
  const want = r.desired - keptPrimary;
  // Tasks told to stop still run until their agent stops them: they keep their place under
  // maximumPercent until they are STOPPED.
  const goingDown = round.tasks.filter((t) => t.lastStatus !== "STOPPED" && (!isLive(t) || stops.has(t))).length;
  const maxTotal = maximumTotal(r.desired, config.maximumPercent);
  let count = launchable ? Math.max(0, Math.min(want, maxTotal - (keptPrimary + r.oldLive.length + goingDown))) : 0;
  // With the circuit breaker on, launch no more than could fail before it trips, so a bad
  // revision fails after exactly its threshold of failed tasks.
  const breaker = config.deploymentCircuitBreaker;
  if (breaker?.enable && primary.rolloutState === "IN_PROGRESS") {
    const unproven = r.primaryLive.filter((t) => !stops.has(t) && !isHealthy(t, now)).length;
    count = Math.min(count, Math.max(0, failureThreshold(primary.desiredCount, breaker) - primary.failedTasks - unproven));
  }
  return { count, held: want > 0 && count === 0 && launchable && goingDown === 0 };
}

/**
 * Stops old deployments' tasks down to the minimumHealthyPercent floor. Healthy tasks, and old
 * RUNNING tasks whose health is not known yet, hold the floor; pending or UNHEALTHY old tasks may
 * always go.
 */
function stopOldTasks(round: Round, service: Service, r: Rollout): void {
  const { now, stops } = round;
  const holdsFloor = (t: ServiceTask) =>
    isHealthy(t, now) || (isOld(t, r.primary) && t.lastStatus === "RUNNING" && t.healthStatus !== "UNHEALTHY" && t.lb?.state !== "unhealthy");
  const minHealthy = minimumHealthy(r.desired, service.deploymentConfiguration.minimumHealthyPercent);
  let budget = r.live.filter((t) => !stops.has(t) && holdsFloor(t)).length - minHealthy;
  const stopRank = (t: ServiceTask) => (!holdsFloor(t) ? 0 : isHealthy(t, now) ? 2 : 1);
  for (const t of [...r.oldLive].sort((a, b) => stopRank(a) - stopRank(b))) {
    if (!holdsFloor(t)) stops.add(t, r.scaleReason);
    else if (budget > 0) {
      stops.add(t, r.scaleReason);
      budget--;
    }
  }
}

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
