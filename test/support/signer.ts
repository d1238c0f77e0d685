/**
 * Signing requests by hand for tests, with the AWS SDK's own SigV4 signer
 * (@smithy/signature-v4) on a node:crypto hash.
 */
import { createHash, createHmac, type Hash, type Hmac } from "node:crypto";
import { SignatureV4 } from "@smithy/signature-v4";

/** The smithy signer's hash port, backed by node:crypto (no @aws-crypto in node_modules). */
export class NodeSha256 {
  private hash: Hash | Hmac;
  constructor(private readonly secret?: string | ArrayBuffer | ArrayBufferView) {
    this.hash = this.fresh();
  }
  update(chunk: Uint8Array): void {
    this.hash.update(chunk);
  }
  async digest(): Promise<Uint8Array> {
    return new Uint8Array(this.hash.digest());
  }
  reset(): void {
    this.hash = this.fresh();
  }
  private fresh(): Hash | Hmac {
    const s = this.secret;
    if (s === undefined) return createHash("sha256");
    const key = typeof s === "string" ? s : ArrayBuffer.isView(s) ? new Uint8Array(s.buffer, s.byteOffset, s.byteLength) : new Uint8Array(s);
    return createHmac("sha256", key);
  }
}

export interface RawCall {
  url: string;
  accessKeyId: string;
  secretAccessKey: string;
  region?: string;
  service?: string;
  headers: Record<string, string>;
  body: string;
  /** Signing time; defaults to now. */
  at?: Date;
  /** Skip signing entirely. */
  unsigned?: boolean;
}

/** Sends one POST, signed (or not) as asked; returns status and parsed body text. */
export async function sendRaw(call: RawCall): Promise<{ status: number; body: string }> {
  const url = new URL(call.url);
  let headers: Record<string, string> = { host: url.host, ...call.headers };
  if (!call.unsigned) {
    const signer = new SignatureV4({
      credentials: { accessKeyId: call.accessKeyId, secretAccessKey: call.secretAccessKey },
      region: call.region ?? "us-east-1",
      service: call.service ?? "ecs",
      sha256: NodeSha256,
    });
    const signed = await signer.sign(
      { method: "POST", protocol: url.protocol, hostname: url.hostname, port: Number(url.port), path: "/", headers, body: call.body },
      call.at ? { signingDate: call.at } : {},
    );
    headers = signed.headers as Record<string, string>;
  }
  const { host: _host, ...sendHeaders } = headers;
  const res = await fetch(call.url, { method: "POST", headers: sendHeaders, body: call.body });
  return { status: res.status, body: await res.text() };
}
