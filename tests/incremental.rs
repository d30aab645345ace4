//! Incremental models beyond the strategies: `on_schema_change` (fail, append_new_columns,
//! sync_all_columns with type changes and dependent views), watermarks kept in
//! `tmk_meta.load_watermarks`, and microbatch, against a real PostgreSQL.

#![allow(clippy::disallowed_methods)]

mod common;

use common::{TestProject, assert_ok};

/// An incremental model over a source table `events` in the test's schema, with `config` and
/// `columns` selected; the source has id, kind, amount (integer) and at.
fn schema_change_project(name: &str, config: &str, columns: &str) -> TestProject {
    let project = TestProject::new(name, &[]);
    project.query(&format!(
        "create schema {0}; create table {0}.events (id int, kind text, amount int, at timestamp); \
         insert into {0}.events values (1, 'a', 10, '2024-01-01'), (2, 'b', 20, '2024-01-02')",
        project.schema
    ));
    project.write(
        "models/sources.yml",
        &format!(
            "version: 2\nsources:\n  - name: app\n    schema: {}\n    tables:\n      - name: events\n",
            project.schema
        ),
    );
    write_model(&project, config, columns);
    project
}

fn write_model(project: &TestProject, config: &str, columns: &str) {
    project.write(
        "models/facts.sql",
        &format!(
            "{{{{ config(materialized='incremental', unique_key='id', {config}) }}}}\nselect {columns} from {{{{ source('app', 'events') }}}}\n{{% if is_incremental() %}}where at > (select max(at) from {{{{ this }}}}){{% endif %}}\n"
        ),
    );
}

impl Sql for TestProject {
    fn sql(&self, sql: &str) -> String {
        self.query(&format!("set search_path to {}; {sql}", self.schema))
    }
}

trait Sql {
    fn sql(&self, sql: &str) -> String;
}

fn column_types(project: &TestProject, relation: &str) -> String {
    project.sql(&format!(
        "select string_agg(attname || ' ' || format_type(atttypid, atttypmod), ', ' order by attnum) from pg_attribute \
         where attrelid = '{relation}'::regclass and attnum > 0 and not attisdropped"
    ))
}

/// `fail` stops the model naming each difference and leaves the table as it was.
#[test]
fn on_schema_change_fail_names_the_differences_and_changes_nothing() {
    let project = schema_change_project("osc_fail", "on_schema_change='fail'", "id, kind, amount, at");
    assert_ok(&project.tmk(&["run"]));
    project.sql("insert into events values (3, 'c', 30, '2024-01-03')");
    write_model(
        &project,
        "on_schema_change='fail'",
        "id, amount::numeric(10,2) as amount, at, 'x' as label",
    );
    let run = project.tmk(&["run"]);
    assert_eq!(run.code, 1, "{}", run.stdout);
    insta::assert_snapshot!("on_schema_change_fail", project.normalize(&run.stdout));
    assert_eq!(
        column_types(&project, "facts"),
        "id integer, kind text, amount integer, at timestamp without time zone"
    );
    assert_eq!(project.sql("select count(*) from facts"), "2");
}

/// `append_new_columns` adds the model's new column (old rows get NULL) and keeps a column the
/// model no longer returns (new rows get NULL there).
#[test]
fn on_schema_change_append_new_columns_adds_and_keeps() {
    let project = schema_change_project(
        "osc_append",
        "on_schema_change='append_new_columns'",
        "id, kind, amount, at",
    );
    assert_ok(&project.tmk(&["run"]));
    project.sql("insert into events values (3, 'c', 30, '2024-01-03')");
    write_model(
        &project,
        "on_schema_change='append_new_columns'",
        "id, amount, at, upper(kind) as label",
    );
    assert_ok(&project.tmk(&["run"]));
    assert_eq!(
        column_types(&project, "facts"),
        "id integer, kind text, amount integer, at timestamp without time zone, label text"
    );
    assert_eq!(
        project.sql("select id, coalesce(kind, '-'), amount, coalesce(label, '-') from facts order by id"),
        "1|a|10|-\n2|b|20|-\n3|-|30|C"
    );
}

