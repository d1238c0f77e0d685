// IAM and STS through the AWS CLI against a real server: a user with a read-only ECS policy
// can describe but not create; a Deny overrides an Allow; the policies are accepted
// verbatim and come back as written; AssumeRole's credentials need their session token; a
// malformed policy is refused and changes nothing; IAM's own actions are authorized too.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { type CliResult, type TestServer, aws, startTestServer } from "../support/harness.ts";

let server: TestServer;
let account: string;

before(async () => {
  server = await startTestServer();
  account = server.identity.accountId;
});
after(async () => {
  await server.close();
});

const admin = (...args: string[]) => aws(server, args);
const as = (env: Record<string, string>) => (...args: string[]) => aws(server, args, env);

function ok(result: CliResult, what: string): CliResult {
  assert.equal(result.code, 0, `${what}: ${result.stderr}`);
  return result;
}

function refused(result: CliResult, exception: string, what: string): string {
  assert.notEqual(result.code, 0, `${what} should be refused`);
  assert.match(result.stderr, new RegExp(`\\(${exception}\\)`), `${what}: ${result.stderr}`);
  return result.stderr;
}

async function userWithKey(name: string): Promise<Record<string, string>> {
  ok(await admin("iam", "create-user", "--user-name", name), `create-user ${name}`);
  const key = ok(await admin("iam", "create-access-key", "--user-name", name), "create-access-key").json.AccessKey;
  assert.match(key.AccessKeyId, /^AKIA[A-Z2-7]{16}$/, "long-term key id");
  return { AWS_ACCESS_KEY_ID: key.AccessKeyId, AWS_SECRET_ACCESS_KEY: key.SecretAccessKey };
}

const readOnlyEcs = JSON.stringify({
  Version: "2012-10-17",
  Statement: [{ Sid: "ReadOnly", Effect: "Allow", Action: ["ecs:Describe*", "ecs:List*"], Resource: "*" }],
});

test("a user with a read-only ECS policy can describe and list but not create; a Deny overrides an Allow", async () => {
  ok(await admin("ecs", "create-cluster", "--cluster-name", "shop"), "admin creates a cluster");
  const bob = as(await userWithKey("bob"));
  refused(await bob("ecs", "list-clusters"), "AccessDeniedException", "before any policy");
  ok(await admin("iam", "put-user-policy", "--user-name", "bob", "--policy-name", "ecs-read", "--policy-document", readOnlyEcs), "put-user-policy");
  const described = ok(await bob("ecs", "describe-clusters", "--clusters", "shop"), "describe-clusters");
  assert.equal(described.json.clusters[0].clusterName, "shop", "bob sees the cluster");
  ok(await bob("ecs", "list-services", "--cluster", "shop"), "list-services");
  ok(await bob("ecs", "describe-services", "--cluster", "shop", "--services", "web"), "describe-services");
  refused(await bob("ecs", "create-service", "--cluster", "shop", "--service-name", "web", "--task-definition", "web"), "AccessDeniedException", "create-service");
  const create = refused(await bob("ecs", "create-cluster", "--cluster-name", "bobs"), "AccessDeniedException", "create-cluster");
  assert.match(create, new RegExp(`User: arn:aws:iam::${account}:user/bob is not authorized to perform: ecs:CreateCluster on resource: arn:aws:ecs:ap-south-1:${account}:cluster/bobs because no identity-based policy allows the ecs:CreateCluster action`), "AWS's sentence");
  const clusters = ok(await admin("ecs", "list-clusters"), "admin lists").json.clusterArns as string[];
  assert.ok(!clusters.some((arn) => arn.endsWith("/bobs")), "the refused create changed nothing");

  const deny = JSON.stringify({ Version: "2012-10-17", Statement: [{ Effect: "Deny", Action: "ecs:DescribeClusters", Resource: "*" }] });
  ok(await admin("iam", "put-user-policy", "--user-name", "bob", "--policy-name", "no-describe", "--policy-document", deny), "put deny");
  const denied = refused(await bob("ecs", "describe-clusters", "--clusters", "shop"), "AccessDeniedException", "describe after deny");
  assert.match(denied, /with an explicit deny in an identity-based policy/, "explicit deny named");
  ok(await bob("ecs", "list-clusters"), "the rest of the Allow still holds");
  const fromHere = (cidr: string) => JSON.stringify({
    Version: "2012-10-17",
    Statement: [{
      Effect: "Allow", Action: "ecs:CreateCluster", Resource: "*",
      Condition: { IpAddress: { "aws:SourceIp": cidr }, StringEquals: { "aws:RequestedRegion": "ap-south-1" } },
    }],
  });
  ok(await admin("iam", "put-user-policy", "--user-name", "bob", "--policy-name", "create-from", "--policy-document", fromHere("10.0.0.0/8")), "put conditional");
  refused(await bob("ecs", "create-cluster", "--cluster-name", "bobs"), "AccessDeniedException", "not from 10/8");
  ok(await admin("iam", "put-user-policy", "--user-name", "bob", "--policy-name", "create-from", "--policy-document", fromHere("127.0.0.0/8")), "replace conditional");
  ok(await bob("ecs", "create-cluster", "--cluster-name", "bobs"), "from loopback in ap-south-1");
  const names = ok(await admin("iam", "list-user-policies", "--user-name", "bob"), "list-user-policies").json.PolicyNames;
  assert.deepEqual(names, ["create-from", "ecs-read", "no-describe"], "the inline policies listed");
});

