/**
 * Model-driven request validation that answers the way AWS's server side (Coral) does: a value
 * of the wrong JSON type is a Serialization error at the first offence; constraint violations
 * (required, enum, length, range, pattern) are all collected, in model member order, and
 * reported in Coral's wording. Paths follow Coral: member names with the first letter
 * lowercased, list elements as `list.<n>.member`, map values as `map.<key>.member`. Unknown
 * members are ignored. It runs on every request, so it walks the model directly and allocates
 * nothing until it finds a violation; like AWS it never echoes a sensitive value.
 */
import { BerthError, ErrorCode } from "../../core/errors.ts";
import type { MemberModel, ServiceModel, ShapeModel, StructureShape } from "./service-model.ts";

export interface Violation {
  path: string;
  /** One Coral clause: `Value 'x' at 'b.networkMode' failed to satisfy constraint: …`. */
  message: string;
}

const MAX_LISTED = 10;
const ECHO_LIMIT = 100;
const STRING_ECHO_LIMIT = 1024;
const INT_MIN = -2147483648;
const INT_MAX = 2147483647;
const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/;

// Constraint bits, in the order Coral lists them.
const LEN_MAX = 1, LEN_MIN = 2, VAL_MAX = 4, VAL_MIN = 8, PATTERN = 16, ENUM = 32;
const BITS = [LEN_MAX, LEN_MIN, VAL_MAX, VAL_MIN, PATTERN, ENUM] as const;

// Walk state. Validation is synchronous, so one module-level path stack serves every call and
// the happy path builds no path strings: segment i is a member name, a list index or a map key.
const MEMBER = 0, INDEX = 1, KEY = 2;
const segments: (string | number)[] = [];
const kinds: number[] = [];
let found: Violation[] | undefined;

/** Throws BerthError(Serialization) on a type mismatch, BerthError(Validation) on violations. */
export function validateInput(model: ServiceModel, shapeName: string, value: unknown): void {
  const violations = findViolations(model, shapeName, value);
  if (violations.length === 0) return;
  const n = violations.length;
  const listed = violations.slice(0, MAX_LISTED).map((v) => v.message).join("; ");
  throw new BerthError(ErrorCode.Validation, `${n} validation error${n === 1 ? "" : "s"} detected: ${listed}`);
}

const NONE: readonly Violation[] = Object.freeze([]);

/** Every constraint violation in `value`; throws BerthError(Serialization) on a type mismatch. */
export function findViolations(model: ServiceModel, shapeName: string, value: unknown): readonly Violation[] {
  found = undefined;
  check(model, shapeName, value ?? {}, 0, false);
  const result = found ?? NONE;
  found = undefined;
  return result;
}

function check(model: ServiceModel, name: string, value: unknown, depth: number, hidden: boolean): void {
  const shape = model.shapes[name];
  if (shape === undefined) throw new BerthError(ErrorCode.Internal, `The service model has no shape '${name}'.`);
  if (!fits(shape, value)) throw mismatch(shape.type, value, depth);
  const secret = hidden || shape.sensitive === true;
  const failed = failures(shape, value);
  if (failed !== 0) for (const bit of BITS) if ((failed & bit) !== 0) violate(model, name, value, depth, secret, constraintText(shape, bit));
  if (shape.type === "structure" && shape.document !== true) {
    checkMembers(model, shape, value as Record<string, unknown>, depth, secret);
  } else if (shape.type === "list") {
    const items = value as unknown[];
    kinds[depth] = INDEX;
    for (let i = 0; i < items.length; i++) element(model, shape.member, items[i], i, depth, secret);
  } else if (shape.type === "map") {
    const entries = value as Record<string, unknown>;
    const keyShape = model.shapes[shape.key.shape];
    let keysReported = keyShape === undefined;
    kinds[depth] = KEY;
    for (const key in entries) {
      if (!keysReported && failures(keyShape!, key) !== 0) {
        // A key has no path of its own: Coral names the map and lists every key constraint.
        keysReported = true;
        violate(model, name, value, depth, secret, `Map keys must satisfy constraint: [${declared(keyShape!)}]`);
      }
      element(model, shape.value, entries[key], key, depth, secret);
    }
  }
}

