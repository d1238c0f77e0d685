/**
 * ELBv2's routing rules: which actions a listener or rule may carry, the six condition types
 * and their limits (one each of path-pattern, host-header, http-request-method and source-ip;
 * at most five condition values per rule), and ordering of actions. Pure; references to target
 * groups are checked by the engine, which sees them.
 */
import { isIP } from "node:net";
import { BerthError, ErrorCode } from "../core/errors.ts";
import type { Action, LoadBalancerType, RuleCondition } from "./load-balancing.ts";

const validation = (message: string): BerthError => new BerthError(ErrorCode.Validation, message);
const invalidAction = (message: string): BerthError => new BerthError(ErrorCode.InvalidLoadBalancerAction, message);

export const MAX_TARGET_GROUPS_PER_FORWARD = 5;
export const MAX_CONDITION_VALUES = 5;
const FIXED_RESPONSE_TYPES = ["text/plain", "text/css", "text/html", "application/javascript", "application/json"];

/** Sorted by `order` (actions without one keep their place after ordered ones). */
export function checkActions(actions: readonly Action[], type: LoadBalancerType): Action[] {
  if (actions.length === 0) throw validation("At least one action must be specified");
  const terminal = actions.filter((a) => a.type === "forward" || a.type === "redirect" || a.type === "fixed-response");
  if (terminal.length !== 1) {
    throw invalidAction("Exactly one of the actions 'forward', 'redirect' and 'fixed-response' must be specified");
  }
  const orders = actions.map((a) => a.order).filter((o) => o !== undefined);
  if (new Set(orders).size !== orders.length) throw validation("The action orders must be unique");
  for (const action of actions) checkAction(action, type);
  return [...actions].sort((a, b) => (a.order ?? Number.MAX_SAFE_INTEGER) - (b.order ?? Number.MAX_SAFE_INTEGER));
}

