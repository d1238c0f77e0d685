/**
 * IAM (2010-05-08) over the query protocol: thin handlers from the wire to the IamEngine port
 * (domain/iam.ts) for users, access keys, roles, inline and managed policies and attachments,
 * plus the resources each operation acts on, for authorization at the edge. IAM is global:
 * every entity belongs to Berth's one account whatever region the caller signed for.
 */
import { BerthError, ErrorCode } from "../../core/errors.ts";
import type { CallContext } from "../../control/context.ts";
import { type IamEngine, type PolicyOwner, parsePrincipalArn, policyArn, roleArn, userArn } from "../../domain/iam.ts";
import type { ErrorTable } from "../errors.ts";
import { iamModel } from "../models/iam.model.ts";
import type * as iam from "../models/iam.types.ts";
import type { ResourceResolver, ServiceDefinition } from "../service.ts";
import { defined } from "../wire.ts";
import { accessKeyView, encodeDocument, page, policyView, roleView, tagsIn, tagsOut, userView, versionView } from "./iam-views.ts";

export const IAM_ERRORS: ErrorTable = {
  serverFault: "ServiceFailure",
  codes: {
    Validation: { exception: "ValidationError" },
    InvalidParameter: { exception: "InvalidInput" },
    ResourceNotFound: { exception: "NoSuchEntity", status: 404 },
    ResourceAlreadyExists: { exception: "EntityAlreadyExists", status: 409 },
    Conflict: { exception: "DeleteConflict", status: 409 },
    LimitExceeded: { exception: "LimitExceeded", status: 409 },
    MalformedPolicyDocument: { exception: "MalformedPolicyDocument" },
    AccessDenied: { exception: "AccessDenied", status: 403 },
  },
};

/** IAM's implicit UserName: the calling user's own. */
function userNameOf(ctx: CallContext, given: string | undefined): string {
  if (given !== undefined) return given;
  const caller = parsePrincipalArn(ctx.principalArn);
  if (caller?.kind === "user") return caller.name;
  throw new BerthError(ErrorCode.Validation, "Must specify userName when calling with non-User credentials");
}

const paging = (input: { Marker?: string; MaxItems?: number; PathPrefix?: string }) =>
  defined({ marker: input.Marker, maxItems: input.MaxItems, pathPrefix: input.PathPrefix });

const role = (name: string): PolicyOwner => ({ kind: "role", name });
const user = (name: string): PolicyOwner => ({ kind: "user", name });