test("managed policies: AWS's ReadOnlyAccess and a customer policy attach, version and detach", async () => {
  const ann = as(await userWithKey("ann"));
  ok(await admin("iam", "attach-user-policy", "--user-name", "ann", "--policy-arn", "arn:aws:iam::aws:policy/ReadOnlyAccess"), "attach ReadOnlyAccess");
  ok(await ann("ecs", "list-clusters"), "read-only may list");
  refused(await ann("ecs", "create-cluster", "--cluster-name", "anns"), "AccessDeniedException", "read-only may not create");
  const created = ok(await admin("iam", "create-policy", "--policy-name", "ecs-create", "--path", "/team/", "--policy-document",
    JSON.stringify({ Version: "2012-10-17", Statement: [{ Effect: "Allow", Action: "ecs:CreateCluster", Resource: "*" }] })), "create-policy").json.Policy;
  assert.equal(created.Arn, `arn:aws:iam::${account}:policy/team/ecs-create`, "policy ARN with path");
  assert.match(created.PolicyId, /^ANPA/, "policy id");
  ok(await admin("iam", "attach-user-policy", "--user-name", "ann", "--policy-arn", created.Arn), "attach customer policy");
  ok(await ann("ecs", "create-cluster", "--cluster-name", "anns"), "now allowed");
  const attached = ok(await admin("iam", "list-attached-user-policies", "--user-name", "ann"), "list attached").json.AttachedPolicies;
  assert.deepEqual(attached.map((p: { PolicyName: string }) => p.PolicyName), ["ecs-create", "ReadOnlyAccess"], "both attached");
  ok(await admin("iam", "create-policy-version", "--policy-arn", created.Arn, "--set-as-default", "--policy-document",
    JSON.stringify({ Version: "2012-10-17", Statement: [{ Effect: "Allow", Action: "ecs:CreateService", Resource: "*" }] })), "create-policy-version");
  const policy = ok(await admin("iam", "get-policy", "--policy-arn", created.Arn), "get-policy").json.Policy;
  assert.equal(policy.DefaultVersionId, "v2", "new default version");
  assert.equal(policy.AttachmentCount, 1, "attachment count");
  refused(await ann("ecs", "create-cluster", "--cluster-name", "anns2"), "AccessDeniedException", "v1 no longer applies");
  const v2 = ok(await admin("iam", "get-policy-version", "--policy-arn", created.Arn, "--version-id", "v2"), "get-policy-version").json.PolicyVersion;
  assert.deepEqual(v2.Document.Statement[0].Action, "ecs:CreateService", "document decoded by the CLI");
  refused(await admin("iam", "delete-policy", "--policy-arn", created.Arn), "DeleteConflict", "attached policy");
  ok(await admin("iam", "detach-user-policy", "--user-name", "ann", "--policy-arn", created.Arn), "detach");
  refused(await admin("iam", "delete-policy", "--policy-arn", created.Arn), "DeleteConflict", "policy with two versions");
  ok(await admin("iam", "delete-policy-version", "--policy-arn", created.Arn, "--version-id", "v1"), "delete v1");
  ok(await admin("iam", "delete-policy", "--policy-arn", created.Arn), "delete-policy");
  refused(await admin("iam", "get-policy", "--policy-arn", created.Arn), "NoSuchEntity", "deleted policy");
});

