// `berth lb`: what a human sees of the load balancers, read through the public ELBv2 API.
import assert from "node:assert/strict";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { after, before, test } from "node:test";
import { runLbCommand } from "../../src/cli/lb-command.ts";
import { REGION, type TestServer, awsOk, freePort, startTestServer, until } from "../support/harness.ts";

let server: TestServer;
const backend = createServer((_req, res) => res.end("ok"));

before(async () => {
  server = await startTestServer();
  await new Promise<void>((resolve) => backend.listen(0, "127.0.0.1", resolve));
});

after(async () => {
  backend.close();
  await server?.close();
});

test("berth lb lists each listener's local address, its rules and the target groups' health", async () => {
  const cli = (args: string[]) => awsOk(server, ["elbv2", ...args]);
  const lines: string[] = [];
  const show = async () => {
    lines.length = 0;
    await runLbCommand({ url: server.url, region: REGION, credentials: server.identity.admin }, { write: (l) => lines.push(l) });
    return lines.join("\n");
  };
  assert.equal(await show(), "No load balancers in this region.");
  const lb = (await cli(["create-load-balancer", "--name", "front", "--type", "application", "--subnets", "a", "b"])).LoadBalancers[0];
  const group = async (name: string) =>
    (await cli(["create-target-group", "--name", name, "--protocol", "HTTP", "--port", "80", "--target-type", "ip", "--health-check-interval-seconds", "5", "--health-check-timeout-seconds", "2"])).TargetGroups[0].TargetGroupArn as string;
  const [web, api] = [await group("web"), await group("api")];
  const port = await freePort();
  const listener = (await cli(["create-listener", "--load-balancer-arn", lb.LoadBalancerArn, "--protocol", "HTTP", "--port", String(port), "--default-actions", `Type=forward,TargetGroupArn=${web}`])).Listeners[0];
  await cli(["create-rule", "--listener-arn", listener.ListenerArn, "--priority", "5", "--conditions", "Field=path-pattern,Values=/api/*", "--actions", `Type=forward,TargetGroupArn=${api}`]);
  await cli(["register-targets", "--target-group-arn", web, "--targets", `Id=127.0.0.1,Port=${(backend.address() as AddressInfo).port}`]);
  const text = await until("the target turns healthy", async () => {
    const out = await show();
    return out.includes("web (1/1 healthy)") ? out : undefined;
  }, 20_000);
  assert.match(text, new RegExp(`^front  application  front-\\d+\\.${REGION}\\.elb\\.localhost  (active|provisioning)$`, "m"));
  assert.match(text, new RegExp(`^  HTTP :${port}  http://127\\.0\\.0\\.1:${port}  → web \\(1/1 healthy\\)$`, "m"));
  assert.match(text, /^ {4}rule 5: path-pattern \/api\/\*  → api \(0\/0 healthy\)$/m);
});
