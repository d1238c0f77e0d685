/**
 * The LogsEngine on its own SQLite file (better-sqlite3): CloudWatch Logs' groups, streams,
 * events, retention, tags and Insights queries for every region and account Berth serves.
 * WAL journal with synchronous=FULL: a call that resolved is on disk, and each PutLogEvents is
 * one transaction, so a batch is stored whole or not at all. Reads walk indexes and stop at a
 * page's end; nothing loads a whole group into memory. Owns only its file: it never touches
 * the control plane's store.
 *
 * Statements: groups and streams in logs-catalog.ts, event reads in logs-event-reads.ts, the
 * term index in logs-fts.ts, deletions and retention in logs-retention.ts, Insights queries in
 * logs-queries.ts; AWS's rules (logs-rules.ts) and the tokens (logs-tokens.ts) are pure.
 */
import Database from "better-sqlite3";
import type { Clock } from "../core/clock.ts";
import { BerthError, ErrorCode, invalidParameter } from "../core/errors.ts";
import { randomIds, type IdSource } from "../core/ids.ts";
import { type LogCursor, advanceCursor, alreadyStored } from "../core/log-cursor.ts";
import type {
  LogSource,
  DescribeLogGroupsQuery,
  DescribeLogStreamsQuery,
  FilteredLogEvent,
  FilterLogEventsQuery,
  GetLogEventsQuery,
  InputLogEvent,
  LogGroup,
  LogsEngine,
  LogsScope,
  LogStream,
  OutputLogEvent,
  QueryResults,
  RejectedLogEventsInfo,
  StartQueryInput,
} from "../domain/logs.ts";
import { parseInsightsQuery, runInsightsQuery } from "./insights.ts";
import {
  describeGroups,
  describeStreams,
  findGroup,
  getGroup,
  getStream,
  sequenceToken,
  streamsOf,
  type GroupRow,
} from "./logs-catalog.ts";
import { filterEvents, readStream, type FilterTarget } from "./logs-event-reads.ts";
import { BlockWriter } from "./logs-fts.ts";
import { type IndexingOptions, TermIndexer } from "./logs-indexer.ts";
import { eventsOfGroups, QueryBook } from "./logs-queries.ts";
import { deleteGroupData, deleteStreamData, enforceRetention } from "./logs-retention.ts";
import {
  checkGroupName,
  checkRetention,
  checkStreamName,
  checkTagCount,
  groupOfArn,
  pageLimit,
  planBatch,
  type BatchPlan,
} from "./logs-rules.ts";
import { openSqlite } from "../store/sqlite-database.ts";
import { LOGS_MIGRATIONS, type LogsSql } from "./logs-schema.ts";

export interface SqliteLogsEngineOptions {
  /** File path (e.g. data-dir/logs.db), or ":memory:" for tests. */
  path: string;
  clock: Clock;
  /** Query ids; random UUIDs unless a test passes SequentialIds. */
  ids?: IdSource;
  /** When stored events enter the term index (logs-indexer.ts). */
  indexing?: IndexingOptions;
}

const MAX_QUERY_GROUPS = 50;
const MAX_QUERY_ROWS = 100_000;

export class SqliteLogsEngine implements LogsEngine {
  private readonly db: Database.Database;
  /** Prepared statements are cached by their SQL text. */
  private readonly sql: (text: string) => Database.Statement;
  private readonly runner: LogsSql = { sql: (text) => this.sql(text), tx: (fn) => this.db.transaction(fn)() };
  private readonly clock: Clock;
  private readonly ids: IdSource;
  private readonly queries = new QueryBook();
  private readonly indexer: TermIndexer;

  constructor(options: SqliteLogsEngineOptions) {
    this.clock = options.clock;
    this.ids = options.ids ?? randomIds;
    const file = openSqlite(options.path, LOGS_MIGRATIONS, ["journal_size_limit = 67108864"]);
    this.db = file.db;
    this.sql = file.sql;
    this.indexer = new TermIndexer(this.runner, options.indexing);
  }

  // --- the term index, behind ingest ------------------------------------------------------

  /** Blocks of stored events not in the term index yet. */
  get unindexedBlocks(): number {
    return this.indexer.unindexed;
  }

  /** Puts every stored event in the term index now. */
  indexPending(): void {
    this.indexer.indexAll();
  }

