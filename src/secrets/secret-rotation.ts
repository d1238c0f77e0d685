/**
 * Secret rotation for the SecretsEngine: a secret's rotation settings, the one rotation in flight
 * per secret (`rotating_token`), the four RotationRunner steps and when a rotation is next due.
 * It never writes a secret's value (the rotation task does that, through the API) and never holds
 * a transaction open across a runner step, since each step calls back into this database.
 */
import type { Clock } from "../core/clock.ts";
import { BerthError, ErrorCode, invalidParameter } from "../core/errors.ts";
import type { IdSource } from "../core/ids.ts";
import type { Logger } from "../core/logger.ts";
import { AWSCURRENT, AWSPENDING, ROTATION_STEPS, type RotateSecretInput, type RotationRunner, type SecretRef, type SecretsScope } from "../domain/secrets.ts";
import { checkRotationRules, nextRotation } from "./rotation-schedule.ts";
import { rulesOf, secretRef, type SecretRow } from "./secret-rows.ts";
import type { SecretVersions } from "./secret-versions.ts";
import type { SecretsSql } from "./secrets-schema.ts";

const RETRY_FAILED_ROTATION_MS = 3_600_000;
const TASK_DEFINITION_ARN = /^arn:aws:ecs:[a-z0-9-]+:\d{12}:task-definition\/[A-Za-z0-9_-]{1,255}:\d+$/;

/** What rotation is given by the engine that owns it. */
export interface SecretRotationDeps {
  db: SecretsSql;
  versions: SecretVersions;
  clock: Clock;
  ids: IdSource;
  runner: RotationRunner;
  logger: Logger;
  /** The engine's lookup of a secret not marked for deletion; throws the engine's errors. */
  live(scope: SecretsScope, secretId: string): SecretRow;
  /** True once the engine is closed: a rotation that ends after that records nothing. */
  closed(): boolean;
}

const invalidRequest = (message: string): BerthError => new BerthError(ErrorCode.InvalidRequest, message);

/** A rotation needs a rotation ARN and no other rotation of the secret in flight. */
function checkCanStart(row: SecretRow, rotationArn: string | undefined): asserts rotationArn is string {
  if (rotationArn === undefined) throw invalidRequest("No Lambda rotation function ARN is associated with this secret.");
  if (row.rotating_token !== null) throw invalidRequest("A previous rotation isn't complete. That rotation will be reattempted.");
}

export class SecretRotation {
  private readonly db: SecretsSql;
  private readonly versions: SecretVersions;

  constructor(private readonly deps: SecretRotationDeps) {
    this.db = deps.db;
    this.versions = deps.versions;
    // A rotation in flight died with the previous process; let the next one start.
    this.db.sql("UPDATE secrets SET rotating_token = NULL WHERE rotating_token IS NOT NULL").run();
  }

  async rotateSecret(scope: SecretsScope, secretId: string, input: RotateSecretInput): Promise<SecretRef & { versionId?: string; done: Promise<void> }> {
    if (input.rotationRules) checkRotationRules(input.rotationRules);
    if (input.rotationLambdaArn !== undefined && !TASK_DEFINITION_ARN.test(input.rotationLambdaArn)) {
      throw invalidParameter(
        `RotationLambdaARN must name an ECS task definition in Berth (arn:aws:ecs:<region>:<account>:task-definition/<family>:<revision>), not ${input.rotationLambdaArn}.`,
      );
    }
    const immediately = input.rotateImmediately ?? true;
    const token = input.clientRequestToken ?? this.deps.ids.uuid();
    const started = this.db.tx(() => {
      const row = this.deps.live(scope, secretId);
      const rotationArn = input.rotationLambdaArn ?? row.rotation_arn ?? undefined;
      checkCanStart(row, rotationArn);
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
    return { ...secretRef(started.row), ...(immediately ? { versionId: token } : {}), done };
  }

  async cancelRotateSecret(scope: SecretsScope, secretId: string): Promise<SecretRef & { versionId?: string }> {
    return this.db.tx(() => {
      const row = this.deps.live(scope, secretId);
      this.db.sql("UPDATE secrets SET rotation_enabled = 0, next_rotation = NULL, last_changed = ? WHERE id = ?").run(this.deps.clock.now(), row.id);
      const pending = this.versions.holder(row.id, AWSPENDING);
      return { ...secretRef(row), ...(pending !== undefined && pending !== this.versions.holder(row.id, AWSCURRENT) ? { versionId: pending } : {}) };
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
      const row = this.deps.live(scope, secretId);
      checkCanStart(row, row.rotation_arn ?? undefined);
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
      if (this.deps.closed()) return;
      this.db.tx(() => {
        if (this.versions.holder(row.id, AWSCURRENT) !== token) {
          throw invalidRequest(`The rotation of ${row.name} did not finish: finishSecret did not move AWSCURRENT to version ${token}.`);
        }
        const now = this.deps.clock.now();
        const current = this.db.sql("SELECT rotation_rules FROM secrets WHERE id = ?").get(row.id) as { rotation_rules: string | null } | undefined;
        const rules = current?.rotation_rules ? JSON.parse(current.rotation_rules) : {};
        this.db
          .sql("UPDATE secrets SET last_rotated = ?, next_rotation = ?, rotating_token = NULL, last_changed = ? WHERE id = ?")
          .run(now, nextRotation(rules, now) ?? null, now, row.id);
        if (this.versions.holder(row.id, AWSPENDING) === token) this.versions.detachStage(row.id, AWSPENDING);
      });
    } catch (error) {
      if (!this.deps.closed()) {
        // A failed rotation is retried by the timer an hour later, not every minute.
        this.db
          .sql("UPDATE secrets SET rotating_token = NULL, next_rotation = ? WHERE id = ? AND rotating_token = ?")
          .run(this.deps.clock.now() + RETRY_FAILED_ROTATION_MS, row.id, token);
        this.deps.logger.warn("secret rotation failed", { secretArn: row.arn, error: error instanceof Error ? error.message : String(error) });
      }
      throw error;
    }
  }
}
