/**
 * Authorization at the edge. After SigV4 and after the input is decoded and validated, every
 * call by a principal other than the admin is put to the IamEngine as the IAM action
 * `<actionPrefix or signing name>:<Operation>` on the operation's resources (the service's
 * resolver, else "*"), with the request's global condition keys. The admin (identity.json's
 * key) is never checked and costs no lookup. A refusal is the service's AccessDenied error.
 */
import type { CallContext } from "../control/context.ts";
import type { IamEngine } from "../domain/iam.ts";
import type { ErrorTable } from "./errors.ts";
import type { ApiRequest } from "./http-types.ts";
import type { Principal } from "./identity.ts";
import type { ServiceDefinition } from "./service.ts";

/** Actions AWS does not check against identity policies, or that decide for themselves. */
const SELF_AUTHORIZED = new Set([
  "sts:GetCallerIdentity", // AWS: no permission is required
  "sts:AssumeRole", // the engine weighs the trust policy and the caller's policies together
]);

export interface EdgeCall {
  service: ServiceDefinition;
  operation: string;
  ctx: CallContext;
  input: unknown;
  principal: Principal;
  request: ApiRequest;
}

export function actionOf(service: ServiceDefinition, operation: string): string {
  return `${service.actionPrefix ?? service.signingName}:${operation}`;
}

/** Resolves when the call may proceed; throws BerthError(AccessDenied) with AWS's sentence. */
export async function authorizeCall(iam: IamEngine, call: EdgeCall): Promise<void> {
  if (call.principal.admin) return;
  const action = actionOf(call.service, call.operation);
  if (SELF_AUTHORIZED.has(action)) return;
  const resolver = call.service.resources?.[call.operation];
  const resources = resolver ? await resolver(call.ctx, call.input) : ["*"];
  await iam.authorize({ principalArn: call.principal.arn, action, resources, context: requestContext(call) });
}

/** The global condition keys the edge knows; the engine adds the principal's own. */
function requestContext(call: EdgeCall): Record<string, string> {
  const context: Record<string, string> = {
    "aws:RequestedRegion": call.ctx.scope.region,
    // Berth's listener speaks plain HTTP; TLS, when there is any, ends before it.
    "aws:SecureTransport": "false",
  };
  const ip = call.request.remoteAddress;
  if (ip !== undefined) context["aws:SourceIp"] = ip.startsWith("::ffff:") && ip.includes(".") ? ip.slice(7) : ip;
  return context;
}

/** A service whose table lacks AccessDenied still refuses in its protocol's usual way. */
export function withAccessDenied(table: ErrorTable, protocol: string): ErrorTable {
  if (table.codes.AccessDenied) return table;
  const accessDenied = protocol === "query" ? { exception: "AccessDenied", status: 403 } : { exception: "AccessDeniedException" };
  return { ...table, codes: { ...table.codes, AccessDenied: accessDenied } };
}
