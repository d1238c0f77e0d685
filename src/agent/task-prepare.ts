/**
 * A task's preparation: everything between its network and its first container start. Secrets
 * and registry credentials, image pulls, Docker volumes, awslogs streams, then the missing
 * containers, created but not started. TaskRunner calls these steps in order and keeps the
 * task's status and times; a step that cannot complete throws a StartFailure that stops the
 * task as ECS stops it.
 *
 * It must never start, stop or remove a container, change the task's status, or hold a secret
 * value beyond the steps that use it.
 */
import type { ContainerSecrets, TaskSecretsResult, TaskSpec } from "../protocol/agent-protocol.ts";
import type { RegistryAuth, Runtime } from "../runtime/runtime.ts";
import { LABEL, containerSpec, dockerName, dockerVolumes } from "./container-config.ts";
import { pullImage } from "./images.ts";
import { awslogsOptionsError, awslogsTarget } from "./log-shipper.ts";
import type { TrackedContainer } from "./task-report.ts";
import type { RunnerDeps } from "./task-runner.ts";

/** What the task cannot start for; the runner stops it with this stop code and reason. */
export class StartFailure extends Error {
  constructor(readonly stopCode: string, reason: string) {
    super(reason);
  }
}

type PrepareDeps = Pick<RunnerDeps, "runtime" | "agentId" | "bindIp" | "pullBehavior" | "extraEnv" | "secrets" | "logs">;

/**
 * Secrets and registry credentials, before anything is pulled: a task that may not read
 * them stops as ECS stops it. Values stay in memory, only long enough to create containers.
 */
export async function resolveSecrets(deps: PrepareDeps, taskArn: string, missing: readonly TrackedContainer[]): Promise<Record<string, ContainerSecrets>> {
  const needs = missing.some((c) => Array.isArray(c.definition["secrets"]) || c.definition["repositoryCredentials"] !== undefined);
  if (!needs) return {};
  let result: TaskSecretsResult;
  try {
    result = await deps.secrets(taskArn);
  } catch (error) {
    result = { ok: false, message: `execution resource retrieval failed: ${(error as Error).message}` };
  }
  if (!result.ok) throw new StartFailure("TaskFailedToStart", `ResourceInitializationError: unable to pull secrets or registry auth: ${result.message}`);
  return result.containers;
}

/**
 * Pulls the images the missing containers need (per the pull behaviour), once an image unless
 * a container brings its own registry credentials; every container of an image learns its digest.
 */
export async function pullImages(
  deps: PrepareDeps,
  containers: readonly TrackedContainer[],
  missing: readonly TrackedContainer[],
  secrets: Record<string, ContainerSecrets>,
): Promise<void> {
  const pulls = new Map<string, RegistryAuth | undefined>();
  for (const c of missing) if (!pulls.has(c.image) || secrets[c.name]?.registryAuth) pulls.set(c.image, registryAuth(c.image, secrets[c.name]));
  for (const [image, auth] of pulls) {
    const result = await pullImage(deps.runtime, image, deps.pullBehavior, auth);
    if (!result.ok) throw new StartFailure("TaskFailedToStart", `CannotPullContainerError: ${result.message}`);
    for (const c of containers) if (c.image === image && result.digest) c.imageDigest = result.digest;
  }
}

/** Docker's auth for a pull: the registry is the image reference's first part when it names a host. */
function registryAuth(image: string, secrets: ContainerSecrets | undefined): RegistryAuth | undefined {
  const creds = secrets?.registryAuth;
  if (!creds) return undefined;
  const first = image.split("/")[0]!;
  const host = image.includes("/") && (first.includes(".") || first.includes(":") || first === "localhost") ? first : "https://index.docker.io/v1/";
  return { username: creds.username, password: creds.password, serveraddress: host };
}

/** The task's Docker volumes, labelled as this agent's and this task's. */
export async function createVolumes(deps: PrepareDeps, task: TaskSpec): Promise<void> {
  for (const v of dockerVolumes(task)) {
    const options = { labels: { ...v.labels, [LABEL.agentId]: deps.agentId, [LABEL.taskArn]: task.taskArn } } as Parameters<Runtime["createVolume"]>[1] & object;
    if (v.driver) options.driver = v.driver;
    if (v.driverOpts) options.driverOpts = v.driverOpts;
    await deps.runtime.createVolume(v.name, options);
  }
}

/** awslogs: checks each missing container's options and makes sure its log stream exists. */
export async function prepareLogStreams(deps: PrepareDeps, task: TaskSpec, missing: readonly TrackedContainer[]): Promise<void> {
  for (const c of missing) {
    const target = awslogsTarget(c.definition, task);
    if (!target) continue;
    const invalid = awslogsOptionsError(c.definition);
    if (invalid) throw new StartFailure("TaskFailedToStart", invalid);
    try {
      await deps.logs.prepare(target, task.taskArn);
    } catch (error) {
      throw new StartFailure(
        "TaskFailedToStart",
        `ResourceInitializationError: failed to validate logger args: create stream has been retried 1 times: failed to create Cloudwatch log stream: ${(error as Error).message} : exit status 1`,
      );
    }
  }
}

/** Creates the missing containers (in the pause container's namespace for awsvpc) and records their state. */
export async function createContainers(
  deps: PrepareDeps,
  task: TaskSpec,
  missing: readonly TrackedContainer[],
  secrets: Record<string, ContainerSecrets>,
  pauseId: string | undefined,
): Promise<void> {
  for (const c of missing) {
    const spec = containerSpec(c.definition, {
      task,
      agentId: deps.agentId,
      networkMode: pauseId ? `container:${pauseId}` : task.networkMode,
      bindIp: deps.bindIp,
      extraEnv: deps.extraEnv(task, c.name),
      secretEnv: secrets[c.name]?.env ?? {},
      dockerNameOf: (name) => dockerName(task, name),
    });
    try {
      const id = await deps.runtime.createContainer(spec);
      c.state = await deps.runtime.inspectContainer(id);
    } catch (error) {
      throw new StartFailure("TaskFailedToStart", `CannotCreateContainerError: ${(error as Error).message}`);
    }
  }
}
