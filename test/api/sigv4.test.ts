import { test } from "node:test";
import assert from "node:assert/strict";
import { SignatureV4 } from "@smithy/signature-v4";
import { NodeSha256 } from "../support/signer.ts";
import { FakeClock } from "../../src/core/clock.ts";
import {
  SigV4Error,
  authErrorStatus,
  verifySigV4,
  type AuthException,
  type CredentialLookup,
  type SignedRequest,
} from "../../src/api/sigv4.ts";

const AKID = "AKIAIOSFODNN7BERTH01";
const SECRET = "berth/Secret+Key=0123456789abcdefghijklmnop";
const HOST = "ecs.us-east-1.berth.local";
const PRINCIPAL = { user: "alice" };
const OTHER_AKID = "AKIAIOSFODNN7BERTH02";
const OTHER_SECRET = "another/secret";
const lookup: CredentialLookup = (id) =>
  id === AKID ? { accessKeyId: AKID, secretAccessKey: SECRET, principal: PRINCIPAL }
  : id === OTHER_AKID ? { accessKeyId: OTHER_AKID, secretAccessKey: OTHER_SECRET, principal: "bob" }
  : undefined;

interface WireRequest {
  method?: string;
  path?: string;
  /** Raw query as it goes on the wire, in the client's order. */
  query?: string;
  headers?: Record<string, string>;
  body?: string;
}

interface SignOptions {
  secret?: string;
  accessKeyId?: string;
  sessionToken?: string;
  region?: string;
  applyChecksum?: boolean;
  at?: number;
}

function signer(o: SignOptions): SignatureV4 {
  const credentials = {
    accessKeyId: o.accessKeyId ?? AKID,
    secretAccessKey: o.secret ?? SECRET,
    ...(o.sessionToken === undefined ? {} : { sessionToken: o.sessionToken }),
  };
  return new SignatureV4({
    credentials, region: o.region ?? "us-east-1", service: "ecs", sha256: NodeSha256, applyChecksum: o.applyChecksum ?? true,
  });
}

/** The decoded query object smithy signs, from the raw wire query. */
function queryObject(raw: string): Record<string, string | string[]> {
  const out: Record<string, string | string[]> = {};
  for (const pair of raw.split("&").filter((p) => p !== "")) {
    const at = pair.indexOf("=");
    const key = decodeURIComponent(at < 0 ? pair : pair.slice(0, at));
    const value = at < 0 ? "" : decodeURIComponent(pair.slice(at + 1));
    const prior = out[key];
    out[key] = prior === undefined ? value : [...(Array.isArray(prior) ? prior : [prior]), value];
  }
  return out;
}

function smithyRequest(wire: WireRequest) {
  return {
    method: wire.method ?? "POST",
    protocol: "https:",
    hostname: HOST,
    path: wire.path ?? "/",
    query: queryObject(wire.query ?? ""),
    headers: { host: HOST, ...wire.headers },
    ...(wire.body === undefined ? {} : { body: Buffer.from(wire.body) }),
  };
}

/** What the server sees: node trims header values and lower-cases names. */
function received(wire: WireRequest, headers: Record<string, string>, query = wire.query ?? ""): SignedRequest {
  const trimmed = Object.fromEntries(Object.entries(headers).map(([k, v]) => [k.toLowerCase(), v.trim()]));
  return { method: wire.method ?? "POST", path: wire.path ?? "/", query, headers: trimmed, body: Buffer.from(wire.body ?? "") };
}

const clock = new FakeClock(Date.UTC(2026, 0, 1, 0, 0, 0));
const T0 = clock.now();
const MINUTE = 60_000;

async function sign(wire: WireRequest, o: SignOptions = {}): Promise<SignedRequest> {
  const signed = await signer(o).sign(smithyRequest(wire), { signingDate: new Date(o.at ?? T0) });
  return received(wire, signed.headers);
}

async function presign(wire: WireRequest, expiresIn: number, o: SignOptions = {}): Promise<SignedRequest> {
  const signed = await signer(o).presign(smithyRequest(wire), { signingDate: new Date(o.at ?? T0), expiresIn });
  // Deliberately not sorted: the verifier must sort.
  const query = Object.entries(signed.query ?? {})
    .flatMap(([k, v]) => (Array.isArray(v) ? v : [v ?? ""]).map((value) => `${escape(k)}=${escape(value)}`))
    .reverse()
    .join("&");
  return received(wire, signed.headers, query);
}

