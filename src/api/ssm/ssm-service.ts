/**
 * SSM Parameter Store (target prefix "AmazonSSM", signing name "ssm", JSON 1.1): thin handlers
 * from the wire to the ParameterStore port (domain/secrets.ts). Only the Parameter Store actions
 * of SSM are implemented; the rest answer as not implemented. Timestamps go out as epoch
 * seconds. The resources table gives IAM one parameter ARN per name (the path's ARN for
 * GetParametersByPath), selectors stripped.
 */
import { BerthError, ErrorCode } from "../../core/errors.ts";
import type { CallContext } from "../../control/context.ts";
import {
  parameterArn,
  parseParameterName,
  splitSelector,
  type ParameterMetadata,
  type ParameterStore,
  type ParameterStringFilter,
  type ParameterValue,
  type SecretsScope,
} from "../../domain/secrets.ts";
import type { ErrorTable } from "../errors.ts";
import { ssmModel } from "../models/ssm.model.ts";
import type * as ssm from "../models/ssm.types.ts";
import type { ResourceResolver, ServiceDefinition } from "../service.ts";
import { defined } from "../wire.ts";

export const SSM_ERRORS: ErrorTable = {
  serverFault: "InternalServerError",
  codes: {
    Validation: { exception: "ValidationException" },
    InvalidParameter: { exception: "ValidationException" },
    ParameterNotFound: { exception: "ParameterNotFound" },
    ParameterAlreadyExists: { exception: "ParameterAlreadyExists" },
    ParameterVersionNotFound: { exception: "ParameterVersionNotFound" },
    ParameterPatternMismatch: { exception: "ParameterPatternMismatchException" },
    ParameterMaxVersionLimitExceeded: { exception: "ParameterMaxVersionLimitExceeded" },
    ParameterVersionLabelLimitExceeded: { exception: "ParameterVersionLabelLimitExceeded" },
    HierarchyLevelLimitExceeded: { exception: "HierarchyLevelLimitExceededException" },
    HierarchyTypeMismatch: { exception: "HierarchyTypeMismatchException" },
    InvalidAllowedPattern: { exception: "InvalidAllowedPatternException" },
    InvalidFilterKey: { exception: "InvalidFilterKey" },
    InvalidFilterOption: { exception: "InvalidFilterOption" },
    InvalidFilterValue: { exception: "InvalidFilterValue" },
    InvalidNextToken: { exception: "InvalidNextToken" },
    InvalidResourceId: { exception: "InvalidResourceId" },
    InvalidResourceType: { exception: "InvalidResourceType" },
    TooManyTags: { exception: "TooManyTagsError" },
    AccessDenied: { exception: "AccessDeniedException" },
  },
};

const scopeOf = (ctx: CallContext): SecretsScope => ({ region: ctx.scope.region, accountId: ctx.scope.accountId });

const valueOut = (p: ParameterValue): ssm.Parameter =>
  defined({
    Name: p.name,
    Type: p.type,
    Value: p.value,
    Version: p.version,
    Selector: p.selector,
    LastModifiedDate: p.lastModifiedDate / 1000,
    ARN: p.arn,
    DataType: p.dataType,
  });

const metadataOut = (m: Omit<ParameterMetadata, "arn"> & { arn?: string }): ssm.ParameterMetadata =>
  defined({
    Name: m.name,
    ARN: m.arn,
    Type: m.type,
    KeyId: m.keyId,
    LastModifiedDate: m.lastModifiedDate / 1000,
    LastModifiedUser: m.lastModifiedUser,
    Description: m.description,
    AllowedPattern: m.allowedPattern,
    Version: m.version,
    Tier: m.tier,
    Policies: m.policies.map((p) => ({ PolicyText: p.policyText, PolicyType: p.policyType, PolicyStatus: p.policyStatus })),
    DataType: m.dataType,
  });

