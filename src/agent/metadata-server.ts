/**
 * The ECS task metadata endpoint (v4, and v3 with the same content) that containers reach at
 * `${ECS_CONTAINER_METADATA_URI_V4}`: its routes, the task role credentials route, the Docker
 * stats it hands through, and the host address it listens on. The task and container
 * documents it serves are built by task-metadata.ts.
 *
 * It only reads: a MetadataSource (the agent) resolves a token to a snapshot of the task and
 * hands over Docker stats. It must never change a task, start anything, or answer anything but
 * GET.
 */
import { execFile } from "node:child_process";
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import { type Logger, silentLogger } from "../core/logger.ts";
import { HealthClock, type TaskSnapshot, containerMetadata, taskMetadata } from "./task-metadata.ts";

/** Implemented by the agent; called once per request, so snapshots may be built on demand. */
export interface MetadataSource {
  /** The task and container a token names (tokens are opaque strings in the URL path). */
  lookup(token: string): { task: TaskSnapshot; containerName: string } | undefined;
  /** Docker's one-shot stats JSON for a container id (as GET /containers/{id}/stats?stream=false returns). */
  stats(runtimeId: string): Promise<Record<string, unknown>>;
  /**
   * The task role credentials a credentials id names, if the caller at `remoteAddress` belongs
   * to that task; undefined otherwise (the endpoint does not say which).
   */
  credentials?(id: string, remoteAddress: string): Promise<TaskRoleCredentials | undefined>;
  /** Forwards a SigV4-signed AWS API request to the Berth server, for AWS_ENDPOINT_URL_*. */
  forwardApi?(req: IncomingMessage, res: ServerResponse): void;
}

/** The credentials endpoint's JSON, field for field as the ECS agent serves it. */
export interface TaskRoleCredentials {
  RoleArn: string;
  AccessKeyId: string;
  SecretAccessKey: string;
  Token: string;
  Expiration: string;
}

export interface MetadataServerOptions {
  source: MetadataSource;
  host: string;
  port: number;
  logger?: Logger;
}

type Route = "container" | "task" | "container-stats" | "task-stats";

/** `/v4/<token>`, `/v4/<token>/task`, `/v4/<token>/stats`, `/v4/<token>/task/stats` (and v3). */
const ROUTE_RE = /^\/v[34]\/([^/]+)(\/task)?(\/stats)?\/?$/;

export function metadataHandler(source: MetadataSource): (req: IncomingMessage, res: ServerResponse) => void {
  return handlerWith(source, silentLogger);
}

