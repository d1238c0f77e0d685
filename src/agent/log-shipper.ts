/**
 * The awslogs driver, done by the agent: follows a container's stdout and stderr through the
 * runtime, batches lines, ships them over the agent channel, and after every acknowledged
 * batch records how far it got in `<data-dir>/agent/logs/<container id>.json`. A restarted
 * agent resumes from that cursor, so lines are neither lost nor repeated across agent
 * restarts: each batch names its container and starting cursor, and the log engine stores
 * the source's cursor with the events, so a batch resent after a crash stores nothing twice.
 * While the server is away it buffers (bounded) and retries.
 */
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { type LogCursor, START_CURSOR, advanceCursor } from "../core/log-cursor.ts";
import type { Logger } from "../core/logger.ts";
import type { LogBatch, LogTarget } from "../protocol/agent-protocol.ts";
import type { Runtime } from "../runtime/runtime.ts";

const MAX_BATCH = 5_000;
const MAX_BUFFER = 200_000;
const FLUSH_MS = 200;

export class LogShipper {
  private readonly followers = new Map<string, AbortController>();

  constructor(
    private readonly runtime: Runtime,
    private readonly ship: (batches: LogBatch[]) => Promise<void>,
    private readonly dataDir: string,
    private readonly logger: Logger,
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

  private async run(containerId: string, target: LogTarget, signal: AbortSignal): Promise<void> {
    let cursor = this.readCursor(containerId) ?? START_CURSOR;
    // What an earlier run shipped is skipped by the cursor this follow resumed from; `cursor`
    // itself moves on as batches ship and must not be used for skipping.
    const resume = cursor;
    let seenAtResume = 0;
    const buffer: { timestamp: number; message: string }[] = [];
    let dropped = 0;
    let reading = true;
    const onLine = (_stream: "stdout" | "stderr", line: string, timeMs: number): void => {
      // Skip what an earlier run already shipped.
      if (timeMs < resume.time) return;
      if (timeMs === resume.time && seenAtResume++ < resume.count) return;
      if (buffer.length >= MAX_BUFFER) {
        dropped++;
        return;
      }
      buffer.push({ timestamp: timeMs, message: line.length === 0 ? " " : line });
    };
    const reader = this.runtime
      .logs(containerId, { follow: true, since: cursor.time, signal }, onLine)
      .catch((e: unknown) => this.logger.warn("log follow ended", { containerId, error: String(e) }))
      .finally(() => (reading = false));
    while (reading || buffer.length > 0) {
      if (buffer.length === 0) {
        await sleep(FLUSH_MS);
        continue;
      }
      const events = buffer.slice(0, MAX_BATCH);
      try {
        await this.ship([{ ...target, events, source: { key: containerId, from: cursor } }]);
      } catch (error) {
        // The server is away or refused: keep the lines and try again.
        this.logger.warn("log shipping failed; will retry", { containerId, error: String(error) });
        await sleep(1000);
        if (signal.aborted && !reading) return;
        continue;
      }
      buffer.splice(0, events.length);
      cursor = advanceCursor(cursor, events);
      this.writeCursor(containerId, cursor);
      if (dropped > 0) {
        this.logger.warn("log buffer full; lines dropped", { containerId, dropped });
        dropped = 0;
      }
    }
    await reader;
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
