/**
 * The Store port: domain operations over Berth's durable state. Callers never see SQL,
 * connections or transactions. Every method that resolves has made its change durable
 * (the API answers 2xx only after that). Adapters: SQLite (embedded, default) and, later,
 * PostgreSQL; both must pass test/store/store-conformance.ts.
 *
 * Region-scoped resources are keyed by region: the same cluster name in two regions names
 * two clusters, as on AWS.
 */
import type { AccountSetting } from "../domain/account-settings.ts";
import type { AgentRecord } from "../domain/agent.ts";
import type { ContainerInstance } from "../domain/container-instance.ts";
import type { Service } from "../domain/service.ts";
import type { Task } from "../domain/task.ts";
import type { Cluster, ClusterCounts } from "../domain/cluster.ts";
import type { Tag } from "../domain/tags.ts";
import type { TaskDefinitionRecord, TaskDefinitionStatus } from "../domain/task-definition-record.ts";

export interface Page<T> {
  items: T[];
  /** Opaque cursor for the next page, absent on the last page. */
  next?: string;
}

export interface PageRequest {
  after?: string;
  limit: number;
}

export interface TaskDefinitionQuery extends PageRequest {
  region: string;
  family?: string;
  status: TaskDefinitionStatus;
  descending: boolean;
}

export interface FamilyQuery extends PageRequest {
  region: string;
  familyPrefix?: string;
  status: "ACTIVE" | "INACTIVE" | "ALL";
}

export interface TaskQuery extends PageRequest {
  region: string;
  cluster: string;
  desiredStatus: "RUNNING" | "STOPPED";
  containerInstanceArn?: string;
  family?: string;
  group?: string;
  startedBy?: string;
  launchType?: string;
}

/** What the tasks not yet STOPPED on one agent hold there: what placement charges an instance. */
export interface AgentReservations {
  agentId: string;
  /** How many such tasks. */
  tasks: number;
  cpu: number;
  memory: number;
  /** Their fixed host ports (a port held by two tasks is listed twice). */
  ports: readonly { readonly port: number; readonly protocol: "tcp" | "udp" }[];
  /** Tasks per task group (`service:web`, `family:web`). */
  groups: ReadonlyMap<string, number>;
}

/** A container instance with its agent's record, as placement reads them. */
export interface InstanceWithAgent {
  instance: Readonly<ContainerInstance>;
  /** Undefined when no agent record has the instance's agentId. */
  agent: Readonly<AgentRecord> | undefined;
}

export interface Store {
  // Clusters
  /** Inserts the cluster unless an ACTIVE one of that name exists; returns whichever is stored. */
  createCluster(cluster: Cluster): Promise<{ cluster: Cluster; created: boolean }>;
  getCluster(region: string, name: string): Promise<Cluster | undefined>;
  /** ACTIVE clusters ordered by name. */
  listClusters(region: string, page: PageRequest): Promise<Page<Cluster>>;
  /** Replaces the cluster if its stored version equals `cluster.version`; bumps the version. */
  updateCluster(cluster: Cluster): Promise<Cluster>;

  // Task definitions
  /** Allocates the family's next revision and stores the record built for it, atomically. */
  registerTaskDefinition(
    region: string,
    family: string,
    build: (revision: number) => TaskDefinitionRecord,
  ): Promise<TaskDefinitionRecord>;
  /** A revision, or the family's latest ACTIVE revision when `revision` is undefined. */
  getTaskDefinition(region: string, family: string, revision?: number): Promise<TaskDefinitionRecord | undefined>;
  listTaskDefinitions(query: TaskDefinitionQuery): Promise<Page<TaskDefinitionRecord>>;
  listTaskDefinitionFamilies(query: FamilyQuery): Promise<Page<string>>;
  /** Sets the status of a revision (deregister, delete); returns the updated record. */
  setTaskDefinitionStatus(
    region: string,
    family: string,
    revision: number,
    status: TaskDefinitionStatus,
    at: number,
  ): Promise<TaskDefinitionRecord | undefined>;

