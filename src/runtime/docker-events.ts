/**
 * The engine's container event stream for DockerRuntime.events: one long /events request,
 * reopened with backoff whenever it drops, resumed from the millisecond of the last event
 * delivered, with the engine's replays of already-delivered events dropped.
 * It never rejects and never gives up while the signal is live; it cannot promise no gaps
 * (callers resync with listContainers), and it only reads.
 */
import type { Logger } from "../core/logger.ts";
import { type DockerEngineClient, expectStreamOk, readLines } from "./docker-engine-client.ts";
import { engineTimestamp, runtimeEvent, type EventJson } from "./docker-mapping.ts";
import type { RuntimeEvent } from "./runtime.ts";

const EVENT_FILTERS = JSON.stringify({
  type: ["container"],
  event: ["start", "die", "oom", "health_status", "destroy", "stop", "kill"],
});
const RECONNECT_MIN_MS = 250;
const RECONNECT_MAX_MS = 5_000;

/** The Runtime port's `events`: same contract. */
export async function followEngineEvents(
  client: DockerEngineClient,
  logger: Logger,
  onEvent: (event: RuntimeEvent) => void,
  signal: AbortSignal,
): Promise<void> {
  // Resume point: the engine replays buffered events at or after `since`, so the first
  // connection also catches events between this call and the subscription.
  let sinceMs = Date.now();
  let seenAtSince = new Set<string>();
  let delay = RECONNECT_MIN_MS;
  while (!signal.aborted) {
    try {
      const res = await client.open({
        method: "GET",
        path: "/events",
        query: { since: engineTimestamp(sinceMs), filters: EVENT_FILTERS },
        signal,
        timeoutMs: 0,
      });
      await expectStreamOk(res, "events");
      delay = RECONNECT_MIN_MS;
      await readLines(
        res,
        (line) => {
          if (line.trim().length === 0) return;
          const json = JSON.parse(line) as EventJson;
          const timeMs = json.timeNano !== undefined ? Math.floor(json.timeNano / 1e6) : (json.time ?? 0) * 1000;
          const key = `${json.timeNano}/${json.Actor?.ID ?? json.id}/${json.Action ?? json.status}`;
          // Replays after a reconnect repeat what was delivered at the resume millisecond.
          if (timeMs < sinceMs || (timeMs === sinceMs && seenAtSince.has(key))) return;
          if (timeMs > sinceMs) {
            sinceMs = timeMs;
            seenAtSince = new Set();
          }
          seenAtSince.add(key);
          const event = runtimeEvent(json);
          if (event !== undefined) onEvent(event);
        },
        signal,
      );
      if (!signal.aborted) logger.warn("docker event stream ended; reconnecting", { delayMs: delay });
    } catch (err) {
      if (signal.aborted) break;
      // The engine may be restarting: keep trying; callers resync after gaps anyway.
      logger.warn("docker event stream failed; reconnecting", { error: String(err), delayMs: delay });
    }
    await sleep(delay, signal);
    delay = Math.min(delay * 2, RECONNECT_MAX_MS);
  }
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(done, ms);
    function done(): void {
      clearTimeout(timer);
      signal.removeEventListener("abort", done);
      resolve();
    }
    signal.addEventListener("abort", done, { once: true });
  });
}
