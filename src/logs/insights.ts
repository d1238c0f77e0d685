/**
 * A CloudWatch Logs Insights subset: parse a query string once, then run it over events.
 *
 * Commands, separated by `|`: `fields a, f(b) as c`, `filter`, `parse <field> "glob * pattern"
 * as x, y` or `parse <field> /(?<x>regex)/`, `stats agg(...) [as n], ... [by f, bin(5m), ...]`
 * (count, count_distinct, sum, avg, min, max, stddev, pct), `sort [by] key [asc|desc], ...`,
 * `limit n`, `display`. Expressions: `= != < <= > >=`, `like "substring"`, `like /re/`,
 * `=~ /re/`, `[not] in [...]`, `and`, `or`, `not`, parentheses, and a few functions (ispresent,
 * isempty, isblank, coalesce, concat, strlen, toupper, tolower, abs, floor, ceil, bin,
 * datefloor). Values compare as numbers when one side is a number and the other converts, else
 * as strings; a comparison with a missing field is false (so `not` of it is true).
 *
 * Fields: @timestamp, @message, @logStream, @log, @ingestionTime, @ptr, and the keys of JSON
 * object messages flattened with dots (`a.b`, `list.0`). Rows list the requested fields in
 * order, leaving out those a record lacks; without stats they come newest first, end with @ptr,
 * and number 1,000 by default and 10,000 at most. A stats column is named by its alias or by
 * its text as written (`count()`), after the `by` columns.
 *
 * Pure: no I/O, no clock. A query that cannot be parsed is BerthError(MalformedQuery).
 */
import { BerthError, ErrorCode } from "../core/errors.ts";

export interface InsightsEvent {
  timestamp: number;
  message: string;
  logStream: string;
  /** The `@log` value as AWS shows it, `<accountId>:<logGroupName>`. */
  logGroup: string;
  ingestionTime?: number;
}

export interface InsightsResult {
  rows: { field: string; value: string }[][];
  recordsMatched: number;
  recordsScanned: number;
}

/** A parsed query; opaque to callers, who hand it back to runInsightsQuery. */
export interface InsightsQuery {
  readonly queryString: string;
  readonly commands: readonly Command[];
}

const DEFAULT_LIMIT = 1000;
const MAX_LIMIT = 10_000;

/** A timestamp; rendered the way Insights shows @timestamp. */
class Time {
  constructor(readonly ms: number) {}
}
type Value = string | number | boolean | Time;
type Expr =
  | { k: "field"; name: string }
  | { k: "lit"; v: Value }
  | { k: "call"; fn: string; args: Expr[] }
  | { k: "cmp"; op: CmpOp; l: Expr; r: Expr }
  | { k: "like"; target: Expr; pattern: string | RegExp }
  | { k: "in"; target: Expr; list: Expr[] }
  | { k: "and" | "or"; parts: Expr[] }
  | { k: "not"; e: Expr };
type CmpOp = "=" | "!=" | "<" | "<=" | ">" | ">=";
interface Named {
  name: string;
  expr: Expr;
}
type Command =
  | { k: "fields"; items: Named[] }
  | { k: "display"; names: string[] }
  | { k: "filter"; expr: Expr }
  | { k: "parse"; source: Expr; re: RegExp; names: string[] }
  | { k: "stats"; aggs: (Named & { fn: string; args: Expr[] })[]; by: Named[] }
  | { k: "sort"; keys: (Named & { desc: boolean })[] }
  | { k: "limit"; n: number };

const AGGREGATES = new Set(["count", "count_distinct", "sum", "avg", "min", "max", "stddev", "pct"]);
const FUNCTIONS: Record<string, (a: (Value | undefined)[], row: Row) => Value | undefined> = {
  ispresent: ([v]) => v !== undefined,
  isempty: ([v]) => v === undefined || render(v) === "",
  isblank: ([v]) => v === undefined || render(v).trim() === "",
  coalesce: (a) => a.find((v) => v !== undefined),
  concat: (a) => a.map((v) => (v === undefined ? "" : render(v))).join(""),
  strlen: ([v]) => (v === undefined ? undefined : [...render(v)].length),
  toupper: ([v]) => (v === undefined ? undefined : render(v).toUpperCase()),
  tolower: ([v]) => (v === undefined ? undefined : render(v).toLowerCase()),
  abs: ([v]) => mapNum(v, Math.abs),
  floor: ([v]) => mapNum(v, Math.floor),
  ceil: ([v]) => mapNum(v, Math.ceil),
  bin: ([period], row) => floorTime(row.get("@timestamp"), period),
  datefloor: ([t, period]) => floorTime(t, period),
};

