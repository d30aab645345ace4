//! Snapshots (SCD type 2) against a real PostgreSQL: `{% snapshot %}` blocks and YAML snapshots,
//! timestamp and check strategies, composite keys, hard deletes (ignore, invalidate,
//! new_record), new source columns, dbt's meta columns and values, `tmk snapshot` and `tmk
//! build` in DAG order, and the errors a person gets for a bad snapshot.

#![allow(clippy::disallowed_methods)]

mod common;

use common::{TestProject, assert_ok};

/// A project whose source `app.customers` is a table in the test's own schema.
fn project_with_source(name: &str, files: &[(&str, &str)]) -> TestProject {
    let project = TestProject::new(name, files);
    project.write(
        "models/sources.yml",
        &format!(
            "version: 2\nsources:\n  - name: app\n    schema: {}\n    tables:\n      - name: customers\n",
            project.schema
        ),
    );
    project.query(&format!(
        "create schema {0}; create table {0}.customers (id int, name text, city text, updated_at timestamp); \
         insert into {0}.customers values (1, 'Ann', 'Kyiv', '2024-01-01 10:00'), (2, 'Bob', 'Lviv', '2024-01-01 10:00'), (3, 'Cid', 'Odesa', '2024-01-01 10:00')",
        project.schema
    ));
    project
}

const TIMESTAMP_SNAPSHOT: &str = "{% snapshot customers_history %}\n{{ config(unique_key='id', strategy='timestamp', updated_at='updated_at') }}\nselect * from {{ source('app', 'customers') }}\n{% endsnapshot %}\n";

/// The first run copies the rows with dbt's meta columns; a change closes the old version at the
/// new one's `updated_at`; a new key is added; an unchanged rerun adds nothing; a deleted key
/// stays current (hard_deletes: ignore).
#[test]
fn timestamp_snapshot_keeps_the_history_of_changed_rows() {
    let project = project_with_source("snap_ts", &[("snapshots/customers.sql", TIMESTAMP_SNAPSHOT)]);
    let run = project.tmk(&["snapshot"]);
    assert_ok(&run);
    assert!(
        run.stdout.contains("snapshot customers_history"),
        "{}",
        run.stdout
    );
    let history = "select id, name, dbt_valid_from, dbt_valid_to, dbt_updated_at from customers_history order by id, dbt_valid_from";
    let query = |sql: &str| project.query(&format!("set search_path to {}; {sql}", project.schema));
    assert_eq!(
        query(history),
        "1|Ann|2024-01-01 10:00:00||2024-01-01 10:00:00\n2|Bob|2024-01-01 10:00:00||2024-01-01 10:00:00\n3|Cid|2024-01-01 10:00:00||2024-01-01 10:00:00"
    );
    // dbt's dbt_scd_id: md5 of the key and updated_at, so SQL written for dbt agrees.
    assert_eq!(
        query(
            "select count(*) from customers_history where dbt_scd_id = md5(coalesce(cast(id as varchar ), '') || '|' || coalesce(cast(updated_at as varchar ), ''))"
        ),
        "3"
    );
    assert_eq!(
        query(
            "select format_type(atttypid, atttypmod) from pg_attribute where attrelid = 'customers_history'::regclass and attname in ('dbt_scd_id', 'dbt_valid_to') order by attname"
        ),
        "text\ntimestamp without time zone"
    );
    query(
        "update customers set name = 'Bobby', updated_at = '2024-02-01 09:00' where id = 2; \
         insert into customers values (4, 'Dee', 'Dnipro', '2024-02-01 09:00'); delete from customers where id = 3",
    );
    assert_ok(&project.tmk(&["snapshot"]));
    let expected = "1|Ann|2024-01-01 10:00:00||2024-01-01 10:00:00\n\
                    2|Bob|2024-01-01 10:00:00|2024-02-01 09:00:00|2024-01-01 10:00:00\n\
                    2|Bobby|2024-02-01 09:00:00||2024-02-01 09:00:00\n\
                    3|Cid|2024-01-01 10:00:00||2024-01-01 10:00:00\n\
                    4|Dee|2024-02-01 09:00:00||2024-02-01 09:00:00";
    assert_eq!(query(history), expected);
    // The same source again: nothing changes, however often it runs.
    assert_ok(&project.tmk(&["snapshot"]));
    assert_ok(&project.tmk(&["snapshot"]));
    assert_eq!(query(history), expected);
}

