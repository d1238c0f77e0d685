// Secrets and task roles on real containers, set up with the AWS CLI alone: the execution role
// reads `secrets` into the environment (and the value shows up nowhere else), a task without
// the permission stops with ECS's ResourceInitializationError, the AWS SDK inside a task gets
// its task role's credentials and is held to that role's policy, and another task on the same
// host cannot read those credentials.
import assert from "node:assert/strict";
import { createHash, randomBytes } from "node:crypto";
import { after, before, describe, test } from "node:test";
import type { Task } from "@aws-sdk/client-ecs";
import { DescribeTaskDefinitionCommand, DescribeTasksCommand, RunTaskCommand } from "@aws-sdk/client-ecs";
import { type TestServer, REGION, aws, ecsClient, startTestServer, until, waitForTask, awsOk, ECS_TASKS_TRUST } from "../support/harness.ts";
import { BUSYBOX_IMAGE, NODE_SDK_IMAGE, ensureNodeSdkImage } from "../support/images.ts";

// The two policies, written exactly so (with this server's account id).
const EXECUTION_POLICY = `{"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": [
  "ecr:GetAuthorizationToken", "ecr:BatchCheckLayerAvailability", "ecr:GetDownloadUrlForLayer",
  "ecr:BatchGetImage", "logs:CreateLogStream", "logs:PutLogEvents"], "Resource": "*"}]}`;
const readPolicy = (account: string) => `{"Version": "2012-10-17", "Statement": [
  {"Effect": "Allow", "Action": ["ssm:GetParameter", "ssm:GetParameters"],
   "Resource": "arn:aws:ssm:ap-south-1:${account}:parameter/prod/*"},
  {"Effect": "Allow", "Action": ["secretsmanager:GetSecretValue"],
   "Resource": "arn:aws:secretsmanager:ap-south-1:${account}:secret:prod/*"}]}`;

