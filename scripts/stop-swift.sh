#!/usr/bin/env bash
# Stops the throwaway Swift started by scripts/start-swift.sh (same TROVE_SWIFT_PORT and
# TROVE_SWIFT_DIR): each service's process group, by the ids recorded at start. With --purge its
# files are deleted too. Stopping a Swift that is not running succeeds.
set -euo pipefail

PORT="${TROVE_SWIFT_PORT:-18480}"
DIR="${TROVE_SWIFT_DIR:-/tmp/trove-swift-${PORT}}"
RUN="$DIR/run"

log() { printf '[stop-swift] %s\n' "$*" >&2; }

stopped=0
for pidfile in "$RUN"/*.pid; do
  [[ -f "$pidfile" ]] || continue
  pid="$(cat "$pidfile")"
  # start-swift.sh ran every service with setsid, so its pid is also its process group id.
  if kill -0 "$pid" 2>/dev/null; then
    kill -TERM -- "-$pid" 2>/dev/null || kill -TERM "$pid" 2>/dev/null || true
    for _ in $(seq 1 50); do
      kill -0 "$pid" 2>/dev/null || break
      sleep 0.1
    done
    kill -KILL -- "-$pid" 2>/dev/null || true
    stopped=$((stopped + 1))
  fi
  rm -f "$pidfile"
done
if ((stopped > 0)); then log "stopped $stopped services in $DIR"; fi
if [[ "${1:-}" == "--purge" ]]; then
  rm -rf "$DIR"
  log "removed $DIR"
fi
