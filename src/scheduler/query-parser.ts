/**
 * The cluster query language's parser: turns the text of a `memberOf` expression or a
 * ListContainerInstances `filter` into a `QueryExpr`, and rejects everything the evaluator could
 * not handle (unknown subjects, operators a subject does not allow, bad regexes, bad dates) with
 * one InvalidParameter error. It owns the grammar and the argument forms; it never evaluates.
 * Pure: no I/O, no clock.
 *
 * Grammar (`or` binds loosest): or := and (("||" | "or") and)*; and := unary (("&&" | "and")
 * unary)*; unary := ("!" | "not") unary | "(" or ")" | subject operator [argument].
 */
import { type BerthError, invalidParameter } from "../core/errors.ts";
import { compileJavaRegex, escapeRegex } from "./java-regex.ts";
import type { QueryArgument, QueryComparison, QueryExpr, QueryOperator, QuerySubjectName } from "./query-language.ts";

export const MAX_QUERY_LENGTH = 2000;

const EQUALITY: ReadonlySet<QueryOperator> = new Set<QueryOperator>(["==", "in", "=~"]);
const ORDERING: ReadonlySet<QueryOperator> = new Set<QueryOperator>(["==", ">", ">=", "<", "<="]);

/** Operators each subject accepts (developer guide, "cluster query language"). */
const SUBJECT_OPERATORS: Record<QuerySubjectName, ReadonlySet<QueryOperator>> = {
  agentConnected: EQUALITY, ec2InstanceId: EQUALITY, instanceId: EQUALITY,
  agentVersion: ORDERING, registeredAt: ORDERING, runningTasksCount: ORDERING,
  attribute: new Set<QueryOperator>(["==", ">", ">=", "<", "<=", "exists", "in", "=~"]),
  "task:group": new Set<QueryOperator>(["==", "in", "=~", "exists"]),
};

const SUBJECTS: ReadonlyMap<string, QuerySubjectName> = new Map(
  (Object.keys(SUBJECT_OPERATORS) as QuerySubjectName[]).map((s) => [s.toLowerCase(), s]),
);

type OperatorForm = readonly [QueryOperator, boolean];

/** Longest first, so `>=` is tried before `>`. Entries ending in a letter need a word boundary. */
const SYMBOL_OPERATORS: readonly (readonly [string, QueryOperator, boolean])[] = [
  ["!exists", "exists", true], ["!in", "in", true], ["==", "==", false], ["!=", "==", true],
  [">=", ">=", false], ["<=", "<=", false], ["=~", "=~", false], ["!~", "=~", true],
  [">", ">", false], ["<", "<", false],
];

const WORD_OPERATORS: ReadonlyMap<string, OperatorForm> = new Map<string, OperatorForm>([
  ["equals", ["==", false]], ["not_equals", ["==", true]],
  ["greater_than", [">", false]], ["greater_than_equal", [">=", false]],
  ["less_than", ["<", false]], ["less_than_equal", ["<=", false]],
  ["exists", ["exists", false]], ["not_exists", ["exists", true]],
  ["in", ["in", false]], ["not_in", ["in", true]],
  ["matches", ["=~", false]], ["not_matches", ["=~", true]],
]);

