//! `--state DIR`: the project compared with the artifacts of an earlier run (dbt's
//! `state:` and `result:` selector methods). The earlier `manifest.json` is compared with the
//! one this project would write, node by node and part by part as dbt compares them; the
//! earlier `run_results.json` gives each node's last status. Reads files only.

use std::collections::{BTreeSet, HashMap};
use std::path::Path;

use serde_json::Value;

use super::manifest::manifest_bytes;
use crate::compile::Manifest;
use crate::error::{Error, ErrorKind, Result, SourceLocation};
use crate::graph::{ModifiedPart, StateChange};

/// What the earlier run's artifacts say of each node of the project.
pub struct EarlierState {
    /// Each node's comparison with the earlier manifest, by node index.
    pub changes: Vec<StateChange>,
    /// Each node's status in the earlier run_results.json, by node index (None: it did not run
    /// there, or there is no run_results.json).
    pub statuses: Vec<Option<String>>,
}

/// Compare `manifest` with the artifacts in `dir` (its `manifest.json`, required, and its
/// `run_results.json`, when there is one).
pub fn earlier_state(manifest: &Manifest, dir: &Path) -> Result<EarlierState> {
    let earlier_path = dir.join("manifest.json");
    if !earlier_path.is_file() {
        return Err(Error::new(
            ErrorKind::Usage,
            format!("--state `{}` has no manifest.json", dir.display()),
        )
        .hint("give the target directory of an earlier tmk run, e.g. a copy of production's target/"));
    }
    let earlier = read_json(&earlier_path)?;
    let current: Value = serde_json::from_slice(&manifest_bytes(manifest, &[])).map_err(|error| {
        Error::new(
            ErrorKind::Io,
            format!("the project's own manifest did not read back: {error}"),
        )
    })?;
    let changed_macros = changed_macros(&current, &earlier);
    let macros = manifest.jinja.macros();
    let changes = manifest
        .nodes
        .iter()
        .map(|node| {
            let calls_changed_macro = macros
                .called(&node.raw_code)
                .iter()
                .any(|name| changed_macros.contains(name));
            let group = if node.resource_type == crate::compile::node::ResourceType::Source {
                "sources"
            } else {
                "nodes"
            };
            let now = current.get(group).and_then(|nodes| nodes.get(&node.unique_id));
            let before = earlier.get(group).and_then(|nodes| nodes.get(&node.unique_id));
            match (now, before) {
                (Some(now), Some(before)) => StateChange::old_node(
                    ModifiedPart::ALL
                        .into_iter()
                        .filter(|&part| part_changed(part, now, before, calls_changed_macro)),
                ),
                _ => StateChange::new_node(),
            }
        })
        .collect();
    let results_path = dir.join("run_results.json");
    let statuses = if results_path.is_file() {
        let results = read_json(&results_path)?;
        let by_id: HashMap<&str, &str> = results
            .get("results")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(|result| {
                Some((
                    result.get("unique_id")?.as_str()?,
                    result.get("status")?.as_str()?,
                ))
            })
            .collect();
        manifest
            .nodes
            .iter()
            .map(|node| {
                by_id
                    .get(node.unique_id.as_str())
                    .map(|status| status.to_string())
            })
            .collect()
    } else {
        vec![None; manifest.nodes.len()]
    };
    Ok(EarlierState { changes, statuses })
}

/// A JSON artifact; a malformed one is an error at its line and column.
fn read_json(path: &Path) -> Result<Value> {
    let text = crate::fs::read_text(path)?;
    serde_json::from_str(&text).map_err(|error| {
        Error::new(
            ErrorKind::Usage,
            format!("--state: `{}` is not valid JSON: {error}", path.display()),
        )
        .at(SourceLocation::new(path, error.line(), error.column()).with_text(text.clone()))
    })
}

