/**
 * ELBv2's wire shapes ↔ Berth's normalized load-balancing values. Inbound: actions (a forward
 * by TargetGroupArn or ForwardConfig, redirect defaults `#{protocol}` … filled in), conditions
 * in the legacy `Values` form or the *Config forms (never both), tags. Outbound: the Describe
 * shapes as AWS prints them (a single-group forward shows TargetGroupArn and ForwardConfig,
 * a default rule's Priority is "default", timestamps as epoch seconds for the XML writer).
 */
import { BerthError, ErrorCode } from "../../core/errors.ts";
import type * as lb from "../../domain/load-balancing.ts";
import type * as w from "../models/elbv2.types.ts";

const validation = (message: string): BerthError => new BerthError(ErrorCode.Validation, message);

export const tagsFromWire = (tags: readonly w.Tag[] | undefined): lb.ElbTag[] | undefined =>
  tags?.map((t) => (t.Value !== undefined ? { key: t.Key, value: t.Value } : { key: t.Key }));

export const tagsToWire = (tags: readonly lb.ElbTag[]): w.Tag[] => tags.map((t) => ({ Key: t.key, Value: t.value ?? "" }));

export function attributesFromWire(list: readonly { Key?: string; Value?: string }[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const a of list) {
    if (a.Key === undefined) throw validation("An attribute key must be specified");
    out[a.Key] = a.Value ?? "";
  }
  return out;
}

export const attributesToWire = (attributes: Record<string, string>): { Key: string; Value: string }[] =>
  Object.entries(attributes).map(([Key, Value]) => ({ Key, Value }));

// --- actions -------------------------------------------------------------------------------

export function actionFromWire(a: w.Action): lb.Action {
  const order = a.Order !== undefined ? { order: a.Order } : {};
  switch (a.Type) {
    case "forward": {
      const tuples = a.ForwardConfig?.TargetGroups ?? [];
      let targetGroups: lb.WeightedTargetGroup[];
      if (tuples.length > 0) {
        targetGroups = tuples.map((t) => {
          if (t.TargetGroupArn === undefined) throw validation("A target group ARN must be specified for each target group of a forward configuration");
          return { targetGroupArn: t.TargetGroupArn, weight: t.Weight ?? 1 };
        });
        if (a.TargetGroupArn !== undefined && (tuples.length !== 1 || tuples[0]!.TargetGroupArn !== a.TargetGroupArn)) {
          throw validation("You cannot specify a target group ARN and a forward configuration with different target groups");
        }
      } else if (a.TargetGroupArn !== undefined) {
        targetGroups = [{ targetGroupArn: a.TargetGroupArn, weight: 1 }];
      } else {
        throw validation("A target group ARN must be specified for a forward action");
      }
      const st = a.ForwardConfig?.TargetGroupStickinessConfig;
      const stickiness = { enabled: st?.Enabled ?? false, ...(st?.DurationSeconds !== undefined ? { durationSeconds: st.DurationSeconds } : {}) };
      return { type: "forward", ...order, targetGroups, stickiness };
    }
    case "redirect": {
      const r = a.RedirectConfig;
      if (!r) throw validation("A redirect configuration must be specified for a redirect action");
      return {
        type: "redirect",
        ...order,
        redirect: {
          protocol: r.Protocol ?? "#{protocol}",
          port: r.Port ?? "#{port}",
          host: r.Host ?? "#{host}",
          path: r.Path ?? "/#{path}",
          query: r.Query ?? "#{query}",
          statusCode: r.StatusCode,
        },
      };
    }
    case "fixed-response": {
      const f = a.FixedResponseConfig;
      if (!f) throw validation("A fixed response configuration must be specified for a fixed-response action");
      return {
        type: "fixed-response",
        ...order,
        fixedResponse: {
          statusCode: f.StatusCode,
          ...(f.ContentType !== undefined ? { contentType: f.ContentType } : {}),
          ...(f.MessageBody !== undefined ? { messageBody: f.MessageBody } : {}),
        },
      };
    }
    default:
      throw new BerthError(ErrorCode.InvalidLoadBalancerAction, `Berth does not support the action type '${a.Type}'`);
  }
}

export function actionToWire(a: lb.Action): w.Action {
  const order = a.order !== undefined ? { Order: a.order } : {};
  switch (a.type) {
    case "forward":
      return {
        Type: "forward",
        ...(a.targetGroups.length === 1 ? { TargetGroupArn: a.targetGroups[0]!.targetGroupArn } : {}),
        ...order,
        ForwardConfig: {
          TargetGroups: a.targetGroups.map((g) => ({ TargetGroupArn: g.targetGroupArn, Weight: g.weight })),
          TargetGroupStickinessConfig: {
            Enabled: a.stickiness.enabled,
            ...(a.stickiness.durationSeconds !== undefined ? { DurationSeconds: a.stickiness.durationSeconds } : {}),
          },
        },
      };
    case "redirect": {
      const r = a.redirect;
      return { Type: "redirect", ...order, RedirectConfig: { Protocol: r.protocol, Port: r.port, Host: r.host, Path: r.path, Query: r.query, StatusCode: r.statusCode } };
    }
    case "fixed-response": {
      const f = a.fixedResponse;
      return {
        Type: "fixed-response",
        ...order,
        FixedResponseConfig: {
          StatusCode: f.statusCode,
          ...(f.contentType !== undefined ? { ContentType: f.contentType } : {}),
          ...(f.messageBody !== undefined ? { MessageBody: f.messageBody } : {}),
        },
      };
    }
  }
}

