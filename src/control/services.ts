/**
 * Service use cases: CreateService, UpdateService (a new deployment when what tasks run
 * changes; only a count change otherwise), DeleteService (ACTIVE → DRAINING → INACTIVE),
 * DescribeServices and ListServices. The service controller does the rest.
 */
import { randomInt } from "node:crypto";
import { ecsArn, lastSegment, parseArn } from "../core/arn.ts";
import { BerthError, ErrorCode, clientError, invalidParameter } from "../core/errors.ts";
import type { CapacityProviderStrategyItem, Cluster } from "../domain/cluster.ts";
import { type CircuitBreaker, type Deployment, type DeploymentConfiguration, type DeploymentSource, type Service, startDeployment } from "../domain/service.ts";
import { type Tag, assertUserTags } from "../domain/tags.ts";
import { assertProviders } from "./capacity-providers.ts";
import { requireCluster } from "./clusters.ts";
import type { CallContext, ControlDeps } from "./context.ts";
import { pageRequest, withToken } from "./pagination.ts";
import { findTaskDefinition } from "./task-definitions.ts";

const SERVICE_NAME = /^[a-zA-Z0-9_-]{1,255}$/;

export interface ServiceCommand {
  cluster?: string;
  taskDefinition?: string;
  desiredCount?: number;
  launchType?: string;
  capacityProviderStrategy?: CapacityProviderStrategyItem[];
  platformVersion?: string;
  deploymentConfiguration?: Partial<DeploymentConfiguration>;
  networkConfiguration?: Record<string, unknown>;
  placementConstraints?: Service["placementConstraints"];
  placementStrategy?: Service["placementStrategy"];
  loadBalancers?: Record<string, unknown>[];
  serviceRegistries?: Record<string, unknown>[];
  healthCheckGracePeriodSeconds?: number;
  schedulingStrategy?: "REPLICA" | "DAEMON";
  propagateTags?: string;
  enableECSManagedTags?: boolean;
  enableExecuteCommand?: boolean;
  tags?: Tag[];
}

export type ServiceNotifier = (service: Service) => void;

/** `ecs-svc/` and 19 digits, as ECS's deployment ids. */
export function newDeploymentId(): string {
  let digits = String(randomInt(1, 10));
  while (digits.length < 19) digits += String(randomInt(0, 10));
  return `ecs-svc/${digits}`;
}

export const serviceNotFound = (): BerthError => new BerthError(ErrorCode.ServiceNotFound, "Service not found.");

/** Defaults: max 200 / min 100 for REPLICA; max 100 / min 0 for DAEMON. */
function deploymentConfiguration(given: Partial<DeploymentConfiguration> | undefined, base?: DeploymentConfiguration, daemon = false): DeploymentConfiguration {
  const merged: DeploymentConfiguration = {
    ...base,
    ...given,
    maximumPercent: given?.maximumPercent ?? base?.maximumPercent ?? (daemon ? 100 : 200),
    minimumHealthyPercent: given?.minimumHealthyPercent ?? base?.minimumHealthyPercent ?? (daemon ? 0 : 100),
    deploymentCircuitBreaker: (given?.deploymentCircuitBreaker ?? base?.deploymentCircuitBreaker ?? { enable: false, rollback: false }) as CircuitBreaker,
  };
  if (merged.maximumPercent < 100) throw invalidParameter("The maximumPercent value must be greater than or equal to 100.");
  if (merged.minimumHealthyPercent < 0 || merged.minimumHealthyPercent > 100) {
    throw invalidParameter("The minimumHealthyPercent value must be between 0 and 100.");
  }
  return merged;
}

interface LoadBalancerRef {
  targetGroupArn?: string;
  loadBalancerName?: string;
  containerName?: string;
  containerPort?: number;
}