  // Tags, keyed by resource ARN
  getTags(resourceArn: string): Promise<Tag[]>;
  putTags(resourceArn: string, tags: Tag[]): Promise<void>;

  // Account settings, keyed by region and principal ARN
  getAccountSettings(region: string, principalArn: string): Promise<AccountSetting[]>;
  putAccountSetting(region: string, setting: AccountSetting): Promise<void>;
  deleteAccountSetting(region: string, principalArn: string, name: string): Promise<boolean>;

  // Agents
  putAgent(agent: AgentRecord): Promise<void>;
  getAgent(agentId: string): Promise<AgentRecord | undefined>;
  listAgents(): Promise<AgentRecord[]>;
  /** Increases whenever the agent's desired task set changes. */
  agentGeneration(agentId: string): Promise<number>;

  // Container instances
  /** Inserts or replaces; a replace is guarded by the stored version (StaleVersion). */
  putContainerInstance(instance: ContainerInstance): Promise<ContainerInstance>;
  getContainerInstance(region: string, cluster: string, id: string): Promise<ContainerInstance | undefined>;
  findContainerInstanceByAgent(agentId: string): Promise<ContainerInstance | undefined>;
  /** Every container instance of a cluster, any status, ordered by id. */
  listContainerInstances(region: string, cluster: string): Promise<ContainerInstance[]>;
  /**
   * The cluster's container instances that are not INACTIVE, ordered by id, each with its agent's
   * record: what placement reads on every call. The records are frozen and may be shared with
   * other callers and later calls, so an adapter can answer without re-reading unchanged rows.
   */
  listInstancesWithAgents(region: string, cluster: string): Promise<InstanceWithAgent[]>;

  // Tasks
  /** Stores new tasks in one transaction and bumps their agents' generations. */
  createTasks(tasks: Task[]): Promise<void>;
  getTask(region: string, taskId: string): Promise<Task | undefined>;
  /**
   * Replaces a task if its stored version equals `task.version` (else StaleVersion); the
   * stored copy gets version + 1. Bumps the agent's generation when desiredStatus changed.
   */
  updateTask(task: Task): Promise<Task>;
  listTasks(query: TaskQuery): Promise<Page<Task>>;
  /** Tasks on an agent that are not yet STOPPED. */
  liveTasksOnAgent(agentId: string): Promise<Task[]>;
  /**
   * Per agent among `agentIds` (duplicates count once), what its tasks not yet STOPPED reserve;
   * agents without such tasks are left out. Placement's accounting, without reading whole tasks.
   * Like listInstancesWithAgents' records, the sums may be shared: callers must not change them.
   */
  reservationsOnAgents(agentIds: readonly string[]): Promise<Readonly<AgentReservations>[]>;
  findTasksByClientToken(region: string, cluster: string, clientToken: string): Promise<Task[]>;
  /** Live counts for DescribeClusters: RUNNING tasks, other not-STOPPED tasks, ACTIVE/DRAINING instances. */
  clusterCounts(region: string, cluster: string): Promise<ClusterCounts>;
  /** Removes STOPPED tasks whose stoppedAt is before `before`; returns how many. */
  deleteTasksStoppedBefore(before: number): Promise<number>;

  // Services
  /** Inserts the service unless one of that name is ACTIVE or DRAINING; returns whichever is stored. */
  createService(service: Service): Promise<{ service: Service; created: boolean }>;
  getService(region: string, cluster: string, name: string): Promise<Service | undefined>;
  /** Services of a cluster that are not INACTIVE, ordered by name. */
  listServices(region: string, cluster: string, page: PageRequest): Promise<Page<Service>>;
  /** Every service that is not INACTIVE, in every region (the controller's resync). */
  liveServices(): Promise<Service[]>;
  /** Replaces a service if its stored version equals `service.version` (else StaleVersion); version + 1. */
  updateService(service: Service): Promise<Service>;
  /** Every stored task of a group (live and retained STOPPED ones), e.g. `service:web`. */
  tasksOfGroup(region: string, cluster: string, group: string): Promise<Task[]>;

  close(): Promise<void>;
}
