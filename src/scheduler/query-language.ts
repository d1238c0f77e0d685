/**
 * The ECS cluster query language: the expressions of `memberOf` placement constraints and of
 * ListContainerInstances `filter`. `parseQuery` turns text into a `QueryExpr` and rejects
 * everything it cannot evaluate (unknown subjects, operators a subject does not allow, bad
 * regexes, bad dates) with one InvalidParameter error; `evaluateQuery` then never throws.
 * Pure: no I/O, no clock.
 *
 * Grammar (`or` binds loosest): or := and (("||" | "or") and)*; and := unary (("&&" | "and")
 * unary)*; unary := ("!" | "not") unary | "(" or ")" | subject operator [argument].
 * A negated operator (`!=`, `!in`, `!~`, `!exists`) is the exact negation of its positive form,
 * so `attribute:x != a` holds on an instance without attribute x.
 */
import { type BerthError, invalidParameter } from "../core/errors.ts";

export const MAX_QUERY_LENGTH = 2000;

export type QuerySubjectName =
  | "agentConnected" | "agentVersion" | "attribute" | "ec2InstanceId" | "instanceId"
  | "registeredAt" | "runningTasksCount" | "task:group";

/** Positive operators; the negated forms parse to these with `negated: true`. */
export type QueryOperator = "==" | ">" | ">=" | "<" | "<=" | "exists" | "in" | "=~";

export interface QueryArgument {
  readonly text: string;
  /** The numeric value: the number itself, or ms since the epoch for `registeredAt`. */
  readonly number?: number;
  /** `registeredAt` only: the argument's precision in ms (a day for `2018-06-18`). */
  readonly granularity?: number;
  /** Present when an `==`/`in` argument holds a `*` wildcard. */
  readonly glob?: RegExp;
}

export interface QueryComparison {
  readonly kind: "compare";
  readonly subject: QuerySubjectName;
  /** The attribute name when `subject` is "attribute". */
  readonly attribute?: string;
  readonly operator: QueryOperator;
  readonly negated: boolean;
  readonly args: readonly QueryArgument[];
  /** The compiled full-string pattern of `=~`. */
  readonly pattern?: RegExp;
}

export type QueryExpr =
  | QueryComparison
  | { readonly kind: "and" | "or"; readonly left: QueryExpr; readonly right: QueryExpr }
  | { readonly kind: "not"; readonly operand: QueryExpr };

