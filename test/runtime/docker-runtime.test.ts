/**
 * The Runtime conformance suite on a real Docker Engine, plus checks only a real engine can
 * answer (how every ContainerSpec field lands in the engine's config). Skips with a message
 * when no engine answers, unless BERTH_REQUIRE_DOCKER=1, when it fails instead.
 */
import assert from "node:assert/strict";
import { readFileSync, rmSync } from "node:fs";
import { createServer } from "node:http";
import { after, describe, test } from "node:test";
import { DockerEngineClient, LogDemuxer } from "../../src/runtime/docker-engine-client.ts";
import { DockerRuntime } from "../../src/runtime/docker-runtime.ts";
import { createTar } from "../../src/runtime/tar.ts";
import { runtimeConformance } from "./runtime-conformance.ts";

const SOCKET = process.env.DOCKER_SOCKET ?? "/var/run/docker.sock";
const IMAGE = "berth-test/busybox:latest";
const BUSYBOX = "/bin/busybox";

const docker = new DockerRuntime({ socketPath: SOCKET });
const engineUp = await docker.ping().then(
  () => true,
  () => false,
);

let built: Promise<void> | undefined;
/** Builds the test image through buildImage, from a tar made here (once per file). */
function buildTestImage(): Promise<void> {
  built ??= docker.buildImage(
    createTar([
      { name: "Dockerfile", data: 'FROM scratch\nCOPY busybox /bin/busybox\nRUN ["/bin/busybox", "--install", "-s", "/bin"]\nCMD ["/bin/sh"]\n' },
      { name: "busybox", data: readFileSync(BUSYBOX), mode: 0o755 },
    ]),
    IMAGE,
  );
  return built;
}

test("LogDemuxer splits frames and lines across chunk boundaries", () => {
  const lines: string[] = [];
  const demux = new LogDemuxer((stream, line) => lines.push(`${stream}:${line}`));
  const frame = (stream: number, text: string): Buffer => {
    const payload = Buffer.from(text);
    const head = Buffer.alloc(8);
    head[0] = stream;
    head.writeUInt32BE(payload.length, 4);
    return Buffer.concat([head, payload]);
  };
  const all = Buffer.concat([frame(1, "hel"), frame(2, "oops\n"), frame(1, "lo\nwor€"), frame(1, "ld\n"), frame(1, "tail")]);
  for (let i = 0; i < all.length; i += 5) demux.push(all.subarray(i, i + 5));
  demux.end();
  assert.deepEqual(lines, ["stderr:oops", "stdout:hello", "stdout:wor€ld", "stdout:tail"]);
});

test("events reconnect after the stream drops, resume from the last event and drop replays", async () => {
  // A stand-in engine on a unix socket: the first /events answer ends after two events; the
  // second replays the last one (as Docker does for `since`) and adds a third.
  const socketPath = `/tmp/berth-fake-engine-${process.pid}.sock`;
  rmSync(socketPath, { force: true });
  const base = 1_800_000_000_000;
  const message = (action: string, ms: number, attrs: Record<string, string> = {}) =>
    `${JSON.stringify({ Type: "container", Action: action, Actor: { ID: "c1", Attributes: { name: "x", "k": "v", ...attrs } }, time: Math.floor(ms / 1000), timeNano: ms * 1e6 })}\n`;
  const queries: string[] = [];
  const server = createServer((req, res) => {
    queries.push(req.url ?? "");
    res.writeHead(200, { "Content-Type": "application/json" });
    if (queries.length === 1) {
      res.write(message("start", base));
      res.end(message("health_status: healthy", base + 5));
    } else {
      res.write(message("health_status: healthy", base + 5));
      res.write(message("die", base + 9, { exitCode: "2" }));
    }
  });
  await new Promise<void>((r) => server.listen(socketPath, r));
  try {
    const runtime = new DockerRuntime({ socketPath });
    const seen: string[] = [];
    const abort = new AbortController();
    const done = runtime.events((e) => {
      seen.push(`${e.type}:${e.health ?? e.exitCode ?? ""}:${e.time - base}:${JSON.stringify(e.labels)}`);
      if (e.type === "die") abort.abort();
    }, abort.signal);
    await done;
    assert.deepEqual(seen, ['start::0:{"k":"v"}', 'health_status:healthy:5:{"k":"v"}', 'die:2:9:{"k":"v"}']);
    assert.equal(queries.length, 2);
    assert.match(queries[1]!, /since=1800000000\.005000000&/, "resumes at the last event's time");
    runtime.close();
  } finally {
    server.closeAllConnections();
    server.close();
  }
});

