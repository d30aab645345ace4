//! What `tmk build`, `run`, `seed`, `test`, `compile`, `ls`, `debug` and `clean` do to a real
//! PostgreSQL: tables and views built, tests run after their model, failures skipping what
//! depends on them, dependent views kept across rebuilds, ephemeral CTEs, seeds, macros, the
//! artifacts, and the output a person reads.

#![allow(clippy::disallowed_methods)]

mod common;

use common::{TestProject, assert_ok};

const DIAMOND: &[(&str, &str)] = &[
    (
        "seeds/raw_items.csv",
        "id,name,price\n1,apple,1.50\n2,pear,2.25\n3,plum,0.75\n",
    ),
    (
        "models/staging/stg_items.sql",
        "select id, name, price from {{ ref('raw_items') }}\n",
    ),
    (
        "models/cheap.sql",
        "{{ config(materialized='table') }}\nselect * from {{ ref('stg_items') }} where price < 2\n",
    ),
    (
        "models/dear.sql",
        "{{ config(materialized='table') }}\nselect * from {{ ref('stg_items') }} where price >= 2\n",
    ),
    (
        "models/all_items.sql",
        "select * from {{ ref('cheap') }} union all select * from {{ ref('dear') }}\n",
    ),
    (
        "models/schema.yml",
        "version: 2\nmodels:\n  - name: stg_items\n    columns:\n      - name: id\n        data_tests: [unique, not_null]\n  - name: cheap\n    columns:\n      - name: name\n        data_tests:\n          - accepted_values:\n              arguments: {values: [apple, plum]}\n",
    ),
];

/// The whole project builds in DAG order: seed, view, tables, union view, tests after models.
#[test]
fn build_creates_every_relation_and_runs_the_tests() {
    let project = TestProject::new("diamond", DIAMOND);
    let run = project.tmk(&["build"]);
    assert_ok(&run);
    assert_eq!(project.rows("all_items"), "1|apple|1.5\n2|pear|2.25\n3|plum|0.75");
    assert_eq!(
        project.query(&format!(
            "select table_name || ':' || table_type from information_schema.tables where table_schema = '{}' order by 1",
            project.schema
        )),
        "all_items:VIEW\ncheap:BASE TABLE\ndear:BASE TABLE\nraw_items:BASE TABLE\nstg_items:VIEW"
    );
    let position = |name: &str| {
        run.stdout
            .find(name)
            .unwrap_or_else(|| panic!("{name} not in output"))
    };
    assert!(position("seed raw_items") < position("view stg_items"));
    assert!(
        position("test unique_stg_items_id") < position("table cheap"),
        "tests of stg_items run before its children"
    );
    assert!(
        run.stdout.contains("Done. PASS=8 WARN=0 ERROR=0 SKIP=0 TOTAL=8"),
        "{}",
        run.stdout
    );
}

/// The output a person reads: one line per node, then the summary.
#[test]
fn build_output_has_one_line_per_node_and_a_summary() {
    let project = TestProject::new("output", DIAMOND);
    let run = project.tmk(&["build", "--threads", "1"]);
    assert_ok(&run);
    insta::assert_snapshot!("build_output", project.normalize(&run.stdout));
}

/// A failing test skips everything downstream of the model it tests; the exit code is 1.
#[test]
fn a_failing_test_skips_the_descendants_of_its_model() {
    let project = TestProject::new("failing", DIAMOND);
    project.write(
        "seeds/raw_items.csv",
        "id,name,price\n1,apple,1.50\n1,pear,2.25\n3,plum,0.75\n",
    );
    let run = project.tmk(&["build"]);
    assert_eq!(run.code, 1, "{}", run.stdout);
    assert!(
        run.stdout.contains("FAIL  test unique_stg_items_id"),
        "{}",
        run.stdout
    );
    assert!(run.stdout.contains("SKIP  table cheap"), "{}", run.stdout);
    assert!(run.stdout.contains("SKIP  view all_items"), "{}", run.stdout);
    assert!(
        run.stdout.contains("Got 1 result, configured to fail if != 0"),
        "{}",
        run.stdout
    );
    assert!(!project.exists("cheap") && !project.exists("all_items"));
    assert!(run.stdout.contains("ERROR=1 SKIP=4"), "{}", run.stdout);
}

/// With --fail-fast nothing new starts after the first failure.
#[test]
fn fail_fast_stops_at_the_first_failure() {
    let project = TestProject::new(
        "failfast",
        &[
            ("models/broken.sql", "select * from no_such_table"),
            (
                "models/later.sql",
                "{{ config(materialized='table') }}\nselect 1 as x",
            ),
            ("models/after_later.sql", "select * from {{ ref('later') }}"),
        ],
    );
    let run = project.tmk(&[
        "run",
        "--threads",
        "1",
        "-x",
        "-s",
        "broken",
        "later",
        "after_later",
    ]);
    assert_eq!(run.code, 1);
    assert!(
        run.stdout.contains("ERROR test") || run.stdout.contains("ERROR view broken"),
        "{}",
        run.stdout
    );
    assert!(run.stdout.contains("SKIP"), "{}", run.stdout);
    assert!(
        !project.exists("after_later"),
        "nothing starts after the first failure"
    );
}