/// Check strategy on a composite key with listed columns: only a change in a checked column
/// makes a version; versions are stamped with the run's time; `invalidate` closes deleted keys.
#[test]
fn check_snapshot_on_a_composite_key_versions_only_checked_columns_and_invalidates_deletes() {
    let snapshot = "{% snapshot customers_check %}\n{{ config(unique_key=['id', 'city'], strategy='check', check_cols=['name'], hard_deletes='invalidate') }}\nselect id, city, name, updated_at from {{ source('app', 'customers') }}\n{% endsnapshot %}\n";
    let project = project_with_source("snap_check", &[("snapshots/check.sql", snapshot)]);
    assert_ok(&project.tmk(&["snapshot"]));
    let query = |sql: &str| project.query(&format!("set search_path to {}; {sql}", project.schema));
    query(
        "update customers set updated_at = '2030-01-01' where id = 1; \
         update customers set name = 'Bobby' where id = 2; delete from customers where id = 3",
    );
    assert_ok(&project.tmk(&["snapshot"]));
    assert_eq!(
        query(
            "select id, name, dbt_valid_to is null as current, dbt_valid_from = dbt_updated_at from customers_check order by id, dbt_valid_from"
        ),
        "1|Ann|t|t\n2|Bob|f|t\n2|Bobby|t|t\n3|Cid|f|t"
    );
    // Versions carry the run's time, and a replaced version ends where its successor begins.
    assert_eq!(
        query(
            "select count(*) from customers_check old join customers_check new on old.id = new.id and old.dbt_valid_to = new.dbt_valid_from where old.id = 2"
        ),
        "1"
    );
    assert_eq!(
        query("select dbt_valid_to > now() - interval '1 hour' from customers_check where id = 3"),
        "t"
    );
}

/// `hard_deletes: new_record` adds a current version marking the deletion, and a key that comes
/// back closes it; `check_cols: all` sees every column, including one added to the source,
/// which is added to the snapshot table.
#[test]
fn new_record_deletes_and_new_source_columns() {
    let snapshot = "{% snapshot customers_all %}\n{{ config(unique_key='id', strategy='check', check_cols='all', hard_deletes='new_record') }}\nselect * from {{ source('app', 'customers') }}\n{% endsnapshot %}\n";
    let project = project_with_source("snap_newrec", &[("snapshots/all.sql", snapshot)]);
    assert_ok(&project.tmk(&["snapshot"]));
    let query = |sql: &str| project.query(&format!("set search_path to {}; {sql}", project.schema));
    let history = "select id, name, coalesce(email, '-'), dbt_is_deleted, dbt_valid_to is null from customers_all order by id, dbt_valid_from, dbt_is_deleted";
    query("delete from customers where id = 3");
    assert_ok(&project.tmk(&["snapshot"]));
    query(
        "insert into customers values (3, 'Cid', 'Odesa', '2024-01-01 10:00'); \
         alter table customers add column email text; update customers set email = 'ann@example.com' where id = 1",
    );
    assert_ok(&project.tmk(&["snapshot"]));
    assert_eq!(
        query(history),
        "1|Ann|-|False|f\n1|Ann|ann@example.com|False|t\n2|Bob|-|False|t\n3|Cid|-|False|f\n3|Cid|-|True|f\n3|Cid|-|False|t"
    );
}

/// A YAML snapshot of a model, renamed meta columns, and a model reading the snapshot: `tmk
/// build` runs model → snapshot → downstream model in DAG order.
#[test]
fn yaml_snapshot_of_a_model_builds_in_dag_order() {
    let project = project_with_source(
        "snap_yaml",
        &[
            (
                "models/current_customers.sql",
                "select id, name, updated_at from {{ source('app', 'customers') }}\n",
            ),
            (
                "snapshots/snapshots.yml",
                "version: 2\nsnapshots:\n  - name: customer_versions\n    relation: ref('current_customers')\n    description: every version of a customer\n    config:\n      unique_key: id\n      strategy: timestamp\n      updated_at: updated_at\n      snapshot_meta_column_names:\n        dbt_valid_from: valid_from\n        dbt_valid_to: valid_to\n",
            ),
            (
                "models/customer_count.sql",
                "{{ config(materialized='table') }}\nselect count(*) as customers from {{ ref('customer_versions') }} where valid_to is null\n",
            ),
        ],
    );
    let run = project.tmk(&["build"]);
    assert_ok(&run);
    let order: Vec<&str> = [
        "view current_customers",
        "snapshot customer_versions",
        "table customer_count",
    ]
    .into_iter()
    .collect();
    let positions: Vec<usize> = order
        .iter()
        .map(|line| {
            run.stdout
                .find(line)
                .unwrap_or_else(|| panic!("{line} missing:\n{}", run.stdout))
        })
        .collect();
    assert!(
        positions.windows(2).all(|pair| pair[0] < pair[1]),
        "{}",
        run.stdout
    );
    assert_eq!(project.rows("customer_count"), "3");
    assert!(
        project
            .read("target/compiled/demo/snapshots/snapshots.yml/customer_versions.sql")
            .contains("current_customers")
    );
    let listed = project.tmk(&["ls", "--resource-type", "snapshot"]);
    assert_eq!(listed.stdout.trim(), "demo.customer_versions");
}

