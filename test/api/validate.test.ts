import { test } from "node:test";
import assert from "node:assert/strict";
import { BerthError, ErrorCode } from "../../src/core/errors.ts";
import type { ServiceModel, ShapeModel } from "../../src/api/model/service-model.ts";
import { findViolations, validateInput } from "../../src/api/model/validate.ts";
import { ecsModel } from "../../src/api/models/ecs.model.ts";

const sample = () => ({
  family: "api-blue",
  networkMode: "awsvpc",
  requiresCompatibilities: ["FARGATE"],
  cpu: "512",
  memory: "1024",
  executionRoleArn: "arn:aws:iam::123456789012:role/ecsTaskExecutionRole",
  taskRoleArn: "arn:aws:iam::123456789012:role/appTaskRole",
  containerDefinitions: [
    {
      name: "web",
      image: "123456789012.dkr.ecr.ap-south-1.amazonaws.com/api:${GIT_SHA}",
      portMappings: [{ containerPort: 8080, protocol: "tcp" }],
      essential: true,
      linuxParameters: { initProcessEnabled: true },
      environment: [
        { name: "ENV", value: "prod" },
        { name: "LOG_LEVEL", value: "info" },
      ],
      secrets: [{ name: "DB_PASSWORD", valueFrom: "arn:aws:secretsmanager:ap-south-1:123456789012:secret:prod-db-password" }],
      healthCheck: {
        command: ["CMD-SHELL", "curl -fsS http://localhost:8080/health || exit 1"],
        interval: 15,
        timeout: 5,
        retries: 3,
        startPeriod: 20,
      },
      logConfiguration: {
        logDriver: "awslogs",
        options: { "awslogs-group": "/ecs/api", "awslogs-region": "ap-south-1", "awslogs-stream-prefix": "web" },
      },
    },
  ],
});

type Sample = ReturnType<typeof sample>;
type Json = Record<string, unknown>;

function rejects(model: ServiceModel, shape: string, value: unknown, code: ErrorCode, message: string): void {
  assert.throws(
    () => validateInput(model, shape, value),
    (err: unknown) => {
      assert.ok(err instanceof BerthError);
      assert.equal(err.code, code);
      assert.equal(err.message, message);
      return true;
    },
  );
}

const registerRejects = (input: unknown, code: ErrorCode, message: string) =>
  rejects(ecsModel, "RegisterTaskDefinitionRequest", input, code, message);

/** Applies `edit` to a fresh sample's first container definition. */
function withContainer(edit: (c: Json) => void): Sample {
  const input = sample();
  edit(input.containerDefinitions[0] as unknown as Json);
  return input;
}

test("the sample task definition is valid", () => {
  validateInput(ecsModel, "RegisterTaskDefinitionRequest", sample());
  assert.deepEqual(findViolations(ecsModel, "RegisterTaskDefinitionRequest", sample()), []);
});

test("a missing required member is reported in Coral's words", () => {
  const input: Partial<Sample> = sample();
  delete input.family;
  registerRejects(
    input,
    ErrorCode.Validation,
    "1 validation error detected: Value null at 'family' failed to satisfy constraint: Member must not be null",
  );
});

test("null counts as absent", () => {
  registerRejects(
    { ...sample(), family: null },
    ErrorCode.Validation,
    "1 validation error detected: Value null at 'family' failed to satisfy constraint: Member must not be null",
  );
  validateInput(ecsModel, "RegisterTaskDefinitionRequest", { ...sample(), networkMode: null, volumes: null });
});

test("several violations are counted and joined in model order", () => {
  registerRejects(
    {},
    ErrorCode.Validation,
    "2 validation errors detected: " +
      "Value null at 'family' failed to satisfy constraint: Member must not be null; " +
      "Value null at 'containerDefinitions' failed to satisfy constraint: Member must not be null",
  );
  registerRejects(
    { ...sample(), family: undefined, networkMode: "x" },
    ErrorCode.Validation,
    "2 validation errors detected: " +
      "Value null at 'family' failed to satisfy constraint: Member must not be null; " +
      "Value 'x' at 'networkMode' failed to satisfy constraint: Member must satisfy enum value set: [bridge, host, awsvpc, none]",
  );
});

