/**
 * What a task may know about itself beyond its definition, for the agent channel: its
 * `secrets` and `repositoryCredentials`, read with its execution role's permissions (never
 * handed to a container, never stored), whether that role may create its awslogs stream, and
 * temporary credentials for its task role. Failures read as the ECS agent's, since they become
 * the task's stoppedReason.
 */
import { BerthError, ErrorCode } from "../core/errors.ts";
import { lastSegment } from "../core/arn.ts";
import { type IamEngine, assumedRoleArn } from "../domain/iam.ts";
import { type EcsSecretReference, parseEcsSecretReference } from "../domain/secret-references.ts";
import type { ParameterStore, SecretsEngine } from "../domain/secrets.ts";
import type { Task } from "../domain/task.ts";
import { logGroupResource, logStreamArn } from "../domain/logs.ts";
import type { ContainerSecrets, LogTarget, RoleCredentials, TaskSecretsResult } from "../protocol/agent-protocol.ts";
import type { TaskIdentity } from "./agent-channel.ts";

export interface TaskIdentityDeps {
  iam: IamEngine;
  secrets: SecretsEngine;
  parameters: ParameterStore;
  accountId: string;
  /** Lifetime of task role credentials; the agent replaces them at half-life. */
  credentialSeconds?: number;
}

interface SecretEntry {
  name: string;
  valueFrom: string;
}

export function taskIdentity(deps: TaskIdentityDeps): TaskIdentity {
  const scopeOf = (task: Task) => ({ region: task.region, accountId: deps.accountId });
  /** AWS's refusal of the execution role's session (named after the task id), as the ECS agent reports it. */
  const denied = (task: Task, roleArn: string, action: string, resource: string): string =>
    `AccessDeniedException: User: ${assumedRoleArn(deps.accountId, lastSegment(roleArn), task.taskId)} is not authorized to perform: ${action} on resource: ${resource} because no identity-based policy allows the ${action} action status code: 400`;

  async function read(task: Task, valueFrom: string): Promise<string> {
    const ref: EcsSecretReference = parseEcsSecretReference(valueFrom, scopeOf(task));
    const role = task.executionRoleArn;
    const where = ref.service === "ssm" ? "unable to retrieve secrets from ssm" : "unable to retrieve secret from asm";
    const fetching = ref.service === "ssm" ? "" : `failed to fetch secret ${ref.resourceArn} from secrets manager: `;
    const fail = (what: string) => new SecretFailure(`execution resource retrieval failed: ${where}: service call has been retried 1 time(s): ${fetching}${what}`);
    if (!role || !(await deps.iam.roleExists(role))) {
      throw fail(`AccessDeniedException: ECS was unable to assume the execution role ${role ?? "(none)"} for this task`);
    }
    const resource = ref.service === "secretsmanager" ? ((await deps.secrets.resolveArn(scopeOf(task), ref.resourceArn)) ?? ref.resourceArn) : ref.resourceArn;
    if (!(await deps.iam.isAllowed(role, ref.action, resource))) throw fail(denied(task, role, ref.action, resource));
    try {
      return ref.service === "ssm" ? await deps.parameters.readReference(ref) : await deps.secrets.readReference(ref);
    } catch (error) {
      if (!(error instanceof BerthError)) throw error;
      const name = ref.service === "ssm" ? `invalid parameters: ${ref.name}` : error.message;
      throw fail(error.code === ErrorCode.ResourceNotFound || error.code === ErrorCode.ParameterNotFound ? `ResourceNotFoundException: ${name}` : error.message);
    }
  }

  async function resolveContainer(task: Task, def: Record<string, unknown>): Promise<ContainerSecrets> {
    const out: ContainerSecrets = { env: {} };
    for (const s of (def["secrets"] as SecretEntry[] | undefined) ?? []) out.env[s.name] = await read(task, s.valueFrom);
    const repo = def["repositoryCredentials"] as { credentialsParameter?: string } | undefined;
    if (repo?.credentialsParameter) {
      const raw = await read(task, repo.credentialsParameter);
      let parsed: { username?: unknown; password?: unknown } | undefined;
      try {
        parsed = JSON.parse(raw) as { username?: unknown; password?: unknown };
      } catch {
        parsed = undefined;
      }
      if (typeof parsed?.username !== "string" || typeof parsed.password !== "string") {
        throw new SecretFailure(`execution resource retrieval failed: registry credentials in ${repo.credentialsParameter} must be a JSON object with username and password`);
      }
      out.registryAuth = { username: parsed.username, password: parsed.password };
    }
    return out;
  }

  return {
    async resolveSecrets(task: Task): Promise<TaskSecretsResult> {
      const containers: Record<string, ContainerSecrets> = {};
      try {
        for (const def of task.resolvedContainers) containers[def["name"] as string] = await resolveContainer(task, def);
      } catch (error) {
        if (error instanceof SecretFailure) return { ok: false, message: error.message };
        if (error instanceof BerthError) return { ok: false, message: `execution resource retrieval failed: ${error.message}` };
        throw error;
      }
      return { ok: true, containers };
    },

    async authorizeLogs(task: Task, target: LogTarget): Promise<void> {
      const role = task.executionRoleArn;
      // A role Berth's IAM does not hold (a definition copied from an AWS account) is not checked.
      if (!role || !(await deps.iam.roleExists(role))) return;
      const scope = { region: target.region, accountId: deps.accountId };
      const needs: [string, string][] = [["logs:CreateLogStream", logStreamArn(scope, target.logGroup, target.logStream)]];
      if (target.createGroup) needs.unshift(["logs:CreateLogGroup", logGroupResource(scope, target.logGroup)]);
      for (const [action, resource] of needs) {
        if (!(await deps.iam.isAllowed(role, action, resource))) throw new BerthError(ErrorCode.AccessDenied, denied(task, role, action, resource));
      }
    },

    async credentials(task: Task): Promise<RoleCredentials> {
      const roleArn = task.taskRoleArn!;
      const issued = await deps.iam.issueRoleCredentials(roleArn, task.taskId, {
        durationSeconds: deps.credentialSeconds ?? 3600,
        servicePrincipal: "ecs-tasks.amazonaws.com",
      });
      return {
        roleArn,
        accessKeyId: issued.accessKeyId,
        secretAccessKey: issued.secretAccessKey,
        sessionToken: issued.sessionToken,
        expiration: issued.expiration.getTime(),
      };
    },
  };
}

/** A resolution failure, worded for the task's stoppedReason. */
class SecretFailure extends Error {}
