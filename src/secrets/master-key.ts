/**
 * Where the master key comes from, in order: the operator's key text (BERTH_MASTER_KEY: 64 hex
 * characters or base64 of 32 bytes), the operator's key file (`masterKeyFile`: 32 raw bytes, or
 * that text), else `<dataDir>/master.key`, created on first start with 32 random bytes, mode
 * 0600, atomically (written to a private temporary file, then hard-linked into place, so a
 * crash never leaves a short key and two starts never create two keys). Never logs the key.
 */
import { randomBytes } from "node:crypto";
import { closeSync, fsyncSync, linkSync, openSync, readFileSync, unlinkSync, writeSync } from "node:fs";
import { join } from "node:path";

export interface MasterKeySource {
  dataDir: string;
  /** Key text supplied by the operator (hex or base64). */
  keyText?: string;
  /** A file holding the key (32 raw bytes, or hex/base64 text). */
  keyFile?: string;
}

export const MASTER_KEY_FILE = "master.key";

export function loadMasterKey(source: MasterKeySource): Buffer {
  if (source.keyText !== undefined && source.keyText !== "") return decodeKeyText(source.keyText, "BERTH_MASTER_KEY");
  if (source.keyFile !== undefined) return decodeKeyFile(readFileSync(source.keyFile), source.keyFile);
  const path = join(source.dataDir, MASTER_KEY_FILE);
  try {
    return decodeKeyFile(readFileSync(path), path);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== "ENOENT") throw error;
  }
  return createKeyFile(path);
}

function createKeyFile(path: string): Buffer {
  const key = randomBytes(32);
  const temp = `${path}.${process.pid}.${randomBytes(4).toString("hex")}.tmp`;
  const fd = openSync(temp, "wx", 0o600);
  try {
    writeSync(fd, key);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  try {
    linkSync(temp, path);
  } catch (error) {
    // Another start created it first: use that one.
    if ((error as NodeJS.ErrnoException).code !== "EEXIST") throw error;
    unlinkSync(temp);
    return decodeKeyFile(readFileSync(path), path);
  }
  unlinkSync(temp);
  // The directory entry must be durable too, or a crash could lose the key but keep the data.
  const dir = openSync(join(path, ".."), "r");
  try {
    fsyncSync(dir);
  } finally {
    closeSync(dir);
  }
  return key;
}

function decodeKeyFile(bytes: Buffer, where: string): Buffer {
  if (bytes.length === 32) return bytes;
  return decodeKeyText(bytes.toString("utf8").trim(), where);
}

function decodeKeyText(text: string, where: string): Buffer {
  if (/^[0-9a-fA-F]{64}$/.test(text)) return Buffer.from(text, "hex");
  if (/^[A-Za-z0-9+/]{43}=?$/.test(text)) {
    const key = Buffer.from(text, "base64");
    if (key.length === 32) return key;
  }
  throw new Error(`the master key in ${where} must be 32 bytes: 64 hex characters or base64 (44 characters)`);
}
