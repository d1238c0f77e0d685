/**
 * The Condition element: IAM's condition operators (String*, Numeric*, Date*, Bool, Binary,
 * IpAddress, Arn*, Null), the ...IfExists suffix and the ForAnyValue:/ForAllValues: set
 * qualifiers, evaluated against a request context. Also the wildcard matcher that Action,
 * Resource, StringLike and ArnLike share. Pure.
 *
 * Semantics (AWS's): operators and keys in one block are ANDed, the values of one key ORed; a
 * negated operator is the negation of its positive form over all values; a key missing from
 * the context makes positive operators false and negated ones true, unless IfExists (true).
 */

export type ConditionBlock = Readonly<Record<string, Readonly<Record<string, readonly string[]>>>>;
export type ContextValue = string | readonly string[];

type Matcher = (contextValue: string, policyValue: string) => boolean;

interface OperatorDef {
  match: Matcher;
  negated: boolean;
}

const stringEquals: Matcher = (c, p) => c === p;
const stringEqualsIgnoreCase: Matcher = (c, p) => c.toLowerCase() === p.toLowerCase();
const stringLike: Matcher = (c, p) => wildcardMatch(p, c, false);
const numeric = (test: (c: number, p: number) => boolean): Matcher => (c, p) => {
  const cn = toNumber(c);
  const pn = toNumber(p);
  return cn !== undefined && pn !== undefined && test(cn, pn);
};
const date = (test: (c: number, p: number) => boolean): Matcher => (c, p) => {
  const cd = parseDateValue(c);
  const pd = parseDateValue(p);
  return cd !== undefined && pd !== undefined && test(cd, pd);
};
const bool: Matcher = (c, p) => c.toLowerCase() === p.toLowerCase();
const ipAddress: Matcher = (c, p) => ipInCidr(c, p);
const arnLike: Matcher = (c, p) => arnMatch(p, c);

const eq = (a: number, b: number) => a === b;

export const CONDITION_OPERATORS: Readonly<Record<string, OperatorDef>> = {
  StringEquals: { match: stringEquals, negated: false },
  StringNotEquals: { match: stringEquals, negated: true },
  StringEqualsIgnoreCase: { match: stringEqualsIgnoreCase, negated: false },
  StringNotEqualsIgnoreCase: { match: stringEqualsIgnoreCase, negated: true },
  StringLike: { match: stringLike, negated: false },
  StringNotLike: { match: stringLike, negated: true },
  NumericEquals: { match: numeric(eq), negated: false },
  NumericNotEquals: { match: numeric(eq), negated: true },
  NumericLessThan: { match: numeric((c, p) => c < p), negated: false },
  NumericLessThanEquals: { match: numeric((c, p) => c <= p), negated: false },
  NumericGreaterThan: { match: numeric((c, p) => c > p), negated: false },
  NumericGreaterThanEquals: { match: numeric((c, p) => c >= p), negated: false },
  DateEquals: { match: date(eq), negated: false },
  DateNotEquals: { match: date(eq), negated: true },
  DateLessThan: { match: date((c, p) => c < p), negated: false },
  DateLessThanEquals: { match: date((c, p) => c <= p), negated: false },
  DateGreaterThan: { match: date((c, p) => c > p), negated: false },
  DateGreaterThanEquals: { match: date((c, p) => c >= p), negated: false },
  Bool: { match: bool, negated: false },
  BinaryEquals: { match: stringEquals, negated: false },
  IpAddress: { match: ipAddress, negated: false },
  NotIpAddress: { match: ipAddress, negated: true },
  ArnEquals: { match: arnLike, negated: false },
  ArnLike: { match: arnLike, negated: false },
  ArnNotEquals: { match: arnLike, negated: true },
  ArnNotLike: { match: arnLike, negated: true },
  // Null is special-cased: it tests presence, not values.
  Null: { match: bool, negated: false },
};

export interface ParsedOperator {
  base: string;
  ifExists: boolean;
  set?: "ForAnyValue" | "ForAllValues";
}

