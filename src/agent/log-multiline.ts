/**
 * Multi-line log events for the awslogs driver (`awslogs-multiline-pattern`,
 * `awslogs-datetime-format`), framed as Docker's awslogs driver frames them: a line the
 * pattern matches (anywhere in the line, as Go's Regexp.Match) starts a new event; the lines
 * after it that do not match are appended, each line ending in "\n". Lines before the first
 * match gather into an event of their own. Without a pattern every line is its own event.
 * Any event is cut at CloudWatch's event size (a longer line is split into several events).
 *
 * Pure and deterministic: where an event ends depends only on the lines and their engine
 * timestamps (a match, the size limit, a gap of QUIET_MS between lines, or an event older than
 * MAX_AGE_MS), so reading the same output again from an event boundary frames it the same
 * way. That is what lets the shipper resume after a crash without splitting or repeating an
 * event. The clock enters only through `due(now)`, which closes a trailing event that no
 * further line can join once the output has been quiet for QUIET_MS.
 *
 * Never: reads the clock, touches I/O, or holds more than one pending event.
 */

/** CloudWatch's 256 KiB per event, less its 26 bytes of per-event overhead (as Docker). */
export const MAX_EVENT_BYTES = 262_144 - 26;

/**
 * A pending event closes once the output has been quiet this long, and never outlives
 * MAX_AGE_MS (Docker flushes a pending multi-line event on its 5 s batch tick).
 */
export const QUIET_MS = 2_000;
export const MAX_AGE_MS = 5_000;

export interface FramingLimits {
  maxEventBytes: number;
  quietMs: number;
  maxAgeMs: number;
}

export const DEFAULT_LIMITS: FramingLimits = { maxEventBytes: MAX_EVENT_BYTES, quietMs: QUIET_MS, maxAgeMs: MAX_AGE_MS };

/** One event for PutLogEvents, and where in the container's output it ends. */
export interface AssembledEvent<P> {
  /** The engine timestamp of the event's first line. */
  timestamp: number;
  message: string;
  /** The position after the event's last line; absent on all but the last part of a split line. */
  end?: P;
}

interface Pending<P> {
  first: number;
  last: number;
  parts: string[];
  bytes: number;
  end: P;
}

/**
 * Turns a container's lines into events. `P` is the caller's position type (the shipper's
 * line cursor); the assembler only carries it to say where each event ends.
 */
export class EventAssembler<P> {
  private pending: Pending<P> | undefined;

  constructor(
    private readonly pattern: RegExp | undefined,
    private readonly limits: FramingLimits = DEFAULT_LIMITS,
  ) {}

  /** Takes one line (without its newline); returns the events it completes, in order. */
  push(line: string, time: number, position: P): AssembledEvent<P>[] {
    if (!this.pattern) return this.single(line, time, position);
    const out: AssembledEvent<P>[] = [];
    const text = `${line}\n`;
    const bytes = Buffer.byteLength(text);
    const p = this.pending;
    if (p && (this.pattern.test(line) || p.bytes + bytes > this.limits.maxEventBytes || this.expired(p, time))) out.push(this.close());
    if (bytes > this.limits.maxEventBytes) {
      // A line longer than an event: its parts go out alone, without the newline (as Docker).
      out.push(...this.split(line, time, position));
      return out;
    }
    const open = this.pending;
    if (open) {
      open.parts.push(text);
      open.bytes += bytes;
      open.last = time;
      open.end = position;
    } else {
      this.pending = { first: time, last: time, parts: [text], bytes, end: position };
    }
    return out;
  }

  /** Closes the pending event if, at `now`, no line read later could still join it. */
  due(now: number): AssembledEvent<P>[] {
    const p = this.pending;
    // A clock that went backwards would hold the event forever: close it (as Docker).
    return p && (this.expired(p, now) || now < p.first) ? [this.close()] : [];
  }

  /** The output ended: closes the pending event. */
  flush(): AssembledEvent<P>[] {
    return this.pending ? [this.close()] : [];
  }

  /** When the pending event started, if there is one. */
  get pendingSince(): number | undefined {
    return this.pending?.first;
  }

  private expired(p: Pending<P>, time: number): boolean {
    return time - p.last >= this.limits.quietMs || time - p.first >= this.limits.maxAgeMs;
  }

  private close(): AssembledEvent<P> {
    const p = this.pending!;
    this.pending = undefined;
    return { timestamp: p.first, message: p.parts.join(""), end: p.end };
  }

  private single(line: string, time: number, position: P): AssembledEvent<P>[] {
    // Three UTF-8 bytes per UTF-16 unit at most: most lines need no byte count.
    if (line.length * 3 <= this.limits.maxEventBytes || Buffer.byteLength(line) <= this.limits.maxEventBytes) {
      return [{ timestamp: time, message: line.length === 0 ? " " : line, end: position }];
    }
    return this.split(line, time, position);
  }

  private split(line: string, time: number, position: P): AssembledEvent<P>[] {
    const parts = splitUtf8(line, this.limits.maxEventBytes);
    return parts.map((message, i) => (i === parts.length - 1 ? { timestamp: time, message, end: position } : { timestamp: time, message }));
  }
}

