/**
 * Space-delimited filter patterns, `[ip, user, ..., status = 4* || status = 5*, bytes > 1000]`:
 * compiles the pattern's slots and their conditions, splits a message into fields (`"…"` and
 * `[…]` are one field each) and looks for a way of giving the fields to the slots that satisfies
 * every condition (`...` takes any number of fields; without it the last slot takes the rest of
 * the line).
 *
 * Shares its literal and expression syntax with JSON patterns (filter-syntax.ts).
 */
import { bad, type CompiledFilter, equalsLiteral, evaluate, type Expr, type Literal, NUMBER, type Op, order, PatternParser } from "./filter-syntax.ts";

type FieldCond = { name: string; op: Op; literal: Literal };
type Slot = { ellipsis: true } | { name: string | undefined; expr: Expr<FieldCond> | undefined };

export function compileDelimited(text: string): CompiledFilter {
  if (!text.endsWith("]")) throw bad("a space-delimited pattern must end with ]");
  const p = new PatternParser(text.slice(1, -1), true);
  const slots: Slot[] = [];
  const referenced: string[] = [];
  const condition = (): FieldCond => {
    p.ws();
    const m = /[A-Za-z_][A-Za-z0-9_]*/y;
    m.lastIndex = p.i;
    const name = m.exec(p.s)?.[0] ?? p.fail("expected a field name");
    p.i += name.length;
    referenced.push(name);
    const op = p.parseOp();
    return { name, op, literal: p.parseLiteral(op) };
  };
  do {
    if (p.eat("...")) slots.push({ ellipsis: true });
    else if (p.atEnd() || p.s[p.i] === ",") slots.push({ name: undefined, expr: undefined });
    else {
      const start = p.i;
      const plain = /([A-Za-z_][A-Za-z0-9_]*)\s*(?=,|$)/y;
      plain.lastIndex = start;
      const named = plain.exec(p.s);
      if (named) {
        slots.push({ name: named[1], expr: undefined });
        p.i += named[0].length;
      } else {
        const first = referenced.length;
        const expr = p.parseOr(condition);
        slots.push({ name: referenced[first], expr });
      }
    }
  } while (p.eat(","));
  if (!p.atEnd()) p.fail("expected ',' or ']'");
  const names = slots.flatMap((s) => ("name" in s && s.name !== undefined ? [s.name] : []));
  const duplicate = names.find((n, k) => names.indexOf(n) !== k);
  if (duplicate) throw bad(`field ${duplicate} is named twice`);
  const unknown = referenced.find((n) => !names.includes(n));
  if (unknown) throw bad(`condition on ${unknown}, which is not a field of the pattern`);
  const conds = slots.flatMap((s) => ("expr" in s && s.expr ? [s.expr] : []));
  return {
    matches(message) {
      const accept = (bound: Map<string, string>) => conds.every((e) => evaluate(e, (c) => testField(bound.get(c.name), c)));
      return anyAssignment(slots, splitFields(message), message, accept);
    },
  };
}

interface Field {
  value: string;
  start: number;
}

/** A `"quoted"` or `[bracketed]` run followed by whitespace is one field (without its quotes or brackets). */
const FIELD = /"((?:[^"\\]|\\.)*)"(?=\s|$)|\[([^\]]*)\](?=\s|$)|\S+/g;

function splitFields(message: string): Field[] {
  return [...message.matchAll(FIELD)].map((m) => ({ value: m[1] ?? m[2] ?? m[0], start: m.index }));
}

/**
 * Whether some way of giving the message's fields to the pattern's slots satisfies `accept`.
 * Without `...` there is one way: slot k takes field k and the last slot takes the rest of the
 * line; each `...` takes any number of fields (tried shortest first).
 */
function anyAssignment(slots: Slot[], fields: Field[], message: string, accept: (bound: Map<string, string>) => boolean): boolean {
  const bind = (bound: Map<string, string>, slot: Slot, value: string) => {
    if ("name" in slot && slot.name !== undefined) bound.set(slot.name, value);
  };
  if (!slots.some((s) => "ellipsis" in s)) {
    if (fields.length < slots.length) return false;
    const bound = new Map<string, string>();
    slots.forEach((slot, k) => {
      const rest = k === slots.length - 1 && fields.length > slots.length;
      bind(bound, slot, rest ? message.slice(fields[k]!.start).trimEnd() : fields[k]!.value);
    });
    return accept(bound);
  }
  const walk = (si: number, fi: number, bound: Map<string, string>): boolean => {
    if (si === slots.length) return fi === fields.length && accept(bound);
    const slot = slots[si]!;
    if ("ellipsis" in slot) {
      for (let take = 0; fi + take <= fields.length; take++) if (walk(si + 1, fi + take, bound)) return true;
      return false;
    }
    if (fi >= fields.length) return false;
    const next = new Map(bound);
    bind(next, slot, fields[fi]!.value);
    return walk(si + 1, fi + 1, next);
  };
  return walk(0, 0, new Map());
}

function testField(value: string | undefined, cond: FieldCond): boolean {
  if (value === undefined) return false;
  const { op, literal } = cond;
  const n = NUMBER.test(value) ? Number(value) : undefined;
  if (op !== "=" && op !== "!=") return n !== undefined && literal.kind === "num" && order(n, op, literal.value);
  const equal =
    literal.kind === "num" ? (n !== undefined ? n === literal.value : value === literal.text) : equalsLiteral(value, literal);
  return equal === (op === "=");
}