/// A snapshot without `strategy`, an unclosed block, a file with no block, a `relation` on a
/// model: each stops tmk before it touches the database, naming file, line and column.
#[test]
fn bad_snapshots_are_located_errors() {
    let cases: [(&str, &str, &str, &str); 4] = [
        (
            "snapshots/no_strategy.sql",
            "-- history of customers\n{% snapshot customers_history %}\n{{ config(unique_key='id') }}\nselect * from {{ source('app', 'customers') }}\n{% endsnapshot %}\n",
            "snapshots/no_strategy.sql:2:1",
            "bad_snapshot_without_strategy",
        ),
        (
            "snapshots/unclosed.sql",
            "{% snapshot customers_history %}\nselect * from {{ source('app', 'customers') }}\n",
            "snapshots/unclosed.sql:1:1",
            "bad_snapshot_unclosed_block",
        ),
        (
            "snapshots/plain.sql",
            "select * from {{ source('app', 'customers') }}\n",
            "snapshots/plain.sql:1:1",
            "bad_snapshot_file_without_block",
        ),
        (
            "models/schema.yml",
            "version: 2\nmodels:\n  - name: a\n    relation: ref('b')\n",
            "models/schema.yml:4:15",
            "bad_snapshot_relation_on_a_model",
        ),
    ];
    for (path, text, location, name) in cases {
        let project = project_with_source(
            "snap_errors",
            &[("models/a.sql", "select 1 as id\n"), (path, text)],
        );
        let run = project.tmk(&["build"]);
        assert_eq!(run.code, 2, "{name}: {}{}", run.stdout, run.stderr);
        assert!(!run.stderr.contains("panicked"), "{}", run.stderr);
        assert!(
            run.stderr.contains(&format!("╭─[{location}]")),
            "{name}: expected {location} in\n{}",
            run.stderr
        );
        assert_eq!(
            project.query(&format!(
                "select count(*) from pg_class c join pg_namespace n on n.oid = c.relnamespace where n.nspname = '{}' and c.relname <> 'customers'",
                project.schema
            )),
            "0",
            "{name}: something was built"
        );
        insta::assert_snapshot!(name, project.normalize(&run.stderr));
    }
}

/// A query error on a later run rolls the whole snapshot back and points into the snapshot file.
#[test]
fn a_failing_snapshot_run_changes_nothing_and_points_into_the_file() {
    let project = project_with_source("snap_fail", &[("snapshots/customers.sql", TIMESTAMP_SNAPSHOT)]);
    assert_ok(&project.tmk(&["snapshot"]));
    let query = |sql: &str| project.query(&format!("set search_path to {}; {sql}", project.schema));
    query("update customers set name = 'Bobby', updated_at = '2024-02-01' where id = 2");
    project.write(
        "snapshots/customers.sql",
        &TIMESTAMP_SNAPSHOT.replace("select * from", "select *, no_such_column as broken from"),
    );
    let run = project.tmk(&["snapshot"]);
    assert_eq!(run.code, 1, "{}", run.stdout);
    assert!(
        run.stdout.contains("column \"no_such_column\" does not exist"),
        "{}",
        run.stdout
    );
    // The position is mapped into the compiled snapshot: line 3, where the column is named.
    assert!(
        run.stdout
            .contains("╭─[target/compiled/demo/snapshots/customers.sql:3:11]"),
        "{}",
        run.stdout
    );
    assert_eq!(
        query("select count(*), count(*) filter (where name = 'Bobby') from customers_history"),
        "3|0"
    );
    assert_eq!(
        query(
            "select count(*) from information_schema.columns where table_name = 'customers_history' and column_name = 'broken'"
        ),
        "0"
    );
}
