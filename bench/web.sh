#!/usr/bin/env bash
# The web app's two waits a viewer feels, in headless Chromium on a release build: the first
# video frame after opening a live stream's watch page (hls.js low-latency settings, real
# nginx-rtmp + ffmpeg behind a vidzo --rtmp), and the first chat message on the host's page
# after a viewer sends it. Each run is tests/e2e-web/live.mjs (the issue's whole story);
# prints every run's figures and the medians. Usage: bench/web.sh [runs=3] [port=18800]
# (ports port+20, +21 for RTMP and HLS). Needs the streams and chat services built in.
set -euo pipefail
cd "$(dirname "$0")/.."
RUNS=${1:-3}
PORT=${2:-18800}
make -s -j2 FLAVOR=release all >/dev/null
frames=() chats=()
for i in $(seq "$RUNS"); do
  out=$(VZ_TEST_BIN=$PWD/build/release/vidzo VZ_TEST_PORT=$PORT node tests/e2e-web/run.mjs live.mjs 2>&1) || { echo "$out" | tail -20; exit 1; }
  f=$(echo "$out" | sed -n 's/.*first video frame \([0-9]*\) ms.*/\1/p')
  c=$(echo "$out" | sed -n 's/.*first chat message on the host.s page \([0-9]*\) ms.*/\1/p')
  echo "run $i: first video frame ${f:-?} ms, first chat message ${c:-?} ms"
  [ -n "$f" ] && frames+=("$f"); [ -n "$c" ] && chats+=("$c")
done
median() { printf '%s\n' "$@" | sort -n | awk '{a[NR]=$1} END {if (NR) print a[int((NR+1)/2)]; else print "?"}'; }
echo "MEDIAN first_video_frame_ms=$(median "${frames[@]}") first_chat_message_ms=$(median "${chats[@]}") runs=$RUNS"