/** Splits `ForAnyValue:StringLikeIfExists` into its parts; undefined for an unknown operator. */
export function parseOperator(op: string): ParsedOperator | undefined {
  let rest = op;
  let set: ParsedOperator["set"];
  for (const q of ["ForAnyValue", "ForAllValues"] as const) {
    if (rest.startsWith(`${q}:`)) {
      set = q;
      rest = rest.slice(q.length + 1);
    }
  }
  const ifExists = rest.endsWith("IfExists") && rest !== "IfExists";
  if (ifExists) rest = rest.slice(0, -"IfExists".length);
  if (!Object.hasOwn(CONDITION_OPERATORS, rest)) return undefined;
  if (rest === "Null" && (ifExists || set)) return undefined;
  return { base: rest, ifExists, ...(set ? { set } : {}) };
}

/**
 * True when every operator/key of the block holds. `lookup` reads a context key (names are
 * case-insensitive: the caller lower-cases); `substitute` resolves policy variables in a value,
 * returning undefined when a variable has no value (that value then matches nothing).
 */
export function conditionsHold(
  block: ConditionBlock,
  lookup: (key: string) => ContextValue | undefined,
  substitute: (value: string) => string | undefined,
): boolean {
  for (const [op, keys] of Object.entries(block)) {
    const parsed = parseOperator(op);
    if (parsed === undefined) return false; // validation refuses these; never grant on one
    const def = CONDITION_OPERATORS[parsed.base]!;
    for (const [key, rawValues] of Object.entries(keys)) {
      const values = rawValues.map(substitute).filter((v): v is string => v !== undefined);
      if (!keyHolds(parsed, def, lookup(key.toLowerCase()), values)) return false;
    }
  }
  return true;
}

function keyHolds(op: ParsedOperator, def: OperatorDef, found: ContextValue | undefined, policyValues: string[]): boolean {
  const context = found === undefined ? [] : typeof found === "string" ? [found] : [...found];
  if (op.base === "Null") {
    const absent = context.length === 0;
    return policyValues.some((p) => (p.toLowerCase() === "true") === absent);
  }
  if (context.length === 0) {
    if (op.ifExists) return true;
    if (op.set === "ForAllValues") return true;
    if (op.set === "ForAnyValue") return false;
    return def.negated;
  }
  const matchesAny = (c: string) => policyValues.some((p) => def.match(c, p));
  const holds = (c: string) => (def.negated ? !matchesAny(c) : matchesAny(c));
  if (op.set === "ForAllValues") return context.every(holds);
  if (op.set === "ForAnyValue") return context.some(holds);
  return def.negated ? !context.some(matchesAny) : context.some(matchesAny);
}

/**
 * `*` matches any run of characters (colons included), `?` exactly one. Linear-time with one
 * backtrack point, so a hostile pattern cannot blow up.
 */
export function wildcardMatch(pattern: string, text: string, ignoreCase: boolean): boolean {
  const p = ignoreCase ? pattern.toLowerCase() : pattern;
  const t = ignoreCase ? text.toLowerCase() : text;
  let pi = 0;
  let ti = 0;
  let star = -1;
  let mark = 0;
  while (ti < t.length) {
    if (pi < p.length && (p[pi] === "?" || p[pi] === t[ti])) {
      pi++;
      ti++;
    } else if (pi < p.length && p[pi] === "*") {
      star = pi++;
      mark = ti;
    } else if (star !== -1) {
      pi = star + 1;
      ti = ++mark;
    } else {
      return false;
    }
  }
  while (pi < p.length && p[pi] === "*") pi++;
  return pi === p.length;
}

/** ArnLike: the six colon-separated parts match one by one (the last keeps its colons). */
export function arnMatch(pattern: string, arn: string): boolean {
  if (pattern === "*") return true;
  const pp = splitArn(pattern);
  const ap = splitArn(arn);
  if (pp === undefined || ap === undefined) return false;
  return pp.every((part, i) => wildcardMatch(part, ap[i]!, false));
}

