// Multi-line awslogs events: framing by pattern and datetime format, flushing on a quiet
// clock, the size limit, and framing that is the same when read again from an event boundary.
import assert from "node:assert/strict";
import { test } from "node:test";
import fc from "fast-check";
import {
  type AssembledEvent,
  EventAssembler,
  MAX_EVENT_BYTES,
  QUIET_MS,
  compileGoPattern,
  multilineOptions,
  splitUtf8,
  strftimeToPattern,
} from "../../src/agent/log-multiline.ts";

const T = 1_800_000_000_000;

/** Frames `lines` (one millisecond apart unless given times) and flushes at the end. */
function frame(pattern: RegExp | undefined, lines: string[], times?: number[]): AssembledEvent<number>[] {
  const a = new EventAssembler<number>(pattern);
  const out = lines.flatMap((l, i) => a.push(l, times?.[i] ?? T + i, i + 1));
  return [...out, ...a.flush()];
}

const messages = (events: AssembledEvent<number>[]) => events.map((e) => e.message);

const JAVA = [
  "2026-01-05 10:00:00,001 INFO  Started Application in 3.2 seconds",
  "2026-01-05 10:00:01,412 ERROR Request failed",
  "java.lang.IllegalStateException: order 42 has no lines",
  "\tat com.example.orders.OrderService.total(OrderService.java:88)",
  "\tat com.example.orders.OrderController.get(OrderController.java:31)",
  "Caused by: java.lang.NullPointerException: lines",
  "\t... 12 more",
  "2026-01-05 10:00:02,000 INFO  GET /health 200",
];

test("a Java stack trace becomes one event with its header line; each line ends in a newline, as Docker's", () => {
  const events = frame(new RegExp(strftimeToPattern("%Y-%m-%d %H:%M:%S")), JAVA);
  assert.deepEqual(messages(events), [`${JAVA[0]}\n`, `${JAVA.slice(1, 7).join("\n")}\n`, `${JAVA[7]}\n`]);
  assert.deepEqual(events.map((e) => e.timestamp), [T, T + 1, T + 7], "an event carries its first line's time");
  assert.deepEqual(events.map((e) => e.end), [1, 7, 8], "an event ends after its last line");

  const byPattern = frame(compileGoPattern("^\\S"), ["ERROR boom", "  at a", "  at b", "INFO ok"]);
  assert.deepEqual(messages(byPattern), ["ERROR boom\n  at a\n  at b\n", "INFO ok\n"]);
});

test("lines before the first match form an event of their own", () => {
  const events = frame(/^START/, ["banner 1", "banner 2", "START one", "detail"]);
  assert.deepEqual(messages(events), ["banner 1\nbanner 2\n", "START one\ndetail\n"]);
});

test("without a pattern every line is its own event (an empty line is a space)", () => {
  assert.deepEqual(messages(frame(undefined, ["a", "", "  at b"])), ["a", " ", "  at b"]);
});

test("datetime formats in Docker's strftime sequences start events where the datetime appears", () => {
  const cases: { format: string; starts: string[]; continues: string[] }[] = [
    { format: "%Y-%m-%d %H:%M:%S", starts: ["2026-12-31 23:59:59 done"], continues: ["2026-13-01 10:00:00 bad month", "  at x"] },
    { format: "%b %d %H:%M:%S", starts: ["Jan 05 10:00:00 host sshd[1]: ok", "Dec 31 00:00:00 x"], continues: ["jan 05 10:00:00 lower case", "Jan 32 10:00:00 bad day"] },
    { format: "%d/%b/%Y:%H:%M:%S %z", starts: ['10.0.0.1 - - [05/Jan/2026:10:00:00 +0000] "GET / HTTP/1.1" 200'], continues: ["[05/Jan/2026:10:00:00 UTC]"] },
    { format: "%y%m%d %I:%M:%S %p", starts: ["260105 09:15:00 PM worker up"], continues: ["260105 13:15:00 PM bad hour"] },
    { format: "%A, %B %d %Y", starts: ["Monday, January 05 2026 report"], continues: ["Mon, January 05 2026 short weekday"] },
    { format: "%Y-%m-%dT%H:%M:%S%L%z", starts: ["2026-01-05T10:00:00.123+0530 event"], continues: ["2026-01-05T10:00:00+0530 no millis"] },
    { format: "%Y %j %H:%M:%S.%f %Z", starts: ["2026 005 10:00:00.123456 IST x", "2026 366 10:00:00.000001 UTC y"], continues: ["2026 367 10:00:00.123456 IST x"] },
  ];
  for (const { format, starts, continues } of cases) {
    const pattern = new RegExp(strftimeToPattern(format));
    for (const line of starts) assert.ok(pattern.test(line), `${format} should start an event at ${JSON.stringify(line)}`);
    for (const line of continues) assert.ok(!pattern.test(line), `${format} should not start an event at ${JSON.stringify(line)}`);
  }
  assert.equal(strftimeToPattern("%Q%Y"), "\\d{4}", "a sequence Docker does not know matches nothing");
});

test("a pending event is closed by the clock once the output has been quiet, not before", () => {
  const a = new EventAssembler<number>(/^E/);
  assert.deepEqual(a.push("E one", T, 1), []);
  assert.deepEqual(a.push("  detail", T + 100, 2), []);
  assert.deepEqual(a.due(T + 100 + QUIET_MS - 1), [], "still within the quiet period");
  assert.deepEqual(a.due(T + 100 + QUIET_MS), [{ timestamp: T, message: "E one\n  detail\n", end: 2 }]);
  assert.deepEqual(a.due(T + 100_000), [], "nothing is pending any more");
  assert.deepEqual(a.push("  late", T + 100_001, 3), [], "a later continuation line starts its own event");
  assert.deepEqual(a.flush(), [{ timestamp: T + 100_001, message: "  late\n", end: 3 }]);
  assert.deepEqual(a.due(T - 1), [], "nothing pending: nothing to close");
  a.push("E two", T, 4);
  assert.equal(a.due(T - 1).length, 1, "a clock that went backwards closes the event (as Docker)");
});

