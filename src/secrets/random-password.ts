/**
 * GetRandomPassword: characters drawn uniformly with node:crypto randomInt from the classes the
 * options leave in, at least one of each class when RequireEachIncludedType (the default).
 */
import { randomInt } from "node:crypto";
import { BerthError, ErrorCode } from "../core/errors.ts";
import type { RandomPasswordOptions } from "../domain/secrets.ts";

const LOWER = "abcdefghijklmnopqrstuvwxyz";
const UPPER = "ABCDEFGHIJKLMNOPQRSTUVWXYZ";
const DIGITS = "0123456789";
const PUNCTUATION = "!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~";

export function randomPassword(options: RandomPasswordOptions): string {
  const length = options.passwordLength ?? 32;
  const excluded = new Set(options.excludeCharacters ?? "");
  const keep = (chars: string): string => [...chars].filter((c) => !excluded.has(c)).join("");
  const classes = [
    options.excludeLowercase ? "" : keep(LOWER),
    options.excludeUppercase ? "" : keep(UPPER),
    options.excludeNumbers ? "" : keep(DIGITS),
    options.excludePunctuation ? "" : keep(PUNCTUATION),
    options.includeSpace ? keep(" ") : "",
  ].filter((c) => c.length > 0);
  const all = classes.join("");
  if (all.length === 0) {
    throw new BerthError(ErrorCode.InvalidParameter, "The password can't be generated: every character type is excluded.");
  }
  const required = options.requireEachIncludedType ?? true;
  if (required && length < classes.length) {
    throw new BerthError(ErrorCode.InvalidParameter, "Password length is too short based on the required types.");
  }
  const chars: string[] = [];
  if (required) for (const c of classes) chars.push(c[randomInt(c.length)]!);
  while (chars.length < length) chars.push(all[randomInt(all.length)]!);
  // Shuffle so the required characters are not always first (Fisher-Yates).
  for (let i = chars.length - 1; i > 0; i--) {
    const j = randomInt(i + 1);
    [chars[i], chars[j]] = [chars[j]!, chars[i]!];
  }
  return chars.join("");
}
