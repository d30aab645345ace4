//! The generic tests beyond dbt's four (unique_combination_of_columns, expression_is_true,
//! accepted_range, not_empty, row_count / expect_table_row_count_to_be_between,
//! relationships_where, recency, expect_column_to_exist, expect_column_values_to_be_of_type),
//! under their bare and their `dbt_utils.`/`dbt_expectations.` names: each passes on good data
//! and fails on bad data with the right failure count in the output and in run_results.json.
//! `store_failures` keeps the failing rows in `<schema>_dbt_test__audit`, replaced on every run.
//! Unknown and missing arguments are errors at the YAML entry.

mod common;

use std::collections::BTreeMap;

use common::{TestProject, assert_exit, assert_ok, status_line, test_result_entries};

/// Active customers 1 and 2, inactive 3.
const CUSTOMERS: (&str, &str) = ("seeds/customers.csv", "id,active\n1,true\n2,true\n3,false\n");

/// Four order lines, unique by (order_id, line), amounts within 0..100, active customers with
/// two lines each, the newest one hour old.
const GOOD_ORDERS: &str =
    "order_id,line,customer_id,amount,age_hours\n1,1,1,10,1\n1,2,1,20,2\n2,1,2,30,5\n3,1,2,40,30\n";

/// Six lines: (1, 1) twice, line 0, amounts -1 and 150, customer 1 with three lines, an inactive
/// and a missing customer, the newest 48 hours old.
const BAD_ORDERS: &str = "order_id,line,customer_id,amount,age_hours\n1,1,1,10,48\n1,1,1,20,50\n2,0,1,-1,49\n3,1,2,150,60\n4,1,3,5,70\n5,1,9,5,80\n";

const ORDERS_MODEL: (&str, &str) = (
    "models/orders.sql",
    "select order_id, line, customer_id, amount, now() - age_hours * interval '1 hour' as created_at\nfrom {{ ref('raw_orders') }}\n",
);

const GOOD_RETURNS: &str = "select 1 as order_id, 'damaged'::text as reason\n";
const BAD_RETURNS: &str = "select 'damaged'::text as reason where false\n";

const PROPERTIES: (&str, &str) = (
    "models/schema.yml",
    r#"version: 2
models:
  - name: orders
    data_tests:
      - dbt_utils.unique_combination_of_columns:
          combination_of_columns: [order_id, line]
      - expression_is_true:
          expression: "line > 0"
      - row_count:
          max_value: 4
      - dbt_expectations.expect_table_row_count_to_be_between:
          min_value: 1
          max_value: 2
          group_by: [customer_id]
      - dbt_utils.recency:
          field: created_at
          datepart: hour
          interval: 24
    columns:
      - name: line
        data_tests:
          - accepted_range:
              min_value: 0
              inclusive: false
      - name: amount
        data_tests:
          - dbt_utils.accepted_range:
              min_value: 0
              max_value: 100
          - accepted_range:
              max_value: 120
              config:
                where: "customer_id = 2"
          - accepted_range:
              min_value: 6
              config:
                limit: 2
          - dbt_utils.expression_is_true:
              expression: ">= 0"
              config:
                severity: warn
      - name: customer_id
        data_tests:
          - relationships_where:
              to: ref('customers')
              field: id
              to_condition: active
              config:
                warn_if: "> 1"
                error_if: "> 2"
          - dbt_expectations.expect_column_values_to_be_of_type:
              column_type: integer
  - name: returns
    data_tests:
      - not_empty
    columns:
      - name: order_id
        data_tests:
          - dbt_expectations.expect_column_to_exist
          - expect_column_values_to_be_of_type:
              column_type: int4
      - name: reason
        data_tests:
          - expect_column_to_exist:
              column_index: 2
"#,
);

