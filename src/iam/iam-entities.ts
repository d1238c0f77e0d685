/**
 * Users, their access keys, and roles: the statements and IAM's rules for them (names unique
 * regardless of case, two access keys per user, nothing deleted while something still hangs
 * on it). Every mutation runs inside the caller's transaction (see sqlite-iam-engine.ts).
 */
import { BerthError, ErrorCode, invalidParameter } from "../core/errors.ts";
import {
  type AccessKeyMetadata,
  type AccessKeyStatus,
  type CreateRoleInput,
  type CreateUserInput,
  type IamRole,
  type IamTag,
  type IamUser,
  type NewAccessKey,
  type Page,
  type PageRequest,
  noSuchEntity,
  roleArn,
  userArn,
} from "../domain/iam.ts";
import { accessKeyId, secretAccessKey, uniqueId } from "./iam-ids.ts";
import { sealText } from "../core/sealer.ts";
import type { IamSql } from "./iam-schema.ts";

export interface UserRow { name: string; id: string; path: string; created: number; tags: string }
export interface RoleRow { name: string; id: string; path: string; created: number; trust: string; description: string | null; max_session: number; tags: string }
interface KeyRow { id: string; user_name: string; status: AccessKeyStatus; created: number }

const MAX_ACCESS_KEYS = 2;
const MAX_TAGS = 50;

export function toUser(db: IamSql, row: UserRow): IamUser {
  return { userName: row.name, userId: row.id, arn: userArn(db.accountId, row.path, row.name), path: row.path, createDate: row.created, tags: JSON.parse(row.tags) as IamTag[] };
}

export function toRole(db: IamSql, row: RoleRow): IamRole {
  return {
    roleName: row.name,
    roleId: row.id,
    arn: roleArn(db.accountId, row.path, row.name),
    path: row.path,
    createDate: row.created,
    assumeRolePolicyDocument: row.trust,
    ...(row.description === null ? {} : { description: row.description }),
    maxSessionDuration: row.max_session,
    tags: JSON.parse(row.tags) as IamTag[],
  };
}

/** IAM's list paging: items after the marker, and a marker when more follow. */
export function paginate<T>(items: T[], keyOf: (item: T) => string, request: PageRequest): Page<T> {
  const after = request.marker === undefined ? undefined : Buffer.from(request.marker, "base64url").toString("utf8");
  const start = after === undefined ? 0 : items.findIndex((item) => keyOf(item).toLowerCase() > after.toLowerCase());
  const max = request.maxItems ?? 100;
  const rest = start === -1 ? [] : items.slice(start);
  const pageItems = rest.slice(0, max);
  const last = pageItems[pageItems.length - 1];
  return rest.length > max && last !== undefined
    ? { items: pageItems, marker: Buffer.from(keyOf(last), "utf8").toString("base64url") }
    : { items: pageItems };
}

export function checkTags(tags: readonly IamTag[]): void {
  if (tags.length > MAX_TAGS) throw new BerthError(ErrorCode.LimitExceeded, "The number of tags has reached the maximum limit.");
  const keys = new Set(tags.map((t) => t.key.toLowerCase()));
  if (keys.size !== tags.length) throw invalidParameter("Duplicate tag keys found. Please note that Tag keys are case insensitive.");
}

// --- users ------------------------------------------------------------------------------

export function findUser(db: IamSql, name: string): UserRow | undefined {
  return db.sql("SELECT * FROM users WHERE name = ?").get(name) as UserRow | undefined;
}

export function getUser(db: IamSql, name: string): UserRow {
  const row = findUser(db, name);
  if (!row) throw noSuchEntity(`The user with name ${name} cannot be found.`);
  return row;
}

/* guard: the name is free (regardless of case), else EntityAlreadyExists. */
export function createUser(db: IamSql, input: CreateUserInput): IamUser {
  const tags = input.tags ?? [];
  checkTags(tags);
  const row: UserRow = { name: input.userName, id: uniqueId("AIDA"), path: input.path ?? "/", created: db.clock.now(), tags: JSON.stringify(tags) };
  const result = db.sql("INSERT INTO users (name, id, path, created, tags) VALUES (?, ?, ?, ?, ?) ON CONFLICT DO NOTHING")
    .run(row.name, row.id, row.path, row.created, row.tags);
  if (result.changes === 0) throw new BerthError(ErrorCode.ResourceAlreadyExists, `User with name ${input.userName} already exists.`);
  return toUser(db, row);
}

