/**
 * Who a principal ARN is and what it may do: resolving a caller (user, role, role session,
 * the admin) to its identity policies and its request context, authorizing one action on
 * resources, STS AssumeRole (trust policy, then the caller's identity policies unless the trust
 * policy names the caller), issuing and looking up temporary credentials, and the SigV4
 * credential lookup for access keys. Evaluation itself is domain/iam-evaluate.ts.
 */
import { BerthError, ErrorCode } from "../core/errors.ts";
import {
  type AssumeRoleInput,
  type AuthorizationRequest,
  type IamCredential,
  type IamPrincipal,
  type PolicyOwner,
  type RoleCredentials,
  accessDenied,
  assumedRoleArn,
  noSuchEntity,
  parsePrincipalArn,
  roleArn,
  userArn,
} from "../domain/iam.ts";
import type { ContextValue } from "../domain/iam-conditions.ts";
import { type Decision, type RequestPrincipal, evaluate } from "../domain/iam-evaluate.ts";
import type { Policy, PolicyKind } from "../domain/iam-policy.ts";
import { type RoleRow, checkDuration, findRole, findUser } from "./iam-entities.ts";
import { accessKeyId, secretAccessKey, sessionToken } from "./iam-ids.ts";
import { documentsOf } from "./iam-policies.ts";
import { openText, sealText } from "../core/sealer.ts";
import type { IamSql } from "./iam-schema.ts";

/** Expired credentials are kept this long (so a late request hears "expired"), then purged. */
const EXPIRED_GRACE_MS = 60 * 60_000;

export interface AccessDeps {
  db: IamSql;
  /** Parsed documents, cached by text (stored documents were validated on the way in). */
  parse(document: string, kind: PolicyKind): Policy;
  /** The identity.json admin: root-like, never policy-checked. */
  adminArn?: string;
}

interface Caller {
  kind: "admin" | "user" | "role" | "assumed-role" | "unknown";
  /** Whose identity policies apply. */
  owner?: PolicyOwner;
  principal: RequestPrincipal;
  context: Map<string, ContextValue>;
}

function resolveCaller(deps: AccessDeps, arn: string): Caller {
  const { db } = deps;
  const now = db.clock.now();
  const context = new Map<string, ContextValue>([
    ["aws:currenttime", new Date(now).toISOString().replace(/\.\d{3}Z$/, "Z")],
    ["aws:epochtime", String(Math.floor(now / 1000))],
  ]);
  const parsed = parsePrincipalArn(arn);
  const unknown: Caller = { kind: "unknown", principal: { arns: [arn] }, context };
  if (parsed === undefined) return unknown;
  context.set("aws:principalaccount", parsed.accountId);
  const principal: RequestPrincipal = { arns: [arn], accountId: parsed.accountId };
  if (arn === deps.adminArn || parsed.kind === "root") {
    context.set("aws:principalarn", arn);
    context.set("aws:principaltype", parsed.kind === "root" ? "Account" : "User");
    return { kind: "admin", principal, context };
  }
  if (parsed.accountId !== db.accountId) return unknown;
  if (parsed.kind === "user") {
    const user = findUser(db, parsed.name);
    if (!user) return unknown;
    context.set("aws:username", user.name);
    context.set("aws:userid", user.id);
    context.set("aws:principalarn", userArn(db.accountId, user.path, user.name));
    context.set("aws:principaltype", "User");
    return { kind: "user", owner: { kind: "user", name: user.name }, principal, context };
  }
  const role = findRole(db, parsed.kind === "assumed-role" ? parsed.role : parsed.name);
  if (!role) return unknown;
  const ofRole = roleArn(db.accountId, role.path, role.name);
  const session = parsed.kind === "assumed-role" ? parsed.session : "berth";
  context.set("aws:userid", `${role.id}:${session}`);
  context.set("aws:principalarn", ofRole);
  context.set("aws:principaltype", "AssumedRole");
  const kind = parsed.kind === "assumed-role" ? "assumed-role" : "role";
  return { kind, owner: { kind: "role", name: role.name }, principal: { ...principal, arns: [arn, ofRole] }, context };
}

