//! `--state DIR`: the project compared with the artifacts of an earlier run (dbt's
//! `state:` and `result:` selector methods). The earlier `manifest.json` is compared with the
//! one this project would write, node by node and part by part as dbt compares them; the
//! earlier `run_results.json` gives each node's last status. For `--defer`, the earlier
//! manifest.json also gives each node's relation there. Reads files only.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::Path;

use serde_json::Value;

use super::manifest::manifest_bytes;
use crate::compile::Manifest;
use crate::compile::node::{DeferRelation, Relation, ResourceType};
use crate::error::{Error, ErrorKind, Result, SourceLocation};
use crate::graph::{ModifiedPart, StateChange};

/// What the earlier run's artifacts say of each node of the project.
pub struct EarlierState {
    /// Each node's comparison with the earlier manifest, by node index.
    pub changes: Vec<StateChange>,
    /// Each node's status in the earlier run_results.json, by node index (None: it did not run
    /// there); None when the directory has no run_results.json.
    pub statuses: Option<Vec<Option<String>>>,
}

/// What defines a source, as dbt's `SourceDefinition.same_contents` compares it.
const SOURCE_DEFINITION: [&str; 10] = [
    "database",
    "schema",
    "identifier",
    "fqn",
    "config",
    "quoting",
    "freshness",
    "loaded_at_field",
    "loaded_at_query",
    "external",
];

/// The configs dbt leaves out of `state:modified.configs`: `.relation` compares them.
const RELATION_CONFIGS: [&str; 3] = ["database", "schema", "alias"];

/// Compare `manifest` with the artifacts in `dir` (its `manifest.json`, required, and its
/// `run_results.json`, when there is one).
pub fn earlier_state(manifest: &Manifest, dir: &Path) -> Result<EarlierState> {
    let earlier = earlier_manifest("--state", dir)?;
    let current: Value = serde_json::from_slice(&manifest_bytes(manifest, &[])).map_err(|error| {
        Error::new(
            ErrorKind::Io,
            format!("the project's own manifest did not read back: {error}"),
        )
    })?;
    let changed_macros = changed_macros(&current, &earlier);
    let changes = manifest
        .nodes
        .iter()
        .map(|node| {
            let source = node.resource_type == ResourceType::Source;
            let group = if source { "sources" } else { "nodes" };
            let now = current.get(group).and_then(|nodes| nodes.get(&node.unique_id));
            let before = earlier.get(group).and_then(|nodes| nodes.get(&node.unique_id));
            let calls_changed_macro =
                !source && calls_changed_macro(manifest, &node.raw_code, &changed_macros);
            match (now, before) {
                // dbt compares a source as a whole: a change is a change of every part but the
                // macros (a source calls none).
                (Some(now), Some(before)) if source => {
                    let changed = SOURCE_DEFINITION
                        .into_iter()
                        .any(|key| now.get(key) != before.get(key));
                    let parts = ModifiedPart::ALL
                        .into_iter()
                        .filter(|&part| changed && part != ModifiedPart::Macros);
                    StateChange::old_node(parts, false)
                }
                (Some(now), Some(before)) => StateChange::old_node(
                    ModifiedPart::ALL
                        .into_iter()
                        .filter(|&part| part_changed(part, now, before, calls_changed_macro)),
                    now.get("fqn") != before.get("fqn"),
                ),
                _ => StateChange::new_node(calls_changed_macro),
            }
        })
        .collect();
    let results_path = dir.join("run_results.json");
    let statuses = if results_path.is_file() {
        Some(statuses(manifest, &read_json(&results_path)?))
    } else {
        None
    };
    Ok(EarlierState { changes, statuses })
}

/// The manifest.json in `dir`, which `flag` names; an error when there is none.
fn earlier_manifest(flag: &str, dir: &Path) -> Result<Value> {
    let path = dir.join("manifest.json");
    if !path.is_file() {
        return Err(Error::new(
            ErrorKind::Usage,
            format!("{flag} `{}` has no manifest.json", dir.display()),
        )
        .hint("give the target directory of an earlier tmk run, e.g. a copy of production's target/"));
    }
    let manifest = read_json(&path)?;
    if !manifest.get("nodes").is_some_and(Value::is_object) {
        return Err(Error::new(
            ErrorKind::Usage,
            format!("`{}` is not a manifest.json: it has no `nodes`", path.display()),
        )
        .hint("give the target directory of an earlier tmk run, e.g. a copy of production's target/"));
    }
    Ok(manifest)
}

/// The keys of dbt's `defer_relation`, taken from the earlier manifest's node.
const DEFER_RELATION_KEYS: [&str; 11] = [
    "database",
    "schema",
    "alias",
    "relation_name",
    "resource_type",
    "name",
    "description",
    "compiled_code",
    "meta",
    "tags",
    "config",
];

