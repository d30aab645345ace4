//! Properties YAML files (`models/*.yml`): models, seeds, snapshots, analyses and sources with
//! their descriptions, configs, columns and data tests, exactly as written (raw, with positions).
//! Unknown keys are errors with a suggestion (dbt silently ignores typos). It must not resolve
//! configs or tests: `compile` does that.

use serde::Deserialize;
use serde_saphyr::Spanned;

use super::yaml::Yaml;

/// A whole properties file.
#[derive(Debug, Clone, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct RawPropertiesFile {
    /// Schema version (2).
    pub version: Option<Yaml>,
    /// Model properties.
    #[serde(default)]
    pub models: Vec<Spanned<RawNodeProperties>>,
    /// Seed properties.
    #[serde(default)]
    pub seeds: Vec<Spanned<RawNodeProperties>>,
    /// Snapshot properties.
    #[serde(default)]
    pub snapshots: Vec<Spanned<RawNodeProperties>>,
    /// Analysis properties.
    #[serde(default)]
    pub analyses: Vec<Spanned<RawNodeProperties>>,
    /// Source definitions.
    #[serde(default)]
    pub sources: Vec<Spanned<RawSource>>,
    /// Macro properties (accepted).
    pub macros: Option<Yaml>,
    /// Exposures (accepted).
    pub exposures: Option<Yaml>,
    /// Metrics (accepted).
    pub metrics: Option<Yaml>,
    /// Semantic models (accepted).
    pub semantic_models: Option<Yaml>,
    /// Saved queries (accepted).
    pub saved_queries: Option<Yaml>,
    /// Unit tests (accepted).
    pub unit_tests: Option<Yaml>,
    /// Groups (accepted).
    pub groups: Option<Yaml>,
    /// Data test properties (accepted).
    pub data_tests: Option<Yaml>,
}

/// Properties of one model, seed, snapshot or analysis.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawNodeProperties {
    /// The node's name (file name without extension).
    pub name: Spanned<String>,
    /// Markdown description, may use `{{ doc(..) }}`.
    pub description: Option<String>,
    /// Node config.
    pub config: Option<Spanned<Yaml>>,
    /// Column properties.
    #[serde(default)]
    pub columns: Vec<Spanned<RawColumn>>,
    /// Data tests on the node.
    pub data_tests: Option<Vec<Spanned<Yaml>>>,
    /// Older name of `data_tests`.
    pub tests: Option<Vec<Spanned<Yaml>>>,
    /// Docs display settings.
    pub docs: Option<Yaml>,
    /// Free-form metadata (older place; `config.meta` is newer).
    pub meta: Option<Yaml>,
    /// Tags (older place; `config.tags` is newer).
    pub tags: Option<Yaml>,
    /// Model-level constraints.
    pub constraints: Option<Yaml>,
    /// Model versions (accepted).
    pub versions: Option<Yaml>,
    /// Latest version (accepted).
    pub latest_version: Option<Yaml>,
    /// Access modifier.
    pub access: Option<Yaml>,
    /// Group.
    pub group: Option<Yaml>,
    /// Deprecation date.
    pub deprecation_date: Option<Yaml>,
    /// Time spine (accepted).
    pub time_spine: Option<Yaml>,
    /// Seed-level column quoting (accepted).
    pub quote_columns: Option<Yaml>,
    /// A YAML snapshot's input: `ref('m')` or `source('s', 't')` (snapshots only).
    pub relation: Option<Spanned<String>>,
}

impl RawNodeProperties {
    /// The node's tests from either key (`data_tests` wins when both are present).
    pub fn all_tests(&self) -> &[Spanned<Yaml>] {
        self.data_tests
            .as_deref()
            .or(self.tests.as_deref())
            .unwrap_or_default()
    }
}

