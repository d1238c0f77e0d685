/**
 * IAM's wire views: domain users, roles, policies and keys as the IAM query API returns them.
 * Policy documents travel URL-encoded (the AWS CLI and SDKs decode them), timestamps as
 * epoch seconds for the XML writer, and paging as IsTruncated + Marker.
 */
import type * as domain from "../../domain/iam.ts";
import type * as iam from "../models/iam.types.ts";

const seconds = (ms: number): number => Math.floor(ms / 1000);

/** IAM returns every policy document URL-encoded, as RFC 3986 does it. */
export const encodeDocument = (document: string): string => encodeURIComponent(document);

export const tagsOut = (tags: readonly domain.IamTag[]): iam.Tag[] => tags.map((t) => ({ Key: t.key, Value: t.value }));
export const tagsIn = (tags: readonly iam.Tag[] | undefined): domain.IamTag[] => (tags ?? []).map((t) => ({ key: t.Key, value: t.Value }));

export function page<T>(p: domain.Page<unknown>, members: T): T & { IsTruncated: boolean; Marker?: string } {
  return { ...members, IsTruncated: p.marker !== undefined, ...(p.marker === undefined ? {} : { Marker: p.marker }) };
}

export function userView(user: domain.IamUser, withTags = true): iam.User {
  return {
    Path: user.path,
    UserName: user.userName,
    UserId: user.userId,
    Arn: user.arn,
    CreateDate: seconds(user.createDate),
    ...(withTags && user.tags.length > 0 ? { Tags: tagsOut(user.tags) } : {}),
  };
}

export function roleView(role: domain.IamRole, withTags = true): iam.Role {
  return {
    Path: role.path,
    RoleName: role.roleName,
    RoleId: role.roleId,
    Arn: role.arn,
    CreateDate: seconds(role.createDate),
    AssumeRolePolicyDocument: encodeDocument(role.assumeRolePolicyDocument),
    ...(role.description === undefined ? {} : { Description: role.description }),
    MaxSessionDuration: role.maxSessionDuration,
    ...(withTags && role.tags.length > 0 ? { Tags: tagsOut(role.tags) } : {}),
  };
}

export function policyView(policy: domain.ManagedPolicy): iam.Policy {
  return {
    PolicyName: policy.policyName,
    PolicyId: policy.policyId,
    Arn: policy.arn,
    Path: policy.path,
    DefaultVersionId: policy.defaultVersionId,
    AttachmentCount: policy.attachmentCount,
    PermissionsBoundaryUsageCount: 0,
    IsAttachable: true,
    ...(policy.description === undefined ? {} : { Description: policy.description }),
    CreateDate: seconds(policy.createDate),
    UpdateDate: seconds(policy.updateDate),
    ...(policy.tags.length > 0 ? { Tags: tagsOut(policy.tags) } : {}),
  };
}

export function versionView(version: domain.PolicyVersion, withDocument = true): iam.PolicyVersion {
  return {
    ...(withDocument ? { Document: encodeDocument(version.document) } : {}),
    VersionId: version.versionId,
    IsDefaultVersion: version.isDefaultVersion,
    CreateDate: seconds(version.createDate),
  };
}

export function accessKeyView(key: domain.AccessKeyMetadata): iam.AccessKeyMetadata {
  return { UserName: key.userName, AccessKeyId: key.accessKeyId, Status: key.status, CreateDate: seconds(key.createDate) };
}
