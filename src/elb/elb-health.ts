/**
 * DescribeTargetHealth's answer from what the engine knows: the registrations (registered or
 * draining), whether any load balancer uses the group, and the data plane's latest report per
 * target. Precedence follows ALB: draining, then unused (group not in use), then unavailable
 * (health checks disabled), then the data plane's report, else initial.
 */
import type { TargetHealthReport } from "../protocol/lb-protocol.ts";
import type { TargetHealth } from "../domain/load-balancing.ts";
import type { StoredTargetGroup, TargetRow } from "./elb-catalog.ts";

type Verdict = Pick<TargetHealth, "state" | "reason" | "description">;

const DRAINING: Verdict = { state: "draining", reason: "Target.DeregistrationInProgress", description: "Target deregistration is in progress" };
const NOT_IN_USE: Verdict = { state: "unused", reason: "Target.NotInUse", description: "Target group is not configured to receive traffic from the load balancer" };
const DISABLED: Verdict = { state: "unavailable", reason: "Target.HealthCheckDisabled", description: "Health checks are disabled" };
const INITIAL: Verdict = { state: "initial", reason: "Elb.RegistrationInProgress", description: "Target registration is in progress" };
const NOT_REGISTERED: Verdict = { state: "unused", reason: "Target.NotRegistered", description: "Target is not registered to the target group" };

/** The data plane's latest report per target, in memory (it re-reports after a restart). */
export class HealthBook {
  private readonly byGroup = new Map<string, Map<string, TargetHealthReport>>();

  report(r: TargetHealthReport): void {
    let group = this.byGroup.get(r.targetGroupArn);
    if (!group) this.byGroup.set(r.targetGroupArn, (group = new Map()));
    group.set(`${r.id}|${r.port}`, r);
  }
  get(tgArn: string, id: string, port: number): TargetHealthReport | undefined {
    return this.byGroup.get(tgArn)?.get(`${id}|${port}`);
  }
  forget(tgArn: string, id: string, port: number): void {
    this.byGroup.get(tgArn)?.delete(`${id}|${port}`);
  }
  dropGroup(tgArn: string): void {
    this.byGroup.delete(tgArn);
  }
}

export type HealthLookup = (id: string, port: number) => TargetHealthReport | undefined;

export function describeHealth(
  group: StoredTargetGroup,
  inUse: boolean,
  targets: readonly TargetRow[],
  reported: HealthLookup,
  asked?: readonly { id: string; port?: number }[],
): TargetHealth[] {
  const entry = (id: string, port: number, az: string | undefined, verdict: Verdict): TargetHealth => ({
    id,
    port,
    ...(az !== undefined ? { availabilityZone: az } : {}),
    healthCheckPort: group.healthCheck.port === "traffic-port" ? String(port) : group.healthCheck.port,
    state: verdict.state,
    ...(verdict.reason !== undefined ? { reason: verdict.reason } : {}),
    ...(verdict.description !== undefined ? { description: verdict.description } : {}),
  });
  const judge = (t: TargetRow): Verdict => {
    if (t.state === "draining") return DRAINING;
    if (!inUse) return NOT_IN_USE;
    if (!group.healthCheck.enabled) return DISABLED;
    const report = reported(t.id, t.port);
    if (!report || report.state === "draining" || report.state === "unused") return INITIAL;
    return {
      state: report.state,
      ...(report.reason !== undefined ? { reason: report.reason } : {}),
      ...(report.description !== undefined ? { description: report.description } : {}),
    };
  };
  if (asked === undefined || asked.length === 0) return targets.map((t) => entry(t.id, t.port, t.az, judge(t)));
  return asked.flatMap((a) => {
    const rows = targets.filter((t) => t.id === a.id && (a.port === undefined || t.port === a.port));
    if (rows.length === 0) return [entry(a.id, a.port ?? group.port, undefined, NOT_REGISTERED)];
    return rows.map((t) => entry(t.id, t.port, t.az, judge(t)));
  });
}
