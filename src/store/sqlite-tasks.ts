/**
 * SQLite statements for agents, container instances and tasks; SqliteStore delegates to
 * these. Each function documents its guard; writes that must be atomic run in `tx`.
 */
import type Database from "better-sqlite3";
import { BerthError, ErrorCode } from "../core/errors.ts";
import type { AgentRecord } from "../domain/agent.ts";
import type { ClusterCounts } from "../domain/cluster.ts";
import type { ContainerInstance } from "../domain/container-instance.ts";
import type { Task } from "../domain/task.ts";
import type { Page, TaskQuery } from "./store.ts";

export interface Sql {
  sql(text: string): Database.Statement;
  tx<T>(fn: () => T): T;
}

type Row = { doc: string };
const parse = <T>(row: Row | undefined): T | undefined => (row ? (JSON.parse(row.doc) as T) : undefined);
const stale = (what: string) => new BerthError(ErrorCode.StaleVersion, `${what} changed concurrently`, { retryable: true });

// --- agents ---------------------------------------------------------------------------------

export function putAgent(db: Sql, agent: AgentRecord): void {
  db.sql(
    "INSERT INTO agents (agent_id, doc) VALUES (?, ?) ON CONFLICT (agent_id) DO UPDATE SET doc = excluded.doc",
  ).run(agent.agentId, JSON.stringify(agent));
}

export const getAgent = (db: Sql, id: string): AgentRecord | undefined =>
  parse(db.sql("SELECT doc FROM agents WHERE agent_id = ?").get(id) as Row | undefined);

export const listAgents = (db: Sql): AgentRecord[] =>
  (db.sql("SELECT doc FROM agents ORDER BY agent_id").all() as Row[]).map((r) => JSON.parse(r.doc) as AgentRecord);

export function agentGeneration(db: Sql, id: string): number {
  const row = db.sql("SELECT generation FROM agents WHERE agent_id = ?").get(id) as { generation: number } | undefined;
  return row?.generation ?? 0;
}

function bumpGeneration(db: Sql, agentId: string): void {
  db.sql("UPDATE agents SET generation = generation + 1 WHERE agent_id = ?").run(agentId);
}

// --- container instances --------------------------------------------------------------------

/* guard: a replace must carry the stored version; out: version + 1 (1 on insert). */
export function putContainerInstance(db: Sql, ci: ContainerInstance): ContainerInstance {
  return db.tx(() => {
    const row = db.sql("SELECT version FROM container_instances WHERE region = ? AND cluster = ? AND id = ?").get(
      ci.region,
      ci.clusterName,
      ci.id,
    ) as { version: number } | undefined;
    if (row && row.version !== ci.version) throw stale(`container instance ${ci.id}`);
    const next = { ...ci, version: row ? row.version + 1 : 1 };
    db.sql(
      "INSERT OR REPLACE INTO container_instances (region, cluster, id, agent_id, version, doc) VALUES (?, ?, ?, ?, ?, ?)",
    ).run(ci.region, ci.clusterName, ci.id, ci.agentId, next.version, JSON.stringify(next));
    return next;
  });
}

export const getContainerInstance = (db: Sql, region: string, cluster: string, id: string): ContainerInstance | undefined =>
  parse(db.sql("SELECT doc FROM container_instances WHERE region = ? AND cluster = ? AND id = ?").get(region, cluster, id) as Row | undefined);

export const findContainerInstanceByAgent = (db: Sql, agentId: string): ContainerInstance | undefined =>
  parse(
    db.sql("SELECT doc FROM container_instances WHERE agent_id = ? AND json_extract(doc, '$.status') != 'INACTIVE'").get(agentId) as
      | Row
      | undefined,
  );

export const listContainerInstances = (db: Sql, region: string, cluster: string): ContainerInstance[] =>
  (db.sql("SELECT doc FROM container_instances WHERE region = ? AND cluster = ? ORDER BY id").all(region, cluster) as Row[]).map(
    (r) => JSON.parse(r.doc) as ContainerInstance,
  );

// --- tasks ----------------------------------------------------------------------------------

