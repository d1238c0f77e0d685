/**
 * Secrets Manager rows and the pure rules over them: the describe shape (never a value), the
 * ListSecrets filters (prefix matches, "!" negation, the "all" word search) and page tokens.
 */
import { BerthError, ErrorCode } from "../core/errors.ts";
import type { ListSecretsQuery, ResourceTag, RotationRules, SecretSummary } from "../domain/secrets.ts";

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
