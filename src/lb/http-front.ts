/**
 * The fast front of a plain-HTTP ALB listener: it accepts the connections itself, parses request
 * heads in place and, for a bodiless request its listener forwards to a target, writes the
 * answer on the socket as one write (head and body together). Anything else (a body, Upgrade,
 * Expect, a request it cannot parse, a fixed response, a redirect, an ELB 503) hands the
 * connection, with every byte not yet answered, to the listener's node:http server, which then
 * serves that connection to its end. Requests on one connection are answered one at a time, in
 * order (pipelined ones wait in the buffer). Idle connections close after the idle timeout.
 */
import type { Server as HttpServer } from "node:http";
import { createServer, type Server, type Socket } from "node:net";
import { errorPage, reasonPhrase } from "./alb-responses.ts";
import { type FrontRequest, readRequestHead, WAIT } from "./request-head.ts";
import type { ResponseHead } from "./response-head.ts";

/** The listener's side: takes the request (and answers through the connection) or returns false to give the connection to node:http. */
export type FrontRoute = (req: FrontRequest, conn: FrontConnection) => boolean;

/** What an exchange in progress wants to hear when the client goes away before the answer is complete. */
export interface FrontWaiter {
  clientGone(): void;
}

const MAX_HEAD = 16 * 1024; // node:http's default maxHeaderSize
const MAX_BUFFERED = 64 * 1024;

let dateSecond = -1;
let dateText = "";
function utcDate(): string {
  const now = Date.now();
  const second = Math.floor(now / 1000);
  if (second !== dateSecond) {
    dateSecond = second;
    dateText = new Date(now).toUTCString();
  }
  return dateText;
}

export class HttpFront {
  readonly server: Server;
  idleMs = 60_000;
  private conns = new Set<FrontConnection>();
  private handedOff = new Set<Socket>();
  closing = false;

  constructor(
    readonly http: HttpServer,
    readonly route: FrontRoute,
    onConnection: (socket: Socket) => void,
  ) {
    this.server = createServer({ allowHalfOpen: true, noDelay: true }, (socket) => {
      onConnection(socket);
      const conn = new FrontConnection(socket, this);
      this.conns.add(conn);
      socket.once("close", () => {
        this.conns.delete(conn);
        this.handedOff.delete(socket);
      });
    });
    // node:http tracks (and times out) only connections of a server that has started listening.
    http.emit("listening");
  }

  /** Gives a connection to node:http. */
  handOff(conn: FrontConnection, socket: Socket): void {
    this.conns.delete(conn);
    this.handedOff.add(socket);
    this.http.emit("connection", socket);
  }

  /** Stops keeping connections alive: idle ones close now, busy ones once answered. */
  closeIdle(): void {
    this.closing = true;
    for (const conn of this.conns) conn.closeIfIdle();
    this.http.closeIdleConnections();
  }

  closeAll(): void {
    this.closing = true;
    for (const conn of this.conns) conn.socket.destroy();
    for (const socket of this.handedOff) socket.destroy();
    this.http.closeAllConnections();
  }
}

export class FrontConnection {
  private buffer: Buffer | undefined;
  private busy = false;
  private keepAlive = true;
  private isHead = false;
  private http10 = false;
  private clientEnded = false;
  /** The pending response: its head is written with the first body bytes, after it the lines the front adds (Date, Set-Cookie). */
  private head: ResponseHead | undefined;
  private extra = "";
  private chunked = false;
  private bodiless = false;
  private needsLength = false;
  private waiter: FrontWaiter | undefined;
  private started = false;
  private timeoutMs = 0;
  private readonly onData = (chunk: Buffer): void => this.data(chunk);
  private readonly onEnd = (): void => this.ended();
  private readonly onTimeout = (): void => this.timedOut();
  private readonly onClose = (): void => this.closed();
  private readonly onError = (): void => {
    this.socket.destroy();
  };

  constructor(
    readonly socket: Socket,
    private front: HttpFront,
  ) {
    socket.on("data", this.onData);
    socket.on("end", this.onEnd);
    socket.on("timeout", this.onTimeout);
    socket.on("close", this.onClose);
    socket.on("error", this.onError);
    this.armTimeout();
  }

  /** Whether the request being answered is a HEAD. */
  get isHeadRequest(): boolean {
    return this.isHead;
  }

  /** The response head has gone out. */
  get headersSent(): boolean {
    return this.started;
  }

  get gone(): boolean {
    return this.socket.destroyed || !this.busy;
  }

  onDrain(resume: () => void): void {
    this.socket.once("drain", resume);
  }

  /** The exchange answering the current request. */
  wait(waiter: FrontWaiter): void {
    this.waiter = waiter;
  }

  /** Starts the response; the head goes out with the first body bytes. */
  writeHead(head: ResponseHead, setCookies: readonly string[]): void {
    let extra = head.hasDate ? "" : `Date: ${utcDate()}\r\n`;
    for (const cookie of setCookies) extra += `Set-Cookie: ${cookie}\r\n`;
    const status = head.status;
    const te = head.transferEncoding !== undefined;
    this.bodiless = this.isHead || status === 204 || status === 304 || status < 200;
    this.chunked = !this.bodiless && te && !this.http10;
    this.needsLength = !this.bodiless && !te && !head.hasLength;
    if (!this.bodiless && te && this.http10) this.keepAlive = false; // an HTTP/1.0 client gets the body delimited by closing
    this.head = head;
    this.extra = extra;
  }