  private group(scope: LogsScope, name: string): GroupRow {
    return getGroup(this.runner, scope, name);
  }

  // --- groups -----------------------------------------------------------------------------

  /* guard: (region, account, name) is unique, else ResourceAlreadyExists. */
  async createLogGroup(
    scope: LogsScope,
    name: string,
    options: { retentionInDays?: number; tags?: Record<string, string> } = {},
  ): Promise<void> {
    checkGroupName(name);
    if (options.retentionInDays !== undefined) checkRetention(options.retentionInDays);
    const tags = options.tags ?? {};
    checkTagCount(tags);
    const result = this.sql(
      `INSERT INTO log_groups (region, account, name, created, retention, tags) VALUES (?, ?, ?, ?, ?, ?)
       ON CONFLICT (region, account, name) DO NOTHING`,
    ).run(scope.region, scope.accountId, name, this.clock.now(), options.retentionInDays ?? null, JSON.stringify(tags));
    if (result.changes === 0) {
      throw new BerthError(ErrorCode.ResourceAlreadyExists, "The specified log group already exists");
    }
  }

  /* out: the group, its streams, events and index blocks are gone, in one transaction. */
  async deleteLogGroup(scope: LogsScope, name: string): Promise<void> {
    this.runner.tx(() => deleteGroupData(this.runner, this.group(scope, name).id));
  }

  async describeLogGroups(scope: LogsScope, q: DescribeLogGroupsQuery): Promise<{ logGroups: LogGroup[]; nextToken?: string }> {
    return describeGroups(this.runner, scope, q);
  }

  // --- streams ----------------------------------------------------------------------------

  /* guard: the group exists; (group, name) is unique, else ResourceAlreadyExists. */
  async createLogStream(scope: LogsScope, group: string, stream: string): Promise<void> {
    checkStreamName(stream);
    const g = this.group(scope, group);
    const result = this.sql(
      "INSERT INTO log_streams (group_id, name, created) VALUES (?, ?, ?) ON CONFLICT (group_id, name) DO NOTHING",
    ).run(g.id, stream, this.clock.now());
    if (result.changes === 0) {
      throw new BerthError(ErrorCode.ResourceAlreadyExists, "The specified log stream already exists");
    }
  }

  async deleteLogStream(scope: LogsScope, group: string, stream: string): Promise<void> {
    this.runner.tx(() => deleteStreamData(this.runner, getStream(this.runner, this.group(scope, group).id, stream).id));
  }

  async describeLogStreams(scope: LogsScope, q: DescribeLogStreamsQuery): Promise<{ logStreams: LogStream[]; nextToken?: string }> {
    return describeStreams(this.runner, scope, q);
  }

  // --- events -----------------------------------------------------------------------------

  /*
   * guard: group and stream exist; the batch passes planBatch (else nothing is stored).
   * out: the kept events, their index blocks and the stream's counters, in one transaction.
   */
  async putLogEvents(
    scope: LogsScope,
    group: string,
    stream: string,
    events: InputLogEvent[],
    source?: LogSource,
  ): Promise<{ nextSequenceToken: string; rejectedLogEventsInfo?: RejectedLogEventsInfo }> {
    const now = this.clock.now();
    let blocks = 0;
    const result = this.runner.tx(() => {
      const g = this.group(scope, group);
      const s = getStream(this.runner, g.id, stream);
      if (source) events = this.skipStored(source, events);
      const plan = planBatch(events, now, g.retention ?? undefined);
      const stored = this.storeBatch(g.id, s.id, events, plan, now);
      blocks = stored.blocks;
      const token = sequenceToken(stored.sequence);
      return plan.rejected ? { nextSequenceToken: token, rejectedLogEventsInfo: plan.rejected } : { nextSequenceToken: token };
    });
    this.indexer.wrote(blocks);
    return result;
  }

  /*
   * in: a source's batch; out: the events it had not stored yet. Records the source's new
   * cursor. Runs inside putLogEvents' transaction, so the cursor and the events commit together.
   */
  private skipStored(source: LogSource, events: InputLogEvent[]): InputLogEvent[] {
    const row = this.sql("SELECT cursor_time AS time, cursor_count AS count FROM log_sources WHERE source = ?").get(source.key) as
      | LogCursor
      | undefined;
    const fresh = row ? events.slice(alreadyStored(source.from, events, row)) : events;
    const end = advanceCursor(source.from, events);
    this.sql("INSERT OR REPLACE INTO log_sources (source, cursor_time, cursor_count) VALUES (?, ?, ?)").run(source.key, end.time, end.count);
    return fresh;
  }

