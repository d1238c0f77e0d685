/**
 * The IamEngine on its own SQLite file (better-sqlite3, WAL, synchronous=FULL): users, access
 * keys, roles, inline and managed policies, attachments and STS sessions for Berth's one
 * account. Each mutation is one transaction, validated before anything is written, so a
 * refused call changes nothing. Owns only its file: it never touches the control plane's store.
 *
 * Statements: users, keys and roles in iam-entities.ts; policies and attachments in
 * iam-policies.ts; authorization, STS and the credential lookup in iam-access.ts. Policy
 * grammar and evaluation are pure (domain/iam-policy.ts, domain/iam-evaluate.ts).
 */
import { chmodSync, closeSync, openSync } from "node:fs";
import type Database from "better-sqlite3";
import type { Clock } from "../core/clock.ts";
import type {
  AccessKeyMetadata,
  AccessKeyStatus,
  AssumeRoleInput,
  AttachedPolicy,
  AuthorizationRequest,
  CreatePolicyInput,
  CreateRoleInput,
  CreateUserInput,
  IamCredential,
  IamEngine,
  IamPrincipal,
  IamRole,
  IamTag,
  IamUser,
  ListPoliciesQuery,
  ManagedPolicy,
  NewAccessKey,
  Page,
  PageRequest,
  PolicyOwner,
  PolicyVersion,
  RoleCredentials,
} from "../domain/iam.ts";
import { parsePrincipalArn } from "../domain/iam.ts";
import { type Policy, type PolicyKind, malformed, parsePolicy } from "../domain/iam-policy.ts";
import { openSqlite } from "../store/sqlite-database.ts";
import * as access from "./iam-access.ts";
import * as entities from "./iam-entities.ts";
import * as policies from "./iam-policies.ts";
import type { TextSealer } from "../core/sealer.ts";
import { IAM_MIGRATIONS, type IamSql } from "./iam-schema.ts";

export interface SqliteIamEngineOptions {
  /** File path (e.g. data-dir/iam.db), or ":memory:" for tests. */
  path: string;
  /** The account every user, role and policy belongs to (identity.json's). */
  accountId: string;
  clock: Clock;
  /** The identity.json admin's ARN: allowed everything, may assume roles that trust the account. */
  adminArn?: string;
  /** Seals access key secrets and session tokens at rest; plain text (in a 0600 file) without it. */
  sealer?: TextSealer;
}

const PARSED_CACHE_LIMIT = 512;

export class SqliteIamEngine implements IamEngine {
  private readonly db: Database.Database;
  private readonly runner: IamSql;
  private readonly deps: access.AccessDeps;
  private readonly parsed = new Map<string, Policy>();

  constructor(options: SqliteIamEngineOptions) {
    // The file holds secret keys: readable by Berth's user only, like identity.json. It is
    // created 0600 before SQLite opens it, and SQLite gives its -wal and -shm files the same mode.
    if (options.path !== ":memory:") {
      closeSync(openSync(options.path, "a", 0o600));
      chmodSync(options.path, 0o600);
    }
    const file = openSqlite(options.path, IAM_MIGRATIONS);
    this.db = file.db;
    this.runner = {
      sql: file.sql,
      tx: (fn) => this.db.transaction(fn)(),
      accountId: options.accountId,
      clock: options.clock,
      ...(options.sealer ? { sealer: options.sealer } : {}),
    };
    this.deps = { db: this.runner, parse: (d, k) => this.parse(d, k), ...(options.adminArn ? { adminArn: options.adminArn } : {}) };
  }

  private tx<T>(fn: () => T): Promise<T> {
    return Promise.resolve().then(() => this.runner.tx(fn));
  }

  private parse(document: string, kind: PolicyKind): Policy {
    const key = `${kind}\n${document}`;
    let policy = this.parsed.get(key);
    if (policy === undefined) {
      policy = parsePolicy(document, kind);
      if (this.parsed.size >= PARSED_CACHE_LIMIT) this.parsed.delete(this.parsed.keys().next().value!);
      this.parsed.set(key, policy);
    }
    return policy;
  }

