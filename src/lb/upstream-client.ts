/**
 * A small HTTP/1.1 client for bodiless requests to one target, on raw sockets with its own
 * keep-alive pool (LIFO): the caller writes the whole request head as one string, this module
 * sends it in one write, parses the response head in place (status line, headers; 1xx skipped)
 * and hands the body over as it arrives, framed by Content-Length, chunked or until close. It
 * exists because node:http's ClientRequest/IncomingMessage/Agent layers were most of the proxy's
 * cost. Requests with a body, and anything unusual, stay on node:http (http-proxy.ts decides).
 */
import { connect, type Socket } from "node:net";

/** What the proxy side of one exchange does with the response. */
export interface UpstreamExchange {
  /** HEAD: the response has no body whatever its headers say. */
  readonly head: boolean;
  /** The final response head; hop-by-hop headers (Connection, Keep-Alive, …) already dropped. Throwing fails the exchange as malformed. */
  onHead(status: number, reason: string, headers: string[]): void;
  /** Body bytes (decoded from chunked); `last` ends the response (chunk may then be undefined). False asks for a pause until `resume()`. */
  onBody(chunk: Buffer | undefined, last: boolean): boolean;
  onFail(failure: UpstreamFailure): void;
}

export interface UpstreamFailure {
  /** No byte for the idle timeout. */
  timedOut: boolean;
  /** The response head had been delivered. */
  answered: boolean;
  /** The connection had served an earlier exchange (so a close under a new request is a keep-alive race). */
  reused: boolean;
  /** The response could not be parsed. */
  malformed: boolean;
  code: string | undefined;
}

export interface UpstreamHandle {
  resume(): void;
  /** Gives up on the exchange: its connection is closed, onFail is not called. */
  abort(): void;
}

const MAX_HEAD = 64 * 1024;
const MAX_IDLE = 1024;
const HEAD_END = Buffer.from("\r\n\r\n");
const LF_HEAD_END = Buffer.from("\n\n");
const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
const BAD_VALUE = /[^\t\x20-\x7e\x80-\xff]/;

const enum State {
  Idle,
  Head,
  Length,
  Chunked,
  UntilClose,
}

const enum Chunk {
  Size,
  Data,
  DataEnd,
  Trailer,
}

class Malformed extends Error {}

/** One connection to the target; parses one response at a time. */
class Conn implements UpstreamHandle {
  readonly socket: Socket;
  ex: UpstreamExchange | undefined;
  served = 0;
  state = State.Idle;
  private pending: Buffer | undefined;
  private remaining = 0;
  private chunkState = Chunk.Size;
  private line = "";
  private keepAlive = false;
  private answered = false;
  private timeoutMs = 0;
  private error: string | undefined;

  constructor(
    private pool: UpstreamPool,
    host: string,
    port: number,
  ) {
    this.socket = connect({ host, port, noDelay: true });
    this.socket.on("data", (chunk: Buffer) => this.data(chunk));
    this.socket.on("end", () => this.end());
    this.socket.on("error", (error: NodeJS.ErrnoException) => {
      this.error ??= error.code ?? "ECONNRESET";
    });
    this.socket.on("close", () => this.closed());
    this.socket.on("timeout", () => this.timeout());
  }

  send(head: string, ex: UpstreamExchange, idleMs: number): void {
    this.ex = ex;
    this.state = State.Head;
    this.answered = false;
    this.pending = undefined;
    if (this.timeoutMs !== idleMs) {
      this.timeoutMs = idleMs;
      this.socket.setTimeout(idleMs);
    }
    this.socket.write(head, "latin1");
  }

  resume(): void {
    if (this.ex) this.socket.resume();
  }

  abort(): void {
    if (!this.ex) return;
    this.ex = undefined;
    this.state = State.Idle;
    this.socket.destroy();
  }

  private data(chunk: Buffer): void {
    try {
      this.parse(chunk);
    } catch {
      // Malformed, or refused by the proxy side: either way the target's answer cannot be used.
      if (this.ex) this.fail(false, true);
      else this.socket.destroy();
    }
  }

