#!/usr/bin/env bash
# DBML → DDL speed: tmk ddl against dbml2sql (@dbml/cli) on a generated schema of N tables
# (10 columns each, an enum, two indexes, a foreign key to the previous table), both dialects.
# Prints the wall time of each and the ratio dbml2sql / tmk.
#
# Usage: bench/dbml_speed.sh [TMK_BIN] [TABLES]     (defaults: target/release/tmk, 2000)
# Needs node and npm; @dbml/cli is installed into a temporary directory outside the repository
# (or set DBML2SQL to an installed dbml2sql).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
TMK="${1:-$ROOT/target/release/tmk}"
TABLES="${2:-2000}"
WORK="$(mktemp -d)"
trap 'rm -rf "$WORK"' EXIT

if [[ -z "${DBML2SQL:-}" ]]; then
  (cd "$WORK" && npm install --silent @dbml/cli >/dev/null 2>&1)
  DBML2SQL="$WORK/node_modules/.bin/dbml2sql"
fi

python3 - "$TABLES" > "$WORK/big.dbml" <<'EOF'
import sys
tables = int(sys.argv[1])
print("Enum shop.state {\n  new\n  paid\n  shipped\n}\n")
for t in range(tables):
    print(f"Table shop.t{t} [note: 'table {t}'] {{")
    print("  id int [pk, increment]")
    if t:
        print(f"  parent_id int [not null, ref: > shop.t{t-1}.id]")
    else:
        print("  parent_id int")
    print("  name varchar(100) [not null, note: 'a name']")
    print("  amount decimal(12,2) [default: 0, check: `amount >= 0`]")
    print("  state shop.state [default: 'new']")
    print("  created_at timestamp [default: `now()`]")
    for c in range(4):
        print(f"  attr{c} text")
    print("  indexes {\n    parent_id\n    (name, created_at) [unique]\n  }")
    print("}\n")
EOF

seconds() {
  local start end
  start=$(date +%s.%N)
  "$@" > /dev/null 2>&1
  end=$(date +%s.%N)
  echo "$end - $start" | bc -l
}

printf 'DBML → DDL, %s tables (%s lines of DBML)\n' "$TABLES" "$(wc -l < "$WORK/big.dbml")"
for dialect in postgres mysql; do
  tmk=$(seconds "$TMK" ddl "$WORK/big.dbml" --dialect "$dialect")
  node=$(seconds "$DBML2SQL" "$WORK/big.dbml" "--$dialect")
  printf '%-9s tmk ddl %6.3f s   dbml2sql %6.3f s   ratio dbml2sql/tmk %6.1fx\n' \
    "$dialect" "$tmk" "$node" "$(echo "$node / $tmk" | bc -l)"
done
