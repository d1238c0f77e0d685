/**
 * The shared secret remote agents present to the server (`authorization: Bearer <token>`),
 * created on first use and kept in the data dir (`agent-token`, mode 0600). Whoever holds it
 * can register hosts and report task states, so it is never logged.
 */
import { randomBytes } from "node:crypto";
import { chmodSync, existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from "node:fs";
import { join } from "node:path";

const FILE = "agent-token";

/** Reads the data dir's agent token, creating it (atomically, mode 0600) on first use. */
export function loadOrCreateAgentToken(dataDir: string): string {
  const path = join(dataDir, FILE);
  if (existsSync(path)) {
    const token = readFileSync(path, "utf8").trim();
    if (token !== "") return token;
  }
  mkdirSync(dataDir, { recursive: true });
  const token = randomBytes(32).toString("base64url");
  const tmp = `${path}.${process.pid}.tmp`;
  writeFileSync(tmp, `${token}\n`, { mode: 0o600 });
  chmodSync(tmp, 0o600);
  renameSync(tmp, path);
  return token;
}
