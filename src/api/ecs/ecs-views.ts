/**
 * Domain records → ECS wire shapes. Timestamps leave as epoch seconds; registered task
 * definition fields leave exactly as they came in.
 */
import type { Cluster, ClusterCounts } from "../../domain/cluster.ts";
import type { Tag } from "../../domain/tags.ts";
import type { TaskDefinitionRecord } from "../../domain/task-definition-record.ts";
import type { Cluster as ClusterWire, TaskDefinition as TaskDefinitionWire } from "../models/ecs.types.ts";

export const epochSeconds = (ms: number): number => ms / 1000;

export type ClusterInclude = "ATTACHMENTS" | "CONFIGURATIONS" | "SETTINGS" | "STATISTICS" | "TAGS";

const NO_COUNTS: ClusterCounts = { runningTasks: 0, pendingTasks: 0, containerInstances: 0 };

/** Counts come from the cluster's tasks and instances; services arrive with their issue. */
export function clusterView(cluster: Cluster, include: ReadonlySet<ClusterInclude>, tags: Tag[] = [], counts = NO_COUNTS): ClusterWire {
  const view: ClusterWire = {
    clusterArn: cluster.clusterArn,
    clusterName: cluster.clusterName,
    status: cluster.status,
    registeredContainerInstancesCount: counts.containerInstances,
    runningTasksCount: counts.runningTasks,
    pendingTasksCount: counts.pendingTasks,
    activeServicesCount: 0,
    statistics: include.has("STATISTICS") ? clusterStatistics() : [],
    tags,
    settings: cluster.settings as NonNullable<ClusterWire["settings"]>,
    capacityProviders: cluster.capacityProviders,
    defaultCapacityProviderStrategy: cluster.defaultCapacityProviderStrategy,
  };
  if (include.has("CONFIGURATIONS") && cluster.configuration) view.configuration = cluster.configuration;
  if (include.has("ATTACHMENTS")) view.attachments = [];
  if (cluster.serviceConnectDefaults) view.serviceConnectDefaults = cluster.serviceConnectDefaults;
  return view;
}

function clusterStatistics(): { name: string; value: string }[] {
  const names = [
    "runningEC2TasksCount",
    "runningFargateTasksCount",
    "pendingEC2TasksCount",
    "pendingFargateTasksCount",
    "activeEC2ServiceCount",
    "activeFargateServiceCount",
    "drainingEC2ServiceCount",
    "drainingFargateServiceCount",
  ];
  return names.map((name) => ({ name, value: "0" }));
}

export function taskDefinitionView(record: TaskDefinitionRecord): TaskDefinitionWire {
  const { containerDefinitions, family: _family, ...rest } = record.document;
  const view = {
    taskDefinitionArn: record.taskDefinitionArn,
    containerDefinitions,
    family: record.family,
    ...rest,
    revision: record.revision,
    status: record.status,
    requiresAttributes: record.requiresAttributes,
    compatibilities: record.compatibilities,
    registeredAt: epochSeconds(record.registeredAt),
    registeredBy: record.registeredBy,
  } as TaskDefinitionWire;
  if (record.deregisteredAt !== undefined) view.deregisteredAt = epochSeconds(record.deregisteredAt);
  return view;
}
