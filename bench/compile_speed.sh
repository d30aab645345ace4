#!/usr/bin/env bash
# Compile-speed bar: generate projects of 1,000 / 5,000 / 10,000 models (refs, a Jinja loop, a
# config call and a not_null test each) and time `tmk compile` (no database needed), best of
# RUNS runs, with peak memory. Prints one line per size and the goals.
#   bench/compile_speed.sh [TMK_BINARY]   (default target/release/tmk)
set -euo pipefail
cd "$(dirname "$0")/.."
tmk=${1:-target/release/tmk}
[ -x "$tmk" ] || cargo build --release --locked
runs=${RUNS:-3}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
printf '%-8s %10s %12s %10s\n' models seconds "max RSS MB" goal
for n in 1000 5000 10000; do
  python3 bench/gen_project.py "$n" "$work/p$n" >/dev/null
  best=""
  rss=0
  for _ in $(seq "$runs"); do
    rm -rf "$work/p$n/target"
    /usr/bin/time -f '%e %M' -o "$work/time" "$tmk" compile --project-dir "$work/p$n" --profiles-dir "$work/p$n" >/dev/null
    read -r seconds kb < "$work/time"
    if [ -z "$best" ] || awk "BEGIN{exit !($seconds < $best)}"; then best=$seconds; fi
    [ "$kb" -gt "$rss" ] && rss=$kb
  done
  case $n in 1000) goal="-";; 5000) goal="< 1 s";; 10000) goal="< 2 s";; esac
  printf '%-8s %10s %12s %10s\n' "$n" "$best" "$((rss / 1024))" "$goal"
done
echo "memory goal: < 500 MB; dbt-core 1.11 needs 54 s to parse 5,000 such models (see bench/dbt-baseline.md)"
