#!/usr/bin/env bash
# Extract-speed bar (issue 5): `tmk extract` of the whole TechMarket OLTP (10 tables; at scale
# 1000: 600k orders, ~1.8M order items, ~540k payments, 50k customers, 25k products) from
# MariaDB into PostgreSQL, against a plain COPY of the same rows. Goal: tmk at no less than 70%
# of the plain COPY's throughput (ratio = floor time / tmk time >= 0.70), with flat memory.
#
# For each scale (SCALES, default "100 1000"):
#   setup (not in the ratio): `tmk generate --scale S` into MariaDB databases bench_extract_*.
#   tmk:   `tmk extract` (threads 4) into an empty schema, process start to exit: connect to
#          both servers, read the catalog, stream every table with COPY (a new table gets its
#          primary key after the COPY), record the watermarks, write the artifacts. Peak RSS
#          from /usr/bin/time.
#   floor: per table `mysql --batch --quick -e 'select ...' | psql -c 'copy ... from stdin'`
#          into tables of the same columns without keys, all ten at once (as tmk runs them),
#          start to end.
#   after: `tmk generate --changes`, then an incremental `tmk extract` (upserts), timed.
# Best of RUNS (default 2) for tmk and the floor, alternating. Prints rows, times, the ratio and
# the peak RSS per scale.
#   bench/extract_speed.sh [TMK_BINARY]   (MariaDB at 127.0.0.1:3306 as root; PostgreSQL at
#   BENCH_PGHOST:BENCH_PGPORT, default 127.0.0.1:5432; about 2 GB of disk at scale 1000)
set -euo pipefail
cd "$(dirname "$0")/.."
source bench/lib.sh
tmk=$(tmk_binary "${1:-}")
runs=${RUNS:-2}
scales=${SCALES:-"100 1000"}
prefix=bench_extract_
schema=${BENCH_SCHEMA:-bench_extract_$$}
mysql_url=mysql://root@127.0.0.1:3306
mysql_run() { mysql -uroot -h127.0.0.1 -P3306 "$@"; }
drop_mysql() { mysql_run -e "set foreign_key_checks = 0; drop database if exists ${prefix}auth; drop database if exists ${prefix}catalog; drop database if exists ${prefix}orders; drop database if exists ${prefix}payments;"; }
trap 'psql_run -c "drop schema if exists ${schema}_stg cascade; drop schema if exists ${schema}_floor cascade; delete from tmk_meta.load_watermarks where relation like '"'"'%${schema}_stg%'"'"'" >/dev/null 2>&1 || true; drop_mysql >/dev/null 2>&1 || true; rm -rf "$work"' EXIT

tables="auth.roles auth.users catalog.categories catalog.products orders.regions orders.customers orders.employees orders.orders orders.order_items payments.payments"
mkdir -p "$work/p/models"
printf 'name: bench_extract\nprofile: bench\nconfig-version: 2\n' > "$work/p/dbt_project.yml"
cat > "$work/p/profiles.yml" <<EOF
bench:
  target: dev
  outputs:
    dev: {type: postgres, host: '$host', port: $port, user: '$user', password: '', dbname: '$db', schema: '$schema', threads: 4}
EOF
{
  printf 'version: 2\nsources:\n'
  for service in auth catalog orders payments; do
    printf '  - name: %s\n    schema: %s_stg\n    loader: tmk\n    connection: %s\n    remote_schema: %s%s\n    tables:\n' "$service" "$schema" "$mysql_url" "$prefix" "$service"
    for qualified in $tables; do
      [ "${qualified%%.*}" = "$service" ] || continue
      table=${qualified#*.}
      case $table in
        regions|categories|roles) printf '      - name: %s\n' "$table" ;;
        *) printf '      - name: %s\n        watermark: updated_at\n' "$table" ;;
      esac
    done
  done
} > "$work/p/models/sources.yml"

tmk_extract() {  # prints "seconds peak_rss_kb"
  (cd "$work/p" && /usr/bin/time -f "%e %M" -o "$work/time" "$tmk" extract --profiles-dir . >"$work/tmk.log" 2>&1) || { cat "$work/tmk.log"; exit 1; }
  cat "$work/time"
}
fresh_target() {
  psql_run -c "drop schema if exists ${schema}_stg cascade; delete from tmk_meta.load_watermarks where relation like '%${schema}_stg%'" >/dev/null 2>&1 || true
}
floor_copy() {
  psql_run -c "drop schema if exists ${schema}_floor cascade; create schema ${schema}_floor" >/dev/null
  for qualified in $tables; do
    table=${qualified#*.}
    psql_run -c "create table ${schema}_floor.$table (like ${schema}_stg.$table)" >/dev/null
  done
  local start end
  start=$(now)
  for qualified in $tables; do
    service=${qualified%%.*}; table=${qualified#*.}
    columns=$(psql_run -At -c "select string_agg(quote_ident(column_name), ', ' order by ordinal_position) from information_schema.columns where table_schema = '${schema}_stg' and table_name = '$table'")
    (mysql_run --batch --quick --skip-column-names -e "select ${columns//\"/\`} from ${prefix}${service}.$table" \
      | psql_run -c "copy ${schema}_floor.$table ($columns) from stdin (null 'NULL')") &
  done
  wait
  end=$(now)
  echo "$end - $start" | bc
}

for scale in $scales; do
  drop_mysql
  start=$(now)
  "$tmk" generate --scale "$scale" --into "$mysql_url" --prefix "$prefix" > "$work/generate.log"
  generated=$(echo "$(now) - $start" | bc)
  rows=$(grep -o '[0-9]* rows' "$work/generate.log" | awk '{s += $1} END {print s}')
  : > "$work/tmk_times"; : > "$work/floor_times"; : > "$work/rss"
  for run in $(seq "$runs"); do
    fresh_target
    read -r seconds rss < <(tmk_extract)
    echo "$seconds" >> "$work/tmk_times"; echo "$rss" >> "$work/rss"
    floor_copy >> "$work/floor_times"
  done
  loaded=$(psql_run -At -c "select sum(n) from (select count(*) n from ${schema}_stg.orders union all select count(*) from ${schema}_stg.order_items union all select count(*) from ${schema}_stg.payments) x")
  tmk_best=$(best 2 < "$work/tmk_times"); floor_best=$(best 2 < "$work/floor_times")
  peak=$(sort -n "$work/rss" | tail -1)
  "$tmk" generate --scale "$scale" --into "$mysql_url" --prefix "$prefix" --changes > /dev/null
  read -r incremental incremental_rss < <(tmk_extract)
  moved=$(grep -o 'EXTRACT [0-9]*' "$work/tmk.log" | awk '{s += $2} END {print s}')
  printf 'scale %s: %s rows generated in %.1fs (orders+items+payments: %s)\n' "$scale" "$rows" "$generated" "$loaded"
  printf '  initial extract: tmk %ss, plain COPY %ss, ratio %.2f (goal >= 0.70); tmk peak RSS %d MB\n' \
    "$tmk_best" "$floor_best" "$(echo "$floor_best / $tmk_best" | bc -l)" "$((peak / 1024))"
  printf '  after --changes: %s rows moved in %ss, peak RSS %d MB\n' "$moved" "$incremental" "$((incremental_rss / 1024))"
done