/** What a query can see of one container instance. */
export interface QuerySubject {
  readonly attributes: Readonly<Record<string, string | undefined>>;
  readonly agentConnected: boolean;
  readonly agentVersion?: string | undefined;
  readonly ec2InstanceId?: string | undefined;
  /** The container instance id; `instanceId` falls back to `ec2InstanceId` without it. */
  readonly instanceId?: string | undefined;
  /** Registration time, ms since the epoch. */
  readonly registeredAt?: number | undefined;
  readonly runningTasksCount: number;
  /** Groups of the tasks on the instance (`service:web`, `family:nginx`, …). */
  readonly taskGroups: ReadonlySet<string>;
}

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
const NUMERIC = /^[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?$/;
const VERSION = /^v?\d+(?:\.\d+)*$/;
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

function escapeRegex(text: string): string {
  return text.replace(/[\\^$.*+?()[\]{}|/-]/g, "\\$&");
}

function globPattern(text: string): RegExp {
  return new RegExp(`^${text.split("*").map(escapeRegex).join(".*")}$`, "s");
}

/**
 * Java's `Pattern.matches` semantics on a JS RegExp: the whole string must match. Translates the
 * Java-only forms people write: leading `(?i)`-style flags, `\A` `\z` `\Z`, `\Q…\E`, possessive
 * quantifiers (treated as greedy) and atomic groups (treated as plain groups).
 */
export function compileJavaRegex(source: string): RegExp {
  const flagged = /^\(\?([imsu]+)\)/.exec(source);
  const flags = [...new Set(flagged?.[1]?.replace("u", "") ?? "")].join("");
  const body = translateJavaRegex(flagged === null ? source : source.slice(flagged[0].length));
  return new RegExp(`^(?:${body})$`, flags);
}

function translateJavaRegex(src: string): string {
  let out = "";
  let inClass = false;
  let afterQuantifier = false;
  for (let i = 0; i < src.length; i++) {
    const ch = src[i] ?? "";
    const quantified = afterQuantifier;
    afterQuantifier = false;
    if (ch === "\\") {
      const next = src[i + 1] ?? "";
      i++;
      if (next === "Q") {
        const end = src.indexOf("\\E", i + 1);
        out += escapeRegex(src.slice(i + 1, end < 0 ? src.length : end));
        i = end < 0 ? src.length : end + 1;
      } else if (!inClass && next === "A") out += "^";
      else if (!inClass && (next === "z" || next === "Z")) out += "$";
      else out += ch + next;
    } else if (inClass) {
      if (ch === "]") inClass = false;
      out += ch;
    } else if (ch === "[") {
      inClass = true;
      const negate = src[i + 1] === "^" ? "^" : "";
      i += negate.length;
      out += "[" + negate;
      // Java allows `]` first in a class as a literal; JS would read `[]` as an empty class.
      if (src[i + 1] === "]") {
        out += "\\]";
        i++;
      }
    } else if (ch === "+" && quantified) {
      // A possessive quantifier (`a*+`): JS has none, so it degrades to the greedy one.
    } else if (src.startsWith("(?>", i)) {
      out += "(?:";
      i += 2;
    } else {
      afterQuantifier = "*+?}".includes(ch) && src[i - 1] !== "(";
      out += ch;
    }
  }
  return out;
}

/** True when the instance matches. Never throws for a parsed expression. */
export function evaluateQuery(expr: QueryExpr, subject: QuerySubject): boolean {
  switch (expr.kind) {
    case "and":
      return evaluateQuery(expr.left, subject) && evaluateQuery(expr.right, subject);
    case "or":
      return evaluateQuery(expr.left, subject) || evaluateQuery(expr.right, subject);
    case "not":
      return !evaluateQuery(expr.operand, subject);
    case "compare":
      return evaluateComparison(expr, subject) !== expr.negated;
  }
}

/** True when the query reads state that placing tasks changes (`runningTasksCount`, `task:group`). */
export function queryReadsTasks(expr: QueryExpr): boolean {
  switch (expr.kind) {
    case "and":
    case "or":
      return queryReadsTasks(expr.left) || queryReadsTasks(expr.right);
    case "not":
      return queryReadsTasks(expr.operand);
    case "compare":
      return expr.subject === "runningTasksCount" || expr.subject === "task:group";
  }
}

function evaluateComparison(c: QueryComparison, s: QuerySubject): boolean {
  if (c.subject !== "task:group") return testValue(c, SUBJECT_VALUES[c.subject](s, c));
  if (c.operator === "exists") return s.taskGroups.size > 0;
  for (const group of s.taskGroups) if (testValue(c, group)) return true;
  return false;
}

const SUBJECT_VALUES: Record<QuerySubjectName, (s: QuerySubject, c: QueryComparison) => string | number | undefined> = {
  agentConnected: (s) => (s.agentConnected ? "true" : "false"),
  agentVersion: (s) => s.agentVersion,
  // Inherited Object.prototype members (`constructor`) are never strings.
  attribute: (s, c) => {
    const value: unknown = s.attributes[c.attribute ?? ""];
    return typeof value === "string" ? value : undefined;
  },
  ec2InstanceId: (s) => s.ec2InstanceId,
  instanceId: (s) => s.instanceId ?? s.ec2InstanceId,
  registeredAt: (s) => s.registeredAt,
  runningTasksCount: (s) => s.runningTasksCount,
  "task:group": () => undefined,
};

function testValue(c: QueryComparison, value: string | number | undefined): boolean {
  if (c.operator === "exists") return value !== undefined;
  if (value === undefined) return false;
  const first = c.args[0];
  switch (c.operator) {
    case "=~":
      return c.pattern?.test(String(value)) ?? false;
    case "in":
      return c.args.some((arg) => equalsArgument(c, value, arg));
    case "==":
      return first !== undefined && equalsArgument(c, value, first);
    default: {
      const order = first === undefined ? undefined : compareToArgument(c, value, first);
      return order !== undefined && satisfiesOrder(c.operator, order);
    }
  }
}

function satisfiesOrder(operator: ">" | ">=" | "<" | "<=", order: number): boolean {
  return operator === ">" ? order > 0 : operator === ">=" ? order >= 0 : operator === "<" ? order < 0 : order <= 0;
}

function equalsArgument(c: QueryComparison, value: string | number, arg: QueryArgument): boolean {
  if (arg.glob !== undefined) return arg.glob.test(String(value));
  if (typeof value === "number") return compareToArgument(c, value, arg) === 0;
  if (c.subject === "agentConnected") return value === arg.text.toLowerCase();
  return value === arg.text;
}

/** Sign of value − argument, or undefined when they cannot be ordered. */
function compareToArgument(c: QueryComparison, value: string | number, arg: QueryArgument): number | undefined {
  if (typeof value === "number") {
    if (arg.number === undefined) return undefined;
    const g = c.subject === "registeredAt" ? arg.granularity ?? 1 : 1;
    return Math.sign(Math.floor(value / g) - Math.floor(arg.number / g));
  }
  const numeric = arg.number !== undefined && NUMERIC.test(value);
  const versions = VERSION.test(value) && VERSION.test(arg.text);
  if (versions && (c.subject === "agentVersion" || !numeric)) return compareVersions(value, arg.text);
  if (numeric) return Math.sign(Number(value) - (arg.number ?? 0));
  return value < arg.text ? -1 : value > arg.text ? 1 : 0;
}

function compareVersions(a: string, b: string): number {
  const pa = a.replace(/^v/, "").split(".").map(Number);
  const pb = b.replace(/^v/, "").split(".").map(Number);
  for (let i = 0; i < Math.max(pa.length, pb.length); i++) {
    const d = (pa[i] ?? 0) - (pb[i] ?? 0);
    if (d !== 0) return Math.sign(d);
  }
  return 0;
}
