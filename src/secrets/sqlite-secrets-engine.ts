/**
 * The SecretsEngine on `<dataDir>/secrets.db` (opened by secrets-database.ts): secrets, their
 * versions (sealed by envelope.ts, never stored in the clear), staging labels, deletion with a
 * recovery window, and rotation through the RotationRunner port. Each mutation is one
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
  AWSPENDING,
  AWSPREVIOUS,
  ROTATION_STEPS,
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
import { checkRotationRules, nextRotation } from "./rotation-schedule.ts";
import {
  DAY_MS,
  checkFilters,
  decodeToken,
  encodeToken,
  matchesFilters,
  rulesOf,
  tagsOf,
  toSummary,
  type SecretRow,
  type VersionRow,
} from "./secret-rows.ts";
import type { SecretsSql } from "./secrets-schema.ts";

const NOT_FOUND = "Secrets Manager can't find the specified secret.";
const MARKED_FOR_DELETION = "You can't perform this operation on the secret because it was marked for deletion.";
const MAX_VERSIONS = 100;
const MAX_TAGS = 50;
const RETRY_FAILED_ROTATION_MS = 3_600_000;
const SUFFIX_CHARS = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
const TASK_DEFINITION_ARN = /^arn:aws:ecs:[a-z0-9-]+:\d{12}:task-definition\/[A-Za-z0-9_-]{1,255}:\d+$/;

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
const ref = (row: SecretRow): SecretRef => ({ arn: row.arn, name: row.name });

export class SqliteSecretsEngine implements SecretsEngine {
  private readonly db: SecretsSql;
  private closed = false;

  constructor(private readonly deps: SqliteSecretsEngineDeps) {
    this.db = deps.db;
    // A rotation in flight died with the previous process; let the next one start.
    this.db.sql("UPDATE secrets SET rotating_token = NULL WHERE rotating_token IS NOT NULL").run();
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

  private stagesOf(secret: number): Map<string, string[]> {
    const rows = this.db.sql("SELECT stage, version_id FROM secret_stages WHERE secret_id = ? ORDER BY stage").all(secret) as { stage: string; version_id: string }[];
    const out = new Map<string, string[]>();
    for (const r of rows) out.set(r.version_id, [...(out.get(r.version_id) ?? []), r.stage]);
    return out;
  }

  private holder(secret: number, stage: string): string | undefined {
    const row = this.db.sql("SELECT version_id FROM secret_stages WHERE secret_id = ? AND stage = ?").get(secret, stage) as { version_id: string } | undefined;
    return row?.version_id;
  }

  private version(secret: number, versionId: string): VersionRow | undefined {
    return this.db.sql("SELECT * FROM secret_versions WHERE secret_id = ? AND version_id = ?").get(secret, versionId) as VersionRow | undefined;
  }

  // --- values -------------------------------------------------------------------------------

  private seal(arn: string, versionId: string, value: SecretValue): { kind: "string" | "binary"; sealed: Buffer } {
    const identity = `secretsmanager\n${arn}\n${versionId}`;
    if (value.secretString !== undefined) return { kind: "string", sealed: this.deps.envelope.seal(Buffer.from(value.secretString, "utf8"), identity) };
    return { kind: "binary", sealed: this.deps.envelope.seal(value.secretBinary!, identity) };
  }

  private open(arn: string, v: VersionRow): SecretValue {
    const plain = this.deps.envelope.open(v.sealed, `secretsmanager\n${arn}\n${v.version_id}`);
    return v.kind === "string" ? { secretString: plain.toString("utf8") } : { secretBinary: new Uint8Array(plain) };
  }

  private sameValue(arn: string, v: VersionRow, value: SecretValue): boolean {
    const stored = this.open(arn, v);
    if (value.secretString !== undefined) return stored.secretString === value.secretString;
    return stored.secretBinary !== undefined && value.secretBinary !== undefined && Buffer.from(stored.secretBinary).equals(Buffer.from(value.secretBinary));
  }

  /* Moves `stage` to `versionId`; moving AWSCURRENT labels the version it left AWSPREVIOUS. */
  private attachStage(secret: number, stage: string, versionId: string): void {
    if (stage === AWSCURRENT) {
      const old = this.holder(secret, AWSCURRENT);
      if (old !== undefined && old !== versionId) this.setStage(secret, AWSPREVIOUS, old);
    }
    this.setStage(secret, stage, versionId);
  }

  private setStage(secret: number, stage: string, versionId: string): void {
    this.db
      .sql("INSERT INTO secret_stages (secret_id, stage, version_id) VALUES (?, ?, ?) ON CONFLICT (secret_id, stage) DO UPDATE SET version_id = excluded.version_id")
      .run(secret, stage, versionId);
  }

  /*
   * in: a live secret, a token and a value; out: the version (new, or the same token's identical
   * one); guard: the same token with another value is ResourceExists. Runs inside a transaction.
   */
  private addVersion(row: SecretRow, token: string, value: SecretValue, stages: readonly string[]): { versionId: string; versionStages: string[] } {
    const existing = this.version(row.id, token);
    if (existing) {
      if (!this.sameValue(row.arn, existing, value)) {
        throw new BerthError(ErrorCode.ResourceAlreadyExists, "You can't modify an existing version, you can only create a new version.");
      }
      return { versionId: token, versionStages: this.stagesOf(row.id).get(token) ?? [] };
    }
    const first = this.holder(row.id, AWSCURRENT) === undefined;
    const now = this.deps.clock.now();
    const { kind, sealed } = this.seal(row.arn, token, value);
    const seq = (this.db.sql("SELECT COALESCE(MAX(seq), 0) + 1 AS n FROM secret_versions WHERE secret_id = ?").get(row.id) as { n: number }).n;
    this.db
      .sql("INSERT INTO secret_versions (secret_id, version_id, seq, kind, sealed, created) VALUES (?, ?, ?, ?, ?, ?)")
      .run(row.id, token, seq, kind, sealed, now);
    // The first version of a secret is AWSCURRENT whatever the request says.
    const labels = first && !stages.includes(AWSCURRENT) ? [...stages, AWSCURRENT] : stages;
    for (const stage of labels) this.attachStage(row.id, stage, token);
    this.db.sql("UPDATE secrets SET last_changed = ? WHERE id = ?").run(now, row.id);
    this.pruneVersions(row.id);
    return { versionId: token, versionStages: this.stagesOf(row.id).get(token) ?? [] };
  }

  /* Keeps at most 100 versions: the oldest ones without a staging label go first. */
  private pruneVersions(secret: number): void {
    const count = (this.db.sql("SELECT COUNT(*) AS n FROM secret_versions WHERE secret_id = ?").get(secret) as { n: number }).n;
    if (count <= MAX_VERSIONS) return;
    this.db
      .sql(
        `DELETE FROM secret_versions WHERE secret_id = ? AND version_id IN (
           SELECT v.version_id FROM secret_versions v WHERE v.secret_id = ?
             AND NOT EXISTS (SELECT 1 FROM secret_stages s WHERE s.secret_id = v.secret_id AND s.version_id = v.version_id)
           ORDER BY v.seq LIMIT ?)`,
      )
      .run(secret, secret, count - MAX_VERSIONS);
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
        const version = input.clientRequestToken !== undefined ? this.version(existing.id, input.clientRequestToken) : undefined;
        if (version && input.value && this.sameValue(existing.arn, version, input.value)) return { ...ref(existing), versionId: version.version_id };
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
      if (!input.value) return ref(row);
      const { versionId } = this.addVersion(row, this.token(input.clientRequestToken), input.value, [AWSCURRENT]);
      return { ...ref(row), versionId };
    });
  }

  async getSecretValue(scope: SecretsScope, secretId: string, select: { versionId?: string; versionStage?: string } = {}): Promise<SecretVersionResult> {
    const row = this.live(scope, secretId);
    let versionId: string;
    if (select.versionId !== undefined) {
      versionId = select.versionId;
      if (!this.version(row.id, versionId)) {
        throw new BerthError(ErrorCode.ResourceNotFound, `Secrets Manager can't find the specified secret value for VersionId: ${versionId}`);
      }
      if (select.versionStage !== undefined && this.holder(row.id, select.versionStage) !== versionId) {
        throw invalidRequest("You provided a VersionStage that is not associated to the provided VersionId.");
      }
    } else {
      const stage = select.versionStage ?? AWSCURRENT;
      const holder = this.holder(row.id, stage);
      if (holder === undefined) throw new BerthError(ErrorCode.ResourceNotFound, `Secrets Manager can't find the specified secret value for staging label: ${stage}`);
      versionId = holder;
    }
    const v = this.version(row.id, versionId)!;
    const value = this.open(row.arn, v);
    this.touch(row, v);
    return { ...ref(row), versionId, versionStages: this.stagesOf(row.id).get(versionId) ?? [], createdDate: v.created, value };
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
      return { ...ref(row), ...this.addVersion(row, this.token(input.clientRequestToken), input.value, input.versionStages ?? [AWSCURRENT]) };
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
      if (!input.value) return ref(row);
      const { versionId } = this.addVersion(row, this.token(input.clientRequestToken), input.value, [AWSCURRENT]);
      return { ...ref(row), versionId };
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
      const holder = this.holder(row.id, stage);
      for (const id of [from, to]) {
        if (id !== undefined && !this.version(row.id, id)) {
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
        const labels = this.stagesOf(row.id).get(to) ?? [];
        if (!labels.includes(stage) && labels.length >= 20) throw new BerthError(ErrorCode.LimitExceeded, "A version can have at most 20 staging labels.");
        this.attachStage(row.id, stage, to);
      } else {
        if (from === undefined) throw invalidParameter("You must specify MoveToVersionId, RemoveFromVersionId, or both.");
        if (stage === AWSCURRENT) throw invalidParameter("You can't remove the staging label AWSCURRENT from a version; move it to another version instead.");
        this.db.sql("DELETE FROM secret_stages WHERE secret_id = ? AND stage = ?").run(row.id, stage);
      }
      this.db.sql("UPDATE secrets SET last_changed = ? WHERE id = ?").run(this.deps.clock.now(), row.id);
      return ref(row);
    });
  }

  async describeSecret(scope: SecretsScope, secretId: string): Promise<SecretSummary> {
    const row = this.find(scope, secretId);
    return toSummary(row, Object.fromEntries(this.stagesOf(row.id)));
  }

  async listSecrets(scope: SecretsScope, query: ListSecretsQuery): Promise<{ secrets: SecretSummary[]; nextToken?: string }> {
    const filters = query.filters ?? [];
    checkFilters(filters);
    const offset = decodeToken(query.nextToken);
    const limit = query.maxResults ?? 100;
    const rows = (this.db.sql("SELECT * FROM secrets WHERE region = ? AND account = ?").all(scope.region, scope.accountId) as SecretRow[])
      .filter((r) => (query.includePlannedDeletion || r.deleted === null) && matchesFilters(r, filters))
      .sort(sorter(query));
    const page = rows.slice(offset, offset + limit);
    return {
      secrets: page.map((r) => toSummary(r, Object.fromEntries(this.stagesOf(r.id)))),
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
    const stages = this.stagesOf(row.id);
    const versions = (this.db.sql("SELECT version_id, created, last_accessed FROM secret_versions WHERE secret_id = ? ORDER BY seq DESC").all(row.id) as VersionRow[])
      .filter((v) => query.includeDeprecated || stages.has(v.version_id))
      .map((v) => ({
        versionId: v.version_id,
        versionStages: stages.get(v.version_id) ?? [],
        createdDate: v.created,
        ...(v.last_accessed !== null ? { lastAccessedDate: v.last_accessed } : {}),
      }));
    return {
      ...ref(row),
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
        return { ...ref(row), deletionDate: now };
      }
      if (row.deleted !== null) throw invalidRequest(MARKED_FOR_DELETION);
      const deletionDate = now + (window ?? 30) * DAY_MS;
      this.db.sql("UPDATE secrets SET deleted = ?, deletion_date = ? WHERE id = ?").run(now, deletionDate, row.id);
      return { ...ref(row), deletionDate };
    });
  }

  async restoreSecret(scope: SecretsScope, secretId: string): Promise<SecretRef> {
    return this.db.tx(() => {
      const row = this.find(scope, secretId);
      this.db.sql("UPDATE secrets SET deleted = NULL, deletion_date = NULL, last_changed = ? WHERE id = ?").run(this.deps.clock.now(), row.id);
      return ref(row);
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

  // --- rotation -----------------------------------------------------------------------------

  async rotateSecret(scope: SecretsScope, secretId: string, input: RotateSecretInput): Promise<SecretRef & { versionId?: string; done: Promise<void> }> {
    if (input.rotationRules) checkRotationRules(input.rotationRules);
    if (input.rotationLambdaArn !== undefined && !TASK_DEFINITION_ARN.test(input.rotationLambdaArn)) {
      throw invalidParameter(
        `RotationLambdaARN must name an ECS task definition in Berth (arn:aws:ecs:<region>:<account>:task-definition/<family>:<revision>), not ${input.rotationLambdaArn}.`,
      );
    }
    const immediately = input.rotateImmediately ?? true;
    const token = this.token(input.clientRequestToken);
    const started = this.db.tx(() => {
      const row = this.live(scope, secretId);
      const rotationArn = input.rotationLambdaArn ?? row.rotation_arn ?? undefined;
      if (rotationArn === undefined) throw invalidRequest("No Lambda rotation function ARN is associated with this secret.");
      if (row.rotating_token !== null) throw invalidRequest("A previous rotation isn't complete. That rotation will be reattempted.");
      const rules = input.rotationRules ?? rulesOf(row) ?? {};
      const next = immediately ? null : (nextRotation(rules, row.last_rotated ?? this.deps.clock.now()) ?? null);
      this.db
        .sql("UPDATE secrets SET rotation_enabled = 1, rotation_arn = ?, rotation_rules = ?, next_rotation = ?, rotating_token = ?, last_changed = ? WHERE id = ?")
        .run(rotationArn, JSON.stringify(rules), next, immediately ? token : null, this.deps.clock.now(), row.id);
      return { row, rotationArn };
    });
    const done = immediately ? this.runRotation(scope, started.row, token, started.rotationArn) : Promise.resolve();
    // The API does not wait for the steps; failures are logged by runRotation.
    done.catch(() => undefined);
    return { ...ref(started.row), ...(immediately ? { versionId: token } : {}), done };
  }

  async cancelRotateSecret(scope: SecretsScope, secretId: string): Promise<SecretRef & { versionId?: string }> {
    return this.db.tx(() => {
      const row = this.live(scope, secretId);
      this.db.sql("UPDATE secrets SET rotation_enabled = 0, next_rotation = NULL, last_changed = ? WHERE id = ?").run(this.deps.clock.now(), row.id);
      const pending = this.holder(row.id, AWSPENDING);
      return { ...ref(row), ...(pending !== undefined && pending !== this.holder(row.id, AWSCURRENT) ? { versionId: pending } : {}) };
    });
  }

  async dueRotations(nowMs: number): Promise<{ scope: SecretsScope; arn: string }[]> {
    const rows = this.db
      .sql(
        `SELECT region, account, arn FROM secrets
         WHERE rotation_enabled = 1 AND next_rotation <= ? AND deleted IS NULL AND rotating_token IS NULL AND rotation_arn IS NOT NULL
         ORDER BY next_rotation`,
      )
      .all(nowMs) as { region: string; account: string; arn: string }[];
    return rows.map((r) => ({ scope: { region: r.region, accountId: r.account }, arn: r.arn }));
  }

  async rotate(scope: SecretsScope, secretId: string): Promise<void> {
    const token = this.deps.ids.uuid();
    const row = this.db.tx(() => {
      const row = this.live(scope, secretId);
      if (row.rotation_arn === null) throw invalidRequest("No Lambda rotation function ARN is associated with this secret.");
      if (row.rotating_token !== null) throw invalidRequest("A previous rotation isn't complete. That rotation will be reattempted.");
      this.db.sql("UPDATE secrets SET rotating_token = ? WHERE id = ?").run(token, row.id);
      return row;
    });
    await this.runRotation(scope, row, token, row.rotation_arn!);
  }

  /*
   * Runs createSecret, setSecret, testSecret, finishSecret in order. Success requires that
   * finishSecret left AWSCURRENT on the new version; then LastRotatedDate and NextRotationDate
   * are recorded and AWSPENDING is dropped. Either way the in-flight mark is cleared.
   */
  private async runRotation(scope: SecretsScope, row: SecretRow, token: string, rotationArn: string): Promise<void> {
    try {
      for (const step of ROTATION_STEPS) {
        await this.deps.runner.runStep({ step, secretArn: row.arn, clientRequestToken: token, rotationArn, region: scope.region, accountId: scope.accountId });
      }
      if (this.closed) return;
      this.db.tx(() => {
        if (this.holder(row.id, AWSCURRENT) !== token) {
          throw invalidRequest(`The rotation of ${row.name} did not finish: finishSecret did not move AWSCURRENT to version ${token}.`);
        }
        const now = this.deps.clock.now();
        const current = this.db.sql("SELECT rotation_rules FROM secrets WHERE id = ?").get(row.id) as { rotation_rules: string | null } | undefined;
        const rules = current?.rotation_rules ? JSON.parse(current.rotation_rules) : {};
        this.db
          .sql("UPDATE secrets SET last_rotated = ?, next_rotation = ?, rotating_token = NULL, last_changed = ? WHERE id = ?")
          .run(now, nextRotation(rules, now) ?? null, now, row.id);
        if (this.holder(row.id, AWSPENDING) === token) this.db.sql("DELETE FROM secret_stages WHERE secret_id = ? AND stage = ?").run(row.id, AWSPENDING);
      });
    } catch (error) {
      if (!this.closed) {
        // A failed rotation is retried by the timer an hour later, not every minute.
        this.db
          .sql("UPDATE secrets SET rotating_token = NULL, next_rotation = ? WHERE id = ? AND rotating_token = ?")
          .run(this.deps.clock.now() + RETRY_FAILED_ROTATION_MS, row.id, token);
        this.deps.logger.warn("secret rotation failed", { secretArn: row.arn, error: error instanceof Error ? error.message : String(error) });
      }
      throw error;
    }
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

function checkTags(tags: ResourceTag[]): void {
  for (const t of tags) {
    if (t.key.toLowerCase().startsWith("aws:")) throw invalidParameter("Invalid tag key: the aws: prefix is reserved for AWS use.");
  }
  if (dedupeTags(tags).length > MAX_TAGS) throw new BerthError(ErrorCode.LimitExceeded, `A secret can have at most ${MAX_TAGS} tags.`);
}

/** Later tags win over earlier ones with the same key; order of first appearance is kept. */
function dedupeTags(tags: ResourceTag[]): ResourceTag[] {
  const byKey = new Map<string, string>();
  for (const t of tags) byKey.set(t.key, t.value);
  return [...byKey].map(([key, value]) => ({ key, value }));
}

function sorter(query: ListSecretsQuery): (a: SecretRow, b: SecretRow) => number {
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