  private parse(chunk: Buffer): void {
    let data = chunk;
    for (;;) {
      switch (this.state) {
        case State.Idle:
          // Bytes nobody asked for: the connection cannot be trusted any more.
          this.socket.destroy();
          return;
        case State.Head: {
          if (this.pending) {
            data = Buffer.concat([this.pending, data]);
            this.pending = undefined;
          }
          let end = data.indexOf(HEAD_END);
          let skip = 4;
          const lf = data.indexOf(LF_HEAD_END);
          if (lf !== -1 && (end === -1 || lf < end)) {
            end = lf;
            skip = 2;
          }
          if (end === -1) {
            if (data.length > MAX_HEAD) throw new Malformed("response head too large");
            this.pending = data;
            return;
          }
          const rest = data.subarray(end + skip);
          if (!this.head(data.toString("latin1", 0, end), rest.length > 0)) {
            data = rest; // a 1xx: the real head follows
            if (data.length === 0) return;
            continue;
          }
          if ((this.state as State) === State.Idle || rest.length === 0) return;
          data = rest;
          continue;
        }
        case State.Length: {
          if (data.length < this.remaining) {
            this.remaining -= data.length;
            this.deliver(data, false);
            return;
          }
          const body = data.length === this.remaining ? data : data.subarray(0, this.remaining);
          const extra = data.length > this.remaining;
          this.remaining = 0;
          this.complete(body, extra);
          return;
        }
        case State.Chunked:
          this.chunked(data);
          return;
        case State.UntilClose:
          this.deliver(data, false);
          return;
      }
    }
  }

  /** Parses a response head; false for a 1xx (skipped). Sets the body state, or completes a bodiless response. */
  private head(text: string, more: boolean): boolean {
    const lines = text.split("\n");
    const status = lines[0]?.endsWith("\r") ? lines[0].slice(0, -1) : (lines[0] ?? "");
    if (!status.startsWith("HTTP/1.") || status.length < 12 || status[8] !== " " || (status.length > 12 && status[12] !== " ")) throw new Malformed("bad status line");
    const minor = status[7];
    const code = Number(status.slice(9, 12));
    if ((minor !== "0" && minor !== "1") || !Number.isInteger(code) || code < 100 || code > 999 || !/^\d{3}$/.test(status.slice(9, 12))) throw new Malformed("bad status line");
    if (code === 101) throw new Malformed("101 to a request without Upgrade");
    if (code < 200) return false;
    const reason = status.length > 13 ? status.slice(13) : "";
    const headers: string[] = [];
    let length = -1;
    let chunked = false;
    let te = false;
    let close = minor === "0";
    for (let i = 1; i < lines.length; i++) {
      let line = lines[i] as string;
      if (line.endsWith("\r")) line = line.slice(0, -1);
      const colon = line.indexOf(":");
      if (colon <= 0) throw new Malformed("bad header line");
      const name = line.slice(0, colon);
      const value = line.slice(colon + 1).trim();
      switch (name.length) {
        case 7:
        case 10:
        case 17: {
          const lower = name.toLowerCase();
          if (lower === "upgrade" || lower === "trailer") continue;
          if (lower === "connection") {
            const tokens = value.toLowerCase();
            if (tokens.includes("close")) close = true;
            else if (minor === "0" && tokens.includes("keep-alive")) close = false;
            continue;
          }
          if (lower === "keep-alive") continue;
          if (lower === "transfer-encoding") {
            te = true;
            chunked = /(^|,)\s*chunked\s*$/i.test(value);
          }
          break;
        }
        case 14:
          if (name.toLowerCase() === "content-length") {
            if (!/^\d+$/.test(value)) throw new Malformed("bad Content-Length");
            const n = Number(value);
            if (length !== -1 && length !== n) throw new Malformed("conflicting Content-Length");
            length = n;
          }
          break;
        case 16:
          if (name.toLowerCase() === "proxy-connection") continue;
          break;
      }
      if (!TOKEN.test(name) || BAD_VALUE.test(value)) throw new Malformed("bad header");
      headers.push(name, value);
    }
    const ex = this.ex as UpstreamExchange;
    this.keepAlive = !close;
    this.answered = true;
    try {
      ex.onHead(code, reason, headers);
    } catch {
      this.answered = false;
      throw new Malformed("response head refused");
    }
    if (this.ex !== ex) return true; // aborted by onHead
    if (ex.head || code === 204 || code === 304 || length === 0) {
      this.complete(undefined, more);
    } else if (te) {
      if (chunked) {
        this.state = State.Chunked;
        this.chunkState = Chunk.Size;
        this.line = "";
      } else {
        this.state = State.UntilClose;
        this.keepAlive = false;
      }
    } else if (length > 0) {
      this.state = State.Length;
      this.remaining = length;
    } else {
      this.state = State.UntilClose;
      this.keepAlive = false;
    }
    return true;
  }

