/**
 * CloudWatch Logs filter patterns, as FilterLogEvents, `aws logs tail --filter-pattern` and Live
 * Tail take them, compiled once into a matcher. Follows AWS's "Filter pattern syntax for metric
 * filters, subscription filters, filter log events, and Live Tail":
 *
 * - empty pattern, or a blank phrase `" "`: every event;
 * - terms: `ERROR ARGUMENTS` (all, case-sensitive substrings), `"exact phrase"`, `-term` (must not
 *   occur), `?a ?b` (any; `?` terms are ignored when plain or `-` terms are present);
 * - standalone regex `%...%` in AWS's subset (no parentheses, a limited character set);
 * - JSON `{ $.a.b[0] = "x*" && ($.n >= 10 || $.f IS TRUE) }`: selectors with `.name`, `[n]`,
 *   `['key']`, one `*` wildcard each; `=`/`!=` against strings (`*` at either end is a wildcard),
 *   numbers or `%regex%`; `< <= > >=` against numbers; `IS NULL|TRUE|FALSE`, `NOT EXISTS`.
 *   Messages that are not JSON never match; a selector on an object or array never matches;
 * - space-delimited `[ip, user, ..., status = 4* || status = 5*, bytes > 1000]`: `"…"` and `[…]`
 *   in the message are one field each; `...` stands for any number of fields; without `...`
 *   the last name takes the rest of the line (so `[w1=ERROR, w2]` matches "ERROR at noon").
 *
 * Pure: no I/O, no eval, no JSONPath library. Bad syntax is BerthError(InvalidParameter).
 */
import { invalidParameter } from "../core/errors.ts";

export interface CompiledFilter {
  matches(message: string): boolean;
  /**
   * FTS5 MATCH expression that selects a superset of the matches, when one exists (terms/phrases
   * only): double-quoted substrings (`""` escapes a quote) joined by AND, or by OR for `?`
   * terms, never both. Every matching message contains them as the operators say, so a trigram
   * index can answer it; strings shorter than three characters are left out of an AND (and make
   * an OR unusable), and exclusions are left out.
   */
  ftsQuery?: string;
}

const bad = (why: string) => invalidParameter(`Invalid filter pattern: ${why}`);

export function compileFilterPattern(pattern: string): CompiledFilter {
  const text = pattern.trim();
  if (text === "") return { matches: () => true };
  if (text.startsWith("{")) return compileJson(text);
  if (text.startsWith("[")) return compileDelimited(text);
  if (text.startsWith("%")) {
    if (text.length < 3 || !text.endsWith("%")) throw bad("a regex must be enclosed in % signs");
    const re = compileRegex(text.slice(1, -1));
    return { matches: (m) => re.test(m) };
  }
  return compileTerms(text);
}

// ---- terms ----

type TermKind = "include" | "exclude" | "optional";

function compileTerms(text: string): CompiledFilter {
  const terms = tokenizeTerms(text);
  const has = (m: string, t: string) => t === "" || m.includes(t);
  // A blank phrase (`" "`) is in every message.
  const of = (kind: TermKind) => terms.filter((t) => t.kind === kind).map((t) => (t.text.trim() === "" ? "" : t.text));
  const [includes, excludes, optionals] = [of("include"), of("exclude"), of("optional")];
  // AWS: "If you combine ? with other filter patterns, all question mark terms will be ignored."
  const plain = includes.length + excludes.length > 0;
  const matches = plain
    ? (m: string) => includes.every((t) => has(m, t)) && !excludes.some((t) => has(m, t))
    : (m: string) => optionals.some((t) => has(m, t));
  const searchable = (t: string) => [...t].length >= 3;
  const quote = (t: string) => `"${t.replaceAll('"', '""')}"`;
  let ftsQuery: string | undefined;
  if (plain) {
    // Leaving a term (or every exclusion) out only widens the AND: still a superset.
    const usable = includes.filter(searchable);
    if (usable.length > 0) ftsQuery = usable.map(quote).join(" AND ");
  } else if (optionals.every(searchable)) {
    ftsQuery = optionals.map(quote).join(" OR ");
  }
  return ftsQuery === undefined ? { matches } : { matches, ftsQuery };
}

