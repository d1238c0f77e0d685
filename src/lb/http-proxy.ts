/**
 * One request forwarded to one target over a pooled keep-alive connection, with ALB's headers
 * (built by forwarded-head.ts) and its failure answers: 502 when the target refuses, resets or
 * answers malformed, 504 when it says nothing for the idle timeout. A bodiless request whose
 * reused pooled connection was closed under it is sent once more on a fresh one (the target
 * closed an idle connection as we wrote: not the target's failure). Bodiless requests (nearly
 * all) take the fast path: the whole request head goes to upstream-client.ts; requests with a
 * body or `Expect` go through node:http's client with a keep-alive Agent. An HTTPS target
 * group's targets are reached over TLS on both paths.
 */
import { type IncomingMessage, type OutgoingHttpHeaders, request, type ServerResponse } from "node:http";
import { request as httpsRequest } from "node:https";
import { performance } from "node:perf_hooks";
import { sendElbPage } from "./alb-responses.ts";
import { clientAddress, fastRequestHead, forwardedHeaders, frontRequestHead } from "./forwarded-head.ts";
import { fieldOfName, isHopByHop } from "./http-head.ts";
import type { LbCounters, ProxyContext, TgCounters } from "./proxy-context.ts";
import type { PoolTarget } from "./target-pool.ts";
import type { FrontConnection, FrontWaiter } from "./http-front.ts";
import type { FrontRequest } from "./request-head.ts";
import type { ResponseHead } from "./response-head.ts";
import type { UpstreamExchange, UpstreamFailure, UpstreamHandle, UpstreamPool } from "./upstream-client.ts";

export interface ForwardSpec {
  /** "http" or "https": the listener's protocol. */
  proto: string;
  /** The listener's port as the user configured it. */
  port: number;
  idleMs: number;
  lb: LbCounters;
  tg: TgCounters;
  /** Extra Set-Cookie values (stickiness). */
  setCookies: readonly string[];
  /** The target group is HTTPS: requests go to the target over TLS. */
  tls: boolean;
}

const BODILESS = new Set(["GET", "HEAD", "OPTIONS", "DELETE"]);

/** The client side of a fast-path exchange: a node:http response, or a connection of http-front. */
export interface ClientSide {
  readonly isHeadRequest: boolean;
  readonly headersSent: boolean;
  /** The client went away or the response is over. */
  readonly gone: boolean;
  /** Starts the answer: the target's head, with Set-Cookie values of ALB's own. */
  writeHead(head: ResponseHead, setCookies: readonly string[]): void;
  /** Body bytes, lent for the call (copy what is kept); false: wait for onDrain. */
  writeBody(chunk: Buffer | undefined, last: boolean): boolean;
  onDrain(resume: () => void): void;
  elbPage(status: number): void;
  destroy(): void;
}

/** A node:http response as a ClientSide. */
class NodeSide implements ClientSide {
  constructor(private res: ServerResponse) {}
  get isHeadRequest(): boolean {
    return this.res.req.method === "HEAD";
  }
  get headersSent(): boolean {
    return this.res.headersSent;
  }
  get gone(): boolean {
    return this.res.destroyed || this.res.writableEnded;
  }
  writeHead(head: ResponseHead, setCookies: readonly string[]): void {
    const headers = head.headers();
    for (const cookie of setCookies) headers.push("Set-Cookie", cookie);
    this.res.writeHead(head.status, head.reason, headers);
  }
  writeBody(chunk: Buffer | undefined, last: boolean): boolean {
    const own = chunk && Buffer.from(chunk);
    if (!last) return this.res.write(own);
    this.res.end(own);
    return true;
  }
  onDrain(resume: () => void): void {
    this.res.once("drain", resume);
  }
  elbPage(status: number): void {
    sendElbPage(this.res, status);
  }
  destroy(): void {
    this.res.destroy();
  }
}

export function forward(ctx: ProxyContext, req: IncomingMessage, res: ServerResponse, target: PoolTarget, spec: ForwardSpec): void {
  const now = ctx.clock.now();
  const head = fastRequestHead(req.method as string, req.url as string, req.rawHeaders, clientAddress(req), spec.proto, spec.port, now, target, ctx.upstreamKeepAlive);
  target.inflight++;
  spec.tg.requestCount++;
  if (head !== undefined) {
    const exchange = new Exchange(ctx.upstreamFor(target, spec.tls), new NodeSide(res), target, spec, head, BODILESS.has(req.method as string));
    res.once("close", () => exchange.clientGone());
    exchange.start(false);
    return;
  }
  let finished = false;
  res.once("close", () => {
    if (!finished) target.inflight--;
    finished = true;
  });
  const headers = forwardedHeaders(req, spec.proto, spec.port, now);
  const retryable = BODILESS.has(req.method ?? "") && req.headers["content-length"] === undefined && req.headers["transfer-encoding"] === undefined;
  send(ctx, req, res, target, spec, headers, retryable);
}

