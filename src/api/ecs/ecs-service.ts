/**
 * The ECS API (AmazonEC2ContainerServiceV20141113): one thin handler per operation that
 * decodes the validated request into a use-case call and encodes the result. Wire names
 * stay here; the use cases live in control/.
 */
import * as accountSettings from "../../control/account-settings.ts";
import * as clusters from "../../control/clusters.ts";
import type { CallContext, ControlDeps } from "../../control/context.ts";
import * as tags from "../../control/tags.ts";
import type { ServiceNotifier } from "../../control/services.ts";
import type { AgentNotifier } from "../../control/tasks.ts";
import * as taskDefinitions from "../../control/task-definitions.ts";
import type * as ecs from "../models/ecs.types.ts";
import { ecsModel } from "../models/ecs.model.ts";
import type { ServiceDefinition } from "../service.ts";
import { ECS_ERRORS } from "./ecs-errors.ts";
import { ECS_RESOURCES } from "./ecs-resources.ts";
import { serviceOperations } from "./ecs-service-operations.ts";
import { taskOperations } from "./ecs-task-operations.ts";
import { type ClusterInclude, clusterView, taskDefinitionView } from "./ecs-views.ts";
import { asTags, defined } from "../wire.ts";

const NO_INCLUDE: ReadonlySet<ClusterInclude> = new Set(["SETTINGS"]);
const CREATE_INCLUDE: ReadonlySet<ClusterInclude> = new Set(["SETTINGS", "CONFIGURATIONS"]);


