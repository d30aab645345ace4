//! Running a microbatch model: render it once per batch (upstream relations that set
//! `event_time` filtered to the batch) and replace each batch's rows in its own transaction,
//! oldest first. The first batch of a build from scratch creates (or replaces) the table. A
//! failing batch stops the model; the batches before it stay committed, and a rerun replaces
//! the same windows, so it converges on the table of an uninterrupted run.
//! It must not write SQL (the adapter does) nor print.

use std::sync::Arc;

use crate::adapter::postgres::{BuildOutcome, BuildRequest, Incremental, Postgres, RelationKind};
use crate::compile::microbatch::{BatchWindow, MicrobatchSpec};
use crate::compile::{CompileEnvironment, Manifest};
use crate::error::{Error, ErrorKind, Result};

/// The batches of one microbatch model in one run.
pub struct Batches<'a> {
    /// The project.
    pub manifest: &'a Arc<Manifest>,
    /// The model's node index.
    pub index: usize,
    /// Its batch settings.
    pub spec: &'a MicrobatchSpec,
    /// The compile environment (the run's database and command-line window).
    pub environment: &'a Arc<CompileEnvironment>,
    /// The table is built from scratch (absent, not a table, or `--full-refresh`).
    pub from_scratch: bool,
}

impl Batches<'_> {
    /// Run every batch; `request` carries the model's relation and hooks (pre-hooks run with
    /// the first batch, post-hooks with the last), `incremental` its settings.
    pub async fn run(
        &self,
        postgres: &Postgres,
        request: &BuildRequest<'_>,
        incremental: &Incremental<'_>,
        table_kind: RelationKind,
    ) -> Result<BuildOutcome> {
        let now = chrono::Utc::now().naive_utc();
        let windows = self
            .spec
            .batches(now, self.from_scratch, self.environment.event_time_window);
        let mut total = BuildOutcome::default();
        let last = windows.len().saturating_sub(1);
        for (position, window) in windows.iter().enumerate() {
            let sql = self.render(*window).await?;
            let origin = crate::adapter::postgres::SqlOrigin {
                path: request.origin.path.clone(),
                compiled: Arc::from(sql.as_str()),
            };
            let batch_request = BuildRequest {
                sql: &sql,
                origin: &origin,
                pre_hooks: if position == 0 { request.pre_hooks } else { &[] },
                post_hooks: if position == last { request.post_hooks } else { &[] },
                known_absent: request.known_absent && position == 0,
                ..*request
            };
            let outcome = if position == 0 && self.from_scratch {
                postgres.build_relation(&batch_request, table_kind).await
            } else {
                let batch = Incremental {
                    batch_condition: Some(window.condition(&self.spec.event_time)),
                    ..incremental.clone()
                };
                postgres.insert_incremental(&batch_request, &batch).await
            };
            let outcome = outcome.map_err(|error| {
                let message = format!(
                    "batch {} to {} ({} of {}): {}",
                    window.start,
                    window.end,
                    position + 1,
                    windows.len(),
                    error.message
                );
                Error { message, ..error }.detail(format!(
                    "the {position} batch(es) before it are committed; a rerun replaces the same windows"
                ))
            })?;
            total.rows_affected = Some(total.rows_affected.unwrap_or(0) + outcome.rows_affected.unwrap_or(0));
            total.statements.extend(outcome.statements);
            total.recreated_views.extend(outcome.recreated_views);
        }
        Ok(total)
    }

    /// The model's SQL for one batch (rendering may query the database: blocking thread).
    async fn render(&self, window: BatchWindow) -> Result<String> {
        let (manifest, environment, index) = (self.manifest.clone(), self.environment.clone(), self.index);
        tokio::task::spawn_blocking(move || manifest.compile_batch(index, &environment, window))
            .await
            .map_err(|error| {
                Error::new(
                    ErrorKind::Compilation,
                    format!("compiling a batch failed: {error}"),
                )
            })?
    }
}
