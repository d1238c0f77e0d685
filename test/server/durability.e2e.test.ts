// Nothing acknowledged is lost: kill -9 of `berth up` right after 2xx answers keeps every
// cluster, revision and tag. Runs the built bundle (dist/berth.js) as a user would.
import assert from "node:assert/strict";
import { rmSync } from "node:fs";
import { after, describe, test } from "node:test";
import {
  CreateClusterCommand,
  DescribeClustersCommand,
  DescribeTaskDefinitionCommand,
  ListTagsForResourceCommand,
  RegisterTaskDefinitionCommand,
  TagResourceCommand,
} from "@aws-sdk/client-ecs";
import { ecsClient, freePort, killHard, spawnBerth, tempDir } from "../support/harness.ts";

describe("durability", () => {
  const dataDir = tempDir();
  after(() => rmSync(dataDir, { recursive: true, force: true }));

  test("kill -9 after acknowledged writes loses nothing, five times over", async () => {
    const port = await freePort();
    const expectedClusters: string[] = [];
    let revisions = 0;
    let accountId: string | undefined;
    for (let round = 0; round < 5; round++) {
      const berth = await spawnBerth(dataDir, port, ["--no-agent"]);
      accountId ??= berth.identity.accountId;
      assert.equal(berth.identity.accountId, accountId, "the account survives restarts");
      const client = ecsClient(berth);

      // Everything acknowledged in earlier rounds is still there.
      if (expectedClusters.length > 0) {
        const described = await client.send(new DescribeClustersCommand({ clusters: expectedClusters, include: ["TAGS"] }));
        assert.equal(described.failures?.length, 0, `round ${round}: ${JSON.stringify(described.failures)}`);
        for (const c of described.clusters ?? []) assert.deepEqual(c.tags, [{ key: "round", value: c.clusterName!.split("-")[1] }]);
        const td = await client.send(new DescribeTaskDefinitionCommand({ taskDefinition: "durable", include: ["TAGS"] }));
        assert.equal(td.taskDefinition?.revision, revisions);
        assert.deepEqual(td.tags, [{ key: "rev", value: String(revisions) }]);
      }

      // Write, get 2xx, and kill -9 at once.
      const name = `c-${round}`;
      const { cluster } = await client.send(new CreateClusterCommand({ clusterName: name }));
      await client.send(new TagResourceCommand({ resourceArn: cluster!.clusterArn!, tags: [{ key: "round", value: String(round) }] }));
      expectedClusters.push(name);
      const reg = await client.send(
        new RegisterTaskDefinitionCommand({
          family: "durable",
          containerDefinitions: [{ name: "app", image: "busybox", memory: 32 }],
          tags: [{ key: "rev", value: String(round + 1) }],
        }),
      );
      revisions = reg.taskDefinition!.revision!;
      await killHard(berth);
    }
    const last = await spawnBerth(dataDir, port, ["--no-agent"]);
    try {
      const tags = await ecsClient(last).send(
        new ListTagsForResourceCommand({ resourceArn: `arn:aws:ecs:ap-south-1:${accountId}:task-definition/durable:5` }),
      );
      assert.deepEqual(tags.tags, [{ key: "rev", value: "5" }]);
    } finally {
      await killHard(last);
    }
  });
});
