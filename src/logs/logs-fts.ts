/**
 * The term index. Events are indexed in blocks: up to BLOCK_EVENTS consecutive events of one
 * PutLogEvents batch (so one stream, contiguous row ids) become one row of a trigram FTS5 table
 * that keeps no positions (detail=none). That costs a fraction of indexing every message with
 * positions, which is what lets ingestion stay above 50,000 events/s, and it still answers
 * "which events may contain this substring": a block holds every trigram of every message in it.
 * The index only narrows; callers always confirm each candidate event with the filter pattern.
 *
 * Ingest only records each block (`log_blocks`, `indexed` = 0); `indexPendingBlocks` puts blocks
 * into the FTS table later, from their events, so indexing is off the write path of a burst.
 * Readers treat a pending block as a candidate for every query, so results never depend on it.
 */
import type { LogsSql } from "./logs-schema.ts";

export const BLOCK_EVENTS = 64;
const BLOCK_CHARS = 32_768;
/** Trigrams looked up per term; any subset still selects a superset of the matches. */
const MAX_TRIGRAMS_PER_TERM = 12;

interface Block {
  firstId: number;
  lastId: number;
  minTimestamp: number;
  maxTimestamp: number;
  events: number;
}

/** Collects a batch's events into blocks as they are inserted, recording each block when full. */
export class BlockWriter {
  private block: Block | undefined;
  private chars = 0;

  constructor(
    private readonly db: LogsSql,
    private readonly groupId: number,
    private readonly streamId: number,
  ) {}

  add(id: number, timestamp: number, message: string): void {
    const b = this.block;
    if (!b) {
      this.block = { firstId: id, lastId: id, minTimestamp: timestamp, maxTimestamp: timestamp, events: 1 };
    } else {
      b.lastId = id;
      b.minTimestamp = Math.min(b.minTimestamp, timestamp);
      b.maxTimestamp = Math.max(b.maxTimestamp, timestamp);
      b.events++;
    }
    this.chars += message.length;
    if (this.block!.events >= BLOCK_EVENTS || this.chars >= BLOCK_CHARS) this.flush();
  }

  /** Blocks written so far (each waits for the index). */
  written = 0;

  /* in: the open block; out: one pending log_blocks row keyed by the block's first event id. */
  flush(): void {
    const b = this.block;
    if (!b) return;
    this.db
      .sql("INSERT INTO log_blocks (first_id, last_id, group_id, stream_id, min_ts, max_ts, indexed) VALUES (?, ?, ?, ?, ?, ?, 0)")
      .run(b.firstId, b.lastId, this.groupId, this.streamId, b.minTimestamp, b.maxTimestamp);
    this.block = undefined;
    this.chars = 0;
    this.written++;
  }
}

/* in: up to `max` pending blocks, oldest first; out: their FTS rows, built from their events, and indexed = 1. Returns how many. */
export function indexPendingBlocks(db: LogsSql, max: number): number {
  return db.tx(() => {
    const blocks = db.sql("SELECT first_id AS first, last_id AS last FROM log_blocks WHERE indexed = 0 ORDER BY first_id LIMIT ?").all(max) as {
      first: number;
      last: number;
    }[];
    const messages = db.sql("SELECT message FROM log_events WHERE id BETWEEN ? AND ? ORDER BY id").pluck();
    for (const b of blocks) {
      db.sql("INSERT INTO log_blocks_fts (rowid, text) VALUES (?, ?)").run(b.first, (messages.all(b.first, b.last) as string[]).join("\n"));
      db.sql("UPDATE log_blocks SET indexed = 1 WHERE first_id = ?").run(b.first);
    }
    return blocks.length;
  });
}

export function pendingBlockCount(db: LogsSql): number {
  return (db.sql("SELECT count(*) AS n FROM log_blocks WHERE indexed = 0").get() as { n: number }).n;
}

/* in: the blocks selected by `where` (SQL over log_blocks, with its parameters); removes them and their index rows. */
export function deleteBlocks(db: LogsSql, where: string, ...params: unknown[]): void {
  db.sql(`DELETE FROM log_blocks_fts WHERE rowid IN (SELECT first_id FROM log_blocks WHERE indexed = 1 AND ${where})`).run(...params);
  db.sql(`DELETE FROM log_blocks WHERE ${where}`).run(...params);
}

/**
 * A filter pattern's `ftsQuery` (double-quoted strings, `""` escaping a quote, joined by AND /
 * OR) rewritten for the block index: each string becomes the AND of some of its trigrams, the
 * operators stay. Undefined when the query has any other shape or a string shorter than three
 * characters; the caller then scans.
 */
export function trigramQuery(ftsQuery: string): string | undefined {
  const token = /\s*(?:"((?:[^"]|"")*)"|(AND|OR)\b)/y;
  const out: string[] = [];
  let expectTerm = true;
  let at = 0;
  while (at < ftsQuery.length) {
    token.lastIndex = at;
    const m = token.exec(ftsQuery);
    if (!m) return ftsQuery.slice(at).trim() === "" && !expectTerm ? out.join(" ") : undefined;
    at = token.lastIndex;
    if (m[1] !== undefined) {
      if (!expectTerm) return undefined;
      const grams = trigramsOf(m[1].replaceAll('""', '"'));
      if (grams.length === 0) return undefined;
      out.push(`(${grams.map((g) => `"${g.replaceAll('"', '""')}"`).join(" AND ")})`);
    } else {
      if (expectTerm) return undefined;
      out.push(m[2]!);
    }
    expectTerm = !expectTerm;
  }
  return expectTerm ? undefined : out.join(" ");
}

function trigramsOf(term: string): string[] {
  const chars = [...term];
  const count = chars.length - 2;
  if (count < 1) return [];
  const picks = new Set<string>();
  const step = Math.max(1, (count - 1) / (MAX_TRIGRAMS_PER_TERM - 1));
  for (let k = 0; k < count && picks.size < MAX_TRIGRAMS_PER_TERM; k += step) {
    const i = Math.round(k);
    picks.add(chars.slice(i, i + 3).join(""));
  }
  picks.add(chars.slice(count - 1).join(""));
  return [...picks];
}
