/**
 * Task role credentials on this host: which credentials id belongs to which task, a cache of
 * the temporary credentials the server issued for each task, refreshed once half their life
 * has passed (so a container's SDK always gets a set that outlives its own refresh margin),
 * and the check that a caller asking for a task's credentials is that task.
 */
import { createHmac } from "node:crypto";
import type { RoleCredentials } from "../protocol/agent-protocol.ts";
import type { TaskRoleCredentials } from "./metadata-server.ts";

export interface CredentialsDeps {
  /** Secret material only this agent knows (its id, kept in its data dir). */
  secret: string;
  fetch(taskArn: string): Promise<RoleCredentials>;
  now(): number;
  /** The task an id could name, among the tasks this agent runs. */
  tasks(): Iterable<string>;
  /** Addresses the task's containers call from; undefined when they share the host's (host mode). */
  addressesOf(taskArn: string): ReadonlySet<string> | undefined;
}

interface Cached {
  credentials: RoleCredentials;
  issuedAt: number;
}

export class TaskCredentials {
  private readonly cache = new Map<string, Cached>();
  private readonly inFlight = new Map<string, Promise<RoleCredentials>>();

  constructor(private readonly deps: CredentialsDeps) {}

  /** The id in AWS_CONTAINER_CREDENTIALS_RELATIVE_URI: stable across agent restarts, unguessable. */
  idFor(taskArn: string): string {
    const h = createHmac("sha256", this.deps.secret).update(`task-credentials\u0000${taskArn}`).digest("hex");
    return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20, 32)}`;
  }

  /** Answers the credentials endpoint; undefined for an unknown id or a caller from another task. */
  async serve(id: string, remoteAddress: string): Promise<TaskRoleCredentials | undefined> {
    const taskArn = [...this.deps.tasks()].find((arn) => this.idFor(arn) === id);
    if (!taskArn) return undefined;
    const addresses = this.deps.addressesOf(taskArn);
    if (addresses && !addresses.has(remoteAddress.replace(/^::ffff:/, ""))) return undefined;
    const c = await this.get(taskArn);
    return {
      RoleArn: c.roleArn,
      AccessKeyId: c.accessKeyId,
      SecretAccessKey: c.secretAccessKey,
      Token: c.sessionToken,
      Expiration: new Date(c.expiration).toISOString().replace(/\.\d+Z$/, "Z"),
    };
  }

  /** Cached credentials while more than half their lifetime remains, else a fresh set. */
  async get(taskArn: string): Promise<RoleCredentials> {
    const now = this.deps.now();
    const cached = this.cache.get(taskArn);
    if (cached && now < cached.issuedAt + (cached.credentials.expiration - cached.issuedAt) / 2) return cached.credentials;
    let pending = this.inFlight.get(taskArn);
    if (!pending) {
      pending = this.deps
        .fetch(taskArn)
        .then((credentials) => {
          this.cache.set(taskArn, { credentials, issuedAt: now });
          return credentials;
        })
        .finally(() => this.inFlight.delete(taskArn));
      this.inFlight.set(taskArn, pending);
    }
    return pending;
  }

  forget(taskArn: string): void {
    this.cache.delete(taskArn);
  }
}
