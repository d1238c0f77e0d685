// Pure helpers: the ECS valueFrom forms (as the ECS developer guide writes them), parameter
// names and ARNs, SecretId forms, and rotation schedules.
import assert from "node:assert/strict";
import { test } from "node:test";
import { ErrorCode, BerthError } from "../../src/core/errors.ts";
import { extractJsonKey, parseEcsSecretReference } from "../../src/domain/secret-references.ts";
import { parameterArn, parseParameterName, parseSecretId, splitSelector } from "../../src/domain/secrets.ts";
import { nextRotation } from "../../src/secrets/rotation-schedule.ts";

const SCOPE = { region: "us-west-2", accountId: "123456789012" };
const SECRET = "arn:aws:secretsmanager:us-west-2:123456789012:secret:appauthexample-AbCdEf";

test("ECS secrets valueFrom: Secrets Manager ARNs with the json-key:version-stage:version-id forms", () => {
  const table: [string, Record<string, unknown>][] = [
    [SECRET, {}],
    [`${SECRET}:username1::`, { jsonKey: "username1" }],
    [`${SECRET}::AWSPREVIOUS:`, { versionStage: "AWSPREVIOUS" }],
    [`${SECRET}:username1:AWSPREVIOUS:`, { jsonKey: "username1", versionStage: "AWSPREVIOUS" }],
    [`${SECRET}:::9d4cb84b-ad69-40c0-a0ab-cead36b967e8`, { versionId: "9d4cb84b-ad69-40c0-a0ab-cead36b967e8" }],
    [`${SECRET}:username1::9d4cb84b-ad69-40c0-a0ab-cead36b967e8`, { jsonKey: "username1", versionId: "9d4cb84b-ad69-40c0-a0ab-cead36b967e8" }],
    ["arn:aws:secretsmanager:us-west-2:123456789012:secret:prod/db-password", {}],
  ];
  for (const [valueFrom, extra] of table) {
    const ref = parseEcsSecretReference(valueFrom, { region: "eu-west-1", accountId: "999999999999" });
    const base = valueFrom.split(":").slice(0, 7).join(":");
    assert.deepEqual(
      ref,
      { service: "secretsmanager", resourceArn: base, action: "secretsmanager:GetSecretValue", region: "us-west-2", accountId: "123456789012", ...extra },
      valueFrom,
    );
  }
});

test("ECS secrets valueFrom: SSM parameter ARNs and names in the task's region and account", () => {
  assert.deepEqual(
    parseEcsSecretReference("arn:aws:ssm:us-east-2:111122223333:parameter/prod/db", SCOPE),
    { service: "ssm", resourceArn: "arn:aws:ssm:us-east-2:111122223333:parameter/prod/db", action: "ssm:GetParameters", region: "us-east-2", accountId: "111122223333", name: "/prod/db" },
    "hierarchical ARN",
  );
  assert.deepEqual(
    parseEcsSecretReference("arn:aws:ssm:us-east-2:111122223333:parameter/awsExampleParameter", SCOPE),
    {
      service: "ssm",
      resourceArn: "arn:aws:ssm:us-east-2:111122223333:parameter/awsExampleParameter",
      action: "ssm:GetParameters",
      region: "us-east-2",
      accountId: "111122223333",
      name: "awsExampleParameter",
    },
    "flat ARN",
  );
  assert.deepEqual(
    parseEcsSecretReference("/prod/db-password", SCOPE),
    { service: "ssm", resourceArn: "arn:aws:ssm:us-west-2:123456789012:parameter/prod/db-password", action: "ssm:GetParameters", region: "us-west-2", accountId: "123456789012", name: "/prod/db-password" },
    "name with a leading slash",
  );
  assert.equal(parseEcsSecretReference("db_password", SCOPE).resourceArn, "arn:aws:ssm:us-west-2:123456789012:parameter/db_password", "flat name");
  for (const bad of ["arn:aws:s3:::bucket/key", "not a name!", `${SECRET}:k:AWSCURRENT:some-id`, "arn:aws:secretsmanager:us-west-2:123456789012:secret:a:b:c:d:e"]) {
    assert.throws(() => parseEcsSecretReference(bad, SCOPE), (e: unknown) => e instanceof BerthError && e.code === ErrorCode.InvalidParameter, bad);
  }
});

