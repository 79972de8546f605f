#!/usr/bin/env bash
# Media benchmarks (issue 17): presign calls/s (ours vs aws4 on Node), the image pipeline's
# throughput on one worker (each image: one decode, 1080/480/160 in WebP and JPEG = 6
# variants), and the peak RSS while decoding the largest allowed image (40 MP). Each figure
# is its own process (ru_maxrss is per process), pinned to CPU 0. Run it inside
# `flock /work/wt/bench.lock` (as make bench does) so no other load test overlaps.
# usage: bench/media_bench.sh [BIN]   (default build/release/vidzo)
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=${1:-build/release/vidzo}
[ -x "$BIN" ] || make -s -j2 FLAVOR=release all
W=$(mktemp -d /tmp/vidzo-media-bench.XXXXXX)
trap 'rm -rf "$W"' EXIT
pin() { taskset -c 0 "$@"; }
vips gaussnoise "$W/a.v" 1600 900 && vips jpegsave "$W/a.v" "$W/phone-1600x900.jpg" --Q 85
vips gaussnoise "$W/b.v" 4000 3000 && vips jpegsave "$W/b.v" "$W/photo-12mp.jpg" --Q 85
vips pngsave "$W/a.v" "$W/screen-1600x900.png"
# the largest image the limits allow: 7999 x 5000 = 39,995,000 pixels (--media-max-pixels 40 M)
vips gaussnoise "$W/c.v" 7999 5000 && vips jpegsave "$W/c.v" "$W/max-40mp.jpg" --Q 85 && vips pngsave "$W/c.v" "$W/max-40mp.png"
rm -f "$W"/*.v
echo "## presign (one core)"
pin "$BIN" media bench --what presign --n 200000 --log-level error
pin node bench/media_presign_peer.mjs 100000
echo "## image pipeline, one worker (6 variants per image)"
pin "$BIN" media bench --what image --file "$W/phone-1600x900.jpg" --n 40 --log-level error
pin "$BIN" media bench --what image --file "$W/screen-1600x900.png" --n 20 --log-level error
pin "$BIN" media bench --what image --file "$W/photo-12mp.jpg" --n 10 --log-level error
echo "## the largest allowed image (peak RSS of the process)"
ls -l "$W"/max-40mp.*
pin "$BIN" media bench --what image --file "$W/max-40mp.jpg" --n 1 --log-level error
pin "$BIN" media bench --what image --file "$W/max-40mp.png" --n 1 --log-level error
