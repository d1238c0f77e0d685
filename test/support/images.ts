/**
 * Test images, built locally (no registry is reachable): a scratch image with a static
 * busybox, which has sh, httpd, wget, nc and sleep.
 */
import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { resolve } from "node:path";
import { buildSync } from "esbuild";
import { DockerRuntime } from "../../src/runtime/docker-runtime.ts";
import { createTar } from "../../src/runtime/tar.ts";

export const BUSYBOX_IMAGE = "berth-test/busybox:latest";

let built: Promise<void> | undefined;

export function ensureBusyboxImage(runtime = new DockerRuntime()): Promise<void> {
  built ??= (async () => {
    if (await runtime.inspectImage(BUSYBOX_IMAGE)) return;
    const dockerfile = 'FROM scratch\nCOPY busybox /bin/busybox\nRUN ["/bin/busybox", "--install", "-s", "/bin"]\nCMD ["/bin/sh"]\n';
    const tar = createTar([
      { name: "Dockerfile", data: dockerfile },
      { name: "busybox", data: readFileSync("/bin/busybox"), mode: 0o755 },
    ]);
    await runtime.buildImage(tar, BUSYBOX_IMAGE);
  })();
  return built;
}

export const NODE_SDK_IMAGE = "berth-test/node-sdk:latest";

let nodeBuilt: Promise<void> | undefined;

/**
 * A scratch image with this host's node binary, the shared libraries it links, busybox, and
 * two scripts bundled with the AWS SDK (test/fixtures/sdk-probe.ts as /app/probe.js,
 * rotate-secret.ts as /app/rotate.js): applications that use the SDK as one in a real task
 * would, without pulling anything. Run one with `command: ["/app/probe.js", …]`.
 */
export function ensureNodeSdkImage(runtime = new DockerRuntime()): Promise<void> {
  nodeBuilt ??= (async () => {
    const bundle = (name: string) =>
      buildSync({
        entryPoints: [resolve(import.meta.dirname, `../fixtures/${name}.ts`)],
        bundle: true,
        platform: "node",
        // CommonJS: the SDK's dependencies require() node built-ins, which an ESM bundle cannot.
        format: "cjs",
        target: "node20",
        write: false,
      }).outputFiles[0]!.contents;
    const node = process.execPath;
    const libs = execFileSync("ldd", [node], { encoding: "utf8" })
      .split("\n")
      .flatMap((line) => /(\/\S+) \(0x/.exec(line)?.slice(1, 2) ?? []);
    const dockerfile = [
      "FROM scratch",
      "COPY rootfs/ /",
      'RUN ["/bin/busybox", "--install", "-s", "/bin"]',
      'ENTRYPOINT ["/usr/bin/node"]',
      "",
    ].join("\n");
    const tar = createTar([
      { name: "Dockerfile", data: dockerfile },
      { name: "rootfs/bin/busybox", data: readFileSync("/bin/busybox"), mode: 0o755 },
      { name: "rootfs/usr/bin/node", data: readFileSync(node), mode: 0o755 },
      { name: "rootfs/app/probe.js", data: Buffer.from(bundle("sdk-probe")) },
      { name: "rootfs/app/rotate.js", data: Buffer.from(bundle("rotate-secret")) },
      ...libs.map((lib) => ({ name: `rootfs${lib}`, data: readFileSync(lib), mode: 0o755 })),
      { name: "rootfs/tmp/", mode: 0o1777 },
    ]);
    await runtime.buildImage(tar, NODE_SDK_IMAGE);
  })();
  return nodeBuilt;
}
