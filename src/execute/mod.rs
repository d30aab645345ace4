//! Walking a plan: steps start as soon as the steps they wait for have finished, at most
//! `threads` at a time; an error or a failed error-severity test skips every step that waits on
//! it (directly or not); `--fail-fast` stops starting new steps after the first failure, so
//! does a connection to PostgreSQL lost for good (every further step would wait the pool's
//! connect timeout only to fail too), and Ctrl-C (see `cancel`) too, recording the steps it
//! stopped or never started as cancelled.
//! Steps that hit a transient database fault run again a few times (see `step`). Results are
//! recorded per node and announced through a `Reporter`. Database work goes through the
//! adapter; this module never writes SQL and never prints (the `Reporter` does).

mod cancel;
mod microbatch;
mod step;

pub use step::read_seed_file;
mod test_batches;

use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::task::JoinSet;

use crate::adapter::postgres::Postgres;
use crate::compile::{CompileEnvironment, Manifest};
use crate::error::ErrorKind;
use crate::plan::{Plan, StepAction};

pub use cancel::{Cancel, CtrlC};

/// The outcome of one node.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    /// Built.
    Success,
    /// Failed to build.
    Error,
    /// Not run because an upstream step failed (or fail-fast stopped the run).
    Skipped,
    /// Test passed.
    Pass,
    /// Test failed at error severity.
    Fail,
    /// Test failed at warn severity.
    Warn,
    /// Stopped while running, or never started, because the run was cancelled (Ctrl-C).
    Cancelled,
}

impl Status {
    /// dbt's status word in run_results.json.
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Success => "success",
            Status::Error => "error",
            Status::Skipped => "skipped",
            Status::Pass => "pass",
            Status::Fail => "fail",
            Status::Warn => "warn",
            Status::Cancelled => "cancelled",
        }
    }

    /// Whether descendants must be skipped (a cancelled run starts nothing anyway: what did
    /// not run is recorded as cancelled, not skipped).
    pub fn blocks_descendants(self) -> bool {
        matches!(self, Status::Error | Status::Fail | Status::Skipped)
    }
}

/// What happened to one node.
#[derive(Debug, Clone)]
pub struct NodeResult {
    /// Node index.
    pub node: usize,
    /// The step's action.
    pub action: StepAction,
    /// Outcome.
    pub status: Status,
    /// A human message (`CREATE VIEW`, `SELECT 42`, the error, `Got 3 results, configured to fail if != 0`).
    pub message: String,
    /// The error, for errors.
    pub error: Option<crate::error::Error>,
    /// Seconds taken.
    pub execution_time: f64,
    /// When it started and ended.
    pub started_at: chrono::DateTime<chrono::Utc>,
    /// When it ended.
    pub completed_at: chrono::DateTime<chrono::Utc>,
    /// Rows affected (tables, seeds).
    pub rows_affected: Option<u64>,
    /// Failing rows (tests).
    pub failures: Option<i64>,
    /// Times the step ran again after a transient fault.
    pub retries: u32,
    /// The statements that ran (for target/run).
    pub statements: Vec<String>,
    /// Worker slot that ran it.
    pub thread_id: usize,
    /// SQL compiled just before the run (nodes whose Jinja queries the database).
    pub compiled_sql: Option<String>,
    /// What a source freshness check read.
    pub freshness: Option<crate::adapter::postgres::FreshnessReading>,
}

/// Receives progress as the run goes (implemented by the console).
pub trait Reporter: Send + Sync {
    /// A node finished (`position` is its 1-based finishing position out of `total`).
    fn node_finished(&self, manifest: &Manifest, result: &NodeResult, position: usize, total: usize);

    /// The run was cancelled while `running` steps ran: they are being stopped.
    fn run_cancelled(&self, running: usize);
}

/// How to run.
#[derive(Debug, Clone, Copy)]
pub struct ExecuteOptions {
    /// Maximum steps at once.
    pub threads: usize,
    /// Stop at the first failure.
    pub fail_fast: bool,
}

/// How long a cancelled run waits for a running step to stop before abandoning it.
const CANCEL_GRACE: Duration = Duration::from_secs(10);

