/**
 * One target group's targets as the proxy sees them: which may get a new request (healthy, or
 * every registered one when none is: fail-open), how a request picks one (round robin or least
 * outstanding requests, weighted by slow start), and what is in flight on each (for least
 * outstanding requests and for draining). Draining targets stay in the pool, never picked, until
 * the snapshot drops them. Time comes in as an argument.
 */
import type { TargetGroupSpec, TargetHealthState } from "../protocol/lb-protocol.ts";
import type { UpstreamPool } from "./upstream-client.ts";

/** The health checker's view of one target, handed to every proxy. */
export interface TargetHealthView {
  state: TargetHealthState;
  /** When it became healthy while other targets of its group already were (ms): its slow start begins then. */
  slowStartFrom?: number;
}

/** Health by target group ARN, then by target key (`targetKey`). */
export type HealthView = Record<string, Record<string, TargetHealthView>>;

export const targetKey = (t: { id: string; port: number }): string => `${t.id}:${t.port}`;

export interface PoolTarget {
  key: string;
  id: string;
  address: string;
  port: number;
  draining: boolean;
  /** Requests, WebSockets or TCP connections open now, from this process. */
  inflight: number;
  /** Smooth weighted round robin's running score. */
  score: number;
  /** The keep-alive pool to its address, once a request has gone there (proxy-context.ts). */
  upstream?: UpstreamPool;
}

export type Algorithm = "round_robin" | "least_outstanding_requests";

export class TargetPool {
  private targets = new Map<string, PoolTarget>();
  private health: Record<string, TargetHealthView> = {};
  private algorithm: Algorithm = "round_robin";
  private slowStartMs = 0;
  private rotation = 0;
  private cachedCandidates: PoolTarget[] | undefined;
  readonly arn: string;
  /** Set when the group's lb_cookie stickiness is on. */
  stickiness: { durationSeconds: number } | undefined;
  /** HTTPS and TLS groups reach their targets over TLS (ALB and NLB do not verify the target's certificate). */
  tls = false;

  constructor(spec: TargetGroupSpec, health: Record<string, TargetHealthView> | undefined) {
    this.arn = spec.arn;
    this.update(spec, health);
  }

  /** Takes a new spec and health in place; in-flight counts of targets that stay are kept. */
  update(spec: TargetGroupSpec, health: Record<string, TargetHealthView> | undefined): void {
    const next = new Map<string, PoolTarget>();
    for (const t of spec.targets) {
      const key = targetKey(t);
      // The same object stays: requests in flight hold it and count down on it.
      const kept = this.targets.get(key) ?? { key, id: t.id, address: t.address, port: t.port, draining: false, inflight: 0, score: 0 };
      kept.address = t.address;
      kept.draining = t.state === "draining";
      next.set(key, kept);
    }
    this.targets = next;
    this.tls = spec.protocol === "HTTPS" || spec.protocol === "TLS";
    this.health = health ?? {};
    this.cachedCandidates = undefined;
    this.algorithm = spec.attributes["load_balancing.algorithm.type"] === "least_outstanding_requests" ? "least_outstanding_requests" : "round_robin";
    this.slowStartMs = Number(spec.attributes["slow_start.duration_seconds"] ?? 0) * 1000 || 0;
    const sticky = spec.attributes["stickiness.enabled"] === "true" && (spec.attributes["stickiness.type"] ?? "lb_cookie") === "lb_cookie";
    this.stickiness = sticky ? { durationSeconds: Number(spec.attributes["stickiness.lb_cookie.duration_seconds"] ?? 86_400) || 86_400 } : undefined;
  }

  setHealth(health: Record<string, TargetHealthView> | undefined): void {
    this.health = health ?? {};
    this.cachedCandidates = undefined;
  }

  get(key: string): PoolTarget | undefined {
    return this.targets.get(key);
  }

  all(): IterableIterator<PoolTarget> {
    return this.targets.values();
  }

  /** Targets a new request may go to: the healthy ones, else (fail-open) every registered one. */
  candidates(): PoolTarget[] {
    if (this.cachedCandidates) return this.cachedCandidates;
    const registered = [...this.targets.values()].filter((t) => !t.draining);
    const healthy = registered.filter((t) => this.isHealthy(t.key));
    this.cachedCandidates = healthy.length > 0 ? healthy : registered;
    return this.cachedCandidates;
  }

  /** A target for a new request, or undefined when no target is registered (503). */
  pick(now: number): PoolTarget | undefined {
    const candidates = this.candidates();
    if (candidates.length <= 1) return candidates[0];
    const weights = this.weights(candidates, now);
    return this.algorithm === "least_outstanding_requests" ? this.leastOutstanding(candidates, weights) : this.roundRobin(candidates, weights);
  }

  /** Slow start: a target in slow start for less than the duration gets a share growing linearly from 0. */
  weights(candidates: PoolTarget[], now: number): number[] {
    if (this.slowStartMs <= 0) return candidates.map(() => 1);
    return candidates.map((t) => {
      const since = this.health[t.key]?.slowStartFrom;
      return since === undefined ? 1 : Math.max(0.001, Math.min(1, (now - since) / this.slowStartMs));
    });
  }

  private isHealthy(key: string): boolean {
    const state = this.health[key]?.state;
    return state === "healthy" || state === "unavailable";
  }

  /** Smooth weighted round robin (each pick: add weights, take the highest, subtract the total). */
  private roundRobin(candidates: PoolTarget[], weights: number[]): PoolTarget {
    let total = 0;
    let best = candidates[0] as PoolTarget;
    for (let i = 0; i < candidates.length; i++) {
      const t = candidates[i] as PoolTarget;
      const w = weights[i] ?? 1;
      t.score += w;
      total += w;
      if (t.score > best.score) best = t;
    }
    best.score -= total;
    return best;
  }

  /** Fewest requests in flight per unit of weight; ties go round the ring. */
  private leastOutstanding(candidates: PoolTarget[], weights: number[]): PoolTarget {
    const offset = this.rotation++ % candidates.length;
    let best: PoolTarget | undefined;
    let bestLoad = Infinity;
    for (let n = 0; n < candidates.length; n++) {
      const i = (n + offset) % candidates.length;
      const t = candidates[i] as PoolTarget;
      const load = (t.inflight + 1) / (weights[i] ?? 1);
      if (load < bestLoad) [best, bestLoad] = [t, load];
    }
    return best as PoolTarget;
  }
}
