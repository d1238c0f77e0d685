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

/** A parsed bodiless request. */
export interface FrontRequest {
  method: string;
  url: string;
  rawHeaders: string[];
  socket: Socket;
}

/** The listener's side: takes the request (and answers through the connection) or returns false to give the connection to node:http. */
export type FrontRoute = (req: FrontRequest, conn: FrontConnection) => boolean;

/** What an exchange in progress wants to hear when the client goes away before the answer is complete. */
export interface FrontWaiter {
  clientGone(): void;
}

const MAX_HEAD = 16 * 1024; // node:http's default maxHeaderSize
const MAX_BUFFERED = 64 * 1024;
const HEAD_END = Buffer.from("\r\n\r\n");
const LF_HEAD_END = Buffer.from("\n\n");
const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
const BAD_TARGET = /[^\x21-\x7e\x80-\xff]/;
const BAD_VALUE = /[^\t\x20-\x7e\x80-\xff]/;

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
  /** The pending response: its head is written with the first body bytes. */
  private head: string | undefined;
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
  writeHead(status: number, reason: string, headers: string[]): void {
    let head = `HTTP/1.1 ${status} ${reason}\r\n`;
    let length = false;
    let te = false;
    let date = false;
    for (let i = 0; i < headers.length; i += 2) {
      const name = headers[i] as string;
      switch (name.length) {
        case 4:
          if (name.toLowerCase() === "date") date = true;
          break;
        case 14:
          if (name.toLowerCase() === "content-length") length = true;
          break;
        case 17:
          if (name.toLowerCase() === "transfer-encoding") {
            te = true;
            if (this.http10) continue; // an HTTP/1.0 client gets the body delimited by closing
          }
          break;
      }
      head += `${name}: ${headers[i + 1] as string}\r\n`;
    }
    if (!date) head += `Date: ${utcDate()}\r\n`;
    this.bodiless = this.isHead || status === 204 || status === 304 || status < 200;
    this.chunked = !this.bodiless && te && !this.http10;
    this.needsLength = !this.bodiless && !te && !length;
    if (!this.bodiless && te && this.http10) this.keepAlive = false;
    this.head = head;
  }

  /** Body bytes for the client (already decoded); `last` completes the response. False: wait for 'drain' on the socket. */
  writeBody(chunk: Buffer | undefined, last: boolean): boolean {
    const socket = this.socket;
    if (socket.destroyed) return false;
    let head = this.head;
    if (head !== undefined && this.needsLength) {
      // No framing from the target: a complete body gets a length, a streamed one is chunked.
      this.needsLength = false;
      if (last) head += `Content-Length: ${chunk?.length ?? 0}\r\n`;
      else if (this.http10) this.keepAlive = false;
      else {
        head += "Transfer-Encoding: chunked\r\n";
        this.chunked = true;
      }
    }
    if (head !== undefined) {
      this.head = undefined;
      head += this.connectionHeaders();
    }
    let ok = true;
    if (this.bodiless || !chunk || chunk.length === 0) {
      if (this.chunked && last) ok = socket.write(head === undefined ? "0\r\n\r\n" : `${head}0\r\n\r\n`, "latin1");
      else if (head !== undefined) ok = socket.write(head, "latin1");
    } else if (this.chunked) {
      socket.cork();
      socket.write(`${head ?? ""}${chunk.length.toString(16)}\r\n`, "latin1");
      socket.write(chunk);
      ok = socket.write(last ? "\r\n0\r\n\r\n" : "\r\n", "latin1");
      socket.uncork();
    } else if (head !== undefined) {
      const out = Buffer.allocUnsafe(head.length + chunk.length);
      out.write(head, 0, "latin1");
      chunk.copy(out, head.length);
      ok = socket.write(out);
    } else ok = socket.write(chunk);
    if (last) this.done();
    return ok;
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
    const end = whole.indexOf(HEAD_END);
    const skip = 4;
    if (end === -1) {
      // A head too long, or one with bare LF line ends, is node:http's to judge.
      if (whole.length > MAX_HEAD || whole.indexOf(LF_HEAD_END) !== -1) this.handOff();
      return;
    }
    const req = this.request(whole.toString("latin1", 0, end));
    if (!req) return this.handOff();
    this.buffer = whole.length > end + skip ? whole.subarray(end + skip) : undefined;
    this.busy = true;
    this.started = false;
    if (!this.front.route(req, this)) {
      this.busy = false;
      this.buffer = whole;
      this.handOff();
    }
  }

  /** Parses a request head; undefined when node:http should have it. */
  private request(text: string): FrontRequest | undefined {
    // CRLF line ends only: anything laxer is node:http's call.
    const lines = text.split("\r\n");
    const line = lines[0] as string;
    const sp1 = line.indexOf(" ");
    const sp2 = line.indexOf(" ", sp1 + 1);
    if (sp1 <= 0 || sp2 === -1) return undefined;
    const method = line.slice(0, sp1);
    const url = line.slice(sp1 + 1, sp2);
    const version = line.slice(sp2 + 1);
    if (version !== "HTTP/1.1" && version !== "HTTP/1.0") return undefined;
    if (!TOKEN.test(method) || method === "CONNECT" || url.length === 0 || BAD_TARGET.test(url)) return undefined;
    const http10 = version === "HTTP/1.0";
    let keepAlive = !http10;
    let host = false;
    const rawHeaders: string[] = [];
    for (let i = 1; i < lines.length; i++) {
      const h = lines[i] as string;
      const colon = h.indexOf(":");
      if (colon <= 0) return undefined;
      const name = h.slice(0, colon);
      const value = h.slice(colon + 1).trim();
      if (!TOKEN.test(name) || BAD_VALUE.test(value)) return undefined; // bare LF, obs-fold, bad bytes
      switch (name.length) {
        case 4:
          if (name.toLowerCase() === "host") host = true;
          break;
        case 6:
          if (name.toLowerCase() === "expect") return undefined;
          break;
        case 7:
          if (name.toLowerCase() === "upgrade") return undefined;
          break;
        case 10:
          if (name.toLowerCase() === "connection") {
            const tokens = value.toLowerCase();
            if (tokens.includes("upgrade")) return undefined;
            if (tokens.includes("close")) keepAlive = false;
            else if (tokens.includes("keep-alive")) keepAlive = true;
          }
          break;
        case 14:
          if (name.toLowerCase() === "content-length" && value !== "0") return undefined;
          break;
        case 17:
          if (name.toLowerCase() === "transfer-encoding") return undefined;
          break;
      }
      rawHeaders.push(name, value);
    }
    if (!http10 && !host) return undefined; // node:http answers 400
    this.keepAlive = keepAlive;
    this.http10 = http10;
    this.isHead = method === "HEAD";
    return { method, url, rawHeaders, socket: this.socket };
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
