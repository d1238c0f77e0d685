/**
 * Secrets Manager secrets and SSM Parameter Store parameters as Berth keeps them, the ports the
 * API, the server's timers and the ECS agent path call (`SecretsEngine`, `ParameterStore`), the
 * `RotationRunner` port rotations run their four steps through, and the pure helpers every side
 * shares: ARNs, SecretId forms, parameter names and selectors. The ECS `valueFrom` references
 * the ports' `readReference` take are parsed in secret-references.ts.
 *
 * Values: the engines (secrets/, their own SQLite file) encrypt every secret value and every
 * SecureString at rest; nothing here ever puts a value in a message, a log line or a describe
 * shape. Errors are BerthErrors whose codes the two services' error tables map.
 */
import { BerthError, ErrorCode } from "../core/errors.ts";
import type { ParameterReference, SecretsManagerReference } from "./secret-references.ts";

export interface SecretsScope {
  region: string;
  accountId: string;
}

export interface ResourceTag {
  key: string;
  value: string;
}

// --- Secrets Manager ------------------------------------------------------------------------

export const AWSCURRENT = "AWSCURRENT";
export const AWSPREVIOUS = "AWSPREVIOUS";
export const AWSPENDING = "AWSPENDING";

/** One secret value: exactly one of the two is set. */
export interface SecretValue {
  secretString?: string;
  secretBinary?: Uint8Array;
}

export interface RotationRules {
  automaticallyAfterDays?: number;
  scheduleExpression?: string;
  duration?: string;
}

export interface SecretSummary {
  arn: string;
  name: string;
  description?: string;
  kmsKeyId?: string;
  /** Absent until rotation was first configured. */
  rotationEnabled?: boolean;
  rotationLambdaArn?: string;
  rotationRules?: RotationRules;
  lastRotatedDate?: number;
  lastChangedDate: number;
  /** Midnight UTC of the day of the last read (AWS keeps only the date). */
  lastAccessedDate?: number;
  deletedDate?: number;
  nextRotationDate?: number;
  tags: ResourceTag[];
  /** Versions that carry at least one staging label. */
  versionIdsToStages: Record<string, string[]>;
  createdDate: number;
}

export interface SecretRef {
  arn: string;
  name: string;
}

export interface SecretVersionResult extends SecretRef {
  versionId: string;
  versionStages: string[];
  createdDate: number;
  value: SecretValue;
}

export interface SecretVersionEntry {
  versionId: string;
  versionStages: string[];
  createdDate: number;
  lastAccessedDate?: number;
}

export interface CreateSecretInput {
  name: string;
  clientRequestToken?: string;
  description?: string;
  kmsKeyId?: string;
  value?: SecretValue;
  tags?: ResourceTag[];
}

export interface PutSecretValueInput {
  clientRequestToken?: string;
  value: SecretValue;
  versionStages?: string[];
}

export interface UpdateSecretInput {
  clientRequestToken?: string;
  description?: string;
  kmsKeyId?: string;
  value?: SecretValue;
}

export interface ListSecretsQuery {
  filters?: { key: string; values: string[] }[];
  includePlannedDeletion?: boolean;
  maxResults?: number;
  nextToken?: string;
  sortOrder?: "asc" | "desc";
  sortBy?: "created-date" | "last-accessed-date" | "last-changed-date" | "name";
}

export interface RotateSecretInput {
  clientRequestToken?: string;
  /** In Berth: the ECS task definition ARN (family:revision) that runs the four steps. */
  rotationLambdaArn?: string;
  rotationRules?: RotationRules;
  rotateImmediately?: boolean;
}

export interface RandomPasswordOptions {
  passwordLength?: number;
  excludeCharacters?: string;
  excludeNumbers?: boolean;
  excludePunctuation?: boolean;
  excludeUppercase?: boolean;
  excludeLowercase?: boolean;
  includeSpace?: boolean;
  requireEachIncludedType?: boolean;
}