/// For `--defer` (`flag` names `dir`): each node's relation in the earlier run whose artifacts
/// are in `dir`, by node index — for models, seeds and snapshots that were built there (not
/// ephemeral), by unique id.
pub fn earlier_relations(manifest: &Manifest, flag: &str, dir: &Path) -> Result<Vec<Option<DeferRelation>>> {
    let earlier = earlier_manifest(flag, dir)?;
    let refable = |node: &Value| {
        matches!(
            node.get("resource_type").and_then(Value::as_str),
            Some("model" | "seed" | "snapshot")
        ) && node.pointer("/config/materialized").and_then(Value::as_str) != Some("ephemeral")
    };
    Ok(manifest
        .nodes
        .iter()
        .map(|node| {
            if !matches!(
                node.resource_type,
                ResourceType::Model | ResourceType::Seed | ResourceType::Snapshot
            ) {
                return None;
            }
            let before = earlier.get("nodes")?.get(&node.unique_id)?;
            if !refable(before) {
                return None;
            }
            let text = |key: &str| before.get(key).and_then(Value::as_str).map(str::to_string);
            let relation = Relation {
                database: text("database")?,
                schema: text("schema")?,
                identifier: text("alias").or_else(|| text("name"))?,
            };
            let described = DEFER_RELATION_KEYS
                .into_iter()
                .map(|key| (key.to_string(), before.get(key).cloned().unwrap_or(Value::Null)))
                .collect();
            Some(DeferRelation {
                relation,
                described: Value::Object(described),
            })
        })
        .collect())
}

/// Each node's status in `results` (a run_results.json), by node index.
fn statuses(manifest: &Manifest, results: &Value) -> Vec<Option<String>> {
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
}

/// Whether `code` (a node's) calls a macro in `changed_macros`, however indirectly. Only its
/// Jinja tags call macros; one that calls `adapter.dispatch` may call any of them by name, as
/// rendering assumes.
fn calls_changed_macro(manifest: &Manifest, code: &str, changed_macros: &BTreeSet<String>) -> bool {
    let tags = jinja_tags(code);
    if tags.contains("dispatch") {
        return !changed_macros.is_empty();
    }
    manifest
        .jinja
        .macros()
        .called(&tags)
        .iter()
        .any(|name| changed_macros.contains(name))
}

/// The `{{ .. }}` and `{% .. %}` tags of `code`, one per line.
fn jinja_tags(code: &str) -> String {
    let mut tags = String::new();
    let mut rest = code;
    while let Some(start) = rest.find('{') {
        let after = &rest[start..];
        let close = match after.get(..2) {
            Some("{{") => "}}",
            Some("{%") => "%}",
            _ => {
                rest = &after[1..];
                continue;
            }
        };
        let end = after.find(close).map_or(after.len(), |end| end + close.len());
        tags.push_str(&after[..end]);
        tags.push('\n');
        rest = &after[end..];
    }
    tags
}

/// A JSON artifact; a malformed one is an error at its line and column.
fn read_json(path: &Path) -> Result<Value> {
    let text = crate::fs::read_text(path)?;
    serde_json::from_str(&text).map_err(|error| {
        Error::new(
            ErrorKind::Usage,
            format!("`{}` is not valid JSON: {error}", path.display()),
        )
        .at(SourceLocation::new(path, error.line(), error.column()).with_text(text.clone()))
    })
}

/// Whether `part` of a node (not a source) differs between its JSON now and before, as dbt
/// compares it; `calls_changed_macro`: whether its code calls a macro whose SQL changed.
fn part_changed(part: ModifiedPart, now: &Value, before: &Value, calls_changed_macro: bool) -> bool {
    let differs = |key: &str| now.get(key) != before.get(key);
    match part {
        ModifiedPart::Body => differs("checksum"),
        // The configs as the project wrote them, but where the node is built.
        ModifiedPart::Configs => configured(now) != configured(before),
        // The database, schema and alias the project configures, not what a target makes of
        // them: a CI schema is not a change.
        ModifiedPart::Relation => RELATION_CONFIGS.into_iter().any(|key| {
            let key = format!("/unrendered_config/{key}");
            now.pointer(&key) != before.pointer(&key)
        }),
        ModifiedPart::PersistedDescriptions => {
            let persisted = |key: &str| {
                let key = format!("/config/persist_docs/{key}");
                [now, before]
                    .into_iter()
                    .any(|node| node.pointer(&key) == Some(&Value::Bool(true)))
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

/// A node's `unrendered_config` without the keys `.relation` compares, in key order.
fn configured(node: &Value) -> BTreeMap<&str, &Value> {
    node.get("unrendered_config")
        .and_then(Value::as_object)
        .into_iter()
        .flatten()
        .filter(|(key, _)| !RELATION_CONFIGS.contains(&key.as_str()))
        .map(|(key, value)| (key.as_str(), value))
        .collect()
}

/// Each column's `key`, by column name (the columns' order is no change).
fn column_parts<'a>(node: &'a Value, key: &str) -> BTreeMap<&'a str, Option<&'a Value>> {
    node.get("columns")
        .and_then(Value::as_object)
        .into_iter()
        .flatten()
        .map(|(name, column)| (name.as_str(), column.get(key)))
        .collect()
}

/// The names of the macros whose SQL differs from the earlier manifest's (or that it does not
/// have).
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
    fn jinja_tags_are_where_macros_are_called() {
        assert_eq!(
            jinja_tags("select cents, {{ cents('a') }} from t {% if x %}y{% endif %} {x}"),
            "{{ cents('a') }}\n{% if x %}\n{% endif %}\n"
        );
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
        assert_eq!(changed(other, model.clone()), ["persisted_descriptions"]);
        // Configs as written, without where the node is built.
        let mut other = model.clone();
        other["unrendered_config"]["materialized"] = json!("table");
        assert_eq!(changed(other, model.clone()), ["configs"]);
        // Reordered columns are no change.
        let mut enforced = model.clone();
        enforced["contract"]["enforced"] = json!(true);
        enforced["columns"] = json!({"a": {"data_type": "int"}, "b": {"data_type": "text"}});
        let mut reordered = enforced.clone();
        reordered["columns"] = json!({"b": {"data_type": "text"}, "a": {"data_type": "int"}});
        assert!(changed(reordered, enforced).is_empty());
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
