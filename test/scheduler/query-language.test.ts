import { test } from "node:test";
import assert from "node:assert/strict";
import { BerthError, ErrorCode } from "../../src/core/errors.ts";
import {
  type QuerySubject,
  compileJavaRegex,
  evaluateQuery,
  parseQuery,
  queryReadsTasks,
} from "../../src/scheduler/query-language.ts";

/** A t2.micro in us-east-1a running one task of service:web. */
const INSTANCE: QuerySubject = {
  attributes: {
    "ecs.availability-zone": "us-east-1a",
    "ecs.instance-type": "t2.micro",
    "ecs.os-type": "linux",
    stack: "prod",
    cores: "8",
    "ami.version": "1.10.2",
  },
  agentConnected: true,
  agentVersion: "1.20.0",
  ec2InstanceId: "i-0abc1234",
  instanceId: "5f4e3d2c1b0a",
  registeredAt: Date.parse("2018-06-18T22:28:28Z"),
  runningTasksCount: 3,
  taskGroups: new Set(["service:web", "family:nginx"]),
};

const matches = (text: string, subject: QuerySubject = INSTANCE): boolean => evaluateQuery(parseQuery(text), subject);

const TRUTH_TABLE: readonly (readonly [string, boolean])[] = [
  // equality, both forms
  ["attribute:ecs.instance-type == t2.micro", true],
  ["attribute:ecs.instance-type equals t2.micro", true],
  ["attribute:ecs.instance-type == t2.small", false],
  ["attribute:ecs.instance-type != t2.small", true],
  ["attribute:ecs.instance-type not_equals t2.micro", false],
  ["attribute:ecs.instance-type==t2.micro", true],
  ["attribute:ecs.instance-type == 't2.micro'", true],
  ['attribute:ecs.instance-type == "t2.micro"', true],
  ["attribute:ecs.instance-type == T2.MICRO", false],
  // wildcards on equality
  ["attribute:ecs.instance-type == t2.*", true],
  ["attribute:ecs.instance-type == *.micro", true],
  ["attribute:ecs.instance-type == m5.*", false],
  ["attribute:ecs.instance-type != m5.*", true],
  ["attribute:ecs.availability-zone == us-east-1?", false],
  // ordering: numbers numerically, versions by component, strings lexically
  ["attribute:cores > 10", false],
  ["attribute:cores greater_than 4", true],
  ["attribute:cores >= 8", true],
  ["attribute:cores greater_than_equal 9", false],
  ["attribute:cores < 10", true],
  ["attribute:cores less_than 8", false],
  ["attribute:cores <= 8", true],
  ["attribute:cores less_than_equal 7.5", false],
  ["attribute:ami.version > 1.9.0", true],
  ["attribute:stack > prec", true],
  ["attribute:stack < prod", false],
  ["attribute:missing > 1", false],
  ["runningTasksCount == 3", true],
  ["runningTasksCount > 2", true],
  ["runningTasksCount < 3", false],
  ["runningTasksCount != 0", true],
  ["agentVersion >= 1.20.0", true],
  ["agentVersion > 1.9.9", true],
  ["agentVersion < 1.3", false],
  ["agentVersion == 1.20.0", true],
  ["registeredAt == 2018-06-18", true],
  ["registeredAt > 2018-06-17", true],
  ["registeredAt > 2018-06-18", false],
  ["registeredAt < 2018-06-19T00:00:00Z", true],
  ["registeredAt == 2018-06-18T22:28:28", true],
  ["registeredAt == 2018-06-18T22:28:28+00:00", true],
  ["registeredAt < 2018-06-18T22:28:28-01:00", true],
  ["registeredAt >= 1529360908", true],
  ["registeredAt > 1529360908000", false],
  // exists
  ["attribute:stack exists", true],
  ["attribute:nope exists", false],
  ["attribute:nope !exists", true],
  ["attribute:stack not_exists", false],
  ["task:group exists", true],
  // in
  ["attribute:ecs.availability-zone in [us-east-1a, us-east-1b]", true],
  ["attribute:ecs.availability-zone in (us-east-1c, us-east-1b)", false],
  ["attribute:ecs.availability-zone in ['us-east-1b', \"us-east-1a\"]", true],
  ["attribute:ecs.availability-zone in [us-east-1a]", true],
  ["attribute:ecs.availability-zone in us-east-1a", true],
  ["attribute:ecs.availability-zone !in [us-east-1a, us-east-1b]", false],
  ["attribute:ecs.availability-zone not_in [us-east-1c]", true],
  ["attribute:ecs.instance-type in [m5.*, t2.*]", true],
  ["ec2InstanceId in ['i-0abc1234', 'i-wxyx7890']", true],
  // regex: full-string, Java-ish
  ["attribute:ecs.instance-type =~ t2.*", true],
  ["attribute:ecs.instance-type matches t2", false],
  ["attribute:ecs.instance-type =~ micro", false],
  ["attribute:ecs.instance-type =~ '[a-z][0-9]\\.(micro|small)'", true],
  ["attribute:ecs.instance-type =~ [a-z][0-9]\\.(micro|small)", true],
  ["(attribute:ecs.instance-type =~ t2.(nano|micro))", true],
  ["attribute:ecs.instance-type =~ (?i)T2\\.MICRO", true],
  ["attribute:ecs.instance-type =~ \\At2.*+\\z", true],
  ["attribute:ecs.instance-type !~ t2.*", false],
  ["attribute:ecs.instance-type not_matches g2.*", true],
  ["attribute:nope !~ x", true],
  // agentConnected / ids
  ["agentConnected == true", true],
  ["agentConnected == TRUE", true],
  ["agentConnected != true", false],
  ["agentConnected in [false]", false],
  ["ec2InstanceId == i-0abc1234", true],
  ["ec2InstanceId =~ i-0.*", true],
  ["instanceId == 5f4e3d2c1b0a", true],
  // task:group: true when any task on the instance is in the group
  ["task:group == service:web", true],
  ["task:group == service:api", false],
  ["task:group != service:web", false],
  ["task:group != service:api", true],
  ["task:group in [service:api, family:nginx]", true],
  ["task:group =~ service:.*", true],
  ["task:group == service:*", true],
  ["not(task:group == service:web)", false],
  // compound: precedence (and binds tighter), parentheses, not, both spellings
  ["attribute:stack == prod or attribute:stack == dev and runningTasksCount > 10", true],
  ["(attribute:stack == prod or attribute:stack == dev) and runningTasksCount > 10", false],
  ["attribute:stack == dev or attribute:stack == prod and runningTasksCount > 10", false],
  ["attribute:stack == dev || attribute:stack == prod && runningTasksCount == 3", true],
  ["attribute:stack == prod&&runningTasksCount == 3", true],
  ["not attribute:stack == prod", false],
  ["! attribute:stack == dev", true],
  ["!(attribute:stack == dev)", true],
  ["NOT (attribute:stack == dev) AND attribute:stack == prod", true],
  ["not not attribute:stack == prod", true],
  ["((attribute:stack == prod))", true],
  [
    "attribute:ecs.instance-type =~ t2.* and attribute:ecs.availability-zone != us-east-1d",
    true,
  ],
];

