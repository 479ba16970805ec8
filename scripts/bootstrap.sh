#!/usr/bin/env bash
# Installs everything Trove's tests need on a fresh Debian machine, idempotently:
# system packages (apt), npm packages (npm ci), and the Python venvs of the compat tier.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

log() { printf '[bootstrap] %s\n' "$*" >&2; }

as_root() {
  if [[ $(id -u) -eq 0 ]]; then "$@"; else sudo "$@"; fi
}

# Debian packages the test tiers use. Installed only when missing, so reruns cost nothing.
# PostgreSQL, and OpenStack Swift (with its S3 API) + memcached, back the store and artifact
# contract tiers; scripts/start-postgres.sh and scripts/start-swift.sh run them as throwaway services.
apt_packages=(python3-venv build-essential postgresql swift swift-proxy swift-account swift-container swift-object memcached curl)
missing=()
for pkg in "${apt_packages[@]}"; do
  dpkg -s "$pkg" >/dev/null 2>&1 || missing+=("$pkg")
done
if ((${#missing[@]} > 0)); then
  log "installing Debian packages: ${missing[*]}"
  as_root apt-get update -qq
  DEBIAN_FRONTEND=noninteractive as_root apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

# npm ci is the reproducible install from package-lock.json. A stamp with the lock's hash lets
# reruns skip it (it rebuilds better-sqlite3 from source, which takes a minute on 2 cores).
lock_hash="$(sha256sum package-lock.json | cut -d' ' -f1)"
if [[ -f node_modules/.trove-lock.sha256 && "$(cat node_modules/.trove-lock.sha256)" == "$lock_hash" ]]; then
  log "node_modules matches package-lock.json"
else
  log "npm ci"
  npm ci --no-audit --no-fund
  echo "$lock_hash" >node_modules/.trove-lock.sha256
fi
