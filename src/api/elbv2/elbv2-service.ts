/**
 * Elastic Load Balancing v2 (2015-12-01) over the query protocol: thin handlers from the wire
 * to the ElbEngine port (domain/load-balancing.ts), which the composition root injects.
 * The router validates input against the model (Coral's wording, as ELB's ValidationError).
 * Signing name and IAM action prefix are both "elasticloadbalancing".
 */
import type { CallContext } from "../../control/context.ts";
import { BerthError, ErrorCode } from "../../core/errors.ts";
import type { ElbEngine, ElbScope } from "../../domain/load-balancing.ts";
import { SSL_POLICIES } from "../../domain/lb-ssl-policies.ts";
import type { ErrorTable } from "../errors.ts";
import { elbv2Model } from "../models/elbv2.model.ts";
import type * as w from "../models/elbv2.types.ts";
import type { OperationHandler, ServiceDefinition } from "../service.ts";
import { defined } from "../wire.ts";
import {
  actionFromWire,
  attributesFromWire,
  attributesToWire,
  conditionFromWire,
  healthCheckFromWire,
  listenerToWire,
  loadBalancerToWire,
  ruleToWire,
  tagsFromWire,
  tagsToWire,
  targetGroupToWire,
  targetHealthToWire,
} from "./elbv2-wire.ts";
import { ELBV2_RESOURCES } from "./elbv2-resources.ts";

const code = (exception: string) => ({ exception });

export const ELBV2_ERRORS: ErrorTable = {
  serverFault: "InternalFailure",
  codes: {
    Validation: code("ValidationError"),
    Serialization: code("ValidationError"),
    InvalidParameter: code("ValidationError"),
    AccessDenied: { exception: "AccessDenied", status: 403 },
    LoadBalancerNotFound: code("LoadBalancerNotFound"),
    TargetGroupNotFound: code("TargetGroupNotFound"),
    ListenerNotFound: code("ListenerNotFound"),
    RuleNotFound: code("RuleNotFound"),
    DuplicateLoadBalancerName: code("DuplicateLoadBalancerName"),
    DuplicateTargetGroupName: code("DuplicateTargetGroupName"),
    DuplicateListener: code("DuplicateListener"),
    DuplicateTagKeys: code("DuplicateTagKeys"),
    PriorityInUse: code("PriorityInUse"),
    InvalidTarget: code("InvalidTarget"),
    InvalidConfigurationRequest: code("InvalidConfigurationRequest"),
    InvalidLoadBalancerAction: code("InvalidLoadBalancerAction"),
    IncompatibleProtocols: code("IncompatibleProtocols"),
    UnsupportedProtocol: code("UnsupportedProtocol"),
    TargetGroupAssociationLimit: code("TargetGroupAssociationLimit"),
    OperationNotPermitted: code("OperationNotPermitted"),
    SslPolicyNotFound: code("SSLPolicyNotFound"),
    CertificateNotFound: code("CertificateNotFound"),
    TooManyTargets: code("TooManyTargets"),
    TooManyTags: code("TooManyTags"),
    TooManyCertificates: code("TooManyCertificates"),
    TooManyRules: code("TooManyRules"),
    TooManyListeners: code("TooManyListeners"),
    TooManyActions: code("TooManyActions"),
    ResourceInUse: code("ResourceInUse"),
  },
};

const scopeOf = (ctx: CallContext): ElbScope => ({ region: ctx.scope.region, accountId: ctx.scope.accountId });

const page = (input: { Marker?: string; PageSize?: number }) => defined({ marker: input.Marker, pageSize: input.PageSize });
const nonEmpty = <T>(list: T[] | undefined): T[] | undefined => (list !== undefined && list.length > 0 ? list : undefined);

