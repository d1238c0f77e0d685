/**
 * ELBv2's rules for load balancers, target groups and listeners: names, which protocols go
 * with which load balancer type, health check defaults (ALB's for HTTP/HTTPS groups, NLB's
 * for TCP/TLS groups) and their constraints, listener/target group compatibility. Pure: each
 * check throws the BerthError AWS would answer with and returns nothing or a normalized value.
 * Ranges the model itself declares (interval 5–300, timeout 2–120, thresholds 2–10, ports
 * 1–65535) are checked by the API's model validation before these run.
 */
import { BerthError, ErrorCode } from "../core/errors.ts";
import type {
  HealthCheck,
  HealthCheckInput,
  ListenerProtocol,
  LoadBalancerType,
  TargetGroup,
  TargetGroupProtocol,
  TargetType,
} from "./load-balancing.ts";

const validation = (message: string): BerthError => new BerthError(ErrorCode.Validation, message);
const invalidConfig = (message: string): BerthError => new BerthError(ErrorCode.InvalidConfigurationRequest, message);

export const MAX_NAME_LENGTH = 32;
export const MAX_TARGETS_PER_GROUP = 1000;
export const MAX_TAGS = 50;
export const DEFAULT_SSL_POLICY = "ELBSecurityPolicy-2016-08";

function checkName(kind: string, name: string): void {
  if (name.length === 0) throw validation(`${kind} name cannot be empty`);
  if (name.length > MAX_NAME_LENGTH) throw validation(`${kind} name '${name}' cannot be longer than '${MAX_NAME_LENGTH}' characters`);
  if (!/^[A-Za-z0-9-]+$/.test(name)) {
    throw validation(`${kind} name '${name}' can only contain characters that are alphanumeric characters or hyphens(-)`);
  }
  if (name.startsWith("-") || name.endsWith("-")) throw validation(`${kind} name '${name}' cannot begin or end with '-' character`);
}

export function checkLoadBalancerName(name: string): void {
  checkName("Load balancer", name);
  if (name.toLowerCase().startsWith("internal-")) throw validation(`Load balancer name '${name}' cannot begin with 'internal-'`);
}

export function checkTargetGroupName(name: string): void {
  checkName("Target group", name);
}

export function loadBalancerTypeOf(type: string | undefined): LoadBalancerType {
  if (type === undefined || type === "application") return "application";
  if (type === "network") return "network";
  throw new BerthError(ErrorCode.InvalidConfigurationRequest, `Berth does not support load balancers of type '${type}'`);
}

export function schemeOf(scheme: string | undefined): "internet-facing" | "internal" {
  if (scheme === undefined || scheme === "internet-facing" || scheme === "internal") return scheme ?? "internet-facing";
  throw validation(`Scheme '${scheme}' must be one of 'internet-facing, internal'`);
}

export function targetTypeOf(type: string | undefined): TargetType {
  if (type === undefined || type === "instance") return "instance";
  if (type === "ip") return "ip";
  throw invalidConfig(`Berth does not support target type '${type}': use 'ip' or 'instance'`);
}

const TARGET_GROUP_PROTOCOLS: readonly string[] = ["HTTP", "HTTPS", "TCP", "TLS"];

export function targetGroupProtocolOf(protocol: string | undefined): TargetGroupProtocol {
  if (protocol === undefined) throw validation("A protocol must be specified");
  if (TARGET_GROUP_PROTOCOLS.includes(protocol)) return protocol as TargetGroupProtocol;
  throw new BerthError(ErrorCode.UnsupportedProtocol, `Berth does not support target groups with the protocol '${protocol}'`);
}

/** HTTP and HTTPS groups serve application load balancers; TCP and TLS network ones. */
export const isApplicationProtocol = (protocol: string): boolean => protocol === "HTTP" || protocol === "HTTPS";

const LISTENER_PROTOCOLS: Record<LoadBalancerType, readonly string[]> = {
  application: ["HTTPS", "HTTP"],
  network: ["TCP_UDP", "UDP", "TLS", "TCP"],
};

export function listenerProtocolOf(type: LoadBalancerType, protocol: string | undefined): ListenerProtocol {
  if (protocol === undefined) throw validation("A listener protocol must be specified");
  const allowed = LISTENER_PROTOCOLS[type];
  if (!allowed.includes(protocol)) throw validation(`Listener protocol '${protocol}' must be one of '${allowed.join(", ")}'`);
  if (protocol === "UDP" || protocol === "TCP_UDP") {
    throw new BerthError(ErrorCode.UnsupportedProtocol, `Berth does not support listeners with the protocol '${protocol}' yet`);
  }
  return protocol as ListenerProtocol;
}