/** A bodiless request from http-front: always the fast path. */
export function forwardFront(ctx: ProxyContext, req: FrontRequest, conn: FrontConnection, clientIp: string, target: PoolTarget, spec: ForwardSpec): void {
  const head = frontRequestHead(req, clientIp, spec.proto, spec.port, ctx.clock.now(), target, ctx.upstreamKeepAlive);
  target.inflight++;
  spec.tg.requestCount++;
  const exchange = new Exchange(ctx.upstreamFor(target, spec.tls), conn, target, spec, head, BODILESS.has(req.method));
  conn.wait(exchange);
  exchange.start(false);
}

/** One request on the fast path: the target's answer goes to the client as it arrives. */
class Exchange implements UpstreamExchange, FrontWaiter {
  private handle: UpstreamHandle | undefined;
  private started = performance.now();
  private answered = false;
  private done = false;

  constructor(
    private pool: UpstreamPool,
    private client: ClientSide,
    private target: PoolTarget,
    private spec: ForwardSpec,
    private request: string | Buffer,
    private retryable: boolean,
  ) {}

  get head(): boolean {
    return this.client.isHeadRequest;
  }

  start(fresh: boolean): void {
    this.handle = this.pool.send(this.request, this, this.spec.idleMs, fresh);
  }

  /** The request no longer counts as in flight on its target. */
  private finish(): void {
    if (this.done) return;
    this.done = true;
    this.target.inflight--;
  }

  clientGone(): void {
    const complete = this.done;
    this.finish();
    if (!complete) this.handle?.abort();
  }

  onHead(head: ResponseHead): void {
    const tg = this.spec.tg;
    tg.targetResponseTimeSumMs += performance.now() - this.started;
    const status = head.status;
    if (status >= 500) tg.target5xx++;
    else if (status >= 400) tg.target4xx++;
    else if (status >= 200 && status < 300) tg.target2xx++;
    this.client.writeHead(head, this.spec.setCookies);
    this.answered = true;
  }

  onBody(chunk: Buffer | undefined, last: boolean): boolean {
    const client = this.client;
    if (client.gone) {
      this.clientGone();
      return false;
    }
    if (last) {
      this.finish();
      client.writeBody(chunk, true);
      return true;
    }
    if (client.writeBody(chunk, false)) return true;
    client.onDrain(() => this.handle?.resume());
    return false;
  }

  onFail(failure: UpstreamFailure): void {
    const client = this.client;
    if (client.gone) return;
    if (!failure.answered && this.retryable && failure.reused && !failure.timedOut && !failure.malformed && (failure.code === "ECONNRESET" || failure.code === "EPIPE")) {
      // The target closed an idle pooled connection as we wrote: once more on a fresh one.
      this.retryable = false;
      this.start(true);
      return;
    }
    this.finish();
    if (this.answered || client.headersSent) {
      client.destroy();
      return;
    }
    this.spec.lb.elb5xx++;
    client.elbPage(failure.timedOut ? 504 : 502);
  }
}

function send(ctx: ProxyContext, req: IncomingMessage, res: ServerResponse, target: PoolTarget, spec: ForwardSpec, headers: OutgoingHttpHeaders, retryable: boolean): void {
  const started = performance.now();
  let timedOut = false;
  let answered = false;
  const upstream = (spec.tls ? httpsRequest : request)({ host: target.address, port: target.port, method: req.method, path: req.url, headers, agent: ctx.agentFor(target, spec.tls) });
  upstream.setTimeout(spec.idleMs, () => {
    timedOut = true;
    upstream.destroy();
  });
  upstream.on("response", (ures) => {
    answered = true;
    spec.tg.targetResponseTimeSumMs += performance.now() - started;
    const status = ures.statusCode ?? 502;
    if (status >= 500) spec.tg.target5xx++;
    else if (status >= 400) spec.tg.target4xx++;
    else if (status >= 200 && status < 300) spec.tg.target2xx++;
    res.writeHead(status, ures.statusMessage, responseHeaders(ures.rawHeaders, spec.setCookies));
    ures.pipe(res);
    ures.on("error", () => res.destroy());
  });
  upstream.on("error", (error: NodeJS.ErrnoException) => {
    if (res.destroyed || res.writableEnded) return;
    if (!answered && retryable && upstream.reusedSocket && !timedOut && (error.code === "ECONNRESET" || error.code === "EPIPE")) {
      send(ctx, req, res, target, spec, headers, false);
      return;
    }
    if (res.headersSent) {
      res.destroy();
      return;
    }
    spec.lb.elb5xx++;
    sendElbPage(res, timedOut ? 504 : 502);
  });
  res.once("close", () => {
    if (!res.writableFinished) upstream.destroy();
  });
  if (retryable) upstream.end();
  else req.pipe(upstream);
}

function responseHeaders(raw: string[], setCookies: readonly string[]): string[] {
  const out: string[] = [];
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i] as string;
    if (!isHopByHop(fieldOfName(name.toLowerCase()))) out.push(name, raw[i + 1] as string);
  }
  for (const cookie of setCookies) out.push("Set-Cookie", cookie);
  return out;
}
