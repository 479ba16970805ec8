#!/usr/bin/env bash
# Unit, store and API tests (node:test through tsx). Node 20 does not expand globs itself, so
# the file list is built here. Extra arguments go to node (e.g. --test-name-pattern=...).
# Tests that start `trove` as a process run the built server: dist/ is rebuilt first if the
# sources changed, and TROVE_RUNTIME=dist keeps bin/trove.js from falling back to tsx.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
node scripts/build.mjs --if-stale --server
export TROVE_RUNTIME=dist
mapfile -t files < <(find src test -name '*.test.ts' -not -path '*/node_modules/*' | sort)
exec node --import tsx --test --test-concurrency=2 "$@" "${files[@]}"
