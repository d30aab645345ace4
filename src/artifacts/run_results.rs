//! `run_results.json`, schema v6: one result per executed node with status, timing, thread,
//! execution time, adapter response, message and failures, plus the run's elapsed time and args.

use serde_json::{Value, json};

use crate::compile::Manifest;
use crate::execute::NodeResult;

/// The run results as JSON; `args` are the command's arguments as dbt records them.
pub fn run_results_json(manifest: &Manifest, results: &[NodeResult], elapsed: f64, args: Value) -> Value {
    let format_time =
        |time: &chrono::DateTime<chrono::Utc>| time.format("%Y-%m-%dT%H:%M:%S%.6fZ").to_string();
    let entries: Vec<Value> = results
        .iter()
        .map(|result| {
            let node = &manifest.nodes[result.node];
            json!({
                "status": result.status.as_str(),
                "timing": [
                    {"name": "compile", "started_at": format_time(&result.started_at), "completed_at": format_time(&result.started_at)},
                    {"name": "execute", "started_at": format_time(&result.started_at), "completed_at": format_time(&result.completed_at)},
                ],
                "thread_id": format!("Thread-{} (worker)", result.thread_id),
                "execution_time": result.execution_time,
                "adapter_response": match result.rows_affected {
                    Some(rows) => json!({"_message": result.message, "code": result.message.split(' ').next().unwrap_or_default(), "rows_affected": rows}),
                    None => json!({}),
                },
                "message": if result.message == "PASS" { Value::Null } else { Value::from(result.message.clone()) },
                "failures": result.failures,
                "unique_id": node.unique_id,
                "compiled": node.compiled_sql.is_some() || result.compiled_sql.is_some(),
                "compiled_code": result.compiled_sql.as_ref().or(node.compiled_sql.as_ref()),
                "relation_name": node.relation.as_ref().map(|relation| relation.render()),
                "batch_results": null,
            })
        })
        .collect();
    json!({
        "metadata": super::metadata("run-results/v6.json"),
        "results": entries,
        "elapsed_time": elapsed,
        "args": args,
    })
}
