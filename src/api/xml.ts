/**
 * XML for query-protocol responses (STS, later ELBv2 and IAM), serialized by walking the
 * output shape of the service model: structures by member name (or locationName), lists as
 * `<member>` elements, timestamps as ISO 8601.
 */
import type { ServiceModel } from "./model/service-model.ts";

export function escapeXml(text: string): string {
  return text.replace(/[<>&'"]/g, (c) => `&${({ "<": "lt", ">": "gt", "&": "amp", "'": "apos", '"': "quot" } as const)[c as "<"]};`);
}

export function shapeToXml(model: ServiceModel, shapeName: string, value: unknown): string {
  const shape = model.shapes[shapeName];
  if (value === undefined || value === null || !shape) return "";
  switch (shape.type) {
    case "structure": {
      const obj = value as Record<string, unknown>;
      let out = "";
      for (const [name, member] of Object.entries(shape.members ?? {})) {
        if (obj[name] === undefined || obj[name] === null) continue;
        const tag = member.locationName ?? name;
        out += `<${tag}>${shapeToXml(model, member.shape, obj[name])}</${tag}>`;
      }
      return out;
    }
    case "list": {
      const tag = shape.member?.locationName ?? "member";
      return (value as unknown[]).map((v) => `<${tag}>${shapeToXml(model, shape.member!.shape, v)}</${tag}>`).join("");
    }
    case "map": {
      return Object.entries(value as Record<string, unknown>)
        .map(([k, v]) => `<entry><key>${escapeXml(k)}</key><value>${shapeToXml(model, shape.value!.shape, v)}</value></entry>`)
        .join("");
    }
    case "timestamp":
      return escapeXml(new Date(typeof value === "number" ? value * 1000 : String(value)).toISOString());
    default:
      return escapeXml(String(value));
  }
}