  /** A trust policy's named users and roles of this account must exist, as IAM requires. */
  private checkTrustPolicy(document: string): void {
    const policy = parsePolicy(document, "trust");
    for (const s of policy.statements) {
      for (const spec of [s.principal, s.notPrincipal]) {
        if (spec === undefined || spec === "*") continue;
        for (const arn of spec["AWS"] ?? []) {
          const p = parsePrincipalArn(arn);
          if (p === undefined || p.accountId !== this.runner.accountId || (p.kind !== "user" && p.kind !== "role")) continue;
          const found = p.kind === "user" ? entities.findUser(this.runner, p.name) : entities.findRole(this.runner, p.name);
          if (!found || found.path !== p.path) throw malformed(`Invalid principal in policy: "AWS":"${arn}"`);
        }
      }
    }
  }

  // --- users and access keys ---

  createUser(input: CreateUserInput): Promise<IamUser> {
    return this.tx(() => entities.createUser(this.runner, input));
  }
  getUser(userName: string): Promise<IamUser> {
    return this.tx(() => entities.toUser(this.runner, entities.getUser(this.runner, userName)));
  }
  listUsers(query: PageRequest & { pathPrefix?: string }): Promise<Page<IamUser>> {
    return this.tx(() => entities.listUsers(this.runner, query));
  }
  deleteUser(userName: string): Promise<void> {
    return this.tx(() => entities.deleteUser(this.runner, userName));
  }
  createAccessKey(userName: string): Promise<NewAccessKey> {
    return this.tx(() => entities.createAccessKey(this.runner, userName));
  }
  listAccessKeys(userName: string, page: PageRequest): Promise<Page<AccessKeyMetadata>> {
    return this.tx(() => entities.listAccessKeys(this.runner, userName, page));
  }
  updateAccessKey(userName: string, accessKeyId: string, status: AccessKeyStatus): Promise<void> {
    return this.tx(() => entities.updateAccessKey(this.runner, userName, accessKeyId, status));
  }
  deleteAccessKey(userName: string, accessKeyId: string): Promise<void> {
    return this.tx(() => entities.deleteAccessKey(this.runner, userName, accessKeyId));
  }
  userOfAccessKey(accessKeyId: string): string | undefined {
    return access.userOfAccessKey(this.runner, accessKeyId);
  }

  // --- roles ---

  createRole(input: CreateRoleInput): Promise<IamRole> {
    return this.tx(() => {
      this.checkTrustPolicy(input.assumeRolePolicyDocument);
      return entities.createRole(this.runner, input);
    });
  }
  getRole(roleName: string): Promise<IamRole> {
    return this.tx(() => entities.toRole(this.runner, entities.getRole(this.runner, roleName)));
  }
  listRoles(query: PageRequest & { pathPrefix?: string }): Promise<Page<IamRole>> {
    return this.tx(() => entities.listRoles(this.runner, query));
  }
  deleteRole(roleName: string): Promise<void> {
    return this.tx(() => entities.deleteRole(this.runner, roleName));
  }
  updateRole(roleName: string, changes: { description?: string; maxSessionDuration?: number }): Promise<void> {
    return this.tx(() => entities.updateRole(this.runner, roleName, changes));
  }
  updateAssumeRolePolicy(roleName: string, document: string): Promise<void> {
    return this.tx(() => {
      entities.getRole(this.runner, roleName);
      this.checkTrustPolicy(document);
      entities.setTrustPolicy(this.runner, roleName, document);
    });
  }
  tagRole(roleName: string, tags: IamTag[]): Promise<void> {
    return this.tx(() => entities.tagRole(this.runner, roleName, tags));
  }
  untagRole(roleName: string, keys: string[]): Promise<void> {
    return this.tx(() => entities.untagRole(this.runner, roleName, keys));
  }
  roleExists(roleArn: string): Promise<boolean> {
    return this.tx(() => access.roleExists(this.deps, roleArn));
  }

  // --- inline policies ---

