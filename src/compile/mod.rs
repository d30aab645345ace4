//! Compiling a project: owns the two Jinja passes and the resolved node list.
//! Parse pass (`parse`): every model, test and analysis is rendered with `execute = false` to
//! capture its `config()`, `ref()` and `source()` calls; configs are merged (project tree →
//! properties → in-file), relations named (`generate_schema_name`), refs resolved and the DAG
//! built. Compile pass (`Manifest::compile`): the selected nodes are rendered with
//! `execute = true` against the real relations, in parallel, and ephemeral models are injected
//! as CTEs. Pure: it reaches a database only through `JinjaDatabase`, and must not read files,
//! plan or run anything.

pub mod analysis;
pub mod config;
pub mod contract;
pub mod dbml_binding;
pub mod defer;
pub mod ephemeral;
pub mod extract;
pub mod freshness;
pub mod generic_tests;
pub mod jinja;
pub mod known_columns;
pub mod microbatch;
pub mod node;
mod parse;
pub mod quarantine;
pub mod relation_settings;
pub mod snapshot;
pub mod source_map;
pub mod test_batch;
pub mod test_guarantee;

use crate::compile::jinja::context::FromSerde;
use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Arc;

use minijinja::value::Value;
use rayon::prelude::*;

use crate::error::{Error, Result};
use crate::graph::Dag;
use jinja::Jinja;
use jinja::context::{JinjaDatabase, Lookup, RenderContext, StoredWatermark, TargetInfo};
use jinja::relation::RelationValue;
use known_columns::{ColumnsOrigin, KnownColumns};
use microbatch::{BatchWindow, EventTimeWindow};
use node::{Materialization, Node, Relation, ResourceType, TestedRelation};

pub use parse::parse;

/// The parsed project: nodes with resolved configs and relations, and their graph.
pub struct Manifest {
    /// The project's name.
    pub project_name: String,
    /// The project directory.
    pub root: PathBuf,
    /// Every enabled node.
    pub nodes: Vec<Node>,
    /// Dependencies between the nodes (indices into `nodes`).
    pub dag: Dag,
    /// The rendering environment.
    pub jinja: Jinja,
    /// The target.
    pub target: Arc<TargetInfo>,
    /// Vars (project and command line).
    pub vars: Arc<serde_json::Map<String, serde_json::Value>>,
    /// Docs blocks.
    pub docs: Arc<HashMap<String, String>>,
    /// Where refs and sources point.
    pub lookup: Arc<Lookup>,
    /// Non-fatal problems found while parsing.
    pub warnings: Vec<Error>,
    /// What the compile pass read in the compiled models' SQL: column lineage and problems.
    pub sql: analysis::SqlAnalysis,
    /// `on-run-start` hooks.
    pub on_run_start: Vec<String>,
    /// `on-run-end` hooks.
    pub on_run_end: Vec<String>,
}

/// What the compile pass needs to know about the database.
#[derive(Clone)]
pub struct CompileEnvironment {
    /// For run_query, statement and introspection.
    pub database: Option<Arc<dyn JinjaDatabase>>,
    /// Kinds of existing relations (for `is_incremental()`); empty without a database.
    pub existing: Arc<HashMap<Relation, String>>,
    /// `--full-refresh`.
    pub full_refresh: bool,
    /// Leave nodes whose Jinja queries the database for `compile_deferred`, just before they
    /// run (as dbt compiles each node when it runs, so they see upstream relations built).
    pub defer_database_nodes: bool,
    /// Stored high-water marks by model unique id, for `watermark()`.
    pub watermarks: Arc<HashMap<String, StoredWatermark>>,
    /// `--event-time-start/--event-time-end`, for microbatch models.
    pub event_time_window: EventTimeWindow,
    /// Columns known without reading SQL (seed headers, the database catalog), for column
    /// lineage.
    pub known_columns: Arc<known_columns::KnownColumns>,
}

impl CompileEnvironment {
    /// Compiling as if nothing were built yet (`tmk compile`, `tmk show`): no existing
    /// relations, no watermarks, every node rendered now; `database` for the nodes that query it.
    pub fn from_scratch(database: Option<Arc<dyn JinjaDatabase>>) -> CompileEnvironment {
        CompileEnvironment {
            database,
            existing: Arc::new(HashMap::new()),
            full_refresh: false,
            defer_database_nodes: false,
            watermarks: Arc::default(),
            event_time_window: EventTimeWindow::default(),
            known_columns: Arc::default(),
        }
    }
}

impl Manifest {
    /// Index of the node with `unique_id`.
    pub fn index_of(&self, unique_id: &str) -> Option<usize> {
        self.nodes.iter().position(|node| node.unique_id == unique_id)
    }

