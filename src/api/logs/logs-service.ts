/**
 * CloudWatch Logs (Logs_20140328) over AWS JSON 1.1: thin handlers from the wire to the
 * LogsEngine port (domain/logs.ts), which the composition root injects. Log groups may be
 * named by name or by ARN (`logGroupIdentifier`).
 */
import { invalidParameter } from "../../core/errors.ts";
import type { CallContext } from "../../control/context.ts";
import { type LogsEngine, logGroupArn, logGroupNameOf, queryGroupNames } from "../../domain/logs.ts";
import type { ErrorTable } from "../errors.ts";
import { logsModel } from "../models/logs.model.ts";
import type * as logs from "../models/logs.types.ts";
import type { ServiceDefinition } from "../service.ts";
import { LOGS_RESOURCES, scopeOf } from "./logs-resources.ts";
import { defined } from "../wire.ts";

export const LOGS_ERRORS: ErrorTable = {
  serverFault: "ServiceUnavailableException",
  codes: {
    Validation: { exception: "InvalidParameterException" },
    InvalidParameter: { exception: "InvalidParameterException" },
    ResourceNotFound: { exception: "ResourceNotFoundException" },
    ResourceAlreadyExists: { exception: "ResourceAlreadyExistsException" },
    LimitExceeded: { exception: "LimitExceededException" },
    MalformedQuery: { exception: "MalformedQueryException" },
    AccessDenied: { exception: "AccessDeniedException" },
  },
};

