/**
 * Task definition rules: what RegisterTaskDefinition accepts (failing with ECS's own error
 * texts), what ECS derives at registration (integer cpu/memory here; `compatibilities` and
 * `requiresAttributes` in task-definition-compatibility.ts), and how task definition references
 * are parsed. Pure: no I/O, no clock.
 *
 * Input has already been checked against the ECS model (shapes, types, enums, required members);
 * this module checks only what the model cannot express. It never changes a container
 * definition: Berth returns them exactly as registered.
 */

import { parseArn } from "../core/arn.ts";
import { type BerthError, clientError, invalidParameter } from "../core/errors.ts";
import { compatibilities, fargateIncompatibility, requiresAttributes, usesAwslogs } from "./task-definition-compatibility.ts";
import { parseTaskCpu, parseTaskMemory } from "./task-definition-sizes.ts";

export { INVALID_TASK_CPU, INVALID_TASK_MEMORY, isFargateSize, parseTaskCpu, parseTaskMemory } from "./task-definition-sizes.ts";

/** Members carried through untouched; listed so that nothing else is accepted. */
type Opaque<K extends string> = { readonly [P in K]?: unknown };

export interface PortMappingInput extends Opaque<"protocol" | "name" | "appProtocol" | "containerPortRange"> {
  containerPort?: number;
  hostPort?: number;
}

export interface LogConfigurationInput extends Opaque<"secretOptions"> {
  logDriver: string;
  options?: Readonly<Record<string, string>>;
}

export interface HealthCheckInput {
  command: readonly string[];
  interval?: number;
  timeout?: number;
  retries?: number;
  startPeriod?: number;
}

export interface ContainerDependencyInput {
  containerName: string;
  condition: string;
}

export interface SecretInput {
  name: string;
  valueFrom: string;
}

export interface ContainerDefinitionInput
  extends Opaque<
    | "repositoryCredentials" | "links" | "restartPolicy" | "entryPoint" | "command" | "environment"
    | "environmentFiles" | "mountPoints" | "volumesFrom" | "linuxParameters" | "startTimeout" | "stopTimeout"
    | "versionConsistency" | "hostname" | "user" | "workingDirectory" | "disableNetworking"
    | "readonlyRootFilesystem" | "dnsServers" | "dnsSearchDomains" | "extraHosts" | "dockerSecurityOptions"
    | "interactive" | "pseudoTerminal" | "dockerLabels" | "ulimits" | "systemControls" | "resourceRequirements"
    | "firelensConfiguration" | "credentialSpecs"
  > {
  name?: string;
  image?: string;
  cpu?: number;
  memory?: number;
  memoryReservation?: number;
  essential?: boolean;
  privileged?: boolean;
  portMappings?: readonly PortMappingInput[];
  secrets?: readonly SecretInput[];
  dependsOn?: readonly ContainerDependencyInput[];
  logConfiguration?: LogConfigurationInput;
  healthCheck?: HealthCheckInput;
}

export interface VolumeInput
  extends Opaque<
    | "name" | "dockerVolumeConfiguration" | "efsVolumeConfiguration" | "s3filesVolumeConfiguration"
    | "fsxWindowsFileServerVolumeConfiguration" | "configuredAtLaunch"
  > {
  host?: { sourcePath?: string };
}

export interface RegisterTaskDefinitionInput
  extends Opaque<
    | "placementConstraints" | "pidMode" | "proxyConfiguration" | "inferenceAccelerators"
    | "ephemeralStorage" | "runtimePlatform" | "enableFaultInjection" | "tags"
  > {
  family: string;
  containerDefinitions: readonly ContainerDefinitionInput[];
  networkMode?: string;
  requiresCompatibilities?: readonly string[];
  cpu?: string;
  memory?: string;
  taskRoleArn?: string;
  executionRoleArn?: string;
  volumes?: readonly VolumeInput[];
  ipcMode?: string;
}

/** Fields ECS computes at registration; everything else is stored as registered. */
export interface NormalizedTaskDefinition {
  cpu?: string;
  memory?: string;
  compatibilities: string[];
  requiresAttributes: { name: string }[];
}

export interface TaskDefinitionRef {
  family: string;
  revision?: number;
}

const NAME_PATTERN = /^[a-zA-Z0-9_-]{1,255}$/;
const MAX_CONTAINERS = 10;
/** Docker 20.10+ refuses containers under 6 MiB ([BC] ContainerDefinition.memory). */
const MIN_CONTAINER_MEMORY_MIB = 6;
const STRICT_PORT_NETWORK_MODES: ReadonlySet<string> = new Set(["awsvpc", "host"]);
const AWSLOGS_REQUIRED_OPTIONS = ["awslogs-region", "awslogs-group"] as const;
const HEALTH_CHECK_COMMANDS: ReadonlySet<string> = new Set(["CMD", "CMD-SHELL", "NONE"]);
const HEALTH_CHECK_RANGES = [
  ["interval", 5, 300],
  ["timeout", 2, 60],
  ["retries", 1, 10],
  ["startPeriod", 0, 300],
] as const;
const TASK_DEFINITION_PREFIX = "task-definition/";