    /// The schemas of the nodes' own relations, sorted, each once.
    pub fn schemas(&self) -> Vec<String> {
        let mut schemas: Vec<String> = self
            .nodes
            .iter()
            .filter_map(|node| Some(node.relation.as_ref()?.schema.clone()))
            .collect();
        schemas.sort();
        schemas.dedup();
        schemas
    }

    /// Render the selected nodes (and the ephemeral models they use). Returns per-node errors;
    /// the nodes that compiled have `compiled_sql` set.
    pub fn compile(&mut self, selected: &[usize], environment: &CompileEnvironment) -> Vec<(usize, Error)> {
        let mut wanted: Vec<usize> = selected
            .iter()
            .copied()
            .filter(|&index| self.has_sql(index))
            .filter(|&index| !(environment.defer_database_nodes && self.nodes[index].needs_database))
            .collect();
        for index in self.ephemeral_ancestors_of(selected) {
            if !wanted.contains(&index) {
                wanted.push(index);
            }
        }
        let results: Vec<(usize, Result<String>)> = wanted
            .par_iter()
            .map(|&index| (index, self.render_node(index, environment, None)))
            .collect();
        let mut errors = Vec::new();
        for (index, result) in results {
            match result {
                Ok(sql) => {
                    if self.nodes[index].resource_type == ResourceType::Model {
                        self.nodes[index].rendered_sql = Some(sql.clone());
                    }
                    self.nodes[index].compiled_sql = Some(sql);
                }
                Err(error) => {
                    self.nodes[index].compile_error = Some(error.clone());
                    errors.push((index, error));
                }
            }
        }
        for &index in selected {
            if self.nodes[index].materialized == Materialization::Ephemeral {
                continue;
            }
            if let Some(sql) = &self.nodes[index].compiled_sql {
                let ctes = self.ephemeral_ctes(index);
                if !ctes.is_empty() {
                    let injected = ephemeral::inject_ctes(sql, &ctes);
                    self.nodes[index].compiled_sql = Some(injected);
                }
            }
        }
        self.sql = self.analyse_sql(&environment.known_columns);
        for (index, error) in self.unknown_test_columns(selected, &environment.known_columns) {
            self.nodes[index].compile_error = Some(error.clone());
            errors.push((index, error));
        }
        errors
    }

    /// The selected tests on a column their model or source does not return (when all its
    /// columns are known).
    fn unknown_test_columns(&self, selected: &[usize], known: &KnownColumns) -> Vec<(usize, Error)> {
        selected
            .iter()
            .filter_map(|&index| {
                let (tested, column) = self.checked_column(index)?;
                let returned = self.columns_tests_may_name(tested, known)?;
                let returned: Vec<&str> = returned.iter().map(String::as_str).collect();
                let error = self.unknown_column_error(index, tested, column, &returned)?;
                Some((index, error))
            })
            .collect()
    }

    /// All the columns of node `tested`, when they are known for sure: a model's, seed's or
    /// snapshot's from its complete lineage; a source's from the database or the DBML table it
    /// is bound to. Not a source's properties YAML, whose `columns:` often list only some.
    fn columns_tests_may_name(&self, tested: usize, known: &KnownColumns) -> Option<Vec<String>> {
        let node = &self.nodes[tested];
        if node.resource_type == ResourceType::Source {
            return match known.of(node)? {
                (columns, ColumnsOrigin::Catalog | ColumnsOrigin::Dbml) => Some(columns),
                _ => None,
            };
        }
        let lineage = self.sql.lineage.nodes.get(&node.unique_id)?;
        lineage
            .complete
            .then(|| lineage.columns.iter().map(|column| column.name.clone()).collect())
    }