test("json keys: strings as they are, other JSON as text, a clear error when absent", () => {
  assert.equal(extractJsonKey('{"a":"x","n":1,"o":{"k":true}}', "a", "s"), "x", "string");
  assert.equal(extractJsonKey('{"a":"x","n":1,"o":{"k":true}}', "o", "s"), '{"k":true}', "object");
  assert.throws(() => extractJsonKey('{"a":"x"}', "b", "prod/x"), /retrieved secret prod\/x from Secrets Manager did not contain json key b/, "absent");
  assert.throws(() => extractJsonKey("plain", "b", "prod/x"), /not valid JSON/, "not JSON");
});

test("parameter names, ARNs, selectors and SecretIds", () => {
  assert.equal(parameterArn(SCOPE, "/prod/db:3"), "arn:aws:ssm:us-west-2:123456789012:parameter/prod/db", "selector stripped");
  assert.equal(parameterArn(SCOPE, "db"), "arn:aws:ssm:us-west-2:123456789012:parameter/db", "flat");
  assert.deepEqual(parseParameterName(SCOPE, "arn:aws:ssm:eu-west-1:111122223333:parameter/a/b"), { scope: { region: "eu-west-1", accountId: "111122223333" }, name: "/a/b" }, "ARN");
  assert.deepEqual(splitSelector("/a:7"), { name: "/a", version: 7, selector: ":7" }, "version");
  assert.deepEqual(splitSelector("/a:live"), { name: "/a", label: "live", selector: ":live" }, "label");
  assert.equal(splitSelector("/a:1:2").invalid, true, "two selectors");
  assert.deepEqual(parseSecretId(SCOPE, SECRET), { scope: SCOPE, nameOrArnTail: "appauthexample-AbCdEf", isArn: true }, "full ARN");
  assert.deepEqual(parseSecretId(SCOPE, "prod/x"), { scope: SCOPE, nameOrArnTail: "prod/x", isArn: false }, "name");
});

test("rotation schedules: days, rate() and cron() give the next time after the last rotation", () => {
  const from = Date.UTC(2026, 0, 1, 10, 30); // a Thursday
  const h = 3_600_000;
  assert.equal(nextRotation({ automaticallyAfterDays: 30 }, from), from + 30 * 24 * h, "AutomaticallyAfterDays");
  assert.equal(nextRotation({ scheduleExpression: "rate(10 days)" }, from), from + 240 * h, "rate days");
  assert.equal(nextRotation({ scheduleExpression: "rate(4 hours)" }, from), from + 4 * h, "rate hours");
  assert.equal(nextRotation({ scheduleExpression: "cron(0 16 1,15 * ? *)" }, from), Date.UTC(2026, 0, 1, 16, 0), "same day 16:00");
  assert.equal(nextRotation({ scheduleExpression: "cron(0 8 1,15 * ? *)" }, from), Date.UTC(2026, 0, 15, 8, 0), "next 15th");
  assert.equal(nextRotation({ scheduleExpression: "cron(0 0 ? * MON *)" }, from), Date.UTC(2026, 0, 5), "next Monday");
  assert.equal(nextRotation({ scheduleExpression: "cron(30 2 ? * 1 *)" }, from), Date.UTC(2026, 0, 4, 2, 30), "day-of-week 1 is Sunday");
  assert.equal(nextRotation({ scheduleExpression: "cron(0 */6 * * ? *)" }, from), Date.UTC(2026, 0, 1, 12), "every six hours");
  assert.equal(nextRotation({ scheduleExpression: "cron(0 0 1 JAN ? 2027)" }, from), Date.UTC(2027, 0, 1), "month name and year");
  for (const bad of ["rate(1 hours)", "rate(2 weeks)", "cron(0 0 * * *)", "cron(61 0 ? * * *)", "every day"]) {
    assert.throws(() => nextRotation({ scheduleExpression: bad }, from), (e: unknown) => e instanceof BerthError && e.code === ErrorCode.InvalidParameter, bad);
  }
  assert.throws(() => nextRotation({ automaticallyAfterDays: 1, scheduleExpression: "rate(1 days)" }, from), /both/, "both");
});
