#!/usr/bin/env bash
# Browser tier: builds the server and the web UI, makes sure Debian's Chromium and the MLflow 3 venv exist,
# then runs e2e/ (Playwright) against a real `trove server` that e2e/global-setup.ts starts on a
# free port and fills with the real MLflow client (e2e/fixture.py).
#
#   scripts/test-e2e.sh                 # all specs
#   scripts/test-e2e.sh -g "promote"    # extra arguments go to `playwright test`
#
# Screenshots land in e2e/output/screenshots/ (gitignored).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
log() { printf '[test-e2e] %s\n' "$*" >&2; }

bash scripts/install-chromium.sh

# The MLflow 3 venv, built exactly as scripts/test-compat.sh builds it (requirements lock; the stamp
# hashes the lock and the interpreter version the same way, so neither script rebuilds the other's venv).
VENV="$ROOT/.venvs/mlflow3"
REQ="$ROOT/compat/requirements-mlflow3.txt"
PYTHON="${COMPAT_PYTHON:-python3}"
want="$({ cat "$REQ"; "$PYTHON" --version; } | sha256sum | cut -d' ' -f1)"
if [[ ! -x "$VENV/bin/python" || ! -f "$VENV/.requirements.sha256" || "$(cat "$VENV/.requirements.sha256")" != "$want" ]]; then
  log "building venv mlflow3 from compat/requirements-mlflow3.txt"
  rm -rf "$VENV"
  mkdir -p "$ROOT/.venvs"
  "$PYTHON" -m venv "$VENV"
  "$VENV/bin/python" -m pip install --disable-pip-version-check -q --no-deps -r "$REQ"
  echo "$want" >"$VENV/.requirements.sha256"
fi

log "building the server and the web UI (if the sources changed)"
node scripts/build.mjs --if-stale
export TROVE_RUNTIME=dist

rm -rf e2e/output/screenshots
t0=$SECONDS
set +e
npx playwright test --config e2e/playwright.config.ts "$@" 2> >(grep -v 'unexpected operator' >&2)
rc=$?
set -e
log "browser tests finished in $((SECONDS - t0))s with exit code $rc"
exit "$rc"