function escape(text: string): string {
  return encodeURIComponent(text).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
}

function rejects(req: SignedRequest, exception: AuthException, message?: RegExp | string, now = T0): void {
  assert.throws(
    () => verifySigV4(req, lookup, now),
    (err: unknown) => {
      assert.ok(err instanceof SigV4Error, `expected SigV4Error, got ${String(err)}`);
      assert.equal(err.exception, exception, err.message);
      if (typeof message === "string") assert.equal(err.message, message);
      else if (message !== undefined) assert.match(err.message, message);
      return true;
    },
  );
}

const JSON_POST: WireRequest = {
  headers: { "content-type": "application/x-amz-json-1.1", "x-amz-target": "AmazonEC2ContainerServiceV20141113.ListClusters" },
  body: JSON.stringify({ maxResults: 10 }),
};

test("a signed JSON POST verifies and names the caller, region and service", async () => {
  const req = await sign(JSON_POST, { region: "eu-west-2" });
  const caller = verifySigV4(req, lookup, T0);
  assert.deepEqual(caller, { accessKeyId: AKID, region: "eu-west-2", service: "ecs", principal: PRINCIPAL });
});

test("a body signed without x-amz-content-sha256 is hashed by the verifier", async () => {
  const req = await sign(JSON_POST, { applyChecksum: false });
  assert.equal(req.headers["x-amz-content-sha256"], undefined);
  assert.equal(verifySigV4(req, lookup, T0).accessKeyId, AKID);
});

test("special path characters and unsorted, repeated query keys verify", async () => {
  const wire: WireRequest = {
    method: "GET",
    path: "/v1/clusters/my%20cluster/a+b/./skip/../d%2Fe/(x)$~/",
    query: "z=last&a=2&a=1&b=%20space&flag&k%C3%A9y=v%2Aw&empty=",
  };
  const req = await sign(wire);
  assert.equal(verifySigV4(req, lookup, T0).service, "ecs");
  rejects({ ...req, query: "z=last&a=2&b=%20space&flag&k%C3%A9y=v%2Aw&empty=" }, "InvalidSignatureException");
  // "." and ".." segments are normalised before signing, as the SDKs do; %2F is not a separator.
  verifySigV4({ ...req, path: "/v1/clusters/my%20cluster/a+b/d%2Fe/(x)$~/" }, lookup, T0);
  rejects({ ...req, path: "/v1/clusters/my%20cluster/a+b/d/e/(x)$~/" }, "InvalidSignatureException");
});

test("header values with extra whitespace and repeated headers verify", async () => {
  const wire: WireRequest = { ...JSON_POST, headers: { ...JSON_POST.headers, "x-amz-meta": "  a   b \t c  ", "x-amz-list": "one,two" } };
  const req = await sign(wire);
  assert.equal(req.headers["x-amz-meta"], "a   b \t c");
  verifySigV4(req, lookup, T0);
  verifySigV4({ ...req, headers: { ...req.headers, "x-amz-list": ["one", " two "] } }, lookup, T0);
  rejects({ ...req, headers: { ...req.headers, "x-amz-meta": "a b d" } }, "InvalidSignatureException");
});

test("the session token is returned", async () => {
  const req = await sign(JSON_POST, { sessionToken: "token/abc==" });
  assert.equal(verifySigV4(req, lookup, T0).sessionToken, "token/abc==");
});

test("a presigned URL verifies until it expires", async () => {
  const wire: WireRequest = { method: "GET", query: "Action=GetCallerIdentity&Version=2011-06-15" };
  const req = await presign(wire, 900, { sessionToken: "tok en" });
  assert.match(req.query, /X-Amz-Signature=/);
  assert.equal(verifySigV4(req, lookup, T0 + 10 * MINUTE).sessionToken, "tok en");
  rejects(req, "InvalidSignatureException", /^Signature expired: 20260101T000000Z is now earlier than/, T0 + 16 * MINUTE);
  rejects({ ...req, query: req.query.replace("GetCallerIdentity", "GetSessionToken") }, "InvalidSignatureException");
});

