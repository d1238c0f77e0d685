/**
 * Services → ECS wire shapes: Service with deployments[] and events[], and the newer
 * service-deployment and service-revision views whose ARNs share the deployment id's digits
 * (Terraform matches `targetServiceRevisionArn` against `deployments[PRIMARY].id`).
 */
import { ecsArn, parseArn } from "../../core/arn.ts";
import type { Deployment, Service } from "../../domain/service.ts";
import { failureThreshold } from "../../domain/service.ts";
import type { Tag } from "../../domain/tags.ts";
import type * as ecs from "../models/ecs.types.ts";
import { epochSeconds } from "./ecs-views.ts";

const digits = (d: Deployment): string => d.id.slice(d.id.indexOf("/") + 1);
const scopeOf = (s: Service) => {
  const arn = parseArn(s.serviceArn)!;
  return { partition: arn.partition, region: s.region, accountId: arn.accountId };
};
export const serviceRevisionArn = (s: Service, d: Deployment): string =>
  ecsArn(scopeOf(s), `service-revision/${s.clusterName}/${s.serviceName}/${digits(d)}`);
export const serviceDeploymentArn = (s: Service, d: Deployment): string =>
  ecsArn(scopeOf(s), `service-deployment/${s.clusterName}/${s.serviceName}/${digits(d)}`);

function deploymentView(d: Deployment): ecs.Deployment {
  const view: ecs.Deployment = {
    id: d.id,
    status: d.status,
    taskDefinition: d.taskDefinition,
    desiredCount: d.desiredCount,
    pendingCount: d.pendingCount,
    runningCount: d.runningCount,
    failedTasks: d.failedTasks,
    createdAt: epochSeconds(d.createdAt),
    updatedAt: epochSeconds(d.updatedAt),
    rolloutState: d.rolloutState,
    rolloutStateReason: d.rolloutStateReason,
  };
  if (d.launchType) view.launchType = d.launchType as ecs.LaunchType;
  if (d.capacityProviderStrategy) view.capacityProviderStrategy = d.capacityProviderStrategy;
  if (d.networkConfiguration) view.networkConfiguration = d.networkConfiguration as ecs.NetworkConfiguration;
  if (d.platformVersion) view.platformVersion = d.platformVersion;
  return view;
}

export function serviceView(s: Service, tags: Tag[] = []): ecs.Service {
  const view: ecs.Service = {
    serviceArn: s.serviceArn,
    serviceName: s.serviceName,
    clusterArn: s.clusterArn,
    loadBalancers: s.loadBalancers as ecs.LoadBalancers,
    serviceRegistries: s.serviceRegistries as ecs.ServiceRegistries,
    status: s.status,
    desiredCount: s.desiredCount,
    runningCount: s.deployments.reduce((n, d) => n + d.runningCount, 0),
    pendingCount: s.deployments.reduce((n, d) => n + d.pendingCount, 0),
    capacityProviderStrategy: s.capacityProviderStrategy,
    taskDefinition: s.taskDefinition,
    deploymentConfiguration: s.deploymentConfiguration as ecs.DeploymentConfiguration,
    deployments: s.deployments.map(deploymentView),
    events: s.events.map((e) => ({ id: e.id, createdAt: epochSeconds(e.createdAt), message: e.message })),
    createdAt: epochSeconds(s.createdAt),
    placementConstraints: s.placementConstraints,
    placementStrategy: s.placementStrategy,
    schedulingStrategy: s.schedulingStrategy,
    deploymentController: s.deploymentController,
    createdBy: s.createdBy,
    enableECSManagedTags: s.enableECSManagedTags,
    propagateTags: (s.propagateTags ?? "NONE") as ecs.PropagateTags,
    enableExecuteCommand: s.enableExecuteCommand,
    tags,
  };
  if (s.launchType) view.launchType = s.launchType as ecs.LaunchType;
  if (s.networkConfiguration) view.networkConfiguration = s.networkConfiguration as ecs.NetworkConfiguration;
  if (s.healthCheckGracePeriodSeconds !== undefined) view.healthCheckGracePeriodSeconds = s.healthCheckGracePeriodSeconds;
  if (s.launchType === "FARGATE" || s.capacityProviderStrategy.some((c) => c.capacityProvider.startsWith("FARGATE"))) {
    view.platformVersion = s.platformVersion ?? "LATEST";
    view.platformFamily = "Linux";
  }
  const primary = s.deployments[0];
  if (primary) {
    view.currentServiceDeployment = serviceDeploymentArn(s, primary);
    view.currentServiceRevisions = s.deployments.map((d) => ({
      arn: serviceRevisionArn(s, d),
      requestedTaskCount: d.desiredCount,
      runningTaskCount: d.runningCount,
      pendingTaskCount: d.pendingCount,
    }));
  }
  return view;
}