export function listUsers(db: IamSql, query: PageRequest & { pathPrefix?: string }): Page<IamUser> {
  const rows = db.sql("SELECT * FROM users WHERE substr(path, 1, length(?)) = ? ORDER BY name").all(query.pathPrefix ?? "/", query.pathPrefix ?? "/") as UserRow[];
  return paginate(rows.map((r) => toUser(db, r)), (u) => u.userName, query);
}

/* guard: no access keys, inline or attached policies remain (IAM's DeleteConflict, in IAM's order). */
export function deleteUser(db: IamSql, name: string): void {
  const user = getUser(db, name);
  const conflict = (what: string) => new BerthError(ErrorCode.Conflict, `Cannot delete entity, must ${what} first.`);
  if (db.sql("SELECT 1 FROM access_keys WHERE user_name = ?").get(user.name)) throw conflict("delete access keys");
  if (db.sql("SELECT 1 FROM inline_policies WHERE owner_kind = 'user' AND owner = ?").get(user.name)) throw conflict("delete policies");
  if (db.sql("SELECT 1 FROM attachments WHERE owner_kind = 'user' AND owner = ?").get(user.name)) throw conflict("detach all policies");
  db.sql("DELETE FROM users WHERE name = ?").run(user.name);
}

// --- access keys --------------------------------------------------------------------------

export function createAccessKey(db: IamSql, userName: string): NewAccessKey {
  const user = getUser(db, userName);
  const count = (db.sql("SELECT count(*) AS n FROM access_keys WHERE user_name = ?").get(user.name) as { n: number }).n;
  if (count >= MAX_ACCESS_KEYS) throw new BerthError(ErrorCode.LimitExceeded, `Cannot exceed quota for AccessKeysPerUser: ${MAX_ACCESS_KEYS}`);
  const key: NewAccessKey = { userName: user.name, accessKeyId: accessKeyId(false), secretAccessKey: secretAccessKey(), status: "Active", createDate: db.clock.now() };
  db.sql("INSERT INTO access_keys (id, user_name, secret, status, created) VALUES (?, ?, ?, ?, ?)")
    .run(key.accessKeyId, key.userName, sealText(db.sealer, key.secretAccessKey, key.accessKeyId), key.status, key.createDate);
  return key;
}

export function listAccessKeys(db: IamSql, userName: string, page: PageRequest): Page<AccessKeyMetadata> {
  const user = getUser(db, userName);
  const rows = db.sql("SELECT id, user_name, status, created FROM access_keys WHERE user_name = ? ORDER BY id").all(user.name) as KeyRow[];
  const keys = rows.map((r): AccessKeyMetadata => ({ userName: user.name, accessKeyId: r.id, status: r.status, createDate: r.created }));
  return paginate(keys, (k) => k.accessKeyId, page);
}

function userKey(db: IamSql, userName: string, id: string): KeyRow {
  const user = getUser(db, userName);
  const row = db.sql("SELECT id, user_name, status, created FROM access_keys WHERE id = ? AND user_name = ?").get(id, user.name) as KeyRow | undefined;
  if (!row) throw noSuchEntity(`The Access Key with id ${id} cannot be found.`);
  return row;
}

export function updateAccessKey(db: IamSql, userName: string, id: string, status: AccessKeyStatus): void {
  userKey(db, userName, id);
  db.sql("UPDATE access_keys SET status = ? WHERE id = ?").run(status, id);
}

export function deleteAccessKey(db: IamSql, userName: string, id: string): void {
  userKey(db, userName, id);
  db.sql("DELETE FROM access_keys WHERE id = ?").run(id);
}

// --- roles --------------------------------------------------------------------------------

export function findRole(db: IamSql, name: string): RoleRow | undefined {
  return db.sql("SELECT * FROM roles WHERE name = ?").get(name) as RoleRow | undefined;
}

