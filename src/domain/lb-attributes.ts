/**
 * Load balancer and target group attributes: AWS's keys and defaults per load balancer type
 * and target group protocol, and the value each key accepts. An unknown key or a bad value
 * fails the whole Modify call (ValidationError / InvalidConfigurationRequest) and changes
 * nothing. Attributes keep the defaults' order, which is how Describe lists them.
 */
import { BerthError, ErrorCode } from "../core/errors.ts";
import type { LoadBalancerType, TargetGroupProtocol, TargetType } from "./load-balancing.ts";

type Check = (value: string) => boolean;

const bool: Check = (v) => v === "true" || v === "false";
const any: Check = () => true;
const range = (lo: number, hi: number): Check => (v) => /^\d+$/.test(v) && Number(v) >= lo && Number(v) <= hi;
const oneOf = (...values: string[]): Check => (v) => values.includes(v);

interface Spec {
  value: string;
  check: Check;
  hint: string;
}
const b = (value: string): Spec => ({ value, check: bool, hint: "true or false" });
const r = (value: string, lo: number, hi: number): Spec => ({ value, check: range(lo, hi), hint: `an integer between ${lo} and ${hi}` });
const e = (value: string, ...values: string[]): Spec => ({ value, check: oneOf(...values), hint: `one of ${values.join(", ")}` });
const s = (value: string): Spec => ({ value, check: any, hint: "a string" });

const ACCESS_LOGS: Record<string, Spec> = {
  "access_logs.s3.enabled": b("false"),
  "access_logs.s3.bucket": s(""),
  "access_logs.s3.prefix": s(""),
};

const APPLICATION: Record<string, Spec> = {
  ...ACCESS_LOGS,
  "client_keep_alive.seconds": r("3600", 60, 604800),
  "connection_logs.s3.enabled": b("false"),
  "connection_logs.s3.bucket": s(""),
  "connection_logs.s3.prefix": s(""),
  "deletion_protection.enabled": b("false"),
  "idle_timeout.timeout_seconds": r("60", 1, 4000),
  "routing.http.desync_mitigation_mode": e("defensive", "monitor", "defensive", "strictest"),
  "routing.http.drop_invalid_header_fields.enabled": b("false"),
  "routing.http.preserve_host_header.enabled": b("false"),
  "routing.http.x_amzn_tls_version_and_cipher_suite.enabled": b("false"),
  "routing.http.xff_client_port.enabled": b("false"),
  "routing.http.xff_header_processing.mode": e("append", "append", "preserve", "remove"),
  "routing.http2.enabled": b("true"),
  "waf.fail_open.enabled": b("false"),
  "zonal_shift.config.enabled": b("false"),
};

const NETWORK: Record<string, Spec> = {
  ...ACCESS_LOGS,
  "deletion_protection.enabled": b("false"),
  "dns_record.client_routing_policy": e(
    "any_availability_zone",
    "availability_zone_affinity",
    "partial_availability_zone_affinity",
    "any_availability_zone",
  ),
  "load_balancing.cross_zone.enabled": b("false"),
  "zonal_shift.config.enabled": b("false"),
};

const GROUP_HEALTH: Record<string, Spec> = {
  "target_group_health.dns_failover.minimum_healthy_targets.count": { value: "1", check: (v) => v === "off" || range(1, 1000)(v), hint: "off or an integer" },
  "target_group_health.dns_failover.minimum_healthy_targets.percentage": { value: "off", check: (v) => v === "off" || range(1, 100)(v), hint: "off or 1–100" },
  "target_group_health.unhealthy_state_routing.minimum_healthy_targets.count": r("1", 1, 1000),
  "target_group_health.unhealthy_state_routing.minimum_healthy_targets.percentage": { value: "off", check: (v) => v === "off" || range(1, 100)(v), hint: "off or 1–100" },
};

const slowStart: Spec = { value: "0", check: (v) => v === "0" || range(30, 900)(v), hint: "0 or an integer between 30 and 900" };

