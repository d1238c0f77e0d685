/**
 * The embedded Store adapter on better-sqlite3. One connection, WAL journal,
 * synchronous=FULL: a transaction that returned is on disk, so kill -9 (or power loss)
 * right after a 2xx loses nothing. Rows keep the domain record as JSON in `doc` plus the
 * columns that queries filter and order by. Every write to agents, container instances or
 * tasks is also handed to the placement cache once it has committed.
 */
import Database from "better-sqlite3";
import { BerthError, ErrorCode } from "../core/errors.ts";
import type { AccountSetting } from "../domain/account-settings.ts";
import type { AgentRecord } from "../domain/agent.ts";
import type { ContainerInstance } from "../domain/container-instance.ts";
import type { Service } from "../domain/service.ts";
import type { Task } from "../domain/task.ts";
import type { Cluster, ClusterCounts } from "../domain/cluster.ts";
import type { Tag } from "../domain/tags.ts";
import type { TaskDefinitionRecord, TaskDefinitionStatus } from "../domain/task-definition-record.ts";
import { openSqlite } from "./sqlite-database.ts";
import { SQLITE_MIGRATIONS } from "./sqlite-migrations.ts";
import { PlacementCache } from "./sqlite-placement-cache.ts";
import * as services from "./sqlite-services.ts";
import * as tables from "./sqlite-tasks.ts";
import type {
  AgentReservations, FamilyQuery, InstanceWithAgent, Page, PageRequest, Store, TaskDefinitionQuery, TaskQuery,
} from "./store.ts";

type Row = { doc: string };

export interface SqliteStoreOptions {
  /** File path, or ":memory:" for tests. */
  path: string;
}

export class SqliteStore implements Store {
  private readonly db: Database.Database;
  /** Prepared statements are cached by their SQL text. */
  private readonly sql: (text: string) => Database.Statement;
  private readonly runner: tables.Sql = { sql: (text) => this.sql(text), tx: (fn) => this.db.transaction(fn)() };
  private readonly placement = new PlacementCache(this.runner);

  constructor(options: SqliteStoreOptions) {
    const file = openSqlite(options.path, SQLITE_MIGRATIONS);
    this.db = file.db;
    this.sql = file.sql;
  }

  // --- clusters ---------------------------------------------------------------------------

  /* in: cluster; out: the stored cluster; guard: an ACTIVE row of that name is kept as is. */
  async createCluster(cluster: Cluster): Promise<{ cluster: Cluster; created: boolean }> {
    return this.db.transaction(() => {
      const existing = this.sql("SELECT doc FROM clusters WHERE region = ? AND name = ?").get(
        cluster.region,
        cluster.clusterName,
      ) as Row | undefined;
      if (existing) {
        const stored = JSON.parse(existing.doc) as Cluster;
        if (stored.status === "ACTIVE") return { cluster: stored, created: false };
      }
      const row = { ...cluster, version: 1 };
      this.sql(
        "INSERT OR REPLACE INTO clusters (region, name, status, version, doc) VALUES (?, ?, ?, 1, ?)",
      ).run(cluster.region, cluster.clusterName, cluster.status, JSON.stringify(row));
      return { cluster: row, created: true };
    })();
  }

  async getCluster(region: string, name: string): Promise<Cluster | undefined> {
    const row = this.sql("SELECT doc FROM clusters WHERE region = ? AND name = ?").get(region, name) as
      | Row
      | undefined;
    return row ? (JSON.parse(row.doc) as Cluster) : undefined;
  }

  /* in: region, cursor (last name seen), limit; out: ACTIVE clusters by name. */
  async listClusters(region: string, page: PageRequest): Promise<Page<Cluster>> {
    const rows = this.sql(
      "SELECT name, doc FROM clusters WHERE region = ? AND status = 'ACTIVE' AND name > ? ORDER BY name LIMIT ?",
    ).all(region, page.after ?? "", page.limit + 1) as (Row & { name: string })[];
    return pageOf(rows, page.limit, (r) => JSON.parse(r.doc) as Cluster, (r) => r.name);
  }

