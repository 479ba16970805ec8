#!/usr/bin/env bash
# The whole test suite, as the README's test command and CI run it:
#   1. type check            (tsc --noEmit)
#   2. node tests            (unit, store, API: scripts/test-node.sh)
#   3. real-client tests     (compat/ with MLflow 3.18 and 2.22: scripts/test-compat.sh)
#   4. web UI                (tsc for web/, vitest unit tests, Playwright in Chromium: scripts/test-e2e.sh)
# Each tier runs even if an earlier one failed; the exit code is non-zero if any failed.
set -uo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

failed=()
step() {
  local name="$1"
  shift
  printf '\n=== %s ===\n' "$name"
  local t0=$SECONDS
  if "$@"; then
    printf '=== %s passed in %ss ===\n' "$name" "$((SECONDS - t0))"
  else
    printf '=== %s FAILED after %ss ===\n' "$name" "$((SECONDS - t0))"
    failed+=("$name")
  fi
}

step "type check" npx tsc --noEmit -p tsconfig.json
step "node tests" bash scripts/test-node.sh
step "compat tests (real MLflow clients)" bash scripts/test-compat.sh
step "web UI type check" bash -c 'npx tsc --noEmit -p web/tsconfig.json && npx tsc --noEmit -p e2e/tsconfig.json'
step "web UI unit tests" npm run --silent test:web
step "browser tests (web UI, Chromium)" bash scripts/test-e2e.sh

if ((${#failed[@]} > 0)); then
  printf '\nFAILED: %s\n' "${failed[*]}"
  exit 1
fi
printf '\nAll test tiers passed.\n'
