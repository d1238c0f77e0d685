/**
 * What placement reads on every call, kept in memory for SqliteStore: agent records, each
 * cluster's container instances, and what the live tasks on each agent reserve. Re-reading and
 * re-parsing thousands of rows per call was most of the cost of placing a batch of tasks
 * (bench/placement.ts). Each part is loaded from the tables on first use.
 *
 * SqliteStore applies each of its own writes to agents, container instances and tasks here once
 * the write has committed (so a rolled-back write never shows). A commit by any other connection
 * moves PRAGMA data_version, and then everything is dropped and reloaded. Records and sums handed
 * out are frozen and shared between calls until they change. Never writes to the database.
 */
import type { AgentRecord } from "../domain/agent.ts";
import type { ContainerInstance } from "../domain/container-instance.ts";
import type { Task } from "../domain/task.ts";
import type { Sql } from "./sqlite-tasks.ts";
import type { AgentReservations, InstanceWithAgent } from "./store.ts";

type Port = AgentReservations["ports"][number];

/** What one task not yet STOPPED holds on its agent. */
interface Reservation {
  readonly agentId: string;
  readonly group: string;
  readonly cpu: number;
  readonly memory: number;
  readonly ports: readonly Port[];
}

interface ClusterInstances {
  readonly byId: Map<string, Readonly<ContainerInstance>>;
  /** byId's records ordered by id; rebuilt after a write. */
  sorted: Readonly<ContainerInstance>[] | undefined;
}

/** One agent's live tasks, keyed as in `Reservations.byTask`, and their sums once asked for. */
interface OnAgent {
  readonly tasks: Map<string, Reservation>;
  sum: Readonly<AgentReservations> | undefined;
}

interface Reservations {
  /** Keyed by region and task id. */
  readonly byTask: Map<string, Reservation>;
  readonly byAgent: Map<string, OnAgent>;
}

const key = (a: string, b: string) => `${a}\u0000${b}`;

/** A frozen deep copy of a record, as the JSON stored for it reads back. */
function frozenCopy<T>(record: T): Readonly<T> {
  return deepFreeze(JSON.parse(JSON.stringify(record)) as T);
}

function deepFreeze<T>(value: T): T {
  if (typeof value === "object" && value !== null) {
    for (const v of Object.values(value)) deepFreeze(v);
    Object.freeze(value);
  }
  return value;
}

export class PlacementCache {
  private dataVersion: number | undefined;
  private agents: Map<string, Readonly<AgentRecord>> | undefined;
  private readonly clusters = new Map<string, ClusterInstances>();
  private reservations: Reservations | undefined;

  constructor(private readonly db: Sql) {}

  /* in: region, cluster; out: instances not INACTIVE by id, each with its agent's record. */
  instancesWithAgents(region: string, cluster: string): InstanceWithAgent[] {
    this.dropIfChangedElsewhere();
    const agents = this.loadAgents();
    const instances = this.loadCluster(region, cluster);
    // Ids are hex, so code-unit order here is SQLite's ORDER BY id.
    instances.sorted ??= [...instances.byId.values()].sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
    const out: InstanceWithAgent[] = [];
    for (const instance of instances.sorted) {
      if (instance.status !== "INACTIVE") out.push({ instance, agent: agents.get(instance.agentId) });
    }
    return out;
  }

  /* in: agent ids (duplicates count once); out: per agent with live tasks, their sums (shared until it changes). */
  reservationsOnAgents(agentIds: readonly string[]): Readonly<AgentReservations>[] {
    this.dropIfChangedElsewhere();
    const { byAgent } = this.loadReservations();
    const out: Readonly<AgentReservations>[] = [];
    for (const agentId of new Set(agentIds)) {
      const onAgent = byAgent.get(agentId);
      if (onAgent) out.push((onAgent.sum ??= sumOf(agentId, onAgent.tasks.values())));
    }
    return out;
  }

  // --- SqliteStore's committed writes ---------------------------------------------------------

  agentWritten(agent: AgentRecord): void {
    this.agents?.set(agent.agentId, frozenCopy(agent));
  }

  instanceWritten(instance: ContainerInstance): void {
    const cached = this.clusters.get(key(instance.region, instance.clusterName));
    if (cached === undefined) return;
    cached.byId.set(instance.id, frozenCopy(instance));
    cached.sorted = undefined;
  }

