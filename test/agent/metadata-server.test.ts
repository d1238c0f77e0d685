// The task metadata endpoint through metadataHandler, with a fake MetadataSource.
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { after, before, describe, test } from "node:test";
import { type MetadataSource, ensureHostAddress, metadataHandler, startMetadataServer } from "../../src/agent/metadata-server.ts";
import type { TaskSnapshot } from "../../src/agent/task-metadata.ts";
import type { TaskSpec } from "../../src/protocol/agent-protocol.ts";
import type { ContainerState } from "../../src/runtime/runtime.ts";

const T0 = Date.parse("2024-05-01T10:00:00.000Z");
const ACCOUNT = "arn:aws:ecs:us-east-1:000000000000";
const ISO_RE = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$/;

function state(id: string, over: Partial<ContainerState> = {}): ContainerState {
  return {
    id,
    name: `ecs-${id}`,
    image: "busybox:latest",
    imageId: `sha256:${id}img`,
    labels: { "com.amazonaws.ecs.container-name": id, team: "a" },
    status: "running",
    running: true,
    oomKilled: false,
    createdAt: T0,
    startedAt: T0 + 1000,
    ports: [],
    networks: {},
    ...over,
  };
}

function spec(over: Partial<TaskSpec>): TaskSpec {
  return {
    taskArn: `${ACCOUNT}:task/default/abc`,
    taskId: "abc",
    clusterArn: `${ACCOUNT}:cluster/default`,
    family: "web",
    revision: 3,
    taskDefinitionArn: `${ACCOUNT}:task-definition/web:3`,
    launchType: "FARGATE",
    networkMode: "awsvpc",
    containers: [],
    volumes: [],
    availabilityZone: "us-east-1a",
    region: "us-east-1",
    ...over,
  };
}

const appDef = {
  name: "app",
  image: "busybox:latest",
  cpu: 256,
  memory: 512,
  portMappings: [{ containerPort: 8080, protocol: "tcp" }],
  healthCheck: { command: ["CMD-SHELL", "true"] },
  logConfiguration: { logDriver: "awslogs", options: { "awslogs-group": "/ecs/web" } },
};

const fargate: TaskSnapshot = {
  spec: spec({ cpu: 512, memory: 1024 }),
  knownStatus: "RUNNING",
  desiredStatus: "RUNNING",
  pullStartedAt: T0 - 5000,
  pullStoppedAt: T0 - 1000,
  ipAddress: "172.18.0.5",
  clusterName: "default",
  availabilityZone: "us-east-1a",
  containers: [
    { name: "app", definition: appDef, containerArn: `${ACCOUNT}:container/default/abc/app`, state: state("aaa"), knownStatus: "RUNNING", health: "HEALTHY" },
    { name: "late", definition: { name: "late", image: "busybox" }, containerArn: `${ACCOUNT}:container/default/abc/late`, knownStatus: "PENDING" },
  ],
};

const webState = state("bbb", {
  ports: [{ containerPort: 80, protocol: "tcp", hostPort: 32768, hostIp: "0.0.0.0" }],
  networks: { bridge: { ipAddress: "172.17.0.3", gateway: "172.17.0.1" } },
});
const jobState = state("ccc", { status: "exited", running: false, exitCode: 3, finishedAt: T0 + 9000, networks: { bridge: { ipAddress: "" } } });
const bridge: TaskSnapshot = {
  spec: spec({ taskArn: `${ACCOUNT}:task/default/def`, taskId: "def", launchType: "EC2", networkMode: "bridge", family: "legacy", revision: 7 }),
  knownStatus: "RUNNING",
  desiredStatus: "RUNNING",
  executionStoppedAt: T0 + 9500,
  clusterName: "default",
  availabilityZone: "us-east-1b",
  containers: [
    { name: "web", definition: { name: "web", image: "nginx", memoryReservation: 64 }, containerArn: `${ACCOUNT}:container/default/def/web`, state: webState, knownStatus: "RUNNING" },
    { name: "job", definition: { name: "job", image: "busybox", cpu: 1 }, containerArn: `${ACCOUNT}:container/default/def/job`, state: jobState, knownStatus: "STOPPED" },
  ],
};

const dockerStats = (id: string): Record<string, unknown> => ({
  read: "2024-05-01T10:00:05Z",
  id,
  cpu_stats: { cpu_usage: { total_usage: 1 } },
  memory_stats: { usage: 1024 },
  networks: { eth0: { rx_bytes: 10, tx_bytes: 20 } },
});

const tokens: Record<string, { task: TaskSnapshot; containerName: string }> = {
  "tok-app": { task: fargate, containerName: "app" },
  "tok-late": { task: fargate, containerName: "late" },
  "tok-web": { task: bridge, containerName: "web" },
  "tok-job": { task: bridge, containerName: "job" },
};

const source: MetadataSource = {
  lookup: (token) => tokens[token],
  stats: async (id) => {
    if (id === "ccc") throw new Error("no such container");
    return dockerStats(id);
  },
};

let server: Server;
let base: string;