/** What ECS checks of a service's `loadBalancers` before it accepts them, in ECS's words. */
async function checkLoadBalancers(deps: ControlDeps, ctx: CallContext, refs: Record<string, unknown>[], taskDefinition: string): Promise<void> {
  const td = await findTaskDefinition(deps, ctx, taskDefinition);
  if (!td || !deps.elb) return;
  const containers = (td.document["containerDefinitions"] as { name: string; portMappings?: { containerPort?: number }[] }[] | undefined) ?? [];
  const awsvpc = td.document["networkMode"] === "awsvpc";
  for (const ref of refs as LoadBalancerRef[]) {
    if (!ref.targetGroupArn) {
      if (ref.loadBalancerName) throw invalidParameter("Classic Load Balancers are not supported; use a target group (targetGroupArn).");
      throw invalidParameter("targetGroupArn must be specified.");
    }
    const container = containers.find((c) => c.name === ref.containerName);
    if (!container) throw invalidParameter(`The container ${ref.containerName ?? ""} does not exist in the task definition.`);
    if (!(container.portMappings ?? []).some((p) => p.containerPort === ref.containerPort)) {
      throw invalidParameter(`The container ${container.name} did not have a container port ${ref.containerPort ?? ""} defined.`);
    }
    const group = await deps.elb.describeTargetGroup({ region: ctx.scope.region, accountId: ctx.scope.accountId }, ref.targetGroupArn);
    if (!group) {
      throw invalidParameter("Unable to assume role and validate the specified targetGroupArn. Please verify that the ECS service role being passed has the proper permissions.");
    }
    if (group.loadBalancerArns.length === 0) {
      throw invalidParameter(`The target group with targetGroupArn ${ref.targetGroupArn} does not have an associated load balancer.`);
    }
    if (awsvpc && group.targetType !== "ip") {
      throw invalidParameter(
        `The provided target group ${ref.targetGroupArn} has target type ${group.targetType}, which is incompatible with the awsvpc network mode specified in the task definition.`,
      );
    }
  }
}

async function requireTaskDefinition(deps: ControlDeps, ctx: CallContext, ref: string): Promise<string> {
  const td = await findTaskDefinition(deps, ctx, ref);
  if (!td) throw clientError("TaskDefinition not found.");
  if (td.status !== "ACTIVE") throw invalidParameter("TaskDefinition is inactive");
  return td.taskDefinitionArn;
}

function newDeployment(service: Service, now: number): Deployment {
  const source: DeploymentSource = { taskDefinition: service.taskDefinition, capacityProviderStrategy: service.capacityProviderStrategy };
  if (service.launchType) source.launchType = service.launchType;
  if (service.networkConfiguration) source.networkConfiguration = service.networkConfiguration;
  if (service.platformVersion) source.platformVersion = service.platformVersion;
  return startDeployment(newDeploymentId(), source, service.desiredCount, now);
}

/** The checks of a CreateService request that need only the request and its cluster; the first to fail is the error. */
function checkCreateCommand(
  cluster: Cluster,
  name: string,
  cmd: ServiceCommand,
  scheduling: Service["schedulingStrategy"],
): asserts cmd is ServiceCommand & { taskDefinition: string } {
  if (!SERVICE_NAME.test(name)) throw invalidParameter("Service name can have up to 255 characters. Valid characters are letters (uppercase and lowercase), numbers, hyphens, and underscores.");
  if (!cmd.taskDefinition) throw invalidParameter("Task definition must be specified.");
  if (scheduling === "REPLICA" && cmd.desiredCount === undefined) {
    throw invalidParameter("The service must have a desiredCount specified when the scheduling strategy is REPLICA.");
  }
  if (cmd.desiredCount !== undefined && cmd.desiredCount < 0) throw invalidParameter("desiredCount must be greater than or equal to 0.");
  if (scheduling === "DAEMON" && (cmd.launchType === "FARGATE" || cmd.capacityProviderStrategy?.length)) {
    throw invalidParameter("The daemon scheduling strategy does not support the FARGATE launch type or capacity provider strategies.");
  }
  if (cmd.launchType && cmd.capacityProviderStrategy?.length) {
    throw invalidParameter("Specifying both a launch type and capacity provider strategy is not supported. Remove one and try again.");
  }
  if (cmd.capacityProviderStrategy?.length) assertProviders(cluster.capacityProviders, cmd.capacityProviderStrategy);
  if (cmd.tags) assertUserTags(cmd.tags);
}

