/**
 * AWS Signature Version 4 verification, server side. Owns reading the client's claim (the
 * Authorization header or a presigned query string), rebuilding the canonical request the way
 * the AWS SDKs build it, the clock-skew and expiry checks, and the constant-time comparison.
 * Failures are SigV4Errors carrying AWS's exception name. It never decides what a verified
 * caller may do (that is authorisation), and never logs secrets.
 */
import { createHash, createHmac, timingSafeEqual } from "node:crypto";
import { deriveSigningKey } from "../core/sigv4-key.ts";

export interface SignedRequest {
  method: string;
  /** Raw request path without the query, percent-encoded as received. */
  path: string;
  /** Raw query string without "?", may be "". */
  query: string;
  /** node's IncomingMessage.headers: lower-case names. */
  headers: Record<string, string | string[] | undefined>;
  body: Buffer;
}

export interface SigningCredential {
  accessKeyId: string;
  secretAccessKey: string;
  principal: unknown;
  /** Temporary credentials: the X-Amz-Security-Token every request with this key must carry. */
  sessionToken?: string;
  /** Temporary credentials: epoch ms from which the key is refused as expired. */
  expiresAt?: number;
}

export type CredentialLookup = (accessKeyId: string) => SigningCredential | undefined;

export interface VerifiedCaller {
  accessKeyId: string;
  region: string;
  service: string;
  principal: unknown;
  /** As sent; a temporary credential's token has been checked against it. */
  sessionToken?: string;
}

export type AuthException =
  | "MissingAuthenticationTokenException"
  | "IncompleteSignatureException"
  | "InvalidSignatureException"
  | "UnrecognizedClientException"
  | "ExpiredTokenException"
  | "SignatureDoesNotMatch";

export class SigV4Error extends Error {
  constructor(readonly exception: AuthException, message: string) {
    super(message);
    this.name = "SigV4Error";
  }
}

const AUTH_ERROR_STATUS: Record<AuthException, number> = {
  MissingAuthenticationTokenException: 403,
  IncompleteSignatureException: 400,
  InvalidSignatureException: 403,
  UnrecognizedClientException: 403,
  ExpiredTokenException: 400,
  SignatureDoesNotMatch: 403,
};

export function authErrorStatus(exception: AuthException): number {
  return AUTH_ERROR_STATUS[exception];
}

const ALGORITHM = "AWS4-HMAC-SHA256";
const TERMINATOR = "aws4_request";
const UNSIGNED_PAYLOAD = "UNSIGNED-PAYLOAD";
const DEFAULT_MAX_SKEW_MS = 5 * 60_000;
const MAX_PRESIGNED_EXPIRES_SEC = 7 * 24 * 3600;
const QUERY_FIELDS = ["X-Amz-Algorithm", "X-Amz-Credential", "X-Amz-Date", "X-Amz-SignedHeaders", "X-Amz-Signature", "X-Amz-Expires"] as const;
const MISMATCH =
  "The request signature we calculated does not match the signature you provided. Check your AWS Secret Access Key and signing method. Consult the service documentation for details.";

type Param = readonly [key: string, value: string];
interface Scope { accessKeyId: string; shortDate: string; region: string; service: string }
/** What the client says it signed, before any of it is trusted. */
interface Claim extends Scope {
  signedHeaders: string[];
  signature: string;
  longDate: string;
  timeMs: number;
  expiresSec?: number; // presigned requests only
}