describe("task secrets and task roles (real Docker, AWS CLI)", () => {
  let server: TestServer;
  const logLines: string[] = [];
  const password = `pw-${randomBytes(12).toString("hex")}`;
  let account: string;
  let secretArn: string;

  const cli = (args: string[]) => awsOk(server, args);

  before(async () => {
    await ensureNodeSdkImage();
    const capture = (level: string) => (message: string, fields?: Record<string, unknown>) => logLines.push(`${level} ${message} ${JSON.stringify(fields ?? {})}`);
    server = await startTestServer({ agent: true, logger: { info: capture("info"), warn: capture("warn"), error: capture("error") } });
    account = server.identity.accountId;
    for (const role of ["exec-role", "app-role"]) await cli(["iam", "create-role", "--role-name", role, "--assume-role-policy-document", ECS_TASKS_TRUST]);
    await cli(["iam", "put-role-policy", "--role-name", "exec-role", "--policy-name", "execution", "--policy-document", EXECUTION_POLICY]);
    await cli(["iam", "put-role-policy", "--role-name", "exec-role", "--policy-name", "read-prod", "--policy-document", readPolicy(account)]);
    await cli(["iam", "put-role-policy", "--role-name", "app-role", "--policy-name", "read-prod", "--policy-document", readPolicy(account)]);
    secretArn = (await cli(["secretsmanager", "create-secret", "--name", "prod/db-password", "--secret-string", password])).ARN;
    await cli(["ssm", "put-parameter", "--name", "/prod/app/color", "--value", "blue", "--type", "String"]);
    await cli(["ssm", "put-parameter", "--name", "/staging/app/color", "--value", "red", "--type", "String"]);
    await cli(["logs", "create-log-group", "--log-group-name", "/probe"]);
  });

  after(async () => {
    await server?.close();
  });

  const register = async (family: string, container: Record<string, unknown>) =>
    cli([
      "ecs", "register-task-definition", "--family", family, "--network-mode", "awsvpc", "--requires-compatibilities", "FARGATE",
      "--cpu", "256", "--memory", "512",
      "--execution-role-arn", `arn:aws:iam::${account}:role/exec-role`, "--task-role-arn", `arn:aws:iam::${account}:role/app-role`,
      "--container-definitions", JSON.stringify([container]),
    ]);

  const run = async (family: string): Promise<string> => {
    const out = await ecsClient(server).send(new RunTaskCommand({ taskDefinition: family, launchType: "FARGATE", networkConfiguration: { awsvpcConfiguration: { subnets: ["subnet-berth"] } } }));
    assert.equal(out.failures?.length ?? 0, 0, JSON.stringify(out.failures));
    return out.tasks![0]!.taskArn!;
  };

  const probeLine = async (taskId: string) =>
    until("the probe's output", async () => {
      const r = await aws(server, ["logs", "get-log-events", "--log-group-name", "/probe", "--log-stream-name", `probe/app/${taskId}`]);
      const line = (r.json?.events as { message: string }[] | undefined)?.find((e) => e.message.startsWith("PROBE "));
      return line ? (JSON.parse(line.message.slice(6)) as Record<string, string | null>) : undefined;
    }, 60_000);

  let probeTask: Task;
  let credentialsUri: string;

  test("the SDK in a task reads /prod with the task role's credentials, is refused /staging, and sees the injected secret", async () => {
    await register("probe", {
      name: "app",
      image: NODE_SDK_IMAGE,
      command: ["/app/probe.js", "/prod/app/color", "/staging/app/color"],
      environment: [{ name: "BERTH_AWS_ENDPOINTS", value: "true" }],
      secrets: [{ name: "DB_PASSWORD", valueFrom: secretArn }],
      logConfiguration: { logDriver: "awslogs", options: { "awslogs-group": "/probe", "awslogs-region": REGION, "awslogs-stream-prefix": "probe" } },
    });
    const arn = await run("probe");
    probeTask = await waitForTask(ecsClient(server), "default", arn, (t) => t.lastStatus === "RUNNING" || t.lastStatus === "STOPPED", 90_000);
    assert.equal(probeTask.lastStatus, "RUNNING", `the task runs: ${probeTask.stoppedReason ?? ""}`);
    const line = await probeLine(arn.slice(arn.lastIndexOf("/") + 1));
    assert.equal(line["allowed"], "value:blue", "the task role may read /prod/*");
    assert.equal(line["refused"], "error:AccessDeniedException", "the task role may not read /staging/*");
    assert.equal(line["secretSha256"], createHash("sha256").update(password).digest("hex"), "DB_PASSWORD holds the secret's value");
    assert.match(line["credentialsUri"] ?? "", /^\/v2\/credentials\/[0-9a-f-]{36}$/);
    credentialsUri = line["credentialsUri"]!;
  });

  test("the secret's value is in no Describe output, event or log line of Berth's", async () => {
    const ecs = ecsClient(server);
    const described = await ecs.send(new DescribeTasksCommand({ cluster: "default", tasks: [probeTask.taskArn!] }));
    const definition = await ecs.send(new DescribeTaskDefinitionCommand({ taskDefinition: "probe" }));
    const services = await aws(server, ["ecs", "list-services"]);
    const everything = JSON.stringify([described, definition, services.json]) + logLines.join("\n");
    assert.ok(!everything.includes(password), "the plaintext appears nowhere");
    assert.ok(JSON.stringify(definition).includes(secretArn), "the definition names the secret, not its value");
  });

  test("another task on the same host cannot fetch the first task's credentials", async () => {
    await register("thief", {
      name: "app",
      image: BUSYBOX_IMAGE,
      entryPoint: ["sh", "-c"],
      command: [`wget -q -O - http://169.254.170.2${credentialsUri}; echo "THIEF exit=$?"; sleep 60`],
      logConfiguration: { logDriver: "awslogs", options: { "awslogs-group": "/probe", "awslogs-region": REGION, "awslogs-stream-prefix": "thief" } },
    });
    const arn = await run("thief");
    const id = arn.slice(arn.lastIndexOf("/") + 1);
    const output = await until("the thief's output", async () => {
      const r = await aws(server, ["logs", "get-log-events", "--log-group-name", "/probe", "--log-stream-name", `thief/app/${id}`]);
      const lines = (r.json?.events as { message: string }[] | undefined)?.map((e) => e.message) ?? [];
      return lines.some((l) => l.startsWith("THIEF")) ? lines.join("\n") : undefined;
    }, 60_000);
    assert.match(output, /THIEF exit=1/, `wget was refused: ${output}`);
    assert.ok(!/AccessKeyId|SecretAccessKey/.test(output), "no credentials leaked");
  });

  test("awslogs: an execution role may create its stream by the group's `:*` ARN; without logs:CreateLogStream the task stops", async () => {
    const scoped = JSON.stringify({
      Version: "2012-10-17",
      Statement: [{ Effect: "Allow", Action: ["logs:CreateLogStream", "logs:PutLogEvents"], Resource: `arn:aws:logs:${REGION}:${account}:log-group:/probe:*` }],
    });
    for (const role of ["logs-role", "no-logs-role"]) await cli(["iam", "create-role", "--role-name", role, "--assume-role-policy-document", ECS_TASKS_TRUST]);
    await cli(["iam", "put-role-policy", "--role-name", "logs-role", "--policy-name", "probe-logs", "--policy-document", scoped]);
    const logged = async (family: string, role: string) => {
      await cli([
        "ecs", "register-task-definition", "--family", family, "--network-mode", "awsvpc", "--requires-compatibilities", "FARGATE", "--cpu", "256", "--memory", "512",
        "--execution-role-arn", `arn:aws:iam::${account}:role/${role}`,
        "--container-definitions", JSON.stringify([{
          name: "app", image: BUSYBOX_IMAGE, command: ["sh", "-c", "echo LOGGED; exec sleep 60"],
          logConfiguration: { logDriver: "awslogs", options: { "awslogs-group": "/probe", "awslogs-region": REGION, "awslogs-stream-prefix": family } },
        }]),
      ]);
      return run(family);
    };
    const allowed = await logged("scoped", "logs-role");
    const id = allowed.slice(allowed.lastIndexOf("/") + 1);
    await until("the scoped role's line", async () => {
      const r = await aws(server, ["logs", "get-log-events", "--log-group-name", "/probe", "--log-stream-name", `scoped/app/${id}`]);
      return (r.json?.events as { message: string }[] | undefined)?.some((e) => e.message === "LOGGED") ? true : undefined;
    }, 60_000);

    const denied = await logged("unlogged", "no-logs-role");
    const stopped = await waitForTask(ecsClient(server), "default", denied, (t) => t.lastStatus === "STOPPED", 60_000);
    const deniedId = denied.slice(denied.lastIndexOf("/") + 1);
    assert.equal(stopped.stopCode, "TaskFailedToStart");
    assert.match(
      stopped.stoppedReason ?? "",
      new RegExp(`^ResourceInitializationError: failed to validate logger args: .*AccessDeniedException: User: arn:aws:sts::${account}:assumed-role/no-logs-role/${deniedId} is not authorized to perform: logs:CreateLogStream on resource: arn:aws:logs:${REGION}:${account}:log-group:/probe:log-stream:unlogged/app/${deniedId}`),
    );
    const streams = await aws(server, ["logs", "describe-log-streams", "--log-group-name", "/probe", "--log-stream-name-prefix", "unlogged/"]);
    assert.deepEqual(streams.json.logStreams, [], "no stream was made for the refused task");
  });

  test("without the permission, the task stops with ECS's ResourceInitializationError", async () => {
    await cli(["iam", "delete-role-policy", "--role-name", "exec-role", "--policy-name", "read-prod"]);
    const arn = await run("probe");
    const stopped = await waitForTask(ecsClient(server), "default", arn, (t) => t.lastStatus === "STOPPED", 60_000);
    assert.equal(stopped.stopCode, "TaskFailedToStart");
    assert.match(stopped.stoppedReason ?? "", /^ResourceInitializationError: unable to pull secrets or registry auth: .*AccessDeniedException.*secretsmanager:GetSecretValue/);
    assert.ok(!(stopped.stoppedReason ?? "").includes(password), "the reason does not reveal the value");
  });
});