// --- conditions ----------------------------------------------------------------------------

const FIELDS = ["http-header", "http-request-method", "host-header", "path-pattern", "query-string", "source-ip"] as const;
const CONFIG_OF: Record<(typeof FIELDS)[number], keyof w.RuleCondition> = {
  "http-header": "HttpHeaderConfig",
  "http-request-method": "HttpRequestMethodConfig",
  "host-header": "HostHeaderConfig",
  "path-pattern": "PathPatternConfig",
  "query-string": "QueryStringConfig",
  "source-ip": "SourceIpConfig",
};

export function conditionFromWire(c: w.RuleCondition): lb.RuleCondition {
  const field = c.Field;
  if (field === undefined) throw validation("A condition field must be specified");
  if (!(FIELDS as readonly string[]).includes(field)) throw validation(`Condition field '${field}' must be one of '[${FIELDS.join(", ")}]'`);
  const f = field as (typeof FIELDS)[number];
  for (const other of FIELDS) {
    if (other !== f && c[CONFIG_OF[other]] !== undefined) throw validation(`A '${f}' condition cannot have a '${CONFIG_OF[other]}'`);
  }
  if (c.RegexValues !== undefined || hasRegex(c)) {
    throw new BerthError(ErrorCode.InvalidConfigurationRequest, "Berth does not support regular expression conditions (RegexValues) yet");
  }
  const legacy = c.Values !== undefined && c.Values.length > 0 ? c.Values : undefined;
  const config = c[CONFIG_OF[f]];
  if (legacy !== undefined && config !== undefined) throw validation(`You cannot specify both 'Values' and '${CONFIG_OF[f]}' for a '${f}' condition`);
  if (legacy !== undefined && f !== "path-pattern" && f !== "host-header") {
    throw validation(`The 'Values' field is not supported for '${f}' conditions; use '${CONFIG_OF[f]}'`);
  }
  switch (f) {
    case "path-pattern":
      return { field: f, values: legacy ?? c.PathPatternConfig?.Values ?? [], legacy: legacy !== undefined };
    case "host-header":
      return { field: f, values: legacy ?? c.HostHeaderConfig?.Values ?? [], legacy: legacy !== undefined };
    case "http-header": {
      const h = c.HttpHeaderConfig;
      if (h?.HttpHeaderName === undefined) throw validation("An HTTP header name must be specified for an 'http-header' condition");
      return { field: f, headerName: h.HttpHeaderName, values: h.Values ?? [] };
    }
    case "http-request-method":
      return { field: f, values: c.HttpRequestMethodConfig?.Values ?? [] };
    case "query-string":
      return {
        field: f,
        values: (c.QueryStringConfig?.Values ?? []).map((kv) => ({ ...(kv.Key !== undefined ? { key: kv.Key } : {}), value: kv.Value ?? "" })),
      };
    case "source-ip":
      return { field: f, values: c.SourceIpConfig?.Values ?? [] };
  }
}

const hasRegex = (c: w.RuleCondition): boolean =>
  c.HostHeaderConfig?.RegexValues !== undefined || c.PathPatternConfig?.RegexValues !== undefined || c.HttpHeaderConfig?.RegexValues !== undefined;

export function conditionToWire(c: lb.RuleCondition): w.RuleCondition {
  switch (c.field) {
    case "path-pattern":
      return { Field: c.field, ...(c.legacy ? { Values: c.values } : {}), PathPatternConfig: { Values: c.values } };
    case "host-header":
      return { Field: c.field, ...(c.legacy ? { Values: c.values } : {}), HostHeaderConfig: { Values: c.values } };
    case "http-header":
      return { Field: c.field, HttpHeaderConfig: { HttpHeaderName: c.headerName, Values: c.values } };
    case "http-request-method":
      return { Field: c.field, HttpRequestMethodConfig: { Values: c.values } };
    case "query-string":
      return { Field: c.field, QueryStringConfig: { Values: c.values.map((kv) => ({ ...(kv.key !== undefined ? { Key: kv.key } : {}), Value: kv.value })) } };
    case "source-ip":
      return { Field: c.field, SourceIpConfig: { Values: c.values } };
  }
}

// --- resources -----------------------------------------------------------------------------

