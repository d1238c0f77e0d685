/**
 * ECS's one error table: Berth error codes → ECS exception names (all 400 but
 * ServerException). Model validation failures are ClientException with AWS's
 * "N validation errors detected: …" text.
 */
import type { ErrorTable } from "../errors.ts";

export const ECS_ERRORS: ErrorTable = {
  serverFault: "ServerException",
  codes: {
    Validation: { exception: "ClientException" },
    Client: { exception: "ClientException" },
    InvalidParameter: { exception: "InvalidParameterException" },
    ClusterNotFound: { exception: "ClusterNotFoundException" },
    ClusterContainsServices: { exception: "ClusterContainsServicesException" },
    ClusterContainsTasks: { exception: "ClusterContainsTasksException" },
    ClusterContainsContainerInstances: { exception: "ClusterContainsContainerInstancesException" },
    ResourceNotFound: { exception: "ResourceNotFoundException" },
    ServiceNotFound: { exception: "ServiceNotFoundException" },
    ServiceNotActive: { exception: "ServiceNotActiveException" },
    LimitExceeded: { exception: "LimitExceededException" },
    Conflict: { exception: "ConflictException" },
    AccessDenied: { exception: "AccessDeniedException" },
  },
};
