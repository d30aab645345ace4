//! The audit trail in the database: `tmk_meta.runs` (one row per run: who ran which command
//! on which selection and target, when, and how it ended) and `tmk_meta.node_runs` (one row per
//! node of a run as it finishes). Written on a connection of its own as the run goes: the run's
//! row once the run starts, node rows in batches by a background writer (so a thousand models
//! cost a handful of round trips, none on the path of a build), and the run's end and status
//! last — also when the run fails or is cancelled. It must not decide statuses or what a run
//! is: callers hand it the records.

use std::time::Duration;

use sqlx::{Connection, PgConnection};
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

use super::{Postgres, statement_error};
use crate::error::{Error, ErrorKind, Result};

/// Node rows are written when this many wait, or this long after the first of them arrived.
const BATCH_ROWS: usize = 200;
const BATCH_WAIT: Duration = Duration::from_millis(250);

/// A run as `tmk_meta.runs` records it when it starts (target and database user are the
/// connection's).
#[derive(Debug, Clone)]
pub struct RunRecord {
    /// The invocation id.
    pub run_id: String,
    /// `build`, `run`, `seed`, `snapshot` or `test`.
    pub command: String,
    /// `--select`/`--exclude` as typed, None for everything.
    pub selection: Option<String>,
    /// The operating-system user running tmk, when known.
    pub os_user: Option<String>,
    /// When the run started.
    pub started_at: chrono::DateTime<chrono::Utc>,
}

/// One finished node as `tmk_meta.node_runs` records it.
#[derive(Debug, Clone)]
pub struct NodeRun {
    /// The node's unique id.
    pub unique_id: String,
    /// `model`, `seed`, `test`, `snapshot`.
    pub resource_type: String,
    /// How it was built (`view`, `table`, `incremental`, `seed`, `snapshot`, `test`).
    pub materialization: String,
    /// `success`, `error`, `skipped`, `pass`, `fail`, `warn` or `cancelled`.
    pub status: String,
    /// When it started.
    pub started_at: chrono::DateTime<chrono::Utc>,
    /// Seconds it took.
    pub duration_seconds: f64,
    /// Rows it affected, when known.
    pub rows_affected: Option<i64>,
    /// Times it was run again after a transient fault.
    pub retries: i32,
    /// Why it did not succeed (the database's message), None when it did.
    pub error_message: Option<String>,
    /// For tests: failing rows (also kept in `tmk_meta.test_results`).
    pub failures: Option<i64>,
}

/// How a run ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RunStatus {
    /// Every node succeeded (tests may have warned).
    Success,
    /// A node or a hook failed, or tmk stopped on an error.
    Error,
    /// Stopped by Ctrl-C.
    Cancelled,
}

impl RunStatus {
    fn as_str(self) -> &'static str {
        match self {
            RunStatus::Success => "success",
            RunStatus::Error => "error",
            RunStatus::Cancelled => "cancelled",
        }
    }
}

/// A run being recorded; node rows go to a background writer.
pub struct Audit {
    run_id: String,
    sender: mpsc::UnboundedSender<NodeRun>,
    writer: JoinHandle<(Option<PgConnection>, Result<()>)>,
}

impl Postgres {
    /// Start recording `run`: in the background (off the run's path), connect, create the
    /// audit tables when missing, record the run as running, then write node rows as they come
    /// through the returned [`Audit`], which must be finished. A failure to record shows when
    /// the audit is finished; it does not stop the run.
    pub fn start_audit(&self, run: &RunRecord) -> Audit {
        let (sender, receiver) = mpsc::unbounded_channel();
        let (postgres, run) = (self.clone(), run.clone());
        let run_id = run.run_id.clone();
        let writer = tokio::spawn(async move {
            match postgres.record_run_start(&run).await {
                Ok(connection) => {
                    let (connection, written) = write_nodes(connection, run.run_id.clone(), receiver).await;
                    (Some(connection), written)
                }
                Err(error) => (None, Err(error)),
            }
        });
        Audit {
            run_id,
            sender,
            writer,
        }
    }

    /// Connect, create the audit tables when missing and insert the run's row.
    async fn record_run_start(&self, run: &RunRecord) -> Result<PgConnection> {
        let mut connection = self.dedicated_connection().await?;
        super::meta::ensure_tables(&mut connection).await.map_err(|error| {
            error.hint("tmk records its runs in schema `tmk_meta`: the target's user needs to create it once, or to write to it")
        })?;
        let target = self.target();
        let insert = "insert into tmk_meta.runs (run_id, command, selection, db_user, os_user, target, \
                      target_schema, started_at, status) \
                      values ($1, $2, $3, current_user, $4, $5, $6, $7, 'running')";
        sqlx::query(insert)
            .bind(&run.run_id)
            .bind(&run.command)
            .bind(&run.selection)
            .bind(&run.os_user)
            .bind(&target.name)
            .bind(&target.schema)
            .bind(run.started_at)
            .execute(&mut connection)
            .await
            .map_err(|error| statement_error(&error, insert, None, 0))?;
        Ok(connection)
    }
}

impl Audit {
    /// Record a finished node (written by the background writer, soon).
    pub fn record(&self, node: NodeRun) {
        // The writer runs until `finish`; only a panic could end it sooner.
        let _ = self.sender.send(node);
    }

    /// Write the nodes still waiting, then the run's end and `status` (also after node rows
    /// failed to be written, which is then the error returned).
    pub async fn finish(self, status: RunStatus) -> Result<()> {
        drop(self.sender);
        let (connection, written) = self.writer.await.map_err(|error| {
            Error::new(
                ErrorKind::Database,
                format!("recording the run in tmk_meta failed: {error}"),
            )
        })?;
        let Some(mut connection) = connection else {
            return written;
        };
        let update = "update tmk_meta.runs set ended_at = $2, status = $3 where run_id = $1";
        let updated = sqlx::query(update)
            .bind(&self.run_id)
            .bind(chrono::Utc::now())
            .bind(status.as_str())
            .execute(&mut connection)
            .await
            .map_err(|error| statement_error(&error, update, None, 0));
        let _ = connection.close().await;
        written.and(updated.map(|_| ()))
    }
}