test("query truth table: every operator, word form and compound", () => {
  const wrong = TRUTH_TABLE.filter(([text, expected]) => matches(text) !== expected).map(([text]) => text);
  assert.deepEqual(wrong, []);
});

test("a missing attribute satisfies only the negated operators", () => {
  const bare: QuerySubject = { attributes: {}, agentConnected: false, runningTasksCount: 0, taskGroups: new Set() };
  const cases: readonly (readonly [string, boolean])[] = [
    ["attribute:x == a", false],
    ["attribute:x != a", true],
    ["attribute:x in [a]", false],
    ["attribute:x !in [a]", true],
    ["attribute:x =~ .*", false],
    ["attribute:constructor exists", false],
    ["agentVersion > 1.0", false],
    ["registeredAt < 2030-01-01", false],
    ["ec2InstanceId == i-1", false],
    ["instanceId == x", false],
    ["task:group exists", false],
    ["task:group != service:web", true],
    ["agentConnected == false", true],
  ];
  for (const [text, expected] of cases) assert.equal(matches(text, bare), expected, text);
});

test("instanceId falls back to ec2InstanceId", () => {
  const subject: QuerySubject = { ...INSTANCE, instanceId: undefined };
  assert.equal(matches("instanceId == i-0abc1234", subject), true);
});

const INVALID: readonly string[] = [
  "",
  "   ",
  "attribute:stack",
  "attribute:stack ==",
  "attribute:stack == prod extra",
  "attribute: == x",
  "colour == red",
  "attribute:stack ~~ prod",
  "attribute:stack == prod and",
  "attribute:stack == prod or or attribute:stack == dev",
  "(attribute:stack == prod",
  "attribute:stack == prod)",
  "attribute:stack in []",
  "attribute:stack in [a, b",
  "attribute:stack in [a b]",
  "attribute:stack == 'unterminated",
  "attribute:stack =~ '(unclosed'",
  "attribute:ecs.instance-type =~ (t2",
  "attribute:stack =~ '(?x)a b'",
  "runningTasksCount == many",
  "runningTasksCount =~ 1",
  "registeredAt > yesterday",
  "registeredAt > 2018-13-45",
  "agentConnected > true",
  "agentVersion in [1.0]",
  "ec2InstanceId > i-1",
  "task:group < service:web",
  "attribute:stack !inx [a]",
  "x".repeat(2001),
];

test("invalid expressions fail with one InvalidParameter BerthError", () => {
  for (const text of INVALID) {
    assert.throws(
      () => parseQuery(text),
      (err: unknown) =>
        err instanceof BerthError &&
        err.code === ErrorCode.InvalidParameter &&
        err.message.startsWith("Invalid query expression: "),
      JSON.stringify(text.slice(0, 60)),
    );
  }
});

test("an expression of exactly 2000 characters is accepted", () => {
  const padding = " ".repeat(2000 - "attribute:stack == prod".length);
  const text = `attribute:stack == prod${padding}`;
  assert.equal(text.length, 2000);
  assert.equal(matches(text), true);
});

test("queryReadsTasks flags expressions whose truth changes as tasks are placed", () => {
  assert.equal(queryReadsTasks(parseQuery("attribute:stack == prod")), false);
  assert.equal(queryReadsTasks(parseQuery("attribute:a exists and not task:group == x")), true);
  assert.equal(queryReadsTasks(parseQuery("attribute:a exists or runningTasksCount < 3")), true);
});

test("Java regex forms translate to full-string JS patterns", () => {
  const cases: readonly (readonly [string, string, boolean])[] = [
    ["a++b", "aab", true],
    ["(?>ab)c", "abc", true],
    ["\\Qa.b\\E", "a.b", true],
    ["\\Qa.b\\E", "axb", false],
    ["[]x]+", "]x]", true],
    ["[^]x]+", "ab", true],
    ["(?i)abc", "ABC", true],
    ["a|b", "b", true],
    ["a|b", "ab", false],
  ];
  for (const [source, input, expected] of cases) {
    assert.equal(compileJavaRegex(source).test(input), expected, `${source} on ${input}`);
  }
});