export function getRole(db: IamSql, name: string): RoleRow {
  const row = findRole(db, name);
  if (!row) throw noSuchEntity(`The role with name ${name} cannot be found.`);
  return row;
}

/* in: a trust policy already validated by the caller. guard: the name is free, else EntityAlreadyExists. */
export function createRole(db: IamSql, input: CreateRoleInput): IamRole {
  const tags = input.tags ?? [];
  checkTags(tags);
  const row: RoleRow = {
    name: input.roleName,
    id: uniqueId("AROA"),
    path: input.path ?? "/",
    created: db.clock.now(),
    trust: input.assumeRolePolicyDocument,
    description: input.description ?? null,
    max_session: input.maxSessionDuration ?? 3600,
    tags: JSON.stringify(tags),
  };
  const result = db.sql(
    `INSERT INTO roles (name, id, path, created, trust, description, max_session, tags) VALUES (?, ?, ?, ?, ?, ?, ?, ?)
     ON CONFLICT DO NOTHING`,
  ).run(row.name, row.id, row.path, row.created, row.trust, row.description, row.max_session, row.tags);
  if (result.changes === 0) throw new BerthError(ErrorCode.ResourceAlreadyExists, `Role with name ${input.roleName} already exists.`);
  return toRole(db, row);
}

export function listRoles(db: IamSql, query: PageRequest & { pathPrefix?: string }): Page<IamRole> {
  const prefix = query.pathPrefix ?? "/";
  const rows = db.sql("SELECT * FROM roles WHERE substr(path, 1, length(?)) = ? ORDER BY name").all(prefix, prefix) as RoleRow[];
  return paginate(rows.map((r) => toRole(db, r)), (r) => r.roleName, query);
}

/* guard: no inline or attached policies remain. out: the role's sessions stop working (their role is gone). */
export function deleteRole(db: IamSql, name: string): void {
  const role = getRole(db, name);
  if (db.sql("SELECT 1 FROM inline_policies WHERE owner_kind = 'role' AND owner = ?").get(role.name)) {
    throw new BerthError(ErrorCode.Conflict, "Cannot delete entity, must delete policies first.");
  }
  if (db.sql("SELECT 1 FROM attachments WHERE owner_kind = 'role' AND owner = ?").get(role.name)) {
    throw new BerthError(ErrorCode.Conflict, "Cannot delete entity, must detach all policies first.");
  }
  db.sql("DELETE FROM roles WHERE name = ?").run(role.name);
  db.sql("DELETE FROM sessions WHERE role_name = ?").run(role.name);
}

export function updateRole(db: IamSql, name: string, changes: { description?: string; maxSessionDuration?: number }): void {
  const role = getRole(db, name);
  db.sql("UPDATE roles SET description = ?, max_session = ? WHERE name = ?")
    .run(changes.description ?? role.description, changes.maxSessionDuration ?? role.max_session, role.name);
}

export function setTrustPolicy(db: IamSql, name: string, document: string): void {
  const role = getRole(db, name);
  db.sql("UPDATE roles SET trust = ? WHERE name = ?").run(document, role.name);
}

export function tagRole(db: IamSql, name: string, tags: IamTag[]): void {
  const role = getRole(db, name);
  const merged = new Map((JSON.parse(role.tags) as IamTag[]).map((t) => [t.key.toLowerCase(), t]));
  checkTags(tags);
  for (const t of tags) merged.set(t.key.toLowerCase(), t);
  checkTags([...merged.values()]);
  db.sql("UPDATE roles SET tags = ? WHERE name = ?").run(JSON.stringify([...merged.values()]), role.name);
}

export function untagRole(db: IamSql, name: string, keys: string[]): void {
  const role = getRole(db, name);
  const drop = new Set(keys.map((k) => k.toLowerCase()));
  const kept = (JSON.parse(role.tags) as IamTag[]).filter((t) => !drop.has(t.key.toLowerCase()));
  db.sql("UPDATE roles SET tags = ? WHERE name = ?").run(JSON.stringify(kept), role.name);
}

export function checkDuration(seconds: number): void {
  if (!Number.isInteger(seconds) || seconds < 900 || seconds > 43200) {
    throw invalidParameter(`The requested DurationSeconds ${seconds} must be between 900 and 43200 seconds.`);
  }
}
