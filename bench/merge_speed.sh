#!/usr/bin/env bash
# Merge-speed bar (issue 3): an incremental merge of 1M changed rows into a 10M-row table, timed
# against the same merge written by hand and run in psql. Goal: tmk within 1.3x.
#
# Setup (not timed): a 10M-row source table; `tmk run` builds the incremental model
# (materialized='incremental', incremental_strategy='merge', unique_key='id'; its incremental
# SELECT keeps the source rows with `updated_at > (select max(updated_at) from {{ this }})`) into
# a 10M-row table, which is saved; then 1M source rows change (every 10th id: amount, status and
# a later updated_at), so the incremental SELECT yields 1M rows, every one matching a target row.
#
# Timed, best of RUNS each, alternating, each from the saved table (restored, VACUUM ANALYZEd
# and CHECKPOINTed before every run so that no run pays for the previous one):
#   tmk:   `tmk run -s orders_merged`, process start to exit: load and compile the project,
#          connect, take the run lock, the model's SELECT into a temporary table, MERGE from it
#          (dbt-postgres's merge), commit, write the artifacts.
#   floor: what a person would write in psql, process start to exit: one MERGE whose USING
#          clause is the model's SELECT (no temporary table), updating every column but the key.
# Both leave the same table (checked on the first run of each). Prints both times and the ratio.
#   bench/merge_speed.sh [TMK_BINARY]   (PostgreSQL at BENCH_PGHOST:BENCH_PGPORT, default
#   127.0.0.1:5432; ROWS=10000000 CHANGED=1000000 RUNS=3; about 3 GB of disk in its own schema)
set -euo pipefail
cd "$(dirname "$0")/.."
source bench/lib.sh
tmk=$(tmk_binary "${1:-}")
runs=${RUNS:-3}
rows=${ROWS:-10000000}
changed=${CHANGED:-1000000}
schema=${BENCH_SCHEMA:-bench_merge_$$}
trap 'psql_run -c "drop schema if exists $schema cascade" >/dev/null 2>&1 || true; rm -rf "$work"' EXIT

mkdir -p "$work/p/models"
printf 'name: bench_merge\nprofile: bench\nconfig-version: 2\n' > "$work/p/dbt_project.yml"
cat > "$work/p/profiles.yml" <<EOF
bench:
  target: dev
  outputs:
    dev: {type: postgres, host: '$host', port: $port, user: '$user', password: '', dbname: '$db', schema: '$schema', threads: 1}
EOF
cat > "$work/p/models/sources.yml" <<EOF
version: 2
sources:
  - name: bench
    schema: $schema
    tables: [{name: orders_source}]
EOF
cat > "$work/p/models/orders_merged.sql" <<'EOF'
{{ config(materialized='incremental', incremental_strategy='merge', unique_key='id') }}
select id, customer_id, amount, status, note, updated_at
from {{ source('bench', 'orders_source') }}
{% if is_incremental() %}
where updated_at > (select max(updated_at) from {{ this }})
{% endif %}
EOF
tmk_run() { (cd "$work/p" && "$tmk" run -s orders_merged --profiles-dir . >"$work/tmk.log" 2>&1) || { cat "$work/tmk.log"; exit 1; }; }

echo "setup: $rows source rows, the model built from them, $changed of them changed ..." >&2
psql_run <<SQL
set client_min_messages = warning;
drop schema if exists $schema cascade;
create schema $schema;
create table $schema.orders_source as
select g::bigint as id, (g % 100000)::int as customer_id, ((g % 10000) / 100.0)::numeric(12, 2) as amount,
       'placed'::text as status, 'order ' || g as note,
       timestamptz '2026-01-01' + g * interval '1 second' as updated_at
from generate_series(1, $rows) as g;
SQL
tmk_run
psql_run <<SQL
create table $schema.orders_start as table $schema.orders_merged;
update $schema.orders_source
set amount = amount + 1, status = 'changed', updated_at = timestamptz '2030-01-01' + id * interval '1 millisecond'
where id % $((rows / changed)) = 0;
vacuum analyze $schema.orders_source;
SQL

restore() {
  psql_run -c "drop table $schema.orders_merged" \
    -c "create table $schema.orders_merged as table $schema.orders_start" \
    -c "vacuum analyze $schema.orders_merged" -c "checkpoint"
}
merge="merge into $schema.orders_merged as t
using (
    select id, customer_id, amount, status, note, updated_at
    from $schema.orders_source
    where updated_at > (select max(updated_at) from $schema.orders_merged)
) as s
on s.id = t.id
when matched then update set customer_id = s.customer_id, amount = s.amount, status = s.status,
    note = s.note, updated_at = s.updated_at
when not matched then insert (id, customer_id, amount, status, note, updated_at)
    values (s.id, s.customer_id, s.amount, s.status, s.note, s.updated_at)"
# Rows, changed rows and a hash of every row: equal after tmk and after the hand-written MERGE.
fingerprint() {
  psql_run -At -c "select count(*), count(*) filter (where status = 'changed'), sum(hashtext(t::text)::bigint) from $schema.orders_merged as t"
}

: > "$work/tmk_times"; : > "$work/floor_times"
for run in $(seq "$runs"); do
  echo "run $run of $runs ..." >&2
  restore
  start=$(now); tmk_run; end=$(now)
  awk "BEGIN{print $end - $start}" >> "$work/tmk_times"
  grep -q "MERGE $changed " "$work/tmk.log" || { cat "$work/tmk.log"; exit 1; }
  [ "$run" = 1 ] && tmk_fingerprint=$(fingerprint)
  restore
  start=$(now); psql_run -c "$merge"; end=$(now)
  awk "BEGIN{print $end - $start}" >> "$work/floor_times"
  [ "$run" = 1 ] && floor_fingerprint=$(fingerprint)
done
[ "$tmk_fingerprint" = "$floor_fingerprint" ] || {
  echo "tmk and the hand-written MERGE left different tables: $tmk_fingerprint vs $floor_fingerprint" >&2; exit 1; }
[ "${tmk_fingerprint%%|*}" = "$rows" ] || { echo "expected $rows rows: $tmk_fingerprint" >&2; exit 1; }

tmk_s=$(best 2 < "$work/tmk_times"); floor_s=$(best 2 < "$work/floor_times")
echo "merge of $changed changed rows into $rows rows, best of $runs"
echo "tmk run (incremental merge):   ${tmk_s} s   (all: $(paste -sd' ' "$work/tmk_times"))"
echo "hand-written MERGE in psql:    ${floor_s} s   (all: $(paste -sd' ' "$work/floor_times"))"
echo "ratio:                         $(awk "BEGIN{printf \"%.2f\", $tmk_s / $floor_s}")x   (goal <= 1.3x)"
