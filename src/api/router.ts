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
import { type ErrorTable, type WireError, toWireError } from "./errors.ts";
import { type ApiRequest, type ApiResponse, header } from "./http-types.ts";
import type { Principal } from "./identity.ts";
import { decodeJsonCall, jsonResponseHeaders } from "./json-protocol.ts";
import { decodeQueryInput, queryErrorResponse, queryParams, queryResponse } from "./query-protocol.ts";
import type { ServiceDefinition } from "./service.ts";
import { type CredentialLookup, SigV4Error, authErrorStatus, verifySigV4 } from "./sigv4.ts";

export interface ApiOptions {
  services: ServiceDefinition[];
  credentials: CredentialLookup;
  clock: Clock;
  ids: IdSource;
  logger: Logger;
}

export type Handle = (req: ApiRequest) => Promise<ApiResponse>;

/** Errors raised before any service is known (auth, routing) use this table. */
const EDGE_ERRORS: ErrorTable = { codes: {}, serverFault: "InternalFailure" };

export function createApi(options: ApiOptions): Handle {
  const byTarget = new Map<string, ServiceDefinition>();
  const bySigningName = new Map<string, ServiceDefinition>();
  for (const s of options.services) {
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
      target === undefined ? queryError(error, requestId) : jsonError(error, requestId);

    let ctx: CallContext;
    let signingService: string;
    try {
      const caller = verifySigV4(req, options.credentials, options.clock.now());
      const principal = caller.principal as Principal;
      signingService = caller.service;
      ctx = { scope: { partition: "aws", region: caller.region, accountId: principal.accountId }, principalArn: principal.arn };
    } catch (error) {
      if (error instanceof SigV4Error) {
        return respondError({ exception: error.exception, status: authErrorStatus(error.exception), message: error.message, fault: "Sender" });
      }
      return respondError(toWireError(error, EDGE_ERRORS, requestId, options.logger));
    }

    if (target !== undefined) return callJson(req, target, ctx, requestId);
    return callQuery(req, signingService, ctx, requestId);
  };

  async function callJson(req: ApiRequest, target: string, ctx: CallContext, requestId: string): Promise<ApiResponse> {
    // The service's own error table applies as soon as the target names a service.
    const table = byTarget.get(target.slice(0, target.lastIndexOf(".")))?.errors ?? EDGE_ERRORS;
    try {
      const call = decodeJsonCall(req, byTarget, target);
      const output = await call.handler(ctx, call.input);
      return { status: 200, headers: jsonResponseHeaders(requestId, call.service.model.metadata.jsonVersion), body: JSON.stringify(output) };
    } catch (error) {
      return jsonError(toWireError(error, table, requestId, options.logger), requestId);
    }
  }

  async function callQuery(req: ApiRequest, signingService: string, ctx: CallContext, requestId: string): Promise<ApiResponse> {
    const service = bySigningName.get(signingService);
    let table = service?.errors ?? EDGE_ERRORS;
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
      const output = await handler(ctx, input);
      return {
        status: 200,
        headers: { "content-type": "text/xml", "x-amzn-requestid": requestId },
        body: queryResponse(service.model, action, op.output, output, requestId),
      };
    } catch (error) {
      return queryError(toWireError(error, table, requestId, options.logger), requestId);
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

function queryError(error: WireError, requestId: string): ApiResponse {
  return { status: error.status, headers: { "content-type": "text/xml", "x-amzn-requestid": requestId }, body: queryErrorResponse(error, requestId) };
}
