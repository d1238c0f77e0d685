// What the agent asks Docker for, from a container definition: CPU shares, and the log driver
// Docker runs.
import assert from "node:assert/strict";
import { test } from "node:test";
import { type ContainerContext, containerSpec } from "../../src/agent/container-config.ts";
import type { TaskSpec } from "../../src/protocol/agent-protocol.ts";

const task: TaskSpec = {
  taskArn: "arn:aws:ecs:us-east-1:000000000000:task/default/0123456789abcdef0123456789abcdef",
  taskId: "0123456789abcdef0123456789abcdef",
  clusterArn: "arn:aws:ecs:us-east-1:000000000000:cluster/default",
  family: "web",
  revision: 1,
  taskDefinitionArn: "arn:aws:ecs:us-east-1:000000000000:task-definition/web:1",
  launchType: "EC2",
  networkMode: "bridge",
  containers: [],
  volumes: [],
  availabilityZone: "us-east-1a",
  region: "us-east-1",
};
const ctx: ContainerContext = { task, agentId: "agent-1", networkMode: "bridge", bindIp: "127.0.0.1", extraEnv: {}, dockerNameOf: (n) => n };
const spec = (extra: Record<string, unknown>) => containerSpec({ name: "app", image: "busybox", ...extra }, ctx);

test("cpu units become CPU shares within the kernel's bounds; no cpu keeps Docker's default", () => {
  const cases: [cpu: number | undefined, shares: number | undefined][] = [[undefined, undefined], [0, undefined], [1, 2], [2, 2], [512, 512], [300_000, 262_144]];
  for (const [cpu, shares] of cases) assert.equal(spec(cpu === undefined ? {} : { cpu }).cpuShares, shares, `cpu ${cpu}`);
});

test("awslogs runs on Docker's json-file with only the delivery options; Docker's own drivers keep theirs", () => {
  const awslogs = { "awslogs-group": "/ecs/web", "awslogs-region": "us-east-1", mode: "non-blocking", "max-buffer-size": "25m" };
  assert.deepEqual(spec({ logConfiguration: { logDriver: "awslogs", options: awslogs } }).logDriver, {
    type: "json-file",
    config: { mode: "non-blocking", "max-buffer-size": "25m" },
  });
  assert.deepEqual(spec({ logConfiguration: { logDriver: "awslogs", options: { "awslogs-group": "/g" } } }).logDriver, { type: "json-file", config: {} });
  assert.deepEqual(spec({ logConfiguration: { logDriver: "json-file", options: { "max-size": "1m", mode: "blocking" } } }).logDriver, {
    type: "json-file",
    config: { "max-size": "1m", mode: "blocking" },
  });
  assert.equal(spec({ logConfiguration: { logDriver: "splunk", options: {} } }).logDriver, undefined, "drivers Berth does not run keep the host's default");
  assert.equal(spec({}).logDriver, undefined);
});