test("put-role-policy accepts the issue's two documents verbatim and returns them as written", async () => {
  const trust = `{"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": {"Service": "ecs-tasks.amazonaws.com"}, "Action": "sts:AssumeRole"}]}`;
  const role = ok(await admin("iam", "create-role", "--role-name", "ecsTaskExecutionRole", "--assume-role-policy-document", trust,
    "--description", "pulls and logs", "--max-session-duration", "7200", "--tags", "Key=team,Value=shop"), "create-role").json.Role;
  assert.equal(role.Arn, `arn:aws:iam::${account}:role/ecsTaskExecutionRole`, "role ARN");
  assert.match(role.RoleId, /^AROA[A-Z2-7]{17}$/, "role id");
  const execution = `{"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": [
  "ecr:GetAuthorizationToken", "ecr:BatchCheckLayerAvailability", "ecr:GetDownloadUrlForLayer",
  "ecr:BatchGetImage", "logs:CreateLogStream", "logs:PutLogEvents"], "Resource": "*"}]}`;
  const secrets = `{"Version": "2012-10-17", "Statement": [
  {"Effect": "Allow", "Action": ["ssm:GetParameter", "ssm:GetParameters"],
   "Resource": "arn:aws:ssm:ap-south-1:${account}:parameter/prod/*"},
  {"Effect": "Allow", "Action": ["secretsmanager:GetSecretValue"],
   "Resource": "arn:aws:secretsmanager:ap-south-1:${account}:secret:prod/*"}]}`;
  ok(await admin("iam", "put-role-policy", "--role-name", "ecsTaskExecutionRole", "--policy-name", "execution", "--policy-document", execution), "execution policy");
  ok(await admin("iam", "put-role-policy", "--role-name", "ecsTaskExecutionRole", "--policy-name", "secrets", "--policy-document", secrets), "secrets policy");
  const got = ok(await admin("iam", "get-role-policy", "--role-name", "ecsTaskExecutionRole", "--policy-name", "secrets"), "get-role-policy").json;
  assert.deepEqual(got.PolicyDocument, JSON.parse(secrets), "the document comes back as written");
  const fetched = ok(await admin("iam", "get-role", "--role-name", "ecsTaskExecutionRole"), "get-role").json.Role;
  assert.deepEqual(fetched.AssumeRolePolicyDocument, JSON.parse(trust), "trust policy decoded by the CLI");
  assert.equal(fetched.MaxSessionDuration, 7200, "max session duration");
  assert.deepEqual(fetched.Tags, [{ Key: "team", Value: "shop" }], "tags");

  const malformed = refused(await admin("iam", "put-role-policy", "--role-name", "ecsTaskExecutionRole", "--policy-name", "secrets",
    "--policy-document", `{"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "ssm:GetParameter", "Principal": "*", "Resource": "*"}]}`),
  "MalformedPolicyDocument", "a principal in an identity policy");
  assert.match(malformed, /Policy document should not specify a principal\./, "IAM's message");
  const still = ok(await admin("iam", "get-role-policy", "--role-name", "ecsTaskExecutionRole", "--policy-name", "secrets"), "re-read").json;
  assert.deepEqual(still.PolicyDocument, JSON.parse(secrets), "the refused put changed nothing");
  const resourceInTrust = refused(await admin("iam", "update-assume-role-policy", "--role-name", "ecsTaskExecutionRole", "--policy-document", execution),
    "MalformedPolicyDocument", "an identity policy as trust policy");
  assert.match(resourceInTrust, /Has prohibited field Resource/, "IAM's message");

  refused(await admin("iam", "get-role", "--role-name", "nope"), "NoSuchEntity", "missing role");
  assert.match((await admin("iam", "get-role", "--role-name", "nope")).stderr, /The role with name nope cannot be found\./, "IAM's sentence");
  refused(await admin("iam", "create-role", "--role-name", "ecstaskexecutionrole", "--assume-role-policy-document", trust), "EntityAlreadyExists", "names ignore case");
  const conflict = refused(await admin("iam", "delete-role", "--role-name", "ecsTaskExecutionRole"), "DeleteConflict", "role with policies");
  assert.match(conflict, /Cannot delete entity, must delete policies first\./, "IAM's sentence");
  refused(await admin("iam", "create-role", "--role-name", "bad name", "--assume-role-policy-document", trust), "ValidationError", "model validation");
});

