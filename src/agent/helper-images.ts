/**
 * Berth's own helper images, built on the host from what Berth ships, never pulled: the
 * pause image that holds an awsvpc task's network namespace is a static busybox running
 * `sleep`. The build context is made in memory as a tar.
 */
import { existsSync, readFileSync } from "node:fs";
import type { Runtime } from "../runtime/runtime.ts";
import { createTar } from "../runtime/tar.ts";

export const PAUSE_IMAGE = "berth/pause:2";

/** Static busybox locations, in order of preference (Debian's busybox-static installs /bin/busybox). */
const BUSYBOX_PATHS = ["/bin/busybox", "/usr/bin/busybox"];

export async function ensurePauseImage(runtime: Runtime): Promise<void> {
  if (await runtime.inspectImage(PAUSE_IMAGE)) return;
  const busybox = BUSYBOX_PATHS.find((p) => existsSync(p));
  if (!busybox) throw new Error("A static busybox is needed to build Berth's pause image: apt-get install busybox-static");
  // busybox picks its applet by argv[0], so it keeps its own name.
  const dockerfile = 'FROM scratch\nCOPY busybox /bin/busybox\nENTRYPOINT ["/bin/busybox", "sleep", "2147483647"]\n';
  const tar = createTar([
    { name: "Dockerfile", data: Buffer.from(dockerfile) },
    { name: "busybox", data: readFileSync(busybox), mode: 0o755 },
  ]);
  await runtime.buildImage(tar, PAUSE_IMAGE);
}
