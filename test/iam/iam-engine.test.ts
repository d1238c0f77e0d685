// The IamEngine on a real SQLite file with a fake clock: AWS's refusal sentences, the roles
// Berth uses itself (isAllowed, issueRoleCredentials for ecs-tasks), AssumeRole's trust rules,
// temporary credentials at the API edge (session token required, refused once expired, purged),
// and refused calls that change nothing.
import { test } from "node:test";
import assert from "node:assert/strict";
import { readdirSync, rmSync, statSync } from "node:fs";
import { join } from "node:path";
import { SignatureV4 } from "@smithy/signature-v4";
import { createApi } from "../../src/api/router.ts";
import { stsService } from "../../src/api/sts/sts-service.ts";
import { FakeClock } from "../../src/core/clock.ts";
import { BerthError } from "../../src/core/errors.ts";
import { SequentialIds } from "../../src/core/ids.ts";
import { silentLogger } from "../../src/core/logger.ts";
import { SqliteIamEngine } from "../../src/iam/sqlite-iam-engine.ts";
import { credentialLookup, newIdentity, principalOf } from "../../src/server/identity.ts";
import { NodeSha256 } from "../support/signer.ts";
import { tempDir } from "../support/harness.ts";

const SECRETS_POLICY = (account: string) => `{"Version": "2012-10-17", "Statement": [
  {"Effect": "Allow", "Action": ["ssm:GetParameter", "ssm:GetParameters"],
   "Resource": "arn:aws:ssm:ap-south-1:${account}:parameter/prod/*"},
  {"Effect": "Allow", "Action": ["secretsmanager:GetSecretValue"],
   "Resource": "arn:aws:secretsmanager:ap-south-1:${account}:secret:prod/*"}]}`;
const trustOf = (principal: object) => JSON.stringify({ Version: "2012-10-17", Statement: [{ Effect: "Allow", Principal: principal, Action: "sts:AssumeRole" }] });

