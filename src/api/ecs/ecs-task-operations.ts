/**
 * ECS operations for tasks, container instances and attributes: thin decoding into
 * control/ calls and encoding through the views.
 */
import * as capacity from "../../control/capacity-providers.ts";
import * as instances from "../../control/container-instances.ts";
import type { CallContext, ControlDeps } from "../../control/context.ts";
import * as tasks from "../../control/tasks.ts";
import type { Attribute } from "../../domain/container-instance.ts";
import type * as ecs from "../models/ecs.types.ts";
import type { OperationHandler } from "../service.ts";
import { containerInstanceView, taskView } from "./ecs-task-views.ts";
import { clusterView } from "./ecs-views.ts";
import { asTags, defined } from "../wire.ts";



const asAttributes = (list: ecs.Attributes): Attribute[] =>
  list.map((a) => {
    const attr: Attribute = { name: a.name };
    if (a.value !== undefined) attr.value = a.value;
    if (a.targetId !== undefined) attr.targetId = a.targetId;
    return attr;
  });

export function taskOperations(deps: ControlDeps, notify: tasks.AgentNotifier): Record<string, OperationHandler> {
  const withTags = async (include: string[] | undefined, list: tasks.RunTaskResult["tasks"]) =>
    Promise.all(list.map(async (t) => taskView(t, include?.includes("TAGS") ? await deps.store.getTags(t.taskArn) : [])));

  return {
    RunTask: async (ctx: CallContext, input: ecs.RunTaskRequest): Promise<ecs.RunTaskResponse> => {
      const cmd = defined({
        cluster: input.cluster,
        taskDefinition: input.taskDefinition,
        count: input.count,
        launchType: input.launchType as tasks.RunTaskCommand["launchType"],
        capacityProviderStrategy: input.capacityProviderStrategy as tasks.RunTaskCommand["capacityProviderStrategy"],
        overrides: input.overrides as tasks.RunTaskCommand["overrides"],
        startedBy: input.startedBy,
        group: input.group,
        tags: input.tags ? asTags(input.tags) : undefined,
        clientToken: input.clientToken,
        networkConfiguration: input.networkConfiguration as tasks.RunTaskCommand["networkConfiguration"],
        placementConstraints: input.placementConstraints as tasks.RunTaskCommand["placementConstraints"],
        placementStrategy: input.placementStrategy as tasks.RunTaskCommand["placementStrategy"],
        propagateTags: input.propagateTags,
      }) as tasks.RunTaskCommand;
      const result = await tasks.runTask(deps, notify, ctx, cmd);
      const views = await Promise.all(result.tasks.map(async (t) => taskView(t, await deps.store.getTags(t.taskArn))));
      return { tasks: views, failures: result.failures };
    },
    StartTask: async (ctx: CallContext, input: ecs.StartTaskRequest): Promise<ecs.StartTaskResponse> => {
      const cmd = defined({
        cluster: input.cluster,
        taskDefinition: input.taskDefinition,
        containerInstances: input.containerInstances,
        overrides: input.overrides as tasks.RunTaskCommand["overrides"],
        startedBy: input.startedBy,
        group: input.group,
        tags: input.tags ? asTags(input.tags) : undefined,
        networkConfiguration: input.networkConfiguration as tasks.RunTaskCommand["networkConfiguration"],
        propagateTags: input.propagateTags,
      }) as tasks.RunTaskCommand & { containerInstances: string[] };
      const result = await tasks.startTask(deps, notify, ctx, cmd);
      const views = await Promise.all(result.tasks.map(async (t) => taskView(t, await deps.store.getTags(t.taskArn))));
      return { tasks: views, failures: result.failures };
    },
    StopTask: async (ctx: CallContext, input: ecs.StopTaskRequest): Promise<ecs.StopTaskResponse> => {
      const task = await tasks.stopTask(deps, notify, ctx, input.cluster, input.task, input.reason);
      return { task: taskView(task) };
    },
    DescribeTasks: async (ctx: CallContext, input: ecs.DescribeTasksRequest): Promise<ecs.DescribeTasksResponse> => {
      const result = await tasks.describeTasks(deps, ctx, input.cluster, input.tasks);
      return { tasks: await withTags(input.include, result.tasks), failures: result.failures };
    },
    ListTasks: async (ctx: CallContext, input: ecs.ListTasksRequest): Promise<ecs.ListTasksResponse> =>
      tasks.listTasks(deps, ctx, defined(input) as tasks.ListTasksCommand),

    DescribeContainerInstances: async (ctx: CallContext, input: ecs.DescribeContainerInstancesRequest): Promise<ecs.DescribeContainerInstancesResponse> => {
      const result = await instances.describeContainerInstances(deps, ctx, input.cluster, input.containerInstances);
      return {
        containerInstances: result.found.map((u) => containerInstanceView(u.instance, u.tasks)),
        failures: result.failures,
      };
    },
    ListContainerInstances: async (ctx: CallContext, input: ecs.ListContainerInstancesRequest): Promise<ecs.ListContainerInstancesResponse> =>
      instances.listContainerInstances(deps, ctx, defined(input)),
    UpdateContainerInstancesState: async (
      ctx: CallContext,
      input: ecs.UpdateContainerInstancesStateRequest,
    ): Promise<ecs.UpdateContainerInstancesStateResponse> => {
      const status = input.status as "ACTIVE" | "DRAINING";
      const result = await instances.updateContainerInstancesState(deps, ctx, input.cluster, input.containerInstances, status);
      return {
        containerInstances: result.found.map((u) => containerInstanceView(u.instance, u.tasks)),
        failures: result.failures,
      };
    },
    DeregisterContainerInstance: async (
      ctx: CallContext,
      input: ecs.DeregisterContainerInstanceRequest,
    ): Promise<ecs.DeregisterContainerInstanceResponse> => {
      const result = await instances.deregisterContainerInstance(deps, ctx, input.cluster, input.containerInstance, input.force ?? false);
      return { containerInstance: containerInstanceView(result.instance, result.tasks) };
    },
    PutAttributes: async (ctx: CallContext, input: ecs.PutAttributesRequest): Promise<ecs.PutAttributesResponse> => ({
      attributes: await instances.putAttributes(deps, ctx, input.cluster, asAttributes(input.attributes)),
    }),
    DeleteAttributes: async (ctx: CallContext, input: ecs.DeleteAttributesRequest): Promise<ecs.DeleteAttributesResponse> => ({
      attributes: await instances.deleteAttributes(deps, ctx, input.cluster, asAttributes(input.attributes)),
    }),
    PutClusterCapacityProviders: async (
      ctx: CallContext,
      input: ecs.PutClusterCapacityProvidersRequest,
    ): Promise<ecs.PutClusterCapacityProvidersResponse> => {
      const cluster = await capacity.putClusterCapacityProviders(deps, ctx, input.cluster, input.capacityProviders, input.defaultCapacityProviderStrategy);
      return { cluster: clusterView(cluster, new Set(["SETTINGS"]), [], await deps.store.clusterCounts(cluster.region, cluster.clusterName)) };
    },
    DescribeCapacityProviders: async (ctx: CallContext, input: ecs.DescribeCapacityProvidersRequest): Promise<ecs.DescribeCapacityProvidersResponse> =>
      capacity.describeCapacityProviders(ctx, input.capacityProviders),
    ListAttributes: async (ctx: CallContext, input: ecs.ListAttributesRequest): Promise<ecs.ListAttributesResponse> =>
      instances.listAttributes(deps, ctx, defined(input)),
  };
}
