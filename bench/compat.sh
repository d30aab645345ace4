#!/usr/bin/env bash
# Compatibility check: build the jaffle_shop fixture with tmk (or real dbt)
# and compare every relation it builds, the column names/types, the relation
# kinds, and the compiled SQL of the models against the reference output that
# real dbt-postgres produced (tests/fixtures/jaffle_shop/expected/).
#
# Usage:
#   bench/compat.sh [TMK_BIN]                 # default: target/release/tmk
#   bench/compat.sh --dbt /path/to/dbt        # run real dbt instead (proves the script)
#   bench/compat.sh --dbt /path/to/dbt --update-expected
#                                             # regenerate expected/ from real dbt
#
# Options:
#   --keep          keep the temp project dir and the schema (for debugging)
#   --update-expected  write the dump into expected/ instead of diffing
#
# Connection (same variables the fixture's profiles.yml reads):
#   PGHOST_JAFFLE (127.0.0.1) PGPORT_JAFFLE (5432) PGUSER_JAFFLE (root)
#   PGDATABASE_JAFFLE (postgres) PGPASSWORD_JAFFLE ('')
#
# Exit status: 0 when the build succeeded and everything matches; 1 on any
# difference (the diff is printed); 2 on usage/setup errors.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
FIXTURE="$ROOT/tests/fixtures/jaffle_shop"
EXPECTED="$FIXTURE/expected"
REF_SCHEMA="jaffle_ref"   # schema name baked into expected/compiled/*.sql

MODE=tmk
TOOL=""
UPDATE=0
KEEP=0
while [ $# -gt 0 ]; do
    case "$1" in
        --dbt) MODE=dbt; TOOL="${2:?--dbt needs a path}"; shift 2 ;;
        --update-expected) UPDATE=1; shift ;;
        --keep) KEEP=1; shift ;;
        -h|--help) sed -n '2,22p' "$0"; exit 0 ;;
        -*) echo "compat.sh: unknown option $1" >&2; exit 2 ;;
        *) TOOL="$1"; shift ;;
    esac
done
if [ -z "$TOOL" ]; then TOOL="$ROOT/target/release/tmk"; fi
# resolve to an absolute path (or a command on PATH) before we cd away
if [ -e "$TOOL" ]; then
    TOOL="$(cd "$(dirname "$TOOL")" && pwd)/$(basename "$TOOL")"
elif command -v "$TOOL" >/dev/null 2>&1; then
    TOOL="$(command -v "$TOOL")"
else
    echo "compat.sh: $MODE binary not found: $TOOL" >&2; exit 2
fi
if [ ! -x "$TOOL" ]; then echo "compat.sh: not executable: $TOOL" >&2; exit 2; fi
if [ "$UPDATE" = 1 ] && [ "$MODE" != dbt ]; then
    echo "compat.sh: --update-expected only makes sense with --dbt (real dbt is the reference)" >&2
    exit 2
fi

export PGHOST_JAFFLE="${PGHOST_JAFFLE:-127.0.0.1}"
export PGPORT_JAFFLE="${PGPORT_JAFFLE:-5432}"
export PGUSER_JAFFLE="${PGUSER_JAFFLE:-root}"
export PGDATABASE_JAFFLE="${PGDATABASE_JAFFLE:-postgres}"
export PGPASSWORD_JAFFLE="${PGPASSWORD_JAFFLE:-}"
SCHEMA="jaffle_${MODE}_$$"
export JAFFLE_SCHEMA="$SCHEMA"
# keep dbt quiet and offline
export DO_NOT_TRACK=1 DBT_SEND_ANONYMOUS_USAGE_STATS=false

psql_() {
    PGPASSWORD="$PGPASSWORD_JAFFLE" psql -X -q -v ON_ERROR_STOP=1 \
        -h "$PGHOST_JAFFLE" -p "$PGPORT_JAFFLE" -U "$PGUSER_JAFFLE" -d "$PGDATABASE_JAFFLE" "$@"
}

