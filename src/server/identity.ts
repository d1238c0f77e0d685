/**
 * The account and its admin access key, created on first start and kept in the data dir
 * (`identity.json`, mode 0600, since it holds the secret key). The admin is root-like and
 * never policy-checked; IAM users' access keys and STS temporary credentials are looked up in
 * the IamEngine (`<data-dir>/iam.db`) after it.
 */
import { randomBytes, randomInt } from "node:crypto";
import { chmodSync, existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { Principal } from "../api/identity.ts";
import type { CredentialLookup, SigningCredential } from "../api/sigv4.ts";
import type { IamEngine } from "../domain/iam.ts";

export interface AccessKey {
  userName: string;
  userId: string;
  accessKeyId: string;
  secretAccessKey: string;
}

export interface Identity {
  accountId: string;
  admin: AccessKey;
}

const FILE = "identity.json";
const KEY_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";

function randomFrom(alphabet: string, length: number): string {
  return Array.from(randomBytes(length), (b) => alphabet[b % alphabet.length]).join("");
}

export function newIdentity(): Identity {
  const accountId = String(randomInt(100_000, 999_999)) + String(randomInt(100_000, 999_999));
  return {
    accountId,
    admin: {
      userName: "berth-admin",
      userId: `AIDA${randomFrom(KEY_ALPHABET, 17)}`,
      accessKeyId: `AKIA${randomFrom(KEY_ALPHABET, 16)}`,
      secretAccessKey: randomBytes(30).toString("base64"),
    },
  };
}

/** Reads the data dir's identity, creating it (atomically, mode 0600) on first use. */
export function loadOrCreateIdentity(dataDir: string): Identity {
  const path = join(dataDir, FILE);
  if (existsSync(path)) return JSON.parse(readFileSync(path, "utf8")) as Identity;
  mkdirSync(dataDir, { recursive: true });
  const identity = newIdentity();
  const tmp = `${path}.${process.pid}.tmp`;
  writeFileSync(tmp, `${JSON.stringify(identity, null, 2)}\n`, { mode: 0o600 });
  chmodSync(tmp, 0o600);
  renameSync(tmp, path);
  return identity;
}

export function principalOf(identity: Identity, key: AccessKey): Principal {
  return { accountId: identity.accountId, arn: `arn:aws:iam::${identity.accountId}:user/${key.userName}`, userId: key.userId, admin: true };
}

/** The admin key first (no database read), then IAM users' active keys and STS sessions. */
export function credentialLookup(identity: Identity, iam?: IamEngine): CredentialLookup {
  const admin: SigningCredential = {
    accessKeyId: identity.admin.accessKeyId,
    secretAccessKey: identity.admin.secretAccessKey,
    principal: principalOf(identity, identity.admin),
  };
  return (accessKeyId) => {
    if (accessKeyId === admin.accessKeyId) return admin;
    const found = iam?.credential(accessKeyId);
    if (found === undefined) return undefined;
    const principal: Principal = { ...found.principal };
    return {
      accessKeyId: found.accessKeyId,
      secretAccessKey: found.secretAccessKey,
      principal,
      ...(found.sessionToken === undefined ? {} : { sessionToken: found.sessionToken }),
      ...(found.expiresAt === undefined ? {} : { expiresAt: found.expiresAt }),
    };
  };
}
