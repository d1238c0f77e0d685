// Clusters, tags and account settings end to end, with the AWS CLI and the JS SDK.
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import {
  CreateClusterCommand,
  DeleteClusterCommand,
  DescribeClustersCommand,
  ListAccountSettingsCommand,
  ListClustersCommand,
  ListTagsForResourceCommand,
  PutAccountSettingCommand,
  PutAccountSettingDefaultCommand,
  DeleteAccountSettingCommand,
  TagResourceCommand,
  UntagResourceCommand,
  UpdateClusterCommand,
  UpdateClusterSettingsCommand,
} from "@aws-sdk/client-ecs";
import { type TestServer, aws, ecsClient, startTestServer } from "../support/harness.ts";

describe("clusters", () => {
  let server: TestServer;
  before(async () => (server = await startTestServer()));
  after(async () => server.close());

  test("create, describe, list and delete with the CLI", async () => {
    const created = await aws(server, ["ecs", "create-cluster", "--cluster-name", "prod", "--tags", "key=team,value=core"]);
    assert.equal(created.code, 0, created.stderr);
    const cluster = created.json.cluster;
    assert.equal(cluster.clusterName, "prod");
    assert.equal(cluster.status, "ACTIVE");
    assert.match(cluster.clusterArn, /^arn:aws:ecs:ap-south-1:\d{12}:cluster\/prod$/);
    assert.equal(cluster.runningTasksCount, 0);
    assert.deepEqual(cluster.settings, [{ name: "containerInsights", value: "disabled" }]);

    const again = await aws(server, ["ecs", "create-cluster", "--cluster-name", "prod"]);
    assert.equal(again.json.cluster.clusterArn, cluster.clusterArn, "CreateCluster is idempotent");

    const described = await aws(server, ["ecs", "describe-clusters", "--clusters", "prod", "nope", "--include", "TAGS"]);
    assert.equal(described.code, 0, described.stderr);
    assert.equal(described.json.clusters.length, 1);
    assert.deepEqual(described.json.clusters[0].tags, [{ key: "team", value: "core" }]);
    assert.deepEqual(described.json.failures, [
      { arn: cluster.clusterArn.replace("prod", "nope"), reason: "MISSING" },
    ]);

    const listed = await aws(server, ["ecs", "list-clusters"]);
    assert.deepEqual(listed.json.clusterArns, [cluster.clusterArn]);

    const deleted = await aws(server, ["ecs", "delete-cluster", "--cluster", "prod"]);
    assert.equal(deleted.json.cluster.status, "INACTIVE");
    const afterDelete = await aws(server, ["ecs", "describe-clusters", "--clusters", cluster.clusterArn]);
    assert.equal(afterDelete.json.clusters[0].status, "INACTIVE");
    assert.deepEqual((await aws(server, ["ecs", "list-clusters"])).json.clusterArns, []);

    const missing = await aws(server, ["ecs", "delete-cluster", "--cluster", "prod"]);
    assert.notEqual(missing.code, 0);
    assert.match(missing.stderr, /ClusterNotFoundException/);
  });

  test("the default cluster, regions and pagination with the SDK", async () => {
    const client = ecsClient(server);
    const none = await client.send(new DescribeClustersCommand({}));
    assert.deepEqual(none.failures?.map((f) => f.reason), ["MISSING"]);
    const def = await client.send(new CreateClusterCommand({}));
    assert.equal(def.cluster?.clusterName, "default");

    for (const name of ["c1", "c2", "c3", "c4"]) await client.send(new CreateClusterCommand({ clusterName: name }));
    const page = await client.send(new ListClustersCommand({ maxResults: 3 }));
    assert.equal(page.clusterArns?.length, 3);
    const rest = await client.send(new ListClustersCommand({ maxResults: 3, nextToken: page.nextToken }));
    assert.equal(rest.clusterArns?.length, 2);
    assert.equal(rest.nextToken, undefined);
    const cli = await aws(server, ["ecs", "list-clusters", "--page-size", "2"]);
    assert.equal(cli.json.clusterArns.length, 5, "the CLI follows nextToken to the end");

    await assert.rejects(client.send(new ListClustersCommand({ maxResults: 101 })), { name: "InvalidParameterException" });
    await assert.rejects(client.send(new CreateClusterCommand({ clusterName: "bad name!" })), { name: "InvalidParameterException" });

    // Another region is another set of clusters, with that region in the ARN.
    const other = await aws(server, ["ecs", "create-cluster", "--cluster-name", "c1", "--region", "eu-west-1"]);
    assert.match(other.json.cluster.clusterArn, /^arn:aws:ecs:eu-west-1:/);
    const euList = await aws(server, ["ecs", "list-clusters", "--region", "eu-west-1"]);
    assert.equal(euList.json.clusterArns.length, 1);
  });

  test("update cluster and settings", async () => {
    const client = ecsClient(server);
    await client.send(new CreateClusterCommand({ clusterName: "tuned" }));
    const updated = await client.send(new UpdateClusterSettingsCommand({ cluster: "tuned", settings: [{ name: "containerInsights", value: "enhanced" }] }));
    assert.deepEqual(updated.cluster?.settings, [{ name: "containerInsights", value: "enhanced" }]);
    const configured = await client.send(
      new UpdateClusterCommand({ cluster: "tuned", configuration: { executeCommandConfiguration: { logging: "DEFAULT" } } }),
    );
    assert.deepEqual(configured.cluster?.configuration, { executeCommandConfiguration: { logging: "DEFAULT" } });
    const described = await client.send(new DescribeClustersCommand({ clusters: ["tuned"], include: ["CONFIGURATIONS", "SETTINGS"] }));
    assert.equal(described.clusters?.[0]?.settings?.[0]?.value, "enhanced");
    await assert.rejects(
      client.send(new UpdateClusterSettingsCommand({ cluster: "nope", settings: [{ name: "containerInsights", value: "enabled" }] })),
      { name: "ClusterNotFoundException" },
    );
    await assert.rejects(
      client.send(new UpdateClusterSettingsCommand({ cluster: "tuned", settings: [{ name: "containerInsights", value: "sometimes" }] })),
      { name: "InvalidParameterException" },
    );
  });

  test("tags on clusters", async () => {
    const client = ecsClient(server);
    const { cluster } = await client.send(new CreateClusterCommand({ clusterName: "tagged" }));
    const arn = cluster!.clusterArn!;
    await client.send(new TagResourceCommand({ resourceArn: arn, tags: [{ key: "a", value: "1" }, { key: "b", value: "2" }] }));
    await client.send(new TagResourceCommand({ resourceArn: arn, tags: [{ key: "a", value: "3" }] }));
    await client.send(new UntagResourceCommand({ resourceArn: arn, tagKeys: ["b"] }));
    const tags = await client.send(new ListTagsForResourceCommand({ resourceArn: arn }));
    assert.deepEqual(tags.tags, [{ key: "a", value: "3" }]);
    await assert.rejects(client.send(new TagResourceCommand({ resourceArn: arn, tags: [{ key: "aws:x", value: "1" }] })), {
      name: "InvalidParameterException",
    });
    await assert.rejects(client.send(new ListTagsForResourceCommand({ resourceArn: arn.replace("tagged", "ghost") })), {
      name: "ClusterNotFoundException",
    });
    const tooMany = Array.from({ length: 51 }, (_, i) => ({ key: `k${i}`, value: "v" }));
    await assert.rejects(client.send(new TagResourceCommand({ resourceArn: arn, tags: tooMany })));
    assert.deepEqual((await client.send(new ListTagsForResourceCommand({ resourceArn: arn }))).tags, [{ key: "a", value: "3" }]);
    await client.send(new DeleteClusterCommand({ cluster: "tagged" }));
  });

  test("account settings", async () => {
    const client = ecsClient(server);
    const effective = await client.send(new ListAccountSettingsCommand({ effectiveSettings: true, name: "taskLongArnFormat" }));
    assert.equal(effective.settings?.[0]?.value, "enabled");
    await client.send(new PutAccountSettingDefaultCommand({ name: "containerInsights", value: "enabled" }));
    await client.send(new PutAccountSettingCommand({ name: "awsvpcTrunking", value: "enabled" }));
    const own = await client.send(new ListAccountSettingsCommand({}));
    assert.deepEqual(own.settings?.map((s) => [s.name, s.value]), [["awsvpcTrunking", "enabled"]]);
    const eff = await client.send(new ListAccountSettingsCommand({ effectiveSettings: true }));
    const byName = Object.fromEntries((eff.settings ?? []).map((s) => [s.name, s.value]));
    assert.equal(byName["containerInsights"], "enabled");
    assert.equal(byName["awsvpcTrunking"], "enabled");
    await client.send(new DeleteAccountSettingCommand({ name: "awsvpcTrunking" }));
    assert.deepEqual((await client.send(new ListAccountSettingsCommand({}))).settings, []);
    await assert.rejects(client.send(new PutAccountSettingCommand({ name: "containerInsights", value: "maybe" })), {
      name: "InvalidParameterException",
    });
    const cli = await aws(server, ["ecs", "list-account-settings", "--effective-settings", "--name", "serviceLongArnFormat"]);
    assert.equal(cli.json.settings[0].value, "enabled");
  });
});
