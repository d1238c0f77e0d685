/**
 * AWS's policy evaluation for one request: an explicit Deny in any applicable statement wins,
 * else any applicable Allow grants, else the request is implicitly denied. A statement applies
 * when its Action/NotAction, Resource/NotResource, Principal/NotPrincipal (trust and resource
 * policies) and Condition all match. Policy variables (`${aws:username}`) are resolved from the
 * request context in 2012-10-17 documents. Pure: no clock, no store.
 */
import { type ContextValue, conditionsHold, wildcardMatch } from "./iam-conditions.ts";
import type { Policy, PrincipalSpec, Statement } from "./iam-policy.ts";

export type Decision = "Allow" | "ExplicitDeny" | "ImplicitDeny";

/** Who is asking, as trust and resource policies' Principal element sees it. */
export interface RequestPrincipal {
  /** The caller's ARNs: a user's ARN; for a role session its session ARN and its role's ARN. */
  arns?: readonly string[];
  /** The caller's account (matches "AWS": "<account>" and ":root" principals). */
  accountId?: string;
  /** A service principal such as "ecs-tasks.amazonaws.com". */
  service?: string;
}

export interface EvaluationRequest {
  action: string;
  resource: string;
  principal?: RequestPrincipal;
  /** Context keys with lower-cased names (IAM's key names are case-insensitive). */
  context: ReadonlyMap<string, ContextValue>;
}

export function evaluate(policies: readonly Policy[], request: EvaluationRequest): Decision {
  let allowed = false;
  for (const policy of policies) {
    for (const statement of policy.statements) {
      if (!statementApplies(policy, statement, request)) continue;
      if (statement.effect === "Deny") return "ExplicitDeny";
      allowed = true;
    }
  }
  return allowed ? "Allow" : "ImplicitDeny";
}

export function statementApplies(policy: Policy, s: Statement, request: EvaluationRequest): boolean {
  const substitute = (text: string): string | undefined => resolveVariables(policy, text, request.context);
  if (s.action && !s.action.some((a) => wildcardMatch(a, request.action, true))) return false;
  if (s.notAction && s.notAction.some((a) => wildcardMatch(a, request.action, true))) return false;
  const resourceMatches = (pattern: string) => {
    const p = substitute(pattern);
    return p !== undefined && wildcardMatch(p, request.resource, false);
  };
  if (s.resource && !s.resource.some(resourceMatches)) return false;
  if (s.notResource && s.notResource.some(resourceMatches)) return false;
  if (s.principal !== undefined && !principalMatches(s.principal, request.principal)) return false;
  if (s.notPrincipal !== undefined && principalMatches(s.notPrincipal, request.principal)) return false;
  if (s.condition && !conditionsHold(s.condition, (key) => request.context.get(key), substitute)) return false;
  return true;
}

export function principalMatches(spec: PrincipalSpec, who: RequestPrincipal | undefined): boolean {
  if (spec === "*") return true;
  if (who === undefined) return false;
  for (const [type, values] of Object.entries(spec)) {
    for (const v of values) {
      if (type === "AWS" && awsPrincipalMatches(v, who)) return true;
      if (type === "Service" && who.service !== undefined && (v === "*" || v.toLowerCase() === who.service.toLowerCase())) return true;
    }
  }
  return false;
}

function awsPrincipalMatches(value: string, who: RequestPrincipal): boolean {
  if (who.arns === undefined || who.arns.length === 0) return false;
  if (value === "*") return true;
  const account = /^\d{12}$/.test(value) ? value : /^arn:aws[a-z-]*:iam::(\d{12}):root$/.exec(value)?.[1];
  if (account !== undefined) return who.accountId === account;
  return who.arns.includes(value);
}

const VARIABLE = /\$\{([^}]*)\}/g;

/**
 * Replaces `${key}` and `${key, 'default'}` with context values; `${*}`, `${?}` and `${$}` are
 * the escapes IAM defines. Undefined when a key has no single value and no default (AWS: the
 * element then does not match). 2008-10-17 documents have no variables.
 */
export function resolveVariables(policy: Policy, text: string, context: ReadonlyMap<string, ContextValue>): string | undefined {
  if (policy.version !== "2012-10-17" || !text.includes("${")) return text;
  let unresolved = false;
  const out = text.replace(VARIABLE, (_, inner: string) => {
    const body = inner.trim();
    if (body === "*" || body === "?" || body === "$") return body;
    const m = /^([^,\s]+)\s*(?:,\s*'([^']*)')?$/.exec(body);
    const value = m ? context.get(m[1]!.toLowerCase()) : undefined;
    if (typeof value === "string") return value;
    if (m?.[2] !== undefined) return m[2];
    unresolved = true;
    return "";
  });
  return unresolved ? undefined : out;
}
