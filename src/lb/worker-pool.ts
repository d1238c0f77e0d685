/**
 * The primary's side of the proxy workers: forks N lb-worker processes through node:cluster (so
 * a listener's socket is bound once, by this process, and shared by every worker), sends them
 * each snapshot and health view, gathers their answers and reports, and replaces a worker that
 * dies (sending it the current snapshot). Counters of a dead worker are kept.
 */
import cluster, { type Worker } from "node:cluster";
import { existsSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import type { Logger } from "../core/logger.ts";
import type { LbSnapshot } from "../protocol/lb-protocol.ts";
import type { ListenerError } from "./proxy-engine.ts";
import type { CounterSet } from "./proxy-context.ts";
import type { HealthView } from "./target-pool.ts";
import type { FromWorker, ToWorker } from "./worker-messages.ts";

const APPLY_TIMEOUT_MS = 15_000;
const RESPAWN_MS = 500;

interface Member {
  worker: Worker;
  /** Set once the worker listens for messages. */
  ready: boolean;
  /** Last snapshot it applied, and what it said then. */
  seq: number;
  errors: ListenerError[];
  /** Its last report. */
  statsSeq: number;
  counters: CounterSet;
  inflight: Record<string, number>;
}

/** The worker script next to this module: lb-worker.ts under tsx, dist/lb-worker.js in the bundle. */
function workerEntry(): string {
  const here = fileURLToPath(import.meta.url);
  const ts = join(dirname(here), "lb-worker.ts");
  return here.endsWith(".ts") && existsSync(ts) ? ts : join(dirname(here), "lb-worker.js");
}

/** A worker's node flags: this process's, with tsx's loader for a TypeScript entry only. */
function workerExecArgv(entry: string): string[] {
  const out: string[] = [];
  const own = process.execArgv;
  for (let i = 0; i < own.length; i++) {
    if (own[i] === "--import" && own[i + 1] === "tsx") i++;
    else if (own[i] !== "--import=tsx") out.push(own[i] as string);
  }
  if (entry.endsWith(".ts")) out.push("--import", "tsx");
  return out;
}

export class WorkerPool {
  private members = new Map<number, Member>();
  private waiters: (() => void)[] = [];
  private current: { seq: number; snapshot: LbSnapshot } | undefined;
  private health: HealthView = {};
  private closing = false;
  /** Counters of workers that exited. */
  readonly retired: CounterSet[] = [];

  constructor(
    private count: number,
    private cookieKey: string,
    private logger: Logger,
    private onReport: () => void,
    private upstreamKeepAlive: boolean,
    entry = workerEntry(),
  ) {
    const execArgv = workerExecArgv(entry);
    // Each worker accepts on the shared socket itself (no hand-off through this process per connection).
    cluster.schedulingPolicy = process.env["BERTH_LB_SCHED"] === "rr" ? cluster.SCHED_RR : cluster.SCHED_NONE;
    cluster.setupPrimary({ exec: entry, execArgv, args: [] });
    for (let i = 0; i < count; i++) this.spawn();
  }

  async apply(seq: number, snapshot: LbSnapshot, health: HealthView): Promise<void> {
    this.current = { seq, snapshot };
    this.health = health;
    for (const m of this.members.values()) if (m.ready) this.send(m.worker, { t: "apply", seq, snapshot, health, cookieKey: this.cookieKey, upstreamKeepAlive: this.upstreamKeepAlive });
    await this.until(() => [...this.members.values()].every((m) => m.seq >= seq), APPLY_TIMEOUT_MS);
  }

  setHealth(health: HealthView): void {
    this.health = health;
    for (const m of this.members.values()) if (m.ready) this.send(m.worker, { t: "health", health });
  }

  listenerErrors(): ListenerError[] {
    const byArn = new Map<string, string>();
    for (const m of this.members.values()) for (const e of m.errors) byArn.set(e.listenerArn, e.message);
    return [...byArn].map(([listenerArn, message]) => ({ listenerArn, message }));
  }

  counterSets(): CounterSet[] {
    return [...this.retired, ...[...this.members.values()].map((m) => m.counters)];
  }

  /** In-flight counts summed over workers, and whether every worker has reported on snapshot `seq` or later. */
  inflight(seq: number): { counts: Record<string, number>; current: boolean } {
    const counts: Record<string, number> = {};
    let current = this.members.size === this.count;
    for (const m of this.members.values()) {
      if (m.statsSeq < seq) current = false;
      for (const [key, n] of Object.entries(m.inflight)) counts[key] = (counts[key] ?? 0) + n;
    }
    return { counts, current };
  }

  async close(): Promise<void> {
    this.closing = true;
    const exits = [...this.members.values()].map(
      (m) =>
        new Promise<void>((resolve) => {
          if (m.worker.isDead()) return resolve();
          m.worker.once("exit", () => resolve());
          this.send(m.worker, { t: "close" });
          setTimeout(() => m.worker.process.kill("SIGKILL"), 5_000).unref();
        }),
    );
    await Promise.all(exits);
  }

  private spawn(): void {
    const worker = cluster.fork({ BERTH_LB_WORKER: "1" });
    const member: Member = { worker, ready: false, seq: 0, errors: [], statsSeq: 0, counters: { loadBalancers: {}, targetGroups: {} }, inflight: {} };
    this.members.set(worker.id, member);
    worker.on("message", (message: FromWorker) => this.receive(member, message));
    worker.on("error", (error) => this.logger.warn("load balancer worker channel error", { error: error.message }));
    worker.once("exit", (code, signal) => {
      this.members.delete(worker.id);
      this.retired.push(member.counters);
      this.wake();
      if (this.closing) return;
      this.logger.error("load balancer worker exited; starting another", { code, signal });
      setTimeout(() => {
        if (!this.closing) this.spawn();
      }, RESPAWN_MS).unref();
    });
  }

  private receive(member: Member, message: FromWorker): void {
    switch (message.t) {
      case "ready":
        member.ready = true;
        if (this.current) this.send(member.worker, { t: "apply", seq: this.current.seq, snapshot: this.current.snapshot, health: this.health, cookieKey: this.cookieKey, upstreamKeepAlive: this.upstreamKeepAlive });
        return;
      case "applied":
        member.seq = message.seq;
        member.errors = message.errors;
        this.wake();
        return;
      case "stats":
        member.statsSeq = message.seq;
        member.counters = message.counters;
        member.inflight = message.inflight;
        this.onReport();
        return;
      case "log":
        this.logger[message.level](message.message, { ...message.fields, worker: member.worker.id });
        return;
      case "closed":
        return;
    }
  }

  private send(worker: Worker, message: ToWorker): void {
    if (worker.isConnected()) worker.send(message);
  }

  private wake(): void {
    for (const w of this.waiters.splice(0)) w();
  }

  private until(done: () => boolean, timeoutMs: number): Promise<void> {
    return new Promise((resolve) => {
      const deadline = setTimeout(() => resolve(), timeoutMs);
      const check = (): void => {
        if (done()) {
          clearTimeout(deadline);
          resolve();
        } else this.waiters.push(check);
      };
      check();
    });
  }
}
