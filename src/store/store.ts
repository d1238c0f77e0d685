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
import type { Cluster } from "../domain/cluster.ts";
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

  close(): Promise<void>;
}
