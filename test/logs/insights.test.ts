import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { BerthError, ErrorCode } from "../../src/core/errors.ts";
import { type InsightsEvent, parseInsightsQuery, runInsightsQuery } from "../../src/logs/insights.ts";

function random(seed: number): () => number {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
const pick = <T>(rnd: () => number, items: readonly T[]): T => items[Math.floor(rnd() * items.length)]!;

const T0 = Date.UTC(2024, 2, 1, 12, 0, 0);
const GROUP = "123456789012:/ecs/web";

interface Access {
  elb: string;
  elb_status_code: number;
  target_status_code?: number;
  level: string;
  msg: string;
  path: string;
  latency: number;
}

/** A few thousand events: ALB-like JSON access lines, with some plain-text lines among them. */
function generate(count: number): { events: InsightsEvent[]; docs: (Access | undefined)[] } {
  const rnd = random(2024);
  const events: InsightsEvent[] = [];
  const docs: (Access | undefined)[] = [];
  for (let i = 0; i < count; i++) {
    const timestamp = T0 + Math.floor(rnd() * 3_600_000);
    if (rnd() < 0.05) {
      events.push({ timestamp, message: `plain text line ${i}`, logStream: "web/app/1", logGroup: GROUP });
      docs.push(undefined);
      continue;
    }
    const elbStatus = pick(rnd, [200, 200, 200, 201, 302, 404, 500, 502, 503]);
    const doc: Access = {
      elb: pick(rnd, ["app/web/1", "app/api/2"]),
      elb_status_code: elbStatus,
      ...(elbStatus === 502 && rnd() < 0.5 ? {} : { target_status_code: pick(rnd, [200, 200, 404, 500, 504]) }),
      level: pick(rnd, ["INFO", "INFO", "DEBUG", "WARN", "ERROR"]),
      msg: pick(rnd, ["request done", "slow request", "upstream failed", "retrying"]),
      path: pick(rnd, ["/", "/api/users", "/api/orders", "/health"]),
      latency: Math.floor(rnd() * 2000),
    };
    events.push({ timestamp, message: JSON.stringify(doc), logStream: `web/app/${i % 3}`, logGroup: GROUP, ingestionTime: timestamp + 5 });
    docs.push(doc);
  }
  return { events, docs };
}

type Row = { field: string; value: string }[];
const run = (query: string, events: InsightsEvent[], limit?: number) => runInsightsQuery(parseInsightsQuery(query), events, limit);
const asObject = (row: Row) => Object.fromEntries(row.map((p) => [p.field, p.value]));
const withoutPtr = (row: Row) => asObject(row.filter((p) => p.field !== "@ptr"));
const canonical = (rows: Row[]) => rows.map((r) => JSON.stringify(r)).sort();
const ev = (timestamp: number, message: string, logStream = "s1"): InsightsEvent => ({ timestamp, message, logStream, logGroup: GROUP });

describe("the two reference queries, against an independent computation", () => {
  const { events, docs } = generate(4000);

  it("errors by load balancer and status codes", () => {
    const result = run(
      "fields @timestamp, @message | filter elb_status_code >= 500 or target_status_code >= 500 | stats count() as errors by elb, elb_status_code, target_status_code",
      events,
    );
    const counts = new Map<string, { doc: Access; n: number }>();
    for (const doc of docs) {
      if (!doc || !(doc.elb_status_code >= 500 || (doc.target_status_code ?? 0) >= 500)) continue;
      const key = `${doc.elb}|${doc.elb_status_code}|${doc.target_status_code ?? "-"}`;
      const entry = counts.get(key) ?? { doc, n: 0 };
      entry.n++;
      counts.set(key, entry);
    }
    const expected: Row[] = [...counts.values()].map(({ doc, n }) => [
      { field: "elb", value: doc.elb },
      { field: "elb_status_code", value: String(doc.elb_status_code) },
      ...(doc.target_status_code === undefined ? [] : [{ field: "target_status_code", value: String(doc.target_status_code) }]),
      { field: "errors", value: String(n) },
    ]);
    assert.ok(expected.length > 10, `the generator should produce many groups (got ${expected.length})`);
    assert.deepEqual(canonical(result.rows), canonical(expected), "one row per group, with its count");
    assert.equal(result.recordsScanned, 4000, "every event is scanned");
    assert.equal(result.recordsMatched, [...counts.values()].reduce((a, c) => a + c.n, 0), "matched = events that reached stats");
  });

  it("warnings and errors by message and path, most frequent first", () => {
    const result = run("fields @timestamp, level, msg, path | filter level in ['ERROR','WARN'] | stats count() by msg, path | sort by count() desc", events);
    const counts = new Map<string, number>();
    for (const doc of docs) if (doc && (doc.level === "ERROR" || doc.level === "WARN")) counts.set(`${doc.msg}|${doc.path}`, (counts.get(`${doc.msg}|${doc.path}`) ?? 0) + 1);
    const expected: Row[] = [...counts].map(([key, n]) => {
      const [msg, path] = key.split("|") as [string, string];
      return [
        { field: "msg", value: msg },
        { field: "path", value: path },
        { field: "count()", value: String(n) },
      ];
    });
    assert.equal(expected.length, 16, "every message × path pair occurs");
    assert.deepEqual(canonical(result.rows), canonical(expected), "one row per group, with its count");
    const got = result.rows.map((r) => Number(asObject(r)["count()"]));
    assert.ok(got.every((n, i) => i === 0 || got[i - 1]! >= n), `counts should not increase: ${got.join(",")}`);
  });
});

describe("commands", () => {
  const events = [
    ev(T0 + 1000, JSON.stringify({ level: "INFO", status: 200, user: { id: 7, name: "ann" }, tags: ["a", "b"], latency: 120, ok: true })),
    ev(T0 + 3000, JSON.stringify({ level: "ERROR", status: 503, user: { id: 9, name: "bob" }, latency: 900, note: "Upstream Exception" }), "s2"),
    ev(T0 + 2000, JSON.stringify({ level: "WARN", status: "404", user: { id: 7, name: "ann" }, latency: 300 })),
    ev(T0 + 400_000, "user=carl action=login took 15ms"),
    ev(T0 + 401_000, "user=dana action=logout took 4ms extra words"),
  ];

  it("defaults to @timestamp and @message, newest first, with an @ptr", () => {
    const { rows } = run("", events);
    assert.deepEqual(rows.map((r) => r.map((p) => p.field)), Array(5).fill(["@timestamp", "@message", "@ptr"]), "default columns");
    assert.deepEqual(rows.map((r) => asObject(r)["@timestamp"]), ["2024-03-01 12:06:41.000", "2024-03-01 12:06:40.000", "2024-03-01 12:00:03.000", "2024-03-01 12:00:02.000", "2024-03-01 12:00:01.000"], "newest first, AWS's format");
    assert.equal(new Set(rows.map((r) => asObject(r)["@ptr"])).size, 5, "@ptr is unique per record");
  });

  it("fields: built-ins, JSON keys flattened with dots, aliases, functions", () => {
    const { rows } = run("fields @logStream, @log, @ingestionTime, user.name as who, tags.1, toupper(level) as lvl, ispresent(note) as noted | filter status = 200", [
      { ...events[0]!, ingestionTime: T0 + 1500 },
    ]);
    assert.deepEqual(asObject(rows[0]!), { "@logStream": "s1", "@log": GROUP, "@ingestionTime": "2024-03-01 12:00:01.500", who: "ann", "tags.1": "b", lvl: "INFO", noted: "false", "@ptr": asObject(rows[0]!)["@ptr"] }, "one row");
    assert.deepEqual(rows[0]!.slice(0, 3).map((p) => p.field), ["@logStream", "@log", "@ingestionTime"], "fields in the order requested");
  });

  it("fields omit what a record does not have", () => {
    const { rows } = run("fields note, level", events);
    assert.deepEqual(rows.map((r) => r.map((p) => p.field).join(",")), ["@ptr", "@ptr", "note,level,@ptr", "level,@ptr", "level,@ptr"], "absent fields are left out");
  });

  const filters: [query: string, expectedStatuses: string[]][] = [
    ["filter status = 503", ["503"]],
    ["filter status != 503", ["404", "200"]],
    ["filter status >= 404", ["503", "404"]], // "404" is a string; compared numerically against a number
    ["filter status < 300", ["200"]],
    ["filter status <= 200 or level = 'ERROR'", ["503", "200"]],
    ["filter level = \"WARN\" and latency > 100", ["404"]],
    ["filter not level = 'INFO' and ispresent(status)", ["503", "404"]],
    ["filter (level = 'INFO' or level = 'WARN') and user.id = 7", ["404", "200"]],
    ["filter level in ['ERROR', 'WARN']", ["503", "404"]],
    ["filter level not in ['ERROR', 'WARN'] and ispresent(level)", ["200"]],
    ["filter status in [200, 503]", ["503", "200"]],
    ["filter note like 'Exception'", ["503"]],
    ["filter note like /exception/", []],
    ["filter note like /(?i)exception/", ["503"]],
    ["filter note =~ /^Up/", ["503"]],
    ["filter note not like 'Exception' and ispresent(status)", ["404", "200"]], // no note: like is false, so not like is true
    ["filter @message like /\"latency\":[0-9]{3}\\b/", ["503", "404", "200"]],
    ["filter isempty(note) and ispresent(status)", ["404", "200"]],
    ["filter strlen(level) = 4", ["404", "200"]],
    ["filter @logStream = 's2'", ["503"]],
  ];
  for (const [query, expected] of filters) {
    it(query, () => {
      const { rows } = run(`${query} | fields status`, events);
      assert.deepEqual(rows.map((r) => asObject(r).status ?? ""), expected, query);
    });
  }

  it("parse with a glob: each * is a field, the last one takes the rest", () => {
    const { rows } = run('parse @message "user=* action=* took *" as user, action, took | filter ispresent(user) | display user, action, took', events);
    assert.deepEqual(rows.map(withoutPtr), [
      { user: "dana", action: "logout", took: "4ms extra words" },
      { user: "carl", action: "login", took: "15ms" },
    ], "parsed fields");
  });

  it("parse with named regex groups; parsed numbers compare as numbers", () => {
    const { rows } = run("parse @message /took (?<ms>\\d+)ms/ | filter ms > 10 | display ms", events);
    assert.deepEqual(rows.map(withoutPtr), [{ ms: "15" }], "one event took over 10 ms");
  });

  it("stats: aggregates, aliases and text-as-written names", () => {
    const { rows } = run("filter ispresent(latency) | stats count(*), count(note) as notes, count_distinct(user.id) as users, sum(latency), avg(latency) as mean, min(latency), max(latency), pct(latency, 50), stddev(latency) as sd", events);
    const row = asObject(rows[0]!);
    assert.deepEqual(rows[0]!.map((p) => p.field), ["count(*)", "notes", "users", "sum(latency)", "mean", "min(latency)", "max(latency)", "pct(latency, 50)", "sd"], "aggregate names");
    assert.deepEqual({ ...row, sd: Number(row.sd).toFixed(3) } /* sample standard deviation */, { "count(*)": "3", notes: "1", users: "2", "sum(latency)": "1320", mean: "440", "min(latency)": "120", "max(latency)": "900", "pct(latency, 50)": "300", sd: "408.412" }, "aggregate values");
  });

  it("stats by a field and by bin(5m); sort by an alias", () => {
    const { rows } = run("stats count() as n by bin(5m) | sort n asc", events);
    assert.deepEqual(rows.map(asObject), [
      { "bin(5m)": "2024-03-01 12:05:00.000", n: "2" },
      { "bin(5m)": "2024-03-01 12:00:00.000", n: "3" },
    ], "two five-minute bins");
    const byUser = run("stats avg(latency) as mean by user.name as who | sort who desc", events);
    assert.deepEqual(byUser.rows, [
      [{ field: "who", value: "bob" }, { field: "mean", value: "900" }],
      [{ field: "who", value: "ann" }, { field: "mean", value: "210" }],
      [],
    ], "group-by columns first; who desc; the group without a user (plain lines) last, with nothing to show");
  });

  it("sort asc and desc on several keys, and limit", () => {
    const { rows } = run("filter ispresent(user.id) | sort user.id asc, latency desc | fields user.id, latency | limit 2", events);
    assert.deepEqual(rows.map((r) => [asObject(r)["user.id"], asObject(r).latency]), [["7", "300"], ["7", "120"]], "sorted and limited");
  });

  it("limit: the command, the caller's limit, the default of 1000 and the cap of 10000", () => {
    const many = Array.from({ length: 12_000 }, (_, i) => ev(T0 + i, `line ${i}`));
    assert.equal(run("fields @message", many).rows.length, 1000, "default 1000");
    assert.equal(run("fields @message | limit 10000", many).rows.length, 10_000, "the limit command");
    assert.equal(run("fields @message", many, 50_000).rows.length, 10_000, "at most 10000");
    assert.equal(run("fields @message | limit 20", many, 5).rows.length, 5, "the caller's limit caps the command's");
    assert.equal(asObject(run("fields @message", many).rows[0]!)["@message"], "line 11999", "the newest survive the bound");
    assert.equal(run("fields @message", many).recordsMatched, 12_000, "records matched counts every match");
  });

  it("display replaces the columns", () => {
    const { rows } = run("fields level, status | display status", events.slice(0, 1));
    assert.deepEqual(rows[0]!.map((p) => p.field), ["status", "@ptr"], "display");
  });

  it("filter after stats works on aggregate columns", () => {
    const { rows } = run("stats count() as n by level | filter n >= 1 and level != 'INFO' | sort level", events);
    assert.deepEqual(rows.map(asObject), [{ level: "ERROR", n: "1" }, { level: "WARN", n: "1" }], "filtered groups");
  });

  it("messages that are not JSON have only built-in fields", () => {
    const { rows } = run("filter ispresent(level) | stats count() as n", events);
    assert.deepEqual(rows.map(asObject), [{ n: "3" }], "only the JSON messages have level");
  });

  const malformed: [query: string, why: RegExp][] = [
    ["fields", /expected a field or a value at the end of the query/],
    ["filter x == 1", /unexpected '=' at line 1 and position 11/],
    ["stats x", /stats takes aggregate functions/],
    ["stats count() by", /at the end of the query/],
    ["sort", /at the end/],
    ["limit 0", /limit takes a whole number/],
    ["limit 10001", /limit takes a whole number/],
    ["bogus x", /expected one of fields/],
    ["fields a\n| bogus", /line 2 and position 3/],
    ["filter a like 5", /like takes a "string" or a \/regex\//],
    ["parse @message 'a*b*' as x", /2 '\*' but 1 names/],
    ["parse @message /no groups/", /named groups/],
    ["filter count() > 1", /count\(\) can only be used in stats/],
    ["stats count() by bin(5q)", /unknown time unit/],
    ["filter nosuch(a)", /unknown function/],
    ["filter a = 'unterminated", /unexpected/],
    ["fields a b", /expected '\|'/],
    ["filter a =~ /[/", /invalid regular expression/],
    ["stats pct(latency)", /pct takes a field and a percentile/],
  ];
  for (const [query, why] of malformed) {
    it(`rejects ${JSON.stringify(query)}`, () => {
      assert.throws(
        () => parseInsightsQuery(query),
        (e: unknown) => e instanceof BerthError && e.code === ErrorCode.MalformedQuery && why.test(e.message),
        `${query} should be MalformedQuery matching ${why}`,
      );
    });
  }
});

it("names inherited from Object are not functions", () => {
  for (const q of ["fields constructor(@message) as x", "fields __proto__(@message) as x", "fields toString(@message) as x"]) {
    assert.throws(() => parseInsightsQuery(q), (e: BerthError) => e.code === "MalformedQuery", q);
  }
});
