/**
 * HTTP plumbing for the Docker Engine API over a unix socket: requests pinned to one API
 * version on a keep-alive agent, engine failures turned into RuntimeErrors, and the two
 * stream formats the engine speaks (JSON lines, and the 8-byte multiplexed log frames).
 * It knows no Engine resources; docker-runtime.ts (with docker-logs.ts, docker-events.ts) does.
 */
import http from "node:http";
import { StringDecoder } from "node:string_decoder";
import { RuntimeError, RuntimeErrorKind } from "./runtime.ts";

export const API_VERSION = "v1.41";

export type Query = Record<string, string | number | boolean | undefined>;

export interface EngineRequest {
  method: "GET" | "POST" | "DELETE" | "HEAD";
  /** Path after the version prefix, starting with "/". */
  path: string;
  query?: Query;
  /** A Buffer is sent as is; anything else as JSON. */
  body?: unknown;
  headers?: Record<string, string>;
  signal?: AbortSignal;
  /** Idle-socket timeout; 0 disables it (streams, pulls, builds). */
  timeoutMs?: number;
}

export interface EngineResponse {
  status: number;
  body: Buffer;
}

export class DockerEngineClient {
  private readonly agent: http.Agent;

  constructor(private readonly socketPath: string, private readonly defaultTimeoutMs = 60_000) {
    this.agent = new http.Agent({ keepAlive: true, maxSockets: 32 });
  }

  /** Sends a request and buffers the whole answer, whatever its status. */
  async request(req: EngineRequest): Promise<EngineResponse> {
    const res = await this.open(req);
    const chunks: Buffer[] = [];
    try {
      for await (const chunk of res) chunks.push(chunk as Buffer);
    } catch (err) {
      throw transportError(err, req);
    }
    return { status: res.statusCode ?? 0, body: Buffer.concat(chunks) };
  }

  /** Sends a request and fails unless the status is 2xx (or one of `alsoOk`); parses JSON. */
  async json<T>(req: EngineRequest, what: string, alsoOk: number[] = []): Promise<{ status: number; value: T }> {
    const res = await this.request(req);
    if ((res.status < 200 || res.status > 299) && !alsoOk.includes(res.status)) throw engineError(res, what);
    const text = res.body.toString("utf8");
    return { status: res.status, value: (text.length > 0 ? JSON.parse(text) : undefined) as T };
  }

  /** Sends a request and hands back the live response for streaming. */
  open(req: EngineRequest): Promise<http.IncomingMessage> {
    const body =
      req.body === undefined ? undefined : Buffer.isBuffer(req.body) ? req.body : Buffer.from(JSON.stringify(req.body));
    const headers: Record<string, string | number> = { ...req.headers };
    if (body !== undefined) {
      headers["Content-Length"] = body.length;
      headers["Content-Type"] ??= "application/json";
    }
    return new Promise((resolve, reject) => {
      const options: http.RequestOptions = {
        socketPath: this.socketPath,
        agent: this.agent,
        method: req.method,
        path: `/${API_VERSION}${req.path}${queryString(req.query)}`,
        headers,
      };
      if (req.signal !== undefined) options.signal = req.signal;
      const timeoutMs = req.timeoutMs ?? this.defaultTimeoutMs;
      if (timeoutMs > 0) options.timeout = timeoutMs;
      const r = http.request(options, resolve);
      r.on("timeout", () => r.destroy(new Error(`no answer from the engine in ${timeoutMs} ms`)));
      r.on("error", (err) => reject(transportError(err, req)));
      r.end(body);
    });
  }

  /** Drops the idle keep-alive sockets. */
  close(): void {
    this.agent.destroy();
  }
}

function queryString(query: Query | undefined): string {
  if (query === undefined) return "";
  const params = new URLSearchParams();
  for (const [k, v] of Object.entries(query)) {
    if (v !== undefined) params.set(k, typeof v === "boolean" ? (v ? "1" : "0") : String(v));
  }
  const s = params.toString();
  return s.length > 0 ? `?${s}` : "";
}

function transportError(err: unknown, req: EngineRequest): RuntimeError {
  if (err instanceof RuntimeError) return err;
  const message = err instanceof Error ? err.message : String(err);
  return new RuntimeError(RuntimeErrorKind.Unavailable, `docker engine: ${req.method} ${req.path}: ${message}`, 0, {
    cause: err,
  });
}