export async function createService(deps: ControlDeps, notify: ServiceNotifier, ctx: CallContext, name: string, cmd: ServiceCommand): Promise<Service> {
  const cluster = await requireCluster(deps, ctx, cmd.cluster);
  const scheduling = cmd.schedulingStrategy ?? "REPLICA";
  checkCreateCommand(cluster, name, cmd, scheduling);
  if (cmd.loadBalancers?.length) await checkLoadBalancers(deps, ctx, cmd.loadBalancers, cmd.taskDefinition);
  const now = deps.clock.now();
  const service: Service = {
    region: ctx.scope.region,
    serviceArn: ecsArn(ctx.scope, `service/${cluster.clusterName}/${name}`),
    serviceName: name,
    clusterName: cluster.clusterName,
    clusterArn: cluster.clusterArn,
    status: "ACTIVE",
    desiredCount: cmd.desiredCount ?? 0,
    taskDefinition: await requireTaskDefinition(deps, ctx, cmd.taskDefinition),
    capacityProviderStrategy: cmd.capacityProviderStrategy ?? (cmd.launchType ? [] : cluster.defaultCapacityProviderStrategy),
    deploymentConfiguration: deploymentConfiguration(cmd.deploymentConfiguration, undefined, scheduling === "DAEMON"),
    deploymentController: { type: "ECS" },
    placementConstraints: cmd.placementConstraints ?? [],
    placementStrategy: cmd.placementStrategy ?? [],
    loadBalancers: cmd.loadBalancers ?? [],
    serviceRegistries: cmd.serviceRegistries ?? [],
    schedulingStrategy: scheduling,
    enableECSManagedTags: cmd.enableECSManagedTags ?? false,
    enableExecuteCommand: cmd.enableExecuteCommand ?? false,
    propagateTags: cmd.propagateTags ?? "NONE",
    createdAt: now,
    createdBy: ctx.principalArn,
    deployments: [],
    events: [],
    history: [],
    throttle: { failures: 0, until: 0 },
    version: 1,
  };
  if (cmd.launchType || !service.capacityProviderStrategy.length) service.launchType = cmd.launchType ?? "EC2";
  if (cmd.networkConfiguration) service.networkConfiguration = cmd.networkConfiguration;
  if (cmd.healthCheckGracePeriodSeconds !== undefined) service.healthCheckGracePeriodSeconds = cmd.healthCheckGracePeriodSeconds;
  if (cmd.platformVersion) service.platformVersion = cmd.platformVersion;
  service.deployments = [newDeployment(service, now)];
  const { service: stored, created } = await deps.store.createService(service);
  if (!created) {
    if (stored.status === "DRAINING") throw invalidParameter("Unable to Start a service that is still Draining.");
    throw invalidParameter("Creation of service was not idempotent.");
  }
  if (cmd.tags?.length) await deps.store.putTags(stored.serviceArn, cmd.tags);
  notify(stored);
  return stored;
}

/** The ACTIVE or DRAINING service a reference (name or ARN) names in a cluster. */
export async function findService(deps: ControlDeps, ctx: CallContext, clusterRef: string | undefined, ref: string): Promise<Service | undefined> {
  const cluster = await requireCluster(deps, ctx, clusterRef);
  const region = parseArn(ref)?.region || ctx.scope.region;
  return deps.store.getService(region, cluster.clusterName, lastSegment(ref));
}

/** Fields whose change makes ECS start a new deployment. */
const DEPLOYING_FIELDS = ["taskDefinition", "launchType", "capacityProviderStrategy", "networkConfiguration", "platformVersion", "placementConstraints", "placementStrategy", "loadBalancers", "serviceRegistries"] as const;

export async function updateService(
  deps: ControlDeps,
  notify: ServiceNotifier,
  ctx: CallContext,
  ref: string,
  cmd: ServiceCommand & { forceNewDeployment?: boolean },
): Promise<Service> {
  for (let attempt = 0; ; attempt++) {
    const current = await findService(deps, ctx, cmd.cluster, ref);
    if (!current || current.status === "INACTIVE") throw serviceNotFound();
    if (current.status !== "ACTIVE") throw new BerthError(ErrorCode.ServiceNotActive, "Service was not ACTIVE.");
    const next: Service = { ...current };
    if (cmd.taskDefinition !== undefined) next.taskDefinition = await requireTaskDefinition(deps, ctx, cmd.taskDefinition);
    const balancers = cmd.loadBalancers ?? current.loadBalancers;
    if (balancers.length && (cmd.loadBalancers !== undefined || cmd.taskDefinition !== undefined)) {
      await checkLoadBalancers(deps, ctx, balancers, next.taskDefinition);
    }
    if (cmd.desiredCount !== undefined) {
      if (cmd.desiredCount < 0) throw invalidParameter("desiredCount must be greater than or equal to 0.");
      next.desiredCount = cmd.desiredCount;
    }
    if (cmd.capacityProviderStrategy !== undefined) {
      assertProviders((await requireCluster(deps, ctx, cmd.cluster)).capacityProviders, cmd.capacityProviderStrategy);
      next.capacityProviderStrategy = cmd.capacityProviderStrategy;
      if (cmd.capacityProviderStrategy.length) delete next.launchType;
    }
    for (const key of ["networkConfiguration", "placementConstraints", "placementStrategy", "loadBalancers", "serviceRegistries", "platformVersion", "healthCheckGracePeriodSeconds", "enableExecuteCommand", "enableECSManagedTags", "propagateTags"] as const) {
      if (cmd[key] !== undefined) (next as unknown as Record<string, unknown>)[key] = cmd[key];
    }
    if (cmd.deploymentConfiguration) next.deploymentConfiguration = deploymentConfiguration(cmd.deploymentConfiguration, current.deploymentConfiguration);
    const changed = DEPLOYING_FIELDS.some((k) => JSON.stringify(next[k]) !== JSON.stringify(current[k]));
    const now = deps.clock.now();
    if (changed || cmd.forceNewDeployment) {
      next.deployments = [newDeployment(next, now), ...current.deployments.map((d) => ({ ...d, status: "ACTIVE" as const }))];
      next.throttle = { failures: 0, until: 0 };
    } else {
      next.deployments = current.deployments.map((d, i) => (i === 0 ? { ...d, desiredCount: next.desiredCount, updatedAt: now } : d));
    }
    try {
      const stored = await deps.store.updateService(next);
      notify(stored);
      return stored;
    } catch (error) {
      // The controller saved the service in between: re-read and apply the update again.
      if (!(error instanceof BerthError && error.code === ErrorCode.StaleVersion) || attempt > 10) throw error;
    }
  }
}

