/**
 * ECS secret references: the `secrets[].valueFrom` and `repositoryCredentials.credentialsParameter`
 * forms a task definition names a Secrets Manager secret or an SSM parameter by, parsed into
 * what IAM authorizes (service, action, resource ARN) and what the engines' `readReference`
 * reads; and the json-key step of reading one.
 *
 * Pure: never reads a value itself, and never puts a secret value in an error message (only
 * the reference and the key).
 */
import { BerthError, ErrorCode } from "../core/errors.ts";
import { type SecretsScope, parameterArn, parseParameterArn } from "./secrets.ts";

export interface SecretsManagerReference {
  service: "secretsmanager";
  /** The secret ARN to authorize and read (without the json-key part). */
  resourceArn: string;
  action: "secretsmanager:GetSecretValue";
  region: string;
  accountId: string;
  jsonKey?: string;
  versionStage?: string;
  versionId?: string;
}

export interface ParameterReference {
  service: "ssm";
  resourceArn: string;
  action: "ssm:GetParameters";
  region: string;
  accountId: string;
  /** The parameter name (a leading "/" for hierarchical names). */
  name: string;
}

export type EcsSecretReference = SecretsManagerReference | ParameterReference;

/**
 * Parses an ECS `secrets[].valueFrom` or `repositoryCredentials.credentialsParameter`:
 *  - `arn:aws:secretsmanager:<region>:<account>:secret:<name>[-XXXXXX][:json-key:version-stage:version-id]`
 *  - `arn:aws:ssm:<region>:<account>:parameter/<name>`
 *  - a parameter name (`/prod/db` or `db`) in the task's region and account.
 * Throws InvalidParameter for anything else.
 */
export function parseEcsSecretReference(valueFrom: string, scope: SecretsScope): EcsSecretReference {
  if (valueFrom.startsWith("arn:")) {
    const parts = valueFrom.split(":");
    const [, , service, region, accountId] = parts;
    if (service === "secretsmanager" && parts[5] === "secret" && parts.length >= 7 && parts.length <= 10 && region && accountId) {
      const name = parts[6]!;
      if (!/^[A-Za-z0-9/_+=.@-]+$/.test(name)) throw badReference(valueFrom);
      const [jsonKey, versionStage, versionId] = [parts[7], parts[8], parts[9]];
      if (versionStage && versionId) throw badReference(valueFrom, "specify either a version stage or a version id, not both");
      return {
        service: "secretsmanager",
        resourceArn: parts.slice(0, 7).join(":"),
        action: "secretsmanager:GetSecretValue",
        region,
        accountId,
        ...(jsonKey ? { jsonKey } : {}),
        ...(versionStage ? { versionStage } : {}),
        ...(versionId ? { versionId } : {}),
      };
    }
    const parameter = parseParameterArn(valueFrom);
    if (parameter) {
      const { region, accountId } = parameter.scope;
      return { service: "ssm", resourceArn: valueFrom, action: "ssm:GetParameters", region, accountId, name: parameter.name };
    }
    throw badReference(valueFrom);
  }
  if (!/^[A-Za-z0-9_.\-/]+$/.test(valueFrom)) throw badReference(valueFrom);
  return {
    service: "ssm",
    resourceArn: parameterArn(scope, valueFrom),
    action: "ssm:GetParameters",
    region: scope.region,
    accountId: scope.accountId,
    name: valueFrom,
  };
}

function badReference(valueFrom: string, why = "expected a Secrets Manager secret ARN, an SSM parameter ARN or an SSM parameter name"): BerthError {
  return new BerthError(ErrorCode.InvalidParameter, `invalid secret reference ${valueFrom}: ${why}`);
}

/** The value of `jsonKey` in a SecretString holding a JSON object (non-strings as JSON text). */
export function extractJsonKey(secretString: string, jsonKey: string, secretName: string): string {
  let parsed: unknown;
  try {
    parsed = JSON.parse(secretString);
  } catch {
    throw new BerthError(ErrorCode.InvalidParameter, `retrieved secret ${secretName} from Secrets Manager is not valid JSON, so json key ${jsonKey} cannot be read`);
  }
  if (parsed === null || typeof parsed !== "object" || Array.isArray(parsed) || !Object.hasOwn(parsed, jsonKey)) {
    throw new BerthError(ErrorCode.InvalidParameter, `retrieved secret ${secretName} from Secrets Manager did not contain json key ${jsonKey}`);
  }
  const value = (parsed as Record<string, unknown>)[jsonKey];
  return typeof value === "string" ? value : JSON.stringify(value);
}
