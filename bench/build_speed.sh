#!/usr/bin/env bash
# Build-speed bar: on the 1,000-model project (table models + a not_null test each), time
# `tmk build --threads 4` against the floor: PostgreSQL itself running the same CREATE TABLE
# and test statements from one psql session (taken from tmk's own artifacts, in run order).
# Both start from an empty schema; best of RUNS runs each. Prints the ratio (goal ≤ 1.5×).
#   bench/build_speed.sh [TMK_BINARY]   (PostgreSQL at BENCH_PGHOST:BENCH_PGPORT, default 127.0.0.1:5432)
set -euo pipefail
cd "$(dirname "$0")/.."
source bench/lib.sh
tmk=$(tmk_binary "${1:-}")
runs=${RUNS:-3}
models=${MODELS:-1000}
export BENCH_SCHEMA=${BENCH_SCHEMA:-bench_build_$$}
trap 'psql_run -c "drop schema if exists $BENCH_SCHEMA cascade" >/dev/null 2>&1 || true; rm -rf "$work"' EXIT
python3 bench/gen_project.py "$models" "$work/p" >/dev/null

: > "$work/tmk_times"
for _ in $(seq "$runs"); do
  psql_run -c "drop schema if exists $BENCH_SCHEMA cascade" >/dev/null
  start=$(now)
  (cd "$work/p" && "$tmk" build --threads 4 --profiles-dir . >"$work/tmk.log" 2>&1) || { cat "$work/tmk.log"; exit 1; }
  end=$(now)
  awk "BEGIN{print $end - $start}" >> "$work/tmk_times"
done
grep -q "ERROR=0" "$work/tmk.log" || { tail -20 "$work/tmk.log"; exit 1; }

python3 - "$work/p/target" "$BENCH_SCHEMA" > "$work/floor.sql" <<'PY'
import json, sys
target, schema = sys.argv[1], sys.argv[2]
manifest = json.load(open(f"{target}/manifest.json"))
results = json.load(open(f"{target}/run_results.json"))["results"]
print(f"create schema {schema};")
for result in results:
    node = manifest["nodes"][result["unique_id"]]
    code = node["compiled_code"]
    if node["resource_type"] == "model":
        print(f'create table {node["relation_name"]} as (\n{code}\n);')
    elif node["resource_type"] == "test":
        print(f"select count(*) from (\n{code}\n) dbt_internal_test;")
PY
: > "$work/floor_times"
for _ in $(seq "$runs"); do
  psql_run -c "drop schema if exists $BENCH_SCHEMA cascade" >/dev/null
  start=$(now)
  psql_run -o /dev/null -f "$work/floor.sql"
  end=$(now)
  awk "BEGIN{print $end - $start}" >> "$work/floor_times"
done
tmk_s=$(best < "$work/tmk_times"); floor_s=$(best < "$work/floor_times")
echo "models: $models (+ $models not_null tests), threads: 4, best of $runs"
echo "tmk build:          ${tmk_s} s"
echo "floor (one psql):   ${floor_s} s"
echo "ratio:              $(awk "BEGIN{printf \"%.2f\", $tmk_s / $floor_s}")x   (goal <= 1.5x; dbt-core takes about 47x)"
