/**
 * The agent channel served in-process: protocol messages ↔ control/agents.ts calls. The
 * agent inside `berth up` uses it directly; the HTTP endpoint for remote agents wraps it.
 */
import { parseArn } from "../core/arn.ts";
import type { CallContext, ControlDeps } from "../control/context.ts";
import { type AgentSignals, applyReports, desiredTasks, heartbeat, registerAgent } from "../control/agents.ts";
import type { Task, TaskObservation } from "../domain/task.ts";
import type { AgentChannel, AgentHello, AgentWelcome, DesiredState, TaskReport, TaskSpec } from "../protocol/agent-protocol.ts";

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
  return spec;
}

function observation(report: TaskReport): TaskObservation {
  const { seq: _seq, macAddress: _mac, ...rest } = report;
  return rest;
}

export function inProcessAgentChannel(deps: ControlDeps, signals: AgentSignals, accountId: string): AgentChannel {
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
  };
}