/** HTTPS and TLS listeners need a certificate; the others take none. */
export function checkListenerCertificates(protocol: ListenerProtocol, certificates: readonly string[]): void {
  const secure = protocol === "HTTPS" || protocol === "TLS";
  if (secure && certificates.length === 0) throw validation(`A certificate must be specified for ${protocol} listeners`);
  if (!secure && certificates.length > 0) throw validation(`Certificates are not supported for ${protocol} listeners`);
}

/** The target group protocols a listener's forward actions may name. */
export function checkCompatible(listenerProtocol: ListenerProtocol, group: TargetGroup): void {
  const ok =
    listenerProtocol === "HTTP" || listenerProtocol === "HTTPS"
      ? isApplicationProtocol(group.protocol)
      : listenerProtocol === "TLS"
        ? group.protocol === "TCP" || group.protocol === "TLS"
        : group.protocol === "TCP";
  if (!ok) {
    throw new BerthError(
      ErrorCode.IncompatibleProtocols,
      `Listener protocol '${listenerProtocol}' is not supported with a target group with the protocol '${group.protocol}'`,
    );
  }
}

// --- health checks -------------------------------------------------------------------------

const MATCHER_RE = /^\d{3}(-\d{3})?(,\d{3}(-\d{3})?)*$/;

/** A group's health check: AWS's defaults for its protocol, then the given settings, checked. */
export function healthCheckFor(protocol: TargetGroupProtocol, input: HealthCheckInput): HealthCheck {
  const application = isApplicationProtocol(protocol);
  const hcProtocol = input.protocol ?? (application ? (protocol as "HTTP" | "HTTPS") : "TCP");
  const http = hcProtocol !== "TCP";
  const base: HealthCheck = {
    enabled: true,
    protocol: hcProtocol,
    port: "traffic-port",
    intervalSeconds: 30,
    timeoutSeconds: application ? 5 : http ? 6 : 10,
    healthyThreshold: 5,
    unhealthyThreshold: 2,
    ...(http ? { path: "/", matcher: application ? "200" : "200-399" } : {}),
  };
  return checkHealthCheck(protocol, { ...base, ...input, protocol: hcProtocol }, input);
}

/** ModifyTargetGroup: the changed settings over the current ones, checked like at creation. */
export function modifyHealthCheck(protocol: TargetGroupProtocol, current: HealthCheck, changes: HealthCheckInput): HealthCheck {
  const hcProtocol = changes.protocol ?? current.protocol;
  const next: HealthCheck = { ...current, ...changes, protocol: hcProtocol };
  if (hcProtocol === "TCP") {
    delete next.path;
    delete next.matcher;
  } else {
    next.path ??= "/";
    next.matcher ??= isApplicationProtocol(protocol) ? "200" : "200-399";
  }
  return checkHealthCheck(protocol, next, changes);
}

function checkHealthCheck(protocol: TargetGroupProtocol, hc: HealthCheck, given: HealthCheckInput): HealthCheck {
  const application = isApplicationProtocol(protocol);
  if (!["HTTP", "HTTPS", "TCP"].includes(hc.protocol)) {
    throw validation(`Health check protocol '${hc.protocol}' must be one of 'HTTP, HTTPS, TCP'`);
  }
  if (application && hc.protocol === "TCP") {
    throw invalidConfig(`Health check protocol 'TCP' is not supported for target groups with the protocol '${protocol}'`);
  }
  if (hc.protocol === "TCP") {
    if (given.path !== undefined) throw invalidConfig("Health check paths are not supported for TCP health checks");
    if (given.matcher !== undefined) throw invalidConfig("Health check matchers are not supported for TCP health checks");
  }
  if (hc.port !== "traffic-port") {
    const n = Number(hc.port);
    if (!/^\d+$/.test(hc.port) || n < 1 || n > 65535) {
      throw validation(`Health check port '${hc.port}' must be 'traffic-port' or a number between 1 and 65535`);
    }
  }
  if (hc.path !== undefined && (!hc.path.startsWith("/") || hc.path.length > 1024)) {
    throw validation(`Health check path '${hc.path}' must begin with '/' and be at most 1024 characters long`);
  }
  if (hc.matcher !== undefined) checkMatcher(hc.matcher, application);
  if (hc.timeoutSeconds >= hc.intervalSeconds) {
    throw validation("Health check interval must be greater than the timeout.");
  }
  return hc;
}

function checkMatcher(matcher: string, application: boolean): void {
  const [low, high] = application ? [200, 499] : [200, 599];
  const ok =
    MATCHER_RE.test(matcher) &&
    matcher.split(",").every((part) => {
      const [a, b] = part.split("-").map(Number);
      return a! >= low && a! <= high && (b === undefined || (b >= a! && b <= high));
    });
  if (!ok) throw validation(`Health check matcher HTTP code '${matcher}' must be within '${low}-${high}' range`);
}
