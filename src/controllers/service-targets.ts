/**
 * A service's load balancer targets, for the service controller: which target each task is
 * (its IP and container port for awsvpc, its instance and host port otherwise), how healthy
 * those targets are, registering tasks once they run, and deregistering (draining) tasks
 * before they stop. Reads and writes go through the ElbEngine port; ECS's events are returned
 * for the controller to record.
 */
import { parseArn } from "../core/arn.ts";
import type { ElbEngine, TargetHealth } from "../domain/load-balancing.ts";
import type { ServiceTask } from "../domain/deployment-plan.ts";
import type { Service } from "../domain/service.ts";
import type { Task } from "../domain/task.ts";

export interface TaskTarget {
  targetGroupArn: string;
  id: string;
  port: number;
}

interface ServiceLoadBalancer {
  targetGroupArn?: string;
  containerName?: string;
  containerPort?: number;
}

export class ServiceTargets {
  /**
   * @param instanceIds container instance ARN → the instance id instance targets are named by.
   * @param noteAddress records where an instance target is reached (the host port's bind address).
   */
  constructor(
    private readonly elb: ElbEngine,
    private readonly noteAddress: (instanceId: string, address: string) => void = () => undefined,
  ) {}

  static groupsOf(service: Service): string[] {
    return [...new Set((service.loadBalancers as ServiceLoadBalancer[]).flatMap((lb) => (lb.targetGroupArn ? [lb.targetGroupArn] : [])))];
  }

  /** The task's targets, once it has the address and ports they need. */
  targetsOf(service: Service, task: Task, instanceIds: ReadonlyMap<string, string>): TaskTarget[] {
    const out: TaskTarget[] = [];
    for (const lb of service.loadBalancers as ServiceLoadBalancer[]) {
      if (!lb.targetGroupArn || lb.containerPort === undefined) continue;
      const container = task.containers.find((c) => c.name === lb.containerName);
      if (!container) continue;
      if (task.networkMode === "awsvpc") {
        const ip = task.privateIPv4Address ?? container.privateIPv4Address;
        if (ip) out.push({ targetGroupArn: lb.targetGroupArn, id: ip, port: lb.containerPort });
        continue;
      }
      const binding = container.networkBindings.find((b) => b.containerPort === lb.containerPort);
      const instanceId = task.containerInstanceArn ? instanceIds.get(task.containerInstanceArn) : undefined;
      if (!binding || !instanceId) continue;
      this.noteAddress(instanceId, !binding.bindIP || binding.bindIP === "0.0.0.0" ? "127.0.0.1" : binding.bindIP);
      out.push({ targetGroupArn: lb.targetGroupArn, id: instanceId, port: binding.hostPort });
    }
    return out;
  }

  /** Every target of the service's groups, by group. */
  async health(service: Service): Promise<Map<string, TargetHealth[]>> {
    const scope = scopeOf(service);
    const out = new Map<string, TargetHealth[]>();
    for (const arn of ServiceTargets.groupsOf(service)) out.set(arn, await this.elb.targetHealth(scope, arn).catch(() => []));
    return out;
  }

  /** The planner's view of a task's targets: the worst state over its groups. */
  static view(targets: TaskTarget[], health: ReadonlyMap<string, TargetHealth[]>, groups: number): ServiceTask["lb"] {
    if (groups === 0) return undefined;
    if (targets.length < groups) return { state: "initial" };
    let healthy = 0;
    for (const t of targets) {
      const h = targetHealthOf(health, t);
      if (h?.state === "unhealthy") {
        return { state: "unhealthy", targetGroupArn: t.targetGroupArn, port: t.port, ...(h.description ? { reason: h.description } : {}) };
      }
      if (h?.state === "healthy") healthy++;
    }
    return { state: healthy === targets.length ? "healthy" : "initial" };
  }

  /** Registers running tasks that are not registered (or are draining) yet; returns ECS's events. */
  async register(service: Service, running: { task: Task; targets: TaskTarget[] }[], health: ReadonlyMap<string, TargetHealth[]>): Promise<string[]> {
    const byGroup = byTargetGroup(
      running.flatMap(({ targets }) => targets).filter((t) => {
        const h = targetHealthOf(health, t);
        return !h || h.state === "draining" || h.state === "unused";
      }),
    );
    const events: string[] = [];
    for (const [group, targets] of byGroup) {
      await this.elb.registerTargets(scopeOf(service), group, targets.map((t) => ({ id: t.id, port: t.port })));
      events.push(`(service ${service.serviceName}) registered ${targets.length} targets in (target-group ${group})`);
    }
    return events;
  }

  /** Starts draining these tasks' targets; returns ECS's events. */
  async deregister(service: Service, tasks: { task: Task; targets: TaskTarget[] }[], draining: boolean): Promise<string[]> {
    const byGroup = byTargetGroup(tasks.flatMap(({ targets }) => targets));
    const events: string[] = [];
    if (draining && tasks.length > 0) events.push(`(service ${service.serviceName}) has begun draining connections on ${tasks.length} tasks.`);
    for (const [group, targets] of byGroup) {
      await this.elb.deregisterTargets(scopeOf(service), group, targets.map((t) => ({ id: t.id, port: t.port })));
      events.push(`(service ${service.serviceName}) deregistered ${targets.length} targets in (target-group ${group})`);
    }
    return events;
  }

  /** Whether any of these targets is still in its group (registered or draining). */
  static present(targets: TaskTarget[], health: ReadonlyMap<string, TargetHealth[]>): boolean {
    return targets.some((t) => {
      const h = targetHealthOf(health, t);
      return h !== undefined && h.state !== "unused";
    });
  }
}

/** What the target group last said about this target; undefined when it is not in the group. */
export function targetHealthOf(health: ReadonlyMap<string, TargetHealth[]>, t: TaskTarget): TargetHealth | undefined {
  return health.get(t.targetGroupArn)?.find((h) => h.id === t.id && h.port === t.port);
}

function byTargetGroup(targets: TaskTarget[]): Map<string, TaskTarget[]> {
  const out = new Map<string, TaskTarget[]>();
  for (const t of targets) out.set(t.targetGroupArn, [...(out.get(t.targetGroupArn) ?? []), t]);
  return out;
}

function scopeOf(service: Service): { region: string; accountId: string } {
  return { region: service.region, accountId: parseArn(service.serviceArn)?.accountId ?? "" };
}