function checkMembers(model: ServiceModel, shape: StructureShape, obj: Record<string, unknown>, depth: number, secret: boolean): void {
  kinds[depth] = MEMBER;
  for (const name in shape.members) {
    const member = shape.members[name]!;
    const value = obj[name];
    segments[depth] = name;
    // hasOwn only after a hit: it keeps prototype properties (`constructor`) from passing as members.
    if (value === undefined || value === null || !Object.hasOwn(obj, name)) {
      if (shape.required !== undefined && shape.required.includes(name)) {
        violate(model, member.shape, null, depth + 1, secret, "Member must not be null");
      }
      continue;
    }
    check(model, member.shape, value, depth + 1, secret || member.sensitive === true);
  }
}

/** A list element or map value at `segment` under `depth`: never null, else checked like any value. */
function element(model: ServiceModel, ref: MemberModel, value: unknown, segment: string | number, depth: number, secret: boolean): void {
  segments[depth] = segment;
  if (value === null || value === undefined) violate(model, ref.shape, null, depth + 1, secret, "Member must not be null");
  else check(model, ref.shape, value, depth + 1, secret || ref.sensitive === true);
}

function fits(shape: ShapeModel, value: unknown): boolean {
  switch (shape.type) {
    case "structure": return shape.document === true || isObject(value);
    case "map": return isObject(value);
    case "list": return Array.isArray(value);
    case "string": return typeof value === "string";
    case "boolean": return typeof value === "boolean";
    case "integer": return Number.isInteger(value) && (value as number) >= INT_MIN && (value as number) <= INT_MAX;
    case "long": return Number.isInteger(value);
    case "double":
    case "float": return typeof value === "number" || value === "NaN" || value === "Infinity" || value === "-Infinity";
    case "timestamp": return typeof value === "number" ? Number.isFinite(value) : typeof value === "string" && !Number.isNaN(Date.parse(value));
    case "blob": return typeof value === "string" && BASE64.test(value);
    case "document": return true;
  }
}

/** Bit set of the constraints of `shape` that `value` (already known to fit) breaks. */
function failures(shape: ShapeModel, value: unknown): number {
  switch (shape.type) {
    case "string": {
      const text = value as string;
      let bits = lengthBits(shape, text.length);
      if (shape.pattern !== undefined && compiled(shape.pattern)?.test(text) === false) bits |= PATTERN;
      if (shape.enum !== undefined && !shape.enum.includes(text)) bits |= ENUM;
      return bits;
    }
    case "list": return lengthBits(shape, (value as unknown[]).length);
    case "map": {
      let size = 0;
      for (const _ in value as object) size++;
      return lengthBits(shape, size);
    }
    case "blob": {
      const text = value as string;
      const padding = text.endsWith("==") ? 2 : text.endsWith("=") ? 1 : 0;
      return lengthBits(shape, Math.floor(((text.length - padding) * 3) / 4));
    }
    case "integer":
    case "long":
    case "double":
    case "float":
      if (typeof value !== "number") return 0; // "NaN" and friends
      return (shape.max !== undefined && value > shape.max ? VAL_MAX : 0) | (shape.min !== undefined && value < shape.min ? VAL_MIN : 0);
    default: return 0;
  }
}

function lengthBits(shape: { min?: number; max?: number }, length: number): number {
  return (shape.max !== undefined && length > shape.max ? LEN_MAX : 0) | (shape.min !== undefined && length < shape.min ? LEN_MIN : 0);
}

type Constrained = { min?: number; max?: number; pattern?: string; enum?: string[] };

function constraintText(shape: ShapeModel, bit: number): string {
  const c = shape as Constrained;
  switch (bit) {
    case LEN_MAX: return `Member must have length less than or equal to ${c.max}`;
    case LEN_MIN: return `Member must have length greater than or equal to ${c.min}`;
    case VAL_MAX: return `Member must have value less than or equal to ${c.max}`;
    case VAL_MIN: return `Member must have value greater than or equal to ${c.min}`;
    case PATTERN: return `Member must satisfy regular expression pattern: ${c.pattern}`;
    default: return `Member must satisfy enum value set: [${c.enum?.join(", ")}]`;
  }
}

/** Every constraint a string shape declares, for the `Map keys must satisfy` form. */
function declared(shape: ShapeModel): string {
  const c = shape as Constrained;
  const bits = (c.max !== undefined ? LEN_MAX : 0) | (c.min ? LEN_MIN : 0) | (c.pattern !== undefined ? PATTERN : 0) | (c.enum ? ENUM : 0);
  return BITS.filter((bit) => (bits & bit) !== 0).map((bit) => constraintText(shape, bit)).join(", ");
}

const patterns = new Map<string, RegExp | null>();

