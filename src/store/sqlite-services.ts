/**
 * SQLite statements for services; SqliteStore delegates to these. A service row keeps the
 * whole aggregate (deployments, events, history) as JSON, versioned for conditional updates.
 */
import { BerthError, ErrorCode } from "../core/errors.ts";
import type { Service } from "../domain/service.ts";
import type { Task } from "../domain/task.ts";
import type { Sql } from "./sqlite-tasks.ts";
import type { Page, PageRequest } from "./store.ts";

type Row = { doc: string };

/* guard: an ACTIVE or DRAINING service of that name is kept; INACTIVE ones are replaced. */
export function createService(db: Sql, service: Service): { service: Service; created: boolean } {
  return db.tx(() => {
    const row = db.sql("SELECT doc, status FROM services WHERE region = ? AND cluster = ? AND name = ?").get(
      service.region,
      service.clusterName,
      service.serviceName,
    ) as (Row & { status: string }) | undefined;
    if (row && row.status !== "INACTIVE") return { service: JSON.parse(row.doc) as Service, created: false };
    const stored = { ...service, version: 1 };
    db.sql("INSERT OR REPLACE INTO services (region, cluster, name, status, version, doc) VALUES (?, ?, ?, ?, 1, ?)").run(
      service.region,
      service.clusterName,
      service.serviceName,
      service.status,
      JSON.stringify(stored),
    );
    return { service: stored, created: true };
  });
}

export function getService(db: Sql, region: string, cluster: string, name: string): Service | undefined {
  const row = db.sql("SELECT doc FROM services WHERE region = ? AND cluster = ? AND name = ?").get(region, cluster, name) as Row | undefined;
  return row ? (JSON.parse(row.doc) as Service) : undefined;
}

export function listServices(db: Sql, region: string, cluster: string, page: PageRequest): Page<Service> {
  const rows = db
    .sql("SELECT name, doc FROM services WHERE region = ? AND cluster = ? AND status != 'INACTIVE' AND name > ? ORDER BY name LIMIT ?")
    .all(region, cluster, page.after ?? "", page.limit + 1) as (Row & { name: string })[];
  const more = rows.length > page.limit;
  const kept = more ? rows.slice(0, page.limit) : rows;
  const out: Page<Service> = { items: kept.map((r) => JSON.parse(r.doc) as Service) };
  if (more) out.next = kept[kept.length - 1]!.name;
  return out;
}

export const liveServices = (db: Sql): Service[] =>
  (db.sql("SELECT doc FROM services WHERE status != 'INACTIVE'").all() as Row[]).map((r) => JSON.parse(r.doc) as Service);

/* guard: stored version == service.version; out: version + 1. */
export function updateService(db: Sql, service: Service): Service {
  const next = { ...service, version: service.version + 1 };
  const result = db
    .sql("UPDATE services SET status = ?, version = ?, doc = ? WHERE region = ? AND cluster = ? AND name = ? AND version = ?")
    .run(next.status, next.version, JSON.stringify(next), service.region, service.clusterName, service.serviceName, service.version);
  if (result.changes !== 1) throw new BerthError(ErrorCode.StaleVersion, `service ${service.serviceName} changed concurrently`, { retryable: true });
  return next;
}

export const tasksOfGroup = (db: Sql, region: string, cluster: string, group: string): Task[] =>
  (db.sql("SELECT doc FROM tasks WHERE region = ? AND cluster = ? AND task_group = ?").all(region, cluster, group) as Row[]).map(
    (r) => JSON.parse(r.doc) as Task,
  );
