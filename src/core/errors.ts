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
  // --- ELBv2 and ACM (src/api/elbv2, src/api/acm) ---
  LoadBalancerNotFound: "LoadBalancerNotFound",
  TargetGroupNotFound: "TargetGroupNotFound",
  ListenerNotFound: "ListenerNotFound",
  RuleNotFound: "RuleNotFound",
  DuplicateLoadBalancerName: "DuplicateLoadBalancerName",
  DuplicateTargetGroupName: "DuplicateTargetGroupName",
  DuplicateListener: "DuplicateListener",
  DuplicateTagKeys: "DuplicateTagKeys",
  PriorityInUse: "PriorityInUse",
  InvalidTarget: "InvalidTarget",
  InvalidConfigurationRequest: "InvalidConfigurationRequest",
  InvalidLoadBalancerAction: "InvalidLoadBalancerAction",
  IncompatibleProtocols: "IncompatibleProtocols",
  UnsupportedProtocol: "UnsupportedProtocol",
  TargetGroupAssociationLimit: "TargetGroupAssociationLimit",
  OperationNotPermitted: "OperationNotPermitted",
  SslPolicyNotFound: "SslPolicyNotFound",
  CertificateNotFound: "CertificateNotFound",
  TooManyTargets: "TooManyTargets",
  TooManyTags: "TooManyTags",
  TooManyCertificates: "TooManyCertificates",
  TooManyRules: "TooManyRules",
  TooManyListeners: "TooManyListeners",
  TooManyActions: "TooManyActions",
  /** A resource another one still uses (ELBv2 ResourceInUse, ACM ResourceInUseException). */
  ResourceInUse: "ResourceInUse",
  /** ACM: an ARN that is not a certificate ARN. */
  InvalidArn: "InvalidArn",
  // --- Secrets Manager and SSM Parameter Store (src/api/secretsmanager, src/api/ssm) ---
  /** Secrets Manager InvalidRequestException: not allowed in the resource's current state. */
  InvalidRequest: "InvalidRequest",
  /** A stored value could not be decrypted (wrong master key, tampered row). */
  DecryptionFailure: "DecryptionFailure",
  InvalidNextToken: "InvalidNextToken",
  ParameterNotFound: "ParameterNotFound",
  ParameterAlreadyExists: "ParameterAlreadyExists",
  ParameterVersionNotFound: "ParameterVersionNotFound",
  ParameterPatternMismatch: "ParameterPatternMismatch",
  ParameterMaxVersionLimitExceeded: "ParameterMaxVersionLimitExceeded",
  ParameterVersionLabelLimitExceeded: "ParameterVersionLabelLimitExceeded",
  HierarchyLevelLimitExceeded: "HierarchyLevelLimitExceeded",
  HierarchyTypeMismatch: "HierarchyTypeMismatch",
  InvalidAllowedPattern: "InvalidAllowedPattern",
  InvalidFilterKey: "InvalidFilterKey",
  InvalidFilterOption: "InvalidFilterOption",
  InvalidFilterValue: "InvalidFilterValue",
  InvalidResourceId: "InvalidResourceId",
  InvalidResourceType: "InvalidResourceType",
  // TooManyTags: shared with ELBv2 above.
  // --- IAM and STS (src/api/iam, src/api/sts, src/iam) ---
  /** A policy document IAM refuses (IAM/STS MalformedPolicyDocument). */
  MalformedPolicyDocument: "MalformedPolicyDocument",
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
