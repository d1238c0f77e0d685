// Properties of AWS's evaluation logic over random policies and requests: a Deny never widens
// access, an Allow never narrows it, NotAction/NotResource are the complements of
// Action/Resource, and the wildcard matcher agrees with a regular-expression oracle.
import { test } from "node:test";
import assert from "node:assert/strict";
import fc from "fast-check";
import { wildcardMatch } from "../../src/domain/iam-conditions.ts";
import { evaluate } from "../../src/domain/iam-evaluate.ts";
import { type Policy, parsePolicy } from "../../src/domain/iam-policy.ts";

const services = ["ecs", "ssm", "iam", "logs"];
const verbs = ["Describe", "List", "Get", "Create", "Delete", "Put"];
const nouns = ["Clusters", "Services", "Parameter", "User", "LogEvents"];

const action = fc.tuple(fc.constantFrom(...services), fc.constantFrom(...verbs), fc.constantFrom(...nouns)).map(([s, v, n]) => `${s}:${v}${n}`);
const actionPattern = fc.oneof(
  action,
  fc.constantFrom(...services).map((s) => `${s}:*`),
  fc.tuple(fc.constantFrom(...services), fc.constantFrom(...verbs)).map(([s, v]) => `${s}:${v}*`),
  fc.constant("*"),
  fc.constantFrom("*:Get*", "ecs:?escribe*", "IAM:create*"),
);
const resource = fc.tuple(fc.constantFrom("ap-south-1", "eu-west-1"), fc.constantFrom("prod", "staging", "dev"), fc.constantFrom("a", "b", "db"))
  .map(([region, env, name]) => `arn:aws:ssm:${region}:123456789012:parameter/${env}/${name}`);
const resourcePattern = fc.oneof(
  resource,
  fc.constantFrom("*", "arn:aws:ssm:*:123456789012:parameter/prod/*", "arn:aws:ssm:ap-south-1:*:parameter/*", "arn:aws:ssm:*:*:parameter/*/d?"),
);
const context = fc.record({ "aws:requestedregion": fc.constantFrom("ap-south-1", "eu-west-1"), "aws:username": fc.constantFrom("bob", "ann") });
const condition = fc.option(
  fc.oneof(
    fc.constantFrom("ap-south-1", "eu-west-1").map((r) => ({ StringEquals: { "aws:RequestedRegion": r } })),
    fc.constantFrom("bob", "ann").map((u) => ({ StringNotEquals: { "aws:username": u } })),
  ),
  { nil: undefined },
);

function statementOf(effect: "Allow" | "Deny", actions: string[], resources: string[], notAction: boolean, notResource: boolean, cond: object | undefined) {
  return {
    Effect: effect,
    [notAction ? "NotAction" : "Action"]: actions,
    [notResource ? "NotResource" : "Resource"]: resources,
    ...(cond ? { Condition: cond } : {}),
  };
}

const rawStatement = (effect: fc.Arbitrary<"Allow" | "Deny">) =>
  fc.tuple(effect, fc.array(actionPattern, { minLength: 1, maxLength: 3 }), fc.array(resourcePattern, { minLength: 1, maxLength: 2 }), fc.boolean(), fc.boolean(), condition)
    .map(([e, a, r, na, nr, c]) => statementOf(e, a, r, na, nr, c));
const anyStatement = rawStatement(fc.constantFrom("Allow" as const, "Deny" as const));
const policyOf = (statements: object[]): Policy => parsePolicy(JSON.stringify({ Version: "2012-10-17", Statement: statements }), "identity");
const policies = fc.array(fc.array(anyStatement, { minLength: 1, maxLength: 4 }), { maxLength: 3 });
const request = fc.record({ action, resource, context }).map((r) => ({ ...r, context: new Map(Object.entries(r.context)) }));

test("adding a Deny statement never widens access", () => {
  fc.assert(
    fc.property(policies, rawStatement(fc.constant("Deny" as const)), request, (docs, deny, req) => {
      const before = evaluate(docs.map(policyOf), req);
      const after = evaluate([...docs.map(policyOf), policyOf([deny])], req);
      return after !== "Allow" || before === "Allow";
    }),
    { numRuns: 500 },
  );
});

test("adding an Allow statement never narrows access and never lifts an explicit deny", () => {
  fc.assert(
    fc.property(policies, rawStatement(fc.constant("Allow" as const)), request, (docs, allow, req) => {
      const before = evaluate(docs.map(policyOf), req);
      const after = evaluate([...docs.map(policyOf), policyOf([allow])], req);
      if (before === "Allow") return after === "Allow";
      if (before === "ExplicitDeny") return after === "ExplicitDeny";
      return true;
    }),
    { numRuns: 500 },
  );
});

test("NotAction and NotResource are the complements of Action and Resource", () => {
  fc.assert(
    fc.property(fc.array(actionPattern, { minLength: 1, maxLength: 3 }), fc.array(resourcePattern, { minLength: 1, maxLength: 2 }), request, (actions, resources, req) => {
      const applies = (s: object) => evaluate([policyOf([s])], req) === "Allow";
      const byAction = applies(statementOf("Allow", actions, ["*"], false, false, undefined));
      const byNotAction = applies(statementOf("Allow", actions, ["*"], true, false, undefined));
      const byResource = applies(statementOf("Allow", ["*"], resources, false, false, undefined));
      const byNotResource = applies(statementOf("Allow", ["*"], resources, false, true, undefined));
      return byAction !== byNotAction && byResource !== byNotResource;
    }),
    { numRuns: 500 },
  );
});

test("statement order does not change the decision", () => {
  fc.assert(
    fc.property(fc.array(anyStatement, { minLength: 1, maxLength: 6 }), request, (statements, req) => {
      const forward = evaluate([policyOf(statements)], req);
      const backward = evaluate([policyOf([...statements].reverse())], req);
      const split = evaluate(statements.map((s) => policyOf([s])), req);
      return forward === backward && forward === split;
    }),
    { numRuns: 300 },
  );
});

test("the wildcard matcher agrees with a regular-expression oracle", () => {
  const text = fc.string({ unit: fc.constantFrom("a", "b", ":", "/"), maxLength: 12 });
  const pattern = fc.string({ unit: fc.constantFrom("a", "b", ":", "*", "?"), maxLength: 8 });
  fc.assert(
    fc.property(pattern, text, (p, t) => {
      const oracle = new RegExp(`^${p.replace(/[.+^${}()|[\]\\/]/g, "\\$&").replace(/\*/g, ".*").replace(/\?/g, ".")}$`, "s");
      return wildcardMatch(p, t, false) === oracle.test(t);
    }),
    { numRuns: 2000 },
  );
});

// Sanity: the generators do produce every decision, so the properties above are not vacuous.
test("the generated cases cover allow, implicit deny and explicit deny", () => {
  const seen = new Set<string>();
  fc.assert(
    fc.property(policies, request, (docs, req) => {
      seen.add(evaluate(docs.map(policyOf), req));
      return true;
    }),
    { numRuns: 500 },
  );
  assert.deepEqual([...seen].sort(), ["Allow", "ExplicitDeny", "ImplicitDeny"], "all three decisions occur");
});
