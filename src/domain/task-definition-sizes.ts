/**
 * Task-level cpu and memory: the string forms RegisterTaskDefinition accepts ("1 vCPU", "2GB",
 * "512") and the Fargate size table (shared/reference/ecs.md §2.7). Pure: no I/O.
 */

import { clientError } from "../core/errors.ts";

export const INVALID_TASK_CPU = "Invalid 'cpu' setting for task.";
export const INVALID_TASK_MEMORY = "Invalid 'memory' setting for task.";

/** EC2/EXTERNAL task cpu range from the model's TaskDefinition.cpu documentation. */
const MIN_TASK_CPU = 128;
const MAX_TASK_CPU = 196_608;
const CPU_UNITS_PER_VCPU = 1024;
const MIB_PER_GB = 1024;

const INTEGER = /^\d+$/;
const VCPU = /^(\d+(?:\.\d+)?|\.\d+)\s*vcpu$/i;
const GB = /^(\d+(?:\.\d+)?|\.\d+)\s*gb$/i;

/** A plain integer, or a decimal with `unit` scaled to a whole number; undefined otherwise. */
function parseQuantity(value: string, unit: RegExp, scale: number): number | undefined {
  const text = value.trim();
  const match = unit.exec(text);
  const amount = INTEGER.test(text) ? Number(text) : match ? Number(match[1]) * scale : NaN;
  return Number.isSafeInteger(amount) ? amount : undefined;
}

/** CPU units from "256", "1024", "1 vCPU", "0.5 vcpu". */
export function parseTaskCpu(value: string): number {
  const units = parseQuantity(value, VCPU, CPU_UNITS_PER_VCPU);
  if (units === undefined || units < MIN_TASK_CPU || units > MAX_TASK_CPU) {
    throw clientError(INVALID_TASK_CPU);
  }
  return units;
}

/** MiB from "512", "1GB", "1 GB", "0.5gb". */
export function parseTaskMemory(value: string): number {
  const mib = parseQuantity(value, GB, MIB_PER_GB);
  if (mib === undefined || mib <= 0) throw clientError(INVALID_TASK_MEMORY);
  return mib;
}

function steps(min: number, max: number, step: number): number[] {
  const values: number[] = [];
  for (let value = min; value <= max; value += step) values.push(value);
  return values;
}

/** Valid memory (MiB) for each Fargate cpu size (units). */
const FARGATE_MEMORY_BY_CPU: ReadonlyMap<number, ReadonlySet<number>> = new Map([
  [256, new Set([512, 1024, 2048])],
  [512, new Set(steps(1024, 4096, 1024))],
  [1024, new Set(steps(2048, 8192, 1024))],
  [2048, new Set(steps(4096, 16_384, 1024))],
  [4096, new Set(steps(8192, 30_720, 1024))],
  [8192, new Set(steps(16_384, 61_440, 4096))],
  [16_384, new Set(steps(32_768, 122_880, 8192))],
]);

/** Whether Fargate offers this task size (cpu units, memory MiB). */
export function isFargateSize(cpu: number, memory: number): boolean {
  return FARGATE_MEMORY_BY_CPU.get(cpu)?.has(memory) ?? false;
}