WORK="$(mktemp -d "${TMPDIR:-/tmp}/tmk-compat.XXXXXX")"
cleanup() {
    if [ "$KEEP" = 1 ]; then
        echo "compat.sh: kept $WORK and schema $SCHEMA" >&2
        return
    fi
    psql_ -c "drop schema if exists \"$SCHEMA\" cascade" >/dev/null 2>&1 || true
    rm -rf "$WORK"
}
trap cleanup EXIT

# 1. copy the fixture (without the reference data) and build it
mkdir -p "$WORK/project"
( cd "$FIXTURE" && tar --exclude=./expected --exclude=./target --exclude=./logs -cf - . ) \
    | ( cd "$WORK/project" && tar -xf - )
psql_ -c "drop schema if exists \"$SCHEMA\" cascade" >/dev/null 2>&1 || true

echo "compat.sh: $MODE build ($TOOL) into schema $SCHEMA" >&2
BUILD_RC=0
( cd "$WORK/project" && "$TOOL" build --profiles-dir . ) >"$WORK/build.log" 2>&1 || BUILD_RC=$?
if [ "$BUILD_RC" != 0 ]; then
    echo "compat.sh: '$MODE build' exited $BUILD_RC; last lines of its output:" >&2
    tail -n 40 "$WORK/build.log" >&2
fi

# 2. dump what was built
OUT="$WORK/actual"
if [ "$UPDATE" = 1 ]; then OUT="$EXPECTED"; fi
mkdir -p "$OUT/compiled"

RELATIONS="raw_customers raw_orders raw_payments stg_customers stg_orders stg_payments customers orders"
for rel in $RELATIONS; do
    ncols="$(psql_ -At -c "select count(*) from information_schema.columns
                            where table_schema = '$SCHEMA' and table_name = '$rel'")"
    if [ "$ncols" = 0 ]; then
        rm -f "$OUT/$rel.csv"   # missing relation -> shows up as 'Only in expected'
        continue
    fi
    order_by="$(seq -s, 1 "$ncols")"
    psql_ -c "\\copy (select * from \"$SCHEMA\".\"$rel\" order by $order_by) to '$OUT/$rel.csv' csv header"
done

psql_ -c "\\copy (select table_name, column_name, data_type, ordinal_position
                   from information_schema.columns
                   where table_schema = '$SCHEMA'
                   order by table_name, ordinal_position) to '$OUT/columns.csv' csv header"
psql_ -c "\\copy (select table_name, table_type
                   from information_schema.tables
                   where table_schema = '$SCHEMA'
                   order by table_name) to '$OUT/relations.csv' csv header"

# compiled SQL: identical bytes except the schema name, which is normalised
# to the one used when the reference was recorded.
COMPILED="$WORK/project/target/compiled/jaffle_shop/models"
for f in orders.sql customers.sql staging/stg_customers.sql staging/stg_orders.sql staging/stg_payments.sql; do
    dst="$OUT/compiled/$(basename "$f")"
    if [ -f "$COMPILED/$f" ]; then
        # sed keeps a missing final newline as-is, so this stays byte-exact
        sed "s/\"$SCHEMA\"/\"$REF_SCHEMA\"/g" "$COMPILED/$f" >"$dst"
    else
        rm -f "$dst"
    fi
done

if [ "$UPDATE" = 1 ]; then
    echo "compat.sh: wrote reference data to $EXPECTED" >&2
    exit "$BUILD_RC"
fi

# 3. compare
DIFF_RC=0
diff -ru -x artifacts -x ARTIFACT_SHAPES.md --exclude=ARTIFACT_SHAPES.md "$EXPECTED" "$OUT" >"$WORK/diff.txt" 2>&1 || DIFF_RC=$?
if [ "$DIFF_RC" != 0 ]; then
    cat "$WORK/diff.txt"
    echo "compat.sh: FAIL: $MODE output differs from dbt's reference (see diff above)" >&2
    exit 1
fi
if [ "$BUILD_RC" != 0 ]; then
    echo "compat.sh: FAIL: relations match but '$MODE build' exited $BUILD_RC" >&2
    exit 1
fi
echo "compat.sh: OK: $MODE output matches dbt's reference ($(ls "$EXPECTED"/*.csv | wc -l) csv files, $(ls "$EXPECTED"/compiled | wc -l) compiled models)"