/// Every new test, its status and failure count on the bad data.
const EXPECTED_ON_BAD_DATA: &[(&str, &str, i64)] = &[
    (
        "dbt_utils_unique_combination_of_columns_orders_order_id__line",
        "fail",
        1,
    ),
    ("expression_is_true_orders_line_0", "fail", 1),
    ("row_count_orders_4", "fail", 1),
    (
        "dbt_expectations_expect_table_row_count_to_be_between_orders_customer_id__2__1",
        "fail",
        1,
    ),
    ("dbt_utils_recency_orders_hour__created_at__24", "fail", 1),
    ("accepted_range_orders_line__False__0", "fail", 1),
    ("dbt_utils_accepted_range_orders_amount__100__0", "fail", 2),
    ("accepted_range_orders_amount__120", "fail", 1),
    ("accepted_range_orders_amount__6", "fail", 2),
    ("dbt_utils_expression_is_true_orders_amount___0", "warn", 1),
    (
        "relationships_where_orders_customer_id__id__ref_customers___active",
        "warn",
        2,
    ),
    (
        "dbt_expectations_expect_column_values_to_be_of_type_orders_customer_id__integer",
        "pass",
        0,
    ),
    ("not_empty_returns_", "fail", 1),
    (
        "dbt_expectations_expect_column_to_exist_returns_order_id",
        "fail",
        1,
    ),
    (
        "expect_column_values_to_be_of_type_returns_order_id__int4",
        "fail",
        1,
    ),
    ("expect_column_to_exist_returns_2__reason", "fail", 1),
];

/// A project with the customers seed, the orders model and `returns`, over `orders` data.
fn project(name: &str, orders: &str, returns: &str, extra: &[(&str, &str)]) -> TestProject {
    let mut files = vec![
        CUSTOMERS,
        ("seeds/raw_orders.csv", orders),
        ORDERS_MODEL,
        ("models/returns.sql", returns),
        PROPERTIES,
    ];
    files.extend_from_slice(extra);
    TestProject::new(name, &files)
}

/// Test name → (status, failures) from target/run_results.json.
fn test_results(project: &TestProject) -> BTreeMap<String, (String, i64)> {
    test_result_entries(project)
        .into_iter()
        .map(|(name, result)| {
            let status = result["status"].as_str().unwrap_or_default().to_string();
            (name, (status, result["failures"].as_i64().unwrap_or(-1)))
        })
        .collect()
}

#[test]
fn every_new_test_passes_on_good_data() {
    let project = project("dq_good", GOOD_ORDERS, GOOD_RETURNS, &[]);
    let run = project.tmk(&["build"]);
    assert_ok(&run);
    let results = test_results(&project);
    for (name, _, _) in EXPECTED_ON_BAD_DATA {
        assert_eq!(
            results.get(*name),
            Some(&("pass".to_string(), 0)),
            "{name} in {results:?}\n{}",
            run.stdout
        );
        assert!(status_line(&run.stdout, name).contains("PASS"));
    }
    assert_eq!(results.len(), EXPECTED_ON_BAD_DATA.len());
}

#[test]
fn every_new_test_fails_on_bad_data_with_its_failure_count() {
    let project = project("dq_bad", BAD_ORDERS, BAD_RETURNS, &[]);
    let run = project.tmk(&["build"]);
    assert_exit(&run, 1);
    let results = test_results(&project);
    for (name, status, failures) in EXPECTED_ON_BAD_DATA {
        assert_eq!(
            results.get(*name),
            Some(&(status.to_string(), *failures)),
            "{name} in {results:?}\n{}",
            run.stdout
        );
        let line = status_line(&run.stdout, name);
        match *status {
            "fail" => assert!(line.contains(&format!("[FAIL {failures} in")), "{line}"),
            "warn" => assert!(line.contains(&format!("[WARN {failures} in")), "{line}"),
            _ => assert!(line.contains("PASS"), "{line}"),
        }
    }
    assert!(
        run.stdout.contains("Got 2 results, configured to fail if != 0"),
        "{}",
        run.stdout
    );
    assert!(
        run.stdout.contains("Got 1 result, configured to warn if != 0"),
        "{}",
        run.stdout
    );
    assert!(
        run.stdout.contains("Got 2 results, configured to warn if > 1"),
        "{}",
        run.stdout
    );
}

