//! Running one step: build a model (view, table, incremental), load a seed, or run a test, and
//! turn the outcome into a `NodeResult`. Compile errors recorded before the run and database
//! errors both end as an `error` result carrying the located error. A transient database fault
//! (lost connection, serialization failure, deadlock) runs the whole step again, a few times
//! with growing pauses: every step is idempotent, as a model's or seed's transactions roll back
//! whole and a test only reads (or replaces its stored failing rows whole). It must not write SQL (the adapter does) nor print (results go
//! back to the executor).

use std::sync::Arc;
use std::time::{Duration, Instant};

use super::test_batches::BatchAnswers;
use super::{Cancel, NodeResult, Status, seconds_since};
use crate::adapter::postgres::{
    BuildOutcome, BuildRequest, Incremental, IncrementalStrategy, OnSchemaChange, Postgres, RelationKind,
    SqlOrigin, StoredFailures, WatermarkColumn,
};
use crate::adapter::postgres::{
    DbmlCheck, EnforcedContract, FreshnessReading, LoadMode, Quarantine, TestOutcome,
};
use crate::compile::config::{self, ConfigExt, StoreFailuresAs};
use crate::compile::contract::{ForeignTarget, foreign_target};
use crate::compile::freshness::Freshness;
use crate::compile::node::{Materialization, Node, Relation, ResourceType};
use crate::compile::relation_settings::RelationSettings;
use crate::compile::{CompileEnvironment, Manifest, test_guarantee};
use crate::error::{Error, ErrorKind, Result, SourceLocation};
use crate::plan::{Step, StepAction};

/// The result of a step that did not run: skipped, or failed by an internal error.
pub fn unfinished(step: &Step, status: Status, message: &str) -> NodeResult {
    let now = chrono::Utc::now();
    NodeResult {
        node: step.node,
        action: step.action,
        status,
        message: message.to_string(),
        error: None,
        execution_time: 0.0,
        started_at: now,
        completed_at: now,
        rows_affected: None,
        failures: None,
        retries: 0,
        statements: Vec::new(),
        thread_id: 0,
        compiled_sql: None,
        freshness: None,
    }
}

/// How many times a step runs again after transient faults.
const MAX_RETRIES: u32 = 3;
/// The pause before the first retry; it doubles before each next one.
const FIRST_BACKOFF: Duration = Duration::from_millis(200);

/// What every step of a run shares: the database, the run's cancellation, the test batches.
pub struct StepContext<'a> {
    /// The target.
    pub postgres: &'a Postgres,
    /// Set by Ctrl-C.
    pub cancel: &'a Cancel,
    /// The answers of the plan's test batches.
    pub batches: &'a BatchAnswers,
}

/// Run `step` (again after a transient fault, unless the run was cancelled) and describe what
/// happened.
pub async fn run_step(
    manifest: Arc<Manifest>,
    context: &StepContext<'_>,
    step: &Step,
    thread_id: usize,
    environment: Arc<CompileEnvironment>,
) -> NodeResult {
    let cancel = context.cancel;
    let started_at = chrono::Utc::now();
    let clock = Instant::now();
    let deferred = compile_if_deferred(&manifest, step.node, environment.clone()).await;
    let node = &manifest.nodes[step.node];
    let sql = match &deferred {
        Some(Ok(sql)) => Ok(sql.as_str()),
        Some(Err(error)) => Err(error.clone()),
        None => compiled(node),
    };
    let mut retries = 0;
    let mut first_fault = None;
    let outcome = match sql {
        Err(error) => Err(error),
        Ok(sql) => loop {
            match run_action(&manifest, context, step, sql, &environment).await {
                Err(error) if error.transient && retries < MAX_RETRIES && !cancel.is_cancelled() => {
                    first_fault.get_or_insert(error.message);
                    tokio::time::sleep(FIRST_BACKOFF * 2u32.pow(retries)).await;
                    retries += 1;
                }
                outcome => break outcome,
            }
        },
    };
    let retried = first_fault.map(|fault| {
        format!(
            "retried {retries} time{} after a transient fault: {fault}",
            if retries == 1 { "" } else { "s" }
        )
    });
    let mut result = NodeResult {
        node: step.node,
        action: step.action,
        status: Status::Success,
        message: String::new(),
        error: None,
        execution_time: seconds_since(clock),
        started_at,
        completed_at: chrono::Utc::now(),
        rows_affected: None,
        failures: None,
        retries,
        statements: Vec::new(),
        thread_id,
        compiled_sql: deferred.and_then(Result::ok),
        freshness: None,
    };
    match outcome {
        Ok(done) => {
            result.status = done.status;
            result.message = done.message;
            result.rows_affected = done.rows_affected;
            result.failures = done.failures;
            result.statements = done.statements;
            result.freshness = done.freshness;
            if let Some(seconds) = done.answered_in {
                result.execution_time = seconds;
            }
        }
        Err(error) => {
            let error = match &retried {
                Some(note) => error.detail(note.clone()),
                None => error,
            };
            result.status = Status::Error;
            result.message = error.one_line();
            result.error = Some(error);
        }
    }
    if let Some(note) = retried {
        result.message = format!("{}; {note}", result.message);
    }
    result
}

