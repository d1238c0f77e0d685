/**
 * The catalog: log groups and streams as rows, their lookups, the Describe* listings and the
 * shapes the API returns. Listings page with a cursor on the sort key, so each page is one
 * index range, whatever the number of groups or streams.
 */
import { invalidParameter } from "../core/errors.ts";
import { type DescribeLogGroupsQuery, type DescribeLogStreamsQuery, type LogGroup, type LogsScope, type LogStream, logGroupArn, logStreamArn } from "../domain/logs.ts";
import { groupNotFound, pageLimit, streamNotFound } from "./logs-rules.ts";
import type { LogsSql } from "./logs-schema.ts";
import { groupsToken, parseGroupsToken, parseStreamsToken, streamsToken } from "./logs-tokens.ts";

export interface GroupRow {
  id: number;
  name: string;
  created: number;
  retention: number | null;
  /** JSON object of tag key → value. */
  tags: string;
}

export interface StreamRow {
  id: number;
  name: string;
  created: number;
  first_event: number | null;
  last_event: number | null;
  last_ingestion: number | null;
  stored_bytes: number;
  sequence: number;
}

const DESCRIBE_MAX = 50;
/** Above every character a stream name can hold: `name < prefix + this` bounds a prefix range. */
const TOP_CHAR = "\u{10FFFF}";

export const sequenceToken = (sequence: number): string => String(sequence).padStart(56, "0");

export function findGroup(db: LogsSql, scope: LogsScope, name: string): GroupRow | undefined {
  return db
    .sql("SELECT id, name, created, retention, tags FROM log_groups WHERE region = ? AND account = ? AND name = ?")
    .get(scope.region, scope.accountId, name) as GroupRow | undefined;
}

/** The group, else ResourceNotFound with AWS's message. */
export function getGroup(db: LogsSql, scope: LogsScope, name: string): GroupRow {
  const row = findGroup(db, scope, name);
  if (!row) throw groupNotFound();
  return row;
}

/** The group's stream, else ResourceNotFound with AWS's message. */
export function getStream(db: LogsSql, groupId: number, name: string): StreamRow {
  const row = db
    .sql(
      `SELECT id, name, created, first_event, last_event, last_ingestion, stored_bytes, sequence
       FROM log_streams WHERE group_id = ? AND name = ?`,
    )
    .get(groupId, name) as StreamRow | undefined;
  if (!row) throw streamNotFound();
  return row;
}

/** A group's streams named in `names` (unknown names are left out) or starting with `prefix`. */
export function streamsOf(
  db: LogsSql,
  groupId: number,
  select: { names: string[] } | { prefix: string },
): { id: number; name: string }[] {
  return (
    "names" in select
      ? db
          .sql("SELECT id, name FROM log_streams WHERE group_id = ? AND name IN (SELECT value FROM json_each(?))")
          .all(groupId, JSON.stringify(select.names))
      : db
          .sql("SELECT id, name FROM log_streams WHERE group_id = ? AND name >= ? AND name < ?")
          .all(groupId, select.prefix, select.prefix + TOP_CHAR)
  ) as { id: number; name: string }[];
}

/*
 * in: prefix, or pattern (a case-sensitive substring, as AWS documents it), not both; limit
 * 1–50; cursor = the last name returned. out: groups by name, with their streams' stored bytes.
 */
export function describeGroups(
  db: LogsSql,
  scope: LogsScope,
  q: DescribeLogGroupsQuery,
): { logGroups: LogGroup[]; nextToken?: string } {
  if (q.logGroupNamePrefix !== undefined && q.logGroupNamePattern !== undefined) {
    throw invalidParameter("LogGroupNamePrefix and LogGroupNamePattern are mutually exclusive. Only one can be passed.");
  }
  const limit = pageLimit(q.limit, DESCRIBE_MAX, DESCRIBE_MAX);
  // Group names are ASCII below 0x7f, so [prefix, prefix + char(127)) is exactly the prefix's range.
  const prefix = q.logGroupNamePrefix === undefined ? "" : "AND name >= @prefix AND name < @prefix || char(127)";
  const pattern = q.logGroupNamePattern === undefined ? "" : "AND instr(name, @pattern) > 0";
  const rows = db
    .sql(
      `SELECT id, name, created, retention, tags,
         (SELECT COALESCE(SUM(stored_bytes), 0) FROM log_streams WHERE group_id = log_groups.id) AS bytes
       FROM log_groups WHERE region = @region AND account = @account AND name > @after ${prefix} ${pattern}
       ORDER BY name LIMIT @limit`,
    )
    .all({
      region: scope.region,
      account: scope.accountId,
      after: q.nextToken === undefined ? "" : parseGroupsToken(q.nextToken),
      prefix: q.logGroupNamePrefix ?? "",
      pattern: q.logGroupNamePattern ?? "",
      limit: limit + 1,
    }) as (GroupRow & { bytes: number })[];
  const kept = rows.slice(0, limit);
  const logGroups = kept.map((row) => groupView(scope, row, row.bytes));
  const last = kept[kept.length - 1];
  return rows.length > limit && last ? { logGroups, nextToken: groupsToken(last.name) } : { logGroups };
}

