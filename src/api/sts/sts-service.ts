/**
 * STS over the query protocol. GetCallerIdentity first: the credential actions and
 * Terraform call it before anything else. AssumeRole arrives with IAM (a later issue).
 */
import type { CallContext } from "../../control/context.ts";
import type { ErrorTable } from "../errors.ts";
import type { Principal } from "../identity.ts";
import { stsModel } from "../models/sts.model.ts";
import type { GetCallerIdentityResponse } from "../models/sts.types.ts";
import type { ServiceDefinition } from "../service.ts";

const STS_ERRORS: ErrorTable = {
  serverFault: "InternalFailure",
  codes: {
    Validation: { exception: "ValidationError" },
    InvalidParameter: { exception: "InvalidParameterValue" },
    AccessDenied: { exception: "AccessDenied", status: 403 },
  },
};

/** `principalOf` resolves the caller's ARN to its principal (user id and account). */
export function stsService(principalOf: (arn: string) => Principal | undefined): ServiceDefinition {
  return {
    signingName: "sts",
    model: stsModel,
    errors: STS_ERRORS,
    operations: {
      GetCallerIdentity: async (ctx: CallContext): Promise<GetCallerIdentityResponse> => {
        const principal = principalOf(ctx.principalArn);
        return { UserId: principal?.userId ?? ctx.scope.accountId, Account: ctx.scope.accountId, Arn: ctx.principalArn };
      },
    },
  };
}