/// Run the step's action once; when the database failed because a relation it reads is
/// missing, the error says what to do.
async fn run_action(
    manifest: &Arc<Manifest>,
    context: &StepContext<'_>,
    step: &Step,
    sql: &str,
    environment: &Arc<CompileEnvironment>,
) -> Result<Done> {
    match run_action_unhinted(manifest, context, step, sql, environment).await {
        Err(error) => {
            let node = &manifest.nodes[step.node];
            let reads = match step.action {
                // A freshness check reads its own source table.
                StepAction::Freshness => node
                    .relation
                    .iter()
                    .map(|relation| (relation.clone(), ReadRelation::Source(node.search_name())))
                    .collect(),
                _ => parent_reads(manifest, node),
            };
            Err(hint_missing_relation(context.postgres, error, reads).await)
        }
        done => done,
    }
}

/// Run the step's action once.
async fn run_action_unhinted(
    manifest: &Arc<Manifest>,
    context: &StepContext<'_>,
    step: &Step,
    sql: &str,
    environment: &Arc<CompileEnvironment>,
) -> Result<Done> {
    let postgres = context.postgres;
    let node = &manifest.nodes[step.node];
    match step.action {
        StepAction::Model(materialization) => {
            build_model(manifest, postgres, step, sql, materialization, environment).await
        }
        StepAction::Seed => load_seed(manifest, postgres, node, step.full_refresh).await,
        StepAction::Test => {
            if let Some(slot) = step.batch
                && let Some((outcome, seconds)) = context.batches.outcome(postgres, slot).await
            {
                return Ok(Done {
                    answered_in: Some(seconds),
                    ..test_done(node, outcome)
                });
            }
            if let Some(done) = guaranteed_test(manifest, postgres, step.node).await? {
                return Ok(done);
            }
            run_test(manifest, postgres, node, sql, environment).await
        }
        StepAction::Snapshot => run_snapshot(manifest, postgres, step, sql, environment).await,
        StepAction::Freshness => check_freshness(postgres, node).await,
        StepAction::Extract => extract_source(postgres, node).await,
    }
}

struct Done {
    /// When another step's statement answered this one (a test batch's scan), its seconds: the
    /// step reports them as its own time, not its wait for the answer.
    answered_in: Option<f64>,
    status: Status,
    message: String,
    rows_affected: Option<u64>,
    failures: Option<i64>,
    statements: Vec<String>,
    freshness: Option<FreshnessReading>,
}

/// The SQL compiled before the run; seeds have none and need none.
fn compiled(node: &Node) -> Result<&str> {
    if let Some(error) = &node.compile_error {
        return Err(error.clone());
    }
    Ok(node.compiled_sql.as_deref().unwrap_or_default())
}