/** Cuts `text` into pieces of at most `maxBytes` UTF-8 bytes without splitting a character. */
export function splitUtf8(text: string, maxBytes: number): string[] {
  const parts: string[] = [];
  let start = 0;
  let bytes = 0;
  for (let i = 0; i < text.length; ) {
    const code = text.codePointAt(i)!;
    const units = code > 0xffff ? 2 : 1;
    const size = code < 0x80 ? 1 : code < 0x800 ? 2 : code < 0x10000 ? 3 : 4;
    if (bytes + size > maxBytes) {
      parts.push(text.slice(start, i));
      start = i;
      bytes = 0;
    }
    bytes += size;
    i += units;
  }
  if (start < text.length || parts.length === 0) parts.push(text.slice(start));
  return parts;
}

// ---- options ------------------------------------------------------------------------------

const DATETIME_FORMAT = "awslogs-datetime-format";
const MULTILINE_PATTERN = "awslogs-multiline-pattern";

/** Docker's strftime sequences for awslogs-datetime-format; any other `%x` matches nothing. */
const STRFTIME: Record<string, string> = {
  "%a": "(?:Mon|Tue|Wed|Thu|Fri|Sat|Sun)",
  "%A": "(?:Monday|Tuesday|Wednesday|Thursday|Friday|Saturday|Sunday)",
  "%w": "[0-6]",
  "%d": "(?:0[1-9]|[1,2][0-9]|3[0,1])",
  "%b": "(?:Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec)",
  "%B": "(?:January|February|March|April|May|June|July|August|September|October|November|December)",
  "%m": "(?:0[1-9]|1[0-2])",
  "%Y": "\\d{4}",
  "%y": "\\d{2}",
  "%H": "(?:[0,1][0-9]|2[0-3])",
  "%I": "(?:0[0-9]|1[0-2])",
  "%p": "[A,P]M",
  "%M": "[0-5][0-9]",
  "%S": "[0-5][0-9]",
  "%f": "\\d{6}",
  "%z": "[+-]\\d{4}",
  "%Z": "[A-Z]{1,4}T",
  "%j": "(?:0[0-9][1-9]|[1,2][0-9][0-9]|3[0-5][0-9]|36[0-6])",
  "%L": "\\.\\d{3}",
};

/** awslogs-datetime-format → the start pattern's source, as Docker converts it (text between sequences stays as written). */
export function strftimeToPattern(format: string): string {
  return format.replace(/%[\s\S]/g, (sequence) => STRFTIME[sequence] ?? "");
}

const POSIX_CLASSES: Record<string, string> = {
  alnum: "0-9A-Za-z",
  alpha: "A-Za-z",
  ascii: "\\x00-\\x7F",
  blank: "\\t ",
  cntrl: "\\x00-\\x1F\\x7F",
  digit: "0-9",
  graph: "!-~",
  lower: "a-z",
  print: " -~",
  punct: "!-/:-@[-`{-~",
  space: "\\t\\n\\v\\f\\r ",
  upper: "A-Z",
  word: "0-9A-Za-z_",
  xdigit: "0-9A-Fa-f",
};

/**
 * Compiles a Go (RE2) pattern as a JavaScript RegExp: leading flag groups such as `(?i)`
 * become flags, `(?P<name>` becomes `(?<name>`, `\A` and `\z` become `^` and `$`, and POSIX
 * classes (`[[:digit:]]`) are spelled out. Throws SyntaxError when it does not compile.
 */
export function compileGoPattern(source: string): RegExp {
  let body = source;
  let flags = "";
  const leading = /^\(\?([imsU]+)\)/.exec(body);
  if (leading) {
    body = body.slice(leading[0].length);
    for (const f of new Set(leading[1]!)) if (f !== "U") flags += f;
  }
  body = body
    .replace(/\(\?P</g, "(?<")
    .replace(/\\A/g, "^")
    .replace(/\\z/g, "$")
    .replace(/\[:(\^?)([a-z]+):\]/g, (whole, negated: string, name: string) => {
      const chars = POSIX_CLASSES[name];
      return chars === undefined || negated ? whole : chars;
    });
  return new RegExp(body, flags);
}

/** The start pattern's source awslogs options configure (for compileGoPattern); `undefined` when every line is its own event. */
export type MultilineOptions = { ok: true; source: string | undefined } | { ok: false; reason: string };

/**
 * Reads awslogs-datetime-format and awslogs-multiline-pattern. `reason` is what ECS reports
 * when Docker refuses the options: both given (Docker's option validation, when the container
 * is created) or a pattern that does not compile (the driver, when the container starts).
 */
export function multilineOptions(options: Readonly<Record<string, string>>): MultilineOptions {
  if (DATETIME_FORMAT in options && MULTILINE_PATTERN in options) {
    return {
      ok: false,
      reason: `CannotCreateContainerError: Error response from daemon: you cannot configure log opt '${DATETIME_FORMAT}' and '${MULTILINE_PATTERN}' at the same time`,
    };
  }
  const format = options[DATETIME_FORMAT];
  const source = format ? strftimeToPattern(format) : options[MULTILINE_PATTERN];
  if (!source) return { ok: true, source: undefined };
  try {
    compileGoPattern(source);
    return { ok: true, source };
  } catch (error) {
    return {
      ok: false,
      reason: `CannotStartContainerError: Error response from daemon: failed to create task for container: failed to initialize logging driver: awslogs could not parse multiline pattern key ${JSON.stringify(source)}: ${(error as Error).message}`,
    };
  }
}
