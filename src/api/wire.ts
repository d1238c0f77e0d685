/**
 * Small helpers every service's handlers share when turning validated wire input into
 * commands: dropping absent members (exactOptionalPropertyTypes) and ECS-style tag lists.
 */
import type { Tag } from "../domain/tags.ts";

/** Drops undefined and null members so commands satisfy exactOptionalPropertyTypes. */
export function defined<T extends object>(input: T): { [K in keyof T]: Exclude<T[K], undefined | null> } {
  return Object.fromEntries(Object.entries(input).filter(([, v]) => v !== undefined && v !== null)) as never;
}

/** The strings of a decoded list member (a resource resolver's input is not typed). */
export const stringList = (v: unknown): string[] => (Array.isArray(v) ? v.filter((x): x is string => typeof x === "string") : []);

/** ECS's `[{key, value}]` tags (both optional on the wire) as domain tags. */
export const asTags = (list: readonly { key?: string; value?: string }[] | undefined): Tag[] =>
  (list ?? []).map((t) => ({ key: t.key ?? "", value: t.value ?? "" }));
