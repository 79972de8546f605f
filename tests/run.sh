#!/usr/bin/env bash
# The whole test suite, as `make test` runs it: for each build flavor (debug, then
# asan = ASan+UBSan), the C unit tests (and, once, the contract documents:
# tests/contract/check.mjs), then the end-to-end stories against a started
# server on SQLite and again on PostgreSQL (with Redis); then, per flavor, the
# multi-instance stories (tests/e2e-multi: 3 instances + HAProxy); then a short libFuzzer
# run of each target. Ends with "N passed, N failed".
# Env: VZ_FLAVORS="debug asan", VZ_DBS="sqlite postgres", VZ_TEST_FILTER=substring.
# The slow media stories (real nginx-rtmp and ffmpeg: tests/e2e/streams/ingest.mjs) run
# once, in the flavor-db named by VZ_MEDIA_LABEL (debug-sqlite; "none" skips them), on
# ports derived from VZ_TEST_PORT (+10, +11, ...).
set -uo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
FLAVORS=${VZ_FLAVORS:-debug asan}
DBS=${VZ_DBS:-sqlite postgres}
PORT=${VZ_TEST_PORT:-18080}
WORK=$(mktemp -d /tmp/vidzo-test.XXXXXX)
TOTAL_PASS=0
TOTAL_FAIL=0
SERVER_PID=

# redzone=1024: an overflow that jumps the default 64-byte redzone (issue 15, item 1: 224
# bytes past a WebSocket object) is still caught.
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=0:halt_on_error=1:redzone=1024}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
export LSAN_OPTIONS=${LSAN_OPTIONS:-suppressions=$ROOT/tests/support/lsan.supp:print_suppressions=0}

cleanup() {
  stop_server
  # only what this run started: another run on the machine may be using the same Redis
  [ -n "${REDIS_STARTED:-}" ] && tests/support/redis.sh stop >/dev/null 2>&1 || true
  [ -n "${PG_STARTED:-}" ] && tests/support/postgres.sh stop >/dev/null 2>&1 || true
}
trap cleanup EXIT

