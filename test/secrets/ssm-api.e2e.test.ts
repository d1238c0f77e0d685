// Parameter Store end to end with the AWS CLI and the JS SDK: versions, labels, selectors,
// paths, SecureString opacity, history, deletes, AWS's errors; and the IAM resources both
// services name for each call.
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import {
  GetParameterCommand,
  GetParametersByPathCommand,
  ParameterNotFound,
  PutParameterCommand,
  SSMClient,
  paginateGetParametersByPath,
} from "@aws-sdk/client-ssm";
import { FakeClock } from "../../src/core/clock.ts";
import { secretsManagerService } from "../../src/api/secretsmanager/secretsmanager-service.ts";
import { ssmService } from "../../src/api/ssm/ssm-service.ts";
import { openSecretsDatabase } from "../../src/secrets/secrets-database.ts";
import { REGION, type TestServer, aws, startTestServer } from "../support/harness.ts";
import { randomBytes } from "node:crypto";

describe("SSM Parameter Store API", () => {
  let server: TestServer;
  let client: SSMClient;
  before(async () => {
    server = await startTestServer();
    client = new SSMClient({
      endpoint: server.url,
      region: REGION,
      credentials: { accessKeyId: server.identity.admin.accessKeyId, secretAccessKey: server.identity.admin.secretAccessKey },
      maxAttempts: 1,
    });
  });
  after(async () => server.close());

  test("AWS CLI: versions, labels, selectors and history", async () => {
    const put = (value: string, extra: string[] = []) => aws(server, ["ssm", "put-parameter", "--name", "/prod/app/url", "--value", value, ...extra]);
    assert.equal((await put("http://a", ["--type", "String", "--description", "the url"])).json.Version, 1, "v1");
    const exists = await put("http://b");
    assert.match(exists.stderr, /ParameterAlreadyExists.*set the overwrite option in the request to true/, exists.stderr);
    assert.equal((await put("http://b", ["--overwrite"])).json.Version, 2, "v2");
    const labeled = await aws(server, ["ssm", "label-parameter-version", "--name", "/prod/app/url", "--parameter-version", "1", "--labels", "blue"]);
    assert.deepEqual(labeled.json, { InvalidLabels: [], ParameterVersion: 1 }, labeled.stderr);
    const latest = await aws(server, ["ssm", "get-parameter", "--name", "/prod/app/url"]);
    assert.deepEqual([latest.json.Parameter.Value, latest.json.Parameter.Version], ["http://b", 2], "latest");
    assert.equal(latest.json.Parameter.ARN, `arn:aws:ssm:${REGION}:${server.identity.accountId}:parameter/prod/app/url`, "ARN");
    const byLabel = await aws(server, ["ssm", "get-parameter", "--name", "/prod/app/url:blue"]);
    assert.deepEqual([byLabel.json.Parameter.Value, byLabel.json.Parameter.Selector], ["http://a", ":blue"], "label selector");
    const byVersion = await aws(server, ["ssm", "get-parameter", "--name", "/prod/app/url:1"]);
    assert.equal(byVersion.json.Parameter.Value, "http://a", "version selector");
    const history = await aws(server, ["ssm", "get-parameter-history", "--name", "/prod/app/url"]);
    assert.deepEqual(
      history.json.Parameters.map((p: { Version: number; Labels: string[]; Description: string }) => [p.Version, p.Labels, p.Description]),
      [[1, ["blue"], "the url"], [2, [], "the url"]],
      "history keeps the description on overwrite",
    );
    const missingVersion = await aws(server, ["ssm", "get-parameter", "--name", "/prod/app/url:5"]);
    assert.match(missingVersion.stderr, /ParameterVersionNotFound/, missingVersion.stderr);
  });

  test("AWS CLI: SecureString is opaque without --with-decryption; by-path is recursive on request", async () => {
    const put = await aws(server, ["ssm", "put-parameter", "--name", "/prod/db/password", "--value", "pa55word", "--type", "SecureString"]);
    assert.equal(put.code, 0, put.stderr);
    await aws(server, ["ssm", "put-parameter", "--name", "/prod/db/host", "--value", "db.local", "--type", "String"]);
    const opaque = await aws(server, ["ssm", "get-parameter", "--name", "/prod/db/password"]);
    assert.equal(opaque.json.Parameter.Type, "SecureString", "type");
    assert.notEqual(opaque.json.Parameter.Value, "pa55word", "encrypted");
    const clear = await aws(server, ["ssm", "get-parameter", "--name", "/prod/db/password", "--with-decryption"]);
    assert.equal(clear.json.Parameter.Value, "pa55word", "decrypted");
    const oneLevel = await aws(server, ["ssm", "get-parameters-by-path", "--path", "/prod"]);
    assert.deepEqual(oneLevel.json.Parameters, [], "nothing directly under /prod");
    const recursive = await aws(server, ["ssm", "get-parameters-by-path", "--path", "/prod", "--recursive", "--with-decryption"]);
    assert.deepEqual(
      recursive.json.Parameters.map((p: { Name: string; Value: string }) => [p.Name, p.Value]),
      [["/prod/app/url", "http://b"], ["/prod/db/host", "db.local"], ["/prod/db/password", "pa55word"]],
      "recursive, decrypted",
    );
    const got = await aws(server, ["ssm", "get-parameters", "--names", "/prod/db/host", "/prod/nope"]);
    assert.deepEqual([got.json.Parameters.length, got.json.InvalidParameters], [1, ["/prod/nope"]], "InvalidParameters");
    const described = await aws(server, ["ssm", "describe-parameters", "--parameter-filters", "Key=Type,Values=SecureString"]);
    assert.deepEqual(described.json.Parameters.map((p: { Name: string }) => p.Name), ["/prod/db/password"], "describe filter");
    assert.equal(described.stdout.includes("pa55word"), false, "no value in describe");
  });

  test("AWS CLI: delete-parameter(s), and bad input changes nothing", async () => {
    await aws(server, ["ssm", "put-parameter", "--name", "tmp1", "--value", "1", "--type", "String"]);
    await aws(server, ["ssm", "put-parameter", "--name", "tmp2", "--value", "2", "--type", "String"]);
    const deleted = await aws(server, ["ssm", "delete-parameters", "--names", "tmp1", "tmp2", "tmp3"]);
    assert.deepEqual([deleted.json.DeletedParameters, deleted.json.InvalidParameters], [["tmp1", "tmp2"], ["tmp3"]], "DeleteParameters");
    const again = await aws(server, ["ssm", "delete-parameter", "--name", "tmp1"]);
    assert.match(again.stderr, /ParameterNotFound/, again.stderr);
    const noType = await aws(server, ["ssm", "put-parameter", "--name", "/new/x", "--value", "v"]);
    assert.match(noType.stderr, /ValidationException.*A parameter type is required/, noType.stderr);
    const deep = await aws(server, ["ssm", "put-parameter", "--name", `/${"a/".repeat(15)}b`, "--value", "v", "--type", "String"]);
    assert.match(deep.stderr, /HierarchyLevelLimitExceededException/, deep.stderr);
    const pattern = await aws(server, ["ssm", "put-parameter", "--name", "/new/y", "--value", "abc", "--type", "String", "--allowed-pattern", "^[0-9]+$"]);
    assert.match(pattern.stderr, /ParameterPatternMismatchException/, pattern.stderr);
    const reserved = await aws(server, ["ssm", "put-parameter", "--name", "ssm-x", "--value", "v", "--type", "String"]);
    assert.match(reserved.stderr, /ValidationException.*can't be prefixed with "aws" or "ssm"/, reserved.stderr);
    const listed = await aws(server, ["ssm", "get-parameters-by-path", "--path", "/new", "--recursive"]);
    assert.deepEqual(listed.json.Parameters, [], "nothing created");
  });

  test("SDK: typed errors and by-path pagination", async () => {
    for (let i = 0; i < 13; i++) await client.send(new PutParameterCommand({ Name: `/many/p${String(i).padStart(2, "0")}`, Value: `v${i}`, Type: "String" }));
    const first = await client.send(new GetParametersByPathCommand({ Path: "/many", MaxResults: 5 }));
    assert.equal(first.Parameters?.length, 5, "page size");
    assert.ok(first.NextToken, "a next token");
    const all: string[] = [];
    for await (const page of paginateGetParametersByPath({ client }, { Path: "/many" })) all.push(...(page.Parameters ?? []).map((p) => p.Name!));
    assert.equal(all.length, 13, "the paginator walks every page");
    assert.equal(new Set(all).size, 13, "no duplicates");
    await assert.rejects(client.send(new GetParameterCommand({ Name: "/many/none" })), (e: unknown) => e instanceof ParameterNotFound, "ParameterNotFound");
  });
});

test("IAM resources: the stored secret ARN, `secret:<name>` for an unknown one, one parameter ARN per name", async () => {
  const db = openSecretsDatabase({ path: ":memory:", masterKey: randomBytes(32), clock: new FakeClock() });
  try {
    const ctx = { scope: { partition: "aws", region: REGION, accountId: "123456789012" }, principalArn: "arn:aws:iam::123456789012:user/u" };
    const created = await db.secrets.createSecret({ region: REGION, accountId: "123456789012" }, { name: "prod/db-password", value: { secretString: "x" } });
    const sm = secretsManagerService(db.secrets).resources!;
    assert.deepEqual(await sm["GetSecretValue"]!(ctx, { SecretId: "prod/db-password" }), [created.arn], "name → full ARN");
    assert.deepEqual(await sm["GetSecretValue"]!(ctx, { SecretId: created.arn.slice(0, -7) }), [created.arn], "partial ARN → full ARN");
    assert.deepEqual(await sm["DescribeSecret"]!(ctx, { SecretId: "prod/other" }), [`arn:aws:secretsmanager:${REGION}:123456789012:secret:prod/other`], "unknown");
    assert.deepEqual(await sm["CreateSecret"]!(ctx, { Name: "prod/new" }), [`arn:aws:secretsmanager:${REGION}:123456789012:secret:prod/new`], "create");
    const ssm = ssmService(db.parameters).resources!;
    const arn = (n: string) => `arn:aws:ssm:${REGION}:123456789012:parameter${n}`;
    assert.deepEqual(await ssm["GetParameters"]!(ctx, { Names: ["/prod/a", "/staging/b:2", "flat"] }), [arn("/prod/a"), arn("/staging/b"), arn("/flat")], "one per name");
    assert.deepEqual(await ssm["GetParametersByPath"]!(ctx, { Path: "/prod/" }), [arn("/prod")], "the path's ARN");
    assert.deepEqual(await ssm["GetParameter"]!(ctx, { Name: "/prod/a:live" }), [arn("/prod/a")], "selector stripped");
  } finally {
    await db.close();
  }
});
