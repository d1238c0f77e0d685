/**
 * AWS JSON 1.0/1.1: `POST /` with `X-Amz-Target: <targetPrefix>.<Operation>` and a JSON body.
 * Decodes and validates the body against the service model, calls the handler, encodes
 * the result. Errors are `{"__type": "<Exception>", "message": "..."}`.
 */
import { BerthError, ErrorCode } from "../core/errors.ts";
import type { ApiRequest } from "./http-types.ts";
import { header } from "./http-types.ts";
import { validateInput } from "./model/validate.ts";
import type { OperationHandler, ServiceDefinition } from "./service.ts";

const JSON_CONTENT_TYPES = new Set(["application/x-amz-json-1.1", "application/x-amz-json-1.0", "application/json"]);

export interface JsonCall {
  service: ServiceDefinition;
  operation: string;
  handler: OperationHandler;
  input: unknown;
}

/** Resolves the target and decodes the body; throws BerthErrors for anything malformed. */
export function decodeJsonCall(req: ApiRequest, services: ReadonlyMap<string, ServiceDefinition>, target: string): JsonCall {
  const dot = target.lastIndexOf(".");
  const service = dot > 0 ? services.get(target.slice(0, dot)) : undefined;
  const operation = target.slice(dot + 1);
  if (!service) throw new BerthError(ErrorCode.UnknownOperation, `Unknown operation: ${target}`);
  const op = service.model.operations[operation];
  if (!op) throw new BerthError(ErrorCode.UnknownOperation, `Unknown operation: ${operation}`);
  const handler = service.operations[operation];
  if (!handler) {
    throw new BerthError(ErrorCode.UnknownOperation, `Berth does not implement ${service.model.metadata.serviceId} ${operation} yet.`);
  }
  if (req.method !== "POST") throw new BerthError(ErrorCode.Serialization, `${req.method} is not supported; AWS JSON requests use POST.`);
  const contentType = (header(req, "content-type") ?? "").split(";")[0]!.trim().toLowerCase();
  if (!JSON_CONTENT_TYPES.has(contentType)) {
    throw new BerthError(
      ErrorCode.Serialization,
      `Unsupported content type '${contentType}'; expected application/x-amz-json-${service.model.metadata.jsonVersion ?? "1.1"}.`,
    );
  }
  const input = parseBody(req.body);
  if (op.input) validateInput(service.model, op.input, input);
  return { service, operation, handler, input };
}

function parseBody(body: Buffer): Record<string, unknown> {
  if (body.length === 0) return {};
  let parsed: unknown;
  try {
    parsed = JSON.parse(body.toString("utf8"));
  } catch {
    throw new BerthError(ErrorCode.Serialization, "The request body is not valid JSON.");
  }
  if (parsed === null || typeof parsed !== "object" || Array.isArray(parsed)) {
    throw new BerthError(ErrorCode.Serialization, "The request body must be a JSON object.");
  }
  return parsed as Record<string, unknown>;
}

export function jsonResponseHeaders(requestId: string, jsonVersion: string | undefined): Record<string, string> {
  return {
    "content-type": `application/x-amz-json-${jsonVersion ?? "1.1"}`,
    "x-amzn-requestid": requestId,
  };
}
