// Docker's json-file log read directly: entries to lines, long lines joined, following until
// the container stops, rotation, and a file this host cannot open.
import assert from "node:assert/strict";
import { appendFileSync, mkdtempSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, test } from "node:test";
import { JsonLogLines, readJsonLogFile } from "../../src/runtime/docker-log-file.ts";

const entry = (log: string, stream = "stdout", time = "2026-11-28T17:51:30.123456789Z") => `${JSON.stringify({ log, stream, time })}\n`;
type Line = [stream: string, line: string, time: number];
const T = Date.parse("2026-11-28T17:51:30.123Z");

describe("JsonLogLines", () => {
  test("entries become lines with their streams and times, across chunk boundaries and multi-byte characters", () => {
    const lines: Line[] = [];
    const parser = new JsonLogLines((s, l, t) => lines.push([s, l, t]), { tty: false });
    const bytes = Buffer.from(entry("héllo €\n") + entry("oops\n", "stderr", "2026-11-28T17:51:31Z") + entry("\n"));
    for (let i = 0; i < bytes.length; i += 3) parser.push(bytes.subarray(i, i + 3));
    parser.end();
    assert.deepEqual(lines, [["stdout", "héllo €", T], ["stderr", "oops", T + 877], ["stdout", "", T]]);
  });

  test("a line Docker split into partial entries is one line with the first part's time, per stream", () => {
    const lines: Line[] = [];
    const parser = new JsonLogLines((s, l, t) => lines.push([s, l, t]), { tty: false });
    parser.push(Buffer.from(entry("a".repeat(16384)) + entry("err\n", "stderr") + entry("b".repeat(100), "stdout", "2026-11-28T17:51:32Z") + entry("c\n", "stdout", "2026-11-28T17:51:33Z") + entry("tail")));
    parser.end();
    assert.deepEqual(lines.map(([s, l, t]) => [s, l.length, l.slice(-2), t]), [["stderr", 3, "rr", T], ["stdout", 16485, "bc", T], ["stdout", 4, "il", T]]);
  });

  test("every entry reads as JSON.parse reads it: escapes, quotes, backslashes before the newline, attrs", () => {
    const texts = ['say "hi"\n', "ends in a backslash \\\n", "a literal \\n, not a newline", "\\\\n\n", "<b>&amp;</b>\n", "tab\there\n", "nul \u0000 and \u2028\n", "日本 😀\n", "\n", "", '","stream":"stderr","time":"x"}\n'];
    const lines = [
      ...texts.map((t, i) => entry(t, i % 2 ? "stderr" : "stdout")),
      `${JSON.stringify({ log: "with attrs\n", stream: "stdout", attrs: { tag: "x" }, time: "2026-11-28T17:51:30.123456789Z" })}\n`,
    ];
    const got: Line[] = [];
    const parser = new JsonLogLines((s, l, t) => got.push([s, l, t]), { tty: false });
    parser.push(Buffer.from(lines.join("")));
    parser.end();
    // The same lines, each read with JSON.parse (partial entries join the next one of their stream).
    const want: Line[] = [];
    const partial: Record<string, string> = { stdout: "", stderr: "" };
    for (const l of lines) {
      const e = JSON.parse(l) as { log: string; stream: string };
      if (!e.log.endsWith("\n")) partial[e.stream] += e.log;
      else {
        want.push([e.stream, partial[e.stream] + e.log.slice(0, -1), T]);
        partial[e.stream] = "";
      }
    }
    for (const stream of ["stdout", "stderr"]) if (partial[stream]) want.push([stream, partial[stream]!, T]);
    assert.deepEqual(got, want);
  });

  test("since drops earlier lines; TTY lines lose their \\r; a torn or foreign line is skipped", () => {
    const lines: Line[] = [];
    const parser = new JsonLogLines((s, l, t) => lines.push([s, l, t]), { tty: true, since: T + 1 });
    parser.push(Buffer.from(entry("early\r\n") + '{"log":"torn\n' + "not json\n" + entry("late\r\n", "stdout", "2026-11-28T17:51:31Z")));
    parser.end();
    assert.deepEqual(lines, [["stdout", "late", T + 877]]);
  });
});

describe("readJsonLogFile", () => {
  const dir = mkdtempSync(join(tmpdir(), "berth-logfile-"));
  after(() => rmSync(dir, { recursive: true, force: true }));

  /** Follows `path` as a running container's log; `stop()` says the container has stopped. */
  const follow = (path: string) => {
    let running = true;
    const lines: string[] = [];
    const reading = readJsonLogFile({ path, follow: true, tty: false, running: async () => running }, (_s, l) => lines.push(l));
    return { lines, reading, stop: () => (running = false) };
  };

  test("follows appended lines, then reads what was written before the container stopped, and ends", async () => {
    const path = join(dir, "follow-json.log");
    writeFileSync(path, entry("one\n"));
    const { lines, reading, stop } = follow(path);
    await new Promise((r) => setTimeout(r, 100));
    appendFileSync(path, entry("two\n"));
    await new Promise((r) => setTimeout(r, 100));
    assert.deepEqual(lines, ["one", "two"], "lines appear while the container runs");
    appendFileSync(path, entry("last\n"));
    stop();
    assert.equal(await reading, true);
    assert.deepEqual(lines, ["one", "two", "last"]);
  });

  test("a rotated file is read to its end before the new one", async () => {
    const path = join(dir, "rotate-json.log");
    writeFileSync(path, entry("a\n"));
    const { lines, reading, stop } = follow(path);
    await new Promise((r) => setTimeout(r, 80));
    appendFileSync(path, entry("b\n"));
    renameSync(path, `${path}.1`);
    writeFileSync(path, entry("c\n"));
    await new Promise((r) => setTimeout(r, 80));
    stop();
    await reading;
    assert.deepEqual(lines, ["a", "b", "c"]);
  });

  test("without follow it reads to the end; an abort ends a follow; a file it cannot open reads nothing", async () => {
    const path = join(dir, "plain-json.log");
    writeFileSync(path, entry("x\n") + entry("y\n"));
    const lines: string[] = [];
    assert.equal(await readJsonLogFile({ path, follow: false, tty: false, running: async () => true }, (_s, l) => lines.push(l)), true);
    assert.deepEqual(lines, ["x", "y"]);
    const abort = new AbortController();
    const following = readJsonLogFile({ path, follow: true, tty: false, signal: abort.signal, running: async () => true }, () => {});
    setTimeout(() => abort.abort(), 50);
    assert.equal(await following, true, "an aborted follow resolves");
    assert.equal(await readJsonLogFile({ path: join(dir, "missing.log"), follow: false, tty: false, running: async () => false }, () => {}), false);
  });
});