    /// The node (model, seed, snapshot or source table) and plain column a generic test
    /// checks, when it is one whose column must exist (the existence and type tests look it
    /// up in the catalog instead).
    fn checked_column(&self, index: usize) -> Option<(usize, &str)> {
        let test = self.nodes[index].test.as_ref()?;
        if matches!(
            test.name.as_str(),
            "expect_column_to_exist" | "expect_column_values_to_be_of_type"
        ) {
            return None;
        }
        let column = test.column_name.as_deref()?;
        if column.is_empty() || !column.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
            return None;
        }
        let tested = match &test.tested {
            TestedRelation::Node(_) => test.attached_node?,
            TestedRelation::Source(source, table) => {
                self.nodes[index].depends_on.iter().copied().find(|&parent| {
                    let node = &self.nodes[parent];
                    node.resource_type == ResourceType::Source
                        && node.source_name.as_deref() == Some(source.as_str())
                        && node.name == *table
                })?
            }
        };
        Some((tested, column))
    }

    /// The error for test `index` when `column` is not among the columns its model returns.
    fn unknown_column_error(
        &self,
        index: usize,
        model: usize,
        column: &str,
        returned: &[&str],
    ) -> Option<Error> {
        // Returned names are as PostgreSQL returns them; the test's column is written unquoted.
        if returned
            .iter()
            .any(|&name| name == column || name == column.to_lowercase())
        {
            return None;
        }
        let test = self.nodes[index].test.as_ref()?;
        let model = &self.nodes[model];
        let names = returned;
        let name = model.search_name();
        let mut error = Error::new(
            crate::error::ErrorKind::Compilation,
            format!(
                "test `{}` checks column `{column}`, which {} `{name}` does not return",
                self.nodes[index].name,
                model.resource_type.as_str(),
            ),
        )
        .detail(format!("`{name}` returns: {}", names.join(", ")))
        .maybe_hint(crate::error::did_you_mean(column, names.iter().copied()));
        if let Some(location) = &test.declared_at {
            error = error.at(location.clone());
        }
        Some(error)
    }

    /// Render one node that was deferred because it queries the database, with its ephemeral
    /// CTEs, right before it runs.
    pub fn compile_deferred(&self, index: usize, environment: &CompileEnvironment) -> Result<String> {
        let sql = self.render_node(index, environment, None)?;
        Ok(ephemeral::inject_ctes(&sql, &self.ephemeral_ctes(index)))
    }

    /// Render a microbatch model for one batch: upstream relations that set `event_time` render
    /// only the batch's rows.
    pub fn compile_batch(
        &self,
        index: usize,
        environment: &CompileEnvironment,
        batch: BatchWindow,
    ) -> Result<String> {
        let sql = self.render_node(index, environment, Some(batch))?;
        Ok(ephemeral::inject_ctes(&sql, &self.ephemeral_ctes(index)))
    }

    fn has_sql(&self, index: usize) -> bool {
        matches!(
            self.nodes[index].resource_type,
            ResourceType::Model | ResourceType::Test | ResourceType::Analysis | ResourceType::Snapshot
        )
    }

    /// The ephemeral models `selected` use, directly or through other ephemeral models.
    pub fn ephemeral_ancestors_of(&self, selected: &[usize]) -> Vec<usize> {
        let mut found = Vec::new();
        let mut stack: Vec<usize> = selected.to_vec();
        while let Some(index) = stack.pop() {
            for &parent in &self.nodes[index].depends_on {
                if self.nodes[parent].materialized == Materialization::Ephemeral && !found.contains(&parent) {
                    found.push(parent);
                    stack.push(parent);
                }
            }
        }
        found
    }

    /// The (CTE name, SQL) of every ephemeral model `index` uses, dependencies first.
    fn ephemeral_ctes(&self, index: usize) -> Vec<(String, String)> {
        let mut ordered = Vec::new();
        self.collect_ctes(index, &mut ordered);
        ordered
            .into_iter()
            .filter_map(|parent| {
                let node = &self.nodes[parent];
                node.compiled_sql
                    .as_ref()
                    .map(|sql| (ephemeral::cte_name(&node.name), sql.clone()))
            })
            .collect()
    }

    fn collect_ctes(&self, index: usize, ordered: &mut Vec<usize>) {
        for &parent in &self.nodes[index].depends_on {
            if self.nodes[parent].materialized == Materialization::Ephemeral && !ordered.contains(&parent) {
                self.collect_ctes(parent, ordered);
                ordered.push(parent);
            }
        }
    }

    fn render_node(
        &self,
        index: usize,
        environment: &CompileEnvironment,
        batch: Option<BatchWindow>,
    ) -> Result<String> {
        let node = &self.nodes[index];
        let (mut context, extra) = self.node_context(index, environment);
        context.batch = batch;
        let extra: Vec<(&str, Value)> = extra.iter().map(|(key, value)| (*key, value.clone())).collect();
        let rendered = self
            .jinja
            .render(&node.template, &node.raw_code, context, &extra)?;
        Ok(rendered.output)
    }

    /// The node's `pre-hook` or `post-hook` statements (`key`), rendered with its context.
    /// A hook is a string, or a mapping with `sql` (dbt's `{sql: .., transaction: ..}` form).
    pub fn render_hooks(
        &self,
        index: usize,
        key: &str,
        environment: &CompileEnvironment,
    ) -> Result<Vec<String>> {
        let node = &self.nodes[index];
        let hooks = hook_texts(node.config.get(key));
        if hooks.is_empty() {
            return Ok(Vec::new());
        }
        let mut rendered = Vec::with_capacity(hooks.len());
        for hook in hooks {
            let (context, extra) = self.node_context(index, environment);
            let extra: Vec<(&str, Value)> = extra.iter().map(|(key, value)| (*key, value.clone())).collect();
            let name = format!("{} ({key})", node.path);
            rendered.push(self.jinja.render_str(&name, &hook, context, &extra)?.output);
        }
        Ok(rendered)
    }

    /// Render an `on-run-start` / `on-run-end` statement of the project.
    pub fn render_run_hook(&self, hook: &str, environment: &CompileEnvironment) -> Result<String> {
        let context = RenderContext {
            target: self.target.clone(),
            vars: self.vars.clone(),
            lookup: Some(self.lookup.clone()),
            node_config: Default::default(),
            execute: true,
            is_incremental: false,
            database: environment.database.clone(),
            docs: self.docs.clone(),
            watermark: None,
            batch: None,
        };
        let extra = [
            ("target", Value::from_serde(&*self.target)),
            ("execute", Value::from(true)),
            ("project_name", Value::from(self.project_name.clone())),
        ];
        Ok(self
            .jinja
            .render_str("dbt_project.yml (hook)", hook, context, &extra)?
            .output)
    }

    /// The render context and variables of node `index`.
    fn node_context(
        &self,
        index: usize,
        environment: &CompileEnvironment,
    ) -> (RenderContext, Vec<(&'static str, Value)>) {
        let node = &self.nodes[index];
        let is_incremental = node.materialized == Materialization::Incremental
            && !node.full_refresh(environment.full_refresh)
            && node.relation.as_ref().is_some_and(|relation| {
                environment.existing.get(relation).map(String::as_str) == Some("table")
            });
        let context = RenderContext {
            target: self.target.clone(),
            vars: self.vars.clone(),
            lookup: Some(self.lookup.clone()),
            node_config: node.config.clone(),
            execute: true,
            is_incremental,
            database: environment.database.clone(),
            docs: self.docs.clone(),
            watermark: environment.watermarks.get(&node.unique_id).cloned(),
            batch: None,
        };
        let this = match &node.relation {
            Some(relation) => RelationValue::value(relation.clone(), None),
            None => RelationValue::cte(&node.name, ephemeral::cte_name(&node.name)),
        };
        (context, self.common_context(node, this, true))
    }

    /// The variables every render sees besides the tmk context.
    fn common_context(&self, node: &Node, this: Value, execute: bool) -> Vec<(&'static str, Value)> {
        common_context(&self.target, &self.project_name, node, this, execute)
    }
}

