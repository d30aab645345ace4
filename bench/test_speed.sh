#!/usr/bin/env bash
# Data-test bar: 20 column tests (not_null, accepted_range, accepted_values, expression_is_true)
# on a 10,000,000-row table, timed as `tmk test` (the whole command; tmk answers them with one
# scan) against
#   the floor: one full scan counting all 20 conditions (`select count(*) filter (..), ...`), and
#   one by one: the 20 compiled test queries run one after another in psql, each wrapped in
#   dbt's failure-counting query — what dbt does.
# Best of RUNS (default 5) runs each, in alternating rounds. Prints both ratios (goals: <= 1.5x
# the floor, >= 5x faster than one by one), and the floor's own lead over one by one: what one
# hand-written scan gains on this machine.
#   bench/test_speed.sh [TMK_BINARY]   (PostgreSQL at BENCH_PGHOST:BENCH_PGPORT, default 127.0.0.1:5432)
set -euo pipefail
cd "$(dirname "$0")/.."
source bench/lib.sh
tmk=$(tmk_binary "${1:-}")
runs=${RUNS:-5}
[ "$runs" -ge 1 ] || { echo "RUNS must be 1 or more"; exit 1; }
rows=${ROWS:-10000000}
schema=${BENCH_SCHEMA:-bench_tests_$$}
trap 'psql_run -c "drop schema if exists $schema cascade" >/dev/null 2>&1 || true; rm -rf "$work"' EXIT

mkdir -p "$work/p/models"
cat > "$work/p/dbt_project.yml" <<EOF
name: bench_tests
profile: bench
config-version: 2
EOF
cat > "$work/p/profiles.yml" <<EOF
bench:
  target: dev
  outputs:
    dev: {type: postgres, host: $host, port: $port, user: $user, password: '', dbname: $db, schema: $schema, threads: 4}
EOF
cat > "$work/p/models/sources.yml" <<EOF
version: 2
sources:
  - name: shop
    schema: $schema
    tables:
      - name: order_lines
        columns:
          - {name: line_id, data_tests: [not_null, {accepted_range: {arguments: {min_value: 1}}}]}
          - {name: order_id, data_tests: [not_null, {accepted_range: {arguments: {min_value: 1}}}]}
          - {name: product_id, data_tests: [not_null, {accepted_range: {arguments: {min_value: 1, max_value: 25}}}]}
          - {name: quantity, data_tests: [not_null, {accepted_range: {arguments: {min_value: 1, max_value: 100}}}, {expression_is_true: {arguments: {expression: "< 1000"}}}]}
          - {name: unit_price, data_tests: [not_null, {accepted_range: {arguments: {min_value: 0}}}]}
          - {name: discount, data_tests: [not_null, {expression_is_true: {arguments: {expression: ">= 0"}}}]}
          - {name: status, data_tests: [not_null, {accepted_values: {arguments: {values: [new, paid, shipped, cancelled]}}}]}
          - {name: method, data_tests: [not_null, {accepted_values: {arguments: {values: [card, paypal, bank_transfer, cash]}}}]}
          - {name: region, data_tests: [not_null, {accepted_values: {arguments: {values: [north, south, east, west, center]}}}]}
          - {name: ordered_at, data_tests: [{expression_is_true: {arguments: {expression: "<= now()"}}}]}
EOF
psql_run <<EOF
drop schema if exists $schema cascade;
create schema $schema;
create table $schema.order_lines as
  select g as line_id, g / 3 + 1 as order_id, g % 25 + 1 as product_id, g % 7 + 1 as quantity,
         (g % 500)::numeric(10,2) as unit_price, (g % 3)::numeric(10,2) as discount,
         (array['new','paid','shipped','cancelled'])[g % 4 + 1] as status,
         (array['card','paypal','bank_transfer','cash'])[g % 4 + 1] as method,
         (array['north','south','east','west','center'])[g % 5 + 1] as region,
         timestamp '2024-01-01' + (g % 1000) * interval '1 hour' as ordered_at
  from generate_series(1, $rows) g;
