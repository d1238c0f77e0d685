/**
 * CloudWatch Logs' rules as pure functions: names, limits, retention values, ARNs and the
 * PutLogEvents batch rules. They take the time as an input and touch no storage; every
 * refusal is a BerthError with AWS's exception semantics and, where AWS has one, its text.
 */
import { BerthError, ErrorCode, invalidParameter } from "../core/errors.ts";
import { parseArn } from "../core/arn.ts";
import type { InputLogEvent, LogsScope, RejectedLogEventsInfo } from "../domain/logs.ts";

export const groupNotFound = (): BerthError =>
  new BerthError(ErrorCode.ResourceNotFound, "The specified log group does not exist.");
export const streamNotFound = (): BerthError =>
  new BerthError(ErrorCode.ResourceNotFound, "The specified log stream does not exist.");

/** The values PutRetentionPolicy accepts (days). */
export const RETENTION_DAYS: readonly number[] = [
  1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653,
];

export const MAX_BATCH_EVENTS = 10_000;
export const MAX_BATCH_BYTES = 1_048_576;
/** Bytes AWS adds to each event's UTF-8 message when sizing a batch or a response page. */
export const EVENT_OVERHEAD_BYTES = 26;
export const MAX_TAGS = 50;
export const DAY_MS = 86_400_000;
const HOUR_MS = 3_600_000;
const TOO_NEW_MS = 2 * HOUR_MS;
const TOO_OLD_MS = 14 * DAY_MS;
const MAX_SPAN_MS = 24 * HOUR_MS;

