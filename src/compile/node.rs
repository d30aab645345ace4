//! The compiled project: nodes (models, seeds, snapshots, tests, analyses, sources) with their
//! resolved config, relation, dependencies and compiled SQL. Plain data that every later stage
//! reads; nothing here renders, plans or connects.

use std::sync::Arc;

use indexmap::IndexMap;
use serde_json::Value;

use super::config::ConfigMap;

/// What kind of resource a node is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum ResourceType {
    /// A SQL model.
    Model,
    /// A CSV seed.
    Seed,
    /// A snapshot.
    Snapshot,
    /// A data test.
    Test,
    /// An analysis (compiled, never run).
    Analysis,
    /// A source table.
    Source,
}

impl ResourceType {
    /// dbt's name for it.
    pub fn as_str(self) -> &'static str {
        match self {
            ResourceType::Model => "model",
            ResourceType::Seed => "seed",
            ResourceType::Snapshot => "snapshot",
            ResourceType::Test => "test",
            ResourceType::Analysis => "analysis",
            ResourceType::Source => "source",
        }
    }
}

/// How a node is built.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Materialization {
    /// `create view`.
    View,
    /// `create table as`.
    Table,
    /// Injected as a CTE into its consumers.
    Ephemeral,
    /// Built once, then added to.
    Incremental,
    /// `create materialized view`, refreshed later.
    MaterializedView,
    /// A seed table loaded with COPY.
    Seed,
    /// A snapshot table.
    Snapshot,
    /// A data test query.
    Test,
    /// Not built (sources, analyses).
    None,
}

impl Materialization {
    /// Parse a config value (validated earlier).
    pub fn parse(name: &str) -> Materialization {
        match name {
            "view" => Materialization::View,
            "table" => Materialization::Table,
            "ephemeral" => Materialization::Ephemeral,
            "incremental" => Materialization::Incremental,
            "materialized_view" => Materialization::MaterializedView,
            "seed" => Materialization::Seed,
            "snapshot" => Materialization::Snapshot,
            "test" => Materialization::Test,
            _ => Materialization::None,
        }
    }

    /// The config name.
    pub fn as_str(self) -> &'static str {
        match self {
            Materialization::View => "view",
            Materialization::Table => "table",
            Materialization::Ephemeral => "ephemeral",
            Materialization::Incremental => "incremental",
            Materialization::MaterializedView => "materialized_view",
            Materialization::Seed => "seed",
            Materialization::Snapshot => "snapshot",
            Materialization::Test => "test",
            Materialization::None => "none",
        }
    }
}

/// dbt's custom schema of tests (`<target schema>_dbt_test__audit`): where failing rows are stored.
pub const AUDIT_SCHEMA: &str = "dbt_test__audit";

/// A database relation `"database"."schema"."identifier"`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Relation {
    /// Database.
    pub database: String,
    /// Schema.
    pub schema: String,
    /// Table or view name.
    pub identifier: String,
}

impl Relation {
    /// The quoted, fully qualified name.
    pub fn render(&self) -> String {
        format!(
            "{}.{}.{}",
            quote_identifier(&self.database),
            quote_identifier(&self.schema),
            quote_identifier(&self.identifier)
        )
    }

    /// The same relation with another identifier (temporary and backup names).
    pub fn with_identifier(&self, identifier: String) -> Relation {
        Relation {
            identifier,
            ..self.clone()
        }
    }
}

/// Quote an identifier for PostgreSQL.
pub fn quote_identifier(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

/// A documented column.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ColumnInfo {
    /// Column name.
    pub name: String,
    /// Rendered description.
    pub description: String,
    /// Declared data type.
    pub data_type: Option<String>,
    /// Free-form metadata.
    pub meta: Value,
}

/// The relation a generic test is attached to, as its properties YAML names it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TestedRelation {
    /// A model, seed or snapshot, by name.
    Node(String),
    /// A source table: (source name, table name).
    Source(String, String),
}

/// What a generic test checks.
#[derive(Debug, Clone, PartialEq)]
pub struct TestMetadata {
    /// The test's name (`not_null`, `relationships`, ...).
    pub name: String,
    /// The namespace (package) of the test macro, if any.
    pub namespace: Option<String>,
    /// Arguments (`column_name`, `values`, `to`, `field`, ...), `model` excluded.
    pub kwargs: serde_json::Map<String, Value>,
    /// The column it tests, if any.
    pub column_name: Option<String>,
    /// What the test is attached to.
    pub tested: TestedRelation,
    /// The model, seed or snapshot the test is attached to (None for source tests, as in dbt).
    pub attached_node: Option<usize>,
    /// Where the test is declared in its properties file, for errors about it.
    pub declared_at: Option<crate::error::SourceLocation>,
}