const filtersIn = (filters: ssm.ParameterStringFilter[] | undefined): ParameterStringFilter[] | undefined =>
  filters?.map((f) => defined({ key: f.Key, option: f.Option, values: f.Values }));

/** The parameter ARN IAM authorizes for a name (or ARN), selector stripped. */
function arnFor(ctx: CallContext, name: string): string {
  const bare = splitSelector(name).name;
  if (bare.startsWith("arn:")) return bare;
  const parsed = parseParameterName(scopeOf(ctx), bare);
  return parameterArn(parsed.scope, parsed.name);
}

function taggedParameter(input: { ResourceType: string; ResourceId: string }): string {
  if (input.ResourceType !== "Parameter") {
    throw new BerthError(ErrorCode.InvalidResourceType, "The resource type is not valid. Berth supports tags on parameters (ResourceType Parameter) only.");
  }
  return input.ResourceId;
}

const RESOURCES: Record<string, ResourceResolver> = {
  PutParameter: (ctx, input: { Name: string }) => [arnFor(ctx, input.Name)],
  GetParameter: (ctx, input: { Name: string }) => [arnFor(ctx, input.Name)],
  GetParameters: (ctx, input: { Names: string[] }) => [...new Set(input.Names.map((n) => arnFor(ctx, n)))],
  GetParametersByPath: (ctx, input: { Path: string }) => [arnFor(ctx, input.Path === "/" ? "/" : input.Path.replace(/\/$/, ""))],
  GetParameterHistory: (ctx, input: { Name: string }) => [arnFor(ctx, input.Name)],
  LabelParameterVersion: (ctx, input: { Name: string }) => [arnFor(ctx, input.Name)],
  UnlabelParameterVersion: (ctx, input: { Name: string }) => [arnFor(ctx, input.Name)],
  DeleteParameter: (ctx, input: { Name: string }) => [arnFor(ctx, input.Name)],
  DeleteParameters: (ctx, input: { Names: string[] }) => [...new Set(input.Names.map((n) => arnFor(ctx, n)))],
  AddTagsToResource: (ctx, input: { ResourceId: string }) => [arnFor(ctx, input.ResourceId)],
  RemoveTagsFromResource: (ctx, input: { ResourceId: string }) => [arnFor(ctx, input.ResourceId)],
  ListTagsForResource: (ctx, input: { ResourceId: string }) => [arnFor(ctx, input.ResourceId)],
};

