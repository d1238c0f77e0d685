/**
 * A registered task definition revision as Berth keeps it. `document` holds the fields the
 * caller registered, exactly as given (Terraform diffs against them), plus the normalized
 * task-level cpu/memory; status, times and computed fields live beside it.
 */

export const TaskDefinitionStatus = {
  Active: "ACTIVE",
  Inactive: "INACTIVE",
  DeleteInProgress: "DELETE_IN_PROGRESS",
} as const;
export type TaskDefinitionStatus = (typeof TaskDefinitionStatus)[keyof typeof TaskDefinitionStatus];

export interface TaskDefinitionRecord {
  region: string;
  family: string;
  revision: number;
  taskDefinitionArn: string;
  status: TaskDefinitionStatus;
  /** Registered fields (minus tags), with cpu/memory normalized to integer strings. */
  document: Record<string, unknown>;
  compatibilities: string[];
  requiresAttributes: { name: string }[];
  registeredAt: number;
  registeredBy: string;
  deregisteredAt?: number;
}