/// `sync_all_columns` adds, drops and retypes columns — even under a view that reads the
/// table, which dbt cannot do — and the view is back afterwards, reading the new type.
#[test]
fn on_schema_change_sync_all_columns_changes_types_under_a_dependent_view() {
    let project = schema_change_project(
        "osc_sync",
        "on_schema_change='sync_all_columns'",
        "id, kind, amount, at",
    );
    assert_ok(&project.tmk(&["run"]));
    project.sql("create view report as select id, amount from facts; grant select on report to public");
    project.sql("insert into events values (3, 'c', 30, '2024-01-03')");
    write_model(
        &project,
        "on_schema_change='sync_all_columns'",
        "id, (amount / 4.0)::numeric(10,2) as amount, at, upper(kind) as label",
    );
    let run = project.tmk(&["run"]);
    assert_ok(&run);
    assert!(
        project
            .read("target/run_results.json")
            .contains("kept dependent views"),
        "the result should name the recreated view"
    );
    assert_eq!(
        column_types(&project, "facts"),
        "id integer, amount numeric(10,2), at timestamp without time zone, label text"
    );
    assert_eq!(
        project.sql("select id, amount, coalesce(label, '-') from facts order by id"),
        "1|10.00|-\n2|20.00|-\n3|7.50|C"
    );
    assert_eq!(project.sql("select sum(amount) from report"), "37.50");
    assert_eq!(
        column_types(&project, "report"),
        "id integer, amount numeric(10,2)"
    );
    assert_eq!(
        project.sql("select has_table_privilege('public', 'report', 'select')"),
        "t"
    );
}

/// A type the existing rows cannot take fails with a hint, and nothing changes.
#[test]
fn on_schema_change_sync_to_an_impossible_type_fails_and_changes_nothing() {
    let project = schema_change_project(
        "osc_sync_bad",
        "on_schema_change='sync_all_columns'",
        "id, kind, amount, at",
    );
    assert_ok(&project.tmk(&["run"]));
    project.sql("insert into events values (3, 'c', 30, '2024-01-03')");
    write_model(
        &project,
        "on_schema_change='sync_all_columns'",
        "id, amount as kind, amount, at",
    );
    let run = project.tmk(&["run"]);
    assert_eq!(run.code, 1, "{}", run.stdout);
    assert!(
        run.stdout.contains("cannot all be converted to integer"),
        "{}",
        run.stdout
    );
    assert_eq!(
        column_types(&project, "facts"),
        "id integer, kind text, amount integer, at timestamp without time zone"
    );
    assert_eq!(project.sql("select count(*) from facts"), "2");
}

const WATERMARK_MODEL: &str = "{{ config(materialized='incremental', unique_key='id', incremental_strategy='merge', watermark='at') }}\nselect id, kind, amount, at from {{ source('app', 'events') }}\n{% if is_incremental() %}where at > {{ watermark() }}{% endif %}\n";

/// The watermark stored for this test's model: column, value, type.
fn stored_watermark(project: &TestProject) -> String {
    project.query(&format!(
        "select column_name || '|' || value || '|' || data_type from tmk_meta.load_watermarks where relation = '\"postgres\".\"{}\".\"facts\"'",
        project.schema
    ))
}

