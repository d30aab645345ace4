//! What the data-quality report needs from the database after a run with tests: each test's
//! recent history from `tmk_meta.test_results` and a few failing rows of each failing or
//! warning test. Best effort: the report is written without what could not be read. It must
//! not write SQL itself (the adapter runs the queries).

use std::collections::HashMap;

use crate::adapter::postgres::{Postgres, TestHistoryEntry};
use crate::compile::Manifest;
use crate::compile::jinja::context::QueryTable;
use crate::execute::{NodeResult, Status};
use crate::plan::StepAction;

/// How many earlier runs the trend shows.
const TREND_RUNS: i64 = 10;
/// How many failing rows the report shows per test.
const SAMPLE_ROWS: usize = 5;

/// The history and failing-row samples of the run's tests; None when no test ran.
pub async fn gather(
    postgres: &Postgres,
    manifest: &Manifest,
    results: &[NodeResult],
) -> Option<(
    HashMap<String, Vec<TestHistoryEntry>>,
    HashMap<String, QueryTable>,
)> {
    let tests: Vec<&NodeResult> = results
        .iter()
        .filter(|result| result.action == StepAction::Test)
        .collect();
    if tests.is_empty() {
        return None;
    }
    let ids: Vec<String> = tests
        .iter()
        .map(|result| manifest.nodes[result.node].unique_id.clone())
        .collect();
    let history = postgres.test_history(&ids, TREND_RUNS).await.unwrap_or_default();
    let mut samples = HashMap::new();
    for result in tests
        .iter()
        .filter(|result| matches!(result.status, Status::Fail | Status::Warn))
    {
        let node = &manifest.nodes[result.node];
        let Some(sql) = result.compiled_sql.as_ref().or(node.compiled_sql.as_ref()) else {
            continue;
        };
        let sample = format!("select * from (\n{sql}\n) dbt_internal_test limit {SAMPLE_ROWS}");
        if let Ok(table) = postgres.fetch_table(&sample).await {
            samples.insert(node.unique_id.clone(), table);
        }
    }
    Some((history, samples))
}
