//! Artifacts in the target directory, in dbt's published shapes so existing tools read them:
//! `manifest.json` (schema v12), `run_results.json` (v6), `catalog.json` (v1), `sources.json`
//! (v3, freshness), the data-quality report (`dq_report.json`, `dq_report.html`), and the SQL
//! files under `compiled/` and `run/`. Maps are written in sorted order so the files are deterministic. Reads the
//! manifest and results; changes nothing else. It must not speak SQL or print, and writes
//! only through `fs`.

mod catalog;
mod dq_report;
mod manifest;
mod run_results;
mod sources;
mod state;

use std::path::Path;

use crate::compile::Manifest;
use crate::error::Result;
use crate::execute::NodeResult;

pub use catalog::catalog_json;
pub use dq_report::{DqInputs, dq_report_html, dq_report_json};
pub use manifest::{config_with_defaults, manifest_bytes};
pub use run_results::run_results_json;
pub use sources::sources_json;
pub use state::{EarlierState, earlier_relations, earlier_state};

/// dbt version tmk reports in artifacts (the dbt behaviour it matches).
pub const DBT_VERSION: &str = "1.10.0";

/// Write `target/compiled/<project>/<path>` for every compiled node.
pub fn write_compiled(target_dir: &Path, manifest: &Manifest) -> Result<()> {
    let files: Vec<(String, &str)> = manifest
        .nodes
        .iter()
        .filter_map(|node| {
            Some((
                relative_sql_path("compiled", manifest, node),
                node.compiled_sql.as_deref()?,
            ))
        })
        .collect();
    write_files(target_dir, files)
}

/// Write `target/compiled/...` for nodes compiled just before they ran.
pub fn write_deferred_compiled(target_dir: &Path, manifest: &Manifest, results: &[NodeResult]) -> Result<()> {
    let files: Vec<(String, &str)> = results
        .iter()
        .filter_map(|result| {
            let node = &manifest.nodes[result.node];
            Some((
                relative_sql_path("compiled", manifest, node),
                result.compiled_sql.as_deref()?,
            ))
        })
        .collect();
    write_files(target_dir, files)
}

/// Write `target/run/<project>/<path>` with the statements each node ran.
pub fn write_run(target_dir: &Path, manifest: &Manifest, results: &[NodeResult]) -> Result<()> {
    let texts: Vec<(String, String)> = results
        .iter()
        .filter(|result| !result.statements.is_empty())
        .map(|result| {
            let node = &manifest.nodes[result.node];
            (
                relative_sql_path("run", manifest, node),
                result.statements.join(";\n\n") + ";\n",
            )
        })
        .collect();
    write_files(
        target_dir,
        texts
            .iter()
            .map(|(path, text)| (path.clone(), text.as_str()))
            .collect(),
    )
}

/// Write files under `target_dir` in parallel, skipping those whose content is unchanged
/// (writes cost far more than reads, and most compiled SQL is the same as last time).
fn write_files(target_dir: &Path, files: Vec<(String, &str)>) -> Result<()> {
    use rayon::prelude::*;
    files.par_iter().try_for_each(|(path, text)| {
        crate::fs::write_if_changed(&target_dir.join(path), text.as_bytes()).map(|_| ())
    })
}

/// `compiled/<project>/<path>`; generic tests live under their YAML file's path.
fn relative_sql_path(kind: &str, manifest: &Manifest, node: &crate::compile::node::Node) -> String {
    format!("{kind}/{}/{}", manifest.project_name, node.sql_file_path())
}

/// `target/<kind>/<project>/<path>`, as dbt names `compiled_path` and `build_path`.
fn target_sql_path(kind: &str, manifest: &Manifest, node: &crate::compile::node::Node) -> String {
    format!("target/{}", relative_sql_path(kind, manifest, node))
}

/// dbt's timestamp format (`2024-01-31T12:00:00.123456Z`).
fn format_time(time: &chrono::DateTime<chrono::Utc>) -> String {
    time.format("%Y-%m-%dT%H:%M:%S%.6fZ").to_string()
}

/// Write a JSON artifact.
pub fn write_json(target_dir: &Path, name: &str, value: &serde_json::Value) -> Result<()> {
    let text = serde_json::to_string(value).unwrap_or_else(|_| "{}".to_string());
    crate::fs::write(&target_dir.join(name), text)
}

/// Write a text artifact (the DQ report's page).
pub fn write_text(target_dir: &Path, name: &str, text: &str) -> Result<()> {
    crate::fs::write(&target_dir.join(name), text)
}

/// Write `manifest.json`.
pub fn write_manifest(target_dir: &Path, manifest: &Manifest, results: &[NodeResult]) -> Result<()> {
    crate::fs::write(
        &target_dir.join("manifest.json"),
        manifest_bytes(manifest, results),
    )
}

/// dbt's metadata block.
fn metadata(schema: &str) -> serde_json::Value {
    serde_json::json!({
        "dbt_schema_version": format!("https://schemas.getdbt.com/dbt/{schema}"),
        "dbt_version": DBT_VERSION,
        "generated_at": format_time(&chrono::Utc::now()),
        "invocation_id": crate::invocation::id(),
        "invocation_started_at": crate::invocation::started_at(),
        "env": {},
    })
}
