#!/usr/bin/env bash
# Stops the throwaway PostgreSQL cluster started by scripts/start-postgres.sh (same TROVE_PG_PORT
# and TROVE_PG_DIR). With --purge its files are deleted too. Stopping a cluster that is not
# running succeeds.
set -euo pipefail

PORT="${TROVE_PG_PORT:-54329}"
DIR="${TROVE_PG_DIR:-/tmp/trove-postgres-${PORT}}"
DATA="$DIR/data"

log() { printf '[stop-postgres] %s\n' "$*" >&2; }

BIN="$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n1)"
if [[ -n "$BIN" && -f "$DATA/PG_VERSION" ]]; then
  if [[ "$(id -u)" -eq 0 ]]; then
    su postgres -s /bin/bash -c "$(printf '%q ' "$BIN/pg_ctl" -D "$DATA" -m fast -w stop)" >/dev/null 2>&1 || true
  else
    "$BIN/pg_ctl" -D "$DATA" -m fast -w stop >/dev/null 2>&1 || true
  fi
  log "stopped the cluster in $DIR"
fi
if [[ "${1:-}" == "--purge" ]]; then
  rm -rf "$DIR"
  log "removed $DIR"
fi
