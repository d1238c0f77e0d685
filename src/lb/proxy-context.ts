/**
 * What every listener of one proxy process shares: the target pools, the upstream connection
 * pools (per target address and whether it is reached over TLS: upstream-client's pool for
 * bodiless requests, a keep-alive http(s).Agent for the rest), the counters, the open tunnels
 * (WebSockets and NLB flows, which die with their target), the clock and the cookie key.
 */
import { Agent } from "node:http";
import { Agent as HttpsAgent } from "node:https";
import type { Socket } from "node:net";
import type { Clock } from "../core/clock.ts";
import type { Logger } from "../core/logger.ts";
import type { PoolTarget, TargetPool } from "./target-pool.ts";
import { targetTls } from "./target-connect.ts";
import { UpstreamPool } from "./upstream-client.ts";

export interface LbCounters {
  requestCount: number;
  elb5xx: number;
  elb4xx: number;
  activeConnections: number;
}

export interface TgCounters {
  requestCount: number;
  target2xx: number;
  target4xx: number;
  target5xx: number;
  targetResponseTimeSumMs: number;
}

/** Counters since this process started, by load balancer ARN and target group ARN. */
export interface CounterSet {
  loadBalancers: Record<string, LbCounters>;
  targetGroups: Record<string, TgCounters>;
}

export class Counters {
  readonly set: CounterSet = { loadBalancers: {}, targetGroups: {} };

  lb(arn: string): LbCounters {
    return (this.set.loadBalancers[arn] ??= { requestCount: 0, elb5xx: 0, elb4xx: 0, activeConnections: 0 });
  }

  tg(arn: string): TgCounters {
    return (this.set.targetGroups[arn] ??= { requestCount: 0, target2xx: 0, target4xx: 0, target5xx: 0, targetResponseTimeSumMs: 0 });
  }
}

/** Sockets to a target that outlive a request (WebSocket tunnels, NLB flows), closed when the target leaves its group. */
export class Tunnels {
  private open = new Map<string, Set<Socket>>();

  add(groupArn: string, target: PoolTarget, socket: Socket): void {
    const key = `${groupArn}|${target.key}`;
    let set = this.open.get(key);
    if (!set) this.open.set(key, (set = new Set()));
    set.add(socket);
    socket.once("close", () => {
      set.delete(socket);
      if (set.size === 0 && this.open.get(key) === set) this.open.delete(key);
    });
  }

  /** Closes the tunnels of targets no longer in their group (`stillThere` says which remain). */
  closeMissing(stillThere: (groupArn: string, targetKey: string) => boolean): void {
    for (const [key, sockets] of this.open) {
      const bar = key.indexOf("|");
      if (stillThere(key.slice(0, bar), key.slice(bar + 1))) continue;
      for (const s of sockets) s.destroy();
    }
  }

  closeAll(): void {
    for (const sockets of this.open.values()) for (const s of sockets) s.destroy();
  }
}

export class ProxyContext {
  readonly pools = new Map<string, TargetPool>();
  readonly counters = new Counters();
  readonly tunnels = new Tunnels();
  private agents = new Map<string, Agent>();
  private upstreams = new Map<string, UpstreamPool>();

  constructor(
    readonly clock: Clock,
    readonly logger: Logger,
    public cookieKey: Buffer,
    /** False only to measure what pooling buys (bench/lb.ts): each request then opens its own connection. */
    readonly upstreamKeepAlive = true,
  ) {}

  /** The fast path's keep-alive pool of connections to one target address, over TLS or not. */
  upstreamFor(target: PoolTarget, tls: boolean): UpstreamPool {
    const cached = target.upstream;
    if (cached !== undefined && cached.open && cached.host === target.address && cached.port === target.port && cached.tls === tls) return cached;
    const key = connectionKey(target, tls);
    let pool = this.upstreams.get(key);
    if (!pool) {
      pool = new UpstreamPool(target.address, target.port, this.upstreamKeepAlive, tls);
      this.upstreams.set(key, pool);
    }
    target.upstream = pool;
    return pool;
  }

  /** node:http's keep-alive pool of connections to one target address, over TLS or not. */
  agentFor(target: PoolTarget, tls: boolean): Agent {
    const key = connectionKey(target, tls);
    let agent = this.agents.get(key);
    if (!agent) {
      const options = { keepAlive: this.upstreamKeepAlive, keepAliveMsecs: 1000, maxFreeSockets: 1024, scheduling: "lifo", timeout: 30_000 } as const;
      agent = tls ? new HttpsAgent({ ...options, ...targetTls(true) }) : new Agent(options);
      this.agents.set(key, agent);
    }
    return agent;
  }

  /** Drops the connection pools of addresses no pool names any more. */
  pruneAgents(): void {
    const wanted = new Set<string>();
    for (const pool of this.pools.values()) for (const t of pool.all()) wanted.add(connectionKey(t, pool.tls));
    for (const [key, agent] of this.agents) {
      if (wanted.has(key)) continue;
      agent.destroy();
      this.agents.delete(key);
    }
    for (const [key, pool] of this.upstreams) {
      if (wanted.has(key)) continue;
      pool.destroy();
      this.upstreams.delete(key);
    }
  }

  destroyAgents(): void {
    for (const agent of this.agents.values()) agent.destroy();
    this.agents.clear();
    for (const pool of this.upstreams.values()) pool.destroy();
    this.upstreams.clear();
  }

  /** In-flight counts by `groupArn|targetKey` (non-zero only). */
  inflight(): Record<string, number> {
    const out: Record<string, number> = {};
    for (const pool of this.pools.values()) for (const t of pool.all()) if (t.inflight > 0) out[`${pool.arn}|${t.key}`] = t.inflight;
    return out;
  }
}

/** Where the pooled connections of a target go: its address and port, and TLS or not. */
function connectionKey(target: { address: string; port: number }, tls: boolean): string {
  return `${tls ? "tls " : ""}${target.address}:${target.port}`;
}
