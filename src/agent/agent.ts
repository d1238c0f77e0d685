/**
 * The node agent: registers its host, long-polls the desired task set, keeps one TaskRunner
 * per task, sends coalesced task reports (retrying while the server is away) and heartbeats.
 * Containers carry labels naming their task, so a restarted agent adopts them instead of
 * starting them again. Tasks keep running while the agent or the server is down.
 */
import { createHash, randomBytes } from "node:crypto";
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { hostname } from "node:os";
import { join } from "node:path";
import type { Logger } from "../core/logger.ts";
import { AGENT_PROTOCOL_VERSION, type AgentChannel, type DesiredTask, type LogTarget, type TaskReport } from "../protocol/agent-protocol.ts";
import type { Runtime } from "../runtime/runtime.ts";
import { LABEL } from "./container-config.ts";
import type { PullBehavior } from "./images.ts";
import { apiForwarder } from "./api-forwarder.ts";
import { LogShipper } from "./log-shipper.ts";
import { TaskCredentials } from "./task-credentials.ts";
import { ensureHostAddress, startMetadataServer } from "./metadata-server.ts";
import { TASK_BRIDGE, awsvpcNetwork, ensureTaskNetwork } from "./task-network.ts";
import { TaskRunner } from "./task-runner.ts";

export const AGENT_VERSION = "1.0.0-berth";

const METADATA_ADDRESS = "169.254.170.2";
const METADATA_URL = `http://${METADATA_ADDRESS}`;

/** The AWS SDKs' service-specific endpoint variables for the services Berth serves. */
const ENDPOINT_VARIABLES = [
  "AWS_ENDPOINT_URL_ECS",
  "AWS_ENDPOINT_URL_CLOUDWATCH_LOGS",
  "AWS_ENDPOINT_URL_SECRETS_MANAGER",
  "AWS_ENDPOINT_URL_SSM",
  "AWS_ENDPOINT_URL_STS",
  "AWS_ENDPOINT_URL_IAM",
  "AWS_ENDPOINT_URL_ELASTIC_LOAD_BALANCING_V2",
  "AWS_ENDPOINT_URL_ACM",
];

/** A container opts in to Berth's endpoints with BERTH_AWS_ENDPOINTS=true in its environment. */
function wantsEndpoints(task: DesiredTask["spec"], containerName: string): boolean {
  const def = task.containers.find((c) => c.name === containerName)?.definition;
  const env = (def?.["environment"] as { name?: string; value?: string }[] | undefined) ?? [];
  return env.some((e) => e.name === "BERTH_AWS_ENDPOINTS" && e.value === "true");
}

export interface AgentConfig {
  channel: AgentChannel;
  runtime: Runtime;
  dataDir: string;
  region: string;
  /** Join this cluster as a container instance; absent for a Fargate-only host. */
  cluster?: string;
  fargate: boolean;
  availabilityZone: string;
  bindIp: string;
  pullBehavior: PullBehavior;
  /** Serve the task metadata endpoint on 169.254.170.2:80 (needs root); default true. */
  metadata?: boolean;
  /** The server's API URL, for tasks that opt in to AWS_ENDPOINT_URL_* through the metadata address. */
  apiUrl?: string;
  pollMs?: number;
  cleanupMs?: number;
  heartbeatMs?: number;
  logger: Logger;
}

export class Agent {
  readonly agentId: string;
  private readonly runners = new Map<string, TaskRunner>();
  private readonly pending = new Map<string, TaskReport>();
  private readonly abort = new AbortController();
  private flushing = false;
  private metadataBaseUrl: string | undefined;
  private closeMetadata: (() => Promise<void>) | undefined;
  containerInstanceArn?: string;
  private readonly shipper: LogShipper;
  private readonly credentials: TaskCredentials;