/// Compile a node deferred because its Jinja queries the database (on a blocking thread:
/// rendering waits on the database). None when the node was compiled before the run.
async fn compile_if_deferred(
    manifest: &Arc<Manifest>,
    index: usize,
    environment: Arc<CompileEnvironment>,
) -> Option<Result<String>> {
    let node = &manifest.nodes[index];
    if node.compiled_sql.is_some() || node.compile_error.is_some() || !node.needs_database {
        return None;
    }
    let manifest = manifest.clone();
    let rendered = tokio::task::spawn_blocking(move || manifest.compile_deferred(index, &environment)).await;
    Some(rendered.unwrap_or_else(|error| {
        Err(Error::new(
            ErrorKind::Compilation,
            format!("compiling failed: {error}"),
        ))
    }))
}

/// The model's rendered pre- and post-hooks (rendering may query the database: blocking thread).
async fn render_hooks(
    manifest: &Arc<Manifest>,
    index: usize,
    environment: &Arc<CompileEnvironment>,
) -> Result<(Vec<String>, Vec<String>)> {
    let config = &manifest.nodes[index].config;
    if !config.contains_key("pre-hook") && !config.contains_key("post-hook") {
        return Ok((Vec::new(), Vec::new()));
    }
    let (manifest, environment) = (manifest.clone(), environment.clone());
    tokio::task::spawn_blocking(move || {
        Ok((
            manifest.render_hooks(index, "pre-hook", &environment)?,
            manifest.render_hooks(index, "post-hook", &environment)?,
        ))
    })
    .await
    .map_err(|error| Error::new(ErrorKind::Compilation, format!("rendering hooks failed: {error}")))?
}

/// Where the compiled SQL of `node` is written, for error locations.
pub fn compiled_path(manifest: &Manifest, node: &Node) -> String {
    format!(
        "target/compiled/{}/{}",
        manifest.project_name,
        node.sql_file_path()
    )
}

fn origin(manifest: &Manifest, node: &Node, sql: &str) -> SqlOrigin {
    SqlOrigin {
        path: compiled_path(manifest, node),
        compiled: std::sync::Arc::from(sql),
    }
}

/// A model's enforced contract with its foreign keys' targets resolved to relations.
fn enforced_contract(manifest: &Manifest, node: &Node) -> Result<Option<EnforcedContract>> {
    let Some(contract) = &node.contract else {
        return Ok(None);
    };
    // A foreign key references the node's own relation, never the one `--defer` reads.
    let resolve = |to: &str| match foreign_target(to) {
        ForeignTarget::Ref(name) => manifest
            .lookup
            .refs
            .get(name)?
            .own_relation
            .as_ref()
            .map(Relation::render),
        ForeignTarget::Source(source, table) => manifest
            .lookup
            .sources
            .get(&(source.to_string(), table.to_string()))
            .map(Relation::render),
        ForeignTarget::Written(table) => Some(table.to_string()),
    };
    let definition = contract.table_definition(resolve).map_err(|message| {
        Error::new(
            ErrorKind::Compilation,
            format!("model `{}`: {message}", node.name),
        )
    })?;
    Ok(Some(EnforcedContract {
        definition,
        columns: contract
            .columns
            .iter()
            .map(|column| (column.name.clone(), column.data_type.clone()))
            .collect(),
    }))
}

/// The relation a node builds (every model, seed and snapshot has one after parsing, and so
/// does a test that stores its failures).
fn relation_of(node: &Node) -> Result<&Relation> {
    node.relation.as_ref().ok_or_else(|| {
        Error::new(
            ErrorKind::Compilation,
            format!("`{}` has no relation", node.unique_id),
        )
    })
}

