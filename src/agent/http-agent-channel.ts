/**
 * The agent channel over HTTP, for `berth agent` on a host other than the server's: each
 * AgentChannel call is one JSON POST to `/_berth/agent/v1/<call>` carrying the server's agent
 * token as a bearer credential. It owns transport only (URLs, timeouts, status → error); it
 * never retries, because the agent's loops already retry every call.
 */
import type { AgentChannel, AgentHello, AgentWelcome, DesiredState, TaskReport, LogBatch, LogTarget, RoleCredentials, TaskSecretsResult } from "../protocol/agent-protocol.ts";

/** Where the server mounts the agent calls; the server's handler uses the same base. */
export const AGENT_HTTP_BASE = "/_berth/agent/v1";

const DEFAULT_TIMEOUT_MS = 30_000;

export interface HttpAgentChannelOptions {
  /** The server's base URL, e.g. http://10.0.0.5:4566. */
  serverUrl: string;
  /** The server's agent token (`berth agent-token` on the server host prints it). */
  token: string;
  /** Answer timeout per call; a long-poll gets its wait on top of this. Default 30 s. */
  timeoutMs?: number;
}

/** The server answered with a non-2xx status; `message` is the server's own. */
export class AgentHttpError extends Error {
  readonly status: number;
  readonly call: string;

  constructor(status: number, call: string, message: string) {
    super(`agent ${call} failed with HTTP ${status}: ${message}`);
    this.name = "AgentHttpError";
    this.status = status;
    this.call = call;
  }
}

export class HttpAgentChannel implements AgentChannel {
  private readonly base: string;
  private readonly token: string;
  private readonly timeoutMs: number;

  constructor(options: HttpAgentChannelOptions) {
    this.base = `${options.serverUrl.replace(/\/+$/, "")}${AGENT_HTTP_BASE}`;
    this.token = options.token;
    this.timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  }

  register(hello: AgentHello): Promise<AgentWelcome> {
    return this.call<AgentWelcome>("register", hello);
  }

  desiredState(agentId: string, afterGeneration: number, waitMs: number): Promise<DesiredState> {
    // The server holds the request for up to waitMs, so the timeout must outlast it.
    return this.call<DesiredState>("desired-state", { agentId, afterGeneration, waitMs }, waitMs + this.timeoutMs);
  }

  async report(agentId: string, reports: TaskReport[]): Promise<void> {
    await this.call("report", { agentId, reports });
  }

  async heartbeat(agentId: string): Promise<void> {
    await this.call("heartbeat", { agentId });
  }

  async prepareLogStream(agentId: string, target: LogTarget, taskArn?: string): Promise<void> {
    await this.call("prepare-log-stream", { agentId, target, ...(taskArn !== undefined ? { taskArn } : {}) });
  }

  async shipLogs(agentId: string, batches: LogBatch[]): Promise<void> {
    await this.call("ship-logs", { agentId, batches });
  }

  resolveSecrets(agentId: string, taskArn: string): Promise<TaskSecretsResult> {
    return this.call<TaskSecretsResult>("resolve-secrets", { agentId, taskArn });
  }

  taskCredentials(agentId: string, taskArn: string): Promise<RoleCredentials> {
    return this.call<RoleCredentials>("task-credentials", { agentId, taskArn });
  }

  private async call<T>(name: string, body: unknown, timeoutMs = this.timeoutMs): Promise<T> {
    const url = `${this.base}/${name}`;
    let status: number;
    let ok: boolean;
    let text: string;
    try {
      const res = await fetch(url, {
        method: "POST",
        headers: { "content-type": "application/json", authorization: `Bearer ${this.token}` },
        body: JSON.stringify(body),
        signal: AbortSignal.timeout(timeoutMs),
      });
      ({ status, ok } = res);
      text = await res.text();
    } catch (error) {
      throw new Error(`agent ${name}: POST ${url} failed: ${reasonOf(error)}`, { cause: error });
    }
    if (!ok) throw new AgentHttpError(status, name, messageOf(text));
    return (text === "" ? {} : JSON.parse(text)) as T;
  }
}

/** fetch reports network failures as "fetch failed" with the real reason in `cause`. */
function reasonOf(error: unknown): string {
  if (!(error instanceof Error)) return String(error);
  return error.cause instanceof Error ? error.cause.message : error.message;
}

function messageOf(text: string): string {
  try {
    const parsed = JSON.parse(text) as { message?: unknown };
    if (typeof parsed.message === "string") return parsed.message;
  } catch {
    // Not JSON (a proxy's error page, say): the raw text is the best message there is.
  }
  return text.slice(0, 200) || "(no message)";
}
