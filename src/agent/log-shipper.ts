/**
 * The awslogs driver, done by the agent: follows a container's stdout and stderr through the
 * runtime, batches lines, ships them over the agent channel, and after every acknowledged
 * batch records how far it got in `<data-dir>/agent/logs/<container id>.json`. A restarted
 * agent resumes from that cursor, so lines are neither lost nor repeated across agent
 * restarts: each batch names its container and starting cursor, and the log engine stores
 * the source's cursor with the events, so a batch resent after a crash stores nothing twice.
 * While the server is away it buffers up to a bound, then pauses reading (Docker's log file
 * keeps the lines) and retries; nothing is dropped.
 */
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { type LogCursor, START_CURSOR, advanceCursor } from "../core/log-cursor.ts";
import type { Logger } from "../core/logger.ts";
import type { LogBatch, LogTarget } from "../protocol/agent-protocol.ts";
import type { Runtime } from "../runtime/runtime.ts";

const MAX_BATCH = 5_000;
const FLUSH_MS = 200;

export class LogShipper {
  private readonly followers = new Map<string, AbortController>();

  constructor(
    private readonly runtime: Runtime,
    private readonly ship: (batches: LogBatch[]) => Promise<void>,
    private readonly dataDir: string,
    private readonly logger: Logger,
    /** Lines held in memory per container before reading pauses. */
    private readonly maxBuffer = 200_000,
  ) {}

  private cursorPath(containerId: string): string {
    return join(this.dataDir, "agent", "logs", `${containerId}.json`);
  }

  private readCursor(containerId: string): LogCursor | undefined {
    const path = this.cursorPath(containerId);
    return existsSync(path) ? (JSON.parse(readFileSync(path, "utf8")) as LogCursor) : undefined;
  }

  private writeCursor(containerId: string, cursor: LogCursor): void {
    const path = this.cursorPath(containerId);
    mkdirSync(join(this.dataDir, "agent", "logs"), { recursive: true });
    writeFileSync(`${path}.tmp`, JSON.stringify(cursor));
    renameSync(`${path}.tmp`, path);
  }

  /** Follows a container's output until it stops; a second call for the same container is ignored. */
  follow(containerId: string, target: LogTarget): void {
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

  /**
   * Reads in sessions: each follows the container from the last line taken into the buffer.
   * When the buffer is full the session is ended and a new one starts once half of it has
   * shipped; Docker's log file still holds the lines, so nothing is dropped and memory stays
   * bounded however long the server is away.
   */
  private async run(containerId: string, target: LogTarget, signal: AbortSignal): Promise<void> {
    let shipped = this.readCursor(containerId) ?? START_CURSOR;
    let buffered = shipped;
    const buffer: { timestamp: number; message: string }[] = [];
    for (;;) {
      const session = new AbortController();
      const onAbort = () => session.abort();
      signal.addEventListener("abort", onAbort, { once: true });
      // Lines up to `resume` are shipped or buffered already; the cursor moves on as lines are
      // taken, so skipping compares with where this session started.
      const resume = buffered;
      let seenAtResume = 0;
      let full = false;
      let reading = true;
      const onLine = (_stream: "stdout" | "stderr", line: string, timeMs: number): void => {
        if (full || timeMs < resume.time) return;
        if (timeMs === resume.time && seenAtResume++ < resume.count) return;
        if (buffer.length >= this.maxBuffer) {
          // Pause: this line and what follows are read again by the next session.
          full = true;
          session.abort();
          return;
        }
        const event = { timestamp: timeMs, message: line.length === 0 ? " " : line };
        buffer.push(event);
        buffered = advanceCursor(buffered, [event]);
      };
      const reader = this.runtime
        .logs(containerId, { follow: true, since: resume.time, signal: session.signal }, onLine)
        .catch((e: unknown) => this.logger.warn("log follow ended", { containerId, error: String(e) }))
        .finally(() => (reading = false));
      while (reading || buffer.length > 0) {
        if (full && !reading && buffer.length <= this.maxBuffer / 2) break;
        if (buffer.length === 0) {
          await sleep(FLUSH_MS);
          continue;
        }
        const events = buffer.slice(0, MAX_BATCH);
        try {
          await this.ship([{ ...target, events, source: { key: containerId, from: shipped } }]);
        } catch (error) {
          // The server is away or refused: keep the lines and try again.
          this.logger.warn("log shipping failed; will retry", { containerId, error: String(error) });
          await sleep(1000);
          if (signal.aborted) break;
          continue;
        }
        buffer.splice(0, events.length);
        shipped = advanceCursor(shipped, events);
        this.writeCursor(containerId, shipped);
      }
      await reader;
      signal.removeEventListener("abort", onAbort);
      // The container stopped (its stream ended) or the agent is stopping: done.
      if (!full || signal.aborted) return;
    }
  }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** The awslogs target of a container definition, or undefined when it logs elsewhere. */
export function awslogsTarget(definition: Record<string, unknown>, task: { region: string; taskId: string }): LogTarget | undefined {
  const lc = definition["logConfiguration"] as { logDriver?: string; options?: Record<string, string> } | undefined;
  if (lc?.logDriver !== "awslogs") return undefined;
  const options = lc.options ?? {};
  const group = options["awslogs-group"];
  if (!group) return undefined;
  const name = definition["name"] as string;
  const prefix = options["awslogs-stream-prefix"];
  return {
    region: options["awslogs-region"] ?? task.region,
    logGroup: group,
    logStream: prefix ? `${prefix}/${name}/${task.taskId}` : `${name}/${task.taskId}`,
    createGroup: options["awslogs-create-group"] === "true",
  };
}
