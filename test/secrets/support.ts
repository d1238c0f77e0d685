/**
 * Shared pieces for the secrets tests: an engine pair over a fresh file with a fake clock, and
 * a fake rotation function that behaves like AWS's standard single-user rotation template
 * (createSecret puts an AWSPENDING version, finishSecret moves AWSCURRENT to it).
 */
import { randomBytes } from "node:crypto";
import { join } from "node:path";
import { FakeClock } from "../../src/core/clock.ts";
import { BerthError } from "../../src/core/errors.ts";
import {
  AWSCURRENT,
  AWSPENDING,
  type RotationRunner,
  type RotationStep,
  type RotationStepRequest,
  type SecretsEngine,
} from "../../src/domain/secrets.ts";
import { openSecretsDatabase, type SecretsDatabase } from "../../src/secrets/secrets-database.ts";

export const SCOPE = { region: "ap-south-1", accountId: "123456789012" };

export class FakeRotationFunction implements RotationRunner {
  engine: SecretsEngine | undefined;
  readonly calls: RotationStepRequest[] = [];
  failAt: RotationStep | undefined;
  /** The value createSecret puts, per rotation. */
  next = (n: number): string => `rotated-${n}`;

  async runStep(request: RotationStepRequest): Promise<void> {
    this.calls.push(request);
    const engine = this.engine!;
    const scope = { region: request.region, accountId: request.accountId };
    const { secretArn: arn, clientRequestToken: token } = request;
    if (request.step === this.failAt) throw new Error(`${request.step} failed`);
    switch (request.step) {
      case "createSecret": {
        await engine.getSecretValue(scope, arn, { versionStage: AWSCURRENT });
        try {
          await engine.getSecretValue(scope, arn, { versionId: token, versionStage: AWSPENDING });
        } catch (error) {
          if (!(error instanceof BerthError)) throw error;
          const n = this.calls.filter((c) => c.step === "createSecret").length;
          await engine.putSecretValue(scope, arn, { clientRequestToken: token, value: { secretString: this.next(n) }, versionStages: [AWSPENDING] });
        }
        return;
      }
      case "setSecret":
        return;
      case "testSecret":
        await engine.getSecretValue(scope, arn, { versionId: token, versionStage: AWSPENDING });
        return;
      case "finishSecret": {
        const described = await engine.describeSecret(scope, arn);
        const current = Object.entries(described.versionIdsToStages).find(([, stages]) => stages.includes(AWSCURRENT))?.[0];
        if (current === token) return;
        await engine.updateSecretVersionStage(scope, arn, { versionStage: AWSCURRENT, moveToVersionId: token, ...(current ? { removeFromVersionId: current } : {}) });
        return;
      }
    }
  }
}

export interface Harness {
  db: SecretsDatabase;
  clock: FakeClock;
  rotation: FakeRotationFunction;
  path: string;
  key: Buffer;
}

export function openHarness(dir: string, key = randomBytes(32)): Harness {
  const clock = new FakeClock(Date.UTC(2026, 0, 1, 12));
  const rotation = new FakeRotationFunction();
  const path = join(dir, "secrets.db");
  const db = openSecretsDatabase({ path, masterKey: key, clock, runner: rotation });
  rotation.engine = db.secrets;
  return { db, clock, rotation, path, key };
}

/** Runs `fn` and returns the BerthError it throws (failing if it does not). */
export async function rejection(fn: () => Promise<unknown>): Promise<BerthError> {
  try {
    await fn();
  } catch (error) {
    if (error instanceof BerthError) return error;
    throw error;
  }
  throw new Error("expected the call to fail");
}
