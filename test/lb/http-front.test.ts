/**
 * The fast front of an HTTP listener, over raw client sockets: pipelined requests answered in
 * order, a request with a body or a fixed response handed to node:http on the same connection,
 * HTTP/1.0 and HEAD, a target's chunked or close-delimited answer re-framed for the client, and
 * a request it cannot parse answered with ALB's 400.
 */
import assert from "node:assert/strict";
import { connect, createServer, type Server } from "node:net";
import { after, before, describe, test } from "node:test";
import type { LoadBalancerDataPlane } from "../../src/lb/load-balancer-data-plane.ts";
import { type Backend, forwardTo, freePort, listener, loadBalancer, newDataPlane, snapshot, startBackend, target, targetGroup } from "./lb-fixtures.ts";

/** Writes the bytes, then collects everything until the server closes (or `ms` passes). */
function raw(port: number, bytes: string, ms = 3000): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host: "127.0.0.1", port });
    let out = "";
    const timer = setTimeout(() => socket.destroy(), ms);
    socket.on("data", (c: Buffer) => (out += c.toString("latin1")));
    socket.on("error", reject);
    socket.on("close", () => {
      clearTimeout(timer);
      resolve(out);
    });
    socket.write(bytes);
  });
}

/** Splits a stream of responses with Content-Length or chunked bodies into [status line, decoded body]. */
function responses(stream: string): [string, string][] {
  const out: [string, string][] = [];
  let rest = stream;
  while (rest.length > 0) {
    const end = rest.indexOf("\r\n\r\n");
    if (end === -1) break;
    const head = rest.slice(0, end);
    rest = rest.slice(end + 4);
    const length = /\r\ncontent-length: (\d+)/i.exec(head);
    let body = "";
    if (/^HTTP\/1\.1 \d+ .*\r\n/.test(head) && /\r\ntransfer-encoding: chunked/i.test(head)) {
      for (;;) {
        const nl = rest.indexOf("\r\n");
        const size = parseInt(rest.slice(0, nl), 16);
        rest = rest.slice(nl + 2);
        if (size === 0) {
          rest = rest.slice(2);
          break;
        }
        body += rest.slice(0, size);
        rest = rest.slice(size + 2);
      }
    } else if (length && !head.startsWith("HEAD")) {
      body = rest.slice(0, Number(length[1]));
      rest = rest.slice(Number(length[1]));
    }
    out.push([head.split("\r\n")[0] ?? "", body]);
  }
  return out;
}

