/**
 * An NLB listener: TCP passes each connection's bytes through to one healthy target of the
 * default forward's target group; TLS terminates TLS with the listener's certificates and passes
 * plain TCP on, or TLS again to a TLS target group (the target's certificate not verified, as
 * NLB does). Half-closes are carried across. A flow counts as in flight on its target until
 * both ends close; NLB's idle timeout for TCP is 350 s.
 */
import { createServer as createTcpServer, type Server, type Socket } from "node:net";
import { createServer as createTlsServer } from "node:tls";
import type { ListenerSpec, LoadBalancerSpec } from "../protocol/lb-protocol.ts";
import type { LbCounters, ProxyContext } from "./proxy-context.ts";
import { connectTarget } from "./target-connect.ts";
import { type TlsMaterial, tlsServerOptions } from "./tls-contexts.ts";

const NLB_IDLE_MS = 350_000;

export class TcpListener {
  readonly server: Server;
  private spec: ListenerSpec;
  private counters: LbCounters;

  constructor(
    private ctx: ProxyContext,
    spec: ListenerSpec,
    lb: LoadBalancerSpec,
    tls: TlsMaterial | undefined,
  ) {
    this.spec = spec;
    this.counters = ctx.counters.lb(lb.arn);
    const onFlow = (socket: Socket): void => this.flow(socket);
    this.server = tls
      ? createTlsServer({ ...tlsServerOptions(tls, spec.sslPolicy), allowHalfOpen: true }, onFlow)
      : createTcpServer({ allowHalfOpen: true }, onFlow);
  }

  update(spec: ListenerSpec, lb: LoadBalancerSpec, tls: TlsMaterial | undefined): void {
    this.spec = spec;
    this.counters = this.ctx.counters.lb(lb.arn);
    if (tls && "setSecureContext" in this.server) (this.server as unknown as { setSecureContext(o: object): void }).setSecureContext(tlsServerOptions(tls, spec.sslPolicy));
  }

  private flow(client: Socket): void {
    const counters = this.counters;
    counters.requestCount++;
    counters.activeConnections++;
    const forward = this.spec.defaultActions.find((a) => a.type === "forward");
    const groupArn = forward?.type === "forward" ? forward.targetGroups[0]?.arn : undefined;
    const pool = groupArn === undefined ? undefined : this.ctx.pools.get(groupArn);
    const target = pool?.pick(this.ctx.clock.now());
    client.once("close", () => counters.activeConnections--);
    client.on("error", () => client.destroy());
    if (!pool || !target) {
      // NLB resets a flow it has no target for.
      client.resetAndDestroy();
      return;
    }
    target.inflight++;
    const tg = this.ctx.counters.tg(pool.arn);
    tg.requestCount++;
    const upstream = connectTarget(target.address, target.port, { tls: pool.tls, http: false, allowHalfOpen: true });
    this.ctx.tunnels.add(pool.arn, target, client);
    let closed = 0;
    const onClose = (): void => {
      if (++closed === 2) target.inflight--;
    };
    client.once("close", onClose);
    upstream.once("close", onClose);
    upstream.on("error", () => (client.destroyed ? undefined : client.resetAndDestroy()));
    client.on("error", () => upstream.destroy());
    client.once("close", () => upstream.destroy());
    upstream.once("close", () => client.destroy());
    for (const s of [client, upstream]) s.setTimeout(NLB_IDLE_MS, () => s.destroy());
    client.pipe(upstream);
    upstream.pipe(client);
  }

  close(): void {
    this.server.close();
  }
}
