/**
 * The awslogs driver, done by the agent: follows a container's stdout and stderr through the
 * runtime, frames lines into events (one per line, or multi-line events with
 * awslogs-multiline-pattern / awslogs-datetime-format: see log-multiline.ts), batches them,
 * ships them over the agent channel, and after every acknowledged batch records how far it got
 * in `<data-dir>/agent/logs/<container id>.json`. A restarted agent resumes from that cursor, so
 * events are neither lost, repeated nor split across agent restarts: each batch names its
 * container and the event cursor it starts at, and the log engine stores the source's cursor
 * with the events, so a batch resent after a crash stores nothing twice. While the server is
 * away it buffers up to a bound, then pauses reading (Docker's log file keeps the lines) and
 * retries; nothing is dropped.
 *
 * Two cursors (core/log-cursor.ts), saved together at an event boundary: `line` counts the
 * container's lines (where reading resumes), `events` counts the events shipped from them
 * (what the engine compares). With one event per line they are equal; older cursor files hold
 * only the line cursor, and were written when they always were.
 */
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { type LogCursor, START_CURSOR, advanceCursor, nextCursor } from "../core/log-cursor.ts";
import type { Logger } from "../core/logger.ts";
import { Wake } from "../core/wake.ts";
import type { LogBatch, LogTarget } from "../protocol/agent-protocol.ts";
import type { Runtime } from "../runtime/runtime.ts";
import { type AssembledEvent, DEFAULT_LIMITS, EventAssembler, type FramingLimits, compileGoPattern, multilineOptions } from "./log-multiline.ts";

/** How long an idle shipper waits before it looks again when no line wakes it (a quiet multi-line event may be due). */
const FLUSH_MS = 200;
/**
 * Docker stamps stdout and stderr lines in two goroutines, so its file can step back in time by
 * a millisecond or two between them; PutLogEvents refuses a batch that is not chronological.
 * The shipper gives each line max(its time, the time before it), and a session re-reads from
 * this much before its cursor so those adjusted times come out the same again.
 */
const REORDER_WINDOW_MS = 1_000;
/** A trailing multi-line event is closed by the clock only after reading has been idle this long. */
const IDLE_MS = 500;

/**
 * An awslogs target as the task runner hands it to `follow`: the wire target plus the start
 * pattern's source (already converted from awslogs-datetime-format). The pattern travels
 * with the target through RunnerDeps.logs and is never shipped.
 */
export interface AwslogsTarget extends LogTarget {
  multilinePattern?: string;
}

export interface ShipperOptions {
  /** Events held in memory per container before reading pauses. */
  maxBuffer: number;
  /** Characters of event text held in memory per container before reading pauses. */
  maxBufferBytes: number;
  /** Events per shipped batch (the channel splits them further by PutLogEvents' limits). */
  maxBatch: number;
  /** The host clock, compared with the engine's line timestamps to close a quiet event. */
  now: () => number;
  /** How long an idle shipper waits when no line arrives; a line wakes it at once. */
  flushMs: number;
  framing: FramingLimits;
}

const DEFAULTS: ShipperOptions = { maxBuffer: 200_000, maxBufferBytes: 64 * 1024 * 1024, maxBatch: 10_000, now: () => Date.now(), flushMs: FLUSH_MS, framing: DEFAULT_LIMITS };

/** How far a container's output has shipped: both cursors at the end of the same event. */
interface ShipPosition {
  line: LogCursor;
  events: LogCursor;
}

type Buffered = AssembledEvent<LogCursor>;

export class LogShipper {
  private readonly followers = new Map<string, AbortController>();
  private readonly options: ShipperOptions;

  constructor(
    private readonly runtime: Runtime,
    private readonly ship: (batches: LogBatch[]) => Promise<void>,
    private readonly dataDir: string,
    private readonly logger: Logger,
    options: Partial<ShipperOptions> = {},
  ) {
    this.options = { ...DEFAULTS, ...options };
  }

  private cursorPath(containerId: string): string {
    return join(this.dataDir, "agent", "logs", `${containerId}.json`);
  }

  private readCursor(containerId: string): ShipPosition | undefined {
    const path = this.cursorPath(containerId);
    if (!existsSync(path)) return undefined;
    const saved = JSON.parse(readFileSync(path, "utf8")) as LogCursor & { events?: LogCursor };
    const line = { time: saved.time, count: saved.count };
    return { line, events: saved.events ?? line };
  }

  private writeCursor(containerId: string, position: ShipPosition): void {
    const path = this.cursorPath(containerId);
    mkdirSync(join(this.dataDir, "agent", "logs"), { recursive: true });
    // The line cursor stays at the top level, where agents before multi-line events read it.
    writeFileSync(`${path}.tmp`, JSON.stringify({ ...position.line, events: position.events }));
    renameSync(`${path}.tmp`, path);
  }