  putInlinePolicy(owner: PolicyOwner, policyName: string, document: string): Promise<void> {
    return this.tx(() => policies.putInlinePolicy(this.runner, owner, policyName, document));
  }
  getInlinePolicy(owner: PolicyOwner, policyName: string): Promise<string> {
    return this.tx(() => policies.getInlinePolicy(this.runner, owner, policyName));
  }
  deleteInlinePolicy(owner: PolicyOwner, policyName: string): Promise<void> {
    return this.tx(() => policies.deleteInlinePolicy(this.runner, owner, policyName));
  }
  listInlinePolicies(owner: PolicyOwner, page: PageRequest): Promise<Page<string>> {
    return this.tx(() => policies.listInlinePolicies(this.runner, owner, page));
  }

  // --- managed policies ---

  createPolicy(input: CreatePolicyInput): Promise<ManagedPolicy> {
    return this.tx(() => policies.createPolicy(this.runner, input));
  }
  getPolicy(policyArn: string): Promise<ManagedPolicy> {
    return this.tx(() => policies.getPolicy(this.runner, policyArn));
  }
  listPolicies(query: ListPoliciesQuery): Promise<Page<ManagedPolicy>> {
    return this.tx(() => policies.listPolicies(this.runner, query));
  }
  deletePolicy(policyArn: string): Promise<void> {
    return this.tx(() => policies.deletePolicy(this.runner, policyArn));
  }
  createPolicyVersion(policyArn: string, document: string, setAsDefault: boolean): Promise<PolicyVersion> {
    return this.tx(() => policies.createPolicyVersion(this.runner, policyArn, document, setAsDefault));
  }
  getPolicyVersion(policyArn: string, versionId: string): Promise<PolicyVersion> {
    return this.tx(() => policies.getPolicyVersion(this.runner, policyArn, versionId));
  }
  listPolicyVersions(policyArn: string, page: PageRequest): Promise<Page<PolicyVersion>> {
    return this.tx(() => policies.listPolicyVersions(this.runner, policyArn, page));
  }
  deletePolicyVersion(policyArn: string, versionId: string): Promise<void> {
    return this.tx(() => policies.deletePolicyVersion(this.runner, policyArn, versionId));
  }
  setDefaultPolicyVersion(policyArn: string, versionId: string): Promise<void> {
    return this.tx(() => policies.setDefaultPolicyVersion(this.runner, policyArn, versionId));
  }
  attachPolicy(owner: PolicyOwner, policyArn: string): Promise<void> {
    return this.tx(() => policies.attachPolicy(this.runner, owner, policyArn));
  }
  detachPolicy(owner: PolicyOwner, policyArn: string): Promise<void> {
    return this.tx(() => policies.detachPolicy(this.runner, owner, policyArn));
  }
  listAttachedPolicies(owner: PolicyOwner, query: PageRequest & { pathPrefix?: string }): Promise<Page<AttachedPolicy>> {
    return this.tx(() => policies.listAttachedPolicies(this.runner, owner, query));
  }

  // --- STS and authorization ---

  assumeRole(callerArn: string, input: AssumeRoleInput): Promise<RoleCredentials> {
    return this.tx(() => access.assumeRole(this.deps, callerArn, input));
  }
  issueRoleCredentials(roleArn: string, sessionName: string, opts: { durationSeconds: number; servicePrincipal?: string }): Promise<RoleCredentials> {
    return this.tx(() => access.issueRoleCredentials(this.deps, roleArn, sessionName, opts));
  }
  async authorize(request: AuthorizationRequest): Promise<void> {
    access.authorize(this.deps, request);
  }
  async isAllowed(principalArn: string, action: string, resource: string, context?: Record<string, string | string[]>): Promise<boolean> {
    return access.isAllowed(this.deps, principalArn, action, resource, context);
  }
  credential(accessKeyId: string): IamCredential | undefined {
    return access.credential(this.runner, accessKeyId);
  }
  principal(arn: string): IamPrincipal | undefined {
    return access.principalOfArn(this.runner, arn);
  }

  async close(): Promise<void> {
    if (this.db.open) this.db.close();
  }
}
