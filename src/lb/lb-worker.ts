/**
 * Entry point of a proxy worker process (forked by worker-pool.ts through node:cluster, which
 * shares the listening sockets): runs one ProxyEngine on the snapshots and health views the
 * primary sends, and reports counters and in-flight counts every 200 ms when they change.
 * It exits when the primary says close or goes away.
 */
import { systemClock } from "../core/clock.ts";
import type { Logger } from "../core/logger.ts";
import { ProxyEngine } from "./proxy-engine.ts";
import type { FromWorker, ToWorker } from "./worker-messages.ts";

const REPORT_MS = 200;

const send = (message: FromWorker): void => {
  if (process.connected) process.send?.(message);
};
const logger: Logger = {
  info: (message, fields) => send({ t: "log", level: "info", message, ...(fields ? { fields } : {}) }),
  warn: (message, fields) => send({ t: "log", level: "warn", message, ...(fields ? { fields } : {}) }),
  error: (message, fields) => send({ t: "log", level: "error", message, ...(fields ? { fields } : {}) }),
};

let engine: ProxyEngine | undefined;
let seq = 0;
let lastReport = "";

function report(force: boolean): void {
  if (!engine) return;
  const message: FromWorker = { t: "stats", seq, counters: engine.counters(), inflight: engine.inflight() };
  const text = JSON.stringify(message);
  if (!force && text === lastReport) return;
  lastReport = text;
  send(message);
}

// Snapshots are applied one at a time, in order.
let queue = Promise.resolve();

process.on("message", (message: ToWorker) => {
  switch (message.t) {
    case "apply":
      queue = queue.then(async () => {
        engine ??= new ProxyEngine({ clock: systemClock, logger, cookieKey: Buffer.from(message.cookieKey, "hex"), upstreamKeepAlive: message.upstreamKeepAlive });
        const errors = await engine.apply(message.snapshot, message.health);
        seq = message.seq;
        send({ t: "applied", seq, errors });
        report(true);
      });
      return;
    case "health":
      engine?.setHealth(message.health);
      return;
    case "close":
      queue = queue.then(async () => {
        clearInterval(timer);
        await engine?.close();
        send({ t: "closed" });
        process.disconnect();
      });
      return;
  }
});

const timer = setInterval(() => report(false), REPORT_MS);
process.on("disconnect", () => process.exit(0));
send({ t: "ready" });
