//! `partition_by` against a real PostgreSQL: a table model is built range-partitioned with one
//! partition per month its rows cover (named `<table>_pYYYYMM`, also after a rebuild swapped a
//! new table in), an incremental run adds the partitions its new rows need, integer `YYYYMMDD`
//! date keys work like dates, and a wrong field or a view is an error that changes nothing.

#![allow(clippy::disallowed_methods)]

mod common;

use common::{TestProject, assert_exit, assert_ok, psql};

const SALES: &str =
    "id,sold_on,amount\n1,2024-01-05,10\n2,2024-01-31,20\n3,2024-02-01,30\n4,2024-03-15,40\n5,,50\n";

fn project(name: &str, model: &str) -> TestProject {
    TestProject::new(
        name,
        &[
            ("seeds/raw_sales.csv", SALES),
            ("models/sales.sql", model),
            (
                "models/sales_view.sql",
                "select count(*) as n from {{ ref('sales') }}\n",
            ),
        ],
    )
}

/// Each partition of `relation` with its row count, `name=rows` in name order.
fn partitions(project: &TestProject, relation: &str) -> String {
    psql(&format!(
        "select string_agg(c.relname || '=' || (xpath('/row/n/text()', query_to_xml(format('select count(*) as n from %I.%I', '{0}', c.relname), false, true, '')))[1]::text, ',' order by c.relname)
         from pg_inherits i join pg_class c on c.oid = i.inhrelid
         where i.inhparent = to_regclass('{0}.{relation}')",
        project.schema
    ))
}

#[test]
fn a_table_gets_one_partition_per_month_also_after_a_rebuild() {
    let project = project(
        "partitions_table",
        "{{ config(materialized='table', partition_by={'field': 'sold_on', 'granularity': 'month'}, indexes=[{'columns': ['id']}]) }}\nselect * from {{ ref('raw_sales') }}\n",
    );
    for _ in 0..2 {
        assert_ok(&project.tmk(&["build"]));
        assert_eq!(
            partitions(&project, "sales"),
            "sales_default=1,sales_p202401=2,sales_p202402=1,sales_p202403=1"
        );
        assert_eq!(
            project.query(&format!("select n from {}.sales_view", project.schema)),
            "5"
        );
    }
    // Queries on one month read one partition.
    let plan = psql(&format!(
        "explain (costs off) select * from {}.sales where sold_on = '2024-02-01'",
        project.schema
    ));
    assert!(
        plan.contains("sales_p202402") && !plan.contains("sales_p202401"),
        "{plan}"
    );
}

#[test]
fn an_incremental_run_adds_the_partitions_its_rows_need() {
    let project = project(
        "partitions_incremental",
        "{{ config(materialized='incremental', unique_key='id', partition_by={'field': 'date_key'}) }}\nselect id, to_char(sold_on, 'YYYYMMDD')::integer as date_key, amount from {{ ref('raw_sales') }}\n{% if is_incremental() %}where id > (select max(id) from {{ this }}){% endif %}\n",
    );
    assert_ok(&project.tmk(&["build"]));
    assert_eq!(
        partitions(&project, "sales"),
        "sales_default=1,sales_p202401=2,sales_p202402=1,sales_p202403=1"
    );
    project.write(
        "seeds/raw_sales.csv",
        &format!("{SALES}6,2024-05-02,60\n7,2024-01-09,70\n"),
    );
    assert_ok(&project.tmk(&["build"]));
    assert_eq!(
        partitions(&project, "sales"),
        "sales_default=1,sales_p202401=3,sales_p202402=1,sales_p202403=1,sales_p202405=1"
    );
}

#[test]
fn a_field_that_is_no_date_is_an_error_that_changes_nothing() {
    let project = project(
        "partitions_bad_field",
        "{{ config(materialized='table', partition_by={'field': 'amount'}) }}\nselect * from {{ ref('raw_sales') }}\n",
    );
    let run = project.tmk(&["build"]);
    assert_exit(&run, 1);
    assert!(
        run.stdout
            .contains("`partition_by` field `amount` holds 10, which is no date key written YYYYMMDD"),
        "{}",
        run.stdout
    );
    assert!(!project.exists("sales"));
}

#[test]
fn partition_by_on_a_view_is_an_error() {
    let project = project(
        "partitions_view",
        "{{ config(materialized='view', partition_by={'field': 'sold_on'}) }}\nselect * from {{ ref('raw_sales') }}\n",
    );
    let run = project.tmk(&["build"]);
    assert_exit(&run, 1);
    assert!(
        run.stdout.contains("`partition_by` applies to table and"),
        "{}",
        run.stdout
    );
    assert!(!project.exists("sales"));
}
