/**
 * Schema of the embedded SQLite store, as ordered migrations. A migration never changes
 * once released; add a new one instead. `user_version` records how many have run.
 */
export const SQLITE_MIGRATIONS: readonly string[] = [
  `CREATE TABLE clusters (
     region TEXT NOT NULL,
     name TEXT NOT NULL,
     status TEXT NOT NULL,
     version INTEGER NOT NULL,
     doc TEXT NOT NULL,
     PRIMARY KEY (region, name)
   );
   CREATE TABLE task_definitions (
     region TEXT NOT NULL,
     family TEXT NOT NULL,
     revision INTEGER NOT NULL,
     status TEXT NOT NULL,
     doc TEXT NOT NULL,
     PRIMARY KEY (region, family, revision)
   );
   CREATE INDEX task_definitions_status ON task_definitions (region, status, family, revision);
   CREATE TABLE tags (
     resource_arn TEXT NOT NULL,
     tags TEXT NOT NULL,
     PRIMARY KEY (resource_arn)
   );
   CREATE TABLE account_settings (
     region TEXT NOT NULL,
     principal_arn TEXT NOT NULL,
     name TEXT NOT NULL,
     doc TEXT NOT NULL,
     PRIMARY KEY (region, principal_arn, name)
   );`,
];