test("a presigned URL with UNSIGNED-PAYLOAD verifies", async () => {
  const wire: WireRequest = { method: "PUT", path: "/bucket/key", headers: { "x-amz-content-sha256": "UNSIGNED-PAYLOAD" }, body: "any" };
  const req = await presign(wire, 60);
  delete req.headers["x-amz-content-sha256"];
  assert.equal(verifySigV4(req, lookup, T0).accessKeyId, AKID);
});

test("AWS SigV4 test-suite vectors verify (get-vanilla, get-vanilla-query-order-key-case, post-vanilla, 2011 get-vanilla)", () => {
  const secret = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY";
  const suiteLookup: CredentialLookup = (id) =>
    id === "AKIDEXAMPLE" ? { accessKeyId: id, secretAccessKey: secret, principal: "suite" } : undefined;
  const vector = (method: string, query: string, signature: string): SignedRequest => ({
    method, path: "/", query, body: Buffer.alloc(0),
    headers: {
      host: "example.amazonaws.com",
      "x-amz-date": "20150830T123600Z",
      authorization: `AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, SignedHeaders=host;x-amz-date, Signature=${signature}`,
    },
  });
  const now = Date.UTC(2015, 7, 30, 12, 36, 0);
  const cases: Array<[string, string, string]> = [
    ["GET", "", "5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31"],
    ["GET", "Param2=value2&Param1=value1", "b97d918cfa904a5beff61c982a1b6f458b799221646efd99d3219ec94cdf2500"],
    ["POST", "", "5da7c1a2acd57cee7505fc6676e4e544621c30862966e37dddb68e92efbe5d6b"],
  ];
  for (const [method, query, signature] of cases) {
    const caller = verifySigV4(vector(method, query, signature), suiteLookup, now);
    assert.deepEqual(caller, { accessKeyId: "AKIDEXAMPLE", region: "us-east-1", service: "service", principal: "suite" });
  }
  assert.throws(() => verifySigV4(vector("GET", "", "5da7c1a2acd57cee7505fc6676e4e544621c30862966e37dddb68e92efbe5d6b"), suiteLookup, now), SigV4Error);

  // The 2011 suite's get-vanilla signs with an HTTP Date header, which signs as 20110909T233600Z.
  const dated: SignedRequest = {
    method: "GET", path: "/", query: "", body: Buffer.alloc(0),
    headers: {
      host: "host.foo.com",
      date: "Mon, 09 Sep 2011 23:36:00 GMT",
      authorization: "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20110909/us-east-1/host/aws4_request, SignedHeaders=date;host, Signature=b27ccfbfa7df52a200ff74193ca6e32d4b48b8856fab7ebf1c595d0670a7e470",
    },
  };
  assert.equal(verifySigV4(dated, suiteLookup, Date.UTC(2011, 8, 9, 23, 36, 0)).service, "host");
});

test("a wrong secret is rejected even after the right one filled the key cache", async () => {
  verifySigV4(await sign(JSON_POST), lookup, T0);
  rejects(await sign(JSON_POST, { secret: "not-the-secret" }), "InvalidSignatureException",
    /^The request signature we calculated does not match the signature you provided\./);
});

test("two credentials signing in the same scope each verify: derived keys are cached per secret", async () => {
  assert.equal(verifySigV4(await sign(JSON_POST), lookup, T0).principal, PRINCIPAL);
  const other = await sign(JSON_POST, { accessKeyId: OTHER_AKID, secret: OTHER_SECRET });
  assert.equal(verifySigV4(other, lookup, T0).principal, "bob");
});

test("a body changed after signing is rejected, with or without x-amz-content-sha256", async () => {
  const tamper = (req: SignedRequest): SignedRequest => ({ ...req, body: Buffer.from(JSON.stringify({ maxResults: 11 })) });
  rejects(tamper(await sign(JSON_POST)), "InvalidSignatureException", "The provided 'x-amz-content-sha256' header does not match what was computed.");
  rejects(tamper(await sign(JSON_POST, { applyChecksum: false })), "InvalidSignatureException", /does not match the signature you provided/);
});

