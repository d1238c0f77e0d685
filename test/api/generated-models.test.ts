import { test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import path from "node:path";
import { fileURLToPath } from "node:url";
import type { ServiceModel } from "../../src/api/model/service-model.ts";
import { ecsModel } from "../../src/api/models/ecs.model.ts";
import { stsModel } from "../../src/api/models/sts.model.ts";

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");

test("generated models match the vendored botocore models (generate-models --check)", () => {
  const run = spawnSync(process.execPath, ["--import", "tsx", "scripts/generate-models.ts", "--check"], { cwd: ROOT, encoding: "utf8" });
  assert.equal(run.status, 0, `generate-models --check failed:\n${run.stderr}`);
});

/** Every shape reference in the model resolves. */
function danglingReferences(model: ServiceModel): string[] {
  const missing: string[] = [];
  const need = (name: string | undefined, from: string) => {
    if (name !== undefined && model.shapes[name] === undefined) missing.push(`${from} -> ${name}`);
  };
  for (const [name, op] of Object.entries(model.operations)) {
    need(op.input, name);
    need(op.output, name);
    for (const error of op.errors ?? []) need(error, name);
  }
  for (const [name, shape] of Object.entries(model.shapes)) {
    if (shape.type === "structure") for (const [m, ref] of Object.entries(shape.members)) need(ref.shape, `${name}.${m}`);
    if (shape.type === "list") need(shape.member.shape, name);
    if (shape.type === "map") {
      need(shape.key.shape, name);
      need(shape.value.shape, name);
    }
  }
  return missing;
}

test("every ECS operation has its input shape, and all references resolve", () => {
  const operations = Object.entries(ecsModel.operations);
  assert.ok(operations.length > 50);
  for (const [name, op] of operations) {
    assert.ok(op.input !== undefined, `${name} has no input`);
    assert.equal(ecsModel.shapes[op.input]?.type, "structure", `${name} input ${op.input}`);
  }
  assert.deepEqual(danglingReferences(ecsModel), []);
  assert.deepEqual(danglingReferences(stsModel), []);
});

test("metadata carries what the protocols need", () => {
  assert.deepEqual(ecsModel.metadata, {
    apiVersion: "2014-11-13",
    protocol: "json",
    jsonVersion: "1.1",
    targetPrefix: "AmazonEC2ContainerServiceV20141113",
    signingName: "ecs",
    endpointPrefix: "ecs",
    serviceId: "ECS",
  });
  assert.equal(stsModel.metadata.protocol, "query");
  assert.equal(stsModel.metadata.signingName, "sts"); // defaulted from endpointPrefix
  assert.equal(stsModel.operations["AssumeRole"]?.resultWrapper, "AssumeRoleResult");
  assert.equal(JSON.stringify(ecsModel).includes("documentation"), false);
});