#[test]
fn store_failures_keeps_the_failing_rows_and_replaces_them_on_every_run() {
    // Every test stores its failures (project tree), but those under models/sub/ do not
    // unless their own config says so; the singular test stores a view.
    let extra = [
        (
            "models/sub/audit.yml",
            r#"version: 2
models:
  - name: ids
    columns:
      - name: id
        data_tests:
          - unique
          - not_null:
              config:
                store_failures: true
"#,
        ),
        ("models/sub/ids.sql", "select 1 as id\n"),
        (
            "tests/negative_amounts.sql",
            "{{ config(store_failures_as='view') }}\nselect order_id, amount from {{ ref('orders') }} where amount < 0\n",
        ),
        (
            "dbt_project.yml",
            "name: demo\nprofile: demo\nconfig-version: 2\ndata_tests:\n  demo:\n    +store_failures: true\n    sub:\n      +store_failures: false\n",
        ),
    ];
    let project = project("dq_store", BAD_ORDERS, BAD_RETURNS, &extra);
    let audit = format!("{}_dbt_test__audit", project.schema);
    let rows = |relation: &str| {
        project.query(&format!(
            "select coalesce(string_agg(amount::text, ',' order by amount), '') from {audit}.{relation}"
        ))
    };
    let kind = |relation: &str| {
        project.query(&format!(
            "select relkind from pg_class where oid = to_regclass('{audit}.{relation}')"
        ))
    };
    let count = |relation: &str| project.query(&format!("select count(*) from {audit}.{relation}"));
    let run = project.tmk(&["build"]);
    assert_exit(&run, 1);
    // The tests of models/schema.yml store tables; the singular one a view.
    assert_eq!(rows("dbt_utils_accepted_range_orders_amount__100__0"), "-1,150");
    assert_eq!(kind("dbt_utils_accepted_range_orders_amount__100__0"), "r");
    assert_eq!(rows("negative_amounts"), "-1");
    // `limit` caps the stored rows (three fail) and so the count.
    assert_eq!(count("accepted_range_orders_amount__6"), "2");
    assert_eq!(kind("negative_amounts"), "v");
    // A passing test that stores failures leaves an empty table.
    assert_eq!(count("not_null_ids_id"), "0");
    // The failures counted are the stored rows.
    let results = test_results(&project);
    assert_eq!(
        results.get("dbt_utils_accepted_range_orders_amount__100__0"),
        Some(&("fail".to_string(), 2))
    );
    assert_eq!(results.get("negative_amounts"), Some(&("fail".to_string(), 1)));
    // A test whose config turns it off stores nothing.
    assert_eq!(kind("unique_ids_id"), "");

    // Fixed data: the stored rows are replaced, the tables stay (empty).
    project.write("seeds/raw_orders.csv", GOOD_ORDERS);
    project.write("models/returns.sql", GOOD_RETURNS);
    let run = project.tmk(&["build"]);
    assert_ok(&run);
    assert_eq!(count("dbt_utils_accepted_range_orders_amount__100__0"), "0");
    assert_eq!(count("negative_amounts"), "0");

    // Bad data again, through `tmk test` alone: the rows come back.
    project.write("seeds/raw_orders.csv", BAD_ORDERS);
    assert_ok(&project.tmk(&["seed"]));
    let run = project.tmk(&["test"]);
    assert_exit(&run, 1);
    assert_eq!(rows("dbt_utils_accepted_range_orders_amount__100__0"), "-1,150");
    let results = test_results(&project);
    assert_eq!(
        results.get("dbt_utils_accepted_range_orders_amount__100__0"),
        Some(&("fail".to_string(), 2))
    );
    let entries = test_result_entries(&project);
    assert_eq!(
        entries["negative_amounts"]["relation_name"],
        format!("\"postgres\".\"{audit}\".\"negative_amounts\"")
    );
    assert_eq!(entries["unique_ids_id"]["relation_name"], serde_json::Value::Null);
}

/// A project whose only test entry is `test` under the `amount` column of `orders`.
fn bad_entry_project(name: &str, properties: &str) -> TestProject {
    TestProject::new(
        name,
        &[
            ("models/orders.sql", "select 1 as order_id, 10 as amount\n"),
            ("models/schema.yml", properties),
        ],
    )
}

/// `run` stopped before running (exit 2) with an excerpt at `location`, and built nothing.
fn assert_compile_error(project: &TestProject, run: &common::Run, location: &str) {
    assert_exit(run, 2);
    assert!(
        run.stderr.contains(&format!("╭─[{location}]")),
        "expected an excerpt at {location} in:\n{}",
        run.stderr
    );
    let built = project.query(&format!(
        "select count(*) from pg_class c join pg_namespace n on n.oid = c.relnamespace where n.nspname like '{}%'",
        project.schema
    ));
    assert_eq!(built, "0");
}

