//! What the data-quality report needs from the database besides the run's results: each
//! test's earlier results from `tmk_meta.test_results` (read while the run goes, so the run
//! does not wait for it) and a few failing rows of each failing or warning test. Best effort:
//! the report is written without what could not be read. It must not write SQL itself (the
//! adapter runs the queries).

use std::collections::HashMap;

use tokio::task::JoinHandle;

use crate::adapter::postgres::{Postgres, TestHistoryEntry};
use crate::compile::Manifest;
use crate::compile::jinja::context::QueryTable;
use crate::execute::{NodeResult, Status};
use crate::plan::{Plan, StepAction};

/// How many earlier runs the trend shows (this run comes on top).
const EARLIER_RUNS: i64 = 9;
/// How many failing rows the report shows per test.
const SAMPLE_ROWS: usize = 5;

/// Earlier results of each planned test, being read.
pub type History = JoinHandle<HashMap<String, Vec<TestHistoryEntry>>>;

/// Start reading the earlier results of the plan's tests; None when the plan has no test.
pub fn start_history(postgres: &Postgres, manifest: &Manifest, plan: &Plan) -> Option<History> {
    let ids: Vec<String> = plan
        .steps
        .iter()
        .filter(|step| step.action == StepAction::Test)
        .map(|step| manifest.nodes[step.node].unique_id.clone())
        .collect();
    if ids.is_empty() {
        return None;
    }
    let postgres = postgres.clone();
    Some(tokio::spawn(async move {
        postgres
            .test_history(&ids, EARLIER_RUNS)
            .await
            .unwrap_or_default()
    }))
}

/// The earlier results and the failing-row samples of the run's tests.
pub async fn gather(
    postgres: &Postgres,
    manifest: &Manifest,
    results: &[NodeResult],
    history: History,
) -> (
    HashMap<String, Vec<TestHistoryEntry>>,
    HashMap<String, QueryTable>,
) {
    let mut samples = HashMap::new();
    for result in results
        .iter()
        .filter(|result| result.action == StepAction::Test)
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
    (history.await.unwrap_or_default(), samples)
}
