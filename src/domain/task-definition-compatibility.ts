/**
 * Task definition compatibility: what a registered definition needs of where it runs, as ECS
 * derives it at registration. The launch types it is compatible with (`compatibilities`, with the
 * one Fargate rule that the FARGATE registration check also uses) and the container instance
 * attributes it requires (`requiresAttributes`). Pure: no I/O, no clock; it never validates.
 */
import type { ContainerDefinitionInput, RegisterTaskDefinitionInput, TaskSize } from "./task-definitions.ts";
import { isFargateSize } from "./task-definition-sizes.ts";

const ECR_IMAGE = /\.dkr\.ecr(-fips)?\.[a-z0-9-]+\.amazonaws\.com(\.cn)?\//;

/**
 * Why this definition cannot run on Fargate, in ECS's words, or undefined when it can. The one
 * source for both the FARGATE registration check and the reported `compatibilities`.
 */
export function fargateIncompatibility(input: RegisterTaskDefinitionInput, size: TaskSize): string | undefined {
  const containers = input.containerDefinitions;
  if (input.networkMode !== "awsvpc") return "Fargate only supports network mode 'awsvpc'.";
  if (size.cpu === undefined) return "Fargate requires that 'cpu' be defined at the task level.";
  if (size.memory === undefined) return "Fargate requires that 'memory' be defined at the task level.";
  if (!isFargateSize(size.cpu, size.memory)) {
    return `No Fargate configuration exists for given values: ${size.cpu} CPU, ${size.memory} memory. See the Amazon ECS documentation for the valid values.`;
  }
  if (input.ipcMode != null) return "Tasks using the Fargate launch type do not support ipcMode.";
  if (containers.some((c) => c.privileged === true)) {
    return "Tasks using the Fargate launch type do not support privileged mode.";
  }
  if ((input.volumes ?? []).some((v) => v.host?.sourcePath)) {
    return "Tasks using the Fargate launch type do not support host volumes with a sourcePath.";
  }
  if (!input.executionRoleArn && containers.some(usesAwslogs)) {
    return "Fargate requires task definition to have execution role ARN to support log driver awslogs.";
  }
  if (!input.executionRoleArn && containers.some((c) => ECR_IMAGE.test(c.image ?? ""))) {
    return "Fargate requires task definition to have execution role ARN to support ECR images.";
  }
  return undefined;
}

/** Launch types the definition can run on, in the model's enum order; EC2 is always one. */
export function compatibilities(input: RegisterTaskDefinitionInput, size: TaskSize): string[] {
  const requested = input.requiresCompatibilities ?? [];
  const result = ["EC2"];
  if (fargateIncompatibility(input, size) === undefined) result.push("FARGATE");
  for (const launchType of ["EXTERNAL", "MANAGED_INSTANCES"]) {
    if (requested.includes(launchType)) result.push(launchType);
  }
  return result;
}

interface Features {
  awsvpc: boolean;
  taskRole: boolean;
  executionRole: boolean;
  awslogs: boolean;
  secretsManager: boolean;
  parameterStore: boolean;
  healthCheck: boolean;
  dependsOn: boolean;
}

/** Container instance attributes a definition needs, and when ECS asks for each. */
const REQUIRED_ATTRIBUTES: readonly (readonly [string, (f: Features) => boolean])[] = [
  ["com.amazonaws.ecs.capability.docker-remote-api.1.18", () => true],
  ["com.amazonaws.ecs.capability.docker-remote-api.1.19", (f) => f.awslogs],
  ["com.amazonaws.ecs.capability.docker-remote-api.1.29", (f) => f.healthCheck],
  ["com.amazonaws.ecs.capability.logging-driver.awslogs", (f) => f.awslogs],
  ["ecs.capability.execution-role-awslogs", (f) => f.awslogs && f.executionRole],
  ["com.amazonaws.ecs.capability.task-iam-role", (f) => f.taskRole],
  ["ecs.capability.task-eni", (f) => f.awsvpc],
  ["ecs.capability.secrets.asm.environment-variables", (f) => f.secretsManager],
  ["ecs.capability.secrets.ssm.environment-variables", (f) => f.parameterStore],
  ["ecs.capability.container-health-check", (f) => f.healthCheck],
  ["ecs.capability.container-ordering", (f) => f.dependsOn],
];

/** The REQUIRED_ATTRIBUTES that apply to the definition, in table order. */
export function requiresAttributes(input: RegisterTaskDefinitionInput): { name: string }[] {
  const features = featuresOf(input);
  return REQUIRED_ATTRIBUTES.filter(([, applies]) => applies(features)).map(([name]) => ({ name }));
}

function featuresOf(input: RegisterTaskDefinitionInput): Features {
  const containers = input.containerDefinitions;
  const secretSources = containers.flatMap((c) => c.secrets ?? []).map((s) => s.valueFrom);
  const inSecretsManager = (valueFrom: string): boolean => valueFrom.includes(":secretsmanager:");
  return {
    awsvpc: input.networkMode === "awsvpc",
    taskRole: Boolean(input.taskRoleArn),
    executionRole: Boolean(input.executionRoleArn),
    awslogs: containers.some(usesAwslogs),
    secretsManager: secretSources.some(inSecretsManager),
    parameterStore: secretSources.some((valueFrom) => !inSecretsManager(valueFrom)),
    healthCheck: containers.some((c) => c.healthCheck != null),
    dependsOn: containers.some((c) => (c.dependsOn ?? []).length > 0),
  };
}

export function usesAwslogs(container: ContainerDefinitionInput): boolean {
  return container.logConfiguration?.logDriver === "awslogs";
}
