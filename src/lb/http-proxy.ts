/**
 * One request forwarded to one target over a pooled keep-alive connection, with ALB's headers
 * (X-Forwarded-For appended, -Proto, -Port, X-Amzn-Trace-Id) and its failure answers: 502 when
 * the target refuses, resets or answers malformed, 504 when it says nothing for the idle timeout.
 * A bodiless request whose reused pooled connection was closed under it is sent once more on a
 * fresh one (the target closed an idle connection as we wrote: not the target's failure).
 * Bodiless requests (nearly all) take the fast path: the request head is built as one string
 * from the raw headers and sent by upstream-client.ts; requests with a body or `Expect` go
 * through node:http's client with a keep-alive Agent. An HTTPS target group's targets are
 * reached over TLS on both paths.
 */
import { randomFillSync } from "node:crypto";
import { type IncomingMessage, type OutgoingHttpHeaders, request, type ServerResponse } from "node:http";
import { request as httpsRequest } from "node:https";
import { performance } from "node:perf_hooks";
import { sendElbPage } from "./alb-responses.ts";
import { copyBytes, Field, fieldOfName, isHopByHop } from "./http-head.ts";
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

export function clientAddress(req: { socket: { remoteAddress?: string | undefined } }): string {
  const address = req.socket.remoteAddress ?? "";
  return address.startsWith("::ffff:") ? address.slice(7) : address;
}

/** The headers sent to the target. */
export function forwardedHeaders(req: IncomingMessage, proto: string, port: number, now: number): OutgoingHttpHeaders {
  const out: OutgoingHttpHeaders = {};
  const inHeaders = req.headers;
  const named = inHeaders.connection ? inHeaders.connection.toLowerCase().split(",").map((s) => s.trim()) : [];
  for (const name in inHeaders) {
    if (isHopByHop(fieldOfName(name)) || (named.length > 0 && named.includes(name))) continue;
    out[name] = inHeaders[name];
  }
  const client = clientAddress(req);
  const prior = inHeaders["x-forwarded-for"];
  out["x-forwarded-for"] = prior ? `${prior}, ${client}` : client;
  out["x-forwarded-proto"] = proto;
  out["x-forwarded-port"] = String(port);
  const trace = inHeaders["x-amzn-trace-id"];
  out["x-amzn-trace-id"] = traceHeader(Array.isArray(trace) ? trace[0] : trace, now);
  return out;
}

/** Root=1-<epoch seconds, 8 hex>-<24 hex>; a valid incoming header keeps its fields and gets a (new) Self. */
export function traceHeader(incoming: string | undefined, now: number): string {
  const id = `1-${epochHex(now)}-${randomHex24()}`;
  if (!incoming || !/(^|;)\s*Root=1-[0-9a-fA-F]{8}-[0-9a-fA-F]{24}/.test(incoming)) return `Root=${id}`;
  const rest = incoming
    .split(";")
    .map((f) => f.trim())
    .filter((f) => f !== "" && !f.startsWith("Self="));
  return [`Self=${id}`, ...rest].join(";");
}

let epochSecond = -1;
let epochText = "";
function epochHex(now: number): string {
  const second = Math.floor(now / 1000);
  if (second !== epochSecond) {
    epochSecond = second;
    epochText = second.toString(16).padStart(8, "0");
  }
  return epochText;
}

/** Random bytes drawn 6 KiB at a time, kept as hex text (latin1 bytes): each id takes the next 24 characters. */
const randomPool = Buffer.alloc(12 * 512);
const randomHex = Buffer.alloc(randomPool.length * 2);
let randomOffset = randomHex.length;
function nextRandomHex(): number {
  if (randomOffset >= randomHex.length) {
    randomFillSync(randomPool);
    randomHex.write(randomPool.toString("hex"), "latin1");
    randomOffset = 0;
  }
  randomOffset += 24;
  return randomOffset - 24;
}
function randomHex24(): string {
  const at = nextRandomHex();
  return randomHex.toString("latin1", at, at + 24);
}