if (!engineUp && process.env.BERTH_REQUIRE_DOCKER === "1") {
  test("a Docker engine answers (BERTH_REQUIRE_DOCKER=1)", () => {
    assert.fail(`no Docker engine answers at ${SOCKET}; start dockerd or unset BERTH_REQUIRE_DOCKER`);
  });
} else if (!engineUp) {
  test("DockerRuntime conformance", { skip: `no Docker engine answers at ${SOCKET} (BERTH_REQUIRE_DOCKER=1 makes this fail)` }, () => {});
} else {
  runtimeConformance(
    "DockerRuntime",
    async () => {
      await buildTestImage();
      return docker;
    },
    { image: IMAGE },
  );

  describe("DockerRuntime: ContainerSpec lands in the engine's config", () => {
    const engine = new DockerEngineClient(SOCKET);
    const created: string[] = [];
    after(async () => {
      for (const id of created) await docker.removeContainer(id, { force: true });
      engine.close();
    });

    test("every field maps to its Engine API 1.41 counterpart", async () => {
      await buildTestImage();
      const id = await docker.createContainer({
        name: `berth-test-mapping-${process.pid}`,
        image: IMAGE,
        labels: { "berth.test": "1" },
        cmd: ["sleep", "1"],
        entrypoint: ["/bin/sh", "-c"],
        env: ["A=1"],
        workingDir: "/tmp",
        user: "1000:1000",
        hostname: "box",
        ports: [
          { containerPort: 80, protocol: "tcp" },
          { containerPort: 53, protocol: "udp", hostPort: 15353, hostIp: "127.0.0.1" },
        ],
        networkMode: "bridge",
        memoryMiB: 64,
        memoryReservationMiB: 32,
        cpuShares: 512,
        nanoCpus: 500_000_000,
        pidsLimit: 100,
        healthCheck: { test: ["CMD", "true"], intervalMs: 2000, timeoutMs: 1500, retries: 4, startPeriodMs: 500 },
        init: true,
        capAdd: ["NET_ADMIN"],
        capDrop: ["MKNOD"],
        privileged: false,
        readonlyRootfs: true,
        tmpfs: { "/run": "rw,size=1m" },
        shmSizeMiB: 16,
        ulimits: [{ name: "nofile", soft: 1024, hard: 2048 }],
        extraHosts: ["db:10.0.0.5"],
        dns: ["10.0.0.2"],
        dnsSearch: ["example.internal"],
        binds: ["/tmp:/host-tmp:ro"],
        mounts: [{ type: "tmpfs", source: "", target: "/scratch", readOnly: false }],
        sysctls: { "net.ipv4.ip_unprivileged_port_start": "0" },
        stopSignal: "SIGQUIT",
        stopTimeoutSec: 7,
        logDriver: { type: "json-file", config: { "max-size": "1m" } },
        securityOpt: ["no-new-privileges"],
      });
      created.push(id);
      const res = await engine.json<{ Config: Record<string, unknown>; HostConfig: Record<string, unknown> }>(
        { method: "GET", path: `/containers/${id}/json` },
        "inspect",
      );
      const { Config: c, HostConfig: h } = res.value;
      assert.deepEqual([c["Entrypoint"], c["Cmd"], c["WorkingDir"], c["User"], c["Hostname"]], [["/bin/sh", "-c"], ["sleep", "1"], "/tmp", "1000:1000", "box"]);
      assert.ok((c["Env"] as string[]).includes("A=1"), "Env carries A=1");
      assert.deepEqual(c["ExposedPorts"], { "80/tcp": {}, "53/udp": {} });
      assert.deepEqual(c["Healthcheck"], { Test: ["CMD", "true"], Interval: 2e9, Timeout: 1.5e9, Retries: 4, StartPeriod: 5e8 });
      assert.deepEqual([c["StopSignal"], c["StopTimeout"]], ["SIGQUIT", 7]);
      assert.deepEqual(h["PortBindings"], {
        "80/tcp": [{ HostIp: "", HostPort: "" }],
        "53/udp": [{ HostIp: "127.0.0.1", HostPort: "15353" }],
      });
      assert.deepEqual(
        [h["Memory"], h["MemoryReservation"], h["CpuShares"], h["NanoCpus"], h["PidsLimit"], h["ShmSize"]],
        [64 * 2 ** 20, 32 * 2 ** 20, 512, 500_000_000, 100, 16 * 2 ** 20],
      );
      assert.deepEqual([h["Init"], h["Privileged"], h["ReadonlyRootfs"]], [true, false, true]);
      assert.deepEqual([h["CapAdd"], h["CapDrop"]], [["NET_ADMIN"], ["MKNOD"]]);
      assert.deepEqual(h["Tmpfs"], { "/run": "rw,size=1m" });
      assert.deepEqual(h["Ulimits"], [{ Name: "nofile", Soft: 1024, Hard: 2048 }]);
      assert.deepEqual([h["ExtraHosts"], h["Dns"], h["DnsSearch"], h["Binds"]], [["db:10.0.0.5"], ["10.0.0.2"], ["example.internal"], ["/tmp:/host-tmp:ro"]]);
      assert.deepEqual((h["Mounts"] as object[])[0], { Type: "tmpfs", Target: "/scratch" });
      assert.deepEqual(h["Sysctls"], { "net.ipv4.ip_unprivileged_port_start": "0" });
      assert.deepEqual(h["LogConfig"], { Type: "json-file", Config: { "max-size": "1m" } });
      assert.deepEqual([h["NetworkMode"], h["SecurityOpt"]], ["bridge", ["no-new-privileges"]]);
    });

    test("logs from the json-file match the logs endpoint's, and a line Docker split comes whole", async () => {
      await buildTestImage();
      const script = 'i=0; while [ $i -lt 2000 ]; do echo "out $i"; echo "err $i" >&2; i=$((i+1)); done; head -c 40000 /dev/zero | tr "\\0" x; echo';
      const id = await docker.createContainer({ name: `berth-test-logfile-${process.pid}`, image: IMAGE, labels: { "berth.test": "1" }, cmd: ["sh", "-c", script], networkMode: "none" });
      created.push(id);
      await docker.startContainer(id);
      type Line = [stream: string, line: string, timeMs: number];
      const fromFile: Line[] = [];
      await docker.logs(id, { follow: true }, (stream, line, timeMs) => fromFile.push([stream, line, timeMs]));
      const endpoint = new DockerRuntime({ socketPath: SOCKET, logFiles: false });
      const fromEndpoint: Line[] = [];
      await endpoint.logs(id, { follow: true }, (stream, line, timeMs) => fromEndpoint.push([stream, line, timeMs]));
      endpoint.close();
      const seen = `${fromFile.length} lines from the file, ${fromEndpoint.length} from the endpoint`;
      // Docker copies stdout and stderr separately, so the long line need not come last.
      const isLong = (l: Line) => l[1].length > 1000;
      const long = fromFile.filter(isLong);
      assert.deepEqual(long.map((l) => [l[0], l[1].length, /^x+$/.test(l[1])]), [["stdout", 40000, true]], `the 40,000-character line is one line (${seen})`);
      const short = fromFile.filter((l) => !isLong(l));
      assert.equal(short.length, 4000, seen);
      // The endpoint prefixes each of Docker's 16 KiB parts with its own time, so its copy of the long line differs.
      assert.deepEqual(short, fromEndpoint.filter((l) => !isLong(l)), "the same lines, streams and times either way");
      const since = short[3000]![2];
      const later: Line[] = [];
      await docker.logs(id, { since }, (stream, line, timeMs) => later.push([stream, line, timeMs]));
      assert.deepEqual(later, fromFile.filter((l) => l[2] >= since), "since keeps lines at or after it");
    });

    test("an unreachable socket is Unavailable", async () => {
      const nowhere = new DockerRuntime({ socketPath: "/tmp/berth-no-such.sock" });
      await assert.rejects(nowhere.ping(), (e: unknown) => e instanceof Error && (e as { kind?: string }).kind === "Unavailable");
    });
  });
}