const GROUP_NAME_RE = /^[.\-_/#A-Za-z0-9]+$/;

const validation = (value: string, field: string, constraint: string): BerthError =>
  invalidParameter(`1 validation error detected: Value '${value}' at '${field}' failed to satisfy constraint: ${constraint}`);

export function checkGroupName(name: string): void {
  if (name.length < 1 || name.length > 512) {
    throw validation(name, "logGroupName", "Member must have length between 1 and 512");
  }
  if (!GROUP_NAME_RE.test(name)) {
    throw validation(name, "logGroupName", "Member must satisfy regular expression pattern: [\\.\\-_/#A-Za-z0-9]+");
  }
  if (name.startsWith("aws/")) throw invalidParameter("Log group names cannot start with 'aws/'.");
}

export function checkStreamName(name: string): void {
  if (name.length < 1 || name.length > 512) {
    throw validation(name, "logStreamName", "Member must have length between 1 and 512");
  }
  if (/[:*]/.test(name)) throw validation(name, "logStreamName", "Member must satisfy regular expression pattern: [^:*]*");
}

/** A page size: `undefined` gives the default; outside 1..max is AWS's validation error. */
export function pageLimit(value: number | undefined, max: number, fallback: number): number {
  if (value === undefined) return fallback;
  if (!Number.isInteger(value) || value < 1) {
    throw validation(String(value), "limit", "Member must have value greater than or equal to 1");
  }
  if (value > max) throw validation(String(value), "limit", `Member must have value less than or equal to ${max}`);
  return value;
}

export function checkRetention(days: number): void {
  if (!RETENTION_DAYS.includes(days)) {
    throw validation(
      String(days),
      "retentionInDays",
      `Member must satisfy enum value set: [${RETENTION_DAYS.join(", ")}]`,
    );
  }
}

export function checkTagCount(tags: Record<string, string>): void {
  if (Object.keys(tags).length > MAX_TAGS) {
    throw new BerthError(ErrorCode.LimitExceeded, `A resource can have no more than ${MAX_TAGS} tags.`);
  }
}


/**
 * The log group a tagging ARN names (with or without the trailing `:*`). Its region and
 * account come from the ARN; another account's ARN is not found, as it would be on AWS.
 */
export function groupOfArn(scope: LogsScope, arn: string): { scope: LogsScope; name: string } {
  const parsed = parseArn(arn);
  const resource = parsed?.resource ?? "";
  if (!parsed || parsed.service !== "logs" || !resource.startsWith("log-group:")) {
    throw invalidParameter(`Invalid resource ARN: ${arn}`);
  }
  const name = resource.slice("log-group:".length).replace(/:\*$/, "");
  if (parsed.accountId !== scope.accountId || !GROUP_NAME_RE.test(name)) throw groupNotFound();
  return { scope: { region: parsed.region, accountId: parsed.accountId }, name };
}

/** What to store of a PutLogEvents batch: events[start, end), their message sizes, what was rejected. */
export interface BatchPlan {
  start: number;
  end: number;
  /** UTF-8 byte length of every event's message (the whole batch, by index). */
  bytes: number[];
  rejected?: RejectedLogEventsInfo;
}

/**
 * AWS's batch rules. Malformed batches (empty, too many, too large, an empty message, out of
 * order, more than 24 h between the kept events) throw and store nothing; events too far in the
 * future, older than 14 days or older than the group's retention are reported and dropped.
 */
export function planBatch(events: readonly InputLogEvent[], now: number, retentionDays: number | undefined): BatchPlan {
  if (events.length < 1) throw validation("[]", "logEvents", "Member must have length greater than or equal to 1");
  if (events.length > MAX_BATCH_EVENTS) {
    throw invalidParameter(`Upload too large: ${events.length} log events exceeded the limit of ${MAX_BATCH_EVENTS}`);
  }
  const bytes: number[] = new Array<number>(events.length);
  let total = 0;
  let previous = -Infinity;
  let chronological = true;
  for (let i = 0; i < events.length; i++) {
    const event = events[i]!;
    if (event.message.length === 0) {
      throw validation("", `logEvents.${i + 1}.member.message`, "Member must have length greater than or equal to 1");
    }
    if (!Number.isSafeInteger(event.timestamp)) {
      throw validation(String(event.timestamp), `logEvents.${i + 1}.member.timestamp`, "Member must be an integer");
    }
    const size = Buffer.byteLength(event.message, "utf8");
    bytes[i] = size;
    total += size + EVENT_OVERHEAD_BYTES;
    if (event.timestamp < previous) chronological = false;
    previous = event.timestamp;
  }
  if (total > MAX_BATCH_BYTES) throw invalidParameter(`Upload too large: ${total} bytes exceeds limit of ${MAX_BATCH_BYTES}`);
  if (!chronological) {
    throw invalidParameter("Log events in a single PutLogEvents request must be in chronological order.");
  }
  return { bytes, ...keptRange(events, now, retentionDays) };
}

function keptRange(
  events: readonly InputLogEvent[],
  now: number,
  retentionDays: number | undefined,
): { start: number; end: number; rejected?: RejectedLogEventsInfo } {
  const rejected: RejectedLogEventsInfo = {};
  let end = events.length;
  while (end > 0 && events[end - 1]!.timestamp > now + TOO_NEW_MS) end--;
  if (end < events.length) rejected.tooNewLogEventStartIndex = end;
  const lastBefore = (cutoff: number): number => {
    let i = -1;
    while (i + 1 < end && events[i + 1]!.timestamp < cutoff) i++;
    return i;
  };
  const tooOld = lastBefore(now - TOO_OLD_MS);
  if (tooOld >= 0) rejected.tooOldLogEventEndIndex = tooOld;
  const expired = retentionDays === undefined ? -1 : lastBefore(now - retentionDays * DAY_MS);
  if (expired >= 0) rejected.expiredLogEventEndIndex = expired;
  // AWS measures the 24 h span over the "valid" events: not too old, not too new (expired ones count).
  const valid = tooOld + 1;
  if (valid < end && events[end - 1]!.timestamp - events[valid]!.timestamp > MAX_SPAN_MS) {
    throw invalidParameter("The batch of log events in a single PutLogEvents request cannot span more than 24 hours.");
  }
  const start = Math.max(tooOld, expired) + 1;
  return Object.keys(rejected).length > 0 ? { start, end, rejected } : { start, end };
}
