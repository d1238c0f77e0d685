// IAM policy documents: IAM's refusals word for word, and AWS's evaluation logic (wildcards,
// NotAction/NotResource, policy variables, the condition operators and set qualifiers).
import { test } from "node:test";
import assert from "node:assert/strict";
import { BerthError } from "../../src/core/errors.ts";
import { ipInCidr, wildcardMatch } from "../../src/domain/iam-conditions.ts";
import { type Decision, evaluate } from "../../src/domain/iam-evaluate.ts";
import { type PolicyKind, parsePolicy } from "../../src/domain/iam-policy.ts";

const ACCOUNT = "123456789012";
const EXECUTION_POLICY = `{"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": [
  "ecr:GetAuthorizationToken", "ecr:BatchCheckLayerAvailability", "ecr:GetDownloadUrlForLayer",
  "ecr:BatchGetImage", "logs:CreateLogStream", "logs:PutLogEvents"], "Resource": "*"}]}`;
const SECRETS_POLICY = `{"Version": "2012-10-17", "Statement": [
  {"Effect": "Allow", "Action": ["ssm:GetParameter", "ssm:GetParameters"],
   "Resource": "arn:aws:ssm:ap-south-1:123456789012:parameter/prod/*"},
  {"Effect": "Allow", "Action": ["secretsmanager:GetSecretValue"],
   "Resource": "arn:aws:secretsmanager:ap-south-1:123456789012:secret:prod/*"}]}`;

function refusal(text: string, kind: PolicyKind = "identity"): string {
  try {
    parsePolicy(text, kind);
  } catch (error) {
    assert.ok(error instanceof BerthError && error.code === "MalformedPolicyDocument", `expected MalformedPolicyDocument, got ${String(error)}`);
    return error.message;
  }
  return "accepted";
}

const doc = (statements: object | object[], version = "2012-10-17") => JSON.stringify({ Version: version, Statement: statements });
const allowAll = { Effect: "Allow", Action: "*", Resource: "*" };

test("the issue's two policies, the ECS trust policy and a 2008-10-17 document are accepted", () => {
  assert.equal(refusal(EXECUTION_POLICY), "accepted", "execution role policy");
  assert.equal(refusal(SECRETS_POLICY), "accepted", "secrets policy");
  const trust = doc([{ Effect: "Allow", Principal: { Service: "ecs-tasks.amazonaws.com" }, Action: "sts:AssumeRole" }], "2008-10-17");
  assert.equal(refusal(trust, "trust"), "accepted", "trust policy");
  assert.equal(refusal(JSON.stringify({ Version: "2012-10-17", Statement: allowAll })), "accepted", "Statement as an object");
});

test("malformed documents are refused with IAM's messages", () => {
  const cases: [string, string, PolicyKind?][] = [
    ["{nope", "Syntax errors in policy."],
    ["[]", "Syntax errors in policy."],
    [JSON.stringify({ Version: "2012-10-17" }), "Syntax errors in policy."],
    [JSON.stringify({ Version: "2013-01-01", Statement: allowAll }), "Syntax errors in policy."],
    [doc({ ...allowAll, Actions: "*" }), "Syntax errors in policy."],
    [doc({ Effect: "Permit", Action: "*", Resource: "*" }), "Syntax errors in policy."],
    [doc({ ...allowAll, NotAction: "s3:*" }), "Syntax errors in policy."],
    [doc({ ...allowAll, Condition: { StringEqualz: { "aws:username": "bob" } } }), "Syntax errors in policy."],
    [doc({ Effect: "allow", Action: "*", Resource: "*" }), "The policy failed legacy parsing"],
    [doc({ ...allowAll, Condition: { DateGreaterThan: { "aws:CurrentTime": "yesterday" } } }), "The policy failed legacy parsing"],
    [doc([{ ...allowAll, Sid: "a" }, { ...allowAll, Sid: "a" }]), "Statement IDs (SID) in a single policy must be unique."],
    [doc({ Effect: "Allow", Resource: "*" }), "Policy statement must contain actions."],
    [doc({ Effect: "Allow", Action: "s3:GetObject" }), "Policy statement must contain resources."],
    [doc({ Effect: "Allow", Action: "s3:GetObject", Resource: "bucket" }), 'Resource bucket must be in ARN format or "*".'],
    [doc({ Effect: "Allow", Action: "GetObject", Resource: "*" }), "Actions/Conditions must be prefaced by a vendor, e.g., iam, sdb, ec2, etc."],
    [doc({ Effect: "Allow", Action: "s3:Get:Object", Resource: "*" }), "Actions/Condition can contain only one colon."],
    [doc({ ...allowAll, Principal: { AWS: ACCOUNT } }), "Policy document should not specify a principal."],
    [doc({ Effect: "Allow", Principal: { Service: "ecs-tasks.amazonaws.com" }, Action: "sts:AssumeRole", Resource: "*" }), "Has prohibited field Resource", "trust"],
    [doc({ Effect: "Allow", Action: "sts:AssumeRole" }), "Missing required field Principal", "trust"],
    [doc({ Effect: "Allow", Principal: { AWS: ACCOUNT }, Action: "s3:GetObject" }), "AssumeRole policy may only specify STS AssumeRole actions.", "trust"],
    [doc({ Effect: "Allow", Principal: { AWS: "bob" }, Action: "sts:AssumeRole" }), 'Invalid principal in policy: "AWS":"bob"', "trust"],
  ];
  for (const [text, message, kind] of cases) assert.equal(refusal(text, kind), message, `${text} as ${kind ?? "identity"}`);
});

