/**
 * An ALB listener (HTTP or HTTPS): routes each request by the listener's rules to a forward,
 * redirect or fixed-response action, picks the target group (weights, group stickiness) and the
 * target (algorithm, lb_cookie stickiness), and hands it to http-proxy or, for upgrades, to
 * websocket-tunnel. Its configuration is swapped in place by each snapshot; the socket stays.
 */
import { createServer as createHttpServer, type IncomingHttpHeaders, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import { createServer as createHttpsServer } from "node:https";
import type { Server as NetServer, Socket } from "node:net";
import type { ActionSpec, ListenerSpec, LoadBalancerSpec } from "../protocol/lb-protocol.ts";
import { sendElbPage, sendFixed, writeRawElbPage } from "./alb-responses.ts";
import { type FrontConnection, HttpFront } from "./http-front.ts";
import type { FrontRequest } from "./request-head.ts";
import { clientAddress } from "./forwarded-head.ts";
import { type ForwardSpec, forward, forwardFront } from "./http-proxy.ts";
import type { LbCounters, ProxyContext } from "./proxy-context.ts";
import { actionFor, type CompiledRules, compileRules, hostWithoutPort, type RequestFacts } from "./rules.ts";
import { GROUP_COOKIE, openValue, readCookie, sealValue, stickyCookies, TARGET_COOKIE } from "./stickiness.ts";
import type { PoolTarget, TargetPool } from "./target-pool.ts";
import { type TlsMaterial, tlsServerOptions } from "./tls-contexts.ts";
import { tunnel } from "./websocket-tunnel.ts";

const DEFAULT_IDLE_SECONDS = 60;

interface ListenerConfig {
  spec: ListenerSpec;
  rules: CompiledRules;
  idleMs: number;
  proto: "http" | "https";
  lb: LbCounters;
  /** What forwards to each target group share when they set no cookie. */
  specs: Map<string, ForwardSpec>;
}

type Choice = { kind: "target"; pool: TargetPool; target: PoolTarget; spec: ForwardSpec } | { kind: "status"; status: number };

const NO_COOKIES: readonly string[] = [];

export class HttpListener {
  /** What listens: http-front's server for HTTP, the node:https server for HTTPS. */
  readonly server: NetServer;
  /** node:http(s): every HTTPS request, and the HTTP connections http-front hands over. */
  private readonly http: Server;
  private readonly front: HttpFront | undefined;
  private config: ListenerConfig;

  constructor(
    private ctx: ProxyContext,
    spec: ListenerSpec,
    lb: LoadBalancerSpec,
    tls: TlsMaterial | undefined,
  ) {
    this.config = this.configure(spec, lb);
    const handler = (req: IncomingMessage, res: ServerResponse): void => this.handle(req, res);
    const count = (socket: Socket): void => {
      const counters = this.config.lb;
      counters.activeConnections++;
      socket.once("close", () => counters.activeConnections--);
    };
    this.http = tls ? createHttpsServer({ ...tlsServerOptions(tls, spec.sslPolicy), noDelay: true }, handler) : createHttpServer({ noDelay: true }, handler);
    this.http.on("upgrade", (req: IncomingMessage, socket: Socket, head: Buffer) => this.upgrade(req, socket, head));
    this.http.on("clientError", (_error, socket: Socket) => {
      if (socket.writable) writeRawElbPage(socket, 400);
      else socket.destroy();
    });
    if (tls) {
      this.http.on("connection", count);
      this.server = this.http;
    } else {
      this.front = new HttpFront(this.http, (req, conn) => this.fast(req, conn), count);
      this.server = this.front.server;
    }
    this.applyTimeouts();
  }

  /** New rules, actions and attributes, in place: open connections carry on. */
  update(spec: ListenerSpec, lb: LoadBalancerSpec, tls: TlsMaterial | undefined): void {
    this.config = this.configure(spec, lb);
    if (tls && "setSecureContext" in this.http) (this.http as unknown as { setSecureContext(o: object): void }).setSecureContext(tlsServerOptions(tls, spec.sslPolicy));
    this.applyTimeouts();
  }

  private configure(spec: ListenerSpec, lb: LoadBalancerSpec): ListenerConfig {
    const idleSeconds = Number(lb.attributes["idle_timeout.timeout_seconds"] ?? DEFAULT_IDLE_SECONDS);
    return {
      spec,
      rules: compileRules(spec),
      idleMs: (Number.isFinite(idleSeconds) && idleSeconds > 0 ? idleSeconds : DEFAULT_IDLE_SECONDS) * 1000,
      proto: spec.protocol === "HTTPS" ? "https" : "http",
      lb: this.ctx.counters.lb(lb.arn),
      specs: new Map(),
    };
  }

  /** The idle timeout closes idle client connections; a request waiting on its target is the 504's business. */
  private applyTimeouts(): void {
    this.http.keepAliveTimeout = this.config.idleMs;
    this.http.headersTimeout = this.config.idleMs + 1000;
    this.http.requestTimeout = 0;
    this.http.timeout = 0;
    if (this.front) this.front.idleMs = this.config.idleMs;
  }

  private handle(req: IncomingMessage, res: ServerResponse): void {
    const config = this.config;
    config.lb.requestCount++;
    const facts = requestFacts(req);
    const action = actionFor(config.rules, facts);
    if (!action) return this.elbStatus(res, config, 503);
    if (action.type === "fixed-response") {
      const status = Number(action.statusCode);
      if (status >= 500) config.lb.elb5xx++;
      else if (status >= 400) config.lb.elb4xx++;
      return sendFixed(res, status, action.contentType, action.messageBody);
    }
    if (action.type === "redirect") {
      const status = action.statusCode === "HTTP_301" ? 301 : 302;
      return sendElbPage(res, status, { Location: redirectLocation(action, facts, config) });
    }
    const choice = this.choose(action, facts, config);
    if (choice.kind === "status") return this.elbStatus(res, config, choice.status);
    forward(this.ctx, req, res, choice.target, choice.spec);
  }

  /** http-front's bodiless requests: a forward to a target is answered there, anything else goes to node:http. */
  private fast(req: FrontRequest, conn: FrontConnection): boolean {
    const config = this.config;
    const facts = new RawFacts(req);
    const action = actionFor(config.rules, facts);
    if (!action || action.type !== "forward") return false;
    const choice = this.choose(action, facts, config);
    if (choice.kind === "status") return false;
    config.lb.requestCount++;
    forwardFront(this.ctx, req, conn, facts.sourceIp, choice.target, choice.spec);
    return true;
  }

  private upgrade(req: IncomingMessage, socket: Socket, head: Buffer): void {
    const config = this.config;
    config.lb.requestCount++;
    const facts = requestFacts(req);
    const action = actionFor(config.rules, facts);
    if (!action || action.type !== "forward") {
      // A WebSocket handshake routed to a redirect or fixed response gets no tunnel.
      config.lb.elb4xx++;
      return writeRawElbPage(socket, 400);
    }
    const choice = this.choose(action, facts, config);
    if (choice.kind === "status") {
      config.lb.elb5xx++;
      return writeRawElbPage(socket, choice.status);
    }
    tunnel(this.ctx, req, socket, head, choice.target, { ...choice.spec, groupArn: choice.pool.arn });
  }

  private elbStatus(res: ServerResponse, config: ListenerConfig, status: number): void {
    config.lb.elb5xx++;
    sendElbPage(res, status);
  }

  /** The target group (weighted, group-sticky) and the target (lb_cookie-sticky) for a forward. */
  private choose(action: Extract<ActionSpec, { type: "forward" }>, facts: RequestFacts, config: ListenerConfig): Choice {
    let setCookies: string[] | undefined;
    const now = this.ctx.clock.now();
    const secure = config.proto === "https";
    const groups = action.targetGroups.length === 1 ? action.targetGroups : action.targetGroups.filter((g) => g.weight > 0);
    let groupArn: string | undefined;
    const groupSticky = action.stickiness?.enabled === true && groups.length > 1;
    if (groupSticky) {
      const remembered = openValue(this.ctx.cookieKey, readCookie(facts.headers.cookie, GROUP_COOKIE));
      if (remembered && groups.some((g) => g.arn === remembered)) groupArn = remembered;
    }
    groupArn ??= weightedGroup(groups);
    if (groupArn === undefined) return { kind: "status", status: 503 };
    if (groupSticky) (setCookies ??= []).push(...stickyCookies(GROUP_COOKIE, sealValue(this.ctx.cookieKey, groupArn), action.stickiness?.durationSeconds ?? 3600, now, secure));
    const pool = this.ctx.pools.get(groupArn);
    if (!pool) return { kind: "status", status: 503 };
    const sticky = pool.stickiness;
    let target: PoolTarget | undefined;
    if (sticky) {
      const key = openValue(this.ctx.cookieKey, readCookie(facts.headers.cookie, TARGET_COOKIE));
      const remembered = key === undefined ? undefined : pool.get(key);
      if (remembered && pool.candidates().includes(remembered)) target = remembered;
    }
    target ??= pool.pick(now);
    if (!target) return { kind: "status", status: 503 };
    if (sticky) (setCookies ??= []).push(...stickyCookies(TARGET_COOKIE, sealValue(this.ctx.cookieKey, target.key), sticky.durationSeconds, now, secure));
    return { kind: "target", pool, target, spec: this.forwardSpec(config, pool, setCookies) };
  }

  private forwardSpec(config: ListenerConfig, pool: TargetPool, setCookies: string[] | undefined): ForwardSpec {
    let shared = config.specs.get(pool.arn);
    if (!shared) {
      shared = { proto: config.proto, port: config.spec.port, idleMs: config.idleMs, lb: config.lb, tg: this.ctx.counters.tg(pool.arn), setCookies: NO_COOKIES, tls: pool.tls };
      config.specs.set(pool.arn, shared);
    }
    return setCookies ? { ...shared, setCookies } : shared;
  }

  close(): void {
    this.server.close();
    if (this.front) {
      this.front.closeIdle();
      this.http.close();
    } else this.http.closeIdleConnections();
    // Requests still running when the listener goes get until the idle timeout to finish.
    setTimeout(() => this.destroyConnections(), this.config.idleMs).unref();
  }

  /** Closes every connection now. */
  destroyConnections(): void {
    if (this.front) this.front.closeAll();
    else this.http.closeAllConnections();
  }
}

/** A request target's path and query string (without the `?`). */
function splitTarget(url: string): [path: string, query: string] {
  const q = url.indexOf("?");
  return q === -1 ? [url, ""] : [url.slice(0, q), url.slice(q + 1)];
}

/** What rules look at; headers and the source address are looked up only when a rule asks (node:http builds req.headers on first use). */
class Facts implements RequestFacts {
  readonly method: string;
  readonly path: string;
  readonly query: string;

  constructor(private req: IncomingMessage) {
    this.method = req.method ?? "GET";
    [this.path, this.query] = splitTarget(req.url ?? "/");
  }

  get headers(): IncomingHttpHeaders {
    return this.req.headers;
  }

  get sourceIp(): string {
    return clientAddress(this.req);
  }
}

/** The same facts for a request parsed by http-front: headers as node:http would present them, built on first use. */
class RawFacts implements RequestFacts {
  readonly method: string;
  private split: [path: string, query: string] | undefined;
  private built: IncomingHttpHeaders | undefined;
  private ip: string | undefined;

  constructor(private req: FrontRequest) {
    this.method = req.method;
  }

  get path(): string {
    this.split ??= splitTarget(this.req.url);
    return this.split[0];
  }

  get query(): string {
    this.split ??= splitTarget(this.req.url);
    return this.split[1];
  }

  get headers(): IncomingHttpHeaders {
    if (this.built) return this.built;
    const out: Record<string, string | string[]> = {};
    const raw = this.req.rawHeaders;
    for (let i = 0; i < raw.length; i += 2) {
      const name = (raw[i] as string).toLowerCase();
      const value = raw[i + 1] as string;
      const prior = out[name];
      if (name === "set-cookie") out[name] = [...((prior as string[] | undefined) ?? []), value];
      else if (prior === undefined) out[name] = value;
      else if (name === "cookie") out[name] = `${prior as string}; ${value}`;
      else if (name !== "host") out[name] = `${prior as string}, ${value}`;
    }
    this.built = out as IncomingHttpHeaders;
    return this.built;
  }

  get sourceIp(): string {
    this.ip ??= clientAddress(this.req);
    return this.ip;
  }
}

function requestFacts(req: IncomingMessage): RequestFacts {
  return new Facts(req);
}

function weightedGroup(groups: { arn: string; weight: number }[]): string | undefined {
  if (groups.length <= 1) return groups[0]?.arn;
  const total = groups.reduce((sum, g) => sum + g.weight, 0);
  let roll = Math.random() * total;
  for (const g of groups) {
    roll -= g.weight;
    if (roll < 0) return g.arn;
  }
  return groups[groups.length - 1]?.arn;
}

/** ALB's redirect: #{protocol}, #{host}, #{port}, #{path} (without its leading "/") and #{query} reused from the request. */
export function redirectLocation(action: Extract<ActionSpec, { type: "redirect" }>, facts: RequestFacts, config: { proto: string; spec: { port: number } }): string {
  const values: Record<string, string> = {
    protocol: config.proto,
    host: hostWithoutPort(facts.headers.host ?? ""),
    port: String(config.spec.port),
    path: facts.path.replace(/^\//, ""),
    query: facts.query,
  };
  const fill = (template: string): string => template.replace(/#\{(protocol|host|port|path|query)\}/g, (_m, name: string) => values[name] ?? "");
  const protocol = fill(action.protocol || "#{protocol}").toLowerCase();
  const host = fill(action.host || "#{host}");
  const port = fill(action.port || "#{port}");
  const path = fill(action.path || "/#{path}");
  const query = fill(action.query ?? "#{query}");
  const defaultPort = (protocol === "http" && port === "80") || (protocol === "https" && port === "443");
  return `${protocol}://${host}${defaultPort ? "" : `:${port}`}${path.startsWith("/") ? path : `/${path}`}${query ? `?${query}` : ""}`;
}