export function iamService(engine: IamEngine): ServiceDefinition {
  return {
    signingName: "iam",
    model: iamModel,
    errors: IAM_ERRORS,
    resources: iamResources(engine),
    operations: {
      // --- users ---
      CreateUser: async (_ctx: CallContext, input: iam.CreateUserRequest): Promise<iam.CreateUserResponse> => ({
        User: userView(await engine.createUser(defined({ userName: input.UserName, path: input.Path, tags: input.Tags && tagsIn(input.Tags) }))),
      }),
      GetUser: async (ctx: CallContext, input: iam.GetUserRequest): Promise<iam.GetUserResponse> => ({
        User: userView(await engine.getUser(userNameOf(ctx, input.UserName))),
      }),
      ListUsers: async (_ctx: CallContext, input: iam.ListUsersRequest): Promise<iam.ListUsersResponse> => {
        const p = await engine.listUsers(paging(input));
        return page(p, { Users: p.items.map((u) => userView(u, false)) });
      },
      DeleteUser: async (_ctx: CallContext, input: iam.DeleteUserRequest) => {
        await engine.deleteUser(input.UserName);
        return {};
      },

      // --- access keys ---
      CreateAccessKey: async (ctx: CallContext, input: iam.CreateAccessKeyRequest): Promise<iam.CreateAccessKeyResponse> => {
        const key = await engine.createAccessKey(userNameOf(ctx, input.UserName));
        return { AccessKey: { ...accessKeyView(key), SecretAccessKey: key.secretAccessKey } as iam.AccessKey };
      },
      ListAccessKeys: async (ctx: CallContext, input: iam.ListAccessKeysRequest): Promise<iam.ListAccessKeysResponse> => {
        const p = await engine.listAccessKeys(userNameOf(ctx, input.UserName), paging(input));
        return page(p, { AccessKeyMetadata: p.items.map(accessKeyView) });
      },
      UpdateAccessKey: async (ctx: CallContext, input: iam.UpdateAccessKeyRequest) => {
        if (input.Status === "Expired") throw new BerthError(ErrorCode.Validation, "Status must be Active or Inactive.");
        await engine.updateAccessKey(userNameOf(ctx, input.UserName), input.AccessKeyId, input.Status);
        return {};
      },
      DeleteAccessKey: async (ctx: CallContext, input: iam.DeleteAccessKeyRequest) => {
        await engine.deleteAccessKey(userNameOf(ctx, input.UserName), input.AccessKeyId);
        return {};
      },

      // --- roles ---
      CreateRole: async (_ctx: CallContext, input: iam.CreateRoleRequest): Promise<iam.CreateRoleResponse> => ({
        Role: roleView(
          await engine.createRole(
            defined({
              roleName: input.RoleName,
              assumeRolePolicyDocument: input.AssumeRolePolicyDocument,
              path: input.Path,
              description: input.Description,
              maxSessionDuration: input.MaxSessionDuration,
              tags: input.Tags && tagsIn(input.Tags),
            }),
          ),
        ),
      }),
      GetRole: async (_ctx: CallContext, input: iam.GetRoleRequest): Promise<iam.GetRoleResponse> => ({ Role: roleView(await engine.getRole(input.RoleName)) }),
      ListRoles: async (_ctx: CallContext, input: iam.ListRolesRequest): Promise<iam.ListRolesResponse> => {
        const p = await engine.listRoles(paging(input));
        return page(p, { Roles: p.items.map((r) => roleView(r, false)) });
      },
      DeleteRole: async (_ctx: CallContext, input: iam.DeleteRoleRequest) => {
        await engine.deleteRole(input.RoleName);
        return {};
      },
      UpdateRole: async (_ctx: CallContext, input: iam.UpdateRoleRequest) => {
        await engine.updateRole(input.RoleName, defined({ description: input.Description, maxSessionDuration: input.MaxSessionDuration }));
        return {};
      },
      UpdateAssumeRolePolicy: async (_ctx: CallContext, input: iam.UpdateAssumeRolePolicyRequest) => {
        await engine.updateAssumeRolePolicy(input.RoleName, input.PolicyDocument);
        return {};
      },
      TagRole: async (_ctx: CallContext, input: iam.TagRoleRequest) => {
        await engine.tagRole(input.RoleName, tagsIn(input.Tags));
        return {};
      },
      UntagRole: async (_ctx: CallContext, input: iam.UntagRoleRequest) => {
        await engine.untagRole(input.RoleName, input.TagKeys);
        return {};
      },
      ListRoleTags: async (_ctx: CallContext, input: iam.ListRoleTagsRequest): Promise<iam.ListRoleTagsResponse> => ({
        Tags: tagsOut((await engine.getRole(input.RoleName)).tags),
        IsTruncated: false,
      }),
      // Berth has no instance profiles; Terraform asks before deleting a role.
      ListInstanceProfilesForRole: async (_ctx: CallContext, input: iam.ListInstanceProfilesForRoleRequest): Promise<iam.ListInstanceProfilesForRoleResponse> => {
        await engine.getRole(input.RoleName);
        return { InstanceProfiles: [], IsTruncated: false };
      },

      // --- inline policies ---
      PutRolePolicy: async (_ctx: CallContext, input: iam.PutRolePolicyRequest) => {
        await engine.putInlinePolicy(role(input.RoleName), input.PolicyName, input.PolicyDocument);
        return {};
      },
      GetRolePolicy: async (_ctx: CallContext, input: iam.GetRolePolicyRequest): Promise<iam.GetRolePolicyResponse> => {
        const document = await engine.getInlinePolicy(role(input.RoleName), input.PolicyName);
        return { RoleName: (await engine.getRole(input.RoleName)).roleName, PolicyName: input.PolicyName, PolicyDocument: encodeDocument(document) };
      },
      DeleteRolePolicy: async (_ctx: CallContext, input: iam.DeleteRolePolicyRequest) => {
        await engine.deleteInlinePolicy(role(input.RoleName), input.PolicyName);
        return {};
      },
      ListRolePolicies: async (_ctx: CallContext, input: iam.ListRolePoliciesRequest): Promise<iam.ListRolePoliciesResponse> => {
        const p = await engine.listInlinePolicies(role(input.RoleName), paging(input));
        return page(p, { PolicyNames: p.items });
      },
      PutUserPolicy: async (_ctx: CallContext, input: iam.PutUserPolicyRequest) => {
        await engine.putInlinePolicy(user(input.UserName), input.PolicyName, input.PolicyDocument);
        return {};
      },
      GetUserPolicy: async (_ctx: CallContext, input: iam.GetUserPolicyRequest): Promise<iam.GetUserPolicyResponse> => {
        const document = await engine.getInlinePolicy(user(input.UserName), input.PolicyName);
        return { UserName: (await engine.getUser(input.UserName)).userName, PolicyName: input.PolicyName, PolicyDocument: encodeDocument(document) };
      },
      DeleteUserPolicy: async (_ctx: CallContext, input: iam.DeleteUserPolicyRequest) => {
        await engine.deleteInlinePolicy(user(input.UserName), input.PolicyName);
        return {};
      },
      ListUserPolicies: async (_ctx: CallContext, input: iam.ListUserPoliciesRequest): Promise<iam.ListUserPoliciesResponse> => {
        const p = await engine.listInlinePolicies(user(input.UserName), paging(input));
        return page(p, { PolicyNames: p.items });
      },

      // --- managed policies ---
      CreatePolicy: async (_ctx: CallContext, input: iam.CreatePolicyRequest): Promise<iam.CreatePolicyResponse> => ({
        Policy: policyView(
          await engine.createPolicy(
            defined({ policyName: input.PolicyName, policyDocument: input.PolicyDocument, path: input.Path, description: input.Description, tags: input.Tags && tagsIn(input.Tags) }),
          ),
        ),
      }),
      GetPolicy: async (_ctx: CallContext, input: iam.GetPolicyRequest): Promise<iam.GetPolicyResponse> => ({ Policy: policyView(await engine.getPolicy(input.PolicyArn)) }),
      ListPolicies: async (_ctx: CallContext, input: iam.ListPoliciesRequest): Promise<iam.ListPoliciesResponse> => {
        const p = await engine.listPolicies({ ...paging(input), ...defined({ scope: input.Scope, onlyAttached: input.OnlyAttached }) });
        return page(p, { Policies: p.items.map(policyView) });
      },
      DeletePolicy: async (_ctx: CallContext, input: iam.DeletePolicyRequest) => {
        await engine.deletePolicy(input.PolicyArn);
        return {};
      },
      CreatePolicyVersion: async (_ctx: CallContext, input: iam.CreatePolicyVersionRequest): Promise<iam.CreatePolicyVersionResponse> => ({
        PolicyVersion: versionView(await engine.createPolicyVersion(input.PolicyArn, input.PolicyDocument, input.SetAsDefault ?? false), false),
      }),
      GetPolicyVersion: async (_ctx: CallContext, input: iam.GetPolicyVersionRequest): Promise<iam.GetPolicyVersionResponse> => ({
        PolicyVersion: versionView(await engine.getPolicyVersion(input.PolicyArn, input.VersionId)),
      }),
      ListPolicyVersions: async (_ctx: CallContext, input: iam.ListPolicyVersionsRequest): Promise<iam.ListPolicyVersionsResponse> => {
        const p = await engine.listPolicyVersions(input.PolicyArn, paging(input));
        return page(p, { Versions: p.items.map((v) => versionView(v, false)) });
      },
      DeletePolicyVersion: async (_ctx: CallContext, input: iam.DeletePolicyVersionRequest) => {
        await engine.deletePolicyVersion(input.PolicyArn, input.VersionId);
        return {};
      },
      SetDefaultPolicyVersion: async (_ctx: CallContext, input: iam.SetDefaultPolicyVersionRequest) => {
        await engine.setDefaultPolicyVersion(input.PolicyArn, input.VersionId);
        return {};
      },

      // --- attachments ---
      AttachRolePolicy: async (_ctx: CallContext, input: iam.AttachRolePolicyRequest) => {
        await engine.attachPolicy(role(input.RoleName), input.PolicyArn);
        return {};
      },
      DetachRolePolicy: async (_ctx: CallContext, input: iam.DetachRolePolicyRequest) => {
        await engine.detachPolicy(role(input.RoleName), input.PolicyArn);
        return {};
      },
      ListAttachedRolePolicies: async (_ctx: CallContext, input: iam.ListAttachedRolePoliciesRequest): Promise<iam.ListAttachedRolePoliciesResponse> => {
        const p = await engine.listAttachedPolicies(role(input.RoleName), paging(input));
        return page(p, { AttachedPolicies: p.items.map((a) => ({ PolicyName: a.policyName, PolicyArn: a.policyArn })) });
      },
      AttachUserPolicy: async (_ctx: CallContext, input: iam.AttachUserPolicyRequest) => {
        await engine.attachPolicy(user(input.UserName), input.PolicyArn);
        return {};
      },
      DetachUserPolicy: async (_ctx: CallContext, input: iam.DetachUserPolicyRequest) => {
        await engine.detachPolicy(user(input.UserName), input.PolicyArn);
        return {};
      },
      ListAttachedUserPolicies: async (_ctx: CallContext, input: iam.ListAttachedUserPoliciesRequest): Promise<iam.ListAttachedUserPoliciesResponse> => {
        const p = await engine.listAttachedPolicies(user(input.UserName), paging(input));
        return page(p, { AttachedPolicies: p.items.map((a) => ({ PolicyName: a.policyName, PolicyArn: a.policyArn })) });
      },
    },
  };
}

