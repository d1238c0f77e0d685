/**
 * A secret's versions and staging labels in `secret_versions` and `secret_stages`: sealing a value
 * as it is written (envelope.ts; AAD: the secret ARN and version id), opening it for a read,
 * moving labels, and pruning to 100 versions. It never stores or logs a value in the clear, and
 * it opens no transaction of its own: the engine calls it inside the operation's transaction.
 */
import type { Clock } from "../core/clock.ts";
import { BerthError, ErrorCode } from "../core/errors.ts";
import { AWSCURRENT, AWSPREVIOUS, type SecretValue, type SecretVersionEntry } from "../domain/secrets.ts";
import type { Envelope } from "./envelope.ts";
import type { SecretRow, VersionRow } from "./secret-rows.ts";
import type { SecretsSql } from "./secrets-schema.ts";

const MAX_VERSIONS = 100;

export class SecretVersions {
  constructor(
    private readonly db: SecretsSql,
    private readonly envelope: Envelope,
    private readonly clock: Clock,
  ) {}

  stagesOf(secret: number): Map<string, string[]> {
    const rows = this.db.sql("SELECT stage, version_id FROM secret_stages WHERE secret_id = ? ORDER BY stage").all(secret) as { stage: string; version_id: string }[];
    const out = new Map<string, string[]>();
    for (const r of rows) out.set(r.version_id, [...(out.get(r.version_id) ?? []), r.stage]);
    return out;
  }

  holder(secret: number, stage: string): string | undefined {
    const row = this.db.sql("SELECT version_id FROM secret_stages WHERE secret_id = ? AND stage = ?").get(secret, stage) as { version_id: string } | undefined;
    return row?.version_id;
  }

  version(secret: number, versionId: string): VersionRow | undefined {
    return this.db.sql("SELECT * FROM secret_versions WHERE secret_id = ? AND version_id = ?").get(secret, versionId) as VersionRow | undefined;
  }

  /* out: newest first; a version without a staging label only when `includeDeprecated`. */
  entries(secret: number, includeDeprecated: boolean): SecretVersionEntry[] {
    const stages = this.stagesOf(secret);
    return (this.db.sql("SELECT version_id, created, last_accessed FROM secret_versions WHERE secret_id = ? ORDER BY seq DESC").all(secret) as VersionRow[])
      .filter((v) => includeDeprecated || stages.has(v.version_id))
      .map((v) => ({
        versionId: v.version_id,
        versionStages: stages.get(v.version_id) ?? [],
        createdDate: v.created,
        ...(v.last_accessed !== null ? { lastAccessedDate: v.last_accessed } : {}),
      }));
  }

  open(arn: string, v: VersionRow): SecretValue {
    const plain = this.envelope.open(v.sealed, `secretsmanager\n${arn}\n${v.version_id}`);
    return v.kind === "string" ? { secretString: plain.toString("utf8") } : { secretBinary: new Uint8Array(plain) };
  }

  sameValue(arn: string, v: VersionRow, value: SecretValue): boolean {
    const stored = this.open(arn, v);
    if (value.secretString !== undefined) return stored.secretString === value.secretString;
    return stored.secretBinary !== undefined && value.secretBinary !== undefined && Buffer.from(stored.secretBinary).equals(Buffer.from(value.secretBinary));
  }

  /* Moves `stage` to `versionId`; moving AWSCURRENT labels the version it left AWSPREVIOUS. */
  attachStage(secret: number, stage: string, versionId: string): void {
    if (stage === AWSCURRENT) {
      const old = this.holder(secret, AWSCURRENT);
      if (old !== undefined && old !== versionId) this.setStage(secret, AWSPREVIOUS, old);
    }
    this.setStage(secret, stage, versionId);
  }

  detachStage(secret: number, stage: string): void {
    this.db.sql("DELETE FROM secret_stages WHERE secret_id = ? AND stage = ?").run(secret, stage);
  }

  /*
   * in: a live secret, a token and a value; out: the version (new, or the same token's identical
   * one); guard: the same token with another value is ResourceExists.
   */
  add(row: SecretRow, token: string, value: SecretValue, stages: readonly string[]): { versionId: string; versionStages: string[] } {
    const existing = this.version(row.id, token);
    if (existing) {
      if (!this.sameValue(row.arn, existing, value)) {
        throw new BerthError(ErrorCode.ResourceAlreadyExists, "You can't modify an existing version, you can only create a new version.");
      }
      return { versionId: token, versionStages: this.stagesOf(row.id).get(token) ?? [] };
    }
    const first = this.holder(row.id, AWSCURRENT) === undefined;
    const now = this.clock.now();
    const { kind, sealed } = this.seal(row.arn, token, value);
    const seq = (this.db.sql("SELECT COALESCE(MAX(seq), 0) + 1 AS n FROM secret_versions WHERE secret_id = ?").get(row.id) as { n: number }).n;
    this.db
      .sql("INSERT INTO secret_versions (secret_id, version_id, seq, kind, sealed, created) VALUES (?, ?, ?, ?, ?, ?)")
      .run(row.id, token, seq, kind, sealed, now);
    // The first version of a secret is AWSCURRENT whatever the request says.
    const labels = first && !stages.includes(AWSCURRENT) ? [...stages, AWSCURRENT] : stages;
    for (const stage of labels) this.attachStage(row.id, stage, token);
    this.db.sql("UPDATE secrets SET last_changed = ? WHERE id = ?").run(now, row.id);
    this.prune(row.id);
    return { versionId: token, versionStages: this.stagesOf(row.id).get(token) ?? [] };
  }

  private seal(arn: string, versionId: string, value: SecretValue): { kind: "string" | "binary"; sealed: Buffer } {
    const identity = `secretsmanager\n${arn}\n${versionId}`;
    if (value.secretString !== undefined) return { kind: "string", sealed: this.envelope.seal(Buffer.from(value.secretString, "utf8"), identity) };
    return { kind: "binary", sealed: this.envelope.seal(value.secretBinary!, identity) };
  }

  private setStage(secret: number, stage: string, versionId: string): void {
    this.db
      .sql("INSERT INTO secret_stages (secret_id, stage, version_id) VALUES (?, ?, ?) ON CONFLICT (secret_id, stage) DO UPDATE SET version_id = excluded.version_id")
      .run(secret, stage, versionId);
  }

  /* Keeps at most 100 versions: the oldest ones without a staging label go first. */
  private prune(secret: number): void {
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
}
