/**
 * One conformance suite for every Store adapter: each adapter's test file calls
 * `storeConformance(name, factory)`. It checks the port's promises, not SQL.
 */
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { BerthError } from "../../src/core/errors.ts";
import type { AgentRecord } from "../../src/domain/agent.ts";
import type { Cluster } from "../../src/domain/cluster.ts";
import type { ContainerInstance } from "../../src/domain/container-instance.ts";
import type { Task } from "../../src/domain/task.ts";
import type { TaskDefinitionRecord } from "../../src/domain/task-definition-record.ts";
import type { AgentReservations, Store } from "../../src/store/store.ts";

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

export const agent = (agentId: string, lastSeenAt = 1): AgentRecord => ({
  agentId,
  hostname: `host-${agentId}`,
  agentVersion: "test",
  cpu: 2048,
  memoryMiB: 4096,
  fargate: false,
  attributes: {},
  connected: true,
  lastSeenAt,
  registeredAt: 1,
});

export const instance = (id: string, agentId: string, extra: Partial<ContainerInstance> = {}): ContainerInstance => ({
  region: "us-east-1",
  containerInstanceArn: `arn:aws:ecs:us-east-1:123456789012:container-instance/default/${id}`,
  id,
  clusterName: "default",
  agentId,
  ec2InstanceId: `i-${id}`,
  status: "ACTIVE",
  agentConnected: true,
  agentVersion: "test",
  hostname: `host-${id}`,
  registeredCpu: 2048,
  registeredMemory: 4096,
  reservedPorts: [22],
  attributes: [{ name: "ecs.availability-zone", value: "us-east-1a" }],
  registeredAt: 1,
  lastHeartbeatAt: 1,
  version: 0,
  ...extra,
});

export const task = (taskId: string, agentId: string, extra: Partial<Task> = {}): Task => ({
  region: "us-east-1",
  taskArn: `arn:aws:ecs:us-east-1:123456789012:task/default/${taskId}`,
  taskId,
  clusterArn: "arn:aws:ecs:us-east-1:123456789012:cluster/default",
  clusterName: "default",
  taskDefinitionArn: "arn:aws:ecs:us-east-1:123456789012:task-definition/web:1",
  family: "web",
  revision: 1,
  launchType: "EC2",
  agentId,
  networkMode: "bridge",
  lastStatus: "PROVISIONING",
  desiredStatus: "RUNNING",
  reservedCpu: 128,
  reservedMemory: 256,
  reservedPorts: [],
  overrides: {},
  resolvedContainers: [],
  volumes: [],
  group: "service:web",
  availabilityZone: "us-east-1a",
  containers: [],
  healthStatus: "UNKNOWN",
  createdAt: 1,
  version: 1,
  ...extra,
});