function tokenizeTerms(text: string): { kind: TermKind; text: string }[] {
  const out: { kind: TermKind; text: string }[] = [];
  let i = 0;
  while (i < text.length) {
    while (i < text.length && /\s/.test(text[i]!)) i++;
    if (i >= text.length) break;
    let kind: TermKind = "include";
    if (text[i] === "-" || text[i] === "?") {
      kind = text[i] === "-" ? "exclude" : "optional";
      i++;
      while (i < text.length && /\s/.test(text[i]!)) i++;
      if (i >= text.length) throw bad(`'${kind === "exclude" ? "-" : "?"}' must be followed by a term`);
    }
    if (text[i] === '"') {
      const [value, end] = readQuoted(text, i);
      out.push({ kind, text: value });
      i = end;
    } else {
      const start = i;
      while (i < text.length && !/\s/.test(text[i]!)) i++;
      const word = text.slice(start, i);
      if (word.includes('"')) throw bad(`unexpected quote in term ${word}`);
      out.push({ kind, text: word });
    }
  }
  return out;
}

/** Reads a double-quoted string at `start` (\" and \\ escapes); returns its value and the index after it. */
function readQuoted(text: string, start: number): [string, number] {
  let value = "";
  for (let i = start + 1; i < text.length; i++) {
    const c = text[i]!;
    if (c === "\\" && i + 1 < text.length) value += text[++i];
    else if (c === '"') return [value, i + 1];
    else value += c;
  }
  throw bad("unterminated quoted string");
}

// ---- regex (AWS's subset) ----

const REGEX_SYMBOLS = new Set([..."^$?[]{}|\\*+.:_#=@/;,- "]);

