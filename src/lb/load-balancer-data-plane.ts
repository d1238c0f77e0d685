/**
 * The load balancer data plane: what the ELBv2 control plane drives with whole snapshots. It
 * owns health checking (here, in the calling process), draining progress and metrics; the
 * proxying runs in this process (`workers: 0`, the default) or in N worker processes that share
 * the listening sockets (`workers: N`, to use more than one core). It reports target health and
 * listener errors back and calls `onHealthChange` listeners whenever a target's state, reason or
 * drained flag changes.
 */
import { randomBytes } from "node:crypto";
import { type Clock, systemClock } from "../core/clock.ts";
import type { Logger } from "../core/logger.ts";
import type { LbMetrics, LbSnapshot, TargetHealthReport } from "../protocol/lb-protocol.ts";
import { HealthChecker } from "./health-checker.ts";
import type { CounterSet } from "./proxy-context.ts";
import { type ListenerError, ProxyEngine } from "./proxy-engine.ts";
import { targetKey } from "./target-pool.ts";
import { WorkerPool } from "./worker-pool.ts";

const DRAIN_POLL_MS = 100;
const EMPTY: LbSnapshot = { loadBalancers: [], targetGroups: [], certificates: {} };

export interface LoadBalancerDataPlaneOptions {
  logger: Logger;
  /** Proxy worker processes; 0 (the default) proxies in this process. */
  workers?: number;
  /** Timestamps for slow start; health check timing uses real timers. */
  clock?: Clock;
  /** Signs stickiness cookies (32 random bytes when absent; give a stable one to keep cookies valid across restarts). */
  cookieKey?: Buffer;
  /** Pooled keep-alive connections to targets (default true; false only to measure what they buy). */
  upstreamKeepAlive?: boolean;
  /** The workers' entry script (default: the lb-worker next to this module; bench/lb.ts runs the bundle's, as `berth up` does). */
  workerScript?: string;
}

export class LoadBalancerDataPlane {
  private readonly logger: Logger;
  private readonly checker: HealthChecker;
  private readonly engine: ProxyEngine | undefined;
  private readonly pool: WorkerPool | undefined;
  private snapshot: LbSnapshot = EMPTY;
  private seq = 0;
  /** Draining targets (`groupArn|targetKey`) and the snapshot that first said so. */
  private drainingSince = new Map<string, number>();
  private drained = new Set<string>();
  private listeners: (() => void)[] = [];
  private notifyQueued = false;
  private drainTimer: NodeJS.Timeout | undefined;
  private closed = false;

  constructor(opts: LoadBalancerDataPlaneOptions) {
    this.logger = opts.logger;
    const clock = opts.clock ?? systemClock;
    const cookieKey = opts.cookieKey ?? randomBytes(32);
    this.checker = new HealthChecker({ clock, logger: opts.logger, onChange: () => this.healthChanged() });
    const workers = opts.workers ?? 0;
    const upstreamKeepAlive = opts.upstreamKeepAlive ?? true;
    if (workers > 0) this.pool = new WorkerPool(workers, cookieKey.toString("hex"), opts.logger, () => this.checkDrained(), upstreamKeepAlive, opts.workerScript);
    else this.engine = new ProxyEngine({ clock, logger: opts.logger, cookieKey, upstreamKeepAlive });
  }

  /** Takes a whole snapshot: binds new listeners, closes removed ones, updates the rest in place. */
  async apply(snapshot: LbSnapshot): Promise<void> {
    if (this.closed) return;
    const seq = ++this.seq;
    this.snapshot = snapshot;
    const draining = new Map<string, number>();
    for (const g of snapshot.targetGroups)
      for (const t of g.targets) if (t.state === "draining") draining.set(`${g.arn}|${targetKey(t)}`, this.drainingSince.get(`${g.arn}|${targetKey(t)}`) ?? seq);
    this.drainingSince = draining;
    for (const key of this.drained) if (!draining.has(key)) this.drained.delete(key);
    this.checker.apply(snapshot);
    const health = this.checker.view();
    if (this.engine) await this.engine.apply(snapshot, health);
    else await this.pool?.apply(seq, snapshot, health);
    for (const e of this.listenerErrors()) this.logger.warn("load balancer listener not bound", { ...e });
    this.checkDrained();
    this.watchDrain();
  }