/// Write node rows in batches until the channel closes; hands the connection back with the
/// first error (after which nothing more is written).
async fn write_nodes(
    mut connection: PgConnection,
    run_id: String,
    mut receiver: mpsc::UnboundedReceiver<NodeRun>,
) -> (PgConnection, Result<()>) {
    let mut written = Ok(());
    let mut batch = Vec::with_capacity(BATCH_ROWS);
    while let Some(first) = receiver.recv().await {
        batch.push(first);
        let deadline = tokio::time::Instant::now() + BATCH_WAIT;
        while batch.len() < BATCH_ROWS {
            match tokio::time::timeout_at(deadline, receiver.recv()).await {
                Ok(Some(node)) => batch.push(node),
                // Closed (the run ended) or waited long enough: write what there is.
                Ok(None) | Err(_) => break,
            }
        }
        if written.is_ok() {
            written = insert_nodes(&mut connection, &run_id, &batch).await;
        }
        batch.clear();
    }
    (connection, written)
}

/// One insert for a batch of nodes.
async fn insert_nodes(connection: &mut PgConnection, run_id: &str, nodes: &[NodeRun]) -> Result<()> {
    // One statement: the node rows, and the tests' rows in `test_results`.
    let insert = "with batch as (select * from unnest($2::text[], $3::text[], $4::text[], $5::text[], \
                  $6::timestamptz[], $7::float8[], $8::int8[], $9::int4[], $10::text[], $11::int8[]) \
                  as node(unique_id, resource_type, materialization, status, started_at, duration_seconds, \
                  rows_affected, retries, error_message, failures)), \
                  nodes as (insert into tmk_meta.node_runs (run_id, unique_id, resource_type, materialization, \
                  status, started_at, duration_seconds, rows_affected, retries, error_message) \
                  select $1, unique_id, resource_type, materialization, status, started_at, duration_seconds, \
                  rows_affected, retries, error_message from batch) \
                  insert into tmk_meta.test_results (run_id, unique_id, status, failures, duration_seconds, recorded_at) \
                  select $1, unique_id, status, failures, duration_seconds, started_at from batch \
                  where resource_type = 'test'";
    let column = |field: fn(&NodeRun) -> String| nodes.iter().map(field).collect::<Vec<String>>();
    sqlx::query(insert)
        .bind(run_id)
        .bind(column(|node| node.unique_id.clone()))
        .bind(column(|node| node.resource_type.clone()))
        .bind(column(|node| node.materialization.clone()))
        .bind(column(|node| node.status.clone()))
        .bind(nodes.iter().map(|node| node.started_at).collect::<Vec<_>>())
        .bind(nodes.iter().map(|node| node.duration_seconds).collect::<Vec<_>>())
        .bind(nodes.iter().map(|node| node.rows_affected).collect::<Vec<_>>())
        .bind(nodes.iter().map(|node| node.retries).collect::<Vec<_>>())
        .bind(
            nodes
                .iter()
                .map(|node| node.error_message.clone())
                .collect::<Vec<_>>(),
        )
        .bind(nodes.iter().map(|node| node.failures).collect::<Vec<_>>())
        .execute(connection)
        .await
        .map_err(|error| statement_error(&error, insert, None, 0))?;
    Ok(())
}

/// One earlier result of a test, from `tmk_meta.test_results`.
#[derive(Debug, Clone, PartialEq)]
pub struct TestHistoryEntry {
    /// When it ran (ISO 8601).
    pub recorded_at: String,
    /// `pass`, `warn`, `fail`, `error`, ...
    pub status: String,
    /// Failing rows, when counted.
    pub failures: Option<i64>,
}

impl Postgres {
    /// The last `runs` results on this target of each test in `unique_ids`, newest first
    /// (empty when the history table does not exist yet).
    pub async fn test_history(
        &self,
        unique_ids: &[String],
        runs: i64,
    ) -> Result<std::collections::HashMap<String, Vec<TestHistoryEntry>>> {
        // Runs of this target only: another target's tests share the unique ids.
        let sql = "select unique_id, to_char(recorded_at at time zone 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"'), status, failures \
                   from (select result.*, row_number() over (partition by unique_id order by recorded_at desc) as position \
                         from tmk_meta.test_results result join tmk_meta.runs run using (run_id) \
                         where unique_id = any($1) and run.target = $3 and run.target_schema = $4) recent \
                   where position <= $2 \
                   order by unique_id, recorded_at desc";
        let present: (bool,) = sqlx::query_as("select to_regclass('tmk_meta.test_results') is not null")
            .fetch_one(&self.pool)
            .await
            .map_err(|error| statement_error(&error, "select to_regclass(..)", None, 0))?;
        let mut history: std::collections::HashMap<String, Vec<TestHistoryEntry>> = Default::default();
        if !present.0 {
            return Ok(history);
        }
        let rows: Vec<(String, String, String, Option<i64>)> = sqlx::query_as(sql)
            .bind(unique_ids)
            .bind(runs)
            .bind(&self.target().name)
            .bind(&self.target().schema)
            .fetch_all(&self.pool)
            .await
            .map_err(|error| statement_error(&error, sql, None, 0))?;
        for (unique_id, recorded_at, status, failures) in rows {
            history.entry(unique_id).or_default().push(TestHistoryEntry {
                recorded_at,
                status,
                failures,
            });
        }
        Ok(history)
    }
}
