import assert from "node:assert/strict";
import { describe, it } from "node:test";
import Database from "better-sqlite3";
import { BerthError, ErrorCode } from "../../src/core/errors.ts";
import { compileFilterPattern } from "../../src/logs/filter-pattern.ts";

/** A small deterministic generator (mulberry32), so failures reproduce. */
function random(seed: number): () => number {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
const pick = <T>(rnd: () => number, items: readonly T[]): T => items[Math.floor(rnd() * items.length)]!;

// The JSON documents of AWS's own examples.
const EVENT = JSON.stringify({
  eventType: "UpdateTrail",
  sourceIPAddress: "111.111.111.111",
  arrayKey: ["value", "another value"],
  objectList: [
    { name: "a", id: 1 },
    { name: "b", id: 2 },
  ],
  SomeObject: null,
  ThisFlag: true,
  "cluster.name": "c",
  latency: 1250,
  ratio: 0.25,
  code: "400",
});
const USERS = JSON.stringify({
  user: { id: 1, email: "John.Stiles@example.com" },
  users: [
    { id: 2, email: "John.Doe@example.com" },
    { id: 3, email: "Jane.Doe@example.com" },
  ],
  actions: ["GET", "PUT", "DELETE"],
  coordinates: [
    [0, 1, 2],
    [4, 5, 6],
    [7, 8, 9],
  ],
});
const APACHE = '127.0.0.1 Prod frank [10/Oct/2000:13:25:15 -0700] "GET /index.html HTTP/1.0" 404 1534';
const APP = [
  "INFO 09/25/2014 12:00:00 GET /service/resource/67 1200",
  "INFO 09/25/2014 12:00:01 POST /service/resource/67/part/111 1310",
  "WARNING 09/25/2014 12:00:02 Invalid user request",
  "ERROR 09/25/2014 12:00:02 Failed to process request",
];

const cases: [kind: string, pattern: string, message: string, expected: boolean][] = [
  ["empty", "", "anything", true],
  ["empty", "   ", "", true],
  ["term", "ERROR", "[ERROR 400] BAD REQUEST", true],
  ["term is a substring (AWS: ERROR matches ERRORCODE)", "ERROR", "Exiting with ERRORCODE: -1", true],
  ["term is case-sensitive", "ERROR", "error: lower case", false],
  ["terms are ANDed", "ERROR ARGUMENTS", "[ERROR 419] MISSING ARGUMENTS", true],
  ["terms are ANDed", "ERROR ARGUMENTS", "[ERROR 400] BAD REQUEST", false],
  ["optional terms", "?ERROR ?ARGUMENTS", "[WARN] MISSING ARGUMENTS", true],
  ["optional terms", "?ERROR ?ARGUMENTS", "[WARN] fine", false],
  ["? ignored beside plain terms", "?ERROR ?ARGUMENTS REQUEST", "[INFO] REQUEST FAILED", true],
  ["? ignored beside plain terms", "?ERROR ?ARGUMENTS REQUEST", "[ERROR] nothing else", false],
  ["phrase", '"INTERNAL SERVER ERROR"', "[ERROR 500] INTERNAL SERVER ERROR", true],
  ["phrase is exact", '"INTERNAL SERVER ERROR"', "[ERROR 500] SERVER INTERNAL ERROR", false],
  ["phrase with escaped quote", '"say \\"hi\\""', 'they say "hi" twice', true],
  ["exclusion", "ERROR -ARGUMENTS", "[ERROR 400] BAD REQUEST", true],
  ["exclusion", "ERROR -ARGUMENTS", "[ERROR 419] MISSING ARGUMENTS", false],
  ["exclusion with a space (old AWS example)", '"ERROR" - "Exiting"', "Exiting with ERRORCODE: -1", false],
  ["only exclusions", "-DEBUG", "INFO started", true],
  ["blank phrase matches everything", '" "', "nospace", true],
  ["regex", "%AUTHORIZED%", "[ERROR 401] UNAUTHORIZED REQUEST", true],
  ["regex anchor ^", "%^[hc]at%", "hat on", true],
  ["regex anchor ^", "%^[hc]at%", "the cat", false],
  ["regex anchor $", "%[hc]at$%", "the cat", true],
  ["regex ?", "%colou?r%", "color", true],
  ["regex {m,n}", "%a{3,5}%", "baab", false],
  ["regex {m,n}", "%a{3,5}%", "baaab", true],
  ["regex {m, n} with a space", "%a{3, 5}%", "baaab", true],
  ["regex {,n}", "%xa{,2}y%", "xy", true],
  ["regex |", "%gra|ey%", "grey", true],
  ["regex | with anchors", "%^starting|^initializing|^shutting down%", "skipping initializing", false],
  ["regex escape", "%10\\.10\\.0\\.1%", "10010,051", false],
  ["regex escape", "%10\\.10\\.0\\.1%", "from 10.10.0.1", true],
  ["regex unescaped dot", "%10.10.0.1%", "10010,051", true],
  ["regex \\d \\s \\w", "%\\d\\s\\w%", "a 1 b", true],
  ["regex \\xhh", "%\\x3A%", "a:b", true],
  ["regex *", "%ab*c%", "ac", true],
  ["regex +", "%ab+c%", "ac", false],
  ["JSON string", '{ $.eventType = "UpdateTrail" }', EVENT, true],
  ["JSON string, unquoted", "{ $.eventType = UpdateTrail }", EVENT, true],
  ["JSON string !=", '{ $.eventType != "UpdateTrail" }', EVENT, false],
  ["JSON wildcard suffix", "{ $.sourceIPAddress != 123.123.* }", EVENT, true],
  ["JSON wildcard prefix", '{ $.eventType = "*Trail" }', EVENT, true],
  ["JSON * in the middle is literal", '{ $.eventType = "Update*Trail" }', EVENT, false],
  ["JSON = * means present", "{ $.latency = * }", EVENT, true],
  ["JSON = * on a missing key", "{ $.missing = * }", EVENT, false],
  ["JSON array element", '{ $.arrayKey[0] = "value" }', EVENT, true],
  ["JSON object in array", "{ $.objectList[1].id = 2 }", EVENT, true],
  ["JSON regex", "{ $.eventType = %Trail% }", EVENT, true],
  ["JSON regex !=", "{ $.eventType != %Trail% }", EVENT, false],
  ["JSON wildcard index with regex", "{ $.arrayKey[*] = %val.{2}% }", EVENT, true],
  ["JSON wildcard key with regex", "{ $.* = %111\\.111\\.111\\.1[0-9]{1,2}% }", EVENT, true],
  ["JSON bracketed key with a dot", "{ $.['cluster.name'] = \"c\" }", EVENT, true],
  ["JSON IS NULL", "{ $.SomeObject IS NULL }", EVENT, true],
  ["JSON IS NULL on a missing key", "{ $.Other IS NULL }", EVENT, false],
  ["JSON NOT EXISTS", "{ $.SomeOtherObject NOT EXISTS }", EVENT, true],
  ["JSON NOT EXISTS on a null", "{ $.SomeObject NOT EXISTS }", EVENT, false],
  ["JSON IS TRUE", "{ $.ThisFlag IS TRUE }", EVENT, true],
  ["JSON IS FALSE", "{ $.ThisFlag IS FALSE }", EVENT, false],
  ["JSON numeric >", "{ $.latency > 1000 }", EVENT, true],
  ["JSON numeric <=", "{ $.latency <= 1000 }", EVENT, false],
  ["JSON numeric >= with +", "{ $.latency >= +1250 }", EVENT, true],
  ["JSON numeric decimal", "{ $.ratio < 0.3 }", EVENT, true],
  ["JSON numeric scientific", "{ $.latency < 1.3e3 }", EVENT, true],
  ["JSON numeric = on a numeric string", "{ $.code = 400 }", EVENT, true],
  ["JSON ordering never matches a string", "{ $.code > 100 }", EVENT, false],
  ["JSON selector on an array matches neither = nor !=", "{ $.arrayKey = 1 }", EVENT, false],
  ["JSON selector on an array matches neither = nor !=", "{ $.arrayKey != 1 }", EVENT, false],
  ["JSON != on a missing key", '{ $.nothing != "x" }', EVENT, false],
  ["JSON && with parentheses", '{ ($.user.id = 1) && ($.users[0].email = "John.Doe@example.com") }', USERS, true],
  ["JSON && binds tighter than ||", '{ $.user.email = "John.Stiles@example.com" || $.coordinates[0][1] = "nonmatch" && $.actions[2] = "nonmatch" }', USERS, true],
  ["JSON parentheses override", '{ ($.user.email = "John.Stiles@example.com" || $.coordinates[0][1] = "nonmatch") && $.actions[2] = "nonmatch" }', USERS, false],
  ["JSON ||", '{ ($.user.id = 2 && $.users[0].email = "nonmatch") || $.actions[2] = "GET" }', USERS, false],
  ["JSON nested arrays", "{ $.coordinates[1][2] = 6 }", USERS, true],
  ["JSON pattern on a plain message", '{ $.level = "ERROR" }', "level=ERROR", false],
  ["JSON pattern on broken JSON", '{ $.level = "ERROR" }', '{"level": "ERROR"', false],
  ["space-delimited, doc example", "[ip=%127\\.0\\.0\\.[1-9]%, user, username, timestamp, request =*.html*, status_code = 4*, bytes]", APACHE, true],
  ["space-delimited, ellipsis first", "[..., request =*.html*, status_code = 4*, bytes]", APACHE, true],
  ["space-delimited, ellipsis in the middle", "[ip, user, ..., status_code = 404, bytes > 1000]", APACHE, true],
  ["space-delimited, numeric condition fails", "[ip, user, ..., status_code, bytes > 2000]", APACHE, false],
  ["space-delimited, || in a field", "[ip, user, username, timestamp, request, status_code = 404 || status_code = 410, bytes]", APACHE, true],
  ["space-delimited, && in a field", "[ip, user, username, timestamp, request, status_code = 4* && status_code != 403, bytes]", APACHE, true],
  ["space-delimited, quoted field is one field", '[ip, user, username, timestamp, request = "GET /index.html HTTP/1.0", status_code, bytes]', APACHE, true],
  ["space-delimited, bracketed field is one field", "[ip, user, username, timestamp = 10/Oct/2000*, ...]", APACHE, true],
  ["space-delimited, too few fields", "[a, b, c, d, e, f, g, h]", APACHE, false],
  ["space-delimited, trailing comma is a field", "[..., request=*.html*, status_code=4*,]", APACHE, true],
  ["space-delimited, first word", "[w1=ERROR, w2]", APP[3]!, true],
  ["space-delimited, first word", "[w1=ERROR, w2]", APP[2]!, false],
  ["space-delimited, last field takes the rest", '[w1=ERROR, w2 = "*process request"]', APP[3]!, true],
  ["space-delimited, one field is the whole line", "[w1=ERROR]", APP[3]!, false],
  ["space-delimited, OR of words", "[w1=ERROR || w1=WARNING, w2]", APP[2]!, true],
  ["space-delimited, excluded words", "[w1!=ERROR && w1!=WARNING, w2]", APP[0]!, true],
  ["space-delimited, excluded words", "[w1!=ERROR && w1!=WARNING, w2]", APP[3]!, false],
  ["space-delimited, top-level URI", "[logLevel, date, time, method, url=%/service/resource/[0-9]+$%, response_time]", APP[0]!, true],
  ["space-delimited, top-level URI", "[logLevel, date, time, method, url=%/service/resource/[0-9]+$%, response_time]", APP[1]!, false],
  ["space-delimited, child URI", "[logLevel, date, time, method, url=%/service/resource/[0-9]+/part/[0-9]+$%, response_time]", APP[1]!, true],
  ["space-delimited, condition on another field", "[a, b, c = 3 && a = 1]", "1 2 3", true],
  ["space-delimited, two ellipses", "[..., x = needle, ...]", "a b needle c d", true],
  ["space-delimited, two ellipses", "[..., x = needle, ...]", "a b haystack c d", false],
];

describe("compileFilterPattern", () => {
  for (const [kind, pattern, message, expected] of cases) {
    it(`${kind}: ${pattern} ${expected ? "matches" : "does not match"} ${JSON.stringify(message).slice(0, 60)}`, () => {
      assert.equal(compileFilterPattern(pattern).matches(message), expected, `${pattern} on ${message}`);
    });
  }

  const invalid: [pattern: string, why: RegExp][] = [
    ['"unterminated', /unterminated/],
    ["ERROR -", /must be followed by a term/],
    ["%something!%", /'!' is not supported/],
    ["%(a|b)%", /parentheses/],
    ["%é%", /multi-byte/],
    ["%a{x}%", /quantifier/],
    ["%\\bword%", /unsupported regex escape/],
    ["%abc", /enclosed in %/],
    ["{ $.a = 1", /must end with }/],
    ["{ }", /empty JSON pattern/],
    ["{ a = 1 }", /selector starting with \$/],
    ["{ $.a == 1 }", /expected a value/],
    ["{ $.a > abc }", /needs a number/],
    ["{ $.a > %x% }", /regex cannot be compared/],
    ["{ $.a IS NOT NULL }", /IS NOT and EXISTS/],
    ["{ $.a EXISTS }", /IS NOT and EXISTS/],
    ["{ $.a[*].b[*] = 1 }", /one wildcard/],
    ["{ $.a[*] = 1 || $.b[*] = 1 || $.c[*] = 1 || $.d[*] = 1 }", /at most 3 wildcard/],
    ["{ $.a = %x% || $.b = %y% || $.c = %z% }", /at most 2 regular/],
    ["{ ($.a = 1 }", /expected '\)'/],
    ["{ $.a = 1 $.b = 2 }", /unexpected text/],
    ["[a, b", /must end with \]/],
    ["[a, a]", /named twice/],
    ["[a, b = 1 && c = 2]", /not a field of the pattern/],
    ["[a b]", /comparison operator/],
  ];
  for (const [pattern, why] of invalid) {
    it(`rejects ${pattern}`, () => {
      assert.throws(
        () => compileFilterPattern(pattern),
        (e: unknown) => e instanceof BerthError && e.code === ErrorCode.InvalidParameter && e.message.startsWith("Invalid filter pattern: ") && why.test(e.message),
        `${pattern} should be an InvalidParameter matching ${why}`,
      );
    });
  }
});

