// Task role credentials on the agent: ids, the caller check, and refresh at half-life.
import assert from "node:assert/strict";
import { test } from "node:test";
import type { RoleCredentials } from "../../src/protocol/agent-protocol.ts";
import { TaskCredentials } from "../../src/agent/task-credentials.ts";

const A = "arn:aws:ecs:us-east-1:123456789012:task/default/aaaa";
const B = "arn:aws:ecs:us-east-1:123456789012:task/default/bbbb";

function setup() {
  let now = 1_000_000;
  let issued = 0;
  const addresses = new Map<string, ReadonlySet<string> | undefined>([
    [A, new Set(["172.30.0.5"])],
    [B, new Set(["172.30.0.6"])],
  ]);
  const creds = new TaskCredentials({
    secret: "agent-secret",
    now: () => now,
    tasks: () => addresses.keys(),
    addressesOf: (arn) => addresses.get(arn),
    fetch: async (arn): Promise<RoleCredentials> => ({
      roleArn: `role-of-${arn.slice(-4)}`,
      accessKeyId: `ASIA${++issued}`,
      secretAccessKey: "secret",
      sessionToken: "token",
      expiration: now + 3600_000,
    }),
  });
  return { creds, addresses, advance: (ms: number) => (now += ms), issuedCount: () => issued };
}

test("a task gets its own role's credentials at its id, in the ECS agent's JSON", async () => {
  const { creds } = setup();
  const got = await creds.serve(creds.idFor(A), "::ffff:172.30.0.5");
  assert.equal(got?.RoleArn, "role-of-aaaa");
  assert.match(got?.Expiration ?? "", /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/, "Expiration is ISO 8601 without milliseconds");
  assert.match(creds.idFor(A), /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/, "the id looks like the ECS agent's");
  assert.notEqual(creds.idFor(A), creds.idFor(B), "tasks have different ids");
});

test("another task's container, knowing the id, is refused; an unknown id is refused", async () => {
  const { creds } = setup();
  assert.equal(await creds.serve(creds.idFor(A), "172.30.0.6"), undefined, "task B may not read task A's credentials");
  assert.equal(await creds.serve("00000000-0000-0000-0000-000000000000", "172.30.0.5"), undefined, "unknown id");
});

test("credentials are reused while more than half their life remains, then replaced before expiry", async () => {
  const { creds, advance, issuedCount } = setup();
  const first = await creds.serve(creds.idFor(A), "172.30.0.5");
  advance(29 * 60_000);
  const again = await creds.serve(creds.idFor(A), "172.30.0.5");
  assert.equal(again?.AccessKeyId, first?.AccessKeyId, "same set within the first half of its life");
  advance(2 * 60_000);
  const rotated = await creds.serve(creds.idFor(A), "172.30.0.5");
  assert.notEqual(rotated?.AccessKeyId, first?.AccessKeyId, "a new set once half the life has passed");
  assert.ok(Date.parse(rotated!.Expiration) > Date.parse(first!.Expiration), "the new set expires later");
  assert.equal(issuedCount(), 2, "two sets issued in all");
});