export async function startMetadataServer(options: MetadataServerOptions): Promise<{ port: number; close(): Promise<void> }> {
  const logger = options.logger ?? silentLogger;
  const server = createServer(handlerWith(options.source, logger));
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(options.port, options.host, () => {
      server.off("error", reject);
      resolve();
    });
  });
  server.on("error", (error) => logger.error("metadata endpoint error", { error: String(error) }));
  const address = server.address();
  const port = typeof address === "object" && address !== null ? address.port : options.port;
  logger.info("metadata endpoint listening", { host: options.host, port });
  return {
    port,
    close: () =>
      new Promise<void>((resolve) => {
        // A second close reports "not running"; closing is idempotent for callers.
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

function handlerWith(source: MetadataSource, logger: Logger): (req: IncomingMessage, res: ServerResponse) => void {
  const health = new HealthClock();
  return (req, res) => {
    serve(source, health, req, res).catch((error: unknown) => {
      logger.error("metadata request failed", { path: req.url, error: String(error) });
      if (res.headersSent) res.destroy();
      else send(res, 500, { error: "internal error" });
    });
  };
}

/** `/v2/credentials/<id>`: the task role's credentials (AWS_CONTAINER_CREDENTIALS_RELATIVE_URI). */
const CREDENTIALS_RE = /^\/v2\/credentials\/([^/]+)\/?$/;

async function serve(source: MetadataSource, health: HealthClock, req: IncomingMessage, res: ServerResponse): Promise<void> {
  if (source.forwardApi && /^AWS4-HMAC-SHA256 /.test(req.headers.authorization ?? "")) return source.forwardApi(req, res);
  if (req.method !== "GET") {
    res.setHeader("Allow", "GET");
    return send(res, 405, { error: `method ${req.method ?? ""} not allowed` });
  }
  const path = (req.url ?? "/").split("?")[0] ?? "/";
  const creds = CREDENTIALS_RE.exec(path);
  if (creds) {
    const found = source.credentials ? await source.credentials(decodeToken(creds[1]!) ?? "", req.socket.remoteAddress ?? "") : undefined;
    // As the ECS agent answers an id it does not know; a foreign task learns nothing more.
    if (!found) return send(res, 400, { code: "InvalidIdInRequest", message: "CredentialsV2Request: Credentials not found" });
    return send(res, 200, found);
  }
  const m = ROUTE_RE.exec(path);
  const token = m ? decodeToken(m[1]!) : undefined;
  const found = token === undefined ? undefined : source.lookup(token);
  if (!m || !found) return send(res, 404, { error: m ? "unknown metadata token" : "no such metadata path" });
  const { task, containerName } = found;
  const container = task.containers.find((c) => c.name === containerName);
  const route: Route = m[2] ? (m[3] ? "task-stats" : "task") : m[3] ? "container-stats" : "container";
  switch (route) {
    case "container":
      if (!container) return send(res, 404, { error: "unknown container" });
      return send(res, 200, containerMetadata(task, container, health));
    case "task":
      return send(res, 200, taskMetadata(task, health));
    case "container-stats": {
      if (!container) return send(res, 404, { error: "unknown container" });
      // Not created yet: there is nothing to measure, which is not an error.
      if (!container.state) return send(res, 200, {});
      return send(res, 200, await source.stats(container.state.id));
    }
    case "task-stats":
      return send(res, 200, await taskStats(source, task));
  }
}

function decodeToken(raw: string): string | undefined {
  try {
    return decodeURIComponent(raw);
  } catch {
    return undefined; // a malformed escape names no token
  }
}

function send(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { "Content-Type": "application/json", "Content-Length": Buffer.byteLength(text) });
  res.end(text);
}

async function taskStats(source: MetadataSource, task: TaskSnapshot): Promise<Record<string, Record<string, unknown> | null>> {
  const ids = task.containers.flatMap((c) => (c.state ? [c.state.id] : []));
  // One container's stats failing (it was just removed) must not hide the others'; ECS reports null.
  const docs = await Promise.all(ids.map((id) => source.stats(id).catch(() => null)));
  return Object.fromEntries(ids.map((id, i) => [id, docs[i] ?? null]));
}

const IPV4_RE = /^(25[0-5]|2[0-4]\d|1?\d?\d)(\.(25[0-5]|2[0-4]\d|1?\d?\d)){3}$/;

/** Adds `address`/32 to `device` with `ip addr add` if it is not there yet (idempotent); returns false (and does not throw) if it cannot (not root / no such device / no `ip`). */
export async function ensureHostAddress(address: string, device: string): Promise<boolean> {
  if (!IPV4_RE.test(address) || device === "" || device.startsWith("-")) return false;
  const shown = await run("ip", ["-4", "-o", "addr", "show", "dev", device]);
  if (!shown.ok) return false;
  if (shown.stdout.includes(` ${address}/`)) return true;
  const added = await run("ip", ["addr", "add", `${address}/32`, "dev", device]);
  // "File exists": another caller added it between our look and our add, which is success.
  return added.ok || /File exists/.test(added.stderr);
}

function run(file: string, args: string[]): Promise<{ ok: boolean; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(file, args, { timeout: 5_000 }, (error, stdout, stderr) => {
      resolve({ ok: error === null, stdout: String(stdout), stderr: String(stderr) });
    });
  });
}
