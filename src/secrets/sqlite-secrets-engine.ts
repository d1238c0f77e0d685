/**
 * The SecretsEngine on `<dataDir>/secrets.db` (opened by secrets-database.ts): secrets, their
 * tags, reads and writes of their values, deletion with a recovery window. Versions and staging
 * labels (sealed by envelope.ts, never stored in the clear) are kept by secret-versions.ts and
 * rotation through the RotationRunner port by secret-rotation.ts. Each mutation is one
 * transaction on a WAL file with synchronous=FULL, so a resolved call is on disk. It never puts
 * a value in a message, and it owns only its file.
 */
import { randomInt } from "node:crypto";
import type { Clock } from "../core/clock.ts";
import { BerthError, ErrorCode, invalidParameter } from "../core/errors.ts";
import type { IdSource } from "../core/ids.ts";
import type { Logger } from "../core/logger.ts";
import {
  AWSCURRENT,
  checkSecretName,
  parseSecretId,
  secretArn,
  type CreateSecretInput,
  type ListSecretsQuery,
  type PutSecretValueInput,
  type RandomPasswordOptions,
  type ResourceTag,
  type RotateSecretInput,
  type RotationRunner,
  type SecretRef,
  type SecretSummary,
  type SecretValue,
  type SecretVersionEntry,
  type SecretVersionResult,
  type SecretsEngine,
  type SecretsScope,
  type UpdateSecretInput,
} from "../domain/secrets.ts";
import { type SecretsManagerReference, extractJsonKey } from "../domain/secret-references.ts";
import type { Envelope } from "./envelope.ts";
import { randomPassword } from "./random-password.ts";
import {
  DAY_MS,
  MAX_TAGS,
  checkFilters,
  checkTags,
  decodeToken,
  dedupeTags,
  encodeToken,
  listOrder,
  matchesFilters,
  secretRef,
  tagsOf,
  toSummary,
  type SecretRow,
  type VersionRow,
} from "./secret-rows.ts";
import { SecretRotation } from "./secret-rotation.ts";
import { SecretVersions } from "./secret-versions.ts";
import type { SecretsSql } from "./secrets-schema.ts";

const NOT_FOUND = "Secrets Manager can't find the specified secret.";
const MARKED_FOR_DELETION = "You can't perform this operation on the secret because it was marked for deletion.";
const SUFFIX_CHARS = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";

export interface SqliteSecretsEngineDeps {
  db: SecretsSql;
  envelope: Envelope;
  clock: Clock;
  ids: IdSource;
  runner: RotationRunner;
  logger: Logger;
  close(): Promise<void>;
}

const notFound = (): BerthError => new BerthError(ErrorCode.ResourceNotFound, NOT_FOUND);
const invalidRequest = (message: string): BerthError => new BerthError(ErrorCode.InvalidRequest, message);

export class SqliteSecretsEngine implements SecretsEngine {
  private readonly db: SecretsSql;
  private readonly versions: SecretVersions;
  private readonly rotation: SecretRotation;
  private closed = false;

  constructor(private readonly deps: SqliteSecretsEngineDeps) {
    const { db, envelope, clock, ids, runner, logger } = deps;
    this.db = db;
    this.versions = new SecretVersions(db, envelope, clock);
    const live = (scope: SecretsScope, secretId: string): SecretRow => this.live(scope, secretId);
    this.rotation = new SecretRotation({ db, versions: this.versions, clock, ids, runner, logger, live, closed: () => this.closed });
  }

  // --- lookups ------------------------------------------------------------------------------

  /* in: a name, full ARN or partial ARN; out: the row, deleted or not; guard: ResourceNotFound. */
  private find(scope: SecretsScope, secretId: string): SecretRow {
    const row = this.lookup(scope, secretId);
    if (!row) throw notFound();
    return row;
  }

  private lookup(scope: SecretsScope, secretId: string): SecretRow | undefined {
    const id = parseSecretId(scope, secretId);
    // An ARN may name another region (as ECS references do), never another account.
    if (id.scope.accountId !== scope.accountId) return undefined;
    if (id.isArn) {
      const exact = this.db.sql("SELECT * FROM secrets WHERE arn = ?").get(secretId) as SecretRow | undefined;
      if (exact) return exact;
    }
    return this.db
      .sql("SELECT * FROM secrets WHERE region = ? AND account = ? AND name = ?")
      .get(id.scope.region, id.scope.accountId, id.nameOrArnTail) as SecretRow | undefined;
  }

  private live(scope: SecretsScope, secretId: string): SecretRow {
    const row = this.find(scope, secretId);
    if (row.deleted !== null) throw invalidRequest(MARKED_FOR_DELETION);
    return row;
  }

  private token(given: string | undefined): string {
    return given ?? this.deps.ids.uuid();
  }

