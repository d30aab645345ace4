//! `tmk build`, `run`, `seed`, `snapshot` and `test`: one pipeline with different plans. Load
//! and parse the project, select, connect, take the target's run lock (unless only tests run),
//! read which relations exist and their columns, compile the selected nodes and show the
//! problems found in their SQL (with `--strict` they stop the run here, exit code 2, before
//! anything changes), start the run's audit trail, create the schemas, execute the plan,
//! record how the run ended, write artifacts and the summary. Exit code 1 when a node errored
//! or an error-severity test failed, 130 when Ctrl-C cancelled the run. It must not write SQL or print itself: database work goes through `adapter` and
//! `execute`, output through `console`.

use std::collections::HashSet;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Instant;

use serde_json::json;

use super::run_audit::{self, AuditedReporter};
use super::session::{self, Session};
use crate::adapter::postgres::{Audit, JinjaPostgres, Postgres, RunLock, RunStatus, WatermarkedModel};
use crate::artifacts;
use crate::cli::RunArgs;
use crate::compile::microbatch::EventTimeWindow;
use crate::compile::node::ResourceType;
use crate::compile::{CompileEnvironment, Manifest};
use crate::console::Console;
use crate::error::{Error, ErrorKind, Result};
use crate::execute::{self, Cancel, ExecuteOptions, NodeResult, Status};
use crate::plan::{Plan, PlanKind, StepAction};

/// The exit code of a run cancelled by Ctrl-C (128 + SIGINT, as shells report it).
pub const CANCELLED_EXIT_CODE: i32 = 130;