/// Properties of one column.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawColumn {
    /// Column name.
    pub name: Spanned<String>,
    /// Markdown description.
    pub description: Option<String>,
    /// Declared data type (contracts).
    pub data_type: Option<String>,
    /// Free-form metadata.
    pub meta: Option<Yaml>,
    /// Tags.
    pub tags: Option<Yaml>,
    /// Quote the name in tests.
    pub quote: Option<bool>,
    /// Column constraints.
    pub constraints: Option<Yaml>,
    /// Data tests on the column.
    pub data_tests: Option<Vec<Spanned<Yaml>>>,
    /// Older name of `data_tests`.
    pub tests: Option<Vec<Spanned<Yaml>>>,
    /// BigQuery policy tags (accepted).
    pub policy_tags: Option<Yaml>,
    /// Time granularity (accepted).
    pub granularity: Option<Yaml>,
    /// Column config (meta, tags).
    pub config: Option<Yaml>,
}

impl RawColumn {
    /// The column's tests from either key.
    pub fn all_tests(&self) -> &[Spanned<Yaml>] {
        self.data_tests
            .as_deref()
            .or(self.tests.as_deref())
            .unwrap_or_default()
    }
}

/// A source: a schema of tables loaded by something other than tmk.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawSource {
    /// Source name used in `source('name', ..)`.
    pub name: Spanned<String>,
    /// Description.
    pub description: Option<String>,
    /// Database (defaults to the target's).
    pub database: Option<String>,
    /// Schema (defaults to the source name).
    pub schema: Option<String>,
    /// Loader (free text; `tmk` marks sources tmk extracts).
    pub loader: Option<Spanned<String>>,
    /// For `loader: tmk`: where the rows come from (`mysql://..`, `postgres://..`, `target`;
    /// Jinja with `env_var`). Absent means the target's own database.
    pub connection: Option<Spanned<String>>,
    /// For `loader: tmk`: the MySQL database or PostgreSQL schema the tables are read from
    /// (Jinja with `env_var`; defaults to the source's name).
    pub remote_schema: Option<Spanned<String>>,
    /// Column holding the load time, for freshness.
    pub loaded_at_field: Option<String>,
    /// Freshness thresholds.
    pub freshness: Option<Yaml>,
    /// Identifier quoting.
    pub quoting: Option<Yaml>,
    /// Free-form metadata.
    pub meta: Option<Yaml>,
    /// Tags.
    pub tags: Option<Yaml>,
    /// Source config (enabled, meta, tags, ...).
    pub config: Option<Spanned<Yaml>>,
    /// Package override (accepted).
    pub overrides: Option<Yaml>,
    /// The source's tables.
    #[serde(default)]
    pub tables: Vec<Spanned<RawSourceTable>>,
}

/// One table of a source.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawSourceTable {
    /// Table name used in `source(.., 'name')`.
    pub name: Spanned<String>,
    /// Description.
    pub description: Option<String>,
    /// Real table name when it differs.
    pub identifier: Option<String>,
    /// Column holding the load time, for freshness.
    pub loaded_at_field: Option<String>,
    /// Freshness thresholds.
    pub freshness: Option<Yaml>,
    /// Identifier quoting.
    pub quoting: Option<Yaml>,
    /// External table settings (accepted).
    pub external: Option<Yaml>,
    /// For `loader: tmk`: the column whose greatest loaded value is kept; only rows at or past
    /// it are copied again. Without one the table is reloaded whole.
    pub watermark: Option<Spanned<String>>,
    /// For `loader: tmk`: the key rows are upserted on (a column or a list), when the source's
    /// catalog has no primary key.
    pub primary_key: Option<Spanned<Yaml>>,
    /// For `loader: tmk`: columns never copied (a column or a list), such as password hashes.
    pub exclude_columns: Option<Spanned<Yaml>>,
    /// Column properties.
    #[serde(default)]
    pub columns: Vec<Spanned<RawColumn>>,
    /// Data tests on the table.
    pub data_tests: Option<Vec<Spanned<Yaml>>>,
    /// Older name of `data_tests`.
    pub tests: Option<Vec<Spanned<Yaml>>>,
    /// Free-form metadata.
    pub meta: Option<Yaml>,
    /// Tags.
    pub tags: Option<Yaml>,
    /// Table config.
    pub config: Option<Spanned<Yaml>>,
}

impl RawSourceTable {
    /// The table's tests from either key.
    pub fn all_tests(&self) -> &[Spanned<Yaml>] {
        self.data_tests
            .as_deref()
            .or(self.tests.as_deref())
            .unwrap_or_default()
    }
}
