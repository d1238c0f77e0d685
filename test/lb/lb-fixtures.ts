/**
 * What the data plane tests share: tiny named HTTP backends on loopback (whose /health answer and
 * delay can be changed), snapshot builders with short health check intervals, a client that
 * returns status, headers and body, and a data plane that tests always close.
 */
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { Agent, createServer, request, type IncomingHttpHeaders, type Server } from "node:http";
import { createServer as createNetServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { silentLogger } from "../../src/core/logger.ts";
import { LoadBalancerDataPlane, type LoadBalancerDataPlaneOptions } from "../../src/lb/load-balancer-data-plane.ts";
import type { ActionSpec, HealthCheckSpec, LbSnapshot, ListenerSpec, LoadBalancerSpec, RuleSpec, TargetGroupSpec, TargetSpec } from "../../src/protocol/lb-protocol.ts";

export interface Backend {
  name: string;
  port: number;
  /** Requests served, health checks excluded. */
  hits: number;
  /** Status /health answers with. */
  healthStatus: number;
  lastHeaders: IncomingHttpHeaders | undefined;
  /** TCP connections accepted (health checks included). */
  connections: number;
  server: Server;
  close(): Promise<void>;
}

/**
 * A backend answering `<name> <path>` (or JSON of the request with ?echo), /health with
 * healthStatus, and waiting ?delay=ms before answering.
 */
export async function startBackend(name: string, port = 0): Promise<Backend> {
  const backend: Backend = {
    name,
    port: 0,
    hits: 0,
    healthStatus: 200,
    lastHeaders: undefined,
    connections: 0,
    server: createServer((req, res) => {
      const url = new URL(req.url ?? "/", "http://x");
      if (url.pathname === "/health") {
        res.writeHead(backend.healthStatus, { "Content-Type": "text/plain" });
        res.end("ok");
        return;
      }
      backend.hits++;
      backend.lastHeaders = req.headers;
      const delay = Number(url.searchParams.get("delay") ?? 0);
      const answer = (): void => {
        const status = Number(url.searchParams.get("status") ?? 200);
        const body = url.searchParams.has("echo") ? JSON.stringify({ name, url: req.url, headers: req.headers }) : `${name} ${url.pathname}`;
        res.writeHead(status, { "Content-Type": "text/plain", "X-Backend": name });
        res.end(body);
      };
      req.resume();
      req.on("end", () => (delay > 0 ? setTimeout(answer, delay) : answer()));
    }),
    close: () =>
      new Promise<void>((resolve) => {
        backend.server.close(() => resolve());
        backend.server.closeAllConnections();
      }),
  };
  backend.server.on("connection", () => backend.connections++);
  await new Promise<void>((resolve) => backend.server.listen(port, "127.0.0.1", resolve));
  backend.port = (backend.server.address() as { port: number }).port;
  return backend;
}

/** A self-signed certificate and key for `cn` (openssl). */
export function selfSigned(cn: string): { certificatePem: string; privateKeyPem: string } {
  const dir = mkdtempSync(join(tmpdir(), "berth-lb-cert-"));
  try {
    execFileSync("openssl", ["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", join(dir, "key.pem"), "-out", join(dir, "cert.pem"), "-days", "2", "-subj", `/CN=${cn}`, "-addext", `subjectAltName=DNS:${cn}`], {
      stdio: "ignore",
    });
    return { certificatePem: readFileSync(join(dir, "cert.pem"), "utf8"), privateKeyPem: readFileSync(join(dir, "key.pem"), "utf8") };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createNetServer();
    s.once("error", reject);
    s.listen(0, "127.0.0.1", () => {
      const { port } = s.address() as { port: number };
      s.close(() => resolve(port));
    });
  });
}

export const FAST_CHECK: HealthCheckSpec = {
  enabled: true,
  protocol: "HTTP",
  port: "traffic-port",
  path: "/health",
  intervalSeconds: 0.1,
  timeoutSeconds: 0.3,
  healthyThreshold: 2,
  unhealthyThreshold: 2,
  httpCode: "200",
};

export const ACCOUNT = "arn:aws:elasticloadbalancing:ap-south-1:123456789012";

export function target(port: number, state: TargetSpec["state"] = "registered"): TargetSpec {
  return { id: "127.0.0.1", port, address: "127.0.0.1", state };
}

export function targetGroup(name: string, targets: TargetSpec[], extra: Partial<TargetGroupSpec> = {}): TargetGroupSpec {
  return {
    arn: `${ACCOUNT}:targetgroup/${name}/0123456789abcdef`,
    name,
    protocol: "HTTP",
    port: 80,
    targetType: "ip",
    healthCheck: FAST_CHECK,
    attributes: {},
    targets,
    ...extra,
  };
}

export const forwardTo = (...groups: TargetGroupSpec[]): ActionSpec => ({ type: "forward", targetGroups: groups.map((g) => ({ arn: g.arn, weight: 1 })) });

export function listener(port: number, defaultActions: ActionSpec[], rules: RuleSpec[] = [], extra: Partial<ListenerSpec> = {}): ListenerSpec {
  return {
    arn: `${ACCOUNT}:listener/app/web/0123456789abcdef/${port}`,
    protocol: "HTTP",
    port,
    bindPort: port,
    bindHost: "127.0.0.1",
    certificateArns: [],
    rules,
    defaultActions,
    ...extra,
  };
}

export function loadBalancer(listeners: ListenerSpec[], attributes: Record<string, string> = {}, type: LoadBalancerSpec["type"] = "application"): LoadBalancerSpec {
  return { arn: `${ACCOUNT}:loadbalancer/app/web/0123456789abcdef`, name: "web", type, attributes, listeners };
}

export function snapshot(lbs: LoadBalancerSpec[], groups: TargetGroupSpec[], certificates: LbSnapshot["certificates"] = {}): LbSnapshot {
  return { loadBalancers: lbs, targetGroups: groups, certificates };
}

export function newDataPlane(opts: Partial<LoadBalancerDataPlaneOptions> = {}): LoadBalancerDataPlane {
  return new LoadBalancerDataPlane({ logger: silentLogger, ...opts });
}

export interface Reply {
  status: number;
  statusMessage: string;
  headers: IncomingHttpHeaders;
  body: string;
}

const keepAlive = new Agent({ keepAlive: true });

export function get(port: number, path: string, headers: Record<string, string> = {}, agent: Agent | false = keepAlive): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = request({ host: "127.0.0.1", port, path, headers, agent }, (res) => {
      const chunks: Buffer[] = [];
      res.on("data", (c: Buffer) => chunks.push(c));
      res.on("end", () => resolve({ status: res.statusCode ?? 0, statusMessage: res.statusMessage ?? "", headers: res.headers, body: Buffer.concat(chunks).toString() }));
      res.on("error", reject);
    });
    req.on("error", reject);
    req.end();
  });
}

export function closeClients(): void {
  keepAlive.destroy();
}

/** Polls until the probe returns a value (every 25 ms). */
export async function until<T>(what: string, probe: () => T | undefined | Promise<T | undefined>, ms = 10_000): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Waits until every registered target of the group reports the state. */
export function untilState(dp: LoadBalancerDataPlane, groupArn: string, state: string, count: number): Promise<true> {
  return until(`${count} targets ${state}`, () => (dp.targetHealth().filter((r) => r.targetGroupArn === groupArn && r.state === state).length === count ? true : undefined));
}