  /* in: a planned batch; out: the stream's new sequence number and the index blocks written. Runs inside putLogEvents' transaction. */
  private storeBatch(groupId: number, streamId: number, events: InputLogEvent[], plan: BatchPlan, now: number): { sequence: number; blocks: number } {
    if (plan.start >= plan.end) {
      const row = this.sql("UPDATE log_streams SET sequence = sequence + 1 WHERE id = ? RETURNING sequence").get(streamId);
      return { sequence: (row as { sequence: number }).sequence, blocks: 0 };
    }
    // One statement for the batch: SQLite unpacks it, so no event crosses into it on its own.
    // Parsed once into JSONB, whose elements ->> reads without parsing them again.
    // With one writer, the rows take consecutive ids in the array's order.
    const kept = events.slice(plan.start, plan.end);
    const { lastInsertRowid } = this.sql(
      `INSERT INTO log_events (stream_id, group_id, timestamp, ingestion, message)
       SELECT @stream, @group, value ->> 0, @now, value ->> 1 FROM jsonb_each(jsonb(@events))`,
    ).run({ stream: streamId, group: groupId, now, events: JSON.stringify(kept.map((e) => [e.timestamp, e.message])) });
    const firstId = Number(lastInsertRowid) - kept.length + 1;
    const blocks = new BlockWriter(this.runner, groupId, streamId);
    let bytes = 0;
    for (let k = 0; k < kept.length; k++) {
      const event = kept[k]!;
      blocks.add(firstId + k, event.timestamp, event.message);
      bytes += plan.bytes[plan.start + k]!;
    }
    blocks.flush();
    const row = this.sql(
      `UPDATE log_streams SET
         first_event = min(COALESCE(first_event, @first), @first),
         last_event = max(COALESCE(last_event, @last), @last),
         last_ingestion = @now, stored_bytes = stored_bytes + @bytes, sequence = sequence + 1
       WHERE id = @stream RETURNING sequence`,
    ).get({ first: events[plan.start]!.timestamp, last: events[plan.end - 1]!.timestamp, now, bytes, stream: streamId });
    return { sequence: (row as { sequence: number }).sequence, blocks: blocks.written };
  }

  async getLogEvents(
    scope: LogsScope,
    q: GetLogEventsQuery,
  ): Promise<{ events: OutputLogEvent[]; nextForwardToken: string; nextBackwardToken: string }> {
    const s = getStream(this.runner, this.group(scope, q.logGroupName).id, q.logStreamName);
    return readStream(this.runner, s.id, q);
  }

  async filterLogEvents(scope: LogsScope, q: FilterLogEventsQuery): Promise<{ events: FilteredLogEvent[]; nextToken?: string }> {
    if (q.logStreamNames !== undefined && q.logStreamNamePrefix !== undefined) {
      throw invalidParameter("logStreamNames and logStreamNamePrefix are mutually exclusive. Only one can be passed.");
    }
    const g = this.group(scope, q.logGroupName);
    return filterEvents(this.runner, this.filterTarget(g.id, q), q);
  }

  /** The streams a FilterLogEvents reads; names that do not exist are ignored, as on AWS. */
  private filterTarget(groupId: number, q: FilterLogEventsQuery): FilterTarget {
    const names = new Map<number, string>();
    const lookup = this.sql("SELECT name FROM log_streams WHERE id = ?");
    const streamName = (id: number): string => {
      let name = names.get(id);
      if (name === undefined) {
        name = (lookup.get(id) as { name: string } | undefined)?.name ?? "";
        names.set(id, name);
      }
      return name;
    };
    if (q.logStreamNames === undefined && q.logStreamNamePrefix === undefined) return { groupId, streamName };
    const select = q.logStreamNames !== undefined ? { names: q.logStreamNames } : { prefix: q.logStreamNamePrefix ?? "" };
    const rows = streamsOf(this.runner, groupId, select);
    for (const row of rows) names.set(row.id, row.name);
    return { groupId, streamIds: rows.map((r) => r.id), streamName };
  }

  // --- retention and tags -----------------------------------------------------------------