export async function deleteService(deps: ControlDeps, notify: ServiceNotifier, ctx: CallContext, clusterRef: string | undefined, ref: string, force: boolean): Promise<Service> {
  for (let attempt = 0; ; attempt++) {
    const current = await findService(deps, ctx, clusterRef, ref);
    if (!current || current.status === "INACTIVE") throw serviceNotFound();
    if (current.status === "DRAINING") return current;
    if (current.desiredCount > 0 && !force) {
      throw invalidParameter("The service cannot be stopped while it is scaled above 0.");
    }
    try {
      const stored = await deps.store.updateService({ ...current, status: "DRAINING", desiredCount: 0 });
      notify(stored);
      return stored;
    } catch (error) {
      // The controller saved the service in between: re-read and delete again.
      if (!(error instanceof BerthError && error.code === ErrorCode.StaleVersion) || attempt > 10) throw error;
    }
  }
}

export async function describeServices(deps: ControlDeps, ctx: CallContext, clusterRef: string | undefined, refs: string[]) {
  const cluster = await requireCluster(deps, ctx, clusterRef);
  if (refs.length > 10) throw invalidParameter("services can have at most 10 items.");
  const services: Service[] = [];
  const failures: { arn: string; reason: string }[] = [];
  for (const ref of refs) {
    const found = await deps.store.getService(parseArn(ref)?.region || ctx.scope.region, cluster.clusterName, lastSegment(ref));
    if (found) services.push(found);
    else failures.push({ arn: parseArn(ref) ? ref : ecsArn(ctx.scope, `service/${cluster.clusterName}/${ref}`), reason: "MISSING" });
  }
  return { services, failures };
}

export async function listServices(
  deps: ControlDeps,
  ctx: CallContext,
  cmd: { cluster?: string; launchType?: string; schedulingStrategy?: string; nextToken?: string; maxResults?: number },
) {
  const cluster = await requireCluster(deps, ctx, cmd.cluster);
  const page = pageRequest(cmd.nextToken, cmd.maxResults ?? 10);
  const result = await deps.store.listServices(ctx.scope.region, cluster.clusterName, page);
  const items = result.items
    .filter((s) => cmd.launchType === undefined || s.launchType === cmd.launchType)
    .filter((s) => cmd.schedulingStrategy === undefined || s.schedulingStrategy === cmd.schedulingStrategy)
    .map((s) => s.serviceArn);
  return withToken({ ...result, items }, "serviceArns");
}

/**
 * StopServiceDeployment: ROLLBACK starts a new deployment of the last COMPLETED one's task
 * definition; ABORT stops launching for the deployment (it is marked FAILED).
 */
export async function stopServiceDeployment(deps: ControlDeps, notify: ServiceNotifier, service: Service, deployment: Deployment, stopType: string): Promise<Service> {
  if (service.deployments[0]?.id !== deployment.id || deployment.rolloutState !== "IN_PROGRESS") {
    throw new BerthError(ErrorCode.Conflict, "The service deployment is not in progress.");
  }
  const now = deps.clock.now();
  const failed: Deployment = { ...deployment, status: "ACTIVE", rolloutState: "FAILED", rolloutStateReason: "Service deployment stopped by user.", updatedAt: now };
  const rest = service.deployments.slice(1);
  const target = stopType === "ROLLBACK" ? [...rest, ...service.history].find((d) => d.rolloutState === "COMPLETED") : undefined;
  let next: Service;
  if (target) {
    const rollback: Deployment = { ...newDeployment({ ...service, taskDefinition: target.taskDefinition }, now), rollbackOf: deployment.id };
    next = { ...service, taskDefinition: target.taskDefinition, deployments: [rollback, failed, ...rest] };
  } else {
    next = { ...service, deployments: [{ ...failed, status: "PRIMARY" }, ...rest] };
  }
  const stored = await deps.store.updateService(next);
  notify(stored);
  return stored;
}
