/**
 * One request forwarded to one target over a pooled keep-alive connection, with ALB's headers
 * (X-Forwarded-For appended, -Proto, -Port, X-Amzn-Trace-Id) and its failure answers: 502 when
 * the target refuses, resets or answers malformed, 504 when it says nothing for the idle timeout.
 * A bodiless request whose reused pooled connection was closed under it is sent once more on a
 * fresh one (the target closed an idle connection as we wrote: not the target's failure).
 */
import { randomFillSync } from "node:crypto";
import { type IncomingMessage, type OutgoingHttpHeaders, request, type ServerResponse } from "node:http";
import { performance } from "node:perf_hooks";
import { sendElbPage } from "./alb-responses.ts";
import type { LbCounters, ProxyContext, TgCounters } from "./proxy-context.ts";
import type { PoolTarget } from "./target-pool.ts";

/** Headers that belong to one connection, never forwarded. */
const HOP_BY_HOP = new Set(["connection", "keep-alive", "proxy-connection", "upgrade", "trailer", "te", "proxy-authenticate", "proxy-authorization"]);

export interface ForwardSpec {
  /** "http" or "https": the listener's protocol. */
  proto: string;
  /** The listener's port as the user configured it. */
  port: number;
  idleMs: number;
  lb: LbCounters;
  tg: TgCounters;
  /** Extra Set-Cookie values (stickiness). */
  setCookies: string[];
}

export function clientAddress(req: IncomingMessage): string {
  const address = req.socket.remoteAddress ?? "";
  return address.startsWith("::ffff:") ? address.slice(7) : address;
}

/** The headers sent to the target. */
export function forwardedHeaders(req: IncomingMessage, proto: string, port: number, now: number): OutgoingHttpHeaders {
  const out: OutgoingHttpHeaders = {};
  const inHeaders = req.headers;
  const named = inHeaders.connection ? inHeaders.connection.toLowerCase().split(",").map((s) => s.trim()) : [];
  for (const name in inHeaders) {
    if (HOP_BY_HOP.has(name) || (named.length > 0 && named.includes(name))) continue;
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
  const id = `1-${Math.floor(now / 1000).toString(16).padStart(8, "0")}-${randomHex24()}`;
  if (!incoming || !/(^|;)\s*Root=1-[0-9a-fA-F]{8}-[0-9a-fA-F]{24}/.test(incoming)) return `Root=${id}`;
  const rest = incoming
    .split(";")
    .map((f) => f.trim())
    .filter((f) => f !== "" && !f.startsWith("Self="));
  return [`Self=${id}`, ...rest].join(";");
}

const randomPool = Buffer.alloc(12 * 512);
let randomOffset = randomPool.length;
function randomHex24(): string {
  if (randomOffset >= randomPool.length) {
    randomFillSync(randomPool);
    randomOffset = 0;
  }
  randomOffset += 12;
  return randomPool.toString("hex", randomOffset - 12, randomOffset);
}

const BODILESS = new Set(["GET", "HEAD", "OPTIONS", "DELETE"]);

export function forward(ctx: ProxyContext, req: IncomingMessage, res: ServerResponse, target: PoolTarget, spec: ForwardSpec): void {
  const headers = forwardedHeaders(req, spec.proto, spec.port, ctx.clock.now());
  const retryable = BODILESS.has(req.method ?? "") && req.headers["content-length"] === undefined && req.headers["transfer-encoding"] === undefined;
  target.inflight++;
  spec.tg.requestCount++;
  let finished = false;
  res.once("close", () => {
    if (!finished) target.inflight--;
    finished = true;
  });
  send(ctx, req, res, target, spec, headers, retryable);
}

function send(ctx: ProxyContext, req: IncomingMessage, res: ServerResponse, target: PoolTarget, spec: ForwardSpec, headers: OutgoingHttpHeaders, retryable: boolean): void {
  const started = performance.now();
  let timedOut = false;
  let answered = false;
  const upstream = request({ host: target.address, port: target.port, method: req.method, path: req.url, headers, agent: ctx.agentFor(target) });
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

function responseHeaders(raw: string[], setCookies: string[]): string[] {
  const out: string[] = [];
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i] as string;
    const lower = name.length <= 17 ? name.toLowerCase() : "";
    if (lower === "connection" || lower === "keep-alive" || lower === "proxy-connection" || lower === "upgrade" || lower === "trailer") continue;
    out.push(name, raw[i + 1] as string);
  }
  for (const cookie of setCookies) out.push("Set-Cookie", cookie);
  return out;
}
