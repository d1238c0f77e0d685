/**
 * A small HTTP/1.1 client for bodiless requests to one target, on raw sockets (TLS ones for an
 * HTTPS target group, the target's certificate not verified, as ALB does) with its own
 * keep-alive pool (LIFO): the caller gives the whole request head, this module sends it in one
 * write, reads the response head in place (response-head.ts; 1xx skipped) and hands the body
 * over as it arrives, framed by Content-Length, chunked (chunked-decoder.ts) or until close. It exists because
 * node:http's ClientRequest/IncomingMessage/Agent layers were most of the proxy's cost. Requests with a body, and anything unusual, stay on node:http (http-proxy.ts decides).
 */
import { connect, type Socket } from "node:net";
import { ChunkedDecoder } from "./chunked-decoder.ts";
import { MalformedResponse, type ResponseHead, readResponseHead } from "./response-head.ts";
import { connectTarget } from "./target-connect.ts";

/** What the proxy side of one exchange does with the response. */
export interface UpstreamExchange {
  /** HEAD: the response has no body whatever its headers say. */
  readonly head: boolean;
  /** The final response head (it may be kept: it owns its bytes once the call returns). Throwing fails the exchange as malformed. */
  onHead(head: ResponseHead): void;
  /**
   * Body bytes (decoded from chunked); `last` ends the response (chunk may then be undefined).
   * The chunk is lent for the call (it may be the read buffer): copy what is kept. False asks
   * for a pause until `resume()`.
   */
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
/**
 * Every plain target connection of the process reads into this one buffer (node:net's `onread`),
 * skipping the stream layer and a new buffer per read: a chunk is parsed before the next read,
 * and what must outlive it is copied (a partial head, a head whose body is still to come).
 */
const READ_BUFFER = Buffer.allocUnsafe(64 * 1024);

const enum State {
  Idle,
  Head,
  Length,
  Chunked,
  UntilClose,
}

/** One connection to the target; parses one response at a time. */
class Conn implements UpstreamHandle {
  readonly socket: Socket;
  ex: UpstreamExchange | undefined;
  served = 0;
  state = State.Idle;
  private pending: Buffer | undefined;
  private remaining = 0;
  private chunks = new ChunkedDecoder();
  private keepAlive = false;
  private answered = false;
  private timeoutMs = 0;
  private error: string | undefined;
  /** The head handed to the exchange during the read being parsed, before any body bytes. */
  private lent: { response: ResponseHead; ex: UpstreamExchange } | undefined;

  constructor(
    private pool: UpstreamPool,
    host: string,
    port: number,
    tls: boolean,
  ) {
    if (tls) {
      // node:tls has no `onread`: a TLS connection's chunks are its own.
      this.socket = connectTarget(host, port, { tls: true, http: true });
      this.socket.setNoDelay(true);
      this.socket.on("data", (chunk: Buffer) => this.data(chunk));
    } else {
      this.socket = connect({
        host,
        port,
        noDelay: true,
        onread: {
          buffer: READ_BUFFER,
          callback: (length: number) => {
            this.data(READ_BUFFER.subarray(0, length));
            return true;
          },
        },
      });
    }
    this.socket.on("end", () => this.end());
    this.socket.on("error", (error: NodeJS.ErrnoException) => {
      this.error ??= error.code ?? "ECONNRESET";
    });
    this.socket.on("close", () => this.closed());
    this.socket.on("timeout", () => this.timeout());
  }

  send(head: string | Buffer, ex: UpstreamExchange, idleMs: number): void {
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

  /** A chunk from the read buffer, lent until this returns. */
  private data(chunk: Buffer): void {
    try {
      this.parse(chunk);
    } catch {
      // Malformed, or refused by the proxy side: either way the target's answer cannot be used.
      if (this.ex) this.fail(false, true);
      else this.socket.destroy();
    }
    // A head whose body is still to come may be held by the exchange past this read.
    const lent = this.lent;
    if (lent === undefined) return;
    this.lent = undefined;
    if (this.ex === lent.ex) lent.response.own();
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
          const end = this.head(data);
          if (end === -1) {
            if (data.length > MAX_HEAD) throw new MalformedResponse("response head too large");
            this.pending = Buffer.from(data);
            return;
          }
          // A 1xx leaves the state at Head: the real head follows.
          if (end === data.length || (this.state as State) === State.Idle) return;
          data = data.subarray(end);
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

  /**
   * Reads the response head at the start of `data`; returns the offset after it, or -1 while it
   * is incomplete. A 1xx is skipped; a final head goes to the exchange, then sets the body state
   * or completes a bodiless response.
   */
  private head(data: Buffer): number {
    const response = readResponseHead(data);
    if (typeof response === "number") return response;
    const { end, length, te, chunked, status } = response;
    const ex = this.ex as UpstreamExchange;
    const more = end < data.length;
    this.keepAlive = !response.close;
    this.answered = true;
    try {
      ex.onHead(response);
      this.lent = { response, ex };
    } catch {
      this.answered = false;
      throw new MalformedResponse("response head refused");
    }
    if (this.ex !== ex) return end; // aborted by onHead
    if (ex.head || status === 204 || status === 304 || (length === 0 && !te)) {
      this.complete(undefined, more);
    } else if (te) {
      if (chunked) {
        this.state = State.Chunked;
        this.chunks.reset();
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
    return end;
  }

  private chunked(data: Buffer): void {
    const out: Buffer[] = [];
    const end = this.chunks.decode(data, out);
    this.flush(out, end !== -1, end !== -1 && end < data.length);
  }

  private flush(out: Buffer[], last: boolean, extra: boolean): void {
    const body = out.length === 0 ? undefined : out.length === 1 ? out[0] : Buffer.concat(out);
    if (last) this.complete(body, extra);
    else if (body) this.deliver(body, false);
  }

  private deliver(chunk: Buffer, last: boolean): void {
    const ex = this.ex;
    if (!ex) return;
    this.lent = undefined; // the head goes to the client with these bytes
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

/** The keep-alive pool of connections to one target address, plain or TLS. */
export class UpstreamPool {
  private idle: Conn[] = [];
  private all = new Set<Conn>();
  private destroyed = false;

  constructor(
    readonly host: string,
    readonly port: number,
    readonly keepAlive: boolean,
    readonly tls = false,
  ) {}

  /** Sends a request head (it must end with an empty line) on a pooled connection, or a new one when `fresh` or none is idle. */
  send(head: string | Buffer, ex: UpstreamExchange, idleMs: number, fresh = false): UpstreamHandle {
    let conn = fresh ? undefined : this.idle.pop();
    while (conn && conn.socket.destroyed) conn = this.idle.pop();
    if (!conn) {
      conn = new Conn(this, this.host, this.port, this.tls);
      if (!this.destroyed) this.all.add(conn);
    }
    conn.send(head, ex, idleMs);
    if (this.destroyed) conn.socket.destroy();
    return conn;
  }

  /** False once destroyed. */
  get open(): boolean {
    return !this.destroyed;
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