/// Regression: a relationships test from a child to its parent made the child wait for its own
/// test (the run stalled and every later node was skipped).
#[test]
fn a_relationships_test_from_child_to_parent_does_not_stall_the_build() {
    let project = TestProject::new(
        "childtest",
        &[
            (
                "models/parent.sql",
                "{{ config(materialized='table') }}\nselect 1 as id",
            ),
            (
                "models/child.sql",
                "{{ config(materialized='table') }}\nselect 1 as id, 1 as parent_id from {{ ref('parent') }}",
            ),
            ("models/grandchild.sql", "select * from {{ ref('child') }}"),
            (
                "models/schema.yml",
                "version: 2\nmodels:\n  - name: child\n    columns:\n      - name: parent_id\n        data_tests:\n          - relationships: {to: ref('parent'), field: id}\n",
            ),
        ],
    );
    let run = project.tmk(&["build"]);
    assert_ok(&run);
    assert!(run.stdout.contains("PASS=4"), "{}", run.stdout);
    assert!(project.exists("grandchild"));
}

/// Unlike dbt (CASCADE), rebuilding a relation keeps views that tmk does not manage.
#[test]
fn rebuilding_a_table_keeps_views_that_tmk_does_not_manage() {
    let project = TestProject::new(
        "keepviews",
        &[(
            "models/sales.sql",
            "{{ config(materialized='table') }}\nselect 1 as id, 10 as amount",
        )],
    );
    assert_ok(&project.tmk(&["run"]));
    let schema = &project.schema;
    project.query(&format!(
        "create view {schema}.bi_report as select sum(amount) as total from {schema}.sales"
    ));
    project.query(&format!(
        "create view {schema}.bi_report_2 as select total * 2 as doubled from {schema}.bi_report"
    ));
    project.query(&format!(
        "comment on view {schema}.bi_report is 'for the BI team'"
    ));
    project.write(
        "models/sales.sql",
        "{{ config(materialized='table') }}\nselect 1 as id, 10 as amount union all select 2, 5",
    );
    let run = project.tmk(&["run"]);
    assert_ok(&run);
    assert!(run.stdout.contains("OK    table sales"), "{}", run.stdout);
    assert_eq!(
        project.query(&format!("select total from {schema}.bi_report")),
        "15"
    );
    assert_eq!(
        project.query(&format!("select doubled from {schema}.bi_report_2")),
        "30"
    );
    assert_eq!(
        project.query(&format!("select obj_description('{schema}.bi_report'::regclass)")),
        "for the BI team"
    );
}

/// When a dependent view cannot survive the new version, the run stops, names the view, and
/// nothing changes.
#[test]
fn a_dependent_view_that_would_break_stops_the_rebuild_and_keeps_everything() {
    let project = TestProject::new(
        "breakview",
        &[(
            "models/sales.sql",
            "{{ config(materialized='table') }}\nselect 1 as id, 10 as amount",
        )],
    );
    assert_ok(&project.tmk(&["run"]));
    let schema = &project.schema;
    project.query(&format!(
        "create view {schema}.bi_report as select sum(amount) as total from {schema}.sales"
    ));
    project.write(
        "models/sales.sql",
        "{{ config(materialized='table') }}\nselect 1 as id",
    );
    let run = project.tmk(&["run"]);
    assert_eq!(run.code, 1, "{}", run.stdout);
    assert!(
        run.stdout
            .contains(&format!("the view {schema}.bi_report depends on")),
        "{}",
        run.stdout
    );
    assert_eq!(
        project.query(&format!("select total from {schema}.bi_report")),
        "10"
    );
    assert_eq!(project.rows("sales"), "1|10");
}

/// A model whose new SQL fails leaves the old relation in place.
#[test]
fn a_failed_rebuild_keeps_the_old_relation() {
    let project = TestProject::new(
        "failedrebuild",
        &[(
            "models/m.sql",
            "{{ config(materialized='table') }}\nselect 1 as id",
        )],
    );
    assert_ok(&project.tmk(&["run"]));
    project.write(
        "models/m.sql",
        "{{ config(materialized='table') }}\nselect 1 / 0 as id",
    );
    let run = project.tmk(&["run"]);
    assert_eq!(run.code, 1);
    assert!(run.stdout.contains("division by zero"), "{}", run.stdout);
    assert_eq!(project.rows("m"), "1");
    assert!(!project.query(&format!("select string_agg(relname, ',') from pg_class c join pg_namespace n on n.oid = c.relnamespace where nspname = '{}' and relname like '%tmk%'", project.schema)).contains("tmk"), "no temporary relation is left behind");
}

/// Ephemeral models are injected as CTEs, dbt-style, and never built.
#[test]
fn ephemeral_models_become_ctes() {
    let project = TestProject::new(
        "ephemeral",
        &[
            (
                "models/base.sql",
                "{{ config(materialized='ephemeral') }}\nselect 1 as id",
            ),
            (
                "models/middle.sql",
                "{{ config(materialized='ephemeral') }}\nselect id + 1 as id from {{ ref('base') }}",
            ),
            (
                "models/top.sql",
                "with doubled as (select id * 2 as id from {{ ref('middle') }})\nselect * from doubled",
            ),
        ],
    );
    let run = project.tmk(&["run"]);
    assert_ok(&run);
    assert_eq!(project.rows("top"), "4");
    assert!(!project.exists("base") && !project.exists("middle"));
    insta::assert_snapshot!(
        "ephemeral_compiled",
        project.read("target/compiled/demo/models/top.sql")
    );
}

