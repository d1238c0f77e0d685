/**
 * The cluster aggregate: its stored shape and the rules for names and settings.
 * Counts (running tasks, instances, services) are not stored here; they are derived
 * from the tasks, instances and services when a cluster is described.
 */
import { invalidParameter } from "../core/errors.ts";

export const ClusterStatus = {
  Active: "ACTIVE",
  Provisioning: "PROVISIONING",
  Deprovisioning: "DEPROVISIONING",
  Failed: "FAILED",
  Inactive: "INACTIVE",
} as const;
export type ClusterStatus = (typeof ClusterStatus)[keyof typeof ClusterStatus];

export interface NameValue {
  name: string;
  value: string;
}

export interface CapacityProviderStrategyItem {
  capacityProvider: string;
  weight?: number;
  base?: number;
}

export interface Cluster {
  region: string;
  clusterArn: string;
  clusterName: string;
  status: ClusterStatus;
  settings: NameValue[];
  /** ClusterConfiguration exactly as the caller gave it (executeCommand, managedStorage). */
  configuration?: Record<string, unknown>;
  serviceConnectDefaults?: { namespace: string };
  capacityProviders: string[];
  defaultCapacityProviderStrategy: CapacityProviderStrategyItem[];
  createdAt: number;
  /** Row version for conditional updates. */
  version: number;
}

/** What DescribeClusters counts, derived from tasks and container instances. */
export interface ClusterCounts {
  runningTasks: number;
  pendingTasks: number;
  containerInstances: number;
}

export const DEFAULT_CLUSTER = "default";

const CLUSTER_NAME = /^[a-zA-Z0-9_-]{1,255}$/;

export function assertClusterName(name: string): void {
  if (!CLUSTER_NAME.test(name)) {
    throw invalidParameter(
      "Cluster name can have up to 255 characters. Valid characters are letters (uppercase and lowercase), numbers, hyphens, and underscores.",
    );
  }
}

/** Cluster settings ECS knows; containerInsights is the only one today. */
const CLUSTER_SETTING_VALUES: Record<string, readonly string[]> = {
  containerInsights: ["enhanced", "enabled", "disabled"],
};

export function assertClusterSettings(settings: readonly NameValue[]): void {
  for (const s of settings) {
    const allowed = CLUSTER_SETTING_VALUES[s.name];
    if (!allowed) throw invalidParameter(`Unsupported cluster setting: ${s.name}`);
    if (!allowed.includes(s.value)) {
      throw invalidParameter(
        `The value '${s.value}' for the ${s.name} setting is not valid. Valid values are: ${allowed.join(", ")}.`,
      );
    }
  }
}

/** Merge settings by name: later values replace earlier ones, order of first appearance kept. */
export function mergeSettings(current: readonly NameValue[], changes: readonly NameValue[]): NameValue[] {
  const merged = new Map(current.map((s) => [s.name, s.value] as const));
  for (const s of changes) merged.set(s.name, s.value);
  return [...merged].map(([name, value]) => ({ name, value }));
}
