/**
 * The proxy of one process: from a whole snapshot and the health view it binds new listeners,
 * closes removed ones, rebinds a listener whose protocol or address changed, and updates all
 * others in place (rules, attributes, certificates, targets) without dropping a connection. It
 * runs in the data plane's own process (workers: 0) or in each worker process, where node:cluster
 * shares the listening sockets. It never health-checks: health arrives as a view.
 */
import type { Clock } from "../core/clock.ts";
import type { Logger } from "../core/logger.ts";
import type { LbSnapshot, ListenerSpec, LoadBalancerSpec } from "../protocol/lb-protocol.ts";
import { HttpListener } from "./http-listener.ts";
import { type CounterSet, ProxyContext } from "./proxy-context.ts";
import { TargetPool, type HealthView, targetKey } from "./target-pool.ts";
import { TcpListener } from "./tcp-listener.ts";
import type { TlsMaterial } from "./tls-contexts.ts";

export interface ListenerError {
  listenerArn: string;
  message: string;
}

interface Running {
  bindKey: string;
  listener: HttpListener | TcpListener;
}

export class ProxyEngine {
  readonly ctx: ProxyContext;
  private running = new Map<string, Running>();
  private errors = new Map<string, string>();

  constructor(opts: { clock: Clock; logger: Logger; cookieKey: Buffer; upstreamKeepAlive?: boolean }) {
    this.ctx = new ProxyContext(opts.clock, opts.logger, opts.cookieKey, opts.upstreamKeepAlive ?? true);
  }

  async apply(snapshot: LbSnapshot, health: HealthView): Promise<ListenerError[]> {
    this.applyTargetGroups(snapshot, health);
    const wanted = new Map<string, { spec: ListenerSpec; lb: LoadBalancerSpec }>();
    for (const lb of snapshot.loadBalancers) for (const spec of lb.listeners) wanted.set(spec.arn, { spec, lb });
    for (const [arn, running] of this.running) {
      const next = wanted.get(arn);
      if (next && bindKey(next.spec) === running.bindKey) continue;
      running.listener.close();
      this.running.delete(arn);
    }
    for (const arn of this.errors.keys()) if (!wanted.has(arn)) this.errors.delete(arn);
    await Promise.all(
      [...wanted.values()].map(async ({ spec, lb }) => {
        try {
          const tls = tlsMaterial(spec, snapshot);
          const running = this.running.get(spec.arn);
          if (running) running.listener.update(spec, lb, tls);
          else await this.bind(spec, lb, tls);
          this.errors.delete(spec.arn);
        } catch (error) {
          this.errors.set(spec.arn, error instanceof Error ? error.message : String(error));
        }
      }),
    );
    return this.listenerErrors();
  }

  setHealth(health: HealthView): void {
    for (const pool of this.ctx.pools.values()) pool.setHealth(health[pool.arn]);
  }

  listenerErrors(): ListenerError[] {
    return [...this.errors].map(([listenerArn, message]) => ({ listenerArn, message }));
  }

  counters(): CounterSet {
    return this.ctx.counters.set;
  }

  /** In-flight counts by `groupArn|targetKey` (non-zero only). */
  inflight(): Record<string, number> {
    return this.ctx.inflight();
  }

  /** The ports bound, by listener ARN (for tests and `berth`). */
  boundPorts(): Record<string, number> {
    const out: Record<string, number> = {};
    for (const [arn, r] of this.running) {
      const address = r.listener.server.address();
      if (address && typeof address === "object") out[arn] = address.port;
    }
    return out;
  }

  async close(): Promise<void> {
    const servers = [...this.running.values()].map((r) => r.listener);
    this.running.clear();
    await Promise.all(
      servers.map(
        (l) =>
          new Promise<void>((resolve) => {
            l.server.close(() => resolve());
            if (l instanceof HttpListener) l.destroyConnections();
          }),
      ),
    );
    this.ctx.tunnels.closeAll();
    this.ctx.destroyAgents();
  }

  private applyTargetGroups(snapshot: LbSnapshot, health: HealthView): void {
    const seen = new Set<string>();
    for (const spec of snapshot.targetGroups) {
      seen.add(spec.arn);
      const pool = this.ctx.pools.get(spec.arn);
      if (pool) pool.update(spec, health[spec.arn]);
      else this.ctx.pools.set(spec.arn, new TargetPool(spec, health[spec.arn]));
    }
    for (const arn of this.ctx.pools.keys()) if (!seen.has(arn)) this.ctx.pools.delete(arn);
    const members = new Set(snapshot.targetGroups.flatMap((g) => g.targets.map((t) => `${g.arn}|${targetKey(t)}`)));
    this.ctx.tunnels.closeMissing((groupArn, key) => members.has(`${groupArn}|${key}`));
    this.ctx.pruneAgents();
  }

  private async bind(spec: ListenerSpec, lb: LoadBalancerSpec, tls: TlsMaterial | undefined): Promise<void> {
    if (spec.protocol === "UDP" || spec.protocol === "TCP_UDP") throw new Error(`${spec.protocol} listeners are not supported by Berth's data plane`);
    const listener = spec.protocol === "HTTP" || spec.protocol === "HTTPS" ? new HttpListener(this.ctx, spec, lb, tls) : new TcpListener(this.ctx, spec, lb, tls);
    await new Promise<void>((resolve, reject) => {
      const onError = (error: NodeJS.ErrnoException): void => {
        reject(new Error(error.code === "EADDRINUSE" ? `port ${spec.bindPort} on ${spec.bindHost} is already in use` : error.message));
      };
      listener.server.once("error", onError);
      listener.server.listen({ port: spec.bindPort, host: spec.bindHost }, () => {
        listener.server.off("error", onError);
        resolve();
      });
    });
    listener.server.on("error", (error) => this.ctx.logger.error("load balancer listener failed", { listenerArn: spec.arn, error: error.message }));
    this.running.set(spec.arn, { bindKey: bindKey(spec), listener });
  }
}

function bindKey(spec: ListenerSpec): string {
  return `${spec.protocol}|${spec.bindHost}|${spec.bindPort}`;
}

function tlsMaterial(spec: ListenerSpec, snapshot: LbSnapshot): TlsMaterial | undefined {
  if (spec.protocol !== "HTTPS" && spec.protocol !== "TLS") return undefined;
  const certificates = spec.certificateArns.map((arn) => {
    const pem = snapshot.certificates[arn];
    if (!pem) throw new Error(`certificate ${arn} is not in the snapshot`);
    return pem;
  });
  if (certificates.length === 0) throw new Error(`${spec.protocol} listener has no certificate`);
  return { certificates };
}