// ---- lexer ----

type TokenKind = "id" | "name" | "num" | "dur" | "str" | "re" | "op" | "end";
interface Token {
  t: TokenKind;
  v: string;
  at: number;
  end: number;
}
const TOKEN_RE =
  /\s+|#[^\n]*|(?<name>`[^`]*`)|(?<id>[A-Za-z_@$][\w@$.]*)|(?<num>-?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?)(?<unit>[A-Za-z]+)?|(?<str>"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*')|(?<re>\/(?:[^/\\\n]|\\.)*\/)|(?<op>!=|<=|>=|=~|[|,()[\]=<>*])/y;

function lex(query: string): Token[] {
  const tokens: Token[] = [];
  for (let at = 0; at < query.length; ) {
    TOKEN_RE.lastIndex = at;
    const m = TOKEN_RE.exec(query);
    if (!m) throw malformed(query, at, "unexpected symbol");
    const g = m.groups!;
    const end = at + m[0].length;
    const push = (t: TokenKind, v: string) => tokens.push({ t, v, at, end });
    if (g.name !== undefined) push("name", g.name.slice(1, -1));
    else if (g.id !== undefined) push("id", g.id);
    else if (g.num !== undefined) push(g.unit === undefined ? "num" : "dur", m[0]);
    else if (g.str !== undefined) push("str", g.str.slice(1, -1).replace(/\\(.)/g, "$1"));
    else if (g.re !== undefined) push("re", g.re.slice(1, -1));
    else if (g.op !== undefined) push("op", g.op);
    at = end;
  }
  tokens.push({ t: "end", v: "", at: query.length, end: query.length });
  return tokens;
}

function malformed(query: string, at: number, what: string, end = at + 1): BerthError {
  if (at >= query.trimEnd().length) return new BerthError(ErrorCode.MalformedQuery, `${what} at the end of the query`);
  const lines = query.slice(0, at).split("\n");
  const near = query.slice(at, Math.min(end, at + 40));
  const where = `line ${lines.length} and position ${lines.at(-1)!.length + 1}`;
  return new BerthError(ErrorCode.MalformedQuery, `${what}: unexpected '${near}' at ${where}`);
}

// ---- parser ----

export function parseInsightsQuery(query: string): InsightsQuery {
  return { queryString: query, commands: new Parser(query).commands() };
}

const COMMANDS = ["fields", "display", "filter", "parse", "stats", "sort", "limit"];
const KEYWORDS = ["and", "or", "not", "as", "by", "in", "like", "asc", "desc"];

/** Recursive descent over the tokens; every error names the token where parsing stopped. */
class Parser {
  private readonly tokens: Token[];
  private pos = 0;
  constructor(private readonly query: string) {
    this.tokens = lex(query);
  }

  private peek(ahead = 0): Token {
    return this.tokens[Math.min(this.pos + ahead, this.tokens.length - 1)]!;
  }
  private next(): Token {
    const tok = this.peek();
    if (tok.t !== "end") this.pos++;
    return tok;
  }
  private fail(what: string, tok = this.peek()): never {
    throw malformed(this.query, tok.at, what, tok.end);
  }
  private isWord(word: string, tok = this.peek()): boolean {
    return tok.t === "id" && tok.v.toLowerCase() === word;
  }
  private isOp(op: string, tok = this.peek()): boolean {
    return tok.t === "op" && tok.v === op;
  }
  private eatWord(word: string): boolean {
    if (!this.isWord(word)) return false;
    this.pos++;
    return true;
  }
  private eatOp(op: string): boolean {
    if (!this.isOp(op)) return false;
    this.pos++;
    return true;
  }
  private expectOp(op: string): void {
    if (!this.eatOp(op)) this.fail(`expected '${op}'`);
  }
  /** The query text from token `start` to the last token read, as the user wrote it. */
  private textSince(start: number): string {
    return this.query.slice(this.tokens[start]!.at, this.tokens[this.pos - 1]!.end).trim();
  }
  private list<T>(item: () => T): T[] {
    const out = [item()];
    while (this.eatOp(",")) out.push(item());
    return out;
  }