test("an enum outside the value set", () => {
  registerRejects(
    { ...sample(), networkMode: "overlay" },
    ErrorCode.Validation,
    "1 validation error detected: Value 'overlay' at 'networkMode' failed to satisfy constraint: " +
      "Member must satisfy enum value set: [bridge, host, awsvpc, none]",
  );
  registerRejects(
    { ...sample(), requiresCompatibilities: ["FARGATE", "LAMBDA"] },
    ErrorCode.Validation,
    "1 validation error detected: Value 'LAMBDA' at 'requiresCompatibilities.2.member' failed to satisfy constraint: " +
      "Member must satisfy enum value set: [EC2, FARGATE, EXTERNAL, MANAGED_INSTANCES]",
  );
});

test("nested required members carry list paths", () => {
  registerRejects(
    withContainer((c) => {
      c["secrets"] = [{ name: "A", valueFrom: "x" }, { name: "B" }];
      c["environmentFiles"] = [{ value: "arn:aws:s3:::bucket/app.env" }];
    }),
    ErrorCode.Validation,
    "2 validation errors detected: " +
      "Value null at 'containerDefinitions.1.member.environmentFiles.1.member.type' failed to satisfy constraint: Member must not be null; " +
      "Value null at 'containerDefinitions.1.member.secrets.2.member.valueFrom' failed to satisfy constraint: Member must not be null",
  );
  registerRejects(
    withContainer((c) => {
      c["healthCheck"] = { interval: 5 };
      c["logConfiguration"] = { logDriver: "syslog2" };
    }),
    ErrorCode.Validation,
    "2 validation errors detected: " +
      "Value 'syslog2' at 'containerDefinitions.1.member.logConfiguration.logDriver' failed to satisfy constraint: " +
      "Member must satisfy enum value set: [json-file, syslog, journald, gelf, fluentd, awslogs, splunk, awsfirelens]; " +
      "Value null at 'containerDefinitions.1.member.healthCheck.command' failed to satisfy constraint: Member must not be null",
  );
});

test("type mismatches are Serialization errors at the first offence", () => {
  registerRejects(
    withContainer((c) => (c["cpu"] = "256")),
    ErrorCode.Serialization,
    "Unexpected value type at 'containerDefinitions.1.member.cpu': expected integer, got string",
  );
  registerRejects(
    withContainer((c) => (c["memory"] = 1.5)),
    ErrorCode.Serialization,
    "Unexpected value type at 'containerDefinitions.1.member.memory': expected integer, got number",
  );
  registerRejects(
    withContainer((c) => (c["essential"] = "true")),
    ErrorCode.Serialization,
    "Unexpected value type at 'containerDefinitions.1.member.essential': expected boolean, got string",
  );
  registerRejects(
    withContainer((c) => (c["logConfiguration"] = { logDriver: "awslogs", options: [] })),
    ErrorCode.Serialization,
    "Unexpected value type at 'containerDefinitions.1.member.logConfiguration.options': expected map, got array",
  );
  registerRejects(
    { ...sample(), containerDefinitions: "web" },
    ErrorCode.Serialization,
    "Unexpected value type at 'containerDefinitions': expected list, got string",
  );
  registerRejects([], ErrorCode.Serialization, "Unexpected value type in the request body: expected structure, got array");
  // The mismatch wins over violations found before it.
  registerRejects(
    { ...sample(), family: null, cpu: 512 },
    ErrorCode.Serialization,
    "Unexpected value type at 'cpu': expected string, got number",
  );
});

test("unknown members are ignored", () => {
  validateInput(ecsModel, "RegisterTaskDefinitionRequest", { ...sample(), extra: { deeply: ["nested"] }, constructor: 1 });
  validateInput(ecsModel, "ListClustersRequest", JSON.parse('{"__proto__": {"x": 1}, "toString": "no"}'));
});

test("sensitive values are never echoed", () => {
  const input = withContainer((c) => (c["environment"] = [{ name: "A", value: "hunter2" }, null]));
  registerRejects(
    input,
    ErrorCode.Validation,
    "1 validation error detected: Value null at 'containerDefinitions.1.member.environment.2.member' failed to satisfy constraint: Member must not be null",
  );
  const tags = Array.from({ length: 51 }, (_, i) => ({ key: `k${i}`, value: "v" }));
  const message = findViolations(ecsModel, "RegisterTaskDefinitionRequest", { ...sample(), tags })[0]?.message ?? "";
  assert.match(message, /^Value '\[\{key=k0, value=v\}, \{key=k1, value=v\}, .*\.\.\.' at 'tags' failed to satisfy constraint: Member must have length less than or equal to 50$/);
});

