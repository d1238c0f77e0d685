/**
 * The chunked body decoder on its own: any split of the bytes gives the same data and the same
 * end, extensions and trailers are dropped, what follows the body is left alone, and bad framing
 * is refused.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import { ChunkedDecoder } from "../../src/lb/chunked-decoder.ts";
import { MalformedResponse } from "../../src/lb/response-head.ts";

const BODY = "5;name=value\r\nhello\r\n1A\r\n, and a chunk of 26 bytes.\r\n0\r\nX-Checksum: abc\r\nX-Other: 1\r\n\r\n";
const NEXT = "HTTP/1.1 200 OK\r\n";

/** Feeds `text` in pieces of `size` bytes; the decoded data, and where the body ended (offset in `text`, or -1). */
function decodeInPieces(decoder: ChunkedDecoder, text: string, size: number): { data: string; end: number } {
  const bytes = Buffer.from(text, "latin1");
  let data = "";
  for (let at = 0; at < bytes.length; at += size) {
    const out: Buffer[] = [];
    const end = decoder.decode(bytes.subarray(at, at + size), out);
    data += Buffer.concat(out).toString("latin1");
    if (end !== -1) return { data, end: at + end };
  }
  return { data, end: -1 };
}

test("every split of a body gives its data and its end, with extensions and trailers dropped", () => {
  const text = BODY + NEXT;
  for (let size = 1; size <= text.length; size++) {
    const { data, end } = decodeInPieces(new ChunkedDecoder(), text, size);
    assert.equal(data, "hello, and a chunk of 26 bytes.", `pieces of ${size}`);
    assert.equal(end, BODY.length, `pieces of ${size}: the end is after the empty line`);
  }
});

test("a body not yet ended says so, and the data so far is handed over", () => {
  const decoder = new ChunkedDecoder();
  const out: Buffer[] = [];
  assert.equal(decoder.decode(Buffer.from("a\r\n01234"), out), -1);
  assert.equal(Buffer.concat(out).toString(), "01234");
  const rest: Buffer[] = [];
  const tail = "56789\r\n0\r\n\r\n";
  assert.equal(decoder.decode(Buffer.from(tail + NEXT), rest), tail.length);
  assert.equal(Buffer.concat(rest).toString(), "56789");
});

test("bad framing is refused: a size that is not hex, data without its CRLF, an endless line", () => {
  for (const [text, why] of [
    ["zz\r\n", "bad chunk size"],
    ["\r\n", "bad chunk size"],
    ["1234567890abc\r\n", "bad chunk size"],
    ["3\r\nabcX\r\n", "chunk without CRLF"],
    [`1;${"x".repeat(9000)}`, "chunk line too long"],
  ] as const) {
    assert.throws(() => new ChunkedDecoder().decode(Buffer.from(text), []), (error: unknown) => error instanceof MalformedResponse && error.message === why, JSON.stringify(text.slice(0, 20)));
  }
});

test("reset makes a decoder left mid-body ready for a new one", () => {
  const decoder = new ChunkedDecoder();
  assert.equal(decoder.decode(Buffer.from("ff\r\npartial"), []), -1);
  decoder.reset();
  const out: Buffer[] = [];
  const body = "2\r\nok\r\n0\r\n\r\n";
  assert.equal(decoder.decode(Buffer.from(body), out), body.length);
  assert.equal(Buffer.concat(out).toString(), "ok");
});
