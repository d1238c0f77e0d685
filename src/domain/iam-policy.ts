/**
 * IAM policy documents: the grammar, and validation the way IAM refuses a document
 * (MalformedPolicyDocument with IAM's own sentences, in IAM's order of checks). Pure: the
 * text goes in, a parsed Policy or a BerthError comes out. Evaluation is iam-evaluate.ts.
 *
 * Three kinds of document: identity policies (inline or managed; no Principal), trust
 * policies (a role's AssumeRolePolicyDocument; Principal required, no Resource) and
 * resource policies (Principal and Resource).
 */
import { BerthError, ErrorCode } from "../core/errors.ts";
import { type ConditionBlock, parseDateValue, parseOperator } from "./iam-conditions.ts";

export type PolicyKind = "identity" | "trust" | "resource";
export type Effect = "Allow" | "Deny";

/** The Principal element: "*" or a map of type ("AWS", "Service", "Federated", ...) to values. */
export type PrincipalSpec = "*" | Readonly<Record<string, readonly string[]>>;

export interface Statement {
  sid?: string;
  effect: Effect;
  action?: readonly string[];
  notAction?: readonly string[];
  resource?: readonly string[];
  notResource?: readonly string[];
  principal?: PrincipalSpec;
  notPrincipal?: PrincipalSpec;
  condition?: ConditionBlock;
}

export interface Policy {
  /** "2012-10-17" enables policy variables; "2008-10-17" (the default) does not. */
  version: "2012-10-17" | "2008-10-17";
  statements: readonly Statement[];
}

const VERSIONS = new Set(["2012-10-17", "2008-10-17"]);
const TOP_ELEMENTS = new Set(["Version", "Id", "Statement"]);
const STATEMENT_ELEMENTS = new Set(["Sid", "Effect", "Action", "NotAction", "Resource", "NotResource", "Principal", "NotPrincipal", "Condition"]);
/** The actions a trust policy may grant. */
const TRUST_ACTIONS = new Set([
  "sts:assumerole", "sts:assumerolewithsaml", "sts:assumerolewithwebidentity", "sts:tagsession", "sts:setsourceidentity", "sts:setcontext", "sts:*",
]);

export const malformed = (message: string): BerthError => new BerthError(ErrorCode.MalformedPolicyDocument, message);

/** Parses and validates `text` as a policy of `kind`; throws MalformedPolicyDocument. */
export function parsePolicy(text: string, kind: PolicyKind): Policy {
  const raw = readSyntax(text);
  const statements = raw.statements;
  // IAM's order: syntax, then the kind's field rules, legacy parsing, ids, actions, resources.
  for (const s of statements) checkKindFields(s, kind);
  for (const s of statements) {
    if (s["Effect"] !== "Allow" && s["Effect"] !== "Deny") throw malformed("The policy failed legacy parsing");
    checkDates(s);
  }
  const sids = new Set<string>();
  for (const s of statements) {
    const sid = s["Sid"] as string | undefined;
    if (sid === undefined || sid === "") continue;
    if (sids.has(sid)) throw malformed("Statement IDs (SID) in a single policy must be unique.");
    sids.add(sid);
  }
  for (const s of statements) {
    if (isEmpty(s["Action"]) && isEmpty(s["NotAction"])) throw malformed("Policy statement must contain actions.");
  }
  if (kind !== "trust") {
    for (const s of statements) {
      if (isEmpty(s["Resource"]) && isEmpty(s["NotResource"])) throw malformed("Policy statement must contain resources.");
    }
    for (const s of statements) for (const r of [...list(s["Resource"]), ...list(s["NotResource"])]) checkResource(r);
  }
  for (const s of statements) for (const a of [...list(s["Action"]), ...list(s["NotAction"])]) checkAction(a);
  if (kind === "trust") {
    for (const s of statements) {
      if (list(s["Action"]).some((a) => !TRUST_ACTIONS.has(a.toLowerCase()))) {
        throw malformed("AssumeRole policy may only specify STS AssumeRole actions.");
      }
    }
  }
  return { version: raw.version, statements: statements.map(toStatement) };
}