// ---- constraints, on small synthetic models ----------------------------------------------

function model(shapes: Record<string, ShapeModel>): ServiceModel {
  return {
    metadata: { apiVersion: "2020-01-01", protocol: "json", signingName: "demo", endpointPrefix: "demo", serviceId: "Demo" },
    operations: {},
    shapes,
  };
}

const demo = model({
  Input: {
    type: "structure",
    required: ["Name"],
    members: {
      Name: { shape: "Name" },
      Count: { shape: "Count" },
      Ratio: { shape: "Ratio" },
      Ids: { shape: "Ids" },
      Labels: { shape: "Labels" },
      Password: { shape: "Password" },
      Code: { shape: "Code" },
      Token: { shape: "Token" },
      Text: { shape: "Text" },
      At: { shape: "At" },
      Data: { shape: "Data" },
      Tags: { shape: "Tags" },
      Nested: { shape: "Input" },
      Vault: { shape: "Vault" },
      Passwords: { shape: "Passwords" },
    },
  },
  Name: { type: "string", min: 2, max: 8, pattern: "[a-z]+" },
  Count: { type: "integer", min: 1, max: 10 },
  Ratio: { type: "double", min: 0, max: 1 },
  Ids: { type: "list", member: { shape: "Name" }, min: 1, max: 2 },
  Labels: { type: "map", key: { shape: "Name" }, value: { shape: "Count" }, max: 2 },
  Password: { type: "string", min: 6, sensitive: true },
  Code: { type: "string", pattern: "(?i)all|[0-9]{12}" },
  Token: { type: "string", pattern: "[\\w+=,.@\\:-]*" },
  Text: { type: "string", pattern: "(?s).*" },
  At: { type: "timestamp" },
  Data: { type: "blob", max: 3 },
  Tags: { type: "list", member: { shape: "TagValue" } },
  Vault: { type: "structure", sensitive: true, members: { Pin: { shape: "Name" } } },
  Passwords: { type: "list", member: { shape: "Password" }, max: 1 },
  TagValue: { type: "string", pattern: "([\\p{L}\\p{Z}\\p{N}_.:/=+\\-@]*)" },
});

const demoRejects = (value: unknown, message: string) => rejects(demo, "Input", value, ErrorCode.Validation, message);
const demoAccepts = (value: unknown) => validateInput(demo, "Input", value);

test("string length and pattern, anchored to the whole value", () => {
  demoAccepts({ Name: "ab" });
  demoRejects(
    { Name: "a" },
    "1 validation error detected: Value 'a' at 'name' failed to satisfy constraint: Member must have length greater than or equal to 2",
  );
  demoRejects(
    { Name: "A-too-long" },
    "2 validation errors detected: " +
      "Value 'A-too-long' at 'name' failed to satisfy constraint: Member must have length less than or equal to 8; " +
      "Value 'A-too-long' at 'name' failed to satisfy constraint: Member must satisfy regular expression pattern: [a-z]+",
  );
  demoRejects(
    { Name: "abc1" },
    "1 validation error detected: Value 'abc1' at 'name' failed to satisfy constraint: Member must satisfy regular expression pattern: [a-z]+",
  );
});

test("numeric ranges print values as AWS does", () => {
  demoAccepts({ Name: "ab", Count: 10, Ratio: 0.5 });
  demoRejects(
    { Name: "ab", Count: 0, Ratio: 2 },
    "2 validation errors detected: " +
      "Value '0' at 'count' failed to satisfy constraint: Member must have value greater than or equal to 1; " +
      "Value '2.0' at 'ratio' failed to satisfy constraint: Member must have value less than or equal to 1",
  );
});

