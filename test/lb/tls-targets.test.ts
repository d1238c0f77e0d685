/**
 * Target groups whose protocol is HTTPS (ALB) or TLS (NLB) reach their targets over TLS, with the
 * target's self-signed certificate accepted as ALB and NLB accept it: bodiless requests (the fast
 * path) and requests with a body (node:http) over pooled TLS connections, HTTPS health checks, a
 * WebSocket, and an NLB flow; an HTTP group beside them still speaks plain HTTP.
 */
import assert from "node:assert/strict";
import { type IncomingMessage, request } from "node:http";
import { createServer as createHttpsServer } from "node:https";
import { connect } from "node:net";
import type { TLSSocket } from "node:tls";
import { createServer as createTlsServer } from "node:tls";
import { after, test } from "node:test";
import { WebSocket, WebSocketServer } from "ws";
import { closeClients, FAST_CHECK, forwardTo, freePort, get, listener, loadBalancer, newDataPlane, selfSigned, snapshot, startBackend, target, targetGroup, until, untilState } from "./lb-fixtures.ts";

after(closeClients);

const cert = selfSigned("target.internal");
const tlsOptions = { cert: cert.certificatePem, key: cert.privateKeyPem };

/** An HTTPS backend that answers with what it saw, counting the TLS connections that carried requests other than health checks. */
async function startHttpsBackend() {
  const seen = { requestSockets: new Set<TLSSocket>(), healthChecks: 0, lastHeaders: undefined as IncomingMessage["headers"] | undefined };
  const server = createHttpsServer(tlsOptions, (req, res) => {
    if (req.url === "/health") {
      seen.healthChecks++;
      res.end("ok");
      return;
    }
    seen.requestSockets.add(req.socket as TLSSocket);
    seen.lastHeaders = req.headers;
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      res.writeHead(200, { "Content-Type": "text/plain" });
      res.end(`secure ${req.method} ${req.url} ${(req.socket as TLSSocket).getProtocol()} ${Buffer.concat(chunks).toString()}`.trim());
    });
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  return { server, seen, port: (server.address() as { port: number }).port };
}

function post(port: number, path: string, body: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request({ host: "127.0.0.1", port, path, method: "POST", agent: false }, (res) => {
      let text = "";
      res.on("data", (d: Buffer) => (text += d.toString()));
      res.on("end", () => resolve({ status: res.statusCode ?? 0, body: text }));
    });
    req.on("error", reject);
    req.end(body);
  });
}

test("an HTTPS target group gets its requests over pooled TLS connections, and HTTPS health checks mark it healthy", async () => {
  const backend = await startHttpsBackend();
  const plain = await startBackend("plain");
  const port = await freePort();
  const dp = newDataPlane();
  const secure = targetGroup("secure", [target(backend.port)], { protocol: "HTTPS", healthCheck: { ...FAST_CHECK, protocol: "HTTPS" } });
  const http = targetGroup("plain", [target(plain.port)]);
  const lb = loadBalancer([listener(port, [forwardTo(http)], [{ arn: "r1", priority: 1, conditions: [{ field: "path-pattern", values: ["/secure/*"] }], actions: [forwardTo(secure)] }])]);
  try {
    await dp.apply(snapshot([lb], [secure, http]));
    await until("health checks over HTTPS", () => (backend.seen.healthChecks >= 2 ? true : undefined));
    await untilState(dp, secure.arn, "healthy", 1);
    for (let i = 0; i < 20; i++) {
      const reply = await get(port, `/secure/${i}`);
      assert.equal(reply.status, 200);
      assert.match(reply.body, new RegExp(`^secure GET /secure/${i} TLSv1\\.3$`), "answered by the TLS target");
    }
    assert.equal(backend.seen.requestSockets.size, 1, "20 requests in turn share one pooled TLS connection");
    assert.equal(backend.seen.lastHeaders?.["x-forwarded-proto"], "http", "ALB's headers go to the target");
    assert.equal(backend.seen.lastHeaders?.["x-forwarded-for"], "127.0.0.1");
    const withBody = await post(port, "/secure/upload", "payload");
    assert.deepEqual(withBody, { status: 200, body: "secure POST /secure/upload TLSv1.3 payload" }, "a request with a body goes over TLS too");
    const other = await get(port, "/elsewhere");
    assert.equal(other.body, "plain /elsewhere", "an HTTP group beside it still gets plain HTTP");
  } finally {
    await dp.close();
    backend.server.closeAllConnections();
    backend.server.close();
    await plain.close();
  }
});