  commands(): Command[] {
    const out: Command[] = [];
    while (this.peek().t !== "end") {
      if (out.length > 0) this.expectOp("|");
      out.push(this.command());
    }
    return out;
  }

  private command(): Command {
    const tok = this.next();
    const word = tok.t === "id" ? tok.v.toLowerCase() : "";
    if (!COMMANDS.includes(word)) this.fail(`expected one of ${COMMANDS.join(", ")}`, tok);
    switch (word) {
      case "fields":
        return { k: "fields", items: this.list(() => this.named(true)) };
      case "display":
        return { k: "display", names: this.list(() => this.fieldName()) };
      case "filter":
        return { k: "filter", expr: this.noAggregates(this.expr()) };
      case "parse":
        return this.parseCommand();
      case "stats":
        return this.statsCommand();
      case "sort": {
        // `sort by count() desc` reads as `sort count() desc` (unless a field is named `by`).
        const after = this.peek(1);
        if (this.isWord("by") && after.t !== "end" && !this.isOp(",", after) && !this.isOp("|", after) && !this.isWord("asc", after) && !this.isWord("desc", after)) this.pos++;
        return { k: "sort", keys: this.list(() => ({ ...this.named(false), desc: this.direction() })) };
      }
      default: {
        const n = this.next();
        const value = Number(n.v);
        if (n.t !== "num" || !Number.isInteger(value) || value < 1 || value > MAX_LIMIT) this.fail(`limit takes a whole number from 1 to ${MAX_LIMIT}`, n);
        return { k: "limit", n: value };
      }
    }
  }

  private direction(): boolean {
    if (this.eatWord("desc")) return true;
    this.eatWord("asc");
    return false;
  }

  private fieldName(): string {
    const tok = this.next();
    if (tok.t !== "name" && (tok.t !== "id" || KEYWORDS.includes(tok.v.toLowerCase()))) this.fail("expected a field name", tok);
    return tok.v;
  }

  /** `expr [as alias]`; unnamed, a field keeps its name and anything else is its text as written. */
  private named(aliases: boolean): Named {
    const start = this.pos;
    const expr = aliases ? this.noAggregates(this.expr()) : this.expr();
    const name = expr.k === "field" ? expr.name : this.textSince(start);
    return { name: aliases && this.eatWord("as") ? this.fieldName() : name, expr };
  }