export function logsService(engine: LogsEngine): ServiceDefinition {
  return {
    signingName: "logs",
    model: logsModel,
    errors: LOGS_ERRORS,
    resources: LOGS_RESOURCES,
    operations: {
      CreateLogGroup: async (ctx: CallContext, input: logs.CreateLogGroupRequest) => {
        await engine.createLogGroup(scopeOf(ctx), input.logGroupName, input.tags ? { tags: input.tags } : {});
        return {};
      },
      DeleteLogGroup: async (ctx: CallContext, input: logs.DeleteLogGroupRequest) => {
        await engine.deleteLogGroup(scopeOf(ctx), input.logGroupName);
        return {};
      },
      DescribeLogGroups: async (ctx: CallContext, input: logs.DescribeLogGroupsRequest): Promise<logs.DescribeLogGroupsResponse> =>
        engine.describeLogGroups(
          scopeOf(ctx),
          defined({ logGroupNamePrefix: input.logGroupNamePrefix, logGroupNamePattern: input.logGroupNamePattern, nextToken: input.nextToken, limit: input.limit }),
        ),
      CreateLogStream: async (ctx: CallContext, input: logs.CreateLogStreamRequest) => {
        await engine.createLogStream(scopeOf(ctx), input.logGroupName, input.logStreamName);
        return {};
      },
      DeleteLogStream: async (ctx: CallContext, input: logs.DeleteLogStreamRequest) => {
        await engine.deleteLogStream(scopeOf(ctx), input.logGroupName, input.logStreamName);
        return {};
      },
      DescribeLogStreams: async (ctx: CallContext, input: logs.DescribeLogStreamsRequest): Promise<logs.DescribeLogStreamsResponse> =>
        engine.describeLogStreams(
          scopeOf(ctx),
          defined({
            logGroupName: logGroupNameOf(input),
            logStreamNamePrefix: input.logStreamNamePrefix,
            orderBy: input.orderBy,
            descending: input.descending,
            nextToken: input.nextToken,
            limit: input.limit,
          }),
        ),
      PutLogEvents: async (ctx: CallContext, input: logs.PutLogEventsRequest): Promise<logs.PutLogEventsResponse> =>
        engine.putLogEvents(scopeOf(ctx), input.logGroupName, input.logStreamName, input.logEvents),
      GetLogEvents: async (ctx: CallContext, input: logs.GetLogEventsRequest): Promise<logs.GetLogEventsResponse> =>
        engine.getLogEvents(
          scopeOf(ctx),
          defined({
            logGroupName: logGroupNameOf(input),
            logStreamName: input.logStreamName,
            startTime: input.startTime,
            endTime: input.endTime,
            nextToken: input.nextToken,
            limit: input.limit,
            startFromHead: input.startFromHead,
          }),
        ),
      FilterLogEvents: async (ctx: CallContext, input: logs.FilterLogEventsRequest): Promise<logs.FilterLogEventsResponse> => {
        if (input.logStreamNames?.length && input.logStreamNamePrefix !== undefined) {
          throw invalidParameter("You cannot specify both logStreamNames and logStreamNamePrefix.");
        }
        return engine.filterLogEvents(
          scopeOf(ctx),
          defined({
            logGroupName: logGroupNameOf(input),
            logStreamNames: input.logStreamNames,
            logStreamNamePrefix: input.logStreamNamePrefix,
            startTime: input.startTime,
            endTime: input.endTime,
            filterPattern: input.filterPattern,
            nextToken: input.nextToken,
            limit: input.limit,
          }),
        );
      },
      PutRetentionPolicy: async (ctx: CallContext, input: logs.PutRetentionPolicyRequest) => {
        await engine.putRetentionPolicy(scopeOf(ctx), input.logGroupName, input.retentionInDays);
        return {};
      },
      DeleteRetentionPolicy: async (ctx: CallContext, input: logs.DeleteRetentionPolicyRequest) => {
        await engine.deleteRetentionPolicy(scopeOf(ctx), input.logGroupName);
        return {};
      },
      TagResource: async (ctx: CallContext, input: logs.TagResourceRequest) => {
        await engine.tagResource(scopeOf(ctx), input.resourceArn, input.tags);
        return {};
      },
      UntagResource: async (ctx: CallContext, input: logs.UntagResourceRequest) => {
        await engine.untagResource(scopeOf(ctx), input.resourceArn, input.tagKeys);
        return {};
      },
      ListTagsForResource: async (ctx: CallContext, input: logs.ListTagsForResourceRequest): Promise<logs.ListTagsForResourceResponse> => ({
        tags: await engine.listTagsForResource(scopeOf(ctx), input.resourceArn),
      }),
      TagLogGroup: async (ctx: CallContext, input: logs.TagLogGroupRequest) => {
        await engine.tagResource(scopeOf(ctx), logGroupArn(scopeOf(ctx), input.logGroupName), input.tags);
        return {};
      },
      UntagLogGroup: async (ctx: CallContext, input: logs.UntagLogGroupRequest) => {
        await engine.untagResource(scopeOf(ctx), logGroupArn(scopeOf(ctx), input.logGroupName), input.tags);
        return {};
      },
      ListTagsLogGroup: async (ctx: CallContext, input: logs.ListTagsLogGroupRequest): Promise<logs.ListTagsLogGroupResponse> => ({
        tags: await engine.listTagsForResource(scopeOf(ctx), logGroupArn(scopeOf(ctx), input.logGroupName)),
      }),
      StartQuery: async (ctx: CallContext, input: logs.StartQueryRequest): Promise<logs.StartQueryResponse> => {
        const names = queryGroupNames(input);
        if (names.length === 0) throw invalidParameter("At least one log group must be specified.");
        const queryId = await engine.startQuery(scopeOf(ctx), defined({ logGroupNames: names, startTime: input.startTime, endTime: input.endTime, queryString: input.queryString, limit: input.limit }));
        return { queryId };
      },
      GetQueryResults: async (ctx: CallContext, input: logs.GetQueryResultsRequest): Promise<logs.GetQueryResultsResponse> =>
        engine.getQueryResults(scopeOf(ctx), input.queryId),
      StopQuery: async (ctx: CallContext, input: logs.StopQueryRequest): Promise<logs.StopQueryResponse> => ({
        success: await engine.stopQuery(scopeOf(ctx), input.queryId),
      }),
    },
  };
}
