#!/usr/bin/env bash
# Installs Debian's Chromium for the browser tests and the UI benchmark (Playwright drives it;
# no browser download). Idempotent: does nothing when /usr/bin/chromium already runs.
#
#   scripts/install-chromium.sh
#
# Needs root (or sudo) and the Debian package mirrors.
set -euo pipefail

CHROMIUM="${CHROMIUM_PATH:-/usr/bin/chromium}"
log() { printf '[install-chromium] %s\n' "$*" >&2; }

if [[ -x "$CHROMIUM" ]] && "$CHROMIUM" --version >/dev/null 2>&1; then
  log "already installed: $("$CHROMIUM" --version 2>/dev/null | tail -n1)"
  exit 0
fi

SUDO=()
if [[ "$(id -u)" -ne 0 ]]; then
  if command -v sudo >/dev/null 2>&1; then SUDO=(sudo); else log "must run as root (or with sudo)"; exit 1; fi
fi

t0=$SECONDS
export DEBIAN_FRONTEND=noninteractive
# Refresh the package lists only when they are missing or older than a day.
if [[ -z "$(find /var/lib/apt/lists -maxdepth 1 -name '*Packages*' -mtime -1 2>/dev/null | head -n1)" ]]; then
  "${SUDO[@]}" apt-get update -qq
fi
"${SUDO[@]}" apt-get install -y -qq --no-install-recommends chromium fonts-dejavu-core >/dev/null
log "installed $("$CHROMIUM" --version 2>/dev/null | tail -n1) in $((SECONDS - t0))s"