function withContext(base: Map<string, ContextValue>, extra: Record<string, string | string[]> | undefined): Map<string, ContextValue> {
  const out = new Map(base);
  for (const [key, value] of Object.entries(extra ?? {})) out.set(key.toLowerCase(), value);
  return out;
}

function identityPolicies(deps: AccessDeps, caller: Caller): Policy[] {
  return caller.owner ? documentsOf(deps.db, caller.owner).map((d) => deps.parse(d, "identity")) : [];
}

/** The decision for each resource; the admin is always allowed. */
function decide(deps: AccessDeps, request: AuthorizationRequest): { resource: string; decision: Decision }[] {
  const caller = resolveCaller(deps, request.principalArn);
  const resources = request.resources.length > 0 ? request.resources : ["*"];
  if (caller.kind === "admin") return resources.map((resource) => ({ resource, decision: "Allow" }));
  const policies = identityPolicies(deps, caller);
  const context = withContext(caller.context, request.context);
  return resources.map((resource) => ({ resource, decision: evaluate(policies, { action: request.action, resource, context }) }));
}

export function authorize(deps: AccessDeps, request: AuthorizationRequest): void {
  for (const { resource, decision } of decide(deps, request)) {
    if (decision !== "Allow") throw accessDenied(request.principalArn, request.action, resource, decision);
  }
}

export function isAllowed(deps: AccessDeps, principalArn: string, action: string, resource: string, context?: Record<string, string | string[]>): boolean {
  return decide(deps, { principalArn, action, resources: [resource], ...(context ? { context } : {}) })[0]?.decision === "Allow";
}

// --- STS ----------------------------------------------------------------------------------

function roleOfArn(deps: AccessDeps, arn: string): RoleRow | undefined {
  const parsed = parsePrincipalArn(arn);
  if (parsed?.kind !== "role" || parsed.accountId !== deps.db.accountId) return undefined;
  const role = findRole(deps.db, parsed.name);
  return role && roleArn(deps.db.accountId, role.path, role.name) === arn ? role : undefined;
}

export function roleExists(deps: AccessDeps, arn: string): boolean {
  return roleOfArn(deps, arn) !== undefined;
}

export function assumeRole(deps: AccessDeps, callerArn: string, input: AssumeRoleInput): RoleCredentials {
  const denied = () =>
    new BerthError(ErrorCode.AccessDenied, `User: ${callerArn} is not authorized to perform: sts:AssumeRole on resource: ${input.roleArn}`);
  const role = roleOfArn(deps, input.roleArn);
  if (!role) throw denied();
  const caller = resolveCaller(deps, callerArn);
  const trust = deps.parse(role.trust, "trust");
  const context = withContext(caller.context, input.context);
  const request = { action: "sts:AssumeRole", resource: input.roleArn, context };
  if (evaluate([trust], { ...request, principal: caller.principal }) !== "Allow") throw denied();
  if (caller.kind !== "admin") {
    const identity = evaluate(identityPolicies(deps, caller), request);
    if (identity === "ExplicitDeny") throw denied();
    // Trusting the account delegates to the caller's own policies; naming the caller does not.
    const named = evaluate([trust], { ...request, principal: { arns: caller.principal.arns ?? [] } }) === "Allow";
    if (identity === "ImplicitDeny" && !named) throw denied();
  }
  const duration = input.durationSeconds ?? 3600;
  if (caller.kind === "assumed-role" && duration > 3600) {
    throw new BerthError(ErrorCode.Validation, "The requested DurationSeconds exceeds the 1 hour session limit for roles assumed by role chaining.");
  }
  if (duration > role.max_session) {
    throw new BerthError(ErrorCode.Validation, "The requested DurationSeconds exceeds the MaxSessionDuration set for this role.");
  }
  return issue(deps.db, role, input.roleSessionName, duration);
}

