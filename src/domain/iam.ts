/**
 * IAM and STS as Berth keeps them: users and their access keys, roles with trust policies,
 * inline and managed policies, temporary role credentials, and the IamEngine port that the
 * API (IAM and STS handlers, the authorization of every call, the SigV4 credential lookup)
 * and the ECS integration (task and execution roles) call. The engine lives in iam/ (its own
 * SQLite file); the composition root injects it. One account: the one in identity.json.
 *
 * Errors are BerthErrors: ResourceNotFound (IAM NoSuchEntity), ResourceAlreadyExists
 * (EntityAlreadyExists), Conflict (DeleteConflict), LimitExceeded, InvalidParameter
 * (InvalidInput), Validation (ValidationError), MalformedPolicyDocument and AccessDenied.
 */
import { BerthError, ErrorCode } from "../core/errors.ts";
import type { Decision } from "./iam-evaluate.ts";

export interface IamTag {
  key: string;
  value: string;
}

export interface IamUser {
  userName: string;
  userId: string;
  arn: string;
  path: string;
  createDate: number;
  tags: IamTag[];
}

export interface IamRole {
  roleName: string;
  roleId: string;
  arn: string;
  path: string;
  createDate: number;
  /** The trust policy exactly as submitted. */
  assumeRolePolicyDocument: string;
  description?: string;
  /** Seconds, 3600..43200. */
  maxSessionDuration: number;
  tags: IamTag[];
}

export type AccessKeyStatus = "Active" | "Inactive";

export interface AccessKeyMetadata {
  userName: string;
  accessKeyId: string;
  status: AccessKeyStatus;
  createDate: number;
}

export interface NewAccessKey extends AccessKeyMetadata {
  /** Shown once, at creation, as IAM does. */
  secretAccessKey: string;
}

export interface ManagedPolicy {
  policyName: string;
  policyId: string;
  arn: string;
  path: string;
  defaultVersionId: string;
  attachmentCount: number;
  description?: string;
  createDate: number;
  updateDate: number;
  tags: IamTag[];
}

export interface PolicyVersion {
  versionId: string;
  document: string;
  isDefaultVersion: boolean;
  createDate: number;
}

export interface AttachedPolicy {
  policyName: string;
  policyArn: string;
}

/** A user or role that owns inline policies and has managed policies attached. */
export interface PolicyOwner {
  kind: "user" | "role";
  name: string;
}

export interface PageRequest {
  /** The last item's marker from the previous page. */
  marker?: string;
  /** 1..1000, default 100. */
  maxItems?: number;
}

export interface Page<T> {
  items: T[];
  /** Present when more items follow (IsTruncated). */
  marker?: string;
}

export interface ListPoliciesQuery extends PageRequest {
  scope?: "All" | "AWS" | "Local";
  onlyAttached?: boolean;
  pathPrefix?: string;
}

export interface CreateUserInput {
  userName: string;
  path?: string;
  tags?: IamTag[];
}

export interface CreateRoleInput {
  roleName: string;
  assumeRolePolicyDocument: string;
  path?: string;
  description?: string;
  maxSessionDuration?: number;
  tags?: IamTag[];
}

export interface CreatePolicyInput {
  policyName: string;
  policyDocument: string;
  path?: string;
  description?: string;
  tags?: IamTag[];
}

export interface RoleCredentials {
  accessKeyId: string;
  secretAccessKey: string;
  sessionToken: string;
  expiration: Date;
  /** arn:aws:sts::<account>:assumed-role/<role>/<session> */
  assumedRoleArn: string;
  /** <role id>:<session>, e.g. AROA…:my-session */
  assumedRoleId: string;
}

export interface AssumeRoleInput {
  roleArn: string;
  roleSessionName: string;
  /** 900..the role's MaxSessionDuration; 3600 when omitted. */
  durationSeconds?: number;
  /** Request context for the trust policy's conditions (e.g. sts:ExternalId). */
  context?: Record<string, string | string[]>;
}

/** Who a verified access key belongs to (api/ turns it into its Principal). */
export interface IamPrincipal {
  accountId: string;
  arn: string;
  /** AIDA… for users, AROA…:<session> for role sessions. */
  userId: string;
}

export interface IamCredential {
  accessKeyId: string;
  secretAccessKey: string;
  /** Temporary credentials only: the token the request must carry. */
  sessionToken?: string;
  /** Temporary credentials only: epoch ms after which the key is refused. */
  expiresAt?: number;
  principal: IamPrincipal;
}

export interface AuthorizationRequest {
  principalArn: string;
  action: string;
  resources: string[];
  /** Extra context keys (aws:RequestedRegion, aws:SourceIp, service keys, ...). */
  context?: Record<string, string | string[]>;
}

/**
 * The IAM engine. Mutations are one transaction each. `credential` and `principal` are
 * synchronous because the SigV4 check runs them on every signed request.
 */
export interface IamEngine {
  // users and access keys
  createUser(input: CreateUserInput): Promise<IamUser>;
  getUser(userName: string): Promise<IamUser>;
  listUsers(query: PageRequest & { pathPrefix?: string }): Promise<Page<IamUser>>;
  deleteUser(userName: string): Promise<void>;
  createAccessKey(userName: string): Promise<NewAccessKey>;
  listAccessKeys(userName: string, page: PageRequest): Promise<Page<AccessKeyMetadata>>;
  updateAccessKey(userName: string, accessKeyId: string, status: AccessKeyStatus): Promise<void>;
  deleteAccessKey(userName: string, accessKeyId: string): Promise<void>;
  /** The user an access key belongs to (IAM's implicit UserName). */
  userOfAccessKey(accessKeyId: string): string | undefined;

