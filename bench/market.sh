#!/usr/bin/env bash
# bench/market.sh: the marketplace benchmarks of issue 20, on a release build and SQLite.
#   checkout  500 concurrent buyers on 10 (then 500) units vs the same requests serially
#   search    product search p99 over ROWS seeded products (default 1,000,000)
# Run inside the lock so two load tests never overlap:
#   flock /work/wt/bench.lock bench/market.sh checkout
#   flock /work/wt/bench.lock bench/market.sh search
# Server pinned to CPU 0 (--threads 1), the Node load tool to CPU 1. env: PORT (18600), ROWS,
# DB_URL (a PostgreSQL URL instead of a fresh SQLite file; checkout only).
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
what="${1:-checkout}"
port="${PORT:-18600}"
rows="${ROWS:-1000000}"
bin="$root/build/release/vidzo"
[[ -x "$bin" ]] || make -s -C "$root" FLAVOR=release all >&2
data="$(mktemp -d "${TMPDIR:-/tmp}/vidzo-market-bench.XXXX")"
trap 'kill "$pid" 2>/dev/null; wait "$pid" 2>/dev/null; rm -rf "$data"' EXIT
db="${DB_URL:-sqlite:$data/vidzo.db}"   # DB_URL=postgres://... for the checkout run on PostgreSQL
if [[ "$what" == search ]]; then
  "$bin" migrate --db "$db" --data-dir "$data" --log-level error
  t0=$(date +%s)
  # words cycle with different periods, so every text query hits a share of the rows
  sqlite3 "$data/vidzo.db" <<SQL
PRAGMA journal_mode=WAL; PRAGMA synchronous=OFF;
INSERT INTO users (id, email, email_lower, role, handle, handle_lower, display_name, created_at, updated_at)
  VALUES (2, 'bench@bench.test', 'bench@bench.test', 'seller', 'benchs', 'benchs', 'Bench', 0, 0),
         (3, 'bench3@bench.test', 'bench3@bench.test', 'seller', 'bench3', 'bench3', 'Bench 3', 0, 0);
INSERT INTO categories (id, slug, name, kind, created_at, updated_at) VALUES (1, 'bench', 'Bench', 'product', 0, 0);
WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < $rows)
INSERT INTO products (id, seller_id, title, description, category_id, tags, currency, price, ship_flat, ship_extra,
                      status, in_stock, sold_count, created_at, updated_at)
SELECT 1000000000 + i, CASE WHEN i % 100 = 0 THEN 2 ELSE 3 END,
  (CASE i % 7 WHEN 0 THEN 'koala' WHEN 1 THEN 'mug' WHEN 2 THEN 'lamp' WHEN 3 THEN 'blue' WHEN 4 THEN 'scarf'
     WHEN 5 THEN 'red' ELSE 'wooden' END) || ' ' ||
  (CASE i % 11 WHEN 0 THEN 'mug' WHEN 1 THEN 'lamp' WHEN 2 THEN 'chair' WHEN 3 THEN 'blue' WHEN 4 THEN 'green'
     WHEN 5 THEN 'koala' WHEN 6 THEN 'silk' WHEN 7 THEN 'oak' WHEN 8 THEN 'tea' WHEN 9 THEN 'cup' ELSE 'box' END)
  || ' number ' || i,
  'a product seeded for the search benchmark', CASE WHEN i % 50 = 0 THEN 1 ELSE NULL END, '["bench"]', 'EUR',
  (i * 7919) % 100000, 0, 0, CASE WHEN i % 20 = 0 THEN 'archived' ELSE 'active' END, CASE WHEN i % 3 = 0 THEN 0 ELSE 1 END,
  i % 1000, 1700000000000 + i, 1700000000000 + i FROM n;
ANALYZE;
SQL
  echo "seeded $rows products in $(( $(date +%s) - t0 )) s" >&2
fi
VIDZO_PASSWORD_COST_FAST=1 VIDZO_TOTP_OPTIONAL=1 taskset -c 0 "$bin" serve --port "$port" --bind 127.0.0.1 --threads 1 \
  --db "$db" --data-dir "$data" --log-level warn --dev --auth-ip-limit-scale 1000 \
  --jwt-secret bench-secret-0123456789abcdef0123456789 >"$data/server.log" 2>&1 &
pid=$!
for _ in $(seq 200); do curl -fs "http://127.0.0.1:$port/readyz" >/dev/null 2>&1 && break; sleep 0.05; done
export VZ_TEST_URL="http://127.0.0.1:$port" VZ_TEST_DATA_DIR="$data" VZ_TEST_BIN="$bin" VZ_TEST_DB_URL="$db"
taskset -c 1 node "$root/bench/market.mjs" "$what" || { tail -5 "$data/server.log"; exit 1; }