#[test]
fn unknown_test_argument_is_an_error_at_the_argument() {
    let project = bad_entry_project(
        "dq_unknown_argument",
        "version: 2\nmodels:\n  - name: orders\n    columns:\n      - name: amount\n        data_tests:\n          - accepted_range:\n              min_valu: 0\n",
    );
    let run = project.tmk(&["build"]);
    assert_compile_error(&project, &run, "models/schema.yml:8:15");
    assert!(run.stderr.contains("did you mean `min_value`?"), "{}", run.stderr);
    insta::assert_snapshot!("unknown_test_argument", project.normalize(&run.stderr));
}

#[test]
fn missing_test_argument_is_an_error_at_the_test() {
    let project = bad_entry_project(
        "dq_missing_argument",
        "version: 2\nmodels:\n  - name: orders\n    columns:\n      - name: amount\n        data_tests:\n          - dbt_utils.relationships_where:\n              field: id\n",
    );
    let run = project.tmk(&["build"]);
    assert_compile_error(&project, &run, "models/schema.yml:7:13");
    insta::assert_snapshot!("missing_test_argument", project.normalize(&run.stderr));
}

#[test]
fn model_test_under_a_column_is_an_error() {
    let project = bad_entry_project(
        "dq_model_test_on_column",
        "version: 2\nmodels:\n  - name: orders\n    columns:\n      - name: amount\n        data_tests:\n          - not_empty\n",
    );
    let run = project.tmk(&["build"]);
    assert_compile_error(&project, &run, "models/schema.yml:7:13");
    insta::assert_snapshot!("model_test_under_a_column", project.normalize(&run.stderr));
}

#[test]
fn package_name_of_a_test_the_package_lacks_is_an_error() {
    let project = bad_entry_project(
        "dq_wrong_namespace",
        "version: 2\nmodels:\n  - name: orders\n    columns:\n      - name: amount\n        data_tests:\n          - dbt_utils.not_null\n",
    );
    let run = project.tmk(&["build"]);
    assert_compile_error(&project, &run, "models/schema.yml:7:13");
    insta::assert_snapshot!("test_missing_from_package", project.normalize(&run.stderr));
}

#[test]
fn accepted_range_without_bounds_is_an_error_at_the_test() {
    let project = bad_entry_project(
        "dq_range_without_bounds",
        "version: 2\nmodels:\n  - name: orders\n    columns:\n      - name: amount\n        data_tests:\n          - accepted_range:\n              inclusive: false\n",
    );
    let run = project.tmk(&["build"]);
    assert_compile_error(&project, &run, "models/schema.yml:7:13");
    assert!(
        run.stderr
            .contains("`accepted_range` needs `min_value`, `max_value` or both"),
        "{}",
        run.stderr
    );
}

/// A test on a source column is checked against the columns the source is known to have for
/// sure (its DBML table here; the database's when connected), not against its YAML `columns:`,
/// which often list only some.
#[test]
fn a_test_on_a_column_a_dbml_bound_source_lacks_is_a_compile_error() {
    let project = TestProject::new(
        "unknown_source_test_column",
        &[
            (
                "project/shop.dbml",
                "Table shop.events {\n  event_id integer [pk]\n  kind text\n}\n",
            ),
            (
                "models/sources.yml",
                "version: 2\nsources:\n  - name: raw\n    tables:\n      - name: events\n        config:\n          dbml: shop.events\n        columns:\n          - name: knid\n            data_tests: [not_null]\n      - name: visits\n        columns:\n          - name: id\n        data_tests:\n          - not_null:\n              arguments: {column_name: visited_at}\n",
            ),
        ],
    );
    let compiled = project.tmk(&["compile"]);
    assert_eq!(compiled.code, 1, "{}{}", compiled.stdout, compiled.stderr);
    insta::assert_snapshot!("unknown_source_test_column", project.normalize(&compiled.stderr));
    // Only YAML columns for `visits`: its table-level test on another column is left to run.
    assert!(!compiled.stderr.contains("visited_at"), "{}", compiled.stderr);
}

