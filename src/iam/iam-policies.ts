/**
 * Inline policies, customer managed policies with their versions, AWS managed policies, and
 * attachments: the statements and IAM's rules (documents validated before anything is written,
 * five versions per policy, the default version deleted only with its policy, size quotas).
 * Every mutation runs inside the caller's transaction (see sqlite-iam-engine.ts).
 */
import { BerthError, ErrorCode, invalidParameter } from "../core/errors.ts";
import {
  type AttachedPolicy,
  type CreatePolicyInput,
  type IamTag,
  type ListPoliciesQuery,
  type ManagedPolicy,
  type Page,
  type PageRequest,
  type PolicyOwner,
  type PolicyVersion,
  noSuchEntity,
  policyArn,
} from "../domain/iam.ts";
import { parsePolicy } from "../domain/iam-policy.ts";
import { AWS_MANAGED_POLICIES, awsManagedPolicy } from "./aws-managed-policies.ts";
import { checkTags, getRole, getUser, paginate } from "./iam-entities.ts";
import { uniqueId } from "./iam-ids.ts";
import type { IamSql } from "./iam-schema.ts";

interface PolicyRow {
  arn: string;
  name: string;
  id: string;
  path: string;
  description: string | null;
  default_version: string;
  next_version: number;
  created: number;
  updated: number;
  tags: string;
}

interface VersionRow { arn: string; version: string; document: string; created: number }

const MAX_VERSIONS = 5;
const MANAGED_POLICY_SIZE = 6144;
const INLINE_SIZE: Record<PolicyOwner["kind"], number> = { user: 2048, role: 10240 };

/** IAM counts a document's size without its whitespace. */
const policySize = (document: string): number => document.replace(/\s/g, "").length;

/** The owner's stored name (in its stored case); NoSuchEntity when it does not exist. */
export function ownerName(db: IamSql, owner: PolicyOwner): string {
  return owner.kind === "user" ? getUser(db, owner.name).name : getRole(db, owner.name).name;
}

// --- inline policies ----------------------------------------------------------------------

/* guard: the document is a valid identity policy and the owner's inline total stays within IAM's quota. */
export function putInlinePolicy(db: IamSql, owner: PolicyOwner, name: string, document: string): void {
  const stored = ownerName(db, owner);
  parsePolicy(document, "identity");
  const others = db.sql("SELECT document FROM inline_policies WHERE owner_kind = ? AND owner = ? AND name <> ?").all(owner.kind, stored, name) as { document: string }[];
  const total = others.reduce((n, r) => n + policySize(r.document), policySize(document));
  if (total > INLINE_SIZE[owner.kind]) {
    throw new BerthError(ErrorCode.LimitExceeded, `Maximum policy size of ${INLINE_SIZE[owner.kind]} bytes exceeded for ${owner.kind} ${stored}`);
  }
  db.sql(
    `INSERT INTO inline_policies (owner_kind, owner, name, document) VALUES (?, ?, ?, ?)
     ON CONFLICT (owner_kind, owner, name) DO UPDATE SET name = excluded.name, document = excluded.document`,
  ).run(owner.kind, stored, name, document);
}

const inlineMissing = (owner: PolicyOwner, name: string) => noSuchEntity(`The ${owner.kind} policy with name ${name} cannot be found.`);

export function getInlinePolicy(db: IamSql, owner: PolicyOwner, name: string): string {
  const stored = ownerName(db, owner);
  const row = db.sql("SELECT document FROM inline_policies WHERE owner_kind = ? AND owner = ? AND name = ?").get(owner.kind, stored, name) as { document: string } | undefined;
  if (!row) throw inlineMissing(owner, name);
  return row.document;
}

export function deleteInlinePolicy(db: IamSql, owner: PolicyOwner, name: string): void {
  const stored = ownerName(db, owner);
  const result = db.sql("DELETE FROM inline_policies WHERE owner_kind = ? AND owner = ? AND name = ?").run(owner.kind, stored, name);
  if (result.changes === 0) throw inlineMissing(owner, name);
}