/// Copy a `loader: tmk` source table's new and changed rows into the target; errors point at
/// the table's entry in the sources YAML unless they point somewhere more precise already.
async fn extract_source(postgres: &Postgres, node: &Node) -> Result<Done> {
    let spec = node.extract.as_ref().ok_or_else(|| {
        Error::new(
            ErrorKind::Usage,
            format!("source `{}` has no `loader: tmk`", node.unique_id),
        )
    })?;
    let outcome = postgres
        .extract(relation_of(node)?, &node.unique_id, spec)
        .await
        .map_err(|error| crate::compile::extract::error_at(&spec.declared_at, error))?;
    let how = match outcome.mode {
        LoadMode::Created => "created",
        LoadMode::Reloaded => "reloaded",
        LoadMode::Incremental => "upserted",
    };
    Ok(Done {
        answered_in: None,
        status: Status::Success,
        message: format!("EXTRACT {} ({how})", outcome.rows),
        rows_affected: Some(outcome.rows),
        failures: None,
        statements: outcome.statements,
        freshness: None,
    })
}

/// Check a source table's freshness: pass, warn, or fail (stale: its descendants are skipped).
async fn check_freshness(postgres: &Postgres, node: &Node) -> Result<Done> {
    let spec = node.freshness.as_ref().ok_or_else(|| {
        Error::new(
            ErrorKind::Compilation,
            format!("source `{}` has no freshness settings", node.unique_id),
        )
    })?;
    let reading = postgres.check_freshness(relation_of(node)?, spec).await?;
    let (status, word) = match spec.judge(reading.age_seconds) {
        Freshness::Pass => (Status::Pass, "PASS"),
        Freshness::Warn => (Status::Warn, "WARN"),
        Freshness::Stale => (Status::Fail, "ERROR STALE"),
    };
    let age = match reading.age_seconds {
        Some(seconds) => format!("newest row {} old", human_age(seconds)),
        None => "no rows".to_string(),
    };
    Ok(Done {
        answered_in: None,
        status,
        message: format!("{word}: {age}; {}", spec.criteria()),
        rows_affected: None,
        failures: None,
        statements: Vec::new(),
        freshness: Some(reading),
    })
}

/// `42 s`, `5.0 min`, `3.5 h`, `2.0 days`.
fn human_age(seconds: f64) -> String {
    match seconds {
        s if s < 60.0 => format!("{s:.0} s"),
        s if s < 3600.0 => format!("{:.1} min", s / 60.0),
        s if s < 86400.0 => format!("{:.1} h", s / 3600.0),
        s => format!("{:.1} days", s / 86400.0),
    }
}

async fn run_snapshot(
    manifest: &Arc<Manifest>,
    postgres: &Postgres,
    step: &Step,
    sql: &str,
    environment: &Arc<CompileEnvironment>,
) -> Result<Done> {
    let node = &manifest.nodes[step.node];
    let spec = node.snapshot.as_ref().ok_or_else(|| {
        Error::new(
            ErrorKind::Compilation,
            format!("snapshot `{}` has no snapshot settings", node.unique_id),
        )
    })?;
    let origin = origin(manifest, node, sql);
    let (pre_hooks, post_hooks) = render_hooks(manifest, step.node, environment).await?;
    let relation = relation_of(node)?;
    let settings = relation_settings(manifest, node)?;
    let request = BuildRequest {
        relation,
        sql,
        origin: &origin,
        known_absent: !environment.existing.contains_key(relation),
        pre_hooks: &pre_hooks,
        post_hooks: &post_hooks,
        watermark: None,
        contract: None,
        dbml: None,
        quarantine: None,
        settings: &settings,
    };
    let outcome = postgres.run_snapshot(&request, spec).await?;
    let verb = if request.known_absent { "SELECT" } else { "INSERT" };
    Ok(Done {
        answered_in: None,
        status: Status::Success,
        message: format!("{verb} {}", outcome.rows_affected.unwrap_or(0)),
        rows_affected: outcome.rows_affected,
        failures: None,
        statements: outcome.statements,
        freshness: None,
    })
}

