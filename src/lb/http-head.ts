/**
 * HTTP/1.1 heads as bytes, for the proxy's fast paths (http-front.ts reads request heads,
 * upstream-client.ts response heads): one pass over a head's header lines that checks their
 * syntax and says where each field is, which fields are whose (hop-by-hop, framing, ALB's own
 * X-Forwarded-*), and runs of lines to pass on as received. A head sent on is assembled from
 * the bytes that came in, without a string per header: that string work was most of what the
 * proxy's own code cost per request. Pure; no I/O.
 */

/** What a header field is to the proxy. */
export const Field = {
  Other: 0,
  Host: 1,
  ContentLength: 2,
  TransferEncoding: 3,
  Connection: 4,
  /** Belongs to one connection: never passed on (Keep-Alive, TE, Trailer, Proxy-*). */
  HopByHop: 5,
  Upgrade: 6,
  Expect: 7,
  ForwardedFor: 8,
  /** X-Forwarded-Proto and -Port: ALB sets its own. */
  ForwardedOwn: 9,
  TraceId: 10,
  Date: 11,
} as const;
export type Field = (typeof Field)[keyof typeof Field];

const FIELD_NAMES = new Map<string, Field>(
  Object.entries({
    host: Field.Host,
    "content-length": Field.ContentLength,
    "transfer-encoding": Field.TransferEncoding,
    connection: Field.Connection,
    "keep-alive": Field.HopByHop,
    "proxy-connection": Field.HopByHop,
    te: Field.HopByHop,
    trailer: Field.HopByHop,
    "proxy-authenticate": Field.HopByHop,
    "proxy-authorization": Field.HopByHop,
    upgrade: Field.Upgrade,
    expect: Field.Expect,
    "x-forwarded-for": Field.ForwardedFor,
    "x-forwarded-proto": Field.ForwardedOwn,
    "x-forwarded-port": Field.ForwardedOwn,
    "x-amzn-trace-id": Field.TraceId,
    date: Field.Date,
  }),
);

/** The known names by length, as lowercase byte codes, for the byte path. */
const BY_LENGTH: { codes: number[]; field: Field }[][] = [];
for (const [name, field] of FIELD_NAMES) {
  (BY_LENGTH[name.length] ??= []).push({ codes: codesOf(name), field });
}

/** Fields that belong to one connection, never passed on. */
export const isHopByHop = (field: Field): boolean => field === Field.Connection || field === Field.HopByHop || field === Field.Upgrade;

/** The field a lowercase header name is. */
export function fieldOfName(lower: string): Field {
  return FIELD_NAMES.get(lower) ?? Field.Other;
}

/** The field the name in data[start, end) is, ignoring case; the bytes must be a token (see scan). */
export function fieldAt(data: Buffer, start: number, end: number): Field {
  const known = BY_LENGTH[end - start];
  if (known === undefined) return Field.Other;
  for (const { codes, field } of known) if (equalsIgnoringCase(data, start, end, codes)) return field;
  return Field.Other;
}

/**
 * Whether data[start, end) is `lower` (byte codes of lowercase letters, digits and "-") in any
 * case. OR-ing 0x20 folds A-Z onto a-z; the only other bytes it maps onto those codes are
 * control bytes, which scanned names and values never hold.
 */
export function equalsIgnoringCase(data: Buffer, start: number, end: number, lower: number[]): boolean {
  if (end - start !== lower.length) return false;
  for (let i = 0; i < lower.length; i++) if (((data[start + i] as number) | 0x20) !== lower[i]) return false;
  return true;
}

/** Byte codes of a lowercase text, for `equalsIgnoringCase`. */
export function codesOf(lower: string): number[] {
  return [...lower].map((c) => c.charCodeAt(0));
}

export const KEEP_ALIVE = codesOf("keep-alive");
export const CLOSE = codesOf("close");
/** "HTTP/1.": how a request line's version and a status line begin. */
const HTTP_1 = codesOf("HTTP/1.");

/** Whether data holds "HTTP/1." at `at`. */
export function isHttp1At(data: Buffer, at: number): boolean {
  if (at + HTTP_1.length > data.length) return false;
  for (let i = 0; i < HTTP_1.length; i++) if (data[at + i] !== HTTP_1[i]) return false;
  return true;
}

/** tchar of RFC 9110, by byte. */
export const TOKEN_BYTE = new Uint8Array(256);
for (const c of "!#$%&'*+-.^_`|~0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz") TOKEN_BYTE[c.charCodeAt(0)] = 1;

/** What `HeadScanner.scan` found. */
export const Scan = { Done: 0, Incomplete: 1, Malformed: 2, TooMany: 3 } as const;
export type Scan = (typeof Scan)[keyof typeof Scan];

/** Per field, five offsets into the head: line start, colon, value start, value end (both trimmed of spaces and tabs), line content end (before CR LF or LF). */
const STRIDE = 5;

/**
 * Scans the header lines of a head up to and including the empty line that ends it. Each line
 * must be `token ":" value` with no control byte in the value but HTAB (so obs-fold, a bare CR or
 * NUL is malformed). Offsets and fields are kept in reusable arrays: read them before the next scan.
 */
export class HeadScanner {
  private offsets: Int32Array;
  private fields: Uint8Array;
  /** Fields found by the last scan. */
  count = 0;
  /** After a Done scan: the offset just past the empty line. */
  end = 0;
  /** Whether some line of the last scan ended with a bare LF. */
  bareLf = false;

  constructor(readonly maxFields: number) {
    this.offsets = new Int32Array(maxFields * STRIDE);
    this.fields = new Uint8Array(maxFields);
  }

