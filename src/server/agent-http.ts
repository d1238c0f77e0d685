/**
 * The HTTP door for remote agents (`berth agent`): POST /_berth/agent/v1/{register,
 * desired-state, report, heartbeat, prepare-log-stream, ship-logs, resolve-secrets,
 * task-credentials}, JSON in and out, each call handed to the same
 * AgentChannel the embedded agent uses. It owns the bearer-token check, body shape checks and
 * the status mapping (401, 404, 405, 400, 409, 500); it never touches the store itself.
 * Requests outside /_berth/agent/ are declined, so they go on to the AWS API.
 */
import { createHash, timingSafeEqual } from "node:crypto";
import type { IncomingMessage, ServerResponse } from "node:http";
import { AGENT_HTTP_BASE } from "../agent/http-agent-channel.ts";
import type { PreHandler } from "../api/http-server.ts";
import { BerthError, ErrorCode } from "../core/errors.ts";
import type { Logger } from "../core/logger.ts";
import { AGENT_PROTOCOL_VERSION, type AgentChannel, type AgentHello, type LogBatch, type LogTarget, type TaskReport } from "../protocol/agent-protocol.ts";

const PREFIX = "/_berth/agent/";
/** A long-poll never holds a request longer than this, whatever the agent asks. */
const MAX_WAIT_MS = 60_000;

type Body = Record<string, unknown>;
type Call = (channel: AgentChannel, body: Body) => Promise<unknown>;

/** A body that is JSON but not the call's shape; answered with 400 and this message. */
class BadRequest extends Error {}

const CALLS = new Map<string, Call>([
  ["register", (channel, body) => channel.register(hello(body))],
  ["desired-state", (channel, body) => channel.desiredState(text(body, "agentId"), num(body, "afterGeneration"), waitMs(body))],
  ["report", async (channel, body) => void (await channel.report(text(body, "agentId"), reports(body)))],
  ["heartbeat", async (channel, body) => void (await channel.heartbeat(text(body, "agentId")))],
  [
    "prepare-log-stream",
    async (channel, body) =>
      void (await channel.prepareLogStream(text(body, "agentId"), logTarget(body["target"]), typeof body["taskArn"] === "string" ? body["taskArn"] : undefined)),
  ],
  ["ship-logs", async (channel, body) => void (await channel.shipLogs(text(body, "agentId"), logBatches(body)))],
  ["resolve-secrets", (channel, body) => channel.resolveSecrets(text(body, "agentId"), text(body, "taskArn"))],
  ["task-credentials", (channel, body) => channel.taskCredentials(text(body, "agentId"), text(body, "taskArn"))],
]);

function logTarget(value: unknown): LogTarget {
  const t = value as Partial<LogTarget> | undefined;
  if (!t || typeof t.region !== "string" || typeof t.logGroup !== "string" || typeof t.logStream !== "string" || typeof t.createGroup !== "boolean") {
    throw new BadRequest("target must have region, logGroup, logStream and createGroup.");
  }
  return { region: t.region, logGroup: t.logGroup, logStream: t.logStream, createGroup: t.createGroup };
}

function logBatches(body: Body): LogBatch[] {
  const batches = body["batches"];
  if (!Array.isArray(batches)) throw new BadRequest("batches must be an array.");
  return batches.map((b: unknown) => {
    const events = (b as { events?: unknown }).events;
    if (!Array.isArray(events)) throw new BadRequest("each batch needs events.");
    const source = (b as { source?: LogBatch["source"] }).source;
    return { ...logTarget(b), events: events as LogBatch["events"], ...(source ? { source } : {}) };
  });
}

export function agentHttpHandler(channel: AgentChannel, token: string, logger: Logger): PreHandler {
  const expected = digest(token);
  return async (req: IncomingMessage, res: ServerResponse, body: Buffer): Promise<boolean> => {
    const path = pathOf(req.url);
    if (!path.startsWith(PREFIX)) return false;
    if (!authorized(req.headers.authorization, expected)) {
      send(res, 401, { message: "Missing or wrong agent token; `berth agent-token` on the server host prints it." });
      return true;
    }
    const call = path.startsWith(`${AGENT_HTTP_BASE}/`) ? CALLS.get(path.slice(AGENT_HTTP_BASE.length + 1)) : undefined;
    if (!call) send(res, 404, { message: `No agent call at ${path}.` });
    else if (req.method !== "POST") send(res, 405, { message: `${path} takes POST.` });
    else await invoke(call, channel, body, res, logger, path);
    return true;
  };
}