  async putRetentionPolicy(scope: LogsScope, group: string, retentionInDays: number): Promise<void> {
    checkRetention(retentionInDays);
    this.sql("UPDATE log_groups SET retention = ? WHERE id = ?").run(retentionInDays, this.group(scope, group).id);
  }

  async deleteRetentionPolicy(scope: LogsScope, group: string): Promise<void> {
    this.sql("UPDATE log_groups SET retention = NULL WHERE id = ?").run(this.group(scope, group).id);
  }

  async enforceRetention(now: number): Promise<number> {
    return enforceRetention(this.runner, now);
  }

  async tagResource(scope: LogsScope, arn: string, tags: Record<string, string>): Promise<void> {
    this.updateTags(scope, arn, (current) => ({ ...current, ...tags }));
  }

  async untagResource(scope: LogsScope, arn: string, keys: string[]): Promise<void> {
    this.updateTags(scope, arn, (current) =>
      Object.fromEntries(Object.entries(current).filter(([key]) => !keys.includes(key))),
    );
  }

  async listTagsForResource(scope: LogsScope, arn: string): Promise<Record<string, string>> {
    const target = groupOfArn(scope, arn);
    return JSON.parse(this.group(target.scope, target.name).tags) as Record<string, string>;
  }

  /* guard: the ARN names an existing group; the result has at most 50 tags, else LimitExceeded. */
  private updateTags(
    scope: LogsScope,
    arn: string,
    change: (current: Record<string, string>) => Record<string, string>,
  ): void {
    const target = groupOfArn(scope, arn);
    this.runner.tx(() => {
      const g = this.group(target.scope, target.name);
      const next = change(JSON.parse(g.tags) as Record<string, string>);
      checkTagCount(next);
      this.sql("UPDATE log_groups SET tags = ? WHERE id = ?").run(JSON.stringify(next), g.id);
    });
  }

  // --- Insights queries -------------------------------------------------------------------

  /* in: a query over 1–50 existing groups, start ≤ end in epoch seconds (both inclusive). */
  async startQuery(scope: LogsScope, input: StartQueryInput): Promise<string> {
    const parsed = parseInsightsQuery(input.queryString);
    if (input.logGroupNames.length < 1 || input.logGroupNames.length > MAX_QUERY_GROUPS) {
      throw invalidParameter(`A query must name between 1 and ${MAX_QUERY_GROUPS} log groups.`);
    }
    if (input.endTime < input.startTime) throw invalidParameter("End time should not be before the start time.");
    const limit = pageLimit(input.limit, MAX_QUERY_ROWS, MAX_QUERY_ROWS);
    const groups = input.logGroupNames.map((name) => {
      const row = findGroup(this.runner, scope, name);
      if (!row) throw new BerthError(ErrorCode.ResourceNotFound, `Log group '${name}' does not exist`);
      return { id: row.id, name: row.name };
    });
    const queryId = this.ids.uuid();
    const results = this.queries.add(queryId, scope, "Running");
    const scanned = { bytes: 0 };
    try {
      const from = input.startTime * 1000;
      const to = input.endTime * 1000 + 999;
      const events = eventsOfGroups(this.runner, scope, groups, from, to, scanned);
      const outcome = runInsightsQuery(parsed, events, input.limit === undefined ? undefined : limit);
      results.results = outcome.rows;
      results.statistics = {
        recordsMatched: outcome.recordsMatched,
        recordsScanned: outcome.recordsScanned,
        bytesScanned: scanned.bytes,
      };
      results.status = "Complete";
    } catch {
      // The query failed while running (its text was valid): report it as AWS does, by status.
      results.status = "Failed";
    }
    return queryId;
  }

  async getQueryResults(scope: LogsScope, queryId: string): Promise<QueryResults> {
    const results = this.queries.get(scope, queryId);
    return { ...results, results: results.results, statistics: { ...results.statistics } };
  }

  /* guard: the query is Scheduled or Running, else InvalidParameter (AWS: "not running"). */
  async stopQuery(scope: LogsScope, queryId: string): Promise<boolean> {
    const results = this.queries.get(scope, queryId);
    if (results.status !== "Running" && results.status !== "Scheduled") {
      throw invalidParameter(`Query ${queryId} is not running.`);
    }
    results.status = "Cancelled";
    return true;
  }

  /** Stops the indexer; blocks still pending stay recorded and are indexed after the next open. */
  async close(): Promise<void> {
    this.indexer.stop();
    this.db.close();
  }
}
