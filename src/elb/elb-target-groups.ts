/**
 * Target groups and their targets: creation with the protocol's health check defaults,
 * describe (by ARNs, names or load balancer), health check and attribute changes, deletion
 * refused while a listener or rule forwards to the group, registration (ip targets must be
 * addresses of the group's family, instance targets known container instances; at most 1,000),
 * deregistration (draining, or removed at once when the group is unused or its delay is 0),
 * and DescribeTargetHealth from the registrations and the data plane's reports (HealthBook).
 */
import { isIP } from "node:net";
import { BerthError, ErrorCode } from "../core/errors.ts";
import { inScope, targetGroupArn } from "../domain/lb-arns.ts";
import { defaultTargetGroupAttributes, deregistrationDelaySeconds, modifyTargetGroupAttributes as modifyAttributes } from "../domain/lb-attributes.ts";
import {
  MAX_TARGETS_PER_GROUP,
  checkTargetGroupName,
  healthCheckFor,
  isApplicationProtocol,
  modifyHealthCheck,
  targetGroupProtocolOf,
  targetTypeOf,
} from "../domain/lb-rules.ts";
import type * as lb from "../domain/load-balancing.ts";
import type { StoredTargetGroup, TgRow } from "./elb-catalog.ts";
import { type ElbContext, checkTags, hex16, page, requireLoadBalancer, requireTargetGroup, writeTags } from "./elb-context.ts";
import { type HealthBook, describeHealth } from "./elb-health.ts";

const view = (ctx: ElbContext, tg: StoredTargetGroup): lb.TargetGroup => ({ ...tg, loadBalancerArns: ctx.catalog.loadBalancersOf(tg.arn) });

export function createTargetGroup(ctx: ElbContext, scope: lb.ElbScope, cmd: lb.CreateTargetGroupCommand): lb.TargetGroup {
  checkTargetGroupName(cmd.name);
  const targetType = targetTypeOf(cmd.targetType);
  const protocol = targetGroupProtocolOf(cmd.protocol);
  if (cmd.port === undefined) throw new BerthError(ErrorCode.Validation, "A port must be specified");
  if (cmd.protocolVersion !== undefined && !isApplicationProtocol(protocol)) {
    throw new BerthError(ErrorCode.Validation, `A protocol version is not supported for target groups with the protocol '${protocol}'`);
  }
  if (cmd.protocolVersion !== undefined && cmd.protocolVersion !== "HTTP1") {
    throw new BerthError(ErrorCode.UnsupportedProtocol, `Berth supports only the protocol version 'HTTP1', not '${cmd.protocolVersion}'`);
  }
  const ipAddressType = cmd.ipAddressType ?? "ipv4";
  if (ipAddressType !== "ipv4" && ipAddressType !== "ipv6") throw new BerthError(ErrorCode.Validation, `IP address type '${ipAddressType}' must be one of 'ipv4, ipv6'`);
  const healthCheck = healthCheckFor(protocol, cmd.healthCheck);
  checkTags([], cmd.tags ?? []);
  const existing = ctx.catalog.targetGroupNamed(scope, cmd.name);
  if (existing) throw new BerthError(ErrorCode.DuplicateTargetGroupName, `A target group with the same name '${cmd.name}' exists, but with different settings`);
  const tg: StoredTargetGroup = {
    arn: targetGroupArn(scope, cmd.name, hex16(ctx.ids)),
    name: cmd.name,
    protocol,
    ...(isApplicationProtocol(protocol) ? { protocolVersion: cmd.protocolVersion ?? "HTTP1" } : {}),
    port: cmd.port,
    ...(cmd.vpcId !== undefined ? { vpcId: cmd.vpcId } : {}),
    targetType,
    ipAddressType,
    healthCheck,
  };
  ctx.write(() => {
    ctx.catalog.insertTargetGroup(scope, { tg, attributes: defaultTargetGroupAttributes(protocol, targetType) });
    writeTags(ctx, tg.arn, cmd.tags);
  });
  return { ...tg, loadBalancerArns: [] };
}

