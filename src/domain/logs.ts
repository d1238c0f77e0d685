/**
 * CloudWatch Logs as Berth keeps it: log groups (region-scoped), streams, events, queries,
 * and the LogsEngine port the API and the agent's log shipping call. The engine lives in
 * logs/ (its own SQLite file with full-text search); the composition root injects it, so
 * api/ and server/ depend only on this port.
 *
 * Errors are BerthErrors: ResourceNotFound ("The specified log group does not exist."),
 * ResourceAlreadyExists, InvalidParameter, LimitExceeded; the Logs error table maps them.
 */
import { invalidParameter } from "../core/errors.ts";
import type { LogCursor } from "../core/log-cursor.ts";

export interface LogsScope {
  region: string;
  accountId: string;
}

const partitionOf = (region: string): string =>
  region.startsWith("cn-") ? "aws-cn" : region.startsWith("us-gov-") ? "aws-us-gov" : "aws";

/** `logGroupArn`: arn:aws:logs:<region>:<account>:log-group:<name> (the describe `arn` adds `:*`). */
export const logGroupArn = (scope: LogsScope, name: string): string =>
  `arn:${partitionOf(scope.region)}:logs:${scope.region}:${scope.accountId}:log-group:${name}`;

export const logStreamArn = (scope: LogsScope, group: string, stream: string): string =>
  `${logGroupArn(scope, group)}:log-stream:${stream}`;

/** A group named by `logGroupName` or `logGroupIdentifier` (a name or an ARN, with or without `:*`). */
export function logGroupNameOf(input: { logGroupName?: string; logGroupIdentifier?: string }): string {
  if (input.logGroupName !== undefined && input.logGroupIdentifier !== undefined) {
    throw invalidParameter("LogGroup name and LogGroup ARN are mutually exclusive parameters.");
  }
  const id = input.logGroupName ?? input.logGroupIdentifier;
  if (id === undefined) throw invalidParameter("Either logGroupName or logGroupIdentifier must be specified.");
  const m = /^arn:[^:]+:logs:[^:]*:\d*:log-group:([^:]+)(?::\*)?$/.exec(id);
  return m ? m[1]! : id;
}

/** The groups a StartQuery names, in any of its three ways (identifiers may be ARNs). */
export function queryGroupNames(input: { logGroupName?: string; logGroupNames?: string[]; logGroupIdentifiers?: string[] }): string[] {
  return [
    ...(input.logGroupName ? [input.logGroupName] : []),
    ...(input.logGroupNames ?? []),
    ...(input.logGroupIdentifiers ?? []).map((id) => logGroupNameOf({ logGroupIdentifier: id })),
  ];
}

/**
 * The resource IAM weighs for an action on a log group: AWS's docs say policies name a group
 * with the trailing `:*` for every action but tagging, so that is the form requested.
 */
export const logGroupResource = (scope: LogsScope, name: string): string => `${logGroupArn(scope, name)}:*`;

export interface LogGroup {
  logGroupName: string;
  /** arn:aws:logs:<region>:<account>:log-group:<name>:* (the describe shape's `arn`). */
  arn: string;
  logGroupArn: string;
  creationTime: number;
  retentionInDays?: number;
  storedBytes: number;
  metricFilterCount: number;
  logGroupClass: "STANDARD";
}

export interface LogStream {
  logStreamName: string;
  arn: string;
  creationTime: number;
  firstEventTimestamp?: number;
  lastEventTimestamp?: number;
  lastIngestionTime?: number;
  uploadSequenceToken: string;
  storedBytes: number;
}

/** Where a batch comes from and where in that source it starts (see core/log-cursor.ts). */
export interface LogSource {
  key: string;
  from: LogCursor;
}

export interface InputLogEvent {
  timestamp: number;
  message: string;
}

export interface OutputLogEvent {
  timestamp: number;
  message: string;
  ingestionTime: number;
}

export interface FilteredLogEvent extends OutputLogEvent {
  logStreamName: string;
  eventId: string;
}

export interface RejectedLogEventsInfo {
  tooNewLogEventStartIndex?: number;
  tooOldLogEventEndIndex?: number;
  expiredLogEventEndIndex?: number;
}

