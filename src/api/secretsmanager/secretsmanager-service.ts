/**
 * AWS Secrets Manager (target prefix "secretsmanager", JSON 1.1): thin handlers from the wire to
 * the SecretsEngine port (domain/secrets.ts), which the composition root injects. Timestamps go
 * out as epoch seconds, SecretBinary as base64. Describe and list shapes carry no value; the
 * resources table gives IAM the secret's full ARN (or `secret:<name>` for an unknown one).
 * BatchGetSecretValue is not offered: it needs GetSecretValue authorized per secret, which the
 * edge's one-call authorization cannot express.
 */
import type { CallContext } from "../../control/context.ts";
import {
  parseSecretId,
  unknownSecretArn,
  type ResourceTag,
  type RotationRules,
  type SecretSummary,
  type SecretValue,
  type SecretsEngine,
  type SecretsScope,
} from "../../domain/secrets.ts";
import type { ErrorTable } from "../errors.ts";
import { secretsmanagerModel } from "../models/secretsmanager.model.ts";
import type * as sm from "../models/secretsmanager.types.ts";
import type { ResourceResolver, ServiceDefinition } from "../service.ts";
import { defined } from "../wire.ts";

export const SECRETS_MANAGER_ERRORS: ErrorTable = {
  serverFault: "InternalServiceError",
  codes: {
    Validation: { exception: "ValidationException" },
    InvalidParameter: { exception: "InvalidParameterException" },
    InvalidRequest: { exception: "InvalidRequestException" },
    ResourceNotFound: { exception: "ResourceNotFoundException" },
    ResourceAlreadyExists: { exception: "ResourceExistsException" },
    LimitExceeded: { exception: "LimitExceededException" },
    DecryptionFailure: { exception: "DecryptionFailure" },
    InvalidNextToken: { exception: "InvalidNextTokenException" },
    AccessDenied: { exception: "AccessDeniedException" },
  },
};

const scopeOf = (ctx: CallContext): SecretsScope => ({ region: ctx.scope.region, accountId: ctx.scope.accountId });
const seconds = (ms: number | undefined): number | undefined => (ms === undefined ? undefined : ms / 1000);

function valueOf(input: { SecretString?: string; SecretBinary?: string }): SecretValue | undefined {
  if (input.SecretString === undefined && input.SecretBinary === undefined) return undefined;
  return defined({
    secretString: input.SecretString,
    secretBinary: input.SecretBinary === undefined ? undefined : new Uint8Array(Buffer.from(input.SecretBinary, "base64")),
  });
}

const tagsIn = (tags: sm.Tag[] | undefined): ResourceTag[] => (tags ?? []).map((t) => ({ key: t.Key ?? "", value: t.Value ?? "" }));
const tagsOut = (tags: ResourceTag[]): sm.Tag[] => tags.map((t) => ({ Key: t.key, Value: t.value }));

const rulesIn = (r: sm.RotationRulesType | undefined): RotationRules | undefined =>
  r === undefined ? undefined : defined({ automaticallyAfterDays: r.AutomaticallyAfterDays, scheduleExpression: r.ScheduleExpression, duration: r.Duration });
const rulesOut = (r: RotationRules | undefined): sm.RotationRulesType | undefined =>
  r === undefined ? undefined : defined({ AutomaticallyAfterDays: r.automaticallyAfterDays, ScheduleExpression: r.scheduleExpression, Duration: r.duration });

function summaryOut(s: SecretSummary): sm.DescribeSecretResponse {
  return defined({
    ARN: s.arn,
    Name: s.name,
    Description: s.description,
    KmsKeyId: s.kmsKeyId,
    RotationEnabled: s.rotationEnabled,
    RotationLambdaARN: s.rotationLambdaArn,
    RotationRules: rulesOut(s.rotationRules),
    LastRotatedDate: seconds(s.lastRotatedDate),
    LastChangedDate: seconds(s.lastChangedDate),
    LastAccessedDate: seconds(s.lastAccessedDate),
    DeletedDate: seconds(s.deletedDate),
    NextRotationDate: seconds(s.nextRotationDate),
    Tags: s.tags.length > 0 ? tagsOut(s.tags) : undefined,
    VersionIdsToStages: s.versionIdsToStages,
    CreatedDate: seconds(s.createdDate),
  });
}

function listEntryOut(s: SecretSummary): sm.SecretListEntry {
  const { VersionIdsToStages, ...rest } = summaryOut(s);
  return { ...rest, ...(VersionIdsToStages !== undefined ? { SecretVersionsToStages: VersionIdsToStages } : {}) };
}

