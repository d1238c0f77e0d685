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
 * This module compiles terms and phrases and hands the other forms on: `%regex%` and the shared
 * literal and expression syntax are in filter-syntax.ts, `{…}` in filter-json.ts, `[…]` in
 * filter-delimited.ts.
 *
 * Pure: no I/O, no eval, no JSONPath library. Bad syntax is BerthError(InvalidParameter).
 */
import { compileDelimited } from "./filter-delimited.ts";
import { compileJson } from "./filter-json.ts";
import { bad, type CompiledFilter, compileRegex, readQuoted } from "./filter-syntax.ts";

export type { CompiledFilter } from "./filter-syntax.ts";

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
  const compiled: CompiledFilter = { matches };
  if (ftsQuery !== undefined) compiled.ftsQuery = ftsQuery;
  // A blank phrase holds nothing to look for: it drops out of an AND and makes an OR match all.
  const literals = plain ? { op: "AND" as const, terms: includes.filter((t) => t !== "") } : { op: "OR" as const, terms: optionals };
  if (literals.terms.length > 0 && !literals.terms.includes("")) compiled.literals = literals;
  return compiled;
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
