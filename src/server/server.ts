/**
 * Composition root of the control plane: opens the store, loads the identity, wires the
 * services into the API, starts the HTTP listener, the background sweeps (agent liveness,
 * stopped-task retention), the agent channel (in process for the agent on this host, over
 * HTTP at /_berth/agent/ for `berth agent` on other hosts, behind the data dir's agent token)
 * and, unless disabled, the agent for this host. `startServer` resolves once the port is bound
 * and the agent registered; `close()` stops accepting, drops open connections (long-polls
 * included), stops the loops (containers keep running) and closes the store.
 */
import { join } from "node:path";
import type { AddressInfo } from "node:net";
import { Agent } from "../agent/agent.ts";
import type { PullBehavior } from "../agent/images.ts";
import { createHttpServer } from "../api/http-server.ts";
import { ecsService } from "../api/ecs/ecs-service.ts";
import { createApi } from "../api/router.ts";
import { stsService } from "../api/sts/sts-service.ts";
import { systemClock } from "../core/clock.ts";
import { randomIds } from "../core/ids.ts";
import type { Logger } from "../core/logger.ts";
import { AgentSignals, expireStoppedTasks, sweepAgents } from "../control/agents.ts";
import { ServiceController } from "../controllers/service-controller.ts";
import type { Runtime } from "../runtime/runtime.ts";
import { SqliteStore } from "../store/sqlite-store.ts";
import { logsService } from "../api/logs/logs-service.ts";
import { SqliteLogsEngine } from "../logs/sqlite-logs-engine.ts";
import { inProcessAgentChannel } from "./agent-channel.ts";
import { agentHttpHandler } from "./agent-http.ts";
import { loadOrCreateAgentToken } from "./agent-token.ts";
import { type Identity, credentialLookup, loadOrCreateIdentity, principalOf } from "./identity.ts";

export interface EmbeddedAgentConfig {
  runtime: Runtime;
  /** Cluster the host joins as a container instance ("default" unless set). */
  cluster: string;
  region: string;
  fargate: boolean;
  availabilityZone: string;
  bindIp: string;
  pullBehavior: PullBehavior;
  pollMs?: number;
  cleanupMs?: number;
}

export interface ServerConfig {
  dataDir: string;
  port: number;
  host: string;
  logger: Logger;
  /** How long STOPPED tasks stay describable; ECS guarantees at least an hour. */
  stoppedTaskRetentionMs?: number;
  agent?: EmbeddedAgentConfig;
}

export interface RunningServer {
  url: string;
  port: number;
  identity: Identity;
  /** The bearer token remote agents present (kept in `<dataDir>/agent-token`). */
  agentToken: string;
  agent?: Agent;
  close(): Promise<void>;
}

export async function startServer(config: ServerConfig): Promise<RunningServer> {
  const identity = loadOrCreateIdentity(config.dataDir);
  const agentToken = loadOrCreateAgentToken(config.dataDir);
  const store = new SqliteStore({ path: join(config.dataDir, "berth.db") });
  const deps = { store, clock: systemClock, ids: randomIds };
  const logs = new SqliteLogsEngine({ path: join(config.dataDir, "logs.db"), clock: systemClock });
  const signals = new AgentSignals();
  const services = new ServiceController({ deps, notifyAgent: signals.notify, logger: config.logger });
  const admin = principalOf(identity, identity.admin);
  const handle = createApi({
    services: [
      ecsService(deps, signals.notify, services.enqueue),
      logsService(logs),
      stsService((arn) => (arn === admin.arn ? admin : undefined)),
    ],
    credentials: credentialLookup(identity),
    clock: systemClock,
    ids: randomIds,
    logger: config.logger,
  });
  const channel = inProcessAgentChannel(deps, signals, identity.accountId, logs);
  const http = createHttpServer(handle, config.logger, undefined, agentHttpHandler(channel, agentToken, config.logger));
  await new Promise<void>((resolve, reject) => {
    http.once("error", reject);
    http.listen(config.port, config.host, () => resolve());
  });
  const port = (http.address() as AddressInfo).port;
  const url = `http://${config.host === "0.0.0.0" ? "127.0.0.1" : config.host}:${port}`;

  const retention = config.stoppedTaskRetentionMs ?? 60 * 60_000;
  const sweeps = setInterval(() => {
    // Housekeeping only: a failed sweep is retried on the next tick.
    sweepAgents(deps).catch((e: unknown) => config.logger.warn("agent sweep failed", { error: String(e) }));
    expireStoppedTasks(deps, retention).catch((e: unknown) => config.logger.warn("task expiry failed", { error: String(e) }));
  }, 5_000);
  sweeps.unref();
  // Log retention is enforced in batches once a minute; a failed round is retried the next.
  const logRetention = setInterval(() => {
    logs.enforceRetention(Date.now()).catch((e: unknown) => config.logger.warn("log retention failed", { error: String(e) }));
  }, 60_000);
  logRetention.unref();
  services.start();

  let agent: Agent | undefined;
  if (config.agent) {
    const a = config.agent;
    agent = new Agent({
      channel,
      runtime: a.runtime,
      dataDir: config.dataDir,
      region: a.region,
      cluster: a.cluster,
      fargate: a.fargate,
      availabilityZone: a.availabilityZone,
      bindIp: a.bindIp,
      pullBehavior: a.pullBehavior,
      logger: config.logger,
      ...(a.pollMs !== undefined ? { pollMs: a.pollMs } : {}),
      ...(a.cleanupMs !== undefined ? { cleanupMs: a.cleanupMs } : {}),
    });
    await agent.start();
  }
  config.logger.info("berth server listening", { url, dataDir: config.dataDir });
  const running: RunningServer = {
    url,
    port,
    identity,
    agentToken,
    async close() {
      clearInterval(sweeps);
      clearInterval(logRetention);
      services.stop();
      await agent?.stop();
      await new Promise<void>((resolve) => {
        http.close(() => resolve());
        http.closeAllConnections();
      });
      await store.close();
      await logs.close();
    },
  };
  if (agent) running.agent = agent;
  return running;
}
