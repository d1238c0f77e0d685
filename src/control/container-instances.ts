/**
 * Container instance use cases: describe and list (with the cluster query language filter),
 * ACTIVE/DRAINING state, deregistration, and custom attributes. Remaining resources and task
 * counts are derived from the tasks placed on each instance.
 */
import { ecsArn, lastSegment, parseArn } from "../core/arn.ts";
import { BerthError, ErrorCode, invalidParameter } from "../core/errors.ts";
import type { Attribute, ContainerInstance } from "../domain/container-instance.ts";
import type { Task } from "../domain/task.ts";
import { evaluateQuery, parseQuery } from "../scheduler/query-language.ts";
import { requireCluster } from "./clusters.ts";
import type { CallContext, ControlDeps } from "./context.ts";
import { encodeToken, pageRequest } from "./pagination.ts";
import { AGENT_TTL_MS } from "./task-placement.ts";

export interface InstanceUsage {
  instance: ContainerInstance;
  tasks: Task[];
}

const instanceId = (ref: string): string => lastSegment(ref);

async function instancesWithTasks(deps: ControlDeps, region: string, cluster: string): Promise<InstanceUsage[]> {
  const instances = await deps.store.listContainerInstances(region, cluster);
  const now = deps.clock.now();
  const agents = new Map((await deps.store.listAgents()).map((a) => [a.agentId, a] as const));
  const out: InstanceUsage[] = [];
  for (const instance of instances) {
    const agent = agents.get(instance.agentId);
    const connected = instance.agentConnected && !!agent && now - agent.lastSeenAt < AGENT_TTL_MS;
    out.push({ instance: { ...instance, agentConnected: connected }, tasks: await deps.store.liveTasksOnAgent(instance.agentId) });
  }
  return out;
}

export async function describeContainerInstances(deps: ControlDeps, ctx: CallContext, clusterRef: string | undefined, refs: string[]) {
  const cluster = await requireCluster(deps, ctx, clusterRef);
  if (refs.length > 100) throw invalidParameter("ContainerInstances cannot have more than 100 elements");
  const all = await instancesWithTasks(deps, ctx.scope.region, cluster.clusterName);
  const found: InstanceUsage[] = [];
  const failures: { arn: string; reason: string }[] = [];
  for (const ref of refs) {
    const hit = all.find((u) => u.instance.id === instanceId(ref) || u.instance.ec2InstanceId === ref);
    if (hit) found.push(hit);
    else failures.push({ arn: parseArn(ref) ? ref : ecsArn(ctx.scope, `container-instance/${cluster.clusterName}/${ref}`), reason: "MISSING" });
  }
  return { found, failures };
}

export interface ListInstancesCommand {
  cluster?: string;
  filter?: string;
  status?: string;
  nextToken?: string;
  maxResults?: number;
}

export async function listContainerInstances(deps: ControlDeps, ctx: CallContext, cmd: ListInstancesCommand) {
  const cluster = await requireCluster(deps, ctx, cmd.cluster);
  const page = pageRequest(cmd.nextToken, cmd.maxResults);
  const query = cmd.filter ? parseQuery(cmd.filter) : undefined;
  const matches = (await instancesWithTasks(deps, ctx.scope.region, cluster.clusterName)).filter(({ instance, tasks }) => {
    if (cmd.status ? instance.status !== cmd.status : instance.status === "INACTIVE") return false;
    if (!query) return true;
    return evaluateQuery(query, {
      attributes: Object.fromEntries(instance.attributes.map((a) => [a.name, a.value])),
      agentConnected: instance.agentConnected,
      agentVersion: instance.agentVersion,
      ec2InstanceId: instance.ec2InstanceId,
      registeredAt: instance.registeredAt,
      runningTasksCount: tasks.filter((t) => t.lastStatus === "RUNNING").length,
      taskGroups: new Set(tasks.map((t) => t.group)),
    });
  });
  const start = page.after === undefined ? 0 : matches.findIndex((u) => u.instance.id > page.after!);
  const items = start < 0 ? [] : matches.slice(start, start + page.limit);
  const out: { containerInstanceArns: string[]; nextToken?: string } = { containerInstanceArns: items.map((u) => u.instance.containerInstanceArn) };
  if (start >= 0 && start + page.limit < matches.length) {
    out.nextToken = encodeToken(items[items.length - 1]!.instance.id);
  }
  return out;
}

async function requireInstance(deps: ControlDeps, ctx: CallContext, cluster: string, ref: string): Promise<ContainerInstance> {
  const instance = await deps.store.getContainerInstance(ctx.scope.region, cluster, instanceId(ref));
  if (!instance || instance.status === "INACTIVE") {
    throw invalidParameter(`The referenced container instance ${ref} was not found.`);
  }
  return instance;
}