/// Seeds are typed like dbt's and loaded with COPY; column_types overrides the inference.
#[test]
fn seeds_are_typed_like_dbt_and_reloaded_on_rerun() {
    let project = TestProject::new(
        "seeds",
        &[
            (
                "seeds/people.csv",
                "id,name,score,born,active,signed_up\n1,Ann,1.5,2001-02-03,true,2024-01-02 03:04:05\n2,,2,2002-03-04,false,\n",
            ),
            (
                "dbt_project.yml",
                "name: demo\nprofile: demo\nconfig-version: 2\nseeds:\n  demo:\n    people:\n      +column_types: {id: bigint}\n",
            ),
        ],
    );
    let run = project.tmk(&["seed"]);
    assert_ok(&run);
    let types = project.query(&format!(
        "select string_agg(column_name || ' ' || data_type, ', ' order by ordinal_position) from information_schema.columns where table_schema = '{}' and table_name = 'people'",
        project.schema
    ));
    assert_eq!(
        types,
        "id bigint, name text, score double precision, born date, active boolean, signed_up timestamp without time zone"
    );
    assert_eq!(
        project.rows("people"),
        "1|Ann|1.5|2001-02-03|t|2024-01-02 03:04:05\n2||2|2002-03-04|f|"
    );
    project.write(
        "seeds/people.csv",
        "id,name,score,born,active,signed_up\n3,Bo,1,2003-01-01,true,\n",
    );
    assert_ok(&project.tmk(&["seed"]));
    assert_eq!(project.rows("people"), "3|Bo|1|2003-01-01|t|");
}

/// `run` builds models only, `seed` seeds only, `test` tests only.
#[test]
fn run_seed_and_test_take_their_own_resource_types() {
    let project = TestProject::new("kinds", DIAMOND);
    let seed = project.tmk(&["seed"]);
    assert_ok(&seed);
    assert!(seed.stdout.contains("TOTAL=1"), "{}", seed.stdout);
    let run = project.tmk(&["run"]);
    assert_ok(&run);
    assert!(
        run.stdout.contains("TOTAL=4") && !run.stdout.contains("test "),
        "{}",
        run.stdout
    );
    let test = project.tmk(&["test"]);
    assert_ok(&test);
    assert!(
        test.stdout.contains("PASS=3") && test.stdout.contains("TOTAL=3"),
        "{}",
        test.stdout
    );
}

/// Selection: graph operators, methods, intersections and --exclude, printed by `ls`.
#[test]
fn ls_prints_the_selection() {
    let project = TestProject::new("selection", DIAMOND);
    let ls = |args: &[&str]| {
        let mut full = vec!["ls"];
        full.extend_from_slice(args);
        let run = project.tmk(&full);
        assert_ok(&run);
        run.stdout
    };
    insta::assert_snapshot!("ls_everything", ls(&[]));
    assert_eq!(
        ls(&["-s", "+cheap", "--resource-type", "model", "seed"]),
        "demo.cheap\ndemo.staging.stg_items\ndemo.raw_items\n"
    );
    assert_eq!(
        ls(&["-s", "stg_items+1", "--resource-type", "model", "-o", "name"]),
        "cheap\ndear\nstg_items\n"
    );
    assert_eq!(
        ls(&["-s", "path:models/staging", "--resource-type", "model"]),
        "demo.staging.stg_items\n"
    );
    assert_eq!(
        ls(&[
            "-s",
            "config.materialized:table",
            "--exclude",
            "dear",
            "--resource-type",
            "model"
        ]),
        "demo.cheap\n"
    );
    assert_eq!(
        ls(&["-s", "resource_type:test,test_name:unique", "-o", "name"]),
        "unique_stg_items_id\n"
    );
    // `config.` sees dbt's defaults, as dbt and manifest.json do: no node sets these.
    assert_eq!(
        ls(&[
            "-s",
            "config.on_schema_change:ignore",
            "--resource-type",
            "model",
            "seed",
            "-o",
            "name"
        ]),
        "all_items\ncheap\ndear\nstg_items\nraw_items\n"
    );
    assert_eq!(
        ls(&["-s", "config.severity:error", "-o", "name"]),
        ls(&["-s", "resource_type:test", "-o", "name"])
    );
}

/// Artifacts: dbt's manifest v12 and run_results v6 shapes, compiled and run SQL.
#[test]
fn artifacts_have_dbts_published_shapes() {
    let project = TestProject::new("artifacts", DIAMOND);
    assert_ok(&project.tmk(&["build"]));
    let manifest: serde_json::Value =
        serde_json::from_str(&project.read("target/manifest.json")).expect("manifest is JSON");
    assert_eq!(
        manifest["metadata"]["dbt_schema_version"],
        "https://schemas.getdbt.com/dbt/manifest/v12.json"
    );
    let cheap = &manifest["nodes"]["model.demo.cheap"];
    assert_eq!(cheap["config"]["materialized"], "table");
    assert_eq!(
        cheap["depends_on"]["nodes"],
        serde_json::json!(["model.demo.stg_items"])
    );
    assert_eq!(
        cheap["relation_name"],
        format!("\"postgres\".\"{}\".\"cheap\"", project.schema)
    );
    assert_eq!(
        manifest["child_map"]["model.demo.stg_items"]
            .as_array()
            .map(Vec::len),
        Some(4)
    );
    let results: serde_json::Value =
        serde_json::from_str(&project.read("target/run_results.json")).expect("run_results is JSON");
    assert_eq!(
        results["metadata"]["dbt_schema_version"],
        "https://schemas.getdbt.com/dbt/run-results/v6.json"
    );
    assert_eq!(results["results"].as_array().map(Vec::len), Some(8));
    let seed = results["results"]
        .as_array()
        .and_then(|all| all.iter().find(|r| r["unique_id"] == "seed.demo.raw_items"))
        .expect("seed result");
    assert_eq!(seed["status"], "success");
    assert_eq!(seed["adapter_response"]["rows_affected"], 3);
    assert!(
        project
            .read("target/compiled/demo/models/cheap.sql")
            .contains(&format!("\"{}\".\"stg_items\"", project.schema))
    );
    assert!(
        project
            .read("target/run/demo/models/cheap.sql")
            .contains("create table")
    );
    assert!(
        project
            .read("target/compiled/demo/models/schema.yml/unique_stg_items_id.sql")
            .contains("having count(*) > 1")
    );
}