/**
 * The ARN each IAM operation acts on (users, roles and policies keep their path in it, so an
 * existing entity is looked up); list operations without an entity act on "*".
 */
function iamResources(engine: IamEngine): Record<string, ResourceResolver> {
  const userResource = async (ctx: CallContext, name: string, path?: string): Promise<string[]> => {
    const found = path ?? (await engine.getUser(name).then((u) => u.path, () => "/"));
    return [userArn(ctx.scope.accountId, found, name)];
  };
  const roleResource = async (ctx: CallContext, name: string, path?: string): Promise<string[]> => {
    const found = path ?? (await engine.getRole(name).then((r) => r.path, () => "/"));
    return [roleArn(ctx.scope.accountId, found, name)];
  };
  const byUser = (ctx: CallContext, input: { UserName?: string }) => userResource(ctx, userNameOf(ctx, input.UserName));
  const byRole = (ctx: CallContext, input: { RoleName: string }) => roleResource(ctx, input.RoleName);
  const byPolicy = (_ctx: CallContext, input: { PolicyArn: string }) => [input.PolicyArn];
  const out: Record<string, ResourceResolver> = {
    CreateUser: (ctx, input: iam.CreateUserRequest) => userResource(ctx, input.UserName, input.Path ?? "/"),
    CreateRole: (ctx, input: iam.CreateRoleRequest) => roleResource(ctx, input.RoleName, input.Path ?? "/"),
    CreatePolicy: (ctx, input: iam.CreatePolicyRequest) => [policyArn(ctx.scope.accountId, input.Path ?? "/", input.PolicyName)],
  };
  for (const op of ["GetUser", "DeleteUser", "CreateAccessKey", "ListAccessKeys", "UpdateAccessKey", "DeleteAccessKey", "PutUserPolicy", "GetUserPolicy",
    "DeleteUserPolicy", "ListUserPolicies", "AttachUserPolicy", "DetachUserPolicy", "ListAttachedUserPolicies"]) out[op] = byUser;
  for (const op of ["GetRole", "DeleteRole", "UpdateRole", "UpdateAssumeRolePolicy", "TagRole", "UntagRole", "ListRoleTags", "ListInstanceProfilesForRole",
    "PutRolePolicy", "GetRolePolicy", "DeleteRolePolicy", "ListRolePolicies", "AttachRolePolicy", "DetachRolePolicy", "ListAttachedRolePolicies"]) out[op] = byRole;
  for (const op of ["GetPolicy", "DeletePolicy", "CreatePolicyVersion", "GetPolicyVersion", "ListPolicyVersions", "DeletePolicyVersion", "SetDefaultPolicyVersion"]) {
    out[op] = byPolicy;
  }
  return out;
}