export function describeTargetGroups(
  ctx: ElbContext,
  scope: lb.ElbScope,
  q: lb.PageQuery & { arns?: string[]; names?: string[]; loadBalancerArn?: string },
): lb.Page<lb.TargetGroup> {
  const arns = q.arns ?? [];
  const names = q.names ?? [];
  if ([arns.length > 0, names.length > 0, q.loadBalancerArn !== undefined].filter(Boolean).length > 1) {
    throw new BerthError(ErrorCode.Validation, "Only one of a load balancer ARN, target group ARNs or target group names can be specified");
  }
  let rows: TgRow[];
  if (arns.length > 0) {
    rows = arns.map((arn) => (inScope(scope, arn, "targetgroup") ? ctx.catalog.targetGroup(arn) : undefined)).filter((x) => x !== undefined);
    if (rows.length !== arns.length) throw new BerthError(ErrorCode.TargetGroupNotFound, "One or more target groups not found");
  } else if (names.length > 0) {
    rows = names.map((n) => ctx.catalog.targetGroupNamed(scope, n)).filter((x) => x !== undefined);
    if (rows.length !== names.length) throw new BerthError(ErrorCode.TargetGroupNotFound, "One or more target groups not found");
  } else if (q.loadBalancerArn !== undefined) {
    const lbArn = q.loadBalancerArn;
    requireLoadBalancer(ctx, scope, lbArn);
    rows = ctx.catalog.targetGroups(scope).filter((r) => ctx.catalog.loadBalancersOf(r.tg.arn).includes(lbArn));
  } else {
    rows = ctx.catalog.targetGroups(scope);
  }
  return page(rows.map((r) => view(ctx, r.tg)), q.marker, q.pageSize);
}

export function modifyTargetGroup(ctx: ElbContext, scope: lb.ElbScope, arn: string, healthCheck: lb.HealthCheckInput): lb.TargetGroup {
  const row = requireTargetGroup(ctx, scope, arn);
  const tg = { ...row.tg, healthCheck: modifyHealthCheck(row.tg.protocol, row.tg.healthCheck, healthCheck) };
  ctx.write(() => ctx.catalog.updateTargetGroup({ ...row, tg }));
  return view(ctx, tg);
}

export function deleteTargetGroup(ctx: ElbContext, health: HealthBook, scope: lb.ElbScope, arn: string): void {
  requireTargetGroup(ctx, scope, arn);
  if (ctx.catalog.loadBalancersOf(arn).length > 0) {
    throw new BerthError(ErrorCode.ResourceInUse, `Target group '${arn}' is currently in use by a listener or a rule`);
  }
  ctx.write(() => {
    ctx.catalog.removeTags([arn]);
    ctx.catalog.deleteTargetGroup(arn);
  });
  health.dropGroup(arn);
}

export function targetGroupAttributes(ctx: ElbContext, scope: lb.ElbScope, arn: string): Record<string, string> {
  return requireTargetGroup(ctx, scope, arn).attributes;
}

export function modifyTargetGroupAttributes(ctx: ElbContext, scope: lb.ElbScope, arn: string, changes: Record<string, string>): Record<string, string> {
  const row = requireTargetGroup(ctx, scope, arn);
  const attributes = modifyAttributes(row.tg.protocol, row.tg.targetType, row.attributes, changes);
  ctx.write(() => ctx.catalog.updateTargetGroup({ ...row, attributes }));
  return attributes;
}

export function describeTargetGroup(ctx: ElbContext, scope: lb.ElbScope, arn: string): lb.TargetGroupInfo | undefined {
  const row = inScope(scope, arn, "targetgroup") ? ctx.catalog.targetGroup(arn) : undefined;
  if (!row) return undefined;
  return { ...view(ctx, row.tg), deregistrationDelaySeconds: deregistrationDelaySeconds(row.attributes) };
}

