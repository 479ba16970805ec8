#!/usr/bin/env bash
# Starts a throwaway OpenStack Swift with its S3 API (the s3api middleware, which checks SigV4
# signatures like real S3) for the artifact store tests, idempotently. Prints shell exports on
# stdout (everything else goes to stderr):
#
#   eval "$(bash scripts/start-swift.sh)"     # sets TROVE_TEST_S3_ENDPOINT, _ACCESS_KEY, _SECRET_KEY, _BUCKET
#   bash scripts/stop-swift.sh                # stop it (add --purge to delete its files too)
#
# Environment:
#   TROVE_SWIFT_PORT  the S3/Swift proxy port on 127.0.0.1 (default 18480); the object, container
#                     and account servers and memcached use the next four ports
#   TROVE_SWIFT_DIR   where configs, rings and data live (default /tmp/trove-swift-<port>)
#
# One device, one replica, tempauth user test:tester with key testing (the S3 access key is
# `test:tester`, the secret `testing`), a bucket named `trove`. Installs Debian's Swift packages
# and memcached first when they are missing (needs root).
#
# Test-only setting: s3api's min_segment_size is lowered to 1 byte so the artifact store contract
# can use small multipart parts. Real S3 (and a default Swift) refuse parts below 5 MiB except the
# last one; the MLflow client uploads 10 MiB parts by default (MLFLOW_MULTIPART_UPLOAD_CHUNK_SIZE).
set -euo pipefail

PORT="${TROVE_SWIFT_PORT:-18480}"
OBJECT_PORT=$((PORT + 1))
CONTAINER_PORT=$((PORT + 2))
ACCOUNT_PORT=$((PORT + 3))
MEMCACHED_PORT=$((PORT + 4))
DIR="${TROVE_SWIFT_DIR:-/tmp/trove-swift-${PORT}}"
ETC="$DIR/etc"
RUN="$DIR/run"
LOGS="$DIR/log"
DEVICES="$DIR/srv"
BUCKET=trove
ENDPOINT="http://127.0.0.1:${PORT}"

log() { printf '[start-swift] %s\n' "$*" >&2; }

print_exports() {
  cat <<EOF
export TROVE_TEST_S3_ENDPOINT=${ENDPOINT}
export TROVE_TEST_S3_ACCESS_KEY=test:tester
export TROVE_TEST_S3_SECRET_KEY=testing
export TROVE_TEST_S3_BUCKET=${BUCKET}
EOF
}

is_running() {
  local pidfile="$1"
  [[ -f "$pidfile" ]] && kill -0 "$(cat "$pidfile")" 2>/dev/null
}

if is_running "$RUN/proxy.pid" && curl -fsS -o /dev/null "$ENDPOINT/healthcheck" 2>/dev/null; then
  log "already running at $ENDPOINT ($DIR)"
  print_exports
  exit 0
fi

t0=$SECONDS
packages=(swift swift-proxy swift-account swift-container swift-object memcached curl)
missing=()
for pkg in "${packages[@]}"; do
  dpkg -s "$pkg" >/dev/null 2>&1 || missing+=("$pkg")