export interface DescribeLogGroupsQuery {
  logGroupNamePrefix?: string;
  logGroupNamePattern?: string;
  nextToken?: string;
  limit?: number;
}

export interface DescribeLogStreamsQuery {
  logGroupName: string;
  logStreamNamePrefix?: string;
  orderBy?: "LogStreamName" | "LastEventTime";
  descending?: boolean;
  nextToken?: string;
  limit?: number;
}

export interface GetLogEventsQuery {
  logGroupName: string;
  logStreamName: string;
  startTime?: number;
  endTime?: number;
  nextToken?: string;
  limit?: number;
  startFromHead?: boolean;
}

export interface FilterLogEventsQuery {
  logGroupName: string;
  logStreamNames?: string[];
  logStreamNamePrefix?: string;
  /** Inclusive. */
  startTime?: number;
  /** Inclusive: events later than this are not returned. */
  endTime?: number;
  filterPattern?: string;
  nextToken?: string;
  limit?: number;
}

export interface StartQueryInput {
  logGroupNames: string[];
  /** Epoch seconds, as the API takes them. */
  startTime: number;
  endTime: number;
  queryString: string;
  limit?: number;
}

export type QueryStatus = "Scheduled" | "Running" | "Complete" | "Failed" | "Cancelled" | "Timeout" | "Unknown";

export interface QueryResults {
  status: QueryStatus;
  results: { field: string; value: string }[][];
  statistics: { recordsMatched: number; recordsScanned: number; bytesScanned: number };
}

/**
 * The Logs engine. Every method that resolves has made its change durable. Timestamps are
 * epoch milliseconds except where the API itself uses seconds (queries).
 */
export interface LogsEngine {
  createLogGroup(scope: LogsScope, name: string, options?: { retentionInDays?: number; tags?: Record<string, string> }): Promise<void>;
  deleteLogGroup(scope: LogsScope, name: string): Promise<void>;
  describeLogGroups(scope: LogsScope, query: DescribeLogGroupsQuery): Promise<{ logGroups: LogGroup[]; nextToken?: string }>;
  createLogStream(scope: LogsScope, group: string, stream: string): Promise<void>;
  deleteLogStream(scope: LogsScope, group: string, stream: string): Promise<void>;
  describeLogStreams(scope: LogsScope, query: DescribeLogStreamsQuery): Promise<{ logStreams: LogStream[]; nextToken?: string }>;
  /**
   * AWS's batch rules: ≤ 10,000 events, ≤ 1,048,576 bytes (message bytes + 26 each), ≤ 24 h
   * span, chronological. With `source` (Berth's own shipping), the leading events the source
   * already stored are skipped and the source's cursor is stored in the same transaction.
   */
  putLogEvents(
    scope: LogsScope,
    group: string,
    stream: string,
    events: InputLogEvent[],
    source?: LogSource,
  ): Promise<{ nextSequenceToken: string; rejectedLogEventsInfo?: RejectedLogEventsInfo }>;
  getLogEvents(scope: LogsScope, query: GetLogEventsQuery): Promise<{ events: OutputLogEvent[]; nextForwardToken: string; nextBackwardToken: string }>;
  /** Interleaved across streams by timestamp; stable unique eventIds; no nextToken on the last page. */
  filterLogEvents(scope: LogsScope, query: FilterLogEventsQuery): Promise<{ events: FilteredLogEvent[]; nextToken?: string }>;
  putRetentionPolicy(scope: LogsScope, group: string, retentionInDays: number): Promise<void>;
  deleteRetentionPolicy(scope: LogsScope, group: string): Promise<void>;
  tagResource(scope: LogsScope, arn: string, tags: Record<string, string>): Promise<void>;
  untagResource(scope: LogsScope, arn: string, keys: string[]): Promise<void>;
  listTagsForResource(scope: LogsScope, arn: string): Promise<Record<string, string>>;
  startQuery(scope: LogsScope, input: StartQueryInput): Promise<string>;
  getQueryResults(scope: LogsScope, queryId: string): Promise<QueryResults>;
  stopQuery(scope: LogsScope, queryId: string): Promise<boolean>;
  /** Deletes events older than their group's retention; returns how many. */
  enforceRetention(now: number): Promise<number>;
  close(): Promise<void>;
}
