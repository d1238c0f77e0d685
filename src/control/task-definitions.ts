/**
 * Task definition use cases: register (a new revision of a family), describe, list, list
 * families, deregister (ACTIVE → INACTIVE) and delete (INACTIVE → DELETE_IN_PROGRESS).
 * Registered fields are kept exactly as given so that Describe round-trips them.
 */
import { taskDefinitionArn } from "../core/arn.ts";
import { BerthError, ErrorCode, clientError } from "../core/errors.ts";
import { type Tag, assertUserTags } from "../domain/tags.ts";
import type { TaskDefinitionRecord, TaskDefinitionStatus } from "../domain/task-definition-record.ts";
import {
  type RegisterTaskDefinitionInput,
  normalizeTaskDefinition,
  parseTaskDefinitionRef,
  validateTaskDefinition,
} from "../domain/task-definitions.ts";
import type { CallContext, ControlDeps } from "./context.ts";
import { pageRequest, withToken } from "./pagination.ts";

export type RegisterInput = RegisterTaskDefinitionInput & { tags?: Tag[] };

export interface RegisteredTaskDefinition {
  record: TaskDefinitionRecord;
  tags: Tag[];
}

export async function registerTaskDefinition(
  deps: ControlDeps,
  ctx: CallContext,
  input: RegisterInput,
): Promise<RegisteredTaskDefinition> {
  validateTaskDefinition(input);
  const tags = input.tags ?? [];
  assertUserTags(tags);
  const normalized = normalizeTaskDefinition(input);
  const { tags: _omit, ...fields } = input;
  const document: Record<string, unknown> = { ...fields };
  if (normalized.cpu !== undefined) document["cpu"] = normalized.cpu;
  if (normalized.memory !== undefined) document["memory"] = normalized.memory;
  const now = deps.clock.now();
  const record = await deps.store.registerTaskDefinition(ctx.scope.region, input.family, (revision) => ({
    region: ctx.scope.region,
    family: input.family,
    revision,
    taskDefinitionArn: taskDefinitionArn(ctx.scope, input.family, revision),
    status: "ACTIVE",
    document,
    compatibilities: normalized.compatibilities,
    requiresAttributes: normalized.requiresAttributes,
    registeredAt: now,
    registeredBy: ctx.principalArn,
  }));
  if (tags.length > 0) await deps.store.putTags(record.taskDefinitionArn, tags);
  return { record, tags };
}

/** The revision a reference names: "family" means the latest ACTIVE revision. */
export async function findTaskDefinition(
  deps: ControlDeps,
  ctx: CallContext,
  ref: string,
): Promise<TaskDefinitionRecord | undefined> {
  const { family, revision } = parseTaskDefinitionRef(ref);
  return deps.store.getTaskDefinition(ctx.scope.region, family, revision);
}

export async function describeTaskDefinition(
  deps: ControlDeps,
  ctx: CallContext,
  ref: string,
  includeTags: boolean,
): Promise<{ record: TaskDefinitionRecord; tags?: Tag[] }> {
  const record = await findTaskDefinition(deps, ctx, ref);
  if (!record) throw clientError("Unable to describe task definition.");
  if (!includeTags) return { record };
  return { record, tags: await deps.store.getTags(record.taskDefinitionArn) };
}

export interface ListTaskDefinitionsCommand {
  familyPrefix?: string;
  status?: TaskDefinitionStatus;
  sort?: "ASC" | "DESC";
  nextToken?: string;
  maxResults?: number;
}

export async function listTaskDefinitions(deps: ControlDeps, ctx: CallContext, cmd: ListTaskDefinitionsCommand) {
  const query = {
    ...pageRequest(cmd.nextToken, cmd.maxResults),
    region: ctx.scope.region,
    status: cmd.status ?? "ACTIVE",
    descending: cmd.sort === "DESC",
    ...(cmd.familyPrefix === undefined ? {} : { family: cmd.familyPrefix }),
  };
  const page = await deps.store.listTaskDefinitions(query);
  return withToken({ ...page, items: page.items.map((r) => r.taskDefinitionArn) }, "taskDefinitionArns");
}

export interface ListFamiliesCommand {
  familyPrefix?: string;
  status?: "ACTIVE" | "INACTIVE" | "ALL";
  nextToken?: string;
  maxResults?: number;
}

export async function listTaskDefinitionFamilies(deps: ControlDeps, ctx: CallContext, cmd: ListFamiliesCommand) {
  const query = {
    ...pageRequest(cmd.nextToken, cmd.maxResults),
    region: ctx.scope.region,
    status: cmd.status ?? "ACTIVE",
    ...(cmd.familyPrefix === undefined ? {} : { familyPrefix: cmd.familyPrefix }),
  };
  return withToken(await deps.store.listTaskDefinitionFamilies(query), "families");
}

export async function deregisterTaskDefinition(
  deps: ControlDeps,
  ctx: CallContext,
  ref: string,
): Promise<TaskDefinitionRecord> {
  const { family, revision } = parseTaskDefinitionRef(ref);
  if (revision === undefined) {
    throw new BerthError(ErrorCode.InvalidParameter, "The specified task definition does not have a revision. Specify family:revision or a full ARN.");
  }
  const record = await deps.store.getTaskDefinition(ctx.scope.region, family, revision);
  if (!record) throw clientError("The specified task definition does not exist.");
  if (record.status === "DELETE_IN_PROGRESS") {
    throw clientError("The specified task definition is in the process of being deleted.");
  }
  if (record.status === "INACTIVE") return record;
  const updated = await deps.store.setTaskDefinitionStatus(ctx.scope.region, family, revision, "INACTIVE", deps.clock.now());
  return updated ?? record;
}

export interface DeleteTaskDefinitionsResult {
  taskDefinitions: TaskDefinitionRecord[];
  failures: { arn: string; reason: string; detail?: string }[];
}

/** Each revision must be INACTIVE first; the others are reported in failures. */
export async function deleteTaskDefinitions(
  deps: ControlDeps,
  ctx: CallContext,
  refs: string[],
): Promise<DeleteTaskDefinitionsResult> {
  if (refs.length > 10) throw new BerthError(ErrorCode.InvalidParameter, "The maximum number of task definitions that can be deleted at once is 10.");
  const result: DeleteTaskDefinitionsResult = { taskDefinitions: [], failures: [] };
  for (const ref of refs) {
    const { family, revision } = parseTaskDefinitionRef(ref);
    const record = revision === undefined ? undefined : await deps.store.getTaskDefinition(ctx.scope.region, family, revision);
    if (!record) {
      result.failures.push({ arn: ref, reason: "TASK_DEFINITION_NOT_FOUND", detail: "The specified task definition does not exist." });
    } else if (record.status === "ACTIVE") {
      result.failures.push({
        arn: record.taskDefinitionArn,
        reason: "TASK_DEFINITION_NOT_INACTIVE",
        detail: "The specified task definition is still in ACTIVE status. Please deregister the target and try again.",
      });
    } else {
      const updated = await deps.store.setTaskDefinitionStatus(ctx.scope.region, family, record.revision, "DELETE_IN_PROGRESS", deps.clock.now());
      result.taskDefinitions.push(updated ?? record);
    }
  }
  return result;
}
