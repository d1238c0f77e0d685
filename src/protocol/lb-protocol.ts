/**
 * What the ELBv2 control plane (elb/) hands the load balancer data plane (lb/), and what the
 * data plane reports back. The control plane owns configuration and registrations; the data
 * plane owns health, draining progress and metrics. A snapshot is always whole: the data
 * plane diffs it against what it runs (version 1).
 */

export interface LbSnapshot {
  loadBalancers: LoadBalancerSpec[];
  targetGroups: TargetGroupSpec[];
  /** PEM material of the certificates HTTPS/TLS listeners name, by ARN. */
  certificates: Record<string, { certificatePem: string; privateKeyPem: string; chainPem?: string }>;
}

export interface LoadBalancerSpec {
  arn: string;
  name: string;
  type: "application" | "network";
  /** load balancer attributes by key, e.g. "idle_timeout.timeout_seconds": "60". */
  attributes: Record<string, string>;
  listeners: ListenerSpec[];
}

export type ListenerProtocol = "HTTP" | "HTTPS" | "TCP" | "TLS" | "UDP" | "TCP_UDP";

export interface ListenerSpec {
  arn: string;
  protocol: ListenerProtocol;
  /** The port the user asked for (what Describe shows). */
  port: number;
  /** The local port actually bound (the user's port unless it is taken; shown by `berth`). */
  bindPort: number;
  /** Address to bind, e.g. "0.0.0.0" or "127.0.0.1". */
  bindHost: string;
  /** Default certificate first. */
  certificateArns: string[];
  sslPolicy?: string;
  /** Rules sorted by priority; the default rule's actions are `defaultActions`. */
  rules: RuleSpec[];
  defaultActions: ActionSpec[];
}

export interface RuleSpec {
  arn: string;
  priority: number;
  conditions: ConditionSpec[];
  actions: ActionSpec[];
}

export type ConditionSpec =
  | { field: "path-pattern"; values: string[] }
  | { field: "host-header"; values: string[] }
  | { field: "http-header"; headerName: string; values: string[] }
  | { field: "http-request-method"; values: string[] }
  | { field: "query-string"; values: { key?: string; value: string }[] }
  | { field: "source-ip"; values: string[] };

export type ActionSpec =
  | {
      type: "forward";
      targetGroups: { arn: string; weight: number }[];
      /** Group-level stickiness across the weighted target groups. */
      stickiness?: { enabled: boolean; durationSeconds: number };
    }
  | {
      type: "redirect";
      protocol: string;
      port: string;
      host: string;
      path: string;
      query: string;
      statusCode: "HTTP_301" | "HTTP_302";
    }
  | { type: "fixed-response"; statusCode: string; contentType?: string; messageBody?: string };

export interface HealthCheckSpec {
  enabled: boolean;
  protocol: "HTTP" | "HTTPS" | "TCP";
  /** "traffic-port" or a port number as a string. */
  port: string;
  path: string;
  intervalSeconds: number;
  timeoutSeconds: number;
  healthyThreshold: number;
  unhealthyThreshold: number;
  /** ALB matcher, e.g. "200", "200-299", "200,302". */
  httpCode: string;
}

export interface TargetGroupSpec {
  arn: string;
  name: string;
  protocol: string;
  port: number;
  targetType: "ip" | "instance";
  healthCheck: HealthCheckSpec;
  /** target group attributes by key, e.g. "deregistration_delay.timeout_seconds": "300". */
  attributes: Record<string, string>;
  targets: TargetSpec[];
}

export interface TargetSpec {
  /** As registered: an IP address for ip targets, an instance id for instance targets. */
  id: string;
  port: number;
  /** The address the data plane connects to (the IP itself, or the instance's host address). */
  address: string;
  availabilityZone?: string;
  /** "draining" once deregistered: no new requests, in-flight ones finish. */
  state: "registered" | "draining";
}

export type TargetHealthState = "initial" | "healthy" | "unhealthy" | "unused" | "draining" | "unavailable";

export interface TargetHealthReport {
  targetGroupArn: string;
  id: string;
  port: number;
  state: TargetHealthState;
  /** ALB's reason codes, e.g. "Elb.RegistrationInProgress", "Target.ResponseCodeMismatch". */
  reason?: string;
  description?: string;
  /** For draining targets: true once no request or connection is in flight. */
  drained?: boolean;
}

/** Counters since the data plane started; the reader takes differences. */
export interface LbMetrics {
  loadBalancers: Record<string, { requestCount: number; elb5xx: number; elb4xx: number; activeConnections: number }>;
  targetGroups: Record<
    string,
    { requestCount: number; target2xx: number; target4xx: number; target5xx: number; targetResponseTimeSumMs: number; healthyHostCount: number; unhealthyHostCount: number }
  >;
}