  // roles
  createRole(input: CreateRoleInput): Promise<IamRole>;
  getRole(roleName: string): Promise<IamRole>;
  listRoles(query: PageRequest & { pathPrefix?: string }): Promise<Page<IamRole>>;
  deleteRole(roleName: string): Promise<void>;
  updateRole(roleName: string, changes: { description?: string; maxSessionDuration?: number }): Promise<void>;
  updateAssumeRolePolicy(roleName: string, document: string): Promise<void>;
  tagRole(roleName: string, tags: IamTag[]): Promise<void>;
  untagRole(roleName: string, keys: string[]): Promise<void>;
  roleExists(roleArn: string): Promise<boolean>;

  // inline policies
  putInlinePolicy(owner: PolicyOwner, policyName: string, document: string): Promise<void>;
  getInlinePolicy(owner: PolicyOwner, policyName: string): Promise<string>;
  deleteInlinePolicy(owner: PolicyOwner, policyName: string): Promise<void>;
  listInlinePolicies(owner: PolicyOwner, page: PageRequest): Promise<Page<string>>;

  // managed policies
  createPolicy(input: CreatePolicyInput): Promise<ManagedPolicy>;
  getPolicy(policyArn: string): Promise<ManagedPolicy>;
  listPolicies(query: ListPoliciesQuery): Promise<Page<ManagedPolicy>>;
  deletePolicy(policyArn: string): Promise<void>;
  createPolicyVersion(policyArn: string, document: string, setAsDefault: boolean): Promise<PolicyVersion>;
  getPolicyVersion(policyArn: string, versionId: string): Promise<PolicyVersion>;
  listPolicyVersions(policyArn: string, page: PageRequest): Promise<Page<PolicyVersion>>;
  deletePolicyVersion(policyArn: string, versionId: string): Promise<void>;
  setDefaultPolicyVersion(policyArn: string, versionId: string): Promise<void>;
  attachPolicy(owner: PolicyOwner, policyArn: string): Promise<void>;
  detachPolicy(owner: PolicyOwner, policyArn: string): Promise<void>;
  listAttachedPolicies(owner: PolicyOwner, query: PageRequest & { pathPrefix?: string }): Promise<Page<AttachedPolicy>>;

  // STS
  /** STS AssumeRole by `callerArn`: the trust policy must allow it (and, unless it names the caller, its identity policies). */
  assumeRole(callerArn: string, input: AssumeRoleInput): Promise<RoleCredentials>;
  /** Credentials for a role Berth uses itself (task roles); with `servicePrincipal` the trust policy must allow that service. */
  issueRoleCredentials(roleArn: string, sessionName: string, opts: { durationSeconds: number; servicePrincipal?: string }): Promise<RoleCredentials>;

  // authorization
  /** Throws AccessDenied with AWS's sentence unless every resource is allowed. */
  authorize(request: AuthorizationRequest): Promise<void>;
  isAllowed(principalArn: string, action: string, resource: string, context?: Record<string, string | string[]>): Promise<boolean>;

  // the SigV4 credential lookup
  credential(accessKeyId: string): IamCredential | undefined;
  principal(arn: string): IamPrincipal | undefined;

  close(): Promise<void>;
}

// --- names, ARNs and messages ------------------------------------------------------------

export const userArn = (account: string, path: string, name: string): string => `arn:aws:iam::${account}:user${path}${name}`;
export const roleArn = (account: string, path: string, name: string): string => `arn:aws:iam::${account}:role${path}${name}`;
export const policyArn = (account: string, path: string, name: string): string => `arn:aws:iam::${account}:policy${path}${name}`;
export const assumedRoleArn = (account: string, role: string, session: string): string =>
  `arn:aws:sts::${account}:assumed-role/${role}/${session}`;

export type ParsedPrincipalArn =
  | { kind: "root"; accountId: string }
  | { kind: "user" | "role"; accountId: string; path: string; name: string }
  | { kind: "assumed-role"; accountId: string; role: string; session: string };

/** Reads a user, role, assumed-role or root ARN; undefined for anything else. */
export function parsePrincipalArn(arn: string): ParsedPrincipalArn | undefined {
  const m = /^arn:aws:(iam|sts)::(\d{12}):(.+)$/.exec(arn);
  if (!m) return undefined;
  const [, service, accountId = "", resource = ""] = m;
  if (service === "iam" && resource === "root") return { kind: "root", accountId };
  const assumed = /^assumed-role\/([^/]+)\/([^/]+)$/.exec(resource);
  if (service === "sts" && assumed) return { kind: "assumed-role", accountId, role: assumed[1]!, session: assumed[2]! };
  const named = /^(user|role)(\/(?:.*\/)?)([^/]+)$/.exec(resource);
  if (service === "iam" && named) return { kind: named[1] as "user" | "role", accountId, path: named[2]!, name: named[3]! };
  return undefined;
}

/** AWS's refusal sentence for an identity-based decision. */
export function accessDeniedMessage(principalArn: string, action: string, resource: string, decision: Decision): string {
  const why = decision === "ExplicitDeny"
    ? "with an explicit deny in an identity-based policy"
    : `because no identity-based policy allows the ${action} action`;
  return `User: ${principalArn} is not authorized to perform: ${action} on resource: ${resource} ${why}`;
}

export function accessDenied(principalArn: string, action: string, resource: string, decision: Decision): BerthError {
  return new BerthError(ErrorCode.AccessDenied, accessDeniedMessage(principalArn, action, resource, decision));
}

export const noSuchEntity = (message: string): BerthError => new BerthError(ErrorCode.ResourceNotFound, message);