  /** Follows a container's output until it stops; a second call for the same container is ignored. */
  follow(containerId: string, target: AwslogsTarget): void {
    if (this.followers.has(containerId)) return;
    const abort = new AbortController();
    this.followers.set(containerId, abort);
    void this.run(containerId, target, abort.signal).finally(() => this.followers.delete(containerId));
  }

  /** The container is gone for good: forget its cursor. */
  forget(containerId: string): void {
    this.followers.get(containerId)?.abort();
    rmSync(this.cursorPath(containerId), { force: true });
  }

  stop(): void {
    for (const abort of this.followers.values()) abort.abort();
  }

  private startPattern(containerId: string, source: string | undefined): RegExp | undefined {
    if (!source) return undefined;
    try {
      return compileGoPattern(source);
    } catch (error) {
      // The runner refuses such a task before it starts; an adopted one ships line by line.
      this.logger.warn("invalid multiline pattern; shipping one event per line", { containerId, error: String(error) });
      return undefined;
    }
  }

  /**
   * Reads in sessions: each follows the container from the end of the last event taken into
   * the buffer, with a fresh assembler (an event boundary frames the rest the same way). When
   * the buffer is full the session is ended and a new one starts once half of it has shipped;
   * Docker's log file still holds the lines, so nothing is dropped and memory stays bounded
   * however long the server is away.
   */
  private async run(containerId: string, target: AwslogsTarget, signal: AbortSignal): Promise<void> {
    const { multilinePattern, ...wire } = target;
    const pattern = this.startPattern(containerId, multilinePattern);
    const buffer = new EventBuffer(this.readCursor(containerId) ?? { line: START_CURSOR, events: START_CURSOR }, this.options);
    const follow: Follow = { containerId, wire, pattern, signal, buffer, wake: new Wake() };
    for (;;) {
      const session = new AbortController();
      const onAbort = () => session.abort();
      signal.addEventListener("abort", onAbort, { once: true });
      const reading = this.read(follow, session);
      await this.shipWhileReading(follow, reading);
      await reading.done;
      signal.removeEventListener("abort", onAbort);
      // The container stopped (its stream ended) or the agent is stopping: done.
      if (!reading.full || signal.aborted) return;
    }
  }

  /**
   * Starts a reading session: lines already in events shipped or buffered are skipped, the
   * rest are framed into events and taken into the buffer until it is full, which pauses the
   * session (`full`, and `session` aborted). When the output ends its last event is taken.
   */
  private read(follow: Follow, session: AbortController): ReadingSession {
    const { containerId, buffer, wake, signal } = follow;
    const { now } = this.options;
    // Lines up to `resume` are in events shipped or buffered already; the position moves on
    // as lines are taken, so skipping compares with where this session started.
    const resume = buffer.readEnd;
    const assembler = new EventAssembler<LogCursor>(follow.pattern, this.options.framing);
    let position = resume;
    let seenAtResume = 0;
    let lastTime = -Infinity;
    const state = { assembler, lastLineAt: now(), full: false, reading: true };
    const onLine = (_stream: "stdout" | "stderr", line: string, engineTime: number): void => {
      const timeMs = Math.max(engineTime, lastTime);
      lastTime = timeMs;
      if (state.full || timeMs < resume.time) return;
      if (timeMs === resume.time && seenAtResume++ < resume.count) return;
      if (buffer.full) {
        // Pause: this line, the pending event's lines and what follows are read again.
        state.full = true;
        session.abort();
        return;
      }
      position = nextCursor(position, timeMs);
      state.lastLineAt = now();
      buffer.take(assembler.push(line, timeMs, position));
      // The loop resumes once the runtime's current chunk of lines is taken (a microtask).
      wake.signal();
    };
    const done = this.runtime
      .logs(containerId, { follow: true, since: Math.max(0, resume.time - REORDER_WINDOW_MS), signal: session.signal }, onLine)
      .catch((e: unknown) => this.logger.warn("log follow ended", { containerId, error: String(e) }))
      .finally(() => {
        state.reading = false;
        // The output ended (or could not be read further): its last event is complete.
        if (!state.full && !signal.aborted) buffer.take(assembler.flush());
        wake.signal();
      });
    return Object.assign(state, { done });
  }

  /**
   * Ships the buffer in batches while the session reads and until it is empty, or, when the
   * session paused on a full buffer, until it is half empty; saves the cursor after each
   * acknowledged batch. A failed batch is retried until the agent stops.
   */
  private async shipWhileReading(follow: Follow, reading: ReadingSession): Promise<void> {
    const { containerId, wire, buffer, wake, signal } = follow;
    const { now, flushMs, maxBatch } = this.options;
    while (reading.reading || buffer.events.length > 0) {
      if (reading.full && !reading.reading && buffer.halfEmpty) break;
      if (reading.reading && now() - reading.lastLineAt >= IDLE_MS) buffer.take(reading.assembler.due(now()));
      if (buffer.events.length === 0) {
        await wake.wait(flushMs);
        continue;
      }
      const events = buffer.events.slice(0, maxBatch);
      try {
        const batch = events.map((e) => ({ timestamp: e.timestamp, message: e.message }));
        await this.ship([{ ...wire, events: batch, source: { key: containerId, from: buffer.from } }]);
      } catch (error) {
        // The server is away or refused: keep the events and try again.
        this.logger.warn("log shipping failed; will retry", { containerId, error: String(error) });
        await sleep(1000);
        if (signal.aborted) break;
        continue;
      }
      const saved = buffer.shipped(events.length);
      if (saved) this.writeCursor(containerId, saved);
    }
  }
}