test("a gap between lines or an old event starts a new event, so framing depends only on the lines", () => {
  const limits = { maxEventBytes: MAX_EVENT_BYTES, quietMs: 1000, maxAgeMs: 3000 };
  const a = new EventAssembler<number>(/^E/, limits);
  const lines = ["E", "a", "b", "c", "d", "e", "f", "g"];
  const times = [0, 500, 1499, 2499, 3400, 4300, 5200, 5499];
  const events = [...lines.flatMap((l, i) => a.push(l, T + times[i]!, i + 1)), ...a.flush()];
  assert.deepEqual(messages(events), ["E\na\nb\n", "c\nd\ne\nf\n", "g\n"], "a 999 ms gap joins, 1 s does not; an event spans under 3 s");
});

test("no event passes CloudWatch's size limit; a longer line is split on character boundaries", () => {
  const limits = { maxEventBytes: 10, quietMs: QUIET_MS, maxAgeMs: 60_000 };
  const a = new EventAssembler<number>(/^E/, limits);
  const out = [...a.push("E 123", T, 1), ...a.push("abc", T, 2), ...a.push("xy", T, 3), ...a.push("0123456789€€€", T, 4), ...a.push("z", T, 5), ...a.flush()];
  assert.deepEqual(messages(out), ["E 123\nabc\n", "xy\n", "0123456789", "€€€", "z\n"]);
  assert.deepEqual(out.map((e) => e.end), [2, 3, undefined, 4, 5], "only a split line's last part ends the line");
  for (const e of out) assert.ok(Buffer.byteLength(e.message) <= 10, `${JSON.stringify(e.message)} fits`);

  const plain = new EventAssembler<number>(undefined, limits);
  assert.deepEqual(messages(plain.push("ab😀cdefghij", T, 1)), ["ab😀cdef", "ghij"]);
  assert.deepEqual(splitUtf8("😀😀😀", 4), ["😀", "😀", "😀"]);
  assert.deepEqual(splitUtf8("", 4), [""]);
});

test("framing again from any event boundary gives the same events (what resuming relies on)", () => {
  const line = fc.oneof(fc.constant("E start"), fc.constant("  at x"), fc.constant(""), fc.string({ maxLength: 12 }));
  const limits = { maxEventBytes: 24, quietMs: 50, maxAgeMs: 120 };
  fc.assert(
    fc.property(fc.array(fc.tuple(line, fc.integer({ min: 0, max: 80 })), { maxLength: 60 }), fc.nat(), (input, pick) => {
      let t = T;
      const lines = input.map(([text, gap]) => ({ text, time: (t += gap) }));
      const run = (from: number) => {
        const a = new EventAssembler<number>(/^E/, limits);
        return [...lines.slice(from).flatMap((l, i) => a.push(l.text, l.time, from + i + 1)), ...a.flush()];
      };
      const all = run(0);
      const text = (s: string) => s.replace(/\n/g, "");
      assert.equal(text(all.map((e) => e.message).join("")), text(lines.map((l) => l.text).join("")), "no character is lost or added");
      const boundaries = all.filter((e) => e.end !== undefined);
      if (boundaries.length === 0) return;
      const cut = boundaries[pick % boundaries.length]!;
      const rest = all.slice(all.indexOf(cut) + 1);
      assert.deepEqual(run(cut.end!), rest, `reframing from line ${cut.end}`);
    }),
    { numRuns: 300 },
  );
});

test("Go pattern syntax that JavaScript spells differently compiles to the same meaning", () => {
  assert.ok(compileGoPattern("(?i)^error").test("ERROR x"), "(?i) is a flag");
  assert.ok(compileGoPattern("^(?P<level>[[:upper:]]+) [[:digit:]]{3}").test("WARN 200"), "named groups and POSIX classes");
  assert.ok(!compileGoPattern("\\Aat").test("  at x"), "\\A anchors at the start");
  assert.ok(compileGoPattern("\\d$").test("x 1") && compileGoPattern("\\d\\z").test("x 1"), "\\z anchors at the end");
});

test("invalid options fail the container the way Docker does", () => {
  const both = multilineOptions({ "awslogs-datetime-format": "%Y", "awslogs-multiline-pattern": "^E" });
  assert.deepEqual(both, {
    ok: false,
    reason: "CannotCreateContainerError: Error response from daemon: you cannot configure log opt 'awslogs-datetime-format' and 'awslogs-multiline-pattern' at the same time",
  });
  const bad = multilineOptions({ "awslogs-multiline-pattern": "^(ERROR" });
  assert.equal(bad.ok, false, "an unbalanced group does not compile");
  assert.match(bad.ok ? "" : bad.reason, /^CannotStartContainerError: .*failed to initialize logging driver: awslogs could not parse multiline pattern key "\^\(ERROR": /);
  assert.deepEqual(multilineOptions({ "awslogs-datetime-format": "%H:%M:%S" }), { ok: true, source: "(?:[0,1][0-9]|2[0-3]):[0-5][0-9]:[0-5][0-9]" });
  assert.deepEqual(multilineOptions({ "awslogs-group": "/g" }), { ok: true, source: undefined });
});
