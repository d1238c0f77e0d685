/**
 * How an AWS service plugs into the API edge: its model (for validation and dispatch),
 * its error table, and one handler per implemented operation. Handlers receive input
 * already validated against the model and return the output shape's wire form.
 */
import type { CallContext } from "../control/context.ts";
import type { ErrorTable } from "./errors.ts";
import type { ServiceModel } from "./model/service-model.ts";

// Handlers are typed per operation where they are defined; the registry only dispatches.
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type OperationHandler = (ctx: CallContext, input: any) => Promise<object>;

/**
 * The resource ARNs one call acts on, for IAM authorization (`["*"]` when an operation has
 * no resource-level permissions). May look the resource up, e.g. a secret's full ARN.
 */
export type ResourceResolver = (ctx: CallContext, input: any) => Promise<string[]> | string[];

export interface ServiceDefinition {
  /** SigV4 signing name, e.g. "ecs", "sts". */
  signingName: string;
  /** IAM action prefix when it differs from the signing name ("elasticloadbalancing"). */
  actionPrefix?: string;
  /** Per-operation resources for IAM; operations not listed act on "*". */
  resources?: Record<string, ResourceResolver>;
  model: ServiceModel;
  errors: ErrorTable;
  operations: Record<string, OperationHandler>;
}
