/**
 * Schema of the IAM engine's own SQLite file (data-dir/iam.db), as ordered migrations; a
 * migration never changes once released. Names of users, roles and managed policies are unique
 * without regard to case, as IAM's are (COLLATE NOCASE). Secrets of access keys and of STS
 * temporary credentials are stored as issued (SigV4 needs the plain secret to verify a
 * signature); the file is created mode 0600, like identity.json.
 */
import type { TextSealer } from "../core/sealer.ts";
import type Database from "better-sqlite3";
import type { Clock } from "../core/clock.ts";

/** The connection as the statement modules see it, with the account and the clock. */
export interface IamSql {
  sql(text: string): Database.Statement;
  tx<T>(fn: () => T): T;
  accountId: string;
  clock: Clock;
  /** Seals secret keys and session tokens at rest (the secrets master key); plain without it. */
  sealer?: TextSealer;
}

export const IAM_MIGRATIONS: readonly string[] = [
  `CREATE TABLE users (
     name TEXT NOT NULL PRIMARY KEY COLLATE NOCASE,
     id TEXT NOT NULL UNIQUE,
     path TEXT NOT NULL,
     created INTEGER NOT NULL,
     tags TEXT NOT NULL DEFAULT '[]'
   );
   CREATE TABLE access_keys (
     id TEXT NOT NULL PRIMARY KEY,
     user_name TEXT NOT NULL COLLATE NOCASE,
     secret TEXT NOT NULL,
     status TEXT NOT NULL,
     created INTEGER NOT NULL
   );
   CREATE INDEX access_keys_by_user ON access_keys (user_name);
   CREATE TABLE roles (
     name TEXT NOT NULL PRIMARY KEY COLLATE NOCASE,
     id TEXT NOT NULL UNIQUE,
     path TEXT NOT NULL,
     created INTEGER NOT NULL,
     trust TEXT NOT NULL,
     description TEXT,
     max_session INTEGER NOT NULL,
     tags TEXT NOT NULL DEFAULT '[]'
   );
   CREATE TABLE inline_policies (
     owner_kind TEXT NOT NULL,
     owner TEXT NOT NULL COLLATE NOCASE,
     name TEXT NOT NULL COLLATE NOCASE,
     document TEXT NOT NULL,
     PRIMARY KEY (owner_kind, owner, name)
   );
   CREATE TABLE policies (
     arn TEXT NOT NULL PRIMARY KEY,
     name TEXT NOT NULL UNIQUE COLLATE NOCASE,
     id TEXT NOT NULL,
     path TEXT NOT NULL,
     description TEXT,
     default_version TEXT NOT NULL,
     next_version INTEGER NOT NULL,
     created INTEGER NOT NULL,
     updated INTEGER NOT NULL,
     tags TEXT NOT NULL DEFAULT '[]'
   );
   CREATE TABLE policy_versions (
     arn TEXT NOT NULL,
     version TEXT NOT NULL,
     document TEXT NOT NULL,
     created INTEGER NOT NULL,
     PRIMARY KEY (arn, version)
   );
   CREATE TABLE attachments (
     owner_kind TEXT NOT NULL,
     owner TEXT NOT NULL COLLATE NOCASE,
     policy_arn TEXT NOT NULL,
     PRIMARY KEY (owner_kind, owner, policy_arn)
   );
   CREATE INDEX attachments_by_policy ON attachments (policy_arn);
   CREATE TABLE sessions (
     access_key_id TEXT NOT NULL PRIMARY KEY,
     secret TEXT NOT NULL,
     token TEXT NOT NULL,
     role_name TEXT NOT NULL COLLATE NOCASE,
     role_id TEXT NOT NULL,
     session_name TEXT NOT NULL,
     expires INTEGER NOT NULL
   );
   CREATE INDEX sessions_by_expiry ON sessions (expires);`,
];
