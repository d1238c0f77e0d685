// Bundles the berth command into dist/berth.js and the load balancer's worker into
// dist/lb-worker.js with esbuild. Native and large runtime packages stay external and load from
// node_modules.
import { build } from "esbuild";

const shared = {
  bundle: true,
  platform: "node",
  target: "node20",
  format: "esm",
  sourcemap: true,
  external: ["better-sqlite3"],
  banner: { js: "import { createRequire as __berthRequire } from 'node:module'; const require = __berthRequire(import.meta.url);" },
  logLevel: "warning",
};

await build({ ...shared, entryPoints: ["src/main.ts"], outfile: "dist/berth.js" });
// The load balancer's proxy worker processes (forked by src/lb/worker-pool.ts from next to berth.js).
await build({ ...shared, entryPoints: ["src/lb/lb-worker.ts"], outfile: "dist/lb-worker.js" });
