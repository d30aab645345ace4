//! What a run of `build`, `run`, `seed`, `snapshot` or `test` records in the audit trail
//! (`tmk_meta`, written by the adapter): the run's command, selection and operating-system user
//! when it starts, each node's result as it finishes (a `Reporter` that hands results to the
//! console and to the audit writer), and how the run ended. It must not write SQL (the adapter
//! does) nor print (the console does).

use crate::adapter::postgres::{Audit, NodeRun, RunRecord, RunStatus};
use crate::cli::SelectionArgs;
use crate::compile::Manifest;
use crate::console::Console;
use crate::execute::{NodeResult, Reporter, Status};

/// The run as `tmk_meta.runs` records it when it starts.
pub fn run_record(command: &str, selection: &SelectionArgs) -> RunRecord {
    let mut parts = Vec::new();
    if !selection.select.is_empty() {
        parts.push(format!("--select {}", selection.select.join(" ")));
    }
    if !selection.exclude.is_empty() {
        parts.push(format!("--exclude {}", selection.exclude.join(" ")));
    }
    RunRecord {
        run_id: crate::invocation::id(),
        command: command.to_string(),
        selection: (!parts.is_empty()).then(|| parts.join(" ")),
        os_user: ["USER", "LOGNAME", "USERNAME"]
            .iter()
            .find_map(|name| std::env::var(name).ok().filter(|user| !user.is_empty())),
        started_at: chrono::Utc::now(),
    }
}

/// How the run ended: cancelled by Ctrl-C, an error when a node errored, a test failed or
/// something else stopped it (`failed`), else a success.
pub fn run_status(results: &[NodeResult], cancelled: bool, failed: bool) -> RunStatus {
    if cancelled {
        RunStatus::Cancelled
    } else if failed
        || results
            .iter()
            .any(|result| matches!(result.status, Status::Error | Status::Fail))
    {
        RunStatus::Error
    } else {
        RunStatus::Success
    }
}

/// Reports each finished node to the console and records it in the audit trail.
pub struct AuditedReporter<'a> {
    /// Where people read progress.
    pub console: &'a Console,
    /// The run's audit trail.
    pub audit: &'a Audit,
}

impl Reporter for AuditedReporter<'_> {
    fn node_finished(&self, manifest: &Manifest, result: &NodeResult, position: usize, total: usize) {
        self.console.node_finished(manifest, result, position, total);
        self.audit.record(node_run(manifest, result));
    }

    fn run_cancelled(&self, running: usize) {
        self.console.run_cancelled(running);
    }
}

/// A finished node as `tmk_meta.node_runs` records it.
fn node_run(manifest: &Manifest, result: &NodeResult) -> NodeRun {
    let node = &manifest.nodes[result.node];
    let error_message = match (result.status, &result.error) {
        (Status::Success | Status::Pass, _) => None,
        (Status::Error, Some(error)) => Some(error.summary()),
        _ => Some(result.message.clone()),
    };
    NodeRun {
        unique_id: node.unique_id.clone(),
        resource_type: node.resource_type.as_str().to_string(),
        materialization: result.action.describe().to_string(),
        status: result.status.as_str().to_string(),
        started_at: result.started_at,
        duration_seconds: result.execution_time,
        rows_affected: result.rows_affected.and_then(|rows| i64::try_from(rows).ok()),
        retries: i32::try_from(result.retries).unwrap_or(i32::MAX),
        error_message,
        failures: result.failures,
    }
}
