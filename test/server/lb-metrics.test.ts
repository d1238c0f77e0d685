// Load balancer metrics: the data plane's counters become CloudWatch datapoints per period,
// dimensioned as AWS does, and statistics come back per period.
import assert from "node:assert/strict";
import { rmSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { SqliteMetricsStore } from "../../src/metrics/sqlite-metrics-store.ts";
import type { LbMetrics } from "../../src/protocol/lb-protocol.ts";
import { LbMetricsRecorder } from "../../src/server/lb-metrics.ts";
import { tempDir } from "../support/harness.ts";

const LB = "arn:aws:elasticloadbalancing:ap-south-1:123456789012:loadbalancer/app/front/0123456789abcdef";
const TG = "arn:aws:elasticloadbalancing:ap-south-1:123456789012:targetgroup/web/fedcba9876543210";
const SCOPE = { region: "ap-south-1", accountId: "123456789012" };

function counters(requests: number, target5xx: number, elb5xx: number, timeMs: number, healthy: number): LbMetrics {
  return {
    loadBalancers: { [LB]: { requestCount: requests, elb5xx, elb4xx: 0, activeConnections: 2 } },
    targetGroups: {
      [TG]: { requestCount: requests - elb5xx, target2xx: requests - elb5xx - target5xx, target4xx: 0, target5xx, targetResponseTimeSumMs: timeMs, healthyHostCount: healthy, unhealthyHostCount: 3 - healthy },
    },
  };
}

test("per-period deltas: RequestCount, 5XX, RequestCountPerTarget, TargetResponseTime, HealthyHostCount", async () => {
  const dir = tempDir();
  const store = new SqliteMetricsStore({ path: join(dir, "metrics.db") });
  try {
    const samples = [counters(0, 0, 0, 0, 3), counters(100, 4, 2, 4_900, 3), counters(160, 4, 2, 7_900, 2)];
    let i = 0;
    const recorder = new LbMetricsRecorder(() => samples[i]!, store);
    assert.equal(await recorder.sample(0), 0, "the first sample only sets the base");
    i = 1;
    await recorder.sample(60_000);
    i = 2;
    await recorder.sample(120_000);
    const q = (name: string, dimensions: Record<string, string>) =>
      store.getMetricStatistics(SCOPE, { namespace: "AWS/ApplicationELB", name, dimensions, startTime: 0, endTime: 180_000, period: 60 });
    const lbRequests = await q("RequestCount", { LoadBalancer: "app/front/0123456789abcdef" });
    assert.deepEqual(lbRequests.map((d) => d.sum), [100, 60], "requests per period at the load balancer");
    assert.deepEqual((await q("HTTPCode_ELB_5XX_Count", { LoadBalancer: "app/front/0123456789abcdef" })).map((d) => d.sum), [2, 0]);
    const tg = { TargetGroup: "targetgroup/web/fedcba9876543210" };
    assert.deepEqual((await q("HTTPCode_Target_5XX_Count", tg)).map((d) => d.sum), [4, 0]);
    assert.deepEqual((await q("RequestCountPerTarget", tg)).map((d) => d.sum), [98 / 3, 30], "requests over healthy targets");
    const latency = await q("TargetResponseTime", tg);
    assert.deepEqual(latency.map((d) => Math.round(d.average * 1000)), [50, 50], "average seconds per request");
    assert.deepEqual((await q("HealthyHostCount", tg)).map((d) => d.maximum), [3, 2]);
    assert.deepEqual(await q("RequestCount", { TargetGroup: "targetgroup/other/0000000000000000" }), [], "other series are empty");
    assert.equal(await store.expire(90_000), 12, "the first period's 12 datapoints (4 load balancer, 8 target group) expire");
  } finally {
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  }
});
