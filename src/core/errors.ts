/**
 * Errors are data. Every failure Berth reports to a client is a BerthError with a stable
 * `code`; each AWS service's error table (in api/) maps codes to exception names and HTTP
 * status. Nobody branches on message text.
 */

export const ErrorCode = {
  /** Request shape does not match the service model (required, enum, length, range, pattern). */
  Validation: "Validation",
  /** Request body could not be decoded into the model's types. */
  Serialization: "Serialization",
  /** A parameter is well-formed but not acceptable (ECS InvalidParameterException). */
  InvalidParameter: "InvalidParameter",
  /** The caller did something the service refuses (ECS ClientException). */
  Client: "Client",
  ClusterNotFound: "ClusterNotFound",
  ClusterContainsServices: "ClusterContainsServices",
  ClusterContainsTasks: "ClusterContainsTasks",
  ClusterContainsContainerInstances: "ClusterContainsContainerInstances",
  ResourceNotFound: "ResourceNotFound",
  ResourceAlreadyExists: "ResourceAlreadyExists",
  MalformedQuery: "MalformedQuery",
  ServiceNotFound: "ServiceNotFound",
  ServiceNotActive: "ServiceNotActive",
  LimitExceeded: "LimitExceeded",
  Conflict: "Conflict",
  AccessDenied: "AccessDenied",
  UnknownOperation: "UnknownOperation",
  /** A conditional store write lost a race; callers retry with fresh state. */
  StaleVersion: "StaleVersion",
  Internal: "Internal",
} as const;
export type ErrorCode = (typeof ErrorCode)[keyof typeof ErrorCode];

export interface BerthErrorOptions {
  retryable?: boolean;
  cause?: unknown;
}

export class BerthError extends Error {
  readonly code: ErrorCode;
  readonly retryable: boolean;

  constructor(code: ErrorCode, message: string, options: BerthErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = "BerthError";
    this.code = code;
    this.retryable = options.retryable ?? false;
  }
}

export function isBerthError(value: unknown): value is BerthError {
  return value instanceof BerthError;
}

/** Shorthands for the codes raised most often. */
export const invalidParameter = (message: string): BerthError =>
  new BerthError(ErrorCode.InvalidParameter, message);
export const clientError = (message: string): BerthError => new BerthError(ErrorCode.Client, message);