export function verifySigV4(
  req: SignedRequest,
  lookup: CredentialLookup,
  nowMs: number,
  options: { maxSkewMs?: number } = {},
): VerifiedCaller {
  const params = parseQuery(req.query);
  const claim = readClaim(req, params);
  checkClaim(claim);
  checkTime(claim, nowMs, options.maxSkewMs ?? DEFAULT_MAX_SKEW_MS);
  const credential = lookup(claim.accessKeyId);
  const sessionToken = headerValue(req.headers, "x-amz-security-token") ?? paramValue(params, "X-Amz-Security-Token");
  if (credential === undefined || (credential.sessionToken !== undefined && !sameSignature(credential.sessionToken, sessionToken ?? ""))) {
    throw new SigV4Error("UnrecognizedClientException", "The security token included in the request is invalid.");
  }
  if (credential.expiresAt !== undefined && nowMs >= credential.expiresAt) {
    throw new SigV4Error("ExpiredTokenException", "The security token included in the request is expired");
  }
  const key = signingKey(credential.secretAccessKey, claim);
  const scope = `${claim.shortDate}/${claim.region}/${claim.service}/${TERMINATOR}`;
  // Several candidates only for presigned requests, whose payload convention differs by SDK.
  const matched = payloadHashes(req, claim).some((payloadHash) => {
    const canonical = canonicalRequest(req, params, claim.signedHeaders, payloadHash);
    const stringToSign = [ALGORITHM, claim.longDate, scope, sha256Hex(canonical)].join("\n");
    return sameSignature(createHmac("sha256", key).update(stringToSign).digest("hex"), claim.signature);
  });
  if (!matched) throw invalid(MISMATCH);
  const { accessKeyId, region, service } = claim;
  return { accessKeyId, region, service, principal: credential.principal, ...(sessionToken === undefined ? {} : { sessionToken }) };
}

const invalid = (message: string) => new SigV4Error("InvalidSignatureException", message);
const incomplete = (message: string) => new SigV4Error("IncompleteSignatureException", message);

function readClaim(req: SignedRequest, params: Param[]): Claim {
  const authorization = headerValue(req.headers, "authorization");
  const presigned = paramValue(params, "X-Amz-Algorithm") !== undefined;
  if (authorization !== undefined && presigned) {
    throw incomplete("Only one auth mechanism allowed; only the X-Amz-Algorithm query parameter or the Authorization header should be specified.");
  }
  if (authorization !== undefined) return headerClaim(authorization, req.headers);
  if (presigned) return queryClaim(params);
  throw new SigV4Error("MissingAuthenticationTokenException", "Missing Authentication Token");
}

function headerClaim(authorization: string, headers: SignedRequest["headers"]): Claim {
  const [algorithm, rest] = splitOnce(authorization.trim(), " ");
  if (algorithm !== ALGORITHM) throw incomplete(`Unsupported AWS 'algorithm': '${algorithm}'. Authorization=${authorization}`);
  const fields = new Map((rest ?? "").split(",").map((field) => splitOnce(field.trim(), "=")));
  const credential = fields.get("Credential");
  const signedHeaders = fields.get("SignedHeaders");
  const signature = fields.get("Signature");
  const amzDate = headerValue(headers, "x-amz-date");
  const date = amzDate ?? headerValue(headers, "date");
  if (credential === undefined || signedHeaders === undefined || signature === undefined || date === undefined) {
    const missing = [["Credential", credential], ["SignedHeaders", signedHeaders], ["Signature", signature]]
      .filter(([, value]) => value === undefined)
      .map(([name]) => `Authorization header requires '${name}' parameter.`);
    if (date === undefined) missing.push("Authorization header requires existence of either a 'X-Amz-Date' or a 'Date' header.");
    throw incomplete(`${missing.join(" ")} Authorization=${authorization}`);
  }
  const time = amzDate === undefined ? parseHttpDate(date) : parseBasicDate(date);
  return { ...parseCredential(credential), signedHeaders: signedHeaders.split(";"), signature, ...time };
}

function queryClaim(params: Param[]): Claim {
  const [algorithm, credential, date, signedHeaders, signature, expires] = QUERY_FIELDS.map((name) => paramValue(params, name));
  if (algorithm === undefined || credential === undefined || date === undefined ||
      signedHeaders === undefined || signature === undefined || expires === undefined) {
    const missing = QUERY_FIELDS.filter((name) => paramValue(params, name) === undefined);
    throw incomplete(`${missing.map((name) => `AWS query-string parameters must include '${name}'.`).join(" ")} Re-examine the query-string parameters.`);
  }
  if (algorithm !== ALGORITHM) throw incomplete(`Unsupported AWS 'algorithm': '${algorithm}'.`);
  const expiresSec = Number(expires);
  if (!/^\d+$/.test(expires) || expiresSec > MAX_PRESIGNED_EXPIRES_SEC) {
    throw incomplete(`X-Amz-Expires must be a whole number of seconds no greater than ${MAX_PRESIGNED_EXPIRES_SEC}, not '${expires}'.`);
  }
  return { ...parseCredential(credential), signedHeaders: signedHeaders.split(";"), signature, ...parseBasicDate(date), expiresSec };
}