export function listInlinePolicies(db: IamSql, owner: PolicyOwner, page: PageRequest): Page<string> {
  const stored = ownerName(db, owner);
  const rows = db.sql("SELECT name FROM inline_policies WHERE owner_kind = ? AND owner = ? ORDER BY name").all(owner.kind, stored) as { name: string }[];
  return paginate(rows.map((r) => r.name), (n) => n, page);
}

// --- managed policies ---------------------------------------------------------------------

function attachmentCount(db: IamSql, arn: string): number {
  return (db.sql("SELECT count(*) AS n FROM attachments WHERE policy_arn = ?").get(arn) as { n: number }).n;
}

function toPolicy(db: IamSql, row: PolicyRow): ManagedPolicy {
  return {
    policyName: row.name,
    policyId: row.id,
    arn: row.arn,
    path: row.path,
    defaultVersionId: row.default_version,
    attachmentCount: attachmentCount(db, row.arn),
    ...(row.description === null ? {} : { description: row.description }),
    createDate: row.created,
    updateDate: row.updated,
    tags: JSON.parse(row.tags) as IamTag[],
  };
}

const policyMissing = (arn: string) => noSuchEntity(`Policy ${arn} was not found.`);

function findPolicyRow(db: IamSql, arn: string): PolicyRow | undefined {
  return db.sql("SELECT * FROM policies WHERE arn = ?").get(arn) as PolicyRow | undefined;
}

function customerPolicy(db: IamSql, arn: string): PolicyRow {
  const row = findPolicyRow(db, arn);
  if (!row) {
    if (awsManagedPolicy(arn)) throw invalidParameter(`Policy ${arn} is an AWS managed policy and cannot be changed.`);
    throw policyMissing(arn);
  }
  return row;
}

function checkManagedDocument(document: string): void {
  parsePolicy(document, "identity");
  if (policySize(document) > MANAGED_POLICY_SIZE) throw new BerthError(ErrorCode.LimitExceeded, `Cannot exceed quota for PolicySize: ${MANAGED_POLICY_SIZE}`);
}

/* guard: a valid document and a name no other customer policy has (regardless of case). */
export function createPolicy(db: IamSql, input: CreatePolicyInput): ManagedPolicy {
  checkManagedDocument(input.policyDocument);
  const tags = input.tags ?? [];
  checkTags(tags);
  const path = input.path ?? "/";
  const now = db.clock.now();
  const row: PolicyRow = {
    arn: policyArn(db.accountId, path, input.policyName),
    name: input.policyName,
    id: uniqueId("ANPA"),
    path,
    description: input.description ?? null,
    default_version: "v1",
    next_version: 2,
    created: now,
    updated: now,
    tags: JSON.stringify(tags),
  };
  const result = db.sql(
    `INSERT INTO policies (arn, name, id, path, description, default_version, next_version, created, updated, tags)
     VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING`,
  ).run(row.arn, row.name, row.id, row.path, row.description, row.default_version, row.next_version, row.created, row.updated, row.tags);
  if (result.changes === 0) {
    throw new BerthError(ErrorCode.ResourceAlreadyExists, `A policy called ${input.policyName} already exists. Duplicate names are not allowed.`);
  }
  db.sql("INSERT INTO policy_versions (arn, version, document, created) VALUES (?, 'v1', ?, ?)").run(row.arn, input.policyDocument, now);
  return toPolicy(db, row);
}

export function getPolicy(db: IamSql, arn: string): ManagedPolicy {
  const aws = awsManagedPolicy(arn);
  if (aws) return { ...aws.policy, attachmentCount: attachmentCount(db, arn) };
  const row = findPolicyRow(db, arn);
  if (!row) throw policyMissing(arn);
  return toPolicy(db, row);
}