/// A test on a column its model does not return is a compile error at the test's YAML entry
/// (with the closest column suggested), not a database error when the test runs.
#[test]
fn a_test_on_a_column_the_model_does_not_return_is_a_compile_error() {
    let project = TestProject::new(
        "unknown_test_column",
        &[
            ("models/customers.sql", "select 1 as id, 'Ann' as name\n"),
            (
                "models/schema.yml",
                "version: 2\nmodels:\n  - name: customers\n    columns:\n      - name: id\n        data_tests: [unique]\n      - name: nmae\n        data_tests: [not_null]\n",
            ),
        ],
    );
    let compiled = project.tmk(&["compile"]);
    assert_ne!(compiled.code, 0, "{}", compiled.stdout);
    insta::assert_snapshot!("unknown_test_column", project.normalize(&compiled.stderr));
    let built = project.tmk(&["build"]);
    assert_eq!(built.code, 1, "{}", built.stdout);
    assert!(
        built
            .stdout
            .contains("compilation error: test `not_null_customers_nmae` checks column `nmae`"),
        "{}",
        built.stdout
    );
    assert!(!built.stdout.contains("database error"), "{}", built.stdout);
    assert!(
        built.stdout.contains("PASS  test unique_customers_id"),
        "{}",
        built.stdout
    );
}

/// `tmk test` before anything is built: each test fails with the database's error and a hint
/// that says what is missing and what to run — for a model's test, a source table's, and a
/// relationships test whose `to:` model is missing; `tmk source freshness` says the same of a
/// missing source table; a test whose model exists but whose query fails gets no such hint.
#[test]
fn a_test_of_a_relation_not_built_says_to_build_it_first() {
    let project = TestProject::new(
        "dq_not_built",
        &[
            ("models/orders.sql", "select 1 as order_id, 10 as amount\n"),
            ("models/built.sql", "select 1 as id\n"),
            (
                "models/schema.yml",
                "version: 2\nsources:\n  - name: shop\n    schema: nowhere\n    loaded_at_field: paid_at\n    freshness: {warn_after: {count: 1, period: hour}}\n    tables:\n      - name: payments\n        columns:\n          - name: id\n            data_tests: [not_null, unique]\nmodels:\n  - name: orders\n    columns:\n      - name: order_id\n        data_tests: [not_null, unique]\n      - name: amount\n        data_tests: [not_null]\n  - name: built\n    data_tests:\n      - expression_is_true:\n          arguments: {expression: \"no_such_column > 0\"}\n    columns:\n      - name: id\n        data_tests:\n          - relationships: {arguments: {to: ref('orders'), field: order_id}}\n",
            ),
        ],
    );
    assert_ok(&project.tmk(&["run", "--select", "built"]));
    let run = project.tmk(&["test"]);
    assert_exit(&run, 1);
    let output = project.normalize(&format!("{}{}", run.stdout, run.stderr));
    assert!(output.contains("ERROR=7"), "{output}");
    let block = |heading: &str| {
        let start = output
            .find(heading)
            .unwrap_or_else(|| panic!("no `{heading}` in:\n{output}"));
        let rest = &output[start..];
        let end = rest.find("\n\n").unwrap_or(rest.len());
        rest[..end].to_string()
    };
    insta::assert_snapshot!(
        "test_of_a_model_not_built",
        block("Error in test not_null_orders_order_id")
    );
    insta::assert_snapshot!(
        "test_of_a_missing_source_table",
        block("Error in test source_unique_shop_payments_id")
    );
    let parent = block("Error in test relationships_built_id__order_id__ref_orders_");
    assert!(parent.contains("hint: `orders` has not been built"), "{parent}");
    let other = block("Error in test expression_is_true_built");
    assert!(other.contains("no_such_column"), "{other}");
    assert!(!other.contains("has not been built"), "{other}");

    let freshness = project.tmk(&["source", "freshness"]);
    assert_exit(&freshness, 1);
    let output = format!("{}{}", freshness.stdout, freshness.stderr);
    assert!(
        output.contains(
            "hint: source table `shop.payments` does not exist at `\"postgres\".\"nowhere\".\"payments\"`"
        ),
        "{output}"
    );
}
