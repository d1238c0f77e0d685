/**
 * ELBv2's ARNs and DNS names, exactly in AWS's form:
 *   loadbalancer/app/<name>/<16 hex>        loadbalancer/net/<name>/<16 hex>
 *   targetgroup/<name>/<16 hex>
 *   listener/app/<lb name>/<lb id>/<16 hex>
 *   listener-rule/app/<lb name>/<lb id>/<listener id>/<16 hex>
 * Ids are handed in (no randomness here).
 */
import type { ElbScope, LoadBalancerType } from "./load-balancing.ts";

const PREFIX = "arn:aws:elasticloadbalancing";

export type ElbResourceKind = "loadbalancer" | "targetgroup" | "listener" | "listener-rule";

export interface ParsedElbArn {
  region: string;
  accountId: string;
  kind: ElbResourceKind;
  /** The path after the kind, e.g. `app/my-alb/50dc6c495c0c9188`. */
  path: string;
}

const typeSegment = (type: LoadBalancerType): string => (type === "application" ? "app" : "net");

export const loadBalancerArn = (scope: ElbScope, type: LoadBalancerType, name: string, id: string): string =>
  `${PREFIX}:${scope.region}:${scope.accountId}:loadbalancer/${typeSegment(type)}/${name}/${id}`;

export const targetGroupArn = (scope: ElbScope, name: string, id: string): string =>
  `${PREFIX}:${scope.region}:${scope.accountId}:targetgroup/${name}/${id}`;

/** `lbArn`'s path (`app/<name>/<id>`) carried into the listener's ARN. */
export function listenerArn(lbArn: string, id: string): string {
  const p = parseElbArn(lbArn)!;
  return `${PREFIX}:${p.region}:${p.accountId}:listener/${p.path}/${id}`;
}

export function ruleArn(listenerArnValue: string, id: string): string {
  const p = parseElbArn(listenerArnValue)!;
  return `${PREFIX}:${p.region}:${p.accountId}:listener-rule/${p.path}/${id}`;
}

const ARN_RE = /^arn:aws:elasticloadbalancing:([a-z0-9-]+):(\d{12}):(loadbalancer|targetgroup|listener-rule|listener)\/(.+)$/;

export function parseElbArn(arn: string): ParsedElbArn | undefined {
  const m = ARN_RE.exec(arn);
  if (!m) return undefined;
  return { region: m[1]!, accountId: m[2]!, kind: m[3] as ElbResourceKind, path: m[4]! };
}

/** Whether `arn` is a resource of `kind` in the caller's region and account. */
export function inScope(scope: ElbScope, arn: string, kind: ElbResourceKind): boolean {
  const p = parseElbArn(arn);
  return p !== undefined && p.kind === kind && p.region === scope.region && p.accountId === scope.accountId;
}

/**
 * Berth's DNS name for a load balancer: `<name>-<10 digits>.<region>.elb.localhost`, with
 * `internal-` in front for internal ones, as AWS does. The digits come from the id.
 */
export function dnsName(name: string, id: string, region: string, internal: boolean): string {
  const digits = String(Number.parseInt(id.slice(0, 8), 16) % 10_000_000_000).padStart(10, "0");
  return `${internal ? "internal-" : ""}${name}-${digits}.${region}.elb.localhost`;
}

/** AWS's hosted zone ids of ELB endpoints for a few regions (us-east-1's elsewhere). */
const HOSTED_ZONES: Record<string, { app: string; net: string }> = {
  "us-east-1": { app: "Z35SXDOTRQ7X7K", net: "Z26RNL4JYFTOTI" },
  "us-east-2": { app: "Z3AADJGX6KTTL2", net: "ZLMOA37VPKANP" },
  "us-west-2": { app: "Z1H1FL5HABSF5", net: "Z18D5FSROUN65G" },
  "eu-west-1": { app: "Z32O12XQLNTSW2", net: "Z2IFOLAFXWLO4F" },
  "eu-central-1": { app: "Z215JYRZR1TBD5", net: "Z3F0SRJ5LGBH90" },
  "ap-south-1": { app: "ZP97RAFLXTNZK", net: "ZVDDRBQ08TROA" },
  "ap-northeast-1": { app: "Z14GRHDCWA56QT", net: "Z31USIVHYNEOWT" },
};

export function canonicalHostedZoneId(region: string, type: LoadBalancerType): string {
  const zones = HOSTED_ZONES[region] ?? HOSTED_ZONES["us-east-1"]!;
  return type === "application" ? zones.app : zones.net;
}
