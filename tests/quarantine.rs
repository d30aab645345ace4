//! Quarantine against a real PostgreSQL: a model with `quarantine: true` moves the rows that
//! fail its row-level tests (not_null, accepted_values, accepted_range, expression_is_true,
//! relationships) to
//! `<schema>_quarantine.<model>` with the failed check's name and run id, keeps the clean rows,
//! and its tests then pass — one bad order line does not stop the load, and is not lost.

#![allow(clippy::disallowed_methods)]

mod common;

use common::{TestProject, assert_ok};

const PROPERTIES: &str = "version: 2
models:
  - name: orders
    config: {quarantine: true}
    columns:
      - name: amount
        data_tests:
          - not_null
          - accepted_range:
              arguments: {min_value: 0}
          - expression_is_true:
              arguments: {expression: \"< 1000\"}
      - name: status
        data_tests:
          - accepted_values:
              arguments: {values: [paid, new]}
      - name: customer_id
        data_tests:
          - relationships:
              arguments: {to: \"ref('customers')\", field: id}
";

fn project(name: &str, materialized: &str) -> TestProject {
    TestProject::new(
        name,
        &[
            ("seeds/customers.csv", "id\n1\n2\n"),
            (
                "seeds/raw_orders.csv",
                "id,customer_id,status,amount\n1,1,paid,10\n2,2,new,\n3,9,paid,30\n4,1,lost,40\n5,2,paid,50\n6,1,paid,-5\n7,2,paid,5000\n",
            ),
            (
                "models/orders.sql",
                &format!(
                    "{{{{ config(materialized='{materialized}', unique_key='id') }}}}\nselect * from {{{{ ref('raw_orders') }}}}\n{{% if is_incremental() %}}where id > (select max(id) from {{{{ this }}}}){{% endif %}}\n"
                ),
            ),
            ("models/schema.yml", PROPERTIES),
        ],
    )
}

#[test]
fn failing_rows_move_to_the_quarantine_table_and_the_tests_pass() {
    let project = project("quarantine", "table");
    let run = project.tmk(&["build"]);
    assert_ok(&run);
    assert!(run.stdout.contains("table orders"), "{}", run.stdout);
    assert_eq!(
        project.query(&format!("select id from {}.orders order by id", project.schema)),
        "1\n5"
    );
    let quarantined = format!(
        "select id, tmk_failed_check from {}_quarantine.orders order by id, tmk_failed_check",
        project.schema
    );
    assert_eq!(
        project.query(&quarantined),
        "2|not_null_orders_amount\n3|relationships_orders_customer_id__id__ref_customers_\n4|accepted_values_orders_status__paid__new\n6|accepted_range_orders_amount__0\n7|expression_is_true_orders_amount___1000"
    );
    assert!(run.stdout.contains("[SELECT 2 in"), "{}", run.stdout);
    // Each run records its own quarantined rows, with its run id.
    assert_ok(&project.tmk(&["run", "-s", "orders"]));
    assert_eq!(
        project.query(&format!(
            "select count(distinct tmk_run_id), count(*) from {}_quarantine.orders",
            project.schema
        )),
        "2|10"
    );
}

#[test]
fn an_incremental_batch_is_cleaned_before_it_is_merged() {
    let project = project("quarantine_incremental", "incremental");
    project.write(
        "seeds/raw_orders.csv",
        "id,customer_id,status,amount\n1,1,paid,10\n",
    );
    assert_ok(&project.tmk(&["build"]));
    project.write(
        "seeds/raw_orders.csv",
        "id,customer_id,status,amount\n1,1,paid,10\n2,2,new,\n3,1,new,30\n",
    );
    assert_ok(&project.tmk(&["build"]));
    assert_eq!(
        project.query(&format!("select id from {}.orders order by id", project.schema)),
        "1\n3"
    );
    assert_eq!(
        project.query(&format!(
            "select id, tmk_failed_check from {}_quarantine.orders",
            project.schema
        )),
        "2|not_null_orders_amount"
    );
}

/// Quarantine needs a table to move rows out of: on a view it is an error, not ignored.
#[test]
fn quarantine_on_a_view_is_an_error() {
    let project = project("quarantine_view", "view");
    let run = project.tmk(&["run", "-s", "orders"]);
    assert_eq!(run.code, 1, "{}", run.stdout);
    assert!(
        run.stdout
            .contains("model `orders` is a view: `quarantine` applies to table and incremental"),
        "{}",
        run.stdout
    );
    assert!(!project.exists("orders"));
}