type NamedContainer = ContainerDefinitionInput & { readonly name: string };

/** The task-level cpu and memory, parsed. */
export interface TaskSize {
  cpu?: number;
  memory?: number;
}

// ---- validation ------------------------------------------------------------------------

/** Throws the BerthError ECS would return for the first rule `input` breaks. */
export function validateTaskDefinition(input: RegisterTaskDefinitionInput): void {
  if (input.family === "") throw clientError("Family can not be blank.");
  if (!NAME_PATTERN.test(input.family)) throw clientError("Family contains invalid characters.");
  const containers = checkContainerList(input.containerDefinitions);
  const size = taskSize(input);
  if (input.requiresCompatibilities?.includes("FARGATE")) {
    const reason = fargateIncompatibility(input, size);
    if (reason !== undefined) throw clientError(reason);
  }
  if (!input.executionRoleArn && containers.some((c) => (c.secrets ?? []).length > 0)) {
    throw clientError("When you are specifying container secrets, you must also specify a value for 'executionRoleArn'.");
  }
  for (const container of containers) {
    checkContainerMemory(container, size);
    checkPortMappings(container, input.networkMode);
    checkLogConfiguration(container);
    checkHealthCheck(container);
  }
  checkContainerCpuSum(containers, size);
  checkEssentialsAndDependencies(containers);
}

function checkContainerList(containers: readonly ContainerDefinitionInput[]): NamedContainer[] {
  if (containers.length === 0) throw clientError("Container list cannot be empty.");
  if (containers.length > MAX_CONTAINERS) throw clientError("Too many containers.");
  const seen = new Set<string>();
  return containers.map((container) => {
    const { name } = container;
    if (!name) throw clientError("Container.name should not be null or empty.");
    if (!NAME_PATTERN.test(name)) throw clientError("Container.name contains invalid characters.");
    if (!container.image) throw clientError("Container.image should not be null or empty.");
    if (seen.has(name)) throw clientError("Container names must be unique within a task definition.");
    seen.add(name);
    return { ...container, name };
  });
}

function taskSize(input: RegisterTaskDefinitionInput): TaskSize {
  const size: TaskSize = {};
  // An empty string is present and invalid, as in ECS; only absence skips the parse.
  if (input.cpu != null) size.cpu = parseTaskCpu(input.cpu);
  if (input.memory != null) size.memory = parseTaskMemory(input.memory);
  return size;
}

function checkContainerMemory(container: NamedContainer, size: TaskSize): void {
  const { name, memory, memoryReservation } = container;
  if (memory == null && memoryReservation == null && size.memory === undefined) {
    throw clientError(
      `Invalid setting for container '${name}'. At least one of 'memory' or 'memoryReservation' must be specified.`,
    );
  }
  if (memory == null) return;
  if (memory < MIN_CONTAINER_MEMORY_MIB) {
    throw clientError(`Invalid 'memory' setting for container '${name}'. Minimum memory is ${MIN_CONTAINER_MEMORY_MIB} MiB.`);
  }
  if (memoryReservation != null && memoryReservation > memory) {
    throw clientError(
      `Invalid setting for container '${name}'. The 'memoryReservation' value must be less than or equal to the 'memory' value.`,
    );
  }
  if (size.memory !== undefined && memory > size.memory) {
    throw clientError(`The 'memory' setting for container '${name}' is greater than for the task.`);
  }
}

function checkContainerCpuSum(containers: readonly NamedContainer[], size: TaskSize): void {
  if (size.cpu === undefined) return;
  const total = containers.reduce((sum, c) => sum + (c.cpu ?? 0), 0);
  if (total > size.cpu) {
    throw clientError("The sum of all container 'cpu' values cannot be greater than the value of the task 'cpu'.");
  }
}

/** awsvpc and host publish container ports directly, so a different host port cannot work. */
function checkPortMappings(container: NamedContainer, networkMode: string | undefined): void {
  if (networkMode === undefined || !STRICT_PORT_NETWORK_MODES.has(networkMode)) return;
  for (const { hostPort, containerPort } of container.portMappings ?? []) {
    if (hostPort != null && containerPort != null && hostPort !== containerPort) {
      throw clientError(`When networkMode=${networkMode}, the host ports and container ports in port mappings must match.`);
    }
  }
}

