/**
 * The agent channel served in-process: protocol messages ↔ control/agents.ts calls. The
 * agent inside `berth up` uses it directly; the HTTP endpoint for remote agents wraps it.
 */
import { parseArn } from "../core/arn.ts";
import type { CallContext, ControlDeps } from "../control/context.ts";
import { type AgentSignals, applyReports, desiredTasks, heartbeat, registerAgent } from "../control/agents.ts";
import type { Task, TaskObservation } from "../domain/task.ts";
import { BerthError, ErrorCode } from "../core/errors.ts";
import { advanceCursor } from "../core/log-cursor.ts";
import type { LogsEngine, LogsScope } from "../domain/logs.ts";
import type {
  AgentChannel,
  AgentHello,
  AgentWelcome,
  DesiredState,
  LogBatch,
  LogTarget,
  RoleCredentials,
  TaskReport,
  TaskSecretsResult,
  TaskSpec,
} from "../protocol/agent-protocol.ts";

/**
 * What a task may know about itself beyond its definition: its secrets (read with the
 * execution role) and its task role's credentials. Implemented over IAM and the secret stores.
 */
export interface TaskIdentity {
  resolveSecrets(task: Task): Promise<TaskSecretsResult>;
  /** Throws AccessDenied, worded as ECS's log driver, when the execution role may not create the awslogs stream (or group). */
  authorizeLogs(task: Task, target: LogTarget): Promise<void>;
  credentials(task: Task): Promise<RoleCredentials>;
}

export function taskSpec(task: Task): TaskSpec {
  const spec: TaskSpec = {
    taskArn: task.taskArn,
    taskId: task.taskId,
    clusterArn: task.clusterArn,
    family: task.family,
    revision: task.revision,
    taskDefinitionArn: task.taskDefinitionArn,
    launchType: task.launchType,
    networkMode: task.networkMode,
    containers: task.resolvedContainers.map((definition, i) => ({
      name: definition["name"] as string,
      containerArn: task.containers[i]!.containerArn,
      image: definition["image"] as string,
      essential: definition["essential"] !== false,
      definition,
    })),
    volumes: task.volumes,
    availabilityZone: task.availabilityZone,
    region: task.region,
  };
  if (task.cpu !== undefined) spec.cpu = Number(task.cpu);
  if (task.memory !== undefined) spec.memory = Number(task.memory);
  if (task.pidMode !== undefined) spec.pidMode = task.pidMode;
  if (task.ipcMode !== undefined) spec.ipcMode = task.ipcMode;
  if (task.taskRoleArn !== undefined) spec.taskRoleArn = task.taskRoleArn;
  if (task.executionRoleArn !== undefined) spec.executionRoleArn = task.executionRoleArn;
  return spec;
}

function observation(report: TaskReport): TaskObservation {
  const { seq: _seq, macAddress: _mac, ...rest } = report;
  return rest;
}

/**
 * Events stored in one go (AWS's own limit is 10,000). Storing runs on the server's event loop,
 * so a chunk is kept to a few milliseconds and the API's requests get their turn between
 * chunks: with four containers logging 100,000 lines/s between them, DescribeClusters answers
 * in 41–95 ms at p50 (bench/logs.ts), where it took 706 ms with 10,000-event chunks and no turn
 * between them.
 */
const CHUNK_EVENTS = 1_000;

/** AWS's PutLogEvents limits (1,048,576 bytes, 26 per event overhead, 24 h span), in chunks of CHUNK_EVENTS. */
function chunks(events: LogBatch["events"]): LogBatch["events"][] {
  const out: LogBatch["events"][] = [];
  let current: LogBatch["events"] = [];
  let bytes = 0;
  for (const e of events) {
    const size = Buffer.byteLength(e.message) + 26;
    const first = current[0];
    if (current.length > 0 && (current.length >= CHUNK_EVENTS || bytes + size > 1_048_576 || e.timestamp - first!.timestamp > 23 * 3600_000)) {
      out.push(current);
      current = [];
      bytes = 0;
    }
    current.push(e);
    bytes += size;
  }
  if (current.length > 0) out.push(current);
  return out;
}

async function ensureStream(logs: LogsEngine, scope: LogsScope, target: LogTarget): Promise<void> {
  const exists = (e: unknown) => e instanceof BerthError && e.code === ErrorCode.ResourceAlreadyExists;
  if (target.createGroup) await logs.createLogGroup(scope, target.logGroup).catch((e: unknown) => { if (!exists(e)) throw e; });
  await logs.createLogStream(scope, target.logGroup, target.logStream).catch((e: unknown) => { if (!exists(e)) throw e; });
}

