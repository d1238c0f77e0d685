/**
 * The resources CloudWatch Logs actions act on, for IAM. As AWS's docs describe: a log group is
 * requested as `arn:…:log-group:<name>:*` for every action but the tagging ones (which use the
 * ARN without `:*`), a stream action (Create/DeleteLogStream, PutLogEvents, GetLogEvents) names the
 * stream, `arn:…:log-group:<group>:log-stream:<stream>`, and DescribeLogGroups asks for
 * `arn:…:log-group:*`. So the usual policy, `"Resource": "arn:aws:logs:<region>:<account>:log-group:/ecs/app:*"`,
 * allows the group and all its streams. Queries' results and StopQuery act on "*".
 */
import type { CallContext } from "../../control/context.ts";
import { type LogsScope, logGroupArn, logGroupNameOf, logGroupResource, logStreamArn, queryGroupNames } from "../../domain/logs.ts";
import type { ResourceResolver } from "../service.ts";

type Input = Record<string, unknown>;

/** The caller's region and account, as the Logs engine scopes groups. */
export const scopeOf = (ctx: CallContext): LogsScope => ({ region: ctx.scope.region, accountId: ctx.scope.accountId });
const str = (v: unknown): string | undefined => (typeof v === "string" ? v : undefined);

const group: ResourceResolver = (ctx, input: Input) => [logGroupResource(scopeOf(ctx), logGroupNameOf(input))];
/** The tagging actions name the ARN without `:*`. */
const tagged: ResourceResolver = (_ctx, input: Input) => [(str(input["resourceArn"]) ?? "").replace(/:\*$/, "")];
const stream: ResourceResolver = (ctx, input: Input) => [logStreamArn(scopeOf(ctx), logGroupNameOf(input), str(input["logStreamName"]) ?? "")];

export const LOGS_RESOURCES: Record<string, ResourceResolver> = {
  CreateLogGroup: group,
  DeleteLogGroup: group,
  DescribeLogGroups: (ctx) => [logGroupArn(scopeOf(ctx), "*")],
  CreateLogStream: stream,
  DeleteLogStream: stream,
  DescribeLogStreams: group,
  PutLogEvents: stream,
  GetLogEvents: stream,
  FilterLogEvents: group,
  PutRetentionPolicy: group,
  DeleteRetentionPolicy: group,
  TagLogGroup: group,
  UntagLogGroup: group,
  ListTagsLogGroup: group,
  TagResource: tagged,
  UntagResource: tagged,
  ListTagsForResource: tagged,
  StartQuery: (ctx, input: Parameters<typeof queryGroupNames>[0]) => queryGroupNames(input).map((n) => logGroupResource(scopeOf(ctx), n)),
};