/// Run `kind` with `args`; returns the exit code. `strict`: problems found in the compiled SQL
/// stop the run before anything runs (exit code 2).
pub async fn run(args: &RunArgs, kind: PlanKind, strict: bool, console: &Console) -> Result<i32> {
    let every_source;
    let args = if matches!(kind, PlanKind::Freshness | PlanKind::Extract) && args.selection.select.is_empty()
    {
        // `tmk source freshness` checks and `tmk extract` copies every source unless told otherwise.
        let mut all = args.clone();
        all.selection.select = vec!["source:*".to_string()];
        every_source = all;
        &every_source
    } else {
        args
    };
    let started = Instant::now();
    let mut session = session::load(&args.project, console)?;
    let selected = session::select(&session, &args.selection)?;
    let deferral = super::defer::read(&session.manifest, &args.defer, &args.selection, console)?;
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
    // One run per target at a time; tests (unless they store their failures) and freshness
    // checks only read, so a plan of them alone does not wait.
    let changes_target = plan.steps.iter().any(|step| match step.action {
        StepAction::Test => {
            crate::compile::config::store_failures_as(&session.manifest.nodes[step.node].config).is_some()
        }
        StepAction::Freshness => false,
        _ => true,
    });
    let run_lock = if changes_target {
        Some(
            postgres
                .lock_target(std::time::Duration::from_secs(args.lock_timeout))
                .await?,
        )
    } else {
        None
    };
    let command = match kind {
        PlanKind::Build => "build",
        PlanKind::Run => "run",
        PlanKind::Seed => "seed",
        PlanKind::Test => "test",
        PlanKind::Snapshot => "snapshot",
        PlanKind::Freshness => "source freshness",
        PlanKind::Extract => "extract",
    };
    let Session {
        manifest,
        target_dir,
        project,
        target,
        ..
    } = session;
    // Compiled before the run is recorded or anything changes, so that `--strict` stops it first.
    let compiled = match compile(manifest, &plan, args, &postgres, deferral, console).await {
        Ok(compiled) => compiled,
        Err(error) => {
            close(run_lock, &postgres).await;
            return Err(error);
        }
    };
    super::compile::show_sql_problems(&compiled.manifest, console, strict);
    let problems = compiled.manifest.sql.problems.len();
    if strict && problems > 0 {
        close(run_lock, &postgres).await;
        let what = if problems == 1 {
            "the problem found in the compiled SQL an error".to_string()
        } else {
            format!("the {problems} problems found in the compiled SQL errors")
        };
        console.info(&format!("Nothing ran: --strict makes {what}."));
        return Ok(2);
    }
    // From here on Ctrl-C cancels the run (and the run is recorded) instead of ending tmk.
    let (cancel, ctrl_c) = Cancel::on_ctrl_c(postgres.clone());
    let audit = postgres.start_audit(&run_audit::run_record(command, &args.selection));
    let context = RunContext {
        plan: &plan,
        args,
        threads,
        postgres: &postgres,
        cancel: &cancel,
        audit: &audit,
        console,
        target_dir: &target_dir,
    };
    // Earlier test results for the DQ report are read while the run goes.
    let history = super::dq::start_history(&postgres, &compiled.manifest, &plan);
    let ran = context.run(compiled).await;
    drop(ctrl_c);
    let cancelled = cancel.is_cancelled();
    let status = match &ran {
        Ok(ran) => run_audit::run_status(&ran.results, cancelled, ran.run_end.is_err()),
        Err(_) if cancelled => RunStatus::Cancelled,
        Err(_) => RunStatus::Error,
    };
    let recorded = audit.finish(status).await;
    let quality = match (&ran, history) {
        (Ok(ran), Some(history)) => {
            Some(super::dq::gather(&postgres, &ran.manifest, &ran.results, history).await)
        }
        _ => None,
    };
    close(run_lock, &postgres).await;
    if let Err(error) = recorded {
        console.warn(&error.detail("this run's audit trail in tmk_meta is incomplete"));
    }
    let ran = match ran {
        Err(_) if cancelled => {
            console.cancelled();
            return Ok(CANCELLED_EXIT_CODE);
        }
        ran => ran?,
    };
    let Ran {
        manifest,
        results,
        run_end,
        compiled_written,
    } = ran;
    compiled_written
        .await
        .map_err(|error| Error::new(ErrorKind::Io, error.to_string()))??;
    let elapsed = started.elapsed().as_secs_f64();
    artifacts::write_run(&target_dir, &manifest, &results)?;
    artifacts::write_deferred_compiled(&target_dir, &manifest, &results)?;
    artifacts::write_manifest(&target_dir, &manifest, &results)?;
    let mut recorded_args = json!({
        "which": command,
        "select": args.selection.select,
        "exclude": args.selection.exclude,
        "defer": args.defer.defer,
        "favor_state": args.defer.favor_state,
        "full_refresh": args.full_refresh,
        "fail_fast": args.fail_fast,
        "threads": threads,
        "target": target.name,
        "project_dir": project.root,
        "target_path": target_dir,
    });
    for (key, dir) in [
        ("state", &args.selection.state),
        ("defer_state", &args.defer.defer_state),
    ] {
        if let Some(dir) = dir {
            recorded_args[key] = json!(dir);
        }
    }
    if let Some(selector) = &args.selection.selector {
        recorded_args["selector"] = json!(selector);
    }
    artifacts::write_json(
        &target_dir,
        "run_results.json",
        &artifacts::run_results_json(&manifest, &results, elapsed, recorded_args),
    )?;
    if let Some((history, samples)) = &quality {
        let inputs = artifacts::DqInputs { history, samples };
        let report = artifacts::dq_report_json(&manifest, &results, &inputs);
        artifacts::write_json(&target_dir, "dq_report.json", &report)?;
        artifacts::write_text(&target_dir, "dq_report.html", &artifacts::dq_report_html(&report))?;
    }
    if kind == PlanKind::Freshness {
        let sources = artifacts::sources_json(&manifest, &results, elapsed);
        artifacts::write_json(&target_dir, "sources.json", &sources)?;
    }
    console.summary(&manifest, &results, elapsed);
    if cancelled {
        console.cancelled();
        return Ok(CANCELLED_EXIT_CODE);
    }
    run_end?;
    let failed = results
        .iter()
        .any(|result| matches!(result.status, Status::Error | Status::Fail));
    Ok(i32::from(failed))
}

/// What a run needs once it holds the lock and is audited.
struct RunContext<'a> {
    plan: &'a Plan,
    args: &'a RunArgs,
    threads: usize,
    postgres: &'a Postgres,
    cancel: &'a Cancel,
    audit: &'a Audit,
    console: &'a Console,
    target_dir: &'a PathBuf,
}

/// What a run did.
struct Ran {
    manifest: Arc<Manifest>,
    results: Vec<NodeResult>,
    /// The on-run-end hooks (not run when the run was cancelled).
    run_end: Result<()>,
    /// The compiled SQL, written while the models build.
    compiled_written: tokio::task::JoinHandle<Result<()>>,
}

/// The planned nodes compiled, and what running them needs of the compile.
struct Compiled {
    manifest: Manifest,
    environment: CompileEnvironment,
    /// The schemas of what is built, and the audit schemas of tests that store failures.
    schemas: Vec<String>,
}

