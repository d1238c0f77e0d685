// The Parameter Store engine: versions, selectors, labels, paths, filters, SecureString
// opacity, the 100-version limit, and bad input that changes nothing.
import assert from "node:assert/strict";
import { rmSync } from "node:fs";
import { afterEach, beforeEach, describe, test } from "node:test";
import { ErrorCode } from "../../src/core/errors.ts";
import { tempDir } from "../support/harness.ts";
import { SCOPE, openHarness, rejection, type Harness } from "./support.ts";

const USER = "arn:aws:iam::123456789012:user/tester";

describe("parameter store", () => {
  let dir: string;
  let h: Harness;
  beforeEach(() => {
    dir = tempDir("berth-params-");
    h = openHarness(dir);
  });
  afterEach(async () => {
    await h.db.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const put = (name: string, value: string, extra: Record<string, unknown> = {}) =>
    h.db.parameters.putParameter(SCOPE, { name, value, type: "String", user: USER, ...extra });

  test("versions count up with Overwrite; selectors read old versions and labels", async () => {
    assert.equal((await put("/app/url", "v1")).version, 1, "first version");
    const exists = await rejection(() => put("/app/url", "v2"));
    assert.equal(exists.code, ErrorCode.ParameterAlreadyExists, "no overwrite");
    assert.equal(exists.message, "The parameter already exists. To overwrite this value, set the overwrite option in the request to true.", "AWS wording");
    assert.equal((await h.db.parameters.putParameter(SCOPE, { name: "/app/url", value: "v2", overwrite: true, user: USER })).version, 2, "overwrite keeps the type");
    await h.db.parameters.labelParameterVersion(SCOPE, { name: "/app/url", version: 1, labels: ["stable"] });
    const latest = await h.db.parameters.getParameter(SCOPE, "/app/url", false);
    assert.deepEqual([latest.value, latest.version, latest.type], ["v2", 2, "String"], "latest");
    assert.equal(latest.arn, "arn:aws:ssm:ap-south-1:123456789012:parameter/app/url", "ARN joins the leading slash");
    const byVersion = await h.db.parameters.getParameter(SCOPE, "/app/url:1", false);
    assert.deepEqual([byVersion.value, byVersion.selector, byVersion.name], ["v1", ":1", "/app/url"], "version selector");
    assert.equal((await h.db.parameters.getParameter(SCOPE, "/app/url:stable", false)).value, "v1", "label selector");
    const missing = await rejection(() => h.db.parameters.getParameter(SCOPE, "/app/url:9", false));
    assert.equal(missing.code, ErrorCode.ParameterVersionNotFound, "missing version");
    assert.equal(missing.message, "Systems Manager could not find version 9 of /app/url. Verify the version and try again.", "AWS wording");
    assert.equal((await rejection(() => h.db.parameters.getParameter(SCOPE, "/nope", false))).code, ErrorCode.ParameterNotFound, "missing parameter");
    const got = await h.db.parameters.getParameters(SCOPE, ["/app/url", "/nope", "/app/url:7"], false);
    assert.deepEqual(got.parameters.map((p) => p.value), ["v2"], "found ones");
    assert.deepEqual(got.invalidParameters, ["/nope", "/app/url:7"], "InvalidParameters");
  });

  test("labels move between versions; invalid labels are reported, not applied; at most ten per version", async () => {
    await put("/app/x", "1");
    await h.db.parameters.putParameter(SCOPE, { name: "/app/x", value: "2", overwrite: true, user: USER });
    await h.db.parameters.labelParameterVersion(SCOPE, { name: "/app/x", version: 1, labels: ["live"] });
    const moved = await h.db.parameters.labelParameterVersion(SCOPE, { name: "/app/x", labels: ["live", "aws-bad", "9lives", "ok.1"] });
    assert.deepEqual(moved, { invalidLabels: ["aws-bad", "9lives"], parameterVersion: 2 }, "latest version by default");
    const history = await h.db.parameters.getParameterHistory(SCOPE, { name: "/app/x" });
    assert.deepEqual(history.parameters.map((p) => p.labels), [[], ["live", "ok.1"]], "the label moved to version 2");
    const unlabeled = await h.db.parameters.unlabelParameterVersion(SCOPE, { name: "/app/x", version: 2, labels: ["ok.1", "ghost"] });
    assert.deepEqual(unlabeled, { removedLabels: ["ok.1"], invalidLabels: ["ghost"] }, "unlabel");
    const many = Array.from({ length: 10 }, (_, i) => `l${i}`);
    const limit = await rejection(() => h.db.parameters.labelParameterVersion(SCOPE, { name: "/app/x", version: 2, labels: many }));
    assert.equal(limit.code, ErrorCode.ParameterVersionLabelLimitExceeded, "eleven labels");
    assert.deepEqual((await h.db.parameters.getParameterHistory(SCOPE, { name: "/app/x" })).parameters[1]!.labels, ["live"], "nothing applied");
  });

  test("GetParametersByPath: one level or recursive, filters, pages; plain names live under /", async () => {
    for (const name of ["/prod/db/host", "/prod/db/port", "/prod/api", "/staging/api", "plain"]) await put(name, name);
    await h.db.parameters.putParameter(SCOPE, { name: "/prod/db/password", value: "pw", type: "SecureString", user: USER });
    const names = async (path: string, recursive: boolean, extra: Record<string, unknown> = {}): Promise<string[]> =>
      (await h.db.parameters.getParametersByPath(SCOPE, { path, recursive, ...extra })).parameters.map((p) => p.name);
    assert.deepEqual(await names("/prod", false), ["/prod/api"], "one level");
    assert.deepEqual(await names("/prod", true), ["/prod/api", "/prod/db/host", "/prod/db/password", "/prod/db/port"], "recursive");
    assert.deepEqual(await names("/prod/db/", false), ["/prod/db/host", "/prod/db/password", "/prod/db/port"], "trailing slash");
    assert.deepEqual(await names("/", false), ["plain"], "root one level");
    assert.deepEqual(await names("/prod", true, { filters: [{ key: "Type", values: ["SecureString"] }] }), ["/prod/db/password"], "Type filter");
    const bad = await rejection(() => names("/prod", true, { filters: [{ key: "Name", values: ["x"] }] }));
    assert.equal(bad.code, ErrorCode.InvalidFilterKey, "Name is not a by-path filter");
    const page = await h.db.parameters.getParametersByPath(SCOPE, { path: "/", recursive: true, maxResults: 4 });
    const rest = await h.db.parameters.getParametersByPath(SCOPE, { path: "/", recursive: true, maxResults: 4, nextToken: page.nextToken! });
    assert.equal(page.parameters.length + rest.parameters.length, 6, "two pages");
    assert.equal(rest.nextToken, undefined, "last page");
    assert.equal((await rejection(() => names("prod", true))).code, ErrorCode.Validation, "a path starts with /");
  });

  test("SecureString: the value is opaque without WithDecryption and plain with it, in history too", async () => {
    await h.db.parameters.putParameter(SCOPE, { name: "/prod/pw", value: "hunter2", type: "SecureString", user: USER });
    const opaque = await h.db.parameters.getParameter(SCOPE, "/prod/pw", false);
    assert.notEqual(opaque.value, "hunter2", "not the plaintext");
    assert.match(opaque.value, /^[A-Za-z0-9+/]+=*$/, "base64 ciphertext");
    assert.equal(Buffer.from(opaque.value, "base64").includes("hunter2"), false, "the blob does not hold the plaintext");
    assert.equal((await h.db.parameters.getParameter(SCOPE, "/prod/pw", true)).value, "hunter2", "decrypted");
    const history = await h.db.parameters.getParameterHistory(SCOPE, { name: "/prod/pw", withDecryption: false });
    assert.notEqual(history.parameters[0]!.value, "hunter2", "history is opaque too");
    assert.equal(history.parameters[0]!.keyId, "alias/aws/ssm", "default key id");
    const described = await h.db.parameters.describeParameters(SCOPE, {});
    assert.equal(JSON.stringify(described).includes("hunter2"), false, "DescribeParameters holds no value");
  });

  test("bad input is refused with Parameter Store's errors and changes nothing", async () => {
    const cases: [Record<string, unknown>, string, RegExp][] = [
      [{ name: "ssm-thing" }, ErrorCode.Validation, /can't be prefixed with "aws" or "ssm"/],
      [{ name: "a/b" }, ErrorCode.Validation, /fully qualified/],
      [{ name: "/aws/x" }, ErrorCode.AccessDenied, /reserved parameter name/],
      [{ name: `/${Array.from({ length: 16 }, (_, i) => `l${i}`).join("/")}` }, ErrorCode.HierarchyLevelLimitExceeded, /maximum of 15 levels/],
      [{ name: "/x", type: undefined }, ErrorCode.Validation, /A parameter type is required/],
      [{ name: "/x", value: "abc", allowedPattern: "^\\d+$" }, ErrorCode.ParameterPatternMismatch, /allowedPattern/],
      [{ name: "/x", value: "y".repeat(4097) }, ErrorCode.Validation, /4096/],
      [{ name: "/x", dataType: "Text" }, ErrorCode.Validation, /data type is not supported/],
      [{ name: "/x", keyId: "alias/k" }, ErrorCode.Validation, /KeyId is required for SecureString/],
      [{ name: "/x", overwrite: true, tags: [{ key: "a", value: "b" }] }, ErrorCode.Validation, /tags and overwrite/],
    ];
    for (const [input, code, message] of cases) {
      const error = await rejection(() => h.db.parameters.putParameter(SCOPE, { value: "v", type: "String", user: USER, ...input } as never));
      assert.equal(error.code, code, `${JSON.stringify(input).slice(0, 80)}: code`);
      assert.match(error.message, message, `${JSON.stringify(input).slice(0, 80)}: message`);
    }
    assert.deepEqual((await h.db.parameters.describeParameters(SCOPE, {})).parameters, [], "nothing was created");
    await put("/x", "ok", { allowedPattern: "^[a-z]+$" });
    await rejection(() => h.db.parameters.putParameter(SCOPE, { name: "/x", value: "NO", overwrite: true, user: USER }));
    assert.deepEqual(
      [(await h.db.parameters.getParameter(SCOPE, "/x", false)).value, (await h.db.parameters.getParameter(SCOPE, "/x", false)).version],
      ["ok", 1],
      "the kept AllowedPattern refused the overwrite",
    );
  });

  test("at most 100 versions are kept: the oldest goes, unless it is labelled", async () => {
    await put("/v", "0");
    for (let i = 1; i < 100; i++) await h.db.parameters.putParameter(SCOPE, { name: "/v", value: String(i), overwrite: true, user: USER });
    await h.db.parameters.putParameter(SCOPE, { name: "/v", value: "100", overwrite: true, user: USER });
    const history = await h.db.parameters.getParameterHistory(SCOPE, { name: "/v", maxResults: 50 });
    assert.equal(history.parameters[0]!.version, 2, "version 1 dropped");
    await h.db.parameters.labelParameterVersion(SCOPE, { name: "/v", version: 2, labels: ["keep"] });
    const refused = await rejection(() => h.db.parameters.putParameter(SCOPE, { name: "/v", value: "101", overwrite: true, user: USER }));
    assert.equal(refused.code, ErrorCode.ParameterMaxVersionLimitExceeded, "labelled oldest version");
    assert.equal((await h.db.parameters.getParameter(SCOPE, "/v", false)).version, 101, "latest unchanged");
  });

  test("DescribeParameters filters (Name, Path, Type, tags) and refuses duplicates and bad options", async () => {
    await put("/a/one", "1", { tags: [{ key: "env", value: "prod" }], description: "first" });
    await put("/a/b/two", "2");
    await h.db.parameters.putParameter(SCOPE, { name: "/c", value: "3", type: "StringList", user: USER });
    const names = async (parameterFilters: { key: string; option?: string; values?: string[] }[]): Promise<string[]> =>
      (await h.db.parameters.describeParameters(SCOPE, { parameterFilters })).parameters.map((p) => p.name);
    assert.deepEqual(await names([{ key: "Name", option: "BeginsWith", values: ["/a"] }]), ["/a/b/two", "/a/one"], "BeginsWith");
    assert.deepEqual(await names([{ key: "Path", values: ["/a"] }]), ["/a/one"], "OneLevel path");
    assert.deepEqual(await names([{ key: "Path", option: "Recursive", values: ["/a"] }]), ["/a/b/two", "/a/one"], "Recursive path");
    assert.deepEqual(await names([{ key: "Type", values: ["StringList"] }]), ["/c"], "Type");
    assert.deepEqual(await names([{ key: "tag:env", values: ["prod"] }]), ["/a/one"], "tag");
    const dup = await rejection(() => names([{ key: "Name", values: ["/a"] }, { key: "Name", values: ["/c"] }]));
    assert.match(dup.message, /duplicated/, "duplicate filter");
    assert.equal((await rejection(() => names([{ key: "Name", option: "Contains!", values: ["a"] }]))).code, ErrorCode.InvalidFilterOption, "bad option");
    assert.equal((await rejection(() => names([{ key: "Type", values: ["Str"] }]))).code, ErrorCode.InvalidFilterValue, "bad type value");
    const meta = (await h.db.parameters.describeParameters(SCOPE, { filters: [{ key: "Name", values: ["/a/one"] }] })).parameters[0]!;
    assert.deepEqual([meta.description, meta.lastModifiedUser, meta.tier, meta.dataType], ["first", USER, "Standard", "text"], "metadata");
  });

  test("ECS references read parameters by name or ARN, one-level ARNs included", async () => {
    await h.db.parameters.putParameter(SCOPE, { name: "/prod/db-password", value: "s3", type: "SecureString", user: USER });
    await put("flat", "f");
    await put("/rooted", "r");
    const read = (name: string, arn: string) => h.db.parameters.readReference({ service: "ssm", resourceArn: arn, action: "ssm:GetParameters", ...SCOPE, name });
    assert.equal(await read("/prod/db-password", "arn:aws:ssm:ap-south-1:123456789012:parameter/prod/db-password"), "s3", "decrypted by ARN");
    assert.equal(await read("flat", "arn:aws:ssm:ap-south-1:123456789012:parameter/flat"), "f", "flat name");
    assert.equal(await read("rooted", "arn:aws:ssm:ap-south-1:123456789012:parameter/rooted"), "r", "one-level name with a slash");
    assert.equal((await rejection(() => read("gone", "arn:aws:ssm:ap-south-1:123456789012:parameter/gone"))).code, ErrorCode.ParameterNotFound, "missing");
  });
});