  /* guard: stored version == cluster.version, else StaleVersion; out: version + 1. */
  async updateCluster(cluster: Cluster): Promise<Cluster> {
    const next = { ...cluster, version: cluster.version + 1 };
    const result = this.sql(
      "UPDATE clusters SET status = ?, version = ?, doc = ? WHERE region = ? AND name = ? AND version = ?",
    ).run(next.status, next.version, JSON.stringify(next), cluster.region, cluster.clusterName, cluster.version);
    if (result.changes !== 1) {
      throw new BerthError(ErrorCode.StaleVersion, `cluster ${cluster.clusterName} changed concurrently`, {
        retryable: true,
      });
    }
    return next;
  }

  // --- task definitions -------------------------------------------------------------------

  /* in: family; out: record with revision = max(revision) + 1 (1 for a new family). */
  async registerTaskDefinition(
    region: string,
    family: string,
    build: (revision: number) => TaskDefinitionRecord,
  ): Promise<TaskDefinitionRecord> {
    return this.db.transaction(() => {
      const { last } = this.sql(
        "SELECT COALESCE(MAX(revision), 0) AS last FROM task_definitions WHERE region = ? AND family = ?",
      ).get(region, family) as { last: number };
      const record = build(last + 1);
      this.sql(
        "INSERT INTO task_definitions (region, family, revision, status, doc) VALUES (?, ?, ?, ?, ?)",
      ).run(region, family, record.revision, record.status, JSON.stringify(record));
      return record;
    })();
  }

  async getTaskDefinition(region: string, family: string, revision?: number): Promise<TaskDefinitionRecord | undefined> {
    const row = (
      revision === undefined
        ? this.sql(
            "SELECT doc FROM task_definitions WHERE region = ? AND family = ? AND status = 'ACTIVE' ORDER BY revision DESC LIMIT 1",
          ).get(region, family)
        : this.sql("SELECT doc FROM task_definitions WHERE region = ? AND family = ? AND revision = ?").get(
            region,
            family,
            revision,
          )
    ) as Row | undefined;
    return row ? (JSON.parse(row.doc) as TaskDefinitionRecord) : undefined;
  }

  /* in: status, optional exact family, order; cursor is "family\u0000revision". */
  async listTaskDefinitions(q: TaskDefinitionQuery): Promise<Page<TaskDefinitionRecord>> {
    const [afterFamily, afterRevision] = splitCursor(q.after);
    const cmp = q.descending ? "<" : ">";
    const dir = q.descending ? "DESC" : "ASC";
    const familyFilter = q.family === undefined ? "" : "AND family = @family";
    const cursorFilter =
      q.after === undefined ? "" : `AND (family ${cmp} @afterFamily OR (family = @afterFamily AND revision ${cmp} @afterRevision))`;
    const rows = this.sql(
      `SELECT family, revision, doc FROM task_definitions
       WHERE region = @region AND status = @status ${familyFilter} ${cursorFilter}
       ORDER BY family ${dir}, revision ${dir} LIMIT @limit`,
    ).all({
      region: q.region,
      status: q.status,
      family: q.family ?? null,
      afterFamily,
      afterRevision,
      limit: q.limit + 1,
    }) as (Row & { family: string; revision: number })[];
    return pageOf(rows, q.limit, (r) => JSON.parse(r.doc) as TaskDefinitionRecord, (r) => `${r.family}\u0000${r.revision}`);
  }

