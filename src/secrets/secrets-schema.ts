/**
 * Schema of `<dataDir>/secrets.db`, as ordered migrations (never changed once released).
 *
 * Secrets are keyed by region + account + name; the ARN (with its random suffix) never changes.
 * Versions hold only sealed values (envelope.ts; the AAD is the secret ARN and version id);
 * `secret_stages` maps each staging label to the one version that carries it. Parameters are
 * keyed the same way; each version row is immutable except its labels; SecureString versions
 * keep only the sealed value (AAD: region, account, name and version), other types plain text.
 * `meta` holds the master key's fingerprint, to refuse a wrong key at start.
 */
import type Database from "better-sqlite3";

export interface SecretsSql {
  sql(text: string): Database.Statement;
  tx<T>(fn: () => T): T;
}

export const SECRETS_MIGRATIONS: readonly string[] = [
  `CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
   CREATE TABLE secrets (
     id INTEGER PRIMARY KEY,
     region TEXT NOT NULL,
     account TEXT NOT NULL,
     name TEXT NOT NULL,
     arn TEXT NOT NULL UNIQUE,
     description TEXT,
     kms_key_id TEXT,
     created INTEGER NOT NULL,
     last_changed INTEGER NOT NULL,
     last_accessed INTEGER,
     deleted INTEGER,
     deletion_date INTEGER,
     rotation_enabled INTEGER,
     rotation_arn TEXT,
     rotation_rules TEXT,
     last_rotated INTEGER,
     next_rotation INTEGER,
     rotating_token TEXT,
     tags TEXT NOT NULL DEFAULT '[]',
     UNIQUE (region, account, name)
   );
   CREATE INDEX secrets_next_rotation ON secrets (next_rotation) WHERE rotation_enabled = 1;
   CREATE INDEX secrets_deletion ON secrets (deletion_date) WHERE deletion_date IS NOT NULL;
   CREATE TABLE secret_versions (
     secret_id INTEGER NOT NULL REFERENCES secrets (id) ON DELETE CASCADE,
     version_id TEXT NOT NULL,
     seq INTEGER NOT NULL,
     kind TEXT NOT NULL,
     sealed BLOB NOT NULL,
     created INTEGER NOT NULL,
     last_accessed INTEGER,
     PRIMARY KEY (secret_id, version_id)
   );
   CREATE INDEX secret_versions_seq ON secret_versions (secret_id, seq);
   CREATE TABLE secret_stages (
     secret_id INTEGER NOT NULL REFERENCES secrets (id) ON DELETE CASCADE,
     stage TEXT NOT NULL,
     version_id TEXT NOT NULL,
     PRIMARY KEY (secret_id, stage)
   );
   CREATE TABLE parameters (
     id INTEGER PRIMARY KEY,
     region TEXT NOT NULL,
     account TEXT NOT NULL,
     name TEXT NOT NULL,
     latest INTEGER NOT NULL,
     tags TEXT NOT NULL DEFAULT '[]',
     UNIQUE (region, account, name)
   );
   CREATE TABLE parameter_versions (
     parameter_id INTEGER NOT NULL REFERENCES parameters (id) ON DELETE CASCADE,
     version INTEGER NOT NULL,
     type TEXT NOT NULL,
     value TEXT,
     sealed BLOB,
     description TEXT,
     allowed_pattern TEXT,
     key_id TEXT,
     data_type TEXT NOT NULL,
     tier TEXT NOT NULL,
     policies TEXT,
     modified INTEGER NOT NULL,
     modified_user TEXT NOT NULL,
     labels TEXT NOT NULL DEFAULT '[]',
     PRIMARY KEY (parameter_id, version)
   );`,
];
