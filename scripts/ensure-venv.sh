#!/usr/bin/env bash
# Builds (or keeps) a Python virtual environment from locked requirement files:
#
#   scripts/ensure-venv.sh NAME REQUIREMENTS.txt [MORE.txt ...]    # -> .venvs/NAME
#
# Used by scripts/test-compat.sh (.venvs/mlflow3, .venvs/mlflow2) and the benchmark
# (bench/run.ts: .venvs/bench). The files are complete locks, installed with --no-deps. The venv is
# rebuilt only when the files or the interpreter change (a stamp file holds their sha256), or when
# the path it was created at no longer leads to it.
#
# Environment: COMPAT_PYTHON=python3   interpreter used to create the venv
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENVS="$ROOT/.venvs"
PYTHON="${COMPAT_PYTHON:-python3}"

if [[ $# -lt 2 ]]; then
  echo "usage: $0 NAME REQUIREMENTS.txt [MORE.txt ...]" >&2
  exit 2
fi
name="$1"
shift
reqs=("$@")

log() { printf '[ensure-venv] %s\n' "$*" >&2; }

venv="$VENVS/$name"
stamp="$venv/.requirements.sha256"
want="$({ cat "${reqs[@]}"; "$PYTHON" --version; } | sha256sum | cut -d' ' -f1)"
# A venv's console scripts (bin/mlflow, ...) name its python by the path the venv was created at.
# One created through another path (a git worktree whose .venvs is a symlink here) breaks when that
# path goes away, so it only counts as up to date while that path still leads to this venv.
created_at() { sed -n 's/^VIRTUAL_ENV="\{0,1\}\([^"]*\)"\{0,1\}$/\1/p' "$venv/bin/activate" 2>/dev/null | head -n 1; }
same_place() {
  local recorded
  recorded="$(created_at)"
  [[ -n "$recorded" && -d "$recorded" && "$(cd "$recorded" && pwd -P)" == "$(cd "$venv" && pwd -P)" ]]
}
if [[ -x "$venv/bin/python" && -f "$stamp" && "$(cat "$stamp")" == "$want" ]] && same_place; then
  log "venv $name is up to date"
  exit 0
fi
t0=$SECONDS
log "building venv $name from ${reqs[*]#"$ROOT"/}"
rm -rf "$venv"
mkdir -p "$VENVS"
"$PYTHON" -m venv "$venv"
args=()
for req in "${reqs[@]}"; do args+=(-r "$req"); done
# The requirements files are complete locks (see their headers), hence --no-deps.
"$venv/bin/python" -m pip install --disable-pip-version-check -q --no-deps "${args[@]}"
echo "$want" >"$stamp"
log "venv $name built in $((SECONDS - t0))s"
