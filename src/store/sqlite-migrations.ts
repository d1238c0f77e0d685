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
  `CREATE TABLE agents (
     agent_id TEXT PRIMARY KEY,
     generation INTEGER NOT NULL DEFAULT 0,
     doc TEXT NOT NULL
   );
   CREATE TABLE container_instances (
     region TEXT NOT NULL,
     cluster TEXT NOT NULL,
     id TEXT NOT NULL,
     agent_id TEXT NOT NULL,
     version INTEGER NOT NULL,
     doc TEXT NOT NULL,
     PRIMARY KEY (region, cluster, id)
   );
   CREATE INDEX container_instances_agent ON container_instances (agent_id);
   CREATE TABLE tasks (
     region TEXT NOT NULL,
     id TEXT NOT NULL,
     cluster TEXT NOT NULL,
     agent_id TEXT NOT NULL,
     container_instance TEXT,
     family TEXT NOT NULL,
     task_group TEXT NOT NULL,
     started_by TEXT,
     launch_type TEXT NOT NULL,
     desired_status TEXT NOT NULL,
     last_status TEXT NOT NULL,
     client_token TEXT,
     created_at INTEGER NOT NULL,
     stopped_at INTEGER,
     version INTEGER NOT NULL,
     doc TEXT NOT NULL,
     PRIMARY KEY (region, id)
   );
   CREATE INDEX tasks_cluster ON tasks (region, cluster, desired_status, created_at);
   CREATE INDEX tasks_agent ON tasks (agent_id, last_status);
   CREATE INDEX tasks_token ON tasks (region, cluster, client_token);`,
  `CREATE TABLE services (
     region TEXT NOT NULL,
     cluster TEXT NOT NULL,
     name TEXT NOT NULL,
     status TEXT NOT NULL,
     version INTEGER NOT NULL,
     doc TEXT NOT NULL,
     PRIMARY KEY (region, cluster, name)
   );
   CREATE INDEX services_status ON services (status);
   CREATE INDEX tasks_group ON tasks (region, cluster, task_group);`,
];