  /** `parse [field] "glob with * wildcards" as a, b` or `parse [field] /(?<name>regex)/`. */
  private parseCommand(): Command {
    const first = this.peek();
    const source: Expr = first.t === "str" || first.t === "re" ? { k: "field", name: "@message" } : this.operand();
    const tok = this.next();
    if (tok.t === "re") {
      const names = [...tok.v.matchAll(/\(\?<([A-Za-z_]\w*)>/g)].map((m) => m[1]!);
      if (names.length === 0) this.fail("a parse regex needs named groups such as (?<name>...)", tok);
      return { k: "parse", source, re: toRegExp(tok.v), names };
    }
    if (tok.t !== "str") this.fail('parse takes a "glob * pattern" or a /regex/', tok);
    // Each * captures as little as it can, except a final one, which takes the rest.
    const pieces = tok.v.split("*").map((p) => p.replace(/[.*+?^${}()|[\]\\/]/g, "\\$&"));
    const regex = pieces.map((p, i) => (i === 0 ? p : (i === pieces.length - 1 && p === "" ? "(.*)" : "(.*?)") + p));
    if (!this.eatWord("as")) this.fail("expected 'as' and the names of the parsed fields");
    const at = this.peek();
    const names = this.list(() => this.fieldName());
    if (names.length !== pieces.length - 1) this.fail(`the pattern has ${pieces.length - 1} '*' but ${names.length} names follow 'as'`, at);
    return { k: "parse", source, re: new RegExp(regex.join("")), names };
  }

  private statsCommand(): Command {
    const aggs = this.list(() => {
      const start = this.pos;
      const at = this.peek();
      const expr = this.operand();
      if (expr.k !== "call" || !AGGREGATES.has(expr.fn)) this.fail(`stats takes aggregate functions (${[...AGGREGATES].join(", ")})`, at);
      if (expr.fn === "pct" && (expr.args.length !== 2 || expr.args[1]!.k !== "lit")) this.fail("pct takes a field and a percentile", at);
      const name = this.textSince(start);
      return { fn: expr.fn, args: expr.args, expr, name: this.eatWord("as") ? this.fieldName() : name };
    });
    return { k: "stats", aggs, by: this.eatWord("by") ? this.list(() => this.named(true)) : [] };
  }

  private noAggregates(e: Expr): Expr {
    const visit = (x: Expr): void => {
      if (x.k === "call" && AGGREGATES.has(x.fn)) throw new BerthError(ErrorCode.MalformedQuery, `${x.fn}() can only be used in stats`);
      if (x.k === "call") x.args.forEach(visit);
      else if (x.k === "cmp") [x.l, x.r].forEach(visit);
      else if (x.k === "and" || x.k === "or") x.parts.forEach(visit);
      else if (x.k === "not") visit(x.e);
      else if (x.k === "like") visit(x.target);
      else if (x.k === "in") [x.target, ...x.list].forEach(visit);
    };
    visit(e);
    return e;
  }

  /** or := and ('or' and)* ; and := not ('and' not)* ; not := 'not' not | predicate */
  private expr(): Expr {
    const parts = [this.andExpr()];
    while (this.eatWord("or")) parts.push(this.andExpr());
    return parts.length === 1 ? parts[0]! : { k: "or", parts };
  }
  private andExpr(): Expr {
    const parts = [this.notExpr()];
    while (this.eatWord("and")) parts.push(this.notExpr());
    return parts.length === 1 ? parts[0]! : { k: "and", parts };
  }
  private notExpr(): Expr {
    return this.eatWord("not") ? { k: "not", e: this.notExpr() } : this.predicate();
  }

  /** operand [cmp operand | [not] like "s"|/re/ | =~ /re/ | [not] in [a, b]] */
  private predicate(): Expr {
    const l = this.operand();
    const negated = this.isWord("not") && (this.isWord("like", this.peek(1)) || this.isWord("in", this.peek(1)));
    if (negated) this.pos++;
    let e: Expr;
    if (this.eatWord("like") || this.eatOp("=~")) {
      const tok = this.next();
      if (tok.t !== "str" && tok.t !== "re") this.fail('like takes a "string" or a /regex/', tok);
      e = { k: "like", target: l, pattern: tok.t === "str" ? tok.v : toRegExp(tok.v) };
    } else if (this.eatWord("in")) {
      this.expectOp("[");
      const list = this.isOp("]") ? [] : this.list(() => this.operand());
      this.expectOp("]");
      e = { k: "in", target: l, list };
    } else {
      const tok = this.peek();
      if (tok.t !== "op" || !["=", "!=", "<", "<=", ">", ">="].includes(tok.v)) return l;
      this.pos++;
      return { k: "cmp", op: tok.v as CmpOp, l, r: this.operand() };
    }
    return negated ? { k: "not", e } : e;
  }

  /** ( expr ) | number | "string" | 5m | `field` | field | fn(args) | count(*) */
  private operand(): Expr {
    const tok = this.next();
    if (this.isOp("(", tok)) {
      const inner = this.expr();
      this.expectOp(")");
      return inner;
    }
    if (tok.t === "num") return { k: "lit", v: Number(tok.v) };
    if (tok.t === "str") return { k: "lit", v: tok.v };
    if (tok.t === "name") return { k: "field", name: tok.v };
    if (tok.t === "dur") return { k: "lit", v: duration(tok.v) ?? this.fail("unknown time unit (use ms, s, m, h, d or w)", tok) };
    if (tok.t !== "id" || KEYWORDS.includes(tok.v.toLowerCase())) return this.fail("expected a field or a value", tok);
    if (!this.eatOp("(")) return { k: "field", name: tok.v };
    const fn = tok.v.toLowerCase();
    if (!AGGREGATES.has(fn) && !(fn in FUNCTIONS)) this.fail("unknown function", tok);
    let args: Expr[] = [];
    if (this.eatOp("*")) args = [];
    else if (!this.isOp(")")) args = this.list(() => this.expr());
    this.expectOp(")");
    return { k: "call", fn, args };
  }
}

function toRegExp(source: string): RegExp {
  // Insights writes case-insensitivity inline, `(?i)`; JavaScript spells it as a flag.
  const caseless = source.includes("(?i)");
  try {
    return new RegExp(source.replaceAll("(?i)", ""), caseless ? "i" : "");
  } catch (error) {
    throw new BerthError(ErrorCode.MalformedQuery, `invalid regular expression /${source}/: ${(error as Error).message}`);
  }
}

const UNITS: Record<string, number> = { ms: 1, s: 1e3, m: 6e4, h: 36e5, d: 864e5, w: 6048e5 };

function duration(text: string): number | undefined {
  const m = /^(\d+)([a-z]+)$/.exec(text);
  const unit = m ? UNITS[m[2]!] : undefined;
  return m && unit !== undefined ? Number(m[1]) * unit : undefined;
}

// ---- values ----

function render(v: Value): string {
  if (v instanceof Time) return new Date(v.ms).toISOString().replace("T", " ").replace("Z", "");
  return String(v);
}
function toNum(v: Value | undefined): number | undefined {
  if (v instanceof Time) return v.ms;
  if (typeof v === "number") return v;
  if (typeof v !== "string" || v.trim() === "") return undefined;
  const n = Number(v);
  return Number.isFinite(n) ? n : undefined;
}
function mapNum(v: Value | undefined, f: (n: number) => number): number | undefined {
  const n = toNum(v);
  return n === undefined ? undefined : f(n);
}
function floorTime(t: Value | undefined, period: Value | undefined): Time | undefined {
  const ms = toNum(t);
  const p = toNum(period);
  return ms === undefined || p === undefined || p <= 0 ? undefined : new Time(Math.floor(ms / p) * p);
}
/** Numbers compare as numbers when one side is numeric and the other converts; else as strings. */
function compare(a: Value, b: Value): number {
  const numeric = typeof a === "number" || a instanceof Time || typeof b === "number" || b instanceof Time;
  const [x, y] = [toNum(a), toNum(b)];
  if (numeric && x !== undefined && y !== undefined) return x - y;
  const [s, t] = [render(a), render(b)];
  return s < t ? -1 : s > t ? 1 : 0;
}
function truthy(v: Value | undefined): boolean {
  return v !== undefined && v !== false && v !== 0 && v !== "";
}

// ---- rows ----

interface Row {
  get(name: string): Value | undefined;
  set(name: string, v: Value | undefined): void;
}

function eventRow(ev: InsightsEvent, ordinal: number): Row {
  const derived = new Map<string, Value>();
  let json: Map<string, Value> | undefined;
  const builtin = (name: string): Value | undefined => {
    switch (name) {
      case "@timestamp":
        return new Time(ev.timestamp);
      case "@message":
        return ev.message;
      case "@logStream":
        return ev.logStream;
      case "@log":
        return ev.logGroup;
      case "@ingestionTime":
        return ev.ingestionTime === undefined ? undefined : new Time(ev.ingestionTime);
      case "@ptr":
        return pointer(ev, ordinal);
    }
    return undefined;
  };
  return {
    get(name) {
      if (derived.has(name)) return derived.get(name);
      const value = name.startsWith("@") ? builtin(name) : undefined;
      if (value !== undefined) return value;
      json ??= flattenJson(ev.message);
      return json.get(name);
    },
    set(name, v) {
      if (v === undefined) derived.delete(name);
      else derived.set(name, v);
    },
  };
}

function mapRow(values: Map<string, Value>): Row {
  const squash = (s: string) => s.replace(/\s+/g, "");
  return {
    get(name) {
      if (values.has(name)) return values.get(name);
      for (const [key, v] of values) if (squash(key) === squash(name)) return v;
      return undefined;
    },
    set(name, v) {
      if (v === undefined) values.delete(name);
      else values.set(name, v);
    },
  };
}

/** Keys of a JSON object message, nested keys joined with dots (`a.b`, `list.0`); nulls skipped. */
function flattenJson(message: string): Map<string, Value> {
  const out = new Map<string, Value>();
  const text = message.trim();
  if (!text.startsWith("{")) return out;
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch {
    return out;
  }
  const walk = (v: unknown, path: string): void => {
    if (v === null || v === undefined) return;
    if (typeof v === "object") for (const [k, child] of Object.entries(v)) walk(child, path === "" ? k : `${path}.${k}`);
    else if (typeof v === "string" || typeof v === "number" || typeof v === "boolean") out.set(path, v);
  };
  walk(doc, "");
  return out;
}

/** An opaque, per-result unique record pointer (FNV-1a over the event's identity). */
function pointer(ev: InsightsEvent, ordinal: number): string {
  const text = `${ev.logGroup}\n${ev.logStream}\n${ev.timestamp}\n${ordinal}`;
  let [h1, h2] = [0x811c9dc5, 0x01000193 ^ ordinal];
  for (let i = 0; i < text.length; i++) {
    h1 = Math.imul(h1 ^ text.charCodeAt(i), 0x01000193) >>> 0;
    h2 = Math.imul(h2 ^ text.charCodeAt(i), 0x5bd1e995) >>> 0;
  }
  return h1.toString(16).padStart(8, "0") + h2.toString(16).padStart(8, "0");
}

// ---- evaluation ----

function evaluate(e: Expr, row: Row): Value | undefined {
  switch (e.k) {
    case "field":
      return row.get(e.name);
    case "lit":
      return e.v;
    case "call":
      return FUNCTIONS[e.fn]?.(e.args.map((a) => evaluate(a, row)), row);
    case "cmp": {
      const [l, r] = [evaluate(e.l, row), evaluate(e.r, row)];
      if (l === undefined || r === undefined) return false;
      const c = compare(l, r);
      return { "=": c === 0, "!=": c !== 0, "<": c < 0, "<=": c <= 0, ">": c > 0, ">=": c >= 0 }[e.op];
    }
    case "like": {
      const v = evaluate(e.target, row);
      if (v === undefined) return false;
      return typeof e.pattern === "string" ? render(v).includes(e.pattern) : e.pattern.test(render(v));
    }
    case "in": {
      const v = evaluate(e.target, row);
      return v !== undefined && e.list.some((x) => {
        const item = evaluate(x, row);
        return item !== undefined && compare(v, item) === 0;
      });
    }
    case "and":
      return e.parts.every((p) => truthy(evaluate(p, row)));
    case "or":
      return e.parts.some((p) => truthy(evaluate(p, row)));
    case "not":
      return !truthy(evaluate(e.e, row));
  }
}

/** Applies a per-row command; false drops the row. */
function applyToRow(c: Command, row: Row): boolean {
  if (c.k === "filter") return truthy(evaluate(c.expr, row));
  if (c.k === "fields") for (const item of c.items) if (item.expr.k !== "field" || item.expr.name !== item.name) row.set(item.name, evaluate(item.expr, row));
  if (c.k === "parse") {
    const source = evaluate(c.source, row);
    const m = source === undefined ? null : c.re.exec(render(source));
    if (m) c.names.forEach((name, i) => row.set(name, m.groups?.[name] ?? m[i + 1]));
  }
  return true;
}

type Accumulator = { add(row: Row): void; result(): Value | undefined };

/** One aggregate over one group, fed a row at a time; only pct keeps its values. */
function accumulator(fn: string, args: Expr[]): Accumulator {
  const arg = args[0];
  let [count, n, sum, mean, m2] = [0, 0, 0, 0, 0]; // m2: Welford's sum of squared deviations
  let best: Value | undefined;
  const distinct = new Set<string>();
  const kept: number[] = [];
  return {
    add(row) {
      const v = arg === undefined ? true : evaluate(arg, row);
      if (v === undefined) return;
      count++;
      if (fn === "count_distinct") distinct.add(render(v));
      if ((fn === "min" || fn === "max") && (best === undefined || (fn === "min" ? 1 : -1) * compare(v, best) < 0)) best = v;
      const x = toNum(v);
      if (x === undefined) return;
      n++;
      sum += x;
      const delta = x - mean;
      mean += delta / n;
      m2 += delta * (x - mean);
      if (fn === "pct") kept.push(x);
    },
    result() {
      if (fn === "count") return count;
      if (fn === "count_distinct") return distinct.size;
      if (fn === "min" || fn === "max") return best;
      if (n === 0) return undefined;
      if (fn === "sum") return sum;
      if (fn === "avg") return sum / n;
      if (fn === "stddev") return n < 2 ? 0 : Math.sqrt(m2 / (n - 1));
      // pct: the nearest-rank percentile.
      const p = toNum(args[1]?.k === "lit" ? args[1].v : undefined) ?? 50;
      kept.sort((a, b) => a - b);
      return kept[Math.min(n - 1, Math.max(0, Math.ceil((p / 100) * n) - 1))];
    },
  };
}

/** Groups rows by their `by` values as they arrive; rows() gives one row per group, first seen first. */
function grouping(c: Extract<Command, { k: "stats" }>): { add(row: Row): void; rows(): Row[] } {
  const groups = new Map<string, { keys: (Value | undefined)[]; accs: Accumulator[] }>();
  return {
    add(row) {
      const keys = c.by.map((b) => evaluate(b.expr, row));
      const id = keys.map((k) => (k === undefined ? "\u0001" : `${typeof k}:${render(k)}`)).join("\u0000");
      let group = groups.get(id);
      if (!group) groups.set(id, (group = { keys, accs: c.aggs.map((a) => accumulator(a.fn, a.args)) }));
      for (const acc of group.accs) acc.add(row);
    },
    rows() {
      return [...groups.values()].map(({ keys, accs }) => {
        const row = mapRow(new Map());
        c.by.forEach((b, i) => row.set(b.name, keys[i]));
        c.aggs.forEach((a, i) => row.set(a.name, accs[i]!.result()));
        return row;
      });
    },
  };
}

function sortRows(rows: Row[], keys: Extract<Command, { k: "sort" }>["keys"]): Row[] {
  const keyed = rows.map((row) => ({ row, values: keys.map((k) => row.get(k.name) ?? evaluate(k.expr, row)) }));
  keyed.sort((a, b) => {
    for (const [i, key] of keys.entries()) {
      const [x, y] = [a.values[i], b.values[i]];
      // Rows without the value go last whichever the direction.
      if (x === undefined || y === undefined) {
        if (x !== y) return x === undefined ? 1 : -1;
        continue;
      }
      const c = compare(x, y);
      if (c !== 0) return key.desc ? -c : c;
    }
    return 0;
  });
  return keyed.map((k) => k.row);
}

const NEWEST_FIRST = [{ name: "@timestamp", expr: { k: "field", name: "@timestamp" } as Expr, desc: true }];

/**
 * Runs a parsed query. The per-row commands before the first stats, sort or limit run as the
 * events stream by; a stats there aggregates as they come, and otherwise only the newest rows
 * that can still reach the result are kept. recordsMatched counts the events that got that far.
 */
export function runInsightsQuery(query: InsightsQuery, events: Iterable<InsightsEvent>, limit?: number): InsightsResult {
  const commands = query.commands;
  const cap = Math.min(limit ?? (commands.some((c) => c.k === "limit") ? MAX_LIMIT : DEFAULT_LIMIT), MAX_LIMIT);
  let split = commands.findIndex((c) => c.k === "stats" || c.k === "sort" || c.k === "limit");
  if (split < 0) split = commands.length;
  const [head, tail] = [commands.slice(0, split), commands.slice(split)];
  const first = tail[0];
  const stats = first?.k === "stats" ? grouping(first) : undefined;
  const keep = first === undefined ? cap : first.k === "limit" ? first.n : Infinity;
  let rows: Row[] = [];
  let scanned = 0;
  let matched = 0;
  for (const ev of events) {
    const row = eventRow(ev, ++scanned);
    if (!head.every((c) => applyToRow(c, row))) continue;
    matched++;
    if (stats) stats.add(row);
    else rows.push(row);
    if (rows.length > 2 * keep + 1000) rows = sortRows(rows, NEWEST_FIRST).slice(0, keep);
  }
  rows = stats ? stats.rows() : sortRows(rows, NEWEST_FIRST);
  for (const c of stats ? tail.slice(1) : tail) {
    if (c.k === "stats") {
      const next = grouping(c);
      rows.forEach((row) => next.add(row));
      rows = next.rows();
    } else if (c.k === "sort") rows = sortRows(rows, c.keys);
    else if (c.k === "limit") rows = rows.slice(0, c.n);
    else rows = rows.filter((row) => applyToRow(c, row));
  }
  const columns = displayed(commands);
  return {
    rows: rows.slice(0, cap).map((row) =>
      columns.flatMap((field) => {
        const v = row.get(field);
        return v === undefined ? [] : [{ field, value: render(v) }];
      }),
    ),
    recordsMatched: matched,
    recordsScanned: scanned,
  };
}

/** The result's columns: fields accumulate, display and stats replace; @ptr ends event rows. */
function displayed(commands: readonly Command[]): string[] {
  let columns: string[] = [];
  for (const c of commands) {
    if (c.k === "fields") columns.push(...c.items.map((i) => i.name).filter((n) => !columns.includes(n)));
    else if (c.k === "display") columns = [...c.names];
    else if (c.k === "stats") columns = [...c.by.map((b) => b.name), ...c.aggs.map((a) => a.name)];
  }
  if (columns.length === 0) columns = ["@timestamp", "@message"];
  return commands.some((c) => c.k === "stats") || columns.includes("@ptr") ? columns : [...columns, "@ptr"];
}
