#!/usr/bin/env bash
# The issue's large-room target: N connections (default 19900: this machine's hard
# RLIMIT_NOFILE is 20000 per process, for the server and for sioload alike) in one
# room, one sender paced at RATE msgs/s (5 x 19900 = ~100k deliveries/s). Server on
# CPU 0 (VIDZO_THREADS=1), sioload on CPU 1. Prints sioload's RESULT line.
# usage: bench/sio-20k.sh [PORT] [CONNS] [RATE] [SECONDS]
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
port="${1:-18200}" conns="${2:-19900}" rate="${3:-5}" secs="${4:-15}"
B="${BENCH:-$here/../../shared/bench}"
C="${BENCH_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/vidzo-bench}"
[[ -x "$C/sioload" ]] || make -s -C "$B/sioload" O="$C" >&2
pid="$("$here/start-vidzo.sh" "$port" 0)"
trap 'kill "$pid" 2>/dev/null || true' EXIT
taskset -c 1 "$C/sioload" --port "$port" --conns "$conns" --rate "$rate" --duration "$secs" \
  --server-pid "$pid" 2>/dev/null | grep '^RESULT'
