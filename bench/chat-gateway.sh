#!/usr/bin/env bash
# The chat scenario's fan-out on the peer protocol (join/chat), so the peer runs the
# same thing: VIEWERS connections in one room, RATE msgs/s from one sender for SECONDS.
# SERVER is "vidzo" (build/release, --bench, VIDZO_THREADS io loops, default 1) or
# "peer" (../shared/bench/run-peer.sh); server on CPU 0, sioload on CPU 1. Prints
# sioload's RESULT line. Run inside `flock /work/wt/bench.lock`.
# usage: bench/chat-gateway.sh SERVER [PORT] [VIEWERS] [RATE] [SECONDS]
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
server="${1:?vidzo|peer}" port="${2:-18540}" viewers="${3:-10000}" rate="${4:-100}" secs="${5:-20}"
B="${BENCH:-/work/shared/bench}"
C="${BENCH_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/vidzo-bench}"
[[ -x "$C/sioload" ]] || make -s -C "$B/sioload" O="$C" >&2
if [[ $server == peer ]]; then pid="$("$B/run-peer.sh" "$port" 0)"; else pid="$("$here/start-vidzo.sh" "$port" 0)"; fi
trap 'kill "$pid" 2>/dev/null || true' EXIT
taskset -c 1 "$C/sioload" --port "$port" --conns "$viewers" --rate "$rate" --duration "$secs" \
  --server-pid "$pid" 2>/dev/null | grep '^RESULT'
