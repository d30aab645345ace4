//! One scan per table against a real PostgreSQL: the row-level tests of a relation
//! (not_null, accepted_values, accepted_range, expression_is_true) run as one query, and each
//! reports exactly what it reports when it runs alone — failures, status, `where`, `limit`,
//! `warn_if`/`error_if`, severity.

#![allow(clippy::disallowed_methods)]

mod common;

use std::collections::BTreeMap;

use common::{TestProject, assert_ok};

const PROPERTIES: &str = "version: 2
models:
  - name: orders
    columns:
      - name: id
        data_tests: [not_null, unique]
      - name: amount
        data_tests:
          - not_null:
              config: {where: \"status <> 'new'\"}
          - accepted_range:
              arguments: {min_value: 0, max_value: 100}
              config: {limit: 1}
          - expression_is_true:
              arguments: {expression: \"> -10\"}
              config: {severity: warn}
      - name: status
        data_tests:
          - accepted_values:
              arguments: {values: [paid, new, shipped]}
              config: {warn_if: \">= 1\", error_if: \">= 3\"}
";

/// (status, failures) of every test in the last run's run_results.json.
fn outcomes(project: &TestProject) -> BTreeMap<String, (String, i64)> {
    let results: serde_json::Value =
        serde_json::from_str(&project.read("target/run_results.json")).expect("run_results.json");
    results["results"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|result| {
            (
                result["unique_id"].as_str().unwrap_or("").to_string(),
                (
                    result["status"].as_str().unwrap_or("").to_string(),
                    result["failures"].as_i64().unwrap_or(-1),
                ),
            )
        })
        .collect()
}

#[test]
fn batched_tests_report_what_each_reports_alone() {
    let project = TestProject::new(
        "test_batches",
        &[
            (
                "seeds/raw_orders.csv",
                "id,amount,status\n1,10,paid\n2,,new\n3,,paid\n4,-20,lost\n5,500,gone\n,7,void\n6,50,paid\n7,8,\n",
            ),
            (
                "models/orders.sql",
                "{{ config(materialized='table') }}\nselect * from {{ ref('raw_orders') }}\n",
            ),
            ("models/schema.yml", PROPERTIES),
        ],
    );
    assert_ok(&project.tmk(&["seed"]));
    assert_ok(&project.tmk(&["run"]));
    let plan = project.tmk(&["test", "--dry-run"]);
    assert!(plan.stdout.contains("batch 1: 5 tests of"), "{}", plan.stdout);
    assert_eq!(plan.stdout.matches("[batch 1]").count(), 5, "{}", plan.stdout);
    let batched = project.tmk(&["test"]);
    assert_eq!(batched.code, 1, "{}", batched.stdout);
    let together = outcomes(&project);
    // The batch's one scan ran (it is what target/run shows for each batched test).
    let scanned = project.read("target/run/demo/models/schema.yml/not_null_orders_id.sql");
    assert!(
        scanned.contains("count(*) filter (where id is null)"),
        "{scanned}"
    );
    // A list of three values or more is padded so that PostgreSQL hashes it; a null status
    // passes, as it does alone.
    assert!(
        scanned.contains("status not in ('paid', 'new', 'shipped', 'shipped', 'shipped'"),
        "{scanned}"
    );
    assert_eq!(together.len(), 6);
    // Each batched test reports the time of the scan that answered it, not its wait for it.
    let results: serde_json::Value =
        serde_json::from_str(&project.read("target/run_results.json")).expect("run_results.json");
    let mut batched_times: Vec<f64> = results["results"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|result| {
            result["unique_id"]
                .as_str()
                .is_some_and(|id| !id.contains(".unique_"))
        })
        .filter_map(|result| result["execution_time"].as_f64())
        .collect();
    batched_times.dedup();
    assert_eq!(batched_times.len(), 1, "{batched_times:?}");
    assert!(batched_times[0] > 0.0, "{batched_times:?}");
    let mut alone = BTreeMap::new();
    for unique_id in together.keys() {
        let name = unique_id.split('.').nth(2).unwrap_or_default().to_string();
        let run = project.tmk(&["test", "-s", &name]);
        assert!(!run.stdout.contains("batch"), "{}", run.stdout);
        alone.extend(outcomes(&project));
    }
    assert_eq!(together, alone);
    let failures = |prefix: &str| {
        together
            .iter()
            .find(|(unique_id, _)| unique_id.starts_with(&format!("test.demo.{prefix}")))
            .map(|(_, outcome)| outcome.clone())
            .unwrap_or_default()
    };
    assert_eq!(failures("not_null_orders_id"), ("fail".to_string(), 1));
    assert_eq!(failures("not_null_orders_amount"), ("fail".to_string(), 1));
    assert_eq!(failures("accepted_range_orders_amount"), ("fail".to_string(), 1));
    assert_eq!(
        failures("expression_is_true_orders_amount"),
        ("warn".to_string(), 1)
    );
    assert_eq!(failures("accepted_values_orders_status"), ("fail".to_string(), 3));
    assert_eq!(failures("unique_orders_id"), ("pass".to_string(), 0));
}
