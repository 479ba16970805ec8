#!/usr/bin/env bash
# Compatibility tier: runs compat/ (pytest) with the real MLflow Python client against a live
# server, once per pinned client version (MLflow 3.18.x and 2.22.x).
#
#   scripts/test-compat.sh          # both client versions
#   scripts/test-compat.sh 3        # only MLflow 3 (or: 2)
#   scripts/test-compat.sh 3 -k artifacts   # extra arguments go to pytest
#
# Environment:
#   COMPAT_SERVER=trove (default) | mlflow   which server the suite drives (mlflow = upstream
#                                            server from the same venv, the reference behaviour)
#   COMPAT_PYTHON=python3                    interpreter used to create the venvs
#   TROVE_TEST_POSTGRES_URI                  a PostgreSQL cluster (scripts/start-postgres.sh; test.sh
#                                            exports it): compat/test_mlflow_db_postgres.py runs
#                                            `mlflow server` on it, and skips without it
#
# The venvs live in .venvs/mlflow3 and .venvs/mlflow2 (gitignored). Each is rebuilt only when
# its requirements file or the interpreter changes (a stamp file holds their sha256). With
# PostgreSQL configured, .venvs/bench is ensured too (the benchmark's venv: the same pinned mlflow
# plus psycopg, the driver MLflow's store needs on PostgreSQL and the client venv lacks); the MLflow
# 3 suite starts its `mlflow server`s on PostgreSQL from there (COMPAT_MLFLOW_PG_PYTHON).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENVS="$ROOT/.venvs"
PYTHON="${COMPAT_PYTHON:-python3}"

majors=(3 2)
if [[ $# -gt 0 && "$1" =~ ^[23]$ ]]; then
  majors=("$1")
  shift
fi

log() { printf '[test-compat] %s\n' "$*" >&2; }

ensure_venv() {
  local major="$1"
  bash "$ROOT/scripts/ensure-venv.sh" "mlflow${major}" "$ROOT/compat/requirements-mlflow${major}.txt"
}

status=0
for major in "${majors[@]}"; do
  ensure_venv "$major"
done
if [[ -n "${TROVE_TEST_POSTGRES_URI:-}" && " ${majors[*]} " == *" 3 "* ]]; then
  # The same command as bench/run.ts, so both share one venv.
  bash "$ROOT/scripts/ensure-venv.sh" bench "$ROOT/compat/requirements-mlflow3.txt" "$ROOT/bench/requirements-bench.txt"
  export COMPAT_MLFLOW_PG_PYTHON="$VENVS/bench/bin/python"
fi
# The suite drives the built server (dist/, rebuilt if the sources changed), never tsx.
node "$ROOT/scripts/build.mjs" --if-stale --server
export TROVE_RUNTIME=dist
for major in "${majors[@]}"; do
  venv="$VENVS/mlflow${major}"
  log "running compat suite with MLflow ${major} client against ${COMPAT_SERVER:-trove}"
  t0=$SECONDS
  set +e
  (
    cd "$ROOT"
    export COMPAT_MLFLOW_MAJOR="$major"
    export PATH="$venv/bin:$PATH"
    "$venv/bin/python" -m pytest compat -q -p no:cacheprovider "$@"
  )
  rc=$?
  set -e
  log "MLflow ${major} suite finished in $((SECONDS - t0))s with exit code $rc"
  if [[ $rc -ne 0 ]]; then status=1; fi
done
exit "$status"
