#!/usr/bin/env bash
# Unit, store and API tests (node:test through tsx). Node 20 does not expand globs itself, so
# the file list is built here. Extra arguments go to node (e.g. --test-name-pattern=...).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
mapfile -t files < <(find src test -name '*.test.ts' -not -path '*/node_modules/*' | sort)
exec node --import tsx --test --test-concurrency=2 "$@" "${files[@]}"