type RawStatement = Record<string, unknown>;

/** "Syntax errors in policy." covers JSON, types and unknown elements, as IAM does. */
function readSyntax(text: string): { version: Policy["version"]; statements: RawStatement[] } {
  const syntax = () => malformed("Syntax errors in policy.");
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch {
    throw syntax();
  }
  if (!isObject(doc)) throw syntax();
  for (const key of Object.keys(doc)) if (!TOP_ELEMENTS.has(key)) throw syntax();
  const version = doc["Version"] ?? "2008-10-17";
  if (typeof version !== "string" || !VERSIONS.has(version)) throw syntax();
  if (doc["Id"] !== undefined && typeof doc["Id"] !== "string") throw syntax();
  const rawStatements = doc["Statement"];
  const statements = Array.isArray(rawStatements) ? rawStatements : isObject(rawStatements) ? [rawStatements] : undefined;
  if (statements === undefined || statements.length === 0) throw syntax();
  for (const s of statements) {
    if (!isObject(s)) throw syntax();
    for (const key of Object.keys(s)) if (!STATEMENT_ELEMENTS.has(key)) throw syntax();
    if (("Action" in s && "NotAction" in s) || ("Resource" in s && "NotResource" in s) || ("Principal" in s && "NotPrincipal" in s)) throw syntax();
    if (typeof s["Effect"] !== "string" || !["allow", "deny"].includes(s["Effect"].toLowerCase())) throw syntax();
    if (s["Sid"] !== undefined && typeof s["Sid"] !== "string") throw syntax();
    for (const key of ["Action", "NotAction", "Resource", "NotResource"]) {
      if (key in s && !isStringOrStrings(s[key])) throw syntax();
    }
    for (const key of ["Principal", "NotPrincipal"]) if (key in s && !isPrincipalSyntax(s[key])) throw syntax();
    if ("Condition" in s && !isConditionSyntax(s["Condition"])) throw syntax();
  }
  return { version: version as Policy["version"], statements: statements as RawStatement[] };
}

function checkKindFields(s: RawStatement, kind: PolicyKind): void {
  const hasPrincipal = "Principal" in s || "NotPrincipal" in s;
  if (kind === "identity" && hasPrincipal) throw malformed("Policy document should not specify a principal.");
  if (kind === "trust") {
    for (const key of ["Resource", "NotResource"]) if (key in s) throw malformed(`Has prohibited field ${key}`);
  }
  if (kind !== "identity" && !hasPrincipal) throw malformed("Missing required field Principal");
  for (const key of ["Principal", "NotPrincipal"]) if (key in s) checkPrincipal(s[key]);
}

/** Principal values must look like what they claim to be (accounts, ARNs, service names). */
function checkPrincipal(value: unknown): void {
  if (value === "*") return;
  for (const [type, raw] of Object.entries(value as Record<string, unknown>)) {
    for (const v of list(raw)) {
      const ok =
        type === "AWS" ? v === "*" || /^\d{12}$/.test(v) || /^arn:aws[a-z-]*:(iam|sts)::(\d{12}|aws)?:.+$/.test(v)
        : type === "Service" ? /^[a-z0-9.*-]+\.amazonaws\.com(\.cn)?$/.test(v) || v === "*"
        : type === "Federated" || type === "CanonicalUser" ? v.length > 0
        : false;
      if (!ok) throw malformed(`Invalid principal in policy: "${type}":"${v}"`);
    }
  }
}

function checkDates(s: RawStatement): void {
  const block = s["Condition"] as Record<string, Record<string, unknown>> | undefined;
  for (const [op, keys] of Object.entries(block ?? {})) {
    const parsed = parseOperator(op);
    if (parsed === undefined || !parsed.base.startsWith("Date")) continue;
    for (const v of Object.values(keys).flatMap((x) => list(x))) {
      if (parseDateValue(v) === undefined) throw malformed("The policy failed legacy parsing");
    }
  }
}