test("an HTTPS target that is not speaking TLS is a 502 and fails its health checks", async () => {
  const plain = await startBackend("plain");
  const port = await freePort();
  const dp = newDataPlane();
  const group = targetGroup("wrong", [target(plain.port)], { protocol: "HTTPS", healthCheck: { ...FAST_CHECK, protocol: "HTTPS" } });
  try {
    await dp.apply(snapshot([loadBalancer([listener(port, [forwardTo(group)])])], [group]));
    await untilState(dp, group.arn, "unhealthy", 1);
    const reply = await get(port, "/");
    assert.equal(reply.status, 502, "the TLS handshake with a plain HTTP server fails");
    assert.equal(plain.hits, 0, "no request reached it in plain text");
  } finally {
    await dp.close();
    await plain.close();
  }
});

test("a WebSocket reaches an HTTPS target over TLS", async () => {
  const server = createHttpsServer(tlsOptions);
  const wss = new WebSocketServer({ server });
  wss.on("connection", (ws, req) => ws.on("message", (d) => ws.send(`${(req.socket as TLSSocket).encrypted ? "tls" : "plain"} echo ${String(d)}`)));
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  const port = await freePort();
  const dp = newDataPlane();
  const group = targetGroup("ws", [target((server.address() as { port: number }).port)], { protocol: "HTTPS", healthCheck: { ...FAST_CHECK, enabled: false } });
  try {
    await dp.apply(snapshot([loadBalancer([listener(port, [forwardTo(group)])])], [group]));
    const client = new WebSocket(`ws://127.0.0.1:${port}/chat`);
    await new Promise<void>((resolve, reject) => client.once("open", () => resolve()).once("error", reject));
    const reply = new Promise<string>((resolve) => client.once("message", (d) => resolve(String(d))));
    client.send("hi");
    assert.equal(await reply, "tls echo hi");
    client.close();
  } finally {
    await dp.close();
    wss.close();
    server.close();
  }
});

test("an NLB TCP listener passes a flow to a TLS target group over TLS, half-close included", async () => {
  const echo = createTlsServer({ ...tlsOptions, allowHalfOpen: true }, (s) => {
    const chunks: Buffer[] = [];
    s.on("data", (c: Buffer) => chunks.push(c));
    s.on("end", () => s.end(`${s.getProtocol()} ${Buffer.concat(chunks).toString().toUpperCase()}`));
  });
  await new Promise<void>((r) => echo.listen(0, "127.0.0.1", r));
  const port = await freePort();
  const dp = newDataPlane();
  const group = targetGroup("tls", [target((echo.address() as { port: number }).port)], { protocol: "TLS", healthCheck: { ...FAST_CHECK, protocol: "TCP", path: "" } });
  try {
    await dp.apply(snapshot([loadBalancer([listener(port, [forwardTo(group)], [], { protocol: "TCP" })], {}, "network")], [group]));
    await untilState(dp, group.arn, "healthy", 1);
    const text = await new Promise<string>((resolve, reject) => {
      const s = connect({ host: "127.0.0.1", port, allowHalfOpen: true }, () => s.end("round trip"));
      let got = "";
      s.on("data", (d: Buffer) => (got += d.toString()));
      s.on("end", () => resolve(got));
      s.on("error", reject);
    });
    assert.equal(text, "TLSv1.3 ROUND TRIP");
  } finally {
    await dp.close();
    echo.close();
  }
});
