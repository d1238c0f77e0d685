// The front door as the README shows it: `berth up --detach`, `eval "$(berth env)"` and the
// AWS CLI against the printed endpoint, `berth down`.
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { existsSync, rmSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, describe, test } from "node:test";
import { AWS_CLI, ROOT, freePort, tempDir } from "../support/harness.ts";

describe("berth command", () => {
  const dataDir = tempDir();
  const berth = (...args: string[]) =>
    execFileSync(process.execPath, [join(ROOT, "dist/berth.js"), ...args, "--data-dir", dataDir], { encoding: "utf8" });
  after(() => {
    try {
      berth("down");
    } finally {
      rmSync(dataDir, { recursive: true, force: true });
    }
  });

  test("up --detach, env, the CLI, down", async () => {
    const port = await freePort();
    const upOut = berth("up", "--detach", "--port", String(port));
    assert.match(upOut, new RegExp(`Berth is up at http://127.0.0.1:${port}`));
    assert.equal(statSync(join(dataDir, "identity.json")).mode & 0o777, 0o600, "the secret key file is private");

    const envOut = berth("env");
    assert.match(envOut, new RegExp(`export BERTH_ENDPOINT=http://127.0.0.1:${port}`));
    assert.match(envOut, /export AWS_ENDPOINT_URL_ECS=/);
    const script = `${envOut}\n"${AWS_CLI}" --endpoint-url "$BERTH_ENDPOINT" ecs create-cluster --cluster-name from-env --output json >/dev/null && "${AWS_CLI}" --endpoint-url "$BERTH_ENDPOINT" ecs list-clusters --output json`;
    const listed = JSON.parse(execFileSync("bash", ["-c", script], { encoding: "utf8", env: { PATH: process.env["PATH"] ?? "", HOME: "/tmp", AWS_CONFIG_FILE: "/dev/null" } }));
    // The host's agent joined "default"; the CLI created "from-env".
    assert.deepEqual(listed.clusterArns.map((a: string) => a.split("/").pop()).sort(), ["default", "from-env"]);

    assert.match(berth("down"), /stopped/);
    assert.equal(existsSync(join(dataDir, "server.json")), false);
    await assert.rejects(fetch(`http://127.0.0.1:${port}/_berth/health`));
  });

  test("a state file torn by a kill mid-write does not keep the next up from starting", async () => {
    writeFileSync(join(dataDir, "server.json"), "");
    const port = await freePort();
    assert.match(berth("up", "--detach", "--port", String(port)), /Berth is up/, "an empty server.json is taken as no server");
    assert.match(berth("down"), /stopped/);
  });
});
