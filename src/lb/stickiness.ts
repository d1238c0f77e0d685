/**
 * ALB's duration-based stickiness cookies: AWSALB/AWSALBCORS name the target a client stays on
 * within one target group; AWSALBTG/AWSALBTGCORS name the target group a weighted forward keeps it
 * on. Values are opaque to clients (HMAC-signed with the data plane's key, so a client cannot
 * steer itself to a target of its choice).
 */
import { createHmac, timingSafeEqual } from "node:crypto";

export const TARGET_COOKIE = "AWSALB";
export const GROUP_COOKIE = "AWSALBTG";

/** Reads a cookie (or its CORS twin) from a Cookie header; the first occurrence wins. */
export function readCookie(header: string | undefined, name: string): string | undefined {
  if (!header) return undefined;
  let cors: string | undefined;
  for (const part of header.split(";")) {
    const eq = part.indexOf("=");
    if (eq === -1) continue;
    const key = part.slice(0, eq).trim();
    if (key === name) return part.slice(eq + 1).trim();
    if (key === `${name}CORS` && cors === undefined) cors = part.slice(eq + 1).trim();
  }
  return cors;
}

export function sealValue(key: Buffer, value: string): string {
  const body = Buffer.from(value).toString("base64url");
  return `${body}.${mac(key, body)}`;
}

export function openValue(key: Buffer, sealed: string | undefined): string | undefined {
  if (!sealed) return undefined;
  const dot = sealed.lastIndexOf(".");
  if (dot === -1) return undefined;
  const body = sealed.slice(0, dot);
  const given = Buffer.from(sealed.slice(dot + 1));
  const expected = Buffer.from(mac(key, body));
  if (given.length !== expected.length || !timingSafeEqual(given, expected)) return undefined;
  return Buffer.from(body, "base64url").toString();
}

/** The Set-Cookie values for a sticky choice: the cookie and its CORS twin (SameSite=None; Secure on HTTPS). */
export function stickyCookies(name: string, sealed: string, durationSeconds: number, now: number, secure: boolean): string[] {
  const expires = new Date(now + durationSeconds * 1000).toUTCString();
  return [`${name}=${sealed}; Expires=${expires}; Path=/`, `${name}CORS=${sealed}; Expires=${expires}; Path=/; SameSite=None${secure ? "; Secure" : ""}`];
}

function mac(key: Buffer, body: string): string {
  return createHmac("sha256", key).update(body).digest().subarray(0, 12).toString("base64url");
}
