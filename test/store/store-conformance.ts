/**
 * One conformance suite for every Store adapter: each adapter's test file calls
 * `storeConformance(name, factory)`. It checks the port's promises, not SQL.
 */
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { BerthError } from "../../src/core/errors.ts";
import type { Cluster } from "../../src/domain/cluster.ts";
import type { TaskDefinitionRecord } from "../../src/domain/task-definition-record.ts";
import type { Store } from "../../src/store/store.ts";

const cluster = (name: string, region = "us-east-1"): Cluster => ({
  region,
  clusterArn: `arn:aws:ecs:${region}:123456789012:cluster/${name}`,
  clusterName: name,
  status: "ACTIVE",
  settings: [],
  capacityProviders: [],
  defaultCapacityProviderStrategy: [],
  createdAt: 1,
  version: 1,
});

const revisionOf = (family: string, region = "us-east-1") => (revision: number): TaskDefinitionRecord => ({
  region,
  family,
  revision,
  taskDefinitionArn: `arn:aws:ecs:${region}:123456789012:task-definition/${family}:${revision}`,
  status: "ACTIVE",
  document: { family, containerDefinitions: [] },
  compatibilities: ["EC2"],
  requiresAttributes: [],
  registeredAt: 1,
  registeredBy: "me",
});

export function storeConformance(name: string, open: () => Promise<Store>): void {
  describe(`Store conformance: ${name}`, () => {
    test("clusters: create is idempotent for ACTIVE names, per region", async () => {
      const store = await open();
      const first = await store.createCluster(cluster("a"));
      assert.equal(first.created, true);
      const again = await store.createCluster({ ...cluster("a"), createdAt: 99 });
      assert.equal(again.created, false);
      assert.equal(again.cluster.createdAt, 1);
      assert.equal((await store.createCluster(cluster("a", "eu-west-1"))).created, true);
      assert.equal((await store.listClusters("us-east-1", { limit: 10 })).items.length, 1);
      await store.close();
    });

    test("clusters: updates are guarded by version; INACTIVE names can be reused", async () => {
      const store = await open();
      const { cluster: c } = await store.createCluster(cluster("b"));
      const updated = await store.updateCluster({ ...c, status: "INACTIVE" });
      assert.equal(updated.version, c.version + 1);
      await assert.rejects(store.updateCluster({ ...c, settings: [] }), (e: BerthError) => e.code === "StaleVersion");
      assert.equal((await store.listClusters("us-east-1", { limit: 10 })).items.length, 0);
      const reborn = await store.createCluster({ ...cluster("b"), createdAt: 5 });
      assert.equal(reborn.created, true);
      assert.equal((await store.getCluster("us-east-1", "b"))?.createdAt, 5);
      await store.close();
    });

    test("clusters: pages are ordered by name and end without a cursor", async () => {
      const store = await open();
      for (const n of ["e", "a", "d", "c", "b"]) await store.createCluster(cluster(n));
      const p1 = await store.listClusters("us-east-1", { limit: 2 });
      assert.deepEqual(p1.items.map((c) => c.clusterName), ["a", "b"]);
      const p2 = await store.listClusters("us-east-1", { limit: 2, after: p1.next! });
      const p3 = await store.listClusters("us-east-1", { limit: 2, after: p2.next! });
      assert.deepEqual(p3.items.map((c) => c.clusterName), ["e"]);
      assert.equal(p3.next, undefined);
      await store.close();
    });

    test("task definitions: revisions count up per family and region; latest ACTIVE", async () => {
      const store = await open();
      for (let i = 0; i < 3; i++) await store.registerTaskDefinition("us-east-1", "web", revisionOf("web"));
      await store.registerTaskDefinition("us-east-1", "db", revisionOf("db"));
      assert.equal((await store.registerTaskDefinition("eu-west-1", "web", revisionOf("web", "eu-west-1"))).revision, 1);
      assert.equal((await store.getTaskDefinition("us-east-1", "web"))?.revision, 3);
      const inactive = await store.setTaskDefinitionStatus("us-east-1", "web", 3, "INACTIVE", 42);
      assert.equal(inactive?.deregisteredAt, 42);
      assert.equal((await store.getTaskDefinition("us-east-1", "web"))?.revision, 2);
      assert.equal((await store.getTaskDefinition("us-east-1", "web", 3))?.status, "INACTIVE");
      assert.equal(await store.setTaskDefinitionStatus("us-east-1", "web", 9, "INACTIVE", 1), undefined);
      await store.close();
    });

    test("task definitions: list and families with filters, order and pages", async () => {
      const store = await open();
      for (const f of ["alpha", "beta", "alpha", "gamma"]) await store.registerTaskDefinition("us-east-1", f, revisionOf(f));
      await store.setTaskDefinitionStatus("us-east-1", "gamma", 1, "INACTIVE", 1);
      const q = { region: "us-east-1", status: "ACTIVE" as const, descending: false, limit: 2 };
      const p1 = await store.listTaskDefinitions(q);
      assert.deepEqual(p1.items.map((r) => `${r.family}:${r.revision}`), ["alpha:1", "alpha:2"]);
      const p2 = await store.listTaskDefinitions({ ...q, after: p1.next! });
      assert.deepEqual(p2.items.map((r) => `${r.family}:${r.revision}`), ["beta:1"]);
      assert.equal(p2.next, undefined);
      const desc = await store.listTaskDefinitions({ ...q, descending: true, limit: 10 });
      assert.deepEqual(desc.items.map((r) => `${r.family}:${r.revision}`), ["beta:1", "alpha:2", "alpha:1"]);
      const alphaOnly = await store.listTaskDefinitions({ ...q, family: "alpha", limit: 10 });
      assert.equal(alphaOnly.items.length, 2);
      const fam = { region: "us-east-1", limit: 10 };
      assert.deepEqual((await store.listTaskDefinitionFamilies({ ...fam, status: "ACTIVE" })).items, ["alpha", "beta"]);
      assert.deepEqual((await store.listTaskDefinitionFamilies({ ...fam, status: "INACTIVE" })).items, ["gamma"]);
      assert.deepEqual((await store.listTaskDefinitionFamilies({ ...fam, status: "ALL", familyPrefix: "g" })).items, ["gamma"]);
      // A prefix is literal text, not a pattern.
      assert.deepEqual((await store.listTaskDefinitionFamilies({ ...fam, status: "ALL", familyPrefix: "%" })).items, []);
      await store.close();
    });

    test("tags and account settings", async () => {
      const store = await open();
      await store.putTags("arn:x", [{ key: "a", value: "1" }]);
      assert.deepEqual(await store.getTags("arn:x"), [{ key: "a", value: "1" }]);
      await store.putTags("arn:x", []);
      assert.deepEqual(await store.getTags("arn:x"), []);
      const setting = { name: "containerInsights", value: "enabled", principalArn: "p", type: "user" as const };
      await store.putAccountSetting("us-east-1", setting);
      assert.deepEqual(await store.getAccountSettings("us-east-1", "p"), [setting]);
      assert.deepEqual(await store.getAccountSettings("eu-west-1", "p"), []);
      assert.equal(await store.deleteAccountSetting("us-east-1", "p", "containerInsights"), true);
      assert.equal(await store.deleteAccountSetting("us-east-1", "p", "containerInsights"), false);
      await store.close();
    });
  });
}