analyze $schema.order_lines;
EOF
count=$(cd "$work/p" && "$tmk" test --profiles-dir . --dry-run | grep -c "\[batch")
[ "$count" = 20 ] || { echo "expected 20 batched tests, got $count"; exit 1; }
tmk_test() {
  (cd "$work/p" && "$tmk" test --profiles-dir . >"$work/tmk.log" 2>&1) || { cat "$work/tmk.log"; exit 1; }
  grep -q "PASS=20" "$work/tmk.log" || { tail -30 "$work/tmk.log"; exit 1; }
}
# One run compiles the tests (target/compiled) for the one-by-one queries below; it is not timed.
tmk_test

# The floor: the 20 conditions counted in one scan, written by hand (`count(*) filter`).
cat > "$work/floor.sql" <<EOF
select
  count(*) filter (where line_id is null), count(*) filter (where not (line_id >= 1)),
  count(*) filter (where order_id is null), count(*) filter (where not (order_id >= 1)),
  count(*) filter (where product_id is null), count(*) filter (where not (product_id >= 1 and product_id <= 25)),
  count(*) filter (where quantity is null), count(*) filter (where not (quantity >= 1 and quantity <= 100)),
  count(*) filter (where not (quantity < 1000)),
  count(*) filter (where unit_price is null), count(*) filter (where not (unit_price >= 0)),
  count(*) filter (where discount is null), count(*) filter (where not (discount >= 0)),
  count(*) filter (where status is null),
  count(*) filter (where status not in ('new','paid','shipped','cancelled')),
  count(*) filter (where method is null), count(*) filter (where region is null),
  count(*) filter (where method not in ('card','paypal','bank_transfer','cash')),
  count(*) filter (where region not in ('north','south','east','west','center')),
  count(*) filter (where not (ordered_at <= now()))
from $schema.order_lines;
EOF
# One by one: each compiled test in dbt's wrapper, as dbt runs them.
: > "$work/one_by_one.sql"
for file in "$work"/p/target/compiled/bench_tests/models/sources.yml/*.sql; do
  { echo "select count(*) as failures, count(*) != 0 as should_warn, count(*) != 0 as should_error from ("; cat "$file"; echo ") dbt_internal_test;"; } >> "$work/one_by_one.sql"
done
[ "$(grep -c dbt_internal_test "$work/one_by_one.sql")" = 20 ] || { echo "expected 20 compiled tests"; exit 1; }
# Timed in rounds of all three, each round in another order, so that a slow spell of a shared
# machine slows each alike.
timed() {
  local start end
  start=$(now); "${@:2}"; end=$(now)
  awk "BEGIN{print $end - $start}" >> "$1"
}
run_one() {
  case $1 in
    tmk) timed "$work/tmk_times" tmk_test ;;
    floor) timed "$work/floor_times" psql_run -o /dev/null -f "$work/floor.sql" ;;
    one) timed "$work/one_times" psql_run -o /dev/null -f "$work/one_by_one.sql" ;;
  esac
}
: > "$work/tmk_times"; : > "$work/floor_times"; : > "$work/one_times"
orders=("tmk floor one" "floor one tmk" "one tmk floor")
for round in $(seq "$runs"); do
  for what in ${orders[round % 3]}; do run_one "$what"; done
done
tmk_s=$(best < "$work/tmk_times"); floor_s=$(best < "$work/floor_times"); one_s=$(best < "$work/one_times")
echo "tests: 20 column tests on $rows rows, best of $runs"
echo "tmk test (one scan):        ${tmk_s} s"
echo "floor (one hand scan):      ${floor_s} s"
echo "one by one (as dbt):        ${one_s} s"
echo "ratio to the floor:         $(awk "BEGIN{printf \"%.2f\", $tmk_s / $floor_s}")x   (goal <= 1.5x)"
echo "faster than one by one:     $(awk "BEGIN{printf \"%.1f\", $one_s / $tmk_s}")x   (goal >= 5x)"
# What one scan gains on this machine: the hand-written floor's own lead over one by one.
echo "floor faster than one by one: $(awk "BEGIN{printf \"%.1f\", $one_s / $floor_s}")x   (what one hand-written scan gains here)"
