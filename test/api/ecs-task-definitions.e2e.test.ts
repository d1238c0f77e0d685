// Task definitions end to end: the AWS CLI and the JS SDK against a real Berth server.
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import {
  DeleteTaskDefinitionsCommand,
  DeregisterTaskDefinitionCommand,
  DescribeTaskDefinitionCommand,
  ListTaskDefinitionFamiliesCommand,
  ListTaskDefinitionsCommand,
  RegisterTaskDefinitionCommand,
} from "@aws-sdk/client-ecs";
import { ROOT, type TestServer, aws, ecsClient, startTestServer } from "../support/harness.ts";

const SAMPLE_PATH = join(ROOT, "test/fixtures/api-blue.json");
const SAMPLE = JSON.parse(readFileSync(SAMPLE_PATH, "utf8")) as Record<string, unknown>;

describe("task definitions", () => {
  let server: TestServer;
  before(async () => (server = await startTestServer()));
  after(async () => server.close());

  test("the sample registers with the CLI and describes back exactly as registered", async () => {
    const first = await aws(server, ["ecs", "register-task-definition", "--cli-input-json", `file://${SAMPLE_PATH}`]);
    assert.equal(first.code, 0, first.stderr);
    assert.equal(first.json.taskDefinition.revision, 1);
    const second = await aws(server, ["ecs", "register-task-definition", "--cli-input-json", `file://${SAMPLE_PATH}`]);
    assert.equal(second.json.taskDefinition.revision, 2);

    const described = await aws(server, ["ecs", "describe-task-definition", "--task-definition", "api-blue:1"]);
    assert.equal(described.code, 0, described.stderr);
    const td = described.json.taskDefinition;
    for (const [key, value] of Object.entries(SAMPLE)) assert.deepEqual(td[key], value, `field ${key} round-trips`);
    assert.equal(td.revision, 1);
    assert.equal(td.status, "ACTIVE");
    assert.match(td.taskDefinitionArn, /^arn:aws:ecs:ap-south-1:\d{12}:task-definition\/api-blue:1$/);
    assert.deepEqual([...td.compatibilities].sort(), ["EC2", "FARGATE"]);
    assert.ok(Date.parse(td.registeredAt) > Date.parse("2026-01-01"), `registeredAt ${td.registeredAt}`);
    assert.match(td.registeredBy, /^arn:aws:iam::\d{12}:user\/berth-admin$/);

    const latest = await aws(server, ["ecs", "describe-task-definition", "--task-definition", "api-blue"]);
    assert.equal(latest.json.taskDefinition.revision, 2);
  });

  test("cpu and memory strings are normalised to integers", async () => {
    const client = ecsClient(server);
    const out = await client.send(
      new RegisterTaskDefinitionCommand({
        family: "sized",
        requiresCompatibilities: ["FARGATE"],
        networkMode: "awsvpc",
        cpu: "1 vCPU",
        memory: "2GB",
        containerDefinitions: [{ name: "app", image: "busybox" }],
      }),
    );
    assert.equal(out.taskDefinition?.cpu, "1024");
    assert.equal(out.taskDefinition?.memory, "2048");
  });

  test("errors come back as ECS gives them", async () => {
    const client = ecsClient(server);
    await assert.rejects(
      client.send(new RegisterTaskDefinitionCommand({ family: "x" } as never)),
      (e: Error) => e.name === "ClientException" && /Value null at 'containerDefinitions' failed to satisfy constraint: Member must not be null/.test(e.message),
    );
    await assert.rejects(
      client.send(new RegisterTaskDefinitionCommand({ family: "x", containerDefinitions: [] })),
      (e: Error) => e.name === "ClientException" && e.message === "Container list cannot be empty.",
    );
    await assert.rejects(
      client.send(
        new RegisterTaskDefinitionCommand({
          family: "bad-fargate",
          requiresCompatibilities: ["FARGATE"],
          networkMode: "awsvpc",
          cpu: "256",
          memory: "4096",
          containerDefinitions: [{ name: "a", image: "b" }],
        }),
      ),
      (e: Error) => e.name === "ClientException" && /No Fargate configuration exists for given values/.test(e.message),
    );
    await assert.rejects(
      client.send(new DescribeTaskDefinitionCommand({ taskDefinition: "nope:1" })),
      (e: Error) => e.name === "ClientException" && e.message === "Unable to describe task definition.",
    );
    // Nothing was registered by the failed calls.
    const families = await client.send(new ListTaskDefinitionFamiliesCommand({ status: "ALL" }));
    assert.ok(!families.families?.includes("x"));
    assert.ok(!families.families?.includes("bad-fargate"));

    const cli = await aws(server, ["ecs", "register-task-definition", "--family", "x", "--container-definitions", "[]"]);
    assert.notEqual(cli.code, 0);
    assert.match(cli.stderr, /ClientException.*Container list cannot be empty/);
  });

  test("list, families, paging, deregister and delete", async () => {
    const client = ecsClient(server);
    for (let i = 0; i < 3; i++) {
      await client.send(new RegisterTaskDefinitionCommand({ family: "paged", containerDefinitions: [{ name: "c", image: "i", memory: 64 }] }));
    }
    const page1 = await client.send(new ListTaskDefinitionsCommand({ familyPrefix: "paged", maxResults: 2 }));
    assert.equal(page1.taskDefinitionArns?.length, 2);
    assert.ok(page1.nextToken);
    const page2 = await client.send(new ListTaskDefinitionsCommand({ familyPrefix: "paged", maxResults: 2, nextToken: page1.nextToken }));
    assert.deepEqual(page2.taskDefinitionArns?.map((a) => a.split(":").pop()), ["3"]);
    assert.equal(page2.nextToken, undefined);

    const desc = await client.send(new ListTaskDefinitionsCommand({ familyPrefix: "paged", sort: "DESC" }));
    assert.deepEqual(desc.taskDefinitionArns?.map((a) => a.split(":").pop()), ["3", "2", "1"]);

    // The CLI follows nextToken itself: --page-size 1 still lists every revision.
    const all = await aws(server, ["ecs", "list-task-definitions", "--family-prefix", "paged", "--page-size", "1"]);
    assert.equal(all.json.taskDefinitionArns.length, 3);

    const dereg = await client.send(new DeregisterTaskDefinitionCommand({ taskDefinition: "paged:3" }));
    assert.equal(dereg.taskDefinition?.status, "INACTIVE");
    assert.ok(dereg.taskDefinition?.deregisteredAt instanceof Date);
    const latest = await client.send(new DescribeTaskDefinitionCommand({ taskDefinition: "paged" }));
    assert.equal(latest.taskDefinition?.revision, 2, "family alone names the latest ACTIVE revision");
    const inactive = await client.send(new ListTaskDefinitionsCommand({ familyPrefix: "paged", status: "INACTIVE" }));
    assert.equal(inactive.taskDefinitionArns?.length, 1);

    // Debian's CLI (2.9) predates DeleteTaskDefinitions; the SDK has it.
    const del = await client.send(new DeleteTaskDefinitionsCommand({ taskDefinitions: ["paged:3", "paged:2"] }));
    assert.equal(del.taskDefinitions?.[0]?.status, "DELETE_IN_PROGRESS");
    assert.equal(del.failures?.length, 1);
    assert.match(del.failures?.[0]?.arn ?? "", /paged:2$/);

    const again = await aws(server, ["ecs", "deregister-task-definition", "--task-definition", "paged:3"]);
    assert.notEqual(again.code, 0);
    assert.match(again.stderr, /ClientException.*in the process of being deleted/);

    await client.send(new DeregisterTaskDefinitionCommand({ taskDefinition: "paged:1" }));
    await client.send(new DeregisterTaskDefinitionCommand({ taskDefinition: "paged:2" }));
    const activeFamilies = await client.send(new ListTaskDefinitionFamiliesCommand({ familyPrefix: "pag" }));
    assert.deepEqual(activeFamilies.families, []);
    const inactiveFamilies = await client.send(new ListTaskDefinitionFamiliesCommand({ familyPrefix: "pag", status: "INACTIVE" }));
    assert.deepEqual(inactiveFamilies.families, ["paged"]);
  });

  test("tags on a task definition", async () => {
    const reg = await aws(server, [
      "ecs", "register-task-definition", "--family", "tagged",
      "--container-definitions", '[{"name":"c","image":"i","memory":32}]',
      "--tags", "key=team,value=core",
    ]);
    assert.equal(reg.code, 0, reg.stderr);
    assert.deepEqual(reg.json.tags, [{ key: "team", value: "core" }]);
    const withTags = await aws(server, ["ecs", "describe-task-definition", "--task-definition", "tagged:1", "--include", "TAGS"]);
    assert.deepEqual(withTags.json.tags, [{ key: "team", value: "core" }]);
    const arn = reg.json.taskDefinition.taskDefinitionArn as string;
    assert.equal((await aws(server, ["ecs", "tag-resource", "--resource-arn", arn, "--tags", "key=env,value=prod"])).code, 0);
    const listed = await aws(server, ["ecs", "list-tags-for-resource", "--resource-arn", arn]);
    assert.deepEqual(listed.json.tags, [{ key: "team", value: "core" }, { key: "env", value: "prod" }]);
  });
});
