#!/usr/bin/env python3
"""Generate a synthetic dbt project for compile-speed benchmarks.

    python3 bench/gen_project.py N OUT_DIR

Writes a dbt project with N models (deterministic: the same N always gives
the same bytes, and model i is the same for every N > i):

* dbt_project.yml (name `bench`, profile `bench`) and profiles.yml
  (postgres 127.0.0.1:5432, user root, database postgres, schema from
  BENCH_SCHEMA, default `bench`; host/port/user/dbname overridable with
  BENCH_PGHOST / BENCH_PGPORT / BENCH_PGUSER / BENCH_PGDATABASE).
* models/group_XXX/ folders of 100 models each (about N/100 folders).
* models 0..9 are roots: `select generate_series(1, 10) as id, ...`.
* model i >= 10 refs 1-3 earlier models (pseudo-random, seeded by i),
  calls `{{ config(materialized='table') }}`, and builds its columns with a
  Jinja `{% for %}` loop. Every model has 10 rows: id 1..10, c0..c3 integers.
* one properties file per folder (`_group_XXX.yml`) giving every model a
  `not_null` data test on `id` (`data_tests:` key) and a description.

Everything is valid PostgreSQL; values stay small (mod 1000) so no overflow.
"""
import os
import random
import sys

MODELS_PER_FOLDER = 100
COLS = ["c0", "c1", "c2", "c3"]

DBT_PROJECT = """\
name: 'bench'
version: '1.0.0'
config-version: 2

profile: 'bench'

model-paths: ["models"]
macro-paths: ["macros"]

target-path: "target"
clean-targets:
  - "target"
  - "logs"

models:
  bench:
    +materialized: view
"""

PROFILES = """\
bench:
  target: dev
  outputs:
    dev:
      type: postgres
      host: "{{ env_var('BENCH_PGHOST', '127.0.0.1') }}"
      port: "{{ env_var('BENCH_PGPORT', '5432') | as_number }}"
      user: "{{ env_var('BENCH_PGUSER', 'root') }}"
      password: "{{ env_var('BENCH_PGPASSWORD', '') }}"
      dbname: "{{ env_var('BENCH_PGDATABASE', 'postgres') }}"
      schema: "{{ env_var('BENCH_SCHEMA', 'bench') }}"
      threads: 4
"""


def model_name(i):
    return "model_%05d" % i


def folder_name(i):
    return "group_%03d" % (i // MODELS_PER_FOLDER)


def parents(i):
    """1-3 distinct earlier models; depends only on i."""
    rng = random.Random(1_000_003 * i + 17)
    k = rng.randint(1, 3)
    chosen = []
    while len(chosen) < k:
        if rng.random() < 0.5:
            # a recent model: gives the DAG some depth
            j = rng.randint(max(0, i - 50), i - 1)
        else:
            j = rng.randint(0, i - 1)
        if j not in chosen:
            chosen.append(j)
    return chosen


def root_sql(i):
    return (
        "{{ config(materialized='table') }}\n"
        "{%% set cols = %r %%}\n"
        "select\n"
        "    generate_series(1, 10) as id\n"
        "    {%%- for c in cols %%},\n"
        "    {{ loop.index * %d %% 1000 }} as {{ c }}\n"
        "    {%%- endfor %%}\n" % (COLS, i + 1)
    )


def child_sql(i, ps):
    lines = [
        "{{ config(materialized='table') }}",
        "{%% set cols = %r %%}" % (COLS,),
        "-- %s: depends on %s" % (model_name(i), ", ".join(model_name(p) for p in ps)),
        "select",
        "    t0.id",
        "    {%- for c in cols %},",
        "    (" + " + ".join("t%d.{{ c }}" % k for k in range(len(ps)))
        + " + {{ loop.index }}) % 1000 as {{ c }}",
        "    {%- endfor %}",
        "from {{ ref('%s') }} as t0" % model_name(ps[0]),
    ]
    for k, p in enumerate(ps[1:], start=1):
        lines.append("join {{ ref('%s') }} as t%d on t%d.id = t0.id" % (model_name(p), k, k))
    return "\n".join(lines) + "\n"


def properties_yml(folder, ids):
    out = ["version: 2", "", "models:"]
    for i in ids:
        out += [
            "  - name: %s" % model_name(i),
            "    description: Synthetic benchmark model %d in %s" % (i, folder),
            "    columns:",
            "      - name: id",
            "        data_tests:",
            "          - not_null",
        ]
    return "\n".join(out) + "\n"


def write(path, text):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w", newline="\n") as f:
        f.write(text)


def main(argv):
    if len(argv) != 3:
        sys.stderr.write("usage: gen_project.py N OUT_DIR\n")
        return 2
    n = int(argv[1])
    out = argv[2]
    if n < 1:
        sys.stderr.write("N must be >= 1\n")
        return 2
    write(os.path.join(out, "dbt_project.yml"), DBT_PROJECT)
    write(os.path.join(out, "profiles.yml"), PROFILES)
    os.makedirs(os.path.join(out, "macros"), exist_ok=True)
    folders = {}
    for i in range(n):
        folder = folder_name(i)
        folders.setdefault(folder, []).append(i)
        if i < 10:
            sql = root_sql(i)
        else:
            sql = child_sql(i, parents(i))
        write(os.path.join(out, "models", folder, model_name(i) + ".sql"), sql)
    for folder, ids in folders.items():
        write(os.path.join(out, "models", folder, "_%s.yml" % folder), properties_yml(folder, ids))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