function checkAction(action: Action, type: LoadBalancerType): void {
  if (type === "network" && action.type !== "forward") {
    throw invalidAction(`Action type '${action.type}' is not supported for Network Load Balancers`);
  }
  switch (action.type) {
    case "forward": {
      const groups = action.targetGroups;
      if (groups.length === 0) throw validation("A target group ARN must be specified for a forward action");
      const limit = type === "network" ? 1 : MAX_TARGET_GROUPS_PER_FORWARD;
      if (groups.length > limit) {
        throw new BerthError(ErrorCode.TooManyActions, `A forward action can have at most '${limit}' target groups`);
      }
      if (new Set(groups.map((g) => g.targetGroupArn)).size !== groups.length) {
        throw validation("A target group can be specified only once in a forward action");
      }
      for (const g of groups) {
        if (!Number.isInteger(g.weight) || g.weight < 0 || g.weight > 999) {
          throw validation(`Target group weight '${g.weight}' must be between 0 and 999`);
        }
      }
      const d = action.stickiness.durationSeconds;
      if (action.stickiness.enabled && (d === undefined || d < 1 || d > 604800)) {
        throw validation("Target group stickiness duration must be between 1 and 604800 seconds");
      }
      return;
    }
    case "redirect": {
      const r = action.redirect;
      if (!/^(HTTP|HTTPS|#\{protocol\})$/.test(r.protocol)) throw validation(`Redirect protocol '${r.protocol}' must be 'HTTP', 'HTTPS' or '#{protocol}'`);
      if (r.port !== "#{port}" && !(/^\d+$/.test(r.port) && Number(r.port) >= 1 && Number(r.port) <= 65535)) {
        throw validation(`Redirect port '${r.port}' must be between 1 and 65535 or '#{port}'`);
      }
      if (!r.path.startsWith("/")) throw validation(`Redirect path '${r.path}' must start with '/'`);
      if (r.protocol === "#{protocol}" && r.port === "#{port}" && r.host === "#{host}" && r.path === "/#{path}") {
        throw invalidAction("The redirect must change at least one of the protocol, port, host or path, else it would loop");
      }
      return;
    }
    case "fixed-response": {
      const f = action.fixedResponse;
      if (!/^[245]\d\d$/.test(f.statusCode)) throw validation(`Fixed response status code '${f.statusCode}' must be 2XX, 4XX or 5XX`);
      if (f.contentType !== undefined && !FIXED_RESPONSE_TYPES.includes(f.contentType)) {
        throw validation(`Fixed response content type '${f.contentType}' must be one of '${FIXED_RESPONSE_TYPES.join(", ")}'`);
      }
      if (f.messageBody !== undefined && f.messageBody.length > 1024) throw validation("Fixed response message body cannot be longer than 1024 characters");
      return;
    }
  }
}

/** The forward actions' target group ARNs. */
export const forwardedGroups = (actions: readonly Action[]): string[] =>
  actions.flatMap((a) => (a.type === "forward" ? a.targetGroups.map((g) => g.targetGroupArn) : []));

const ONE_EACH = ["path-pattern", "host-header", "http-request-method", "source-ip"];
const PATH_RE = /^[A-Za-z0-9_\-.$/~"'@:+&*?=%!,;()[\]{}]+$/;
const HOST_RE = /^[A-Za-z0-9\-.*?:]+$/;
const HEADER_NAME_RE = /^[A-Za-z0-9!#$%&'*+.^_`|~-]+$/;
const METHOD_RE = /^[A-Z_-]+$/;

export function checkConditions(conditions: readonly RuleCondition[]): void {
  if (conditions.length === 0) throw validation("A rule must have at least one condition");
  for (const field of ONE_EACH) {
    if (conditions.filter((c) => c.field === field).length > 1) throw validation(`A rule can only have one '${field}' condition`);
  }
  let total = 0;
  for (const c of conditions) {
    if (c.values.length === 0) throw validation(`A '${c.field}' condition must have at least one value`);
    total += c.values.length;
    checkCondition(c);
  }
  if (total > MAX_CONDITION_VALUES) throw validation(`A rule can only have '${MAX_CONDITION_VALUES}' condition values`);
}

function checkCondition(c: RuleCondition): void {
  const each = (values: readonly string[], max: number, re: RegExp, what: string): void => {
    for (const v of values) {
      if (v.length === 0 || v.length > max || !re.test(v)) {
        throw validation(`The ${what} '${v}' is not valid: at most ${max} characters, matching ${re.source}`);
      }
    }
  };
  switch (c.field) {
    case "path-pattern":
      return each(c.values, 128, PATH_RE, "path pattern");
    case "host-header":
      return each(c.values, 128, HOST_RE, "host header");
    case "http-request-method":
      return each(c.values, 40, METHOD_RE, "HTTP request method");
    case "http-header":
      if (c.headerName.length === 0 || c.headerName.length > 40 || !HEADER_NAME_RE.test(c.headerName)) {
        throw validation(`The HTTP header name '${c.headerName}' is not valid`);
      }
      for (const v of c.values) if (v.length > 128) throw validation(`The HTTP header value '${v}' cannot be longer than 128 characters`);
      return;
    case "query-string":
      for (const kv of c.values) {
        if (kv.value.length === 0 || kv.value.length > 128 || (kv.key !== undefined && kv.key.length > 128)) {
          throw validation("Query string keys and values must be 1–128 characters long");
        }
      }
      return;
    case "source-ip":
      for (const v of c.values) if (!isCidr(v)) throw validation(`The source IP '${v}' is not a valid CIDR block`);
      return;
  }
}

export function isCidr(value: string): boolean {
  const [ip, bits, extra] = value.split("/");
  if (ip === undefined || bits === undefined || extra !== undefined || !/^\d+$/.test(bits)) return false;
  const family = isIP(ip);
  return family !== 0 && Number(bits) <= (family === 4 ? 32 : 128);
}
