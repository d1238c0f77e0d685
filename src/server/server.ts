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
import { acmService } from "../api/acm/acm-service.ts";
import { elbv2Service } from "../api/elbv2/elbv2-service.ts";
import { SqliteElbEngine } from "../elb/sqlite-elb-engine.ts";
import { LoadBalancerDataPlane } from "../lb/load-balancer-data-plane.ts";
import type { MetricsStore } from "../domain/metrics.ts";
import { SqliteMetricsStore } from "../metrics/sqlite-metrics-store.ts";
import { LbMetricsRecorder } from "./lb-metrics.ts";
import { iamService } from "../api/iam/iam-service.ts";
import { SqliteIamEngine } from "../iam/sqlite-iam-engine.ts";
import { secretsManagerService } from "../api/secretsmanager/secretsmanager-service.ts";
import { ssmService } from "../api/ssm/ssm-service.ts";
import { Envelope } from "../secrets/envelope.ts";
import { loadMasterKey } from "../secrets/master-key.ts";
import { openSecretsDatabase } from "../secrets/secrets-database.ts";
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
  const store = new SqliteStore({ path: join(config.dataDir, "berth.db") });
  const logs = new SqliteLogsEngine({ path: join(config.dataDir, "logs.db"), clock: systemClock });
  const masterKey = loadMasterKey({
    dataDir: config.dataDir,
    ...(config.masterKey !== undefined ? { keyText: config.masterKey } : {}),
    ...(config.masterKeyFile !== undefined ? { keyFile: config.masterKeyFile } : {}),
  });
  const envelope = new Envelope(masterKey);
  // Instance targets are reached at the address their host port is published on.
  const instanceAddresses = new Map<string, string>();
  const elb = new SqliteElbEngine({
    path: join(config.dataDir, "elb.db"),
    clock: systemClock,
    instanceAddress: (id) => instanceAddresses.get(id),
    // Imported certificates' private keys are sealed under the secrets master key.
    keySealer: envelope.textSealer("acm"),
  });
  const deps = { store, clock: systemClock, ids: randomIds, elb };
  const secrets = openSecretsDatabase({
    path: join(config.dataDir, "secrets.db"),
    masterKey,
    clock: systemClock,
    logger: config.logger,
    runner: ecsRotationRunner(deps, (agentId) => signals.notify(agentId)),
  });
  const signals = new AgentSignals();
  const dataPlane = new LoadBalancerDataPlane({ logger: config.logger, workers: config.lbWorkers ?? 0 });
  const stopLoadBalancing = connectLoadBalancing(elb, dataPlane, config.logger);
  const metrics = new SqliteMetricsStore({ path: join(config.dataDir, "metrics.db") });
  const recorder = new LbMetricsRecorder(() => dataPlane.metrics(), metrics);
  const metricsTimer = setInterval(() => {
    const now = Date.now();
    recorder.sample(now).catch((e: unknown) => config.logger.warn("metrics sample failed", { error: String(e) }));
    // CloudWatch keeps one-minute datapoints for 15 days.
    metrics.expire(now - 15 * 86_400_000).catch(() => undefined);
  }, config.metricsPeriodMs ?? 60_000);
  metricsTimer.unref();
  const services = new ServiceController({
    deps,
    notifyAgent: signals.notify,
    logger: config.logger,
    elb,
    noteInstanceAddress: (id, address) => instanceAddresses.set(id, address),
  });
  const admin = principalOf(identity, identity.admin);
  const iam = new SqliteIamEngine({
    path: join(config.dataDir, "iam.db"),
    accountId: identity.accountId,
    clock: systemClock,
    adminArn: admin.arn,
    sealer: envelope.textSealer("iam"),
  });
  const handle = createApi({
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
  const channel = inProcessAgentChannel(
    deps,
    signals,
    identity.accountId,
    logs,
    taskIdentity({ iam, secrets: secrets.secrets, parameters: secrets.parameters, accountId: identity.accountId }),
  );
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
  // Once a minute: start due rotations and purge secrets past their recovery window; failures retry later.
  const secretsHousekeeping = setInterval(() => {
    const now = Date.now();
    secrets.secrets.purgeDeleted(now).catch((e: unknown) => config.logger.warn("secret purge failed", { error: String(e) }));
    secrets.secrets
      .dueRotations(now)
      .then((due) => {
        for (const d of due) secrets.secrets.rotate(d.scope, d.arn).catch(() => undefined); // the engine logs failures
      })
      .catch((e: unknown) => config.logger.warn("rotation scan failed", { error: String(e) }));
  }, 60_000);
  secretsHousekeeping.unref();
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
      apiUrl: url,
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
    metrics,
    async close() {
      clearInterval(sweeps);
      clearInterval(logRetention);
      clearInterval(secretsHousekeeping);
      services.stop();
      await agent?.stop();
      await new Promise<void>((resolve) => {
        http.close(() => resolve());
        http.closeAllConnections();
      });
      await store.close();
      await logs.close();
      clearInterval(metricsTimer);
      await stopLoadBalancing();
      await dataPlane.close();
      await elb.close();
      await metrics.close();
      await secrets.close();
      await iam.close();
    },
  };
  if (agent) running.agent = agent;
  return running;
}

/**
 * The ELBv2 control plane drives the data plane with whole snapshots (coalesced: at most one
 * apply runs, the newest snapshot wins) and takes back target health; once a second it also
 * completes deregistrations whose delay has passed. Returns the function that stops this.
 */
function connectLoadBalancing(elb: SqliteElbEngine, dataPlane: LoadBalancerDataPlane, logger: Logger): () => Promise<void> {
  let applying: Promise<void> = Promise.resolve();
  let queued = false;
  const push = (): void => {
    if (queued) return;
    queued = true;
    applying = applying.then(async () => {
      queued = false;
      await dataPlane.apply(elb.snapshot()).catch((e: unknown) => logger.warn("load balancer update failed", { error: String(e) }));
    });
  };
  const unsubscribe = elb.onChange(push);
  dataPlane.onHealthChange(() => elb.applyHealth(dataPlane.targetHealth()));
  const ticker = setInterval(() => {
    elb.tick(Date.now());
    elb.applyHealth(dataPlane.targetHealth());
  }, 1000);
  ticker.unref();
  push();
  return async () => {
    clearInterval(ticker);
    unsubscribe();
    await applying;
  };
}
