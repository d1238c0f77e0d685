/**
 * The resources ELBv2 actions act on, for IAM (AWS's resource types for Elastic Load Balancing
 * V2): a load balancer, target group, listener or rule by its ARN, so a policy can allow
 * `elasticloadbalancing:RegisterTargets` on one target group. Creations name what they create
 * with `*` for the id AWS has not chosen yet (`loadbalancer/app/<name>/*`, `targetgroup/<name>/*`);
 * a listener is created on its load balancer and a rule on its listener. Describe actions act
 * on "*", as on AWS.
 */
import type { CallContext } from "../../control/context.ts";
import type { ResourceResolver } from "../service.ts";
import { stringList } from "../wire.ts";

type Input = Record<string, unknown>;

const str = (v: unknown): string => (typeof v === "string" ? v : "");
const base = (ctx: CallContext) => `arn:${ctx.scope.partition}:elasticloadbalancing:${ctx.scope.region}:${ctx.scope.accountId}`;
const byArn = (member: string): ResourceResolver => (_ctx, input: Input) => [str(input[member])];

export const ELBV2_RESOURCES: Record<string, ResourceResolver> = {
  CreateLoadBalancer: (ctx, input: Input) => [`${base(ctx)}:loadbalancer/${str(input["Type"]) === "network" ? "net" : "app"}/${str(input["Name"])}/*`],
  DeleteLoadBalancer: byArn("LoadBalancerArn"),
  ModifyLoadBalancerAttributes: byArn("LoadBalancerArn"),
  CreateTargetGroup: (ctx, input: Input) => [`${base(ctx)}:targetgroup/${str(input["Name"])}/*`],
  ModifyTargetGroup: byArn("TargetGroupArn"),
  DeleteTargetGroup: byArn("TargetGroupArn"),
  ModifyTargetGroupAttributes: byArn("TargetGroupArn"),
  RegisterTargets: byArn("TargetGroupArn"),
  DeregisterTargets: byArn("TargetGroupArn"),
  CreateListener: byArn("LoadBalancerArn"),
  ModifyListener: byArn("ListenerArn"),
  DeleteListener: byArn("ListenerArn"),
  AddListenerCertificates: byArn("ListenerArn"),
  RemoveListenerCertificates: byArn("ListenerArn"),
  CreateRule: byArn("ListenerArn"),
  ModifyRule: byArn("RuleArn"),
  DeleteRule: byArn("RuleArn"),
  SetRulePriorities: (_ctx, input: Input) => (Array.isArray(input["RulePriorities"]) ? (input["RulePriorities"] as Input[]).map((p) => str(p["RuleArn"])) : []),
  AddTags: (_ctx, input: Input) => stringList(input["ResourceArns"]),
  RemoveTags: (_ctx, input: Input) => stringList(input["ResourceArns"]),
};