/// The first build stores the greatest `at`; the next run reads only newer rows through
/// `{{ watermark() }}` and moves the mark with them; a rerun with nothing new changes nothing.
#[test]
fn watermark_moves_with_the_committed_rows() {
    let project = schema_change_project("wm_moves", "", "id");
    project.write("models/facts.sql", WATERMARK_MODEL);
    assert_ok(&project.tmk(&["run"]));
    assert_eq!(
        stored_watermark(&project),
        "at|2024-01-02 00:00:00|timestamp without time zone"
    );
    project.sql("insert into events values (3, 'c', 30, '2024-01-03'), (4, 'd', 40, '2024-01-04')");
    let run = project.tmk(&["run"]);
    assert_ok(&run);
    assert!(run.stdout.contains("MERGE 2"), "{}", run.stdout);
    assert!(
        project
            .read("target/compiled/demo/models/facts.sql")
            .contains("where at > cast('2024-01-02 00:00:00' as timestamp without time zone)")
    );
    assert_eq!(
        stored_watermark(&project),
        "at|2024-01-04 00:00:00|timestamp without time zone"
    );
    let table = project.sql("select * from facts order by id");
    let again = project.tmk(&["run"]);
    assert_ok(&again);
    assert!(again.stdout.contains("MERGE 0"), "{}", again.stdout);
    assert_eq!(project.sql("select * from facts order by id"), table);
    assert_eq!(
        stored_watermark(&project),
        "at|2024-01-04 00:00:00|timestamp without time zone"
    );
}

/// A run that fails after the rows are written (here a post-hook) rolls back rows and watermark
/// together; the next good run loads the same rows, giving the table an uninterrupted run gives.
#[test]
fn a_failed_run_leaves_the_watermark_with_the_data() {
    let project = schema_change_project("wm_fail", "", "id");
    project.write("models/facts.sql", WATERMARK_MODEL);
    assert_ok(&project.tmk(&["run"]));
    project.sql("insert into events values (3, 'c', 30, '2024-01-03')");
    project.write(
        "models/facts.sql",
        &WATERMARK_MODEL.replace("watermark='at'", "watermark='at', post_hook='select 1 / 0'"),
    );
    let failed = project.tmk(&["run"]);
    assert_eq!(failed.code, 1, "{}", failed.stdout);
    assert_eq!(
        stored_watermark(&project),
        "at|2024-01-02 00:00:00|timestamp without time zone"
    );
    assert_eq!(project.sql("select count(*) from facts"), "2");
    project.write("models/facts.sql", WATERMARK_MODEL);
    assert_ok(&project.tmk(&["run"]));
    assert_eq!(
        stored_watermark(&project),
        "at|2024-01-03 00:00:00|timestamp without time zone"
    );
    assert_eq!(project.sql("select id from facts order by id"), "1\n2\n3");
}

/// `--full-refresh` rebuilds the table and sets the mark from it; a watermark added to an
/// existing table starts from the table's greatest value.
#[test]
fn full_refresh_resets_the_watermark_and_a_new_one_starts_from_the_table() {
    let project = schema_change_project("wm_refresh", "", "id, kind, amount, at");
    project.write(
        "models/facts.sql",
        &WATERMARK_MODEL.replace(", watermark='at'", ""),
    );
    assert_ok(&project.tmk(&["run"]));
    project.sql("insert into events values (3, 'c', 30, '2024-01-03')");
    project.write("models/facts.sql", WATERMARK_MODEL);
    let run = project.tmk(&["run"]);
    assert_ok(&run);
    assert!(
        project
            .read("target/compiled/demo/models/facts.sql")
            .contains("where at > cast('2024-01-02 00:00:00' as timestamp without time zone)")
    );
    assert_eq!(
        stored_watermark(&project),
        "at|2024-01-03 00:00:00|timestamp without time zone"
    );
    project.sql("delete from events where id = 3");
    assert_ok(&project.tmk(&["run", "--full-refresh"]));
    assert_eq!(
        stored_watermark(&project),
        "at|2024-01-02 00:00:00|timestamp without time zone"
    );
    assert_eq!(project.sql("select count(*) from facts"), "2");
}

