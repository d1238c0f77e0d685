/**
 * Envelope encryption of secret values. Each value gets a fresh random 256-bit data key; the
 * value is sealed with AES-256-GCM under that key, and the data key is sealed with AES-256-GCM
 * under the master key (which never enters the database). Both seals authenticate the row's
 * identity as additional data, so a ciphertext moved to another row (another secret, version or
 * parameter) fails to open. A sealed value is one self-describing blob:
 *
 *   version(1) | key iv(12) | wrapped key(32) | key tag(16) | value iv(12) | value tag(16) | value
 *
 * Opening never reveals why it failed beyond DecryptionFailure: no value, key or AAD in messages.
 */
import { createCipheriv, createDecipheriv, createHmac, randomBytes } from "node:crypto";
import { BerthError, ErrorCode } from "../core/errors.ts";
import type { TextSealer } from "../core/sealer.ts";

const FORMAT = 1;
const IV = 12;
const TAG = 16;
const KEY = 32;
const HEADER = 1 + IV + KEY + TAG + IV + TAG;

export class Envelope {
  constructor(private readonly masterKey: Buffer) {
    if (masterKey.length !== KEY) throw new Error("the master key must be 32 bytes");
  }

  /** A fingerprint of the master key (HMAC of a constant), stored to detect a wrong key at start. */
  fingerprint(): string {
    return createHmac("sha256", this.masterKey).update("berth secrets master key check v1").digest("hex");
  }

  seal(plaintext: Uint8Array, identity: string): Buffer {
    const aad = Buffer.from(identity, "utf8");
    const dataKey = randomBytes(KEY);
    try {
      const keyIv = randomBytes(IV);
      const wrap = createCipheriv("aes-256-gcm", this.masterKey, keyIv).setAAD(aad);
      const wrapped = Buffer.concat([wrap.update(dataKey), wrap.final()]);
      const valueIv = randomBytes(IV);
      const seal = createCipheriv("aes-256-gcm", dataKey, valueIv).setAAD(aad);
      const body = Buffer.concat([seal.update(plaintext), seal.final()]);
      return Buffer.concat([Buffer.from([FORMAT]), keyIv, wrapped, wrap.getAuthTag(), valueIv, seal.getAuthTag(), body]);
    } finally {
      dataKey.fill(0);
    }
  }

  /** Texts sealed as base64, bound to `<purpose>:<identity>` (IAM key secrets, ACM private keys). */
  textSealer(purpose: string): TextSealer {
    return {
      seal: (text, identity) => this.seal(Buffer.from(text, "utf8"), `${purpose}:${identity}`).toString("base64"),
      open: (sealed, identity) => this.open(Buffer.from(sealed, "base64"), `${purpose}:${identity}`).toString("utf8"),
    };
  }

  open(sealed: Uint8Array, identity: string): Buffer {
    const blob = Buffer.from(sealed.buffer, sealed.byteOffset, sealed.byteLength);
    if (blob.length < HEADER || blob[0] !== FORMAT) throw decryptionFailure();
    const aad = Buffer.from(identity, "utf8");
    let at = 1;
    const take = (n: number): Buffer => blob.subarray(at, (at += n));
    const keyIv = take(IV);
    const wrapped = take(KEY);
    const keyTag = take(TAG);
    const valueIv = take(IV);
    const valueTag = take(TAG);
    const body = blob.subarray(at);
    let dataKey: Buffer | undefined;
    try {
      const unwrap = createDecipheriv("aes-256-gcm", this.masterKey, keyIv).setAAD(aad).setAuthTag(keyTag);
      dataKey = Buffer.concat([unwrap.update(wrapped), unwrap.final()]);
      const open = createDecipheriv("aes-256-gcm", dataKey, valueIv).setAAD(aad).setAuthTag(valueTag);
      return Buffer.concat([open.update(body), open.final()]);
    } catch {
      throw decryptionFailure();
    } finally {
      dataKey?.fill(0);
    }
  }
}

function decryptionFailure(): BerthError {
  return new BerthError(ErrorCode.DecryptionFailure, "Secrets Manager can't decrypt the protected secret text using the provided KMS key.");
}