  private chunked(data: Buffer): void {
    const out: Buffer[] = [];
    let i = 0;
    while (i < data.length) {
      switch (this.chunkState) {
        case Chunk.Size:
        case Chunk.Trailer:
        case Chunk.DataEnd: {
          const nl = data.indexOf(10, i);
          const piece = data.toString("latin1", i, nl === -1 ? data.length : nl);
          if (this.line.length + piece.length > 8192) throw new Malformed("chunk line too long");
          this.line += piece;
          if (nl === -1) {
            i = data.length;
            break;
          }
          i = nl + 1;
          const line = this.line.endsWith("\r") ? this.line.slice(0, -1) : this.line;
          this.line = "";
          if (this.chunkState === Chunk.DataEnd) {
            if (line !== "") throw new Malformed("chunk without CRLF");
            this.chunkState = Chunk.Size;
          } else if (this.chunkState === Chunk.Size) {
            const semi = line.indexOf(";");
            const hex = (semi === -1 ? line : line.slice(0, semi)).trim();
            if (!/^[0-9a-fA-F]{1,12}$/.test(hex)) throw new Malformed("bad chunk size");
            const size = parseInt(hex, 16);
            if (size === 0) this.chunkState = Chunk.Trailer;
            else {
              this.remaining = size;
              this.chunkState = Chunk.Data;
            }
          } else if (line === "") {
            // The end of the trailers, and of the response.
            this.flush(out, true, i < data.length);
            return;
          }
          break;
        }
        case Chunk.Data: {
          const take = Math.min(this.remaining, data.length - i);
          out.push(data.subarray(i, i + take));
          i += take;
          this.remaining -= take;
          if (this.remaining === 0) this.chunkState = Chunk.DataEnd;
          break;
        }
      }
    }
    this.flush(out, false, false);
  }

  private flush(out: Buffer[], last: boolean, extra: boolean): void {
    const body = out.length === 0 ? undefined : out.length === 1 ? out[0] : Buffer.concat(out);
    if (last) this.complete(body, extra);
    else if (body) this.deliver(body, false);
  }

  private deliver(chunk: Buffer, last: boolean): void {
    const ex = this.ex;
    if (!ex) return;
    if (!ex.onBody(chunk, last) && !last && this.ex === ex) this.socket.pause();
  }

  /** The response is complete: hand the rest over, then pool the connection (or close it). */
  private complete(body: Buffer | undefined, extra: boolean): void {
    const ex = this.ex as UpstreamExchange;
    this.ex = undefined;
    this.state = State.Idle;
    this.served++;
    const reusable = this.keepAlive && !extra && this.pool.keepAlive;
    if (reusable) this.pool.release(this);
    else this.socket.destroy();
    ex.onBody(body, true);
  }

  private end(): void {
    if (this.state === State.UntilClose && this.ex) {
      this.complete(undefined, true);
      return;
    }
    if (this.ex) this.fail(false, false);
  }

  private closed(): void {
    this.pool.forget(this);
    if (this.state === State.UntilClose && this.ex && !this.error) {
      this.complete(undefined, true);
      return;
    }
    if (this.ex) this.fail(false, false);
  }

  private timeout(): void {
    if (this.ex) this.fail(true, false);
    else this.socket.destroy();
  }

  private fail(timedOut: boolean, malformed: boolean): void {
    const ex = this.ex;
    this.ex = undefined;
    this.state = State.Idle;
    this.socket.destroy();
    ex?.onFail({ timedOut, answered: this.answered, reused: this.served > 0, malformed, code: this.error ?? (timedOut ? "ETIMEDOUT" : "ECONNRESET") });
  }
}

/** The keep-alive pool of connections to one target address. */
export class UpstreamPool {
  private idle: Conn[] = [];
  private all = new Set<Conn>();
  private destroyed = false;

  constructor(
    readonly host: string,
    readonly port: number,
    readonly keepAlive: boolean,
  ) {}

  /** Sends a request head (it must end with an empty line) on a pooled connection, or a new one when `fresh` or none is idle. */
  send(head: string, ex: UpstreamExchange, idleMs: number, fresh = false): UpstreamHandle {
    let conn = fresh ? undefined : this.idle.pop();
    while (conn && conn.socket.destroyed) conn = this.idle.pop();
    if (!conn) {
      conn = new Conn(this, this.host, this.port);
      if (!this.destroyed) this.all.add(conn);
    }
    conn.send(head, ex, idleMs);
    if (this.destroyed) conn.socket.destroy();
    return conn;
  }

  /** Connections open now (in use or idle). */
  get size(): number {
    return this.all.size;
  }

  release(conn: Conn): void {
    if (this.destroyed || this.idle.length >= MAX_IDLE) {
      conn.socket.destroy();
      return;
    }
    this.idle.push(conn);
  }

  forget(conn: Conn): void {
    this.all.delete(conn);
    const i = this.idle.indexOf(conn);
    if (i !== -1) this.idle.splice(i, 1);
  }

  /** Closes every connection, in use or idle. */
  destroy(): void {
    this.destroyed = true;
    for (const conn of [...this.all]) conn.socket.destroy();
    this.idle = [];
  }
}