export async function updateContainerInstancesState(
  deps: ControlDeps,
  ctx: CallContext,
  clusterRef: string | undefined,
  refs: string[],
  status: "ACTIVE" | "DRAINING",
) {
  const cluster = await requireCluster(deps, ctx, clusterRef);
  const failures: { arn: string; reason: string }[] = [];
  for (const ref of refs) {
    const instance = await deps.store.getContainerInstance(ctx.scope.region, cluster.clusterName, instanceId(ref));
    if (!instance || instance.status === "INACTIVE") {
      failures.push({ arn: ref, reason: "MISSING" });
      continue;
    }
    if (instance.status !== status) await deps.store.putContainerInstance({ ...instance, status });
  }
  const described = await describeContainerInstances(deps, ctx, cluster.clusterName, refs.filter((r) => !failures.some((f) => f.arn === r)));
  return { found: described.found, failures: [...failures, ...described.failures] };
}

export async function deregisterContainerInstance(deps: ControlDeps, ctx: CallContext, clusterRef: string | undefined, ref: string, force: boolean) {
  const cluster = await requireCluster(deps, ctx, clusterRef);
  const instance = await requireInstance(deps, ctx, cluster.clusterName, ref);
  const tasks = await deps.store.liveTasksOnAgent(instance.agentId);
  const own = tasks.filter((t) => t.containerInstanceArn === instance.containerInstanceArn);
  if (own.length > 0 && !force) {
    throw invalidParameter("Found running tasks on the instance. Use the force parameter to deregister the instance with running tasks.");
  }
  const stored = await deps.store.putContainerInstance({ ...instance, status: "INACTIVE", agentConnected: false });
  return { instance: stored, tasks: [] as Task[] };
}

// --- attributes ---------------------------------------------------------------------------

export async function putAttributes(deps: ControlDeps, ctx: CallContext, clusterRef: string | undefined, attributes: Attribute[]) {
  const cluster = await requireCluster(deps, ctx, clusterRef);
  for (const attr of attributes) {
    if (!attr.targetId) throw invalidParameter("Attribute targetId must be specified.");
    const instance = await deps.store.getContainerInstance(ctx.scope.region, cluster.clusterName, instanceId(attr.targetId));
    if (!instance || instance.status === "INACTIVE") throw new BerthError(ErrorCode.InvalidParameter, `Target ${attr.targetId} was not found.`);
    const others = instance.attributes.filter((a) => a.name !== attr.name);
    const value: Attribute = attr.value === undefined ? { name: attr.name } : { name: attr.name, value: attr.value };
    await deps.store.putContainerInstance({ ...instance, attributes: [...others, value] });
  }
  return attributes.map((a) => ({ ...a, targetType: "container-instance" as const }));
}

export async function deleteAttributes(deps: ControlDeps, ctx: CallContext, clusterRef: string | undefined, attributes: Attribute[]) {
  const cluster = await requireCluster(deps, ctx, clusterRef);
  for (const attr of attributes) {
    if (!attr.targetId) throw invalidParameter("Attribute targetId must be specified.");
    const instance = await deps.store.getContainerInstance(ctx.scope.region, cluster.clusterName, instanceId(attr.targetId));
    if (!instance) throw invalidParameter(`Target ${attr.targetId} was not found.`);
    await deps.store.putContainerInstance({ ...instance, attributes: instance.attributes.filter((a) => a.name !== attr.name) });
  }
  return attributes;
}

export async function listAttributes(
  deps: ControlDeps,
  ctx: CallContext,
  cmd: { cluster?: string; targetType: string; attributeName?: string; attributeValue?: string; nextToken?: string; maxResults?: number },
) {
  const cluster = await requireCluster(deps, ctx, cmd.cluster);
  const page = pageRequest(cmd.nextToken, cmd.maxResults);
  const all: Attribute[] = [];
  for (const ci of await deps.store.listContainerInstances(ctx.scope.region, cluster.clusterName)) {
    if (ci.status === "INACTIVE") continue;
    for (const a of ci.attributes) {
      if (cmd.attributeName !== undefined && a.name !== cmd.attributeName) continue;
      if (cmd.attributeValue !== undefined && a.value !== cmd.attributeValue) continue;
      all.push({ ...a, targetType: "container-instance", targetId: ci.containerInstanceArn });
    }
  }
  const start = page.after === undefined ? 0 : Number(page.after);
  const out: { attributes: Attribute[]; nextToken?: string } = { attributes: all.slice(start, start + page.limit) };
  if (start + page.limit < all.length) {
    out.nextToken = encodeToken(String(start + page.limit));
  }
  return out;
}
