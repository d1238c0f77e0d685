// Nothing acknowledged is lost: `berth up` is killed with SIGKILL while PutSecretValue calls
// are in flight; every call that got a 2xx is there after the restart, with the right value
// and AWSCURRENT on the last acknowledged version. Runs the built bundle (dist/berth.js).
import assert from "node:assert/strict";
import { existsSync, readFileSync, rmSync } from "node:fs";
import { join } from "node:path";
import { after, describe, test } from "node:test";
import {
  CreateSecretCommand,
  GetSecretValueCommand,
  ListSecretVersionIdsCommand,
  PutSecretValueCommand,
  SecretsManagerClient,
} from "@aws-sdk/client-secrets-manager";
import { REGION, type BerthProcess, freePort, killHard, spawnBerth, tempDir } from "../support/harness.ts";

function client(berth: BerthProcess): SecretsManagerClient {
  return new SecretsManagerClient({
    endpoint: berth.url,
    region: REGION,
    credentials: { accessKeyId: berth.identity.admin.accessKeyId, secretAccessKey: berth.identity.admin.secretAccessKey },
    maxAttempts: 1,
  });
}

describe("secrets durability", () => {
  const dataDir = tempDir();
  after(() => rmSync(dataDir, { recursive: true, force: true }));

  test("kill -9 during PutSecretValue loses no acknowledged version, three times over", async () => {
    const port = await freePort();
    const acknowledged = new Map<string, string>(); // version id → value
    let lastAcked: string | undefined;
    for (let round = 0; round < 3; round++) {
      const berth = await spawnBerth(dataDir, port, ["--no-agent"]);
      const sm = client(berth);
      if (round === 0) {
        const created = await sm.send(new CreateSecretCommand({ Name: "durable/secret", SecretString: "v-initial" }));
        acknowledged.set(created.VersionId!, "v-initial");
        lastAcked = created.VersionId!;
      } else {
        // Everything acknowledged before the kill is there, value for value.
        for (const [versionId, value] of acknowledged) {
          const got = await sm.send(new GetSecretValueCommand({ SecretId: "durable/secret", VersionId: versionId }));
          assert.equal(got.SecretString, value, `round ${round}: version ${versionId}`);
        }
        const current = await sm.send(new GetSecretValueCommand({ SecretId: "durable/secret" }));
        assert.ok(current.VersionId === lastAcked || !acknowledged.has(current.VersionId!), `round ${round}: AWSCURRENT is the last acknowledged version or a later unacknowledged one`);
        const listed = await sm.send(new ListSecretVersionIdsCommand({ SecretId: "durable/secret", IncludeDeprecated: true }));
        assert.ok((listed.Versions?.length ?? 0) >= acknowledged.size, `round ${round}: every version listed`);
      }
      // Write one after another; once 20 are acknowledged, kill -9 while the next is in flight.
      // (20 a round keeps the secret under the 100 versions Secrets Manager keeps.)
      let acked = 0;
      let twentieth!: () => void;
      const enough = new Promise<void>((r) => (twentieth = r));
      const writer = (async () => {
        for (let i = 0; ; i++) {
          const value = `v-${round}-${i}`;
          try {
            const out = await sm.send(new PutSecretValueCommand({ SecretId: "durable/secret", SecretString: value }));
            acknowledged.set(out.VersionId!, value);
            lastAcked = out.VersionId!;
            if (++acked === 20) twentieth();
          } catch {
            return; // the server died mid-call: this one was never acknowledged
          }
        }
      })();
      await enough;
      await killHard(berth);
      await writer;
      assert.ok(acked >= 20, `round ${round}: writes were acknowledged`);
    }
    const last = await spawnBerth(dataDir, port, ["--no-agent"]);
    try {
      const sm = client(last);
      for (const [versionId, value] of acknowledged) {
        const got = await sm.send(new GetSecretValueCommand({ SecretId: "durable/secret", VersionId: versionId }));
        assert.equal(got.SecretString, value, `final: version ${versionId}`);
      }
    } finally {
      await killHard(last);
    }
    const db = join(dataDir, "secrets.db");
    const bytes = Buffer.concat([db, `${db}-wal`].filter((f) => existsSync(f)).map((f) => readFileSync(f)));
    for (const value of acknowledged.values()) assert.equal(bytes.includes(value), false, `${value} is not in the database files`);
  });
});
