/**
 * The berth CLI's way to Berth's public API: POSTs signed with SigV4, as any AWS client sends
 * them, in AWS JSON 1.1 or the query protocol. Only what the CLI needs: POST "/", no query
 * string; JSON in and out, or form parameters in and XML out.
 */
import { createHash, createHmac } from "node:crypto";
import { deriveSigningKey } from "../core/sigv4-key.ts";

export interface Credentials {
  accessKeyId: string;
  secretAccessKey: string;
}

export interface JsonEndpoint {
  url: string;
  region: string;
  credentials: Credentials;
}

export class ApiError extends Error {
  constructor(readonly exception: string, message: string) {
    super(`${exception}: ${message}`);
  }
}

const sha256 = (text: string): string => createHash("sha256").update(text).digest("hex");

/** Calls `<target>` of a JSON service (e.g. "Logs_20140328.FilterLogEvents"). */
export async function callJson<T>(endpoint: JsonEndpoint, service: string, target: string, input: object): Promise<T> {
  const { ok, status, text } = await signedPost(endpoint, service, "application/x-amz-json-1.1", JSON.stringify(input), { "x-amz-target": target });
  const parsed = text ? (JSON.parse(text) as Record<string, unknown>) : {};
  if (!ok) throw new ApiError(String(parsed["__type"] ?? status), String(parsed["message"] ?? text));
  return parsed as T;
}

/** Calls `Action` of a query service (e.g. ELBv2's DescribeLoadBalancers); returns the XML. */
export async function callQuery(endpoint: JsonEndpoint, service: string, params: Record<string, string>): Promise<string> {
  const body = new URLSearchParams(params).toString();
  const { ok, status, text } = await signedPost(endpoint, service, "application/x-www-form-urlencoded; charset=utf-8", body, {});
  if (!ok) {
    const code = /<Code>([^<]*)<\/Code>/.exec(text)?.[1] ?? String(status);
    throw new ApiError(code, /<Message>([^<]*)<\/Message>/.exec(text)?.[1] ?? text);
  }
  return text;
}

async function signedPost(
  endpoint: JsonEndpoint,
  service: string,
  contentType: string,
  body: string,
  extra: Record<string, string>,
): Promise<{ ok: boolean; status: number; text: string }> {
  const url = new URL(endpoint.url);
  const amzDate = new Date().toISOString().replace(/[-:]/g, "").replace(/\.\d{3}/, "");
  const shortDate = amzDate.slice(0, 8);
  const headers: Record<string, string> = { host: url.host, "content-type": contentType, "x-amz-date": amzDate, ...extra };
  const names = Object.keys(headers).sort();
  const canonical = ["POST", "/", "", ...names.map((n) => `${n}:${headers[n]}`), "", names.join(";"), sha256(body)].join("\n");
  const scope = `${shortDate}/${endpoint.region}/${service}/aws4_request`;
  const stringToSign = ["AWS4-HMAC-SHA256", amzDate, scope, sha256(canonical)].join("\n");
  const key = deriveSigningKey(endpoint.credentials.secretAccessKey, shortDate, endpoint.region, service);
  const signature = createHmac("sha256", key).update(stringToSign).digest("hex");
  const { host: _host, ...sent } = headers;
  const res = await fetch(new URL("/", url), {
    method: "POST",
    headers: {
      ...sent,
      authorization: `AWS4-HMAC-SHA256 Credential=${endpoint.credentials.accessKeyId}/${scope}, SignedHeaders=${names.join(";")}, Signature=${signature}`,
    },
    body,
  });
  return { ok: res.ok, status: res.status, text: await res.text() };
}
