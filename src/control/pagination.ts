/**
 * ECS's list pagination: `maxResults` 1–100 (default 100) and an opaque `nextToken` that is
 * the store's cursor, base64url-encoded with a version tag so a foreign token is refused.
 */
import { invalidParameter } from "../core/errors.ts";
import type { Page, PageRequest } from "../store/store.ts";

const TOKEN_PREFIX = "b1:";

export function pageRequest(nextToken: string | undefined, maxResults: number | undefined, max = 100): PageRequest {
  if (maxResults !== undefined && (!Number.isInteger(maxResults) || maxResults < 1 || maxResults > max)) {
    throw invalidParameter(`maxResults must be between 1 and ${max}.`);
  }
  const request: PageRequest = { limit: maxResults ?? max };
  if (nextToken !== undefined && nextToken !== "") request.after = decodeToken(nextToken);
  return request;
}

export function encodeToken(cursor: string): string {
  return Buffer.from(TOKEN_PREFIX + cursor, "utf8").toString("base64url");
}

function decodeToken(token: string): string {
  const text = Buffer.from(token, "base64url").toString("utf8");
  if (!text.startsWith(TOKEN_PREFIX)) throw invalidParameter("The nextToken is invalid.");
  return text.slice(TOKEN_PREFIX.length);
}

/** The wire form of a page: items plus nextToken only when another page exists. */
export function withToken<T, K extends string>(page: Page<T>, key: K): Record<K, T[]> & { nextToken?: string } {
  const out = { [key]: page.items } as Record<K, T[]> & { nextToken?: string };
  if (page.next !== undefined) out.nextToken = encodeToken(page.next);
  return out;
}
