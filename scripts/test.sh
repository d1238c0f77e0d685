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
# Agents the tests start leave their containers running when they stop, as an ECS agent does.
# The harness lists each test agent's id here; after the run, their containers are removed
# (only theirs: a Berth of the user's own on this host keeps its tasks).
export BERTH_TEST_AGENTS="$(mktemp -t berth-test-agents.XXXXXX)"
remove_test_containers() {
  if command -v docker >/dev/null && [ -s "$BERTH_TEST_AGENTS" ]; then
    for id in $(sort -u "$BERTH_TEST_AGENTS"); do
      docker ps -aq --filter "label=berth.agent-id=$id" | xargs -r docker rm -f -v >/dev/null || true
    done
  fi
  rm -f "$BERTH_TEST_AGENTS"
}
trap remove_test_containers EXIT

echo "== tests (${#files[@]} files)"
node --import tsx --test --test-reporter=spec "${files[@]}"