/// Whether `part` of a node differs between its JSON now and before, as dbt compares it;
/// `calls_changed_macro`: whether its code calls a macro whose SQL changed.
fn part_changed(part: ModifiedPart, now: &Value, before: &Value, calls_changed_macro: bool) -> bool {
    let differs = |key: &str| now.get(key) != before.get(key);
    match part {
        // A source's definition: where its freshness is read and what it warns after.
        ModifiedPart::Body if now.get("resource_type").and_then(Value::as_str) == Some("source") => [
            "freshness",
            "loaded_at_field",
            "loaded_at_query",
            "quoting",
            "external",
        ]
        .into_iter()
        .any(differs),
        ModifiedPart::Body => differs("checksum"),
        ModifiedPart::Configs => differs("config"),
        // The database, schema and alias the project configures, not what a target makes of
        // them: a CI schema is not a change.
        ModifiedPart::Relation => ["database", "schema", "alias"].into_iter().any(|key| {
            now.pointer(&format!("/unrendered_config/{key}"))
                != before.pointer(&format!("/unrendered_config/{key}"))
        }),
        ModifiedPart::PersistedDescriptions => {
            let persisted = |key: &str| {
                [now, before].into_iter().any(|node| {
                    node.pointer(&format!("/config/persist_docs/{key}")) == Some(&Value::Bool(true))
                })
            };
            (persisted("relation") && differs("description"))
                || (persisted("columns")
                    && column_parts(now, "description") != column_parts(before, "description"))
        }
        ModifiedPart::Contract => {
            let enforced = [now, before]
                .into_iter()
                .any(|node| node.pointer("/contract/enforced") == Some(&Value::Bool(true)));
            enforced
                && (differs("contract")
                    || column_parts(now, "data_type") != column_parts(before, "data_type")
                    || column_parts(now, "constraints") != column_parts(before, "constraints"))
        }
        ModifiedPart::Macros => calls_changed_macro,
    }
}

/// Each column's `key`, by column name.
fn column_parts<'a>(node: &'a Value, key: &str) -> Vec<(&'a str, Option<&'a Value>)> {
    node.get("columns")
        .and_then(Value::as_object)
        .into_iter()
        .flatten()
        .map(|(name, column)| (name.as_str(), column.get(key)))
        .collect()
}

/// The names of the macros whose SQL differs from the earlier manifest's (or that it does not
/// have). A name the earlier manifest has in another package counts as changed too.
fn changed_macros(current: &Value, earlier: &Value) -> BTreeSet<String> {
    let Some(macros) = current.get("macros").and_then(Value::as_object) else {
        return BTreeSet::new();
    };
    macros
        .iter()
        .filter(|(id, now)| {
            earlier
                .get("macros")
                .and_then(|before| before.get(id.as_str()))
                .is_none_or(|before| before.get("macro_sql") != now.get("macro_sql"))
        })
        .filter_map(|(_, now)| Some(now.get("name")?.as_str()?.to_string()))
        .collect()
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn changed(now: Value, before: Value) -> Vec<&'static str> {
        ModifiedPart::ALL
            .into_iter()
            .filter(|&part| part_changed(part, &now, &before, false))
            .map(ModifiedPart::name)
            .collect()
    }

    #[test]
    fn each_part_is_compared_as_dbt_compares_it() {
        let model = json!({
            "resource_type": "model", "checksum": {"checksum": "1"}, "config": {"materialized": "view"},
            "unrendered_config": {"schema": "marts"}, "schema": "ci_marts", "description": "d",
            "contract": {"enforced": false}, "columns": {"id": {"data_type": "int", "description": "x"}}
        });
        assert!(changed(model.clone(), model.clone()).is_empty());
        // The target's schema is no change; the configured one is.
        let mut other = model.clone();
        other["schema"] = json!("prod_marts");
        assert!(changed(other, model.clone()).is_empty());
        let mut other = model.clone();
        other["unrendered_config"]["schema"] = json!("finance");
        assert_eq!(changed(other, model.clone()), ["relation"]);
        // Column types count only under an enforced contract.
        let mut other = model.clone();
        other["columns"]["id"]["data_type"] = json!("bigint");
        assert!(changed(other.clone(), model.clone()).is_empty());
        let mut enforced = model.clone();
        enforced["contract"]["enforced"] = json!(true);
        other["contract"]["enforced"] = json!(true);
        assert_eq!(changed(other, enforced), ["contract"]);
        // Descriptions count only when persisted.
        let mut other = model.clone();
        other["description"] = json!("new words");
        assert!(changed(other.clone(), model.clone()).is_empty());
        other["config"]["persist_docs"] = json!({"relation": true});
        assert_eq!(
            changed(other, model.clone()),
            ["configs", "persisted_descriptions"]
        );
        // A source's body is its freshness settings.
        let source = json!({"resource_type": "source", "loaded_at_field": "a", "config": {}});
        let mut other = source.clone();
        other["loaded_at_field"] = json!("b");
        assert_eq!(changed(other, source), ["body"]);
        assert_eq!(
            ModifiedPart::ALL
                .into_iter()
                .filter(|&part| part_changed(part, &model, &model, true))
                .map(ModifiedPart::name)
                .collect::<Vec<_>>(),
            ["macros"]
        );
    }
}
