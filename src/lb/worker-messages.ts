/**
 * The IPC messages between the data plane (primary) and its proxy worker processes. The primary
 * sends whole snapshots (numbered) and health views once the worker says it is ready (a message
 * sent before the worker's module has run would be lost); a worker answers each snapshot once its
 * listeners are bound, and reports its counters and in-flight counts (tagged with the last
 * snapshot it applied, so "drained" is never judged on a report older than the draining).
 */
import type { LbSnapshot } from "../protocol/lb-protocol.ts";
import type { ListenerError } from "./proxy-engine.ts";
import type { CounterSet } from "./proxy-context.ts";
import type { HealthView } from "./target-pool.ts";

export type ToWorker =
  | { t: "apply"; seq: number; snapshot: LbSnapshot; health: HealthView; cookieKey: string; upstreamKeepAlive: boolean }
  | { t: "health"; health: HealthView }
  | { t: "close" };

export type FromWorker =
  | { t: "ready" }
  | { t: "applied"; seq: number; errors: ListenerError[] }
  | { t: "stats"; seq: number; counters: CounterSet; inflight: Record<string, number> }
  | { t: "log"; level: "info" | "warn" | "error"; message: string; fields?: Record<string, unknown> }
  | { t: "closed" };