  scan(data: Buffer, from: number): Scan {
    const o = this.offsets;
    const length = data.length;
    let pos = from;
    let n = 0;
    this.bareLf = false;
    for (;;) {
      if (pos >= length) return Scan.Incomplete;
      const first = data[pos] as number;
      if (first === 10 || first === 13) {
        if (first === 10) this.bareLf = true;
        else if (pos + 1 >= length) return Scan.Incomplete;
        else if (data[pos + 1] !== 10) return Scan.Malformed;
        this.count = n;
        this.end = pos + (first === 10 ? 1 : 2);
        return Scan.Done;
      }
      let i = pos;
      while (i < length && TOKEN_BYTE[data[i] as number] === 1) i++;
      if (i >= length) return Scan.Incomplete;
      if (i === pos || data[i] !== 58) return Scan.Malformed; // no name, or a byte no name has (obs-fold starts with one)
      const colon = i++;
      while (i < length && (data[i] === 32 || data[i] === 9)) i++;
      const valueStart = i;
      let b = 0;
      while (i < length && (b = data[i] as number) !== 10) {
        if (b < 32 ? b !== 9 && (b !== 13 || (i + 1 < length && data[i + 1] !== 10)) : b === 127) return Scan.Malformed;
        i++;
      }
      if (i >= length) return Scan.Incomplete;
      const contentEnd = data[i - 1] === 13 && i - 1 >= colon ? i - 1 : i;
      if (contentEnd === i) this.bareLf = true;
      let valueEnd = contentEnd;
      while (valueEnd > valueStart && (data[valueEnd - 1] === 32 || data[valueEnd - 1] === 9)) valueEnd--;
      if (n === this.maxFields) return Scan.TooMany;
      const at = n * STRIDE;
      o[at] = pos;
      o[at + 1] = colon;
      o[at + 2] = valueStart;
      o[at + 3] = valueEnd;
      o[at + 4] = contentEnd;
      this.fields[n] = fieldAt(data, pos, colon);
      n++;
      pos = i + 1;
    }
  }

  lineStart(field: number): number {
    return this.offsets[field * STRIDE] as number;
  }

  nameEnd(field: number): number {
    return this.offsets[field * STRIDE + 1] as number;
  }

  valueStart(field: number): number {
    return this.offsets[field * STRIDE + 2] as number;
  }

  valueEnd(field: number): number {
    return this.offsets[field * STRIDE + 3] as number;
  }

  contentEnd(field: number): number {
    return this.offsets[field * STRIDE + 4] as number;
  }

  /** What field `field` is. */
  field(field: number): Field {
    return this.fields[field] as Field;
  }
}

/**
 * Copies data[start, end) into `out` at `at`; returns the offset after it. A short run goes byte
 * by byte: Buffer#copy of part of a buffer makes a new view on every call.
 */
export function copyBytes(data: Buffer, start: number, end: number, out: Buffer, at: number): number {
  if (end - start > 128) return at + data.copy(out, at, start, end);
  for (let i = start; i < end; i++) out[at++] = data[i] as number;
  return at;
}

/**
 * Lines of a head to pass on as received: byte ranges of line contents, each sent followed by
 * CR LF. A line kept right after a kept line that ended in CR LF joins its range, so a head
 * with nothing dropped is one range. The first range is held inline (no array for most heads).
 */
export class Lines {
  private start0 = -1;
  private end0 = 0;
  /** Ranges after the first, as start, end pairs. */
  private more: number[] | undefined;
  /** Where a line would have to start to join the last range; -1 when none can. */
  private open = -1;
  /** The bytes `copyTo` writes. */
  size = 0;

  constructor(private data: Buffer) {}

  /** The same lines in a copy of the bytes (at the same offsets). */
  rebase(data: Buffer): void {
    this.data = data;
  }

  /** Keeps the line data[start, contentEnd); `crlf` says it ended with CR LF. */
  keep(start: number, contentEnd: number, crlf: boolean): void {
    const more = this.more;
    if (start === this.open) {
      if (more === undefined) {
        this.size += contentEnd - this.end0;
        this.end0 = contentEnd;
      } else {
        this.size += contentEnd - (more[more.length - 1] as number);
        more[more.length - 1] = contentEnd;
      }
    } else {
      if (this.start0 === -1) {
        this.start0 = start;
        this.end0 = contentEnd;
      } else if (more === undefined) this.more = [start, contentEnd];
      else more.push(start, contentEnd);
      this.size += contentEnd - start + 2;
    }
    this.open = crlf ? contentEnd + 2 : -1;
  }

  get empty(): boolean {
    return this.start0 === -1;
  }

  /** Writes the kept lines into `out` at `at`; returns the offset after them. */
  copyTo(out: Buffer, at: number): number {
    if (this.start0 === -1) return at;
    at = copyLine(this.data, this.start0, this.end0, out, at);
    const more = this.more;
    if (more !== undefined) for (let i = 0; i < more.length; i += 2) at = copyLine(this.data, more[i] as number, more[i + 1] as number, out, at);
    return at;
  }

  /** The kept lines as name, value pairs (for node:http). */
  pairs(): string[] {
    const out: string[] = [];
    if (this.start0 === -1) return out;
    const ranges = [this.start0, this.end0, ...(this.more ?? [])];
    for (let i = 0; i < ranges.length; i += 2) {
      for (const line of this.data.toString("latin1", ranges[i] as number, ranges[i + 1] as number).split("\r\n")) {
        const colon = line.indexOf(":");
        out.push(line.slice(0, colon), line.slice(colon + 1).replace(/^[ \t]+|[ \t]+$/g, ""));
      }
    }
    return out;
  }
}

/** copyBytes, then CR LF. */
export function copyLine(data: Buffer, start: number, end: number, out: Buffer, at: number): number {
  at = copyBytes(data, start, end, out, at);
  out[at++] = 13;
  out[at++] = 10;
  return at;
}