async fn build_model(
    manifest: &Arc<Manifest>,
    postgres: &Postgres,
    step: &Step,
    sql: &str,
    materialization: Materialization,
    environment: &Arc<CompileEnvironment>,
) -> Result<Done> {
    let node = &manifest.nodes[step.node];
    let relation = relation_of(node)?;
    let origin = origin(manifest, node, sql);
    let (pre_hooks, post_hooks) = render_hooks(manifest, step.node, environment).await?;
    let contract = enforced_contract(manifest, node)?;
    let quarantine = node.config.flag("quarantine", false).then(|| Quarantine {
        checks: crate::compile::quarantine::checks(manifest, step.node),
        run_id: crate::invocation::id(),
    });
    let settings = relation_settings(manifest, node)?;
    for (setting, used, also_on_materialized_views) in [
        ("quarantine", quarantine.is_some(), false),
        ("watermark", node.config.contains_key("watermark"), false),
        ("row_security", !settings.policies.is_empty(), false),
        ("indexes", !settings.indexes.is_empty(), true),
        ("partition_by", settings.partition.is_some(), false),
        ("dbml", node.dbml.is_some(), false),
    ] {
        let needs_table = match materialization {
            Materialization::View => true,
            Materialization::MaterializedView => !also_on_materialized_views,
            _ => false,
        };
        if used && needs_table {
            return Err(Error::new(
                ErrorKind::Compilation,
                format!(
                    "model `{}` is a {}: `{setting}` applies to table and incremental models",
                    node.name,
                    materialization.as_str()
                ),
            )
            .at(SourceLocation::new(&node.path, 1, 1).with_text(node.raw_code.clone())));
        }
    }
    let request = BuildRequest {
        relation,
        sql,
        origin: &origin,
        // Absent when the run started: create it directly.
        known_absent: !environment.existing.contains_key(relation),
        pre_hooks: &pre_hooks,
        post_hooks: &post_hooks,
        contract: contract.as_ref(),
        dbml: node.dbml.as_deref().map(|binding| DbmlCheck {
            binding,
            model_path: &node.path,
        }),
        quarantine: quarantine.as_ref(),
        settings: &settings,
        watermark: node.config.text("watermark").map(|column| WatermarkColumn {
            relation,
            model: &node.unique_id,
            column,
        }),
    };
    let table_kind = if node.config.flag("unlogged", false) {
        RelationKind::UnloggedTable
    } else {
        RelationKind::Table
    };
    let (outcome, verb) = match materialization {
        Materialization::View => (
            postgres.build_relation(&request, RelationKind::View).await?,
            "CREATE VIEW",
        ),
        Materialization::Table => (postgres.build_relation(&request, table_kind).await?, "SELECT"),
        Materialization::Incremental => {
            let list = |key: &str| crate::compile::config::as_string_list(node.config.get(key));
            let (unique_key, exclude, predicates) = (
                list("unique_key"),
                list("merge_exclude_columns"),
                list("incremental_predicates"),
            );
            let update = node
                .config
                .get("merge_update_columns")
                .map(|_| list("merge_update_columns"));
            let strategy = match node.config.text("incremental_strategy") {
                Some("merge") => IncrementalStrategy::Merge,
                Some("append") => IncrementalStrategy::Append,
                Some("delete+insert") => IncrementalStrategy::DeleteInsert,
                Some("microbatch") => IncrementalStrategy::Microbatch,
                // dbt-postgres's default: delete+insert with a unique key, else append.
                _ if unique_key.is_empty() => IncrementalStrategy::Append,
                _ => IncrementalStrategy::DeleteInsert,
            };
            let incremental = Incremental {
                strategy,
                unique_key: &unique_key,
                update_columns: update.as_deref(),
                exclude_columns: &exclude,
                predicates: &predicates,
                on_schema_change: OnSchemaChange::parse(node.config.text("on_schema_change")),
                batch_condition: None,
            };
            let existing = postgres.relation_kind(relation).await?;
            if let Some(spec) = &node.microbatch {
                let batches = super::microbatch::Batches {
                    manifest,
                    index: step.node,
                    spec,
                    environment,
                    from_scratch: existing.as_deref() != Some("table") || step.full_refresh,
                };
                let outcome = batches.run(postgres, &request, &incremental, table_kind).await?;
                return Ok(done(outcome, "INSERT"));
            }
            match existing.as_deref() {
                Some("table") if !step.full_refresh => (
                    postgres.insert_incremental(&request, &incremental).await?,
                    if strategy == IncrementalStrategy::Merge {
                        "MERGE"
                    } else {
                        "INSERT"
                    },
                ),
                _ => (postgres.build_relation(&request, table_kind).await?, "SELECT"),
            }
        }
        Materialization::MaterializedView => {
            postgres
                .build_materialized_view(&request, step.full_refresh)
                .await?
        }
        other => {
            return Err(Error::new(
                ErrorKind::Compilation,
                format!(
                    "materialization `{}` is not built by this version of tmk",
                    other.as_str()
                ),
            )
            .at(SourceLocation::new(&node.path, 1, 1).with_text(node.raw_code.clone())));
        }
    };
    Ok(done(outcome, verb))
}

