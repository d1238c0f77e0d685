/**
 * The Logs Insights query language: lexes and parses a query string into commands (the syntax
 * tree the evaluator in insights.ts runs). Owns the grammar, the limit bounds a query may ask
 * for, and the MalformedQuery messages that point at where parsing stopped.
 *
 * Never reads events or evaluates anything; it only consults FUNCTIONS for which names exist.
 */
import { BerthError, ErrorCode } from "../core/errors.ts";
import { FUNCTIONS, type Value } from "./insights-values.ts";

/** A parsed query; opaque to callers, who hand it back to runInsightsQuery. */
export interface InsightsQuery {
  readonly queryString: string;
  readonly commands: readonly Command[];
}

/** The most rows a query returns, and the largest `limit` it may name. */
export const MAX_LIMIT = 10_000;

export type Expr =
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
export type Command =
  | { k: "fields"; items: Named[] }
  | { k: "display"; names: string[] }
  | { k: "filter"; expr: Expr }
  | { k: "parse"; source: Expr; re: RegExp; names: string[] }
  | { k: "stats"; aggs: (Named & { fn: string; args: Expr[] })[]; by: Named[] }
  | { k: "sort"; keys: (Named & { desc: boolean })[] }
  | { k: "limit"; n: number };

const AGGREGATES = new Set(["count", "count_distinct", "sum", "avg", "min", "max", "stddev", "pct"]);

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
    if (!AGGREGATES.has(fn) && !Object.hasOwn(FUNCTIONS, fn)) this.fail("unknown function", tok);
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
