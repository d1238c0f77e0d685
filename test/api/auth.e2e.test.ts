// SigV4 at the front door: refused requests change nothing; STS names the caller.
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { ListClustersCommand } from "@aws-sdk/client-ecs";
import { GetCallerIdentityCommand, STSClient } from "@aws-sdk/client-sts";
import { REGION, type TestServer, aws, ecsClient, startTestServer } from "../support/harness.ts";
import { sendRaw } from "../support/signer.ts";

const TARGET = "AmazonEC2ContainerServiceV20141113";

describe("authentication", () => {
  let server: TestServer;
  before(async () => (server = await startTestServer()));
  after(async () => server.close());

  const createCluster = (name: string, over: Partial<Parameters<typeof sendRaw>[0]> = {}) =>
    sendRaw({
      url: server.url,
      accessKeyId: server.identity.admin.accessKeyId,
      secretAccessKey: server.identity.admin.secretAccessKey,
      region: REGION,
      headers: { "content-type": "application/x-amz-json-1.1", "x-amz-target": `${TARGET}.CreateCluster` },
      body: JSON.stringify({ clusterName: name }),
      ...over,
    });

  const clusterNames = async (): Promise<string[]> =>
    ((await ecsClient(server).send(new ListClustersCommand({}))).clusterArns ?? []).map((a) => a.split("/").pop()!);

  test("a correctly signed request is accepted", async () => {
    const ok = await createCluster("signed");
    assert.equal(ok.status, 200, ok.body);
    assert.ok((await clusterNames()).includes("signed"));
  });

  test("wrong secret, stale date, unknown key and no signature are refused and change nothing", async () => {
    const cases: [string, Partial<Parameters<typeof sendRaw>[0]>, number, string][] = [
      ["wrong-secret", { secretAccessKey: "not-the-secret" }, 403, "InvalidSignatureException"],
      ["stale", { at: new Date(Date.now() - 10 * 60_000) }, 403, "InvalidSignatureException"],
      ["future", { at: new Date(Date.now() + 10 * 60_000) }, 403, "InvalidSignatureException"],
      ["unknown-key", { accessKeyId: "AKIAUNKNOWNKEY000000" }, 403, "UnrecognizedClientException"],
      ["unsigned", { unsigned: true }, 403, "MissingAuthenticationTokenException"],
    ];
    for (const [name, over, status, exception] of cases) {
      const res = await createCluster(`refused-${name}`, over);
      assert.equal(res.status, status, `${name}: ${res.body}`);
      assert.equal(JSON.parse(res.body).__type, exception, name);
    }
    assert.deepEqual((await clusterNames()).filter((n) => n.startsWith("refused-")), []);
  });

  test("the SDK with a wrong secret gets InvalidSignatureException", async () => {
    await assert.rejects(ecsClient(server, "wrong").send(new ListClustersCommand({})), { name: "InvalidSignatureException" });
  });

  test("the CLI with a wrong secret is refused", async () => {
    const res = await aws(server, ["ecs", "list-clusters"], { AWS_SECRET_ACCESS_KEY: "wrong" });
    assert.notEqual(res.code, 0);
    assert.match(res.stderr, /InvalidSignatureException/);
  });

  test("sts get-caller-identity names the account and the admin user", async () => {
    const res = await aws(server, ["sts", "get-caller-identity"]);
    assert.equal(res.code, 0, res.stderr);
    assert.equal(res.json.Account, server.identity.accountId);
    assert.equal(res.json.Arn, `arn:aws:iam::${server.identity.accountId}:user/berth-admin`);
    assert.equal(res.json.UserId, server.identity.admin.userId);

    const sts = new STSClient({
      endpoint: server.url,
      region: REGION,
      credentials: { accessKeyId: server.identity.admin.accessKeyId, secretAccessKey: server.identity.admin.secretAccessKey },
    });
    const sdk = await sts.send(new GetCallerIdentityCommand({}));
    assert.equal(sdk.Account, server.identity.accountId);
    const refused = new STSClient({
      endpoint: server.url,
      region: REGION,
      credentials: { accessKeyId: server.identity.admin.accessKeyId, secretAccessKey: "wrong" },
      maxAttempts: 1,
    });
    await assert.rejects(refused.send(new GetCallerIdentityCommand({})), { name: "InvalidSignatureException" });
  });
});