# count LOGFILE: adds the last "N passed, N failed" line of a log to the totals.
count() {
  local line p f
  line=$(grep -E '^[0-9]+ passed, [0-9]+ failed$' "$1" | tail -1)
  if [ -z "$line" ]; then
    echo "!! $2: no summary line (crashed?)"; tail -20 "$1"
    TOTAL_FAIL=$((TOTAL_FAIL + 1)); return
  fi
  p=${line%% passed*}; f=${line#*, }; f=${f%% failed*}
  TOTAL_PASS=$((TOTAL_PASS + p)); TOTAL_FAIL=$((TOTAL_FAIL + f))
  echo "== $2: $line"
}

start_server() { # flavor db_url label
  local bin=build/$1/vidzo data=$WORK/data-$3
  rm -rf "$data"; mkdir -p "$data"
  VIDZO_PASSWORD_COST_FAST=1 VIDZO_TOTP_OPTIONAL=1 VIDZO_AUTH_IP_LIMIT_SCALE=100 "$bin" serve --port "$PORT" --bind 127.0.0.1 --threads 2 --db "$2" --data-dir "$data" \
    --log-level warn --dev --test-app --cors-origins http://allowed.example ${VZ_REDIS_ARG:-} \
    --jwt-secret test-secret-0123456789abcdef0123456789 --shutdown-timeout 5 \
    >"$WORK/server-$3.log" 2>&1 &
  SERVER_PID=$!
  for _ in $(seq 100); do
    curl -fs "http://127.0.0.1:$PORT/readyz" >/dev/null 2>&1 && return 0
    kill -0 "$SERVER_PID" 2>/dev/null || break
    sleep 0.1
  done
  echo "!! server did not start ($3):"; tail -20 "$WORK/server-$3.log"; return 1
}

stop_server() {
  [ -n "$SERVER_PID" ] || return 0
  kill -TERM "$SERVER_PID" 2>/dev/null
  local rc=0
  wait "$SERVER_PID" || rc=$?
  SERVER_PID=
  return $rc
}

# A clean exit after SIGTERM is itself a test: drain works and ASan found no leak.
server_exit_check() { # label
  local rc=0 log=$WORK/server-$1.log
  stop_server || rc=$?
  if [ "$rc" -ne 0 ] || grep -qE 'ERROR: (Address|Leak)Sanitizer|runtime error:' "$log"; then
    echo "FAIL server exit ($1): rc=$rc"; grep -A30 -E 'Sanitizer|runtime error' "$log" | head -60
    TOTAL_FAIL=$((TOTAL_FAIL + 1))
  else
    echo "ok   server exit ($1): clean drain, no sanitizer report"; TOTAL_PASS=$((TOTAL_PASS + 1))
  fi
}

PG_URL=
REDIS_URL=
if [[ " $DBS " == *" postgres "* ]]; then
  PG_URL=$(tests/support/postgres.sh start) && PG_STARTED=1 || { echo "!! PostgreSQL did not start"; TOTAL_FAIL=$((TOTAL_FAIL + 1)); }
  REDIS_URL=$(tests/support/redis.sh start) && REDIS_STARTED=1 || { echo "!! Redis did not start"; TOTAL_FAIL=$((TOTAL_FAIL + 1)); }
fi

# The release build is what `make run` serves: it must compile (-O2 enables warnings, such
# as -Wformat-truncation, that the debug flavours do not), though its tests run in the
# debug and asan flavours.
if [ -z "${VZ_SKIP_RELEASE_BUILD:-}" ]; then
  if make -s -j2 FLAVOR=release all >"$WORK/build-release.log" 2>&1; then
    echo "ok   build release"; TOTAL_PASS=$((TOTAL_PASS + 1))
  else
    tail -40 "$WORK/build-release.log"; echo "FAIL build release"; TOTAL_FAIL=$((TOTAL_FAIL + 1))
  fi
fi

for flavor in $FLAVORS; do
  echo "### build $flavor"
  if ! make -s -j2 FLAVOR="$flavor" all unit >"$WORK/build-$flavor.log" 2>&1; then
    cat "$WORK/build-$flavor.log" | tail -40; echo "!! build $flavor failed"; TOTAL_FAIL=$((TOTAL_FAIL + 1)); continue
  fi
  VZ_TEST_PG_URL=$PG_URL VZ_TEST_REDIS_URL=$REDIS_URL build/$flavor/unit >"$WORK/unit-$flavor.log" 2>&1
  grep -E '^FAIL|Sanitizer|runtime error' "$WORK/unit-$flavor.log" | head -20
  count "$WORK/unit-$flavor.log" "unit ($flavor)"
  # The contract documents (generated, linted, validated) are the same in every flavour
  # and database: checked once, with the first flavour's binary.
  if [ -z "${CONTRACT_CHECKED:-}" ]; then
    CONTRACT_CHECKED=1
    node tests/contract/check.mjs "$ROOT/build/$flavor/vidzo" >"$WORK/contract.log" 2>&1
    grep -E '^FAIL' -A12 "$WORK/contract.log" | head -60
    count "$WORK/contract.log" "contract"
  fi
  for db in $DBS; do
    label=$flavor-$db
    if [ "$db" = sqlite ]; then url="sqlite:$WORK/data-$label/vidzo.db"; VZ_REDIS_ARG=
    else
      [ -n "$PG_URL" ] || continue
      tests/support/postgres.sh reset >/dev/null
      tests/support/redis.sh flush >/dev/null 2>&1 || true
      url=$PG_URL; VZ_REDIS_ARG=${REDIS_URL:+--redis $REDIS_URL}
    fi
    start_server "$flavor" "$url" "$label" || { TOTAL_FAIL=$((TOTAL_FAIL + 1)); continue; }
    VZ_TEST_URL=http://127.0.0.1:$PORT VZ_TEST_LABEL=$label VZ_TEST_BIN=$ROOT/build/$flavor/vidzo \
      VZ_TEST_DB_URL=$url VZ_TEST_DATA_DIR=$WORK/data-$label VZ_TEST_REDIS_URL=${VZ_REDIS_ARG:+$REDIS_URL} \
      VZ_TEST_SERVER_PID=$SERVER_PID VZ_TEST_PORT=$PORT VZ_MEDIA=$([ "$label" = "${VZ_MEDIA_LABEL:-debug-sqlite}" ] && echo 1) \
      node tests/e2e/run.mjs ${VZ_TEST_FILTER:-} >"$WORK/e2e-$label.log" 2>&1
    grep -E '^FAIL' -A3 "$WORK/e2e-$label.log" | head -60
    count "$WORK/e2e-$label.log" "e2e ($label)"
    grep -m1 '^contract coverage' "$WORK/e2e-$label.log" | cut -c1-400
    server_exit_check "$label"
  done
done

# The multi-instance stories, in each flavor (under ASan the instances' logs are checked).
for flavor in $FLAVORS; do
  if [ -n "$PG_URL" ] && [ -x "build/$flavor/vidzo" ]; then
    tests/support/postgres.sh reset >/dev/null; tests/support/redis.sh flush >/dev/null 2>&1 || true
    tests/e2e-multi/run.sh "$ROOT/build/$flavor/vidzo" "$PG_URL" "$REDIS_URL" >"$WORK/multi-$flavor.log" 2>&1
    grep -E '^FAIL' -A3 "$WORK/multi-$flavor.log" | head -40
    count "$WORK/multi-$flavor.log" "multi-instance ($flavor)"
  fi
done

# Fuzz targets: replay the regression inputs, then a short run on the corpus each.
if [ "${VZ_FUZZ_SECONDS:-10}" -gt 0 ] && command -v clang >/dev/null; then
  for t in tests/fuzz/*.c; do
    t=$(basename "$t" .c)
    if bash tests/fuzz/build.sh --run "${VZ_FUZZ_SECONDS:-10}" "$t" >"$WORK/fuzz-$t.log" 2>&1; then
      echo "ok   fuzz $t: $(grep -o 'number_of_executed_units: [0-9]*' "$WORK/fuzz-$t.log" | tail -1)"; TOTAL_PASS=$((TOTAL_PASS + 1))
    else
      echo "FAIL fuzz $t (build/fuzz/$t.log)"; tail -20 "$WORK/fuzz-$t.log"; TOTAL_FAIL=$((TOTAL_FAIL + 1))
    fi
  done
fi

echo "logs: $WORK"
echo "$TOTAL_PASS passed, $TOTAL_FAIL failed"
[ "$TOTAL_FAIL" -eq 0 ]