/**
 * Secrets Manager. Called by the API (api/secretsmanager), the server's once-a-minute timer
 * (due rotations, purges) and the ECS path (readReference). Every method that resolves has made
 * its change durable (one transaction). `secretId` is a name, a full ARN or a partial ARN.
 */
export interface SecretsEngine {
  createSecret(scope: SecretsScope, input: CreateSecretInput): Promise<SecretRef & { versionId?: string }>;
  getSecretValue(scope: SecretsScope, secretId: string, select?: { versionId?: string; versionStage?: string }): Promise<SecretVersionResult>;
  putSecretValue(scope: SecretsScope, secretId: string, input: PutSecretValueInput): Promise<SecretRef & { versionId: string; versionStages: string[] }>;
  updateSecret(scope: SecretsScope, secretId: string, input: UpdateSecretInput): Promise<SecretRef & { versionId?: string }>;
  updateSecretVersionStage(
    scope: SecretsScope,
    secretId: string,
    input: { versionStage: string; removeFromVersionId?: string; moveToVersionId?: string },
  ): Promise<SecretRef>;
  describeSecret(scope: SecretsScope, secretId: string): Promise<SecretSummary>;
  listSecrets(scope: SecretsScope, query: ListSecretsQuery): Promise<{ secrets: SecretSummary[]; nextToken?: string }>;
  listSecretVersionIds(
    scope: SecretsScope,
    secretId: string,
    query: { maxResults?: number; nextToken?: string; includeDeprecated?: boolean },
  ): Promise<SecretRef & { versions: SecretVersionEntry[]; nextToken?: string }>;
  deleteSecret(
    scope: SecretsScope,
    secretId: string,
    options: { recoveryWindowInDays?: number; forceDeleteWithoutRecovery?: boolean },
  ): Promise<SecretRef & { deletionDate: number }>;
  restoreSecret(scope: SecretsScope, secretId: string): Promise<SecretRef>;
  tagResource(scope: SecretsScope, secretId: string, tags: ResourceTag[]): Promise<void>;
  untagResource(scope: SecretsScope, secretId: string, keys: string[]): Promise<void>;
  /**
   * Records the rotation configuration and, unless `rotateImmediately` is false, starts a
   * rotation: resolves at once with the new version id; `done` settles when the four steps did.
   */
  rotateSecret(scope: SecretsScope, secretId: string, input: RotateSecretInput): Promise<SecretRef & { versionId?: string; done: Promise<void> }>;
  cancelRotateSecret(scope: SecretsScope, secretId: string): Promise<SecretRef & { versionId?: string }>;
  /** Secrets whose rotation is enabled and due at `nowMs`, not deleted and not rotating now. */
  dueRotations(nowMs: number): Promise<{ scope: SecretsScope; arn: string }[]>;
  /** Runs one rotation of the secret to its end; rejects when a step failed. */
  rotate(scope: SecretsScope, secretId: string): Promise<void>;
  /** Deletes for good the secrets whose recovery window ended by `nowMs`; returns how many. */
  purgeDeleted(nowMs: number): Promise<number>;
  getRandomPassword(options: RandomPasswordOptions): string;
  /** The stored full ARN for a SecretId, or undefined when no such secret exists. */
  resolveArn(scope: SecretsScope, secretId: string): Promise<string | undefined>;
  /** The plaintext an ECS `valueFrom` naming a secret resolves to (json-key applied). */
  readReference(ref: SecretsManagerReference): Promise<string>;
  close(): Promise<void>;
}

export type RotationStep = "createSecret" | "setSecret" | "testSecret" | "finishSecret";
export const ROTATION_STEPS: readonly RotationStep[] = ["createSecret", "setSecret", "testSecret", "finishSecret"];

export interface RotationStepRequest {
  step: RotationStep;
  secretArn: string;
  clientRequestToken: string;
  /** The task definition ARN given as RotationLambdaARN. */
  rotationArn: string;
  region: string;
  accountId: string;
}

