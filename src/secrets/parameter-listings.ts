/**
 * Parameter Store's paged listings: GetParametersByPath, DescribeParameters (ParameterFilters
 * and the legacy Filters) and GetParameterHistory, with the metadata shape they return. It only
 * reads: every write stays in sqlite-parameter-store.ts, and a SecureString is opened only
 * through the store's `valueOf`, when the caller asked for decryption.
 */
import { BerthError, ErrorCode } from "../core/errors.ts";
import {
  parameterArn,
  type ParameterHistoryEntry,
  type ParameterMetadata,
  type ParameterStringFilter,
  type ParameterValue,
  type SecretsScope,
} from "../domain/secrets.ts";
import { labelsOf, tagsOf, type ParameterRow, type ParameterVersionRow } from "./parameter-rows.ts";
import { compileFilters, normalizePath, underPath, type FilterSubject } from "./parameter-rules.ts";
import { decodeToken, encodeToken } from "./secret-rows.ts";
import type { SecretsSql } from "./secrets-schema.ts";

/** The single-parameter reads the listings take from the store that owns them. */
export interface ParameterReads {
  /** in: a name or parameter ARN; guard: ParameterNotFound. */
  find(scope: SecretsScope, name: string): ParameterRow;
  latest(p: ParameterRow): ParameterVersionRow;
  /** The value as GetParameter returns it: a SecureString's plaintext only `withDecryption`. */
  valueOf(p: ParameterRow, v: ParameterVersionRow, withDecryption: boolean): string;
  toValue(p: ParameterRow, v: ParameterVersionRow, withDecryption: boolean): ParameterValue;
}

export class ParameterListings {
  constructor(
    private readonly db: SecretsSql,
    private readonly reads: ParameterReads,
  ) {}

  async getParametersByPath(
    scope: SecretsScope,
    query: { path: string; recursive?: boolean; filters?: ParameterStringFilter[]; withDecryption?: boolean; maxResults?: number; nextToken?: string },
  ): Promise<{ parameters: ParameterValue[]; nextToken?: string }> {
    const path = normalizePath(query.path);
    const test = compileFilters(query.filters ?? [], "by-path");
    const offset = decodeToken(query.nextToken);
    const limit = query.maxResults ?? 10;
    const matching = this.all(scope)
      .filter((p) => underPath(p.name, path, query.recursive === true))
      .map((p) => ({ p, v: this.reads.latest(p) }))
      .filter(({ p, v }) => test(this.subject(p, v)));
    return {
      parameters: matching.slice(offset, offset + limit).map(({ p, v }) => this.reads.toValue(p, v, query.withDecryption === true)),
      ...(offset + limit < matching.length ? { nextToken: encodeToken(offset + limit) } : {}),
    };
  }

  async describeParameters(
    scope: SecretsScope,
    query: { filters?: { key: string; values: string[] }[]; parameterFilters?: ParameterStringFilter[]; maxResults?: number; nextToken?: string },
  ): Promise<{ parameters: ParameterMetadata[]; nextToken?: string }> {
    if (query.filters?.length && query.parameterFilters?.length) {
      throw new BerthError(ErrorCode.Validation, "You can use either Filters or ParameterFilters in a single request.");
    }
    const test = compileFilters(query.parameterFilters ?? [], "describe");
    const legacy = query.filters ?? [];
    const offset = decodeToken(query.nextToken);
    const limit = query.maxResults ?? 10;
    const matching = this.all(scope)
      .map((p) => ({ p, v: this.reads.latest(p) }))
      .filter(({ p, v }) => legacy.every((f) => legacyMatch(f, p.name, v)) && test(this.subject(p, v)));
    return {
      parameters: matching.slice(offset, offset + limit).map(({ p, v }) => toMetadata(p, v)),
      ...(offset + limit < matching.length ? { nextToken: encodeToken(offset + limit) } : {}),
    };
  }

  async getParameterHistory(
    scope: SecretsScope,
    query: { name: string; withDecryption?: boolean; maxResults?: number; nextToken?: string },
  ): Promise<{ parameters: ParameterHistoryEntry[]; nextToken?: string }> {
    const row = this.reads.find(scope, query.name);
    const offset = decodeToken(query.nextToken);
    const limit = query.maxResults ?? 50;
    const versions = this.db.sql("SELECT * FROM parameter_versions WHERE parameter_id = ? ORDER BY version").all(row.id) as ParameterVersionRow[];
    return {
      parameters: versions.slice(offset, offset + limit).map((v) => {
        const { arn: _arn, ...meta } = toMetadata(row, v);
        return { ...meta, value: this.reads.valueOf(row, v, query.withDecryption === true), labels: labelsOf(v) };
      }),
      ...(offset + limit < versions.length ? { nextToken: encodeToken(offset + limit) } : {}),
    };
  }

  private subject(p: ParameterRow, v: ParameterVersionRow): FilterSubject {
    const labels = (this.db.sql("SELECT labels FROM parameter_versions WHERE parameter_id = ?").all(p.id) as { labels: string }[]).flatMap(
      (r) => JSON.parse(r.labels) as string[],
    );
    return { name: p.name, type: v.type, ...(v.key_id !== null ? { keyId: v.key_id } : {}), tier: v.tier, dataType: v.data_type, labels, tags: tagsOf(p) };
  }

  private all(scope: SecretsScope): ParameterRow[] {
    return this.db.sql("SELECT * FROM parameters WHERE region = ? AND account = ? ORDER BY name").all(scope.region, scope.accountId) as ParameterRow[];
  }
}

function toMetadata(p: ParameterRow, v: ParameterVersionRow): ParameterMetadata {
  return {
    name: p.name,
    arn: parameterArn({ region: p.region, accountId: p.account }, p.name),
    type: v.type,
    ...(v.key_id !== null ? { keyId: v.key_id } : {}),
    lastModifiedDate: v.modified,
    lastModifiedUser: v.modified_user,
    ...(v.description !== null ? { description: v.description } : {}),
    ...(v.allowed_pattern !== null ? { allowedPattern: v.allowed_pattern } : {}),
    version: v.version,
    tier: v.tier,
    policies: policiesOf(v.policies),
    dataType: v.data_type,
  };
}

function legacyMatch(filter: { key: string; values: string[] }, name: string, v: ParameterVersionRow): boolean {
  switch (filter.key) {
    case "Name":
      return filter.values.some((value) => name.startsWith(value));
    case "Type":
      return filter.values.includes(v.type);
    default:
      return v.key_id !== null && filter.values.includes(v.key_id);
  }
}

function policiesOf(text: string | null): ParameterMetadata["policies"] {
  if (text === null) return [];
  try {
    const parsed = JSON.parse(text) as unknown;
    if (!Array.isArray(parsed)) return [];
    return parsed.map((p: { Type?: string }) => ({ policyText: JSON.stringify(p), policyType: p?.Type ?? "Unknown", policyStatus: "Pending" }));
  } catch {
    return [];
  }
}