async function invoke(call: Call, channel: AgentChannel, raw: Buffer, res: ServerResponse, logger: Logger, path: string): Promise<void> {
  let result: unknown;
  try {
    result = await call(channel, parseBody(raw));
  } catch (error) {
    const [status, message] = failure(error);
    if (status === 500) logger.error("agent call failed", { path, error: String(error) });
    send(res, status, error instanceof BerthError ? { message, code: error.code } : { message });
    return;
  }
  send(res, 200, result ?? {});
}

function failure(error: unknown): [number, string] {
  if (error instanceof BadRequest) return [400, error.message];
  if (error instanceof BerthError && (error.code === ErrorCode.ClusterNotFound || error.code === ErrorCode.ResourceNotFound)) {
    return [409, error.message];
  }
  if (error instanceof BerthError && error.code === ErrorCode.AccessDenied) return [403, error.message];
  return [500, "Internal error."];
}

function send(res: ServerResponse, status: number, payload: unknown): void {
  // A long-poll whose agent hung up (or whose server is closing) has no one to answer.
  if (res.headersSent || res.destroyed) return;
  const json = JSON.stringify(payload);
  res.writeHead(status, { "content-type": "application/json", "content-length": Buffer.byteLength(json) });
  res.end(json);
}

function pathOf(url: string | undefined): string {
  const u = url ?? "/";
  const q = u.indexOf("?");
  return q === -1 ? u : u.slice(0, q);
}

function digest(value: string): Buffer {
  return createHash("sha256").update(value).digest();
}

/** Compares digests, so the time taken says nothing about the token (not even its length). */
function authorized(header: string | undefined, expected: Buffer): boolean {
  const match = /^Bearer (\S+)$/i.exec(header ?? "");
  return match !== null && timingSafeEqual(digest(match[1]!), expected);
}

function parseBody(raw: Buffer): Body {
  let parsed: unknown;
  try {
    parsed = JSON.parse(raw.toString("utf8"));
  } catch {
    throw new BadRequest("The body is not valid JSON.");
  }
  if (!isObject(parsed)) throw new BadRequest("The body must be a JSON object.");
  return parsed;
}

function isObject(value: unknown): value is Body {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function text(body: Body, field: string): string {
  const value = body[field];
  if (typeof value !== "string" || value === "") throw new BadRequest(`${field} must be a non-empty string.`);
  return value;
}

function num(body: Body, field: string): number {
  const value = body[field];
  if (typeof value !== "number" || !Number.isFinite(value)) throw new BadRequest(`${field} must be a number.`);
  return value;
}

function waitMs(body: Body): number {
  return Math.min(Math.max(num(body, "waitMs"), 0), MAX_WAIT_MS);
}

function hello(body: Body): AgentHello {
  if (body["protocolVersion"] !== AGENT_PROTOCOL_VERSION) {
    throw new BadRequest(
      `Agent protocol version ${JSON.stringify(body["protocolVersion"])} is not supported; this server speaks version ${AGENT_PROTOCOL_VERSION}. Run the same Berth version on the agent and the server.`,
    );
  }
  for (const field of ["agentId", "hostname", "agentVersion", "region"]) text(body, field);
  if (body["cluster"] !== undefined) text(body, "cluster");
  const resources = body["resources"];
  if (!isObject(resources)) throw new BadRequest("resources must be an object.");
  num(resources, "cpu");
  num(resources, "memoryMiB");
  if (!isObject(body["attributes"]) || !Object.values(body["attributes"]).every((v) => typeof v === "string")) {
    throw new BadRequest("attributes must map names to strings.");
  }
  if (typeof body["fargate"] !== "boolean") throw new BadRequest("fargate must be a boolean.");
  const ports = body["reservedPorts"];
  if (!Array.isArray(ports) || !ports.every((p) => Number.isInteger(p))) throw new BadRequest("reservedPorts must be a list of integers.");
  return body as unknown as AgentHello;
}

function reports(body: Body): TaskReport[] {
  const list = body["reports"];
  if (!Array.isArray(list)) throw new BadRequest("reports must be a list.");
  for (const r of list) {
    if (!isObject(r) || typeof r["taskArn"] !== "string" || typeof r["lastStatus"] !== "string" || typeof r["seq"] !== "number" || !Array.isArray(r["containers"])) {
      throw new BadRequest("Each report needs taskArn, lastStatus, seq and containers.");
    }
  }
  return list as TaskReport[];
}