  // --- operations ---------------------------------------------------------------------------

  async createSecret(scope: SecretsScope, input: CreateSecretInput): Promise<SecretRef & { versionId?: string }> {
    checkSecretName(input.name);
    checkValue(input.value, true);
    const tags = input.tags ?? [];
    checkTags(tags);
    return this.db.tx(() => {
      const existing = this.db.sql("SELECT * FROM secrets WHERE region = ? AND account = ? AND name = ?").get(scope.region, scope.accountId, input.name) as
        | SecretRow
        | undefined;
      if (existing) {
        if (existing.deleted !== null) throw invalidRequest("You can't create this secret because a secret with this name is already scheduled for deletion.");
        // A retried CreateSecret (same token, same value) succeeds without a change.
        const version = input.clientRequestToken !== undefined ? this.versions.version(existing.id, input.clientRequestToken) : undefined;
        if (version && input.value && this.versions.sameValue(existing.arn, version, input.value)) return { ...secretRef(existing), versionId: version.version_id };
        throw new BerthError(ErrorCode.ResourceAlreadyExists, `The operation failed because the secret ${input.name} already exists.`);
      }
      const now = this.deps.clock.now();
      const arn = secretArn(scope, input.name, randomSuffix());
      const result = this.db
        .sql(
          `INSERT INTO secrets (region, account, name, arn, description, kms_key_id, created, last_changed, tags)
           VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
        )
        .run(scope.region, scope.accountId, input.name, arn, input.description ?? null, input.kmsKeyId ?? null, now, now, JSON.stringify(dedupeTags(tags)));
      const row = this.db.sql("SELECT * FROM secrets WHERE id = ?").get(result.lastInsertRowid) as SecretRow;
      if (!input.value) return secretRef(row);
      const { versionId } = this.versions.add(row, this.token(input.clientRequestToken), input.value, [AWSCURRENT]);
      return { ...secretRef(row), versionId };
    });
  }

  async getSecretValue(scope: SecretsScope, secretId: string, select: { versionId?: string; versionStage?: string } = {}): Promise<SecretVersionResult> {
    const row = this.live(scope, secretId);
    let versionId: string;
    if (select.versionId !== undefined) {
      versionId = select.versionId;
      if (!this.versions.version(row.id, versionId)) {
        throw new BerthError(ErrorCode.ResourceNotFound, `Secrets Manager can't find the specified secret value for VersionId: ${versionId}`);
      }
      if (select.versionStage !== undefined && this.versions.holder(row.id, select.versionStage) !== versionId) {
        throw invalidRequest("You provided a VersionStage that is not associated to the provided VersionId.");
      }
    } else {
      const stage = select.versionStage ?? AWSCURRENT;
      const holder = this.versions.holder(row.id, stage);
      if (holder === undefined) throw new BerthError(ErrorCode.ResourceNotFound, `Secrets Manager can't find the specified secret value for staging label: ${stage}`);
      versionId = holder;
    }
    const v = this.versions.version(row.id, versionId)!;
    const value = this.versions.open(row.arn, v);
    this.touch(row, v);
    return { ...secretRef(row), versionId, versionStages: this.versions.stagesOf(row.id).get(versionId) ?? [], createdDate: v.created, value };
  }

  /* Records the day of the read (AWS keeps only the date), writing at most once a day. */
  private touch(row: SecretRow, v: VersionRow): void {
    const day = Math.floor(this.deps.clock.now() / DAY_MS) * DAY_MS;
    if (row.last_accessed === day && v.last_accessed === day) return;
    this.db.tx(() => {
      this.db.sql("UPDATE secrets SET last_accessed = ? WHERE id = ?").run(day, row.id);
      this.db.sql("UPDATE secret_versions SET last_accessed = ? WHERE secret_id = ? AND version_id = ?").run(day, row.id, v.version_id);
    });
  }

  async putSecretValue(scope: SecretsScope, secretId: string, input: PutSecretValueInput): Promise<SecretRef & { versionId: string; versionStages: string[] }> {
    checkValue(input.value, false);
    return this.db.tx(() => {
      const row = this.live(scope, secretId);
      return { ...secretRef(row), ...this.versions.add(row, this.token(input.clientRequestToken), input.value, input.versionStages ?? [AWSCURRENT]) };
    });
  }

  async updateSecret(scope: SecretsScope, secretId: string, input: UpdateSecretInput): Promise<SecretRef & { versionId?: string }> {
    checkValue(input.value, true);
    return this.db.tx(() => {
      const row = this.live(scope, secretId);
      if (input.description !== undefined || input.kmsKeyId !== undefined) {
        this.db
          .sql("UPDATE secrets SET description = COALESCE(?, description), kms_key_id = COALESCE(?, kms_key_id), last_changed = ? WHERE id = ?")
          .run(input.description ?? null, input.kmsKeyId ?? null, this.deps.clock.now(), row.id);
      }
      if (!input.value) return secretRef(row);
      const { versionId } = this.versions.add(row, this.token(input.clientRequestToken), input.value, [AWSCURRENT]);
      return { ...secretRef(row), versionId };
    });
  }

  async updateSecretVersionStage(
    scope: SecretsScope,
    secretId: string,
    input: { versionStage: string; removeFromVersionId?: string; moveToVersionId?: string },
  ): Promise<SecretRef> {
    return this.db.tx(() => {
      const row = this.live(scope, secretId);
      const { versionStage: stage, removeFromVersionId: from, moveToVersionId: to } = input;
      const holder = this.versions.holder(row.id, stage);
      for (const id of [from, to]) {
        if (id !== undefined && !this.versions.version(row.id, id)) {
          throw new BerthError(ErrorCode.ResourceNotFound, `Secrets Manager can't find the specified secret value for VersionId: ${id}`);
        }
      }
      if (from !== undefined && holder !== from) {
        throw invalidParameter(`The staging label ${stage} is not attached to version ${from}, so it can't be removed from it.`);
      }
      if (to !== undefined) {
        if (holder !== undefined && holder !== to && from === undefined) {
          throw invalidParameter(
            `The parameter RemoveFromVersionId can't be empty. Staging label ${stage} is currently attached to version ${holder}, so you must explicitly reference that version in RemoveFromVersionId.`,
          );
        }
        const labels = this.versions.stagesOf(row.id).get(to) ?? [];
        if (!labels.includes(stage) && labels.length >= 20) throw new BerthError(ErrorCode.LimitExceeded, "A version can have at most 20 staging labels.");
        this.versions.attachStage(row.id, stage, to);
      } else {
        if (from === undefined) throw invalidParameter("You must specify MoveToVersionId, RemoveFromVersionId, or both.");
        if (stage === AWSCURRENT) throw invalidParameter("You can't remove the staging label AWSCURRENT from a version; move it to another version instead.");
        this.versions.detachStage(row.id, stage);
      }
      this.db.sql("UPDATE secrets SET last_changed = ? WHERE id = ?").run(this.deps.clock.now(), row.id);
      return secretRef(row);
    });
  }

  async describeSecret(scope: SecretsScope, secretId: string): Promise<SecretSummary> {
    const row = this.find(scope, secretId);
    return toSummary(row, Object.fromEntries(this.versions.stagesOf(row.id)));
  }

  async listSecrets(scope: SecretsScope, query: ListSecretsQuery): Promise<{ secrets: SecretSummary[]; nextToken?: string }> {
    const filters = query.filters ?? [];
    checkFilters(filters);
    const offset = decodeToken(query.nextToken);
    const limit = query.maxResults ?? 100;
    const rows = (this.db.sql("SELECT * FROM secrets WHERE region = ? AND account = ?").all(scope.region, scope.accountId) as SecretRow[])
      .filter((r) => (query.includePlannedDeletion || r.deleted === null) && matchesFilters(r, filters))
      .sort(listOrder(query));
    const page = rows.slice(offset, offset + limit);
    return {
      secrets: page.map((r) => toSummary(r, Object.fromEntries(this.versions.stagesOf(r.id)))),
      ...(offset + limit < rows.length ? { nextToken: encodeToken(offset + limit) } : {}),
    };
  }

  async listSecretVersionIds(
    scope: SecretsScope,
    secretId: string,
    query: { maxResults?: number; nextToken?: string; includeDeprecated?: boolean },
  ): Promise<SecretRef & { versions: SecretVersionEntry[]; nextToken?: string }> {
    const row = this.live(scope, secretId);
    const offset = decodeToken(query.nextToken);
    const limit = query.maxResults ?? 100;
    const versions = this.versions.entries(row.id, query.includeDeprecated === true);
    return {
      ...secretRef(row),
      versions: versions.slice(offset, offset + limit),
      ...(offset + limit < versions.length ? { nextToken: encodeToken(offset + limit) } : {}),
    };
  }

  async deleteSecret(
    scope: SecretsScope,
    secretId: string,
    options: { recoveryWindowInDays?: number; forceDeleteWithoutRecovery?: boolean },
  ): Promise<SecretRef & { deletionDate: number }> {
    const force = options.forceDeleteWithoutRecovery === true;
    const window = options.recoveryWindowInDays;
    if (force && window !== undefined) throw invalidParameter("You can't use ForceDeleteWithoutRecovery in conjunction with RecoveryWindowInDays.");
    if (window !== undefined && (window < 7 || window > 30)) throw invalidParameter("The RecoveryWindowInDays value must be between 7 and 30 days (inclusive).");
    return this.db.tx(() => {
      const row = this.find(scope, secretId);
      const now = this.deps.clock.now();
      if (force) {
        this.db.sql("DELETE FROM secrets WHERE id = ?").run(row.id);
        return { ...secretRef(row), deletionDate: now };
      }
      if (row.deleted !== null) throw invalidRequest(MARKED_FOR_DELETION);
      const deletionDate = now + (window ?? 30) * DAY_MS;
      this.db.sql("UPDATE secrets SET deleted = ?, deletion_date = ? WHERE id = ?").run(now, deletionDate, row.id);
      return { ...secretRef(row), deletionDate };
    });
  }

  async restoreSecret(scope: SecretsScope, secretId: string): Promise<SecretRef> {
    return this.db.tx(() => {
      const row = this.find(scope, secretId);
      this.db.sql("UPDATE secrets SET deleted = NULL, deletion_date = NULL, last_changed = ? WHERE id = ?").run(this.deps.clock.now(), row.id);
      return secretRef(row);
    });
  }

  async tagResource(scope: SecretsScope, secretId: string, tags: ResourceTag[]): Promise<void> {
    checkTags(tags);
    this.db.tx(() => {
      const row = this.live(scope, secretId);
      const merged = dedupeTags([...tagsOf(row), ...tags]);
      if (merged.length > MAX_TAGS) throw new BerthError(ErrorCode.LimitExceeded, `A secret can have at most ${MAX_TAGS} tags.`);
      this.db.sql("UPDATE secrets SET tags = ?, last_changed = ? WHERE id = ?").run(JSON.stringify(merged), this.deps.clock.now(), row.id);
    });
  }

  async untagResource(scope: SecretsScope, secretId: string, keys: string[]): Promise<void> {
    this.db.tx(() => {
      const row = this.live(scope, secretId);
      const kept = tagsOf(row).filter((t) => !keys.includes(t.key));
      this.db.sql("UPDATE secrets SET tags = ?, last_changed = ? WHERE id = ?").run(JSON.stringify(kept), this.deps.clock.now(), row.id);
    });
  }

  // --- rotation (secret-rotation.ts) --------------------------------------------------------

  rotateSecret(scope: SecretsScope, secretId: string, input: RotateSecretInput): Promise<SecretRef & { versionId?: string; done: Promise<void> }> {
    return this.rotation.rotateSecret(scope, secretId, input);
  }

  cancelRotateSecret(scope: SecretsScope, secretId: string): Promise<SecretRef & { versionId?: string }> {
    return this.rotation.cancelRotateSecret(scope, secretId);
  }

  dueRotations(nowMs: number): Promise<{ scope: SecretsScope; arn: string }[]> {
    return this.rotation.dueRotations(nowMs);
  }

  rotate(scope: SecretsScope, secretId: string): Promise<void> {
    return this.rotation.rotate(scope, secretId);
  }

  async purgeDeleted(nowMs: number): Promise<number> {
    return this.db.sql("DELETE FROM secrets WHERE deletion_date IS NOT NULL AND deletion_date <= ?").run(nowMs).changes;
  }

  getRandomPassword(options: RandomPasswordOptions): string {
    return randomPassword(options);
  }

  async resolveArn(scope: SecretsScope, secretId: string): Promise<string | undefined> {
    return this.lookup(scope, secretId)?.arn;
  }

  async readReference(reference: SecretsManagerReference): Promise<string> {
    const scope = { region: reference.region, accountId: reference.accountId };
    const result = await this.getSecretValue(scope, reference.resourceArn, {
      ...(reference.versionId !== undefined ? { versionId: reference.versionId } : {}),
      ...(reference.versionStage !== undefined ? { versionStage: reference.versionStage } : {}),
    });
    if (result.value.secretString === undefined) {
      if (reference.jsonKey !== undefined) throw invalidParameter(`retrieved secret ${result.name} from Secrets Manager is binary, so json key ${reference.jsonKey} cannot be read`);
      return Buffer.from(result.value.secretBinary!).toString("utf8");
    }
    return reference.jsonKey === undefined ? result.value.secretString : extractJsonKey(result.value.secretString, reference.jsonKey, result.name);
  }

  async close(): Promise<void> {
    this.closed = true;
    await this.deps.close();
  }
}

function randomSuffix(): string {
  let s = "";
  for (let i = 0; i < 6; i++) s += SUFFIX_CHARS[randomInt(SUFFIX_CHARS.length)];
  return s;
}

function checkValue(value: SecretValue | undefined, optional: boolean): void {
  if (value === undefined || (value.secretString === undefined && value.secretBinary === undefined)) {
    if (optional) return;
    throw invalidRequest("You must provide either SecretString or SecretBinary.");
  }
  if (value.secretString !== undefined && value.secretBinary !== undefined) {
    throw invalidParameter("You can't specify both a binary secret value and a string secret value in the same secret.");
  }
}
