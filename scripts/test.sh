#!/usr/bin/env bash
# The whole suite: static checks first (types, layering, generated code current), then every
# test file under test/ with node's test runner. Arguments narrow the test files.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

echo "== typecheck"
npx tsc -p tsconfig.json
echo "== layering"
node --import tsx scripts/check-layers.ts
echo "== generated models are current"
node --import tsx scripts/generate-models.ts --check

if [ "$#" -gt 0 ]; then files=("$@"); else mapfile -t files < <(find test -name '*.test.ts' | sort); fi
echo "== tests (${#files[@]} files)"
exec node --import tsx --test --test-reporter=spec "${files[@]}"
