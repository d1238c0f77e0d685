/**
 * The berth CLI's way to Berth's public API: AWS JSON 1.1 POSTs signed with SigV4, as any AWS
 * client sends them. Only what the CLI needs: POST "/", no query string, JSON in and out.
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
  const url = new URL(endpoint.url);
  const body = JSON.stringify(input);
  const amzDate = new Date().toISOString().replace(/[-:]/g, "").replace(/\.\d{3}/, "");
  const shortDate = amzDate.slice(0, 8);
  const headers: Record<string, string> = {
    host: url.host,
    "content-type": "application/x-amz-json-1.1",
    "x-amz-date": amzDate,
    "x-amz-target": target,
  };
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
  const text = await res.text();
  const parsed = text ? (JSON.parse(text) as Record<string, unknown>) : {};
  if (!res.ok) throw new ApiError(String(parsed["__type"] ?? res.status), String(parsed["message"] ?? text));
  return parsed as T;
}