describe("ftsQuery", () => {
  const fts: [pattern: string, query: string | undefined][] = [
    ["ERROR", '"ERROR"'],
    ['"INTERNAL SERVER ERROR"', '"INTERNAL SERVER ERROR"'],
    ["ERROR disk", '"ERROR" AND "disk"'],
    ['ERROR "say \\"hi\\""', '"ERROR" AND "say ""hi"""'], // a quote inside is doubled
    ["ERROR -DEBUG ?ignored", '"ERROR"'],
    ["ERROR io", '"ERROR"'], // too short for trigrams: left out of the AND
    ["io", undefined],
    ['" "', undefined],
    ["?ERROR ?WARN", '"ERROR" OR "WARN"'],
    ["?ERROR ?io", undefined], // one short alternative makes the OR unusable
    ["-DEBUG", undefined],
    ["%ERROR%", undefined],
    ['{ $.level = "ERROR" }', undefined],
    ["[a, b]", undefined],
  ];
  for (const [pattern, query] of fts) {
    it(`${pattern} → ${query ?? "none"}`, () => {
      assert.equal(compileFilterPattern(pattern).ftsQuery, query, `ftsQuery of ${pattern}`);
    });
  }

  it("selects a superset of the matches in a real trigram FTS5 index", () => {
    const db = new Database(":memory:");
    db.exec("CREATE VIRTUAL TABLE t USING fts5 (message, tokenize = 'trigram')");
    const rnd = random(7);
    const words = ["ERROR", "error", "ERRORCODE", "WARN", "code=500", "[ERROR]", "(timeout)", "disk", "full", "diskfull", '"quoted"', "10.0.0.1"];
    const insert = db.prepare("INSERT INTO t (rowid, message) VALUES (?, ?)");
    const messages: string[] = [];
    for (let i = 1; i <= 400; i++) {
      const message = Array.from({ length: 1 + Math.floor(rnd() * 6) }, () => pick(rnd, words)).join(pick(rnd, [" ", " ", ":", ""]));
      messages.push(message);
      insert.run(i, message);
    }
    const patterns = ["ERROR", '"[ERROR]"', '"disk full" -WARN', "?(timeout) ?10.0.0.1", '"\\"quoted\\"" code=500', "ERRORCODE ok"];
    for (const pattern of patterns) {
      const filter = compileFilterPattern(pattern);
      assert.ok(filter.ftsQuery !== undefined, `${pattern} should have an ftsQuery`);
      const found = new Set((db.prepare("SELECT rowid FROM t WHERE t MATCH ?").all(filter.ftsQuery) as { rowid: number }[]).map((r) => r.rowid));
      const matching = messages.flatMap((m, i) => (filter.matches(m) ? [i + 1] : []));
      if (pattern !== "ERRORCODE ok") assert.ok(matching.length > 0, `${pattern} should match some generated messages`);
      for (const id of matching) assert.ok(found.has(id), `${pattern}: FTS query ${filter.ftsQuery} missed ${JSON.stringify(messages[id - 1])}`);
    }
    db.close();
  });
});

