#!/usr/bin/env bash
# The whole test suite, as the README's test command and CI run it:
#   0. build                 (npm run build: the server bundle in dist/, the web UI in web/dist/);
#                            every tier below that starts `trove` runs the built server
#                            (TROVE_RUNTIME=dist: bin/trove.js refuses to fall back to tsx)
#   1. type check            (tsc --noEmit)
#   2. node tests            (unit, store, API: scripts/test-node.sh), with the store and artifact
#                            contracts also on PostgreSQL and Swift; then the API tests on PostgreSQL
#   3. real-client tests     (compat/ with MLflow 3.18 and 2.22: scripts/test-compat.sh), then MLflow 3
#                            once more against Trove on PostgreSQL + Swift with two worker processes
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

# Throwaway PostgreSQL and Swift (S3 API) for the store, artifact and compat tiers: installed on
# first use, started here, stopped and deleted at the end (TROVE_KEEP_SERVICES=1 keeps them).
start_postgres() {
  local uri
  uri="$(bash scripts/start-postgres.sh)" || return 1
  export TROVE_TEST_POSTGRES_URI="$uri"
}
start_swift() {
  local exports
  exports="$(bash scripts/start-swift.sh)" || return 1
  eval "$exports"
}
stop_services() {
  if [[ "${TROVE_KEEP_SERVICES:-}" != "1" ]]; then
    bash scripts/stop-swift.sh --purge || true
    bash scripts/stop-postgres.sh --purge || true
  fi
}
trap stop_services EXIT
# Against Trove on PostgreSQL + Swift: a fresh database and bucket prefix, the S3 settings the way
# MLflow users set them, and two worker processes.
compat_on_postgres_and_swift() {
  local db="trove_compat_$$" status=0
  if [[ -z "${TROVE_TEST_POSTGRES_URI:-}" || -z "${TROVE_TEST_S3_ENDPOINT:-}" ]]; then
    echo "PostgreSQL or Swift did not start; see above" >&2
    return 1
  fi
  psql -q "$TROVE_TEST_POSTGRES_URI" -c "create database $db" || return 1
  COMPAT_BACKEND_STORE_URI="$(printf '%s' "$TROVE_TEST_POSTGRES_URI" | sed "s#^postgresql://#postgresql+psycopg2://#; s#/[^/]*\$#/$db#")" \
    COMPAT_ARTIFACTS_DESTINATION="s3://${TROVE_TEST_S3_BUCKET}/compat-$$" \
    COMPAT_TROVE_WORKERS=2 \
    MLFLOW_S3_ENDPOINT_URL="$TROVE_TEST_S3_ENDPOINT" \
    AWS_ACCESS_KEY_ID="$TROVE_TEST_S3_ACCESS_KEY" \
    AWS_SECRET_ACCESS_KEY="$TROVE_TEST_S3_SECRET_KEY" \
    AWS_DEFAULT_REGION=us-east-1 \
    bash scripts/test-compat.sh 3 || status=1
  psql -q "$TROVE_TEST_POSTGRES_URI" -c "drop database if exists $db with (force)" || true
  return "$status"
}

step "build (server bundle, web UI)" npm run --silent build
export TROVE_RUNTIME=dist
step "type check" npx tsc --noEmit -p tsconfig.json
step "start PostgreSQL (throwaway cluster)" start_postgres
step "start Swift with the S3 API (s3api)" start_swift
step "node tests" bash scripts/test-node.sh
step "API tests on PostgreSQL" env TROVE_TEST_DATABASE=postgres \
  node --import tsx --test --test-concurrency=2 test/api/*.api.test.ts
step "compat tests (real MLflow clients)" bash scripts/test-compat.sh
step "compat tests on PostgreSQL + Swift, 2 workers (MLflow 3)" compat_on_postgres_and_swift
step "web UI type check" bash -c 'npx tsc --noEmit -p web/tsconfig.json && npx tsc --noEmit -p e2e/tsconfig.json'
step "web UI unit tests" npm run --silent test:web
step "browser tests (web UI, Chromium)" bash scripts/test-e2e.sh

if ((${#failed[@]} > 0)); then
  printf '\nFAILED: %s\n' "${failed[*]}"
  exit 1
fi
printf '\nAll test tiers passed.\n'
