#!/usr/bin/env bash
# HTTP benchmark: vidzo vs nginx (static file, the ceiling) vs the Node.js peer, server
# pinned to CPU 0, wrk pinned to CPU 1, same run. Prints one line per measurement and a
# summary with ratios. Also idle RSS and the cost of 10,000 idle keep-alive connections.
#   bench/http.sh [seconds=10] [runs=3]
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
SECS=${1:-10}
RUNS=${2:-3}
B=${BENCH_DIR:-$ROOT/../shared/bench}
C=${BENCH_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/vidzo-bench}
W=$(mktemp -d /tmp/vidzo-bench.XXXXXX); chmod 755 "$W"  # nginx workers read the file as www-data
command -v wrk >/dev/null || { apt-get update -qq && apt-get install -y -qq wrk >/dev/null; }
command -v nginx >/dev/null || { apt-get update -qq && apt-get install -y -qq nginx-light >/dev/null || apt-get install -y -qq nginx >/dev/null; }
make -s -j2 FLAVOR=release all
PIDS=()
trap 'for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done' EXIT

wait_http() { for _ in $(seq 100); do curl -fs "$1" >/dev/null 2>&1 && return 0; sleep 0.1; done; echo "no answer from $1"; return 1; }
rss_kb() { awk '/VmRSS/{print $2}' "/proc/$1/status"; }

# vidzo, one io thread on CPU 0, 20 categories in SQLite
taskset -c 0 build/release/vidzo serve --port 18201 --bind 127.0.0.1 --threads 1 --workers 2 --bench \
  --data-dir "$W/vz" --log-level warn >"$W/vidzo.log" 2>&1 &
VZ=$!; PIDS+=($VZ)
wait_http http://127.0.0.1:18201/healthz
sleep 1
IDLE_RSS=$(rss_kb $VZ)
python3 - "$W/vz/vidzo.db" <<'PY'
import sqlite3, sys, time
db = sqlite3.connect(sys.argv[1]); now = int(time.time() * 1000)
for i in range(1, 41):
    db.execute("INSERT INTO categories (id, parent_id, slug, name, kind, description, position, created_at, updated_at)"
               " VALUES (?, NULL, ?, ?, 'both', ?, ?, ?, ?)", (1000 + i, f"cat-{i}", f"Category {i}", "A category for benchmarks", i, now, now))
db.commit()
PY

# nginx serving the same 15-byte body from a file
mkdir -p "$W/ngx/www"; printf '{"status":"ok"}' >"$W/ngx/www/healthz"
cat >"$W/ngx/nginx.conf" <<NGX
worker_processes 1; daemon off; pid $W/ngx/nginx.pid; error_log $W/ngx/error.log;
events { worker_connections 20000; }
http { access_log off; server { listen 127.0.0.1:18202; root $W/ngx/www; location / { default_type application/json; } } }
NGX
taskset -c 0 nginx -c "$W/ngx/nginx.conf" &
NG=$!; PIDS+=($NG)
wait_http http://127.0.0.1:18202/healthz

PEER=$("$B/run-peer.sh" 18203 0)
PIDS+=($PEER)

run_wrk() { # name url
  local best=() r
  for i in $(seq "$RUNS"); do
    r=$(taskset -c 1 wrk -t1 -c64 -d"${SECS}s" --latency "$2" | awk '/Requests\/sec/{print int($2)}')
    best+=("$r"); echo "RUN $1 run=$i rps=$r"
  done
  printf '%s\n' "${best[@]}" | sort -n | awk -v n="$1" '{a[NR]=$1} END{print "MEDIAN " n " rps=" a[int((NR+1)/2)]}'
}
{
  run_wrk nginx_static  http://127.0.0.1:18202/healthz
  run_wrk vidzo_healthz http://127.0.0.1:18201/healthz
  run_wrk peer_health   http://127.0.0.1:18203/v1/health
  run_wrk vidzo_categories 'http://127.0.0.1:18201/v1/categories?limit=20'
  run_wrk vidzo_streams 'http://127.0.0.1:18201/v1/streams?limit=20'
  run_wrk peer_streams  'http://127.0.0.1:18203/v1/streams?limit=20'
} | tee "$W/wrk.txt"

# 10,000 idle keep-alive connections
ulimit -n 65536 || true
BEFORE=$(rss_kb $VZ)
(cd "$ROOT/tests" && taskset -c 1 node "$ROOT/bench/idle-conns.mjs" 18201 10000 >"$W/idle.txt" 2>&1) &
IC=$!; PIDS+=($IC)
for _ in $(seq 300); do grep -q ready "$W/idle.txt" 2>/dev/null && break; sleep 0.1; done
sleep 1
AFTER=$(rss_kb $VZ)
OPEN=$(curl -s http://127.0.0.1:18201/metrics | awk '/^vidzo_http_connections_open /{print $2}')
kill $IC 2>/dev/null || true

m() { awk -v n="$1" '$1=="MEDIAN" && $2==n {sub("rps=","",$3); print $3}' "$W/wrk.txt"; }
echo "SUMMARY nginx_static=$(m nginx_static) vidzo_healthz=$(m vidzo_healthz) peer_health=$(m peer_health)" \
     "vidzo_categories=$(m vidzo_categories) vidzo_streams=$(m vidzo_streams) peer_streams=$(m peer_streams)"
awk -v a="$(m vidzo_healthz)" -v b="$(m nginx_static)" -v c="$(m peer_health)" -v d="$(m vidzo_categories)" \
    -v e="$(m peer_streams)" -v f="$(m vidzo_streams)" 'BEGIN{
  printf "RATIO healthz/nginx=%.2f healthz/peer_health=%.2f categories/peer_streams=%.2f streams/peer_streams=%.2f\n", a/b, a/c, d/e, f/e }'
echo "RSS idle_kb=$IDLE_RSS before_idle_conns_kb=$BEFORE with_10k_kb=$AFTER added_mb=$(( (AFTER - BEFORE) / 1024 )) open=$OPEN"