  constructor(private readonly config: AgentConfig) {
    this.agentId = loadAgentId(config.dataDir);
    this.credentials = new TaskCredentials({
      secret: this.agentId,
      fetch: (taskArn) => config.channel.taskCredentials(this.agentId, taskArn),
      now: () => Date.now(),
      tasks: () => [...this.runners.keys()].filter((arn) => this.runners.get(arn)?.snapshot().spec.taskRoleArn),
      addressesOf: (taskArn) => this.runners.get(taskArn)?.callerAddresses(),
    });
    this.shipper = new LogShipper(config.runtime, (batches) => config.channel.shipLogs(this.agentId, batches), config.dataDir, config.logger);
  }

  async start(): Promise<void> {
    const { runtime, channel } = this.config;
    await runtime.ping();
    await ensureTaskNetwork(runtime);
    if (this.config.metadata !== false) await this.serveMetadata();
    const info = await runtime.info();
    const welcome = await retry(() =>
      channel.register({
        protocolVersion: AGENT_PROTOCOL_VERSION,
        agentId: this.agentId,
        hostname: info.hostname || hostname(),
        agentVersion: AGENT_VERSION,
        resources: { cpu: info.cpus * 1024, memoryMiB: info.memoryMiB },
        attributes: {
          "ecs.os-type": "linux",
          "ecs.os-family": "LINUX",
          "ecs.cpu-architecture": info.arch === "aarch64" || info.arch === "arm64" ? "arm64" : "x86_64",
          "ecs.availability-zone": this.config.availabilityZone,
          "ecs.instance-type": "berth.host",
        },
        region: this.config.region,
        ...(this.config.cluster ? { cluster: this.config.cluster } : {}),
        fargate: this.config.fargate,
        reservedPorts: [22, 2375, 2376, 51678, 51679],
      }), this.abort.signal);
    if (welcome?.containerInstanceArn) this.containerInstanceArn = welcome.containerInstanceArn;
    void runtime.events((event) => {
      const arn = event.labels[LABEL.taskArn];
      if (arn) this.runners.get(arn)?.wake();
    }, this.abort.signal);
    void this.pollLoop();
    void this.heartbeatLoop();
    this.config.logger.info("agent started", { agentId: this.agentId, containerInstanceArn: this.containerInstanceArn });
  }

  /** Stops the agent's loops. Containers keep running; a new agent adopts them. */
  async stop(): Promise<void> {
    this.abort.abort();
    for (const runner of this.runners.values()) runner.abandon();
    this.shipper.stop();
    await this.closeMetadata?.();
  }

  /**
   * The metadata endpoint at 169.254.170.2, an address put on Berth's task bridge so that
   * containers in every network mode reach it. Without it (not root, or another agent on this
   * host serves it) tasks run without ECS_CONTAINER_METADATA_URI*.
   */
  private async serveMetadata(): Promise<void> {
    const address = METADATA_ADDRESS;
    if (!(await ensureHostAddress(address, TASK_BRIDGE))) {
      this.config.logger.warn("metadata endpoint unavailable: cannot add its address", { address, device: TASK_BRIDGE });
      return;
    }
    const source = {
      lookup: (token: string) => {
        const found = this.lookupToken(token);
        const runner = found && this.runners.get(found.taskArn);
        return runner && found ? { task: runner.snapshot(), containerName: found.containerName } : undefined;
      },
      stats: (id: string) => this.config.runtime.stats(id),
      credentials: (id: string, remoteAddress: string) => this.credentials.serve(id, remoteAddress),
      ...(this.config.apiUrl ? { forwardApi: apiForwarder(this.config.apiUrl) } : {}),
    };
    // Port 80 as on ECS; when another agent on this host holds it, any port will do, since
    // containers learn the URL from ECS_CONTAINER_METADATA_URI_V4.
    for (const port of [80, 0]) {
      try {
        const server = await startMetadataServer({ host: address, port, logger: this.config.logger, source });
        this.closeMetadata = server.close;
        this.metadataBaseUrl = server.port === 80 ? METADATA_URL : `${METADATA_URL}:${server.port}`;
        return;
      } catch (error) {
        this.config.logger.warn("metadata endpoint: could not listen", { port, error: String(error) });
      }
    }
  }

