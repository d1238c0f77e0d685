// `berth secrets create|put|get|list` round-trips through the public API: run as a user runs
// it (the berth entry point, the data dir's admin key), checked with the AWS CLI.
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { REGION, ROOT, type TestServer, aws, startTestServer } from "../support/harness.ts";

function berth(server: TestServer, args: string[], stdin?: string): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const port = new URL(server.url).port;
    const child = execFile(
      process.execPath,
      ["--import", "tsx", join(ROOT, "src/main.ts"), ...args, "--data-dir", server.dataDir, "--port", port, "--region", REGION],
      { cwd: ROOT, timeout: 60_000 },
      (error, stdout, stderr) => resolve({ code: error ? (typeof error.code === "number" ? error.code : 1) : 0, stdout, stderr }),
    );
    child.stdin?.end(stdin ?? "");
  });
}

describe("berth secrets", () => {
  let server: TestServer;
  before(async () => {
    server = await startTestServer();
  });
  after(async () => server.close());

  test("create, put (from stdin), get and list round-trip", async () => {
    const created = await berth(server, ["secrets", "create", "app/token", "first-value", "--description", "the app token"]);
    assert.equal(created.code, 0, created.stderr);
    assert.match(created.stdout, /^arn:aws:secretsmanager:ap-south-1:\d{12}:secret:app\/token-[A-Za-z0-9]{6} \(version [0-9a-f-]{36}\)\n$/, created.stdout);
    const put = await berth(server, ["secrets", "put", "app/token"], "second-value");
    assert.equal(put.code, 0, put.stderr);
    const got = await berth(server, ["secrets", "get", "app/token"]);
    assert.equal(got.stdout, "second-value\n", "the value alone");
    const previous = await berth(server, ["secrets", "get", "app/token", "--version-stage", "AWSPREVIOUS"]);
    assert.equal(previous.stdout, "first-value\n", "previous version");
    const viaCli = await aws(server, ["secretsmanager", "get-secret-value", "--secret-id", "app/token"]);
    assert.equal(viaCli.json.SecretString, "second-value", "the AWS CLI sees the same value");
    const listed = await berth(server, ["secrets", "list"]);
    assert.match(listed.stdout, /^NAME\s+LAST CHANGED\s+DESCRIPTION\napp\/token\s+\d{4}-\d\d-\d\dT[\d:.]+Z\s+the app token\n$/, listed.stdout);
    assert.equal(listed.stdout.includes("second-value"), false, "list shows no value");
  });

  test("errors are AWS's, on stderr, with a non-zero exit", async () => {
    const missing = await berth(server, ["secrets", "get", "no/such"]);
    assert.notEqual(missing.code, 0, "exit code");
    assert.match(missing.stderr, /ResourceNotFoundException: Secrets Manager can't find the specified secret\./, missing.stderr);
    const usage = await berth(server, ["secrets", "frobnicate"]);
    assert.notEqual(usage.code, 0, "unknown action");
    assert.match(usage.stderr, /usage: berth secrets create/, usage.stderr);
  });
});
