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
import { createApi, type Handle } from "../api/router.ts";
import { stsService } from "../api/sts/sts-service.ts";
import { systemClock } from "../core/clock.ts";
import { randomIds } from "../core/ids.ts";
import type { Logger } from "../core/logger.ts";
import { AgentSignals } from "../control/agents.ts";
import type { ControlDeps } from "../control/context.ts";
import type { AgentChannel } from "../protocol/agent-protocol.ts";
import { ServiceController } from "../controllers/service-controller.ts";
import type { Runtime } from "../runtime/runtime.ts";
import { SqliteStore } from "../store/sqlite-store.ts";
import { logsService } from "../api/logs/logs-service.ts";
import { SqliteLogsEngine } from "../logs/sqlite-logs-engine.ts";
import { acmService } from "../api/acm/acm-service.ts";
import { elbv2Service } from "../api/elbv2/elbv2-service.ts";
import { SqliteElbEngine } from "../elb/sqlite-elb-engine.ts";
import { LoadBalancerDataPlane } from "../lb/load-balancer-data-plane.ts";
import type { MetricsStore } from "../domain/metrics.ts";
import { SqliteMetricsStore } from "../metrics/sqlite-metrics-store.ts";
import { startHousekeeping } from "./housekeeping.ts";
import { LbMetricsRecorder } from "./lb-metrics.ts";
import { connectLoadBalancing } from "./load-balancing.ts";
import { iamService } from "../api/iam/iam-service.ts";
import { SqliteIamEngine } from "../iam/sqlite-iam-engine.ts";
import { secretsManagerService } from "../api/secretsmanager/secretsmanager-service.ts";
import { ssmService } from "../api/ssm/ssm-service.ts";
import { Envelope } from "../secrets/envelope.ts";
import { loadMasterKey } from "../secrets/master-key.ts";
import { openSecretsDatabase, type SecretsDatabase } from "../secrets/secrets-database.ts";
import { inProcessAgentChannel } from "./agent-channel.ts";
import { ecsRotationRunner } from "./rotation-runner.ts";
import { taskIdentity } from "./task-identity.ts";
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
  /** Load balancer proxy worker processes (0: proxy in the server process). */
  lbWorkers?: number;
  /** How often load balancer metrics are recorded (CloudWatch's 60 s unless set). */
  metricsPeriodMs?: number;
  /** How long STOPPED tasks stay describable; ECS guarantees at least an hour. */
  stoppedTaskRetentionMs?: number;
  agent?: EmbeddedAgentConfig;
  /** The secrets master key as 64 hex characters or base64 (BERTH_MASTER_KEY); else masterKeyFile; else <dataDir>/master.key. */
  masterKey?: string;
  masterKeyFile?: string;
}

export interface RunningServer {
  url: string;
  port: number;
  identity: Identity;
  /** The bearer token remote agents present (kept in `<dataDir>/agent-token`). */
  agentToken: string;
  agent?: Agent;
  /** Recorded metrics (the load balancer's), until a CloudWatch API serves them. */
  metrics: MetricsStore;
  close(): Promise<void>;
}

export async function startServer(config: ServerConfig): Promise<RunningServer> {
  const identity = loadOrCreateIdentity(config.dataDir);
  const agentToken = loadOrCreateAgentToken(config.dataDir);
  const signals = new AgentSignals();
  const engines = openEngines(config, identity, signals);
  const { deps, logs, elb, secrets, iam, metrics } = engines;
  const dataPlane = new LoadBalancerDataPlane({ logger: config.logger, workers: config.lbWorkers ?? 0 });
  const stopLoadBalancing = connectLoadBalancing(elb, dataPlane, config.logger);
  const services = new ServiceController({
    deps,
    notifyAgent: signals.notify,
    logger: config.logger,
    elb,
    noteInstanceAddress: (id, address) => engines.instanceAddresses.set(id, address),
  });
  const channel = inProcessAgentChannel(
    deps,
    signals,
    identity.accountId,
    logs,
    taskIdentity({ iam, secrets: secrets.secrets, parameters: secrets.parameters, accountId: identity.accountId }),
  );
  const http = createHttpServer(apiHandle(config, identity, engines, signals, services), config.logger, undefined, agentHttpHandler(channel, agentToken, config.logger));
  await new Promise<void>((resolve, reject) => {
    http.once("error", reject);
    http.listen(config.port, config.host, () => resolve());
  });
  const port = (http.address() as AddressInfo).port;
  const url = `http://${config.host === "0.0.0.0" ? "127.0.0.1" : config.host}:${port}`;

  const stopHousekeeping = startHousekeeping({
    deps,
    logs,
    secrets: secrets.secrets,
    metrics,
    recorder: new LbMetricsRecorder(() => dataPlane.metrics(), metrics),
    logger: config.logger,
    stoppedTaskRetentionMs: config.stoppedTaskRetentionMs ?? 60 * 60_000,
    metricsPeriodMs: config.metricsPeriodMs ?? 60_000,
  });
  services.start();
  const agent = config.agent ? await startEmbeddedAgent(config, config.agent, channel, url) : undefined;
  config.logger.info("berth server listening", { url, dataDir: config.dataDir });
  const running: RunningServer = {
    url,
    port,
    identity,
    agentToken,
    metrics,
    async close() {
      stopHousekeeping();
      services.stop();
      await agent?.stop();
      await new Promise<void>((resolve) => {
        http.close(() => resolve());
        http.closeAllConnections();
      });
      await stopLoadBalancing();
      await dataPlane.close();
      await engines.close();
    },
  };
  if (agent) running.agent = agent;
  return running;
}