  private async pollLoop(): Promise<void> {
    let generation = -1;
    while (!this.abort.signal.aborted) {
      try {
        const state = await this.config.channel.desiredState(this.agentId, generation, 20_000);
        generation = state.generation;
        await this.reconcile(state.tasks);
      } catch (error) {
        if (this.abort.signal.aborted) return;
        this.config.logger.warn("desired state poll failed", { error: String(error) });
        await delay(1000, this.abort.signal);
      }
    }
  }

  private async reconcile(tasks: DesiredTask[]): Promise<void> {
    for (const desired of tasks) {
      const arn = desired.spec.taskArn;
      const runner = this.runners.get(arn);
      if (runner) {
        runner.update(desired);
        continue;
      }
      const existing = await this.config.runtime.listContainers({ [LABEL.taskArn]: arn });
      this.runners.set(arn, new TaskRunner(this.runnerDeps(), desired, existing));
    }
    // Runners whose tasks the server no longer lists have been acknowledged as STOPPED.
    const live = new Set(tasks.map((t) => t.spec.taskArn));
    for (const [arn, runner] of this.runners) {
      if (!live.has(arn)) {
        void runner.done.then(() => {
          this.runners.delete(arn);
          this.credentials.forget(arn);
        });
      }
    }
    await this.removeLeftovers(live);
  }

  /**
   * Exited containers of tasks the server no longer lists are removed once they have been
   * stopped for the cleanup delay. A runner's own timer does this too, but it dies with the
   * agent; this sweep also covers containers left by an agent that was killed.
   */
  private async removeLeftovers(live: ReadonlySet<string>): Promise<void> {
    const cutoff = Date.now() - (this.config.cleanupMs ?? 60_000);
    for (const c of await this.config.runtime.listContainers({ [LABEL.agentId]: this.agentId })) {
      const arn = c.labels[LABEL.taskArn];
      if (!arn || live.has(arn) || this.runners.has(arn) || c.running) continue;
      if ((c.finishedAt ?? c.createdAt) > cutoff) continue;
      await this.config.runtime.removeContainer(c.id, { force: true, volumes: true }).catch(() => undefined);
      this.shipper.forget(c.id);
    }
  }

  private runnerDeps() {
    const { config } = this;
    return {
      runtime: config.runtime,
      agentId: this.agentId,
      now: () => Date.now(),
      bindIp: config.bindIp,
      pullBehavior: config.pullBehavior,
      network: awsvpcNetwork(config.runtime, this.agentId),
      extraEnv: (task: DesiredTask["spec"], containerName: string) => {
        const env: Record<string, string> = {
          AWS_REGION: task.region,
          AWS_DEFAULT_REGION: task.region,
          AWS_EXECUTION_ENV: task.launchType === "FARGATE" ? "AWS_ECS_FARGATE" : "AWS_ECS_EC2",
        };
        if (this.metadataBaseUrl) {
          const token = metadataToken(this.agentId, task.taskArn, containerName);
          env["ECS_CONTAINER_METADATA_URI_V4"] = `${this.metadataBaseUrl}/v4/${token}`;
          env["ECS_CONTAINER_METADATA_URI"] = `${this.metadataBaseUrl}/v3/${token}`;
          env["ECS_AGENT_URI"] = `${this.metadataBaseUrl}/api/${token}`;
          if (task.taskRoleArn) {
            const path = `/v2/credentials/${this.credentials.idFor(task.taskArn)}`;
            if (this.metadataBaseUrl === METADATA_URL) env["AWS_CONTAINER_CREDENTIALS_RELATIVE_URI"] = path;
            else env["AWS_CONTAINER_CREDENTIALS_FULL_URI"] = `${this.metadataBaseUrl}${path}`;
          }
          if (this.config.apiUrl && wantsEndpoints(task, containerName)) {
            for (const name of ENDPOINT_VARIABLES) env[name] = this.metadataBaseUrl;
          }
        }
        return env;
      },
      report: (report: TaskReport) => this.enqueue(report),
      secrets: (taskArn: string) => config.channel.resolveSecrets(this.agentId, taskArn),
      logs: {
        prepare: (target: LogTarget, taskArn: string) => config.channel.prepareLogStream(this.agentId, target, taskArn),
        follow: (containerId: string, target: LogTarget) => this.shipper.follow(containerId, target),
        forget: (containerId: string) => this.shipper.forget(containerId),
      },
      pollMs: config.pollMs ?? 1000,
      cleanupMs: config.cleanupMs ?? 60_000,
      log: (message: string, fields?: Record<string, unknown>) => config.logger.info(message, fields),
    };
  }