/// Read what the compile pass needs from the database — which relations exist and, when the
/// plan has SQL to analyse, their columns (one query over the project's schemas and those the
/// nodes deferred to read), the stored watermarks — defer what `--defer` defers, and compile
/// the planned nodes (saying on `console` which were deferred). Nothing is changed in the database but, when watermarks are read, the
/// creation of tmk's own `tmk_meta` tables if they are missing.
async fn compile(
    mut manifest: Manifest,
    plan: &Plan,
    args: &RunArgs,
    postgres: &Postgres,
    deferral: Option<super::defer::Deferral>,
    console: &Console,
) -> Result<Compiled> {
    let planned: Vec<usize> = plan.steps.iter().map(|step| step.node).collect();
    // The schemas of what is built, and the audit schemas of tests that store failures (the
    // only tests with a relation).
    let mut schemas: Vec<String> = planned
        .iter()
        .filter(|&&index| {
            let node = &manifest.nodes[index];
            node.is_buildable() || node.resource_type == ResourceType::Test || node.extract.is_some()
        })
        .filter_map(|&index| {
            manifest.nodes[index]
                .relation
                .as_ref()
                .map(|relation| relation.schema.clone())
        })
        .collect();
    schemas.sort();
    schemas.dedup();
    // Every node's schema: the columns of the relations the planned nodes read are known too.
    let mut described: Vec<String> = manifest
        .schemas()
        .into_iter()
        .chain(deferral.iter().flat_map(|to| to.schemas()))
        .collect();
    described.sort();
    described.dedup();
    // Only SQL is analysed against the columns: a run of seeds, freshness checks or extracts
    // reads no columns.
    let analyses_sql = planned.iter().any(|&index| {
        matches!(
            manifest.nodes[index].resource_type,
            ResourceType::Model | ResourceType::Snapshot | ResourceType::Test
        )
    });
    let (existing, columns) = postgres.existing_relations(&described, analyses_sql).await?;
    // What this run rebuilds or reloads may change its columns: only the others' are taken
    // from the database.
    let rebuilt: HashSet<usize> = planned
        .iter()
        .copied()
        .filter(|&index| manifest.nodes[index].is_buildable() || manifest.nodes[index].extract.is_some())
        .collect();
    // What the command runs is what dbt counts as selected (after its resource-type filter).
    if let Some(deferral) = deferral {
        deferral.apply(
            &mut manifest,
            &rebuilt,
            &planned,
            |relation| existing.contains_key(relation),
            console,
        );
    }
    let watermarked: Vec<WatermarkedModel> = planned
        .iter()
        .map(|&index| &manifest.nodes[index])
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
    let mut known = super::known_columns(&manifest);
    known.add_catalog(
        &manifest,
        |relation| columns.get(relation).cloned(),
        |index| rebuilt.contains(&index),
    );
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
        known_columns: Arc::new(known),
    };
    tokio::task::block_in_place(|| manifest.compile(&planned, &environment));
    Ok(Compiled {
        manifest,
        environment,
        schemas,
    })
}

/// Release the run lock (when one was taken) and close the connections.
async fn close(run_lock: Option<RunLock>, postgres: &Postgres) {
    if let Some(run_lock) = run_lock {
        run_lock.release().await;
    }
    postgres.close().await;
}

impl RunContext<'_> {
    /// Create the schemas, run the on-run-start hooks, execute the plan, then run the
    /// on-run-end hooks unless the run was cancelled.
    async fn run(&self, compiled: Compiled) -> Result<Ran> {
        let Compiled {
            manifest,
            environment,
            schemas,
        } = compiled;
        let postgres = self.postgres;
        for schema in &schemas {
            postgres.ensure_schema(schema).await?;
        }
        run_project_hooks(&manifest, &manifest.on_run_start, &environment, postgres).await?;
        let manifest = Arc::new(manifest);
        // Compiled SQL is not needed to run: write it while the models build (disks can be slow).
        let compiled_written = {
            let (manifest, target_dir) = (manifest.clone(), self.target_dir.clone());
            tokio::task::spawn_blocking(move || artifacts::write_compiled(&target_dir, &manifest))
        };
        let options = ExecuteOptions {
            threads: self.threads,
            fail_fast: self.args.fail_fast,
        };
        let environment = Arc::new(environment);
        let reporter = AuditedReporter {
            console: self.console,
            audit: self.audit,
        };
        let results = execute::execute(
            self.plan,
            manifest.clone(),
            postgres,
            options,
            environment.clone(),
            self.cancel,
            &reporter,
        )
        .await;
        // A failing on-run-end hook still leaves the run's artifacts and summary behind.
        let run_end = if self.cancel.is_cancelled() {
            Ok(())
        } else {
            run_project_hooks(&manifest, &manifest.on_run_end, &environment, postgres).await
        };
        Ok(Ran {
            manifest,
            results,
            run_end,
            compiled_written,
        })
    }
}

/// Render and run `on-run-start` or `on-run-end` statements (rendering may query the database).
async fn run_project_hooks(
    manifest: &Manifest,
    hooks: &[String],
    environment: &CompileEnvironment,
    postgres: &Postgres,
) -> Result<()> {
    for hook in hooks {
        let sql = tokio::task::block_in_place(|| manifest.render_run_hook(hook, environment))?;
        if !sql.trim().is_empty() {
            postgres.execute(&sql).await?;
        }
    }
    Ok(())
}
