/**
 * Resource tags: ECS's limits (50 per resource; keys 1–128, values 0–256 characters, checked
 * against the model by the API layer) and the rule that the `aws:` prefix is reserved.
 */
import { invalidParameter } from "../core/errors.ts";

export interface Tag {
  key: string;
  value: string;
}

export const MAX_TAGS_PER_RESOURCE = 50;

export function assertUserTags(tags: readonly Tag[]): void {
  for (const t of tags) {
    if (t.key.toLowerCase().startsWith("aws:")) {
      throw invalidParameter("Tag keys beginning with 'aws:' are reserved for AWS use.");
    }
  }
}

/** Apply tag changes: a key given again replaces its value. */
export function mergeTags(current: readonly Tag[], added: readonly Tag[]): Tag[] {
  const merged = new Map(current.map((t) => [t.key, t.value] as const));
  for (const t of added) merged.set(t.key, t.value);
  if (merged.size > MAX_TAGS_PER_RESOURCE) {
    throw invalidParameter(`The number of tags for the resource exceeds the limit of ${MAX_TAGS_PER_RESOURCE}.`);
  }
  return [...merged].map(([key, value]) => ({ key, value }));
}