  tasksWritten(tasks: readonly Task[]): void {
    if (this.reservations === undefined) return;
    for (const t of tasks) {
      const ports = t.reservedPorts.map((p) => Object.freeze({ port: p.port, protocol: p.protocol }));
      const held = t.lastStatus === "STOPPED" ? undefined : { agentId: t.agentId, group: t.group, cpu: t.reservedCpu, memory: t.reservedMemory, ports };
      this.setReservation(this.reservations, key(t.region, t.taskId), held);
    }
  }

  // --- loading ------------------------------------------------------------------------------

  /** Drops everything when another connection has committed since the last look. */
  private dropIfChangedElsewhere(): void {
    const version = (this.db.sql("PRAGMA data_version").get() as { data_version: number }).data_version;
    if (version === this.dataVersion) return;
    this.dataVersion = version;
    this.agents = undefined;
    this.clusters.clear();
    this.reservations = undefined;
  }

  private loadAgents(): Map<string, Readonly<AgentRecord>> {
    if (this.agents) return this.agents;
    const rows = this.db.sql("SELECT doc FROM agents").all() as { doc: string }[];
    const agents = new Map<string, Readonly<AgentRecord>>();
    for (const r of rows) {
      const agent = deepFreeze(JSON.parse(r.doc) as AgentRecord);
      agents.set(agent.agentId, agent);
    }
    return (this.agents = agents);
  }

  private loadCluster(region: string, cluster: string): ClusterInstances {
    const k = key(region, cluster);
    const cached = this.clusters.get(k);
    if (cached) return cached;
    const rows = this.db.sql("SELECT doc FROM container_instances WHERE region = ? AND cluster = ?").all(region, cluster) as { doc: string }[];
    const byId = new Map<string, Readonly<ContainerInstance>>();
    for (const r of rows) {
      const instance = deepFreeze(JSON.parse(r.doc) as ContainerInstance);
      byId.set(instance.id, instance);
    }
    const loaded: ClusterInstances = { byId, sorted: undefined };
    this.clusters.set(k, loaded);
    return loaded;
  }

  /* out: per live task, its agent, group and the reserved cpu, memory and host ports from its doc. */
  private loadReservations(): Reservations {
    if (this.reservations) return this.reservations;
    const rows = this.db
      .sql(
        `SELECT region, id, agent_id, task_group, json_extract(doc, '$.reservedCpu') AS cpu,
           json_extract(doc, '$.reservedMemory') AS memory, json_extract(doc, '$.reservedPorts') AS ports
         FROM tasks WHERE last_status != 'STOPPED'`,
      )
      .all() as { region: string; id: string; agent_id: string; task_group: string; cpu: number; memory: number; ports: string | null }[];
    const loaded: Reservations = { byTask: new Map(), byAgent: new Map() };
    for (const r of rows) {
      const ports = r.ports === null ? [] : deepFreeze(JSON.parse(r.ports) as Port[]);
      this.setReservation(loaded, key(r.region, r.id), { agentId: r.agent_id, group: r.task_group, cpu: r.cpu, memory: r.memory, ports });
    }
    return (this.reservations = loaded);
  }

  /** Replaces what the task holds (undefined: nothing, it is STOPPED). */
  private setReservation(reservations: Reservations, taskKey: string, held: Reservation | undefined): void {
    const { byTask, byAgent } = reservations;
    const before = byTask.get(taskKey);
    if (before) {
      const onAgent = byAgent.get(before.agentId)!;
      onAgent.tasks.delete(taskKey);
      onAgent.sum = undefined;
      if (onAgent.tasks.size === 0) byAgent.delete(before.agentId);
      byTask.delete(taskKey);
    }
    if (held === undefined) return;
    byTask.set(taskKey, held);
    const onAgent = byAgent.get(held.agentId) ?? { tasks: new Map<string, Reservation>(), sum: undefined };
    onAgent.tasks.set(taskKey, held);
    onAgent.sum = undefined;
    byAgent.set(held.agentId, onAgent);
  }
}

function sumOf(agentId: string, reservations: Iterable<Reservation>): Readonly<AgentReservations> {
  let [tasks, cpu, memory] = [0, 0, 0];
  const ports: Port[] = [];
  const groups = new Map<string, number>();
  for (const r of reservations) {
    tasks++;
    cpu += r.cpu;
    memory += r.memory;
    ports.push(...r.ports);
    groups.set(r.group, (groups.get(r.group) ?? 0) + 1);
  }
  return deepFreeze({ agentId, tasks, cpu, memory, ports, groups });
}
