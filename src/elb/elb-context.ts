/**
 * What the ELB engine's operation modules share: the catalog, the time and id sources, the
 * transaction runner, and the lookups that turn an ARN from the caller into a row of the
 * caller's region and account or the ELBv2 "not found" error for its kind.
 */
import type { Clock } from "../core/clock.ts";
import { BerthError, ErrorCode } from "../core/errors.ts";
import type { IdSource } from "../core/ids.ts";
import { inScope } from "../domain/lb-arns.ts";
import type { ElbScope, ElbTag } from "../domain/load-balancing.ts";
import { MAX_TAGS } from "../domain/lb-rules.ts";
import type { ElbCatalog, LbRow, ListenerRow, RuleRow, TgRow } from "./elb-catalog.ts";

export interface ElbContext {
  catalog: ElbCatalog;
  clock: Clock;
  ids: IdSource;
  /** Runs `fn` in one transaction; notifies the data plane afterwards when `changes` is true. */
  write<T>(fn: () => T, changes?: boolean): T;
  bindPortFor(listener: { protocol: string; port: number }): number;
  instanceAddress(instanceId: string): string | undefined;
}

/** 16 lowercase hex characters, the id at the end of every ELBv2 ARN. */
export const hex16 = (ids: IdSource): string => ids.hex32().slice(16);

export function requireLoadBalancer(ctx: ElbContext, scope: ElbScope, arn: string): LbRow {
  const row = inScope(scope, arn, "loadbalancer") ? ctx.catalog.loadBalancer(arn) : undefined;
  if (!row) throw new BerthError(ErrorCode.LoadBalancerNotFound, `Load balancer '${arn}' not found`);
  return row;
}

export function requireTargetGroup(ctx: ElbContext, scope: ElbScope, arn: string): TgRow {
  const row = inScope(scope, arn, "targetgroup") ? ctx.catalog.targetGroup(arn) : undefined;
  if (!row) throw new BerthError(ErrorCode.TargetGroupNotFound, `Target group '${arn}' not found`);
  return row;
}

export function requireListener(ctx: ElbContext, scope: ElbScope, arn: string): ListenerRow {
  const row = inScope(scope, arn, "listener") ? ctx.catalog.listener(arn) : undefined;
  if (!row) throw new BerthError(ErrorCode.ListenerNotFound, `Listener '${arn}' not found`);
  return row;
}

/** A rule, or the default rule of a listener (priority undefined). */
export function requireRule(ctx: ElbContext, scope: ElbScope, arn: string): { rule?: RuleRow; defaultOf?: ListenerRow } {
  if (inScope(scope, arn, "listener-rule")) {
    const rule = ctx.catalog.rule(arn);
    if (rule) return { rule };
    const defaultOf = ctx.catalog.listenerWithDefaultRule(arn);
    if (defaultOf) return { defaultOf };
  }
  throw new BerthError(ErrorCode.RuleNotFound, `Rule '${arn}' not found`);
}

/** Resource tags as given at creation or by AddTags: unique keys, not `aws:`, at most 50 in all. */
export function checkTags(current: readonly ElbTag[], added: readonly ElbTag[]): void {
  const keys = added.map((t) => t.key);
  const dup = keys.find((k, i) => keys.indexOf(k) !== i);
  if (dup !== undefined) throw new BerthError(ErrorCode.DuplicateTagKeys, `Tag key '${dup}' was specified more than once`);
  const reserved = keys.find((k) => k.toLowerCase().startsWith("aws:"));
  if (reserved !== undefined) throw new BerthError(ErrorCode.Validation, `Tag keys starting with 'aws:' are reserved for AWS use: '${reserved}'`);
  const total = new Set([...current.map((t) => t.key), ...keys]).size;
  if (total > MAX_TAGS) throw new BerthError(ErrorCode.TooManyTags, `A resource can have at most ${MAX_TAGS} tags`);
}

export function writeTags(ctx: ElbContext, arn: string, tags: readonly ElbTag[] | undefined): void {
  for (const t of tags ?? []) ctx.catalog.setTag(arn, t.key, t.value ?? "");
}

/** Marker-based pages: the marker is the next item's index. */
export function page<T>(items: T[], marker: string | undefined, pageSize: number | undefined): { items: T[]; nextMarker?: string } {
  let start = 0;
  if (marker !== undefined) {
    start = Number(Buffer.from(marker, "base64url").toString("utf8"));
    if (!Number.isInteger(start) || start < 0) throw new BerthError(ErrorCode.Validation, `The marker '${marker}' is not valid`);
  }
  const size = pageSize ?? 400;
  const slice = items.slice(start, start + size);
  const next = start + size;
  return next < items.length ? { items: slice, nextMarker: Buffer.from(String(next)).toString("base64url") } : { items: slice };
}