describe("literals", () => {
  const cases: [pattern: string, literals: { op: "AND" | "OR"; terms: string[] } | undefined][] = [
    ["ERROR io", { op: "AND", terms: ["ERROR", "io"] }], // short terms too: SQL's instr needs no trigrams
    ['ERROR " " -DEBUG ?x', { op: "AND", terms: ["ERROR"] }], // a blank phrase and exclusions hold nothing to look for
    ["?ERROR ?io", { op: "OR", terms: ["ERROR", "io"] }],
    ['?ERROR ?" "', undefined], // a blank alternative matches every message
    ["-DEBUG", undefined],
    ['" "', undefined],
    ["%ERROR%", undefined],
    ['{ $.level = "ERROR" }', undefined],
  ];
  for (const [pattern, literals] of cases) {
    it(`${pattern} → ${literals ? `${literals.op} ${literals.terms.join(",")}` : "none"}`, () => {
      assert.deepEqual(compileFilterPattern(pattern).literals, literals, `literals of ${pattern}`);
    });
  }

  it("every matching message holds the literals as their operator says", () => {
    const rnd = random(11);
    const words = ["ERROR", "io", "WARN", "disk", " ", "x"];
    for (const pattern of ["ERROR io", "?WARN ?io", "ERROR -WARN", '"disk x" io']) {
      const filter = compileFilterPattern(pattern);
      const { op, terms } = filter.literals!;
      for (let i = 0; i < 300; i++) {
        const message = Array.from({ length: 1 + Math.floor(rnd() * 5) }, () => pick(rnd, words)).join(pick(rnd, [" ", ""]));
        if (!filter.matches(message)) continue;
        const held = terms.map((t) => message.includes(t));
        assert.ok(op === "AND" ? held.every(Boolean) : held.some(Boolean), `${pattern} matched ${JSON.stringify(message)} without its literals`);
      }
    }
  });
});

