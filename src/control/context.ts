/**
 * What every use case is handed: who calls, in which region and account, and the clock and
 * id source to use. Built by the API layer from the verified SigV4 credential.
 */
import type { Scope } from "../core/arn.ts";
import type { Clock } from "../core/clock.ts";
import type { IdSource } from "../core/ids.ts";
import type { ElbEngine } from "../domain/load-balancing.ts";
import type { Store } from "../store/store.ts";

export interface CallContext {
  scope: Scope;
  /** ARN of the calling principal, e.g. arn:aws:iam::123456789012:user/berth-admin. */
  principalArn: string;
}

/** Dependencies shared by every use case; created once by the composition root. */
export interface ControlDeps {
  store: Store;
  clock: Clock;
  ids: IdSource;
  /** Load balancing, to check a service's `loadBalancers` (absent: they are not checked). */
  elb?: ElbEngine;
}
