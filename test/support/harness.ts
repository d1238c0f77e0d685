/**
 * Test harness: a real Berth server on a loopback port with a throwaway data dir, and the
 * clients users run against it (Debian's AWS CLI v2, the JS SDK v3).
 */
import { execFile, spawn, type ChildProcess } from "node:child_process";
import { appendFileSync, existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { DescribeTasksCommand, ECSClient, ListContainerInstancesCommand, type Task } from "@aws-sdk/client-ecs";
import { type Logger, silentLogger } from "../../src/core/logger.ts";
import type { Identity } from "../../src/server/identity.ts";
import { loadOrCreateIdentity } from "../../src/server/identity.ts";
import { DockerRuntime } from "../../src/runtime/docker-runtime.ts";
import type { Runtime } from "../../src/runtime/runtime.ts";
import { type EmbeddedAgentConfig, type RunningServer, type ServerConfig, startServer } from "../../src/server/server.ts";
import { ensureBusyboxImage } from "./images.ts";

export const AWS_CLI = process.env["BERTH_AWS_CLI"] ?? "/usr/bin/aws";
export const REGION = "ap-south-1";
export const ROOT = resolve(import.meta.dirname, "../..");

export function tempDir(prefix = "berth-test-"): string {
  return mkdtempSync(join(tmpdir(), prefix));
}

export interface TestServer {
  url: string;
  dataDir: string;
  identity: Identity;
  server: RunningServer;
  close(): Promise<void>;
}

export interface TestServerOptions {
  dataDir?: string;
  /** Run the embedded agent on real Docker (the default runtime) or on the given runtime. */
  agent?: boolean | Partial<EmbeddedAgentConfig> & { runtime?: Runtime };
  /** Where the server logs (silent unless given), e.g. to check what it never logs. */
  logger?: Logger;
  /** Other server settings (e.g. a short metrics period). */
  config?: Partial<Pick<ServerConfig, "metricsPeriodMs" | "lbWorkers">>;
}

/**
 * A stopped agent leaves its containers running, as an ECS agent does; scripts/test.sh removes
 * them after the run. This adds the id of the agent of `dataDir` (if it has one) to the file
 * named by BERTH_TEST_AGENTS, one id a line.
 */
export function noteTestAgent(dataDir: string): void {
  const list = process.env["BERTH_TEST_AGENTS"];
  const idFile = join(dataDir, "agent", "agent-id");
  if (list && existsSync(idFile)) appendFileSync(list, `${readFileSync(idFile, "utf8").trim()}\n`);
}

/** An in-process server on a free port; close() also removes its data dir. */
export async function startTestServer(options: TestServerOptions = {}): Promise<TestServer> {
  const dataDir = options.dataDir ?? tempDir();
  let agent: EmbeddedAgentConfig | undefined;
  if (options.agent) {
    const overrides = options.agent === true ? {} : options.agent;
    const runtime = overrides.runtime ?? new DockerRuntime();
    if (!overrides.runtime) await ensureBusyboxImage(runtime as DockerRuntime);
    agent = {
      runtime,
      cluster: "default",
      region: REGION,
      fargate: true,
      availabilityZone: `${REGION}a`,
      bindIp: "127.0.0.1",
      pullBehavior: "default",
      pollMs: 250,
      cleanupMs: 5_000,
      ...overrides,
    };
  }
  const server: RunningServer = await startServer({ dataDir, port: 0, host: "127.0.0.1", logger: options.logger ?? silentLogger, ...options.config, ...(agent ? { agent } : {}) });
  if (agent) noteTestAgent(dataDir);
  return {
    url: server.url,
    dataDir,
    identity: server.identity,
    server,
    async close() {
      await server.close();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

export interface Target {
  url: string;
  identity: Identity;
}

export function cliEnv(target: Target, overrides: Record<string, string> = {}): NodeJS.ProcessEnv {
  return {
    PATH: process.env["PATH"] ?? "/usr/bin:/bin",
    HOME: process.env["HOME"] ?? "/root",
    AWS_ACCESS_KEY_ID: target.identity.admin.accessKeyId,
    AWS_SECRET_ACCESS_KEY: target.identity.admin.secretAccessKey,
    AWS_DEFAULT_REGION: REGION,
    AWS_CONFIG_FILE: "/dev/null",
    AWS_SHARED_CREDENTIALS_FILE: "/dev/null",
    AWS_PAGER: "",
    AWS_MAX_ATTEMPTS: "1",
    ...overrides,
  };
}

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
  /** stdout parsed as JSON, or undefined when empty. */
  json: any; // eslint-disable-line @typescript-eslint/no-explicit-any
}

/** Runs `aws <args> --endpoint-url <server>` and collects its output. */
export function aws(target: Target, args: string[], envOverrides: Record<string, string> = {}): Promise<CliResult> {
  return new Promise((resolvePromise) => {
    execFile(
      AWS_CLI,
      [...args, "--endpoint-url", target.url, "--output", "json"],
      { env: cliEnv(target, envOverrides), timeout: 60_000 },
      (error, stdout, stderr) => {
        const code = error ? (typeof error.code === "number" ? error.code : 1) : 0;
        let json: unknown;
        try {
          json = stdout.trim() ? JSON.parse(stdout) : undefined;
        } catch {
          json = undefined;
        }
        resolvePromise({ code, stdout, stderr, json });
      },
    );
  });
}

/** `aws()` that must succeed: fails the test with the CLI's stderr otherwise; returns the JSON. */
export async function awsOk(target: Target, args: string[]): Promise<any> { // eslint-disable-line @typescript-eslint/no-explicit-any
  const r = await aws(target, args);
  if (r.code !== 0) throw new Error(`aws ${args.slice(0, 2).join(" ")} failed (exit ${r.code}): ${r.stderr}`);
  return r.json;
}

/** A trust policy that lets ECS tasks assume the role (task and execution roles). */
export const ECS_TASKS_TRUST = JSON.stringify({
  Version: "2012-10-17",
  Statement: [{ Effect: "Allow", Principal: { Service: "ecs-tasks.amazonaws.com" }, Action: "sts:AssumeRole" }],
});

export function ecsClient(target: Target, secret = target.identity.admin.secretAccessKey): ECSClient {
  return new ECSClient({
    endpoint: target.url,
    region: REGION,
    credentials: { accessKeyId: target.identity.admin.accessKeyId, secretAccessKey: secret },
    maxAttempts: 1,
  });
}

/** A `berth up` process started from the built bundle, as a user would run it. */
export interface BerthProcess {
  url: string;
  child: ChildProcess;
  identity: Identity;
}

export async function spawnBerth(dataDir: string, port: number, extraArgs: string[] = []): Promise<BerthProcess> {
  const args = [join(ROOT, "dist/berth.js"), "up", "--port", String(port), "--data-dir", dataDir, ...extraArgs];
  const child = spawn(process.execPath, args, {
    stdio: ["ignore", "pipe", "pipe"],
  });
  let output = "";
  child.stdout!.on("data", (d: Buffer) => (output += d.toString()));
  child.stderr!.on("data", (d: Buffer) => (output += d.toString()));
  const url = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 20_000;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`berth up exited with ${child.exitCode}: ${output}`);
    try {
      const res = await fetch(`${url}/_berth/health`);
      if (res.ok) {
        const proc = { url, child, identity: loadOrCreateIdentity(dataDir) };
        if (!extraArgs.includes("--no-agent")) await untilAgentJoined(proc);
        noteTestAgent(dataDir);
        return proc;
      }
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  child.kill("SIGKILL");
  throw new Error(`berth up did not answer: ${output}`);
}

/**
 * `berth up` answers before its embedded agent has joined `default` (joining creates the
 * cluster), and a freshly started Docker can keep the agent a while: a RunTask in between finds
 * no cluster. Tests start once the host's container instance is listed.
 */
function untilAgentJoined(proc: BerthProcess): Promise<true> {
  const client = ecsClient(proc);
  return until("the host's agent to join the default cluster", async () => {
    try {
      const listed = await client.send(new ListContainerInstancesCommand({ cluster: "default" }));
      return (listed.containerInstanceArns?.length ?? 0) > 0 ? true : undefined;
    } catch {
      // ClusterNotFoundException until the agent has joined.
      return undefined;
    }
  });
}

export function killHard(proc: BerthProcess): Promise<void> {
  return new Promise((r) => {
    if (proc.child.exitCode !== null) return r();
    proc.child.once("exit", () => r());
    proc.child.kill("SIGKILL");
  });
}

/** A free loopback port, found by binding port 0. */
export async function freePort(): Promise<number> {
  const { createServer } = await import("node:net");
  return new Promise((r, j) => {
    const s = createServer();
    s.once("error", j);
    s.listen(0, "127.0.0.1", () => {
      const { port } = s.address() as { port: number };
      s.close(() => r(port));
    });
  });
}

/** Polls `probe` until it returns a value; fails naming `what` (and `last()`, if given) after `ms`. */
export async function until<T>(what: string, probe: () => Promise<T | undefined>, ms = 30_000, last?: () => unknown): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}${last ? `; last: ${JSON.stringify(last(), null, 1)}` : ""}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

/** Polls DescribeTasks until the task satisfies `done`. */
export async function waitForTask(client: ECSClient, cluster: string, arn: string, done: (t: Task) => boolean, ms = 30_000): Promise<Task> {
  let seen: Task | undefined;
  return until(
    "the task to reach the expected state",
    async () => {
      seen = (await client.send(new DescribeTasksCommand({ cluster, tasks: [arn] }))).tasks?.[0];
      return seen && done(seen) ? seen : undefined;
    },
    ms,
    () => seen,
  );
}
