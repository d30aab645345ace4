#!/usr/bin/env bash
# The TechMarket warehouse at scale (issue 5): a full build of the root project at SCALE (1000:
# 600k orders, about 1.8M order items) and, after `tmk generate --changes`, an incremental build,
# reported side by side, in a database of their own.
#
#   generate:     `tmk generate --scale SCALE --into target` writes the OLTP schemas (not part of
#                 either build, timed for information).
#   full build:   `tmk build` from nothing: extract every table into stg, staging views, the
#                 dimensions, fact_sales (partitioned by month, indexed), snapshots, marts and
#                 every data test.
#   changes:      `tmk generate --changes` (new orders, status changes, price rises).
#   incremental:  `tmk build` again: extract only the changed rows, fact_sales reloads only the
#                 changed orders, the snapshots record the new prices, the tests run again.
#
#   bench/warehouse_speed.sh [TMK_BINARY]   (PostgreSQL at BENCH_PGHOST:BENCH_PGPORT, default
#   127.0.0.1:5432; SCALE=1000)
set -euo pipefail
cd "$(dirname "$0")/.."
source bench/lib.sh
tmk=$(tmk_binary "${1:-}")
scale=${SCALE:-1000}
db=bench_warehouse_$$
# Unaligned rows from the database each call names (the bench database is created and dropped here).
psql_rows() { psql -X -q -At -v ON_ERROR_STOP=1 -h "$host" -p "$port" -U "$user" "$@"; }
trap 'psql_rows -d postgres -c "drop database if exists $db with (force)" >/dev/null 2>&1 || true; rm -rf "$work"' EXIT
psql_rows -d postgres -c "create database $db"
mkdir -p "$work/p"
cp -r tmk_project.yml models project snapshots "$work/p/"
cat > "$work/p/profiles.yml" <<YAML
techmarket:
  target: dev
  outputs:
    dev: {type: postgres, host: '$host', port: $port, user: '$user', password: '', dbname: '$db', schema: public, threads: 4}
YAML
timed() {
  local label=$1; shift
  local start end
  start=$(now)
  (cd "$work/p" && env -u TECHMARKET_OLTP_URL -u TECHMARKET_OLTP_PREFIX "$tmk" "$@" --profiles-dir . >"$work/out.log" 2>&1) || { cat "$work/out.log"; exit 1; }
  end=$(now)
  printf '%-13s %8.2f s   %s\n' "$label" "$(echo "$end - $start" | bc)" "$(grep -E '^Done|rows' "$work/out.log" | tail -n 1)"
  if [ "$1" = build ]; then
    # Where a build's time went: its slowest steps, from run_results.json.
    python3 - "$work/p/target/run_results.json" <<'PY'
import json, sys
results = json.load(open(sys.argv[1]))["results"]
slowest = sorted(results, key=lambda r: -r["execution_time"])[:6]
print("              slowest: " + ", ".join(f'{r["unique_id"].split(".")[-1]} {r["execution_time"]:.1f} s' for r in slowest))
PY
  fi
}
echo "TechMarket warehouse, scale $scale, database $db"
timed generate generate --scale "$scale" --into target
echo "orders: $(psql_rows -d "$db" -c 'select count(*) from orders.orders'), order items: $(psql_rows -d "$db" -c 'select count(*) from orders.order_items')"
timed "full build" build
timed changes generate --scale "$scale" --into target --changes
timed incremental build
echo "fact_sales rows: $(psql_rows -d "$db" -c 'select count(*) from dwh.fact_sales')"