/// `--log-format json` prints one JSON object per line.
#[test]
fn json_logs_are_one_object_per_line() {
    let project = TestProject::new("jsonlogs", &[("models/m.sql", "select 1 as id")]);
    let run = project.tmk(&["run", "--log-format", "json"]);
    assert_ok(&run);
    let events: Vec<serde_json::Value> = run
        .stdout
        .lines()
        .map(|line| serde_json::from_str(line).expect("a JSON line"))
        .collect();
    let node = events
        .iter()
        .find(|event| event["event"] == "node_finished")
        .expect("a node event");
    assert_eq!(node["unique_id"], "model.demo.m");
    assert_eq!(node["status"], "success");
    assert_eq!(
        events.last().map(|event| event["event"].clone()),
        Some(serde_json::json!("run_finished"))
    );
}

/// Macros are global across files; `return`, `adapter.dispatch`, `run_query`, `statement` /
/// `load_result`, `var`, `env_var` and `{% set %}` / `{% for %}` work as in dbt.
#[test]
fn macros_and_the_jinja_context_work_like_dbt() {
    let project = TestProject::new(
        "macros",
        &[
            (
                "macros/lists.sql",
                "{% macro payment_methods() %}{{ return(['card', 'cash']) }}{% endmacro %}\n{% macro default__cents(column) %}({{ column }} / 100.0){% endmacro %}\n{% macro cents(column) %}{{ return(adapter.dispatch('cents')(column)) }}{% endmacro %}",
            ),
            (
                "macros/uses_other_file.sql",
                "{% macro method_columns() %}{% for m in payment_methods() %}sum(case when method = '{{ m }}' then {{ cents('amount') }} else 0 end) as {{ m }}_amount{{ ',' if not loop.last }}\n{% endfor %}{% endmacro %}",
            ),
            (
                "seeds/payments.csv",
                "id,method,amount\n1,card,1000\n2,cash,250\n3,card,50\n",
            ),
            (
                "models/totals.sql",
                "{{ config(materialized='table') }}\nselect {{ method_columns() }} from {{ ref('payments') }}",
            ),
            (
                "models/counted.sql",
                "{% set result = run_query('select count(*) from ' ~ ref('payments')) %}\n{% if execute %}{% set n = result.rows[0][0] %}{% else %}{% set n = 0 %}{% endif %}\nselect {{ n }} as payments, '{{ var('label', 'none') }}' as label, '{{ env_var('TMK_TEST_UNSET_VAR', 'fallback') }}' as env",
            ),
            (
                "models/stated.sql",
                "{% call statement('max_amount', fetch_result=True) %}select max(amount) from {{ ref('payments') }}{% endcall %}\n{% set max_amount = load_result('max_amount')['data'][0][0] if execute else 0 %}\nselect {{ max_amount }} as max_amount",
            ),
        ],
    );
    let run = project.tmk(&["build", "--vars", "{label: nightly}"]);
    assert_ok(&run);
    assert_eq!(
        project.rows("totals"),
        "10.50000000000000000000|2.5000000000000000"
    );
    assert_eq!(project.rows("counted"), "3|nightly|fallback");
    assert_eq!(project.rows("stated"), "1000");
}

/// Incremental models: the first run creates the table, later runs add rows (append, or
/// delete+insert on unique_key), --full-refresh rebuilds.
#[test]
fn incremental_models_add_rows_and_full_refresh_rebuilds() {
    let model = "{{ config(materialized='incremental', unique_key='id') }}\nselect id, label from {{ ref('events') }}\n{% if is_incremental() %}where id >= (select max(id) from {{ this }}){% endif %}";
    let project = TestProject::new(
        "incremental",
        &[
            ("seeds/events.csv", "id,label\n1,a\n2,b\n"),
            ("models/facts.sql", model),
        ],
    );
    assert_ok(&project.tmk(&["build"]));
    assert_eq!(project.rows("facts"), "1|a\n2|b");
    project.write("seeds/events.csv", "id,label\n2,B\n3,c\n");
    assert_ok(&project.tmk(&["build"]));
    assert_eq!(project.rows("facts"), "1|a\n2|B\n3|c");
    assert_ok(&project.tmk(&["build", "--full-refresh"]));
    assert_eq!(project.rows("facts"), "2|B\n3|c");
}