export const loadBalancerToWire = (l: lb.LoadBalancer): w.LoadBalancer => ({
  LoadBalancerArn: l.arn,
  DNSName: l.dnsName,
  CanonicalHostedZoneId: l.canonicalHostedZoneId,
  CreatedTime: l.createdTime / 1000,
  LoadBalancerName: l.name,
  Scheme: l.scheme,
  State: { Code: l.state },
  Type: l.type,
  AvailabilityZones: l.availabilityZones.map((z) => ({ ZoneName: z.zoneName, SubnetId: z.subnetId, LoadBalancerAddresses: [] })),
  ...(l.securityGroups.length > 0 ? { SecurityGroups: l.securityGroups } : {}),
  IpAddressType: l.ipAddressType as w.IpAddressType,
});

export function targetGroupToWire(g: lb.TargetGroup): w.TargetGroup {
  const hc = g.healthCheck;
  return {
    TargetGroupArn: g.arn,
    TargetGroupName: g.name,
    Protocol: g.protocol,
    Port: g.port,
    ...(g.vpcId !== undefined ? { VpcId: g.vpcId } : {}),
    HealthCheckProtocol: hc.protocol,
    HealthCheckPort: hc.port,
    HealthCheckEnabled: hc.enabled,
    HealthCheckIntervalSeconds: hc.intervalSeconds,
    HealthCheckTimeoutSeconds: hc.timeoutSeconds,
    HealthyThresholdCount: hc.healthyThreshold,
    UnhealthyThresholdCount: hc.unhealthyThreshold,
    ...(hc.path !== undefined ? { HealthCheckPath: hc.path } : {}),
    ...(hc.matcher !== undefined ? { Matcher: { HttpCode: hc.matcher } } : {}),
    LoadBalancerArns: g.loadBalancerArns,
    TargetType: g.targetType,
    ...(g.protocolVersion !== undefined ? { ProtocolVersion: g.protocolVersion } : {}),
    IpAddressType: g.ipAddressType,
  };
}

export const listenerToWire = (l: lb.Listener): w.Listener => ({
  ListenerArn: l.arn,
  LoadBalancerArn: l.loadBalancerArn,
  Port: l.port,
  Protocol: l.protocol,
  // Describe lists only the default certificate; DescribeListenerCertificates lists them all.
  ...(l.certificates.length > 0 ? { Certificates: [{ CertificateArn: l.certificates[0]! }] } : {}),
  ...(l.sslPolicy !== undefined ? { SslPolicy: l.sslPolicy } : {}),
  DefaultActions: l.defaultActions.map(actionToWire),
  ...(l.alpnPolicy !== undefined ? { AlpnPolicy: l.alpnPolicy } : {}),
});

export const ruleToWire = (r: lb.Rule): w.Rule => ({
  RuleArn: r.arn,
  Priority: r.isDefault ? "default" : String(r.priority),
  Conditions: r.conditions.map(conditionToWire),
  Actions: r.actions.map(actionToWire),
  IsDefault: r.isDefault,
});

export const targetHealthToWire = (t: lb.TargetHealth): w.TargetHealthDescription => ({
  Target: { Id: t.id, Port: t.port, ...(t.availabilityZone !== undefined ? { AvailabilityZone: t.availabilityZone } : {}) },
  HealthCheckPort: t.healthCheckPort,
  TargetHealth: {
    State: t.state,
    ...(t.reason !== undefined ? { Reason: t.reason as w.TargetHealthReasonEnum } : {}),
    ...(t.description !== undefined ? { Description: t.description } : {}),
  },
});

export function healthCheckFromWire(input: {
  HealthCheckProtocol?: string;
  HealthCheckPort?: string;
  HealthCheckEnabled?: boolean;
  HealthCheckPath?: string;
  HealthCheckIntervalSeconds?: number;
  HealthCheckTimeoutSeconds?: number;
  HealthyThresholdCount?: number;
  UnhealthyThresholdCount?: number;
  Matcher?: w.Matcher;
}): lb.HealthCheckInput {
  if (input.Matcher?.GrpcCode !== undefined) throw new BerthError(ErrorCode.UnsupportedProtocol, "Berth does not support gRPC health check matchers");
  const out: lb.HealthCheckInput = {};
  if (input.HealthCheckProtocol !== undefined) out.protocol = input.HealthCheckProtocol as lb.HealthCheckProtocol;
  if (input.HealthCheckPort !== undefined) out.port = input.HealthCheckPort;
  if (input.HealthCheckEnabled !== undefined) out.enabled = input.HealthCheckEnabled;
  if (input.HealthCheckPath !== undefined) out.path = input.HealthCheckPath;
  if (input.HealthCheckIntervalSeconds !== undefined) out.intervalSeconds = input.HealthCheckIntervalSeconds;
  if (input.HealthCheckTimeoutSeconds !== undefined) out.timeoutSeconds = input.HealthCheckTimeoutSeconds;
  if (input.HealthyThresholdCount !== undefined) out.healthyThreshold = input.HealthyThresholdCount;
  if (input.UnhealthyThresholdCount !== undefined) out.unhealthyThreshold = input.UnhealthyThresholdCount;
  if (input.Matcher?.HttpCode !== undefined) out.matcher = input.Matcher.HttpCode;
  return out;
}