function parseCredential(credential: string): Scope {
  const parts = credential.split("/");
  const [accessKeyId = "", shortDate = "", region = "", service = "", terminator = ""] = parts;
  if (parts.length !== 5 || [accessKeyId, shortDate, region, service].includes("")) {
    throw incomplete(`Credential should be scoped as '<access key>/<date>/<region>/<service>/${TERMINATOR}', not '${credential}'.`);
  }
  if (terminator !== TERMINATOR) {
    throw incomplete(`Credential should be scoped with a valid terminator: '${TERMINATOR}', not '${terminator}'.`);
  }
  return { accessKeyId, shortDate, region, service };
}

function checkClaim(claim: Claim): void {
  if (!claim.signedHeaders.includes("host") && !claim.signedHeaders.includes(":authority")) {
    throw invalid("'Host' or ':authority' must be a 'SignedHeader' in the AWS Authorization.");
  }
  const day = claim.longDate.slice(0, 8);
  if (claim.shortDate !== day) {
    throw invalid(`Date in Credential scope does not match YYYYMMDD from ISO-8601 version of date from HTTP: '${claim.shortDate}' != '${day}', from '${claim.longDate}'.`);
  }
}

function checkTime(claim: Claim, nowMs: number, maxSkewMs: number): void {
  const now = basicDate(nowMs);
  const skew = `${maxSkewMs / 60_000} min.`;
  if (claim.timeMs > nowMs + maxSkewMs) {
    throw invalid(`Signature not yet current: ${claim.longDate} is still later than ${basicDate(nowMs + maxSkewMs)} (${now} + ${skew})`);
  }
  // A presigned URL is meant to be used later: its own lifetime replaces the skew window.
  const [windowMs, window] = claim.expiresSec === undefined
    ? [maxSkewMs, skew]
    : [claim.expiresSec * 1000, `${claim.expiresSec} sec.`];
  if (claim.timeMs < nowMs - windowMs) {
    throw invalid(`Signature expired: ${claim.longDate} is now earlier than ${basicDate(nowMs - windowMs)} (${now} - ${window})`);
  }
}

const BASIC_ISO = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/;

function parseBasicDate(raw: string): { longDate: string; timeMs: number } {
  const m = BASIC_ISO.exec(raw);
  const timeMs = m ? Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3]), Number(m[4]), Number(m[5]), Number(m[6])) : NaN;
  // The round trip rejects dates Date.UTC would roll over, such as month 13.
  if (Number.isNaN(timeMs) || basicDate(timeMs) !== raw) {
    throw incomplete(`Date must be in ISO-8601 'basic format'. Got '${raw}'. See http://docs.aws.amazon.com/general/latest/gr/sigv4-date-handling.html`);
  }
  return { longDate: raw, timeMs };
}

/** The Date header may be ISO-8601 basic or an HTTP date; either signs as ISO-8601 basic. */
function parseHttpDate(raw: string): { longDate: string; timeMs: number } {
  const timeMs = Date.parse(raw);
  // Anything that is not an HTTP date gets the ISO-8601 checks and AWS's message for them.
  if (BASIC_ISO.test(raw) || Number.isNaN(timeMs)) return parseBasicDate(raw);
  return { longDate: basicDate(timeMs), timeMs };
}

function basicDate(ms: number): string {
  return new Date(ms).toISOString().replace(/[-:]|\.\d{3}/g, "");
}

function payloadHashes(req: SignedRequest, claim: Claim): string[] {
  const bodyHash = sha256Hex(req.body);
  // S3 presigns with UNSIGNED-PAYLOAD; the SDKs presign other services with the body's hash.
  if (claim.expiresSec !== undefined) return [bodyHash, UNSIGNED_PAYLOAD];
  const declared = headerValue(req.headers, "x-amz-content-sha256");
  if (declared === undefined) return [bodyHash];
  if (declared !== UNSIGNED_PAYLOAD && declared !== bodyHash) {
    throw invalid("The provided 'x-amz-content-sha256' header does not match what was computed.");
  }
  return [declared];
}

