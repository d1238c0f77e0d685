/**
 * The SigV4 signing key: HMAC-SHA256 chained over date, region, service and "aws4_request",
 * starting from "AWS4" + the secret. Shared by the API's verifier and the berth CLI's signer.
 */
import { createHmac } from "node:crypto";

export function deriveSigningKey(secret: string, shortDate: string, region: string, service: string): Buffer {
  return [shortDate, region, service, "aws4_request"].reduce(
    (k: Buffer, part) => createHmac("sha256", k).update(part).digest(),
    Buffer.from(`AWS4${secret}`, "utf8"),
  );
}
