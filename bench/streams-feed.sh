#!/usr/bin/env bash
# Feed benchmark (issue 18): GET /v1/streams?status=live&limit=20 on 100,000 streams with
# 2,000 live (bench/streams-seed.py), ordered by viewers, against the Node.js peer's
# /v1/streams?limit=20 and vidzo's own /healthz, in the same run: each server pinned to
# CPU 0 with one io thread, wrk pinned to CPU 1. Then p99 at half of the feed's measured
# rate (wrk paced by a per-request delay), and the same feed signed in (never served
# from the response cache: every request reads the database).
#   flock /work/wt/bench.lock bench/streams-feed.sh [seconds=10] [runs=3] [sqlite|pg]
# pg: VZ_PG_URL names a database (it is reset: public schema dropped).
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
SECS=${1:-10}; RUNS=${2:-3}; DB=${3:-sqlite}
B=${BENCH_DIR:-$ROOT/../shared/bench}
[ -d "$B" ] || B=$ROOT/../../shared/bench   # from a worktree under wt/
VPORT=${VZ_BENCH_PORT:-18320}; PPORT=$((VPORT + 1))
W=$(mktemp -d /tmp/vidzo-feed.XXXXXX)
command -v wrk >/dev/null || { apt-get update -qq && apt-get install -y -qq wrk >/dev/null; }
make -s -j2 FLAVOR=release all
PIDS=()
trap 'for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done; rm -rf "$W"' EXIT
wait_http() { for _ in $(seq 300); do curl -fs "$1" >/dev/null 2>&1 && return 0; sleep 0.1; done; echo "no answer from $1"; return 1; }

if [ "$DB" = pg ]; then
  URL=${VZ_PG_URL:?set VZ_PG_URL}
  psql -Xq "$URL" -c 'DROP SCHEMA public CASCADE; CREATE SCHEMA public;' >/dev/null
  DBARG=(--db "$URL")
  build/release/vidzo migrate "${DBARG[@]}" --data-dir "$W/vz" --log-level warn
  python3 bench/streams-seed.py pg - | psql -Xq -v ON_ERROR_STOP=1 "$URL" >/dev/null
else
  DBARG=()
  build/release/vidzo migrate --data-dir "$W/vz" --log-level warn
  python3 bench/streams-seed.py sqlite "$W/vz/vidzo.db"
fi
build/release/vidzo admin create --email bench@vidzo.local --password Bench-pass-2026 "${DBARG[@]}" \
  --data-dir "$W/vz" --log-level warn >/dev/null
VIDZO_TOTP_OPTIONAL=1 taskset -c 0 build/release/vidzo serve --port "$VPORT" --bind 127.0.0.1 --threads 1 \
  "${DBARG[@]}" --data-dir "$W/vz" --log-level warn --auth-ip-limit-scale 1000 >"$W/vidzo.log" 2>&1 &
PIDS+=($!)
wait_http "http://127.0.0.1:$VPORT/healthz"
TOKEN=$(curl -fs "http://127.0.0.1:$VPORT/v1/auth/signin" -H 'content-type: application/json' \
  -d '{"email":"bench@vidzo.local","password":"Bench-pass-2026"}' | python3 -c 'import json,sys; print(json.load(sys.stdin)["data"]["access_token"])')
PEER=$("$B/run-peer.sh" "$PPORT" 0); PIDS+=($PEER)

FEED="http://127.0.0.1:$VPORT/v1/streams?status=live&limit=20"
curl -fs "$FEED" | python3 -c 'import json,sys; d=json.load(sys.stdin)["data"]; v=[s["viewers"] for s in d]; assert len(d)==20 and v==sorted(v,reverse=True), v; print("feed ok: top viewers", v[:3])'
cat >"$W/token.lua" <<LUA
wrk.headers["Authorization"] = "Bearer $TOKEN"
LUA
cat >"$W/paced.lua" <<'LUA'
local d = tonumber(os.getenv("PACE_MS"))
function delay() return d end
LUA
# wrk: "<req/s> <p99 ms>"
load() { # url [extra wrk args...]
  local url=$1; shift
  taskset -c 1 wrk -t1 -c64 -d"${SECS}s" --latency "$@" "$url" 2>&1 | awk '
    /Requests\/sec/ {rps=$2}
    /^ +99%/ {v=$2; if (v ~ /us$/) {sub(/us/,"",v); v/=1000} else if (v ~ /ms$/) {sub(/ms/,"",v)} else if (v ~ /s$/) {sub(/s/,"",v); v*=1000}; p99=v}
    /Non-2xx/ {bad=$4}
    END {printf "%d %.2f%s\n", rps, p99, bad ? " NON2XX=" bad : ""}'
}
median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
for r in $(seq "$RUNS"); do
  echo "run $r feed    $(load "$FEED")" | tee -a "$W/out"
  echo "run $r healthz $(load "http://127.0.0.1:$VPORT/healthz")" | tee -a "$W/out"
  echo "run $r peer    $(load "http://127.0.0.1:$PPORT/v1/streams?limit=20")" | tee -a "$W/out"
  echo "run $r signed  $(load "$FEED" -s "$W/token.lua")" | tee -a "$W/out"
done
F=$(awk '$3=="feed"{print $4}' "$W/out" | median); H=$(awk '$3=="healthz"{print $4}' "$W/out" | median)
P=$(awk '$3=="peer"{print $4}' "$W/out" | median); S=$(awk '$3=="signed"{print $4}' "$W/out" | median)
# half of the feed's rate: 32 connections, each waiting PACE_MS between its requests
PACE=$(python3 -c "print(max(1, round(32 * 1000 / ($F / 2))))")
HALF=$(PACE_MS=$PACE taskset -c 1 wrk -t1 -c32 -d"${SECS}s" --latency -s "$W/paced.lua" "$FEED" 2>&1 | awk '
  /Requests\/sec/ {rps=$2} /^ +99%/ {v=$2; if (v ~ /us$/) {sub(/us/,"",v); v/=1000} else {sub(/ms/,"",v)}; p99=v} END {printf "%d req/s p99 %.2f ms", rps, p99}')
SHALF=$(PACE_MS=$(python3 -c "print(max(1, round(32 * 1000 / ($S / 2))))") taskset -c 1 wrk -t1 -c32 -d"${SECS}s" --latency -s "$W/paced.lua" -H "Authorization: Bearer $TOKEN" "$FEED" 2>&1 | awk '
  /Requests\/sec/ {rps=$2} /^ +99%/ {v=$2; if (v ~ /us$/) {sub(/us/,"",v); v/=1000} else {sub(/ms/,"",v)}; p99=v} END {printf "%d req/s p99 %.2f ms", rps, p99}')
echo "SUMMARY db=$DB feed=$F healthz=$H peer=$P signed=$S feed/peer=$(python3 -c "print(round($F/$P,2))") feed/healthz=$(python3 -c "print(round($F/$H,2))") signed/peer=$(python3 -c "print(round($S/$P,2))")"
echo "HALF-LOAD feed anonymous: $HALF; signed in: $SHALF"