/// A model's result: `verb rows`, and the dependent views it kept.
fn done(outcome: BuildOutcome, verb: &str) -> Done {
    let message = match outcome.rows_affected {
        Some(rows) => format!("{verb} {rows}"),
        None => verb.to_string(),
    };
    let message = if outcome.recreated_views.is_empty() {
        message
    } else {
        format!(
            "{message}; kept dependent views {}",
            outcome.recreated_views.join(", ")
        )
    };
    Done {
        answered_in: None,
        status: Status::Success,
        message,
        rows_affected: outcome.rows_affected,
        failures: None,
        statements: outcome.statements,
        freshness: None,
    }
}

/// The node's grants, indexes and row security policies (checked when its config was read, so
/// an error here names the node), with the primary key, indexes and foreign keys of its DBML
/// table (foreign keys to a table another model builds point at that model's relation).
fn relation_settings(manifest: &Manifest, node: &Node) -> Result<RelationSettings> {
    let at = || SourceLocation::new(&node.path, 1, 1).with_text(node.raw_code.clone());
    let mut settings = RelationSettings::from_config(&node.config).map_err(|message| {
        Error::new(ErrorKind::Compilation, format!("`{}`: {message}", node.unique_id)).at(at())
    })?;
    let conflict = if node.resource_type != ResourceType::Model {
        "seeds and snapshots"
    } else if node.contract.is_some() {
        "models with an enforced contract"
    } else {
        ""
    };
    if settings.partition.is_some() && !conflict.is_empty() {
        return Err(Error::new(
            ErrorKind::Compilation,
            format!(
                "`{}`: `partition_by` is not built for {conflict} yet",
                node.unique_id
            ),
        )
        .at(at()));
    }
    if let Some(binding) = &node.dbml {
        for index in &binding.indexes {
            if !settings.indexes.contains(index) {
                settings.indexes.push(index.clone());
            }
        }
        settings.primary_key = binding.primary_key.clone();
        if let Some(spec) = &settings.partition
            && !settings.primary_key.is_empty()
            && !settings.primary_key.contains(&spec.field)
        {
            return Err(Error::new(
                ErrorKind::Compilation,
                format!(
                    "model `{}` is partitioned by `{}`, which its DBML primary key ({}) lacks",
                    node.name,
                    spec.field,
                    settings.primary_key.join(", ")
                ),
            )
            .at(at())
            .detail(format!("DBML table `{}` at {}", binding.table, binding.declared_at))
            .hint(format!(
                "PostgreSQL needs the partition key in the primary key: write `({}, {}) [pk]` in the table's indexes",
                settings.primary_key.join(", "),
                spec.field
            )));
        }
        settings.foreign_keys = binding
            .foreign_keys
            .iter()
            .map(|foreign| {
                let mut key = foreign.key.clone();
                if let Some(relation) = foreign
                    .target_model
                    .as_ref()
                    .and_then(|model| manifest.lookup.refs.get(model))
                    .and_then(|target| target.own_relation.as_ref())
                {
                    key.references = relation.render();
                }
                key
            })
            .collect();
    }
    Ok(settings)
}