/** Reservations ordered by agent, ports by protocol and number, groups as a plain object. */
const sorted = (rs: AgentReservations[]) =>
  rs
    .map((r) => ({
      ...r,
      ports: [...r.ports].sort((a, b) => a.protocol.localeCompare(b.protocol) || a.port - b.port),
      groups: Object.fromEntries([...r.groups].sort(([a], [b]) => a.localeCompare(b))),
    }))
    .sort((a, b) => a.agentId.localeCompare(b.agentId));

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

    test("instances with agents: not INACTIVE, ordered by id, frozen, and current after each write", async () => {
      const store = await open();
      await store.putAgent(agent("agent-a"));
      await store.putAgent(agent("agent-b"));
      const b = await store.putContainerInstance(instance("b", "agent-a"));
      await store.putContainerInstance(instance("a", "agent-b"));
      await store.putContainerInstance(instance("c", "agent-c", { status: "INACTIVE" }));
      await store.putContainerInstance(instance("z", "agent-a", { clusterName: "other" }));
      const first = await store.listInstancesWithAgents("us-east-1", "default");
      assert.deepEqual(first.map((i) => [i.instance.id, i.agent?.agentId]), [["a", "agent-b"], ["b", "agent-a"]]);
      assert.deepEqual(first[1]!.instance, b);
      assert.ok(Object.isFrozen(first[0]!.instance) && Object.isFrozen(first[0]!.instance.attributes) && Object.isFrozen(first[0]!.agent));

      await store.putAgent(agent("agent-a", 99));
      const drained = await store.putContainerInstance({ ...b, status: "DRAINING" });
      await assert.rejects(store.putContainerInstance({ ...b, status: "INACTIVE" }), (e: BerthError) => e.code === "StaleVersion");
      await store.putContainerInstance(instance("0", "agent-x"));
      const second = await store.listInstancesWithAgents("us-east-1", "default");
      assert.deepEqual(second.map((i) => [i.instance.id, i.instance.status, i.agent?.lastSeenAt]), [
        ["0", "ACTIVE", undefined],
        ["a", "ACTIVE", 1],
        ["b", "DRAINING", 99],
      ]);
      await store.putContainerInstance({ ...drained, status: "INACTIVE" });
      assert.deepEqual((await store.listInstancesWithAgents("us-east-1", "default")).map((i) => i.instance.id), ["0", "a"]);
      assert.deepEqual(await store.listInstancesWithAgents("eu-west-1", "default"), []);
      await store.close();
    });

    test("reservations: per agent, the sums over its tasks not yet STOPPED, current after each write", async () => {
      const store = await open();
      await store.createTasks([
        task("t1", "agent-a", { reservedCpu: 100, reservedMemory: 200, reservedPorts: [{ port: 80, protocol: "tcp" }] }),
        task("t2", "agent-a", { reservedCpu: 50, reservedMemory: 50, group: "family:db", reservedPorts: [{ port: 53, protocol: "udp" }] }),
        task("t3", "agent-b", { reservedCpu: 10, reservedMemory: 20 }),
        task("t4", "agent-b", { lastStatus: "STOPPED", desiredStatus: "STOPPED" }),
      ]);
      const a = { agentId: "agent-a", tasks: 2, cpu: 150, memory: 250, ports: [{ port: 80, protocol: "tcp" }, { port: 53, protocol: "udp" }], groups: { "family:db": 1, "service:web": 1 } };
      const b = { agentId: "agent-b", tasks: 1, cpu: 10, memory: 20, ports: [], groups: { "service:web": 1 } };
      assert.deepEqual(sorted(await store.reservationsOnAgents(["agent-a", "agent-b", "agent-c", "agent-a"])), [a, b]);
      assert.deepEqual(await store.reservationsOnAgents([]), []);

      // A batch that fails as a whole leaves nothing behind.
      await assert.rejects(store.createTasks([task("t5", "agent-c"), task("t1", "agent-c")]));
      assert.deepEqual(await store.reservationsOnAgents(["agent-c"]), []);

      const t1 = (await store.getTask("us-east-1", "t1"))!;
      await store.updateTask({ ...t1, lastStatus: "RUNNING" });
      await assert.rejects(store.updateTask({ ...t1, lastStatus: "STOPPED" }), (e: BerthError) => e.code === "StaleVersion");
      assert.equal((await store.reservationsOnAgents(["agent-a"]))[0]?.tasks, 2);
      await store.updateTask({ ...t1, lastStatus: "STOPPED", version: t1.version + 1 });
      assert.deepEqual(sorted(await store.reservationsOnAgents(["agent-a"])), [
        { agentId: "agent-a", tasks: 1, cpu: 50, memory: 50, ports: [{ port: 53, protocol: "udp" }], groups: { "family:db": 1 } },
      ]);
      await store.createTasks([task("t6", "agent-c", { reservedMemory: 64 })]);
      assert.deepEqual((await store.reservationsOnAgents(["agent-c"])).map((r) => [r.tasks, r.memory]), [[1, 64]]);
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
