/**
 * Test images, built locally (no registry is reachable): a scratch image with a static
 * busybox, which has sh, httpd, wget, nc and sleep.
 */
import { readFileSync } from "node:fs";
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