/// `watermark()` in a model without `watermark:` is a located compile error.
#[test]
fn watermark_without_a_column_is_a_located_error() {
    let project = schema_change_project("wm_error", "", "id");
    project.write(
        "models/facts.sql",
        "{{ config(materialized='incremental') }}\nselect * from {{ source('app', 'events') }}\nwhere at > {{ watermark() }}\n",
    );
    let run = project.tmk(&["run"]);
    assert_eq!(run.code, 1, "{}{}", run.stdout, run.stderr);
    insta::assert_snapshot!("watermark_without_a_column", project.normalize(&run.stdout));
    assert!(!project.exists("facts"));
}

/// A microbatch model over `events` (which sets `event_time`), one batch per day from 2024-01-01.
fn microbatch_project(name: &str) -> TestProject {
    let project = schema_change_project(name, "", "id");
    project.write(
        "models/sources.yml",
        &format!(
            "version: 2\nsources:\n  - name: app\n    schema: {}\n    tables:\n      - name: events\n        config:\n          event_time: at\n",
            project.schema
        ),
    );
    project.write(
        "models/facts.sql",
        "{{ config(materialized='incremental', incremental_strategy='microbatch', event_time='at', batch_size='day', begin='2024-01-01') }}\nselect id, kind, amount * 10 as amount, at from {{ source('app', 'events') }}\n",
    );
    project
}

/// The first build runs one batch per day from `begin` up to `--event-time-end`, each reading
/// only its day of the source; a later run over a window replaces exactly that window's rows.
#[test]
fn microbatch_builds_and_replaces_batches_by_event_time() {
    let project = microbatch_project("microbatch");
    project
        .sql("insert into events values (3, 'c', 30, '2024-01-03 12:00'), (4, 'd', 40, '2024-01-04 23:59')");
    let run = project.tmk(&["run", "--event-time-end", "2024-01-05"]);
    assert_ok(&run);
    assert!(run.stdout.contains("INSERT 4"), "{}", run.stdout);
    let statements = project.read("target/run/demo/models/facts.sql");
    assert!(
        statements.contains("where at >= '2024-01-03 00:00:00+00:00' and at < '2024-01-04 00:00:00+00:00') _dbt_et_filter_subq_events"),
        "{statements}"
    );
    assert_eq!(statements.matches("delete from").count(), 3, "{statements}");
    assert_eq!(
        project.sql("select id, amount from facts order by id"),
        "1|100\n2|200\n3|300\n4|400"
    );
    // Late changes: day 1 and day 3 change in the source; only the chosen window is replaced.
    project.sql(
        "update events set amount = amount + 1; insert into events values (5, 'e', 50, '2024-01-03 08:00')",
    );
    let again = project.tmk(&[
        "run",
        "--event-time-start",
        "2024-01-02",
        "--event-time-end",
        "2024-01-04",
    ]);
    assert_ok(&again);
    assert_eq!(
        project.sql("select id, amount from facts order by id"),
        "1|100\n2|210\n3|310\n4|400\n5|500"
    );
    // The same window again gives the same table.
    assert_ok(&project.tmk(&[
        "run",
        "--event-time-start",
        "2024-01-02",
        "--event-time-end",
        "2024-01-04",
    ]));
    assert_eq!(
        project.sql("select id, amount from facts order by id"),
        "1|100\n2|210\n3|310\n4|400\n5|500"
    );
}

/// A microbatch model without `begin` is a located error before anything runs.
#[test]
fn microbatch_without_begin_is_a_located_error() {
    let project = microbatch_project("microbatch_error");
    project.write(
        "models/facts.sql",
        "{{ config(materialized='incremental', incremental_strategy='microbatch', event_time='at', batch_size='day') }}\nselect * from {{ source('app', 'events') }}\n",
    );
    let run = project.tmk(&["run"]);
    assert_eq!(run.code, 2, "{}{}", run.stdout, run.stderr);
    insta::assert_snapshot!("microbatch_without_begin", project.normalize(&run.stderr));
    assert!(!project.exists("facts"));
}
