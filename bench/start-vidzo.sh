#!/usr/bin/env bash
# Starts build/release/vidzo for ../shared/bench/scenarios.sh: one io thread (the peer
# is one Node process on one core), --bench (the peer's /v1/streams fixture and its
# join/chat/leave Socket.IO events), on 127.0.0.1:PORT, pinned to CPU when given.
# Waits for GET /v1/health, prints the server's PID.
# usage: bench/start-vidzo.sh PORT [CPU]     env: VIDZO_BIN, VIDZO_THREADS (1)
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
port="${1:?usage: start-vidzo.sh PORT [CPU]}"
cpu="${2:-}"
bin="${VIDZO_BIN:-$root/build/release/vidzo}"
[[ -x "$bin" ]] || make -s -C "$root" FLAVOR=release >&2
data="$(mktemp -d "${TMPDIR:-/tmp}/vidzo-bench.XXXX")"
log="${VIDZO_LOG:-$data/server.log}"
args=(serve --port "$port" --bind 127.0.0.1 --threads "${VIDZO_THREADS:-1}" --bench
      --data-dir "$data" --log-level warn)
if [[ -n "$cpu" ]]; then
  nohup taskset -c "$cpu" "$bin" "${args[@]}" </dev/null >"$log" 2>&1 &
else
  nohup "$bin" "${args[@]}" </dev/null >"$log" 2>&1 &
fi
pid=$!
for _ in $(seq 200); do
  if curl -fs "http://127.0.0.1:$port/v1/health" >/dev/null 2>&1; then echo "$pid"; exit 0; fi
  kill -0 "$pid" 2>/dev/null || break
  sleep 0.05
done
echo "start-vidzo: server did not come up on port $port (log: $log)" >&2
tail -5 "$log" >&2 || true
kill "$pid" 2>/dev/null || true
exit 1
