/**
 * The compact service-model format: what scripts/generate-models.ts keeps of a botocore
 * `service-2.json` (documentation and deprecation notes dropped). The protocol codecs and the
 * request validator read these values; nothing here performs I/O or knows any one service.
 */

export type Protocol = "json" | "rest-json" | "rest-xml" | "query" | "ec2";

export interface ServiceMetadata {
  apiVersion: string;
  protocol: Protocol;
  /** JSON protocols only: "1.0" or "1.1". */
  jsonVersion?: string;
  /** JSON protocol: the `X-Amz-Target` prefix, as in `AmazonEC2ContainerServiceV20141113.ListClusters`. */
  targetPrefix?: string;
  /** SigV4 service name; botocore defaults it to the endpoint prefix when the model omits it. */
  signingName: string;
  endpointPrefix: string;
  serviceId: string;
  /** Query and XML protocols: the namespace of response documents. */
  xmlNamespace?: string;
}

export interface HttpBinding {
  method: string;
  requestUri: string;
  responseCode?: number;
}

export interface OperationModel {
  input?: string;
  output?: string;
  /** Query protocol: the element wrapping the output, e.g. `AssumeRoleResult`. */
  resultWrapper?: string;
  /** Names of the exception shapes the operation may return. */
  errors?: string[];
  http?: HttpBinding;
}

export interface XmlNamespace {
  uri: string;
  prefix?: string;
}

/** A reference from a structure member, list element or map key/value to a shape. */
export interface MemberModel {
  shape: string;
  /** REST protocols: where the member travels ("header", "uri", "querystring", ...). */
  location?: string;
  locationName?: string;
  queryName?: string;
  flattened?: boolean;
  xmlNamespace?: XmlNamespace;
  xmlAttribute?: boolean;
  idempotencyToken?: boolean;
  jsonvalue?: boolean;
  hostLabel?: boolean;
  timestampFormat?: string;
  box?: boolean;
  sensitive?: boolean;
  eventpayload?: boolean;
  streaming?: boolean;
}

export interface StructureShape {
  type: "structure";
  members: Record<string, MemberModel>;
  required?: string[];
  sensitive?: boolean;
  /** A free-form JSON value (Smithy document) modelled as a structure. */
  document?: boolean;
  union?: boolean;
  exception?: boolean;
  fault?: boolean;
  /** Query protocol: the error code and status when it differs from the shape name. */
  error?: { code?: string; httpStatusCode?: number; senderFault?: boolean };
  retryable?: { throttling?: boolean };
  payload?: string;
  locationName?: string;
  xmlNamespace?: XmlNamespace;
  xmlOrder?: string[];
  event?: boolean;
  eventstream?: boolean;
  wrapper?: boolean;
}

export interface ListShape {
  type: "list";
  member: MemberModel;
  min?: number;
  max?: number;
  sensitive?: boolean;
  flattened?: boolean;
  locationName?: string;
}

export interface MapShape {
  type: "map";
  key: MemberModel;
  value: MemberModel;
  min?: number;
  max?: number;
  sensitive?: boolean;
  flattened?: boolean;
  locationName?: string;
}

export interface StringShape {
  type: "string";
  enum?: string[];
  min?: number;
  max?: number;
  pattern?: string;
  sensitive?: boolean;
}

export interface NumberShape {
  type: "integer" | "long" | "double" | "float";
  min?: number;
  max?: number;
  box?: boolean;
  sensitive?: boolean;
}

export interface BooleanShape {
  type: "boolean";
  box?: boolean;
  sensitive?: boolean;
}

export interface TimestampShape {
  type: "timestamp";
  timestampFormat?: string;
  sensitive?: boolean;
}

export interface BlobShape {
  type: "blob";
  min?: number;
  max?: number;
  sensitive?: boolean;
  streaming?: boolean;
  requiresLength?: boolean;
}

export interface DocumentShape {
  type: "document";
  sensitive?: boolean;
}

export type ShapeModel =
  | StructureShape
  | ListShape
  | MapShape
  | StringShape
  | NumberShape
  | BooleanShape
  | TimestampShape
  | BlobShape
  | DocumentShape;

export type ShapeType = ShapeModel["type"];

export interface ServiceModel {
  metadata: ServiceMetadata;
  operations: Record<string, OperationModel>;
  shapes: Record<string, ShapeModel>;
}
