/**
 * Reading events: GetLogEvents (one stream, paged both ways by f/ and b/ tokens) and
 * FilterLogEvents (a group's streams interleaved by (timestamp, id), optionally narrowed by
 * the FTS index and always confirmed by the filter pattern). Reads walk an index in order and
 * stop at the page's end, so memory stays bounded by one page whatever the volume; the only
 * sort is over FTS candidates, and only when the term is rare (see ftsCandidates).
 */
import { compileFilterPattern } from "./filter-pattern.ts";
import type { CompiledFilter, Literals } from "./filter-syntax.ts";
import { trigramQuery } from "./logs-fts.ts";
import { EVENT_OVERHEAD_BYTES, MAX_BATCH_BYTES, pageLimit } from "./logs-rules.ts";
import type { LogsSql } from "./logs-schema.ts";
import {
  FIRST_KEY,
  LAST_KEY,
  eventIdOf,
  filterToken,
  parseFilterToken,
  parseStreamToken,
  streamToken,
  type Direction,
  type EventKey,
} from "./logs-tokens.ts";
import type { FilteredLogEvent, FilterLogEventsQuery, GetLogEventsQuery, OutputLogEvent } from "../domain/logs.ts";

const MAX_EVENTS = 10_000;
/** A term found in fewer index blocks than this drives the search; a commoner one scans the group. */
export const FTS_BLOCK_CAP = 1_000;

interface EventRow {
  id: number;
  timestamp: number;
  ingestion: number;
  message: string;
  stream_id: number;
}

/** Keys strictly between `after` and `before`. */
interface KeyRange {
  after: EventKey;
  before: EventKey;
}

const later = (a: EventKey, b: EventKey): EventKey =>
  a.timestamp > b.timestamp || (a.timestamp === b.timestamp && a.id > b.id) ? a : b;
const earlier = (a: EventKey, b: EventKey): EventKey => (later(a, b) === a ? b : a);
/** Row ids start at 1, so (t, 0) sits just before every event at t. */
const startOf = (timestamp: number): EventKey => ({ timestamp, id: 0 });
const rangeParams = (r: KeyRange) => ({ at: r.after.timestamp, aid: r.after.id, bt: r.before.timestamp, bid: r.before.id });
const eventSize = (message: string): number => Buffer.byteLength(message, "utf8") + EVENT_OVERHEAD_BYTES;

// --- GetLogEvents ---------------------------------------------------------------------------

export interface StreamPage {
  events: OutputLogEvent[];
  nextForwardToken: string;
  nextBackwardToken: string;
}

/*
 * in: a stream id and the query; startTime inclusive, endTime exclusive (AWS's GetLogEvents).
 * out: up to `limit` events (and at most 1 MB) in ascending order; without a token, the oldest
 * (startFromHead) or the newest page. A direction with nothing more returns the token given.
 */
export function readStream(db: LogsSql, streamId: number, q: GetLogEventsQuery): StreamPage {
  const limit = pageLimit(q.limit, MAX_EVENTS, MAX_EVENTS);
  const window: KeyRange = {
    after: q.startTime === undefined ? FIRST_KEY : startOf(q.startTime),
    before: q.endTime === undefined ? LAST_KEY : startOf(q.endTime),
  };
  const token = q.nextToken === undefined ? undefined : parseStreamToken(q.nextToken);
  const direction: Direction = token?.direction ?? (q.startFromHead === true ? "f" : "b");
  const range: KeyRange =
    direction === "f"
      ? { after: later(token?.key ?? FIRST_KEY, window.after), before: window.before }
      : { after: window.after, before: earlier(token?.key ?? LAST_KEY, window.before) };
  const rows = pageOfStream(db, streamId, range, direction, limit);
  const first = rows[0];
  const last = rows[rows.length - 1];
  if (first && last) {
    return {
      events: rows.map((r) => ({ timestamp: r.timestamp, message: r.message, ingestionTime: r.ingestion })),
      nextForwardToken: streamToken("f", last),
      nextBackwardToken: streamToken("b", first),
    };
  }
  if (token) {
    // Nothing more this way: the same token back (clients stop on it); the other way turns here.
    const given = q.nextToken!;
    const { timestamp, id } = token.key;
    return token.direction === "f"
      ? { events: [], nextForwardToken: given, nextBackwardToken: streamToken("b", { timestamp, id: id + 1 }) }
      : { events: [], nextForwardToken: streamToken("f", { timestamp, id: Math.max(id - 1, 0) }), nextBackwardToken: given };
  }
  const here = startOf(Math.max(q.startTime ?? 0, 0));
  return { events: [], nextForwardToken: streamToken("f", here), nextBackwardToken: streamToken("b", here) };
}