// --- targets ------------------------------------------------------------------------------

export function registerTargets(ctx: ElbContext, health: HealthBook, scope: lb.ElbScope, tgArn: string, targets: lb.TargetInput[]): void {
  const { tg } = requireTargetGroup(ctx, scope, tgArn);
  for (const t of targets) checkTarget(ctx, tg, t.id);
  const current = ctx.catalog.targetsOf(tgArn);
  const key = (id: string, port: number): string => `${id}|${port}`;
  const known = new Set(current.map((t) => key(t.id, t.port)));
  const fresh = new Set(targets.map((t) => key(t.id, t.port ?? tg.port)).filter((k) => !known.has(k)));
  if (current.length + fresh.size > MAX_TARGETS_PER_GROUP) {
    throw new BerthError(ErrorCode.TooManyTargets, `You've reached the limit on the number of targets per target group (${MAX_TARGETS_PER_GROUP})`);
  }
  const wasDraining = new Set(current.filter((t) => t.state === "draining").map((t) => key(t.id, t.port)));
  ctx.write(() => {
    for (const t of targets) ctx.catalog.registerTarget(tgArn, t.id, t.port ?? tg.port, t.availabilityZone);
  });
  // A new or re-registered target starts over: its old health no longer applies.
  for (const t of targets) {
    const k = key(t.id, t.port ?? tg.port);
    if (fresh.has(k) || wasDraining.has(k)) health.forget(tgArn, t.id, t.port ?? tg.port);
  }
}

function checkTarget(ctx: ElbContext, tg: StoredTargetGroup, id: string): void {
  if (tg.targetType === "ip") {
    const family = isIP(id);
    const wanted = tg.ipAddressType === "ipv6" ? 6 : 4;
    if (family !== wanted) throw new BerthError(ErrorCode.InvalidTarget, `The IP address '${id}' is not a valid ${tg.ipAddressType === "ipv6" ? "IPv6" : "IPv4"} address`);
  } else if (ctx.instanceAddress(id) === undefined) {
    throw new BerthError(ErrorCode.InvalidTarget, `The following targets are not valid instances: '${id}'`);
  }
}

export function deregisterTargets(ctx: ElbContext, health: HealthBook, scope: lb.ElbScope, tgArn: string, targets: { id: string; port?: number }[]): void {
  const row = requireTargetGroup(ctx, scope, tgArn);
  const current = ctx.catalog.targetsOf(tgArn);
  const missing = targets.filter((t) => !current.some((c) => c.id === t.id && c.port === (t.port ?? row.tg.port)));
  if (missing.length > 0) {
    throw new BerthError(
      ErrorCode.InvalidTarget,
      `The following targets are not registered in target group '${tgArn}': ${missing.map((t) => `'${t.id}'`).join(", ")}`,
    );
  }
  const immediate = ctx.catalog.loadBalancersOf(tgArn).length === 0 || deregistrationDelaySeconds(row.attributes) === 0;
  const now = ctx.clock.now();
  ctx.write(() => {
    for (const t of targets) {
      const port = t.port ?? row.tg.port;
      if (immediate) ctx.catalog.removeTarget(tgArn, t.id, port);
      else ctx.catalog.drainTarget(tgArn, t.id, port, now);
    }
  });
  if (immediate) for (const t of targets) health.forget(tgArn, t.id, t.port ?? row.tg.port);
}

export function targetHealth(ctx: ElbContext, health: HealthBook, scope: lb.ElbScope, tgArn: string, targets?: { id: string; port?: number }[]): lb.TargetHealth[] {
  const { tg } = requireTargetGroup(ctx, scope, tgArn);
      return describeHealth(tg, ctx.catalog.loadBalancersOf(tgArn).length > 0, ctx.catalog.targetsOf(tgArn), (id, port) => health.get(tgArn, id, port), targets);
}
