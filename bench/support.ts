/**
 * What the benchmarks share: making sure the bundle they run (dist/berth.js) is current.
 */
import { spawnSync } from "node:child_process";
import { existsSync, readdirSync, statSync } from "node:fs";
import { join } from "node:path";
import { ROOT } from "../test/support/harness.ts";

/** Rebuilds dist/berth.js when it is missing or older than any file under src/. */
export function ensureBuilt(): void {
  const bundle = join(ROOT, "dist/berth.js");
  const src = join(ROOT, "src");
  const built = existsSync(bundle) ? statSync(bundle).mtimeMs : 0;
  if (built > 0 && readdirSync(src, { recursive: true }).every((f) => (statSync(join(src, String(f)), { throwIfNoEntry: false })?.mtimeMs ?? 0) <= built)) return;
  console.log("building dist/berth.js");
  if (spawnSync(process.execPath, ["scripts/build.mjs"], { cwd: ROOT, stdio: "inherit" }).status !== 0) throw new Error("build failed");
}