  /** Keeps only the newest report per task; a flush sends them all. */
  private enqueue(report: TaskReport): void {
    this.pending.set(report.taskArn, report);
    void this.flush();
  }

  private async flush(): Promise<void> {
    if (this.flushing) return;
    this.flushing = true;
    try {
      while (this.pending.size > 0 && !this.abort.signal.aborted) {
        const batch = [...this.pending.values()];
        this.pending.clear();
        try {
          await this.config.channel.report(this.agentId, batch);
        } catch (error) {
          // The server is away: keep the newest of each and try again shortly.
          for (const r of batch) if (!this.pending.has(r.taskArn)) this.pending.set(r.taskArn, r);
          this.config.logger.warn("report failed", { error: String(error) });
          await delay(1000, this.abort.signal);
        }
      }
    } finally {
      this.flushing = false;
    }
  }

  private async heartbeatLoop(): Promise<void> {
    while (!this.abort.signal.aborted) {
      await delay(this.config.heartbeatMs ?? 10_000, this.abort.signal);
      if (this.abort.signal.aborted) return;
      await this.config.channel.heartbeat(this.agentId).catch((e: unknown) => this.config.logger.warn("heartbeat failed", { error: String(e) }));
    }
  }

  /** The container a metadata token names, for the metadata endpoint. */
  lookupToken(token: string): { taskArn: string; containerName: string } | undefined {
    for (const [arn, runner] of this.runners) {
      for (const name of runner.containerNames) {
        if (metadataToken(this.agentId, arn, name) === token) return { taskArn: arn, containerName: name };
      }
    }
    return undefined;
  }

  runner(taskArn: string): TaskRunner | undefined {
    return this.runners.get(taskArn);
  }
}

function metadataToken(agentId: string, taskArn: string, containerName: string): string {
  return createHash("sha256").update(`${agentId}\u0000${taskArn}\u0000${containerName}`).digest("hex").slice(0, 32);
}

/** The agent's id lives in its data dir so that a restarted agent is the same agent. */
function loadAgentId(dataDir: string): string {
  const dir = join(dataDir, "agent");
  const path = join(dir, "agent-id");
  if (existsSync(path)) return readFileSync(path, "utf8").trim();
  mkdirSync(dir, { recursive: true });
  const id = randomBytes(16).toString("hex");
  writeFileSync(path, `${id}\n`);
  return id;
}

function delay(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(resolve, ms);
    signal.addEventListener("abort", () => {
      clearTimeout(timer);
      resolve();
    }, { once: true });
  });
}

async function retry<T>(fn: () => Promise<T>, signal: AbortSignal): Promise<T | undefined> {
  for (let attempt = 0; !signal.aborted; attempt++) {
    try {
      return await fn();
    } catch (error) {
      if (attempt >= 5) throw error;
      await delay(500 * 2 ** attempt, signal);
    }
  }
  return undefined;
}