function applicationGroup(): Record<string, Spec> {
  return {
    "deregistration_delay.timeout_seconds": r("300", 0, 3600),
    "stickiness.enabled": b("false"),
    "stickiness.type": e("lb_cookie", "lb_cookie", "app_cookie"),
    "stickiness.lb_cookie.duration_seconds": r("86400", 1, 604800),
    "stickiness.app_cookie.cookie_name": s(""),
    "stickiness.app_cookie.duration_seconds": r("86400", 1, 604800),
    "slow_start.duration_seconds": slowStart,
    "load_balancing.algorithm.type": e("round_robin", "round_robin", "least_outstanding_requests", "weighted_random"),
    "load_balancing.algorithm.anomaly_mitigation": e("off", "on", "off"),
    "load_balancing.cross_zone.enabled": e("use_load_balancer_configuration", "true", "false", "use_load_balancer_configuration"),
    ...GROUP_HEALTH,
  };
}

function networkGroup(targetType: TargetType): Record<string, Spec> {
  return {
    "deregistration_delay.timeout_seconds": r("300", 0, 3600),
    "deregistration_delay.connection_termination.enabled": b("false"),
    "preserve_client_ip.enabled": b(targetType === "instance" ? "true" : "false"),
    "proxy_protocol_v2.enabled": b("false"),
    "stickiness.enabled": b("false"),
    "stickiness.type": e("source_ip", "source_ip"),
    "load_balancing.cross_zone.enabled": e("use_load_balancer_configuration", "true", "false", "use_load_balancer_configuration"),
    "target_health_state.unhealthy.connection_termination.enabled": b("true"),
    "target_health_state.unhealthy.draining_interval_seconds": r("0", 0, 360000),
    ...GROUP_HEALTH,
  };
}

const specsOfLoadBalancer = (type: LoadBalancerType): Record<string, Spec> => (type === "application" ? APPLICATION : NETWORK);
const specsOfGroup = (protocol: TargetGroupProtocol, targetType: TargetType): Record<string, Spec> =>
  protocol === "HTTP" || protocol === "HTTPS" ? applicationGroup() : networkGroup(targetType);

const defaults = (specs: Record<string, Spec>): Record<string, string> =>
  Object.fromEntries(Object.entries(specs).map(([k, v]) => [k, v.value]));

export const defaultLoadBalancerAttributes = (type: LoadBalancerType): Record<string, string> => defaults(specsOfLoadBalancer(type));

export const defaultTargetGroupAttributes = (protocol: TargetGroupProtocol, targetType: TargetType): Record<string, string> =>
  defaults(specsOfGroup(protocol, targetType));

function apply(specs: Record<string, Spec>, kind: string, current: Record<string, string>, changes: Record<string, string>): Record<string, string> {
  const next = { ...defaults(specs), ...current };
  for (const [key, value] of Object.entries(changes)) {
    const spec = specs[key];
    if (!spec) throw new BerthError(ErrorCode.Validation, `${kind} attribute key '${key}' is not recognized`);
    if (!spec.check(value)) {
      throw new BerthError(ErrorCode.InvalidConfigurationRequest, `${kind} attribute '${key}' has an invalid value '${value}': it must be ${spec.hint}`);
    }
    next[key] = value;
  }
  return next;
}

export const modifyLoadBalancerAttributes = (
  type: LoadBalancerType,
  current: Record<string, string>,
  changes: Record<string, string>,
): Record<string, string> => apply(specsOfLoadBalancer(type), "Load balancer", current, changes);

export const modifyTargetGroupAttributes = (
  protocol: TargetGroupProtocol,
  targetType: TargetType,
  current: Record<string, string>,
  changes: Record<string, string>,
): Record<string, string> => apply(specsOfGroup(protocol, targetType), "Target group", current, changes);

export const deregistrationDelaySeconds = (attributes: Record<string, string>): number =>
  Number(attributes["deregistration_delay.timeout_seconds"] ?? "300");
