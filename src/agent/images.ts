/**
 * Image pulls as the ECS agent's ECS_IMAGE_PULL_BEHAVIOR: `default` tries to pull and falls
 * back to a cached image; `always` must pull; `once` pulls only when absent (and remembers a
 * successful pull); `prefer-cached` uses a cached image when there is one. Concurrent
 * requests for one image share a single pull, so a burst of tasks makes one registry call.
 */
import type { RegistryAuth, Runtime } from "../runtime/runtime.ts";

export type PullBehavior = "default" | "always" | "once" | "prefer-cached";

export type PullResult = { ok: true; digest?: string } | { ok: false; message: string };

const pulledOnce = new Set<string>();

function digestOf(repoDigests: readonly string[]): string | undefined {
  const d = repoDigests[0];
  return d?.includes("@") ? d.slice(d.indexOf("@") + 1) : undefined;
}

/** Pulls in flight, by image: tasks that need the same image at once share one pull. */
const inFlight = new Map<string, Promise<PullResult>>();

export function pullImage(runtime: Runtime, image: string, behavior: PullBehavior, auth?: RegistryAuth): Promise<PullResult> {
  // Pulls with different credentials are different pulls: one may be refused, the other not.
  const key = `${behavior}\u0000${image}\u0000${auth ? JSON.stringify(auth) : ""}`;
  let pending = inFlight.get(key);
  if (!pending) {
    pending = pullOnce(runtime, image, behavior, auth).finally(() => inFlight.delete(key));
    inFlight.set(key, pending);
  }
  return pending;
}

async function pullOnce(runtime: Runtime, image: string, behavior: PullBehavior, auth: RegistryAuth | undefined): Promise<PullResult> {
  const cached = await runtime.inspectImage(image);
  const fromCache = (): PullResult => {
    const digest = cached ? digestOf(cached.repoDigests) : undefined;
    return digest ? { ok: true, digest } : { ok: true };
  };
  if (cached && (behavior === "prefer-cached" || (behavior === "once" && pulledOnce.has(image)))) return fromCache();
  if (cached && behavior === "once") return fromCache();
  try {
    await runtime.pullImage(image, auth);
    pulledOnce.add(image);
    const info = await runtime.inspectImage(image);
    const digest = info ? digestOf(info.repoDigests) : undefined;
    return digest ? { ok: true, digest } : { ok: true };
  } catch (error) {
    if (cached && behavior !== "always") return fromCache();
    return { ok: false, message: `pull image manifest has been retried 1 time(s): failed to resolve ref ${image}: ${(error as Error).message}` };
  }
}