describe("secret rotation by an ECS task definition (real Docker, AWS CLI)", () => {
  let server: TestServer;

  after(async () => {
    await server?.close();
  });

  test("RotateSecret runs the four steps as tasks: the new value becomes AWSCURRENT, the old AWSPREVIOUS", async () => {
    await ensureNodeSdkImage();
    server = await startTestServer({ agent: true });
    const account = server.identity.accountId;
    const cli = (args: string[]) => awsOk(server, args);
    await cli(["iam", "create-role", "--role-name", "rotator", "--assume-role-policy-document", ECS_TASKS_TRUST]);
    const policy = {
      Version: "2012-10-17",
      Statement: [
        {
          Effect: "Allow",
          Action: ["secretsmanager:GetSecretValue", "secretsmanager:PutSecretValue", "secretsmanager:DescribeSecret", "secretsmanager:UpdateSecretVersionStage"],
          Resource: `arn:aws:secretsmanager:${REGION}:${account}:secret:prod/*`,
        },
        { Effect: "Allow", Action: "secretsmanager:GetRandomPassword", Resource: "*" },
      ],
    };
    await cli(["iam", "put-role-policy", "--role-name", "rotator", "--policy-name", "rotate", "--policy-document", JSON.stringify(policy)]);
    const secret = await cli(["secretsmanager", "create-secret", "--name", "prod/api-key", "--secret-string", "original"]);
    const td = await cli([
      "ecs", "register-task-definition", "--family", "rotate-api-key", "--network-mode", "awsvpc", "--requires-compatibilities", "FARGATE",
      "--cpu", "256", "--memory", "512", "--task-role-arn", `arn:aws:iam::${account}:role/rotator`,
      "--container-definitions", JSON.stringify([{ name: "rotate", image: NODE_SDK_IMAGE, command: ["/app/rotate.js"] }]),
    ]);
    await cli([
      "secretsmanager", "rotate-secret", "--secret-id", "prod/api-key",
      "--rotation-lambda-arn", td.taskDefinition.taskDefinitionArn, "--rotation-rules", "AutomaticallyAfterDays=30",
    ]);
    const current = await until("the rotated value", async () => {
      const v = await cli(["secretsmanager", "get-secret-value", "--secret-id", "prod/api-key"]);
      return v.SecretString !== "original" ? v : undefined;
    }, 120_000);
    assert.match(current.SecretString, /^rotated-[A-Za-z0-9]{24}$/);
    const previous = await cli(["secretsmanager", "get-secret-value", "--secret-id", secret.ARN, "--version-stage", "AWSPREVIOUS"]);
    assert.equal(previous.SecretString, "original");
    const described = await until("rotation recorded", async () => {
      const d = await cli(["secretsmanager", "describe-secret", "--secret-id", "prod/api-key"]);
      return d.LastRotatedDate ? d : undefined;
    }, 30_000);
    assert.equal(described.RotationEnabled, true);
    const steps = (await cli(["ecs", "list-tasks", "--started-by", "secretsmanager-rotation", "--desired-status", "STOPPED"])).taskArns;
    assert.equal(steps.length, 4, "one task per step");
  });
});