/**
 * Runs one rotation step (the server runs the task definition as an ECS task with env SecretId,
 * ClientRequestToken and Step, and waits for it to exit). Resolves when the step succeeded,
 * rejects when it failed. Steps call the Secrets Manager API themselves, like a Lambda would.
 */
export interface RotationRunner {
  runStep(request: RotationStepRequest): Promise<void>;
}

const SECRET_ARN = /^arn:([a-z-]+):secretsmanager:([a-z0-9-]+):(\d{12}):secret:([A-Za-z0-9/_+=.@-]+)$/;

export function secretArn(scope: SecretsScope, name: string, suffix: string): string {
  return `arn:aws:secretsmanager:${scope.region}:${scope.accountId}:secret:${name}-${suffix}`;
}

/** The ARN to authorize for a secret Berth does not know: the name without the suffix. */
export function unknownSecretArn(scope: SecretsScope, name: string): string {
  return `arn:aws:secretsmanager:${scope.region}:${scope.accountId}:secret:${name}`;
}

/**
 * A SecretId as Secrets Manager reads it: an ARN (full, with the 6-character suffix, or partial,
 * without it) names its region and account and the resource after "secret:"; anything else is a
 * name in the caller's scope.
 */
export function parseSecretId(scope: SecretsScope, secretId: string): { scope: SecretsScope; nameOrArnTail: string; isArn: boolean } {
  const m = SECRET_ARN.exec(secretId);
  if (m) return { scope: { region: m[2]!, accountId: m[3]! }, nameOrArnTail: m[4]!, isArn: true };
  return { scope, nameOrArnTail: secretId, isArn: false };
}

/** Secret names: ASCII letters, digits and /_+=.@- (1-512). */
export function checkSecretName(name: string): void {
  if (!/^[A-Za-z0-9/_+=.@-]+$/.test(name)) {
    throw new BerthError(ErrorCode.Validation, "Invalid name. Must be a valid name containing alphanumeric characters, or any of the following: -/_+=.@!");
  }
}

// --- SSM Parameter Store -------------------------------------------------------------------

export type ParameterType = "String" | "StringList" | "SecureString";
export type ParameterTier = "Standard" | "Advanced" | "Intelligent-Tiering";

export interface PutParameterInput {
  name: string;
  value: string;
  type?: ParameterType;
  description?: string;
  keyId?: string;
  overwrite?: boolean;
  allowedPattern?: string;
  tags?: ResourceTag[];
  tier?: ParameterTier;
  policies?: string;
  dataType?: string;
  /** The caller's ARN (LastModifiedUser). */
  user: string;
}

export interface ParameterValue {
  name: string;
  type: ParameterType;
  /** Plaintext, or for a SecureString read without decryption the opaque base64 ciphertext. */
  value: string;
  version: number;
  /** ":3" or ":label" when the name carried a selector. */
  selector?: string;
  lastModifiedDate: number;
  arn: string;
  dataType: string;
}

export interface ParameterMetadata {
  name: string;
  arn: string;
  type: ParameterType;
  keyId?: string;
  lastModifiedDate: number;
  lastModifiedUser: string;
  description?: string;
  allowedPattern?: string;
  version: number;
  tier: ParameterTier;
  policies: { policyText: string; policyType: string; policyStatus: string }[];
  dataType: string;
}

export interface ParameterHistoryEntry extends Omit<ParameterMetadata, "arn"> {
  value: string;
  labels: string[];
}

export interface ParameterStringFilter {
  key: string;
  option?: string;
  values?: string[];
}

