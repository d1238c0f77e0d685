/**
 * The AWS query protocol (STS, later ELBv2 and IAM): form-encoded `Action=…&Version=…`
 * parameters in a POST body (or a GET query string), XML responses wrapped in
 * `<ActionResponse><ActionResult>…</ActionResult><ResponseMetadata>…`, and errors as
 * `<ErrorResponse><Error><Type/><Code/><Message/></Error><RequestId/></ErrorResponse>`.
 */
import { BerthError, ErrorCode } from "../core/errors.ts";
import type { WireError } from "./errors.ts";
import type { ApiRequest } from "./http-types.ts";
import type { ServiceModel } from "./model/service-model.ts";
import { escapeXml, shapeToXml } from "./xml.ts";

export function queryParams(req: ApiRequest): URLSearchParams {
  const params = new URLSearchParams(req.query);
  if (req.method === "POST" && req.body.length > 0) {
    for (const [k, v] of new URLSearchParams(req.body.toString("utf8"))) params.append(k, v);
  }
  return params;
}

/** Decodes flattened parameters (`Names.member.1`, `Tags.member.1.Key`) into the input shape. */
export function decodeQueryInput(model: ServiceModel, shapeName: string, params: URLSearchParams): Record<string, unknown> {
  const flat = new Map(params);
  return (decodeShape(model, shapeName, "", flat) as Record<string, unknown> | undefined) ?? {};
}

function decodeShape(model: ServiceModel, shapeName: string, prefix: string, flat: Map<string, string>): unknown {
  const shape = model.shapes[shapeName];
  if (!shape) return undefined;
  switch (shape.type) {
    case "structure": {
      const out: Record<string, unknown> = {};
      for (const [name, member] of Object.entries(shape.members ?? {})) {
        const wireName = member.locationName ?? name;
        const key = prefix === "" ? wireName : `${prefix}.${wireName}`;
        const value = decodeShape(model, member.shape, key, flat);
        if (value !== undefined) out[name] = value;
      }
      return prefix !== "" && Object.keys(out).length === 0 ? undefined : out;
    }
    case "list": {
      const base = shape.flattened ? `${prefix}.` : `${prefix}.member.`;
      const items: unknown[] = [];
      for (let i = 1; ; i++) {
        const item = decodeShape(model, shape.member!.shape, `${base}${i}`, flat);
        if (item === undefined) break;
        items.push(item);
      }
      if (items.length === 0 && flat.has(prefix) && flat.get(prefix) === "") return [];
      return items.length > 0 ? items : undefined;
    }
    case "map": {
      const out: Record<string, unknown> = {};
      for (let i = 1; ; i++) {
        const key = flat.get(`${prefix}.entry.${i}.key`);
        if (key === undefined) break;
        out[key] = decodeShape(model, shape.value!.shape, `${prefix}.entry.${i}.value`, flat);
      }
      return Object.keys(out).length > 0 ? out : undefined;
    }
    default:
      return decodeScalar(shape.type, flat.get(prefix), prefix);
  }
}

function decodeScalar(type: string, raw: string | undefined, name: string): unknown {
  if (raw === undefined) return undefined;
  switch (type) {
    case "integer":
    case "long":
    case "double":
    case "float": {
      const n = Number(raw);
      if (raw.trim() === "" || Number.isNaN(n)) {
        throw new BerthError(ErrorCode.Serialization, `Value '${raw}' at '${name}' is not a number.`);
      }
      return n;
    }
    case "boolean":
      return raw === "true";
    default:
      return raw;
  }
}

export function queryResponse(model: ServiceModel, action: string, outputShape: string | undefined, result: object, requestId: string): string {
  const ns = model.metadata.xmlNamespace ?? `https://${model.metadata.endpointPrefix}.amazonaws.com/doc/${model.metadata.apiVersion}/`;
  const body = outputShape ? shapeToXml(model, outputShape, result) : "";
  return (
    `<${action}Response xmlns="${ns}"><${action}Result>${body}</${action}Result>` +
    `<ResponseMetadata><RequestId>${requestId}</RequestId></ResponseMetadata></${action}Response>`
  );
}

/** `namespace` is the service's (STS's differs from IAM's); IAM's when no service is known. */
export function queryErrorResponse(error: WireError, requestId: string, namespace = "https://iam.amazonaws.com/doc/2010-05-08/"): string {
  return (
    `<ErrorResponse xmlns="${namespace}"><Error><Type>${error.fault}</Type>` +
    `<Code>${escapeXml(error.exception)}</Code><Message>${escapeXml(error.message)}</Message></Error>` +
    `<RequestId>${requestId}</RequestId></ErrorResponse>`
  );
}
