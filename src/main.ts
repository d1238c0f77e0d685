/**
 * The `berth` command's entry point and composition root for processes:
 *   berth up [--port N] [--data-dir D] [--host H] [--detach]   start Berth
 *   berth down [--data-dir D]                                  stop a detached Berth
 *   berth env | secrets | lb | logs                            the client commands (cli/client-commands.ts);
 *                                                              this file only resolves their endpoint
 *   berth agent --server URL --token T [--cluster C] [...]     join this host to a server
 *   berth agent-token [--data-dir D]                           print the server's agent token
 * The ./berth shell script installs and builds first, then runs this.
 */
import { availableParallelism } from "node:os";
import { spawn } from "node:child_process";
import { existsSync, mkdirSync, openSync, readFileSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { resolve, join } from "node:path";
import { parseArgs } from "node:util";
import { jsonLogger } from "./core/logger.ts";
import { type ClientCommandLine, runEnv, runLb, runLogs, runSecrets } from "./cli/client-commands.ts";
import type { JsonEndpoint } from "./cli/signed-client.ts";
import { loadOrCreateIdentity } from "./server/identity.ts";
import { loadOrCreateAgentToken } from "./server/agent-token.ts";
import { Agent } from "./agent/agent.ts";
import { HttpAgentChannel } from "./agent/http-agent-channel.ts";
import type { PullBehavior } from "./agent/images.ts";
import { DockerRuntime } from "./runtime/docker-runtime.ts";
import { type EmbeddedAgentConfig, startServer } from "./server/server.ts";

const DEFAULT_PORT = 4566;
const STATE_FILE = "server.json";

interface ServerState {
  pid: number;
  port: number;
  url: string;
}

const { positionals, values } = parseArgs({
  allowPositionals: true,
  options: {
    port: { type: "string" },
    "data-dir": { type: "string" },
    host: { type: "string" },
    region: { type: "string" },
    detach: { type: "boolean" },
    cluster: { type: "string" },
    "no-agent": { type: "boolean" },
    "bind-ip": { type: "string" },
    "pull-behavior": { type: "string" },
    "availability-zone": { type: "string" },
    "docker-socket": { type: "string" },
    "task-retention-minutes": { type: "string" },
    "lb-workers": { type: "string" },
    follow: { type: "boolean" },
    since: { type: "string" },
    filter: { type: "string" },
    "value-file": { type: "string" },
    description: { type: "string" },
    "version-stage": { type: "string" },
    "version-id": { type: "string" },
    "master-key-file": { type: "string" },
    server: { type: "string" },
    token: { type: "string" },
    "no-fargate": { type: "boolean" },
    help: { type: "boolean", short: "h" },
  },
});

const dataDir = resolve(values["data-dir"] ?? process.env["BERTH_DATA_DIR"] ?? ".berth");
const command = positionals[0] ?? "help";

function readState(): ServerState | undefined {
  const path = join(dataDir, STATE_FILE);
  if (!existsSync(path)) return undefined;
  try {
    return JSON.parse(readFileSync(path, "utf8")) as ServerState;
  } catch {
    return undefined; // left half-written by a server killed mid-write: no server stands behind it
  }
}

/** Written whole or not at all (a rename), so a kill never leaves a torn state file behind. */
function writeState(state: ServerState): void {
  const path = join(dataDir, STATE_FILE);
  writeFileSync(`${path}.tmp`, `${JSON.stringify(state)}\n`);
  renameSync(`${path}.tmp`, path);
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

function portOption(): number {
  const port = Number(values.port ?? process.env["BERTH_PORT"] ?? DEFAULT_PORT);
  if (!Number.isInteger(port) || port < 0 || port > 65535) fail(`invalid --port: ${values.port}`);
  return port;
}

function fail(message: string): never {
  process.stderr.write(`berth: ${message}\n`);
  process.exit(1);
}

/** Load balancer proxy processes: one per core (at most 4) unless given; 0 proxies in the server. */
function lbWorkers(): number {
  const raw = values["lb-workers"] ?? process.env["BERTH_LB_WORKERS"];
  if (raw === undefined) {
    const cores = availableParallelism();
    return cores > 1 ? Math.min(cores, 4) : 0;
  }
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 0 || n > 64) fail(`--lb-workers must be a whole number from 0 to 64, not ${raw}`);
  return n;
}

async function up(): Promise<void> {
  const running = readState();
  if (running && isAlive(running.pid)) fail(`Berth is already running (pid ${running.pid}) at ${running.url}`);
  if (values.detach) return detach();
  mkdirSync(dataDir, { recursive: true });
  const logger = jsonLogger();
  const server = await startServer({
    dataDir,
    port: portOption(),
    host: values.host ?? "127.0.0.1",
    logger,
    stoppedTaskRetentionMs: retentionMs(),
    lbWorkers: lbWorkers(),
    ...(process.env["BERTH_MASTER_KEY"] ? { masterKey: process.env["BERTH_MASTER_KEY"] } : {}),
    ...(values["master-key-file"] !== undefined ? { masterKeyFile: resolve(values["master-key-file"]) } : {}),
    ...(values["no-agent"] ? {} : { agent: agentConfig(logger) }),
  });
  const state: ServerState = { pid: process.pid, port: server.port, url: server.url };
  writeState(state);
  process.stdout.write(`Berth is up at ${server.url} (data in ${dataDir}). Run: eval "$(./berth env)"\n`);
  let stopping = false;
  const stop = (): void => {
    if (stopping) return;
    stopping = true;
    server
      .close()
      .finally(() => {
        rmSync(join(dataDir, STATE_FILE), { force: true });
        process.exit(0);
      });
  };
  process.on("SIGINT", stop);
  process.on("SIGTERM", stop);
}

const PULL_BEHAVIORS = ["default", "always", "once", "prefer-cached"];

/** How long STOPPED tasks stay describable: ECS promises at least an hour, the default. */
function retentionMs(): number {
  const minutes = Number(values["task-retention-minutes"] ?? process.env["BERTH_TASK_RETENTION_MINUTES"] ?? 60);
  if (!Number.isFinite(minutes) || minutes < 1) fail("--task-retention-minutes must be at least 1");
  return minutes * 60_000;
}

/** The agent for this host: Docker at the default socket, joining the default cluster. */
function agentConfig(logger: ReturnType<typeof jsonLogger>): EmbeddedAgentConfig {
  const region = values.region ?? process.env["AWS_REGION"] ?? "us-east-1";
  const pull = values["pull-behavior"] ?? process.env["ECS_IMAGE_PULL_BEHAVIOR"] ?? "default";
  if (!PULL_BEHAVIORS.includes(pull)) fail(`--pull-behavior must be one of ${PULL_BEHAVIORS.join(", ")}`);
  return {
    runtime: new DockerRuntime({ socketPath: values["docker-socket"] ?? "/var/run/docker.sock", logger }),
    cluster: values.cluster ?? "default",
    region,
    fargate: true,
    availabilityZone: values["availability-zone"] ?? `${region}a`,
    bindIp: values["bind-ip"] ?? "127.0.0.1",
    pullBehavior: pull as PullBehavior,
  };
}

/**
 * `berth agent`: this host joins a cluster of the Berth server at --server, over HTTP. Its
 * own data dir (default ./.berth-agent) keeps its agent id, so a restart is the same
 * container instance; stopping it leaves the containers running for the next start to adopt.
 */
async function agent(): Promise<void> {
  const serverUrl = values.server ?? process.env["BERTH_SERVER"];
  const token = values.token ?? process.env["BERTH_AGENT_TOKEN"];
  if (!serverUrl) fail("berth agent needs --server URL (or BERTH_SERVER): the Berth server this host joins");
  if (!token) fail("berth agent needs --token T (or BERTH_AGENT_TOKEN); run `berth agent-token` on the server host to print it");
  if (!/^https?:\/\/[^/]/.test(serverUrl)) fail(`--server must be an http:// or https:// URL, not ${serverUrl}`);
  const agentDir = resolve(values["data-dir"] ?? ".berth-agent");
  mkdirSync(agentDir, { recursive: true });
  const logger = jsonLogger();
  const host = agentConfig(logger);
  const running = new Agent({
    ...host,
    fargate: !values["no-fargate"],
    channel: new HttpAgentChannel({ serverUrl, token }),
    apiUrl: serverUrl,
    dataDir: agentDir,
    logger,
  });
  await running.start().catch((error: unknown) => fail(`the agent could not start: ${error instanceof Error ? error.message : String(error)}`));
  const instance = running.containerInstanceArn ?? "(no container instance)";
  process.stdout.write(`Berth agent ${running.agentId} joined cluster ${host.cluster} as ${instance} at ${serverUrl} (data in ${agentDir}).\n`);
  let stopping = false;
  const stop = (): void => {
    if (stopping) return;
    stopping = true;
    void running.stop().finally(() => process.exit(0));
  };
  process.on("SIGINT", stop);
  process.on("SIGTERM", stop);
}

/** Starts `berth up` in the background and returns once the API answers. */
async function detach(): Promise<void> {
  mkdirSync(dataDir, { recursive: true });
  const log = openSync(join(dataDir, "berth.log"), "a");
  const args = [process.argv[1]!, "up", "--data-dir", dataDir, "--port", String(portOption())];
  for (const flag of ["host", "cluster", "region", "bind-ip", "pull-behavior", "availability-zone", "docker-socket", "task-retention-minutes", "master-key-file", "lb-workers"] as const) {
    const value = values[flag];
    if (value !== undefined) args.push(`--${flag}`, value);
  }
  if (values["no-agent"]) args.push("--no-agent");
  const child = spawn(process.execPath, [...process.execArgv, ...args], { detached: true, stdio: ["ignore", log, log] });
  child.unref();
  const deadline = Date.now() + 30_000;
  while (Date.now() < deadline) {
    const state = readState();
    if (state && state.pid === child.pid && (await healthy(state.url))) {
      process.stdout.write(`Berth is up at ${state.url} (pid ${state.pid}, log ${join(dataDir, "berth.log")}).\n`);
      return;
    }
    if (child.exitCode !== null || !isAlive(child.pid!)) fail(`Berth exited during start; see ${join(dataDir, "berth.log")}`);
    await new Promise((r) => setTimeout(r, 100));
  }
  fail(`Berth did not answer within 30 s; see ${join(dataDir, "berth.log")}`);
}

async function healthy(url: string): Promise<boolean> {
  try {
    const res = await fetch(`${url}/_berth/health`, { signal: AbortSignal.timeout(1000) });
    return res.ok;
  } catch {
    return false;
  }
}

async function down(): Promise<void> {
  const state = readState();
  if (!state || !isAlive(state.pid)) {
    rmSync(join(dataDir, STATE_FILE), { force: true });
    process.stdout.write("Berth is not running.\n");
    return;
  }
  process.kill(state.pid, "SIGTERM");
  const deadline = Date.now() + 15_000;
  while (isAlive(state.pid) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
  if (isAlive(state.pid)) process.kill(state.pid, "SIGKILL");
  rmSync(join(dataDir, STATE_FILE), { force: true });
  process.stdout.write(`Berth (pid ${state.pid}) stopped.\n`);
}

/** Where the client commands reach Berth: the running server's URL (or --port's), with the admin key. */
function apiEndpoint(): JsonEndpoint {
  const identity = loadOrCreateIdentity(dataDir);
  const state = readState();
  const url = values.port !== undefined || !state ? `http://127.0.0.1:${portOption()}` : state.url;
  return { url, region: values.region ?? process.env["AWS_REGION"] ?? "us-east-1", credentials: identity.admin };
}

const clientCommandLine: ClientCommandLine = {
  positionals,
  flags: values,
  endpoint: apiEndpoint,
  write: (line) => process.stdout.write(`${line}\n`),
  fail,
};

const HELP = `usage: berth <command> [options]
  up [--port 4566] [--data-dir ./.berth] [--host 127.0.0.1] [--detach]   start Berth
     [--cluster default] [--region us-east-1] [--bind-ip 127.0.0.1] [--no-agent]
     [--pull-behavior default|always|once|prefer-cached] [--availability-zone Z]
     [--master-key-file F]  (secrets master key; or BERTH_MASTER_KEY; default <data-dir>/master.key)
     [--lb-workers N]       (load balancer proxy processes; default one per core, at most 4; 0: in the server)
  down [--data-dir ./.berth]                                            stop a detached Berth
  env [--data-dir ./.berth] [--port N] [--region R]                     print credentials and endpoints as exports
  logs TASK|SERVICE [--cluster default] [--follow] [--since 10m] [--filter PATTERN] [--region R]
  secrets create NAME [VALUE | --value-file F] [--description D]        Secrets Manager for humans (the value is
  secrets put NAME [VALUE | --value-file F]                             read from stdin when not given)
  secrets get NAME [--version-stage S | --version-id ID]                print a secret's value
  secrets list [--region R]                                             list secrets
  lb [--region R]                                                       load balancers: listeners and their local
                                                                        addresses, rules, target health
  agent --server URL --token T [--cluster default] [--data-dir ./.berth-agent]
        [--region us-east-1] [--bind-ip 127.0.0.1] [--availability-zone Z] [--no-fargate]
        [--pull-behavior default|always|once|prefer-cached] [--docker-socket /var/run/docker.sock]
                                                                        join this host to the Berth server at URL
                                                                        (or set BERTH_SERVER, BERTH_AGENT_TOKEN)
  agent-token [--data-dir ./.berth]                                     print the token agents on other hosts need
`;

switch (command) {
  case "up":
    await up();
    break;
  case "down":
    await down();
    break;
  case "env":
    runEnv(clientCommandLine);
    break;
  case "logs":
    await runLogs(clientCommandLine);
    break;
  case "secrets":
    await runSecrets(clientCommandLine);
    break;
  case "lb":
    await runLb(clientCommandLine);
    break;
  case "agent":
    await agent();
    break;
  case "agent-token":
    process.stdout.write(`${loadOrCreateAgentToken(dataDir)}\n`);
    break;
  case "help":
    process.stdout.write(HELP);
    break;
  default:
    process.stderr.write(HELP);
    process.exit(2);
}
