/**
 * Schema of the Logs engine's own SQLite file (data-dir/logs.db), as ordered migrations; a
 * migration never changes once released. Groups are keyed by region + account + name; streams
 * and events point at them by integer id. Events are append-only rows whose AUTOINCREMENT id
 * is never reused, so an event's id (and the eventId built from it) is stable for its life.
 *
 * Term search (logs-fts.ts): `log_blocks` groups up to 64 consecutive events of one batch (one
 * stream, contiguous ids first_id..last_id) and `log_blocks_fts` is a contentless trigram FTS5
 * index of each block's messages, without positions (detail=none), keyed by the block's
 * first_id. Blocks and their index rows are deleted with their events. A block enters the FTS
 * table after its events are stored (`indexed` = 0 until then), so a burst is visible before
 * it is indexed.
 */
import type Database from "better-sqlite3";

/** The connection as the statement modules see it: cached statements and transactions. */
export interface LogsSql {
  sql(text: string): Database.Statement;
  tx<T>(fn: () => T): T;
}

export const LOGS_MIGRATIONS: readonly string[] = [
  `CREATE TABLE log_groups (
     id INTEGER PRIMARY KEY,
     region TEXT NOT NULL,
     account TEXT NOT NULL,
     name TEXT NOT NULL,
     created INTEGER NOT NULL,
     retention INTEGER,
     tags TEXT NOT NULL DEFAULT '{}',
     UNIQUE (region, account, name)
   );
   CREATE TABLE log_streams (
     id INTEGER PRIMARY KEY,
     group_id INTEGER NOT NULL REFERENCES log_groups (id),
     name TEXT NOT NULL,
     created INTEGER NOT NULL,
     first_event INTEGER,
     last_event INTEGER,
     last_ingestion INTEGER,
     stored_bytes INTEGER NOT NULL DEFAULT 0,
     sequence INTEGER NOT NULL DEFAULT 0,
     UNIQUE (group_id, name)
   );
   CREATE INDEX log_streams_last_event ON log_streams (group_id, COALESCE(last_event, -1), name);
   CREATE TABLE log_events (
     id INTEGER PRIMARY KEY AUTOINCREMENT,
     stream_id INTEGER NOT NULL,
     group_id INTEGER NOT NULL,
     timestamp INTEGER NOT NULL,
     ingestion INTEGER NOT NULL,
     message TEXT NOT NULL
   );
   CREATE INDEX log_events_group_time ON log_events (group_id, timestamp, id);
   CREATE INDEX log_events_stream_time ON log_events (stream_id, timestamp, id);
   CREATE TABLE log_blocks (
     first_id INTEGER PRIMARY KEY,
     last_id INTEGER NOT NULL,
     group_id INTEGER NOT NULL,
     stream_id INTEGER NOT NULL,
     min_ts INTEGER NOT NULL,
     max_ts INTEGER NOT NULL
   );
   CREATE INDEX log_blocks_group ON log_blocks (group_id, max_ts);
   CREATE INDEX log_blocks_stream ON log_blocks (stream_id);
   CREATE VIRTUAL TABLE log_blocks_fts USING fts5 (
     text, content = '', contentless_delete = 1, tokenize = 'trigram', detail = none
   );`,
  `CREATE TABLE log_sources (
     source TEXT PRIMARY KEY,
     cursor_time INTEGER NOT NULL,
     cursor_count INTEGER NOT NULL
   );`,
  // Blocks are written at ingest and put in the term index later (logs-fts.ts): 0 until then.
  `ALTER TABLE log_blocks ADD COLUMN indexed INTEGER NOT NULL DEFAULT 1;
   CREATE INDEX log_blocks_pending ON log_blocks (first_id) WHERE indexed = 0;`,
];
