/**
 * A client's request head, read as bytes (http-head.ts) for http-front.ts: the request line
 * and header lines checked as node:http would, and the lines to pass on to the target kept as
 * received, less hop-by-hop fields and ALB's own X-Forwarded-* and X-Amzn-Trace-Id. Anything
 * the fast path does not carry (a body, Expect, Upgrade, lax line ends) is left to node:http.
 */
import type { Socket } from "node:net";
import { CLOSE, equalsIgnoringCase, Field, HeadScanner, isHttp1At, KEEP_ALIVE, Lines, Scan, TOKEN_BYTE } from "./http-head.ts";

const MAX_FIELDS = 2000; // node:http's default maxHeadersCount
const scanner = new HeadScanner(MAX_FIELDS);

/** The head is not complete yet. */
export const WAIT = Symbol("wait");

/**
 * A parsed bodiless request. Its header lines to pass on (the request line too, for HTTP/1.1)
 * are byte ranges of what the client sent, less hop-by-hop fields and ALB's own X-Forwarded-*
 * and X-Amzn-Trace-Id, whose incoming values are kept apart.
 */
export class FrontRequest {
  private pairs: string[] | undefined;

  constructor(
    readonly method: string,
    readonly url: string,
    readonly http10: boolean,
    /** The client asked to keep the connection (HTTP/1.1's default, or Connection: keep-alive). */
    readonly keepAlive: boolean,
    /** The offset just past the head. */
    readonly end: number,
    readonly socket: Socket,
    readonly lines: Lines,
    readonly hasHost: boolean,
    /** Incoming X-Forwarded-For values, joined. */
    readonly forwardedFor: string | undefined,
    /** The first incoming X-Amzn-Trace-Id. */
    readonly traceId: string | undefined,
    private data: Buffer,
    /** Where the header lines start. */
    private fieldsStart: number,
  ) {}

  /** Every header as name, value pairs, as node:http's rawHeaders (built when asked: rules on headers, stickiness). */
  get rawHeaders(): string[] {
    if (this.pairs) return this.pairs;
    const pairs: string[] = [];
    for (const line of this.data.toString("latin1", this.fieldsStart, this.end - 2).split("\r\n")) {
      if (line === "") continue;
      const colon = line.indexOf(":");
      pairs.push(line.slice(0, colon), line.slice(colon + 1).replace(/^[ \t]+|[ \t]+$/g, ""));
    }
    this.pairs = pairs;
    return pairs;
  }
}

/**
 * Reads the request head at the start of `data`; WAIT while it is incomplete, undefined when
 * node:http should have it: anything but CR LF line ends, a body, Expect, Upgrade, CONNECT, or
 * a head it would refuse.
 */
export function readRequestHead(data: Buffer, socket: Socket): FrontRequest | undefined | typeof WAIT {
  const nl = data.indexOf(10);
  if (nl === -1) return WAIT;
  if (nl === 0 || data[nl - 1] !== 13) return undefined;
  const lineEnd = nl - 1;
  let i = 0;
  while (i < lineEnd && TOKEN_BYTE[data[i] as number] === 1) i++;
  if (i === 0 || data[i] !== 32) return undefined;
  const methodEnd = i++;
  const urlStart = i;
  for (let b = data[i] as number; i < lineEnd && b > 32 && b !== 127; b = data[++i] as number);
  if (i === urlStart || data[i] !== 32 || lineEnd - i !== 9 || !isHttp1At(data, i + 1)) return undefined;
  const minor = data[lineEnd - 1];
  if (minor !== 48 && minor !== 49) return undefined;
  const http10 = minor === 48;
  const method = methodEnd === 3 && data[0] === 71 && data[1] === 69 && data[2] === 84 ? "GET" : data.toString("latin1", 0, methodEnd);
  if (method === "CONNECT") return undefined;
  const scan = scanner.scan(data, nl + 1);
  if (scan === Scan.Incomplete) return WAIT;
  if (scan !== Scan.Done || scanner.bareLf) return undefined;
  const count = scanner.count;
  let keepAlive = !http10;
  let named: string[] | undefined;
  for (let f = 0; f < count; f++) {
    const field = scanner.field(f);
    const valueStart = scanner.valueStart(f);
    const valueEnd = scanner.valueEnd(f);
    switch (field) {
      case Field.Expect:
      case Field.Upgrade:
      case Field.TransferEncoding:
        return undefined;
      case Field.ContentLength:
        if (valueEnd - valueStart !== 1 || data[valueStart] !== 48) return undefined;
        break;
      case Field.Connection:
        if (equalsIgnoringCase(data, valueStart, valueEnd, KEEP_ALIVE)) keepAlive = true;
        else if (equalsIgnoringCase(data, valueStart, valueEnd, CLOSE)) keepAlive = false;
        else {
          const tokens = data.toString("latin1", valueStart, valueEnd).toLowerCase();
          if (tokens.includes("upgrade")) return undefined;
          if (tokens.includes("close")) keepAlive = false;
          else if (tokens.includes("keep-alive")) keepAlive = true;
          for (const token of tokens.split(",")) {
            const name = token.trim();
            if (name !== "close" && name !== "keep-alive" && name !== "") (named ??= []).push(name);
          }
        }
        break;
    }
  }
  const lines = new Lines(data);
  if (!http10) lines.keep(0, lineEnd, true); // the request line as sent
  let hasHost = false;
  let forwardedFor: string | undefined;
  let traceId: string | undefined;
  for (let f = 0; f < count; f++) {
    const field = scanner.field(f);
    switch (field) {
      case Field.Host:
        if (hasHost) continue; // node:http keeps the first Host only
        hasHost = true;
        break;
      case Field.ForwardedFor: {
        const value = data.toString("latin1", scanner.valueStart(f), scanner.valueEnd(f));
        forwardedFor = forwardedFor === undefined ? value : `${forwardedFor}, ${value}`;
        continue;
      }
      case Field.TraceId:
        traceId ??= data.toString("latin1", scanner.valueStart(f), scanner.valueEnd(f));
        continue;
      case Field.ForwardedOwn:
      case Field.Connection:
      case Field.HopByHop:
        continue;
    }
    const start = scanner.lineStart(f);
    if (named !== undefined && named.includes(data.toString("latin1", start, scanner.nameEnd(f)).toLowerCase())) continue;
    lines.keep(start, scanner.contentEnd(f), true);
  }
  if (!http10 && !hasHost) return undefined; // node:http answers 400
  const url = data.toString("latin1", urlStart, i);
  return new FrontRequest(method, url, http10, keepAlive, scanner.end, socket, lines, hasHost, forwardedFor, traceId, data, nl + 1);
}