/** Characters that end a subject or an operator word. */
const DELIMITERS = new Set([..."()[],'\"!=<>~&|"]);
/** A number as the language writes it; the evaluator also uses it to read numeric values. */
export const NUMERIC = /^[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?$/;
const DATE = /^(\d{4}-\d{2}-\d{2})(?:[T ](\d{2}:\d{2})(:\d{2})?(\.\d+)?(Z|[+-]\d{2}:?\d{2})?)?$/;
const DAY_MS = 86_400_000;

type ValueKind = "plain" | "list-item" | "regex";

/** Parses `text`; throws InvalidParameter ("Invalid query expression: …") when it is not a query. */
export function parseQuery(text: string): QueryExpr {
  if (text.length > MAX_QUERY_LENGTH) {
    throw invalidParameter(`Invalid query expression: longer than ${MAX_QUERY_LENGTH} characters`);
  }
  return new QueryParser(text).parse();
}

class QueryParser {
  private readonly text: string;
  private pos = 0;

  constructor(text: string) {
    this.text = text;
  }

  parse(): QueryExpr {
    this.skipSpace();
    if (this.pos >= this.text.length) throw this.fail("empty expression");
    const expr = this.parseOr();
    this.skipSpace();
    if (this.pos < this.text.length) throw this.fail(`unexpected '${this.text.slice(this.pos, this.pos + 20)}'`);
    return expr;
  }

  private parseOr(): QueryExpr {
    let left = this.parseAnd();
    while (this.takeSymbol("||") || this.takeKeyword("or")) left = { kind: "or", left, right: this.parseAnd() };
    return left;
  }

  private parseAnd(): QueryExpr {
    let left = this.parseUnary();
    while (this.takeSymbol("&&") || this.takeKeyword("and")) left = { kind: "and", left, right: this.parseUnary() };
    return left;
  }

  private parseUnary(): QueryExpr {
    if (this.takeSymbol("!") || this.takeKeyword("not")) return { kind: "not", operand: this.parseUnary() };
    if (this.takeSymbol("(")) {
      const inner = this.parseOr();
      if (!this.takeSymbol(")")) throw this.fail("expected ')'");
      return inner;
    }
    return this.parseComparison();
  }

  private parseComparison(): QueryComparison {
    this.skipSpace();
    const at = this.pos;
    const word = this.readWord();
    if (word === "") throw this.fail("expected a subject");
    const { subject, attribute } = resolveSubject(word, () => this.fail(`unknown subject '${word}'`, at));
    const [operator, negated] = this.readOperator(word);
    if (!SUBJECT_OPERATORS[subject].has(operator)) {
      throw this.fail(`operator not valid for subject '${word}'`);
    }
    const texts = this.readArguments(operator);
    const args = texts.map((t) => this.prepareArgument(subject, operator, t));
    const base = { kind: "compare" as const, subject, operator, negated, args };
    const withAttribute = attribute === undefined ? base : { ...base, attribute };
    return operator === "=~" ? { ...withAttribute, pattern: this.compilePattern(texts[0] ?? "") } : withAttribute;
  }

  private readOperator(subjectWord: string): OperatorForm {
    this.skipSpace();
    for (const [symbol, operator, negated] of SYMBOL_OPERATORS) {
      if (this.text.startsWith(symbol, this.pos) && this.boundaryAfter(symbol, this.pos + symbol.length)) {
        this.pos += symbol.length;
        return [operator, negated];
      }
    }
    const at = this.pos;
    const form = WORD_OPERATORS.get(this.readWord().toLowerCase());
    if (form === undefined) throw this.fail(`expected an operator after '${subjectWord}'`, at);
    return form;
  }

  private readArguments(operator: QueryOperator): string[] {
    if (operator === "exists") return [];
    if (operator !== "in") return [this.readValue(operator === "=~" ? "regex" : "plain")];
    this.skipSpace();
    const open = this.text[this.pos];
    if (open !== "[" && open !== "(") return [this.readValue("plain")];
    const close = open === "[" ? "]" : ")";
    this.pos++;
    const items: string[] = [];
    do {
      items.push(this.readValue("list-item"));
    } while (this.takeSymbol(","));
    if (!this.takeSymbol(close)) throw this.fail(`expected ',' or '${close}' in argument list`);
    return items;
  }

  /**
   * A quoted string (`'…'` or `"…"`, backslash escapes its quote) or a bare word. A bare regex
   * may hold balanced parentheses; an unbalanced `)` closes the enclosing group instead.
   */
  private readValue(kind: ValueKind): string {
    this.skipSpace();
    const quote = this.text[this.pos];
    if (quote === "'" || quote === '"') return this.readQuoted(quote);
    const start = this.pos;
    let depth = 0;
    for (; this.pos < this.text.length; this.pos++) {
      const ch = this.text[this.pos] ?? "";
      if (kind === "regex" && ch === "(") depth++;
      else if (kind === "regex" && ch === ")" && depth > 0) depth--;
      else if (this.endsBareValue(kind, ch)) break;
    }
    if (this.pos === start) throw this.fail("missing argument");
    return this.text.slice(start, this.pos);
  }

  private endsBareValue(kind: ValueKind, ch: string): boolean {
    if (/\s/.test(ch) || ch === "(" || ch === ")" || ch === "'" || ch === '"') return true;
    if (this.text.startsWith("&&", this.pos) || this.text.startsWith("||", this.pos)) return true;
    if (kind === "regex") return false;
    return ch === "[" || ch === "]" || (kind === "list-item" && ch === ",");
  }

  private readQuoted(quote: string): string {
    const start = this.pos++;
    let value = "";
    while (this.pos < this.text.length) {
      const ch = this.text[this.pos++] ?? "";
      if (ch === quote) return value;
      const next = this.text[this.pos];
      if (ch === "\\" && (next === quote || next === "\\")) {
        value += next;
        this.pos++;
      } else value += ch;
    }
    throw this.fail("unterminated quoted string", start);
  }

  private prepareArgument(subject: QuerySubjectName, operator: QueryOperator, text: string): QueryArgument {
    if (subject === "registeredAt") {
      const date = parseDate(text);
      if (date === undefined) throw this.fail(`'${text}' is not a date`);
      return { text, ...date };
    }
    if (subject === "runningTasksCount" && !NUMERIC.test(text)) throw this.fail(`'${text}' is not a number`);
    const numeric = NUMERIC.test(text) ? { number: Number(text) } : {};
    const wildcard = operator !== "=~" && text.includes("*") ? { glob: globPattern(text) } : {};
    return { text, ...numeric, ...wildcard };
  }

  private compilePattern(source: string): RegExp {
    try {
      return compileJavaRegex(source);
    } catch {
      throw this.fail(`'${source}' is not a valid regular expression`);
    }
  }

  private readWord(): string {
    const start = this.pos;
    while (this.pos < this.text.length && isWordChar(this.text[this.pos] ?? " ")) this.pos++;
    return this.text.slice(start, this.pos);
  }

  private takeSymbol(symbol: string): boolean {
    this.skipSpace();
    if (!this.text.startsWith(symbol, this.pos)) return false;
    if (symbol === "!" && /[=~]/.test(this.text[this.pos + 1] ?? "")) return false;
    this.pos += symbol.length;
    return true;
  }

  private takeKeyword(keyword: string): boolean {
    this.skipSpace();
    const end = this.pos + keyword.length;
    if (this.text.slice(this.pos, end).toLowerCase() !== keyword) return false;
    if (isWordChar(this.text[end] ?? " ")) return false;
    this.pos = end;
    return true;
  }

  private boundaryAfter(symbol: string, end: number): boolean {
    return !/[a-z]$/.test(symbol) || !isWordChar(this.text[end] ?? " ");
  }

  private skipSpace(): void {
    while (/\s/.test(this.text[this.pos] ?? "")) this.pos++;
  }

  private fail(detail: string, at = this.pos): BerthError {
    return invalidParameter(`Invalid query expression: ${detail} (at position ${at})`);
  }
}

function isWordChar(ch: string): boolean {
  return !/\s/.test(ch) && !DELIMITERS.has(ch);
}

function resolveSubject(word: string, unknown: () => BerthError): { subject: QuerySubjectName; attribute?: string } {
  if (word.toLowerCase().startsWith("attribute:")) {
    const attribute = word.slice("attribute:".length);
    if (attribute === "") throw unknown();
    return { subject: "attribute", attribute };
  }
  const subject = SUBJECTS.get(word.toLowerCase());
  if (subject === undefined || subject === "attribute") throw unknown();
  return { subject };
}

/** ISO dates (`2018-06-18`, `2018-06-18T22:28:28[.sss][Z|±hh:mm]`, no zone = UTC) or epoch numbers. */
function parseDate(text: string): { number: number; granularity: number } | undefined {
  if (/^\d+$/.test(text)) {
    const n = Number(text);
    // Below 1e11 the number is read as epoch seconds (AWS's own timestamps), else as epoch ms.
    return n < 1e11 ? { number: n * 1000, granularity: 1000 } : { number: n, granularity: 1 };
  }
  const m = DATE.exec(text);
  if (m === null) return undefined;
  const [, day, time, seconds, fraction, zone] = m;
  const iso = time === undefined ? `${day}T00:00:00Z` : `${day}T${time}${seconds ?? ""}${fraction ?? ""}${zone ?? "Z"}`;
  const ms = Date.parse(iso);
  if (Number.isNaN(ms)) return undefined;
  const granularity = time === undefined ? DAY_MS : fraction !== undefined ? 1 : seconds !== undefined ? 1000 : 60_000;
  return { number: ms, granularity };
}

function globPattern(text: string): RegExp {
  return new RegExp(`^${text.split("*").map(escapeRegex).join(".*")}$`, "s");
}
