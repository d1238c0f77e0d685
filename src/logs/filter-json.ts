/**
 * JSON filter patterns, `{ $.a.b[0] = "x*" && ($.n >= 10 || $.f IS TRUE) }`: compiles the
 * conditions on selectors, and tests them against a message parsed as JSON. A message that is
 * not JSON never matches; a selector that reaches an object or array never matches.
 *
 * Shares its literal and expression syntax with space-delimited patterns (filter-syntax.ts).
 */
import { bad, type CompiledFilter, equalsLiteral, evaluate, type Literal, type Op, order, PatternParser, type Segment } from "./filter-syntax.ts";

type Test =
  | { kind: "cmp"; op: Op; literal: Literal }
  | { kind: "is"; value: null | boolean }
  | { kind: "notExists" };
type JsonCond = { path: Segment[]; test: Test };
type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

export function compileJson(text: string): CompiledFilter {
  if (!text.endsWith("}")) throw bad("a JSON pattern must end with }");
  const p = new PatternParser(text.slice(1, -1), false);
  if (p.atEnd()) throw bad("empty JSON pattern");
  const expr = p.parseOr((): JsonCond => {
    const path = p.parseSelector();
    p.ws();
    const rest = p.s.slice(p.i);
    const is = /^IS\s+(NULL|TRUE|FALSE)\b/i.exec(rest);
    const notExists = /^NOT\s+EXISTS\b/i.exec(rest);
    if (/^(IS\s+NOT|EXISTS)\b/i.test(rest)) p.fail("IS NOT and EXISTS are not supported");
    if (is) {
      p.i += is[0].length;
      const word = is[1]!.toUpperCase();
      return { path, test: { kind: "is", value: word === "NULL" ? null : word === "TRUE" } };
    }
    if (notExists) {
      p.i += notExists[0].length;
      return { path, test: { kind: "notExists" } };
    }
    const op = p.parseOp();
    return { path, test: { kind: "cmp", op, literal: p.parseLiteral(op) } };
  });
  if (!p.atEnd()) p.fail("unexpected text");
  return {
    matches(message) {
      const doc = parseJson(message);
      if (doc === undefined) return false;
      return evaluate(expr, (c) => testJson(select(doc, c.path), c.test));
    },
  };
}

function parseJson(message: string): Json | undefined {
  const t = message.trim();
  if (!t.startsWith("{") && !t.startsWith("[")) return undefined;
  try {
    return JSON.parse(t) as Json;
  } catch {
    return undefined;
  }
}

function select(doc: Json, path: Segment[]): Json[] {
  let nodes: Json[] = [doc];
  for (const seg of path) {
    const next: Json[] = [];
    for (const node of nodes) {
      if (node === null || typeof node !== "object") continue;
      if ("wild" in seg) next.push(...Object.values(node));
      else if ("index" in seg) {
        if (Array.isArray(node) && seg.index < node.length) next.push(node[seg.index]!);
      } else if (!Array.isArray(node) && Object.hasOwn(node, seg.key)) next.push(node[seg.key]!);
    }
    nodes = next;
  }
  return nodes;
}

/** A condition holds when any selected node satisfies it (several only under a wildcard). */
function testJson(nodes: Json[], test: Test): boolean {
  if (test.kind === "notExists") return nodes.length === 0;
  if (test.kind === "is") return nodes.some((n) => n === test.value);
  return nodes.some((node) => {
    if (node !== null && typeof node === "object") return false; // selectors must reach a value node
    const { op, literal } = test;
    if (op !== "=" && op !== "!=") return typeof node === "number" && literal.kind === "num" && order(node, op, literal.value);
    return equalsLiteral(node, literal) === (op === "=");
  });
}
