/**
 * The API edge as one function: `handle(request) → response`. Authenticates every request
 * with SigV4, routes JSON services by X-Amz-Target and query services by the credential
 * scope's service, and turns every failure into that protocol's AWS error. No socket here:
 * http-server.ts adapts node:http, and tests call handle() directly.
 */
import type { Clock } from "../core/clock.ts";
import { BerthError, ErrorCode } from "../core/errors.ts";
import type { IdSource } from "../core/ids.ts";
import type { Logger } from "../core/logger.ts";
import type { CallContext } from "../control/context.ts";
import type { IamEngine } from "../domain/iam.ts";
import { authorizeCall, withAccessDenied } from "./authorize.ts";
import { type ErrorTable, type WireError, toWireError } from "./errors.ts";
import { type ApiRequest, type ApiResponse, header } from "./http-types.ts";
import type { Principal } from "./identity.ts";
import { decodeJsonCall, jsonResponseHeaders } from "./json-protocol.ts";
import { validateInput } from "./model/validate.ts";
import { decodeQueryInput, queryErrorResponse, queryParams, queryResponse } from "./query-protocol.ts";
import type { ServiceDefinition } from "./service.ts";
import { type CredentialLookup, SigV4Error, authErrorStatus, verifySigV4 } from "./sigv4.ts";

export interface ApiOptions {
  services: ServiceDefinition[];
  credentials: CredentialLookup;
  clock: Clock;
  ids: IdSource;
  logger: Logger;
  /** Authorizes every call by a non-admin principal; without it only the admin key exists. */
  iam?: IamEngine;
}

export type Handle = (req: ApiRequest) => Promise<ApiResponse>;

/** Errors raised before any service is known (auth, routing) use this table. */
const EDGE_ERRORS: ErrorTable = { codes: {}, serverFault: "InternalFailure" };

export function createApi(options: ApiOptions): Handle {
  const byTarget = new Map<string, ServiceDefinition>();
  const bySigningName = new Map<string, ServiceDefinition>();
  for (const given of options.services) {
    const s = { ...given, errors: withAccessDenied(given.errors, given.model.metadata.protocol) };
    if (s.model.metadata.targetPrefix) byTarget.set(s.model.metadata.targetPrefix, s);
    bySigningName.set(s.signingName, s);
  }

  return async function handle(req: ApiRequest): Promise<ApiResponse> {
    const requestId = options.ids.uuid();
    if (req.method === "GET" && req.path === "/_berth/health") {
      return { status: 200, headers: { "content-type": "application/json" }, body: '{"status":"ok"}' };
    }
    const target = header(req, "x-amz-target");
    const respondError = (error: WireError): ApiResponse =>
      target === undefined
        ? queryError(queryAuthError(error), requestId, bySigningName.get(scopeService(req) ?? "")?.model.metadata.xmlNamespace)
        : jsonError(error, requestId);

    let ctx: CallContext;
    let signingService: string;
    let principal: Principal;
    try {
      const caller = verifySigV4(req, options.credentials, options.clock.now());
      principal = caller.principal as Principal;
      signingService = caller.service;
      ctx = { scope: { partition: "aws", region: caller.region, accountId: principal.accountId }, principalArn: principal.arn };
    } catch (error) {
      if (error instanceof SigV4Error) {
        return respondError({ exception: error.exception, status: authErrorStatus(error.exception), message: error.message, fault: "Sender" });
      }
      return respondError(toWireError(error, EDGE_ERRORS, requestId, options.logger));
    }

    if (target !== undefined) return callJson(req, target, ctx, principal, requestId);
    return callQuery(req, signingService, ctx, principal, requestId);
  };

  async function authorize(service: ServiceDefinition, operation: string, ctx: CallContext, input: unknown, principal: Principal, req: ApiRequest): Promise<void> {
    if (options.iam !== undefined && !principal.admin) {
      await authorizeCall(options.iam, { service, operation, ctx, input, principal, request: req });
    }
  }

  async function callJson(req: ApiRequest, target: string, ctx: CallContext, principal: Principal, requestId: string): Promise<ApiResponse> {
    // The service's own error table applies as soon as the target names a service.
    const table = byTarget.get(target.slice(0, target.lastIndexOf(".")))?.errors ?? EDGE_ERRORS;
    try {
      const call = decodeJsonCall(req, byTarget, target);
      await authorize(call.service, call.operation, ctx, call.input, principal, req);
      const output = await call.handler(ctx, call.input);
      return { status: 200, headers: jsonResponseHeaders(requestId, call.service.model.metadata.jsonVersion), body: JSON.stringify(output) };
    } catch (error) {
      return jsonError(toWireError(error, table, requestId, options.logger), requestId);
    }
  }

  async function callQuery(req: ApiRequest, signingService: string, ctx: CallContext, principal: Principal, requestId: string): Promise<ApiResponse> {
    const service = bySigningName.get(signingService);
    let table = service?.errors ?? EDGE_ERRORS;
    const namespace = service?.model.metadata.xmlNamespace;
    try {
      const params = queryParams(req);
      const action = params.get("Action") ?? "";
      const op = service?.model.operations[action];
      const handler = service?.operations[action];
      if (!service || !op || !handler) {
        throw new BerthError(ErrorCode.UnknownOperation, `Could not find operation ${action} for version ${params.get("Version") ?? ""}`);
      }
      table = service.errors;
      const input = op.input ? decodeQueryInput(service.model, op.input, params) : {};
      if (op.input) validateInput(service.model, op.input, input);
      await authorize(service, action, ctx, input, principal, req);
      const output = await handler(ctx, input);
      return {
        status: 200,
        headers: { "content-type": "text/xml", "x-amzn-requestid": requestId },
        body: queryResponse(service.model, action, op.output, output, requestId),
      };
    } catch (error) {
      return queryError(toWireError(error, table, requestId, options.logger), requestId, namespace);
    }
  }
}

function jsonError(error: WireError, requestId: string): ApiResponse {
  return {
    status: error.status,
    headers: { ...jsonResponseHeaders(requestId, "1.1"), "x-amzn-errortype": error.exception },
    body: JSON.stringify({ __type: error.exception, message: error.message }),
  };
}

function queryError(error: WireError, requestId: string, namespace?: string): ApiResponse {
  return {
    status: error.status,
    headers: { "content-type": "text/xml", "x-amzn-requestid": requestId },
    body: queryErrorResponse(error, requestId, namespace),
  };
}

/** Query services (STS, IAM) name the credential failures differently from JSON services. */
const QUERY_AUTH_ERRORS: Record<string, { exception: string; status: number }> = {
  UnrecognizedClientException: { exception: "InvalidClientTokenId", status: 403 },
  ExpiredTokenException: { exception: "ExpiredToken", status: 403 },
};

/** The service named in the credential scope, read before the signature is trusted (for error namespaces only). */
function scopeService(req: ApiRequest): string | undefined {
  const credential = /Credential=([^,&\s]+)/.exec(`${header(req, "authorization") ?? ""}&${req.query}`)?.[1];
  return credential?.split(/\/|%2F/i)[3];
}

function queryAuthError(error: WireError): WireError {
  const renamed = QUERY_AUTH_ERRORS[error.exception];
  return renamed ? { ...error, ...renamed } : error;
}
