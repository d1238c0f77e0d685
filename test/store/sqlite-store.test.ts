import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { SqliteStore } from "../../src/store/sqlite-store.ts";
import { agent, instance, storeConformance, task } from "./store-conformance.ts";

storeConformance("SQLite (in memory)", async () => new SqliteStore({ path: ":memory:" }));

test("SQLite: placement reads see what another connection committed", async () => {
  const dir = mkdtempSync(join(tmpdir(), "berth-store-"));
  const path = join(dir, "berth.db");
  const [mine, other] = [new SqliteStore({ path }), new SqliteStore({ path })];
  try {
    await mine.putAgent(agent("agent-a"));
    await mine.putContainerInstance(instance("a", "agent-a"));
    await mine.createTasks([task("t1", "agent-a")]);
    assert.equal((await mine.listInstancesWithAgents("us-east-1", "default")).length, 1);
    assert.equal((await mine.reservationsOnAgents(["agent-a"]))[0]?.tasks, 1);

    await other.putAgent(agent("agent-a", 42));
    await other.putContainerInstance(instance("b", "agent-a"));
    await other.createTasks([task("t2", "agent-a", { reservedMemory: 1000 })]);
    const listed = await mine.listInstancesWithAgents("us-east-1", "default");
    assert.deepEqual(listed.map((i) => [i.instance.id, i.agent?.lastSeenAt]), [["a", 42], ["b", 42]]);
    assert.deepEqual((await mine.reservationsOnAgents(["agent-a"])).map((r) => [r.tasks, r.memory]), [[2, 1256]]);
  } finally {
    await mine.close();
    await other.close();
    rmSync(dir, { recursive: true, force: true });
  }
});
