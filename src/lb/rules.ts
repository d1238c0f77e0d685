/**
 * ALB listener rules: a listener's rules compiled once per snapshot into predicates, evaluated in
 * priority order for each request; the first rule whose conditions all match gives the action,
 * else the listener's default actions do. Within one condition any value may match. Pure.
 */
import type { IncomingHttpHeaders } from "node:http";
import type { ActionSpec, ConditionSpec, ListenerSpec } from "../protocol/lb-protocol.ts";
import { anyOf, cidr, type Matcher, wildcard } from "./patterns.ts";

/** What rules look at: the request line and headers, and the client's address. */
export interface RequestFacts {
  method: string;
  /** The path without the query string, as sent (not decoded). */
  path: string;
  /** The raw query string without "?", or "". */
  query: string;
  headers: IncomingHttpHeaders;
  sourceIp: string;
}

type Predicate = (facts: RequestFacts) => boolean;

export interface CompiledRules {
  rules: { arn: string; matches: Predicate; action: ActionSpec | undefined }[];
  defaultAction: ActionSpec | undefined;
}

export function compileRules(listener: Pick<ListenerSpec, "rules" | "defaultActions">): CompiledRules {
  const rules = [...listener.rules]
    .sort((a, b) => a.priority - b.priority)
    .map((rule) => {
      const predicates = rule.conditions.map(compileCondition);
      return { arn: rule.arn, matches: (f: RequestFacts) => predicates.every((p) => p(f)), action: terminalAction(rule.actions) };
    });
  return { rules, defaultAction: terminalAction(listener.defaultActions) };
}

/** The action for a request: the first matching rule's, else the default. */
export function actionFor(compiled: CompiledRules, facts: RequestFacts): ActionSpec | undefined {
  for (const rule of compiled.rules) if (rule.matches(facts)) return rule.action;
  return compiled.defaultAction;
}

/** The last action of a list is the one that answers (forward, redirect or fixed-response). */
function terminalAction(actions: ActionSpec[]): ActionSpec | undefined {
  return actions[actions.length - 1];
}

function compileCondition(condition: ConditionSpec): Predicate {
  switch (condition.field) {
    case "path-pattern": {
      const match = anyOf(condition.values, false);
      return (f) => match(f.path);
    }
    case "host-header": {
      const match = anyOf(condition.values, true);
      return (f) => match(hostWithoutPort(f.headers.host ?? ""));
    }
    case "http-header": {
      const name = condition.headerName.toLowerCase();
      const match = anyOf(condition.values, true);
      return (f) => {
        const value = f.headers[name];
        if (value === undefined) return false;
        return Array.isArray(value) ? value.some(match) : match(value);
      };
    }
    case "http-request-method": {
      const methods = new Set(condition.values);
      return (f) => methods.has(f.method);
    }
    case "query-string": {
      const pairs = condition.values.map((v) => ({ key: v.key === undefined ? undefined : wildcard(v.key, true), value: wildcard(v.value, true) }));
      return (f) => {
        const query = parseQuery(f.query);
        return pairs.some((p) => query.some(([k, v]) => (p.key === undefined || p.key(k)) && p.value(v)));
      };
    }
    case "source-ip": {
      const blocks: Matcher[] = condition.values.map(cidr);
      return (f) => blocks.some((b) => b(f.sourceIp));
    }
  }
}

export function hostWithoutPort(host: string): string {
  if (host.startsWith("[")) return host.slice(0, host.indexOf("]") + 1);
  const colon = host.indexOf(":");
  return colon === -1 ? host : host.slice(0, colon);
}

function parseQuery(query: string): [string, string][] {
  if (query === "") return [];
  return query.split("&").map((part) => {
    const eq = part.indexOf("=");
    return eq === -1 ? [decode(part), ""] : [decode(part.slice(0, eq)), decode(part.slice(eq + 1))];
  });
}

function decode(text: string): string {
  try {
    return decodeURIComponent(text.replace(/\+/g, " "));
  } catch {
    return text;
  }
}