/// One node of the project.
#[derive(Debug, Clone)]
pub struct Node {
    /// dbt's unique id: `model.jaffle_shop.orders`.
    pub unique_id: String,
    /// Resource type.
    pub resource_type: ResourceType,
    /// Node name.
    pub name: String,
    /// Package (project) name.
    pub package: String,
    /// Fully qualified name: [package, folders.., name].
    pub fqn: Vec<String>,
    /// File path relative to the project root.
    pub path: String,
    /// The properties file that describes it, if any.
    pub patch_path: Option<String>,
    /// The source text (Jinja SQL; empty for seeds and sources).
    pub raw_code: Arc<str>,
    /// Resolved config.
    pub config: ConfigMap,
    /// How it is built.
    pub materialized: Materialization,
    /// Where it lives in the database (None for ephemeral models and tests).
    pub relation: Option<Relation>,
    /// With `--defer`: this node in the earlier run, when it was built there (dbt's
    /// `defer_relation`; see `compile::defer`).
    pub defer_relation: Option<Arc<DeferRelation>>,
    /// Whether refs to this node read `defer_relation` instead of its own relation.
    pub deferred: bool,
    /// Node indices this node depends on.
    pub depends_on: Vec<usize>,
    /// The compiled SQL (SELECT for models and tests), once compiled.
    pub compiled_sql: Option<String>,
    /// Description (rendered).
    pub description: String,
    /// Documented columns.
    pub columns: IndexMap<String, ColumnInfo>,
    /// For generic tests: what they check.
    pub test: Option<TestMetadata>,
    /// For sources: the source's name.
    pub source_name: Option<String>,
    /// Tags (from config).
    pub tags: Vec<String>,
    /// True when the node's Jinja needs the database while compiling (run_query, statement,
    /// adapter introspection): it is compiled again just before it runs.
    pub needs_database: bool,
    /// sha256 of the raw code, for artifacts.
    pub checksum: String,
    /// For models: the SQL as rendered, before ephemeral models are injected (what the SQL
    /// checks and column lineage read; positions in it map back to the file).
    pub rendered_sql: Option<String>,
    /// Why the compile pass could not render this node (it then fails when it runs).
    pub compile_error: Option<crate::error::Error>,
    /// The registered template its SQL renders from: its file's path, or its unique id when
    /// tmk wrote the SQL (generic tests, YAML snapshots).
    pub template: String,
    /// For snapshots: the validated snapshot settings.
    pub snapshot: Option<Arc<crate::compile::snapshot::SnapshotSpec>>,
    /// For microbatch incremental models: the validated batch settings.
    pub microbatch: Option<Arc<crate::compile::microbatch::MicrobatchSpec>>,
    /// For source tables with freshness thresholds: the validated freshness settings.
    pub freshness: Option<Arc<crate::compile::freshness::FreshnessSpec>>,
    /// For sources with `loader: tmk`: where their rows come from and how they are copied.
    pub extract: Option<Arc<crate::compile::extract::ExtractSpec>>,
    /// For models with an enforced contract: the declared columns and constraints.
    pub contract: Option<Arc<crate::compile::contract::Contract>>,
    /// For models bound to a DBML table (`dbml: schema.table`): its columns, keys and indexes.
    pub dbml: Option<Arc<crate::compile::dbml_binding::DbmlBinding>>,
}

/// Where a deferred node's refs read: its relation in the `--defer` state's manifest.json.
#[derive(Debug, Clone, PartialEq)]
pub struct DeferRelation {
    /// The relation.
    pub relation: Relation,
    /// The node as the earlier manifest.json describes it, in the shape of dbt's
    /// `defer_relation` (database, schema, alias, relation_name, resource_type, name,
    /// description, compiled_code, meta, tags, config).
    pub described: Value,
}

impl Node {
    /// The relation others read when they ref this node: the earlier run's under `--defer`,
    /// else its own.
    pub fn read_relation(&self) -> Option<&Relation> {
        match &self.defer_relation {
            Some(earlier) if self.deferred => Some(&earlier.relation),
            _ => self.relation.as_ref(),
        }
    }

    /// dbt's search name: `source.table` for a source table, the node's name otherwise.
    pub fn search_name(&self) -> String {
        match &self.source_name {
            Some(source) => format!("{source}.{}", self.name),
            None => self.name.clone(),
        }
    }

    /// Whether this node is built in the database (not ephemeral, source, test or analysis).
    pub fn is_buildable(&self) -> bool {
        matches!(
            self.materialized,
            Materialization::View
                | Materialization::Table
                | Materialization::Incremental
                | Materialization::MaterializedView
                | Materialization::Seed
                | Materialization::Snapshot
        )
    }

    /// Whether this node is rebuilt from scratch: `--full-refresh`, unless its config says
    /// `full_refresh: false` (or forces `true`).
    pub fn full_refresh(&self, flag: bool) -> bool {
        self.config
            .get("full_refresh")
            .and_then(Value::as_bool)
            .unwrap_or(flag)
    }

    /// The node's SQL file under `target/compiled/<project>/` or `target/run/<project>/`: its
    /// own path, for a generic test `<yml path>/<alias or name>.sql`, for a YAML snapshot
    /// `<yml path>/<name>.sql`.
    pub fn sql_file_path(&self) -> String {
        if self.resource_type == ResourceType::Snapshot && self.template != self.path {
            format!("{}/{}.sql", self.path, self.name)
        } else if self.test.is_some() {
            let file = self
                .config
                .get("alias")
                .and_then(Value::as_str)
                .unwrap_or(&self.name);
            format!("{}/{file}.sql", self.path)
        } else {
            self.path.clone()
        }
    }

    /// The severity of a test (`error` by default).
    pub fn severity(&self) -> &str {
        self.config
            .get("severity")
            .and_then(Value::as_str)
            .unwrap_or("error")
    }
}
