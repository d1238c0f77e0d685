// The JSON protocol's edges: unknown actions, bad bodies, wrong content types, oversized
// requests and model validation, each refused with AWS's error and no change made.
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { ListClustersCommand } from "@aws-sdk/client-ecs";
import { REGION, type TestServer, ecsClient, startTestServer } from "../support/harness.ts";
import { sendRaw } from "../support/signer.ts";

const TARGET = "AmazonEC2ContainerServiceV20141113";

describe("JSON protocol", () => {
  let server: TestServer;
  before(async () => (server = await startTestServer()));
  after(async () => server.close());

  const call = (target: string, body: string, contentType = "application/x-amz-json-1.1") =>
    sendRaw({
      url: server.url,
      accessKeyId: server.identity.admin.accessKeyId,
      secretAccessKey: server.identity.admin.secretAccessKey,
      region: REGION,
      headers: { "content-type": contentType, "x-amz-target": target },
      body,
    });
  const errorOf = (res: { body: string }) => JSON.parse(res.body) as { __type: string; message: string };

  test("unknown operations", async () => {
    const res = await call(`${TARGET}.LaunchRockets`, "{}");
    assert.equal(res.status, 400);
    assert.equal(errorOf(res).__type, "UnknownOperationException");
    const other = await call("NoSuchService_20200101.ListThings", "{}");
    assert.equal(errorOf(other).__type, "UnknownOperationException");
  });

  test("malformed JSON, non-object bodies and wrong content types change nothing", async () => {
    for (const body of ['{"clusterName": "half', "[1,2]", '"text"']) {
      const res = await call(`${TARGET}.CreateCluster`, body);
      assert.equal(res.status, 400, body);
      assert.equal(errorOf(res).__type, "SerializationException");
    }
    const wrongType = await call(`${TARGET}.CreateCluster`, '{"clusterName":"typed"}', "text/plain");
    assert.equal(wrongType.status, 400);
    assert.match(errorOf(wrongType).message, /content type/);
    const list = await ecsClient(server).send(new ListClustersCommand({}));
    assert.deepEqual(list.clusterArns, []);
  });

  test("types and constraints from the model", async () => {
    const wrongType = await call(`${TARGET}.CreateCluster`, '{"clusterName": 42}');
    assert.equal(errorOf(wrongType).__type, "SerializationException");
    const missing = await call(`${TARGET}.RegisterTaskDefinition`, "{}");
    assert.equal(missing.status, 400);
    assert.deepEqual(errorOf(missing), {
      __type: "ClientException",
      message:
        "2 validation errors detected: Value null at 'family' failed to satisfy constraint: Member must not be null; " +
        "Value null at 'containerDefinitions' failed to satisfy constraint: Member must not be null",
    });
    const badEnum = await call(
      `${TARGET}.RegisterTaskDefinition`,
      JSON.stringify({ family: "f", networkMode: "mesh", containerDefinitions: [{ name: "a", image: "b", memory: 8 }] }),
    );
    assert.match(errorOf(badEnum).message, /Value 'mesh' at 'networkMode' failed to satisfy constraint: Member must satisfy enum value set: \[bridge, host, awsvpc, none\]/);
  });

  test("oversized bodies get 413 and are not processed", async () => {
    const huge = JSON.stringify({ clusterName: "huge", padding: "x".repeat(3 * 1024 * 1024) });
    const res = await call(`${TARGET}.CreateCluster`, huge);
    assert.equal(res.status, 413);
    const list = await ecsClient(server).send(new ListClustersCommand({}));
    assert.deepEqual(list.clusterArns, []);
  });
});