/** One container's shipping, across its reading sessions. */
interface Follow {
  containerId: string;
  wire: LogTarget;
  pattern: RegExp | undefined;
  /** The agent stops following the container. */
  signal: AbortSignal;
  buffer: EventBuffer;
  /** Signalled when lines are taken or reading ends, so an idle shipping loop looks again. */
  wake: Wake;
}

/** A reading session as the shipping loop sees it: the line callback and the runtime's end change it. */
interface ReadingSession {
  assembler: EventAssembler<LogCursor>;
  /** Host time of the last line taken; a pending event is closed by the clock after IDLE_MS of quiet. */
  lastLineAt: number;
  /** The buffer filled and the session paused: a new one starts once half of it has shipped. */
  full: boolean;
  /** The runtime may still deliver lines. */
  reading: boolean;
  /** Settles once the runtime has stopped delivering lines and the last event is taken. */
  done: Promise<void>;
}

/** A container's events read but not shipped yet, and the cursors on either side of them. */
class EventBuffer {
  readonly events: Buffered[] = [];
  private bytes = 0;
  /** The event cursor the next batch starts at (what the engine compares). */
  from: LogCursor;
  /** The line cursor after the last event taken (where a new reading session starts). */
  readEnd: LogCursor;

  constructor(
    start: ShipPosition,
    private readonly limits: { maxBuffer: number; maxBufferBytes: number },
  ) {
    this.from = start.events;
    this.readEnd = start.line;
  }

  take(events: readonly Buffered[]): void {
    for (const e of events) {
      this.events.push(e);
      this.bytes += e.message.length;
      if (e.end) this.readEnd = e.end;
    }
  }

  get full(): boolean {
    return this.events.length >= this.limits.maxBuffer || this.bytes >= this.limits.maxBufferBytes;
  }

  get halfEmpty(): boolean {
    return this.events.length <= this.limits.maxBuffer / 2 && this.bytes <= this.limits.maxBufferBytes / 2;
  }

  /**
   * The first `count` events are stored: drops them and returns where both cursors can be
   * saved, the end of the last of them that ends a line (a split line's leading parts do
   * not), or undefined if none does.
   */
  shipped(count: number): ShipPosition | undefined {
    const events = this.events.splice(0, count);
    let savedAt = -1;
    for (let i = 0; i < events.length; i++) {
      this.bytes -= events[i]!.message.length;
      if (events[i]!.end) savedAt = i;
    }
    if (savedAt < 0) {
      this.from = advanceCursor(this.from, events);
      return undefined;
    }
    const saved = { line: events[savedAt]!.end!, events: advanceCursor(this.from, events.slice(0, savedAt + 1)) };
    this.from = advanceCursor(saved.events, events.slice(savedAt + 1));
    return saved;
  }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

type LogConfiguration = { logDriver?: string; options?: Record<string, string> } | undefined;

/** The awslogs target of a container definition, or undefined when it logs elsewhere. */
export function awslogsTarget(definition: Record<string, unknown>, task: { region: string; taskId: string }): AwslogsTarget | undefined {
  const lc = definition["logConfiguration"] as LogConfiguration;
  if (lc?.logDriver !== "awslogs") return undefined;
  const options = lc.options ?? {};
  const group = options["awslogs-group"];
  if (!group) return undefined;
  const name = definition["name"] as string;
  const prefix = options["awslogs-stream-prefix"];
  const multiline = multilineOptions(options);
  return {
    region: options["awslogs-region"] ?? task.region,
    logGroup: group,
    logStream: prefix ? `${prefix}/${name}/${task.taskId}` : `${name}/${task.taskId}`,
    createGroup: options["awslogs-create-group"] === "true",
    ...(multiline.ok && multiline.source !== undefined ? { multilinePattern: multiline.source } : {}),
  };
}

/**
 * Why ECS would refuse to start a container with these awslogs options (the stopped reason),
 * or undefined when they are fine. The runner checks before preparing the stream.
 */
export function awslogsOptionsError(definition: Record<string, unknown>): string | undefined {
  const lc = definition["logConfiguration"] as LogConfiguration;
  if (lc?.logDriver !== "awslogs") return undefined;
  const multiline = multilineOptions(lc.options ?? {});
  return multiline.ok ? undefined : multiline.reason;
}
