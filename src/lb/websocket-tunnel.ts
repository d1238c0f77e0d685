/**
 * Upgrade requests (WebSocket): a fresh connection to the target (TLS for an HTTPS target
 * group, its certificate not verified), the request head written with
 * ALB's forwarded headers, then bytes piped both ways until either side closes or the idle
 * timeout passes. The tunnel counts as in flight on its target, so a draining target is not
 * reported drained while a WebSocket is open.
 */
import type { IncomingMessage } from "node:http";
import type { Socket } from "node:net";
import { writeRawElbPage } from "./alb-responses.ts";
import { forwardedHeaders } from "./forwarded-head.ts";
import type { LbCounters, ProxyContext, TgCounters } from "./proxy-context.ts";
import { connectTarget } from "./target-connect.ts";
import type { PoolTarget } from "./target-pool.ts";

export interface TunnelSpec {
  proto: string;
  port: number;
  idleMs: number;
  lb: LbCounters;
  tg: TgCounters;
  groupArn: string;
  setCookies: readonly string[];
  tls: boolean;
}

export function tunnel(ctx: ProxyContext, req: IncomingMessage, client: Socket, head: Buffer, target: PoolTarget, spec: TunnelSpec): void {
  const headers = forwardedHeaders(req, spec.proto, spec.port, ctx.clock.now());
  // The upgrade headers are hop-by-hop for a proxied request but are the point here.
  headers["connection"] = req.headers.connection ?? "Upgrade";
  if (req.headers.upgrade) headers["upgrade"] = req.headers.upgrade;
  const lines = [`${req.method ?? "GET"} ${req.url ?? "/"} HTTP/1.1`];
  for (const [name, value] of Object.entries(headers)) {
    if (value === undefined) continue;
    for (const v of Array.isArray(value) ? value : [value]) lines.push(`${name}: ${String(v)}`);
  }
  target.inflight++;
  spec.tg.requestCount++;
  const upstream = connectTarget(target.address, target.port, { tls: spec.tls, http: true });
  let connected = false;
  let done = false;
  const finish = (): void => {
    if (done) return;
    done = true;
    target.inflight--;
    client.destroy();
    upstream.destroy();
  };
  ctx.tunnels.add(spec.groupArn, target, client);
  upstream.setTimeout(spec.idleMs, finish);
  client.setTimeout(spec.idleMs, finish);
  upstream.once(spec.tls ? "secureConnect" : "connect", () => {
    connected = true;
    upstream.write(`${lines.join("\r\n")}\r\n\r\n`);
    if (head.length > 0) upstream.write(head);
    if (spec.setCookies.length > 0) injectCookies(upstream, client, spec.setCookies);
    else upstream.pipe(client);
    client.pipe(upstream);
  });
  upstream.on("error", () => {
    if (!connected && !done) {
      spec.lb.elb5xx++;
      done = true;
      target.inflight--;
      writeRawElbPage(client, 502);
      return;
    }
    finish();
  });
  client.on("error", finish);
  upstream.on("close", finish);
  client.on("close", finish);
}

/** Adds the sticky Set-Cookie lines to the target's handshake response, then pipes the rest untouched. */
function injectCookies(upstream: Socket, client: Socket, cookies: readonly string[]): void {
  let buffered = Buffer.alloc(0);
  const onData = (chunk: Buffer): void => {
    buffered = Buffer.concat([buffered, chunk]);
    const end = buffered.indexOf("\r\n\r\n");
    if (end === -1) return;
    upstream.off("data", onData);
    const extra = cookies.map((c) => `\r\nSet-Cookie: ${c}`).join("");
    client.write(Buffer.concat([buffered.subarray(0, end), Buffer.from(extra), buffered.subarray(end)]));
    upstream.pipe(client);
  };
  upstream.on("data", onData);
}
