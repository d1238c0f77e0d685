/**
 * Opens `<dataDir>/secrets.db` (WAL, synchronous=FULL, migrations) for both engines, which share
 * the connection and the master key. The master key's fingerprint is recorded on first open;
 * a later open with another key is refused before anything could be written under it.
 */
import type { Clock } from "../core/clock.ts";
import { randomIds, type IdSource } from "../core/ids.ts";
import { silentLogger, type Logger } from "../core/logger.ts";
import type { RotationRunner } from "../domain/secrets.ts";
import { openSqlite } from "../store/sqlite-database.ts";
import { Envelope } from "./envelope.ts";
import { SECRETS_MIGRATIONS, type SecretsSql } from "./secrets-schema.ts";
import { SqliteParameterStore } from "./sqlite-parameter-store.ts";
import { SqliteSecretsEngine } from "./sqlite-secrets-engine.ts";

export interface SecretsDatabaseOptions {
  /** File path (e.g. data-dir/secrets.db), or ":memory:" for tests. */
  path: string;
  /** 32 bytes (see master-key.ts). */
  masterKey: Buffer;
  clock: Clock;
  ids?: IdSource;
  /** Runs rotation steps; without one, every rotation fails with a clear error. */
  runner?: RotationRunner;
  logger?: Logger;
}

export interface SecretsDatabase {
  secrets: SqliteSecretsEngine;
  parameters: SqliteParameterStore;
  close(): Promise<void>;
}

/** A runner for servers that cannot run rotation tasks: each step fails, saying why. */
export const noRotationRunner: RotationRunner = {
  runStep: async () => {
    throw new Error("this Berth server has no rotation runner, so rotation steps cannot run");
  },
};

export function openSecretsDatabase(options: SecretsDatabaseOptions): SecretsDatabase {
  const file = openSqlite(options.path, SECRETS_MIGRATIONS);
  const envelope = new Envelope(options.masterKey);
  const fingerprint = envelope.fingerprint();
  const stored = file.db.prepare("SELECT value FROM meta WHERE key = 'master-key'").get() as { value: string } | undefined;
  if (stored === undefined) file.db.prepare("INSERT INTO meta (key, value) VALUES ('master-key', ?)").run(fingerprint);
  else if (stored.value !== fingerprint) {
    file.db.close();
    throw new Error(
      `the master key does not match the one ${options.path} was written with; supply the original key (BERTH_MASTER_KEY, --master-key-file or <data-dir>/master.key)`,
    );
  }
  const db: SecretsSql = { sql: file.sql, tx: (fn) => file.db.transaction(fn)() };
  let closed = false;
  const close = async (): Promise<void> => {
    if (closed) return;
    closed = true;
    file.db.close();
  };
  const secrets = new SqliteSecretsEngine({
    db,
    envelope,
    clock: options.clock,
    ids: options.ids ?? randomIds,
    runner: options.runner ?? noRotationRunner,
    logger: options.logger ?? silentLogger,
    close,
  });
  const parameters = new SqliteParameterStore({ db, envelope, clock: options.clock, close });
  return { secrets, parameters, close };
}
