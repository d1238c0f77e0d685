/**
 * A rolling replacement under a steady request stream, as an ECS deployment does it through the
 * control plane: register new targets, wait until they are healthy, mark the old ones draining,
 * wait for `drained`, drop them from the snapshot and stop them. Zero failed requests, in process
 * and with two proxy worker processes (which also shows health and drain reports crossing IPC).
 */
import assert from "node:assert/strict";
import { Agent } from "node:http";
import { test } from "node:test";
import type { LoadBalancerDataPlane } from "../../src/lb/load-balancer-data-plane.ts";
import { type Backend, forwardTo, freePort, get, listener, loadBalancer, newDataPlane, snapshot, startBackend, target, targetGroup, until, untilState } from "./lb-fixtures.ts";

const CLIENTS = 8;

async function swapUnderLoad(workers: number): Promise<void> {
  const olds = await Promise.all(["old-1", "old-2", "old-3"].map((n) => startBackend(n)));
  const news: Backend[] = [];
  const port = await freePort();
  const dp: LoadBalancerDataPlane = newDataPlane({ workers });
  const agent = new Agent({ keepAlive: true, maxSockets: CLIENTS });
  const group = (targets: ReturnType<typeof target>[]) => targetGroup("svc", targets);
  const apply = (targets: ReturnType<typeof target>[]) => dp.apply(snapshot([loadBalancer([listener(port, [forwardTo(group(targets))])])], [group(targets)]));
  let [ok, failed, running] = [0, 0, true];
  const failures: string[] = [];
  const served = new Map<string, number>();
  try {
    await apply(olds.map((b) => target(b.port)));
    await untilState(dp, group([]).arn, "healthy", 3);
    const stream = Array.from({ length: CLIENTS }, async () => {
      while (running) {
        try {
          const reply = await get(port, "/?delay=2", {}, agent);
          if (reply.status === 200) {
            ok++;
            const who = reply.body.split(" ")[0] ?? "";
            served.set(who, (served.get(who) ?? 0) + 1);
          } else {
            failed++;
            failures.push(`${reply.status} ${reply.body.slice(0, 60)}`);
          }
        } catch (error) {
          failed++;
          failures.push(String(error));
        }
      }
    });
    await until("traffic flowing", () => (ok > 200 ? true : undefined));
    for (const n of ["new-1", "new-2", "new-3"]) news.push(await startBackend(n));
    await apply([...olds.map((b) => target(b.port)), ...news.map((b) => target(b.port))]);
    await untilState(dp, group([]).arn, "healthy", 6);
    await apply([...olds.map((b) => target(b.port, "draining")), ...news.map((b) => target(b.port))]);
    await until("old targets drained", () => (dp.targetHealth().filter((r) => r.state === "draining" && r.drained === true).length === 3 ? true : undefined));
    const atDrain = ok;
    await apply(news.map((b) => target(b.port)));
    await Promise.all(olds.map((b) => b.close()));
    await until("more traffic after the swap", () => (ok > Math.max(atDrain + 300, 2000) ? true : undefined), 30_000);
    running = false;
    await Promise.all(stream);
    assert.equal(failed, 0, `no failed request out of ${ok + failed}: ${failures.slice(0, 5).join(" | ")}`);
    assert.ok(ok >= 2000, `a steady stream: ${ok} requests`);
    for (const n of ["old-1", "old-2", "old-3", "new-1", "new-2", "new-3"]) assert.ok((served.get(n) ?? 0) > 0, `${n} served traffic: ${JSON.stringify([...served])}`);
    const lateOld = olds.reduce((sum, b) => sum + b.hits, 0);
    assert.equal(lateOld, [...served].filter(([n]) => n.startsWith("old")).reduce((s, [, v]) => s + v, 0), "old targets served only what the client saw");
    await until("metrics reported", () => ((dp.metrics().targetGroups[group([]).arn]?.requestCount ?? 0) >= ok ? true : undefined), 3000);
  } finally {
    running = false;
    agent.destroy();
    await dp.close();
    await Promise.all([...olds, ...news].map((b) => b.close()));
  }
}

test("zero failed requests while targets are swapped, in process", () => swapUnderLoad(0));

test("zero failed requests while targets are swapped, with two worker processes", () => swapUnderLoad(2));