describe("HTTP listener front", () => {
  let dp: LoadBalancerDataPlane;
  let port: number;
  let backend: Backend;
  let framed: Server;
  let framedPort: number;

  before(async () => {
    backend = await startBackend("web");
    // A target that answers /chunked with a chunked body and /close with a body delimited by closing.
    framed = createServer((socket) => {
      socket.on("data", (c: Buffer) => {
        const head = c.toString("latin1");
        if (head.startsWith("GET /raw")) socket.write(`HTTP/1.1 200 OK\r\nContent-Length: ${c.length}\r\n\r\n${head}`);
        else if (head.startsWith("GET /later")) {
          // The answer in pieces, each in its own read on the proxy's side.
          const pieces = head.startsWith("GET /later-chunked")
            ? ["HTTP/1.1 200 OK\r\nX-Later: chunked\r\nTransfer-Encoding: chunked\r\n\r\n", "5\r\nhello\r\n", "0\r\n\r\n"]
            : ["HTTP/1.1 200 OK\r\nX-Lat", "er: length\r\nContent-Length: 11\r\n\r\n", "hello", " world"];
          pieces.forEach((piece, i) => setTimeout(() => socket.write(piece), 30 * i));
        } else if (head.startsWith("GET /lf")) socket.write("HTTP/1.1 200 OK\nX-Lf: 1\nContent-Length: 999\nTransfer-Encoding: chunked\n\n2\r\nok\r\n0\r\n\r\n");
        else if (head.startsWith("GET /close")) socket.end("HTTP/1.1 200 OK\r\nConnection: close\r\n\r\nuntil close");
        else socket.write("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n3\r\ndef\r\n0\r\n\r\n");
      });
    });
    await new Promise<void>((r) => framed.listen(0, "127.0.0.1", r));
    framedPort = (framed.address() as { port: number }).port;
    port = await freePort();
    dp = newDataPlane();
    const noCheck = { ...targetGroup("x", []).healthCheck, enabled: false };
    const web = targetGroup("web", [target(backend.port)], { healthCheck: noCheck });
    const odd = targetGroup("odd", [target(framedPort)], { healthCheck: noCheck });
    const rules = [
      { arn: "r-fixed", priority: 1, conditions: [{ field: "path-pattern" as const, values: ["/fixed"] }], actions: [{ type: "fixed-response" as const, statusCode: "200", contentType: "text/plain", messageBody: "fixed" }] },
      { arn: "r-odd", priority: 2, conditions: [{ field: "path-pattern" as const, values: ["/chunked", "/close", "/raw*", "/lf", "/later*"] }], actions: [forwardTo(odd)] },
    ];
    await dp.apply(snapshot([loadBalancer([listener(port, [forwardTo(web)], rules)])], [web, odd]));
  });

  after(async () => {
    await dp.close();
    await backend.close();
    framed.close();
  });

  test("pipelined requests are answered in order; a body or a fixed response moves the connection to node:http", async () => {
    const stream = await raw(
      port,
      "GET /a HTTP/1.1\r\nHost: x\r\n\r\nGET /b HTTP/1.1\r\nHost: x\r\n\r\n" +
        "POST /c HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nhello" +
        "GET /fixed HTTP/1.1\r\nHost: x\r\n\r\nGET /d HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
    );
    const got = responses(stream);
    assert.deepEqual(
      got.map(([, body]) => body),
      ["web /a", "web /b", "web /c", "fixed", "web /d"],
      `five answers in order: ${JSON.stringify(got)}`,
    );
    assert.ok(
      got.every(([line]) => line === "HTTP/1.1 200 OK"),
      `all 200: ${JSON.stringify(got)}`,
    );
  });

  test("HTTP/1.0 closes after the answer; HEAD gets the head only; keep-alive headers as node:http sends them", async () => {
    const old = await raw(port, "GET /old HTTP/1.0\r\n\r\n");
    assert.match(old, /^HTTP\/1\.1 200 OK\r\n/, `1.0 answered: ${old}`);
    assert.match(old, /\r\nConnection: close\r\n/i, "1.0 without keep-alive closes");
    assert.ok(old.endsWith("web /old"), `body: ${old}`);
    const head = await raw(port, "HEAD /h HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
    assert.match(head, /^HTTP\/1\.1 200 OK\r\n[^]*\r\nX-Backend: web\r\n/, `HEAD answered: ${head}`);
    assert.ok(head.endsWith("\r\n\r\n"), `no body after HEAD's head: ${JSON.stringify(head)}`);
    const kept = await raw(port, "GET /k HTTP/1.1\r\nHost: x\r\n\r\n", 300);
    assert.match(kept, /\r\nConnection: keep-alive\r\nKeep-Alive: timeout=60\r\n/, `keep-alive: ${kept}`);
    assert.match(kept, /\r\nX-Backend: web\r\n/, "the target's headers");
    assert.match(kept, /\r\nDate: /, "a Date");
  });

  test("a chunked or close-delimited answer from the target is framed for the client", async () => {
    const got = responses(await raw(port, "GET /chunked HTTP/1.1\r\nHost: x\r\n\r\nGET /close HTTP/1.1\r\nHost: x\r\n\r\nGET /a HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"));
    assert.deepEqual(
      got.map(([, body]) => body),
      ["abcdef", "until close", "web /a"],
      `re-framed bodies, connection kept: ${JSON.stringify(got)}`,
    );
  });

  test("the target gets the client's head as sent, less hop-by-hop fields, with ALB's own", async () => {
    const [[, sent]] = responses(
      await raw(
        port,
        "GET /raw?x=1 HTTP/1.1\r\nHost: first\r\nhost: second\r\nX-Case: KeEp\r\nConnection: keep-alive, X-Secret\r\nX-Secret: s\r\nKeep-Alive: timeout=5\r\nTE: trailers\r\n" +
          "X-Forwarded-Proto: https\r\nX-Forwarded-For: 203.0.113.9\r\nx-forwarded-for: 198.51.100.1\r\nX-Tail:  spaced  \r\nX-Amzn-Trace-Id: Root=1-5759e988-bd862e3fe1be46a994272793\r\nConnection: close\r\n\r\n",
      ),
    ) as [[string, string]];
    const [line, ...rest] = sent.split("\r\n");
    assert.equal(line, "GET /raw?x=1 HTTP/1.1");
    const trace = rest.find((h) => h.startsWith("X-Amzn-Trace-Id: ")) ?? "";
    assert.match(trace, /^X-Amzn-Trace-Id: Self=1-[0-9a-f]{8}-[0-9a-f]{24};Root=1-5759e988-bd862e3fe1be46a994272793$/, "the incoming trace kept, with a Self");
    assert.deepEqual(
      rest.filter((h) => h !== trace),
      ["Host: first", "X-Case: KeEp", "X-Tail:  spaced  ", "X-Forwarded-For: 203.0.113.9, 198.51.100.1, 127.0.0.1", "X-Forwarded-Proto: http", `X-Forwarded-Port: ${port}`, "", ""],
      `the first Host only, fields named by Connection and hop-by-hop ones dropped, the rest byte for byte: ${JSON.stringify(sent)}`,
    );
    const [[, old]] = responses(await raw(port, "GET /raw10 HTTP/1.0\r\nX-A: 1\r\n\r\n")) as [[string, string]];
    assert.match(old, new RegExp(`^GET /raw10 HTTP/1\\.1\r\nX-A: 1\r\nHost: 127\\.0\\.0\\.1:${framedPort}\r\nX-Forwarded-For: 127\\.0\\.0\\.1\r\n`), `HTTP/1.0 goes on as 1.1 with the target's Host: ${JSON.stringify(old)}`);
  });

  test("a target's bare-LF head reaches the client with CR LF; Transfer-Encoding wins over Content-Length", async () => {
    const reply = await raw(port, "GET /lf HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
    const head = reply.slice(0, reply.indexOf("\r\n\r\n"));
    assert.match(head, /^HTTP\/1\.1 200 OK\r\nX-Lf: 1\r\nTransfer-Encoding: chunked\r\n/, `CR LF lines: ${JSON.stringify(reply)}`);
    assert.doesNotMatch(head, /content-length/i, "the Content-Length beside Transfer-Encoding is not passed on");
    assert.deepEqual(responses(reply), [["HTTP/1.1 200 OK", "ok"]]);
  });

  test("an answer that comes in pieces reaches the client whole: a head split across reads, a body after its head", async () => {
    const reply = await raw(port, "GET /later HTTP/1.1\r\nHost: x\r\n\r\nGET /later-chunked HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
    assert.match(reply, /^HTTP\/1\.1 200 OK\r\nX-Later: length\r\nContent-Length: 11\r\n/, `the split head, whole: ${JSON.stringify(reply)}`);
    assert.match(reply, /\r\n\r\nhello worldHTTP\/1\.1 200 OK\r\nX-Later: chunked\r\nTransfer-Encoding: chunked\r\n/, `the second head, sent before its body came: ${JSON.stringify(reply)}`);
    assert.deepEqual(
      responses(reply).map(([, body]) => body),
      ["hello world", "hello"],
    );
  });

  test("a request node:http cannot parse gets ALB's 400", async () => {
    const reply = await raw(port, "GET /a HTTP/1.1\r\nHost: x\r\nBad Header\r\n\r\n");
    assert.match(reply, /^HTTP\/1\.1 400 Bad Request\r\nServer: awselb\/2\.0\r\n/, `400: ${reply}`);
  });
});
