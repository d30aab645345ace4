# Shared by the bench/*.sh scripts that time tmk against PostgreSQL: source it from the
# repository root after `set -euo pipefail`. It defines
#   host, port, user, db   the server (BENCH_PGHOST, BENCH_PGPORT, BENCH_PGUSER,
#                          BENCH_PGDATABASE; default root@127.0.0.1:5432/postgres)
#   work                   a fresh temporary directory (the script's trap removes it)
#   tmk_binary [PATH]      the tmk to time, absolute (default target/release/tmk, built when missing)
#   psql_run ARGS...       psql on that server, stopping at the first error, notices hidden
#   now                    seconds since the epoch, with nanoseconds
#   best [DIGITS]          the smallest of the numbers on stdin, one per line (3 decimals)
host=${BENCH_PGHOST:-127.0.0.1}
port=${BENCH_PGPORT:-5432}
user=${BENCH_PGUSER:-root}
db=${BENCH_PGDATABASE:-postgres}
work=$(mktemp -d)

tmk_binary() {
  local binary=${1:-target/release/tmk}
  [ -x "$binary" ] || cargo build --release --locked >&2
  realpath "$binary"
}
psql_run() {
  PGOPTIONS="-c client_min_messages=warning" psql -X -q -v ON_ERROR_STOP=1 \
    -h "$host" -p "$port" -U "$user" -d "$db" "$@"
}
now() { date +%s.%N; }
best() { awk -v digits="${1:-3}" 'NR == 1 || $1 < m {m = $1} END {printf "%." digits "f", m}'; }