describe("against an independent computation over generated lines", () => {
  const rnd = random(42);

  it("terms, phrases and exclusions", () => {
    const words = ["ERROR", "WARN", "INFO", "disk", "full", "timeout", "ERRORCODE", "retry"];
    const lines = Array.from({ length: 500 }, () => Array.from({ length: 2 + Math.floor(rnd() * 6) }, () => pick(rnd, words)).join(" "));
    const filter = compileFilterPattern('ERROR "disk full" -timeout');
    const expected = lines.filter((l) => l.includes("ERROR") && l.includes("disk full") && !l.includes("timeout"));
    const actual = lines.filter((l) => filter.matches(l));
    assert.ok(expected.length > 5, `the generator should produce matches (got ${expected.length})`);
    assert.deepEqual(actual, expected, "term pattern");
    const any = compileFilterPattern("?timeout ?retry");
    assert.deepEqual(lines.filter((l) => any.matches(l)), lines.filter((l) => l.includes("timeout") || l.includes("retry")), "optional terms");
  });

  it("a JSON pattern", () => {
    interface Doc { level: string; latency: number; user: { id: number }; tags: string[]; flag?: boolean }
    const docs: (Doc | string)[] = Array.from({ length: 500 }, () =>
      rnd() < 0.1
        ? "plain text ERROR line"
        : {
            level: pick(rnd, ["ERROR", "WARN", "INFO"]),
            latency: Math.floor(rnd() * 1000),
            user: { id: Math.floor(rnd() * 10) },
            tags: Array.from({ length: Math.floor(rnd() * 3) }, () => pick(rnd, ["api", "admin", "batch"])),
            ...(rnd() < 0.5 ? { flag: rnd() < 0.5 } : {}),
          },
    );
    const filter = compileFilterPattern('{ ($.level = "ERROR" || $.latency > 700) && $.user.id != 7 && $.tags[0] = "a*" && $.flag NOT EXISTS }');
    const expected = docs.map((d) => typeof d !== "string" && (d.level === "ERROR" || d.latency > 700) && d.user.id !== 7 && d.tags[0] !== undefined && d.tags[0].startsWith("a") && d.flag === undefined);
    const actual = docs.map((d) => filter.matches(typeof d === "string" ? d : JSON.stringify(d)));
    assert.ok(expected.filter(Boolean).length > 5, "the generator should produce matches");
    assert.deepEqual(actual, expected, "JSON pattern");
  });

  it("a space-delimited pattern", () => {
    const rows = Array.from({ length: 500 }, () => ({
      ip: `10.0.${Math.floor(rnd() * 4)}.${Math.floor(rnd() * 255)}`,
      user: pick(rnd, ["-", "frank", "alice"]),
      time: `[10/Oct/2000:13:${10 + Math.floor(rnd() * 50)}:15 -0700]`,
      request: `"${pick(rnd, ["GET", "POST"])} /${pick(rnd, ["index.html", "api/v1", "img.png"])} HTTP/1.1"`,
      status: pick(rnd, [200, 201, 301, 404, 403, 500, 503]),
      bytes: Math.floor(rnd() * 3000),
    }));
    const lines = rows.map((r) => `${r.ip} ${r.user} ${r.time} ${r.request} ${r.status} ${r.bytes}`);
    const filter = compileFilterPattern("[ip = 10.0.1.*, user, ..., request = *html*, status = 4* || status = 5*, bytes > 1000]");
    const expected = rows.map((r) => r.ip.startsWith("10.0.1.") && r.request.includes("html") && r.status >= 400 && r.bytes > 1000);
    assert.ok(expected.filter(Boolean).length > 3, "the generator should produce matches");
    assert.deepEqual(lines.map((l) => filter.matches(l)), expected, "space-delimited pattern");
  });
});
