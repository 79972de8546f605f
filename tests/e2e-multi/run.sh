#!/usr/bin/env bash
# tests/e2e-multi/run.sh BIN PG_URL REDIS_URL: the scale-out stories. Three instances of
# BIN (ports 18101-18103, started and restarted by the Node runner) on one PostgreSQL and
# one Redis, HAProxy on 18100 in front (config from haproxy.cfg.in), then the stories in
# tests/e2e-multi/[a-z]_*.mjs. Prints "N passed, N failed" last; everything it started is
# stopped on any exit. Env: VZ_MULTI_PORT (18100; the instances take the next three),
# VZ_PG_REPLICA_PORT (PG_URL's port + 1), VZ_TEST_FILTER, VZ_KEEP=1 keeps the work dir (logs)
# for a look. Other ports come from the URLs, so runs on other ports can share a machine.
set -uo pipefail
BIN=${1:?usage: run.sh BIN PG_URL REDIS_URL}
PG_URL=${2:?PG_URL}
REDIS_URL=${3:-}
cd "$(dirname "$0")/../.."
ROOT=$PWD
BIN=$(realpath "$BIN")
PORT=${VZ_MULTI_PORT:-18100}
WORK=$(mktemp -d /tmp/vidzo-multi.XXXXXX)
HAPROXY_PID=
NODE_PID=

cleanup() {
  [ -n "$NODE_PID" ] && kill "$NODE_PID" 2>/dev/null
  for f in "$WORK"/pids/*.pid; do
    [ -f "$f" ] && kill -9 "$(cat "$f")" 2>/dev/null
  done
  [ -n "${REPLICA_STARTED:-}" ] && "$ROOT/tests/support/postgres-replica.sh" stop >/dev/null 2>&1
  [ -n "$HAPROXY_PID" ] && kill "$HAPROXY_PID" 2>/dev/null && wait "$HAPROXY_PID" 2>/dev/null
  if [ "${VZ_KEEP:-}" = 1 ]; then echo "work dir kept: $WORK"; else rm -rf "$WORK"; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

fail_early() { echo "FAIL setup: $1"; echo "0 passed, 1 failed"; exit 1; }

command -v haproxy >/dev/null || fail_early "haproxy not installed (make test-deps)"
for p in $PORT $((PORT + 1)) $((PORT + 2)) $((PORT + 3)); do
  if (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; then fail_early "port $p is in use"; fi
done
"$BIN" migrate --db "$PG_URL" --log-level warn >"$WORK/migrate.log" 2>&1 \
  || fail_early "migrate: $(tail -3 "$WORK/migrate.log")"

# An admin for the write stories (idempotent: --if-missing).
ADMIN_EMAIL=admin-multi@vidzo.test ADMIN_PASSWORD=Multi-admin-2026
if "$BIN" admin create --email "$ADMIN_EMAIL" --password "$ADMIN_PASSWORD" --if-missing --db "$PG_URL" \
  --log-level warn >"$WORK/admin.log" 2>&1; then
  export VZ_MULTI_ADMIN_EMAIL=$ADMIN_EMAIL VZ_MULTI_ADMIN_PASSWORD=$ADMIN_PASSWORD
fi

sed -e "s/@PORT@/$PORT/g" -e "s/@P1@/$((PORT + 1))/g" -e "s/@P2@/$((PORT + 2))/g" \
  -e "s/@P3@/$((PORT + 3))/g" -e "s#@DIR@#$WORK#g" tests/e2e-multi/haproxy.cfg.in >"$WORK/haproxy.cfg"
haproxy -c -q -f "$WORK/haproxy.cfg" || fail_early "haproxy config invalid"
haproxy -db -f "$WORK/haproxy.cfg" >"$WORK/haproxy.log" 2>&1 &
HAPROXY_PID=$!

# The database restart story stops and starts PostgreSQL with tests/support/postgres.sh:
# only when PG_URL is that script's cluster (same port).
PG_PORT=$(printf '%s' "$PG_URL" | sed -nE 's#^postgres(ql)?://[^/]*:([0-9]+)/.*#\2#p')
if [ -n "$PG_PORT" ] && [ "$(VZ_PG_PORT=$PG_PORT tests/support/postgres.sh url 2>/dev/null)" = "$PG_URL" ]; then
  export VZ_PG_PORT=$PG_PORT VZ_MULTI_PG_CONTROL=1
  # and a streaming replica of it on the next port, for the --replica story
  export VZ_PG_REPLICA_PORT=${VZ_PG_REPLICA_PORT:-$((PG_PORT + 1))}
  if REPLICA_URL=$(tests/support/postgres-replica.sh start 2>"$WORK/replica.err"); then
    export VZ_MULTI_REPLICA_URL=$REPLICA_URL; REPLICA_STARTED=1
  else
    export VZ_MULTI_REPLICA_WHY="postgres-replica.sh start failed: $(tail -1 "$WORK/replica.err")"
  fi
fi

# The Redis outage story stops and starts Redis with tests/support/redis.sh: only when
# REDIS_URL is that script's instance, and on its port (the default one may be another run's).
REDIS_PORT=$(printf '%s' "$REDIS_URL" | sed -nE 's#^redis://[^/]*:([0-9]+)(/.*)?$#\1#p')
if [ -n "$REDIS_PORT" ] && [ "$(VZ_REDIS_PORT=$REDIS_PORT tests/support/redis.sh url 2>/dev/null)" = "$REDIS_URL" ]; then
  export VZ_REDIS_PORT=$REDIS_PORT VZ_MULTI_REDIS_CONTROL=1
fi

# Admin tokens carry the admin role only with TOTP on, unless this is set (tests only).
export VIDZO_TOTP_OPTIONAL=1 VIDZO_PASSWORD_COST_FAST=1
# --dev multiplies per-IP auth limits by 100; the rate-limit story wants production ones.
export VIDZO_AUTH_IP_LIMIT_SCALE=1
# Analytics (k_analytics): stream rooms in the test application's namespace, fast samples.
export VIDZO_ANALYTICS_PRESENCE_NSP=/test VIDZO_ANALYTICS_SAMPLE_MS=250
export VZ_MULTI_WORK=$WORK VZ_MULTI_BIN=$BIN VZ_MULTI_PG=$PG_URL VZ_MULTI_REDIS=$REDIS_URL
export VZ_MULTI_PORT=$PORT VZ_MULTI_ROOT=$ROOT
cd tests # so socket.io-client resolves from tests/node_modules
# No contract check of each answer here (tests/contract/validate.mjs): HAProxy and
# instances being killed answer 502/503 pages that are the proxy's, not the API's; the
# single-server stories check the contract.
VZ_CONTRACT=0 timeout -k 5 170 node e2e-multi/run.mjs ${VZ_TEST_FILTER:-} &
NODE_PID=$!
wait "$NODE_PID"
rc=$?
NODE_PID=
if [ $rc -eq 124 ] || [ $rc -eq 137 ]; then echo "FAIL e2e-multi: over the 170 s budget"; echo "0 passed, 1 failed"; fi
exit $rc
