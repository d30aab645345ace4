#!/usr/bin/env bash
# Snapshot-speed bar: a check-strategy snapshot (check_cols name, price, category; unique_key id)
# over a 1,000,000-row source of which 1% changed since the last run, timed as `tmk snapshot`
# (the whole command: start-up, parse, run lock, audit trail, the snapshot's transaction)
# against the hand-written pair a person would run in psql, in one transaction:
#   UPDATE the current versions whose checked columns changed (close them), then
#   INSERT a new version for every source row without a current version (changed or new).
# Both start from the same snapshot table (restored from a copy before each timed run,
# analyzed as autovacuum would); best of RUNS runs each. Prints the ratio (goal <= 1.5x).
#   bench/snapshot_speed.sh [TMK_BINARY]   (PostgreSQL at BENCH_PGHOST:BENCH_PGPORT, default 127.0.0.1:5432)
set -euo pipefail
cd "$(dirname "$0")/.."
source bench/lib.sh
tmk=$(tmk_binary "${1:-}")
runs=${RUNS:-3}
rows=${ROWS:-1000000}
schema=${BENCH_SCHEMA:-bench_snapshot_$$}
trap 'psql_run -c "drop schema if exists $schema cascade" >/dev/null 2>&1 || true; rm -rf "$work"' EXIT

mkdir -p "$work/p/snapshots" "$work/p/models"
cat > "$work/p/dbt_project.yml" <<EOF
name: bench_snapshot
profile: bench
config-version: 2
EOF
cat > "$work/p/profiles.yml" <<EOF
bench:
  target: dev
  outputs:
    dev: {type: postgres, host: $host, port: $port, user: $user, password: '', dbname: $db, schema: $schema, threads: 1}
EOF
cat > "$work/p/models/sources.yml" <<EOF
version: 2
sources:
  - name: shop
    schema: $schema
    tables: [{name: products}]
EOF
cat > "$work/p/snapshots/products_history.sql" <<'EOF'
{% snapshot products_history %}
{{ config(unique_key='id', strategy='check', check_cols=['name', 'price', 'category']) }}
select id, name, price, category from {{ source('shop', 'products') }}
{% endsnapshot %}
EOF

psql_run <<EOF
drop schema if exists $schema cascade;
create schema $schema;
create table $schema.products as
  select g as id, 'product ' || g as name, (g % 1000)::numeric(10,2) as price, g % 50 as category
  from generate_series(1, $rows) g;
alter table $schema.products add primary key (id);
analyze $schema.products;
EOF
(cd "$work/p" && "$tmk" snapshot --profiles-dir . >"$work/first.log" 2>&1) || { cat "$work/first.log"; exit 1; }
psql_run <<EOF
create table $schema.saved as select * from $schema.products_history;
update $schema.products set price = price + 1 where id % 100 = 0;
analyze $schema.products;
EOF
restore() {
  psql_run <<EOF
drop table $schema.products_history;
create table $schema.products_history as select * from $schema.saved;
analyze $schema.products_history;
EOF
}
expected=$(( rows + rows / 100 ))

: > "$work/tmk_times"
for _ in $(seq "$runs"); do
  restore
  start=$(now)
  (cd "$work/p" && "$tmk" snapshot --profiles-dir . >"$work/tmk.log" 2>&1) || { cat "$work/tmk.log"; exit 1; }
  end=$(now)
  awk "BEGIN{print $end - $start}" >> "$work/tmk_times"
  count=$(psql_run -At -c "select count(*) from $schema.products_history")
  [ "$count" = "$expected" ] || { echo "tmk left $count rows, expected $expected"; exit 1; }
done

cat > "$work/hand.sql" <<EOF
begin;
update $schema.products_history h
set dbt_valid_to = now()::timestamp without time zone
from $schema.products s
where h.id = s.id and h.dbt_valid_to is null
  and (h.name is distinct from s.name or h.price is distinct from s.price or h.category is distinct from s.category);
insert into $schema.products_history (id, name, price, category, dbt_scd_id, dbt_updated_at, dbt_valid_from)
select s.id, s.name, s.price, s.category,
       md5(coalesce(cast(s.id as varchar), '') || '|' || coalesce(cast(now()::timestamp without time zone as varchar), '')),
       now()::timestamp without time zone, now()::timestamp without time zone
from $schema.products s
where not exists (select from $schema.products_history h where h.id = s.id and h.dbt_valid_to is null);
commit;
EOF
: > "$work/hand_times"
for _ in $(seq "$runs"); do
  restore
  start=$(now)
  psql_run -f "$work/hand.sql"
  end=$(now)
  awk "BEGIN{print $end - $start}" >> "$work/hand_times"
  count=$(psql_run -At -c "select count(*) from $schema.products_history")
  [ "$count" = "$expected" ] || { echo "the hand-written pair left $count rows, expected $expected"; exit 1; }
done
tmk_s=$(best < "$work/tmk_times"); hand_s=$(best < "$work/hand_times")
echo "snapshot: $rows rows, 1% changed, check strategy on 3 columns, best of $runs"
echo "tmk snapshot:            ${tmk_s} s"
echo "hand-written UPDATE+INSERT: ${hand_s} s"
echo "ratio:                   $(awk "BEGIN{printf \"%.2f\", $tmk_s / $hand_s}")x   (goal <= 1.5x)"
