/**
 * How far a container's output has been shipped: the last line's time (epoch ms) and how
 * many lines with exactly that time were shipped. The agent keeps one per container; the
 * log engine keeps the last one it stored per source, so a batch that is sent again after a
 * crash stores only what it had not stored before. Lines of one container are chronological.
 */
export interface LogCursor {
  time: number;
  count: number;
}

export const START_CURSOR: LogCursor = { time: 0, count: 0 };

/** The cursor after the given chronological lines, starting from `cursor`. */
export function advanceCursor(cursor: LogCursor, events: readonly { timestamp: number }[]): LogCursor {
  let { time, count } = cursor;
  for (const e of events) {
    if (e.timestamp === time) count++;
    else {
      time = e.timestamp;
      count = 1;
    }
  }
  return { time, count };
}

/** The cursor after one more line at `timestamp`. */
export function nextCursor(cursor: LogCursor, timestamp: number): LogCursor {
  return timestamp === cursor.time ? { time: timestamp, count: cursor.count + 1 } : { time: timestamp, count: 1 };
}

const after = (a: LogCursor, b: LogCursor): boolean => a.time > b.time || (a.time === b.time && a.count > b.count);

/** How many leading lines of a batch that starts at `from` were already stored up to `stored`. */
export function alreadyStored(from: LogCursor, events: readonly { timestamp: number }[], stored: LogCursor): number {
  let position = from;
  for (let i = 0; i < events.length; i++) {
    position = nextCursor(position, events[i]!.timestamp);
    if (after(position, stored)) return i;
  }
  return events.length;
}
