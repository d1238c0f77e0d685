/**
 * The service controller: one reconcile per service key. Keys are enqueued by the API (a
 * service changed) and by a full resync on a timer, so a lost wake costs one resync, not
 * correctness. A pass reads the service and its tasks, runs the pure planner
 * (domain/deployment-plan.ts), applies stops and launches, records ECS's events and saves
 * the service guarded by its version; a stale save is requeued, not an error.
 */
import { parseArn } from "../core/arn.ts";
import { BerthError, ErrorCode } from "../core/errors.ts";
import type { Logger } from "../core/logger.ts";
import type { ControlDeps, CallContext } from "../control/context.ts";
import { newDeploymentId } from "../control/services.ts";
import { type AgentNotifier, launchForService, releaseDrainedTask, requestStop } from "../control/tasks.ts";
import { type Plan, type ServiceTask, planService } from "../domain/deployment-plan.ts";
import { type Service, addEvent } from "../domain/service.ts";
import type { Task } from "../domain/task.ts";
import type { ElbEngine, TargetHealth } from "../domain/load-balancing.ts";
import { ServiceTargets, type TaskTarget, targetHealthOf } from "./service-targets.ts";

const key = (s: Pick<Service, "region" | "clusterName" | "serviceName">) => `${s.region}\u0000${s.clusterName}\u0000${s.serviceName}`;

export interface ServiceControllerOptions {
  deps: ControlDeps;
  notifyAgent: AgentNotifier;
  logger: Logger;
  resyncMs?: number;
  /** Load balancing, for services with `loadBalancers`; absent, they are ignored. */
  elb?: ElbEngine;
  /** Told where an instance target (instance id) is reached, for the load balancer. */
  noteInstanceAddress?: (instanceId: string, address: string) => void;
}

/** What a pass knows about a service's load balancer targets. */
interface TargetsView {
  groups: number;
  health: Map<string, TargetHealth[]>;
  byTask: Map<string, TaskTarget[]>;
}

export class ServiceController {
  private readonly queue = new Set<string>();
  private stopped = false;
  private timer: NodeJS.Timeout | undefined;
  private wake: (() => void) | undefined;
  private readonly targets: ServiceTargets | undefined;

  constructor(private readonly options: ServiceControllerOptions) {
    if (options.elb) this.targets = new ServiceTargets(options.elb, options.noteInstanceAddress);
  }

  start(): void {
    this.timer = setInterval(() => void this.resync(), this.options.resyncMs ?? 1000);
    this.timer.unref();
    void this.loop();
  }

  stop(): void {
    this.stopped = true;
    clearInterval(this.timer);
    this.wake?.();
  }

  /** Called when a service or one of its tasks changed. */
  enqueue = (service: Pick<Service, "region" | "clusterName" | "serviceName">): void => {
    this.queue.add(key(service));
    this.wake?.();
  };

  private async resync(): Promise<void> {
    for (const s of await this.options.deps.store.liveServices()) this.queue.add(key(s));
    this.wake?.();
  }

  private async loop(): Promise<void> {
    while (!this.stopped) {
      const next = this.queue.values().next();
      if (next.done) {
        await new Promise<void>((resolve) => (this.wake = resolve));
        this.wake = undefined;
        continue;
      }
      this.queue.delete(next.value);
      const [region, cluster, name] = next.value.split("\u0000") as [string, string, string];
      try {
        await this.reconcile(region, cluster, name);
      } catch (error) {
        // Stale state is normal: requeue and converge on the next pass.
        if (!(error instanceof BerthError && error.code === ErrorCode.StaleVersion)) {
          this.options.logger.warn("service reconcile failed", { service: name, error: String(error) });
        }
        this.queue.add(next.value);
        await new Promise((r) => setTimeout(r, 200));
      }
    }
  }

