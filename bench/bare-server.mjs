// The baseline for bench/api-latency.ts: the least a node:http server does per request. It
// buffers the body, then answers 200 with a fixed JSON reply (BARE_REPLY, the bench passes
// Berth's own DescribeClusters reply). Usage: node bench/bare-server.mjs <port>; prints "ready".
import { createServer } from "node:http";

const port = Number(process.argv[2]);
const reply = process.env["BARE_REPLY"] ?? "{}";
const headers = { "content-type": "application/x-amz-json-1.1", "content-length": Buffer.byteLength(reply) };

const server = createServer((req, res) => {
  const chunks = [];
  req.on("data", (chunk) => chunks.push(chunk));
  req.on("end", () => {
    Buffer.concat(chunks);
    res.writeHead(200, headers);
    res.end(reply);
  });
});
server.keepAliveTimeout = 65_000;
server.listen(port, "127.0.0.1", () => process.stdout.write("ready\n"));
