/**
 * From a task definition and RunTask overrides to what a task needs: each container's
 * definition with its overrides applied, the resources to reserve on an instance, and the
 * fixed host ports it claims. Pure; the control plane stores the result on the task.
 */
import { invalidParameter } from "../core/errors.ts";
import { parseTaskCpu, parseTaskMemory } from "./task-definitions.ts";

export interface ContainerOverride {
  name?: string;
  command?: string[];
  environment?: { name?: string; value?: string }[];
  environmentFiles?: unknown[];
  cpu?: number;
  memory?: number;
  memoryReservation?: number;
  resourceRequirements?: unknown[];
}

export interface TaskOverride {
  containerOverrides?: ContainerOverride[];
  cpu?: string;
  memory?: string;
  taskRoleArn?: string;
  executionRoleArn?: string;
  ephemeralStorage?: unknown;
  inferenceAcceleratorOverrides?: unknown[];
}

export interface LaunchPlan {
  containers: Record<string, unknown>[];
  cpu?: number;
  memory?: number;
  reservedCpu: number;
  reservedMemory: number;
  fixedPorts: { port: number; protocol: "tcp" | "udp" }[];
}

type Def = Record<string, unknown>;

/** Environment overrides replace variables of the same name and add the others. */
function mergeEnvironment(base: unknown, extra: ContainerOverride["environment"]): unknown {
  if (!extra) return base;
  const merged = new Map<string, string>();
  for (const e of (base as { name: string; value: string }[] | undefined) ?? []) merged.set(e.name, e.value);
  for (const e of extra) if (e.name !== undefined) merged.set(e.name, e.value ?? "");
  return [...merged].map(([name, value]) => ({ name, value }));
}

function applyOverride(def: Def, o: ContainerOverride | undefined): Def {
  if (!o) return def;
  const out: Def = { ...def };
  if (o.command) out["command"] = o.command;
  if (o.environment) out["environment"] = mergeEnvironment(def["environment"], o.environment);
  if (o.cpu !== undefined) out["cpu"] = o.cpu;
  if (o.memory !== undefined) out["memory"] = o.memory;
  if (o.memoryReservation !== undefined) out["memoryReservation"] = o.memoryReservation;
  if (o.environmentFiles) out["environmentFiles"] = o.environmentFiles;
  return out;
}

/**
 * The log delivery mode every container's log driver gets: its own `mode` option when it
 * names one, else the account's defaultLogDriverMode (containers without a logConfiguration
 * keep the host's default driver, as on ECS).
 */
function withLogMode(def: Def, mode: string): Def {
  const lc = def["logConfiguration"] as { logDriver?: string; options?: Record<string, string> } | undefined;
  if (!lc?.logDriver || lc.options?.["mode"] !== undefined) return def;
  return { ...def, logConfiguration: { ...lc, options: { ...lc.options, mode } } };
}

export function planLaunch(document: Def, overrides: TaskOverride, defaultLogDriverMode: string): LaunchPlan {
  const defs = document["containerDefinitions"] as Def[];
  const byName = new Map((overrides.containerOverrides ?? []).map((o) => [o.name, o] as const));
  for (const name of byName.keys()) {
    if (!defs.some((d) => d["name"] === name)) {
      throw invalidParameter(`Override for container named ${String(name)} is not a container in the TaskDefinition.`);
    }
  }
  const containers = defs.map((d) => withLogMode(applyOverride(d, byName.get(d["name"] as string)), defaultLogDriverMode));
  const taskCpuText = overrides.cpu ?? (document["cpu"] as string | undefined);
  const taskMemText = overrides.memory ?? (document["memory"] as string | undefined);
  const cpu = taskCpuText === undefined ? undefined : parseTaskCpu(taskCpuText);
  const memory = taskMemText === undefined ? undefined : parseTaskMemory(taskMemText);
  const sumOf = (key: string) => containers.reduce((n, c) => n + (Number(c[key]) || 0), 0);
  const containerMemory = containers.reduce((n, c) => n + (Number(c["memory"]) || Number(c["memoryReservation"]) || 0), 0);
  const networkMode = (document["networkMode"] as string | undefined) ?? "bridge";
  const fixedPorts: LaunchPlan["fixedPorts"] = [];
  for (const c of containers) {
    for (const pm of (c["portMappings"] as { containerPort?: number; hostPort?: number; protocol?: string }[] | undefined) ?? []) {
      const hostPort = networkMode === "bridge" ? pm.hostPort : (pm.hostPort ?? pm.containerPort);
      if (hostPort) fixedPorts.push({ port: hostPort, protocol: pm.protocol === "udp" ? "udp" : "tcp" });
    }
  }
  const plan: LaunchPlan = {
    containers,
    reservedCpu: cpu ?? sumOf("cpu"),
    reservedMemory: memory ?? containerMemory,
    fixedPorts: networkMode === "awsvpc" ? [] : fixedPorts,
  };
  if (cpu !== undefined) plan.cpu = cpu;
  if (memory !== undefined) plan.memory = memory;
  return plan;
}