test("list and map sizes use the length wording; elements and values are paths", () => {
  demoRejects(
    { Name: "ab", Ids: [] },
    "1 validation error detected: Value '[]' at 'ids' failed to satisfy constraint: Member must have length greater than or equal to 1",
  );
  demoRejects(
    { Name: "ab", Ids: ["ab", "cd", "x"] },
    "2 validation errors detected: " +
      "Value '[ab, cd, x]' at 'ids' failed to satisfy constraint: Member must have length less than or equal to 2; " +
      "Value 'x' at 'ids.3.member' failed to satisfy constraint: Member must have length greater than or equal to 2",
  );
  demoRejects(
    { Name: "ab", Labels: { ab: 1, cd: 2, ef: 3 } },
    "1 validation error detected: Value '{ab=1, cd=2, ef=3}' at 'labels' failed to satisfy constraint: Member must have length less than or equal to 2",
  );
  demoRejects(
    { Name: "ab", Labels: { ab: 11 } },
    "1 validation error detected: Value '11' at 'labels.ab.member' failed to satisfy constraint: Member must have value less than or equal to 10",
  );
  demoRejects(
    { Name: "ab", Labels: { X: 1 } },
    "1 validation error detected: Value '{X=1}' at 'labels' failed to satisfy constraint: Map keys must satisfy constraint: " +
      "[Member must have length less than or equal to 8, Member must have length greater than or equal to 2, " +
      "Member must satisfy regular expression pattern: [a-z]+]",
  );
});

test("sensitive shapes, their contents and containers holding them are reported without values", () => {
  demoRejects(
    { Name: "ab", Password: "abc" },
    "1 validation error detected: Value at 'password' failed to satisfy constraint: Member must have length greater than or equal to 6",
  );
  demoRejects(
    { Name: "ab", Vault: { Pin: "X" } },
    "2 validation errors detected: " +
      "Value at 'vault.pin' failed to satisfy constraint: Member must have length greater than or equal to 2; " +
      "Value at 'vault.pin' failed to satisfy constraint: Member must satisfy regular expression pattern: [a-z]+",
  );
  demoRejects(
    { Name: "ab", Passwords: ["secret-1", "secret-2"] },
    "1 validation error detected: Value at 'passwords' failed to satisfy constraint: Member must have length less than or equal to 1",
  );
});

test("Java-only pattern syntax: inline (?i) and (?s), escapes unicode mode rejects, \\p classes", () => {
  demoAccepts({ Name: "ab", Code: "ALL", Token: "a:b", Text: "two\nlines", Tags: ["Grüße 1"] });
  demoRejects(
    { Name: "ab", Code: "some" },
    "1 validation error detected: Value 'some' at 'code' failed to satisfy constraint: Member must satisfy regular expression pattern: (?i)all|[0-9]{12}",
  );
  demoRejects(
    { Name: "ab", Token: "a b", Tags: ["ok", "no!"] },
    "2 validation errors detected: " +
      "Value 'a b' at 'token' failed to satisfy constraint: Member must satisfy regular expression pattern: [\\w+=,.@\\:-]*; " +
      "Value 'no!' at 'tags.2.member' failed to satisfy constraint: Member must satisfy regular expression pattern: ([\\p{L}\\p{Z}\\p{N}_.:/=+\\-@]*)",
  );
});

test("timestamps, blobs and recursive shapes", () => {
  demoAccepts({ Name: "ab", At: 1700000000.5, Data: "YWJj", Nested: { Name: "cd", At: "2024-01-01T00:00:00Z" } });
  demoRejects(
    { Name: "ab", Data: "YWJjZA==", Nested: {} },
    "2 validation errors detected: " +
      "Value 'YWJjZA==' at 'data' failed to satisfy constraint: Member must have length less than or equal to 3; " +
      "Value null at 'nested.name' failed to satisfy constraint: Member must not be null",
  );
  rejects(demo, "Input", { Name: "ab", At: "yesterday" }, ErrorCode.Serialization, "Unexpected value type at 'at': expected timestamp, got string");
  rejects(demo, "Input", { Name: "ab", Data: "not base64!" }, ErrorCode.Serialization, "Unexpected value type at 'data': expected blob, got string");
});

test("at most ten violations are listed, all are counted", () => {
  const err = (() => {
    try {
      demoAccepts({ Name: "ab", Ids: ["a", "b"], Labels: { ab: 0, cd: 0 }, Nested: { Ids: Array(9).fill("z") } });
    } catch (e) {
      return e as BerthError;
    }
    throw new Error("expected a violation");
  })();
  assert.match(err.message, /^15 validation errors detected: /);
  assert.equal(err.message.split("; ").length, 10);
});
