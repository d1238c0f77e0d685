/**
 * Metric datapoints on their own SQLite file (`<data-dir>/metrics.db`): one row per sample,
 * indexed by series and time; statistics are computed per period on read, as CloudWatch
 * aggregates raw samples into the period asked for.
 */
import { type Datapoint, type MetricDatum, type MetricUnit, type MetricsScope, type MetricsStore, type StatisticsQuery, dimensionKey } from "../domain/metrics.ts";
import { type SqliteFile, openSqlite } from "../store/sqlite-database.ts";

const MIGRATIONS = [
  `CREATE TABLE datapoints (
     region TEXT NOT NULL, account TEXT NOT NULL, namespace TEXT NOT NULL, name TEXT NOT NULL,
     dimensions TEXT NOT NULL, ts INTEGER NOT NULL, value REAL NOT NULL, unit TEXT NOT NULL
   );
   CREATE INDEX datapoints_series ON datapoints (region, account, namespace, name, dimensions, ts);
   CREATE INDEX datapoints_ts ON datapoints (ts);`,
];

interface Row {
  bucket: number;
  n: number;
  sum: number;
  min: number;
  max: number;
  unit: MetricUnit;
}

export class SqliteMetricsStore implements MetricsStore {
  private readonly file: SqliteFile;

  constructor(options: { path: string }) {
    this.file = openSqlite(options.path, MIGRATIONS);
  }

  async putMetricData(scope: MetricsScope, data: readonly MetricDatum[]): Promise<void> {
    const insert = this.file.sql("INSERT INTO datapoints (region, account, namespace, name, dimensions, ts, value, unit) VALUES (?, ?, ?, ?, ?, ?, ?, ?)");
    this.file.db.transaction(() => {
      for (const d of data) insert.run(scope.region, scope.accountId, d.namespace, d.name, dimensionKey(d.dimensions), d.timestamp, d.value, d.unit);
    })();
  }

  async getMetricStatistics(scope: MetricsScope, q: StatisticsQuery): Promise<Datapoint[]> {
    const periodMs = q.period * 1000;
    const rows = this.file
      .sql(
        `SELECT CAST(ts / ? AS INTEGER) * ? AS bucket, COUNT(*) AS n, SUM(value) AS sum, MIN(value) AS min, MAX(value) AS max, MAX(unit) AS unit
           FROM datapoints
          WHERE region = ? AND account = ? AND namespace = ? AND name = ? AND dimensions = ? AND ts >= ? AND ts < ?
          GROUP BY bucket ORDER BY bucket`,
      )
      .all(periodMs, periodMs, scope.region, scope.accountId, q.namespace, q.name, dimensionKey(q.dimensions), q.startTime, q.endTime) as Row[];
    return rows.map((r) => ({ timestamp: r.bucket, sampleCount: r.n, sum: r.sum, average: r.sum / r.n, minimum: r.min, maximum: r.max, unit: r.unit }));
  }

  async expire(beforeMs: number): Promise<number> {
    return this.file.sql("DELETE FROM datapoints WHERE ts < ?").run(beforeMs).changes;
  }

  async close(): Promise<void> {
    this.file.db.close();
  }
}
