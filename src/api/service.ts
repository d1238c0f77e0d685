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

export interface ServiceDefinition {
  /** SigV4 signing name, e.g. "ecs", "sts". */
  signingName: string;
  model: ServiceModel;
  errors: ErrorTable;
  operations: Record<string, OperationHandler>;
}
