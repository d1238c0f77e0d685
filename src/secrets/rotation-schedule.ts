/**
 * Rotation schedules, pure: AutomaticallyAfterDays, `rate(N hours|days)` and the six-field
 * `cron(minutes hours day-of-month month day-of-week year)` that Secrets Manager takes (UTC; `*`,
 * `?`, lists, ranges, steps, JAN-DEC and SUN-SAT names, day-of-week 1-7 = SUN-SAT). `nextRotation`
 * gives the first time strictly after `from`.
 */
import { BerthError, ErrorCode } from "../core/errors.ts";
import type { RotationRules } from "../domain/secrets.ts";

const HOUR = 3_600_000;
const DAY = 24 * HOUR;

type Schedule = { kind: "every"; ms: number } | { kind: "cron"; fields: CronFields };

interface CronFields {
  minutes: Set<number>;
  hours: Set<number>;
  daysOfMonth: Set<number> | "any";
  months: Set<number>;
  daysOfWeek: Set<number> | "any";
  years: Set<number> | "any";
}

/** Validates rules; throws InvalidParameter with AWS-like wording. */
export function checkRotationRules(rules: RotationRules): void {
  parseSchedule(rules);
}

export function nextRotation(rules: RotationRules, from: number): number | undefined {
  const schedule = parseSchedule(rules);
  if (!schedule) return undefined;
  if (schedule.kind === "every") return from + schedule.ms;
  return nextCron(schedule.fields, from);
}

function invalid(message: string): BerthError {
  return new BerthError(ErrorCode.InvalidParameter, message);
}

function parseSchedule(rules: RotationRules): Schedule | undefined {
  if (rules.automaticallyAfterDays !== undefined && rules.scheduleExpression !== undefined) {
    throw invalid("You can't specify both AutomaticallyAfterDays and ScheduleExpression in RotationRules.");
  }
  if (rules.duration !== undefined) {
    const hours = Number(/^(\d+)h$/.exec(rules.duration)?.[1] ?? NaN);
    if (!(hours >= 1 && hours <= 24)) throw invalid(`The rotation window duration ${rules.duration} isn't valid. Specify a number of hours from 1h to 24h.`);
  }
  if (rules.automaticallyAfterDays !== undefined) {
    const days = rules.automaticallyAfterDays;
    if (!Number.isInteger(days) || days < 1 || days > 1000) throw invalid("RotationRules.AutomaticallyAfterDays must be within 1-1000.");
    return { kind: "every", ms: days * DAY };
  }
  const expr = rules.scheduleExpression?.trim();
  if (expr === undefined) return undefined;
  const rate = /^rate\(\s*(\d+)\s+(hours?|days?)\s*\)$/.exec(expr);
  if (rate) {
    const n = Number(rate[1]);
    const hours = rate[2]!.startsWith("hour");
    if (hours ? n < 4 || n > 23 : n < 1 || n > 1000) {
      throw invalid(`The schedule expression ${expr} isn't valid: rate() takes 4 to 23 hours or 1 to 1000 days.`);
    }
    return { kind: "every", ms: n * (hours ? HOUR : DAY) };
  }
  const cron = /^cron\((.*)\)$/.exec(expr);
  if (cron) return { kind: "cron", fields: parseCron(cron[1]!.trim(), expr) };
  throw invalid(`The schedule expression ${expr} isn't valid. Use rate(N hours), rate(N days) or cron(...).`);
}

const MONTHS = ["JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC"];
const DAYS = ["SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"];

function parseCron(body: string, expr: string): CronFields {
  const parts = body.split(/\s+/);
  if (parts.length !== 6) throw invalid(`The schedule expression ${expr} isn't valid: cron() takes six fields.`);
  const [min, hour, dom, month, dow, year] = parts as [string, string, string, string, string, string];
  const field = (text: string, lo: number, hi: number, names?: string[], offset = 0): Set<number> => {
    const out = new Set<number>();
    for (const item of text.split(",")) {
      const [range, stepText] = item.split("/") as [string, string | undefined];
      const step = stepText === undefined ? 1 : Number(stepText);
      if (!Number.isInteger(step) || step < 1) throw invalid(`The schedule expression ${expr} isn't valid.`);
      const value = (t: string): number => {
        const named = names?.indexOf(t.toUpperCase()) ?? -1;
        const n = named >= 0 ? named + offset : Number(t);
        if (!Number.isInteger(n) || n < lo || n > hi) throw invalid(`The schedule expression ${expr} isn't valid.`);
        return n;
      };
      let from: number;
      let to: number;
      if (range === "*") [from, to] = [lo, hi];
      else if (range.includes("-")) {
        const [a, b] = range.split("-") as [string, string];
        [from, to] = [value(a), value(b)];
      } else {
        from = value(range);
        to = stepText === undefined ? from : hi;
      }
      for (let v = from; v <= to; v += step) out.add(v);
    }
    return out;
  };
  const anyOr = (text: string, lo: number, hi: number, names?: string[], offset = 0): Set<number> | "any" =>
    text === "?" || text === "*" ? "any" : field(text, lo, hi, names, offset);
  const fields: CronFields = {
    minutes: field(min, 0, 59),
    hours: field(hour, 0, 23),
    daysOfMonth: anyOr(dom, 1, 31),
    months: field(month, 1, 12, MONTHS, 1),
    daysOfWeek: anyOr(dow, 1, 7, DAYS, 1),
    years: anyOr(year, 1970, 2199),
  };
  if (dom !== "?" && dow !== "?") throw invalid(`The schedule expression ${expr} isn't valid: one of day-of-month and day-of-week must be '?'.`);
  return fields;
}

/** The first minute strictly after `from` that the fields match, within ten years. */
function nextCron(f: CronFields, from: number): number | undefined {
  const start = new Date(Math.floor(from / 60_000) * 60_000 + 60_000);
  let day = Date.UTC(start.getUTCFullYear(), start.getUTCMonth(), start.getUTCDate());
  const hours = [...f.hours].sort((a, b) => a - b);
  const minutes = [...f.minutes].sort((a, b) => a - b);
  for (let i = 0; i < 3660; i++, day += DAY) {
    const d = new Date(day);
    if (f.years !== "any" && !f.years.has(d.getUTCFullYear())) continue;
    if (!f.months.has(d.getUTCMonth() + 1)) continue;
    if (f.daysOfMonth !== "any" && !f.daysOfMonth.has(d.getUTCDate())) continue;
    if (f.daysOfWeek !== "any" && !f.daysOfWeek.has(d.getUTCDay() + 1)) continue;
    for (const h of hours) {
      for (const m of minutes) {
        const t = day + h * HOUR + m * 60_000;
        if (t >= start.getTime()) return t;
      }
    }
  }
  return undefined;
}
