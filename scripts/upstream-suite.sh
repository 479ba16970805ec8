#!/usr/bin/env bash
# MLflow's own REST integration tests (tests/tracking/test_rest_tracking.py, test_model_registry.py,
# test_mlflow_artifacts.py) against Trove, with the stock MLflow client. Not part of CI: it needs a
# checkout of MLflow's tests, which is never committed here (see docs/compatibility.md).
#
#   scripts/upstream-suite.sh <mlflow checkout> [trove|mlflow] [pytest args...]
#
#   trove (default)  a fresh Trove (this checkout's bin/trove.js) per test, via compat/upstream/trove_upstream.py
#   mlflow           the reference: MLflow's own fixtures, i.e. its server from the same venv
#
# Environment:
#   UPSTREAM_PYTHON        interpreter with mlflow 3.18 + pytest-asyncio + pytest-timeout
#                          (default: .venvs/mlflow3/bin/python)
#   TROVE_UPSTREAM_PG_URI  run Trove on PostgreSQL: a fresh database per test on this cluster
#   UPSTREAM_REPORT        JSON-lines result file (default: <checkout>/trove-upstream-<kind>.jsonl);
#                          summarise with scripts/upstream-report.py
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
if [[ $# -lt 1 || ! -d "$1/tests/tracking" ]]; then
  echo "usage: $0 <mlflow checkout with tests/tracking> [trove|mlflow] [pytest args...]" >&2
  exit 2
fi
CHECKOUT="$(cd "$1" && pwd)"
shift
KIND=trove
if [[ $# -gt 0 && ( "$1" == trove || "$1" == mlflow ) ]]; then
  KIND="$1"
  shift
fi
PYTHON="${UPSTREAM_PYTHON:-$ROOT/.venvs/mlflow3/bin/python}"
REPORT="${UPSTREAM_REPORT:-$CHECKOUT/trove-upstream-$KIND.jsonl}"
MLFLOW_BIN="$(dirname "$(readlink -f "$ROOT/.venvs/mlflow3/bin/python")")"

FILES=(tests/tracking/test_rest_tracking.py tests/tracking/test_model_registry.py tests/tracking/test_mlflow_artifacts.py)
has_paths=0
for arg in "$@"; do [[ "$arg" == tests/* ]] && has_paths=1; done
[[ $has_paths == 1 ]] && FILES=()

# One bundle of this checkout's sources per run: starting node on plain JS saves seconds per test
# over tsx (a fresh server per test). It sits two levels under the root so web/dist resolves.
if [[ "$KIND" == trove ]]; then
  "$ROOT/node_modules/.bin/esbuild" "$ROOT/src/cli/main.ts" --bundle --platform=node --format=esm \
    --packages=external --log-level=warning --outfile="$ROOT/.upstream-build/bin/trove.mjs"
  export TROVE_UPSTREAM_ENTRY="$ROOT/.upstream-build/bin/trove.mjs"
fi

cd "$CHECKOUT"
# The artifacts tests launch `mlflow server` by name for the reference run: keep the venv's bin on PATH.
export PATH="$(dirname "$PYTHON"):$ROOT/.venvs/mlflow3/bin:$PATH"
export PYTHONPATH="$ROOT/compat/upstream${PYTHONPATH:+:$PYTHONPATH}"
export TROVE_UPSTREAM_SERVER="$KIND" TROVE_REPO="$ROOT" TROVE_UPSTREAM_REPORT="$REPORT"
echo "[upstream-suite] $KIND server, report in $REPORT" >&2
set +e
"$PYTHON" -m pytest "${FILES[@]}" -p trove_upstream -p no:cacheprovider -o addopts="" \
  --color=no -q -rN --timeout=300 "$@"
rc=$?
set -e
echo "[upstream-suite] pytest exit code $rc (failures are expected until the suite passes fully)" >&2
exit 0
