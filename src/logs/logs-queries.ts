/**
 * Logs Insights queries: the events a query reads (streamed off the group-time index, one group
 * after another, never loaded whole) and the book of recent queries. Queries run to completion
 * when started (they are small here); the book keeps the last QUERY_BOOK_SIZE in memory, so a
 * queryId from before a restart, or from long ago, is not found.
 */
import { BerthError, ErrorCode } from "../core/errors.ts";
import type { LogsScope, QueryResults, QueryStatus } from "../domain/logs.ts";
import type { InsightsEvent } from "./insights.ts";
import type { LogsSql } from "./logs-schema.ts";

export const QUERY_BOOK_SIZE = 100;

interface BookEntry {
  scope: LogsScope;
  results: QueryResults;
}

const queryNotFound = (): BerthError => new BerthError(ErrorCode.ResourceNotFound, "The specified query does not exist.");

export class QueryBook {
  private readonly entries = new Map<string, BookEntry>();

  constructor(private readonly capacity = QUERY_BOOK_SIZE) {}

  add(queryId: string, scope: LogsScope, status: QueryStatus): QueryResults {
    const results: QueryResults = { status, results: [], statistics: { recordsMatched: 0, recordsScanned: 0, bytesScanned: 0 } };
    this.entries.set(queryId, { scope, results });
    for (const oldest of this.entries.keys()) {
      if (this.entries.size <= this.capacity) break;
      this.entries.delete(oldest);
    }
    return results;
  }

  /** A query of this caller's region and account, else ResourceNotFound. */
  get(scope: LogsScope, queryId: string): QueryResults {
    const entry = this.entries.get(queryId);
    if (!entry || entry.scope.region !== scope.region || entry.scope.accountId !== scope.accountId) throw queryNotFound();
    return entry.results;
  }
}

export interface QueriedGroup {
  id: number;
  name: string;
}

/**
 * The groups' events with from ≤ timestamp ≤ to, newest first within each group, as Insights
 * reads them (`@log` is `<account>:<group>`). Adds each message's UTF-8 size to `scanned.bytes`.
 */
export function* eventsOfGroups(
  db: LogsSql,
  scope: LogsScope,
  groups: readonly QueriedGroup[],
  from: number,
  to: number,
  scanned: { bytes: number },
): Generator<InsightsEvent> {
  const stmt = db.sql(
    `SELECT e.timestamp, e.ingestion, e.message, s.name AS stream
     FROM log_events e INDEXED BY log_events_group_time JOIN log_streams s ON s.id = e.stream_id
     WHERE e.group_id = ? AND e.timestamp >= ? AND e.timestamp <= ?
     ORDER BY e.timestamp DESC, e.id DESC`,
  );
  for (const group of groups) {
    const logGroup = `${scope.accountId}:${group.name}`;
    const rows = stmt.iterate(group.id, from, to) as IterableIterator<{
      timestamp: number;
      ingestion: number;
      message: string;
      stream: string;
    }>;
    for (const row of rows) {
      scanned.bytes += Buffer.byteLength(row.message, "utf8");
      yield { timestamp: row.timestamp, message: row.message, logStream: row.stream, logGroup, ingestionTime: row.ingestion };
    }
  }
}
