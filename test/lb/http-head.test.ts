/**
 * Heads as bytes: the scanner takes well-formed header lines (CR LF or bare LF) and refuses what
 * node:http would (obs-fold, a bare CR, NUL, DEL, no name, a byte no name has); field names are
 * known in any case; kept lines come back out as sent, joined into as few copies as they allow.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import { Field, fieldAt, fieldOfName, HeadScanner, Lines, Scan } from "../../src/lb/http-head.ts";

const scanner = new HeadScanner(8);

function scan(text: string): { scan: Scan; fields: string[][]; kinds: Field[]; end: number; bareLf: boolean } {
  const data = Buffer.from(text, "latin1");
  const result = scanner.scan(data, 0);
  const fields: string[][] = [];
  const kinds: Field[] = [];
  if (result === Scan.Done) {
    for (let f = 0; f < scanner.count; f++) {
      fields.push([data.toString("latin1", scanner.lineStart(f), scanner.nameEnd(f)), data.toString("latin1", scanner.valueStart(f), scanner.valueEnd(f))]);
      kinds.push(scanner.field(f));
    }
  }
  return { scan: result, fields, kinds, end: scanner.end, bareLf: scanner.bareLf };
}

test("well-formed header lines: names, values trimmed of spaces and tabs, the end of the head", () => {
  const crlf = scan("Host: a\r\nX-Empty:\r\nX-Pad: \t v a l \t\r\n\r\nbody");
  assert.equal(crlf.scan, Scan.Done);
  assert.deepEqual(crlf.fields, [
    ["Host", "a"],
    ["X-Empty", ""],
    ["X-Pad", "v a l"],
  ]);
  assert.deepEqual(crlf.kinds, [Field.Host, Field.Other, Field.Other], "each line's field");
  assert.equal(crlf.end, "Host: a\r\nX-Empty:\r\nX-Pad: \t v a l \t\r\n\r\n".length, "the end is just past the empty line");
  assert.equal(crlf.bareLf, false);
  const lf = scan("A: 1\nB: 2\n\n");
  assert.equal(lf.scan, Scan.Done);
  assert.deepEqual(lf.fields, [
    ["A", "1"],
    ["B", "2"],
  ]);
  assert.equal(lf.bareLf, true, "bare LF line ends are reported");
  assert.deepEqual(scan("\r\n").fields, [], "a head without fields");
  assert.equal(scan("X: \xe9t\xe9\r\n\r\n").scan, Scan.Done, "obs-text in a value");
});

test("incomplete heads wait; malformed lines and too many fields are refused", () => {
  for (const text of ["", "Host: a", "Host: a\r", "Host: a\r\n", "Host: a\r\n\r"]) assert.equal(scan(text).scan, Scan.Incomplete, JSON.stringify(text));
  const malformed = ["Host a\r\n\r\n", ": a\r\n\r\n", " Host: a\r\n\r\n", "Host: a\r\n folded\r\n\r\n", "Ho st: a\r\n\r\n", "Host: a\rb\r\n\r\n", "Host: a\x00\r\n\r\n", "Host: a\x7f\r\n\r\n", "Host: a\r\r\n\r\n", "\rx"];
  for (const text of malformed) assert.equal(scan(text).scan, Scan.Malformed, JSON.stringify(text));
  assert.equal(scan("A: 1\r\n".repeat(9) + "\r\n").scan, Scan.TooMany, "more fields than the scanner holds");
  assert.equal(scan("A: 1\r\n".repeat(8) + "\r\n").scan, Scan.Done, "as many as it holds");
});

test("field names are known in any case, and only whole", () => {
  const at = (name: string): Field => fieldAt(Buffer.from(name), 0, name.length);
  assert.equal(at("content-length"), Field.ContentLength);
  assert.equal(at("CONTENT-LENGTH"), Field.ContentLength);
  assert.equal(at("Transfer-Encoding"), Field.TransferEncoding);
  assert.equal(at("X-Forwarded-For"), Field.ForwardedFor);
  assert.equal(at("x-forwarded-proto"), Field.ForwardedOwn);
  assert.equal(at("Keep-Alive"), Field.HopByHop);
  assert.equal(at("TE"), Field.HopByHop);
  assert.equal(at("Content-Lengths"), Field.Other);
  assert.equal(at("Content_Length"), Field.Other);
  assert.equal(at("Hosts"), Field.Other);
  assert.equal(fieldOfName("x-forwarded-for"), Field.ForwardedFor, "the string path knows the same names");
  for (const name of ["constructor", "__proto__", "tostring"]) assert.equal(fieldOfName(name), Field.Other, `${name} is no field of ours`);
});

test("kept lines are copied as sent, with CR LF ends, joined where they follow one another", () => {
  const text = "A: 1\r\nDrop: x\r\nB: 2\r\nC:3\nD: 4\r\n";
  const data = Buffer.from(text, "latin1");
  const lines = new Lines(data);
  const at = (line: string): [number, number, boolean] => {
    const start = text.indexOf(line);
    const crlf = text[start + line.length] === "\r";
    return [start, start + line.length, crlf];
  };
  assert.equal(lines.empty, true);
  for (const line of ["A: 1", "B: 2", "C:3", "D: 4"]) lines.keep(...at(line));
  const out = Buffer.alloc(lines.size);
  assert.equal(lines.copyTo(out, 0), lines.size, "copyTo writes exactly size bytes");
  assert.equal(out.toString("latin1"), "A: 1\r\nB: 2\r\nC:3\r\nD: 4\r\n", "the dropped line is gone and a bare LF became CR LF");
  assert.deepEqual(lines.pairs(), ["A", "1", "B", "2", "C", "3", "D", "4"]);
});

test("lines joined into the first range, and runs long enough for Buffer#copy, come out as sent", () => {
  const long = `X-Long: ${"v".repeat(300)}`;
  const text = `X: 1\r\nY: 2\r\n${long}\r\nDrop: 1\r\nZ: 3\r\n`;
  const data = Buffer.from(text, "latin1");
  const lines = new Lines(data);
  for (const line of ["X: 1", "Y: 2", long, "Z: 3"]) {
    const start = text.indexOf(line);
    lines.keep(start, start + line.length, true);
  }
  const out = Buffer.alloc(lines.size + 4, 0x2e);
  assert.equal(lines.copyTo(out, 2), lines.size + 2);
  assert.equal(out.toString("latin1"), `..X: 1\r\nY: 2\r\n${long}\r\nZ: 3\r\n..`);
});
