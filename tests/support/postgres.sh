#!/bin/sh
# A throwaway PostgreSQL 15 for tests: its own cluster under ${TMPDIR:-/tmp}/vidzo-pg,
# listening on 127.0.0.1 only, trust auth, fsync off (the data is disposable).
#   tests/support/postgres.sh start   # prints postgres://postgres@127.0.0.1:15432/vidzo_test
#   tests/support/postgres.sh reset   # drops and recreates vidzo_test
#   tests/support/postgres.sh stop
# Runs non-interactively; as root it runs the server as the `postgres` OS user (the
# server refuses to run as root). Env: VZ_PG_PORT, VZ_PG_DB, VZ_PG_BIN.
set -eu

PORT=${VZ_PG_PORT:-15432}
DBNAME=${VZ_PG_DB:-vidzo_test}
BASE=${TMPDIR:-/tmp}/vidzo-pg
DATA=$BASE/data
LOG=$BASE/server.log
PG_CALLER=postgres.sh . "$(dirname "$0")/pg-bin.sh"
URL="postgres://postgres@127.0.0.1:$PORT/$DBNAME"

# as_pg CMD...: run as the postgres OS user when we are root, else as ourselves.
as_pg() {
  if [ "$(id -u)" = 0 ]; then
    if command -v runuser >/dev/null 2>&1; then runuser -u postgres -- "$@" </dev/null
    else su postgres -s /bin/sh -c '"$0" "$@"' -- "$@" </dev/null; fi
  else "$@" </dev/null; fi
}

psql_admin() {
  "$BIN/psql" -X -q -v ON_ERROR_STOP=1 -h 127.0.0.1 -p "$PORT" -U postgres -d postgres "$@" </dev/null
}

running() { [ -f "$DATA/postmaster.pid" ] && as_pg "$BIN/pg_ctl" -D "$DATA" status >/dev/null 2>&1; }

create_db() {
  if [ -z "$(psql_admin -tAc "SELECT 1 FROM pg_database WHERE datname = '$DBNAME'")" ]; then
    psql_admin -c "CREATE DATABASE \"$DBNAME\""
  fi
}

start() {
  mkdir -p "$BASE"
  if [ "$(id -u)" = 0 ]; then
    chown postgres:postgres "$BASE"
    # TMPDIR under a private home (e.g. /root/tmp) is invisible to the postgres user
    as_pg test -w "$BASE" || { echo "postgres.sh: user postgres cannot write $BASE; set TMPDIR=/tmp" >&2; exit 1; }
  fi
  if [ ! -f "$DATA/PG_VERSION" ]; then
    rm -rf "$DATA"
    as_pg "$BIN/initdb" -D "$DATA" -U postgres --auth=trust -E UTF8 --no-locale >"$BASE/initdb.log" 2>&1 \
      || { cat "$BASE/initdb.log" >&2; exit 1; }
  fi
  if ! running; then
    as_pg "$BIN/pg_ctl" -D "$DATA" -l "$LOG" -w -t 60 \
      -o "-p $PORT -c listen_addresses=127.0.0.1 -k $BASE -c fsync=off -c synchronous_commit=off -c full_page_writes=off" \
      start >/dev/null || { tail -n 20 "$LOG" >&2; exit 1; }
  fi
  create_db
  echo "$URL"
}

stop() {
  if running; then as_pg "$BIN/pg_ctl" -D "$DATA" -m fast -w stop >/dev/null; fi
}

reset() {
  running || { echo "postgres.sh: not running (run start first)" >&2; exit 1; }
  psql_admin -c "DROP DATABASE IF EXISTS \"$DBNAME\" WITH (FORCE)"
  create_db
  echo "$URL"
}

case "${1:-}" in
  start) start ;;
  stop) stop ;;
  reset) reset ;;
  url) echo "$URL" ;;
  *) echo "usage: $0 start|stop|reset|url" >&2; exit 2 ;;
esac
