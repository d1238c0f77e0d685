/**
 * What a runner knows about each container, and how that becomes a TaskReport: container
 * lastStatus, exit codes and reasons (OOM in ECS's words), health and network bindings.
 */
import type { ContainerReport, ContainerSpec, TaskReport } from "../protocol/agent-protocol.ts";
import type { ContainerState } from "../runtime/runtime.ts";
import type { Dependency } from "./container-order.ts";

export interface TrackedContainer {
  name: string;
  image: string;
  essential: boolean;
  definition: Record<string, unknown>;
  dependsOn: Dependency[];
  startTimeoutSec?: number;
  stopTimeoutSec?: number;
  imageDigest?: string;
  state?: ContainerState | undefined;
  /** The container vanished from the engine. */
  gone?: boolean;
}

export function containerFromDefinition(c: ContainerSpec): TrackedContainer {
  const def = c.definition;
  const tracked: TrackedContainer = {
    name: c.name,
    image: c.image,
    essential: c.essential,
    definition: def,
    dependsOn: (def["dependsOn"] as Dependency[] | undefined) ?? [],
  };
  if (typeof def["startTimeout"] === "number") tracked.startTimeoutSec = def["startTimeout"];
  if (typeof def["stopTimeout"] === "number") tracked.stopTimeoutSec = def["stopTimeout"];
  return tracked;
}

export const OOM_REASON = "OutOfMemoryError: Container killed due to memory usage";

function containerReport(c: TrackedContainer, ipAddress: string | undefined): ContainerReport {
  const s = c.state;
  const exited = c.gone || (!!s && !s.running && s.startedAt !== undefined);
  const report: ContainerReport = {
    name: c.name,
    lastStatus: exited ? "STOPPED" : s?.running ? "RUNNING" : "PENDING",
    healthStatus: s?.health === "healthy" ? "HEALTHY" : s?.health === "unhealthy" ? "UNHEALTHY" : "UNKNOWN",
    networkBindings: (s?.running ? s.ports : []).map((p) => ({ bindIP: p.hostIp, containerPort: p.containerPort, hostPort: p.hostPort, protocol: p.protocol })),
  };
  if (s) report.runtimeId = s.id;
  if (c.imageDigest) report.imageDigest = c.imageDigest;
  if (exited && s?.exitCode !== undefined) report.exitCode = s.exitCode;
  if (s?.oomKilled) report.reason = OOM_REASON;
  else if (s?.error) report.reason = s.error;
  if (ipAddress) report.privateIPv4Address = ipAddress;
  if (s?.startedAt !== undefined) report.startedAt = s.startedAt;
  if (exited && s?.finishedAt !== undefined) report.finishedAt = s.finishedAt;
  return report;
}

export interface ReportInput {
  taskArn: string;
  status: string;
  seq: number;
  times: Partial<Record<"pullStartedAt" | "pullStoppedAt" | "startedAt" | "stoppingAt" | "executionStoppedAt" | "stoppedAt", number>>;
  containers: TrackedContainer[];
  stopCode?: string;
  stoppedReason?: string;
  ipAddress?: string;
}

export function buildReport(input: ReportInput): TaskReport {
  const report: TaskReport = {
    taskArn: input.taskArn,
    lastStatus: input.status,
    seq: input.seq,
    containers: input.containers.map((c) => containerReport(c, input.ipAddress)),
    ...input.times,
  };
  if (input.stopCode !== undefined) report.stopCode = input.stopCode;
  if (input.stoppedReason !== undefined) report.stoppedReason = input.stoppedReason;
  if (input.ipAddress !== undefined) report.privateIPv4Address = input.ipAddress;
  return report;
}
