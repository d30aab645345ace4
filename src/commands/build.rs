//! `tmk build`, `run`, `seed` and `test`: one pipeline with different plans. Load and parse the
//! project, select, connect, read which relations exist, compile the selected nodes, create the
//! schemas, execute the plan, write artifacts and the summary. Exit code 1 when a node errored
//! or an error-severity test failed. It must not write SQL or print itself: database work goes
//! through `adapter` and `execute`, output through `console`.

use std::sync::Arc;
use std::time::Instant;

use serde_json::json;

use super::session;
use crate::adapter::postgres::{JinjaPostgres, WatermarkedModel};
use crate::artifacts;
use crate::cli::RunArgs;
use crate::compile::CompileEnvironment;
use crate::compile::microbatch::EventTimeWindow;
use crate::console::Console;
use crate::error::Result;
use crate::execute::{self, ExecuteOptions, Status};
use crate::plan::{Plan, PlanKind};

/// Run `kind` with `args`; returns the exit code.
pub async fn run(args: &RunArgs, kind: PlanKind, console: &Console) -> Result<i32> {
    let started = Instant::now();
    let mut session = session::load(&args.project, console)?;
    let selected = session::select(&session.manifest, &args.selection)?;
    let threads = args.threads.unwrap_or(session.target.threads).max(1);
    let plan = Plan::new(&session.manifest, &selected, kind, args.full_refresh);
    if plan.steps.is_empty() {
        console.info("Nothing to do: the selection matches no node of this kind.");
        return Ok(0);
    }
    if args.dry_run {
        console.info(&plan.describe(&session.manifest));
        return Ok(0);
    }
    let postgres = super::connect(&mut session, console, threads + 1).await?;
    // One run per target at a time; tests only read, so a plan of tests alone does not wait.
    let changes_target = plan
        .steps
        .iter()
        .any(|step| step.action != crate::plan::StepAction::Test);
    let run_lock = if changes_target {
        Some(
            postgres
                .lock_target(std::time::Duration::from_secs(args.lock_timeout))
                .await?,
        )
    } else {
        None
    };
    let planned: Vec<usize> = plan.steps.iter().map(|step| step.node).collect();
    let mut schemas: Vec<String> = planned
        .iter()
        .filter(|&&index| session.manifest.nodes[index].is_buildable())
        .filter_map(|&index| {
            session.manifest.nodes[index]
                .relation
                .as_ref()
                .map(|relation| relation.schema.clone())
        })
        .collect();
    schemas.sort();
    schemas.dedup();
    let existing = postgres.existing_relations(&schemas).await?;
    let watermarked: Vec<WatermarkedModel> = planned
        .iter()
        .map(|&index| &session.manifest.nodes[index])
        .filter_map(|node| {
            let column = node.config.get("watermark")?.as_str()?;
            let relation = node.relation.clone()?;
            Some(WatermarkedModel {
                model: node.unique_id.clone(),
                column: column.to_string(),
                exists: existing.get(&relation).is_some_and(|kind| kind == "table"),
                relation,
            })
        })
        .collect();
    let watermarks = postgres.read_watermarks(&watermarked).await?;
    let database: Arc<dyn crate::compile::jinja::context::JinjaDatabase> = Arc::new(JinjaPostgres::new(
        postgres.clone(),
        tokio::runtime::Handle::current(),
    ));
    let environment = CompileEnvironment {
        database: Some(database),
        existing: Arc::new(existing),
        full_refresh: args.full_refresh,
        defer_database_nodes: true,
        watermarks: Arc::new(watermarks),
        event_time_window: EventTimeWindow {
            start: args.event_time_start,
            end: args.event_time_end,
        },
    };
    let manifest = &mut session.manifest;
    tokio::task::block_in_place(|| manifest.compile(&planned, &environment));
    for schema in &schemas {
        postgres.ensure_schema(schema).await?;
    }
    run_project_hooks(
        &session.manifest,
        &session.manifest.on_run_start,
        &environment,
        &postgres,
    )
    .await?;
    let manifest = Arc::new(session.manifest);
    // Compiled SQL is not needed to run: write it while the models build (disks can be slow).
    let compiled_written = {
        let (manifest, target_dir) = (manifest.clone(), session.target_dir.clone());
        tokio::task::spawn_blocking(move || artifacts::write_compiled(&target_dir, &manifest))
    };
    let options = ExecuteOptions {
        threads,
        fail_fast: args.fail_fast,
    };
    let environment = Arc::new(environment);
    let results = execute::execute(
        &plan,
        manifest.clone(),
        &postgres,
        options,
        environment.clone(),
        console,
    )
    .await;
    // A failing on-run-end hook still leaves the run's artifacts and summary behind.
    let run_end = run_project_hooks(&manifest, &manifest.on_run_end, &environment, &postgres).await;
    if let Some(run_lock) = run_lock {
        run_lock.release().await;
    }
    postgres.close().await;
    compiled_written
        .await
        .map_err(|error| crate::error::Error::new(crate::error::ErrorKind::Io, error.to_string()))??;
    let elapsed = started.elapsed().as_secs_f64();
    artifacts::write_run(&session.target_dir, &manifest, &results)?;
    artifacts::write_deferred_compiled(&session.target_dir, &manifest, &results)?;
    artifacts::write_manifest(&session.target_dir, &manifest, &results)?;
    let command = match kind {
        PlanKind::Build => "build",
        PlanKind::Run => "run",
        PlanKind::Seed => "seed",
        PlanKind::Test => "test",
        PlanKind::Snapshot => "snapshot",
    };
    let recorded_args = json!({
        "which": command,
        "select": args.selection.select,
        "exclude": args.selection.exclude,
        "full_refresh": args.full_refresh,
        "fail_fast": args.fail_fast,
        "threads": threads,
        "target": session.target.name,
        "project_dir": session.project.root,
        "target_path": session.target_dir,
    });
    artifacts::write_json(
        &session.target_dir,
        "run_results.json",
        &artifacts::run_results_json(&manifest, &results, elapsed, recorded_args),
    )?;
    console.summary(&manifest, &results, elapsed);
    run_end?;
    let failed = results
        .iter()
        .any(|result| matches!(result.status, Status::Error | Status::Fail));
    Ok(i32::from(failed))
}

/// Render and run `on-run-start` or `on-run-end` statements (rendering may query the database).
async fn run_project_hooks(
    manifest: &crate::compile::Manifest,
    hooks: &[String],
    environment: &CompileEnvironment,
    postgres: &crate::adapter::postgres::Postgres,
) -> Result<()> {
    for hook in hooks {
        let sql = tokio::task::block_in_place(|| manifest.render_run_hook(hook, environment))?;
        if !sql.trim().is_empty() {
            postgres.execute(&sql).await?;
        }
    }
    Ok(())
}