  /*
   * ACTIVE: families with an ACTIVE revision; INACTIVE: families with none; ALL: every family
   * that has any revision. Ordered by family name; cursor is the last family.
   */
  async listTaskDefinitionFamilies(q: FamilyQuery): Promise<Page<string>> {
    const having =
      q.status === "ACTIVE"
        ? "HAVING SUM(status = 'ACTIVE') > 0"
        : q.status === "INACTIVE"
          ? "HAVING SUM(status = 'ACTIVE') = 0"
          : "";
    const rows = this.sql(
      `SELECT family FROM task_definitions
       WHERE region = @region AND family > @after AND substr(family, 1, length(@prefix)) = @prefix
       GROUP BY family ${having} ORDER BY family LIMIT @limit`,
    ).all({ region: q.region, after: q.after ?? "", prefix: q.familyPrefix ?? "", limit: q.limit + 1 }) as {
      family: string;
    }[];
    return pageOf(rows, q.limit, (r) => r.family, (r) => r.family);
  }

  async setTaskDefinitionStatus(
    region: string,
    family: string,
    revision: number,
    status: TaskDefinitionStatus,
    at: number,
  ): Promise<TaskDefinitionRecord | undefined> {
    return this.db.transaction(() => {
      const row = this.sql("SELECT doc FROM task_definitions WHERE region = ? AND family = ? AND revision = ?").get(
        region,
        family,
        revision,
      ) as Row | undefined;
      if (!row) return undefined;
      const record = JSON.parse(row.doc) as TaskDefinitionRecord;
      if (record.status === status) return record;
      const next: TaskDefinitionRecord = { ...record, status };
      if (record.status === "ACTIVE") next.deregisteredAt = at;
      this.sql("UPDATE task_definitions SET status = ?, doc = ? WHERE region = ? AND family = ? AND revision = ?").run(
        status,
        JSON.stringify(next),
        region,
        family,
        revision,
      );
      return next;
    })();
  }

  // --- tags -------------------------------------------------------------------------------

  async getTags(resourceArn: string): Promise<Tag[]> {
    const row = this.sql("SELECT tags FROM tags WHERE resource_arn = ?").get(resourceArn) as
      | { tags: string }
      | undefined;
    return row ? (JSON.parse(row.tags) as Tag[]) : [];
  }

  async putTags(resourceArn: string, tags: Tag[]): Promise<void> {
    if (tags.length === 0) {
      this.sql("DELETE FROM tags WHERE resource_arn = ?").run(resourceArn);
      return;
    }
    this.sql("INSERT OR REPLACE INTO tags (resource_arn, tags) VALUES (?, ?)").run(resourceArn, JSON.stringify(tags));
  }

  // --- account settings -------------------------------------------------------------------

  async getAccountSettings(region: string, principalArn: string): Promise<AccountSetting[]> {
    const rows = this.sql(
      "SELECT doc FROM account_settings WHERE region = ? AND principal_arn = ? ORDER BY name",
    ).all(region, principalArn) as Row[];
    return rows.map((r) => JSON.parse(r.doc) as AccountSetting);
  }

  async putAccountSetting(region: string, setting: AccountSetting): Promise<void> {
    this.sql("INSERT OR REPLACE INTO account_settings (region, principal_arn, name, doc) VALUES (?, ?, ?, ?)").run(
      region,
      setting.principalArn,
      setting.name,
      JSON.stringify(setting),
    );
  }

  async deleteAccountSetting(region: string, principalArn: string, name: string): Promise<boolean> {
    const r = this.sql("DELETE FROM account_settings WHERE region = ? AND principal_arn = ? AND name = ?").run(
      region,
      principalArn,
      name,
    );
    return r.changes > 0;
  }

  // --- agents, container instances, tasks (statements in sqlite-tasks.ts) -----------------