async function setup() {
  const dir = tempDir("berth-iam-");
  const clock = new FakeClock(Date.UTC(2026, 0, 1));
  const identity = newIdentity();
  const admin = principalOf(identity, identity.admin);
  const engine = new SqliteIamEngine({ path: join(dir, "iam.db"), accountId: identity.accountId, clock, adminArn: admin.arn });
  return {
    dir, clock, identity, admin, engine, account: identity.accountId,
    async close() {
      await engine.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

async function refusal(promise: Promise<unknown>): Promise<BerthError> {
  try {
    await promise;
  } catch (error) {
    assert.ok(error instanceof BerthError, `expected a BerthError, got ${String(error)}`);
    return error;
  }
  assert.fail("expected a refusal");
}

test("authorize refuses with AWS's sentence for implicit and explicit denies; the admin passes", async () => {
  const t = await setup();
  try {
    const bob = await t.engine.createUser({ userName: "bob" });
    await t.engine.putInlinePolicy({ kind: "user", name: "bob" }, "ecs", JSON.stringify({
      Version: "2012-10-17",
      Statement: [{ Effect: "Allow", Action: "ecs:*", Resource: "*" }, { Effect: "Deny", Action: "ecs:DeleteCluster", Resource: "*" }],
    }));
    await t.engine.authorize({ principalArn: bob.arn, action: "ecs:CreateCluster", resources: ["*"] });
    const implicit = await refusal(t.engine.authorize({ principalArn: bob.arn, action: "logs:CreateLogGroup", resources: ["*"] }));
    assert.equal(implicit.code, "AccessDenied", "implicit deny code");
    assert.equal(implicit.message, `User: ${bob.arn} is not authorized to perform: logs:CreateLogGroup on resource: * because no identity-based policy allows the logs:CreateLogGroup action`);
    const explicit = await refusal(t.engine.authorize({ principalArn: bob.arn, action: "ecs:DeleteCluster", resources: ["arn:aws:ecs:ap-south-1:1:cluster/a"] }));
    assert.equal(explicit.message, `User: ${bob.arn} is not authorized to perform: ecs:DeleteCluster on resource: arn:aws:ecs:ap-south-1:1:cluster/a with an explicit deny in an identity-based policy`);
    await t.engine.authorize({ principalArn: t.admin.arn, action: "iam:DeleteUser", resources: ["*"] });
    const stranger = await refusal(t.engine.authorize({ principalArn: `arn:aws:iam::${t.account}:user/nobody`, action: "ecs:ListClusters", resources: ["*"] }));
    assert.equal(stranger.code, "AccessDenied", "an unknown user has no policies");
  } finally {
    await t.close();
  }
});

test("isAllowed evaluates a role's inline and attached policies (the execution role case)", async () => {
  const t = await setup();
  try {
    const role = await t.engine.createRole({ roleName: "exec", assumeRolePolicyDocument: trustOf({ Service: "ecs-tasks.amazonaws.com" }) });
    const param = (path: string) => `arn:aws:ssm:ap-south-1:${t.account}:parameter/${path}`;
    assert.equal(await t.engine.isAllowed(role.arn, "ssm:GetParameters", param("prod/db")), false, "nothing before a policy");
    await t.engine.putInlinePolicy({ kind: "role", name: "exec" }, "secrets", SECRETS_POLICY(t.account));
    assert.equal(await t.engine.isAllowed(role.arn, "ssm:GetParameters", param("prod/db")), true, "prod parameter");
    assert.equal(await t.engine.isAllowed(role.arn, "ssm:GetParameters", param("staging/db")), false, "staging parameter");
    assert.equal(await t.engine.isAllowed(role.arn, "ecr:BatchGetImage", "*"), false, "no execution policy yet");
    await t.engine.attachPolicy({ kind: "role", name: "exec" }, "arn:aws:iam::aws:policy/service-role/AmazonECSTaskExecutionRolePolicy");
    assert.equal(await t.engine.isAllowed(role.arn, "ecr:BatchGetImage", "*"), true, "AWS managed policy attached");
    const policy = await t.engine.createPolicy({ policyName: "deny-prod", policyDocument: JSON.stringify({ Version: "2012-10-17", Statement: [{ Effect: "Deny", Action: "ssm:*", Resource: param("prod/*") }] }) });
    await t.engine.attachPolicy({ kind: "role", name: "exec" }, policy.arn);
    assert.equal(await t.engine.isAllowed(role.arn, "ssm:GetParameters", param("prod/db")), false, "managed deny wins");
    await t.engine.createPolicyVersion(policy.arn, JSON.stringify({ Version: "2012-10-17", Statement: [{ Effect: "Deny", Action: "ssm:*", Resource: param("other/*") }] }), true);
    assert.equal(await t.engine.isAllowed(role.arn, "ssm:GetParameters", param("prod/db")), true, "the new default version applies");
    assert.equal(await t.engine.roleExists(role.arn), true, "role exists");
    assert.equal(await t.engine.roleExists(`arn:aws:iam::${t.account}:role/ghost`), false, "no such role");
  } finally {
    await t.close();
  }
});

test("issueRoleCredentials honours the trust policy's service principal", async () => {
  const t = await setup();
  try {
    const task = await t.engine.createRole({ roleName: "task", assumeRolePolicyDocument: trustOf({ Service: "ecs-tasks.amazonaws.com" }) });
    const ec2 = await t.engine.createRole({ roleName: "ec2", assumeRolePolicyDocument: trustOf({ Service: "ec2.amazonaws.com" }) });
    const creds = await t.engine.issueRoleCredentials(task.arn, "task-1", { durationSeconds: 3600, servicePrincipal: "ecs-tasks.amazonaws.com" });
    assert.match(creds.accessKeyId, /^ASIA[A-Z2-7]{16}$/, "temporary key id");
    assert.equal(creds.assumedRoleArn, `arn:aws:sts::${t.account}:assumed-role/task/task-1`, "session ARN");
    assert.equal(creds.expiration.getTime(), t.clock.now() + 3600_000, "expiry from the clock");
    const found = t.engine.credential(creds.accessKeyId);
    assert.equal(found?.sessionToken, creds.sessionToken, "lookup returns the token");
    assert.equal(found?.principal.userId, `${task.roleId}:task-1`, "session user id");
    const denied = await refusal(t.engine.issueRoleCredentials(ec2.arn, "task-1", { durationSeconds: 3600, servicePrincipal: "ecs-tasks.amazonaws.com" }));
    assert.equal(denied.code, "AccessDenied", "a role not trusting ecs-tasks");
  } finally {
    await t.close();
  }
});

test("AssumeRole: trusting the account needs the caller's permission; naming the caller does not", async () => {
  const t = await setup();
  try {
    const bob = await t.engine.createUser({ userName: "bob" });
    const ann = await t.engine.createUser({ userName: "ann" });
    const byAccount = await t.engine.createRole({ roleName: "by-account", assumeRolePolicyDocument: trustOf({ AWS: `arn:aws:iam::${t.account}:root` }) });
    const byName = await t.engine.createRole({ roleName: "by-name", assumeRolePolicyDocument: trustOf({ AWS: bob.arn }), maxSessionDuration: 7200 });
    const denied = await refusal(t.engine.assumeRole(bob.arn, { roleArn: byAccount.arn, roleSessionName: "s" }));
    assert.equal(denied.message, `User: ${bob.arn} is not authorized to perform: sts:AssumeRole on resource: ${byAccount.arn}`, "AWS's sentence");
    await t.engine.putInlinePolicy({ kind: "user", name: "bob" }, "assume", JSON.stringify({ Version: "2012-10-17", Statement: [{ Effect: "Allow", Action: "sts:AssumeRole", Resource: byAccount.arn }] }));
    const session = await t.engine.assumeRole(bob.arn, { roleArn: byAccount.arn, roleSessionName: "s" });
    assert.equal(session.assumedRoleArn, `arn:aws:sts::${t.account}:assumed-role/by-account/s`, "assumed");
    await t.engine.assumeRole(bob.arn, { roleArn: byName.arn, roleSessionName: "s", durationSeconds: 7200 });
    assert.equal((await refusal(t.engine.assumeRole(ann.arn, { roleArn: byName.arn, roleSessionName: "s" }))).code, "AccessDenied", "not named");
    const tooLong = await refusal(t.engine.assumeRole(bob.arn, { roleArn: byName.arn, roleSessionName: "s", durationSeconds: 7201 }));
    assert.equal(tooLong.message, "The requested DurationSeconds exceeds the MaxSessionDuration set for this role.", "duration cap");
    const chained = await refusal(t.engine.assumeRole(session.assumedRoleArn, { roleArn: byName.arn, roleSessionName: "c" }));
    assert.equal(chained.code, "AccessDenied", "a session of another role is not bob");
    await t.engine.assumeRole(t.admin.arn, { roleArn: byAccount.arn, roleSessionName: "admin" });
  } finally {
    await t.close();
  }
});

test("refused mutations change nothing; deletes wait for what hangs on the entity", async () => {
  const t = await setup();
  try {
    await t.engine.createRole({ roleName: "app", assumeRolePolicyDocument: trustOf({ Service: "ecs-tasks.amazonaws.com" }) });
    const good = JSON.stringify({ Version: "2012-10-17", Statement: [{ Effect: "Allow", Action: "s3:GetObject", Resource: "*" }] });
    await t.engine.putInlinePolicy({ kind: "role", name: "app" }, "p", good);
    const bad = await refusal(t.engine.putInlinePolicy({ kind: "role", name: "app" }, "p", '{"Version": "2012-10-17", "Statement": [{"Effect": "Allow"}]}'));
    assert.equal(bad.code, "MalformedPolicyDocument", "malformed");
    assert.equal(await t.engine.getInlinePolicy({ kind: "role", name: "APP" }, "p"), good, "old document kept (names ignore case)");
    const trust = await refusal(t.engine.updateAssumeRolePolicy("app", trustOf({ AWS: `arn:aws:iam::${t.account}:user/ghost` })));
    assert.equal(trust.message, `Invalid principal in policy: "AWS":"arn:aws:iam::${t.account}:user/ghost"`, "unknown principal");
    const conflict = await refusal(t.engine.deleteRole("app"));
    assert.equal(conflict.message, "Cannot delete entity, must delete policies first.", "inline policy blocks delete");
    assert.equal((await refusal(t.engine.createRole({ roleName: "APP", assumeRolePolicyDocument: trustOf({ Service: "ecs-tasks.amazonaws.com" }) }))).message, "Role with name APP already exists.");
    await t.engine.createUser({ userName: "bob" });
    await t.engine.createAccessKey("bob");
    await t.engine.createAccessKey("bob");
    assert.equal((await refusal(t.engine.createAccessKey("bob"))).message, "Cannot exceed quota for AccessKeysPerUser: 2");
    assert.equal((await refusal(t.engine.deleteUser("bob"))).message, "Cannot delete entity, must delete access keys first.");
    assert.equal((await t.engine.listAccessKeys("bob", {})).items.length, 2, "keys intact");
  } finally {
    await t.close();
  }
});

test("iam.db and its WAL files are readable by Berth's user only: they hold secret keys", async () => {
  const t = await setup();
  try {
    await t.engine.createUser({ userName: "bob" });
    await t.engine.createAccessKey("bob");
    const files = readdirSync(t.dir);
    assert.ok(files.includes("iam.db-wal"), `WAL file present: ${files.join(", ")}`);
    for (const f of files) assert.equal(statSync(join(t.dir, f)).mode & 0o777, 0o600, `${f} is 0600`);
  } finally {
    await t.close();
  }
});

// --- temporary credentials at the API edge -------------------------------------------------

async function callSts(handle: ReturnType<typeof createApi>, at: number, creds: { accessKeyId: string; secretAccessKey: string; sessionToken?: string }) {
  const body = "Action=GetCallerIdentity&Version=2011-06-15";
  const headers: Record<string, string> = { host: "sts.berth.local", "content-type": "application/x-www-form-urlencoded; charset=utf-8" };
  const signer = new SignatureV4({ credentials: creds, region: "ap-south-1", service: "sts", sha256: NodeSha256 });
  const signed = await signer.sign({ method: "POST", protocol: "http:", hostname: "sts.berth.local", path: "/", headers, body }, { signingDate: new Date(at) });
  return handle({ method: "POST", path: "/", query: "", headers: signed.headers as Record<string, string>, body: Buffer.from(body) });
}

test("temporary credentials need their session token and stop at expiry", async () => {
  const t = await setup();
  try {
    const handle = createApi({
      services: [stsService((arn) => (arn === t.admin.arn ? t.admin : t.engine.principal(arn)), t.engine)],
      credentials: credentialLookup(t.identity, t.engine),
      clock: t.clock,
      ids: new SequentialIds(),
      logger: silentLogger,
      iam: t.engine,
    });
    const role = await t.engine.createRole({ roleName: "r", assumeRolePolicyDocument: trustOf({ AWS: t.account }) });
    const c = await t.engine.assumeRole(t.admin.arn, { roleArn: role.arn, roleSessionName: "me", durationSeconds: 900 });
    const ok = await callSts(handle, t.clock.now(), c);
    assert.equal(ok.status, 200, ok.body);
    assert.match(ok.body, new RegExp(`<Arn>arn:aws:sts::${t.account}:assumed-role/r/me</Arn>`), "assumed-role ARN");
    assert.match(ok.body, new RegExp(`<UserId>${role.roleId}:me</UserId>`), "session user id");
    const noToken = await callSts(handle, t.clock.now(), { accessKeyId: c.accessKeyId, secretAccessKey: c.secretAccessKey });
    assert.equal(noToken.status, 403, noToken.body);
    assert.match(noToken.body, /<Code>InvalidClientTokenId<\/Code><Message>The security token included in the request is invalid.<\/Message>/, "no token");
    t.clock.advance(900_000);
    const expired = await callSts(handle, t.clock.now(), c);
    assert.equal(expired.status, 403, expired.body);
    assert.match(expired.body, /<Code>ExpiredToken<\/Code><Message>The security token included in the request is expired<\/Message>/, "expired");
    assert.match(expired.body, /xmlns="https:\/\/sts.amazonaws.com\/doc\/2011-06-15\/"/, "STS's error namespace");
    t.clock.advance(2 * 3600_000);
    await t.engine.issueRoleCredentials(role.arn, "later", { durationSeconds: 900 });
    assert.equal(t.engine.credential(c.accessKeyId), undefined, "long-expired credentials are purged");
  } finally {
    await t.close();
  }
});