  async reconcile(region: string, cluster: string, name: string): Promise<void> {
    const { deps } = this.options;
    const service = await deps.store.getService(region, cluster, name);
    if (!service || service.status === "INACTIVE") return;
    const now = deps.clock.now();
    const tasks = await deps.store.tasksOfGroup(region, cluster, `service:${name}`);
    const instances = await deps.store.listContainerInstances(region, cluster);
    const draining = new Set(instances.filter((ci) => ci.status === "DRAINING").map((ci) => ci.containerInstanceArn));
    const lb = await this.targetsView(service, tasks, new Map(instances.map((ci) => [ci.containerInstanceArn, ci.ec2InstanceId])));
    const views = tasks.map((t) => {
      const view = serviceTask(t, draining);
      const health = ServiceTargets.view(lb.byTask.get(t.taskId) ?? [], lb.health, lb.groups);
      if (health) view.lb = health;
      return view;
    });
    const planned = service.schedulingStrategy === "DAEMON" ? daemonView(service, instances) : service;
    const plan = planService({ service: planned, tasks: views, now, newId: () => deps.ids.uuid(), newDeploymentId });
    // The daemon view's added distinctInstance is for placement only, not the stored service.
    let next = { ...(await this.apply(plan, tasks, now, lb)), placementConstraints: service.placementConstraints };
    const live = tasks.some((t) => t.lastStatus !== "STOPPED" && !plan.stop.some((s) => s.taskId === t.taskId));
    if (next.status === "DRAINING" && !live && plan.launch.length === 0) next = { ...next, status: "INACTIVE" };
    if (JSON.stringify({ ...next, version: 0 }) !== JSON.stringify({ ...service, version: 0 })) {
      await deps.store.updateService({ ...next, version: service.version });
    }
  }

  private async targetsView(service: Service, tasks: Task[], instanceIds: ReadonlyMap<string, string>): Promise<TargetsView> {
    const groups = this.targets ? ServiceTargets.groupsOf(service).length : 0;
    if (!this.targets || groups === 0) return { groups: 0, health: new Map(), byTask: new Map() };
    const health = await this.targets.health(service);
    const byTask = new Map(tasks.map((t) => [t.taskId, this.targets!.targetsOf(service, t, instanceIds)] as const));
    return { groups, health, byTask };
  }

  /**
   * Load balancer targets around the plan: running tasks are registered; tasks the plan stops
   * drain first (their agent holds them in DEACTIVATING); drained ones are released to stop;
   * stopped tasks' leftover targets are deregistered.
   */
  private async syncTargets(service: Service, plan: Plan, tasks: Task[], lb: TargetsView): Promise<{ events: string[]; drain: Set<string> }> {
    const drain = new Set<string>();
    if (!this.targets || lb.groups === 0) return { events: [], drain };
    const { deps, notifyAgent } = this.options;
    const stopping = new Set(plan.stop.map((s) => s.taskId));
    const entry = (t: Task) => ({ task: t, targets: lb.byTask.get(t.taskId) ?? [] });
    const running = tasks.filter((t) => t.lastStatus === "RUNNING" && t.desiredStatus === "RUNNING" && !stopping.has(t.taskId)).map(entry);
    const events = await this.targets.register(service, running, lb.health);
    const draining = tasks.filter((t) => stopping.has(t.taskId) && t.lastStatus === "RUNNING" && ServiceTargets.present(entry(t).targets, lb.health));
    for (const t of draining) drain.add(t.taskId);
    events.push(...(await this.targets.deregister(service, draining.map(entry), true)));
    // Stopped tasks' targets still registered (the task stopped by itself or by StopTask) go too,
    // unless a live task now has the same address and port (Docker reuses task IPs).
    const key = (x: TaskTarget) => `${x.targetGroupArn} ${x.id} ${x.port}`;
    const live = new Set(tasks.filter((t) => t.desiredStatus === "RUNNING").flatMap((t) => entry(t).targets.map(key)));
    const registered = (x: TaskTarget) => {
      const h = targetHealthOf(lb.health, x);
      return h !== undefined && h.state !== "draining";
    };
    const leftovers = tasks
      .filter((t) => t.desiredStatus === "STOPPED" && !t.drainingTargets)
      .map((t) => ({ task: t, targets: entry(t).targets.filter((x) => !live.has(key(x)) && registered(x)) }))
      .filter((e) => e.targets.length > 0);
    events.push(...(await this.targets.deregister(service, leftovers, false)));
    for (const t of tasks) {
      if (t.drainingTargets && t.desiredStatus === "STOPPED" && !ServiceTargets.present(entry(t).targets, lb.health)) await releaseDrainedTask(deps, notifyAgent, t);
    }
    return { events, drain };
  }

