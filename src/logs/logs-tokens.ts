/**
 * Event ids and pagination tokens. An event's key is (timestamp, row id): the order every read
 * uses. Its eventId is that key as 56 digits (16 for the timestamp, 40 for the row id), so ids
 * are stable, unique, and sort as strings in event order. GetLogEvents tokens are `f/<key>` and
 * `b/<key>`; the Describe* and FilterLogEvents tokens are opaque base64url cursors. A token
 * that does not decode is InvalidParameter, never a silent first page.
 */
import { invalidParameter } from "../core/errors.ts";

export interface EventKey {
  timestamp: number;
  id: number;
}

/** Before every stored event (timestamps are never negative: such events are too old). */
export const FIRST_KEY: EventKey = { timestamp: -1, id: 0 };
/** After every stored event. */
export const LAST_KEY: EventKey = { timestamp: Number.MAX_SAFE_INTEGER, id: 0 };

export const eventIdOf = (key: EventKey): string =>
  String(key.timestamp).padStart(16, "0") + String(key.id).padStart(40, "0");

const badToken = () => invalidParameter("The specified nextToken is invalid.");

function keyOfDigits(digits: string): EventKey {
  if (!/^\d{56}$/.test(digits)) throw badToken();
  const key = { timestamp: Number(digits.slice(0, 16)), id: Number(digits.slice(16)) };
  if (!Number.isSafeInteger(key.timestamp) || !Number.isSafeInteger(key.id)) throw badToken();
  return key;
}

export type Direction = "f" | "b";

/**
 * `f/<key>`: the events after key; `b/<key>`: the events before key. Keys of tokens for empty
 * pages may name no stored event; only their order matters.
 */
export const streamToken = (direction: Direction, key: EventKey): string =>
  `${direction}/${eventIdOf({ timestamp: Math.max(key.timestamp, 0), id: key.id })}`;

export function parseStreamToken(token: string): { direction: Direction; key: EventKey } {
  const m = /^([fb])\/(\d{56})$/.exec(token);
  if (!m) throw badToken();
  return { direction: m[1] as Direction, key: keyOfDigits(m[2]!) };
}

function encode(kind: string, values: (string | number)[]): string {
  return Buffer.from(JSON.stringify([kind, ...values]), "utf8").toString("base64url");
}

function decode(kind: string, token: string): unknown[] {
  let parsed: unknown;
  try {
    parsed = JSON.parse(Buffer.from(token, "base64url").toString("utf8"));
  } catch {
    throw badToken();
  }
  if (!Array.isArray(parsed) || parsed[0] !== kind) throw badToken();
  return parsed.slice(1);
}

/** DescribeLogGroups: the last name returned. */
export const groupsToken = (lastName: string): string => encode("g", [lastName]);
export function parseGroupsToken(token: string): string {
  const [name] = decode("g", token);
  if (typeof name !== "string") throw badToken();
  return name;
}

/** DescribeLogStreams: the last stream's sort value (its name, or its last event time) and name. */
export const streamsToken = (order: number | string, lastName: string): string => encode("s", [order, lastName]);
export function parseStreamsToken(token: string): { order: number | string; name: string } {
  const [order, name] = decode("s", token);
  if ((typeof order !== "number" && typeof order !== "string") || typeof name !== "string") throw badToken();
  return { order, name };
}

/** FilterLogEvents: the key of the last event returned; the next page starts after it. */
export const filterToken = (key: EventKey): string => encode("e", [key.timestamp, key.id]);
export function parseFilterToken(token: string): EventKey {
  const [timestamp, id] = decode("e", token);
  if (!Number.isSafeInteger(timestamp) || !Number.isSafeInteger(id)) throw badToken();
  return { timestamp: timestamp as number, id: id as number };
}
