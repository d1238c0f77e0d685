/**
 * The values a Logs Insights query computes with: the Value type and its Time, how values render,
 * convert to numbers, compare and count as true, the Row a query reads and writes fields on, and
 * the scalar functions (ispresent, coalesce, bin, ...).
 *
 * Shared by the parser (which function names exist) and the evaluator. Pure; never parses text.
 */

/** A timestamp; rendered the way Insights shows @timestamp. */
export class Time {
  constructor(readonly ms: number) {}
}
export type Value = string | number | boolean | Time;

/** One record as a query sees it: its fields, plus those fields/parse/stats have set on it. */
export interface Row {
  get(name: string): Value | undefined;
  set(name: string, v: Value | undefined): void;
}

export const FUNCTIONS: Record<string, (a: (Value | undefined)[], row: Row) => Value | undefined> = {
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

export function render(v: Value): string {
  if (v instanceof Time) return new Date(v.ms).toISOString().replace("T", " ").replace("Z", "");
  return String(v);
}
export function toNum(v: Value | undefined): number | undefined {
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
export function compare(a: Value, b: Value): number {
  const numeric = typeof a === "number" || a instanceof Time || typeof b === "number" || b instanceof Time;
  const [x, y] = [toNum(a), toNum(b)];
  if (numeric && x !== undefined && y !== undefined) return x - y;
  const [s, t] = [render(a), render(b)];
  return s < t ? -1 : s > t ? 1 : 0;
}
export function truthy(v: Value | undefined): boolean {
  return v !== undefined && v !== false && v !== 0 && v !== "";
}