/** A new trace id's header value, "Root=1-<8 hex>-<24 hex>", written at `at`; returns the offset after it. */
const NEW_TRACE_LENGTH = 40;
function writeNewTrace(out: Buffer, at: number, now: number): number {
  at += out.write("Root=1-", at, "latin1");
  at += out.write(epochHex(now), at, "latin1");
  out[at++] = 45; // -
  const from = nextRandomHex();
  return copyBytes(randomHex, from, from + 24, out, at);
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

/**
 * The request head for the fast path (upstream-client.ts), from a request node:http parsed: the
 * request line and the client's headers as received, less hop-by-hop ones, with ALB's
 * X-Forwarded-* and X-Amzn-Trace-Id. Undefined when the request has a body or asks for
 * 100-continue: node:http carries those.
 */
export function fastRequestHead(
  method: string,
  url: string,
  raw: string[],
  client: string,
  proto: string,
  port: number,
  now: number,
  target: { address: string; port: number },
  keepAlive: boolean,
): string | undefined {
  let named: string[] | undefined;
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i] as string;
    if (name.length === 10 && name.toLowerCase() === "connection") {
      named ??= [];
      for (const token of (raw[i + 1] as string).toLowerCase().split(",")) named.push(token.trim());
    }
  }
  let head = `${method} ${url} HTTP/1.1\r\n`;
  let forwardedFor: string | undefined;
  let trace: string | undefined;
  let host = false;
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i] as string;
    const value = raw[i + 1] as string;
    const lower = name.toLowerCase();
    const field = fieldOfName(lower);
    switch (field) {
      case Field.Host:
        if (host) continue; // node:http keeps the first Host only
        host = true;
        break;
      case Field.ContentLength:
        if (value.trim() !== "0") return undefined;
        break;
      case Field.TransferEncoding:
      case Field.Expect:
        return undefined;
      case Field.ForwardedFor:
        forwardedFor = forwardedFor === undefined ? value : `${forwardedFor}, ${value}`;
        continue;
      case Field.TraceId:
        trace ??= value;
        continue;
      case Field.ForwardedOwn:
        continue;
      default:
        if (isHopByHop(field) || (named !== undefined && named.includes(lower))) continue;
    }
    head += `${name}: ${value}\r\n`;
  }
  return head + forwardedTail(host ? undefined : target, forwardedFor, client, proto, port, trace, now, keepAlive);
}

/**
 * The same head for a request http-front parsed: the lines as the client sent them, then ALB's
 * headers written straight into the one buffer (no head string is built).
 */
export function frontRequestHead(req: FrontRequest, client: string, proto: string, port: number, now: number, target: { address: string; port: number }, keepAlive: boolean): Buffer {
  // An HTTP/1.1 request line is among the lines as sent; an HTTP/1.0 one is written anew.
  const line = req.http10 ? `${req.method} ${req.url} HTTP/1.1\r\n` : "";
  const host = req.hasHost ? "" : hostLine(target);
  const forwardedFor = req.forwardedFor;
  const middle = forwardedMiddle(proto, port);
  // An incoming trace id is rare: its header is built as text.
  const trace = req.traceId === undefined ? undefined : traceHeader(req.traceId, now);
  const end = keepAlive ? "\r\n\r\n" : CLOSE_END;
  const size =
    line.length + req.lines.size + host.length + FORWARDED_FOR.length + (forwardedFor ? forwardedFor.length + 2 : 0) + client.length + middle.length + (trace === undefined ? NEW_TRACE_LENGTH : trace.length) + end.length;
  const out = Buffer.allocUnsafe(size);
  let at = req.lines.copyTo(out, line === "" ? 0 : out.write(line, 0, "latin1"));
  if (host !== "") at += out.write(host, at, "latin1");
  at += out.write(FORWARDED_FOR, at, "latin1");
  if (forwardedFor) {
    at += out.write(forwardedFor, at, "latin1");
    at += out.write(", ", at, "latin1");
  }
  at += out.write(client, at, "latin1");
  at += out.write(middle, at, "latin1");
  at = trace === undefined ? writeNewTrace(out, at, now) : at + out.write(trace, at, "latin1");
  out.write(end, at, "latin1");
  return out;
}

const FORWARDED_FOR = "X-Forwarded-For: ";
const CLOSE_END = "\r\nConnection: close\r\n\r\n";

/** Host for a request that named none: the target's address (and port, unless 80). */
function hostLine(target: { address: string; port: number }): string {
  return `Host: ${target.port === 80 ? target.address : `${target.address}:${target.port}`}\r\n`;
}

/** The text between the client address and the trace id, fixed per listener protocol and port. */
const middles = new Map<string, Map<number, string>>();
function forwardedMiddle(proto: string, port: number): string {
  let byPort = middles.get(proto);
  if (byPort === undefined) middles.set(proto, (byPort = new Map()));
  let middle = byPort.get(port);
  if (middle === undefined) byPort.set(port, (middle = `\r\nX-Forwarded-Proto: ${proto}\r\nX-Forwarded-Port: ${port}\r\nX-Amzn-Trace-Id: `));
  return middle;
}

/** The end of a forwarded request head as text (node:http's requests): Host when the client sent none, ALB's headers, the connection's fate, the empty line. */
function forwardedTail(hostOf: { address: string; port: number } | undefined, forwardedFor: string | undefined, client: string, proto: string, port: number, trace: string | undefined, now: number, keepAlive: boolean): string {
  const host = hostOf === undefined ? "" : hostLine(hostOf);
  const tail = `${host}${FORWARDED_FOR}${forwardedFor ? `${forwardedFor}, ${client}` : client}${forwardedMiddle(proto, port)}${traceHeader(trace, now)}`;
  return keepAlive ? `${tail}\r\n\r\n` : tail + CLOSE_END;
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