async fn load_seed(
    manifest: &Manifest,
    postgres: &Postgres,
    node: &Node,
    full_refresh: bool,
) -> Result<Done> {
    let relation = node.relation.clone().ok_or_else(|| {
        Error::new(
            ErrorKind::Compilation,
            format!("`{}` has no relation", node.unique_id),
        )
    })?;
    let path = manifest.root.join(&node.path);
    let display = node.path.clone();
    let config = node.config.clone();
    let table = tokio::task::spawn_blocking(move || read_seed_file(&path, &display, &config))
        .await
        .map_err(|error| {
            Error::new(
                ErrorKind::Io,
                format!("reading seed `{}` failed: {error}", node.path),
            )
        })??;
    let settings = relation_settings(manifest, node)?;
    let outcome = postgres
        .load_seed(&relation, &table, full_refresh, &settings)
        .await?;
    Ok(Done {
        answered_in: None,
        status: Status::Success,
        message: format!("INSERT {}", table.row_count),
        rows_affected: outcome.rows_affected,
        failures: None,
        statements: outcome.statements,
        freshness: None,
    })
}

/// Read a seed's CSV file (`display`: its path as shown) with its config's delimiter and
/// `column_types`.
pub fn read_seed_file(
    path: &std::path::Path,
    display: &str,
    config: &crate::compile::config::ConfigMap,
) -> Result<crate::seed::SeedTable> {
    let bytes = crate::fs::read_bytes(path)?;
    let delimiter = match config.text("delimiter") {
        None => b',',
        Some(text) if text.len() == 1 => text.as_bytes()[0],
        Some(text) => {
            return Err(Error::new(
                ErrorKind::Project,
                format!("seed `{display}`: `delimiter` must be one character, not `{text}`"),
            ));
        }
    };
    let mut column_types: indexmap::IndexMap<String, String> = indexmap::IndexMap::new();
    if let Some(types) = config.get("column_types").and_then(serde_json::Value::as_object) {
        for (column, data_type) in types {
            let data_type = data_type.as_str().ok_or_else(|| {
                Error::new(
                    ErrorKind::Project,
                    format!(
                        "seed `{display}`: `column_types.{column}` must be a SQL type name, not `{data_type}`"
                    ),
                )
            })?;
            column_types.insert(column.clone(), data_type.to_string());
        }
    }
    let options = crate::seed::SeedOptions {
        delimiter,
        column_types: &column_types,
    };
    crate::seed::read_seed(&bytes, &options).map_err(|error| {
        let text: std::sync::Arc<str> = std::sync::Arc::from(String::from_utf8_lossy(&bytes).as_ref());
        Error::new(ErrorKind::Project, format!("bad seed file: {}", error.message))
            .at(SourceLocation::new(display, error.line, error.column).with_text(text))
            .maybe_hint(error.hint.clone())
    })
}

/// A relation a step reads, named as the project names it, to say what to do when it does not
/// exist.
enum ReadRelation {
    /// A model, seed or snapshot, by name: it has not been built.
    Built(String),
    /// A model, seed or snapshot `--defer` reads from the earlier run: that run did not build it.
    Deferred(String),
    /// A source table, `source.table`: it is not where the source's YAML says.
    Source(String),
}

/// `error` with what to do when the database failed because one of `reads` does not exist (as
/// checked now), where the database only says `relation … does not exist`: the model has not
/// been built yet (a `tmk test` before any `tmk build`, a model built before its parents), the
/// run `--defer` reads did not build it, or the source table is elsewhere.
async fn hint_missing_relation(
    postgres: &Postgres,
    error: Error,
    reads: Vec<(Relation, ReadRelation)>,
) -> Error {
    if error.kind != ErrorKind::Database || error.hint.is_some() {
        return error;
    }
    for (relation, read) in reads {
        if !matches!(postgres.relation_kind(&relation).await, Ok(None)) {
            continue;
        }
        let hint = match read {
            ReadRelation::Built(name) => format!(
                "`{name}` has not been built: `{}` does not exist; run `tmk build --select {name}` first, or read an earlier run's with `--defer --state DIR`",
                relation.render()
            ),
            ReadRelation::Deferred(name) => format!(
                "`{name}` is deferred to the earlier run, whose `{}` does not exist: build it here with `tmk build --select {name}`, or give the target directory of a run that built it",
                relation.render()
            ),
            ReadRelation::Source(name) => format!(
                "source table `{name}` does not exist at `{}`: load it, or correct the source's `database`, `schema` or `identifier`",
                relation.render()
            ),
        };
        return error.hint(hint);
    }
    error
}