export function ssmService(store: ParameterStore): ServiceDefinition {
  return {
    signingName: "ssm",
    model: ssmModel,
    errors: SSM_ERRORS,
    resources: RESOURCES,
    operations: {
      PutParameter: async (ctx: CallContext, input: ssm.PutParameterRequest): Promise<ssm.PutParameterResult> => {
        const out = await store.putParameter(
          scopeOf(ctx),
          defined({
            name: input.Name,
            value: input.Value,
            type: input.Type,
            description: input.Description,
            keyId: input.KeyId,
            overwrite: input.Overwrite,
            allowedPattern: input.AllowedPattern,
            tags: input.Tags?.map((t) => ({ key: t.Key, value: t.Value })),
            tier: input.Tier,
            policies: input.Policies,
            dataType: input.DataType,
            user: ctx.principalArn,
          }),
        );
        return { Version: out.version, Tier: out.tier };
      },
      GetParameter: async (ctx: CallContext, input: ssm.GetParameterRequest): Promise<ssm.GetParameterResult> => ({
        Parameter: valueOut(await store.getParameter(scopeOf(ctx), input.Name, input.WithDecryption === true)),
      }),
      GetParameters: async (ctx: CallContext, input: ssm.GetParametersRequest): Promise<ssm.GetParametersResult> => {
        const out = await store.getParameters(scopeOf(ctx), input.Names, input.WithDecryption === true);
        return { Parameters: out.parameters.map(valueOut), InvalidParameters: out.invalidParameters };
      },
      GetParametersByPath: async (ctx: CallContext, input: ssm.GetParametersByPathRequest): Promise<ssm.GetParametersByPathResult> => {
        const out = await store.getParametersByPath(
          scopeOf(ctx),
          defined({
            path: input.Path,
            recursive: input.Recursive,
            filters: filtersIn(input.ParameterFilters),
            withDecryption: input.WithDecryption,
            maxResults: input.MaxResults,
            nextToken: input.NextToken,
          }),
        );
        return defined({ Parameters: out.parameters.map(valueOut), NextToken: out.nextToken });
      },
      DescribeParameters: async (ctx: CallContext, input: ssm.DescribeParametersRequest): Promise<ssm.DescribeParametersResult> => {
        const out = await store.describeParameters(
          scopeOf(ctx),
          defined({
            filters: input.Filters?.map((f) => ({ key: f.Key, values: f.Values })),
            parameterFilters: filtersIn(input.ParameterFilters),
            maxResults: input.MaxResults,
            nextToken: input.NextToken,
          }),
        );
        return defined({ Parameters: out.parameters.map(metadataOut), NextToken: out.nextToken });
      },
      GetParameterHistory: async (ctx: CallContext, input: ssm.GetParameterHistoryRequest): Promise<ssm.GetParameterHistoryResult> => {
        const out = await store.getParameterHistory(
          scopeOf(ctx),
          defined({ name: input.Name, withDecryption: input.WithDecryption, maxResults: input.MaxResults, nextToken: input.NextToken }),
        );
        return defined({
          Parameters: out.parameters.map((h) => {
            const { ARN: _arn, ...meta } = metadataOut(h);
            return { ...meta, Value: h.value, Labels: h.labels };
          }),
          NextToken: out.nextToken,
        });
      },
      LabelParameterVersion: async (ctx: CallContext, input: ssm.LabelParameterVersionRequest): Promise<ssm.LabelParameterVersionResult> => {
        const out = await store.labelParameterVersion(scopeOf(ctx), defined({ name: input.Name, version: input.ParameterVersion, labels: input.Labels }));
        return { InvalidLabels: out.invalidLabels, ParameterVersion: out.parameterVersion };
      },
      UnlabelParameterVersion: async (ctx: CallContext, input: ssm.UnlabelParameterVersionRequest): Promise<ssm.UnlabelParameterVersionResult> => {
        const out = await store.unlabelParameterVersion(scopeOf(ctx), { name: input.Name, version: input.ParameterVersion, labels: input.Labels });
        return { RemovedLabels: out.removedLabels, InvalidLabels: out.invalidLabels };
      },
      DeleteParameter: async (ctx: CallContext, input: ssm.DeleteParameterRequest) => {
        await store.deleteParameter(scopeOf(ctx), input.Name);
        return {};
      },
      DeleteParameters: async (ctx: CallContext, input: ssm.DeleteParametersRequest): Promise<ssm.DeleteParametersResult> => {
        const out = await store.deleteParameters(scopeOf(ctx), input.Names);
        return { DeletedParameters: out.deletedParameters, InvalidParameters: out.invalidParameters };
      },
      AddTagsToResource: async (ctx: CallContext, input: ssm.AddTagsToResourceRequest) => {
        await store.addTags(scopeOf(ctx), taggedParameter(input), input.Tags.map((t) => ({ key: t.Key, value: t.Value })));
        return {};
      },
      RemoveTagsFromResource: async (ctx: CallContext, input: ssm.RemoveTagsFromResourceRequest) => {
        await store.removeTags(scopeOf(ctx), taggedParameter(input), input.TagKeys);
        return {};
      },
      ListTagsForResource: async (ctx: CallContext, input: ssm.ListTagsForResourceRequest): Promise<ssm.ListTagsForResourceResult> => ({
        TagList: (await store.listTags(scopeOf(ctx), taggedParameter(input))).map((t) => ({ Key: t.key, Value: t.value })),
      }),
    },
  };
}
