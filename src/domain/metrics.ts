/**
 * CloudWatch-style metrics as Berth records them: datapoints in a namespace, by name and
 * dimensions, and statistics over periods (what GetMetricStatistics and target tracking read).
 * The store lives in metrics/ (its own SQLite file); the load balancer's recorder writes
 * AWS/ApplicationELB and AWS/NetworkELB datapoints into it.
 */

export interface MetricsScope {
  region: string;
  accountId: string;
}

export type MetricUnit = "Count" | "Seconds" | "Milliseconds" | "Percent" | "None";

export interface MetricDatum {
  namespace: string;
  name: string;
  dimensions: Record<string, string>;
  /** Epoch milliseconds. */
  timestamp: number;
  value: number;
  unit: MetricUnit;
}

export interface StatisticsQuery {
  namespace: string;
  name: string;
  /** Exactly these dimensions, as CloudWatch matches them. */
  dimensions: Record<string, string>;
  startTime: number;
  endTime: number;
  /** Seconds. */
  period: number;
}

export interface Datapoint {
  /** Start of the period, epoch milliseconds. */
  timestamp: number;
  sampleCount: number;
  sum: number;
  average: number;
  minimum: number;
  maximum: number;
  unit: MetricUnit;
}

export interface MetricsStore {
  putMetricData(scope: MetricsScope, data: readonly MetricDatum[]): Promise<void>;
  /** Datapoints per period with at least one sample, oldest first. */
  getMetricStatistics(scope: MetricsScope, query: StatisticsQuery): Promise<Datapoint[]>;
  /** Drops datapoints older than `beforeMs`; returns how many. */
  expire(beforeMs: number): Promise<number>;
  close(): Promise<void>;
}

/** Dimensions as one canonical string: sorted by name, so {a,b} and {b,a} are the same series. */
export function dimensionKey(dimensions: Record<string, string>): string {
  return JSON.stringify(Object.keys(dimensions).sort().map((k) => [k, dimensions[k]]));
}