function splitArn(value: string): string[] | undefined {
  const parts = value.split(":");
  if (parts.length < 6) return undefined;
  return [...parts.slice(0, 5), parts.slice(5).join(":")];
}

/** ISO 8601 date or date-time, or epoch seconds; undefined when neither. */
export function parseDateValue(value: string): number | undefined {
  if (/^\d+$/.test(value)) return Number(value) * 1000;
  if (!/^\d{4}-\d{2}(-\d{2}([Tt]\d{2}:\d{2}(:\d{2}(\.\d+)?)?([Zz]|[+-]\d{2}(:?\d{2})?)?)?)?$/.test(value)) return undefined;
  const ms = Date.parse(value);
  return Number.isNaN(ms) ? undefined : ms;
}

function toNumber(value: string): number | undefined {
  if (value.trim() === "") return undefined;
  const n = Number(value);
  return Number.isFinite(n) ? n : undefined;
}

// --- IP addresses --------------------------------------------------------------------------

interface Ip {
  bits: 32 | 128;
  value: bigint;
}

/** `address` is inside `cidr` (a bare address is a /32 or /128). IPv4-mapped IPv6 counts as IPv4. */
export function ipInCidr(address: string, cidr: string): boolean {
  const [base = "", prefixText] = cidr.split("/");
  const ip = parseIp(address);
  const net = parseIp(base);
  if (ip === undefined || net === undefined || ip.bits !== net.bits) return false;
  const prefix = prefixText === undefined ? net.bits : Number(prefixText);
  if (!Number.isInteger(prefix) || prefix < 0 || prefix > net.bits) return false;
  const shift = BigInt(net.bits - prefix);
  return ip.value >> shift === net.value >> shift;
}

function parseIp(text: string): Ip | undefined {
  const v4 = parseIpv4(text);
  if (v4 !== undefined) return { bits: 32, value: v4 };
  const v6 = parseIpv6(text);
  if (v6 === undefined) return undefined;
  // ::ffff:a.b.c.d, as node reports IPv4 peers on dual-stack sockets.
  if (v6 >> 32n === 0xffffn) return { bits: 32, value: v6 & 0xffffffffn };
  return { bits: 128, value: v6 };
}

function parseIpv4(text: string): bigint | undefined {
  const parts = text.split(".");
  if (parts.length !== 4) return undefined;
  let value = 0n;
  for (const part of parts) {
    if (!/^\d{1,3}$/.test(part) || Number(part) > 255) return undefined;
    value = (value << 8n) | BigInt(part);
  }
  return value;
}

function parseIpv6(text: string): bigint | undefined {
  const zone = text.indexOf("%");
  const addr = zone === -1 ? text : text.slice(0, zone);
  const halves = addr.split("::");
  if (halves.length > 2) return undefined;
  const groups = (half: string): number[] | undefined => {
    if (half === "") return [];
    const out: number[] = [];
    const parts = half.split(":");
    for (const [i, part] of parts.entries()) {
      if (i === parts.length - 1 && part.includes(".")) {
        const v4 = parseIpv4(part);
        if (v4 === undefined) return undefined;
        out.push(Number(v4 >> 16n), Number(v4 & 0xffffn));
      } else if (/^[0-9a-fA-F]{1,4}$/.test(part)) out.push(parseInt(part, 16));
      else return undefined;
    }
    return out;
  };
  const head = groups(halves[0]!);
  const tail = halves.length === 2 ? groups(halves[1]!) : [];
  if (head === undefined || tail === undefined) return undefined;
  const missing = 8 - head.length - tail.length;
  if ((halves.length === 1 && missing !== 0) || missing < 0 || (halves.length === 2 && missing < 1)) return undefined;
  const all = [...head, ...new Array<number>(halves.length === 2 ? missing : 0).fill(0), ...tail];
  return all.reduce((acc, g) => (acc << 16n) | BigInt(g), 0n);
}
