/**
 * TagResource, UntagResource and ListTagsForResource over every taggable ECS resource
 * (clusters, task definitions, services, tasks, container instances). The ARN names the
 * resource; it must exist.
 */
import { parseArn } from "../core/arn.ts";
import { BerthError, ErrorCode, invalidParameter } from "../core/errors.ts";
import { type Tag, assertUserTags, mergeTags } from "../domain/tags.ts";
import { parseTaskDefinitionRef } from "../domain/task-definitions.ts";
import type { ControlDeps } from "./context.ts";

async function assertResourceExists(deps: ControlDeps, resourceArn: string): Promise<void> {
  const arn = parseArn(resourceArn);
  if (!arn || arn.service !== "ecs") throw invalidParameter("The ARN provided is invalid.");
  const slash = arn.resource.indexOf("/");
  const type = slash === -1 ? arn.resource : arn.resource.slice(0, slash);
  const rest = slash === -1 ? "" : arn.resource.slice(slash + 1);
  switch (type) {
    case "cluster": {
      const cluster = await deps.store.getCluster(arn.region, rest);
      if (!cluster || cluster.status !== "ACTIVE") throw new BerthError(ErrorCode.ClusterNotFound, "Cluster not found.");
      return;
    }
    case "task-definition": {
      const { family, revision } = parseTaskDefinitionRef(rest);
      const record = revision === undefined ? undefined : await deps.store.getTaskDefinition(arn.region, family, revision);
      if (!record) throw new BerthError(ErrorCode.ResourceNotFound, "The specified resource could not be found.");
      return;
    }
    case "service": {
      const [cluster, name] = rest.split("/");
      const service = cluster && name ? await deps.store.getService(arn.region, cluster, name) : undefined;
      if (!service || service.status === "INACTIVE") throw new BerthError(ErrorCode.ServiceNotFound, "Service not found.");
      return;
    }
    case "task": {
      const task = await deps.store.getTask(arn.region, rest.slice(rest.lastIndexOf("/") + 1));
      if (!task) throw new BerthError(ErrorCode.ResourceNotFound, "The specified resource could not be found.");
      return;
    }
    case "container-instance": {
      const [cluster, id] = rest.split("/");
      const ci = cluster && id ? await deps.store.getContainerInstance(arn.region, cluster, id) : undefined;
      if (!ci) throw new BerthError(ErrorCode.ResourceNotFound, "The specified resource could not be found.");
      return;
    }
    default:
      throw invalidParameter("The ARN provided is invalid.");
  }
}

export async function listTagsForResource(deps: ControlDeps, resourceArn: string): Promise<Tag[]> {
  await assertResourceExists(deps, resourceArn);
  return deps.store.getTags(resourceArn);
}

export async function tagResource(deps: ControlDeps, resourceArn: string, tags: Tag[]): Promise<void> {
  assertUserTags(tags);
  await assertResourceExists(deps, resourceArn);
  await deps.store.putTags(resourceArn, mergeTags(await deps.store.getTags(resourceArn), tags));
}

export async function untagResource(deps: ControlDeps, resourceArn: string, tagKeys: string[]): Promise<void> {
  await assertResourceExists(deps, resourceArn);
  const remove = new Set(tagKeys);
  const current = await deps.store.getTags(resourceArn);
  await deps.store.putTags(resourceArn, current.filter((t) => !remove.has(t.key)));
}