export function listPolicies(db: IamSql, query: ListPoliciesQuery): Page<ManagedPolicy> {
  const scope = query.scope ?? "All";
  const prefix = query.pathPrefix ?? "/";
  const aws = scope === "Local" ? [] : AWS_MANAGED_POLICIES.map((p) => ({ ...p.policy, attachmentCount: attachmentCount(db, p.policy.arn) }));
  const local = scope === "AWS" ? [] : (db.sql("SELECT * FROM policies ORDER BY name").all() as PolicyRow[]).map((r) => toPolicy(db, r));
  const all = [...aws, ...local]
    .filter((p) => p.path.startsWith(prefix) && (!query.onlyAttached || p.attachmentCount > 0))
    .sort((a, b) => (a.policyName.toLowerCase() < b.policyName.toLowerCase() ? -1 : 1));
  return paginate(all, (p) => p.policyName, query);
}

/* guard: attached to nothing and no version but the default left (IAM's DeleteConflicts). */
export function deletePolicy(db: IamSql, arn: string): void {
  const row = customerPolicy(db, arn);
  if (attachmentCount(db, arn) > 0) throw new BerthError(ErrorCode.Conflict, "Cannot delete a policy attached to entities.");
  const versions = (db.sql("SELECT count(*) AS n FROM policy_versions WHERE arn = ?").get(arn) as { n: number }).n;
  if (versions > 1) {
    throw new BerthError(
      ErrorCode.Conflict,
      "This policy has more than one version. Before you delete a policy, you must delete the policy's versions. The default version is deleted with the policy.",
    );
  }
  db.sql("DELETE FROM policy_versions WHERE arn = ?").run(row.arn);
  db.sql("DELETE FROM policies WHERE arn = ?").run(row.arn);
}

function toVersion(row: VersionRow, defaultVersion: string): PolicyVersion {
  return { versionId: row.version, document: row.document, isDefaultVersion: row.version === defaultVersion, createDate: row.created };
}

export function createPolicyVersion(db: IamSql, arn: string, document: string, setAsDefault: boolean): PolicyVersion {
  const row = customerPolicy(db, arn);
  checkManagedDocument(document);
  const versions = (db.sql("SELECT count(*) AS n FROM policy_versions WHERE arn = ?").get(arn) as { n: number }).n;
  if (versions >= MAX_VERSIONS) {
    throw new BerthError(
      ErrorCode.LimitExceeded,
      `A managed policy can have up to ${MAX_VERSIONS} versions. Before you create a new version, you must delete an existing version.`,
    );
  }
  const version = `v${row.next_version}`;
  const now = db.clock.now();
  db.sql("INSERT INTO policy_versions (arn, version, document, created) VALUES (?, ?, ?, ?)").run(arn, version, document, now);
  db.sql("UPDATE policies SET next_version = next_version + 1, updated = ?, default_version = ? WHERE arn = ?")
    .run(now, setAsDefault ? version : row.default_version, arn);
  return toVersion({ arn, version, document, created: now }, setAsDefault ? version : row.default_version);
}

const versionMissing = (arn: string, version: string) => noSuchEntity(`Policy ${arn} version ${version} does not exist or is not attachable.`);

export function getPolicyVersion(db: IamSql, arn: string, versionId: string): PolicyVersion {
  const aws = awsManagedPolicy(arn);
  if (aws) {
    if (versionId !== aws.policy.defaultVersionId) throw versionMissing(arn, versionId);
    return { versionId, document: aws.document, isDefaultVersion: true, createDate: aws.policy.createDate };
  }
  const row = findPolicyRow(db, arn);
  if (!row) throw policyMissing(arn);
  const version = db.sql("SELECT * FROM policy_versions WHERE arn = ? AND version = ?").get(arn, versionId) as VersionRow | undefined;
  if (!version) throw versionMissing(arn, versionId);
  return toVersion(version, row.default_version);
}

