#!/bin/sh
# A throwaway Redis for tests: 127.0.0.1:16379, no persistence, daemonized, pidfile in /tmp.
#   tests/support/redis.sh start   # prints redis://127.0.0.1:16379/0
#   tests/support/redis.sh flush   # empties it between test runs
#   tests/support/redis.sh stop
# Env: VZ_REDIS_PORT.
set -eu
PORT=${VZ_REDIS_PORT:-16379}
PIDFILE=/tmp/vidzo-redis-$PORT.pid
LOG=/tmp/vidzo-redis-$PORT.log
URL="redis://127.0.0.1:$PORT/0"

command -v redis-server >/dev/null 2>&1 || { echo "redis.sh: redis-server not installed (apt-get install redis-server)" >&2; exit 1; }

running() { [ -f "$PIDFILE" ] && kill -0 "$(cat "$PIDFILE")" 2>/dev/null; }

ping() { redis-cli -h 127.0.0.1 -p "$PORT" ping 2>/dev/null | grep -q PONG; }

start() {
  if ! running; then
    redis-server --bind 127.0.0.1 --port "$PORT" --daemonize yes --pidfile "$PIDFILE" \
      --logfile "$LOG" --save '' --appendonly no --dir /tmp </dev/null >/dev/null
  fi
  i=0
  until ping; do
    i=$((i + 1))
    [ $i -gt 100 ] && { echo "redis.sh: did not start, see $LOG" >&2; exit 1; }
    sleep 0.1
  done
  echo "$URL"
}

stop() {
  if running; then
    pid=$(cat "$PIDFILE")
    kill "$pid"
    i=0
    while kill -0 "$pid" 2>/dev/null && [ $i -lt 100 ]; do i=$((i + 1)); sleep 0.1; done
  fi
  rm -f "$PIDFILE"
}

flush() {
  running || { echo "redis.sh: not running (run start first)" >&2; exit 1; }
  redis-cli -h 127.0.0.1 -p "$PORT" flushall >/dev/null
}

case "${1:-}" in
  start) start ;;
  stop) stop ;;
  flush) flush ;;
  url) echo "$URL" ;;
  *) echo "usage: $0 start|stop|flush|url" >&2; exit 2 ;;
esac
