/**
 * The control plane's periodic chores, on unref'd timers: every 5 s, agents silent too long are
 * marked disconnected and STOPPED tasks past their retention are deleted; every minute, log
 * retention is enforced, due secret rotations start and secrets past their recovery window are
 * purged; every metrics period, the load balancer's counters become datapoints (kept 15 days,
 * as CloudWatch keeps one-minute ones). A chore that fails is logged and runs again next tick:
 * none of them holds state of its own.
 */
import type { Logger } from "../core/logger.ts";
import { expireStoppedTasks, sweepAgents } from "../control/agents.ts";
import type { ControlDeps } from "../control/context.ts";
import type { LogsEngine } from "../domain/logs.ts";
import type { MetricsStore } from "../domain/metrics.ts";
import type { SecretsEngine } from "../domain/secrets.ts";
import type { LbMetricsRecorder } from "./lb-metrics.ts";

const METRICS_KEPT_MS = 15 * 86_400_000;

export interface HousekeepingParts {
  deps: ControlDeps;
  logs: Pick<LogsEngine, "enforceRetention">;
  secrets: Pick<SecretsEngine, "purgeDeleted" | "dueRotations" | "rotate">;
  metrics: MetricsStore;
  recorder: Pick<LbMetricsRecorder, "sample">;
  logger: Logger;
  stoppedTaskRetentionMs: number;
  metricsPeriodMs: number;
}

/** Starts the chores; the returned function stops them. */
export function startHousekeeping(parts: HousekeepingParts): () => void {
  const { deps, logs, secrets, metrics, recorder, logger } = parts;
  const warn = (what: string) => (e: unknown) => logger.warn(`${what} failed`, { error: String(e) });
  const timers = [
    every(5_000, () => {
      sweepAgents(deps).catch(warn("agent sweep"));
      expireStoppedTasks(deps, parts.stoppedTaskRetentionMs).catch(warn("task expiry"));
    }),
    every(60_000, () => {
      const now = Date.now();
      logs.enforceRetention(now).catch(warn("log retention"));
      secrets.purgeDeleted(now).catch(warn("secret purge"));
      secrets
        .dueRotations(now)
        .then((due) => {
          for (const d of due) secrets.rotate(d.scope, d.arn).catch(() => undefined); // the engine logs failures
        })
        .catch(warn("rotation scan"));
    }),
    every(parts.metricsPeriodMs, () => {
      const now = Date.now();
      recorder.sample(now).catch(warn("metrics sample"));
      metrics.expire(now - METRICS_KEPT_MS).catch(() => undefined);
    }),
  ];
  return () => {
    for (const timer of timers) clearInterval(timer);
  };
}

function every(ms: number, chore: () => void): NodeJS.Timeout {
  const timer = setInterval(chore, ms);
  timer.unref();
  return timer;
}
