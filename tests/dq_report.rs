//! The data-quality report and test history against a real PostgreSQL: every test run is kept
//! in `tmk_meta.test_results`, and `target/dq_report.json` / `.html` show per model each check
//! with its status, failures, severity, trend over the last runs and failing rows.

#![allow(clippy::disallowed_methods)]

mod common;

use common::{TestProject, assert_exit, assert_ok};

#[test]
fn the_report_shows_each_check_with_its_trend_and_failing_rows() {
    let project = TestProject::new(
        "dq_report",
        &[
            ("seeds/raw_orders.csv", "id,status\n1,paid\n2,paid\n3,new\n"),
            ("models/orders.sql", "select * from {{ ref('raw_orders') }}\n"),
            (
                "models/schema.yml",
                "version: 2\nmodels:\n  - name: orders\n    columns:\n      - name: id\n        data_tests: [unique, not_null]\n      - name: status\n        data_tests:\n          - accepted_values:\n              arguments: {values: [paid, new]}\n              config: {severity: warn}\n",
            ),
        ],
    );
    assert_ok(&project.tmk(&["build"]));
    project.write(
        "seeds/raw_orders.csv",
        "id,status\n1,paid\n1,lost\n3,new\n4,gone\n",
    );
    let run = project.tmk(&["build"]);
    assert_exit(&run, 1);
    let report: serde_json::Value =
        serde_json::from_str(&project.read("target/dq_report.json")).expect("dq_report.json is JSON");
    let checks = report["models"][0]["checks"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    assert_eq!(report["models"][0]["model"], "orders");
    let check = |test: &str| {
        checks
            .iter()
            .find(|check| check["test"] == test)
            .cloned()
            .unwrap_or_else(|| panic!("no {test} check in {report}"))
    };
    assert_eq!(check("unique")["status"], "fail");
    assert_eq!(check("unique")["failures"], 1);
    assert_eq!(check("unique")["sample"]["rows"], serde_json::json!([[1, 2]]));
    assert_eq!(check("accepted_values")["status"], "warn");
    assert_eq!(check("accepted_values")["severity"], "warn");
    assert_eq!(check("accepted_values")["failures"], 2);
    assert_eq!(check("not_null")["status"], "pass");
    assert!(check("not_null")["sample"].is_null());
    let trend: Vec<(String, i64)> = check("unique")["trend"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|entry| {
            (
                entry["status"].as_str().unwrap_or("").to_string(),
                entry["failures"].as_i64().unwrap_or(-1),
            )
        })
        .collect();
    assert_eq!(trend, [("pass".to_string(), 0), ("fail".to_string(), 1)]);
    let html = project.read("target/dq_report.html");
    assert!(html.contains("<h2>orders</h2>"), "{html}");
    assert!(html.contains("unique_orders_id"), "{html}");
    assert!(html.contains("<title>0 → 1</title>"), "{html}");
    let runs = project.query(&format!(
        "select count(distinct result.run_id) from tmk_meta.test_results result join tmk_meta.runs run using (run_id) \
         where run.target_schema = '{}' and result.unique_id like 'test.demo.unique_orders_id%'",
        project.schema
    ));
    assert_eq!(runs, "2");
}
