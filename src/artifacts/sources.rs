//! `sources.json`, schema v3: what `tmk source freshness` found for each source table — the
//! newest load time, when it was read, the age, the status (`pass`, `warn`, `error` when stale,
//! `runtime error` when the check failed) and the thresholds — as dbt writes it, so tools that
//! read dbt's freshness results read tmk's. It must not touch files: `artifacts` writes it.

use serde_json::{Value, json};

use crate::compile::Manifest;
use crate::compile::freshness::{FreshnessSpec, Threshold};
use crate::execute::{NodeResult, Status};
use crate::plan::StepAction;

/// The freshness results of a run as JSON.
pub fn sources_json(manifest: &Manifest, results: &[NodeResult], elapsed: f64) -> Value {
    let entries: Vec<Value> = results
        .iter()
        .filter(|result| result.action == StepAction::Freshness)
        .map(|result| result_json(manifest, result))
        .collect();
    json!({
        "metadata": super::metadata("sources/v3.json"),
        "results": entries,
        "elapsed_time": elapsed,
    })
}

fn result_json(manifest: &Manifest, result: &NodeResult) -> Value {
    let node = &manifest.nodes[result.node];
    let status = match result.status {
        Status::Pass => "pass",
        Status::Warn => "warn",
        Status::Fail => "error",
        _ => "runtime error",
    };
    let reading = result.freshness.as_ref();
    json!({
        "unique_id": node.unique_id,
        "max_loaded_at": reading.and_then(|reading| reading.max_loaded_at.clone()),
        "snapshotted_at": reading.map(|reading| reading.snapshotted_at.clone()),
        "max_loaded_at_time_ago_in_s": reading.and_then(|reading| reading.age_seconds),
        "status": status,
        "criteria": node.freshness.as_deref().map(criteria_json),
        "adapter_response": {},
        "timing": [{
            "name": "execute",
            "started_at": super::format_time(&result.started_at),
            "completed_at": super::format_time(&result.completed_at),
        }],
        "thread_id": format!("Thread-{} (worker)", result.thread_id.max(1)),
        "execution_time": result.execution_time,
        "message": (status == "runtime error").then(|| result.message.clone()),
    })
}

fn criteria_json(spec: &FreshnessSpec) -> Value {
    let threshold = |threshold: Option<Threshold>| {
        threshold.map(|threshold| json!({"count": threshold.count, "period": threshold.period.as_str()}))
    };
    json!({
        "warn_after": threshold(spec.warn_after),
        "error_after": threshold(spec.error_after),
        "filter": spec.filter,
    })
}
