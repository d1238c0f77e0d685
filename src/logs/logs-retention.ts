/**
 * Deleting events: a whole stream or group at once (inside the caller's transaction, index
 * blocks included), and retention: a group's events older than its retention, oldest first,
 * in batches that are each one transaction, so a large expiry never holds the writer for long.
 */
import { deleteBlocks } from "./logs-fts.ts";
import { DAY_MS } from "./logs-rules.ts";
import type { LogsSql } from "./logs-schema.ts";

export const RETENTION_BATCH = 5_000;

/* in: a stream id; removes its events, index blocks and row. Call inside a transaction. */
export function deleteStreamData(db: LogsSql, streamId: number): void {
  deleteBlocks(db, "stream_id = ?", streamId);
  db.sql("DELETE FROM log_events WHERE stream_id = ?").run(streamId);
  db.sql("DELETE FROM log_streams WHERE id = ?").run(streamId);
}

/* in: a group id; removes its events, index blocks, streams and row. Call inside a transaction. */
export function deleteGroupData(db: LogsSql, groupId: number): void {
  deleteBlocks(db, "group_id = ?", groupId);
  db.sql("DELETE FROM log_events WHERE group_id = ?").run(groupId);
  db.sql("DELETE FROM log_streams WHERE group_id = ?").run(groupId);
  db.sql("DELETE FROM log_groups WHERE id = ?").run(groupId);
}

/*
 * in: a group id and a cutoff (ms). Deletes up to RETENTION_BATCH of the group's events with
 * timestamp < cutoff, oldest first; lowers their streams' stored bytes and moves their first
 * event time. The last batch (fewer rows than the maximum) also drops the index blocks whose
 * events are all older than the cutoff. out: how many events were deleted.
 */
export function expireBatch(db: LogsSql, groupId: number, cutoff: number): number {
  return db.tx(() => {
    const rows = db
      .sql(
        `SELECT id, stream_id, length(CAST(message AS BLOB)) AS bytes FROM log_events
         WHERE group_id = ? AND timestamp < ? ORDER BY timestamp, id LIMIT ?`,
      )
      .all(groupId, cutoff, RETENTION_BATCH) as { id: number; stream_id: number; bytes: number }[];
    const remove = db.sql("DELETE FROM log_events WHERE id = ?");
    const freed = new Map<number, number>();
    for (const row of rows) {
      remove.run(row.id);
      freed.set(row.stream_id, (freed.get(row.stream_id) ?? 0) + row.bytes);
    }
    const update = db.sql(
      `UPDATE log_streams SET stored_bytes = max(stored_bytes - ?, 0),
         first_event = (SELECT min(timestamp) FROM log_events WHERE stream_id = log_streams.id)
       WHERE id = ?`,
    );
    for (const [streamId, bytes] of freed) update.run(bytes, streamId);
    if (rows.length < RETENTION_BATCH) deleteBlocks(db, "group_id = ? AND max_ts < ?", groupId, cutoff);
    return rows.length;
  });
}

/** Expires every group that has a retention; yields to the event loop between batches. */
export async function enforceRetention(db: LogsSql, now: number): Promise<number> {
  const groups = db.sql("SELECT id, retention FROM log_groups WHERE retention IS NOT NULL").all() as {
    id: number;
    retention: number;
  }[];
  let total = 0;
  for (const group of groups) {
    const cutoff = now - group.retention * DAY_MS;
    for (;;) {
      const deleted = expireBatch(db, group.id, cutoff);
      total += deleted;
      if (deleted < RETENTION_BATCH) break;
      await new Promise<void>((resolve) => setImmediate(resolve));
    }
  }
  return total;
}