function canonicalRequest(req: SignedRequest, params: Param[], signedHeaders: string[], payloadHash: string): string {
  const headers = signedHeaders.map((name) => `${name}:${canonicalHeaderValue(ownValue(req.headers, name.toLowerCase()))}\n`);
  return [req.method, canonicalUri(req.path), canonicalQuery(params), headers.join(""), signedHeaders.join(";"), payloadHash].join("\n");
}

/** Normalises "." and ".." and empty segments like the SDKs, then encodes the encoded path again. */
function canonicalUri(path: string): string {
  const segments: string[] = [];
  for (const segment of path.split("/")) {
    if (segment === "" || segment === ".") continue;
    if (segment === "..") segments.pop();
    else segments.push(segment);
  }
  const trailing = segments.length > 0 && path.endsWith("/") ? "/" : "";
  return `/${segments.map(uriEncode).join("/")}${trailing}`;
}

function canonicalQuery(params: Param[]): string {
  return params
    .filter(([key]) => key.toLowerCase() !== "x-amz-signature")
    .map(([key, value]) => [uriEncode(key), uriEncode(value)] as const)
    .sort(([ka, va], [kb, vb]) => compare(ka, kb) || compare(va, vb))
    .map(([key, value]) => `${key}=${value}`)
    .join("&");
}

function canonicalHeaderValue(value: string | string[] | undefined): string {
  const values = value === undefined ? [] : Array.isArray(value) ? value : [value];
  return values.map((v) => v.replace(/[\r\n]/g, " ").replace(/[ \t]+/g, " ").replace(/^ | $/g, "")).join(",");
}

function parseQuery(query: string): Param[] {
  const pairs = query.split("&").filter((pair) => pair !== "").map((pair) => splitOnce(pair, "="));
  return pairs.map(([key, value]) => [uriDecode(key), uriDecode(value ?? "")] as const);
}

/** RFC 3986: everything but A-Z a-z 0-9 - _ . ~ is percent-encoded from its UTF-8 bytes. */
function uriEncode(text: string): string {
  let out = "";
  for (const byte of Buffer.from(text, "utf8")) {
    const c = String.fromCharCode(byte);
    out += /[A-Za-z0-9\-_.~]/.test(c) ? c : `%${byte.toString(16).toUpperCase().padStart(2, "0")}`;
  }
  return out;
}

function uriDecode(text: string): string {
  try {
    return decodeURIComponent(text);
  } catch {
    return text; // malformed escapes are encoded as sent; the signature check then decides
  }
}

/** Derived signing keys by (secret, date, region, service); the oldest entry goes first. */
const keyCache = new Map<string, Buffer>();
const KEY_CACHE_LIMIT = 64;

function signingKey(secret: string, scope: Scope): Buffer {
  const cacheKey = JSON.stringify([secret, scope.shortDate, scope.region, scope.service]);
  const cached = keyCache.get(cacheKey);
  if (cached !== undefined) return cached;
  const key = deriveSigningKey(secret, scope.shortDate, scope.region, scope.service);
  const oldest = keyCache.size >= KEY_CACHE_LIMIT ? keyCache.keys().next() : undefined;
  if (oldest?.done === false) keyCache.delete(oldest.value);
  keyCache.set(cacheKey, key);
  return key;
}

function sameSignature(expected: string, provided: string): boolean {
  const a = Buffer.from(expected, "utf8");
  const b = Buffer.from(provided, "utf8");
  return a.length === b.length && timingSafeEqual(a, b);
}

const sha256Hex = (data: string | Buffer): string => createHash("sha256").update(data).digest("hex");
const compare = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);

function splitOnce(text: string, separator: string): [string, string | undefined] {
  const at = text.indexOf(separator);
  return at < 0 ? [text, undefined] : [text.slice(0, at), text.slice(at + separator.length)];
}

function ownValue(headers: SignedRequest["headers"], name: string): string | string[] | undefined {
  return Object.hasOwn(headers, name) ? headers[name] : undefined;
}

function headerValue(headers: SignedRequest["headers"], name: string): string | undefined {
  const value = ownValue(headers, name);
  return Array.isArray(value) ? value[0] : value;
}

const paramValue = (params: Param[], name: string): string | undefined => params.find(([key]) => key === name)?.[1];