export function listPolicyVersions(db: IamSql, arn: string, page: PageRequest): Page<PolicyVersion> {
  const aws = awsManagedPolicy(arn);
  if (aws) return { items: [getPolicyVersion(db, arn, aws.policy.defaultVersionId)] };
  const row = findPolicyRow(db, arn);
  if (!row) throw policyMissing(arn);
  const versions = (db.sql("SELECT * FROM policy_versions WHERE arn = ?").all(arn) as VersionRow[])
    .sort((a, b) => Number(b.version.slice(1)) - Number(a.version.slice(1)))
    .map((v) => toVersion(v, row.default_version));
  return paginate(versions, (v) => v.versionId, page);
}

export function deletePolicyVersion(db: IamSql, arn: string, versionId: string): void {
  const row = customerPolicy(db, arn);
  if (versionId === row.default_version) throw new BerthError(ErrorCode.Conflict, "Cannot delete the default version of a policy.");
  const result = db.sql("DELETE FROM policy_versions WHERE arn = ? AND version = ?").run(arn, versionId);
  if (result.changes === 0) throw versionMissing(arn, versionId);
}

export function setDefaultPolicyVersion(db: IamSql, arn: string, versionId: string): void {
  customerPolicy(db, arn);
  if (!db.sql("SELECT 1 FROM policy_versions WHERE arn = ? AND version = ?").get(arn, versionId)) throw versionMissing(arn, versionId);
  db.sql("UPDATE policies SET default_version = ?, updated = ? WHERE arn = ?").run(versionId, db.clock.now(), arn);
}

// --- attachments --------------------------------------------------------------------------

export function attachPolicy(db: IamSql, owner: PolicyOwner, arn: string): void {
  const stored = ownerName(db, owner);
  if (!awsManagedPolicy(arn) && !findPolicyRow(db, arn)) throw noSuchEntity(`Policy ${arn} does not exist or is not attachable.`);
  db.sql("INSERT INTO attachments (owner_kind, owner, policy_arn) VALUES (?, ?, ?) ON CONFLICT DO NOTHING").run(owner.kind, stored, arn);
}

export function detachPolicy(db: IamSql, owner: PolicyOwner, arn: string): void {
  const stored = ownerName(db, owner);
  const result = db.sql("DELETE FROM attachments WHERE owner_kind = ? AND owner = ? AND policy_arn = ?").run(owner.kind, stored, arn);
  if (result.changes === 0) throw policyMissing(arn);
}

export function listAttachedPolicies(db: IamSql, owner: PolicyOwner, query: PageRequest & { pathPrefix?: string }): Page<AttachedPolicy> {
  const stored = ownerName(db, owner);
  const arns = (db.sql("SELECT policy_arn FROM attachments WHERE owner_kind = ? AND owner = ?").all(owner.kind, stored) as { policy_arn: string }[]);
  const attached = arns
    .map((r) => getPolicy(db, r.policy_arn))
    .filter((p) => p.path.startsWith(query.pathPrefix ?? "/"))
    .map((p): AttachedPolicy => ({ policyName: p.policyName, policyArn: p.arn }))
    .sort((a, b) => (a.policyName.toLowerCase() < b.policyName.toLowerCase() ? -1 : 1));
  return paginate(attached, (p) => p.policyName, query);
}

/** Every identity policy document that applies to a user or role: inline, then attached defaults. */
export function documentsOf(db: IamSql, owner: PolicyOwner): string[] {
  const inline = db.sql("SELECT document FROM inline_policies WHERE owner_kind = ? AND owner = ?").all(owner.kind, owner.name) as { document: string }[];
  const attached = db.sql("SELECT policy_arn FROM attachments WHERE owner_kind = ? AND owner = ?").all(owner.kind, owner.name) as { policy_arn: string }[];
  const managed = db.sql(
    `SELECT v.document FROM attachments a
       JOIN policies p ON p.arn = a.policy_arn
       JOIN policy_versions v ON v.arn = p.arn AND v.version = p.default_version
     WHERE a.owner_kind = ? AND a.owner = ?`,
  ).all(owner.kind, owner.name) as { document: string }[];
  const aws = attached.flatMap((r) => awsManagedPolicy(r.policy_arn)?.document ?? []);
  return [...inline, ...managed].map((r) => r.document).concat(aws);
}