/** The control plane's state, each engine on its own file in the data dir. */
interface Engines {
  deps: ControlDeps & { elb: SqliteElbEngine };
  logs: SqliteLogsEngine;
  elb: SqliteElbEngine;
  secrets: SecretsDatabase;
  iam: SqliteIamEngine;
  metrics: SqliteMetricsStore;
  /** Instance targets are reached at the address their host port is published on. */
  instanceAddresses: Map<string, string>;
  close(): Promise<void>;
}

function openEngines(config: ServerConfig, identity: Identity, signals: AgentSignals): Engines {
  const { dataDir, logger } = config;
  const store = new SqliteStore({ path: join(dataDir, "berth.db") });
  const logs = new SqliteLogsEngine({ path: join(dataDir, "logs.db"), clock: systemClock });
  const masterKey = loadMasterKey({
    dataDir,
    ...(config.masterKey !== undefined ? { keyText: config.masterKey } : {}),
    ...(config.masterKeyFile !== undefined ? { keyFile: config.masterKeyFile } : {}),
  });
  const envelope = new Envelope(masterKey);
  const instanceAddresses = new Map<string, string>();
  const elb = new SqliteElbEngine({
    path: join(dataDir, "elb.db"),
    clock: systemClock,
    instanceAddress: (id) => instanceAddresses.get(id),
    // Imported certificates' private keys are sealed under the secrets master key.
    keySealer: envelope.textSealer("acm"),
  });
  const deps = { store, clock: systemClock, ids: randomIds, elb };
  const secrets = openSecretsDatabase({
    path: join(dataDir, "secrets.db"),
    masterKey,
    clock: systemClock,
    logger,
    runner: ecsRotationRunner(deps, (agentId) => signals.notify(agentId)),
  });
  const iam = new SqliteIamEngine({
    path: join(dataDir, "iam.db"),
    accountId: identity.accountId,
    clock: systemClock,
    adminArn: principalOf(identity, identity.admin).arn,
    sealer: envelope.textSealer("iam"),
  });
  const metrics = new SqliteMetricsStore({ path: join(dataDir, "metrics.db") });
  return {
    deps,
    logs,
    elb,
    secrets,
    iam,
    metrics,
    instanceAddresses,
    async close() {
      await store.close();
      await logs.close();
      await elb.close();
      await metrics.close();
      await secrets.close();
      await iam.close();
    },
  };
}

/** The public API: every service Berth serves, behind SigV4 and IAM. */
function apiHandle(config: ServerConfig, identity: Identity, engines: Engines, signals: AgentSignals, services: ServiceController): Handle {
  const { deps, logs, elb, secrets, iam } = engines;
  const admin = principalOf(identity, identity.admin);
  return createApi({
    services: [
      ecsService(deps, signals.notify, services.enqueue),
      logsService(logs),
      elbv2Service(elb),
      acmService(elb),
      secretsManagerService(secrets.secrets),
      ssmService(secrets.parameters),
      stsService((arn) => (arn === admin.arn ? admin : iam.principal(arn)), iam),
      iamService(iam),
    ],
    credentials: credentialLookup(identity, iam),
    iam,
    clock: systemClock,
    ids: randomIds,
    logger: config.logger,
  });
}

/** This host's own agent, joined over the in-process channel. */
async function startEmbeddedAgent(config: ServerConfig, a: EmbeddedAgentConfig, channel: AgentChannel, apiUrl: string): Promise<Agent> {
  const agent = new Agent({
    channel,
    runtime: a.runtime,
    dataDir: config.dataDir,
    region: a.region,
    cluster: a.cluster,
    fargate: a.fargate,
    availabilityZone: a.availabilityZone,
    bindIp: a.bindIp,
    pullBehavior: a.pullBehavior,
    apiUrl,
    logger: config.logger,
    ...(a.pollMs !== undefined ? { pollMs: a.pollMs } : {}),
    ...(a.cleanupMs !== undefined ? { cleanupMs: a.cleanupMs } : {}),
  });
  await agent.start();
  return agent;
}