/** The model pattern as an anchored JS RegExp, or null when JS cannot express it (check skipped). */
function compiled(pattern: string): RegExp | null {
  let re = patterns.get(pattern);
  if (re === undefined) patterns.set(pattern, (re = compile(pattern)));
  return re;
}

function compile(pattern: string): RegExp | null {
  const inline = /^\(\?([is]+)\)/.exec(pattern); // Java's leading (?i) or (?s): JS wants flags
  const flags = inline?.[1] ?? "";
  const source = `^(?:${pattern.slice(inline?.[0].length ?? 0)})$`;
  try {
    return new RegExp(source, `${flags}u`);
  } catch {
    // Java accepts escapes like `\:` that unicode mode rejects; without `u` they mean the same,
    // but `\p{…}` and `\u{…}` would not, so such patterns go unchecked.
  }
  try {
    return /\\[pPu]\{/.test(source) ? null : new RegExp(source, flags);
  } catch {
    return null;
  }
}

function violate(model: ServiceModel, shapeName: string, value: unknown, depth: number, secret: boolean, constraint: string): void {
  const path = pathText(depth);
  const shown = value === null ? "null " : secret || holdsSecret(model, shapeName) ? "" : `'${echo(model.shapes[shapeName], value)}' `;
  (found ??= []).push({ path, message: `Value ${shown}at '${path}' failed to satisfy constraint: ${constraint}` });
}

function pathText(depth: number): string {
  let path = "";
  for (let i = 0; i < depth; i++) {
    const s = segments[i]!;
    const part = kinds[i] === INDEX ? `${(s as number) + 1}.member` : kinds[i] === KEY ? `${s}.member` : lowerFirst(s as string);
    path = i === 0 ? part : `${path}.${part}`;
  }
  return path;
}

/** Java-style text of a value, as Coral prints it: `x`, `5.0`, `[a, b]`, `{k=v}`; clipped. */
function echo(shape: ShapeModel | undefined, value: unknown): string {
  if (typeof value === "string") return value.length > STRING_ECHO_LIMIT ? `${value.slice(0, STRING_ECHO_LIMIT)}...` : value;
  const decimal = shape?.type === "double" || shape?.type === "float";
  if (decimal && typeof value === "number" && Number.isInteger(value)) return value.toFixed(1); // Java's 2.0
  const text = javaText(value);
  return text.length > ECHO_LIMIT ? `${text.slice(0, ECHO_LIMIT)}...` : text;
}

function javaText(value: unknown): string {
  if (Array.isArray(value)) {
    let text = "[";
    for (let i = 0; i < value.length && text.length <= ECHO_LIMIT; i++) text += (i === 0 ? "" : ", ") + javaText(value[i]);
    return `${text}]`;
  }
  if (isObject(value)) {
    let text = "{";
    for (const key in value) {
      if (text.length <= ECHO_LIMIT) text += `${text.length === 1 ? "" : ", "}${key}=${javaText(value[key])}`;
    }
    return `${text}}`;
  }
  return String(value);
}

const secretShapes = new WeakMap<ServiceModel, Map<string, boolean>>();

/** Whether a value of this shape can contain a sensitive value anywhere inside it (memoized). */
function holdsSecret(model: ServiceModel, name: string): boolean {
  let memo = secretShapes.get(model);
  if (memo === undefined) secretShapes.set(model, (memo = new Map()));
  const known = memo.get(name);
  if (known !== undefined) return known;
  memo.set(name, true); // a recursive reference counts as secret while being resolved: hiding is safe
  const shape = model.shapes[name];
  const refs: MemberModel[] =
    shape?.type === "structure" ? Object.values(shape.members)
    : shape?.type === "list" ? [shape.member]
    : shape?.type === "map" ? [shape.key, shape.value]
    : [];
  const result = shape?.sensitive === true || refs.some((ref) => ref.sensitive === true || holdsSecret(model, ref.shape));
  memo.set(name, result);
  return result;
}

function mismatch(expected: string, value: unknown, depth: number): BerthError {
  const got = value === null ? "null" : Array.isArray(value) ? "array" : typeof value;
  const where = depth === 0 ? "in the request body" : `at '${pathText(depth)}'`;
  return new BerthError(ErrorCode.Serialization, `Unexpected value type ${where}: expected ${expected}, got ${got}`);
}

const lowerFirst = (name: string): string => name.charAt(0).toLowerCase() + name.slice(1);

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}
