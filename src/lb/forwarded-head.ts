/**
 * The request head ALB sends a target: the client's header lines as received, less hop-by-hop
 * ones and the client's own copies of ALB's headers, then X-Forwarded-For (the client appended),
 * X-Forwarded-Proto, X-Forwarded-Port and X-Amzn-Trace-Id (a new Root, or the client's fields
 * with a new Self), and Connection: close when upstream keep-alive is off. Three forms: a
 * string from node:http's raw headers (fastRequestHead), one buffer from http-front's parsed
 * bytes (frontRequestHead: nothing built as a string on the way), and node:http headers for
 * requests with a body (forwardedHeaders). No I/O.
 */
import { randomFillSync } from "node:crypto";
import type { IncomingMessage, OutgoingHttpHeaders } from "node:http";
import { copyBytes, Field, fieldOfName, isHopByHop } from "./http-head.ts";
import type { FrontRequest } from "./request-head.ts";

/** The client's address as ALB writes it (IPv4-mapped IPv6 as plain IPv4). */
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
