#!/usr/bin/env bash
# Starts a throwaway PostgreSQL cluster for the tests, idempotently, and prints its connection URI
# on stdout (everything else goes to stderr):
#
#   export TROVE_TEST_POSTGRES_URI="$(bash scripts/start-postgres.sh)"
#   bash scripts/stop-postgres.sh            # stop it (add --purge to delete its files too)
#
# Environment:
#   TROVE_PG_PORT   TCP port on 127.0.0.1 (default 54329)
#   TROVE_PG_DIR    where the cluster lives (default /tmp/trove-postgres-<port>; the postgres user
#                   must be able to reach it, which a checkout under /root may not allow)
#
# The cluster is for tests only: fsync is off (a clean stop or a server crash loses nothing, only
# an OS crash could), the C locale makes text sort byte-wise like SQLite. Local socket connections
# are trusted; TCP needs the password, so the tests exercise real password authentication.
# Installs Debian's postgresql package first when no PostgreSQL binaries are present (needs root).
set -euo pipefail

PORT="${TROVE_PG_PORT:-54329}"
DIR="${TROVE_PG_DIR:-/tmp/trove-postgres-${PORT}}"
USER_NAME=trove
PASSWORD=trove
DATABASE=trove
URI="postgresql://${USER_NAME}:${PASSWORD}@127.0.0.1:${PORT}/${DATABASE}"

log() { printf '[start-postgres] %s\n' "$*" >&2; }

find_bin_dir() {
  ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n1
}

BIN="$(find_bin_dir)"
if [[ -z "$BIN" || ! -x "$BIN/initdb" ]]; then
  log "PostgreSQL is not installed; installing Debian's postgresql package"
  if [[ "$(id -u)" -ne 0 ]]; then log "must run as root to install PostgreSQL"; exit 1; fi
  export DEBIAN_FRONTEND=noninteractive
  if [[ -z "$(find /var/lib/apt/lists -maxdepth 1 -name '*Packages*' -mtime -1 2>/dev/null | head -n1)" ]]; then
    apt-get update -qq >&2
  fi
  apt-get install -y -qq postgresql >&2
  BIN="$(find_bin_dir)"
fi

# initdb and postgres refuse to run as root: run them as the postgres user the package created.
as_postgres() {
  if [[ "$(id -u)" -eq 0 ]]; then
    su postgres -s /bin/bash -c "$(printf '%q ' "$@")"
  else
    "$@"
  fi
}

DATA="$DIR/data"
SOCKETS="$DIR/run"

if [[ -f "$DATA/PG_VERSION" ]] && as_postgres "$BIN/pg_ctl" -D "$DATA" status >/dev/null 2>&1; then
  log "already running on 127.0.0.1:${PORT} ($DATA)"
  echo "$URI"
  exit 0
fi

t0=$SECONDS
if [[ ! -f "$DATA/PG_VERSION" ]]; then
  rm -rf "$DIR"
  mkdir -p "$DATA" "$SOCKETS"
  if [[ "$(id -u)" -eq 0 ]]; then chown -R postgres:postgres "$DIR"; fi
  chmod 700 "$DATA"
  as_postgres "$BIN/initdb" -D "$DATA" -U postgres -E UTF8 --no-locale \
    --auth-local=trust --auth-host=scram-sha-256 >/dev/null
fi

# A stale pid file from a killed cluster would stop pg_ctl from starting it again.
rm -f "$DATA/postmaster.pid"
as_postgres "$BIN/pg_ctl" -D "$DATA" -l "$DIR/postgres.log" -w -t 30 start \
  -o "-p ${PORT} -k ${SOCKETS} -c listen_addresses=127.0.0.1 -c fsync=off -c full_page_writes=off -c max_connections=300" >/dev/null

# The role the server and the tests connect as; CREATEDB so each test server gets its own database.
as_postgres "$BIN/psql" -h "$SOCKETS" -p "$PORT" -U postgres -d postgres -v ON_ERROR_STOP=1 -q >/dev/null <<SQL
DO \$\$
BEGIN
  IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '${USER_NAME}') THEN
    CREATE ROLE ${USER_NAME} LOGIN CREATEDB PASSWORD '${PASSWORD}';
  END IF;
END
\$\$;
SELECT 'CREATE DATABASE ${DATABASE} OWNER ${USER_NAME}'
WHERE NOT EXISTS (SELECT FROM pg_database WHERE datname = '${DATABASE}') \gexec
SQL

log "PostgreSQL $("$BIN/postgres" --version | awk '{print $3}') running on 127.0.0.1:${PORT} ($DIR) after $((SECONDS - t0))s"
echo "$URI"