/** Translates AWS's regex subset to a JavaScript RegExp, rejecting what AWS rejects. */
function compileRegex(body: string): RegExp {
  if (body === "") throw bad("empty regex");
  let out = "";
  let inClass = false;
  for (let i = 0; i < body.length; i++) {
    const c = body[i]!;
    if (c === "\\") {
      const next = body[i + 1];
      if (next === undefined) throw bad("regex ends with an escape");
      if (next === "x") {
        const hex = body.slice(i + 2, i + 4);
        if (!/^[0-9A-Fa-f]{2}$/.test(hex)) throw bad("\\x needs two hexadecimal digits");
        out += `\\x${hex}`;
        i += 3;
      } else if ("dDsSwW".includes(next) || /[ -/:-@[-`{-~]/.test(next)) {
        out += `\\${next}`;
        i++;
      } else throw bad(`unsupported regex escape \\${next}`);
    } else if (c === "(" || c === ")") {
      throw bad("parentheses are not supported in a regex");
    } else if (c.charCodeAt(0) > 0x7e) {
      throw bad("multi-byte characters are not supported in a regex");
    } else if (!/[A-Za-z0-9]/.test(c) && !REGEX_SYMBOLS.has(c)) {
      throw bad(`'${c}' is not supported in a regex`);
    } else if (c === "[" && !inClass) {
      inClass = true;
      out += c;
    } else if (c === "]" && inClass) {
      inClass = false;
      out += c;
    } else if (c === "{" && !inClass) {
      const close = body.indexOf("}", i);
      const bounds = close < 0 ? null : /^\s*(\d*)\s*(,?)\s*(\d*)\s*$/.exec(body.slice(i + 1, close));
      if (!bounds || (bounds[1] === "" && bounds[3] === "")) throw bad("a regex quantifier is {m,n}, {m,} or {,n}");
      out += `{${bounds[1] || "0"}${bounds[2]}${bounds[3]}}`;
      i = close;
    } else out += c;
  }
  try {
    return new RegExp(out);
  } catch (error) {
    throw bad(`invalid regex %${body}%: ${(error as Error).message}`);
  }
}

// ---- JSON and space-delimited expressions ----

type Op = "=" | "!=" | "<" | "<=" | ">" | ">=";
type Literal =
  | { kind: "any" }
  | { kind: "num"; value: number; text: string }
  | { kind: "str"; test: (s: string) => boolean }
  | { kind: "re"; re: RegExp };
type Segment = { key: string } | { index: number } | { wild: true };
type Test =
  | { kind: "cmp"; op: Op; literal: Literal }
  | { kind: "is"; value: null | boolean }
  | { kind: "notExists" };
type Expr<C> = { and: Expr<C>[] } | { or: Expr<C>[] } | { cond: C };

function evaluate<C>(expr: Expr<C>, test: (cond: C) => boolean): boolean {
  if ("and" in expr) return expr.and.every((e) => evaluate(e, test));
  if ("or" in expr) return expr.or.some((e) => evaluate(e, test));
  return test(expr.cond);
}

const NUMBER = /^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/;

/** `*` at the start and/or end is a wildcard; one in the middle is literal (AWS: "Ev*ent"). */
function wildcard(text: string): Literal {
  if (/^\*+$/.test(text)) return { kind: "any" };
  const starts = text.startsWith("*");
  const ends = text.endsWith("*");
  const core = text.replace(/^\*+/, "").replace(/\*+$/, "");
  if (starts && ends) return { kind: "str", test: (s) => s.includes(core) };
  if (starts) return { kind: "str", test: (s) => s.endsWith(core) };
  if (ends) return { kind: "str", test: (s) => s.startsWith(core) };
  return { kind: "str", test: (s) => s === text };
}

/** A cursor-driven parser shared by JSON (`{…}`) and space-delimited (`[…]`) patterns. */
class PatternParser {
  i = 0;
  regexes = 0;
  wildcards = 0;
  constructor(
    readonly s: string,
    readonly delimited: boolean,
  ) {}

  ws(): void {
    while (this.i < this.s.length && /\s/.test(this.s[this.i]!)) this.i++;
  }
  eat(token: string): boolean {
    this.ws();
    if (!this.s.startsWith(token, this.i)) return false;
    this.i += token.length;
    return true;
  }
  atEnd(): boolean {
    this.ws();
    return this.i >= this.s.length;
  }
  fail(what: string): never {
    const near = this.s.slice(this.i, this.i + 20);
    throw bad(near === "" ? `${what} at the end` : `${what} near '${near}'`);
  }

  /** or := and ('||' and)* ; and := primary ('&&' primary)* ; primary := '(' or ')' | condition */
  parseOr<C>(condition: () => C): Expr<C> {
    const parts = [this.parseAnd(condition)];
    while (this.eat("||")) parts.push(this.parseAnd(condition));
    return parts.length === 1 ? parts[0]! : { or: parts };
  }
  parseAnd<C>(condition: () => C): Expr<C> {
    const parts = [this.parsePrimary(condition)];
    while (this.eat("&&")) parts.push(this.parsePrimary(condition));
    return parts.length === 1 ? parts[0]! : { and: parts };
  }
  parsePrimary<C>(condition: () => C): Expr<C> {
    if (!this.eat("(")) return { cond: condition() };
    const inner = this.parseOr(condition);
    if (!this.eat(")")) this.fail("expected ')'");
    return inner;
  }

  parseOp(): Op {
    for (const op of ["!=", ">=", "<=", "=", "<", ">"] as const) if (this.eat(op)) return op;
    return this.fail("expected a comparison operator");
  }

  parseLiteral(op: Op): Literal {
    this.ws();
    const ordering = op !== "=" && op !== "!=";
    if (this.s[this.i] === "%") {
      if (ordering) this.fail(`a regex cannot be compared with ${op}`);
      let end = this.i + 1;
      while (end < this.s.length && this.s[end] !== "%") end += this.s[end] === "\\" ? 2 : 1;
      if (end >= this.s.length) this.fail("unterminated regex");
      if (++this.regexes > 2) throw bad("at most 2 regular expressions are allowed in a pattern");
      const re = compileRegex(this.s.slice(this.i + 1, end));
      this.i = end + 1;
      return { kind: "re", re };
    }
    let text: string;
    const quoted = this.s[this.i] === '"';
    if (quoted) [text, this.i] = readQuoted(this.s, this.i);
    else {
      // An unquoted value runs to whitespace, a parenthesis, && or || (and , or ] between fields).
      const word = this.delimited ? /(?:(?!&&|\|\|)[^\s()",\]])+/y : /(?:(?!&&|\|\|)[^\s()"])+/y;
      word.lastIndex = this.i;
      text = word.exec(this.s)?.[0] ?? "";
      if (text === "" || /^[=<>!]/.test(text)) this.fail("expected a value");
      this.i += text.length;
    }
    if (!quoted && NUMBER.test(text)) return { kind: "num", value: Number(text), text };
    if (ordering) this.fail(`${op} needs a number`);
    return wildcard(text);
  }

  /** `$` followed by `.name`, `.*`, `[n]`, `[*]` and `['key']` (also written `.['key']`). */
  parseSelector(): Segment[] {
    if (!this.eat("$")) this.fail("expected a selector starting with $");
    const segment = /\.\*|\.([\p{L}\p{N}_-]+)|\.?\[(?:(\*)|(\d+)|'([^']*)'|"([^"]*)")\]/uy;
    const path: Segment[] = [];
    for (;;) {
      segment.lastIndex = this.i;
      const m = segment.exec(this.s);
      if (!m) break;
      this.i += m[0].length;
      const [whole, name, star, index, single, double] = m;
      if (whole === ".*" || star !== undefined) path.push({ wild: true });
      else if (index !== undefined) path.push({ index: Number(index) });
      else path.push({ key: name ?? single ?? double ?? "" });
    }
    if (path.length === 0) this.fail("expected a property after $");
    const wild = path.filter((seg) => "wild" in seg).length;
    if (wild > 1) this.fail("only one wildcard is allowed in a selector");
    if ((this.wildcards += wild) > 3) throw bad("at most 3 wildcard selectors are allowed in a pattern");
    return path;
  }
}

// ---- JSON ----

type JsonCond = { path: Segment[]; test: Test };
type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

function compileJson(text: string): CompiledFilter {
  if (!text.endsWith("}")) throw bad("a JSON pattern must end with }");
  const p = new PatternParser(text.slice(1, -1), false);
  if (p.atEnd()) throw bad("empty JSON pattern");
  const expr = p.parseOr((): JsonCond => {
    const path = p.parseSelector();
    p.ws();
    const rest = p.s.slice(p.i);
    const is = /^IS\s+(NULL|TRUE|FALSE)\b/i.exec(rest);
    const notExists = /^NOT\s+EXISTS\b/i.exec(rest);
    if (/^(IS\s+NOT|EXISTS)\b/i.test(rest)) p.fail("IS NOT and EXISTS are not supported");
    if (is) {
      p.i += is[0].length;
      const word = is[1]!.toUpperCase();
      return { path, test: { kind: "is", value: word === "NULL" ? null : word === "TRUE" } };
    }
    if (notExists) {
      p.i += notExists[0].length;
      return { path, test: { kind: "notExists" } };
    }
    const op = p.parseOp();
    return { path, test: { kind: "cmp", op, literal: p.parseLiteral(op) } };
  });
  if (!p.atEnd()) p.fail("unexpected text");
  return {
    matches(message) {
      const doc = parseJson(message);
      if (doc === undefined) return false;
      return evaluate(expr, (c) => testJson(select(doc, c.path), c.test));
    },
  };
}

function parseJson(message: string): Json | undefined {
  const t = message.trim();
  if (!t.startsWith("{") && !t.startsWith("[")) return undefined;
  try {
    return JSON.parse(t) as Json;
  } catch {
    return undefined;
  }
}

function select(doc: Json, path: Segment[]): Json[] {
  let nodes: Json[] = [doc];
  for (const seg of path) {
    const next: Json[] = [];
    for (const node of nodes) {
      if (node === null || typeof node !== "object") continue;
      if ("wild" in seg) next.push(...Object.values(node));
      else if ("index" in seg) {
        if (Array.isArray(node) && seg.index < node.length) next.push(node[seg.index]!);
      } else if (!Array.isArray(node) && Object.hasOwn(node, seg.key)) next.push(node[seg.key]!);
    }
    nodes = next;
  }
  return nodes;
}

/** A condition holds when any selected node satisfies it (several only under a wildcard). */
function testJson(nodes: Json[], test: Test): boolean {
  if (test.kind === "notExists") return nodes.length === 0;
  if (test.kind === "is") return nodes.some((n) => n === test.value);
  return nodes.some((node) => {
    if (node !== null && typeof node === "object") return false; // selectors must reach a value node
    const { op, literal } = test;
    if (op !== "=" && op !== "!=") return typeof node === "number" && literal.kind === "num" && order(node, op, literal.value);
    return equalsLiteral(node, literal) === (op === "=");
  });
}

function equalsLiteral(value: string | number | boolean | null, literal: Literal): boolean {
  switch (literal.kind) {
    case "any":
      return true;
    case "num":
      return typeof value === "number" ? value === literal.value : typeof value === "string" && value === literal.text;
    case "str":
      return value !== null && literal.test(String(value));
    case "re":
      return value !== null && literal.re.test(String(value));
  }
}

function order(a: number, op: Op, b: number): boolean {
  return op === "<" ? a < b : op === "<=" ? a <= b : op === ">" ? a > b : a >= b;
}

// ---- space-delimited ----

type FieldCond = { name: string; op: Op; literal: Literal };
type Slot = { ellipsis: true } | { name: string | undefined; expr: Expr<FieldCond> | undefined };

function compileDelimited(text: string): CompiledFilter {
  if (!text.endsWith("]")) throw bad("a space-delimited pattern must end with ]");
  const p = new PatternParser(text.slice(1, -1), true);
  const slots: Slot[] = [];
  const referenced: string[] = [];
  const condition = (): FieldCond => {
    p.ws();
    const m = /[A-Za-z_][A-Za-z0-9_]*/y;
    m.lastIndex = p.i;
    const name = m.exec(p.s)?.[0] ?? p.fail("expected a field name");
    p.i += name.length;
    referenced.push(name);
    const op = p.parseOp();
    return { name, op, literal: p.parseLiteral(op) };
  };
  do {
    if (p.eat("...")) slots.push({ ellipsis: true });
    else if (p.atEnd() || p.s[p.i] === ",") slots.push({ name: undefined, expr: undefined });
    else {
      const start = p.i;
      const plain = /([A-Za-z_][A-Za-z0-9_]*)\s*(?=,|$)/y;
      plain.lastIndex = start;
      const named = plain.exec(p.s);
      if (named) {
        slots.push({ name: named[1], expr: undefined });
        p.i += named[0].length;
      } else {
        const first = referenced.length;
        const expr = p.parseOr(condition);
        slots.push({ name: referenced[first], expr });
      }
    }
  } while (p.eat(","));
  if (!p.atEnd()) p.fail("expected ',' or ']'");
  const names = slots.flatMap((s) => ("name" in s && s.name !== undefined ? [s.name] : []));
  const duplicate = names.find((n, k) => names.indexOf(n) !== k);
  if (duplicate) throw bad(`field ${duplicate} is named twice`);
  const unknown = referenced.find((n) => !names.includes(n));
  if (unknown) throw bad(`condition on ${unknown}, which is not a field of the pattern`);
  const conds = slots.flatMap((s) => ("expr" in s && s.expr ? [s.expr] : []));
  return {
    matches(message) {
      const accept = (bound: Map<string, string>) => conds.every((e) => evaluate(e, (c) => testField(bound.get(c.name), c)));
      return anyAssignment(slots, splitFields(message), message, accept);
    },
  };
}

interface Field {
  value: string;
  start: number;
}

/** A `"quoted"` or `[bracketed]` run followed by whitespace is one field (without its quotes or brackets). */
const FIELD = /"((?:[^"\\]|\\.)*)"(?=\s|$)|\[([^\]]*)\](?=\s|$)|\S+/g;

function splitFields(message: string): Field[] {
  return [...message.matchAll(FIELD)].map((m) => ({ value: m[1] ?? m[2] ?? m[0], start: m.index }));
}

/**
 * Whether some way of giving the message's fields to the pattern's slots satisfies `accept`.
 * Without `...` there is one way: slot k takes field k and the last slot takes the rest of the
 * line; each `...` takes any number of fields (tried shortest first).
 */
function anyAssignment(slots: Slot[], fields: Field[], message: string, accept: (bound: Map<string, string>) => boolean): boolean {
  const bind = (bound: Map<string, string>, slot: Slot, value: string) => {
    if ("name" in slot && slot.name !== undefined) bound.set(slot.name, value);
  };
  if (!slots.some((s) => "ellipsis" in s)) {
    if (fields.length < slots.length) return false;
    const bound = new Map<string, string>();
    slots.forEach((slot, k) => {
      const rest = k === slots.length - 1 && fields.length > slots.length;
      bind(bound, slot, rest ? message.slice(fields[k]!.start).trimEnd() : fields[k]!.value);
    });
    return accept(bound);
  }
  const walk = (si: number, fi: number, bound: Map<string, string>): boolean => {
    if (si === slots.length) return fi === fields.length && accept(bound);
    const slot = slots[si]!;
    if ("ellipsis" in slot) {
      for (let take = 0; fi + take <= fields.length; take++) if (walk(si + 1, fi + take, bound)) return true;
      return false;
    }
    if (fi >= fields.length) return false;
    const next = new Map(bound);
    bind(next, slot, fields[fi]!.value);
    return walk(si + 1, fi + 1, next);
  };
  return walk(0, 0, new Map());
}

function testField(value: string | undefined, cond: FieldCond): boolean {
  if (value === undefined) return false;
  const { op, literal } = cond;
  const n = NUMBER.test(value) ? Number(value) : undefined;
  if (op !== "=" && op !== "!=") return n !== undefined && literal.kind === "num" && order(n, op, literal.value);
  const equal =
    literal.kind === "num" ? (n !== undefined ? n === literal.value : value === literal.text) : equalsLiteral(value, literal);
  return equal === (op === "=");
}