/** IAM resources: the stored ARN of the named secret, or `secret:<name>` when there is none. */
function secretResource(engine: SecretsEngine): ResourceResolver {
  return async (ctx: CallContext, input: { SecretId?: string }) => {
    const id = input.SecretId ?? "";
    const arn = await engine.resolveArn(scopeOf(ctx), id);
    if (arn !== undefined) return [arn];
    const parsed = parseSecretId(scopeOf(ctx), id);
    return [parsed.isArn ? id : unknownSecretArn(scopeOf(ctx), id)];
  };
}

export function secretsManagerService(engine: SecretsEngine): ServiceDefinition {
  const onSecret = secretResource(engine);
  const resources: Record<string, ResourceResolver> = Object.fromEntries(
    [
      "GetSecretValue",
      "PutSecretValue",
      "UpdateSecret",
      "UpdateSecretVersionStage",
      "DescribeSecret",
      "ListSecretVersionIds",
      "DeleteSecret",
      "RestoreSecret",
      "TagResource",
      "UntagResource",
      "RotateSecret",
      "CancelRotateSecret",
    ].map((op) => [op, onSecret]),
  );
  resources["CreateSecret"] = (ctx: CallContext, input: { Name?: string }) => [unknownSecretArn(scopeOf(ctx), input.Name ?? "")];

  return {
    signingName: "secretsmanager",
    model: secretsmanagerModel,
    errors: SECRETS_MANAGER_ERRORS,
    resources,
    operations: {
      CreateSecret: async (ctx: CallContext, input: sm.CreateSecretRequest): Promise<sm.CreateSecretResponse> => {
        const out = await engine.createSecret(
          scopeOf(ctx),
          defined({
            name: input.Name,
            clientRequestToken: input.ClientRequestToken,
            description: input.Description,
            kmsKeyId: input.KmsKeyId,
            value: valueOf(input),
            tags: tagsIn(input.Tags),
          }),
        );
        return defined({ ARN: out.arn, Name: out.name, VersionId: out.versionId });
      },
      GetSecretValue: async (ctx: CallContext, input: sm.GetSecretValueRequest): Promise<sm.GetSecretValueResponse> => {
        const out = await engine.getSecretValue(scopeOf(ctx), input.SecretId, defined({ versionId: input.VersionId, versionStage: input.VersionStage }));
        return defined({
          ARN: out.arn,
          Name: out.name,
          VersionId: out.versionId,
          SecretString: out.value.secretString,
          SecretBinary: out.value.secretBinary === undefined ? undefined : Buffer.from(out.value.secretBinary).toString("base64"),
          VersionStages: out.versionStages,
          CreatedDate: seconds(out.createdDate),
        });
      },
      PutSecretValue: async (ctx: CallContext, input: sm.PutSecretValueRequest): Promise<sm.PutSecretValueResponse> => {
        const out = await engine.putSecretValue(
          scopeOf(ctx),
          input.SecretId,
          defined({ clientRequestToken: input.ClientRequestToken, value: valueOf(input) ?? {}, versionStages: input.VersionStages }),
        );
        return { ARN: out.arn, Name: out.name, VersionId: out.versionId, VersionStages: out.versionStages };
      },
      UpdateSecret: async (ctx: CallContext, input: sm.UpdateSecretRequest): Promise<sm.UpdateSecretResponse> => {
        const out = await engine.updateSecret(
          scopeOf(ctx),
          input.SecretId,
          defined({ clientRequestToken: input.ClientRequestToken, description: input.Description, kmsKeyId: input.KmsKeyId, value: valueOf(input) }),
        );
        return defined({ ARN: out.arn, Name: out.name, VersionId: out.versionId });
      },
      UpdateSecretVersionStage: async (ctx: CallContext, input: sm.UpdateSecretVersionStageRequest): Promise<sm.UpdateSecretVersionStageResponse> => {
        const out = await engine.updateSecretVersionStage(
          scopeOf(ctx),
          input.SecretId,
          defined({ versionStage: input.VersionStage, removeFromVersionId: input.RemoveFromVersionId, moveToVersionId: input.MoveToVersionId }),
        );
        return { ARN: out.arn, Name: out.name };
      },
      DescribeSecret: async (ctx: CallContext, input: sm.DescribeSecretRequest): Promise<sm.DescribeSecretResponse> =>
        summaryOut(await engine.describeSecret(scopeOf(ctx), input.SecretId)),
      ListSecrets: async (ctx: CallContext, input: sm.ListSecretsRequest): Promise<sm.ListSecretsResponse> => {
        const out = await engine.listSecrets(
          scopeOf(ctx),
          defined({
            filters: filtersIn(input.Filters),
            includePlannedDeletion: input.IncludePlannedDeletion,
            maxResults: input.MaxResults,
            nextToken: input.NextToken,
            sortOrder: input.SortOrder,
            sortBy: input.SortBy,
          }),
        );
        return defined({ SecretList: out.secrets.map(listEntryOut), NextToken: out.nextToken });
      },
      ListSecretVersionIds: async (ctx: CallContext, input: sm.ListSecretVersionIdsRequest): Promise<sm.ListSecretVersionIdsResponse> => {
        const out = await engine.listSecretVersionIds(
          scopeOf(ctx),
          input.SecretId,
          defined({ maxResults: input.MaxResults, nextToken: input.NextToken, includeDeprecated: input.IncludeDeprecated }),
        );
        return defined({
          ARN: out.arn,
          Name: out.name,
          Versions: out.versions.map((v) =>
            defined({ VersionId: v.versionId, VersionStages: v.versionStages, CreatedDate: seconds(v.createdDate), LastAccessedDate: seconds(v.lastAccessedDate) }),
          ),
          NextToken: out.nextToken,
        });
      },
      DeleteSecret: async (ctx: CallContext, input: sm.DeleteSecretRequest): Promise<sm.DeleteSecretResponse> => {
        const out = await engine.deleteSecret(
          scopeOf(ctx),
          input.SecretId,
          defined({ recoveryWindowInDays: input.RecoveryWindowInDays, forceDeleteWithoutRecovery: input.ForceDeleteWithoutRecovery }),
        );
        return { ARN: out.arn, Name: out.name, DeletionDate: out.deletionDate / 1000 };
      },
      RestoreSecret: async (ctx: CallContext, input: sm.RestoreSecretRequest): Promise<sm.RestoreSecretResponse> => {
        const out = await engine.restoreSecret(scopeOf(ctx), input.SecretId);
        return { ARN: out.arn, Name: out.name };
      },
      GetRandomPassword: async (_ctx: CallContext, input: sm.GetRandomPasswordRequest): Promise<sm.GetRandomPasswordResponse> => ({
        RandomPassword: engine.getRandomPassword(
          defined({
            passwordLength: input.PasswordLength,
            excludeCharacters: input.ExcludeCharacters,
            excludeNumbers: input.ExcludeNumbers,
            excludePunctuation: input.ExcludePunctuation,
            excludeUppercase: input.ExcludeUppercase,
            excludeLowercase: input.ExcludeLowercase,
            includeSpace: input.IncludeSpace,
            requireEachIncludedType: input.RequireEachIncludedType,
          }),
        ),
      }),
      TagResource: async (ctx: CallContext, input: sm.TagResourceRequest) => {
        await engine.tagResource(scopeOf(ctx), input.SecretId, tagsIn(input.Tags));
        return {};
      },
      UntagResource: async (ctx: CallContext, input: sm.UntagResourceRequest) => {
        await engine.untagResource(scopeOf(ctx), input.SecretId, input.TagKeys);
        return {};
      },
      RotateSecret: async (ctx: CallContext, input: sm.RotateSecretRequest): Promise<sm.RotateSecretResponse> => {
        const out = await engine.rotateSecret(
          scopeOf(ctx),
          input.SecretId,
          defined({
            clientRequestToken: input.ClientRequestToken,
            rotationLambdaArn: input.RotationLambdaARN,
            rotationRules: rulesIn(input.RotationRules),
            rotateImmediately: input.RotateImmediately,
          }),
        );
        return defined({ ARN: out.arn, Name: out.name, VersionId: out.versionId });
      },
      CancelRotateSecret: async (ctx: CallContext, input: sm.CancelRotateSecretRequest): Promise<sm.CancelRotateSecretResponse> => {
        const out = await engine.cancelRotateSecret(scopeOf(ctx), input.SecretId);
        return defined({ ARN: out.arn, Name: out.name, VersionId: out.versionId });
      },
    },
  };
}

const filtersIn = (filters: sm.Filter[] | undefined): { key: string; values: string[] }[] | undefined =>
  filters?.map((f) => ({ key: f.Key ?? "", values: f.Values ?? [] }));