/// Run the plan until it ends or `cancel` fires; returns one result per step, in finishing
/// order.
pub async fn execute(
    plan: &Plan,
    manifest: Arc<Manifest>,
    postgres: &Postgres,
    options: ExecuteOptions,
    environment: Arc<CompileEnvironment>,
    cancel: &Cancel,
    reporter: &dyn Reporter,
) -> Vec<NodeResult> {
    let total = plan.steps.len();
    let mut waiting: Vec<usize> = plan.steps.iter().map(|step| step.waits_for.len()).collect();
    let mut dependents: Vec<Vec<usize>> = vec![Vec::new(); total];
    for (index, step) in plan.steps.iter().enumerate() {
        for &wait in &step.waits_for {
            dependents[wait].push(index);
        }
    }
    let mut ready: std::collections::VecDeque<usize> =
        (0..total).filter(|&index| waiting[index] == 0).collect();
    let mut done = vec![false; total];
    let mut free_threads: Vec<usize> = (1..=options.threads.max(1)).rev().collect();
    let mut running: JoinSet<(usize, usize, NodeResult)> = JoinSet::new();
    let mut results = Vec::with_capacity(total);
    // Set when no new step may start (besides Ctrl-C): why the steps left are skipped.
    let mut stop_reason: Option<&'static str> = None;
    let mut watch = cancel.clone();
    let batches = Arc::new(test_batches::BatchAnswers::new(plan.test_batches.clone()));
    while results.len() < total {
        let cancelled = cancel.is_cancelled();
        while stop_reason.is_none() && !cancelled && !ready.is_empty() && !free_threads.is_empty() {
            let Some(step_index) = ready.pop_front() else {
                break;
            };
            let Some(thread) = free_threads.pop() else { break };
            let step = plan.steps[step_index].clone();
            let manifest = manifest.clone();
            let postgres = postgres.clone();
            let environment = environment.clone();
            let cancel = cancel.clone();
            let batches = batches.clone();
            running.spawn(async move {
                let context = step::StepContext {
                    postgres: &postgres,
                    cancel: &cancel,
                    batches: &batches,
                };
                let result = step::run_step(manifest, &context, &step, thread, environment).await;
                (step_index, thread, result)
            });
        }
        let joined = tokio::select! {
            joined = running.join_next() => joined,
            () = watch.cancelled(), if !cancelled => {
                reporter.run_cancelled(running.len());
                continue;
            }
            () = tokio::time::sleep(CANCEL_GRACE), if cancelled => {
                // A step that does not stop (its statement ignores the cancel) is abandoned;
                // its connection closes when tmk exits, which rolls its transaction back.
                running.shutdown().await;
                let remaining = Remaining { plan, manifest: &manifest, reporter, total };
                let reason = format!(
                    "cancelled (Ctrl-C): it had not started, or did not stop within {} s and was abandoned",
                    CANCEL_GRACE.as_secs()
                );
                remaining.finish(&mut done, &mut results, Status::Cancelled, &reason);
                break;
            }
        };
        let finished = match joined {
            Some(Ok(finished)) => finished,
            Some(Err(join_error)) => {
                // A step task panicked (a bug in tmk): which step is unknown, so every step
                // not finished is reported as an error and the run fails.
                let reason = format!("not run: internal error, a step failed unexpectedly ({join_error})");
                let remaining = Remaining {
                    plan,
                    manifest: &manifest,
                    reporter,
                    total,
                };
                remaining.finish(&mut done, &mut results, Status::Error, &reason);
                break;
            }
            None => {
                // Nothing running and nothing ready: only a stopped run ends like this; anything
                // else is a plan whose waits form a cycle, which is a bug in tmk.
                let (status, reason) = stopped(cancelled, stop_reason).unwrap_or((
                    Status::Error,
                    "not run: internal error, the plan's steps wait for each other",
                ));
                let remaining = Remaining {
                    plan,
                    manifest: &manifest,
                    reporter,
                    total,
                };
                remaining.finish(&mut done, &mut results, status, reason);
                break;
            }
        };
        let (step_index, thread, mut result) = finished;
        if cancel.is_cancelled() && result.status == Status::Error {
            // Failed because its statement was cancelled (or while the run was stopping).
            result.status = Status::Cancelled;
            result.message = format!("{CANCELLED_RUNNING}: {}", result.message);
        }
        free_threads.push(thread);
        done[step_index] = true;
        let blocks = result.status.blocks_descendants();
        let lost_connection = result
            .error
            .as_ref()
            .is_some_and(|error| error.kind == ErrorKind::Connection);
        if stop_reason.is_none() && lost_connection {
            stop_reason = Some(CONNECTION_LOST_REASON);
        } else if stop_reason.is_none() && blocks && options.fail_fast {
            stop_reason = Some(FAIL_FAST_REASON);
        }
        reporter.node_finished(&manifest, &result, results.len() + 1, total);
        results.push(result);
        if blocks {
            for skipped in skip_descendants(step_index, &dependents, &mut done) {
                let name = &manifest.nodes[plan.steps[step_index].node].unique_id;
                let result = step::unfinished(
                    &plan.steps[skipped],
                    Status::Skipped,
                    &format!("skipped because `{name}` did not succeed"),
                );
                reporter.node_finished(&manifest, &result, results.len() + 1, total);
                results.push(result);
            }
        } else {
            for &dependent in &dependents[step_index] {
                waiting[dependent] -= 1;
                if waiting[dependent] == 0 && !done[dependent] {
                    ready.push_back(dependent);
                }
            }
        }
        if running.is_empty()
            && let Some((status, reason)) = stopped(cancel.is_cancelled(), stop_reason)
        {
            let remaining = Remaining {
                plan,
                manifest: &manifest,
                reporter,
                total,
            };
            remaining.finish(&mut done, &mut results, status, reason);
        }
    }
    results
}

