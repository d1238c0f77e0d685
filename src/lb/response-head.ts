/**
 * A target's response head, read as bytes (http-head.ts) for upstream-client.ts: the status
 * line checked, 1xx heads skipped, the framing found (Transfer-Encoding over Content-Length), and
 * the header lines to pass on to the client kept as received, hop-by-hop ones left out. No I/O.
 */
import { copyLine, equalsIgnoringCase, Field, HeadScanner, isHopByHop, isHttp1At, KEEP_ALIVE, Lines, Scan } from "./http-head.ts";

/** The target's answer cannot be used. */
export class MalformedResponse extends Error {}

const MAX_FIELDS = 1024;
const STATUS_PREFIX = Buffer.from("HTTP/1.1 ");
const scanner = new HeadScanner(MAX_FIELDS);

/**
 * A target's final response head as received: its status, and its header lines to pass on
 * (hop-by-hop ones left out; Transfer-Encoding apart, for a client that cannot take it).
 */
export class ResponseHead {
  constructor(
    private data: Buffer,
    /** The offset just past the head. */
    readonly end: number,
    readonly status: number,
    /** Where the status code starts, and where the status line's content ends. */
    private codeStart: number,
    private lineEnd: number,
    readonly lines: Lines,
    /** The Transfer-Encoding lines of a chunked answer, kept apart: an HTTP/1.0 client gets none. */
    readonly transferEncoding: Lines | undefined,
    readonly hasDate: boolean,
    /** The Content-Length, or -1. */
    readonly length: number,
    /** Transfer-Encoding is present (it decides the framing), and its last coding is chunked. */
    readonly te: boolean,
    readonly chunked: boolean,
    /** The target closes the connection after this answer. */
    readonly close: boolean,
  ) {}

  /** A Content-Length line is passed on (none is beside Transfer-Encoding). */
  get hasLength(): boolean {
    return this.length !== -1 && !this.te;
  }

  get reason(): string {
    return this.lineEnd > this.codeStart + 4 ? this.data.toString("latin1", this.codeStart + 4, this.lineEnd) : "";
  }

  /** The bytes `copyTo` writes. */
  size(withTransferEncoding: boolean): number {
    return STATUS_PREFIX.length + this.lineEnd - this.codeStart + 2 + this.lines.size + (withTransferEncoding && this.transferEncoding ? this.transferEncoding.size : 0);
  }

  /** Writes "HTTP/1.1 <code> <reason>" and the lines to pass on into `out` at `at`; returns the offset after them. */
  copyTo(out: Buffer, at: number, withTransferEncoding: boolean): number {
    for (let i = 0; i < STATUS_PREFIX.length; i++) out[at++] = STATUS_PREFIX[i] as number;
    at = this.lines.copyTo(out, copyLine(this.data, this.codeStart, this.lineEnd, out, at));
    return withTransferEncoding && this.transferEncoding ? this.transferEncoding.copyTo(out, at) : at;
  }

  /** Copies the bytes it refers to, which were lent by the read buffer. */
  own(): void {
    const data = Buffer.from(this.data.subarray(0, this.end));
    this.data = data;
    this.lines.rebase(data);
    this.transferEncoding?.rebase(data);
  }

  /** The header lines as name, value pairs (for node:http). */
  headers(): string[] {
    return this.transferEncoding ? [...this.lines.pairs(), ...this.transferEncoding.pairs()] : this.lines.pairs();
  }
}

/**
 * Reads the response head at the start of `data`: a final head; for a 1xx, the offset after it
 * (the real head follows); or -1 while the head is incomplete. Throws MalformedResponse.
 */
export function readResponseHead(data: Buffer): ResponseHead | number {
  const nl = data.indexOf(10);
  if (nl === -1) return -1;
  const lineEnd = data[nl - 1] === 13 ? nl - 1 : nl;
  const minor = data[7];
  if (lineEnd < 12 || !isHttp1At(data, 0) || (minor !== 48 && minor !== 49) || data[8] !== 32 || !isDigit(data[9]) || !isDigit(data[10]) || !isDigit(data[11]) || (lineEnd > 12 && data[12] !== 32)) throw new MalformedResponse("bad status line");
  for (let i = 13; i < lineEnd; i++) {
    const b = data[i] as number;
    if (b < 32 ? b !== 9 : b === 127) throw new MalformedResponse("bad reason phrase");
  }
  const code = ((data[9] as number) - 48) * 100 + ((data[10] as number) - 48) * 10 + ((data[11] as number) - 48);
  if (code < 100) throw new MalformedResponse("bad status line");
  if (code === 101) throw new MalformedResponse("101 to a request without Upgrade");
  const scan = scanner.scan(data, nl + 1);
  if (scan === Scan.Incomplete) return -1;
  if (scan !== Scan.Done) throw new MalformedResponse("bad header");
  const end = scanner.end;
  if (code < 200) return end;
  // Framing first: Transfer-Encoding decides whether Content-Length lines are passed on.
  const count = scanner.count;
  let length = -1;
  let te = false;
  let chunked = false;
  let hasDate = false;
  let close = minor === 48;
  for (let f = 0; f < count; f++) {
    const valueStart = scanner.valueStart(f);
    const valueEnd = scanner.valueEnd(f);
    switch (scanner.field(f)) {
      case Field.Connection:
        if (equalsIgnoringCase(data, valueStart, valueEnd, KEEP_ALIVE)) {
          if (minor === 48) close = false;
        } else {
          const tokens = data.toString("latin1", valueStart, valueEnd).toLowerCase();
          if (tokens.includes("close")) close = true;
          else if (minor === 48 && tokens.includes("keep-alive")) close = false;
        }
        break;
      case Field.ContentLength: {
        const n = decimal(data, valueStart, valueEnd);
        if (n === -1) throw new MalformedResponse("bad Content-Length");
        if (length !== -1 && length !== n) throw new MalformedResponse("conflicting Content-Length");
        length = n;
        break;
      }
      case Field.TransferEncoding:
        te = true;
        chunked = /(^|,)\s*chunked\s*$/i.test(data.toString("latin1", valueStart, valueEnd));
        break;
      case Field.Date:
        hasDate = true;
        break;
    }
  }
  const lines = new Lines(data);
  let transferEncoding: Lines | undefined;
  for (let f = 0; f < count; f++) {
    const field = scanner.field(f);
    if (isHopByHop(field) || (field === Field.ContentLength && te)) continue;
    const start = scanner.lineStart(f);
    const contentEnd = scanner.contentEnd(f);
    const crlf = data[contentEnd] === 13;
    if (field !== Field.TransferEncoding) lines.keep(start, contentEnd, crlf);
    else if (chunked) (transferEncoding ??= new Lines(data)).keep(start, contentEnd, crlf);
    // A coding other than chunked ends with the connection; the client side frames it anew.
  }
  return new ResponseHead(data, end, code, 9, lineEnd, lines, transferEncoding, hasDate, length, te, chunked, close);
}

const isDigit = (b: number | undefined): boolean => b !== undefined && b >= 48 && b <= 57;

/** The decimal number in data[start, end), or -1 when it is not one (or has more than 15 digits). */
function decimal(data: Buffer, start: number, end: number): number {
  if (end <= start || end - start > 15) return -1;
  let n = 0;
  for (let i = start; i < end; i++) {
    const b = data[i] as number;
    if (b < 48 || b > 57) return -1;
    n = n * 10 + (b - 48);
  }
  return n;
}