function decide(statements: object[], action: string, resource: string, context: Record<string, string | string[]> = {}, version?: string): Decision {
  const policy = parsePolicy(doc(statements, version), "identity");
  const lower = new Map(Object.entries(context).map(([k, v]) => [k.toLowerCase(), v] as const));
  return evaluate([policy], { action, resource, context: lower });
}

test("explicit deny beats allow beats implicit deny; actions ignore case, resources do not", () => {
  const allow = { Effect: "Allow", Action: "ecs:Describe*", Resource: "arn:aws:ecs:*:*:cluster/Prod-?" };
  assert.equal(decide([allow], "ECS:describeclusters", "arn:aws:ecs:ap-south-1:1:cluster/Prod-1"), "Allow", "case-insensitive action");
  assert.equal(decide([allow], "ecs:DescribeClusters", "arn:aws:ecs:ap-south-1:1:cluster/prod-1"), "ImplicitDeny", "case-sensitive resource");
  assert.equal(decide([allow], "ecs:DescribeClusters", "arn:aws:ecs:ap-south-1:1:cluster/Prod-12"), "ImplicitDeny", "? is one character");
  assert.equal(decide([allow], "ecs:CreateCluster", "arn:aws:ecs:ap-south-1:1:cluster/Prod-1"), "ImplicitDeny", "other action");
  const deny = { Effect: "Deny", Action: "ecs:DescribeClusters", Resource: "*" };
  assert.equal(decide([allow, deny], "ecs:DescribeClusters", "arn:aws:ecs:ap-south-1:1:cluster/Prod-1"), "ExplicitDeny", "deny wins");
  const notAction = { Effect: "Allow", NotAction: "iam:*", Resource: "*" };
  assert.equal(decide([notAction], "ecs:CreateCluster", "*"), "Allow", "NotAction allows the rest");
  assert.equal(decide([notAction], "iam:CreateUser", "*"), "ImplicitDeny", "NotAction excludes");
  const notResource = { Effect: "Deny", Action: "*", NotResource: "arn:aws:ssm:*:*:parameter/prod/*" };
  assert.equal(decide([allowAll, notResource], "ssm:GetParameter", "arn:aws:ssm:ap-south-1:1:parameter/prod/db"), "Allow", "inside NotResource");
  assert.equal(decide([allowAll, notResource], "ssm:GetParameter", "arn:aws:ssm:ap-south-1:1:parameter/staging/db"), "ExplicitDeny", "outside NotResource");
});

test("the issue's secrets policy grants /prod/ parameters and secrets, nothing else", () => {
  const policy = parsePolicy(SECRETS_POLICY, "identity");
  const ask = (action: string, resource: string) => evaluate([policy], { action, resource, context: new Map() });
  assert.equal(ask("ssm:GetParameters", `arn:aws:ssm:ap-south-1:${ACCOUNT}:parameter/prod/db-password`), "Allow", "prod parameter");
  assert.equal(ask("ssm:GetParameter", `arn:aws:ssm:ap-south-1:${ACCOUNT}:parameter/staging/db-password`), "ImplicitDeny", "staging parameter");
  assert.equal(ask("secretsmanager:GetSecretValue", `arn:aws:secretsmanager:ap-south-1:${ACCOUNT}:secret:prod/db-AbCdEf`), "Allow", "prod secret");
  assert.equal(ask("secretsmanager:PutSecretValue", `arn:aws:secretsmanager:ap-south-1:${ACCOUNT}:secret:prod/db-AbCdEf`), "ImplicitDeny", "other action");
});