test("AssumeRole: the temporary credentials work with their session token and fail without it", async () => {
  const trust = JSON.stringify({ Version: "2012-10-17", Statement: [{ Effect: "Allow", Principal: { AWS: `arn:aws:iam::${account}:root` }, Action: "sts:AssumeRole" }] });
  const role = ok(await admin("iam", "create-role", "--role-name", "deployer", "--assume-role-policy-document", trust), "create-role").json.Role;
  ok(await admin("iam", "put-role-policy", "--role-name", "deployer", "--policy-name", "ecs-read", "--policy-document", readOnlyEcs), "role policy");
  const carl = as(await userWithKey("carl"));
  const denied = refused(await carl("sts", "assume-role", "--role-arn", role.Arn, "--role-session-name", "try"), "AccessDenied", "no permission to assume");
  assert.match(denied, new RegExp(`User: arn:aws:iam::${account}:user/carl is not authorized to perform: sts:AssumeRole on resource: ${role.Arn}`), "AWS's sentence");
  ok(await admin("iam", "put-user-policy", "--user-name", "carl", "--policy-name", "assume", "--policy-document",
    JSON.stringify({ Version: "2012-10-17", Statement: [{ Effect: "Allow", Action: "sts:AssumeRole", Resource: role.Arn }] })), "allow assume");
  const assumed = ok(await carl("sts", "assume-role", "--role-arn", role.Arn, "--role-session-name", "deploy-1", "--duration-seconds", "900"), "assume-role").json;
  assert.match(assumed.Credentials.AccessKeyId, /^ASIA/, "temporary key");
  assert.equal(assumed.AssumedRoleUser.Arn, `arn:aws:sts::${account}:assumed-role/deployer/deploy-1`, "assumed-role ARN");
  assert.equal(assumed.AssumedRoleUser.AssumedRoleId, `${role.RoleId}:deploy-1`, "assumed role id");
  const expiresIn = Date.parse(assumed.Credentials.Expiration) - Date.now();
  assert.ok(expiresIn > 800_000 && expiresIn <= 900_000, `expires in about 900 s, got ${expiresIn} ms`);
  const session = {
    AWS_ACCESS_KEY_ID: assumed.Credentials.AccessKeyId,
    AWS_SECRET_ACCESS_KEY: assumed.Credentials.SecretAccessKey,
    AWS_SESSION_TOKEN: assumed.Credentials.SessionToken,
  };
  const me = ok(await aws(server, ["sts", "get-caller-identity"], session), "get-caller-identity").json;
  assert.equal(me.Arn, assumed.AssumedRoleUser.Arn, "the session's identity");
  ok(await aws(server, ["ecs", "list-clusters"], session), "the role's policy applies");
  refused(await aws(server, ["ecs", "create-cluster", "--cluster-name", "x"], session), "AccessDeniedException", "beyond the role's policy");
  const withoutToken = { ...session, AWS_SESSION_TOKEN: "" };
  refused(await aws(server, ["ecs", "list-clusters"], withoutToken), "UnrecognizedClientException", "JSON service without token");
  refused(await aws(server, ["sts", "get-caller-identity"], withoutToken), "InvalidClientTokenId", "query service without token");
  refused(await aws(server, ["ecs", "list-clusters"], { ...session, AWS_SESSION_TOKEN: "forged" }), "UnrecognizedClientException", "wrong token");
  refused(await aws(server, ["sts", "assume-role", "--role-arn", role.Arn, "--role-session-name", "too-long", "--duration-seconds", "7200"]), "ValidationError", "over MaxSessionDuration");
  // Secret keys and session tokens are sealed under the master key: iam.db does not hold them.
  const files = ["iam.db", "iam.db-wal"].map((f) => join(server.dataDir, f)).filter((f) => existsSync(f));
  for (const secret of [session.AWS_SECRET_ACCESS_KEY, session.AWS_SESSION_TOKEN]) {
    assert.ok(!files.some((f) => readFileSync(f).includes(secret)), "no secret key or token in the clear in iam.db");
  }
});

