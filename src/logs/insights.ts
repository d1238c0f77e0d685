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
 * This module evaluates: it turns events into rows and runs parsed commands over them. The
 * grammar is in insights-parser.ts; value semantics and scalar functions in insights-values.ts.
 *
 * Pure: no I/O, no clock. A query that cannot be parsed is BerthError(MalformedQuery).
 */
import { type Command, type Expr, type InsightsQuery, MAX_LIMIT } from "./insights-parser.ts";
import { compare, FUNCTIONS, render, type Row, Time, toNum, truthy, type Value } from "./insights-values.ts";

export { type InsightsQuery, parseInsightsQuery } from "./insights-parser.ts";

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

const DEFAULT_LIMIT = 1000;

// ---- rows ----

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
