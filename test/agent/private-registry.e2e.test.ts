// Private images: a local registry (Debian's docker-registry) that wants a password, and a
// task whose `repositoryCredentials` name a Secrets Manager secret holding it. With the right
// password the image is pulled and the task runs; with a wrong one it stops with ECS's
// CannotPullContainerError.
import assert from "node:assert/strict";
import { type ChildProcess, execFile, spawn } from "node:child_process";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { RunTaskCommand } from "@aws-sdk/client-ecs";
import { type TestServer, ecsClient, freePort, startTestServer, tempDir, until, waitForTask, awsOk, ECS_TASKS_TRUST } from "../support/harness.ts";
import { BUSYBOX_IMAGE } from "../support/images.ts";

const run = (file: string, args: string[], input?: string): Promise<string> =>
  new Promise((resolve, reject) => {
    const child = execFile(file, args, { timeout: 60_000 }, (error, stdout, stderr) => (error ? reject(new Error(`${file} ${args[0]}: ${stderr || error.message}`)) : resolve(stdout)));
    if (input !== undefined) child.stdin?.end(input);
  });

describe("private registry pulls with repositoryCredentials (real Docker, docker-registry)", () => {
  let server: TestServer;
  let registry: ChildProcess;
  let image: string;
  const dir = tempDir("berth-registry-");

  before(async () => {
    const port = await freePort();
    const host = `127.0.0.1:${port}`;
    await run("htpasswd", ["-Bbc", join(dir, "htpasswd"), "deployer", "s3cret-registry"]);
    writeFileSync(
      join(dir, "config.yml"),
      [
        "version: 0.1",
        "storage:",
        `  filesystem: { rootdirectory: ${join(dir, "data")} }`,
        "http:",
        `  addr: ${host}`,
        "auth:",
        `  htpasswd: { realm: berth-test, path: ${join(dir, "htpasswd")} }`,
        "",
      ].join("\n"),
    );
    registry = spawn("docker-registry", ["serve", join(dir, "config.yml")], { stdio: "ignore" });
    await until("the registry answers", async () => {
      const r = await fetch(`http://${host}/v2/`).catch(() => undefined);
      return r?.status === 401 ? true : undefined;
    });
    image = `${host}/private/busybox:1`;
    const config = tempDir("berth-docker-config-");
    await run("docker", ["tag", BUSYBOX_IMAGE, image]);
    await run("docker", ["--config", config, "login", host, "-u", "deployer", "--password-stdin"], "s3cret-registry");
    await run("docker", ["--config", config, "push", image]);
    server = await startTestServer({ agent: true });
    const account = server.identity.accountId;
    const cli = (args: string[]) => awsOk(server, args);
    await cli(["iam", "create-role", "--role-name", "exec", "--assume-role-policy-document", ECS_TASKS_TRUST]);
    await cli([
      "iam", "put-role-policy", "--role-name", "exec", "--policy-name", "registry",
      "--policy-document", JSON.stringify({ Version: "2012-10-17", Statement: [{ Effect: "Allow", Action: "secretsmanager:GetSecretValue", Resource: "*" }] }),
    ]);
    for (const [name, password] of [["registry/good", "s3cret-registry"], ["registry/bad", "wrong"]] as const) {
      const secret = await cli(["secretsmanager", "create-secret", "--name", name, "--secret-string", JSON.stringify({ username: "deployer", password })]);
      await cli([
        "ecs", "register-task-definition", "--family", name.replace("/", "-"), "--execution-role-arn", `arn:aws:iam::${account}:role/exec`,
        "--container-definitions",
        JSON.stringify([{ name: "app", image, memory: 64, command: ["sleep", "60"], repositoryCredentials: { credentialsParameter: secret.ARN } }]),
      ]);
    }
  });

  after(async () => {
    await server?.close();
    registry?.kill();
    await run("docker", ["rmi", "-f", image]).catch(() => undefined);
  });

  const runTask = async (family: string) => {
    // Only the registry has the image: each run must really pull it.
    await run("docker", ["rmi", "-f", image]).catch(() => undefined);
    const out = await ecsClient(server).send(new RunTaskCommand({ taskDefinition: family, launchType: "EC2" }));
    assert.equal(out.failures?.length ?? 0, 0, JSON.stringify(out.failures));
    return waitForTask(ecsClient(server), "default", out.tasks![0]!.taskArn!, (t) => t.lastStatus === "RUNNING" || t.lastStatus === "STOPPED", 60_000);
  };

  test("a wrong password stops the task with CannotPullContainerError", async () => {
    const task = await runTask("registry-bad");
    assert.equal(task.lastStatus, "STOPPED");
    assert.equal(task.stopCode, "TaskFailedToStart");
    assert.match(task.stoppedReason ?? "", /^CannotPullContainerError: /);
    assert.ok(!(task.stoppedReason ?? "").includes("wrong"), "the password is not in the reason");
  });

  test("the right password from the secret pulls the image and the task runs", async () => {
    const task = await runTask("registry-good");
    assert.equal(task.lastStatus, "RUNNING", task.stoppedReason);
    assert.match(task.containers?.[0]?.imageDigest ?? "", /^sha256:/, "the image came from the registry");
  });
});