/** `notify` wakes the agents whose desired tasks changed; `notifyService` the service controller. */
export function ecsService(deps: ControlDeps, notify: AgentNotifier, notifyService: ServiceNotifier): ServiceDefinition {
  const op = <I, O extends object>(fn: (ctx: CallContext, input: I) => Promise<O>) => fn;
  return {
    signingName: "ecs",
    resources: ECS_RESOURCES,
    model: ecsModel,
    errors: ECS_ERRORS,
    operations: {
      // --- clusters ---
      CreateCluster: op(async (ctx, input: ecs.CreateClusterRequest): Promise<ecs.CreateClusterResponse> => {
        const cmd: clusters.CreateClusterCommand = {};
        if (input.clusterName !== undefined) cmd.clusterName = input.clusterName;
        if (input.tags) cmd.tags = asTags(input.tags);
        if (input.settings) cmd.settings = input.settings.map((s) => ({ name: s.name ?? "", value: s.value ?? "" }));
        if (input.configuration) cmd.configuration = input.configuration as Record<string, unknown>;
        if (input.capacityProviders) cmd.capacityProviders = input.capacityProviders;
        if (input.defaultCapacityProviderStrategy) cmd.defaultCapacityProviderStrategy = input.defaultCapacityProviderStrategy;
        if (input.serviceConnectDefaults) cmd.serviceConnectDefaults = input.serviceConnectDefaults;
        const cluster = await clusters.createCluster(deps, ctx, cmd);
        return { cluster: clusterView(cluster, CREATE_INCLUDE, await deps.store.getTags(cluster.clusterArn)) };
      }),
      DescribeClusters: op(async (ctx, input: ecs.DescribeClustersRequest): Promise<ecs.DescribeClustersResponse> => {
        const include = new Set<ClusterInclude>(["SETTINGS", ...((input.include ?? []) as ClusterInclude[])]);
        const result = await clusters.describeClusters(deps, ctx, input.clusters);
        const views = [];
        for (const c of result.clusters) {
          const tagList = include.has("TAGS") ? await deps.store.getTags(c.clusterArn) : [];
          views.push(clusterView(c, include, tagList, await deps.store.clusterCounts(c.region, c.clusterName)));
        }
        return { clusters: views, failures: result.failures };
      }),
      ListClusters: op((ctx, input: ecs.ListClustersRequest) => clusters.listClusters(deps, ctx, input.nextToken, input.maxResults)),
      DeleteCluster: op(async (ctx, input: ecs.DeleteClusterRequest): Promise<ecs.DeleteClusterResponse> => ({
        cluster: clusterView(await clusters.deleteCluster(deps, ctx, input.cluster), NO_INCLUDE),
      })),
      UpdateCluster: op(async (ctx, input: ecs.UpdateClusterRequest): Promise<ecs.UpdateClusterResponse> => {
        const cmd: clusters.UpdateClusterCommand = { cluster: input.cluster };
        if (input.settings) cmd.settings = input.settings.map((s) => ({ name: s.name ?? "", value: s.value ?? "" }));
        if (input.configuration) cmd.configuration = input.configuration as Record<string, unknown>;
        if (input.serviceConnectDefaults) cmd.serviceConnectDefaults = input.serviceConnectDefaults;
        return { cluster: clusterView(await clusters.updateCluster(deps, ctx, cmd), CREATE_INCLUDE) };
      }),
      UpdateClusterSettings: op(async (ctx, input: ecs.UpdateClusterSettingsRequest): Promise<ecs.UpdateClusterSettingsResponse> => {
        const settings = input.settings.map((s) => ({ name: s.name ?? "", value: s.value ?? "" }));
        return { cluster: clusterView(await clusters.updateCluster(deps, ctx, { cluster: input.cluster, settings }), NO_INCLUDE) };
      }),

      // --- task definitions ---
      RegisterTaskDefinition: op(async (ctx, input: ecs.RegisterTaskDefinitionRequest): Promise<ecs.RegisterTaskDefinitionResponse> => {
        const { tags: inputTags, ...fields } = input;
        const registered = await taskDefinitions.registerTaskDefinition(deps, ctx, {
          ...(fields as unknown as taskDefinitions.RegisterInput),
          ...(inputTags ? { tags: asTags(inputTags) } : {}),
        });
        const out: ecs.RegisterTaskDefinitionResponse = { taskDefinition: taskDefinitionView(registered.record) };
        if (registered.tags.length > 0) out.tags = registered.tags;
        return out;
      }),
      DescribeTaskDefinition: op(async (ctx, input: ecs.DescribeTaskDefinitionRequest): Promise<ecs.DescribeTaskDefinitionResponse> => {
        const includeTags = (input.include ?? []).includes("TAGS");
        const found = await taskDefinitions.describeTaskDefinition(deps, ctx, input.taskDefinition, includeTags);
        const out: ecs.DescribeTaskDefinitionResponse = { taskDefinition: taskDefinitionView(found.record) };
        if (found.tags) out.tags = found.tags;
        return out;
      }),
      ListTaskDefinitions: op((ctx, input: ecs.ListTaskDefinitionsRequest) =>
        taskDefinitions.listTaskDefinitions(deps, ctx, defined(input)),
      ),
      ListTaskDefinitionFamilies: op((ctx, input: ecs.ListTaskDefinitionFamiliesRequest) =>
        taskDefinitions.listTaskDefinitionFamilies(deps, ctx, defined(input)),
      ),
      DeregisterTaskDefinition: op(async (ctx, input: ecs.DeregisterTaskDefinitionRequest): Promise<ecs.DeregisterTaskDefinitionResponse> => ({
        taskDefinition: taskDefinitionView(await taskDefinitions.deregisterTaskDefinition(deps, ctx, input.taskDefinition)),
      })),
      DeleteTaskDefinitions: op(async (ctx, input: ecs.DeleteTaskDefinitionsRequest): Promise<ecs.DeleteTaskDefinitionsResponse> => {
        const result = await taskDefinitions.deleteTaskDefinitions(deps, ctx, input.taskDefinitions);
        return { taskDefinitions: result.taskDefinitions.map(taskDefinitionView), failures: result.failures };
      }),

      // --- tags ---
      TagResource: op(async (_ctx, input: ecs.TagResourceRequest): Promise<ecs.TagResourceResponse> => {
        await tags.tagResource(deps, input.resourceArn, asTags(input.tags));
        return {};
      }),
      UntagResource: op(async (_ctx, input: ecs.UntagResourceRequest): Promise<ecs.UntagResourceResponse> => {
        await tags.untagResource(deps, input.resourceArn, input.tagKeys);
        return {};
      }),
      ListTagsForResource: op(async (_ctx, input: ecs.ListTagsForResourceRequest): Promise<ecs.ListTagsForResourceResponse> => ({
        tags: await tags.listTagsForResource(deps, input.resourceArn),
      })),

      // --- account settings ---
      PutAccountSetting: op(async (ctx, input: ecs.PutAccountSettingRequest): Promise<ecs.PutAccountSettingResponse> => ({
        setting: (await accountSettings.putAccountSetting(deps, ctx, input.name, input.value, input.principalArn)) as ecs.Setting,
      })),
      PutAccountSettingDefault: op(async (ctx, input: ecs.PutAccountSettingDefaultRequest): Promise<ecs.PutAccountSettingDefaultResponse> => ({
        setting: (await accountSettings.putAccountSettingDefault(deps, ctx, input.name, input.value)) as ecs.Setting,
      })),
      DeleteAccountSetting: op(async (ctx, input: ecs.DeleteAccountSettingRequest): Promise<ecs.DeleteAccountSettingResponse> => ({
        setting: (await accountSettings.deleteAccountSetting(deps, ctx, input.name, input.principalArn)) as ecs.Setting,
      })),
      ListAccountSettings: op((ctx, input: ecs.ListAccountSettingsRequest) => accountSettings.listAccountSettings(deps, ctx, defined(input))),

      ...taskOperations(deps, notify),
      ...serviceOperations(deps, notifyService),
    },
  };
}
