// Secrets Manager end to end: the AWS CLI and the JS SDK against a real server. Version stages
// after two PutSecretValue calls, delete/restore, AWS's errors for bad input (which changes
// nothing), no value in Describe/List, and no plaintext in secrets.db or its WAL.
import assert from "node:assert/strict";
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import {
  CreateSecretCommand,
  DescribeSecretCommand,
  GetSecretValueCommand,
  ListSecretsCommand,
  ResourceNotFoundException,
  RotateSecretCommand,
  SecretsManagerClient,
  TagResourceCommand,
  UntagResourceCommand,
  UpdateSecretCommand,
} from "@aws-sdk/client-secrets-manager";
import { REGION, type TestServer, aws, startTestServer } from "../support/harness.ts";

describe("Secrets Manager API", () => {
  let server: TestServer;
  let client: SecretsManagerClient;
  const secretText = `s3cr3t-${process.pid}-${Date.now()}`;
  before(async () => {
    server = await startTestServer();
    client = new SecretsManagerClient({
      endpoint: server.url,
      region: REGION,
      credentials: { accessKeyId: server.identity.admin.accessKeyId, secretAccessKey: server.identity.admin.secretAccessKey },
      maxAttempts: 1,
    });
  });
  after(async () => server.close());

  test("AWS CLI: create, two put-secret-value calls, AWSCURRENT and AWSPREVIOUS, describe without the value", async () => {
    const created = await aws(server, ["secretsmanager", "create-secret", "--name", "prod/db-password", "--secret-string", `${secretText}-1`, "--description", "db"]);
    assert.equal(created.code, 0, created.stderr);
    assert.match(created.json.ARN, new RegExp(`^arn:aws:secretsmanager:${REGION}:${server.identity.accountId}:secret:prod/db-password-[A-Za-z0-9]{6}$`), "ARN");
    const v2 = await aws(server, ["secretsmanager", "put-secret-value", "--secret-id", "prod/db-password", "--secret-string", `${secretText}-2`]);
    const v3 = await aws(server, ["secretsmanager", "put-secret-value", "--secret-id", created.json.ARN, "--secret-string", `${secretText}-3`]);
    assert.deepEqual([v2.code, v3.code], [0, 0], v3.stderr);
    const current = await aws(server, ["secretsmanager", "get-secret-value", "--secret-id", "prod/db-password"]);
    assert.deepEqual([current.json.SecretString, current.json.VersionId, current.json.VersionStages], [`${secretText}-3`, v3.json.VersionId, ["AWSCURRENT"]], "current");
    const previous = await aws(server, ["secretsmanager", "get-secret-value", "--secret-id", "prod/db-password", "--version-stage", "AWSPREVIOUS"]);
    assert.deepEqual([previous.json.SecretString, previous.json.VersionId], [`${secretText}-2`, v2.json.VersionId], "previous");
    const described = await aws(server, ["secretsmanager", "describe-secret", "--secret-id", "prod/db-password"]);
    assert.deepEqual(described.json.VersionIdsToStages, { [v3.json.VersionId]: ["AWSCURRENT"], [v2.json.VersionId]: ["AWSPREVIOUS"] }, "stages");
    assert.equal(described.json.Description, "db", "description");
    const listed = await aws(server, ["secretsmanager", "list-secrets", "--filters", "Key=name,Values=prod/"]);
    assert.deepEqual(listed.json.SecretList.map((s: { Name: string }) => s.Name), ["prod/db-password"], "list by name prefix");
    assert.equal(`${described.stdout}${listed.stdout}`.includes(secretText), false, "no value in describe or list output");
  });

  test("AWS CLI: delete refuses reads with AWS's message; restore brings the secret back", async () => {
    await aws(server, ["secretsmanager", "create-secret", "--name", "tmp/a", "--secret-string", "x"]);
    const bad = await aws(server, ["secretsmanager", "delete-secret", "--secret-id", "tmp/a", "--recovery-window-in-days", "3"]);
    assert.notEqual(bad.code, 0, "window 3 refused");
    assert.match(bad.stderr, /InvalidParameterException.*between 7 and 30 days/, bad.stderr);
    const deleted = await aws(server, ["secretsmanager", "delete-secret", "--secret-id", "tmp/a", "--recovery-window-in-days", "7"]);
    assert.equal(deleted.code, 0, deleted.stderr);
    assert.ok(typeof deleted.json.DeletionDate === "string", "DeletionDate");
    const refused = await aws(server, ["secretsmanager", "get-secret-value", "--secret-id", "tmp/a"]);
    assert.match(refused.stderr, /InvalidRequestException.*You can't perform this operation on the secret because it was marked for deletion\./, refused.stderr);
    const restored = await aws(server, ["secretsmanager", "restore-secret", "--secret-id", "tmp/a"]);
    assert.equal(restored.code, 0, restored.stderr);
    const read = await aws(server, ["secretsmanager", "get-secret-value", "--secret-id", "tmp/a"]);
    assert.equal(read.json.SecretString, "x", "readable again");
    const forced = await aws(server, ["secretsmanager", "delete-secret", "--secret-id", "tmp/a", "--force-delete-without-recovery"]);
    assert.equal(forced.code, 0, forced.stderr);
    const gone = await aws(server, ["secretsmanager", "describe-secret", "--secret-id", "tmp/a"]);
    assert.match(gone.stderr, /ResourceNotFoundException.*Secrets Manager can't find the specified secret\./, gone.stderr);
  });

  test("bad input gets AWS's exception and changes nothing", async () => {
    const both = await aws(server, ["secretsmanager", "create-secret", "--name", "bad/both", "--secret-string", "a", "--secret-binary", "YQ=="]);
    assert.match(both.stderr, /InvalidParameterException/, both.stderr);
    const badName = await aws(server, ["secretsmanager", "create-secret", "--name", "bad name!", "--secret-string", "a"]);
    assert.match(badName.stderr, /ValidationException.*Invalid name/, badName.stderr);
    const exists = await aws(server, ["secretsmanager", "create-secret", "--name", "prod/db-password", "--secret-string", "other"]);
    assert.match(exists.stderr, /ResourceExistsException.*already exists/, exists.stderr);
    const listed = await aws(server, ["secretsmanager", "list-secrets", "--filters", "Key=name,Values=bad"]);
    assert.deepEqual(listed.json.SecretList, [], "nothing created");
    const current = await aws(server, ["secretsmanager", "get-secret-value", "--secret-id", "prod/db-password"]);
    assert.equal(current.json.SecretString, `${secretText}-3`, "the existing secret is unchanged");
    const tooLong = await aws(server, ["secretsmanager", "get-random-password", "--password-length", "5000"]);
    assert.match(tooLong.stderr, /ValidationException/, tooLong.stderr);
  });

  test("SDK: binary secrets, tags, UpdateSecret, a missing secret, and RotateSecret's check of the task definition ARN", async () => {
    const bytes = new Uint8Array([0, 1, 2, 250, 255]);
    await client.send(new CreateSecretCommand({ Name: "bin/key", SecretBinary: bytes, Tags: [{ Key: "team", Value: "core" }] }));
    const got = await client.send(new GetSecretValueCommand({ SecretId: "bin/key" }));
    assert.deepEqual(Array.from(got.SecretBinary ?? []), Array.from(bytes), "binary round trip");
    await client.send(new TagResourceCommand({ SecretId: "bin/key", Tags: [{ Key: "env", Value: "prod" }] }));
    await client.send(new UntagResourceCommand({ SecretId: "bin/key", TagKeys: ["team"] }));
    const updated = await client.send(new UpdateSecretCommand({ SecretId: "bin/key", Description: "now a string", SecretString: "text" }));
    assert.ok(updated.VersionId, "a new version");
    const described = await client.send(new DescribeSecretCommand({ SecretId: "bin/key" }));
    assert.deepEqual(described.Tags, [{ Key: "env", Value: "prod" }], "tags");
    assert.equal(described.Description, "now a string", "description");
    assert.ok(described.CreatedDate instanceof Date && described.LastChangedDate instanceof Date, "dates");
    const byTag = await client.send(new ListSecretsCommand({ Filters: [{ Key: "tag-key", Values: ["env"] }] }));
    assert.deepEqual(byTag.SecretList?.map((s) => s.Name), ["bin/key"], "tag-key filter");
    await assert.rejects(client.send(new GetSecretValueCommand({ SecretId: "no/such" })), (e: unknown) => e instanceof ResourceNotFoundException, "typed not found");
    await assert.rejects(
      client.send(new RotateSecretCommand({ SecretId: "bin/key", RotationLambdaARN: "arn:aws:lambda:ap-south-1:123456789012:function:rotate" })),
      (e: Error) => e.name === "InvalidParameterException" && /task definition/.test(e.message),
      "a Lambda ARN is refused",
    );
    assert.equal((await client.send(new DescribeSecretCommand({ SecretId: "bin/key" }))).RotationEnabled, undefined, "rotation not configured");
  });

  test("the plaintext never reaches secrets.db or its WAL", () => {
    const path = join(server.dataDir, "secrets.db");
    const bytes = Buffer.concat([path, `${path}-wal`].filter((f) => existsSync(f)).map((f) => readFileSync(f)));
    assert.ok(bytes.length > 0, "the files exist");
    assert.equal(bytes.includes("prod/db-password"), true, "control: names are stored as text");
    assert.equal(bytes.includes(secretText), false, "no secret value in the files");
  });
});
