// The Logs API over generated lines: each filter pattern kind and the two reference Insights
// queries, checked against plain JavaScript over the same lines; bad input changes nothing.
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import {
  CloudWatchLogsClient,
  CreateLogGroupCommand,
  CreateLogStreamCommand,
  FilterLogEventsCommand,
  GetQueryResultsCommand,
  PutLogEventsCommand,
  PutRetentionPolicyCommand,
  StartQueryCommand,
} from "@aws-sdk/client-cloudwatch-logs";
import { REGION, type TestServer, aws, startTestServer } from "../support/harness.ts";

const NOW = Date.now();
const LEVELS = ["INFO", "INFO", "INFO", "WARN", "ERROR"];
const MSGS = ["cache miss", "slow query", "disk full", "timeout"];
const PATHS = ["/api/a", "/api/b", "/health"];

/** Deterministic lines: JSON app logs and space-delimited access logs. */
function generate(n: number): { timestamp: number; message: string }[] {
  const out: { timestamp: number; message: string }[] = [];
  let seed = 7;
  // An LCG's low bits cycle quickly: draw from the high ones.
  const rnd = (k: number) => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) >>> 15) % k;
  for (let i = 0; i < n; i++) {
    const message =
      i % 2 === 0
        ? JSON.stringify({ level: LEVELS[rnd(5)], msg: MSGS[rnd(4)], path: PATHS[rnd(3)], latency: rnd(2000), elb: `elb-${rnd(2)}`, elb_status_code: [200, 200, 502, 503][rnd(4)], target_status_code: [200, 500, 200][rnd(3)] })
        : `10.0.${rnd(3)}.${rnd(9)} user${rnd(4)} GET ${PATHS[rnd(3)]} ${[200, 404, 500][rnd(3)]} ${rnd(5000)}`;
    out.push({ timestamp: NOW - (n - i) * 10, message });
  }
  return out;
}