/// `compile` renders SQL without touching the database.
#[test]
fn compile_needs_no_database() {
    let project = TestProject::new("compileonly", DIAMOND);
    project.write(
        "profiles.yml",
        &project
            .profile("demo")
            .replace(&format!("port: {}", common::database().port), "port: 1"),
    );
    let run = project.tmk(&["compile"]);
    assert_ok(&run);
    assert!(run.stdout.contains("Compiled"), "{}", run.stdout);
    assert!(
        project
            .read("target/compiled/demo/models/all_items.sql")
            .contains("\"cheap\"")
    );
}

/// `clean` removes target/.
#[test]
fn clean_removes_the_target_directory() {
    let project = TestProject::new("clean", &[("models/m.sql", "select 1 as id")]);
    assert_ok(&project.tmk(&["compile"]));
    assert!(project.path().join("target").exists());
    let run = project.tmk(&["clean"]);
    assert_ok(&run);
    assert!(!project.path().join("target").exists());
}

/// With no profiles.yml anywhere, tmk creates and starts its own PostgreSQL under .tmk/postgres.
#[test]
fn without_a_profile_tmk_uses_an_embedded_postgres() {
    let project = TestProject::new(
        "embedded",
        &[(
            "models/m.sql",
            "{{ config(materialized='table') }}\nselect 42 as answer",
        )],
    );
    project.remove("profiles.yml");
    let mut command = std::process::Command::new(env!("CARGO_BIN_EXE_tmk"));
    command
        .current_dir(project.path())
        .env("NO_COLOR", "1")
        .env("HOME", project.path());
    let output = command.args(["build"]).output().expect("run tmk");
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(
        stdout.contains("No profiles.yml found: using the embedded PostgreSQL at 127.0.0.1:"),
        "{stdout}"
    );
    assert!(project.path().join(".tmk/postgres").is_dir());
    let debug = std::process::Command::new(env!("CARGO_BIN_EXE_tmk"))
        .current_dir(project.path())
        .env("HOME", project.path())
        .arg("debug")
        .output()
        .expect("run tmk debug");
    let debug_out = String::from_utf8_lossy(&debug.stdout);
    assert!(
        debug_out.contains("target:   embedded") && debug_out.contains("Connection OK."),
        "{debug_out}"
    );
    let _ = tmk::embedded_pg::stop(&project.path().join(".tmk/postgres"));
}

/// Hooks: `on-run-start` / `on-run-end` around the run, `pre-hook` / `post-hook` around a model,
/// rendered with Jinja (`{{ this }}`).
#[test]
fn hooks_run_around_the_run_and_around_each_model() {
    let project = TestProject::new(
        "hooks",
        &[
            (
                "dbt_project.yml",
                "name: demo\nprofile: demo\nconfig-version: 2\non-run-start: \"create table if not exists {{ target.schema }}.audit (event text, at timestamptz default now())\"\non-run-end:\n  - \"insert into {{ target.schema }}.audit (event) values ('run end')\"\nmodels:\n  demo:\n    +post-hook: \"insert into {{ target.schema }}.audit (event) values ('built {{ this.identifier }}')\"\n",
            ),
            (
                "models/m.sql",
                "{{ config(materialized='table', pre_hook=\"insert into \" ~ target.schema ~ \".audit (event) values ('before m')\") }}\nselect 1 as id",
            ),
        ],
    );
    project.query(&format!("create schema {}", project.schema));
    let run = project.tmk(&["run"]);
    assert_ok(&run);
    assert_eq!(
        project.query(&format!(
            "select string_agg(event, ', ' order by at, event) from {}.audit",
            project.schema
        )),
        "before m, built m, run end"
    );
    assert!(
        project
            .read("target/run/demo/models/m.sql")
            .contains("values ('built m')")
    );
}