function checkResource(resource: string): void {
  if (resource === "*") return;
  if (!resource.includes(":")) throw malformed(`Resource ${resource} must be in ARN format or "*".`);
  const parts = resource.split(":");
  if (parts[0] !== "arn") throw malformed(`Resource ${resource} must be in ARN format or "*".`);
  if (parts.length < 3) throw malformed(`Resource ${resource} must be in ARN format or "*".`);
  const partition = parts[1]!;
  if (partition !== "aws" && partition !== "*" && !/^aws-[a-z-]+$/.test(partition)) {
    throw malformed(`Partition "${partition}" is not valid for resource "${resource}".`);
  }
  const vendor = parts[2]!;
  if (vendor === "" || /[^a-zA-Z0-9*?-]/.test(vendor)) throw malformed("Resource vendor must be fully qualified and cannot contain regexes.");
  if (vendor === "iam" && (parts[3] ?? "") !== "") throw malformed(`IAM resource ${resource} cannot contain region information.`);
}

function checkAction(action: string): void {
  if (action === "*") return;
  const parts = action.split(":");
  if (parts.length === 1) throw malformed("Actions/Conditions must be prefaced by a vendor, e.g., iam, sdb, ec2, etc.");
  if (parts.length > 2) throw malformed("Actions/Condition can contain only one colon.");
  const vendor = parts[0]!;
  if (vendor !== "*" && /[^a-zA-Z0-9\-.]/.test(vendor)) throw malformed(`Vendor ${vendor} is not valid`);
}

function toStatement(s: RawStatement): Statement {
  const out: { -readonly [K in keyof Statement]: Statement[K] } = { effect: s["Effect"] as Effect };
  if (typeof s["Sid"] === "string") out.sid = s["Sid"];
  if ("Action" in s) out.action = list(s["Action"]);
  if ("NotAction" in s) out.notAction = list(s["NotAction"]);
  if ("Resource" in s) out.resource = list(s["Resource"]);
  if ("NotResource" in s) out.notResource = list(s["NotResource"]);
  if ("Principal" in s) out.principal = principalSpec(s["Principal"]);
  if ("NotPrincipal" in s) out.notPrincipal = principalSpec(s["NotPrincipal"]);
  if ("Condition" in s) {
    const block: Record<string, Record<string, readonly string[]>> = {};
    for (const [op, keys] of Object.entries(s["Condition"] as Record<string, Record<string, unknown>>)) {
      block[op] = Object.fromEntries(Object.entries(keys).map(([k, v]) => [k, list(v)]));
    }
    out.condition = block;
  }
  return out;
}

function principalSpec(value: unknown): PrincipalSpec {
  if (value === "*") return "*";
  return Object.fromEntries(Object.entries(value as Record<string, unknown>).map(([k, v]) => [k, list(v)]));
}

function isObject(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === "object" && !Array.isArray(value);
}

function isStringOrStrings(value: unknown): boolean {
  return typeof value === "string" || (Array.isArray(value) && value.every((v) => typeof v === "string"));
}

function isPrincipalSyntax(value: unknown): boolean {
  return value === "*" || (isObject(value) && Object.keys(value).length > 0 && Object.values(value).every(isStringOrStrings));
}

/** Condition: operator → key → scalar or list; an unknown operator is a syntax error. */
function isConditionSyntax(value: unknown): boolean {
  if (!isObject(value)) return false;
  return Object.entries(value).every(([op, keys]) => {
    if (!isObject(keys)) return false;
    if (parseOperator(op) === undefined) return Object.keys(keys).length === 0;
    return Object.values(keys).every((v) => ["string", "number", "boolean"].includes(typeof v) ||
      (Array.isArray(v) && v.every((x) => ["string", "number", "boolean"].includes(typeof x))));
  });
}

function list(value: unknown): string[] {
  if (value === undefined) return [];
  return (Array.isArray(value) ? value : [value]).map((v) => String(v));
}

function isEmpty(value: unknown): boolean {
  return value === undefined || (Array.isArray(value) && value.length === 0);
}