  targetHealth(): TargetHealthReport[] {
    return this.checker.reports().map((r) => (r.state === "draining" ? { ...r, drained: this.drained.has(`${r.targetGroupArn}|${targetKey(r)}`) } : r));
  }

  onHealthChange(listener: () => void): void {
    this.listeners.push(listener);
  }

  listenerErrors(): ListenerError[] {
    return this.engine ? this.engine.listenerErrors() : (this.pool?.listenerErrors() ?? []);
  }

  /** The ports actually bound by listener ARN (in-process mode only; with workers the snapshot's bindPort is the port). */
  boundPorts(): Record<string, number> {
    return this.engine?.boundPorts() ?? {};
  }

  metrics(): LbMetrics {
    const sets: CounterSet[] = this.engine ? [this.engine.counters()] : (this.pool?.counterSets() ?? []);
    const metrics: LbMetrics = { loadBalancers: {}, targetGroups: {} };
    for (const lb of this.snapshot.loadBalancers) metrics.loadBalancers[lb.arn] = { requestCount: 0, elb5xx: 0, elb4xx: 0, activeConnections: 0 };
    for (const g of this.snapshot.targetGroups) {
      const hosts = this.checker.hostCounts(g.arn);
      metrics.targetGroups[g.arn] = { requestCount: 0, target2xx: 0, target4xx: 0, target5xx: 0, targetResponseTimeSumMs: 0, healthyHostCount: hosts.healthy, unhealthyHostCount: hosts.unhealthy };
    }
    for (const set of sets) {
      for (const [arn, c] of Object.entries(set.loadBalancers)) {
        const m = (metrics.loadBalancers[arn] ??= { requestCount: 0, elb5xx: 0, elb4xx: 0, activeConnections: 0 });
        m.requestCount += c.requestCount;
        m.elb5xx += c.elb5xx;
        m.elb4xx += c.elb4xx;
        m.activeConnections += c.activeConnections;
      }
      for (const [arn, c] of Object.entries(set.targetGroups)) {
        const m = (metrics.targetGroups[arn] ??= { requestCount: 0, target2xx: 0, target4xx: 0, target5xx: 0, targetResponseTimeSumMs: 0, healthyHostCount: 0, unhealthyHostCount: 0 });
        m.requestCount += c.requestCount;
        m.target2xx += c.target2xx;
        m.target4xx += c.target4xx;
        m.target5xx += c.target5xx;
        m.targetResponseTimeSumMs += c.targetResponseTimeSumMs;
      }
    }
    return metrics;
  }

  /** Stops checks, closes every listener and connection, and ends the workers. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.checker.close();
    if (this.drainTimer) clearInterval(this.drainTimer);
    await this.engine?.close();
    await this.pool?.close();
  }

  private healthChanged(): void {
    if (this.notifyQueued) return;
    this.notifyQueued = true;
    queueMicrotask(() => {
      this.notifyQueued = false;
      if (this.closed) return;
      const view = this.checker.view();
      this.engine?.setHealth(view);
      this.pool?.setHealth(view);
      this.emit();
    });
  }

  private emit(): void {
    for (const listener of this.listeners) {
      try {
        listener();
      } catch (error) {
        this.logger.error("target health listener failed", { error: String(error) });
      }
    }
  }

  /** A draining target is drained once nothing is in flight on it, judged on reports made after it began draining. */
  private checkDrained(): void {
    if (this.closed || this.drainingSince.size === 0) return;
    let changed = false;
    const local = this.engine?.inflight();
    for (const [key, since] of this.drainingSince) {
      let idle: boolean;
      if (local) idle = !local[key];
      else {
        const { counts, current } = this.pool?.inflight(since) ?? { counts: {}, current: false };
        idle = current && !counts[key];
      }
      if (idle === this.drained.has(key)) continue;
      if (idle) this.drained.add(key);
      else this.drained.delete(key);
      changed = true;
    }
    if (changed) this.emit();
  }

  /** In-process mode has no reports to wake on, so it polls while something drains. */
  private watchDrain(): void {
    if (!this.engine) return;
    if (this.drainingSince.size === 0) {
      if (this.drainTimer) clearInterval(this.drainTimer);
      this.drainTimer = undefined;
      return;
    }
    this.drainTimer ??= setInterval(() => this.checkDrained(), DRAIN_POLL_MS);
    this.drainTimer.unref();
  }
}