/** SSM Parameter Store over the same file and master key. Every resolved mutation is durable. */
export interface ParameterStore {
  putParameter(scope: SecretsScope, input: PutParameterInput): Promise<{ version: number; tier: ParameterTier }>;
  getParameter(scope: SecretsScope, name: string, withDecryption: boolean): Promise<ParameterValue>;
  getParameters(scope: SecretsScope, names: string[], withDecryption: boolean): Promise<{ parameters: ParameterValue[]; invalidParameters: string[] }>;
  getParametersByPath(
    scope: SecretsScope,
    query: { path: string; recursive?: boolean; filters?: ParameterStringFilter[]; withDecryption?: boolean; maxResults?: number; nextToken?: string },
  ): Promise<{ parameters: ParameterValue[]; nextToken?: string }>;
  describeParameters(
    scope: SecretsScope,
    query: { filters?: { key: string; values: string[] }[]; parameterFilters?: ParameterStringFilter[]; maxResults?: number; nextToken?: string },
  ): Promise<{ parameters: ParameterMetadata[]; nextToken?: string }>;
  getParameterHistory(
    scope: SecretsScope,
    query: { name: string; withDecryption?: boolean; maxResults?: number; nextToken?: string },
  ): Promise<{ parameters: ParameterHistoryEntry[]; nextToken?: string }>;
  labelParameterVersion(scope: SecretsScope, input: { name: string; version?: number; labels: string[] }): Promise<{ invalidLabels: string[]; parameterVersion: number }>;
  unlabelParameterVersion(scope: SecretsScope, input: { name: string; version: number; labels: string[] }): Promise<{ removedLabels: string[]; invalidLabels: string[] }>;
  deleteParameter(scope: SecretsScope, name: string): Promise<void>;
  deleteParameters(scope: SecretsScope, names: string[]): Promise<{ deletedParameters: string[]; invalidParameters: string[] }>;
  addTags(scope: SecretsScope, name: string, tags: ResourceTag[]): Promise<void>;
  removeTags(scope: SecretsScope, name: string, keys: string[]): Promise<void>;
  listTags(scope: SecretsScope, name: string): Promise<ResourceTag[]>;
  /** The plaintext an ECS `valueFrom` naming a parameter resolves to (SecureStrings decrypted). */
  readReference(ref: ParameterReference): Promise<string>;
  close(): Promise<void>;
}

/** `arn:aws:ssm:<region>:<account>:parameter/prod/db`; "/prod/db" and "db" both join as parameter/…. */
export function parameterArn(scope: SecretsScope, name: string): string {
  const bare = splitSelector(name).name;
  return `arn:aws:ssm:${scope.region}:${scope.accountId}:parameter${bare.startsWith("/") ? "" : "/"}${bare}`;
}

const PARAMETER_ARN = /^arn:([a-z-]+):ssm:([a-z0-9-]+):(\d{12}):parameter(\/.*)$/;

/**
 * A parameter name as the API accepts it: a name or a parameter ARN (whose region and account
 * then apply). An ARN's resource "parameter/db" names "db", "parameter/prod/db" names "/prod/db".
 */
export function parseParameterName(scope: SecretsScope, nameOrArn: string): { scope: SecretsScope; name: string } {
  return parseParameterArn(nameOrArn) ?? { scope, name: nameOrArn };
}

/** A parameter ARN's region, account and name (as parseParameterName reads them); undefined for a name. */
export function parseParameterArn(arn: string): { scope: SecretsScope; name: string } | undefined {
  const m = PARAMETER_ARN.exec(arn);
  if (!m) return undefined;
  const rest = m[4]!;
  const name = rest.indexOf("/", 1) === -1 ? rest.slice(1) : rest;
  return { scope: { region: m[2]!, accountId: m[3]! }, name };
}

/** "name:3" → version 3, "name:label" → label; a name has at most one selector. */
export function splitSelector(nameWithSelector: string): { name: string; version?: number; label?: string; selector?: string; invalid?: boolean } {
  const parts = nameWithSelector.split(":");
  if (nameWithSelector.startsWith("arn:")) return { name: nameWithSelector };
  if (parts.length === 1) return { name: nameWithSelector };
  if (parts.length > 2) return { name: nameWithSelector, invalid: true };
  const [name, sel] = parts as [string, string];
  if (/^\d+$/.test(sel)) return { name, version: Number(sel), selector: `:${sel}` };
  return { name, label: sel, selector: `:${sel}` };
}
