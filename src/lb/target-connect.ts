/**
 * How the proxy reaches a target: plain TCP, or TLS for HTTPS (ALB) and TLS (NLB) target groups.
 * The target's certificate is accepted unverified, as ALB and NLB accept it; no SNI goes to an IP
 * address. The one place that says so: upstream-client, the https Agent, WebSocket tunnels and
 * NLB flows all take their TLS settings from here.
 */
import { connect, type Socket } from "node:net";
import { type ConnectionOptions, connect as tlsConnect } from "node:tls";

/** TLS settings for a connection to a target; `http` offers HTTP/1.1 by ALPN. */
export function targetTls(http: boolean): ConnectionOptions {
  return http ? { rejectUnauthorized: false, ALPNProtocols: ["http/1.1"] } : { rejectUnauthorized: false };
}

/** Opens a connection to a target. A TLS one carries the target's bytes after 'secureConnect', a plain one after 'connect'. */
export function connectTarget(host: string, port: number, opts: { tls: boolean; http: boolean; allowHalfOpen?: boolean }): Socket {
  const allowHalfOpen = opts.allowHalfOpen ?? false;
  if (!opts.tls) return connect({ host, port, allowHalfOpen });
  // node:tls takes allowHalfOpen as node:net does, though its types leave it out.
  const options: ConnectionOptions & { allowHalfOpen: boolean } = { host, port, allowHalfOpen, ...targetTls(opts.http) };
  return tlsConnect(options);
}
