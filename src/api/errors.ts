/**
 * Turning BerthErrors into AWS errors. Each service has exactly one ErrorTable mapping
 * domain codes to its exception names and HTTP status; an unmapped code or a non-Berth
 * error is that service's server fault (ServerException for ECS) with the request id.
 */
import { type ErrorCode, isBerthError } from "../core/errors.ts";
import type { Logger } from "../core/logger.ts";

export interface WireError {
  exception: string;
  status: number;
  message: string;
  /** "Sender" or "Receiver", for query-protocol services. */
  fault: "Sender" | "Receiver";
}

export interface ErrorTable {
  codes: Partial<Record<ErrorCode, { exception: string; status?: number }>>;
  /** The service's own 5xx exception name. */
  serverFault: string;
}

/** Errors every protocol raises before a service is involved. */
export const PROTOCOL_ERRORS: ErrorTable["codes"] = {
  Serialization: { exception: "SerializationException" },
  UnknownOperation: { exception: "UnknownOperationException" },
};

export function toWireError(error: unknown, table: ErrorTable, requestId: string, logger: Logger): WireError {
  if (isBerthError(error)) {
    const mapped = table.codes[error.code] ?? PROTOCOL_ERRORS[error.code];
    if (mapped) {
      const status = mapped.status ?? 400;
      return { exception: mapped.exception, status, message: error.message, fault: status >= 500 ? "Receiver" : "Sender" };
    }
  }
  logger.error("request failed", { requestId, error: error instanceof Error ? error.stack ?? error.message : String(error) });
  return {
    exception: table.serverFault,
    status: 500,
    message: `Internal error. Request id: ${requestId}`,
    fault: "Receiver",
  };
}
