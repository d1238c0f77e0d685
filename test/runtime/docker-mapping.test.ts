import assert from "node:assert/strict";
import { test } from "node:test";
import { logTimeParser, parseEngineTime } from "../../src/runtime/docker-mapping.ts";

test("log timestamps: the per-second cache gives parseEngineTime's milliseconds for every shape Docker writes", () => {
  const parse = logTimeParser();
  const values = [
    "2026-11-28T17:51:30.123456789Z",
    "2026-11-28T17:51:30.987Z",
    "2026-11-28T17:51:30.9Z",
    "2026-11-28T17:51:30.05Z",
    "2026-11-28T17:51:30Z",
    "2026-11-28T17:51:31.000000001Z",
    "2026-12-31T23:59:59.999999999Z",
    "2027-01-01T00:00:00.5Z",
    "2026-11-28T17:51:30.123+02:00", // not UTC: handed to parseEngineTime
    "2026-11-28T17:51:3x.1Z", // malformed second
    "2026-11-28T17:51:30.1a3Z", // malformed fraction
  ];
  for (const v of [...values, ...values.reverse()]) assert.equal(parse(v), parseEngineTime(v), v);
});
