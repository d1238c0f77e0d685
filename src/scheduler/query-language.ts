/**
 * The ECS cluster query language: the expressions of `memberOf` placement constraints and of
 * ListContainerInstances `filter`. This module owns the expression types and their evaluation;
 * `parseQuery` (query-parser.ts) turns text into a `QueryExpr` and rejects everything
 * `evaluateQuery` cannot evaluate, so `evaluateQuery` never throws. Pure: no I/O, no clock.
 *
 * A negated operator (`!=`, `!in`, `!~`, `!exists`) is the exact negation of its positive form,
 * so `attribute:x != a` holds on an instance without attribute x.
 */
import { NUMERIC } from "./query-parser.ts";

export { compileJavaRegex } from "./java-regex.ts";
export { MAX_QUERY_LENGTH, parseQuery } from "./query-parser.ts";

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

const VERSION = /^v?\d+(?:\.\d+)*$/;

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