/// The relations node `node` reads (its ref'd parents, as their refs render them, and its
/// source tables), for `hint_missing_relation`.
fn parent_reads(manifest: &Manifest, node: &Node) -> Vec<(Relation, ReadRelation)> {
    node.depends_on
        .iter()
        .map(|&parent| &manifest.nodes[parent])
        .filter_map(|parent| {
            let read = match parent.resource_type {
                ResourceType::Source => ReadRelation::Source(parent.search_name()),
                _ if parent.materialized == Materialization::Ephemeral => return None,
                _ if parent.deferred => ReadRelation::Deferred(parent.name.clone()),
                _ => ReadRelation::Built(parent.name.clone()),
            };
            Some((parent.read_relation()?.clone(), read))
        })
        .collect()
}

async fn run_test(
    manifest: &Manifest,
    postgres: &Postgres,
    node: &Node,
    sql: &str,
    environment: &CompileEnvironment,
) -> Result<Done> {
    let stored = match config::store_failures_as(&node.config) {
        None => None,
        Some(store_as) => {
            let relation = relation_of(node)?;
            Some(StoredFailures {
                relation,
                kind: match store_as {
                    StoreFailuresAs::Table => RelationKind::Table,
                    StoreFailuresAs::View => RelationKind::View,
                },
                known_absent: !environment.existing.contains_key(relation),
            })
        }
    };
    let outcome = postgres
        .run_test(sql, &node.config, &origin(manifest, node, sql), stored.as_ref())
        .await?;
    Ok(test_done(node, outcome))
}

/// The result of the test at `index` when the database guarantees it has no failing rows
/// (`compile::test_guarantee`): its query is not run, the step says what answered it.
async fn guaranteed_test(manifest: &Manifest, postgres: &Postgres, index: usize) -> Result<Option<Done>> {
    let Some(guarantee) = test_guarantee::guarantee(manifest, index) else {
        return Ok(None);
    };
    let Some(proof) = postgres.guaranteed_by(&guarantee).await? else {
        return Ok(None);
    };
    let node = &manifest.nodes[index];
    let outcome = postgres.guaranteed_outcome(&node.config, &proof).await?;
    let done = test_done(node, outcome);
    Ok(Some(match done.status {
        Status::Pass => Done {
            message: format!("PASS ({proof})"),
            ..done
        },
        _ => done,
    }))
}

/// A test's result from its failure count: fail (error severity), warn or pass.
fn test_done(node: &Node, outcome: TestOutcome) -> Done {
    let severity_error = node.severity().eq_ignore_ascii_case("error");
    let status = if outcome.should_error && severity_error {
        Status::Fail
    } else if outcome.should_warn {
        Status::Warn
    } else {
        Status::Pass
    };
    let message = match status {
        Status::Pass => "PASS".to_string(),
        _ => format!(
            "Got {} result{}, configured to {} if {}",
            outcome.failures_text,
            if outcome.failures_text == "1" { "" } else { "s" },
            if status == Status::Fail { "fail" } else { "warn" },
            node.config
                .text(if status == Status::Fail {
                    "error_if"
                } else {
                    "warn_if"
                })
                .unwrap_or("!= 0")
        ),
    };
    Done {
        answered_in: None,
        status,
        message,
        rows_affected: None,
        failures: Some(outcome.failures),
        statements: outcome.statements,
        freshness: None,
    }
}
