/**
 * SqliteLogsEngine against CloudWatch Logs' documented behaviour: every method's happy path and
 * its errors (codes and AWS's messages), paging both ways through a stream, interleaved and
 * stable FilterLogEvents pages, retention, tags and Insights queries. In-memory SQLite except
 * where durability across a reopen is the point.
 */
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, test } from "node:test";
import { FakeClock } from "../../src/core/clock.ts";
import { BerthError } from "../../src/core/errors.ts";
import { SequentialIds } from "../../src/core/ids.ts";
import type { FilteredLogEvent, FilterLogEventsQuery, InputLogEvent, LogsScope } from "../../src/domain/logs.ts";
import { compileFilterPattern } from "../../src/logs/filter-pattern.ts";
import { trigramQuery } from "../../src/logs/logs-fts.ts";
import { SqliteLogsEngine } from "../../src/logs/sqlite-logs-engine.ts";

const T0 = Date.UTC(2026, 0, 1);
const HOUR = 3_600_000;
const DAY = 24 * HOUR;
const scope: LogsScope = { region: "us-east-1", accountId: "123456789012" };
const other: LogsScope = { region: "eu-west-1", accountId: "123456789012" };

function open(clock = new FakeClock(T0)): { logs: SqliteLogsEngine; clock: FakeClock } {
  return { logs: new SqliteLogsEngine({ path: ":memory:", clock, ids: new SequentialIds() }), clock };
}

async function rejectsWith(promise: Promise<unknown>, code: string, message?: string | RegExp): Promise<void> {
  await assert.rejects(promise, (error: unknown) => {
    assert.ok(error instanceof BerthError, `expected a BerthError, got ${String(error)}`);
    assert.equal(error.code, code);
    if (typeof message === "string") assert.equal(error.message, message);
    else if (message) assert.match(error.message, message);
    return true;
  });
}

const events = (count: number, start = T0 - HOUR, step = 1, text = (i: number) => `line ${i}`): InputLogEvent[] =>
  Array.from({ length: count }, (_, i) => ({ timestamp: start + i * step, message: text(i) }));

async function withStream(group = "app", streams = ["s1"]) {
  const env = open();
  await env.logs.createLogGroup(scope, group);
  for (const s of streams) await env.logs.createLogStream(scope, group, s);
  return env;
}

/** Every page of a FilterLogEvents query, following nextToken until it is absent. */
async function filterAll(logs: SqliteLogsEngine, q: FilterLogEventsQuery): Promise<{ pages: number; events: FilteredLogEvent[] }> {
  const all: FilteredLogEvent[] = [];
  let token: string | undefined;
  let pages = 0;
  do {
    const page = await logs.filterLogEvents(scope, token === undefined ? q : { ...q, nextToken: token });
    pages++;
    all.push(...page.events);
    token = page.nextToken;
    assert.ok(pages < 10_000, "pagination must end");
  } while (token !== undefined);
  return { pages, events: all };
}

