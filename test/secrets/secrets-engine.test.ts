// The Secrets Manager engine over a real SQLite file with a fake clock: version stages,
// idempotency, deletion windows, rotation through a fake standard rotation function, and
// encryption at rest (the plaintext is never in the files; a moved ciphertext fails to open).
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { readFileSync, existsSync, rmSync } from "node:fs";
import { join } from "node:path";
import { afterEach, beforeEach, describe, test } from "node:test";
import Database from "better-sqlite3";
import { ErrorCode } from "../../src/core/errors.ts";
import { AWSCURRENT, AWSPENDING, AWSPREVIOUS } from "../../src/domain/secrets.ts";
import { openSecretsDatabase } from "../../src/secrets/secrets-database.ts";
import { tempDir } from "../support/harness.ts";
import { SCOPE, openHarness, rejection, type Harness } from "./support.ts";

const DAY = 86_400_000;

describe("secrets engine", () => {
  let dir: string;
  let h: Harness;
  beforeEach(() => {
    dir = tempDir("berth-secrets-");
    h = openHarness(dir);
  });
  afterEach(async () => {
    await h.db.close();
    rmSync(dir, { recursive: true, force: true });
  });

  test("a secret is found by name, full ARN and partial ARN; its ARN has a 6-character suffix", async () => {
    const created = await h.db.secrets.createSecret(SCOPE, { name: "prod/db-password", value: { secretString: "pw1" } });
    assert.match(created.arn, /^arn:aws:secretsmanager:ap-south-1:123456789012:secret:prod\/db-password-[A-Za-z0-9]{6}$/, "ARN shape");
    const partial = created.arn.slice(0, -7);
    for (const id of ["prod/db-password", created.arn, partial]) {
      const got = await h.db.secrets.getSecretValue(SCOPE, id);
      assert.equal(got.value.secretString, "pw1", `read by ${id}`);
      assert.deepEqual(got.versionStages, [AWSCURRENT], "the first version is AWSCURRENT");
    }
    const otherAccount = created.arn.replace(":123456789012:", ":210987654321:");
    assert.equal((await rejection(() => h.db.secrets.getSecretValue(SCOPE, otherAccount))).code, ErrorCode.ResourceNotFound, "no cross-account reads");
    const missing = await rejection(() => h.db.secrets.getSecretValue(SCOPE, "prod/other"));
    assert.equal(missing.code, ErrorCode.ResourceNotFound, "unknown secret");
    assert.equal(missing.message, "Secrets Manager can't find the specified secret.", "AWS wording");
  });

  test("two PutSecretValue calls: the newest is AWSCURRENT, the one before AWSPREVIOUS, the first deprecated", async () => {
    const v1 = await h.db.secrets.createSecret(SCOPE, { name: "app", value: { secretString: "one" }, clientRequestToken: "t".repeat(32) });
    const v2 = await h.db.secrets.putSecretValue(SCOPE, "app", { value: { secretString: "two" } });
    const v3 = await h.db.secrets.putSecretValue(SCOPE, "app", { value: { secretString: "three" } });
    const described = await h.db.secrets.describeSecret(SCOPE, "app");
    assert.deepEqual(described.versionIdsToStages, { [v3.versionId]: [AWSCURRENT], [v2.versionId]: [AWSPREVIOUS] }, "stages after two puts");
    assert.equal((await h.db.secrets.getSecretValue(SCOPE, "app", { versionStage: AWSPREVIOUS })).value.secretString, "two", "previous value");
    assert.equal((await h.db.secrets.getSecretValue(SCOPE, "app", { versionId: v1.versionId! })).value.secretString, "one", "by version id");
    const listed = await h.db.secrets.listSecretVersionIds(SCOPE, "app", {});
    assert.deepEqual(listed.versions.map((v) => v.versionId), [v3.versionId, v2.versionId], "deprecated versions hidden");
    const all = await h.db.secrets.listSecretVersionIds(SCOPE, "app", { includeDeprecated: true });
    assert.equal(all.versions.length, 3, "IncludeDeprecated lists all three");
  });

  test("PutSecretValue is idempotent by ClientRequestToken and refuses a different value for it, changing nothing", async () => {
    await h.db.secrets.createSecret(SCOPE, { name: "app", value: { secretString: "one" } });
    const token = "a".repeat(36);
    const first = await h.db.secrets.putSecretValue(SCOPE, "app", { clientRequestToken: token, value: { secretString: "two" } });
    const again = await h.db.secrets.putSecretValue(SCOPE, "app", { clientRequestToken: token, value: { secretString: "two" } });
    assert.equal(again.versionId, first.versionId, "same version");
    const before = await h.db.secrets.describeSecret(SCOPE, "app");
    const clash = await rejection(() => h.db.secrets.putSecretValue(SCOPE, "app", { clientRequestToken: token, value: { secretString: "other" } }));
    assert.equal(clash.code, ErrorCode.ResourceAlreadyExists, "different value for the token");
    assert.doesNotMatch(clash.message, /other|two/, "the message holds no value");
    assert.deepEqual((await h.db.secrets.describeSecret(SCOPE, "app")).versionIdsToStages, before.versionIdsToStages, "nothing changed");
    assert.equal((await h.db.secrets.getSecretValue(SCOPE, "app")).value.secretString, "two", "value unchanged");
  });

  test("at most 100 versions are kept: the oldest deprecated ones go, labelled ones stay", async () => {
    const first = await h.db.secrets.createSecret(SCOPE, { name: "many", value: { secretString: "v0" } });
    await h.db.secrets.updateSecretVersionStage(SCOPE, "many", { versionStage: "KEEP", moveToVersionId: first.versionId! });
    const ids: string[] = [first.versionId!];
    for (let i = 1; i <= 104; i++) ids.push((await h.db.secrets.putSecretValue(SCOPE, "many", { value: { secretString: `v${i}` } })).versionId);
    const all = await h.db.secrets.listSecretVersionIds(SCOPE, "many", { includeDeprecated: true });
    assert.equal(all.versions.length, 100, "100 versions kept");
    const kept = new Set(all.versions.map((v) => v.versionId));
    assert.ok(kept.has(first.versionId!), "the labelled first version stays");
    assert.deepEqual([1, 2, 3, 4, 5].map((i) => kept.has(ids[i]!)), [false, false, false, false, false], "the oldest deprecated ones went");
    assert.ok(kept.has(ids[104]!) && kept.has(ids[103]!), "current and previous stay");
  });

  test("VersionStages: a put to AWSPENDING leaves AWSCURRENT alone; UpdateSecretVersionStage moves labels as AWS does", async () => {
    const v1 = await h.db.secrets.createSecret(SCOPE, { name: "app", value: { secretString: "one" } });
    const pending = await h.db.secrets.putSecretValue(SCOPE, "app", { value: { secretString: "two" }, versionStages: [AWSPENDING] });
    assert.deepEqual(pending.versionStages, [AWSPENDING], "only AWSPENDING");
    assert.equal((await h.db.secrets.getSecretValue(SCOPE, "app")).value.secretString, "one", "current unchanged");
    const refused = await rejection(() => h.db.secrets.updateSecretVersionStage(SCOPE, "app", { versionStage: AWSCURRENT, moveToVersionId: pending.versionId }));
    assert.equal(refused.code, ErrorCode.InvalidParameter, "moving AWSCURRENT needs RemoveFromVersionId");
    await h.db.secrets.updateSecretVersionStage(SCOPE, "app", { versionStage: AWSCURRENT, moveToVersionId: pending.versionId, removeFromVersionId: v1.versionId! });
    const stages = (await h.db.secrets.describeSecret(SCOPE, "app")).versionIdsToStages;
    assert.deepEqual(stages[pending.versionId]?.sort(), [AWSCURRENT, AWSPENDING], "current moved");
    assert.deepEqual(stages[v1.versionId!], [AWSPREVIOUS], "the old one is AWSPREVIOUS");
  });

  test("DeleteSecret: a recovery window refuses reads, RestoreSecret brings it back, the purge removes it after the window", async () => {
    await h.db.secrets.createSecret(SCOPE, { name: "app", value: { secretString: "one" } });
    const bad = await rejection(() => h.db.secrets.deleteSecret(SCOPE, "app", { recoveryWindowInDays: 6 }));
    assert.equal(bad.message, "The RecoveryWindowInDays value must be between 7 and 30 days (inclusive).", "window range");
    const deleted = await h.db.secrets.deleteSecret(SCOPE, "app", { recoveryWindowInDays: 7 });
    assert.equal(deleted.deletionDate, h.clock.now() + 7 * DAY, "DeletionDate");
    const refused = await rejection(() => h.db.secrets.getSecretValue(SCOPE, "app"));
    assert.equal(refused.code, ErrorCode.InvalidRequest, "reads refused");
    assert.equal(refused.message, "You can't perform this operation on the secret because it was marked for deletion.", "AWS wording");
    const recreate = await rejection(() => h.db.secrets.createSecret(SCOPE, { name: "app" }));
    assert.equal(recreate.code, ErrorCode.InvalidRequest, "name still taken");
    assert.equal((await h.db.secrets.listSecrets(SCOPE, {})).secrets.length, 0, "hidden from ListSecrets");
    assert.equal((await h.db.secrets.listSecrets(SCOPE, { includePlannedDeletion: true })).secrets.length, 1, "IncludePlannedDeletion");
    await h.db.secrets.restoreSecret(SCOPE, "app");
    assert.equal((await h.db.secrets.getSecretValue(SCOPE, "app")).value.secretString, "one", "restored");
    await h.db.secrets.deleteSecret(SCOPE, "app", {});
    h.clock.advance(29 * DAY);
    assert.equal(await h.db.secrets.purgeDeleted(h.clock.now()), 0, "not yet");
    h.clock.advance(DAY);
    assert.equal(await h.db.secrets.purgeDeleted(h.clock.now()), 1, "purged after 30 days");
    assert.equal((await rejection(() => h.db.secrets.describeSecret(SCOPE, "app"))).code, ErrorCode.ResourceNotFound, "gone");
    await h.db.secrets.createSecret(SCOPE, { name: "app", value: { secretString: "again" } });
    await h.db.secrets.deleteSecret(SCOPE, "app", { forceDeleteWithoutRecovery: true });
    assert.equal((await rejection(() => h.db.secrets.describeSecret(SCOPE, "app"))).code, ErrorCode.ResourceNotFound, "forced delete is immediate");
  });

  test("ListSecrets filters by name prefix, tag, description and negation, and pages", async () => {
    await h.db.secrets.createSecret(SCOPE, { name: "prod/db", description: "Database login", tags: [{ key: "team", value: "data" }] });
    h.clock.advance(1000);
    await h.db.secrets.createSecret(SCOPE, { name: "prod/api", tags: [{ key: "team", value: "web" }] });
    h.clock.advance(1000);
    await h.db.secrets.createSecret(SCOPE, { name: "staging/db" });
    const names = async (filters: { key: string; values: string[] }[]): Promise<string[]> =>
      (await h.db.secrets.listSecrets(SCOPE, { filters, sortOrder: "asc" })).secrets.map((s) => s.name);
    assert.deepEqual(await names([{ key: "name", values: ["prod/"] }]), ["prod/db", "prod/api"], "name prefix");
    assert.deepEqual(await names([{ key: "name", values: ["!prod/"] }]), ["staging/db"], "negation");
    assert.deepEqual(await names([{ key: "tag-value", values: ["web"] }]), ["prod/api"], "tag value");
    assert.deepEqual(await names([{ key: "description", values: ["database"] }]), ["prod/db"], "description, case-insensitive");
    assert.deepEqual(await names([{ key: "all", values: ["db"] }]), ["prod/db", "staging/db"], "all");
    const page1 = await h.db.secrets.listSecrets(SCOPE, { maxResults: 2 });
    assert.deepEqual(page1.secrets.map((s) => s.name), ["staging/db", "prod/api"], "newest first by default");
    const page2 = await h.db.secrets.listSecrets(SCOPE, { maxResults: 2, nextToken: page1.nextToken! });
    assert.deepEqual(page2.secrets.map((s) => s.name), ["prod/db"], "second page");
    assert.equal(page2.nextToken, undefined, "no token on the last page");
  });

  test("rotation runs the four steps in order through the runner and records the dates; due rotations come back on schedule", async () => {
    const v1 = await h.db.secrets.createSecret(SCOPE, { name: "app", value: { secretString: "initial" } });
    const taskDef = "arn:aws:ecs:ap-south-1:123456789012:task-definition/rotator:3";
    const started = await h.db.secrets.rotateSecret(SCOPE, "app", { rotationLambdaArn: taskDef, rotationRules: { automaticallyAfterDays: 7 } });
    await started.done;
    assert.deepEqual(h.rotation.calls.map((c) => c.step), ["createSecret", "setSecret", "testSecret", "finishSecret"], "the standard four steps");
    assert.ok(h.rotation.calls.every((c) => c.clientRequestToken === started.versionId && c.rotationArn === taskDef && c.secretArn === v1.arn), "one token per rotation");
    const current = await h.db.secrets.getSecretValue(SCOPE, "app");
    assert.equal(current.value.secretString, "rotated-1", "the new value is current");
    assert.equal(current.versionId, started.versionId, "the token is the new version");
    assert.equal((await h.db.secrets.getSecretValue(SCOPE, "app", { versionStage: AWSPREVIOUS })).value.secretString, "initial", "the old one is previous");
    const described = await h.db.secrets.describeSecret(SCOPE, "app");
    assert.equal(described.rotationEnabled, true, "RotationEnabled");
    assert.equal(described.lastRotatedDate, h.clock.now(), "LastRotatedDate");
    assert.equal(described.nextRotationDate, h.clock.now() + 7 * DAY, "NextRotationDate");
    assert.deepEqual(await h.db.secrets.dueRotations(h.clock.now() + 6 * DAY), [], "not due yet");
    h.clock.advance(7 * DAY);
    const due = await h.db.secrets.dueRotations(h.clock.now());
    assert.deepEqual(due, [{ scope: SCOPE, arn: v1.arn }], "due after seven days");
    await h.db.secrets.rotate(due[0]!.scope, due[0]!.arn);
    assert.equal((await h.db.secrets.getSecretValue(SCOPE, "app")).value.secretString, "rotated-2", "rotated again");
    assert.deepEqual(await h.db.secrets.dueRotations(h.clock.now()), [], "rescheduled");
  });

  test("a failed rotation step leaves AWSCURRENT where it was and lets the next rotation start", async () => {
    await h.db.secrets.createSecret(SCOPE, { name: "app", value: { secretString: "initial" } });
    h.rotation.failAt = "testSecret";
    const started = await h.db.secrets.rotateSecret(SCOPE, "app", {
      rotationLambdaArn: "arn:aws:ecs:ap-south-1:123456789012:task-definition/rotator:1",
      rotationRules: { scheduleExpression: "rate(10 days)" },
    });
    await assert.rejects(started.done, /testSecret failed/, "done rejects");
    assert.equal((await h.db.secrets.getSecretValue(SCOPE, "app")).value.secretString, "initial", "current unchanged");
    assert.equal((await h.db.secrets.describeSecret(SCOPE, "app")).lastRotatedDate, undefined, "no LastRotatedDate");
    h.rotation.failAt = undefined;
    const retry = await h.db.secrets.rotateSecret(SCOPE, "app", {});
    await retry.done;
    assert.equal((await h.db.secrets.getSecretValue(SCOPE, "app")).value.secretString, "rotated-2", "the next rotation succeeds");
    const bad = await rejection(() => h.db.secrets.rotateSecret(SCOPE, "app", { rotationLambdaArn: "arn:aws:lambda:ap-south-1:123456789012:function:f" }));
    assert.equal(bad.code, ErrorCode.InvalidParameter, "a Lambda ARN is not a task definition");
    const cron = await rejection(() => h.db.secrets.rotateSecret(SCOPE, "app", { rotationRules: { scheduleExpression: "cron(0 16 1,15 * * *)" } }));
    assert.equal(cron.code, ErrorCode.InvalidParameter, "cron needs one '?'");
  });

  test("values are encrypted at rest: the plaintext is in neither secrets.db nor its WAL", async () => {
    const plaintext = `needle-${randomBytes(8).toString("hex")}`;
    await h.db.secrets.createSecret(SCOPE, { name: "app", value: { secretString: plaintext } });
    await h.db.secrets.putSecretValue(SCOPE, "app", { value: { secretBinary: Buffer.from(`${plaintext}-bin`) } });
    await h.db.parameters.putParameter(SCOPE, { name: "/prod/db", value: `${plaintext}-param`, type: "SecureString", user: "u" });
    // Control: a plain String parameter is stored as text, so the search does find text.
    await h.db.parameters.putParameter(SCOPE, { name: "/prod/plain", value: `control-${plaintext.slice(7)}`, type: "String", user: "u" });
    const bytes = Buffer.concat([h.path, `${h.path}-wal`].filter((f) => existsSync(f)).map((f) => readFileSync(f)));
    assert.equal(bytes.includes(`control-${plaintext.slice(7)}`), true, "the control value is found");
    assert.equal(bytes.includes(plaintext), false, "secrets.db and its WAL hold no secret plaintext");
    assert.equal((await h.db.parameters.getParameter(SCOPE, "/prod/db", true)).value, `${plaintext}-param`, "readable with the key");
  });

  test("a ciphertext moved to another row does not open, and a wrong master key is refused at start", async () => {
    await h.db.secrets.createSecret(SCOPE, { name: "a", value: { secretString: "value-a" } });
    await h.db.secrets.createSecret(SCOPE, { name: "b", value: { secretString: "value-b" } });
    await h.db.close();
    const raw = new Database(h.path);
    const sealed = raw.prepare("SELECT v.sealed FROM secret_versions v JOIN secrets s ON s.id = v.secret_id WHERE s.name = 'a'").get() as { sealed: Buffer };
    raw.prepare("UPDATE secret_versions SET sealed = ? WHERE secret_id = (SELECT id FROM secrets WHERE name = 'b')").run(sealed.sealed);
    raw.close();
    h.db = openSecretsDatabase({ path: h.path, masterKey: h.key, clock: h.clock });
    const swapped = await rejection(() => h.db.secrets.getSecretValue(SCOPE, "b"));
    assert.equal(swapped.code, ErrorCode.DecryptionFailure, "swapped ciphertext");
    assert.doesNotMatch(swapped.message, /value-/, "no value in the message");
    assert.equal((await h.db.secrets.getSecretValue(SCOPE, "a")).value.secretString, "value-a", "the original still opens");
    assert.throws(() => openSecretsDatabase({ path: h.path, masterKey: randomBytes(32), clock: h.clock }), /master key does not match/, "wrong key");
  });

  test("ECS references: json-key, version stage and a clear error for a missing key", async () => {
    const created = await h.db.secrets.createSecret(SCOPE, { name: "prod/creds", value: { secretString: '{"username":"admin","password":"pw","port":5432}' } });
    const read = (suffix: string): Promise<string> =>
      h.db.secrets.readReference({ service: "secretsmanager", resourceArn: created.arn, action: "secretsmanager:GetSecretValue", ...SCOPE, ...parseSuffix(suffix) });
    assert.equal(await read(""), '{"username":"admin","password":"pw","port":5432}', "whole value");
    assert.equal(await read("username"), "admin", "json key");
    assert.equal(await read("port"), "5432", "non-string json value");
    await h.db.secrets.putSecretValue(SCOPE, "prod/creds", { value: { secretString: '{"username":"root"}' } });
    assert.equal(await h.db.secrets.readReference({ service: "secretsmanager", resourceArn: created.arn, action: "secretsmanager:GetSecretValue", ...SCOPE, jsonKey: "username", versionStage: AWSPREVIOUS }), "admin", "stage");
    const missing = await rejection(() => read("nope"));
    assert.match(missing.message, /did not contain json key nope/, "clear message");
  });

  test("GetRandomPassword honours its options", async () => {
    const pw = h.db.secrets.getRandomPassword({ passwordLength: 64, excludePunctuation: true, excludeCharacters: "abc" });
    assert.equal(pw.length, 64, "length");
    assert.match(pw, /^[d-zA-Z0-9]+$/, "no punctuation, no a/b/c");
    assert.equal(h.db.secrets.getRandomPassword({}).length, 32, "default length 32");
    const digits = h.db.secrets.getRandomPassword({ excludeLowercase: true, excludeUppercase: true, excludePunctuation: true, passwordLength: 12 });
    assert.match(digits, /^\d{12}$/, "digits only");
    const each = h.db.secrets.getRandomPassword({ passwordLength: 4, includeSpace: false, requireEachIncludedType: true });
    assert.ok(/[a-z]/.test(each) && /[A-Z]/.test(each) && /\d/.test(each) && /[^A-Za-z0-9]/.test(each), `each type in ${each.length} chars`);
    assert.equal((await rejection(async () => h.db.secrets.getRandomPassword({ passwordLength: 3 }))).code, ErrorCode.InvalidParameter, "too short");
  });
});

function parseSuffix(jsonKey: string): { jsonKey?: string } {
  return jsonKey ? { jsonKey } : {};
}

test("the master key file is created once, 0600, and reused", async () => {
  const { loadMasterKey } = await import("../../src/secrets/master-key.ts");
  const { statSync } = await import("node:fs");
  const dir = tempDir("berth-key-");
  try {
    const first = loadMasterKey({ dataDir: dir });
    assert.equal(first.length, 32, "32 bytes");
    assert.equal(statSync(join(dir, "master.key")).mode & 0o777, 0o600, "mode 0600");
    assert.deepEqual(loadMasterKey({ dataDir: dir }), first, "reused");
    const hex = randomBytes(32).toString("hex");
    assert.deepEqual(loadMasterKey({ dataDir: dir, keyText: hex }), Buffer.from(hex, "hex"), "operator's hex key wins");
    const b64 = randomBytes(32).toString("base64");
    assert.deepEqual(loadMasterKey({ dataDir: dir, keyText: b64 }), Buffer.from(b64, "base64"), "base64 key");
    assert.throws(() => loadMasterKey({ dataDir: dir, keyText: "short" }), /must be 32 bytes/, "bad key text");
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
