/**
 * Cluster use cases: create, describe, list, update, delete. Clusters are region-scoped;
 * `cluster` parameters accept a name or an ARN and default to "default".
 */
import { clusterArn, lastSegment, parseArn } from "../core/arn.ts";
import { BerthError, ErrorCode } from "../core/errors.ts";
import {
  type CapacityProviderStrategyItem,
  type Cluster,
  type NameValue,
  assertClusterName,
  assertClusterSettings,
  DEFAULT_CLUSTER,
  mergeSettings,
} from "../domain/cluster.ts";
import { type Tag, assertUserTags } from "../domain/tags.ts";
import { assertProviders } from "./capacity-providers.ts";
import type { CallContext, ControlDeps } from "./context.ts";
import { pageRequest, withToken } from "./pagination.ts";

export interface CreateClusterCommand {
  clusterName?: string;
  tags?: Tag[];
  settings?: NameValue[];
  configuration?: Record<string, unknown>;
  capacityProviders?: string[];
  defaultCapacityProviderStrategy?: CapacityProviderStrategyItem[];
  serviceConnectDefaults?: { namespace: string };
}

export interface UpdateClusterCommand {
  cluster: string;
  settings?: NameValue[];
  configuration?: Record<string, unknown>;
  serviceConnectDefaults?: { namespace: string };
}

export const clusterNotFound = (): BerthError => new BerthError(ErrorCode.ClusterNotFound, "Cluster not found.");

/** The cluster name a `cluster` parameter refers to (name or ARN), defaulting to "default". */
export function clusterNameOf(ref: string | undefined): string {
  if (ref === undefined || ref === "") return DEFAULT_CLUSTER;
  return parseArn(ref) ? lastSegment(ref) : ref;
}

export async function createCluster(deps: ControlDeps, ctx: CallContext, cmd: CreateClusterCommand): Promise<Cluster> {
  const name = cmd.clusterName ?? DEFAULT_CLUSTER;
  assertClusterName(name);
  const settings = cmd.settings ?? [{ name: "containerInsights", value: "disabled" }];
  assertClusterSettings(settings);
  if (cmd.tags) assertUserTags(cmd.tags);
  assertProviders(cmd.capacityProviders ?? [], cmd.defaultCapacityProviderStrategy ?? []);
  const cluster: Cluster = {
    region: ctx.scope.region,
    clusterArn: clusterArn(ctx.scope, name),
    clusterName: name,
    status: "ACTIVE",
    settings,
    capacityProviders: cmd.capacityProviders ?? [],
    defaultCapacityProviderStrategy: cmd.defaultCapacityProviderStrategy ?? [],
    createdAt: deps.clock.now(),
    version: 1,
  };
  if (cmd.configuration) cluster.configuration = cmd.configuration;
  if (cmd.serviceConnectDefaults) cluster.serviceConnectDefaults = cmd.serviceConnectDefaults;
  const { cluster: stored, created } = await deps.store.createCluster(cluster);
  // An existing ACTIVE cluster is returned unchanged (CreateCluster is idempotent); tags
  // given on a create are applied only when this call created it.
  if (created && cmd.tags?.length) await deps.store.putTags(stored.clusterArn, cmd.tags);
  return stored;
}

/** The ACTIVE cluster a parameter names, or ClusterNotFoundException. */
export async function requireCluster(deps: ControlDeps, ctx: CallContext, ref: string | undefined): Promise<Cluster> {
  const cluster = await deps.store.getCluster(regionOf(ctx, ref), clusterNameOf(ref));
  if (!cluster || cluster.status !== "ACTIVE") throw clusterNotFound();
  return cluster;
}

export interface DescribeClustersResult {
  clusters: Cluster[];
  failures: { arn: string; reason: string }[];
}

export async function describeClusters(
  deps: ControlDeps,
  ctx: CallContext,
  refs: string[] | undefined,
): Promise<DescribeClustersResult> {
  const wanted = refs && refs.length > 0 ? refs : [DEFAULT_CLUSTER];
  if (wanted.length > 100) throw new BerthError(ErrorCode.InvalidParameter, "Clusters cannot have more than 100 elements");
  const result: DescribeClustersResult = { clusters: [], failures: [] };
  for (const ref of wanted) {
    const cluster = await deps.store.getCluster(regionOf(ctx, ref), clusterNameOf(ref));
    if (cluster) result.clusters.push(cluster);
    else result.failures.push({ arn: clusterArn({ ...ctx.scope, region: regionOf(ctx, ref) }, clusterNameOf(ref)), reason: "MISSING" });
  }
  return result;
}

export async function listClusters(
  deps: ControlDeps,
  ctx: CallContext,
  nextToken: string | undefined,
  maxResults: number | undefined,
): Promise<{ clusterArns: string[]; nextToken?: string }> {
  const page = await deps.store.listClusters(ctx.scope.region, pageRequest(nextToken, maxResults));
  return withToken({ ...page, items: page.items.map((c) => c.clusterArn) }, "clusterArns");
}

export async function updateCluster(deps: ControlDeps, ctx: CallContext, cmd: UpdateClusterCommand): Promise<Cluster> {
  const cluster = await requireCluster(deps, ctx, cmd.cluster);
  if (cmd.settings) assertClusterSettings(cmd.settings);
  const next: Cluster = { ...cluster };
  if (cmd.settings) next.settings = mergeSettings(cluster.settings, cmd.settings);
  if (cmd.configuration) next.configuration = cmd.configuration;
  if (cmd.serviceConnectDefaults) next.serviceConnectDefaults = cmd.serviceConnectDefaults;
  return deps.store.updateCluster(next);
}

/**
 * Marks the cluster INACTIVE. It stays describable (status INACTIVE) and its name can be
 * reused. Later issues add the checks for services, tasks and container instances.
 */
export async function deleteCluster(deps: ControlDeps, ctx: CallContext, ref: string): Promise<Cluster> {
  const cluster = await requireCluster(deps, ctx, ref);
  return deps.store.updateCluster({ ...cluster, status: "INACTIVE" });
}

/** A cluster ARN carries its own region; a bare name lives in the caller's region. */
function regionOf(ctx: CallContext, ref: string | undefined): string {
  const parsed = ref ? parseArn(ref) : undefined;
  return parsed?.region || ctx.scope.region;
}
