/**
 * The wire between the ELBv2 control plane and the load balancer data plane: the data plane
 * gets whole snapshots and gives back target health. Nothing here holds state but the apply in
 * flight.
 */
import type { Logger } from "../core/logger.ts";
import type { SqliteElbEngine } from "../elb/sqlite-elb-engine.ts";
import type { LoadBalancerDataPlane } from "../lb/load-balancer-data-plane.ts";

/**
 * The ELBv2 control plane drives the data plane with whole snapshots (coalesced: at most one
 * apply runs, the newest snapshot wins) and takes back target health; once a second it also
 * completes deregistrations whose delay has passed. Returns the function that stops this.
 */
export function connectLoadBalancing(elb: SqliteElbEngine, dataPlane: LoadBalancerDataPlane, logger: Logger): () => Promise<void> {
  let applying: Promise<void> = Promise.resolve();
  let queued = false;
  const push = (): void => {
    if (queued) return;
    queued = true;
    applying = applying.then(async () => {
      queued = false;
      await dataPlane.apply(elb.snapshot()).catch((e: unknown) => logger.warn("load balancer update failed", { error: String(e) }));
    });
  };
  const unsubscribe = elb.onChange(push);
  dataPlane.onHealthChange(() => elb.applyHealth(dataPlane.targetHealth()));
  const ticker = setInterval(() => {
    elb.tick(Date.now());
    elb.applyHealth(dataPlane.targetHealth());
  }, 1000);
  ticker.unref();
  push();
  return async () => {
    clearInterval(ticker);
    unsubscribe();
    await applying;
  };
}