/*
 * in: order by name (prefix allowed) or by last event time (no prefix), either direction;
 * limit 1–50; cursor = (sort value, name) of the last stream returned. Streams without events
 * sort as if their last event were at -1.
 */
export function describeStreams(
  db: LogsSql,
  scope: LogsScope,
  q: DescribeLogStreamsQuery,
): { logStreams: LogStream[]; nextToken?: string } {
  const byTime = q.orderBy === "LastEventTime";
  if (byTime && q.logStreamNamePrefix !== undefined) {
    throw invalidParameter("Cannot order by LastEventTime with a logStreamNamePrefix.");
  }
  const limit = pageLimit(q.limit, DESCRIBE_MAX, DESCRIBE_MAX);
  const group = getGroup(db, scope, q.logGroupName);
  const dir = q.descending === true ? "DESC" : "ASC";
  const cmp = q.descending === true ? "<" : ">";
  const cursor = q.nextToken === undefined ? undefined : parseStreamsToken(q.nextToken);
  const key = byTime ? "(COALESCE(last_event, -1), name)" : "name";
  const after = cursor === undefined ? "" : `AND ${key} ${cmp} ${byTime ? "(@order, @name)" : "@name"}`;
  const prefix = q.logStreamNamePrefix === undefined ? "" : "AND name >= @prefix AND name < @prefixEnd";
  const rows = db
    .sql(
      `SELECT id, name, created, first_event, last_event, last_ingestion, stored_bytes, sequence
       FROM log_streams WHERE group_id = @group ${prefix} ${after}
       ORDER BY ${byTime ? `COALESCE(last_event, -1) ${dir}, ` : ""}name ${dir} LIMIT @limit`,
    )
    .all({
      group: group.id,
      order: cursor?.order ?? null,
      name: cursor?.name ?? "",
      prefix: q.logStreamNamePrefix ?? "",
      prefixEnd: (q.logStreamNamePrefix ?? "") + TOP_CHAR,
      limit: limit + 1,
    }) as StreamRow[];
  const kept = rows.slice(0, limit);
  const logStreams = kept.map((row) => streamView(scope, group.name, row));
  const last = kept[kept.length - 1];
  if (rows.length <= limit || !last) return { logStreams };
  return { logStreams, nextToken: streamsToken(byTime ? (last.last_event ?? -1) : last.name, last.name) };
}

function groupView(scope: LogsScope, row: GroupRow, storedBytes: number): LogGroup {
  const arn = logGroupArn(scope, row.name);
  const view: LogGroup = {
    logGroupName: row.name,
    arn: `${arn}:*`,
    logGroupArn: arn,
    creationTime: row.created,
    storedBytes,
    metricFilterCount: 0,
    logGroupClass: "STANDARD",
  };
  if (row.retention !== null) view.retentionInDays = row.retention;
  return view;
}

/** AWS reports a stream's storedBytes as 0 since 2019; the group's storedBytes carries the sum. */
function streamView(scope: LogsScope, group: string, row: StreamRow): LogStream {
  const view: LogStream = {
    logStreamName: row.name,
    arn: logStreamArn(scope, group, row.name),
    creationTime: row.created,
    uploadSequenceToken: sequenceToken(row.sequence),
    storedBytes: 0,
  };
  if (row.first_event !== null) view.firstEventTimestamp = row.first_event;
  if (row.last_event !== null) view.lastEventTimestamp = row.last_event;
  if (row.last_ingestion !== null) view.lastIngestionTime = row.last_ingestion;
  return view;
}
