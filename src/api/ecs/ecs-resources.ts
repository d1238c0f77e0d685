/**
 * The resources ECS actions act on, for IAM (AWS's "resource types" for Amazon ECS): clusters,
 * services, tasks, container instances and task definitions by ARN, so a policy can allow
 * `ecs:UpdateService` on one service only, as the ECS deploy GitHub Action's documented policy
 * does. Operations not listed here (lists, registrations, account settings) act on "*", as on
 * AWS. Names become ARNs in the caller's region and account; ARNs pass through.
 */
import { clusterArn, ecsArn, isArn, lastSegment } from "../../core/arn.ts";
import type { CallContext } from "../../control/context.ts";
import type { ResourceResolver } from "../service.ts";
import { stringList } from "../wire.ts";

type Input = Record<string, unknown>;

const str = (v: unknown): string | undefined => (typeof v === "string" && v !== "" ? v : undefined);

function cluster(ctx: CallContext, ref: unknown): string {
  const name = str(ref) ?? "default";
  return isArn(name) ? name : clusterArn(ctx.scope, name);
}

const inCluster = (kind: string) => (ctx: CallContext, input: Input, ref: string): string =>
  isArn(ref) ? ref : ecsArn(ctx.scope, `${kind}/${lastSegment(str(input["cluster"]) ?? "default")}/${ref}`);

const service = inCluster("service");
const task = inCluster("task");
const instance = inCluster("container-instance");

/** A task definition named by family, family:revision or ARN; a bare family matches any revision. */
function taskDefinition(ctx: CallContext, ref: unknown): string {
  const name = str(ref) ?? "";
  if (isArn(name)) return name;
  return ecsArn(ctx.scope, `task-definition/${name.includes(":") ? name : `${name}:*`}`);
}

const onCluster: ResourceResolver = (ctx, input: Input) => [cluster(ctx, input["cluster"])];

export const ECS_RESOURCES: Record<string, ResourceResolver> = {
  CreateCluster: (ctx, input: Input) => [cluster(ctx, input["clusterName"])],
  DescribeClusters: (ctx, input: Input) => (stringList(input["clusters"]).length ? stringList(input["clusters"]) : ["default"]).map((c) => cluster(ctx, c)),
  DeleteCluster: onCluster,
  UpdateCluster: onCluster,
  UpdateClusterSettings: onCluster,
  PutClusterCapacityProviders: onCluster,
  ListServices: onCluster,
  ListTasks: onCluster,
  ListContainerInstances: onCluster,
  CreateService: (ctx, input: Input) => [service(ctx, input, str(input["serviceName"]) ?? "")],
  UpdateService: (ctx, input: Input) => [service(ctx, input, str(input["service"]) ?? "")],
  DeleteService: (ctx, input: Input) => [service(ctx, input, str(input["service"]) ?? "")],
  DescribeServices: (ctx, input: Input) => stringList(input["services"]).map((s) => service(ctx, input, s)),
  StopTask: (ctx, input: Input) => [task(ctx, input, str(input["task"]) ?? "")],
  DescribeTasks: (ctx, input: Input) => stringList(input["tasks"]).map((t) => task(ctx, input, t)),
  RunTask: (ctx, input: Input) => [taskDefinition(ctx, input["taskDefinition"])],
  StartTask: (ctx, input: Input) => [taskDefinition(ctx, input["taskDefinition"])],
  DescribeTaskDefinition: (ctx, input: Input) => [taskDefinition(ctx, input["taskDefinition"])],
  DeregisterTaskDefinition: (ctx, input: Input) => [taskDefinition(ctx, input["taskDefinition"])],
  DescribeContainerInstances: (ctx, input: Input) => stringList(input["containerInstances"]).map((c) => instance(ctx, input, c)),
  UpdateContainerInstancesState: (ctx, input: Input) => stringList(input["containerInstances"]).map((c) => instance(ctx, input, c)),
  DeregisterContainerInstance: (ctx, input: Input) => [instance(ctx, input, str(input["containerInstance"]) ?? "")],
  TagResource: (_ctx, input: Input) => [str(input["resourceArn"]) ?? "*"],
  UntagResource: (_ctx, input: Input) => [str(input["resourceArn"]) ?? "*"],
  ListTagsForResource: (_ctx, input: Input) => [str(input["resourceArn"]) ?? "*"],
};
