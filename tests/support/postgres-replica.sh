#!/bin/sh
# A streaming read replica of the test cluster started by tests/support/postgres.sh: a
# fresh pg_basebackup -R (standby.signal + primary_conninfo) of the primary on every start,
# under ${TMPDIR:-/tmp}/vidzo-pg-replica, 127.0.0.1:15433, hot standby (read-only queries).
# The primary needs nothing special: initdb's defaults are wal_level=replica,
# max_wal_senders=10, and --auth=trust writes "host replication all 127.0.0.1/32 trust".
#   tests/support/postgres-replica.sh start   # prints postgres://postgres@127.0.0.1:15433/vidzo_test
#   tests/support/postgres-replica.sh wait    # until the replica has replayed every commit made so far
#   tests/support/postgres-replica.sh lag     # bytes of WAL not yet replayed, per the primary
#   tests/support/postgres-replica.sh stop
# Env: VZ_PG_PORT (primary, 15432), VZ_PG_REPLICA_PORT (15433), VZ_PG_DB, VZ_PG_BIN.
set -eu

PRIMARY_PORT=${VZ_PG_PORT:-15432}
PORT=${VZ_PG_REPLICA_PORT:-15433}
DBNAME=${VZ_PG_DB:-vidzo_test}
BASE=${TMPDIR:-/tmp}/vidzo-pg-replica
DATA=$BASE/data
LOG=$BASE/server.log
PG_CALLER=postgres-replica.sh . "$(dirname "$0")/pg-bin.sh"
URL="postgres://postgres@127.0.0.1:$PORT/$DBNAME"

as_pg() { # as in postgres.sh: the server refuses to run as root
  if [ "$(id -u)" = 0 ]; then
    if command -v runuser >/dev/null 2>&1; then runuser -u postgres -- "$@" </dev/null
    else su postgres -s /bin/sh -c '"$0" "$@"' -- "$@" </dev/null; fi
  else "$@" </dev/null; fi
}
psql_at() { # port sql
  "$BIN/psql" -X -q -tA -v ON_ERROR_STOP=1 -h 127.0.0.1 -p "$1" -U postgres -d postgres -c "$2" </dev/null
}
running() { [ -f "$DATA/postmaster.pid" ] && as_pg "$BIN/pg_ctl" -D "$DATA" status >/dev/null 2>&1; }

start() {
  psql_at "$PRIMARY_PORT" "SELECT 1" >/dev/null 2>&1 \
    || { echo "postgres-replica.sh: no primary on 127.0.0.1:$PRIMARY_PORT (tests/support/postgres.sh start)" >&2; exit 1; }
  if ! running; then
    mkdir -p "$BASE"
    [ "$(id -u)" = 0 ] && chown postgres:postgres "$BASE"
    # Always a fresh copy: the primary may have been re-created since the last one.
    rm -rf "$DATA"
    as_pg "$BIN/pg_basebackup" -h 127.0.0.1 -p "$PRIMARY_PORT" -U postgres -D "$DATA" -R -X stream \
      -c fast >"$BASE/basebackup.log" 2>&1 || { cat "$BASE/basebackup.log" >&2; exit 1; }
    as_pg "$BIN/pg_ctl" -D "$DATA" -l "$LOG" -w -t 60 \
      -o "-p $PORT -c listen_addresses=127.0.0.1 -k $BASE -c hot_standby=on -c fsync=off" \
      start >/dev/null || { tail -n 20 "$LOG" >&2; exit 1; }
  fi
  [ "$(psql_at "$PORT" "SELECT pg_is_in_recovery()")" = t ] \
    || { echo "postgres-replica.sh: 127.0.0.1:$PORT is not a standby" >&2; exit 1; }
  wait_sync
  echo "$URL"
}

# Until the replica has replayed every commit the primary has answered so far (30 s at most).
# The target is the insert position, not pg_current_wal_lsn() (the write position): the
# primary runs with synchronous_commit=off, so a commit its client already got an answer for
# can sit in the WAL buffers, below the write position and not yet sent, for up to
# wal_writer_delay (200 ms); a wait on the write position then returned before the row could
# be on the replica (g_replica, "visible after replay resumes"). Every inserted record
# reaches the replica: the WAL writer flushes up to the newest asynchronous commit.
wait_sync() {
  target=$(psql_at "$PRIMARY_PORT" "SELECT pg_current_wal_insert_lsn()")
  i=0
  until [ "$(psql_at "$PORT" "SELECT pg_last_wal_replay_lsn() >= '$target'::pg_lsn" 2>/dev/null)" = t ]; do
    i=$((i + 1))
    [ $i -gt 300 ] && { echo "postgres-replica.sh: replica behind $target after 30 s" >&2; exit 1; }
    sleep 0.1
  done
}

lag() {
  psql_at "$PRIMARY_PORT" "SELECT COALESCE(pg_wal_lsn_diff(pg_current_wal_lsn(), replay_lsn), -1)
    FROM pg_stat_replication WHERE application_name <> 'pg_basebackup' LIMIT 1"
}

stop() {
  if running; then as_pg "$BIN/pg_ctl" -D "$DATA" -m fast -w stop >/dev/null; fi
}

case "${1:-}" in
  start) start ;;
  stop) stop ;;
  wait) wait_sync ;;
  lag) lag ;;
  url) echo "$URL" ;;
  *) echo "usage: $0 start|stop|wait|lag|url" >&2; exit 2 ;;
esac
