/**
 * The syntax every CloudWatch Logs filter-pattern form shares: the CompiledFilter they compile
 * to, the InvalidParameter error they all raise, `"quoted"` strings, AWS's regex subset
 * (`%...%`, standalone or as a value), value literals with `*` wildcards, and the cursor parser
 * for the and/or condition expressions that JSON (`{...}`) and space-delimited (`[...]`)
 * patterns are built from, with how a literal compares against a value.
 *
 * Knows nothing of messages' shape: filter-json.ts and filter-delimited.ts decide what a
 * condition is tested against. Pure; no I/O, no eval.
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
  /**
   * Substrings every matching message holds: all of them (AND), or at least one (OR), when the
   * pattern is terms/phrases. A store can test them natively before `matches` confirms.
   */
  literals?: Literals;
}

export interface Literals {
  op: "AND" | "OR";
  terms: string[];
}

export const bad = (why: string) => invalidParameter(`Invalid filter pattern: ${why}`);

/** Reads a double-quoted string at `start` (\" and \\ escapes); returns its value and the index after it. */
export function readQuoted(text: string, start: number): [string, number] {
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
export function compileRegex(body: string): RegExp {
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

// ---- conditions and expressions ----

export type Op = "=" | "!=" | "<" | "<=" | ">" | ">=";
export type Literal =
  | { kind: "any" }
  | { kind: "num"; value: number; text: string }
  | { kind: "str"; test: (s: string) => boolean }
  | { kind: "re"; re: RegExp };
export type Segment = { key: string } | { index: number } | { wild: true };
export type Expr<C> = { and: Expr<C>[] } | { or: Expr<C>[] } | { cond: C };

export function evaluate<C>(expr: Expr<C>, test: (cond: C) => boolean): boolean {
  if ("and" in expr) return expr.and.every((e) => evaluate(e, test));
  if ("or" in expr) return expr.or.some((e) => evaluate(e, test));
  return test(expr.cond);
}

export const NUMBER = /^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/;

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
export class PatternParser {
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

/** Whether `value` is `= literal`: a number by value, a string against a number by its text. */
export function equalsLiteral(value: string | number | boolean | null, literal: Literal): boolean {
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

export function order(a: number, op: Op, b: number): boolean {
  return op === "<" ? a < b : op === "<=" ? a <= b : op === ">" ? a > b : a >= b;
}