test("IAM actions are authorized too, and access keys can be listed, disabled and deleted", async () => {
  const dana = as(await userWithKey("dana"));
  const denied = refused(await dana("iam", "create-user", "--user-name", "mallory"), "AccessDenied", "create-user without permission");
  assert.match(denied, new RegExp(`not authorized to perform: iam:CreateUser on resource: arn:aws:iam::${account}:user/mallory`), "resource is the user ARN");
  refused(await admin("iam", "get-user", "--user-name", "mallory"), "NoSuchEntity", "nothing created");
  ok(await admin("iam", "put-user-policy", "--user-name", "dana", "--policy-name", "own-keys", "--policy-document", JSON.stringify({
    Version: "2012-10-17",
    Statement: [{ Effect: "Allow", Action: ["iam:ListAccessKeys", "iam:GetUser"], Resource: "arn:aws:iam::*:user/${aws:username}" }],
  })), "own-keys policy");
  const mine = ok(await dana("iam", "list-access-keys"), "list own keys (implicit user name)").json.AccessKeyMetadata;
  assert.equal(mine.length, 1, "one key");
  assert.equal(ok(await dana("iam", "get-user"), "get own user").json.User.UserName, "dana", "implicit user");
  refused(await dana("iam", "list-access-keys", "--user-name", "bob"), "AccessDenied", "someone else's keys");
  ok(await admin("iam", "update-access-key", "--user-name", "dana", "--access-key-id", mine[0].AccessKeyId, "--status", "Inactive"), "deactivate");
  refused(await dana("ecs", "list-clusters"), "UnrecognizedClientException", "inactive key");
  ok(await admin("iam", "delete-user-policy", "--user-name", "dana", "--policy-name", "own-keys"), "delete inline policy");
  refused(await admin("iam", "delete-user", "--user-name", "dana"), "DeleteConflict", "user with a key");
  ok(await admin("iam", "delete-access-key", "--user-name", "dana", "--access-key-id", mine[0].AccessKeyId), "delete key");
  ok(await admin("iam", "delete-user", "--user-name", "dana"), "delete user");
  const users = ok(await admin("iam", "list-users"), "list-users").json.Users.map((u: { UserName: string }) => u.UserName);
  assert.ok(!users.includes("dana"), "dana is gone");
});

test("ECS resource-level permissions: the deploy action's policy may update one service and no other", async () => {
  ok(await admin("ecs", "create-cluster", "--cluster-name", "deploys"), "cluster");
  const deployer = as(await userWithKey("gha"));
  const service = (name: string) => `arn:aws:ecs:ap-south-1:${account}:service/deploys/${name}`;
  ok(await admin("iam", "put-user-policy", "--user-name", "gha", "--policy-name", "deploy", "--policy-document", JSON.stringify({
    Version: "2012-10-17",
    Statement: [
      { Effect: "Allow", Action: ["ecs:RegisterTaskDefinition", "ecs:DescribeTaskDefinition"], Resource: "*" },
      { Effect: "Allow", Action: ["ecs:UpdateService", "ecs:DescribeServices"], Resource: service("web") },
    ],
  })), "put-user-policy");
  // Allowed: the call reaches ECS, which answers that the service does not exist yet.
  refused(await deployer("ecs", "update-service", "--cluster", "deploys", "--service", "web", "--desired-count", "1"), "ServiceNotFoundException", "web");
  ok(await deployer("ecs", "describe-services", "--cluster", "deploys", "--services", "web"), "describe web");
  const other = refused(await deployer("ecs", "update-service", "--cluster", "deploys", "--service", "api", "--desired-count", "1"), "AccessDeniedException", "api");
  assert.match(other, new RegExp(`not authorized to perform: ecs:UpdateService on resource: ${service("api")}`), "names the service ARN");
  refused(await deployer("ecs", "describe-services", "--cluster", "deploys", "--services", "web", "api"), "AccessDeniedException", "one of two services refused refuses the call");
  refused(await deployer("ecs", "update-service", "--cluster", "other", "--service", "web", "--desired-count", "1"), "AccessDeniedException", "same name, other cluster");
});