  async putAgent(agent: AgentRecord): Promise<void> {
    tables.putAgent(this.runner, agent);
    this.placement.agentWritten(agent);
  }
  async getAgent(agentId: string): Promise<AgentRecord | undefined> {
    return tables.getAgent(this.runner, agentId);
  }
  async listAgents(): Promise<AgentRecord[]> {
    return tables.listAgents(this.runner);
  }
  async agentGeneration(agentId: string): Promise<number> {
    return tables.agentGeneration(this.runner, agentId);
  }
  async putContainerInstance(instance: ContainerInstance): Promise<ContainerInstance> {
    const stored = tables.putContainerInstance(this.runner, instance);
    this.placement.instanceWritten(stored);
    return stored;
  }
  async getContainerInstance(region: string, cluster: string, id: string): Promise<ContainerInstance | undefined> {
    return tables.getContainerInstance(this.runner, region, cluster, id);
  }
  async findContainerInstanceByAgent(agentId: string): Promise<ContainerInstance | undefined> {
    return tables.findContainerInstanceByAgent(this.runner, agentId);
  }
  async listContainerInstances(region: string, cluster: string): Promise<ContainerInstance[]> {
    return tables.listContainerInstances(this.runner, region, cluster);
  }
  async listInstancesWithAgents(region: string, cluster: string): Promise<InstanceWithAgent[]> {
    return this.placement.instancesWithAgents(region, cluster);
  }
  async createTasks(tasks: Task[]): Promise<void> {
    tables.createTasks(this.runner, tasks);
    this.placement.tasksWritten(tasks);
  }
  async getTask(region: string, taskId: string): Promise<Task | undefined> {
    return tables.getTask(this.runner, region, taskId);
  }
  async updateTask(task: Task): Promise<Task> {
    const stored = tables.updateTask(this.runner, task);
    this.placement.tasksWritten([stored]);
    return stored;
  }
  async listTasks(query: TaskQuery): Promise<Page<Task>> {
    return tables.listTasks(this.runner, query);
  }
  async liveTasksOnAgent(agentId: string): Promise<Task[]> {
    return tables.liveTasksOnAgent(this.runner, agentId);
  }
  async reservationsOnAgents(agentIds: readonly string[]): Promise<Readonly<AgentReservations>[]> {
    return this.placement.reservationsOnAgents(agentIds);
  }
  async findTasksByClientToken(region: string, cluster: string, clientToken: string): Promise<Task[]> {
    return tables.findTasksByClientToken(this.runner, region, cluster, clientToken);
  }
  async clusterCounts(region: string, cluster: string): Promise<ClusterCounts> {
    return tables.clusterCounts(this.runner, region, cluster);
  }
  async deleteTasksStoppedBefore(before: number): Promise<number> {
    // Only STOPPED rows go, and the placement cache holds none.
    return tables.deleteTasksStoppedBefore(this.runner, before);
  }

  // --- services (statements in sqlite-services.ts) ---------------------------------------

  async createService(service: Service): Promise<{ service: Service; created: boolean }> {
    return services.createService(this.runner, service);
  }
  async getService(region: string, cluster: string, name: string): Promise<Service | undefined> {
    return services.getService(this.runner, region, cluster, name);
  }
  async listServices(region: string, cluster: string, page: PageRequest): Promise<Page<Service>> {
    return services.listServices(this.runner, region, cluster, page);
  }
  async liveServices(): Promise<Service[]> {
    return services.liveServices(this.runner);
  }
  async updateService(service: Service): Promise<Service> {
    return services.updateService(this.runner, service);
  }
  async tasksOfGroup(region: string, cluster: string, group: string): Promise<Task[]> {
    return services.tasksOfGroup(this.runner, region, cluster, group);
  }

  async close(): Promise<void> {
    this.db.close();
  }
}

/** Rows were fetched with limit + 1: the extra row only tells that another page exists. */
function pageOf<R, T>(rows: R[], limit: number, map: (r: R) => T, cursor: (r: R) => string): Page<T> {
  const more = rows.length > limit;
  const kept = more ? rows.slice(0, limit) : rows;
  const page: Page<T> = { items: kept.map(map) };
  if (more) page.next = cursor(kept[kept.length - 1]!);
  return page;
}

function splitCursor(cursor: string | undefined): [string, number] {
  if (cursor === undefined) return ["", 0];
  const [family, revision] = cursor.split("\u0000");
  return [family ?? "", Number(revision ?? 0)];
}
