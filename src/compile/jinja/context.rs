//! What one render can see and what it leaves behind: `RenderContext` (read-only inputs: target,
//! vars, the ref/source lookup, the node's config, execute/is_incremental, the database handle)
//! travels in the template context; `Captured` (config() calls, refs, sources, macro registry,
//! return values, statement results, log lines) is a per-render state extension read back after
//! rendering. It must not render anything itself.

use std::collections::HashMap;
use std::sync::Arc;

use minijinja::value::{Object, Value};
use minijinja::{Error as JinjaError, ErrorKind as JinjaErrorKind, State};

use crate::compile::config::ConfigMap;
use crate::compile::node::Relation;

/// Name of the context variable that carries the `RenderContext`.
pub const CONTEXT_VARIABLE: &str = "__tmk";

/// The profile target, as templates see it (`target.name`, `target.schema`, ...).
#[derive(Debug, Clone, serde::Serialize)]
pub struct TargetInfo {
    /// Target name.
    pub name: String,
    /// Profile name.
    pub profile_name: String,
    /// Adapter type (`postgres`).
    #[serde(rename = "type")]
    pub kind: String,
    /// Database.
    pub database: String,
    /// Database (dbt's alias).
    pub dbname: String,
    /// Default schema.
    pub schema: String,
    /// Host.
    pub host: String,
    /// User.
    pub user: String,
    /// Port.
    pub port: u16,
    /// Threads.
    pub threads: usize,
}

/// Where refs and sources point, once configs are resolved.
#[derive(Debug, Default, Clone)]
pub struct Lookup {
    /// Model/seed/snapshot name → what `ref` renders.
    pub refs: HashMap<String, RefTarget>,
    /// (source, table) → relation.
    pub sources: HashMap<(String, String), Relation>,
    /// Relations whose node sets `event_time` → that column: inside a microbatch model's
    /// batch, `ref`/`source` of them render only the batch's rows.
    pub event_times: HashMap<Relation, String>,
}

/// What a `ref` resolves to.
#[derive(Debug, Clone)]
pub struct RefTarget {
    /// The relation (None for ephemeral models): the node's own, or under `--defer` the
    /// earlier run's.
    pub relation: Option<Relation>,
    /// The node's own relation, whatever `--defer` renders: what a foreign key references,
    /// as in dbt (None for ephemeral models).
    pub own_relation: Option<Relation>,
    /// The CTE name for ephemeral models.
    pub cte_name: Option<String>,
}

/// A table of query results, as `run_query` and `load_result` return it.
#[derive(Debug, Clone, Default)]
pub struct QueryTable {
    /// Column names.
    pub column_names: Vec<String>,
    /// Rows of JSON values.
    pub rows: Vec<Vec<serde_json::Value>>,
    /// Rows affected (for statements that change rows).
    pub rows_affected: u64,
}

/// The database as Jinja needs it while compiling (run_query, statement, introspection).
/// Implemented by the adapter; compile never speaks SQL itself.
pub trait JinjaDatabase: Send + Sync {
    /// Run a statement and return its rows.
    fn query(&self, sql: &str) -> Result<QueryTable, String>;
    /// The columns (name, data type) of a relation, in order; empty when it does not exist.
    fn columns(&self, relation: &Relation) -> Result<Vec<(String, String)>, String>;
    /// The kind of an existing relation (`table`, `view`, `materialized_view`), or None.
    fn relation_kind(&self, relation: &Relation) -> Result<Option<String>, String>;
}

/// The read-only inputs of one render.
pub struct RenderContext {
    /// The target.
    pub target: Arc<TargetInfo>,
    /// Project and command-line vars merged (command line wins).
    pub vars: Arc<serde_json::Map<String, serde_json::Value>>,
    /// Ref and source resolution (None while parsing).
    pub lookup: Option<Arc<Lookup>>,
    /// The node's resolved config (empty while parsing).
    pub node_config: ConfigMap,
    /// dbt's `execute`: false while parsing.
    pub execute: bool,
    /// dbt's `is_incremental()`.
    pub is_incremental: bool,
    /// The database, when one is configured.
    pub database: Option<Arc<dyn JinjaDatabase>>,
    /// Docs blocks by name.
    pub docs: Arc<HashMap<String, String>>,
    /// The model's stored high-water mark, for `watermark()` (None: none stored yet).
    pub watermark: Option<StoredWatermark>,
    /// The batch a microbatch model is rendered for.
    pub batch: Option<crate::compile::microbatch::BatchWindow>,
}

/// A model's high-water mark as kept in `tmk_meta.load_watermarks`: the greatest value of its
/// `watermark` column among the rows committed so far, as text, and the column's type.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredWatermark {
    /// The value, as PostgreSQL prints it.
    pub value: String,
    /// The column's type (`timestamp without time zone`, `bigint`, ...).
    pub data_type: String,
}

impl StoredWatermark {
    /// The value as a typed SQL literal: `cast('2024-01-31 10:00:00' as timestamp)`.
    pub fn literal(&self) -> String {
        format!("cast('{}' as {})", self.value.replace('\'', "''"), self.data_type)
    }
}

impl std::fmt::Debug for RenderContext {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter.write_str("<tmk render context>")
    }
}

impl Object for RenderContext {}

/// A `ref(...)` call seen while rendering.
#[derive(Debug, Clone, PartialEq)]
pub struct RefCall {
    /// Package, for two-argument refs.
    pub package: Option<String>,
    /// Model name.
    pub name: String,
    /// Version, if given.
    pub version: Option<String>,
}

/// What a render leaves behind.
#[derive(Debug, Default)]
pub struct Captured {
    /// config() calls merged in order.
    pub config: ConfigMap,
    /// ref() calls.
    pub refs: Vec<RefCall>,
    /// source() calls.
    pub sources: Vec<(String, String)>,
    /// Macro name → macro value, for the wrappers.
    pub macros: HashMap<String, Value>,
    /// One slot per macro call in progress, for `return()`.
    pub returns: Vec<Option<Value>>,
    /// Named statement results for `load_result`.
    pub statements: HashMap<String, Value>,
    /// Lines from `log(.., info=True)` and `print`.
    pub logs: Vec<String>,
    /// Whether the render used the database (run_query, statement, introspection).
    pub used_database: bool,
}

/// The render context of the current render.
pub fn render_context(state: &State) -> Result<Arc<RenderContext>, JinjaError> {
    state
        .lookup(CONTEXT_VARIABLE)
        .and_then(|value| value.downcast_object::<RenderContext>())
        .ok_or_else(|| JinjaError::new(JinjaErrorKind::InvalidOperation, "tmk context missing"))
}

/// The captures of the current render (created on first use).
pub fn captured<'a>(state: &'a mut State) -> &'a mut Captured {
    state.get_or_insert_extension_with(Captured::default)
}

/// A user-facing Jinja error.
pub fn jinja_error(message: impl Into<String>) -> JinjaError {
    JinjaError::new(JinjaErrorKind::InvalidOperation, message.into())
}

/// Conversion of any serialisable value into a Jinja value.
pub trait FromSerde {
    /// `Value::from(Serde(value))`, spelled as dbt-minded readers expect.
    fn from_serde<T: serde::Serialize>(value: T) -> Value;
}

impl FromSerde for Value {
    fn from_serde<T: serde::Serialize>(value: T) -> Value {
        Value::from(minijinja::value::Serde(value))
    }
}