function checkLogConfiguration(container: NamedContainer): void {
  if (!usesAwslogs(container)) return;
  const options = container.logConfiguration?.options ?? {};
  const missing = AWSLOGS_REQUIRED_OPTIONS.filter((option) => !options[option]);
  if (missing.length > 0) throw clientError(`Log driver awslogs requires options: ${missing.join(", ")}`);
}

function checkHealthCheck(container: NamedContainer): void {
  const check = container.healthCheck;
  if (!check) return;
  const prefix = `Invalid 'healthCheck' setting for container '${container.name}'.`;
  const kind = check.command[0];
  if (kind === undefined || !HEALTH_CHECK_COMMANDS.has(kind)) {
    throw clientError(`${prefix} 'command' must start with CMD, CMD-SHELL or NONE.`);
  }
  for (const [field, min, max] of HEALTH_CHECK_RANGES) {
    const value = check[field];
    if (value != null && (value < min || value > max)) {
      throw clientError(`${prefix} '${field}' must be between ${min} and ${max}.`);
    }
  }
}

const isEssential = (container: ContainerDefinitionInput): boolean => container.essential !== false;

function checkEssentialsAndDependencies(containers: readonly NamedContainer[]): void {
  if (!containers.some(isEssential)) throw clientError("Task definition does not have any essential container.");
  const byName = new Map(containers.map((c) => [c.name, c]));
  for (const container of containers) {
    for (const { containerName, condition } of container.dependsOn ?? []) {
      const target = byName.get(containerName);
      if (!target) {
        throw clientError(`Container '${container.name}' has a dependency on an unknown container '${containerName}'.`);
      }
      if ((condition === "COMPLETE" || condition === "SUCCESS") && isEssential(target)) {
        throw clientError("A dependency container with SUCCESS or COMPLETE condition cannot be an essential container");
      }
    }
  }
  const looped = findDependencyCycle(containers, byName);
  if (looped !== undefined) throw clientError(`Container '${looped}' has a circular dependency.`);
}

/**
 * A container on a dependsOn cycle, if any. Such a task could never start: every container on
 * the cycle would wait for another forever.
 */
function findDependencyCycle(
  containers: readonly NamedContainer[],
  byName: ReadonlyMap<string, NamedContainer>,
): string | undefined {
  const state = new Map<string, "visiting" | "done">();
  const onCycle = (name: string): boolean => {
    const seen = state.get(name);
    if (seen !== undefined) return seen === "visiting";
    state.set(name, "visiting");
    const deps = byName.get(name)?.dependsOn ?? [];
    if (deps.some((dep) => onCycle(dep.containerName))) return true;
    state.set(name, "done");
    return false;
  };
  return containers.find((c) => onCycle(c.name))?.name;
}

// ---- derived fields --------------------------------------------------------------------

/** The fields ECS computes at registration. Call after validateTaskDefinition. */
export function normalizeTaskDefinition(input: RegisterTaskDefinitionInput): NormalizedTaskDefinition {
  const size = taskSize(input);
  const normalized: NormalizedTaskDefinition = {
    compatibilities: compatibilities(input, size),
    requiresAttributes: requiresAttributes(input),
  };
  if (size.cpu !== undefined) normalized.cpu = String(size.cpu);
  if (size.memory !== undefined) normalized.memory = String(size.memory);
  return normalized;
}

// ---- references ------------------------------------------------------------------------

/** Parses "family", "family:revision" or "arn:…:task-definition/family[:revision]". */
export function parseTaskDefinitionRef(ref: string): TaskDefinitionRef {
  const body = ref.startsWith("arn:") ? taskDefinitionArnBody(ref) : ref;
  const [family = "", revision, ...rest] = body.split(":");
  if (!NAME_PATTERN.test(family) || rest.length > 0) throw invalidReference(ref);
  if (revision === undefined) return { family };
  const number = Number(revision);
  if (!/^\d+$/.test(revision) || !Number.isSafeInteger(number) || number < 1) {
    throw invalidParameter(`Invalid revision number. Number: ${revision}`);
  }
  return { family, revision: number };
}

function taskDefinitionArnBody(ref: string): string {
  const arn = parseArn(ref);
  if (!arn || arn.service !== "ecs" || !arn.resource.startsWith(TASK_DEFINITION_PREFIX)) {
    throw invalidReference(ref);
  }
  return arn.resource.slice(TASK_DEFINITION_PREFIX.length);
}

function invalidReference(ref: string): BerthError {
  return invalidParameter(`Invalid task definition '${ref}'. Specify a family, family:revision, or a full task definition ARN.`);
}
