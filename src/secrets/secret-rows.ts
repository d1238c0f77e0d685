/**
 * Secrets Manager rows and the pure rules over them: the describe shape (never a value), tags
 * (reserved prefix, at most 50, later keys win), the ListSecrets filters (prefix matches, "!"
 * negation, the "all" word search) and sort order, and page tokens.
 */
import { BerthError, ErrorCode, invalidParameter } from "../core/errors.ts";
import type { ListSecretsQuery, ResourceTag, RotationRules, SecretRef, SecretSummary } from "../domain/secrets.ts";

export interface SecretRow {
  id: number;
  region: string;
  account: string;
  name: string;
  arn: string;
  description: string | null;
  kms_key_id: string | null;
  created: number;
  last_changed: number;
  last_accessed: number | null;
  deleted: number | null;
  deletion_date: number | null;
  rotation_enabled: number | null;
  rotation_arn: string | null;
  rotation_rules: string | null;
  last_rotated: number | null;
  next_rotation: number | null;
  rotating_token: string | null;
  tags: string;
}

export interface VersionRow {
  version_id: string;
  seq: number;
  kind: "string" | "binary";
  sealed: Buffer;
  created: number;
  last_accessed: number | null;
}

export const DAY_MS = 86_400_000;
export const MAX_TAGS = 50;

export const secretRef = (row: SecretRow): SecretRef => ({ arn: row.arn, name: row.name });
export const tagsOf = (row: SecretRow): ResourceTag[] => JSON.parse(row.tags) as ResourceTag[];
export const rulesOf = (row: SecretRow): RotationRules | undefined =>
  row.rotation_rules === null ? undefined : (JSON.parse(row.rotation_rules) as RotationRules);

export function toSummary(row: SecretRow, stages: Record<string, string[]>): SecretSummary {
  const rules = rulesOf(row);
  return {
    arn: row.arn,
    name: row.name,
    ...(row.description !== null ? { description: row.description } : {}),
    ...(row.kms_key_id !== null ? { kmsKeyId: row.kms_key_id } : {}),
    ...(row.rotation_enabled !== null ? { rotationEnabled: row.rotation_enabled === 1 } : {}),
    ...(row.rotation_arn !== null ? { rotationLambdaArn: row.rotation_arn } : {}),
    ...(rules && Object.keys(rules).length > 0 ? { rotationRules: rules } : {}),
    ...(row.last_rotated !== null ? { lastRotatedDate: row.last_rotated } : {}),
    lastChangedDate: row.last_changed,
    ...(row.last_accessed !== null ? { lastAccessedDate: row.last_accessed } : {}),
    ...(row.deleted !== null ? { deletedDate: row.deleted } : {}),
    ...(row.rotation_enabled === 1 && row.next_rotation !== null ? { nextRotationDate: row.next_rotation } : {}),
    tags: tagsOf(row),
    versionIdsToStages: stages,
    createdDate: row.created,
  };
}

export function checkTags(tags: ResourceTag[]): void {
  for (const t of tags) {
    if (t.key.toLowerCase().startsWith("aws:")) throw invalidParameter("Invalid tag key: the aws: prefix is reserved for AWS use.");
  }
  if (dedupeTags(tags).length > MAX_TAGS) throw new BerthError(ErrorCode.LimitExceeded, `A secret can have at most ${MAX_TAGS} tags.`);
}

/** Later tags win over earlier ones with the same key; order of first appearance is kept. */
export function dedupeTags(tags: ResourceTag[]): ResourceTag[] {
  const byKey = new Map<string, string>();
  for (const t of tags) byKey.set(t.key, t.value);
  return [...byKey].map(([key, value]) => ({ key, value }));
}

const FILTER_KEYS = new Set(["description", "name", "tag-key", "tag-value", "primary-region", "owning-service", "all"]);

/** Whether a secret passes every filter (values of one filter OR'd; "!" values must all miss). */
export function matchesFilters(row: SecretRow, filters: NonNullable<ListSecretsQuery["filters"]>): boolean {
  const tags = tagsOf(row);
  return filters.every((filter) => {
    const positives = filter.values.filter((v) => !v.startsWith("!"));
    const negatives = filter.values.filter((v) => v.startsWith("!")).map((v) => v.slice(1));
    const hit = (value: string): boolean => matchOne(row, tags, filter.key, value);
    return (positives.length === 0 || positives.some(hit)) && !negatives.some(hit);
  });
}

export function checkFilters(filters: NonNullable<ListSecretsQuery["filters"]>): void {
  for (const f of filters) {
    if (!FILTER_KEYS.has(f.key)) throw new BerthError(ErrorCode.InvalidParameter, `Invalid filter key: ${f.key}.`);
    if (f.values.length === 0) throw new BerthError(ErrorCode.InvalidParameter, `Invalid filter values for key ${f.key}: at least one value is required.`);
  }
}

function matchOne(row: SecretRow, tags: ResourceTag[], key: string, value: string): boolean {
  switch (key) {
    case "name":
      return row.name.startsWith(value);
    case "description":
      return (row.description ?? "").toLowerCase().startsWith(value.toLowerCase());
    case "tag-key":
      return tags.some((t) => t.key.startsWith(value));
    case "tag-value":
      return tags.some((t) => t.value.startsWith(value));
    case "primary-region":
      return row.region.startsWith(value);
    case "owning-service":
      return false;
    default: {
      // "all": every word of the value must start some word of the secret's attributes.
      const haystack = [row.name, row.description ?? "", ...tags.flatMap((t) => [t.key, t.value])]
        .flatMap((text) => [text, ...text.split(/[^A-Za-z0-9]+/)])
        .map((w) => w.toLowerCase())
        .filter((w) => w.length > 0);
      const words = value.toLowerCase().split(/\s+/).filter((w) => w.length > 0);
      return words.every((w) => haystack.some((h) => h.startsWith(w)));
    }
  }
}

/** ListSecrets' order: by the query's sort key (created date by default), ties by row id. */
export function listOrder(query: ListSecretsQuery): (a: SecretRow, b: SecretRow) => number {
  const sign = query.sortOrder === "asc" ? 1 : -1;
  const by = query.sortBy ?? "created-date";
  const keyOf = (r: SecretRow): number | string =>
    by === "name" ? r.name : by === "last-accessed-date" ? (r.last_accessed ?? 0) : by === "last-changed-date" ? r.last_changed : r.created;
  return (a, b) => {
    const ka = keyOf(a);
    const kb = keyOf(b);
    const c = ka < kb ? -1 : ka > kb ? 1 : a.id - b.id;
    return c * sign;
  };
}

/** Page tokens: the offset into a stable ordering, opaque to the caller. */
export function encodeToken(offset: number): string {
  return Buffer.from(`berth:${offset}`).toString("base64");
}

export function decodeToken(token: string | undefined): number {
  if (token === undefined) return 0;
  const m = /^berth:(\d+)$/.exec(Buffer.from(token, "base64").toString("utf8"));
  if (!m) throw new BerthError(ErrorCode.InvalidNextToken, "The NextToken value is invalid.");
  return Number(m[1]);
}