before(async () => {
  server = createServer(metadataHandler(source));
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
after(async () => {
  server.closeAllConnections();
  await new Promise<void>((resolve) => server.close(() => resolve()));
});

async function get(path: string, init?: RequestInit): Promise<{ status: number; body: Record<string, any>; res: Response }> {
  const res = await fetch(`${base}${path}`, init);
  assert.match(res.headers.get("content-type") ?? "", /application\/json/);
  return { status: res.status, body: (await res.json()) as Record<string, any>, res };
}

describe("awsvpc FARGATE task", () => {
  test("container metadata", async () => {
    const { status, body } = await get("/v4/tok-app");
    assert.equal(status, 200);
    assert.equal(body.DockerId, "aaa");
    assert.equal(body.Name, "app");
    assert.equal(body.DockerName, "ecs-aaa");
    assert.equal(body.Image, "busybox:latest");
    assert.equal(body.ImageID, "sha256:aaaimg");
    assert.deepEqual(body.Labels, { "com.amazonaws.ecs.container-name": "aaa", team: "a" });
    assert.equal(body.DesiredStatus, "RUNNING");
    assert.equal(body.KnownStatus, "RUNNING");
    assert.deepEqual(body.Limits, { CPU: 256, Memory: 512 });
    assert.equal(body.CreatedAt, "2024-05-01T10:00:00.000Z");
    assert.equal(body.StartedAt, "2024-05-01T10:00:01.000Z");
    assert.equal(body.FinishedAt, undefined);
    assert.equal(body.ExitCode, undefined);
    assert.equal(body.Type, "NORMAL");
    assert.equal(body.ContainerARN, `${ACCOUNT}:container/default/abc/app`);
    assert.equal(body.LogDriver, "awslogs");
    assert.deepEqual(body.LogOptions, { "awslogs-group": "/ecs/web" });
    assert.deepEqual(body.Networks, [
      {
        NetworkMode: "awsvpc",
        IPv4Addresses: ["172.18.0.5"],
        AttachmentIndex: 0,
        MACAddress: "02:42:ac:12:00:05",
        IPv4SubnetCIDRBlock: "172.18.0.0/16",
        PrivateDNSName: "ip-172-18-0-5.ec2.internal",
        SubnetGatewayIpv4Address: "172.18.0.1/16",
      },
    ]);
    assert.deepEqual(body.Ports, [{ ContainerPort: 8080, Protocol: "tcp", HostPort: 8080 }]);
    assert.equal(body.Health.status, "HEALTHY");
    assert.match(body.Health.statusSince, ISO_RE);
    assert.equal(body.Snapshotter, "overlayfs");
    assert.equal(body.RestartCount, 0);
  });

  test("health statusSince holds still between requests", async () => {
    const first = (await get("/v4/tok-app")).body.Health.statusSince;
    await new Promise((r) => setTimeout(r, 5));
    assert.equal((await get("/v4/tok-app")).body.Health.statusSince, first);
  });

  test("task metadata", async () => {
    const { status, body } = await get("/v4/tok-app/task");
    assert.equal(status, 200);
    assert.equal(body.Cluster, `${ACCOUNT}:cluster/default`);
    assert.equal(body.TaskARN, `${ACCOUNT}:task/default/abc`);
    assert.equal(body.Family, "web");
    assert.equal(body.Revision, "3");
    assert.equal(body.DesiredStatus, "RUNNING");
    assert.equal(body.KnownStatus, "RUNNING");
    assert.deepEqual(body.Limits, { CPU: 0.5, Memory: 1024 });
    assert.equal(body.PullStartedAt, "2024-05-01T09:59:55.000Z");
    assert.equal(body.PullStoppedAt, "2024-05-01T09:59:59.000Z");
    assert.equal(body.ExecutionStoppedAt, undefined);
    assert.equal(body.AvailabilityZone, "us-east-1a");
    assert.equal(body.LaunchType, "FARGATE");
    assert.equal(body.VPCID, "vpc-berth");
    assert.equal("ServiceName" in body, false);
    assert.deepEqual(body.EphemeralStorageMetrics, { Utilized: 0, Reserved: 20480 });
    assert.equal(body.ClockDrift.ClockSynchronizationStatus, "SYNCHRONIZED");
    assert.equal(typeof body.ClockDrift.ClockErrorBound, "number");
    assert.match(body.ClockDrift.ReferenceTimestamp, ISO_RE);
    assert.deepEqual(body.Containers.map((c: { Name: string }) => c.Name), ["app", "late"]);
    const late = body.Containers[1];
    assert.equal(late.DockerId, "");
    assert.equal(late.KnownStatus, "PENDING");
    assert.deepEqual(late.Limits, { CPU: 2 });
    assert.equal(late.Health, undefined);
  });

  test("container stats are Docker's JSON as is, networks included", async () => {
    const { status, body } = await get("/v4/tok-app/stats");
    assert.equal(status, 200);
    assert.deepEqual(body, dockerStats("aaa"));
  });

  test("a container not created yet has empty stats", async () => {
    const { status, body } = await get("/v4/tok-late/stats");
    assert.equal(status, 200);
    assert.deepEqual(body, {});
  });

  test("task stats map every created container's DockerId to its stats", async () => {
    const { status, body } = await get("/v4/tok-app/task/stats");
    assert.equal(status, 200);
    assert.deepEqual(body, { aaa: dockerStats("aaa") });
  });
});

describe("bridge EC2 task", () => {
  test("container metadata", async () => {
    const { status, body } = await get("/v4/tok-web");
    assert.equal(status, 200);
    assert.equal(body.DockerId, "bbb");
    assert.equal(body.Image, "nginx");
    assert.deepEqual(body.Networks, [{ NetworkMode: "bridge", IPv4Addresses: ["172.17.0.3"] }]);
    assert.deepEqual(body.Ports, [{ ContainerPort: 80, Protocol: "tcp", HostPort: 32768, HostIp: "0.0.0.0" }]);
    assert.deepEqual(body.Limits, { CPU: 2 });
    assert.equal(body.Health, undefined);
    assert.equal(body.LogDriver, undefined);
  });

  test("a stopped container reports its exit code and finish time", async () => {
    const { body } = await get("/v4/tok-job");
    assert.equal(body.KnownStatus, "STOPPED");
    assert.equal(body.DesiredStatus, "STOPPED");
    assert.equal(body.ExitCode, 3);
    assert.equal(body.FinishedAt, "2024-05-01T10:00:09.000Z");
    assert.equal(body.Ports, undefined);
    assert.deepEqual(body.Networks, [{ NetworkMode: "bridge", IPv4Addresses: [] }]);
  });

  test("task metadata", async () => {
    const { body } = await get("/v4/tok-web/task");
    assert.equal(body.Family, "legacy");
    assert.equal(body.Revision, "7");
    assert.equal(body.LaunchType, "EC2");
    assert.equal(body.AvailabilityZone, "us-east-1b");
    assert.equal(body.ExecutionStoppedAt, "2024-05-01T10:00:09.500Z");
    assert.equal(body.Limits, undefined);
    assert.equal(body.VPCID, undefined);
    assert.equal(body.EphemeralStorageMetrics, undefined);
    assert.equal(body.ClockDrift.ClockSynchronizationStatus, "SYNCHRONIZED");
    assert.equal(body.Containers.length, 2);
  });

  test("task stats report null for a container whose stats fail", async () => {
    const { body } = await get("/v4/tok-web/task/stats");
    assert.deepEqual(body, { bbb: dockerStats("bbb"), ccc: null });
  });
});

describe("routing", () => {
  test("v3 serves the same content as v4", async () => {
    for (const path of ["", "/stats", "/task/stats"]) {
      assert.deepEqual((await get(`/v3/tok-web${path}`)).body, (await get(`/v4/tok-web${path}`)).body);
    }
    const v3 = (await get("/v3/tok-app/task")).body;
    const v4 = (await get("/v4/tok-app/task")).body;
    assert.deepEqual({ ...v3, ClockDrift: undefined }, { ...v4, ClockDrift: undefined });
  });

  test("a trailing slash and a query string are tolerated", async () => {
    assert.equal((await get("/v4/tok-web/task/?x=1")).body.Family, "legacy");
  });

  test("an unknown token is 404 with a JSON error", async () => {
    for (const path of ["/v4/nope", "/v4/nope/task", "/v3/nope/stats", "/v4/%E0%A4%A"]) {
      const { status, body } = await get(path);
      assert.equal(status, 404, path);
      assert.equal(typeof body.error, "string");
    }
  });

  test("an unknown path is 404", async () => {
    for (const path of ["/", "/v2/tok-web", "/v4/tok-web/other", "/v4/tok-web/stats/task"]) {
      assert.equal((await get(path)).status, 404, path);
    }
  });

  test("anything but GET is 405", async () => {
    for (const method of ["POST", "PUT", "DELETE"]) {
      const { status, body, res } = await get("/v4/tok-app/task", { method });
      assert.equal(status, 405, method);
      assert.equal(res.headers.get("allow"), "GET");
      assert.equal(typeof body.error, "string");
    }
  });
});

describe("startMetadataServer", () => {
  test("listens on the given host and port, and closes", async () => {
    const started = await startMetadataServer({ source, host: "127.0.0.1", port: 0 });
    assert.ok(started.port > 0);
    const res = await fetch(`http://127.0.0.1:${started.port}/v4/tok-web/task`);
    assert.equal(((await res.json()) as { Family: string }).Family, "legacy");
    await started.close();
    await started.close();
    await assert.rejects(fetch(`http://127.0.0.1:${started.port}/v4/tok-web/task`));
  });
});

describe("ensureHostAddress", () => {
  test("returns false, without throwing, for a device that does not exist", async () => {
    assert.equal(await ensureHostAddress("169.254.170.2", "berth-nodev0"), false);
  });

  test("returns false for an address that is not IPv4", async () => {
    assert.equal(await ensureHostAddress("not-an-ip", "lo"), false);
  });

  test("an address already on the device is left alone and reported present", async () => {
    const result = await ensureHostAddress("127.0.0.1", "lo");
    assert.equal(typeof result, "boolean");
    if (spawnSync("ip", ["-V"]).status === 0) assert.equal(result, true);
  });
});