export function issueRoleCredentials(
  deps: AccessDeps,
  arn: string,
  sessionName: string,
  opts: { durationSeconds: number; servicePrincipal?: string },
): RoleCredentials {
  const role = roleOfArn(deps, arn);
  if (!role) throw noSuchEntity(`The role with name ${parsePrincipalArn(arn)?.kind === "role" ? arn.slice(arn.lastIndexOf("/") + 1) : arn} cannot be found.`);
  checkDuration(opts.durationSeconds);
  if (opts.servicePrincipal !== undefined) {
    const trust = deps.parse(role.trust, "trust");
    const request = { action: "sts:AssumeRole", resource: arn, principal: { service: opts.servicePrincipal }, context: new Map<string, ContextValue>() };
    if (evaluate([trust], request) !== "Allow") {
      throw new BerthError(ErrorCode.AccessDenied, `User: ${opts.servicePrincipal} is not authorized to perform: sts:AssumeRole on resource: ${arn}`);
    }
  }
  return issue(deps.db, role, sessionName, opts.durationSeconds);
}

/* out: a new session row; sessions past their expiry by more than the grace are purged. */
function issue(db: IamSql, role: RoleRow, session: string, durationSeconds: number): RoleCredentials {
  const now = db.clock.now();
  const credentials: RoleCredentials = {
    accessKeyId: accessKeyId(true),
    secretAccessKey: secretAccessKey(),
    sessionToken: sessionToken(),
    expiration: new Date(now + durationSeconds * 1000),
    assumedRoleArn: assumedRoleArn(db.accountId, role.name, session),
    assumedRoleId: `${role.id}:${session}`,
  };
  db.tx(() => {
    db.sql("DELETE FROM sessions WHERE expires < ?").run(now - EXPIRED_GRACE_MS);
    db.sql("INSERT INTO sessions (access_key_id, secret, token, role_name, role_id, session_name, expires) VALUES (?, ?, ?, ?, ?, ?, ?)")
      .run(
        credentials.accessKeyId,
        sealText(db.sealer, credentials.secretAccessKey, credentials.accessKeyId),
        sealText(db.sealer, credentials.sessionToken, `${credentials.accessKeyId}/token`),
        role.name,
        role.id,
        session,
        credentials.expiration.getTime(),
      );
  });
  return credentials;
}

// --- SigV4 lookup -------------------------------------------------------------------------

interface SessionRow { access_key_id: string; secret: string; token: string; role_name: string; role_id: string; session_name: string; expires: number }
interface KeyUserRow { secret: string; name: string; id: string; path: string }

export function credential(db: IamSql, id: string): IamCredential | undefined {
  if (id.startsWith("ASIA")) {
    const s = db.sql("SELECT * FROM sessions WHERE access_key_id = ?").get(id) as SessionRow | undefined;
    if (!s) return undefined;
    const principal = { accountId: db.accountId, arn: assumedRoleArn(db.accountId, s.role_name, s.session_name), userId: `${s.role_id}:${s.session_name}` };
    return { accessKeyId: id, secretAccessKey: openText(db.sealer, s.secret, id), sessionToken: openText(db.sealer, s.token, `${id}/token`), expiresAt: s.expires, principal };
  }
  const k = db.sql(
    "SELECT k.secret, u.name, u.id, u.path FROM access_keys k JOIN users u ON u.name = k.user_name WHERE k.id = ? AND k.status = 'Active'",
  ).get(id) as KeyUserRow | undefined;
  if (!k) return undefined;
  return { accessKeyId: id, secretAccessKey: openText(db.sealer, k.secret, id), principal: { accountId: db.accountId, arn: userArn(db.accountId, k.path, k.name), userId: k.id } };
}

export function principalOfArn(db: IamSql, arn: string): IamPrincipal | undefined {
  const parsed = parsePrincipalArn(arn);
  if (!parsed || parsed.accountId !== db.accountId || parsed.kind === "root") return undefined;
  if (parsed.kind === "user") {
    const user = findUser(db, parsed.name);
    return user && { accountId: db.accountId, arn, userId: user.id };
  }
  const role = findRole(db, parsed.kind === "assumed-role" ? parsed.role : parsed.name);
  if (!role) return undefined;
  return { accountId: db.accountId, arn, userId: parsed.kind === "assumed-role" ? `${role.id}:${parsed.session}` : role.id };
}

export function userOfAccessKey(db: IamSql, id: string): string | undefined {
  return (db.sql("SELECT user_name FROM access_keys WHERE id = ?").get(id) as { user_name: string } | undefined)?.user_name;
}