/** All of a service's deployments, current and finished, newest first. */
export const allDeployments = (s: Service): Deployment[] => [...s.deployments, ...s.history].sort((a, b) => b.createdAt - a.createdAt);

/** ServiceDeployment status in ECS's words for a deployment record. */
export function deploymentStatus(s: Service, d: Deployment): { status: ecs.ServiceDeploymentStatus; reason?: string } {
  if (d.rolloutState === "COMPLETED") return { status: "SUCCESSFUL" };
  if (d.rolloutState === "FAILED") {
    const rollback = allDeployments(s).find((x) => x.rollbackOf === d.id);
    if (!rollback) return { status: "STOPPED", reason: d.rolloutStateReason };
    if (rollback.rolloutState === "COMPLETED") return { status: "ROLLBACK_SUCCESSFUL", reason: d.rolloutStateReason };
    return { status: rollback.rolloutState === "FAILED" ? "ROLLBACK_FAILED" : "ROLLBACK_IN_PROGRESS", reason: d.rolloutStateReason };
  }
  if (s.deployments[0]?.id === d.id) return { status: "IN_PROGRESS" };
  return { status: "STOPPED", reason: "The deployment was superseded by a newer deployment." };
}

export function serviceDeploymentBrief(s: Service, d: Deployment): ecs.ServiceDeploymentBrief {
  const { status, reason } = deploymentStatus(s, d);
  const brief: ecs.ServiceDeploymentBrief = {
    serviceDeploymentArn: serviceDeploymentArn(s, d),
    serviceArn: s.serviceArn,
    clusterArn: s.clusterArn,
    createdAt: epochSeconds(d.createdAt),
    startedAt: epochSeconds(d.createdAt),
    targetServiceRevisionArn: serviceRevisionArn(s, d),
    status,
  };
  if (reason) brief.statusReason = reason;
  if (d.finishedAt !== undefined) brief.finishedAt = epochSeconds(d.finishedAt);
  return brief;
}

export function serviceDeploymentView(s: Service, d: Deployment): ecs.ServiceDeployment {
  const brief = serviceDeploymentBrief(s, d);
  const sources = allDeployments(s).filter((x) => x.createdAt < d.createdAt).slice(0, 1);
  const revisionRef = (x: Deployment) => ({ arn: serviceRevisionArn(s, x), requestedTaskCount: x.desiredCount, runningTaskCount: x.runningCount, pendingTaskCount: x.pendingCount });
  const breaker = s.deploymentConfiguration.deploymentCircuitBreaker;
  const view: ecs.ServiceDeployment = {
    ...brief,
    updatedAt: epochSeconds(d.updatedAt),
    sourceServiceRevisions: sources.map(revisionRef),
    targetServiceRevision: revisionRef(d),
    deploymentConfiguration: s.deploymentConfiguration as ecs.DeploymentConfiguration,
    deploymentCircuitBreaker: {
      status: !breaker?.enable ? "DISABLED" : d.rolloutState === "FAILED" ? "TRIGGERED" : "MONITORING",
      failureCount: d.failedTasks,
      threshold: failureThreshold(d.desiredCount, breaker),
    },
  };
  const rollback = allDeployments(s).find((x) => x.rollbackOf === d.id);
  if (rollback) {
    view.rollback = { reason: d.rolloutStateReason, startedAt: epochSeconds(rollback.createdAt), serviceRevisionArn: serviceRevisionArn(s, rollback) };
  }
  return view;
}

export function serviceRevisionView(s: Service, d: Deployment): ecs.ServiceRevision {
  const view: ecs.ServiceRevision = {
    serviceRevisionArn: serviceRevisionArn(s, d),
    serviceArn: s.serviceArn,
    clusterArn: s.clusterArn,
    taskDefinition: d.taskDefinition,
    loadBalancers: s.loadBalancers as ecs.LoadBalancers,
    serviceRegistries: s.serviceRegistries as ecs.ServiceRegistries,
    containerImages: [],
    guardDutyEnabled: false,
    createdAt: epochSeconds(d.createdAt),
  };
  if (d.launchType) view.launchType = d.launchType as ecs.LaunchType;
  if (d.capacityProviderStrategy) view.capacityProviderStrategy = d.capacityProviderStrategy;
  if (d.networkConfiguration) view.networkConfiguration = d.networkConfiguration as ecs.NetworkConfiguration;
  return view;
}
