/**
 * The proxy's own upstream HTTP/1.1 client against raw TCP targets that answer byte for byte:
 * every framing (Content-Length, chunked with trailers, until close, bodiless), heads split
 * across packets, 1xx skipped, hop-by-hop headers dropped, keep-alive reuse, and the failures
 * (malformed, close before the answer, timeout) reported as such.
 */
import assert from "node:assert/strict";
import { createServer, type Server, type Socket } from "node:net";
import { test } from "node:test";
import { type UpstreamExchange, type UpstreamFailure, UpstreamPool } from "../../src/lb/upstream-client.ts";

interface Outcome {
  status?: number;
  reason?: string;
  headers?: string[];
  body: string;
  failure?: UpstreamFailure;
}

/** A target that answers each request head with the given writes (strings written one by one, a tick apart). */
async function rawTarget(answer: (request: string, socket: Socket, n: number) => void): Promise<{ server: Server; port: number; connections: () => number; close(): Promise<void> }> {
  let connections = 0;
  let n = 0;
  const sockets = new Set<Socket>();
  const server = createServer((socket) => {
    connections++;
    sockets.add(socket);
    socket.on("close", () => sockets.delete(socket));
    let buffer = "";
    socket.on("data", (chunk) => {
      buffer += chunk.toString("latin1");
      let end: number;
      while ((end = buffer.indexOf("\r\n\r\n")) !== -1) {
        const request = buffer.slice(0, end);
        buffer = buffer.slice(end + 4);
        answer(request, socket, n++);
      }
    });
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  return {
    server,
    port: (server.address() as { port: number }).port,
    connections: () => connections,
    close: () =>
      new Promise<void>((r) => {
        for (const s of sockets) s.destroy();
        server.close(() => r());
      }),
  };
}

function exchange(pool: UpstreamPool, head = false, idleMs = 2000, path = "/"): Promise<Outcome> {
  return new Promise((resolve) => {
    const out: Outcome = { body: "" };
    const ex: UpstreamExchange = {
      head,
      onHead(response) {
        Object.assign(out, { status: response.status, reason: response.reason, headers: response.headers() });
      },
      onBody(chunk, last) {
        if (chunk) out.body += chunk.toString("latin1");
        if (last) resolve(out);
        return true;
      },
      onFail(failure) {
        out.failure = failure;
        resolve(out);
      },
    };
    pool.send(`${head ? "HEAD" : "GET"} ${path} HTTP/1.1\r\nHost: t\r\n\r\n`, ex, idleMs);
  });
}

const writeSlowly = async (socket: Socket, parts: string[]): Promise<void> => {
  for (const p of parts) {
    socket.write(p);
    await new Promise((r) => setTimeout(r, 5));
  }
};

test("Content-Length, chunked with trailers, split heads, 1xx and hop-by-hop headers, over one kept-alive connection", async () => {
  const target = await rawTarget((request, socket, n) => {
    const path = request.split(" ")[1];
    if (path === "/length") void writeSlowly(socket, ["HTTP/1.1 200 OK\r\nContent-Le", "ngth: 11\r\nConnection: keep-alive\r\nKeep-Alive: timeout=5\r\nX-A: 1\r\n\r\nhello", " world"]);
    else if (path === "/chunked") void writeSlowly(socket, ["HTTP/1.1 201 Created\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhel", "lo\r\n6;ext=1\r\n world\r\n0\r\nX-Trailer: t\r\n", "\r\n"]);
    else if (path === "/continue") socket.write("HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 103 Early Hints\r\nLink: </a>\r\n\r\nHTTP/1.1 204 No Content\r\nX-N: " + n + "\r\n\r\n");
    else socket.write("HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n");
  });
  const pool = new UpstreamPool("127.0.0.1", target.port, true);
  try {
    const length = await exchange(pool, false, 2000, "/length");
    assert.equal(length.status, 200, "status");
    assert.equal(length.reason, "OK", "reason phrase");
    assert.equal(length.body, "hello world", "body framed by Content-Length across packets");
    assert.deepEqual(length.headers, ["Content-Length", "11", "X-A", "1"], "Connection and Keep-Alive are dropped, the rest kept as sent");
    const chunked = await exchange(pool, false, 2000, "/chunked");
    assert.equal(chunked.status, 201, "chunked status");
    assert.equal(chunked.body, "hello world", "chunks decoded, extension and trailer dropped");
    assert.deepEqual(chunked.headers, ["Transfer-Encoding", "chunked"], "Transfer-Encoding kept for the client side to re-chunk");
    const early = await exchange(pool, false, 2000, "/continue");
    assert.equal(early.status, 204, "1xx heads skipped");
    assert.equal(early.body, "", "204 has no body");
    const missing = await exchange(pool, false, 2000, "/missing");
    assert.equal(missing.status, 404, "Content-Length: 0");
    assert.equal(target.connections(), 1, "four exchanges over one connection");
    assert.equal(pool.size, 1, "one pooled connection");
  } finally {
    pool.destroy();
    await target.close();
  }
});

test("HEAD ignores Content-Length; a body until close ends the connection", async () => {
  const target = await rawTarget((request, socket) => {
    if (request.startsWith("HEAD")) socket.write("HTTP/1.1 200 OK\r\nContent-Length: 1234\r\n\r\n");
    else void writeSlowly(socket, ["HTTP/1.0 200 OK\r\nContent-Type: text/plain\r\n\r\nuntil ", "close"]).then(() => socket.end());
  });
  const pool = new UpstreamPool("127.0.0.1", target.port, true);
  try {
    const head = await exchange(pool, true);
    assert.equal(head.status, 200, "HEAD status");
    assert.equal(head.body, "", "no body for HEAD");
    const close = await exchange(pool);
    assert.equal(close.body, "until close", "read until the target closes");
    assert.equal(close.failure, undefined, "not a failure");
    assert.equal(target.connections(), 1, "HEAD's connection was reused for the GET");
  } finally {
    pool.destroy();
    await target.close();
  }
});

test("failures: malformed answers, a close before the answer, refusal and timeout", async () => {
  const target = await rawTarget((request, socket) => {
    const path = request.split(" ")[1];
    if (path === "/garbage") socket.end("NOT HTTP AT ALL\r\n\r\n");
    else if (path === "/bad-length") socket.write("HTTP/1.1 200 OK\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\nhello");
    else if (path === "/bad-reason") socket.write("HTTP/1.1 200 O\rK\r\nContent-Length: 0\r\n\r\n");
    else if (path === "/bad-header") socket.write("HTTP/1.1 200 OK\r\nX-A: 1\r\n folded\r\nContent-Length: 0\r\n\r\n");
    else if (path === "/bad-code") socket.write("HTTP/1.1 2x0 OK\r\nContent-Length: 0\r\n\r\n");
    else if (path === "/bad-chunk") socket.write("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n");
    else if (path === "/hangup") socket.destroy();
    else if (path === "/short") socket.end("HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc");
  });
  const pool = new UpstreamPool("127.0.0.1", target.port, true);
  try {
    for (const path of ["/garbage", "/bad-length", "/bad-reason", "/bad-header", "/bad-code"]) {
      const out = await exchange(pool, false, 2000, path);
      assert.ok(out.failure?.malformed && !out.failure.answered, `${path} is malformed before an answer: ${JSON.stringify(out)}`);
    }
    const badChunk = await exchange(pool, false, 2000, "/bad-chunk");
    assert.ok(badChunk.failure?.malformed && badChunk.failure.answered, `a bad chunk after the head: ${JSON.stringify(badChunk)}`);
    const hangup = await exchange(pool, false, 2000, "/hangup");
    assert.ok(hangup.failure && !hangup.failure.answered && !hangup.failure.timedOut && !hangup.failure.reused, `closed without an answer: ${JSON.stringify(hangup)}`);
    const short = await exchange(pool, false, 2000, "/short");
    assert.ok(short.failure?.answered, `closed mid-body: ${JSON.stringify(short)}`);
    const started = Date.now();
    const slow = await exchange(pool, false, 200, "/never");
    assert.ok(slow.failure?.timedOut, `silent target times out: ${JSON.stringify(slow)}`);
    assert.ok(Date.now() - started < 1500, "at the idle timeout");
  } finally {
    pool.destroy();
    await target.close();
  }
  const refused = new UpstreamPool("127.0.0.1", target.port, true);
  const out = await exchange(refused);
  assert.equal(out.failure?.code, "ECONNREFUSED", `refused: ${JSON.stringify(out)}`);
  refused.destroy();
});

test("a pooled connection the target closed while idle is dropped, and the next request opens another", async () => {
  const target = await rawTarget((_request, socket) => {
    socket.write("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok");
    setTimeout(() => socket.end(), 20);
  });
  const pool = new UpstreamPool("127.0.0.1", target.port, true);
  try {
    assert.equal((await exchange(pool)).body, "ok", "first");
    await new Promise((r) => setTimeout(r, 100));
    assert.equal(pool.size, 0, "the closed connection left the pool");
    assert.equal((await exchange(pool)).body, "ok", "second");
    assert.equal(target.connections(), 2, "on a new connection");
  } finally {
    pool.destroy();
    await target.close();
  }
});

test("without keep-alive every exchange closes its connection", async () => {
  const target = await rawTarget((_request, socket) => socket.write("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"));
  const pool = new UpstreamPool("127.0.0.1", target.port, false);
  try {
    for (let i = 0; i < 3; i++) assert.equal((await exchange(pool)).body, "ok", `exchange ${i}`);
    assert.equal(target.connections(), 3, "one connection per exchange");
  } finally {
    pool.destroy();
    await target.close();
  }
});