const FAIL_FAST_REASON: &str = "skipped: the run stopped at the first failure (--fail-fast)";
const CONNECTION_LOST_REASON: &str = "skipped: the run stopped when the connection to PostgreSQL was lost";
const CANCELLED_RUNNING: &str = "cancelled (Ctrl-C) while running; its transaction rolled back";
const CANCELLED_NOT_STARTED: &str = "cancelled (Ctrl-C) before it started";

/// How the steps left are recorded when the run stops early: cancelled by Ctrl-C, or skipped
/// for `stop_reason` (--fail-fast, a lost connection); None when the run has not stopped.
fn stopped(cancelled: bool, stop_reason: Option<&'static str>) -> Option<(Status, &'static str)> {
    if cancelled {
        Some((Status::Cancelled, CANCELLED_NOT_STARTED))
    } else {
        stop_reason.map(|reason| (Status::Skipped, reason))
    }
}

/// Finishing the steps that will not run.
struct Remaining<'a> {
    plan: &'a Plan,
    manifest: &'a Arc<Manifest>,
    reporter: &'a dyn Reporter,
    total: usize,
}

impl Remaining<'_> {
    /// Record every step not done yet with `status` and `reason`, and report it.
    fn finish(&self, done: &mut [bool], results: &mut Vec<NodeResult>, status: Status, reason: &str) {
        for (index, step) in self.plan.steps.iter().enumerate() {
            if !done[index] {
                done[index] = true;
                let result = step::unfinished(step, status, reason);
                self.reporter
                    .node_finished(self.manifest, &result, results.len() + 1, self.total);
                results.push(result);
            }
        }
    }
}

/// Mark every transitive dependent of `step` as done; returns them.
fn skip_descendants(step: usize, dependents: &[Vec<usize>], done: &mut [bool]) -> Vec<usize> {
    let mut skipped = Vec::new();
    let mut stack = dependents[step].clone();
    while let Some(next) = stack.pop() {
        if done[next] {
            continue;
        }
        done[next] = true;
        skipped.push(next);
        stack.extend(dependents[next].iter().copied());
    }
    skipped.sort_unstable();
    skipped
}

/// Elapsed seconds since `start`.
pub(crate) fn seconds_since(start: Instant) -> f64 {
    start.elapsed().as_secs_f64()
}
