/**
 * ARNs in ECS's long format (see shared/reference/ecs.md §2.9). Resources are scoped to a
 * region and an account: the region comes from the caller's SigV4 credential scope.
 */

export interface Scope {
  partition: string;
  region: string;
  accountId: string;
}

export interface ParsedArn {
  partition: string;
  service: string;
  region: string;
  accountId: string;
  /** Everything after the fifth colon, e.g. `cluster/default`. */
  resource: string;
}

const ARN_RE = /^arn:([a-z-]+):([a-z0-9-]+):([a-z0-9-]*):(\d*):(.+)$/;

export function parseArn(value: string): ParsedArn | undefined {
  const m = ARN_RE.exec(value);
  if (!m) return undefined;
  const [, partition, service, region, accountId, resource] = m;
  return {
    partition: partition!,
    service: service!,
    region: region!,
    accountId: accountId!,
    resource: resource!,
  };
}

export function isArn(value: string): boolean {
  return value.startsWith("arn:");
}

export function ecsArn(scope: Scope, resource: string): string {
  return `arn:${scope.partition}:ecs:${scope.region}:${scope.accountId}:${resource}`;
}

export const clusterArn = (scope: Scope, name: string): string => ecsArn(scope, `cluster/${name}`);

export const taskDefinitionArn = (scope: Scope, family: string, revision: number): string =>
  ecsArn(scope, `task-definition/${family}:${revision}`);

/** Last path segment of an ARN's resource, or the value itself when it is not an ARN. */
export function lastSegment(value: string): string {
  const parsed = parseArn(value);
  const resource = parsed ? parsed.resource : value;
  const slash = resource.lastIndexOf("/");
  return slash === -1 ? resource : resource.slice(slash + 1);
}
