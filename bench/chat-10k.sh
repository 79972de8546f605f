#!/usr/bin/env bash
# The issue's chat scenario (issue 19): RATE chat messages/s (default 100) through the
# real chat pipeline into a room of VIEWERS (default 10,000) sioload connections: 1M
# deliveries/s. Server: build/release/vidzo (--bench --test-app, VIDZO_THREADS io loops,
# default 2) pinned to CPU 0 (or SERVER_CPUS); sioload and the Node sender on CPU 1.
# Prints sioload's and bench/chat-send.mjs's RESULT lines. Run inside
# `flock /work/wt/bench.lock`.
# usage: bench/chat-10k.sh [PORT] [VIEWERS] [RATE] [SECONDS]
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$here/.."
port="${1:-18540}" viewers="${2:-10000}" rate="${3:-100}" secs="${4:-20}"
B="${BENCH:-/work/shared/bench}"
C="${BENCH_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/vidzo-bench}"
[[ -x "$C/sioload" ]] || make -s -C "$B/sioload" O="$C" >&2
data="$(mktemp -d "${TMPDIR:-/tmp}/vidzo-chatbench.XXXX")"
VIDZO_PASSWORD_COST_FAST=1 VIDZO_AUTH_IP_LIMIT_SCALE=1000 nohup taskset -c "${SERVER_CPUS:-0}" \
  "$root/build/release/vidzo" serve --port "$port" --bind 127.0.0.1 --threads "${VIDZO_THREADS:-2}" --bench --test-app \
  --data-dir "$data" --log-level warn </dev/null >"$data/server.log" 2>&1 &
pid=$!
trap 'kill $pid 2>/dev/null; kill ${lp:-} 2>/dev/null || true' EXIT
for _ in $(seq 200); do curl -fs "http://127.0.0.1:$port/healthz" >/dev/null 2>&1 && break; sleep 0.05; done
stream=$(CHAT_BENCH_SETUP="$data/setup.json" node "$here/chat-send.mjs" "$port" "$data" "$pid" "$rate" "$secs" "$viewers")
# the viewers: sioload joins them to the stream's room through the bench app's "join";
# its own paced sender (1 msg/s) keeps it running while the chat path is measured
taskset -c 1 "$C/sioload" --port "$port" --conns "$viewers" --room "stream:$stream" --rate 1 \
  --duration $((secs + 40)) --drain 5 --server-pid "$pid" >"$data/sioload.out" 2>"$data/sioload.err" &
lp=$!
CHAT_BENCH_STATE="$data/setup.json" taskset -c 1 node "$here/chat-send.mjs" "$port" "$data" "$pid" "$rate" "$secs" "$viewers"
kill -INT $lp 2>/dev/null || true
wait $lp 2>/dev/null || true
grep '^RESULT' "$data/sioload.out" | sed 's/^RESULT/SIOLOAD/' || true
echo "work dir: $data"