export function inProcessAgentChannel(
  deps: ControlDeps,
  signals: AgentSignals,
  accountId: string,
  logs: LogsEngine,
  identity?: TaskIdentity,
): AgentChannel {
  /** An agent asks only about the tasks it runs. */
  const ownTask = async (agentId: string, taskArn: string): Promise<Task> => {
    const arn = parseArn(taskArn);
    const task = arn ? await deps.store.getTask(arn.region, taskArn.slice(taskArn.lastIndexOf("/") + 1)) : undefined;
    if (!task || task.agentId !== agentId) throw new BerthError(ErrorCode.AccessDenied, `Task ${taskArn} does not run on agent ${agentId}.`);
    return task;
  };
  const ctxFor = (region: string): CallContext => ({
    scope: { partition: "aws", region, accountId },
    principalArn: `arn:aws:iam::${accountId}:root`,
  });
  return {
    async register(hello: AgentHello): Promise<AgentWelcome> {
      const reg = {
        agentId: hello.agentId,
        hostname: hello.hostname,
        agentVersion: hello.agentVersion,
        cpu: hello.resources.cpu,
        memoryMiB: hello.resources.memoryMiB,
        fargate: hello.fargate,
        attributes: hello.attributes,
        region: hello.region,
        reservedPorts: hello.reservedPorts,
        ...(hello.cluster ? { cluster: hello.cluster } : {}),
      };
      const result = await registerAgent(deps, ctxFor(hello.region), reg);
      const welcome: AgentWelcome = { agentId: hello.agentId, region: hello.region, accountId };
      if (result.containerInstanceArn) welcome.containerInstanceArn = result.containerInstanceArn;
      return welcome;
    },
    async desiredState(agentId: string, afterGeneration: number, waitMs: number): Promise<DesiredState> {
      const { tasks, generation } = await desiredTasks(deps, signals, agentId, afterGeneration, waitMs);
      return {
        generation,
        tasks: tasks.map((t) => {
          const desired: DesiredState["tasks"][number] = { spec: taskSpec(t), desiredStatus: t.desiredStatus };
          if (t.stopCode !== undefined) desired.stopCode = t.stopCode;
          if (t.stoppedReason !== undefined) desired.stoppedReason = t.stoppedReason;
          if (t.drainingTargets && t.desiredStatus === "STOPPED") desired.holdDeactivating = true;
          return desired;
        }),
      };
    },
    async report(agentId: string, reports: TaskReport[]): Promise<void> {
      await applyReports(deps, agentId, (arn) => parseArn(arn)?.region ?? "us-east-1", reports.map(observation));
    },
    async heartbeat(agentId: string): Promise<void> {
      await heartbeat(deps, agentId);
    },
    async prepareLogStream(agentId: string, target: LogTarget, taskArn?: string): Promise<void> {
      if (taskArn !== undefined && identity) await identity.authorizeLogs(await ownTask(agentId, taskArn), target);
      await ensureStream(logs, { region: target.region, accountId }, target);
    },
    async resolveSecrets(agentId: string, taskArn: string): Promise<TaskSecretsResult> {
      const task = await ownTask(agentId, taskArn);
      if (!identity) return { ok: false, message: "this server has no secret stores" };
      return identity.resolveSecrets(task);
    },
    async taskCredentials(agentId: string, taskArn: string): Promise<RoleCredentials> {
      const task = await ownTask(agentId, taskArn);
      if (!identity || !task.taskRoleArn) throw new BerthError(ErrorCode.AccessDenied, `Task ${taskArn} has no task role.`);
      return identity.credentials(task);
    },
    async shipLogs(_agentId: string, batches: LogBatch[]): Promise<void> {
      for (const batch of batches) {
        const scope = { region: batch.region, accountId };
        let from = batch.source?.from;
        for (const events of chunks(batch.events)) {
          const source = batch.source && from ? { key: batch.source.key, from } : undefined;
          const put = () => logs.putLogEvents(scope, batch.logGroup, batch.logStream, events, source);
          try {
            await put();
          } catch (error) {
            // The stream was deleted (or never made, after a server restart): make it and retry once.
            if (!(error instanceof BerthError && error.code === ErrorCode.ResourceNotFound)) throw error;
            await ensureStream(logs, scope, batch);
            await put();
          }
          if (from) from = advanceCursor(from, events);
          // Storing is synchronous: let the API's waiting requests in between chunks.
          await new Promise<void>((resolve) => setImmediate(resolve));
        }
      }
    },
  };
}