export function elbv2Service(engine: ElbEngine): ServiceDefinition {
  const handlers: Record<string, OperationHandler> = {
    // --- load balancers ---
    CreateLoadBalancer: async (ctx, i: w.CreateLoadBalancerInput): Promise<w.CreateLoadBalancerOutput> => {
      const created = await engine.createLoadBalancer(
        scopeOf(ctx),
        defined({
          name: i.Name,
          type: i.Type,
          scheme: i.Scheme,
          subnets: i.Subnets,
          subnetMappings: i.SubnetMappings?.map((m) => defined({ subnetId: m.SubnetId })),
          securityGroups: i.SecurityGroups,
          ipAddressType: i.IpAddressType,
          tags: tagsFromWire(i.Tags),
        }),
      );
      return { LoadBalancers: [loadBalancerToWire(created)] };
    },
    DescribeLoadBalancers: async (ctx, i: w.DescribeLoadBalancersInput): Promise<w.DescribeLoadBalancersOutput> => {
      const p = await engine.describeLoadBalancers(scopeOf(ctx), { ...page(i), ...defined({ arns: nonEmpty(i.LoadBalancerArns), names: nonEmpty(i.Names) }) });
      return { LoadBalancers: p.items.map(loadBalancerToWire), ...defined({ NextMarker: p.nextMarker }) };
    },
    DeleteLoadBalancer: async (ctx, i: w.DeleteLoadBalancerInput) => {
      await engine.deleteLoadBalancer(scopeOf(ctx), i.LoadBalancerArn);
      return {};
    },
    DescribeLoadBalancerAttributes: async (ctx, i: w.DescribeLoadBalancerAttributesInput): Promise<w.DescribeLoadBalancerAttributesOutput> => ({
      Attributes: attributesToWire(await engine.loadBalancerAttributes(scopeOf(ctx), i.LoadBalancerArn)),
    }),
    ModifyLoadBalancerAttributes: async (ctx, i: w.ModifyLoadBalancerAttributesInput): Promise<w.ModifyLoadBalancerAttributesOutput> => ({
      Attributes: attributesToWire(await engine.modifyLoadBalancerAttributes(scopeOf(ctx), i.LoadBalancerArn, attributesFromWire(i.Attributes))),
    }),

    // --- target groups and targets ---
    CreateTargetGroup: async (ctx, i: w.CreateTargetGroupInput): Promise<w.CreateTargetGroupOutput> => {
      const created = await engine.createTargetGroup(
        scopeOf(ctx),
        defined({
          name: i.Name,
          protocol: i.Protocol,
          protocolVersion: i.ProtocolVersion,
          port: i.Port,
          vpcId: i.VpcId,
          targetType: i.TargetType,
          ipAddressType: i.IpAddressType,
          healthCheck: healthCheckFromWire(i),
          tags: tagsFromWire(i.Tags),
        }),
      );
      return { TargetGroups: [targetGroupToWire(created)] };
    },
    DescribeTargetGroups: async (ctx, i: w.DescribeTargetGroupsInput): Promise<w.DescribeTargetGroupsOutput> => {
      const p = await engine.describeTargetGroups(scopeOf(ctx), {
        ...page(i),
        ...defined({ arns: nonEmpty(i.TargetGroupArns), names: nonEmpty(i.Names), loadBalancerArn: i.LoadBalancerArn }),
      });
      return { TargetGroups: p.items.map(targetGroupToWire), ...defined({ NextMarker: p.nextMarker }) };
    },
    ModifyTargetGroup: async (ctx, i: w.ModifyTargetGroupInput): Promise<w.ModifyTargetGroupOutput> => ({
      TargetGroups: [targetGroupToWire(await engine.modifyTargetGroup(scopeOf(ctx), i.TargetGroupArn, healthCheckFromWire(i)))],
    }),
    DeleteTargetGroup: async (ctx, i: w.DeleteTargetGroupInput) => {
      await engine.deleteTargetGroup(scopeOf(ctx), i.TargetGroupArn);
      return {};
    },
    DescribeTargetGroupAttributes: async (ctx, i: w.DescribeTargetGroupAttributesInput): Promise<w.DescribeTargetGroupAttributesOutput> => ({
      Attributes: attributesToWire(await engine.targetGroupAttributes(scopeOf(ctx), i.TargetGroupArn)),
    }),
    ModifyTargetGroupAttributes: async (ctx, i: w.ModifyTargetGroupAttributesInput): Promise<w.ModifyTargetGroupAttributesOutput> => ({
      Attributes: attributesToWire(await engine.modifyTargetGroupAttributes(scopeOf(ctx), i.TargetGroupArn, attributesFromWire(i.Attributes))),
    }),
    RegisterTargets: async (ctx, i: w.RegisterTargetsInput) => {
      await engine.registerTargets(
        scopeOf(ctx),
        i.TargetGroupArn,
        i.Targets.map((t) => defined({ id: t.Id, port: t.Port, availabilityZone: t.AvailabilityZone })),
      );
      return {};
    },
    DeregisterTargets: async (ctx, i: w.DeregisterTargetsInput) => {
      await engine.deregisterTargets(scopeOf(ctx), i.TargetGroupArn, i.Targets.map((t) => defined({ id: t.Id, port: t.Port })));
      return {};
    },
    DescribeTargetHealth: async (ctx, i: w.DescribeTargetHealthInput): Promise<w.DescribeTargetHealthOutput> => {
      const asked = i.Targets?.map((t) => defined({ id: t.Id, port: t.Port }));
      const health = await engine.targetHealth(scopeOf(ctx), i.TargetGroupArn, asked);
      return { TargetHealthDescriptions: health.map(targetHealthToWire) };
    },

    // --- listeners ---
    CreateListener: async (ctx, i: w.CreateListenerInput): Promise<w.CreateListenerOutput> => {
      const created = await engine.createListener(
        scopeOf(ctx),
        defined({
          loadBalancerArn: i.LoadBalancerArn,
          protocol: i.Protocol,
          port: i.Port,
          sslPolicy: i.SslPolicy,
          certificates: certificateArns(i.Certificates),
          defaultActions: i.DefaultActions.map(actionFromWire),
          alpnPolicy: i.AlpnPolicy,
          tags: tagsFromWire(i.Tags),
        }),
      );
      return { Listeners: [listenerToWire(created)] };
    },
    DescribeListeners: async (ctx, i: w.DescribeListenersInput): Promise<w.DescribeListenersOutput> => {
      const p = await engine.describeListeners(scopeOf(ctx), { ...page(i), ...defined({ loadBalancerArn: i.LoadBalancerArn, arns: nonEmpty(i.ListenerArns) }) });
      return { Listeners: p.items.map(listenerToWire), ...defined({ NextMarker: p.nextMarker }) };
    },
    ModifyListener: async (ctx, i: w.ModifyListenerInput): Promise<w.ModifyListenerOutput> => {
      const modified = await engine.modifyListener(
        scopeOf(ctx),
        i.ListenerArn,
        defined({
          port: i.Port,
          protocol: i.Protocol,
          sslPolicy: i.SslPolicy,
          certificates: certificateArns(i.Certificates),
          defaultActions: i.DefaultActions?.map(actionFromWire),
          alpnPolicy: i.AlpnPolicy,
        }),
      );
      return { Listeners: [listenerToWire(modified)] };
    },
    DeleteListener: async (ctx, i: w.DeleteListenerInput) => {
      await engine.deleteListener(scopeOf(ctx), i.ListenerArn);
      return {};
    },
    DescribeListenerCertificates: async (ctx, i: w.DescribeListenerCertificatesInput): Promise<w.DescribeListenerCertificatesOutput> => {
      const all = await engine.listenerCertificates(scopeOf(ctx), i.ListenerArn);
      return { Certificates: all.map((c) => ({ CertificateArn: c.certificateArn, IsDefault: c.isDefault })) };
    },
    AddListenerCertificates: async (ctx, i: w.AddListenerCertificatesInput): Promise<w.AddListenerCertificatesOutput> => {
      await engine.addListenerCertificates(scopeOf(ctx), i.ListenerArn, certificateArns(i.Certificates) ?? []);
      const all = await engine.listenerCertificates(scopeOf(ctx), i.ListenerArn);
      return { Certificates: all.filter((c) => !c.isDefault).map((c) => ({ CertificateArn: c.certificateArn, IsDefault: false })) };
    },
    RemoveListenerCertificates: async (ctx, i: w.RemoveListenerCertificatesInput) => {
      await engine.removeListenerCertificates(scopeOf(ctx), i.ListenerArn, certificateArns(i.Certificates) ?? []);
      return {};
    },

    // --- rules ---
    CreateRule: async (ctx, i: w.CreateRuleInput): Promise<w.CreateRuleOutput> => {
      if (i.Transforms !== undefined && i.Transforms.length > 0) throw unsupported("Rule transforms");
      const rule = await engine.createRule(
        scopeOf(ctx),
        defined({
          listenerArn: i.ListenerArn,
          priority: i.Priority,
          conditions: i.Conditions.map(conditionFromWire),
          actions: i.Actions.map(actionFromWire),
          tags: tagsFromWire(i.Tags),
        }),
      );
      return { Rules: [ruleToWire(rule)] };
    },
    DescribeRules: async (ctx, i: w.DescribeRulesInput): Promise<w.DescribeRulesOutput> => {
      const p = await engine.describeRules(scopeOf(ctx), { ...page(i), ...defined({ listenerArn: i.ListenerArn, arns: nonEmpty(i.RuleArns) }) });
      return { Rules: p.items.map(ruleToWire), ...defined({ NextMarker: p.nextMarker }) };
    },
    ModifyRule: async (ctx, i: w.ModifyRuleInput): Promise<w.ModifyRuleOutput> => {
      if (i.Transforms !== undefined && i.Transforms.length > 0) throw unsupported("Rule transforms");
      const rule = await engine.modifyRule(
        scopeOf(ctx),
        i.RuleArn,
        defined({ conditions: i.Conditions?.map(conditionFromWire), actions: i.Actions?.map(actionFromWire) }),
      );
      return { Rules: [ruleToWire(rule)] };
    },
    DeleteRule: async (ctx, i: w.DeleteRuleInput) => {
      await engine.deleteRule(scopeOf(ctx), i.RuleArn);
      return {};
    },
    SetRulePriorities: async (ctx, i: w.SetRulePrioritiesInput): Promise<w.SetRulePrioritiesOutput> => {
      const pairs = i.RulePriorities.map((p) => {
        if (p.RuleArn === undefined || p.Priority === undefined) throw new BerthError(ErrorCode.Validation, "Each rule priority pair needs a rule ARN and a priority");
        return { ruleArn: p.RuleArn, priority: p.Priority };
      });
      return { Rules: (await engine.setRulePriorities(scopeOf(ctx), pairs)).map(ruleToWire) };
    },

    // --- tags and policies ---
    AddTags: async (ctx, i: w.AddTagsInput) => {
      await engine.addTags(scopeOf(ctx), i.ResourceArns, tagsFromWire(i.Tags) ?? []);
      return {};
    },
    RemoveTags: async (ctx, i: w.RemoveTagsInput) => {
      await engine.removeTags(scopeOf(ctx), i.ResourceArns, i.TagKeys);
      return {};
    },
    DescribeTags: async (ctx, i: w.DescribeTagsInput): Promise<w.DescribeTagsOutput> => {
      const all = await engine.describeTags(scopeOf(ctx), i.ResourceArns);
      return { TagDescriptions: all.map((d) => ({ ResourceArn: d.arn, Tags: tagsToWire(d.tags) })) };
    },
    DescribeSSLPolicies: async (_ctx, i: w.DescribeSSLPoliciesInput): Promise<w.DescribeSSLPoliciesOutput> => {
      const names = nonEmpty(i.Names);
      const unknown = names?.find((n) => !SSL_POLICIES.some((p) => p.name === n));
      if (unknown !== undefined) throw new BerthError(ErrorCode.SslPolicyNotFound, `SSL policy '${unknown}' not found`);
      const chosen = SSL_POLICIES.filter((p) => (names === undefined || names.includes(p.name)) && (i.LoadBalancerType === undefined || p.loadBalancerTypes.includes(i.LoadBalancerType)));
      return {
        SslPolicies: chosen.map((p) => ({
          Name: p.name,
          SslProtocols: p.protocols,
          Ciphers: p.ciphers.map((Name, n) => ({ Name, Priority: n + 1 })),
          SupportedLoadBalancerTypes: p.loadBalancerTypes,
        })),
      };
    },
  };
  return {
    signingName: "elasticloadbalancing",
    actionPrefix: "elasticloadbalancing",
    model: elbv2Model,
    errors: ELBV2_ERRORS,
    resources: ELBV2_RESOURCES,
    operations: handlers,
  };
}

function certificateArns(list: w.Certificate[] | undefined): string[] | undefined {
  if (list === undefined) return undefined;
  // The default certificate (IsDefault, else the first) leads.
  const sorted = [...list].sort((a, b) => Number(b.IsDefault === true) - Number(a.IsDefault === true));
  return sorted.map((c) => {
    if (c.CertificateArn === undefined) throw new BerthError(ErrorCode.Validation, "A certificate ARN must be specified");
    return c.CertificateArn;
  });
}

const unsupported = (what: string): BerthError => new BerthError(ErrorCode.InvalidConfigurationRequest, `Berth does not support ${what} yet`);