function writeTask(db: Sql, task: Task, insert: boolean): void {
  const cols = [
    task.region, task.taskId, task.clusterName, task.agentId, task.containerInstanceArn ?? null, task.family,
    task.group, task.startedBy ?? null, task.launchType, task.desiredStatus, task.lastStatus, task.clientToken ?? null,
    task.createdAt, task.stoppedAt ?? null, task.version, JSON.stringify(task),
  ];
  db.sql(
    `${insert ? "INSERT" : "REPLACE"} INTO tasks (region, id, cluster, agent_id, container_instance, family, task_group,
       started_by, launch_type, desired_status, last_status, client_token, created_at, stopped_at, version, doc)
     VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
  ).run(...cols);
}

export function createTasks(db: Sql, tasks: Task[]): void {
  db.tx(() => {
    for (const t of tasks) {
      writeTask(db, t, true);
      bumpGeneration(db, t.agentId);
    }
  });
}

export const getTask = (db: Sql, region: string, id: string): Task | undefined =>
  parse(db.sql("SELECT doc FROM tasks WHERE region = ? AND id = ?").get(region, id) as Row | undefined);

/* guard: stored version == task.version; out: version + 1; bumps the agent on desired change. */
export function updateTask(db: Sql, task: Task): Task {
  return db.tx(() => {
    const row = db.sql("SELECT version, desired_status FROM tasks WHERE region = ? AND id = ?").get(task.region, task.taskId) as
      | { version: number; desired_status: string }
      | undefined;
    if (!row || row.version !== task.version) throw stale(`task ${task.taskId}`);
    const next = { ...task, version: task.version + 1 };
    writeTask(db, next, false);
    if (row.desired_status !== task.desiredStatus) bumpGeneration(db, task.agentId);
    return next;
  });
}

/* in: filters; order: newest first (created_at DESC, id); cursor "created_at\u0000id". */
export function listTasks(db: Sql, q: TaskQuery): Page<Task> {
  const [afterCreated, afterId] = q.after ? q.after.split("\u0000") : [undefined, undefined];
  const rows = db
    .sql(
      `SELECT id, created_at, doc FROM tasks
       WHERE region = @region AND cluster = @cluster AND desired_status = @desired
         AND (@instance IS NULL OR container_instance = @instance)
         AND (@family IS NULL OR family = @family)
         AND (@grp IS NULL OR task_group = @grp)
         AND (@startedBy IS NULL OR started_by = @startedBy)
         AND (@launchType IS NULL OR launch_type = @launchType)
         AND (@afterCreated IS NULL OR created_at < @afterCreated OR (created_at = @afterCreated AND id > @afterId))
       ORDER BY created_at DESC, id LIMIT @limit`,
    )
    .all({
      region: q.region,
      cluster: q.cluster,
      desired: q.desiredStatus,
      instance: q.containerInstanceArn ?? null,
      family: q.family ?? null,
      grp: q.group ?? null,
      startedBy: q.startedBy ?? null,
      launchType: q.launchType ?? null,
      afterCreated: afterCreated === undefined ? null : Number(afterCreated),
      afterId: afterId ?? null,
      limit: q.limit + 1,
    }) as (Row & { id: string; created_at: number })[];
  const more = rows.length > q.limit;
  const kept = more ? rows.slice(0, q.limit) : rows;
  const page: Page<Task> = { items: kept.map((r) => JSON.parse(r.doc) as Task) };
  if (more) page.next = `${kept[kept.length - 1]!.created_at}\u0000${kept[kept.length - 1]!.id}`;
  return page;
}

export const liveTasksOnAgent = (db: Sql, agentId: string): Task[] =>
  (db.sql("SELECT doc FROM tasks WHERE agent_id = ? AND last_status != 'STOPPED'").all(agentId) as Row[]).map(
    (r) => JSON.parse(r.doc) as Task,
  );

export const findTasksByClientToken = (db: Sql, region: string, cluster: string, token: string): Task[] =>
  (db.sql("SELECT doc FROM tasks WHERE region = ? AND cluster = ? AND client_token = ? ORDER BY id").all(region, cluster, token) as Row[]).map(
    (r) => JSON.parse(r.doc) as Task,
  );

export const deleteTasksStoppedBefore = (db: Sql, before: number): number =>
  db.sql("DELETE FROM tasks WHERE last_status = 'STOPPED' AND stopped_at IS NOT NULL AND stopped_at < ?").run(before).changes;

/* out: RUNNING tasks, tasks neither RUNNING nor STOPPED, instances neither INACTIVE nor gone. */
export function clusterCounts(db: Sql, region: string, cluster: string): ClusterCounts {
  const tasks = db
    .sql(
      `SELECT SUM(last_status = 'RUNNING') AS running, SUM(last_status NOT IN ('RUNNING', 'STOPPED')) AS pending
       FROM tasks WHERE region = ? AND cluster = ?`,
    )
    .get(region, cluster) as { running: number | null; pending: number | null };
  const instances = db
    .sql("SELECT COUNT(*) AS n FROM container_instances WHERE region = ? AND cluster = ? AND json_extract(doc, '$.status') != 'INACTIVE'")
    .get(region, cluster) as { n: number };
  return { runningTasks: tasks.running ?? 0, pendingTasks: tasks.pending ?? 0, containerInstances: instances.n };
}