done
if ((${#missing[@]} > 0)); then
  log "installing Debian packages: ${missing[*]}"
  if [[ "$(id -u)" -ne 0 ]]; then log "must run as root to install them"; exit 1; fi
  export DEBIAN_FRONTEND=noninteractive
  if [[ -z "$(find /var/lib/apt/lists -maxdepth 1 -name '*Packages*' -mtime -1 2>/dev/null | head -n1)" ]]; then
    apt-get update -qq >&2
  fi
  apt-get install -y -qq --no-install-recommends "${packages[@]}" >&2
fi

# The servers drop privileges to this user, so the data folder must belong to it.
if [[ "$(id -u)" -eq 0 ]]; then SWIFT_USER=swift; else SWIFT_USER="$(id -un)"; fi

# Swift always reads the cluster-wide hash settings from /etc/swift/swift.conf.
if ! grep -qs '^swift_hash_path_suffix' /etc/swift/swift.conf; then
  mkdir -p /etc/swift
  printf '[swift-hash]\nswift_hash_path_suffix = trove-test\nswift_hash_path_prefix = trove-test\n' >/etc/swift/swift.conf
fi

# Leftovers of a crashed run: stop what is still alive, then start from a clean slate.
if [[ -d "$RUN" ]]; then bash "$(dirname "${BASH_SOURCE[0]}")/stop-swift.sh" >/dev/null 2>&1 || true; fi
rm -rf "$DIR"
mkdir -p "$ETC" "$RUN" "$LOGS" "$DEVICES/d1"

common_defaults() {
  cat <<EOF
[DEFAULT]
bind_ip = 127.0.0.1
bind_port = $1
workers = 1
user = ${SWIFT_USER}
swift_dir = ${ETC}
devices = ${DEVICES}
mount_check = false
log_level = WARNING
EOF
}

{
  common_defaults "$OBJECT_PORT"
  printf '\n[pipeline:main]\npipeline = object-server\n\n[app:object-server]\nuse = egg:swift#object\n'
} >"$ETC/object-server.conf"
{
  common_defaults "$CONTAINER_PORT"
  printf '\n[pipeline:main]\npipeline = container-server\n\n[app:container-server]\nuse = egg:swift#container\n'
} >"$ETC/container-server.conf"
{
  common_defaults "$ACCOUNT_PORT"
  printf '\n[pipeline:main]\npipeline = account-server\n\n[app:account-server]\nuse = egg:swift#account\n'
} >"$ETC/account-server.conf"
{
  common_defaults "$PORT"
  cat <<EOF

[pipeline:main]
pipeline = catch_errors gatekeeper healthcheck proxy-logging cache listing_formats s3api tempauth copy slo dlo proxy-logging proxy-server

[app:proxy-server]
use = egg:swift#proxy
account_autocreate = true

[filter:tempauth]
use = egg:swift#tempauth
user_test_tester = testing .admin

[filter:s3api]
use = egg:swift#s3api
location = us-east-1
min_segment_size = 1

[filter:cache]
use = egg:swift#memcache
memcache_servers = 127.0.0.1:${MEMCACHED_PORT}

[filter:catch_errors]
use = egg:swift#catch_errors

[filter:gatekeeper]
use = egg:swift#gatekeeper

[filter:healthcheck]
use = egg:swift#healthcheck

[filter:proxy-logging]
use = egg:swift#proxy_logging

[filter:listing_formats]
use = egg:swift#listing_formats

[filter:copy]
use = egg:swift#copy

[filter:slo]
use = egg:swift#slo

[filter:dlo]
use = egg:swift#dlo
EOF
} >"$ETC/proxy-server.conf"

(
  cd "$ETC"
  for ring in object:"$OBJECT_PORT" container:"$CONTAINER_PORT" account:"$ACCOUNT_PORT"; do
    name="${ring%%:*}"
    swift-ring-builder "$name.builder" create 8 1 1 >/dev/null
    swift-ring-builder "$name.builder" add "r1z1-127.0.0.1:${ring##*:}/d1" 100 >/dev/null
    swift-ring-builder "$name.builder" rebalance >/dev/null
  done
)
chown -R "$SWIFT_USER" "$DEVICES" "$ETC"

# Each service in its own session (process group), so stop-swift.sh can end it with its workers.
start_service() {
  local name="$1"
  shift
  setsid "$@" >"$LOGS/$name.log" 2>&1 </dev/null &
  echo $! >"$RUN/$name.pid"
}
memcached_user=()
if [[ "$(id -u)" -eq 0 ]]; then memcached_user=(-u memcache); fi
start_service memcached memcached "${memcached_user[@]}" -l 127.0.0.1 -p "$MEMCACHED_PORT" -U 0 -m 64
start_service object swift-object-server "$ETC/object-server.conf"
start_service container swift-container-server "$ETC/container-server.conf"
start_service account swift-account-server "$ETC/account-server.conf"
start_service proxy swift-proxy-server "$ETC/proxy-server.conf"

# Ready when tempauth hands out a token (proxy, memcached and account server all answer) and the
# bucket can be created through the Swift API (a container is what s3api calls a bucket).
token=""
for _ in $(seq 1 150); do
  token="$(curl -fsS -o /dev/null -D - -H 'X-Auth-User: test:tester' -H 'X-Auth-Key: testing' \
    "$ENDPOINT/auth/v1.0" 2>/dev/null | tr -d '\r' | awk -F': ' 'tolower($1)=="x-auth-token"{print $2}')" || true
  if [[ -n "$token" ]] && curl -fsS -o /dev/null -X PUT -H "X-Auth-Token: $token" "$ENDPOINT/v1/AUTH_test/$BUCKET" 2>/dev/null; then
    break
  fi
  token=""
  sleep 0.2
done
if [[ -z "$token" ]]; then
  log "Swift did not become ready; logs in $LOGS"
  tail -n 20 "$LOGS"/*.log >&2 || true
  exit 1
fi

log "Swift $(swift-proxy-server --version 2>/dev/null || dpkg-query -W -f='${Version}' swift-proxy) with s3api running at $ENDPOINT ($DIR) after $((SECONDS - t0))s"
print_exports
