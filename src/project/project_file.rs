//! `dbt_project.yml` / `tmk_project.yml` exactly as written (raw types with positions), and
//! where the project's files live. Validation of config trees happens in `config`; this module
//! only reads.

use serde::Deserialize;
use serde_saphyr::Spanned;

use super::yaml::Yaml;

/// The project file names tmk accepts, in lookup order.
pub const PROJECT_FILE_NAMES: [&str; 2] = ["tmk_project.yml", "dbt_project.yml"];

/// Hook statements as written: a string or a list of strings (dbt accepts both).
pub fn hook_list(value: &Option<Yaml>) -> Vec<String> {
    match value {
        Some(Yaml::Str(text)) => vec![text.clone()],
        Some(Yaml::Seq(items)) => items
            .iter()
            .filter_map(|(_, item)| item.as_str().map(str::to_string))
            .collect(),
        _ => Vec::new(),
    }
}

/// The project file, raw.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawProjectFile {
    /// Project name.
    pub name: Spanned<String>,
    /// Profile name in profiles.yml (defaults to the project name).
    pub profile: Option<Spanned<String>>,
    /// Must be 2 when present.
    #[serde(rename = "config-version")]
    pub config_version: Option<Spanned<i64>>,
    /// Project version (free-form).
    pub version: Option<Yaml>,
    /// Accepted and ignored: tmk runs any 1.x project.
    #[serde(rename = "require-dbt-version")]
    pub require_dbt_version: Option<Yaml>,
    /// Project variables (global and per-package).
    pub vars: Option<Yaml>,
    /// Statements run before the run.
    #[serde(rename = "on-run-start")]
    pub on_run_start: Option<Yaml>,
    /// Statements run after the run.
    #[serde(rename = "on-run-end")]
    pub on_run_end: Option<Yaml>,
    /// Macro dispatch search order.
    pub dispatch: Option<Yaml>,
    /// Behaviour flags (accepted).
    pub flags: Option<Yaml>,
    /// Model directories.
    #[serde(rename = "model-paths", alias = "source-paths")]
    pub model_paths: Option<Vec<String>>,
    /// Seed directories.
    #[serde(rename = "seed-paths", alias = "data-paths")]
    pub seed_paths: Option<Vec<String>>,
    /// Singular test directories.
    #[serde(rename = "test-paths")]
    pub test_paths: Option<Vec<String>>,
    /// Analysis directories.
    #[serde(rename = "analysis-paths")]
    pub analysis_paths: Option<Vec<String>>,
    /// Macro directories.
    #[serde(rename = "macro-paths")]
    pub macro_paths: Option<Vec<String>>,
    /// Snapshot directories.
    #[serde(rename = "snapshot-paths")]
    pub snapshot_paths: Option<Vec<String>>,
    /// DBML directories (tmk): the tables models name with `config(dbml='schema.table')`.
    #[serde(rename = "dbml-paths")]
    pub dbml_paths: Option<Vec<String>>,
    /// Docs directories (default: the other resource paths).
    #[serde(rename = "docs-paths")]
    pub docs_paths: Option<Vec<String>>,
    /// Asset directories (accepted).
    #[serde(rename = "asset-paths")]
    pub asset_paths: Option<Vec<String>>,
    /// Where artifacts go.
    #[serde(rename = "target-path")]
    pub target_path: Option<String>,
    /// Where logs go (accepted).
    #[serde(rename = "log-path")]
    pub log_path: Option<String>,
    /// Directories removed by `tmk clean`.
    #[serde(rename = "clean-targets")]
    pub clean_targets: Option<Vec<String>>,
    /// Where packages are installed.
    #[serde(rename = "packages-install-path")]
    pub packages_install_path: Option<String>,
    /// Identifier quoting (accepted).
    pub quoting: Option<Yaml>,
    /// Query comment (accepted).
    #[serde(rename = "query-comment")]
    pub query_comment: Option<Yaml>,
    /// Access restriction (accepted).
    #[serde(rename = "restrict-access")]
    pub restrict_access: Option<Yaml>,
    /// Model config tree.
    pub models: Option<Spanned<Yaml>>,
    /// Seed config tree.
    pub seeds: Option<Spanned<Yaml>>,
    /// Snapshot config tree.
    pub snapshots: Option<Spanned<Yaml>>,
    /// Data test config tree.
    pub data_tests: Option<Spanned<Yaml>>,
    /// Older name of the data test config tree.
    pub tests: Option<Spanned<Yaml>>,
    /// Source config tree.
    pub sources: Option<Spanned<Yaml>>,
    /// Analysis config tree (accepted).
    pub analyses: Option<Spanned<Yaml>>,
    /// Unit test config tree (accepted).
    pub unit_tests: Option<Spanned<Yaml>>,
    /// Semantic layer trees (accepted).
    pub metrics: Option<Yaml>,
    /// Semantic layer trees (accepted).
    #[serde(rename = "semantic-models")]
    pub semantic_models: Option<Yaml>,
    /// Saved queries (accepted).
    #[serde(rename = "saved-queries")]
    pub saved_queries: Option<Yaml>,
    /// Exposures config (accepted).
    pub exposures: Option<Yaml>,
}

impl RawProjectFile {
    /// Directories of one kind, with dbt's default.
    pub fn paths(configured: &Option<Vec<String>>, default: &str) -> Vec<String> {
        configured.clone().unwrap_or_else(|| vec![default.to_string()])
    }
}
