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

/** The services by how a request names them: JSON ones by X-Amz-Target prefix, query ones by signing name. */
interface Routes {
  options: ApiOptions;
  byTarget: Map<string, ServiceDefinition>;
  bySigningName: Map<string, ServiceDefinition>;
}

/** One request whose signature has been verified: who sent it, in which scope, signed for which service. */
interface SignedCall {
  req: ApiRequest;
  requestId: string;
  ctx: CallContext;
  principal: Principal;
  signingService: string;
}

/** The pipeline: health check, SigV4, then the JSON or query protocol (each authorizes and answers its own errors). */
export function createApi(options: ApiOptions): Handle {
  const routes = routeServices(options);
  return async function handle(req: ApiRequest): Promise<ApiResponse> {
    const requestId = options.ids.uuid();
    if (req.method === "GET" && req.path === "/_berth/health") {
      return { status: 200, headers: { "content-type": "application/json" }, body: '{"status":"ok"}' };
    }
    const target = header(req, "x-amz-target");
    let call: SignedCall;
    try {
      call = authenticate(options, req, requestId);
    } catch (error) {
      return rejectUnauthenticated(routes, req, target, requestId, error);
    }
    if (target !== undefined) return callJson(routes, call, target);
    return callQuery(routes, call);
  };
}

function routeServices(options: ApiOptions): Routes {
  const byTarget = new Map<string, ServiceDefinition>();
  const bySigningName = new Map<string, ServiceDefinition>();
  for (const given of options.services) {
    const s = { ...given, errors: withAccessDenied(given.errors, given.model.metadata.protocol) };
    if (s.model.metadata.targetPrefix) byTarget.set(s.model.metadata.targetPrefix, s);
    bySigningName.set(s.signingName, s);
  }
  return { options, byTarget, bySigningName };
}

/** Verifies the SigV4 signature; throws SigV4Error for a missing, malformed, expired or wrong signature or an unknown key. */
function authenticate(options: ApiOptions, req: ApiRequest, requestId: string): SignedCall {
  const caller = verifySigV4(req, options.credentials, options.clock.now());
  const principal = caller.principal as Principal;
  const ctx: CallContext = { scope: { partition: "aws", region: caller.region, accountId: principal.accountId }, principalArn: principal.arn };
  return { req, requestId, ctx, principal, signingService: caller.service };
}

/** A failed authentication, answered before any service is known, in the protocol the request speaks. */
function rejectUnauthenticated(routes: Routes, req: ApiRequest, target: string | undefined, requestId: string, error: unknown): ApiResponse {
  const wire: WireError =
    error instanceof SigV4Error
      ? { exception: error.exception, status: authErrorStatus(error.exception), message: error.message, fault: "Sender" }
      : toWireError(error, EDGE_ERRORS, requestId, routes.options.logger);
  if (target !== undefined) return jsonError(wire, requestId);
  const namespace = routes.bySigningName.get(scopeService(req) ?? "")?.model.metadata.xmlNamespace;
  return queryError(queryAuthError(wire), requestId, namespace);
}

async function authorize(routes: Routes, call: SignedCall, service: ServiceDefinition, operation: string, input: unknown): Promise<void> {
  const { iam } = routes.options;
  if (iam !== undefined && !call.principal.admin) {
    await authorizeCall(iam, { service, operation, ctx: call.ctx, input, principal: call.principal, request: call.req });
  }
}

async function callJson(routes: Routes, call: SignedCall, target: string): Promise<ApiResponse> {
  // The service's own error table applies as soon as the target names a service.
  const table = routes.byTarget.get(target.slice(0, target.lastIndexOf(".")))?.errors ?? EDGE_ERRORS;
  try {
    const json = decodeJsonCall(call.req, routes.byTarget, target);
    await authorize(routes, call, json.service, json.operation, json.input);
    const output = await json.handler(call.ctx, json.input);
    return { status: 200, headers: jsonResponseHeaders(call.requestId, json.service.model.metadata.jsonVersion), body: JSON.stringify(output) };
  } catch (error) {
    return jsonError(toWireError(error, table, call.requestId, routes.options.logger), call.requestId);
  }
}

async function callQuery(routes: Routes, call: SignedCall): Promise<ApiResponse> {
  const service = routes.bySigningName.get(call.signingService);
  let table = service?.errors ?? EDGE_ERRORS;
  const namespace = service?.model.metadata.xmlNamespace;
  try {
    const params = queryParams(call.req);
    const action = params.get("Action") ?? "";
    const op = service?.model.operations[action];
    const handler = service?.operations[action];
    if (!service || !op || !handler) {
      throw new BerthError(ErrorCode.UnknownOperation, `Could not find operation ${action} for version ${params.get("Version") ?? ""}`);
    }
    table = service.errors;
    const input = op.input ? decodeQueryInput(service.model, op.input, params) : {};
    if (op.input) validateInput(service.model, op.input, input);
    await authorize(routes, call, service, action, input);
    const output = await handler(call.ctx, input);
    return {
      status: 200,
      headers: { "content-type": "text/xml", "x-amzn-requestid": call.requestId },
      body: queryResponse(service.model, action, op.output, output, call.requestId),
    };
  } catch (error) {
    return queryError(toWireError(error, table, call.requestId, routes.options.logger), call.requestId, namespace);
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