describe("Logs API", () => {
  let server: TestServer;
  let client: CloudWatchLogsClient;
  const lines = generate(3000);
  before(async () => {
    server = await startTestServer();
    client = new CloudWatchLogsClient({
      endpoint: server.url,
      region: REGION,
      credentials: { accessKeyId: server.identity.admin.accessKeyId, secretAccessKey: server.identity.admin.secretAccessKey },
    });
    await client.send(new CreateLogGroupCommand({ logGroupName: "/gen" }));
    await client.send(new CreateLogStreamCommand({ logGroupName: "/gen", logStreamName: "a" }));
    await client.send(new CreateLogStreamCommand({ logGroupName: "/gen", logStreamName: "b" }));
    await client.send(new PutLogEventsCommand({ logGroupName: "/gen", logStreamName: "a", logEvents: lines.filter((_, i) => i % 3 !== 0) }));
    await client.send(new PutLogEventsCommand({ logGroupName: "/gen", logStreamName: "b", logEvents: lines.filter((_, i) => i % 3 === 0) }));
  });
  after(async () => server.close());

  const filtered = async (pattern: string): Promise<string[]> => {
    const messages: string[] = [];
    let nextToken: string | undefined;
    do {
      const page = await client.send(new FilterLogEventsCommand({ logGroupName: "/gen", filterPattern: pattern, startTime: NOW - 60_000, ...(nextToken ? { nextToken } : {}) }));
      messages.push(...(page.events ?? []).map((e) => e.message!));
      nextToken = page.nextToken;
    } while (nextToken);
    return messages;
  };
  const json = (m: string): Record<string, unknown> | undefined => (m.startsWith("{") ? (JSON.parse(m) as Record<string, unknown>) : undefined);

  const cases: [string, (m: string) => boolean][] = [
    ["ERROR", (m) => m.includes("ERROR")],
    ['"disk full"', (m) => m.includes("disk full")],
    ["GET -health", (m) => m.includes("GET") && !m.includes("health")],
    ["?timeout ?404", (m) => m.includes("timeout") || m.includes("404")],
    ['{ $.level = "ERROR" && $.latency > 1000 }', (m) => json(m)?.["level"] === "ERROR" && Number(json(m)?.["latency"]) > 1000],
    ["[ip, user, method, path, status = 5*, size > 4000]", (m) => {
      const f = m.split(" ");
      return !m.startsWith("{") && f.length === 6 && f[4]!.startsWith("5") && Number(f[5]) > 4000;
    }],
  ];
  for (const [pattern, predicate] of cases) {
    test(`filter pattern ${pattern}`, async () => {
      const expected = lines.map((l) => l.message).filter(predicate);
      assert.ok(expected.length > 0, `${pattern} matches some generated lines`);
      const got = await filtered(pattern);
      assert.deepEqual(got, expected, "the same events, interleaved in time order");
    });
  }

  test("the same through the AWS CLI", async () => {
    const r = await aws(server, ["logs", "filter-log-events", "--log-group-name", "/gen", "--filter-pattern", '{ $.msg = "timeout" }', "--start-time", String(NOW - 60_000)]);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.json.events.length, lines.filter((l) => json(l.message)?.["msg"] === "timeout").length);
  });

  async function query(queryString: string): Promise<Record<string, string>[]> {
    const { queryId } = await client.send(new StartQueryCommand({ logGroupName: "/gen", startTime: Math.floor(NOW / 1000) - 120, endTime: Math.ceil(NOW / 1000) + 1, queryString }));
    for (;;) {
      const r = await client.send(new GetQueryResultsCommand({ queryId }));
      if (r.status === "Complete") return (r.results ?? []).map((row) => Object.fromEntries(row.map((f) => [f.field!, f.value!])));
      assert.ok(r.status === "Running" || r.status === "Scheduled", `status ${r.status}`);
      await new Promise((res) => setTimeout(res, 100));
    }
  }

  test("Insights: errors by elb and status codes", async () => {
    const rows = await query(
      "fields @timestamp, @message | filter elb_status_code >= 500 or target_status_code >= 500 | stats count() as errors by elb, elb_status_code, target_status_code",
    );
    const expected = new Map<string, number>();
    for (const l of lines) {
      const j = json(l.message);
      if (!j || !(Number(j["elb_status_code"]) >= 500 || Number(j["target_status_code"]) >= 500)) continue;
      const key = `${j["elb"]}|${j["elb_status_code"]}|${j["target_status_code"]}`;
      expected.set(key, (expected.get(key) ?? 0) + 1);
    }
    const got = new Map(rows.map((r) => [`${r["elb"]}|${r["elb_status_code"]}|${r["target_status_code"]}`, Number(r["errors"])]));
    assert.deepEqual(got, expected);
  });

  test("Insights: WARN and ERROR counts by msg and path, sorted", async () => {
    const rows = await query("fields @timestamp, level, msg, path | filter level in ['ERROR','WARN'] | stats count() by msg, path | sort by count() desc");
    const expected = new Map<string, number>();
    for (const l of lines) {
      const j = json(l.message);
      if (!j || !["ERROR", "WARN"].includes(String(j["level"]))) continue;
      const key = `${j["msg"]}|${j["path"]}`;
      expected.set(key, (expected.get(key) ?? 0) + 1);
    }
    assert.deepEqual(new Map(rows.map((r) => [`${r["msg"]}|${r["path"]}`, Number(r["count()"])])), expected);
    const counts = rows.map((r) => Number(r["count()"]));
    assert.deepEqual(counts, [...counts].sort((a, b) => b - a), "sorted by count, descending");
  });

  test("bad input gets AWS's errors and stores nothing", async () => {
    const before = (await filtered("")).length;
    await assert.rejects(
      client.send(new PutLogEventsCommand({ logGroupName: "/gen", logStreamName: "a", logEvents: [{ timestamp: NOW, message: "x" }, { timestamp: NOW - 5000, message: "y" }] })),
      { name: "InvalidParameterException" },
    );
    await assert.rejects(client.send(new PutLogEventsCommand({ logGroupName: "/nope", logStreamName: "a", logEvents: [{ timestamp: NOW, message: "x" }] })), {
      name: "ResourceNotFoundException",
    });
    const tooMany = Array.from({ length: 10_001 }, (_, i) => ({ timestamp: NOW, message: `m${i}` }));
    await assert.rejects(client.send(new PutLogEventsCommand({ logGroupName: "/gen", logStreamName: "a", logEvents: tooMany })), { name: "InvalidParameterException" });
    await assert.rejects(client.send(new PutRetentionPolicyCommand({ logGroupName: "/gen", retentionInDays: 2 })), { name: "InvalidParameterException" });
    await assert.rejects(client.send(new CreateLogGroupCommand({ logGroupName: "/gen" })), { name: "ResourceAlreadyExistsException" });
    assert.equal((await filtered("")).length, before, "nothing was stored");
  });
});
