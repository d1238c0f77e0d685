// DAEMON services: one task per ACTIVE instance, whether or not its agent is connected.
import assert from "node:assert/strict";
import { test } from "node:test";
import { daemonView } from "../../src/controllers/service-controller.ts";
import type { Service } from "../../src/domain/service.ts";

const service = {
  status: "ACTIVE",
  desiredCount: 0,
  placementConstraints: [],
  deployments: [{ id: "ecs-svc/1", desiredCount: 0 }],
} as unknown as Service;

test("desired count follows ACTIVE instances, disconnected ones included; placement adds distinctInstance", () => {
  const instances: { status: string; agentConnected: boolean }[] = [
    { status: "ACTIVE", agentConnected: true },
    { status: "ACTIVE", agentConnected: false },
    { status: "DRAINING", agentConnected: true },
  ];
  const view = daemonView(service, instances);
  assert.equal(view.desiredCount, 2);
  assert.equal(view.deployments[0]!.desiredCount, 2);
  assert.deepEqual(view.placementConstraints, [{ type: "distinctInstance" }]);
  assert.equal(daemonView({ ...service, status: "DRAINING" }, [{ status: "ACTIVE" }]).desiredCount, 0);
});
