/**
 * Connections that are not one HTTP request: a WebSocket echoing through an ALB listener (and
 * holding its draining target), bytes through an NLB TCP listener and an NLB TLS listener, and an
 * HTTPS listener that speaks TLS 1.2 and 1.3 and refuses 1.0 and 1.1 (openssl s_client), choosing
 * its certificate by SNI.
 */
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { request as httpsRequest } from "node:https";
import { connect, createServer } from "node:net";
import { connect as tlsConnect } from "node:tls";
import { test } from "node:test";
import { WebSocket, WebSocketServer } from "ws";
import { FAST_CHECK, forwardTo, freePort, listener, loadBalancer, newDataPlane, selfSigned, snapshot, target, targetGroup, until, untilState } from "./lb-fixtures.ts";

test("a WebSocket echoes through the ALB, and its draining target is drained only when it closes", async () => {
  const wss = new WebSocketServer({ host: "127.0.0.1", port: 0 });
  await new Promise<void>((r) => wss.once("listening", () => r()));
  let forwardedFor: string | undefined;
  wss.on("connection", (ws, req) => {
    forwardedFor = req.headers["x-forwarded-for"] as string | undefined;
    ws.on("message", (data) => ws.send(`echo ${String(data)}`));
  });
  const wsPort = (wss.address() as { port: number }).port;
  const port = await freePort();
  const dp = newDataPlane();
  const group = (state: "registered" | "draining") => targetGroup("ws", [target(wsPort, state)], { healthCheck: { ...FAST_CHECK, enabled: false } });
  const lb = loadBalancer([listener(port, [forwardTo(group("registered"))])]);
  try {
    await dp.apply(snapshot([lb], [group("registered")]));
    const client = new WebSocket(`ws://127.0.0.1:${port}/chat`);
    await new Promise<void>((resolve, reject) => client.once("open", () => resolve()).once("error", reject));
    const reply = new Promise<string>((resolve) => client.once("message", (d) => resolve(String(d))));
    client.send("hello");
    assert.equal(await reply, "echo hello", "echoed through the load balancer");
    assert.equal(forwardedFor, "127.0.0.1", "the handshake carried X-Forwarded-For");
    await dp.apply(snapshot([lb], [group("draining")]));
    await new Promise((r) => setTimeout(r, 300));
    assert.equal(dp.targetHealth()[0]?.drained, false, "an open WebSocket keeps its target draining");
    const again = new Promise<string>((resolve) => client.once("message", (d) => resolve(String(d))));
    client.send("still here");
    assert.equal(await again, "echo still here", "the WebSocket keeps working while its target drains");
    client.close();
    await until("drained after the WebSocket closed", () => (dp.targetHealth()[0]?.drained === true ? true : undefined), 3000);
  } finally {
    await dp.close();
    wss.close();
  }
});

test("bytes round-trip through an NLB TCP listener and an NLB TLS listener", async () => {
  const echo = createServer({ allowHalfOpen: true }, (s) => {
    const chunks: Buffer[] = [];
    s.on("data", (c: Buffer) => chunks.push(c));
    s.on("end", () => s.end(Buffer.concat(chunks).toString().toUpperCase()));
  });
  await new Promise<void>((r) => echo.listen(0, "127.0.0.1", r));
  const echoPort = (echo.address() as { port: number }).port;
  const [tcpPort, tlsPort] = [await freePort(), await freePort()];
  const dp = newDataPlane();
  const group = targetGroup("tcp", [target(echoPort)], { protocol: "TCP", healthCheck: { ...FAST_CHECK, protocol: "TCP", path: "" } });
  const cert = selfSigned("nlb.example.com");
  const certArn = "arn:aws:acm:ap-south-1:123456789012:certificate/nlb";
  const nlb = loadBalancer(
    [
      listener(tcpPort, [forwardTo(group)], [], { arn: "tcp-listener", protocol: "TCP" }),
      listener(tlsPort, [forwardTo(group)], [], { arn: "tls-listener", protocol: "TLS", certificateArns: [certArn] }),
    ],
    {},
    "network",
  );
  try {
    await dp.apply(snapshot([nlb], [group], { [certArn]: cert }));
    await untilState(dp, group.arn, "healthy", 1);
    const viaTcp = await new Promise<string>((resolve, reject) => {
      const s = connect({ host: "127.0.0.1", port: tcpPort, allowHalfOpen: true }, () => s.end("round trip"));
      let text = "";
      s.on("data", (d: Buffer) => (text += d.toString()));
      s.on("end", () => resolve(text));
      s.on("error", reject);
    });
    assert.equal(viaTcp, "ROUND TRIP", "TCP passthrough with half-close");
    const viaTls = await new Promise<string>((resolve, reject) => {
      const s = tlsConnect({ host: "127.0.0.1", port: tlsPort, servername: "nlb.example.com", rejectUnauthorized: false }, () => s.end("over tls"));
      let text = "";
      s.on("data", (d: Buffer) => (text += d.toString()));
      s.on("end", () => resolve(text));
      s.on("error", reject);
    });
    assert.equal(viaTls, "OVER TLS", "TLS terminated, plain TCP to the target");
    assert.ok((dp.metrics().targetGroups[group.arn]?.requestCount ?? 0) >= 2, "flows are counted");
  } finally {
    await dp.close();
    echo.close();
  }
});

