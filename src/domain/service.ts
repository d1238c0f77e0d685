/**
 * The service aggregate: desired count, its deployments (PRIMARY first), recent events and
 * the configuration new tasks are launched with. Tasks of a service carry the group
 * `service:<name>` and `startedBy` = the deployment id that launched them.
 */
import type { CapacityProviderStrategyItem } from "./cluster.ts";

export type ServiceStatus = "ACTIVE" | "DRAINING" | "INACTIVE";
export type RolloutState = "IN_PROGRESS" | "COMPLETED" | "FAILED";
export type DeploymentStatus = "PRIMARY" | "ACTIVE" | "INACTIVE";

export interface CircuitBreaker {
  enable: boolean;
  rollback: boolean;
  resetOnHealthyTask?: boolean;
  thresholdConfiguration?: { type?: "COUNT" | "BOUNDED_PERCENT" | "UNBOUNDED_PERCENT"; value?: number };
}

export interface DeploymentConfiguration {
  maximumPercent: number;
  minimumHealthyPercent: number;
  deploymentCircuitBreaker?: CircuitBreaker;
  [extra: string]: unknown;
}

export interface Deployment {
  id: string;
  status: DeploymentStatus;
  taskDefinition: string;
  desiredCount: number;
  /** Counted by the controller from the service's tasks. */
  pendingCount: number;
  runningCount: number;
  failedTasks: number;
  /** Task ids already counted in failedTasks, so each failure counts once. */
  failedTaskIds: string[];
  createdAt: number;
  updatedAt: number;
  launchType?: string;
  capacityProviderStrategy?: CapacityProviderStrategyItem[];
  networkConfiguration?: Record<string, unknown>;
  platformVersion?: string;
  rolloutState: RolloutState;
  rolloutStateReason: string;
  /** The deployment this one rolled back from, when it is a rollback. */
  rollbackOf?: string;
  /** When it finished (COMPLETED or FAILED and drained). */
  finishedAt?: number;
}

export interface ServiceEvent {
  id: string;
  createdAt: number;
  message: string;
}

export interface Service {
  region: string;
  serviceArn: string;
  serviceName: string;
  clusterName: string;
  clusterArn: string;
  status: ServiceStatus;
  desiredCount: number;
  taskDefinition: string;
  launchType?: string;
  capacityProviderStrategy: CapacityProviderStrategyItem[];
  platformVersion?: string;
  deploymentConfiguration: DeploymentConfiguration;
  deploymentController: { type: "ECS" };
  networkConfiguration?: Record<string, unknown>;
  placementConstraints: { type: "distinctInstance" | "memberOf"; expression?: string }[];
  placementStrategy: { type: "binpack" | "spread" | "random"; field?: string }[];
  loadBalancers: Record<string, unknown>[];
  serviceRegistries: Record<string, unknown>[];
  healthCheckGracePeriodSeconds?: number;
  schedulingStrategy: "REPLICA" | "DAEMON";
  propagateTags?: string;
  enableECSManagedTags: boolean;
  enableExecuteCommand: boolean;
  createdAt: number;
  createdBy: string;
  deployments: Deployment[];
  events: ServiceEvent[];
  /** Deployments that finished, newest first (kept for ListServiceDeployments and rollback). */
  history: Deployment[];
  /** When the last steady-state event was written, to re-emit it only now and then. */
  steadySince?: number;
  /** ECS's service throttle: consecutive launch failures and when launching may resume. */
  throttle: { failures: number; until: number };
  version: number;
}

export const MAX_EVENTS = 100;

/** Newest first, at most 100; an identical message within the window is not repeated. */
export function addEvent(service: Service, event: ServiceEvent, dedupeMs = 0): Service {
  const recent = service.events[0];
  if (dedupeMs > 0 && recent && recent.message === event.message && event.createdAt - recent.createdAt < dedupeMs) return service;
  return { ...service, events: [event, ...service.events].slice(0, MAX_EVENTS) };
}

/** `ceil(desired × min / 100)` tasks must stay healthy during a deployment. */
export const minimumHealthy = (desired: number, percent: number): number => Math.ceil((desired * percent) / 100);

/** At most `floor(desired × max / 100)` tasks RUNNING plus PENDING. */
export const maximumTotal = (desired: number, percent: number): number => Math.floor((desired * percent) / 100);

/** The circuit breaker's failure threshold for a deployment of `desired` tasks. */
export function failureThreshold(desired: number, breaker: CircuitBreaker | undefined): number {
  const config = breaker?.thresholdConfiguration;
  const type = config?.type ?? "BOUNDED_PERCENT";
  if (type === "COUNT") return Math.max(1, Math.round(config?.value ?? 3));
  const value = config?.value ?? 50;
  const raw = Math.ceil((desired * value) / 100);
  if (type === "UNBOUNDED_PERCENT") return Math.max(1, raw);
  return Math.min(200, Math.max(3, raw));
}

/** The throttle's wait after `failures` consecutive launch failures: growing, at most 15 min. */
export function throttleDelayMs(failures: number): number {
  if (failures < 3) return 0;
  return Math.min(15 * 60_000, 5_000 * 2 ** (failures - 3));
}

/** What a new deployment copies from the service (or from the deployment it rolls back to). */
export type DeploymentSource = Pick<Deployment, "taskDefinition" | "launchType" | "capacityProviderStrategy" | "networkConfiguration" | "platformVersion">;

/** A new PRIMARY deployment, IN_PROGRESS, with nothing running yet. */
export function startDeployment(id: string, source: DeploymentSource, desiredCount: number, now: number): Deployment {
  const d: Deployment = {
    id,
    status: "PRIMARY",
    taskDefinition: source.taskDefinition,
    desiredCount,
    pendingCount: 0,
    runningCount: 0,
    failedTasks: 0,
    failedTaskIds: [],
    createdAt: now,
    updatedAt: now,
    rolloutState: "IN_PROGRESS",
    rolloutStateReason: `ECS deployment ${id} in progress.`,
  };
  for (const key of ["launchType", "networkConfiguration", "platformVersion"] as const) {
    if (source[key] !== undefined) (d as unknown as Record<string, unknown>)[key] = source[key];
  }
  if (source.capacityProviderStrategy?.length) d.capacityProviderStrategy = source.capacityProviderStrategy;
  return d;
}
