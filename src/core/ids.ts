/**
 * Identifier sources. Like the clock, randomness is passed in so that tests can make
 * ids deterministic.
 */
import { randomBytes, randomUUID } from "node:crypto";

export interface IdSource {
  /** A random UUID v4 (container ARNs, request ids). */
  uuid(): string;
  /** 32 lowercase hex characters (ECS task ids, container instance ids). */
  hex32(): string;
}

export const randomIds: IdSource = {
  uuid: () => randomUUID(),
  hex32: () => randomBytes(16).toString("hex"),
};

/** Deterministic ids for tests: a counter rendered in each format. */
export class SequentialIds implements IdSource {
  private n = 0;
  uuid(): string {
    const h = (++this.n).toString(16).padStart(12, "0");
    return `00000000-0000-4000-8000-${h}`;
  }
  hex32(): string {
    return (++this.n).toString(16).padStart(32, "0");
  }
}