test("Logs resource-level permissions: a group's `:*` ARN allows the group and its streams, and nothing else", async () => {
  ok(await admin("logs", "create-log-group", "--log-group-name", "/ecs/app"), "group app");
  ok(await admin("logs", "create-log-group", "--log-group-name", "/ecs/other"), "group other");
  const reader = as(await userWithKey("logreader"));
  const group = (name: string) => `arn:aws:logs:ap-south-1:${account}:log-group:${name}`;
  ok(await admin("iam", "put-user-policy", "--user-name", "logreader", "--policy-name", "app-logs", "--policy-document", JSON.stringify({
    Version: "2012-10-17",
    Statement: [
      { Effect: "Allow", Action: ["logs:CreateLogStream", "logs:PutLogEvents", "logs:GetLogEvents", "logs:FilterLogEvents", "logs:DescribeLogStreams"], Resource: `${group("/ecs/app")}:*` },
      { Effect: "Allow", Action: "logs:DescribeLogGroups", Resource: `arn:aws:logs:ap-south-1:${account}:log-group:*` },
      { Effect: "Allow", Action: "logs:ListTagsForResource", Resource: group("/ecs/app") },
    ],
  })), "put-user-policy");
  ok(await reader("logs", "create-log-stream", "--log-group-name", "/ecs/app", "--log-stream-name", "web/1"), "stream in app");
  ok(await reader("logs", "put-log-events", "--log-group-name", "/ecs/app", "--log-stream-name", "web/1", "--log-events", `timestamp=${Date.now()},message=hello`), "put in app");
  ok(await reader("logs", "filter-log-events", "--log-group-name", "/ecs/app"), "filter app");
  ok(await reader("logs", "describe-log-groups"), "describe groups");
  ok(await reader("logs", "list-tags-for-resource", "--resource-arn", group("/ecs/app")), "tags of app, by the ARN without :*");

  const denied = refused(await reader("logs", "filter-log-events", "--log-group-name", "/ecs/other"), "AccessDeniedException", "filter other");
  assert.match(denied, new RegExp(`not authorized to perform: logs:FilterLogEvents on resource: ${group("/ecs/other")}:\\*`), "names the group's :* ARN");
  const stream = refused(await reader("logs", "create-log-stream", "--log-group-name", "/ecs/other", "--log-stream-name", "web/1"), "AccessDeniedException", "stream in other");
  assert.match(stream, new RegExp(`on resource: ${group("/ecs/other")}:log-stream:web/1`), "names the stream ARN");
  refused(await reader("logs", "delete-log-group", "--log-group-name", "/ecs/app"), "AccessDeniedException", "an action the policy does not name");
  const streams = ok(await admin("logs", "describe-log-streams", "--log-group-name", "/ecs/other"), "admin reads other").json;
  assert.deepEqual(streams.logStreams, [], "the refused call created nothing");
});

test("ELBv2 and ACM resource-level permissions: targets may be registered in one target group only; a certificate by its ARN", async () => {
  const tg = async (name: string) =>
    ok(await admin("elbv2", "create-target-group", "--name", name, "--protocol", "HTTP", "--port", "80", "--vpc-id", "vpc-berth", "--target-type", "ip"), `tg ${name}`).json.TargetGroups[0].TargetGroupArn as string;
  const [mine, theirs] = [await tg("mine"), await tg("theirs")];
  const certificate = `arn:aws:acm:ap-south-1:${account}:certificate/00000000-0000-4000-8000-000000000001`;
  const operator = as(await userWithKey("lbop"));
  ok(await admin("iam", "put-user-policy", "--user-name", "lbop", "--policy-name", "one-tg", "--policy-document", JSON.stringify({
    Version: "2012-10-17",
    Statement: [
      { Effect: "Allow", Action: ["elasticloadbalancing:RegisterTargets", "elasticloadbalancing:DeregisterTargets"], Resource: mine },
      { Effect: "Allow", Action: "elasticloadbalancing:DescribeTargetHealth", Resource: "*" },
      { Effect: "Allow", Action: "acm:DescribeCertificate", Resource: certificate },
    ],
  })), "put-user-policy");
  ok(await operator("elbv2", "register-targets", "--target-group-arn", mine, "--targets", "Id=10.0.0.7,Port=8080"), "register in mine");
  const denied = refused(await operator("elbv2", "register-targets", "--target-group-arn", theirs, "--targets", "Id=10.0.0.7,Port=8080"), "AccessDenied", "register in theirs");
  assert.match(denied, new RegExp(`elasticloadbalancing:RegisterTargets on resource: ${theirs.replaceAll("/", "\\/")}`), "names the target group ARN");
  const health = ok(await admin("elbv2", "describe-target-health", "--target-group-arn", theirs), "health of theirs").json;
  assert.deepEqual(health.TargetHealthDescriptions, [], "the refused call registered nothing");
  // Allowed: the call reaches ACM, which has no such certificate; another ARN is refused first.
  refused(await operator("acm", "describe-certificate", "--certificate-arn", certificate), "ResourceNotFoundException", "the allowed certificate");
  refused(await operator("acm", "describe-certificate", "--certificate-arn", certificate.replace(/1$/, "2")), "AccessDeniedException", "another certificate");
});
