// The floor for bench/lb.ts: the least a Node proxy does per request. Each client connection
// gets its own connection to the backend and bytes are copied both ways; nothing is parsed,
// routed or rewritten. <workers> processes share the listening socket through node:cluster,
// as Berth's proxy workers do. Usage: node bench/pipe-proxy.mjs <port> <backend port> <workers>.
import cluster from "node:cluster";
import { connect, createServer } from "node:net";

const [port, backendPort, workers] = process.argv.slice(2).map(Number);

if (cluster.isPrimary) {
  cluster.schedulingPolicy = cluster.SCHED_NONE;
  for (let i = 0; i < workers; i++) cluster.fork();
  // The parent stops this process with SIGTERM; the workers follow their primary.
  process.on("SIGTERM", () => process.exit(0));
} else {
  createServer({ noDelay: true }, (client) => {
    const backend = connect({ host: "127.0.0.1", port: backendPort, noDelay: true });
    client.on("data", (chunk) => backend.write(chunk));
    backend.on("data", (chunk) => client.write(chunk));
    for (const [a, b] of [[client, backend], [backend, client]]) {
      a.on("error", () => b.destroy());
      a.on("close", () => b.destroy());
    }
  }).listen(port, "127.0.0.1");
}