test("policy variables resolve from the context in 2012-10-17 documents only", () => {
  const own = { Effect: "Allow", Action: "iam:*AccessKey*", Resource: `arn:aws:iam::${ACCOUNT}:user/\${aws:username}` };
  const bob = `arn:aws:iam::${ACCOUNT}:user/bob`;
  assert.equal(decide([own], "iam:CreateAccessKey", bob, { "aws:username": "bob" }), "Allow", "own user");
  assert.equal(decide([own], "iam:CreateAccessKey", bob, { "aws:username": "eve" }), "ImplicitDeny", "other user");
  assert.equal(decide([own], "iam:CreateAccessKey", bob, {}), "ImplicitDeny", "no such key: no match");
  assert.equal(decide([own], "iam:CreateAccessKey", bob, { "aws:username": "bob" }, "2008-10-17"), "ImplicitDeny", "2008: literal text");
  const withDefault = { Effect: "Allow", Action: "s3:*", Resource: "arn:aws:s3:::\${aws:username, 'nobody'}" };
  assert.equal(decide([withDefault], "s3:GetObject", "arn:aws:s3:::nobody"), "Allow", "default value");
});

test("condition operators, IfExists, Null and the set qualifiers", () => {
  const when = (condition: object, context: Record<string, string | string[]>) =>
    decide([{ ...allowAll, Condition: condition }], "ecs:ListClusters", "*", context);
  const cases: [object, Record<string, string | string[]>, Decision][] = [
    [{ StringEquals: { "aws:RequestedRegion": ["ap-south-1", "eu-west-1"] } }, { "aws:RequestedRegion": "eu-west-1" }, "Allow"],
    [{ StringEquals: { "aws:RequestedRegion": "ap-south-1" } }, { "aws:requestedregion": "us-east-1" }, "ImplicitDeny"],
    [{ StringEquals: { "aws:RequestedRegion": "ap-south-1" } }, {}, "ImplicitDeny"],
    [{ StringNotEquals: { "aws:RequestedRegion": ["us-east-1", "us-west-2"] } }, { "aws:RequestedRegion": "ap-south-1" }, "Allow"],
    [{ StringNotEquals: { "aws:RequestedRegion": ["us-east-1", "us-west-2"] } }, { "aws:RequestedRegion": "us-west-2" }, "ImplicitDeny"],
    [{ StringNotEquals: { "aws:RequestedRegion": "us-east-1" } }, {}, "Allow"],
    [{ StringEqualsIgnoreCase: { "aws:username": "BOB" } }, { "aws:username": "bob" }, "Allow"],
    [{ StringLike: { "aws:PrincipalArn": "arn:aws:iam::*:user/dev-*" } }, { "aws:PrincipalArn": "arn:aws:iam::1:user/dev-ann" }, "Allow"],
    [{ StringNotLike: { "aws:PrincipalArn": "*:user/dev-*" } }, { "aws:PrincipalArn": "arn:aws:iam::1:user/dev-ann" }, "ImplicitDeny"],
    [{ StringEqualsIfExists: { "ecs:cluster": "prod" } }, {}, "Allow"],
    [{ StringEqualsIfExists: { "ecs:cluster": "prod" } }, { "ecs:cluster": "dev" }, "ImplicitDeny"],
    [{ Null: { "aws:SourceIp": "true" } }, {}, "Allow"],
    [{ Null: { "aws:SourceIp": "false" } }, {}, "ImplicitDeny"],
    [{ Bool: { "aws:SecureTransport": "true" } }, { "aws:SecureTransport": "false" }, "ImplicitDeny"],
    [{ Bool: { "aws:SecureTransport": true } }, { "aws:SecureTransport": "TRUE" }, "Allow"],
    [{ NumericLessThan: { "s3:max-keys": "10" } }, { "s3:max-keys": "9" }, "Allow"],
    [{ NumericGreaterThanEquals: { "s3:max-keys": 10 } }, { "s3:max-keys": "9" }, "ImplicitDeny"],
    [{ NumericEquals: { "s3:max-keys": "10" } }, { "s3:max-keys": "ten" }, "ImplicitDeny"],
    [{ DateGreaterThan: { "aws:CurrentTime": "2025-01-01T00:00:00Z" } }, { "aws:CurrentTime": "2026-01-01T00:00:00Z" }, "Allow"],
    [{ DateLessThan: { "aws:EpochTime": "1700000000" } }, { "aws:EpochTime": "1800000000" }, "ImplicitDeny"],
    [{ IpAddress: { "aws:SourceIp": ["10.0.0.0/8", "192.168.1.7"] } }, { "aws:SourceIp": "10.20.30.40" }, "Allow"],
    [{ IpAddress: { "aws:SourceIp": "10.0.0.0/8" } }, { "aws:SourceIp": "11.0.0.1" }, "ImplicitDeny"],
    [{ NotIpAddress: { "aws:SourceIp": "10.0.0.0/8" } }, { "aws:SourceIp": "127.0.0.1" }, "Allow"],
    [{ IpAddress: { "aws:SourceIp": "2001:db8::/32" } }, { "aws:SourceIp": "2001:db8:0:1::5" }, "Allow"],
    [{ ArnLike: { "aws:SourceArn": "arn:aws:ecs:*:123456789012:task/*" } }, { "aws:SourceArn": "arn:aws:ecs:ap-south-1:123456789012:task/c/abc" }, "Allow"],
    [{ ArnEquals: { "aws:SourceArn": "arn:aws:ecs:*:123456789012:task/*" } }, { "aws:SourceArn": "arn:aws:ecs:ap-south-1:999999999999:task/c/abc" }, "ImplicitDeny"],
    [{ ArnNotLike: { "aws:SourceArn": "arn:aws:ecs:*:*:task/*" } }, { "aws:SourceArn": "arn:aws:ecs:ap-south-1:1:cluster/c" }, "Allow"],
    [{ "ForAnyValue:StringEquals": { "aws:TagKeys": ["env", "team"] } }, { "aws:TagKeys": ["cost", "team"] }, "Allow"],
    [{ "ForAnyValue:StringEquals": { "aws:TagKeys": ["env"] } }, {}, "ImplicitDeny"],
    [{ "ForAllValues:StringEquals": { "aws:TagKeys": ["env", "team"] } }, { "aws:TagKeys": ["env", "cost"] }, "ImplicitDeny"],
    [{ "ForAllValues:StringEquals": { "aws:TagKeys": ["env", "team"] } }, { "aws:TagKeys": ["team"] }, "Allow"],
    [{ "ForAllValues:StringEquals": { "aws:TagKeys": ["env"] } }, {}, "Allow"],
    [{ StringEquals: { "aws:username": "bob" }, Bool: { "aws:SecureTransport": "false" } }, { "aws:username": "bob", "aws:SecureTransport": "false" }, "Allow"],
    [{ StringEquals: { "aws:username": "bob", "aws:RequestedRegion": "eu-west-1" } }, { "aws:username": "bob", "aws:RequestedRegion": "ap-south-1" }, "ImplicitDeny"],
  ];
  for (const [condition, context, expected] of cases) {
    assert.equal(when(condition, context), expected, `${JSON.stringify(condition)} with ${JSON.stringify(context)}`);
  }
});

test("wildcards and CIDR blocks match what they should and nothing else", () => {
  assert.ok(wildcardMatch("a*b?c", "aXXbYc", false), "star then question mark");
  assert.ok(!wildcardMatch("a*b?c", "aXXbc", false), "? needs a character");
  assert.ok(wildcardMatch("*", "", false), "star matches empty");
  assert.ok(!wildcardMatch("*a*a*a*a*a*a*b", "a".repeat(5000), false), "no catastrophic backtracking, and no match");
  assert.ok(ipInCidr("::ffff:10.1.2.3", "10.0.0.0/8"), "IPv4-mapped peer");
  assert.ok(!ipInCidr("10.1.2.3", "2001:db8::/32"), "families differ");
  assert.ok(ipInCidr("192.168.1.7", "192.168.1.7"), "bare address is /32");
});
