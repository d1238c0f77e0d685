/**
 * When stored events enter the term index (logs-fts.ts): ingest records blocks as pending and
 * tells the indexer how many; the indexer puts them into the FTS table once batches pause for
 * `idleMs`, a slice at a time so other work runs between slices, or at once when more than
 * `maxPendingBlocks` wait, which bounds how much a filter must scan instead. Pending blocks are
 * rows in the file, so a reopened engine finds and indexes them.
 */
import { indexPendingBlocks, pendingBlockCount } from "./logs-fts.ts";
import type { LogsSql } from "./logs-schema.ts";

export interface IndexingOptions {
  /** Default 250. */
  idleMs?: number;
  /** Default 16,384 (about a million short lines). */
  maxPendingBlocks?: number;
}

/** Blocks indexed per step in the background. */
const INDEX_SLICE = 64;

export class TermIndexer {
  private readonly idleMs: number;
  private readonly maxPendingBlocks: number;
  /** Blocks waiting (may count some deleted since; recounted when it matters). */
  private pending: number;
  private lastWrite = 0;
  private timer: NodeJS.Timeout | undefined;
  private stopped = false;

  constructor(
    private readonly db: LogsSql,
    options: IndexingOptions = {},
  ) {
    this.idleMs = options.idleMs ?? 250;
    this.maxPendingBlocks = options.maxPendingBlocks ?? 16_384;
    this.pending = pendingBlockCount(db);
    if (this.pending > 0) this.arm(this.idleMs);
  }

  /** Blocks of stored events not in the term index yet. */
  get unindexed(): number {
    return pendingBlockCount(this.db);
  }

  /** Puts every pending block in the index now. */
  indexAll(): void {
    while (indexPendingBlocks(this.db, INDEX_SLICE) === INDEX_SLICE);
    this.pending = 0;
  }

  /* A batch was stored with `blocks` new pending blocks: index at once past the bound, else once writes pause. */
  wrote(blocks: number): void {
    this.lastWrite = performance.now();
    this.pending += blocks;
    const over = this.pending - this.maxPendingBlocks;
    if (over > 0) {
      const done = indexPendingBlocks(this.db, over);
      this.pending = done < over ? pendingBlockCount(this.db) : this.pending - done;
    }
    if (this.pending > 0) this.arm(this.idleMs);
  }

  /** No more indexing; what is pending stays recorded for the next open. */
  stop(): void {
    this.stopped = true;
    clearTimeout(this.timer);
  }

  private arm(delayMs: number): void {
    if (this.timer || this.stopped) return;
    this.timer = setTimeout(() => this.step(), delayMs);
    this.timer.unref();
  }

  private step(): void {
    this.timer = undefined;
    if (this.stopped) return;
    const quiet = performance.now() - this.lastWrite;
    if (quiet < this.idleMs) return this.arm(this.idleMs - quiet);
    const done = indexPendingBlocks(this.db, INDEX_SLICE);
    this.pending = done < INDEX_SLICE ? 0 : Math.max(0, this.pending - done);
    if (done === INDEX_SLICE) this.arm(0);
  }
}
