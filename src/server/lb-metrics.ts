/**
 * Records the load balancer's CloudWatch metrics: every period, the data plane's counters
 * become AWS/ApplicationELB (or AWS/NetworkELB) datapoints, dimensioned as AWS does
 * (LoadBalancer "app/<name>/<id>", TargetGroup "targetgroup/<name>/<id>"): RequestCount,
 * HTTPCode_ELB_5XX_Count, HTTPCode_Target_2XX/4XX/5XX_Count, RequestCountPerTarget,
 * TargetResponseTime (seconds, average) and Healthy/UnHealthyHostCount.
 */
import { parseArn } from "../core/arn.ts";
import type { MetricDatum, MetricsStore } from "../domain/metrics.ts";
import type { LbMetrics } from "../protocol/lb-protocol.ts";

export class LbMetricsRecorder {
  private last: LbMetrics | undefined;

  constructor(
    private readonly read: () => LbMetrics,
    private readonly store: MetricsStore,
  ) {}

  /** Takes one sample: datapoints for what changed since the previous one (the first only sets the base). */
  async sample(now: number): Promise<number> {
    const current = this.read();
    const previous = this.last;
    this.last = current;
    if (!previous) return 0;
    const byScope = new Map<string, { scope: { region: string; accountId: string }; data: MetricDatum[] }>();
    const add = (arn: string, datum: Omit<MetricDatum, "timestamp" | "namespace">, namespace: string) => {
      const p = parseArn(arn);
      if (!p) return;
      const key = `${p.region} ${p.accountId}`;
      const entry = byScope.get(key) ?? { scope: { region: p.region, accountId: p.accountId }, data: [] };
      entry.data.push({ ...datum, namespace, timestamp: now });
      byScope.set(key, entry);
    };
    for (const [arn, m] of Object.entries(current.loadBalancers)) {
      const before = previous.loadBalancers[arn] ?? { requestCount: 0, elb5xx: 0, elb4xx: 0, activeConnections: 0 };
      const resource = parseArn(arn)?.resource.replace(/^loadbalancer\//, "") ?? "";
      const namespace = resource.startsWith("net/") ? "AWS/NetworkELB" : "AWS/ApplicationELB";
      const dimensions = { LoadBalancer: resource };
      add(arn, { name: "RequestCount", dimensions, value: m.requestCount - before.requestCount, unit: "Count" }, namespace);
      add(arn, { name: "HTTPCode_ELB_5XX_Count", dimensions, value: m.elb5xx - before.elb5xx, unit: "Count" }, namespace);
      add(arn, { name: "HTTPCode_ELB_4XX_Count", dimensions, value: m.elb4xx - before.elb4xx, unit: "Count" }, namespace);
      add(arn, { name: "ActiveConnectionCount", dimensions, value: m.activeConnections, unit: "Count" }, namespace);
    }
    for (const [arn, m] of Object.entries(current.targetGroups)) {
      const before = previous.targetGroups[arn] ?? { requestCount: 0, target2xx: 0, target4xx: 0, target5xx: 0, targetResponseTimeSumMs: 0, healthyHostCount: 0, unhealthyHostCount: 0 };
      const dimensions = { TargetGroup: parseArn(arn)?.resource ?? "" };
      const requests = m.requestCount - before.requestCount;
      const ns = "AWS/ApplicationELB";
      add(arn, { name: "RequestCount", dimensions, value: requests, unit: "Count" }, ns);
      add(arn, { name: "RequestCountPerTarget", dimensions, value: m.healthyHostCount > 0 ? requests / m.healthyHostCount : requests, unit: "Count" }, ns);
      add(arn, { name: "HTTPCode_Target_2XX_Count", dimensions, value: m.target2xx - before.target2xx, unit: "Count" }, ns);
      add(arn, { name: "HTTPCode_Target_4XX_Count", dimensions, value: m.target4xx - before.target4xx, unit: "Count" }, ns);
      add(arn, { name: "HTTPCode_Target_5XX_Count", dimensions, value: m.target5xx - before.target5xx, unit: "Count" }, ns);
      if (requests > 0) {
        const seconds = (m.targetResponseTimeSumMs - before.targetResponseTimeSumMs) / requests / 1000;
        add(arn, { name: "TargetResponseTime", dimensions, value: seconds, unit: "Seconds" }, ns);
      }
      add(arn, { name: "HealthyHostCount", dimensions, value: m.healthyHostCount, unit: "Count" }, ns);
      add(arn, { name: "UnHealthyHostCount", dimensions, value: m.unhealthyHostCount, unit: "Count" }, ns);
    }
    let written = 0;
    for (const { scope, data } of byScope.values()) {
      await this.store.putMetricData(scope, data);
      written += data.length;
    }
    return written;
  }
}