function pageOfStream(db: LogsSql, streamId: number, range: KeyRange, direction: Direction, limit: number): EventRow[] {
  const order = direction === "f" ? "ASC" : "DESC";
  const stmt = db.sql(
    `SELECT id, timestamp, ingestion, message, stream_id FROM log_events
     WHERE stream_id = @stream AND (timestamp, id) > (@at, @aid) AND (timestamp, id) < (@bt, @bid)
     ORDER BY timestamp ${order}, id ${order} LIMIT @limit`,
  );
  const rows: EventRow[] = [];
  let bytes = 0;
  for (const row of stmt.iterate({ stream: streamId, ...rangeParams(range), limit }) as IterableIterator<EventRow>) {
    bytes += eventSize(row.message);
    if (rows.length > 0 && bytes > MAX_BATCH_BYTES) break;
    rows.push(row);
  }
  return direction === "f" ? rows : rows.reverse();
}

// --- FilterLogEvents ------------------------------------------------------------------------

/** Where to search: a group, narrowed to some of its streams when `streamIds` is given. */
export interface FilterTarget {
  groupId: number;
  streamIds?: number[];
  streamName(id: number): string;
}

/*
 * in: the target and the query; startTime and endTime both inclusive. out: matching events in
 * (timestamp, id) order; nextToken only when another matching event exists after the page.
 */
export function filterEvents(
  db: LogsSql,
  target: FilterTarget,
  q: FilterLogEventsQuery,
): { events: FilteredLogEvent[]; nextToken?: string } {
  const limit = pageLimit(q.limit, MAX_EVENTS, MAX_EVENTS);
  const blank = q.filterPattern === undefined || q.filterPattern.trim() === "";
  const pattern = blank ? undefined : compileFilterPattern(q.filterPattern!);
  const resume = q.nextToken === undefined ? FIRST_KEY : parseFilterToken(q.nextToken);
  const range: KeyRange = {
    after: later(resume, q.startTime === undefined ? FIRST_KEY : startOf(q.startTime)),
    before: q.endTime === undefined ? LAST_KEY : startOf(q.endTime + 1),
  };
  const events: FilteredLogEvent[] = [];
  if (target.streamIds?.length === 0) return { events };
  let bytes = 0;
  let last: EventKey | undefined;
  let more = false;
  for (const row of candidates(db, target, range, pattern)) {
    if (pattern && !pattern.matches(row.message)) continue;
    bytes += eventSize(row.message);
    if (events.length === limit || (events.length > 0 && bytes > MAX_BATCH_BYTES)) {
      more = true;
      break;
    }
    last = row;
    events.push({
      logStreamName: target.streamName(row.stream_id),
      timestamp: row.timestamp,
      message: row.message,
      ingestionTime: row.ingestion,
      eventId: eventIdOf(row),
    });
  }
  return more && last ? { events, nextToken: filterToken({ timestamp: last.timestamp, id: last.id }) } : { events };
}

function* candidates(db: LogsSql, target: FilterTarget, range: KeyRange, pattern: CompiledFilter | undefined): Generator<EventRow> {
  const literals = literalClause(pattern?.literals);
  const narrowed = pattern?.ftsQuery === undefined ? undefined : ftsCandidates(db, target, range, pattern.ftsQuery, literals);
  yield* narrowed ?? scanCandidates(db, target, range, literals);
}

/** A SQL condition on `message` (with its parameters) that every match passes: SQLite tests substrings faster than rows reach JS. */
interface LiteralClause {
  on(column: string): string;
  params: Record<string, string>;
}