/// Hook statements from a config value: a string, a mapping with `sql`, or a list of those.
fn hook_texts(value: Option<&serde_json::Value>) -> Vec<String> {
    match value {
        Some(serde_json::Value::String(text)) => vec![text.clone()],
        Some(serde_json::Value::Object(map)) => map
            .get("sql")
            .and_then(|sql| sql.as_str())
            .map(str::to_string)
            .into_iter()
            .collect(),
        Some(serde_json::Value::Array(items)) => {
            items.iter().flat_map(|item| hook_texts(Some(item))).collect()
        }
        _ => Vec::new(),
    }
}

/// The variables every render sees: this, target, execute, model, project_name, flags...
/// (and for a snapshot, the variable that selects its block).
fn common_context(
    target: &TargetInfo,
    project_name: &str,
    node: &Node,
    this: Value,
    execute: bool,
) -> Vec<(&'static str, Value)> {
    let mut variables = vec![
        ("this", this),
        ("target", Value::from_serde(target)),
        ("execute", Value::from(execute)),
        ("project_name", Value::from(project_name.to_string())),
        (
            "model",
            Value::from_pairs([
                ("name", Value::from(node.name.clone())),
                ("unique_id", Value::from(node.unique_id.clone())),
                ("resource_type", Value::from(node.resource_type.as_str())),
                ("package_name", Value::from(node.package.clone())),
                ("original_file_path", Value::from(node.path.clone())),
                ("config", Value::from_serde(&node.config)),
                ("tags", Value::from(node.tags.clone())),
            ]),
        ),
        (
            "flags",
            Value::from_pairs([
                ("FULL_REFRESH", Value::from(false)),
                ("WHICH", Value::from("run")),
            ]),
        ),
        (
            "graph",
            Value::from_pairs([("nodes", Value::from(Vec::<Value>::new()))]),
        ),
        ("invocation_id", Value::from(crate::invocation::id())),
        ("run_started_at", Value::from(crate::invocation::started_at())),
        ("dbt_version", Value::from("1.10.0")),
    ];
    if node.resource_type == ResourceType::Snapshot {
        // Selects this snapshot's block in its file's template.
        variables.push((snapshot::BLOCK_VARIABLE, Value::from(node.name.clone())));
    }
    variables
}