/// Generic tests named with 64 or more characters keep their full name, as in dbt (output,
/// selection); the name cut to 30 characters plus an md5 is their alias and compiled file.
#[test]
fn long_generic_test_names_keep_the_full_name_and_use_a_short_alias() {
    let project = TestProject::new(
        "longnames",
        &[
            ("models/m.sql", "select 'placed' as status"),
            (
                "models/schema.yml",
                "version: 2\nmodels:\n  - name: m\n    columns:\n      - name: status\n        data_tests:\n          - accepted_values:\n              values: [placed, shipped, completed, return_pending, returned]\n",
            ),
        ],
    );
    let full = "accepted_values_m_status__placed__shipped__completed__return_pending__returned";
    let run = project.tmk(&["build"]);
    assert_ok(&run);
    assert!(
        run.stdout.contains(&format!("PASS  test {full}")),
        "{}",
        run.stdout
    );
    let listed = project.tmk(&["ls", "-s", full, "-o", "name"]);
    assert_eq!(listed.stdout, format!("{full}\n"));
    let files: Vec<String> = std::fs::read_dir(project.path().join("target/compiled/demo/models/schema.yml"))
        .expect("compiled tests")
        .map(|entry| entry.expect("entry").file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(files.len(), 1);
    assert!(
        files[0].starts_with("accepted_values_m_") && files[0].len() == "accepted_values_m_".len() + 32 + 4,
        "{files:?}"
    );
}

/// A source's and its table's own `tags:` are the table's tags (with its config's), as in dbt:
/// `tag:` selects it (`ls -o name` prints dbt's search name, `source.table`) and manifest.json
/// lists them.
#[test]
fn source_and_table_tags_select_the_source_table() {
    let project = TestProject::new(
        "source_tags",
        &[(
            "models/sources.yml",
            "version: 2\nsources:\n  - name: raw\n    tags: [landing]\n    tables:\n      - name: users\n        tags: [pii]\n        config: {tags: [nightly]}\n      - name: events\n",
        )],
    );
    for tag in ["landing", "pii", "nightly"] {
        let listed = project.tmk(&["ls", "-s", &format!("tag:{tag}"), "-o", "name"]);
        assert_ok(&listed);
        let expected = if tag == "landing" {
            "raw.events\nraw.users\n"
        } else {
            "raw.users\n"
        };
        assert_eq!(listed.stdout, expected, "tag:{tag}");
    }
    assert_ok(&project.tmk(&["compile"]));
    let manifest: serde_json::Value =
        serde_json::from_str(&project.read("target/manifest.json")).expect("manifest.json");
    let mut tags: Vec<&str> = manifest["sources"]["source.demo.raw.users"]["tags"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(serde_json::Value::as_str)
        .collect();
    tags.sort_unstable();
    assert_eq!(tags, ["landing", "nightly", "pii"]);
}

/// Regression: rebuilding in parallel several tables that share dependent views deadlocked
/// (each swap locked the shared view and waited for the other's table), or failed reading a
/// view another swap was recreating. Swaps now take turns; building stays parallel.
#[test]
fn rebuilding_tables_that_share_dependent_views_in_parallel_does_not_deadlock() {
    let mut files: Vec<(String, String)> = (0..6)
        .map(|index| {
            (
                format!("models/t{index}.sql"),
                format!("{{{{ config(materialized='table') }}}}\nselect {index} as id"),
            )
        })
        .collect();
    let union: Vec<String> = (0..6)
        .map(|index| format!("select id from {{{{ ref('t{index}') }}}}"))
        .collect();
    files.push(("models/all_ids.sql".to_string(), union.join("\nunion all\n")));
    let files: Vec<(&str, &str)> = files
        .iter()
        .map(|(path, text)| (path.as_str(), text.as_str()))
        .collect();
    let project = TestProject::new("sharedviews", &files);
    assert_ok(&project.tmk(&["run"]));
    let schema = &project.schema;
    let joins: Vec<String> = (1..6)
        .map(|index| format!("join {schema}.t{index} on true"))
        .collect();
    project.query(&format!(
        "create view {schema}.report as select count(*) as n from {schema}.t0 {}",
        joins.join(" ")
    ));
    for _ in 0..3 {
        let run = project.tmk(&["run", "--threads", "6"]);
        assert_ok(&run);
    }
    assert_eq!(project.query(&format!("select n from {schema}.report")), "1");
    assert_eq!(
        project.query(&format!("select count(*) from {schema}.all_ids")),
        "6"
    );
}

/// Regression: a `fail_calc` that is not a bigint (a sum of numerics) was read as 0 failures,
/// so the test passed whatever the data.
#[test]
fn a_fail_calc_of_any_number_type_decides_the_test() {
    let project = TestProject::new(
        "failcalc",
        &[
            ("seeds/payments.csv", "id,amount\n1,60.5\n2,50\n"),
            (
                "tests/big_payments.sql",
                "{{ config(fail_calc='sum(amount)', warn_if='> 50', error_if='> 100') }}\nselect amount from {{ ref('payments') }}",
            ),
        ],
    );
    let run = project.tmk(&["build"]);
    assert_eq!(run.code, 1, "{}", run.stdout);
    assert!(run.stdout.contains("FAIL  test big_payments"), "{}", run.stdout);
    assert!(
        run.stdout
            .contains("Got 110.5 results, configured to fail if > 100"),
        "{}",
        run.stdout
    );
}

/// Regression: a model still reading (through a view tmk does not manage) a relation that
/// another model was swapping could deadlock with that swap, because it kept its read locks
/// while waiting for its own turn to swap. Building now commits before the swap waits.
#[test]
fn a_model_reading_a_relation_being_swapped_does_not_deadlock() {
    let project = TestProject::new(
        "swapread",
        &[(
            "models/r.sql",
            "{{ config(materialized='table') }}\nselect 1 as id",
        )],
    );
    assert_ok(&project.tmk(&["run"]));
    let schema = project.schema.clone();
    project.query(&format!("create view {schema}.u as select id from {schema}.r"));
    project.write(
        "models/m.sql",
        &format!("{{{{ config(materialized='table') }}}}\nselect u.id from {schema}.u cross join lateral (select pg_sleep(1)) as slept"),
    );
    assert_ok(&project.tmk(&["run"]));
    let run = project.tmk(&["run", "--threads", "2"]);
    assert_ok(&run);
    assert_eq!(project.rows("m"), "1");
    assert_eq!(project.query(&format!("select id from {schema}.u")), "1");
}

/// Hooks run inside the model's transactions, as in dbt: a failing post-hook undoes the
/// rebuild, so the old table stays.
#[test]
fn a_failing_post_hook_leaves_the_old_relation() {
    let project = TestProject::new(
        "posthookfail",
        &[(
            "models/m.sql",
            "{{ config(materialized='table') }}\nselect 1 as id",
        )],
    );
    assert_ok(&project.tmk(&["run"]));
    project.write(
        "models/m.sql",
        "{{ config(materialized='table', post_hook='select 1 / 0') }}\nselect 2 as id",
    );
    let run = project.tmk(&["run"]);
    assert_eq!(run.code, 1, "{}", run.stdout);
    assert!(run.stdout.contains("division by zero"), "{}", run.stdout);
    assert_eq!(project.rows("m"), "1");
}

/// As dbt: rerunning a seed whose columns are unchanged truncates and reloads the same table
/// (it keeps its comment, grants and identity); a seed whose columns changed is replaced.
#[test]
fn seed_reruns_truncate_and_reload_unless_the_columns_change() {
    let project = TestProject::new("seedreload", &[("seeds/people.csv", "id,name\n1,Ann\n")]);
    assert_ok(&project.tmk(&["seed"]));
    let schema = project.schema.clone();
    let oid = || project.query(&format!("select '{schema}.people'::regclass::oid"));
    project.query(&format!("comment on table {schema}.people is 'from the seed'"));
    let first = oid();
    project.write("seeds/people.csv", "id,name\n2,Bo\n3,Cy\n");
    assert_ok(&project.tmk(&["seed"]));
    assert_eq!(project.rows("people"), "2|Bo\n3|Cy");
    assert_eq!(oid(), first, "same columns: the same table is reloaded");
    assert_eq!(
        project.query(&format!("select obj_description('{schema}.people'::regclass)")),
        "from the seed"
    );
    project.write("seeds/people.csv", "id,name,age\n4,Di,40\n");
    assert_ok(&project.tmk(&["seed"]));
    assert_eq!(project.rows("people"), "4|Di|40");
    assert_ne!(oid(), first, "changed columns: the table is replaced");

    // Another table's foreign key to the seed goes for the truncate (PostgreSQL refuses to
    // truncate a referenced table) and comes back, not validated, against the reloaded rows.
    project.query(&format!(
        "alter table {schema}.people add primary key (id);
         create table {schema}.visits (person_id int constraint visits_person references {schema}.people (id));
         insert into {schema}.visits values (4)"
    ));
    let referenced = oid();
    project.write("seeds/people.csv", "id,name,age\n4,Di,41\n5,Ed,50\n");
    assert_ok(&project.tmk(&["seed"]));
    assert_eq!(project.rows("people"), "4|Di|41\n5|Ed|50");
    assert_eq!(oid(), referenced, "same columns: reloaded");
    assert_eq!(
        project.query(&format!(
            "select confrelid::regclass::text = '{schema}.people', convalidated \
             from pg_constraint where conname = 'visits_person'"
        )),
        "t|f"
    );
}

/// Readers see the old or the new relation, never none and never a half-built one: a reader
/// querying in a loop while tmk rebuilds a table and a view several times never fails and
/// always sees a whole table.
#[test]
fn readers_never_see_a_missing_or_half_built_relation_during_rebuilds() {
    let model = "{{ config(materialized='table') }}\nselect generate_series(1, 50000) as id";
    let project = TestProject::new(
        "atomic",
        &[
            ("models/big.sql", model),
            (
                "models/over_big.sql",
                "select count(*) as n from {{ ref('big') }}",
            ),
        ],
    );
    assert_ok(&project.tmk(&["run"]));
    let schema = project.schema.clone();
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let reader = {
        let stop = stop.clone();
        std::thread::spawn(move || {
            let mut seen = Vec::new();
            while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                // psql panics (fails the test) on any error, e.g. a relation that does not exist.
                seen.push(common::psql(&format!(
                    "select (select count(*) from {schema}.big), (select n from {schema}.over_big)"
                )));
            }
            seen
        })
    };
    for _ in 0..3 {
        assert_ok(&project.tmk(&["run"]));
    }
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    let seen = reader.join().expect("the reader never saw an error");
    assert!(
        seen.len() >= 3,
        "the reader must overlap the rebuilds ({} reads)",
        seen.len()
    );
    assert!(
        seen.iter().all(|row| row == "50000|50000"),
        "{:?}",
        seen.iter().find(|row| *row != "50000|50000")
    );
}

/// The merge strategy (PostgreSQL 15 MERGE) updates matched rows and inserts new ones;
/// `merge_exclude_columns` keeps columns as first written.
#[test]
fn merge_incremental_updates_matched_rows_and_inserts_new_ones() {
    let model = "{{ config(materialized='incremental', incremental_strategy='merge', unique_key='id', merge_exclude_columns=['first_seen']) }}\nselect id, label, '{{ var('seen') }}' as first_seen from {{ ref('events') }}";
    let project = TestProject::new(
        "merge",
        &[
            ("seeds/events.csv", "id,label\n1,a\n2,b\n"),
            ("models/facts.sql", model),
        ],
    );
    assert_ok(&project.tmk(&["build", "--vars", "{seen: monday}"]));
    project.write("seeds/events.csv", "id,label\n2,B\n3,c\n");
    let run = project.tmk(&["build", "--vars", "{seen: tuesday}"]);
    assert_ok(&run);
    assert!(run.stdout.contains("[MERGE 2 in"), "{}", run.stdout);
    assert_eq!(project.rows("facts"), "1|a|monday\n2|B|monday\n3|c|tuesday");
}

/// `incremental_predicates` narrow which existing rows delete+insert may replace.
#[test]
fn incremental_predicates_limit_the_rows_replaced() {
    let model = "{{ config(materialized='incremental', unique_key='id', incremental_predicates=['DBT_INTERNAL_DEST.id >= 2']) }}\nselect id, label from {{ ref('events') }}";
    let project = TestProject::new(
        "predicates",
        &[
            ("seeds/events.csv", "id,label\n1,a\n2,b\n"),
            ("models/facts.sql", model),
        ],
    );
    assert_ok(&project.tmk(&["build"]));
    project.write("seeds/events.csv", "id,label\n1,A\n2,B\n");
    assert_ok(&project.tmk(&["build"]));
    assert_eq!(project.rows("facts"), "1|A\n1|a\n2|B");
}

/// One run per target at a time: a second run waits for the first, and after --lock-timeout
/// fails naming who holds the target and since when; the first run is unaffected.
#[test]
fn a_second_run_on_the_same_target_waits_then_names_the_holder() {
    let project = TestProject::new(
        "runlock",
        &[(
            "models/slow.sql",
            "{{ config(materialized='table') }}\nselect 1 as id from (select pg_sleep(3)) as slept",
        )],
    );
    let (first, second) = std::thread::scope(|scope| {
        let first = scope.spawn(|| project.tmk(&["run"]));
        // Wait until the first run is building (it holds the lock by then), however slow the machine.
        let building = format!(
            "select count(*) from pg_stat_activity where query like '%pg_sleep(3)%' and query like '%{}%' and pid <> pg_backend_pid()",
            project.schema
        );
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
        while project.query(&building) == "0" && std::time::Instant::now() < deadline {
            std::thread::sleep(std::time::Duration::from_millis(50));
        }
        let second = project.tmk(&["run", "--lock-timeout", "1"]);
        (first.join().expect("first run"), second)
    });
    assert_ok(&first);
    assert_eq!(second.code, 2, "{}\n{}", second.stdout, second.stderr);
    assert!(
        second.stderr.contains("another run is changing target `dev`"),
        "{}",
        second.stderr
    );
    assert!(
        second.stderr.contains("held by `tmk (pid") && second.stderr.contains(" UTC"),
        "{}",
        second.stderr
    );
    assert_ok(&project.tmk(&["run"]));
}

/// A materialized view is created, refreshed while its query is unchanged (new source rows show
/// up), replaced when its query changes — keeping a view that reads it — and replaced by
/// `--full-refresh`.
#[test]
fn materialized_views_refresh_and_are_replaced_when_their_query_changes() {
    let project = TestProject::new(
        "matview",
        &[
            ("seeds/raw_items.csv", "id,price\n1,1.50\n2,2.25\n"),
            (
                "models/item_totals.sql",
                "{{ config(materialized='materialized_view') }}\nselect count(*) as items from {{ ref('raw_items') }}\n",
            ),
        ],
    );
    assert_ok(&project.tmk(&["build"]));
    let schema = project.schema.clone();
    assert_eq!(
        project.query(&format!(
            "select relkind from pg_class where oid = '{schema}.item_totals'::regclass"
        )),
        "m"
    );
    assert_eq!(project.query(&format!("select * from {schema}.item_totals")), "2");
    project.query(&format!("insert into {schema}.raw_items values (3, 3.00); create view {schema}.report as select items from {schema}.item_totals"));
    let refreshed = project.tmk(&["run"]);
    assert_ok(&refreshed);
    assert!(refreshed.stdout.contains("[REFRESH in"), "{}", refreshed.stdout);
    assert_eq!(project.query(&format!("select * from {schema}.item_totals")), "3");
    project.write(
        "models/item_totals.sql",
        "{{ config(materialized='materialized_view') }}\nselect count(*) as items, sum(price) as total from {{ ref('raw_items') }}\n",
    );
    let replaced = project.tmk(&["run"]);
    assert_ok(&replaced);
    assert!(replaced.stdout.contains("[SELECT 1 in"), "{}", replaced.stdout);
    assert_eq!(
        project.query(&format!("select * from {schema}.item_totals")),
        "3|6.75"
    );
    assert_eq!(project.rows("report"), "3");
    let full = project.tmk(&["run", "--full-refresh"]);
    assert_ok(&full);
    assert!(full.stdout.contains("[SELECT 1 in"), "{}", full.stdout);
    assert!(!project.exists("item_totals__tmk_probe"));
}

/// `tmk show` prints the first rows of a model's query as dbt show does, without building it;
/// selecting no model is a usage error.
#[test]
fn show_prints_the_first_rows_of_a_models_query() {
    let project = TestProject::new("show", DIAMOND);
    assert_ok(&project.tmk(&["build", "-s", "+stg_items"]));
    let run = project.tmk(&["show", "-s", "dear", "cheap", "--limit", "1"]);
    assert_ok(&run);
    assert_eq!(
        run.stdout,
        "Previewing node 'cheap':\n| id | name  | price |\n| -- | ----- | ----- |\n|  1 | apple |   1.5 |\nPreviewing node 'dear':\n| id | name | price |\n| -- | ---- | ----- |\n|  2 | pear |  2.25 |\n"
    );
    assert!(!project.exists("dear"));
    let nothing = project.tmk(&["show", "-s", "tag:none"]);
    common::assert_exit(&nothing, 2);
    assert!(
        nothing.stderr.contains("`tmk show` selected no model"),
        "{}",
        nothing.stderr
    );
}