  /** Body bytes for the client (already decoded, lent for the call); `last` completes the response. False: wait for 'drain' on the socket. */
  writeBody(chunk: Buffer | undefined, last: boolean): boolean {
    if (this.socket.destroyed) return false;
    const head = this.head;
    let before = "";
    if (head !== undefined) {
      this.head = undefined;
      before = this.extra + this.framing(chunk, last) + this.connectionHeaders();
    }
    const body = this.bodiless || !chunk || chunk.length === 0 ? undefined : chunk;
    let after = "";
    if (this.chunked) {
      if (body) {
        before += `${body.length.toString(16)}\r\n`;
        after = last ? "\r\n0\r\n\r\n" : "\r\n";
      } else if (last) after = "0\r\n\r\n";
    }
    const ok = this.send(head, before, body, after);
    if (last) this.done();
    return ok;
  }

  /** Framing for an answer the target sent without any: a complete body gets a length, a streamed one is chunked (for HTTP/1.0, delimited by closing). */
  private framing(chunk: Buffer | undefined, last: boolean): string {
    if (!this.needsLength) return "";
    this.needsLength = false;
    if (last) return `Content-Length: ${chunk?.length ?? 0}\r\n`;
    if (this.http10) {
      this.keepAlive = false;
      return "";
    }
    this.chunked = true;
    return "Transfer-Encoding: chunked\r\n";
  }

  /** One write to the client, of its own copy: the response head (when it goes now), text, body bytes, text. */
  private send(head: ResponseHead | undefined, before: string, body: Buffer | undefined, after: string): boolean {
    if (head === undefined && before === "" && after === "") return body ? this.socket.write(Buffer.from(body)) : true;
    // The target's Transfer-Encoding lines go to HTTP/1.1 clients only.
    const withTe = !this.http10;
    const out = Buffer.allocUnsafe((head ? head.size(withTe) : 0) + before.length + (body ? body.length : 0) + after.length);
    let at = head ? head.copyTo(out, 0, withTe) : 0;
    if (before !== "") at += out.write(before, at, "latin1");
    if (body) at += body.copy(out, at);
    if (after !== "") out.write(after, at, "latin1");
    return this.socket.write(out);
  }

  /** An ELB error page for the current request (or the connection closes when the answer had begun). */
  elbPage(status: number): void {
    if (this.started) {
      this.socket.destroy();
      return;
    }
    const body = errorPage(status);
    this.head = undefined;
    this.needsLength = false;
    const head = `HTTP/1.1 ${status} ${reasonPhrase(status)}\r\nServer: awselb/2.0\r\nContent-Type: text/html\r\nContent-Length: ${body.length}\r\nDate: ${utcDate()}\r\n${this.connectionHeaders()}`;
    this.socket.write(this.isHead ? head : head + body, "latin1");
    this.done();
  }

  destroy(): void {
    this.socket.destroy();
  }

  closeIfIdle(): void {
    if (!this.busy) this.socket.destroy();
  }

  private connectionHeaders(): string {
    this.started = true;
    if (this.keepAlive && !this.clientEnded && !this.front.closing) return `Connection: keep-alive\r\nKeep-Alive: timeout=${Math.floor(this.front.idleMs / 1000)}\r\n\r\n`;
    this.keepAlive = false;
    return "Connection: close\r\n\r\n";
  }

  private done(): void {
    this.busy = false;
    this.waiter = undefined;
    this.head = undefined;
    this.started = false;
    if (!this.keepAlive || this.clientEnded || this.front.closing) {
      this.socket.end();
      return;
    }
    this.armTimeout();
    if (this.buffer) {
      if (this.socket.isPaused()) this.socket.resume();
      process.nextTick(() => {
        if (!this.busy && this.buffer && !this.socket.destroyed) this.parse();
      });
    }
  }

  private armTimeout(): void {
    if (this.timeoutMs === this.front.idleMs) return;
    this.timeoutMs = this.front.idleMs;
    this.socket.setTimeout(this.timeoutMs);
  }

  private data(chunk: Buffer): void {
    this.buffer = this.buffer ? Buffer.concat([this.buffer, chunk]) : chunk;
    if (this.busy) {
      if (this.buffer.length > MAX_BUFFERED) this.socket.pause();
      return;
    }
    this.parse();
  }

  private parse(): void {
    const whole = this.buffer;
    if (!whole) return;
    const req = readRequestHead(whole, this.socket);
    if (req === WAIT) {
      // A head too long is node:http's to judge.
      if (whole.length > MAX_HEAD) this.handOff();
      return;
    }
    if (!req) return this.handOff();
    this.keepAlive = req.keepAlive;
    this.http10 = req.http10;
    this.isHead = req.method === "HEAD";
    this.buffer = whole.length > req.end ? whole.subarray(req.end) : undefined;
    this.busy = true;
    this.started = false;
    if (!this.front.route(req, this)) {
      this.busy = false;
      this.buffer = whole;
      this.handOff();
    }
  }

  private handOff(): void {
    const socket = this.socket;
    socket.removeListener("data", this.onData);
    socket.removeListener("end", this.onEnd);
    socket.removeListener("timeout", this.onTimeout);
    socket.removeListener("close", this.onClose);
    socket.removeListener("error", this.onError);
    socket.setTimeout(0);
    const buffer = this.buffer;
    this.buffer = undefined;
    if (buffer && buffer.length > 0) socket.unshift(buffer);
    this.front.handOff(this, socket);
    if (socket.isPaused()) socket.resume();
  }

  private ended(): void {
    this.clientEnded = true;
    if (!this.busy) this.socket.end();
  }

  private timedOut(): void {
    // Idle (or a head that never completed): close. A request in flight is the 504's business.
    if (!this.busy) this.socket.destroy();
  }

  private closed(): void {
    const waiter = this.waiter;
    this.waiter = undefined;
    this.busy = false;
    waiter?.clientGone();
  }
}