describe("log groups", () => {
  test("create, describe (ARNs, retention, stored bytes) and delete", async () => {
    const { logs } = open();
    await logs.createLogGroup(scope, "/ecs/web", { retentionInDays: 7, tags: { team: "a" } });
    const { logGroups, nextToken } = await logs.describeLogGroups(scope, {});
    assert.equal(nextToken, undefined);
    assert.deepEqual(logGroups, [
      {
        logGroupName: "/ecs/web",
        arn: "arn:aws:logs:us-east-1:123456789012:log-group:/ecs/web:*",
        logGroupArn: "arn:aws:logs:us-east-1:123456789012:log-group:/ecs/web",
        creationTime: T0,
        retentionInDays: 7,
        storedBytes: 0,
        metricFilterCount: 0,
        logGroupClass: "STANDARD",
      },
    ]);
    await logs.createLogStream(scope, "/ecs/web", "a");
    await logs.putLogEvents(scope, "/ecs/web", "a", [{ timestamp: T0, message: "héllo" }]);
    assert.equal((await logs.describeLogGroups(scope, {})).logGroups[0]?.storedBytes, 6);
    assert.deepEqual((await logs.describeLogGroups(other, {})).logGroups, [], "groups are region-scoped");
    await logs.deleteLogGroup(scope, "/ecs/web");
    assert.deepEqual((await logs.describeLogGroups(scope, {})).logGroups, []);
    await logs.createLogGroup(scope, "/ecs/web");
    assert.deepEqual((await logs.describeLogStreams(scope, { logGroupName: "/ecs/web" })).logStreams, [], "a new group of the same name starts empty");
  });

  const refusals: [string, () => Promise<unknown>, string, string | RegExp][] = [
    ["duplicate name", async () => {
      const { logs } = open();
      await logs.createLogGroup(scope, "g");
      await logs.createLogGroup(scope, "g");
    }, "ResourceAlreadyExists", "The specified log group already exists"],
    ["empty name", () => open().logs.createLogGroup(scope, ""), "InvalidParameter", /length/],
    ["name of 513 characters", () => open().logs.createLogGroup(scope, "a".repeat(513)), "InvalidParameter", /length/],
    ["space in name", () => open().logs.createLogGroup(scope, "a b"), "InvalidParameter", /pattern/],
    ["colon in name", () => open().logs.createLogGroup(scope, "a:b"), "InvalidParameter", /pattern/],
    ["reserved aws/ prefix", () => open().logs.createLogGroup(scope, "aws/x"), "InvalidParameter", /aws\//],
    ["bad retention", () => open().logs.createLogGroup(scope, "g", { retentionInDays: 2 }), "InvalidParameter", /enum/],
    ["51 tags", () => open().logs.createLogGroup(scope, "g", { tags: Object.fromEntries(Array.from({ length: 51 }, (_, i) => [`k${i}`, "v"])) }), "LimitExceeded", /50 tags/],
    ["delete unknown", () => open().logs.deleteLogGroup(scope, "nope"), "ResourceNotFound", "The specified log group does not exist."],
  ];
  for (const [name, act, code, message] of refusals) {
    test(`refused: ${name}`, () => rejectsWith(act(), code, message));
  }

  test("describe: ordered by name, paged, prefix, case-sensitive pattern", async () => {
    const { logs } = open();
    for (const n of ["e", "/aws/DataLogs", "c", "GroupDataLogs", "datalogs", "a", "b"]) await logs.createLogGroup(scope, n);
    const names = async (q: Parameters<SqliteLogsEngine["describeLogGroups"]>[1]) => {
      const out: string[] = [];
      let token: string | undefined;
      do {
        const page = await logs.describeLogGroups(scope, token === undefined ? q : { ...q, nextToken: token });
        assert.ok(page.logGroups.length <= (q.limit ?? 50));
        out.push(...page.logGroups.map((g) => g.logGroupName));
        token = page.nextToken;
      } while (token !== undefined);
      return out;
    };
    assert.deepEqual(await names({ limit: 2 }), ["/aws/DataLogs", "GroupDataLogs", "a", "b", "c", "datalogs", "e"]);
    assert.deepEqual(await names({ logGroupNamePrefix: "/aws" }), ["/aws/DataLogs"]);
    assert.deepEqual(await names({ logGroupNamePattern: "DataLogs", limit: 1 }), ["/aws/DataLogs", "GroupDataLogs"]);
    const first = await logs.describeLogGroups(scope, { limit: 7 });
    assert.equal(first.nextToken, undefined, "no token when the page holds the rest");
    await rejectsWith(logs.describeLogGroups(scope, { logGroupNamePrefix: "a", logGroupNamePattern: "a" }), "InvalidParameter");
    await rejectsWith(logs.describeLogGroups(scope, { limit: 0 }), "InvalidParameter");
    await rejectsWith(logs.describeLogGroups(scope, { limit: 51 }), "InvalidParameter");
    await rejectsWith(logs.describeLogGroups(scope, { nextToken: "garbage" }), "InvalidParameter");
  });
});

describe("log streams", () => {
  test("create and describe: ARN, timestamps, sequence token", async () => {
    const { logs, clock } = await withStream("g", ["s"]);
    clock.advance(5);
    await logs.putLogEvents(scope, "g", "s", [{ timestamp: T0 - 10, message: "a" }, { timestamp: T0 - 5, message: "b" }]);
    await logs.putLogEvents(scope, "g", "s", [{ timestamp: T0 - 20, message: "older, later batch" }]);
    const [s] = (await logs.describeLogStreams(scope, { logGroupName: "g" })).logStreams;
    assert.deepEqual(s, {
      logStreamName: "s",
      arn: "arn:aws:logs:us-east-1:123456789012:log-group:g:log-stream:s",
      creationTime: T0,
      firstEventTimestamp: T0 - 20,
      lastEventTimestamp: T0 - 5,
      lastIngestionTime: T0 + 5,
      uploadSequenceToken: "2".padStart(56, "0"),
      storedBytes: 0,
    });
  });

  const refusals: [string, (logs: SqliteLogsEngine) => Promise<unknown>, string, string | RegExp][] = [
    ["unknown group", (l) => l.createLogStream(scope, "nope", "s"), "ResourceNotFound", "The specified log group does not exist."],
    ["duplicate", (l) => l.createLogStream(scope, "g", "s1"), "ResourceAlreadyExists", "The specified log stream already exists"],
    ["colon", (l) => l.createLogStream(scope, "g", "a:b"), "InvalidParameter", /pattern/],
    ["asterisk", (l) => l.createLogStream(scope, "g", "a*"), "InvalidParameter", /pattern/],
    ["empty", (l) => l.createLogStream(scope, "g", ""), "InvalidParameter", /length/],
    ["delete in unknown group", (l) => l.deleteLogStream(scope, "nope", "s1"), "ResourceNotFound", "The specified log group does not exist."],
    ["delete unknown", (l) => l.deleteLogStream(scope, "g", "nope"), "ResourceNotFound", "The specified log stream does not exist."],
    ["describe unknown group", (l) => l.describeLogStreams(scope, { logGroupName: "nope" }), "ResourceNotFound", "The specified log group does not exist."],
    ["LastEventTime with prefix", (l) => l.describeLogStreams(scope, { logGroupName: "g", orderBy: "LastEventTime", logStreamNamePrefix: "s" }), "InvalidParameter", "Cannot order by LastEventTime with a logStreamNamePrefix."],
    ["limit 51", (l) => l.describeLogStreams(scope, { logGroupName: "g", limit: 51 }), "InvalidParameter", /less than or equal to 50/],
  ];
  for (const [name, act, code, message] of refusals) {
    test(`refused: ${name}`, async () => rejectsWith(act((await withStream("g", ["s1"])).logs), code, message));
  }

  test("describe: by name (prefix, both directions) and by last event time, paged", async () => {
    const { logs } = await withStream("g", ["web/1", "web/2", "db/1", "web/3", "idle"]);
    const put = (s: string, t: number) => logs.putLogEvents(scope, "g", s, [{ timestamp: t, message: "x" }]);
    await put("web/1", T0 - 30);
    await put("web/2", T0 - 10);
    await put("db/1", T0 - 20);
    await put("web/3", T0 - 40);
    const walk = async (q: Omit<Parameters<SqliteLogsEngine["describeLogStreams"]>[1], "logGroupName">) => {
      const out: string[] = [];
      let token: string | undefined;
      do {
        const page = await logs.describeLogStreams(scope, { logGroupName: "g", ...q, limit: 2, ...(token ? { nextToken: token } : {}) });
        out.push(...page.logStreams.map((s) => s.logStreamName));
        token = page.nextToken;
      } while (token !== undefined);
      return out;
    };
    assert.deepEqual(await walk({}), ["db/1", "idle", "web/1", "web/2", "web/3"]);
    assert.deepEqual(await walk({ descending: true }), ["web/3", "web/2", "web/1", "idle", "db/1"]);
    assert.deepEqual(await walk({ logStreamNamePrefix: "web/" }), ["web/1", "web/2", "web/3"]);
    assert.deepEqual(await walk({ logStreamNamePrefix: "web/", descending: true }), ["web/3", "web/2", "web/1"]);
    assert.deepEqual(await walk({ orderBy: "LastEventTime" }), ["idle", "web/3", "web/1", "db/1", "web/2"]);
    assert.deepEqual(await walk({ orderBy: "LastEventTime", descending: true }), ["web/2", "db/1", "web/1", "web/3", "idle"]);
  });

  test("deleting a stream deletes its events, from FilterLogEvents' index too", async () => {
    const { logs } = await withStream("g", ["a", "b"]);
    await logs.putLogEvents(scope, "g", "a", [{ timestamp: T0, message: "needle in a" }]);
    await logs.putLogEvents(scope, "g", "b", [{ timestamp: T0, message: "needle in b" }]);
    await logs.deleteLogStream(scope, "g", "a");
    const found = await logs.filterLogEvents(scope, { logGroupName: "g", filterPattern: "needle" });
    assert.deepEqual(found.events.map((e) => e.message), ["needle in b"]);
    assert.equal((await logs.describeLogGroups(scope, {})).logGroups[0]?.storedBytes, "needle in b".length);
  });
});

describe("PutLogEvents", () => {
  test("stores the batch and returns a new sequence token each time", async () => {
    const { logs } = await withStream();
    const first = await logs.putLogEvents(scope, "app", "s1", events(3));
    const second = await logs.putLogEvents(scope, "app", "s1", events(1, T0));
    assert.match(first.nextSequenceToken, /^\d{56}$/);
    assert.notEqual(first.nextSequenceToken, second.nextSequenceToken);
    assert.equal(first.rejectedLogEventsInfo, undefined);
    const got = await logs.getLogEvents(scope, { logGroupName: "app", logStreamName: "s1", startFromHead: true });
    assert.deepEqual(got.events.map((e) => e.message), ["line 0", "line 1", "line 2", "line 0"]);
    assert.ok(got.events.every((e) => e.ingestionTime === T0));
  });

  test("messages come back character for character, with their exact timestamps", async () => {
    const { logs } = await withStream();
    const messages = ['{"level":"ERROR","n":1e3}', 'quote " backslash \\ slash /', "tab\tand\nnewline\r\n", "ctrl \u0001\u001f nul \u0000 end", "é ü 😀 日本", "[1, 2]", "123", "null", "  spaced  "];
    const batch = messages.map((message, i) => ({ timestamp: T0 - HOUR + i * 1_234, message }));
    await logs.putLogEvents(scope, "app", "s1", batch);
    const got = await logs.getLogEvents(scope, { logGroupName: "app", logStreamName: "s1", startFromHead: true });
    assert.deepEqual(got.events.map((e) => ({ timestamp: e.timestamp, message: e.message })), batch);
    assert.ok(got.events.every((e) => typeof e.message === "string" && Number.isInteger(e.timestamp)));
  });

  const MB = 1_048_576;
  const refusals: [string, InputLogEvent[], string, string | RegExp][] = [
    ["an empty batch", [], "InvalidParameter", /logEvents/],
    ["10,001 events", events(10_001, T0 - HOUR, 0), "InvalidParameter", /exceeded/],
    ["1,048,577 bytes", [{ timestamp: T0, message: "x".repeat(MB - 26 + 1) }], "InvalidParameter", /^Upload too large/],
    ["an empty message", [{ timestamp: T0, message: "a" }, { timestamp: T0, message: "" }], "InvalidParameter", /logEvents\.2\.member\.message/],
    ["events out of order", [{ timestamp: T0, message: "b" }, { timestamp: T0 - 1, message: "a" }], "InvalidParameter", "Log events in a single PutLogEvents request must be in chronological order."],
    ["a span over 24 h", [{ timestamp: T0 - DAY - 1, message: "a" }, { timestamp: T0, message: "b" }], "InvalidParameter", /24 hours/],
  ];
  for (const [name, batch, code, message] of refusals) {
    test(`refuses ${name} and stores nothing`, async () => {
      const { logs } = await withStream();
      await rejectsWith(logs.putLogEvents(scope, "app", "s1", batch), code, message);
      const got = await logs.getLogEvents(scope, { logGroupName: "app", logStreamName: "s1" });
      assert.deepEqual(got.events, []);
      const [s] = (await logs.describeLogStreams(scope, { logGroupName: "app" })).logStreams;
      assert.equal(s?.lastIngestionTime, undefined);
    });
  }

  test("accepts exactly 1,048,576 bytes and 10,000 events", async () => {
    const { logs } = await withStream();
    await logs.putLogEvents(scope, "app", "s1", [{ timestamp: T0, message: "é".repeat((MB - 26) / 2) }]);
    await logs.putLogEvents(scope, "app", "s1", events(10_000, T0 - HOUR, 0));
    const page = await logs.getLogEvents(scope, { logGroupName: "app", logStreamName: "s1", startFromHead: true, limit: 10_000 });
    assert.equal(page.events.length, 10_000, "10,000 small events fit one page");
  });

  test("unknown group or stream: AWS's messages", async () => {
    const { logs } = await withStream();
    await rejectsWith(logs.putLogEvents(scope, "nope", "s1", events(1)), "ResourceNotFound", "The specified log group does not exist.");
    await rejectsWith(logs.putLogEvents(scope, "app", "nope", events(1)), "ResourceNotFound", "The specified log stream does not exist.");
  });

  test("too new, too old and expired events are reported and dropped; the rest is stored", async () => {
    const { logs } = await withStream();
    await logs.putRetentionPolicy(scope, "app", 1);
    const batch = [
      { timestamp: T0 - 15 * DAY, message: "too old" },
      { timestamp: T0 - DAY - 1, message: "expired" },
      { timestamp: T0 - HOUR, message: "kept 1" },
      { timestamp: T0 - 1, message: "kept 2" },
      { timestamp: T0 + 2 * HOUR + 1, message: "too new" },
    ];
    const r = await logs.putLogEvents(scope, "app", "s1", batch);
    assert.deepEqual(r.rejectedLogEventsInfo, { tooOldLogEventEndIndex: 0, expiredLogEventEndIndex: 1, tooNewLogEventStartIndex: 4 });
    const edge = await logs.putLogEvents(scope, "app", "s1", [{ timestamp: T0 + 2 * HOUR, message: "exactly 2 h ahead" }]);
    assert.equal(edge.rejectedLogEventsInfo, undefined);
    const allNew = await logs.putLogEvents(scope, "app", "s1", batch.slice(4));
    assert.deepEqual(allNew.rejectedLogEventsInfo, { tooNewLogEventStartIndex: 0 });
    const got = await logs.getLogEvents(scope, { logGroupName: "app", logStreamName: "s1", startFromHead: true });
    assert.deepEqual(got.events.map((e) => e.message), ["kept 1", "kept 2", "exactly 2 h ahead"]);
  });

  test("the 24 h span counts expired events but not too old or too new ones", async () => {
    const { logs } = await withStream();
    await logs.putRetentionPolicy(scope, "app", 1);
    const tooOld = { timestamp: T0 - 15 * DAY, message: "too old" };
    const expired = { timestamp: T0 - 2 * DAY, message: "expired" };
    const now = { timestamp: T0, message: "now" };
    const tooNew = { timestamp: T0 + 3 * HOUR, message: "too new" };
    assert.deepEqual((await logs.putLogEvents(scope, "app", "s1", [tooOld, now, tooNew])).rejectedLogEventsInfo, {
      tooOldLogEventEndIndex: 0,
      expiredLogEventEndIndex: 0,
      tooNewLogEventStartIndex: 2,
    });
    await rejectsWith(logs.putLogEvents(scope, "app", "s1", [expired, now]), "InvalidParameter", /24 hours/);
  });
});

describe("GetLogEvents", () => {
  const setup = async () => {
    const env = await withStream();
    await env.logs.putLogEvents(scope, "app", "s1", events(10, T0 - 100, 10)); // timestamps T0-100 … T0-10
    return env;
  };
  const q = { logGroupName: "app", logStreamName: "s1" };
  const messages = (page: { events: { message: string }[] }) => page.events.map((e) => e.message);

  test("newest page by default, oldest with startFromHead; startTime inclusive, endTime exclusive", async () => {
    const { logs } = await setup();
    assert.deepEqual(messages(await logs.getLogEvents(scope, { ...q, limit: 3 })), ["line 7", "line 8", "line 9"]);
    assert.deepEqual(messages(await logs.getLogEvents(scope, { ...q, limit: 3, startFromHead: true })), ["line 0", "line 1", "line 2"]);
    const windowed = await logs.getLogEvents(scope, { ...q, startTime: T0 - 80, endTime: T0 - 50, startFromHead: true });
    assert.deepEqual(messages(windowed), ["line 2", "line 3", "line 4"]);
  });

  test("forward paging ends when the token repeats, then picks up new events", async () => {
    const { logs } = await setup();
    const seen: string[] = [];
    let page = await logs.getLogEvents(scope, { ...q, limit: 4, startFromHead: true });
    seen.push(...messages(page));
    for (;;) {
      const next = await logs.getLogEvents(scope, { ...q, limit: 4, nextToken: page.nextForwardToken });
      seen.push(...messages(next));
      if (next.nextForwardToken === page.nextForwardToken) break;
      page = next;
    }
    assert.deepEqual(seen, events(10).map((e) => e.message));
    assert.match(page.nextForwardToken, /^f\/\d{56}$/);
    await logs.putLogEvents(scope, "app", "s1", [{ timestamp: T0, message: "new" }]);
    const more = await logs.getLogEvents(scope, { ...q, nextToken: page.nextForwardToken });
    assert.deepEqual(messages(more), ["new"]);
  });

  test("backward paging from the newest page reaches the oldest, then the token repeats", async () => {
    const { logs } = await setup();
    let page = await logs.getLogEvents(scope, { ...q, limit: 3 });
    const pages = [messages(page)];
    for (;;) {
      const prev = await logs.getLogEvents(scope, { ...q, limit: 3, nextToken: page.nextBackwardToken });
      if (prev.nextBackwardToken === page.nextBackwardToken) {
        assert.deepEqual(prev.events, []);
        break;
      }
      pages.unshift(messages(prev));
      page = prev;
    }
    assert.deepEqual(pages, [["line 0"], ["line 1", "line 2", "line 3"], ["line 4", "line 5", "line 6"], ["line 7", "line 8", "line 9"]]);
    const forward = await logs.getLogEvents(scope, { ...q, limit: 2, nextToken: page.nextForwardToken });
    assert.deepEqual(messages(forward), ["line 1", "line 2"], "turning round at the head goes forward from there");
  });

  test("an empty stream still returns tokens, which repeat", async () => {
    const { logs } = await withStream();
    const page = await logs.getLogEvents(scope, q);
    assert.deepEqual(page.events, []);
    const again = await logs.getLogEvents(scope, { ...q, nextToken: page.nextForwardToken });
    assert.equal(again.nextForwardToken, page.nextForwardToken);
  });

  const refusals: [string, Partial<typeof q> & Record<string, unknown>, string, string | RegExp][] = [
    ["unknown group", { logGroupName: "nope" }, "ResourceNotFound", "The specified log group does not exist."],
    ["unknown stream", { logStreamName: "nope" }, "ResourceNotFound", "The specified log stream does not exist."],
    ["a token that is not ours", { nextToken: "f/123" }, "InvalidParameter", /nextToken/],
    ["limit 10,001", { limit: 10_001 }, "InvalidParameter", /10000/],
  ];
  for (const [name, change, code, message] of refusals) {
    test(`refused: ${name}`, async () => rejectsWith((await setup()).logs.getLogEvents(scope, { ...q, ...change }), code, message));
  }
});

describe("FilterLogEvents", () => {
  const setup = async () => {
    const env = await withStream("app", ["web/1", "web/2", "worker"]);
    const put = (s: string, batch: [number, string][]) =>
      env.logs.putLogEvents(scope, "app", s, batch.map(([t, message]) => ({ timestamp: T0 + t, message })));
    await put("web/1", [[-50, "GET / 200"], [-30, "GET /a 500 ERROR"], [-10, "GET /b 200"]]);
    await put("web/2", [[-40, "GET /c 200"], [-30, "POST /d 503 ERROR"], [-20, "GET /e 200"]]);
    await put("worker", [[-45, "job started"], [-15, "job failed: ERROR timeout"]]);
    return env;
  };
  const q = { logGroupName: "app" };

  test("interleaves streams by (timestamp, eventId); eventIds are 56 digits and stable", async () => {
    const { logs } = await setup();
    const page = await logs.filterLogEvents(scope, q);
    assert.deepEqual(
      page.events.map((e) => [e.timestamp - T0, e.logStreamName]),
      [[-50, "web/1"], [-45, "worker"], [-40, "web/2"], [-30, "web/1"], [-30, "web/2"], [-20, "web/2"], [-15, "worker"], [-10, "web/1"]],
    );
    assert.equal(page.nextToken, undefined, "no nextToken on the last page");
    const ids = page.events.map((e) => e.eventId);
    assert.ok(ids.every((id) => /^\d{56}$/.test(id)));
    assert.deepEqual([...ids].sort(), ids, "eventIds sort like the events");
    assert.equal(new Set(ids).size, ids.length);
    assert.deepEqual((await logs.filterLogEvents(scope, q)).events.map((e) => e.eventId), ids, "the same ids on every call");
    const [e] = page.events;
    assert.deepEqual(Object.keys(e!).sort(), ["eventId", "ingestionTime", "logStreamName", "message", "timestamp"]);
  });

  test("startTime and endTime are both inclusive", async () => {
    const { logs } = await setup();
    const page = await logs.filterLogEvents(scope, { ...q, startTime: T0 - 30, endTime: T0 - 15 });
    assert.deepEqual(page.events.map((e) => e.timestamp - T0), [-30, -30, -20, -15]);
  });

  test("pages never repeat an event, and only a page with more after it has a nextToken", async () => {
    const { logs } = await setup();
    for (const limit of [1, 2, 3, 4, 8, 9]) {
      const { pages, events: all } = await filterAll(logs, { ...q, limit });
      assert.equal(all.length, 8);
      assert.equal(new Set(all.map((e) => e.eventId)).size, 8, `limit ${limit}: no event twice`);
      assert.equal(pages, Math.ceil(8 / limit), `limit ${limit}: no trailing empty page`);
    }
  });

  test("like `aws logs tail --follow`: startTime = newest seen, skip seen ids", async () => {
    const { logs } = await setup();
    const first = await logs.filterLogEvents(scope, { ...q, startTime: T0 - 60 });
    const newest = Math.max(...first.events.map((e) => e.timestamp));
    const seen = new Set(first.events.filter((e) => e.timestamp === newest).map((e) => e.eventId));
    await logs.putLogEvents(scope, "app", "worker", [{ timestamp: T0 - 10, message: "same ms" }, { timestamp: T0 - 5, message: "later" }]);
    const next = await logs.filterLogEvents(scope, { ...q, startTime: newest });
    assert.equal(next.nextToken, undefined);
    assert.deepEqual(next.events.filter((e) => !seen.has(e.eventId)).map((e) => e.message), ["same ms", "later"]);
  });

  test("stream names or a prefix narrow the search; both together are refused", async () => {
    const { logs } = await setup();
    const streams = async (extra: Partial<FilterLogEventsQuery>) =>
      [...new Set((await logs.filterLogEvents(scope, { ...q, ...extra })).events.map((e) => e.logStreamName))].sort();
    assert.deepEqual(await streams({ logStreamNames: ["worker"] }), ["worker"]);
    assert.deepEqual(await streams({ logStreamNames: ["web/2", "worker", "missing"] }), ["web/2", "worker"]);
    assert.deepEqual(await streams({ logStreamNames: ["missing"] }), []);
    assert.deepEqual(await streams({ logStreamNamePrefix: "web/" }), ["web/1", "web/2"]);
    assert.deepEqual(await streams({ logStreamNamePrefix: "web/", filterPattern: "ERROR" }), ["web/1", "web/2"]);
    await rejectsWith(logs.filterLogEvents(scope, { ...q, logStreamNames: ["a"], logStreamNamePrefix: "a" }), "InvalidParameter");
    await rejectsWith(logs.filterLogEvents(scope, { logGroupName: "nope" }), "ResourceNotFound", "The specified log group does not exist.");
    await rejectsWith(logs.filterLogEvents(scope, { ...q, limit: 0 }), "InvalidParameter");
    await rejectsWith(logs.filterLogEvents(scope, { ...q, nextToken: "not-a-token" }), "InvalidParameter");
    await rejectsWith(logs.filterLogEvents(scope, { ...q, filterPattern: '"unterminated' }), "InvalidParameter");
  });

  const patterns: [string, string[]][] = [
    ["ERROR", ["GET /a 500 ERROR", "POST /d 503 ERROR", "job failed: ERROR timeout"]],
    ["ERROR -POST", ["GET /a 500 ERROR", "job failed: ERROR timeout"]],
    ["?POST ?job", ["job started", "POST /d 503 ERROR", "job failed: ERROR timeout"]],
    ['"failed: ERROR"', ["job failed: ERROR timeout"]],
    ["RROR", ["GET /a 500 ERROR", "POST /d 503 ERROR", "job failed: ERROR timeout"]],
    ["error", []],
    ["50", ["GET /a 500 ERROR", "POST /d 503 ERROR"]],
    ["[verb, path, status=5*, ...]", ["GET /a 500 ERROR", "POST /d 503 ERROR"]],
    ["", ["GET / 200", "job started", "GET /c 200", "GET /a 500 ERROR", "POST /d 503 ERROR", "GET /e 200", "job failed: ERROR timeout", "GET /b 200"]],
  ];
  for (const [pattern, expected] of patterns) {
    test(`filter pattern ${JSON.stringify(pattern)}`, async () => {
      const { logs } = await setup();
      const { events: found } = await filterAll(logs, { ...q, filterPattern: pattern, limit: 2 });
      assert.deepEqual(found.map((e) => e.message), expected);
    });
  }

  test("terms outside ASCII, and terms inside words, are found", async () => {
    const { logs } = await withStream();
    const lines = ["café ünïcode", "emoji 😀😀😀x here", "xERRORx glued", "plain"];
    await logs.putLogEvents(scope, "app", "s1", lines.map((message, i) => ({ timestamp: T0 + i, message })));
    const find = async (filterPattern: string) =>
      (await logs.filterLogEvents(scope, { ...q, filterPattern })).events.map((e) => e.message);
    assert.deepEqual(await find("ünï"), ["café ünïcode"]);
    assert.deepEqual(await find("😀😀x"), ["emoji 😀😀😀x here"]);
    assert.deepEqual(await find("ERROR"), ["xERRORx glued"]);
    assert.deepEqual(await find("ÜNÏ"), [], "terms are case-sensitive");
  });

  test("the term index agrees with a plain scan, for rare terms and for terms in every block", async () => {
    const { logs } = await withStream("app", ["a", "b"]);
    // 1,100 single-event batches: 1,100 index blocks, past the point where a scan is chosen.
    for (let i = 0; i < 1_100; i++) {
      const stream = i % 2 === 0 ? "a" : "b";
      const message = `req-${i} common ${i % 97 === 0 ? "RAREWORD" : "noise"} x${i % 7 === 0 ? "NEEDLEx" : ""}`;
      await logs.putLogEvents(scope, "app", stream, [{ timestamp: T0 - 2_000 + (i % 500), message }]);
    }
    await logs.putLogEvents(scope, "app", "a", events(3_000, T0 - 1_500, 0, (i) => `bulk ${i} common${i === 1234 ? " RAREWORD" : ""}`));
    const everything = await filterAll(logs, { ...q });
    for (const pattern of ["RAREWORD", "common", "NEEDLE", "req-1099", "?RAREWORD ?NEEDLE", "common -noise"]) {
      const matcher = compileFilterPattern(pattern);
      for (const startTime of [undefined, T0 - 1_900]) {
        const expected = everything.events
          .filter((e) => (startTime === undefined || e.timestamp >= startTime) && matcher.matches(e.message))
          .map((e) => e.eventId);
        const found = await filterAll(logs, { ...q, filterPattern: pattern, limit: 500, ...(startTime ? { startTime } : {}) });
        if (startTime === undefined) assert.ok(expected.length > 0, pattern);
        assert.deepEqual(found.events.map((e) => e.eventId), expected, `pattern ${pattern} from ${startTime}`);
      }
    }
  });
});

describe("retention", () => {
  test("PutRetentionPolicy takes only AWS's values; DeleteRetentionPolicy clears it", async () => {
    const { logs } = await withStream();
    for (const days of [0, 2, 4000]) await rejectsWith(logs.putRetentionPolicy(scope, "app", days), "InvalidParameter");
    await rejectsWith(logs.putRetentionPolicy(scope, "nope", 1), "ResourceNotFound", "The specified log group does not exist.");
    await logs.putRetentionPolicy(scope, "app", 3653);
    assert.equal((await logs.describeLogGroups(scope, {})).logGroups[0]?.retentionInDays, 3653);
    await logs.deleteRetentionPolicy(scope, "app");
    assert.equal((await logs.describeLogGroups(scope, {})).logGroups[0]?.retentionInDays, undefined);
    await rejectsWith(logs.deleteRetentionPolicy(scope, "nope"), "ResourceNotFound");
  });

  test("enforceRetention deletes events older than the retention, in batches, and updates stored bytes", async () => {
    const { logs, clock } = await withStream("app", ["s1", "s2"]);
    await logs.createLogGroup(scope, "forever");
    await logs.createLogStream(scope, "forever", "s");
    await logs.putLogEvents(scope, "forever", "s", events(5, T0 - HOUR));
    await logs.putLogEvents(scope, "app", "s1", events(6_000, T0 - 2 * HOUR, 0, (i) => `old ${i} tokenX`));
    await logs.putLogEvents(scope, "app", "s2", events(2, T0 - HOUR, 1, (i) => `old ${i} tokenX`));
    clock.advance(DAY);
    await logs.putLogEvents(scope, "app", "s2", [{ timestamp: clock.now(), message: "fresh tokenX" }]);
    await logs.putRetentionPolicy(scope, "app", 1);
    assert.equal(await logs.enforceRetention(clock.now()), 6_002);
    assert.equal(await logs.enforceRetention(clock.now()), 0);
    const rest = await filterAll(logs, { logGroupName: "app" });
    assert.deepEqual(rest.events.map((e) => e.message), ["fresh tokenX"]);
    assert.deepEqual((await filterAll(logs, { logGroupName: "app", filterPattern: "tokenX" })).events.map((e) => e.message), ["fresh tokenX"]);
    const groups = (await logs.describeLogGroups(scope, {})).logGroups;
    assert.equal(groups.find((g) => g.logGroupName === "app")?.storedBytes, "fresh tokenX".length);
    assert.equal((await filterAll(logs, { logGroupName: "forever" })).events.length, 5, "groups without retention keep everything");
    const [s1, s2] = (await logs.describeLogStreams(scope, { logGroupName: "app" })).logStreams;
    assert.equal(s1?.firstEventTimestamp, undefined);
    assert.equal(s2?.firstEventTimestamp, clock.now());
  });
});

describe("tags", () => {
  const arn = "arn:aws:logs:us-east-1:123456789012:log-group:app";
  test("tag, list and untag by ARN (with or without :*)", async () => {
    const { logs } = open();
    await logs.createLogGroup(scope, "app", { tags: { a: "1" } });
    await logs.tagResource(scope, arn, { b: "2", a: "3" });
    assert.deepEqual(await logs.listTagsForResource(scope, `${arn}:*`), { a: "3", b: "2" });
    await logs.untagResource(scope, arn, ["a", "missing"]);
    assert.deepEqual(await logs.listTagsForResource(scope, arn), { b: "2" });
    assert.deepEqual(await logs.listTagsForResource(other, arn), { b: "2" }, "the ARN's region wins");
  });

  const refusals: [string, (l: SqliteLogsEngine) => Promise<unknown>, string][] = [
    ["more than 50 tags", (l) => l.tagResource(scope, arn, Object.fromEntries(Array.from({ length: 50 }, (_, i) => [`k${i}`, "v"]))), "LimitExceeded"],
    ["an unknown group", (l) => l.tagResource(scope, `${arn}-nope`, { a: "1" }), "ResourceNotFound"],
    ["another account", (l) => l.listTagsForResource(scope, "arn:aws:logs:us-east-1:999999999999:log-group:app"), "ResourceNotFound"],
    ["a non-Logs ARN", (l) => l.listTagsForResource(scope, "arn:aws:ecs:us-east-1:123456789012:cluster/app"), "InvalidParameter"],
  ];
  for (const [name, act, code] of refusals) {
    test(`refused: ${name}`, async () => {
      const { logs } = open();
      await logs.createLogGroup(scope, "app", { tags: { x: "1" } });
      await rejectsWith(act(logs), code);
    });
  }
});

describe("Insights queries", () => {
  const setup = async () => {
    const env = await withStream("app", ["a", "b"]);
    await env.logs.createLogGroup(scope, "other");
    await env.logs.createLogStream(scope, "other", "c");
    await env.logs.putLogEvents(scope, "app", "a", [
      { timestamp: T0 - 3_500, message: "before the window" },
      { timestamp: T0 - 3_000, message: "ERROR one" },
      { timestamp: T0 - 2_000, message: "ok" },
    ]);
    await env.logs.putLogEvents(scope, "app", "b", [{ timestamp: T0 - 1_001, message: "ERROR two" }]);
    await env.logs.putLogEvents(scope, "other", "c", [{ timestamp: T0 - 1_500, message: "ERROR three" }]);
    return env;
  };
  const window = { startTime: (T0 - 3_000) / 1000, endTime: (T0 - 2_000) / 1000 };

  test("runs over the groups' events in [startTime, endTime] seconds, inclusive", async () => {
    const { logs } = await setup();
    const id = await logs.startQuery(scope, {
      logGroupNames: ["app", "other"],
      ...window,
      queryString: "fields @message, @logStream | filter @message like /ERROR/ | sort @timestamp asc",
    });
    const r = await logs.getQueryResults(scope, id);
    assert.equal(r.status, "Complete");
    const messages = r.results.map((row) => row.find((f) => f.field === "@message")?.value);
    assert.deepEqual(messages, ["ERROR one", "ERROR three", "ERROR two"]);
    assert.equal(r.statistics.recordsScanned, 4);
    assert.equal(r.statistics.recordsMatched, 3);
    assert.equal(r.statistics.bytesScanned, "ERROR one".length + "ok".length + "ERROR two".length + "ERROR three".length);
    await rejectsWith(logs.stopQuery(scope, id), "InvalidParameter");
    await rejectsWith(logs.getQueryResults(other, id), "ResourceNotFound");
  });

  const refusals: [string, Parameters<SqliteLogsEngine["startQuery"]>[1], string][] = [
    ["a malformed query", { logGroupNames: ["app"], ...window, queryString: "fields | | nope(" }, "MalformedQuery"],
    ["an unknown group", { logGroupNames: ["app", "nope"], ...window, queryString: "fields @message" }, "ResourceNotFound"],
    ["no groups", { logGroupNames: [], ...window, queryString: "fields @message" }, "InvalidParameter"],
    ["end before start", { logGroupNames: ["app"], startTime: 10, endTime: 9, queryString: "fields @message" }, "InvalidParameter"],
  ];
  for (const [name, input, code] of refusals) {
    test(`refused: ${name}`, async () => rejectsWith((await setup()).logs.startQuery(scope, input), code));
  }

  test("only the last 100 queries are kept", async () => {
    const { logs } = await setup();
    const ids: string[] = [];
    for (let i = 0; i < 101; i++) ids.push(await logs.startQuery(scope, { logGroupNames: ["app"], ...window, queryString: "fields @message" }));
    await rejectsWith(logs.getQueryResults(scope, ids[0]!), "ResourceNotFound");
    assert.equal((await logs.getQueryResults(scope, ids[100]!)).status, "Complete");
    await rejectsWith(logs.stopQuery(scope, "00000000-0000-4000-8000-000000000000"), "ResourceNotFound");
  });
});

describe("storage", () => {
  test("what a call stored survives a reopen of the file", async () => {
    const dir = mkdtempSync(join(tmpdir(), "berth-logs-"));
    try {
      const clock = new FakeClock(T0);
      const first = new SqliteLogsEngine({ path: join(dir, "logs.db"), clock });
      await first.createLogGroup(scope, "app");
      await first.createLogStream(scope, "app", "s");
      await first.putLogEvents(scope, "app", "s", events(3, T0 - 10, 1, (i) => `durable ${i}`));
      const before = await first.filterLogEvents(scope, { logGroupName: "app", filterPattern: "durable" });
      await first.close();
      const second = new SqliteLogsEngine({ path: join(dir, "logs.db"), clock });
      const after = await second.filterLogEvents(scope, { logGroupName: "app", filterPattern: "durable" });
      assert.deepEqual(after, before);
      await second.close();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test("events are found by term before they enter the index, the same after, and deletes take pending blocks along", async () => {
    const logs = new SqliteLogsEngine({ path: ":memory:", clock: new FakeClock(T0), indexing: { idleMs: 60_000 } });
    await logs.createLogGroup(scope, "app");
    for (const s of ["s1", "s2"]) await logs.createLogStream(scope, "app", s);
    await logs.putLogEvents(scope, "app", "s1", events(500, T0 - HOUR, 1, (i) => (i % 97 === 0 ? `rare needle ${i}` : `hay ${i}`)));
    await logs.putLogEvents(scope, "app", "s2", events(500, T0 - HOUR, 1, (i) => `hay ${i}`));
    assert.ok(logs.unindexedBlocks > 0, "nothing is indexed while writes are recent");
    const query = { logGroupName: "app", filterPattern: "needle" };
    const pending = await filterAll(logs, query);
    assert.deepEqual(pending.events.map((e) => e.message), [0, 97, 194, 291, 388, 485].map((i) => `rare needle ${i}`));
    logs.indexPending();
    assert.equal(logs.unindexedBlocks, 0);
    assert.deepEqual(await filterAll(logs, query), pending, "the index changes no result");
    await logs.putLogEvents(scope, "app", "s2", events(3, T0 - 10, 1, (i) => `needle late ${i}`));
    await logs.deleteLogStream(scope, "app", "s2");
    assert.equal(logs.unindexedBlocks, 0, "the deleted stream's pending block went with it");
    assert.deepEqual(await filterAll(logs, query), pending);
    await logs.close();
  });

  test("past maxPendingBlocks a batch is indexed at once; a reopened file indexes what was left pending", async () => {
    const dir = mkdtempSync(join(tmpdir(), "berth-logs-"));
    try {
      const clock = new FakeClock(T0);
      const path = join(dir, "logs.db");
      const first = new SqliteLogsEngine({ path, clock, indexing: { idleMs: 60_000, maxPendingBlocks: 3 } });
      await first.createLogGroup(scope, "app");
      await first.createLogStream(scope, "app", "s");
      await first.putLogEvents(scope, "app", "s", events(64 * 10, T0 - HOUR));
      assert.equal(first.unindexedBlocks, 3, "10 blocks written, all but 3 indexed at once");
      await first.close();
      const second = new SqliteLogsEngine({ path, clock, indexing: { idleMs: 10 } });
      for (const deadline = Date.now() + 5_000; second.unindexedBlocks > 0; await new Promise((r) => setTimeout(r, 10))) {
        assert.ok(Date.now() < deadline, "the pending blocks are indexed after the reopen");
      }
      assert.equal((await filterAll(second, { logGroupName: "app", filterPattern: '"line 639"' })).events.length, 1);
      await second.close();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  const hints: [string, string | undefined][] = [
    ['"ERROR"', '("ERR" AND "RRO" AND "ROR")'],
    ['"ab"', undefined],
    ['"a""b" OR "xyz"', '("a""b") OR ("xyz")'],
    ['"abc" AND', undefined],
    ["NEAR(abc)", undefined],
  ];
  for (const [hint, expected] of hints) {
    test(`term index query for ${hint}`, () => {
      const got = trigramQuery(hint);
      if (expected === undefined) assert.equal(got, undefined);
      else assert.equal(got, expected);
    });
  }
});