function literalClause(literals: Literals | undefined): LiteralClause {
  if (!literals) return { on: () => "", params: {} };
  const params = Object.fromEntries(literals.terms.map((t, i) => [`lit${i}`, t]));
  return {
    on: (column) => `AND (${literals.terms.map((_, i) => `instr(${column}, @lit${i}) > 0`).join(` ${literals.op} `)})`,
    params,
  };
}

/**
 * Every event of the target in the range, in order, straight off an index: the stream's for one
 * stream, else the group's (skipping other streams' rows when some streams were chosen).
 */
function scanCandidates(db: LogsSql, target: FilterTarget, range: KeyRange, literals: LiteralClause): IterableIterator<EventRow> {
  const streams = target.streamIds;
  const where =
    streams?.length === 1
      ? "stream_id = @stream"
      : streams
        ? "group_id = @group AND stream_id IN (SELECT value FROM json_each(@streams))"
        : "group_id = @group";
  const index = streams?.length === 1 ? "log_events_stream_time" : "log_events_group_time";
  const stmt = db.sql(
    `SELECT id, timestamp, ingestion, message, stream_id FROM log_events INDEXED BY ${index}
     WHERE ${where} AND (timestamp, id) > (@at, @aid) AND (timestamp, id) < (@bt, @bid) ${literals.on("message")}
     ORDER BY timestamp, id`,
  );
  const params = { stream: streams?.[0] ?? 0, group: target.groupId, streams: JSON.stringify(streams ?? []), ...rangeParams(range), ...literals.params };
  return stmt.iterate(params) as IterableIterator<EventRow>;
}

/**
 * The target's events in blocks whose index holds the query's trigrams or that wait for the
 * index, in key order; undefined when the hint cannot be used or selects FTS_BLOCK_CAP blocks or
 * more (a scan is then cheaper than sorting that many candidates). Memory: at most FTS_BLOCK_CAP × BLOCK_EVENTS rows sorted.
 */
function ftsCandidates(
  db: LogsSql,
  target: FilterTarget,
  range: KeyRange,
  ftsQuery: string,
  literals: LiteralClause,
): IterableIterator<EventRow> | undefined {
  const match = trigramQuery(ftsQuery);
  if (match === undefined) return undefined;
  // The blocks the index selects, and every block not indexed yet (any of them may hold a match).
  const from = `(SELECT rowid AS first_id FROM log_blocks_fts WHERE log_blocks_fts MATCH @q
                 UNION ALL SELECT first_id FROM log_blocks WHERE indexed = 0) m
                CROSS JOIN log_blocks b ON b.first_id = m.first_id`;
  const streams = target.streamIds === undefined ? "" : "AND b.stream_id IN (SELECT value FROM json_each(@streams))";
  const where = `b.group_id = @group ${streams} AND b.max_ts >= @at AND b.min_ts <= @bt`;
  const params = {
    q: match,
    group: target.groupId,
    streams: JSON.stringify(target.streamIds ?? []),
    cap: FTS_BLOCK_CAP,
    ...rangeParams(range),
  };
  try {
    const probe = db.sql(`SELECT count(*) AS n FROM (SELECT 1 FROM ${from} WHERE ${where} LIMIT @cap)`);
    const { n } = probe.get(params) as { n: number };
    if (n >= FTS_BLOCK_CAP) return undefined;
  } catch {
    // The hint did not parse as FTS5 here: fall back to scanning, which is always right.
    return undefined;
  }
  return db
    .sql(
      `SELECT e.id, e.timestamp, e.ingestion, e.message, e.stream_id
       FROM ${from} CROSS JOIN log_events e ON e.id BETWEEN b.first_id AND b.last_id
       WHERE ${where} AND (e.timestamp, e.id) > (@at, @aid) AND (e.timestamp, e.id) < (@bt, @bid) ${literals.on("e.message")}
       ORDER BY e.timestamp, e.id`,
    )
    .iterate({ ...params, ...literals.params }) as IterableIterator<EventRow>;
}
