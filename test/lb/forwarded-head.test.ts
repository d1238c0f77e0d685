// The request head the fast path sends to a target, byte for byte: the client's lines as sent,
// then X-Forwarded-For/-Proto/-Port, X-Amzn-Trace-Id and the connection's fate, written
// straight into one buffer (its length must be exactly what was written).
import assert from "node:assert/strict";
import type { Socket } from "node:net";
import { test } from "node:test";
import { frontRequestHead } from "../../src/lb/forwarded-head.ts";
import { type FrontRequest, readRequestHead } from "../../src/lb/request-head.ts";

const now = Date.UTC(2026, 11, 8, 1, 0, 0);
const epoch = Math.floor(now / 1000).toString(16);
const target = { address: "10.0.0.5", port: 8080 };

function parse(head: string): FrontRequest {
  const req = readRequestHead(Buffer.from(head, "latin1"), {} as Socket);
  assert.ok(req && typeof req === "object", `parsed: ${JSON.stringify(head)}`);
  return req;
}

test("a new trace id, the client appended to X-Forwarded-For, Connection: close without upstream keep-alive", () => {
  const req = parse("GET /a?b=1 HTTP/1.1\r\nHost: shop\r\nX-Forwarded-For: 203.0.113.7\r\nAccept: */*\r\n\r\n");
  const sent = frontRequestHead(req, "192.0.2.10", "https", 443, now, target, false).toString("latin1");
  assert.match(
    sent,
    new RegExp(
      `^GET /a\\?b=1 HTTP/1\\.1\r\nHost: shop\r\nAccept: \\*/\\*\r\nX-Forwarded-For: 203\\.0\\.113\\.7, 192\\.0\\.2\\.10\r\nX-Forwarded-Proto: https\r\nX-Forwarded-Port: 443\r\nX-Amzn-Trace-Id: Root=1-${epoch}-[0-9a-f]{24}\r\nConnection: close\r\n\r\n$`,
    ),
    JSON.stringify(sent),
  );
  const kept = frontRequestHead(req, "192.0.2.10", "http", 80, now, target, true).toString("latin1");
  assert.match(kept, /\r\nX-Forwarded-Proto: http\r\nX-Forwarded-Port: 80\r\nX-Amzn-Trace-Id: Root=1-[0-9a-f]{8}-[0-9a-f]{24}\r\n\r\n$/, JSON.stringify(kept));
});

test("an incoming trace keeps its fields with a new Self; HTTP/1.0 without Host gets the target's", () => {
  const traced = parse("GET / HTTP/1.1\r\nHost: h\r\nX-Amzn-Trace-Id: Root=1-5759e988-bd862e3fe1be46a994272793;Sampled=1\r\n\r\n");
  const sent = frontRequestHead(traced, "127.0.0.1", "http", 80, now, target, true).toString("latin1");
  assert.match(sent, /\r\nX-Amzn-Trace-Id: Self=1-[0-9a-f]{8}-[0-9a-f]{24};Root=1-5759e988-bd862e3fe1be46a994272793;Sampled=1\r\n\r\n$/, JSON.stringify(sent));
  const old = frontRequestHead(parse("GET /old HTTP/1.0\r\n\r\n"), "127.0.0.1", "http", 80, now, target, true).toString("latin1");
  assert.match(old, /^GET \/old HTTP\/1\.1\r\nHost: 10\.0\.0\.5:8080\r\nX-Forwarded-For: 127\.0\.0\.1\r\nX-Forwarded-Proto: http\r\n/, JSON.stringify(old));
});

test("trace ids stay well formed and distinct across refills of the random pool", () => {
  const req = parse("GET / HTTP/1.1\r\nHost: h\r\n\r\n");
  const ids = new Set<string>();
  for (let i = 0; i < 1500; i++) {
    const sent = frontRequestHead(req, "127.0.0.1", "http", 80, now, target, true).toString("latin1");
    const match = /\r\nX-Amzn-Trace-Id: Root=1-[0-9a-f]{8}-([0-9a-f]{24})\r\n\r\n$/.exec(sent);
    assert.ok(match, JSON.stringify(sent));
    ids.add(match[1] as string);
  }
  assert.equal(ids.size, 1500);
});