function sClient(port: number, args: string[]): Promise<{ ok: boolean; output: string }> {
  return new Promise((resolve) => {
    const child = execFile("openssl", ["s_client", "-connect", `127.0.0.1:${port}`, ...args], { timeout: 10_000 }, (error, stdout, stderr) => {
      const output = `${stdout}\n${stderr}`;
      resolve({ ok: !error && /Cipher is (?!\(NONE\))/.test(output), output });
    });
    child.stdin?.end("Q\n");
  });
}

test("HTTPS listener: TLS 1.2 and 1.3 succeed, TLS 1.0 and 1.1 are refused, SNI picks the certificate", async () => {
  const port = await freePort();
  const dp = newDataPlane();
  const [main, other] = [selfSigned("www.example.com"), selfSigned("api.example.org")];
  const arns = ["arn:aws:acm:ap-south-1:123456789012:certificate/main", "arn:aws:acm:ap-south-1:123456789012:certificate/other"];
  const https = listener(port, [{ type: "fixed-response", statusCode: "200", messageBody: "secure" }], [], { protocol: "HTTPS", certificateArns: arns });
  try {
    await dp.apply(snapshot([loadBalancer([https])], [], { [arns[0]!]: main, [arns[1]!]: other }));
    assert.deepEqual(dp.listenerErrors(), [], "bound");
    const v12 = await sClient(port, ["-tls1_2"]);
    assert.ok(v12.ok && /Protocol\s*:\s*TLSv1\.2/.test(v12.output), `TLS 1.2 handshake: ${v12.output.slice(-400)}`);
    const v13 = await sClient(port, ["-tls1_3"]);
    assert.ok(v13.ok && /TLSv1\.3/.test(v13.output), `TLS 1.3 handshake: ${v13.output.slice(-400)}`);
    for (const version of ["-tls1", "-tls1_1"]) {
      const old = await sClient(port, [version, "-cipher", "DEFAULT@SECLEVEL=0"]);
      assert.equal(old.ok, false, `${version} must be refused: ${old.output.slice(-400)}`);
    }
    const sni = await sClient(port, ["-tls1_2", "-servername", "api.example.org"]);
    assert.match(sni.output, /subject=CN\s*=\s*api\.example\.org/, "SNI chooses the matching certificate");
    const plain = await sClient(port, ["-tls1_2", "-servername", "unknown.example.net"]);
    assert.match(plain.output, /subject=CN\s*=\s*www\.example\.com/, "an unknown name gets the default (first) certificate");
    const body = await new Promise<{ body: string; proto: string | undefined }>((resolve, reject) => {
      const req = httpsRequest({ host: "127.0.0.1", port, path: "/", rejectUnauthorized: false, servername: "www.example.com" }, (res) => {
        let text = "";
        res.on("data", (d: Buffer) => (text += d.toString()));
        res.on("end", () => resolve({ body: text, proto: undefined }));
      });
      req.on("error", reject);
      req.end();
    });
    assert.equal(body.body, "secure", "HTTPS request answered");
  } finally {
    await dp.close();
  }
});
