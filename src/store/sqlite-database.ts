/**
 * Opening a Berth SQLite file: WAL, synchronous=FULL (a returned transaction is on disk),
 * foreign keys, a busy timeout, ordered migrations recorded in user_version, and prepared
 * statements cached by their text. The Store adapter and the log engine both open theirs here.
 */
import Database from "better-sqlite3";

export interface SqliteFile {
  db: Database.Database;
  /** The prepared statement for this SQL text, cached. */
  sql(text: string): Database.Statement;
}

export function openSqlite(path: string, migrations: readonly string[], pragmas: readonly string[] = []): SqliteFile {
  const db = new Database(path);
  for (const p of ["journal_mode = WAL", "synchronous = FULL", "busy_timeout = 5000", "foreign_keys = ON", ...pragmas]) db.pragma(p);
  const current = db.pragma("user_version", { simple: true }) as number;
  for (let i = current; i < migrations.length; i++) {
    db.transaction(() => {
      db.exec(migrations[i]!);
      db.pragma(`user_version = ${i + 1}`);
    })();
  }
  const statements = new Map<string, Database.Statement>();
  return {
    db,
    sql(text: string): Database.Statement {
      let stmt = statements.get(text);
      if (!stmt) {
        stmt = db.prepare(text);
        statements.set(text, stmt);
      }
      return stmt;
    },
  };
}
