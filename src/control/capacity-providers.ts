/**
 * Capacity providers. FARGATE and FARGATE_SPOT always exist (Berth's managed capacity: the
 * agents that offer Fargate); a cluster lists the ones it uses and may set a default
 * strategy, which RunTask follows when it is given neither a launch type nor a strategy.
 */
import { ecsArn } from "../core/arn.ts";
import { invalidParameter } from "../core/errors.ts";
import type { CapacityProviderStrategyItem, Cluster } from "../domain/cluster.ts";
import { requireCluster } from "./clusters.ts";
import type { CallContext, ControlDeps } from "./context.ts";

export const MANAGED_PROVIDERS = ["FARGATE", "FARGATE_SPOT"] as const;

export function assertProviders(providers: readonly string[], strategy: readonly CapacityProviderStrategyItem[]): void {
  if (providers.length > 20) throw invalidParameter("The maximum number of capacity providers for a cluster is 20.");
  for (const p of providers) {
    if (!(MANAGED_PROVIDERS as readonly string[]).includes(p)) {
      throw invalidParameter(`The specified capacity provider ${p} does not exist. Specify a valid capacity provider and try again.`);
    }
  }
  for (const item of strategy) {
    if (!providers.includes(item.capacityProvider)) {
      throw invalidParameter(
        "The specified capacity provider strategy cannot contain a capacity provider that is not associated with the cluster. Associate the capacity provider with the cluster or specify a valid capacity provider and try again.",
      );
    }
    if (item.weight !== undefined && (item.weight < 0 || item.weight > 1000)) throw invalidParameter("Capacity provider weight must be between 0 and 1000.");
    if (item.base !== undefined && (item.base < 0 || item.base > 100000)) throw invalidParameter("Capacity provider base must be between 0 and 100000.");
  }
  if (strategy.filter((s) => (s.base ?? 0) > 0).length > 1) {
    throw invalidParameter("Only one capacity provider in a capacity provider strategy can have a base defined.");
  }
}

export async function putClusterCapacityProviders(
  deps: ControlDeps,
  ctx: CallContext,
  clusterRef: string,
  providers: string[],
  strategy: CapacityProviderStrategyItem[],
): Promise<Cluster> {
  const cluster = await requireCluster(deps, ctx, clusterRef);
  assertProviders(providers, strategy);
  return deps.store.updateCluster({ ...cluster, capacityProviders: providers, defaultCapacityProviderStrategy: strategy });
}

export function describeCapacityProviders(ctx: CallContext, names: string[] | undefined) {
  const wanted = names?.length ? names : [...MANAGED_PROVIDERS];
  const capacityProviders = [];
  const failures = [];
  for (const name of wanted) {
    const short = name.includes("/") ? name.slice(name.lastIndexOf("/") + 1) : name;
    if ((MANAGED_PROVIDERS as readonly string[]).includes(short)) {
      capacityProviders.push({ capacityProviderArn: ecsArn(ctx.scope, `capacity-provider/${short}`), name: short, status: "ACTIVE" as const, tags: [] });
    } else {
      failures.push({ arn: name, reason: "MISSING" });
    }
  }
  return { capacityProviders, failures };
}