  /** Stops and launches what the plan says; adds ECS's started/stopped/placement events. */
  private async apply(plan: Plan, tasks: Task[], now: number, lb: TargetsView): Promise<Service> {
    const { deps, notifyAgent } = this.options;
    let service = plan.service;
    const event = (message: string, dedupeMs = 0) => {
      service = addEvent(service, { id: deps.ids.uuid(), createdAt: now, message }, dedupeMs);
    };
    const name = `(service ${service.serviceName})`;
    const targets = await this.syncTargets(service, plan, tasks, lb);
    for (const e of targets.events) event(e);
    const stopped: string[] = [];
    for (const s of plan.stop) {
      const task = tasks.find((t) => t.taskId === s.taskId);
      if (!task) continue;
      await requestStop(deps, notifyAgent, task, "ServiceSchedulerInitiated", s.reason, { drainTargets: targets.drain.has(task.taskId) });
      if (task.lastStatus === "RUNNING") stopped.push(task.taskId);
    }
    if (stopped.length) event(`${name} has stopped ${stopped.length} running tasks: ${stopped.map((id) => `(task ${id})`).join(" ")}.`);
    for (const l of plan.launch) {
      const deployment = service.deployments.find((d) => d.id === l.deploymentId)!;
      const result = await launchForService(deps, notifyAgent, contextOf(service), {
        cluster: service.clusterName,
        taskDefinition: deployment.taskDefinition,
        count: l.count,
        group: `service:${service.serviceName}`,
        startedBy: deployment.id,
        ...(deployment.launchType ? { launchType: deployment.launchType as Task["launchType"] } : {}),
        ...(deployment.capacityProviderStrategy ? { capacityProviderStrategy: deployment.capacityProviderStrategy } : {}),
        ...(deployment.networkConfiguration ? { networkConfiguration: deployment.networkConfiguration } : {}),
        placementConstraints: service.placementConstraints,
        placementStrategy: service.placementStrategy,
        tags: service.propagateTags === "SERVICE" ? await deps.store.getTags(service.serviceArn) : [],
      });
      if (result.tasks.length) {
        event(`${name} has started ${result.tasks.length} tasks: ${result.tasks.map((t) => `(task ${t.taskId})`).join(" ")}.`);
      }
      const failure = result.failures[0];
      if (failure) event(placementMessage(name, failure), 5 * 60_000);
    }
    return service;
  }
}

function placementMessage(name: string, failure: { arn?: string; reason: string; detail?: string }): string {
  const base = `${name} was unable to place a task because no container instance met all of its requirements.`;
  const id = failure.arn?.slice(failure.arn.lastIndexOf("/") + 1);
  const closest: Record<string, string> = {
    "RESOURCE:CPU": "has insufficient CPU units available",
    "RESOURCE:MEMORY": "has insufficient memory available",
    "RESOURCE:PORTS": "is already using a port required by your task",
    AGENT: 'encountered error "AGENT"',
  };
  const why = closest[failure.reason];
  return id && why ? `${base} The closest matching container-instance ${id} ${why}.` : failure.detail ? `${base} ${failure.detail}` : base;
}

/** Calls the controller makes run as the service's creator, in its region and account. */
function contextOf(service: Service): CallContext {
  const arn = parseArn(service.serviceArn)!;
  return { scope: { partition: arn.partition, region: service.region, accountId: arn.accountId }, principalArn: service.createdBy };
}

/** The planner's view of a task: its deployment, state and whether it has health checks. */
export function serviceTask(t: Task, drainingInstances: ReadonlySet<string> = new Set()): ServiceTask {
  const view: ServiceTask = {
    taskId: t.taskId,
    deploymentId: t.startedBy ?? "",
    lastStatus: t.lastStatus,
    desiredStatus: t.desiredStatus,
    healthStatus: t.healthStatus,
    hasHealthCheck: t.resolvedContainers.some((c) => c["essential"] !== false && c["healthCheck"] !== undefined),
    availabilityZone: t.availabilityZone,
  };
  if (t.startedAt !== undefined) view.startedAt = t.startedAt;
  if (t.stopCode !== undefined) view.stopCode = t.stopCode;
  if (t.stoppedReason !== undefined) view.stoppedReason = t.stoppedReason;
  if (t.containerInstanceArn !== undefined) {
    view.instance = t.containerInstanceArn;
    if (drainingInstances.has(t.containerInstanceArn)) view.draining = true;
  }
  return view;
}

/**
 * A DAEMON service runs one task on every ACTIVE container instance (connected or not): its desired count
 * follows the instances and placement adds distinctInstance; the planner does the rest.
 */
export function daemonView(service: Service, instances: readonly { status: string }[]): Service {
  // An agent that is only disconnected keeps its instance ACTIVE and its daemon task, as on ECS.
  const desired = service.status === "ACTIVE" ? instances.filter((ci) => ci.status === "ACTIVE").length : 0;
  const constraints = service.placementConstraints.some((c) => c.type === "distinctInstance")
    ? service.placementConstraints
    : [...service.placementConstraints, { type: "distinctInstance" as const }];
  return {
    ...service,
    desiredCount: desired,
    placementConstraints: constraints,
    deployments: service.deployments.map((d, i) => (i === 0 ? { ...d, desiredCount: desired } : d)),
  };
}