/** The engine's `{"message": …}` body, or the raw text. */
export function engineMessage(body: Buffer): string {
  const text = body.toString("utf8").trim();
  try {
    const parsed = JSON.parse(text) as { message?: unknown };
    if (typeof parsed.message === "string") return parsed.message;
  } catch {
    // not JSON: the engine (or a proxy) answered in plain text
  }
  return text;
}

/** Maps a failed engine answer to the port's error kinds. */
export function engineError(res: EngineResponse, what: string, kind?: RuntimeErrorKind): RuntimeError {
  const message = engineMessage(res.body) || `HTTP ${res.status}`;
  const byStatus =
    res.status === 404
      ? RuntimeErrorKind.NotFound
      : res.status === 409 || res.status === 403
        ? RuntimeErrorKind.Conflict
        : res.status === 502 || res.status === 503
          ? RuntimeErrorKind.Unavailable
          : RuntimeErrorKind.Failed;
  return new RuntimeError(kind ?? byStatus, `${what}: ${message}`, res.status);
}

/** For a streamed answer: reads the body of anything but a 200 and throws it as engineError. */
export async function expectStreamOk(res: http.IncomingMessage, what: string, kind?: RuntimeErrorKind): Promise<void> {
  if (res.statusCode === 200) return;
  const chunks: Buffer[] = [];
  for await (const c of res) chunks.push(c as Buffer);
  throw engineError({ status: res.statusCode ?? 0, body: Buffer.concat(chunks) }, what, kind);
}

/**
 * Calls `onLine` for each newline-terminated line of a byte stream (and a final unterminated
 * one). Resolves at the end of the stream, including when `signal` aborted it.
 */
export async function readLines(
  stream: AsyncIterable<Buffer>,
  onLine: (line: string) => void,
  signal?: AbortSignal,
): Promise<void> {
  const decoder = new StringDecoder("utf8");
  let pending = "";
  try {
    for await (const chunk of stream) {
      pending += decoder.write(chunk);
      let nl: number;
      while ((nl = pending.indexOf("\n")) >= 0) {
        onLine(pending.slice(0, nl));
        pending = pending.slice(nl + 1);
      }
    }
  } catch (err) {
    if (signal?.aborted !== true) throw err;
  }
  if (pending.length > 0) onLine(pending);
}

/**
 * Splits the engine's multiplexed stdout/stderr stream (used when a container has no TTY):
 * each frame is [stream byte, 0, 0, 0, u32 big-endian length] then the payload. Payloads do
 * not follow line boundaries, so each stream keeps its own partial line.
 */
export class LogDemuxer {
  private buffer: Buffer = Buffer.alloc(0);
  private readonly partial = { stdout: "", stderr: "" };
  private readonly decoders = { stdout: new StringDecoder("utf8"), stderr: new StringDecoder("utf8") };

  constructor(private readonly onLine: (stream: "stdout" | "stderr", line: string) => void) {}

  push(chunk: Buffer): void {
    this.buffer = this.buffer.length === 0 ? chunk : Buffer.concat([this.buffer, chunk]);
    while (this.buffer.length >= 8) {
      const size = this.buffer.readUInt32BE(4);
      if (this.buffer.length < 8 + size) return;
      const stream = this.buffer[0] === 2 ? "stderr" : "stdout";
      this.text(stream, this.decoders[stream].write(this.buffer.subarray(8, 8 + size)));
      this.buffer = this.buffer.subarray(8 + size);
    }
  }

  /** Plain (TTY) output: everything is stdout. */
  pushRaw(chunk: Buffer): void {
    this.text("stdout", this.decoders.stdout.write(chunk));
  }

  end(): void {
    for (const stream of ["stdout", "stderr"] as const) {
      this.partial[stream] += this.decoders[stream].end();
      if (this.partial[stream].length > 0) this.onLine(stream, this.partial[stream]);
      this.partial[stream] = "";
    }
  }

  private text(stream: "stdout" | "stderr", text: string): void {
    let rest = this.partial[stream] + text;
    let nl: number;
    while ((nl = rest.indexOf("\n")) >= 0) {
      this.onLine(stream, rest.slice(0, nl));
      rest = rest.slice(nl + 1);
    }
    this.partial[stream] = rest;
  }
}
