//! Source freshness against a real PostgreSQL: `tmk source freshness` judges each source table's
//! newest `loaded_at_field` against its `warn_after`/`error_after`, writes target/sources.json
//! and exits 1 when one is stale; `tmk build` checks freshness before the models that read a
//! source and skips them when it is stale; bad settings are located errors.

#![allow(clippy::disallowed_methods)]

mod common;

use common::{TestProject, assert_exit, assert_ok};

/// Four source tables loaded 10 minutes, 2 hours and 2 days ago, and one never loaded.
fn project(name: &str, models: &[(&str, &str)]) -> TestProject {
    let project = TestProject::new(name, models);
    let schema = &project.schema;
    project.query(&format!(
        "create schema {schema};
         create table {schema}.fresh (id int, loaded_at timestamp);
         create table {schema}.late (id int, loaded_at timestamptz);
         create table {schema}.stale (id int, loaded_at timestamp);
         create table {schema}.never (id int, loaded_at timestamp);
         insert into {schema}.fresh values (1, now() at time zone 'UTC' - interval '10 minutes');
         insert into {schema}.late values (1, now() - interval '2 hours');
         insert into {schema}.stale values (1, now() at time zone 'UTC' - interval '2 days'), (2, now() at time zone 'UTC' - interval '3 days')"
    ));
    project.write(
        "models/sources.yml",
        &format!(
            "version: 2\nsources:\n  - name: app\n    schema: {schema}\n    loaded_at_field: loaded_at\n    freshness:\n      warn_after: {{count: 1, period: hour}}\n      error_after: {{count: 1, period: day}}\n    tables:\n      - name: fresh\n      - name: late\n      - name: stale\n      - name: never\n      - name: unchecked\n        identifier: fresh\n        freshness:\n          warn_after: {{}}\n          error_after: {{}}\n"
        ),
    );
    project
}

#[test]
fn source_freshness_judges_each_table_and_writes_sources_json() {
    let project = project("freshness", &[]);
    let run = project.tmk(&["source", "freshness"]);
    assert_exit(&run, 1);
    for line in [
        "PASS  freshness app.fresh",
        "WARN  freshness app.late",
        "FAIL  freshness app.stale",
        "FAIL  freshness app.never",
    ] {
        assert!(run.stdout.contains(line), "{line} missing:\n{}", run.stdout);
    }
    assert!(
        run.stdout.contains("[WARN: newest row 2.0 h old in"),
        "{}",
        run.stdout
    );
    assert!(
        run.stdout.contains("Failure in source app.stale (models/sources.yml)\n  ERROR STALE: newest row 2.0 days old; warn after 1 hour, error after 1 day"),
        "{}",
        run.stdout
    );
    assert!(!run.stdout.contains("unchecked"), "{}", run.stdout);
    let sources: serde_json::Value =
        serde_json::from_str(&project.read("target/sources.json")).expect("sources.json is JSON");
    let status = |table: &str| {
        sources["results"]
            .as_array()
            .into_iter()
            .flatten()
            .find(|result| result["unique_id"] == format!("source.demo.app.{table}"))
            .cloned()
            .unwrap_or_else(|| panic!("no result for {table}"))
    };
    assert_eq!(status("fresh")["status"], "pass");
    assert_eq!(status("late")["status"], "warn");
    assert_eq!(status("stale")["status"], "error");
    assert_eq!(status("never")["status"], "error");
    assert!(status("never")["max_loaded_at"].is_null());
    let age = status("stale")["max_loaded_at_time_ago_in_s"]
        .as_f64()
        .unwrap_or(0.0);
    assert!((172_000.0..174_000.0).contains(&age), "age {age}");
    assert_eq!(
        status("late")["criteria"]["warn_after"],
        serde_json::json!({"count": 1, "period": "hour"})
    );
    assert!(
        sources["metadata"]["dbt_schema_version"]
            .as_str()
            .unwrap_or("")
            .ends_with("sources/v3.json")
    );
}

/// In `build` a stale source skips the models that read it; the others build.
#[test]
fn build_skips_models_of_a_stale_source() {
    let project = project(
        "freshness_build",
        &[
            (
                "models/from_fresh.sql",
                "select * from {{ source('app', 'fresh') }}\n",
            ),
            (
                "models/from_stale.sql",
                "select * from {{ source('app', 'stale') }}\n",
            ),
            ("models/downstream.sql", "select * from {{ ref('from_stale') }}\n"),
        ],
    );
    let run = project.tmk(&["build"]);
    assert_exit(&run, 1);
    assert!(project.exists("from_fresh"));
    assert!(!project.exists("from_stale"));
    assert!(!project.exists("downstream"));
    assert!(run.stdout.contains("SKIP  view downstream"), "{}", run.stdout);
    // Selecting only the fresh side builds without the stale check.
    assert_ok(&project.tmk(&["build", "-s", "+from_fresh"]));
}

/// Freshness without a `loaded_at_field`, or with a bad period, stops tmk naming the line.
#[test]
fn bad_freshness_settings_are_located_errors() {
    let project = TestProject::new(
        "freshness_errors",
        &[(
            "models/sources.yml",
            "version: 2\nsources:\n  - name: app\n    tables:\n      - name: orders\n        freshness:\n          warn_after: {count: 1, period: week}\n        loaded_at_field: loaded_at\n",
        )],
    );
    let run = project.tmk(&["source", "freshness"]);
    assert_exit(&run, 2);
    insta::assert_snapshot!("freshness_bad_period", project.normalize(&run.stderr));
    project.write(
        "models/sources.yml",
        "version: 2\nsources:\n  - name: app\n    tables:\n      - name: orders\n        freshness:\n          warn_after: {count: 1, period: hour}\n",
    );
    let run = project.tmk(&["source", "freshness"]);
    assert_exit(&run, 2);
    insta::assert_snapshot!(
        "freshness_without_loaded_at_field",
        project.normalize(&run.stderr)
    );
}
