/**
 * Elastic Load Balancing v2 as Berth keeps it: application and network load balancers,
 * target groups and their targets, listeners, rules, attributes and tags, and the ElbEngine
 * port that the API (api/elbv2), the ECS integration (controllers/) and the composition root
 * call. The engine lives in elb/ (its own SQLite file); it also feeds the data plane (lb/)
 * through protocol/lb-protocol.ts, which this room does not see.
 *
 * Values here are normalized: a forward action always lists its target groups with weights,
 * a redirect carries all five parts with AWS's `#{…}` defaults filled in, a condition keeps
 * whether it came in the legacy `Values` form (Describe echoes the form it was given).
 * Errors are BerthErrors with the ELBv2 codes of core/errors.ts.
 */

export interface ElbScope {
  region: string;
  accountId: string;
}

export const LoadBalancerType = { Application: "application", Network: "network" } as const;
export type LoadBalancerType = (typeof LoadBalancerType)[keyof typeof LoadBalancerType];

export type ListenerProtocol = "HTTP" | "HTTPS" | "TCP" | "TLS";
export type TargetGroupProtocol = "HTTP" | "HTTPS" | "TCP" | "TLS";
export type HealthCheckProtocol = "HTTP" | "HTTPS" | "TCP";
export type TargetType = "ip" | "instance";

export interface ElbTag {
  key: string;
  value?: string;
}

export interface Page<T> {
  items: T[];
  nextMarker?: string;
}

export interface PageQuery {
  marker?: string;
  pageSize?: number;
}

// --- load balancers ------------------------------------------------------------------------

export interface LoadBalancer {
  arn: string;
  name: string;
  type: LoadBalancerType;
  scheme: "internet-facing" | "internal";
  ipAddressType: string;
  /** `<name>-<digits>.<region>.elb.localhost` (`internal-` first for internal ones). */
  dnsName: string;
  canonicalHostedZoneId: string;
  /** Epoch milliseconds. */
  createdTime: number;
  state: "provisioning" | "active";
  securityGroups: string[];
  availabilityZones: { zoneName: string; subnetId: string }[];
}

export interface CreateLoadBalancerCommand {
  name: string;
  type?: string;
  scheme?: string;
  subnets?: string[];
  subnetMappings?: { subnetId?: string }[];
  securityGroups?: string[];
  ipAddressType?: string;
  tags?: ElbTag[];
}

// --- target groups -------------------------------------------------------------------------

export interface HealthCheck {
  enabled: boolean;
  protocol: HealthCheckProtocol;
  /** "traffic-port" or a port number as text. */
  port: string;
  /** HTTP and HTTPS health checks only. */
  path?: string;
  intervalSeconds: number;
  timeoutSeconds: number;
  healthyThreshold: number;
  unhealthyThreshold: number;
  /** HTTP codes, e.g. "200", "200-299", "200,302" (HTTP and HTTPS health checks only). */
  matcher?: string;
}

export type HealthCheckInput = Partial<HealthCheck>;

export interface TargetGroup {
  arn: string;
  name: string;
  protocol: TargetGroupProtocol;
  /** HTTP and HTTPS target groups: "HTTP1" unless given. */
  protocolVersion?: string;
  port: number;
  vpcId?: string;
  targetType: TargetType;
  ipAddressType: "ipv4" | "ipv6";
  healthCheck: HealthCheck;
  /** The load balancers whose listeners or rules forward to this group (at most one). */
  loadBalancerArns: string[];
}

export interface CreateTargetGroupCommand {
  name: string;
  protocol?: string;
  protocolVersion?: string;
  port?: number;
  vpcId?: string;
  targetType?: string;
  ipAddressType?: string;
  healthCheck: HealthCheckInput;
  tags?: ElbTag[];
}

/** What the ECS integration reads about a target group. */
export interface TargetGroupInfo extends TargetGroup {
  deregistrationDelaySeconds: number;
}

export interface TargetInput {
  id: string;
  port?: number;
  availabilityZone?: string;
}

export type TargetHealthState = "initial" | "healthy" | "unhealthy" | "unused" | "draining" | "unavailable";

export interface TargetHealth {
  id: string;
  port: number;
  availabilityZone?: string;
  /** The port health checks go to: the target's port for "traffic-port". */
  healthCheckPort: string;
  state: TargetHealthState;
  reason?: string;
  description?: string;
}

// --- listeners, rules, actions, conditions ------------------------------------------------

export interface WeightedTargetGroup {
  targetGroupArn: string;
  /** 0–999; 1 unless given. */
  weight: number;
}

export type Action =
  | {
      type: "forward";
      order?: number;
      targetGroups: WeightedTargetGroup[];
      stickiness: { enabled: boolean; durationSeconds?: number };
    }
  | {
      type: "redirect";
      order?: number;
      redirect: { protocol: string; port: string; host: string; path: string; query: string; statusCode: "HTTP_301" | "HTTP_302" };
    }
  | {
      type: "fixed-response";
      order?: number;
      fixedResponse: { statusCode: string; contentType?: string; messageBody?: string };
    };

export type RuleCondition =
  | { field: "path-pattern" | "host-header"; values: string[]; legacy: boolean }
  | { field: "http-header"; headerName: string; values: string[] }
  | { field: "http-request-method"; values: string[] }
  | { field: "query-string"; values: { key?: string; value: string }[] }
  | { field: "source-ip"; values: string[] };

