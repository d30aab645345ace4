//! Artifacts in the target directory, in dbt's published shapes so existing tools read them:
//! `manifest.json` (schema v12), `run_results.json` (v6), and the SQL files under `compiled/`
//! and `run/`. Maps are written in sorted order so the files are deterministic. Reads the
//! manifest and results; changes nothing else.

mod manifest;
mod run_results;

use std::path::Path;

use crate::compile::Manifest;
use crate::compile::node::ResourceType;
use crate::error::Result;
use crate::execute::NodeResult;

pub use manifest::manifest_json;
pub use run_results::run_results_json;

/// dbt version tmk reports in artifacts (the dbt behaviour it matches).
pub const DBT_VERSION: &str = "1.10.0";

/// Write `target/compiled/<project>/<path>` for every compiled node.
pub fn write_compiled(target_dir: &Path, manifest: &Manifest) -> Result<()> {
    for node in &manifest.nodes {
        if let Some(sql) = &node.compiled_sql {
            crate::fs::write(
                &target_dir.join(relative_sql_path("compiled", manifest, node)),
                sql,
            )?;
        }
    }
    Ok(())
}

/// Write `target/compiled/...` for nodes compiled just before they ran.
pub fn write_deferred_compiled(target_dir: &Path, manifest: &Manifest, results: &[NodeResult]) -> Result<()> {
    for result in results {
        if let Some(sql) = &result.compiled_sql {
            let node = &manifest.nodes[result.node];
            crate::fs::write(
                &target_dir.join(relative_sql_path("compiled", manifest, node)),
                sql,
            )?;
        }
    }
    Ok(())
}

/// Write `target/run/<project>/<path>` with the statements each node ran.
pub fn write_run(target_dir: &Path, manifest: &Manifest, results: &[NodeResult]) -> Result<()> {
    for result in results {
        if result.statements.is_empty() {
            continue;
        }
        let node = &manifest.nodes[result.node];
        let text = result.statements.join(";\n\n") + ";\n";
        crate::fs::write(&target_dir.join(relative_sql_path("run", manifest, node)), text)?;
    }
    Ok(())
}

/// `compiled/<project>/<path>`; generic tests live under their YAML file's path.
fn relative_sql_path(kind: &str, manifest: &Manifest, node: &crate::compile::node::Node) -> String {
    if node.resource_type == ResourceType::Test && node.test.is_some() {
        format!("{kind}/{}/{}/{}.sql", manifest.project_name, node.path, node.name)
    } else {
        format!("{kind}/{}/{}", manifest.project_name, node.path)
    }
}

/// Write a JSON artifact.
pub fn write_json(target_dir: &Path, name: &str, value: &serde_json::Value) -> Result<()> {
    let text = serde_json::to_string_pretty(value).unwrap_or_else(|_| "{}".to_string());
    crate::fs::write(&target_dir.join(name), text)
}

/// dbt's metadata block.
fn metadata(schema: &str) -> serde_json::Value {
    serde_json::json!({
        "dbt_schema_version": format!("https://schemas.getdbt.com/dbt/{schema}"),
        "dbt_version": DBT_VERSION,
        "generated_at": chrono::Utc::now().format("%Y-%m-%dT%H:%M:%S%.6fZ").to_string(),
        "invocation_id": crate::invocation::id(),
        "invocation_started_at": crate::invocation::started_at(),
        "env": {},
    })
}
