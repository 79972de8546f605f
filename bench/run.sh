#!/usr/bin/env bash
# make bench: every benchmark, one after the other (never two load tests at once on a
# 2-core machine). HTTP against nginx and the peer (bench/http.sh), then the shared
# real-time scenarios side by side with the peer (../shared/bench/scenarios.sh), then
# the 20k-connection room. Figures go to stdout; bench/RESULTS.md holds the latest ones.
set -euo pipefail
cd "$(dirname "$0")/.."
B=${BENCH_DIR:-$PWD/../shared/bench}
make -s -j2 FLAVOR=release all
echo "### HTTP"
bash bench/http.sh "${HTTP_SECONDS:-10}" "${HTTP_RUNS:-3}" | grep -E '^(MEDIAN|SUMMARY|RATIO|RSS)'
echo "### real-time scenarios (peer vs vidzo)"
"$B/scenarios.sh" peer 18100 "$B/run-peer.sh 18100 0" vidzo 18200 "$PWD/bench/start-vidzo.sh 18200 0" |
  grep -E '^(MEDIAN|RATIO)'
echo "### 20k connections, paced"
bash bench/sio-20k.sh 18200