export interface Listener {
  arn: string;
  loadBalancerArn: string;
  port: number;
  protocol: ListenerProtocol;
  /** ACM ARNs, the default certificate first (HTTPS and TLS). */
  certificates: string[];
  sslPolicy?: string;
  alpnPolicy?: string[];
  defaultActions: Action[];
  /** The local port the data plane binds for this listener. */
  bindPort: number;
}

export interface CreateListenerCommand {
  loadBalancerArn: string;
  protocol?: string;
  port?: number;
  sslPolicy?: string;
  certificates?: string[];
  defaultActions: Action[];
  alpnPolicy?: string[];
  tags?: ElbTag[];
}

export interface ModifyListenerCommand {
  port?: number;
  protocol?: string;
  sslPolicy?: string;
  certificates?: string[];
  defaultActions?: Action[];
  alpnPolicy?: string[];
}

export interface Rule {
  arn: string;
  listenerArn: string;
  /** undefined for the listener's default rule. */
  priority?: number;
  conditions: RuleCondition[];
  actions: Action[];
  isDefault: boolean;
}

export interface CreateRuleCommand {
  listenerArn: string;
  priority: number;
  conditions: RuleCondition[];
  actions: Action[];
  tags?: ElbTag[];
}

// --- the port ------------------------------------------------------------------------------

/**
 * The ELBv2 engine. Every method that resolves has made its change durable (one SQLite
 * transaction); a method that throws changed nothing. Resources are looked up in the
 * caller's region and account: an ARN of another region or account is "not found".
 */
export interface ElbEngine {
  createLoadBalancer(scope: ElbScope, cmd: CreateLoadBalancerCommand): Promise<LoadBalancer>;
  /** By ARNs or names (not both); all when neither. Unknown ones fail the whole call. */
  describeLoadBalancers(scope: ElbScope, q: PageQuery & { arns?: string[]; names?: string[] }): Promise<Page<LoadBalancer>>;
  /** Deletes its listeners and rules too; a missing load balancer is not an error (as AWS). */
  deleteLoadBalancer(scope: ElbScope, arn: string): Promise<void>;
  loadBalancerAttributes(scope: ElbScope, arn: string): Promise<Record<string, string>>;
  modifyLoadBalancerAttributes(scope: ElbScope, arn: string, changes: Record<string, string>): Promise<Record<string, string>>;

  createTargetGroup(scope: ElbScope, cmd: CreateTargetGroupCommand): Promise<TargetGroup>;
  describeTargetGroups(scope: ElbScope, q: PageQuery & { arns?: string[]; names?: string[]; loadBalancerArn?: string }): Promise<Page<TargetGroup>>;
  modifyTargetGroup(scope: ElbScope, arn: string, healthCheck: HealthCheckInput): Promise<TargetGroup>;
  /** ResourceInUse while a listener or rule forwards to it. */
  deleteTargetGroup(scope: ElbScope, arn: string): Promise<void>;
  targetGroupAttributes(scope: ElbScope, arn: string): Promise<Record<string, string>>;
  modifyTargetGroupAttributes(scope: ElbScope, arn: string, changes: Record<string, string>): Promise<Record<string, string>>;

  /** For the ECS integration: the group, or undefined when it does not exist. */
  describeTargetGroup(scope: ElbScope, arn: string): Promise<TargetGroupInfo | undefined>;
  /** Idempotent; re-registering a draining target makes it registered again. */
  registerTargets(scope: ElbScope, targetGroupArn: string, targets: TargetInput[]): Promise<void>;
  /** Registered targets start draining (removed at once when the group is unused or the delay is 0). */
  deregisterTargets(scope: ElbScope, targetGroupArn: string, targets: { id: string; port?: number }[]): Promise<void>;
  /** Every registered or draining target, or the ones asked for (unregistered ones as `unused`). */
  targetHealth(scope: ElbScope, targetGroupArn: string, targets?: { id: string; port?: number }[]): Promise<TargetHealth[]>;

  createListener(scope: ElbScope, cmd: CreateListenerCommand): Promise<Listener>;
  describeListeners(scope: ElbScope, q: PageQuery & { loadBalancerArn?: string; arns?: string[] }): Promise<Page<Listener>>;
  modifyListener(scope: ElbScope, arn: string, cmd: ModifyListenerCommand): Promise<Listener>;
  deleteListener(scope: ElbScope, arn: string): Promise<void>;
  listenerCertificates(scope: ElbScope, arn: string): Promise<{ certificateArn: string; isDefault: boolean }[]>;
  addListenerCertificates(scope: ElbScope, arn: string, certificateArns: string[]): Promise<void>;
  removeListenerCertificates(scope: ElbScope, arn: string, certificateArns: string[]): Promise<void>;

  createRule(scope: ElbScope, cmd: CreateRuleCommand): Promise<Rule>;
  /** By listener (the default rule last) or by rule ARNs. */
  describeRules(scope: ElbScope, q: PageQuery & { listenerArn?: string; arns?: string[] }): Promise<Page<Rule>>;
  modifyRule(scope: ElbScope, arn: string, changes: { conditions?: RuleCondition[]; actions?: Action[] }): Promise<Rule>;
  deleteRule(scope: ElbScope, arn: string): Promise<void>;
  /** All or nothing; PriorityInUse when two rules of a listener would share a priority. */
  setRulePriorities(scope: ElbScope, priorities: { ruleArn: string; priority: number }[]): Promise<Rule[]>;

  addTags(scope: ElbScope, arns: string[], tags: ElbTag[]): Promise<void>;
  removeTags(scope: ElbScope, arns: string[], keys: string[]): Promise<void>;
  describeTags(scope: ElbScope, arns: string[]): Promise<{ arn: string; tags: ElbTag[] }[]>;
}
