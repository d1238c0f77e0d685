/**
 * STS over the query protocol: GetCallerIdentity (the credential actions and Terraform call
 * it before anything else; it names users, the admin and role sessions) and AssumeRole, whose
 * trust-policy check and temporary credentials belong to the IamEngine.
 */
import { BerthError, ErrorCode } from "../../core/errors.ts";
import type { CallContext } from "../../control/context.ts";
import type { IamEngine } from "../../domain/iam.ts";
import type { ErrorTable } from "../errors.ts";
import type { Principal } from "../identity.ts";
import { stsModel } from "../models/sts.model.ts";
import type { AssumeRoleRequest, AssumeRoleResponse, GetCallerIdentityResponse } from "../models/sts.types.ts";
import type { ServiceDefinition } from "../service.ts";

const STS_ERRORS: ErrorTable = {
  serverFault: "InternalFailure",
  codes: {
    Validation: { exception: "ValidationError" },
    InvalidParameter: { exception: "InvalidParameterValue" },
    AccessDenied: { exception: "AccessDenied", status: 403 },
    MalformedPolicyDocument: { exception: "MalformedPolicyDocument" },
  },
};

/**
 * `principalOf` resolves the caller's ARN to its principal (user id and account); `iam`, when
 * given, serves AssumeRole.
 */
export function stsService(principalOf: (arn: string) => Principal | undefined, iam?: IamEngine): ServiceDefinition {
  const operations: ServiceDefinition["operations"] = {
    GetCallerIdentity: async (ctx: CallContext): Promise<GetCallerIdentityResponse> => {
      const principal = principalOf(ctx.principalArn);
      return { UserId: principal?.userId ?? ctx.scope.accountId, Account: ctx.scope.accountId, Arn: ctx.principalArn };
    },
  };
  if (iam) {
    operations["AssumeRole"] = async (ctx: CallContext, input: AssumeRoleRequest): Promise<AssumeRoleResponse> => {
      // Session policies would narrow the session; ignoring them would widen it, so refuse.
      if (input.Policy !== undefined || input.PolicyArns !== undefined) {
        throw new BerthError(ErrorCode.Validation, "Berth does not support session policies (Policy, PolicyArns) in AssumeRole.");
      }
      const credentials = await iam.assumeRole(ctx.principalArn, {
        roleArn: input.RoleArn,
        roleSessionName: input.RoleSessionName,
        ...(input.DurationSeconds === undefined ? {} : { durationSeconds: input.DurationSeconds }),
        ...(input.ExternalId === undefined ? {} : { context: { "sts:ExternalId": input.ExternalId } }),
      });
      return {
        Credentials: {
          AccessKeyId: credentials.accessKeyId,
          SecretAccessKey: credentials.secretAccessKey,
          SessionToken: credentials.sessionToken,
          Expiration: Math.floor(credentials.expiration.getTime() / 1000),
        },
        AssumedRoleUser: { AssumedRoleId: credentials.assumedRoleId, Arn: credentials.assumedRoleArn },
      };
    };
  }
  return { signingName: "sts", model: stsModel, errors: STS_ERRORS, operations };
}
