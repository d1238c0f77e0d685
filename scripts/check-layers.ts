/**
 * The layering check: every import between rooms under src/ must be a door that
 * docs/architecture.md allows. Exits 1 listing each import that opens a door the wrong way.
 */
import { readdirSync, readFileSync, statSync } from "node:fs";
import { dirname, join, relative, resolve, sep } from "node:path";

/** room → rooms it may import (itself always allowed). Keep in step with docs/architecture.md. */
export const ALLOWED: Record<string, readonly string[]> = {
  core: [],
  domain: ["core"],
  scheduler: ["domain", "core"],
  store: ["domain", "core"],
  control: ["domain", "scheduler", "store", "core"],
  controllers: ["control", "domain", "scheduler", "store", "core"],
  api: ["control", "domain", "core"],
  agent: ["runtime", "protocol", "core"],
  runtime: ["core"],
  protocol: ["core"],
  lb: ["protocol", "store", "core"],
  logs: ["store", "domain", "core"],
  secrets: ["store", "domain", "core"],
  iam: ["store", "domain", "core"],
  elb: ["store", "domain", "protocol", "core"],
  metrics: ["store", "domain", "core"],
  discovery: ["store", "domain", "core"],
  cli: ["api", "core"],
  console: [],
  server: ["*"],
  main: ["*"],
};

const SRC = resolve("src");
const IMPORT_RE = /(?:^|\n)\s*(?:import|export)\s[^;]*?from\s+["']([^"']+)["']|import\(\s*["']([^"']+)["']\s*\)/g;

function roomOf(file: string): string {
  const rel = relative(SRC, file);
  return rel.includes(sep) ? rel.split(sep)[0]! : "main";
}

function* sourceFiles(dir: string): Generator<string> {
  for (const name of readdirSync(dir)) {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) yield* sourceFiles(path);
    else if (name.endsWith(".ts")) yield path;
  }
}

export function violations(): string[] {
  const found: string[] = [];
  for (const file of sourceFiles(SRC)) {
    const from = roomOf(file);
    const text = readFileSync(file, "utf8");
    for (const m of text.matchAll(IMPORT_RE)) {
      const spec = m[1] ?? m[2]!;
      if (!spec.startsWith(".")) continue;
      const target = resolve(dirname(file), spec);
      if (!target.startsWith(SRC + sep)) continue;
      const to = roomOf(target);
      const allowed = ALLOWED[from];
      if (!allowed) {
        found.push(`${relative(".", file)}: room '${from}' is not in the architecture's table`);
      } else if (to !== from && !allowed.includes("*") && !allowed.includes(to)) {
        found.push(`${relative(".", file)}: ${from}/ may not import ${to}/ (${spec})`);
      }
    }
  }
  return found;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const bad = violations();
  if (bad.length > 0) {
    process.stderr.write(`Layering violations:\n${bad.map((b) => `  ${b}`).join("\n")}\n`);
    process.exit(1);
  }
  process.stdout.write("layering ok\n");
}