test("a damaged or truncated signature is rejected", async () => {
  const req = await sign(JSON_POST);
  const auth = String(req.headers["authorization"]);
  const flipped = auth.replace(/.$/, (c) => (c === "0" ? "1" : "0"));
  rejects({ ...req, headers: { ...req.headers, authorization: flipped } }, "InvalidSignatureException");
  rejects({ ...req, headers: { ...req.headers, authorization: auth.slice(0, -2) } }, "InvalidSignatureException");
});

test("an unknown access key is UnrecognizedClientException", async () => {
  const req = await sign(JSON_POST, { accessKeyId: "AKIDUNKNOWN" });
  rejects(req, "UnrecognizedClientException", "The security token included in the request is invalid.");
  assert.equal(authErrorStatus("UnrecognizedClientException"), 403);
});

test("no Authorization header and no presigned query is MissingAuthenticationToken", () => {
  const req = received(JSON_POST, { host: HOST, "x-amz-date": "20260101T000000Z" });
  rejects(req, "MissingAuthenticationTokenException", "Missing Authentication Token");
  assert.equal(authErrorStatus("MissingAuthenticationTokenException"), 403);
});

test("a malformed Authorization header is IncompleteSignatureException", async () => {
  const req = await sign(JSON_POST);
  const withAuth = (authorization: string, headers = req.headers): SignedRequest => ({ ...req, headers: { ...headers, authorization } });
  const noSignature = `AWS4-HMAC-SHA256 Credential=${AKID}/20260101/us-east-1/ecs/aws4_request, SignedHeaders=host;x-amz-date`;
  rejects(withAuth(noSignature), "IncompleteSignatureException", `Authorization header requires 'Signature' parameter. Authorization=${noSignature}`);
  const { "x-amz-date": _date, ...undated } = req.headers;
  rejects(withAuth(noSignature, undated), "IncompleteSignatureException",
    /requires 'Signature' parameter\. Authorization header requires existence of either a 'X-Amz-Date' or a 'Date' header\. Authorization=AWS4/);
  rejects(withAuth("AWS4-HMAC-SHA1 Credential=x"), "IncompleteSignatureException", /^Unsupported AWS 'algorithm'/);
  rejects(withAuth("garbage"), "IncompleteSignatureException");
  rejects(withAuth(String(req.headers["authorization"]).replace("/ecs/", "/")), "IncompleteSignatureException", /^Credential should be scoped/);
  rejects({ ...req, headers: { ...req.headers, "x-amz-date": "2026-01-01T00:00:00Z" } }, "IncompleteSignatureException", /basic format/);
  assert.equal(authErrorStatus("IncompleteSignatureException"), 400);
});

test("clock skew beyond five minutes is rejected either way; four minutes passes", async () => {
  const req = await sign(JSON_POST);
  verifySigV4(req, lookup, T0 + 4 * MINUTE);
  verifySigV4(req, lookup, T0 - 4 * MINUTE);
  rejects(req, "InvalidSignatureException",
    "Signature expired: 20260101T000000Z is now earlier than 20260101T000100Z (20260101T000600Z - 5 min.)", T0 + 6 * MINUTE);
  rejects(req, "InvalidSignatureException",
    "Signature not yet current: 20260101T000000Z is still later than 20251231T235900Z (20251231T235400Z + 5 min.)", T0 - 6 * MINUTE);
  assert.equal(verifySigV4(req, lookup, T0 + 9 * MINUTE, { maxSkewMs: 10 * MINUTE }).accessKeyId, AKID);
});

test("a request whose Host is not signed is rejected", async () => {
  const signed = await signer({}).sign({ ...smithyRequest(JSON_POST), headers: { ...JSON_POST.headers } }, { signingDate: new Date(T0) });
  const req = received(JSON_POST, { ...signed.headers, host: HOST });
  rejects(req, "InvalidSignatureException", "'Host' or ':authority' must be a 'SignedHeader' in the AWS Authorization.");
});

test("a credential scope dated another day than x-amz-date is rejected", async () => {
  const req = await sign(JSON_POST);
  const authorization = String(req.headers["authorization"]).replace("/20260101/", "/20260102/");
  rejects({ ...req, headers: { ...req.headers, authorization } }, "InvalidSignatureException", /^Date in Credential scope does not match/);
});
