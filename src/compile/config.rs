//! Node configs: the keys tmk knows, how layers merge (project tree → properties `config:` →
//! in-file `config()`; `tags`, hooks and `meta` accumulate, other keys overwrite), the walk of
//! the project file's config tree, and validation at that border (unknown keys are errors with
//! a suggestion). It must not render Jinja or read files.

use serde_json::{Map, Value};

use super::relation_settings::{RelationSettings, merge_grants};
use crate::error::{Result, did_you_mean};
use crate::project::yaml::{Pos, SourceFile, Yaml};

/// A resolved config: key → JSON value, in the order keys were first set.
pub type ConfigMap = Map<String, Value>;

/// Keys that a node config may hold (dbt's, with tmk's own at the end).
pub const CONFIG_KEYS: &[&str] = &[
    "enabled",
    "tags",
    "pre-hook",
    "post-hook",
    "pre_hook",
    "post_hook",
    "database",
    "schema",
    "alias",
    "persist_docs",
    "full_refresh",
    "meta",
    "materialized",
    "sql_header",
    "on_schema_change",
    "on_configuration_change",
    "grants",
    "packages",
    "docs",
    "contract",
    "event_time",
    "concurrent_batches",
    "unique_key",
    "incremental_strategy",
    "batch_size",
    "lookback",
    "begin",
    "incremental_predicates",
    "merge_update_columns",
    "merge_exclude_columns",
    "indexes",
    "unlogged",
    "quoting",
    "column_types",
    "delimiter",
    "quote_columns",
    "strategy",
    "updated_at",
    "check_cols",
    "hard_deletes",
    "invalidate_hard_deletes",
    "snapshot_meta_column_names",
    "dbt_valid_to_current",
    "target_schema",
    "target_database",
    "severity",
    "warn_if",
    "error_if",
    "where",
    "limit",
    "fail_calc",
    "store_failures",
    "store_failures_as",
    "trust_constraints",
    "access",
    "group",
    "bind",
    "freshness",
    "loaded_at_field",
    "query_comment",
    "watermark",
    "dbml",
    "quarantine",
    "row_security",
    "partition_by",
];

/// Keys whose values accumulate across layers instead of overwriting.
const LIST_ACCUMULATING: &[&str] = &["tags", "pre-hook", "post-hook"];

/// Keys whose mapping values are configs even without a `+` in the project tree.
const MAPPING_CONFIGS: &[&str] = &[
    "meta",
    "docs",
    "persist_docs",
    "grants",
    "contract",
    "quoting",
    "column_types",
    "freshness",
    "snapshot_meta_column_names",
    "partition_by",
];

/// The materialisations tmk can build.
pub const MATERIALIZATIONS: &[&str] = &[
    "view",
    "table",
    "ephemeral",
    "incremental",
    "materialized_view",
    "seed",
    "snapshot",
    "test",
];

/// Normalise a key: `pre_hook` → `pre-hook`.
fn canonical_key(key: &str) -> &str {
    match key {
        "pre_hook" => "pre-hook",
        "post_hook" => "post-hook",
        other => other,
    }
}

/// Check a key; the error names it and suggests the closest valid key.
pub fn check_key(key: &str) -> std::result::Result<(), String> {
    if CONFIG_KEYS.contains(&key) {
        Ok(())
    } else {
        Err(did_you_mean(key, CONFIG_KEYS.iter().copied()).unwrap_or_default())
    }
}

/// Merge `layer` over `base` with dbt's rules.
pub fn merge_into(base: &mut ConfigMap, layer: &ConfigMap) {
    for (key, value) in layer {
        let key = canonical_key(key);
        if LIST_ACCUMULATING.contains(&key) {
            let mut items = as_value_list(base.get(key));
            for item in as_value_list(Some(value)) {
                if !items.contains(&item) {
                    items.push(item);
                }
            }
            base.insert(key.to_string(), Value::Array(items));
        } else if key == "grants" {
            let merged = merge_grants(base.get(key), value);
            base.insert(key.to_string(), merged);
        } else if key == "meta"
            && let (Some(Value::Object(existing)), Value::Object(new)) = (base.get_mut(key), value)
        {
            for (meta_key, meta_value) in new {
                existing.insert(meta_key.clone(), meta_value.clone());
            }
        } else {
            base.insert(key.to_string(), value.clone());
        }
    }
}

/// A value or list of values as a list.
fn as_value_list(value: Option<&Value>) -> Vec<Value> {
    match value {
        None | Some(Value::Null) => Vec::new(),
        Some(Value::Array(items)) => items.clone(),
        Some(other) => vec![other.clone()],
    }
}

/// A string or list of strings as a list.
pub fn as_string_list(value: Option<&Value>) -> Vec<String> {
    match value {
        None | Some(Value::Null) => Vec::new(),
        Some(Value::String(text)) => vec![text.clone()],
        Some(Value::Array(items)) => items
            .iter()
            .map(|item| match item {
                Value::String(text) => text.clone(),
                other => other.to_string(),
            })
            .collect(),
        Some(other) => vec![other.to_string()],
    }
}

/// Read a `config:` mapping from properties YAML, checking every key.
pub fn from_yaml_mapping(file: &SourceFile, value: &Yaml, pos: Pos) -> Result<ConfigMap> {
    let entries = value
        .as_map()
        .ok_or_else(|| file.error(pos, "`config` must be a mapping"))?;
    let mut config = ConfigMap::new();
    for entry in entries {
        let key = entry.key.trim_start_matches('+');
        check_key(key).map_err(|hint| {
            file.error(entry.key_pos, format!("unknown config key `{key}`"))
                .maybe_hint(Some(hint).filter(|hint| !hint.is_empty()))
        })?;
        config.insert(canonical_key(key).to_string(), entry.value.to_json());
    }
    validate_values(&config).map_err(|message| file.error(pos, message))?;
    Ok(config)
}

/// Validate the values of known keys (types and enumerations).
pub fn validate_values(config: &ConfigMap) -> std::result::Result<(), String> {
    if let Some(value) = config.get("materialized") {
        let name = value.as_str().unwrap_or_default();
        if !MATERIALIZATIONS.contains(&name) {
            let hint = did_you_mean(name, MATERIALIZATIONS.iter().copied())
                .map(|hint| format!(" ({hint})"))
                .unwrap_or_default();
            return Err(format!("unknown materialization `{}`{hint}", value_text(value)));
        }
    }
    if let Some(value) = config.get("enabled")
        && !value.is_boolean()
    {
        return Err(format!(
            "`enabled` must be true or false, not `{}`",
            value_text(value)
        ));
    }
    check_supported(config)?;
    RelationSettings::from_config(config)?;
    for key in ["store_failures", "trust_constraints"] {
        if let Some(value) = config.get(key)
            && !value.is_boolean()
            && !value.is_null()
        {
            return Err(format!(
                "`{key}` must be true or false, not `{}`",
                value_text(value)
            ));
        }
    }
    if let Some(value) = config.get("store_failures_as")
        && !value.is_null()
        && !matches!(value.as_str(), Some("ephemeral" | "table" | "view"))
    {
        return Err(format!(
            "`store_failures_as` must be `ephemeral`, `table` or `view`, not `{}`",
            value_text(value)
        ));
    }
    if let Some(value) = config.get("severity") {
        let severity = value.as_str().unwrap_or_default().to_ascii_lowercase();
        if severity != "warn" && severity != "error" {
            return Err(format!(
                "`severity` must be `warn` or `error`, not `{}`",
                value_text(value)
            ));
        }
    }
    Ok(())
}

/// Configs dbt applies that this version of tmk does not build yet: set to anything but their
/// default they are errors, never silently ignored (the tables would differ from dbt's).
fn check_supported(config: &ConfigMap) -> std::result::Result<(), String> {
    let is_set = |value: &Value| match value {
        Value::Null | Value::Bool(false) => false,
        Value::Array(items) => !items.is_empty(),
        Value::Object(map) => {
            map.values()
                .any(|value| !matches!(value, Value::Null | Value::Bool(false)))
                && !map
                    .values()
                    .all(|value| value.as_array().is_some_and(Vec::is_empty))
        }
        Value::String(text) => !text.is_empty(),
        _ => true,
    };
    for key in ["sql_header", "persist_docs"] {
        if let Some(value) = config.get(key)
            && is_set(value)
        {
            return Err(format!(
                "config `{key}` is not applied by this version of tmk yet; remove it rather than have it silently ignored"
            ));
        }
    }
    let allowed = [
        (
            "incremental_strategy",
            &["append", "delete+insert", "merge", "microbatch"][..],
        ),
        (
            "on_schema_change",
            &["ignore", "fail", "append_new_columns", "sync_all_columns"][..],
        ),
    ];
    for (key, values) in allowed {
        if let Some(value) = config.get(key).and_then(Value::as_str)
            && !values.contains(&value)
        {
            return Err(format!(
                "`{key}: {value}` is not built by this version of tmk yet (supported: {})",
                values.join(", ")
            ));
        }
    }
    Ok(())
}

fn value_text(value: &Value) -> String {
    match value {
        Value::String(text) => text.clone(),
        other => other.to_string(),
    }
}

/// The configs that the project file's tree gives a node at `fqn` ([package, folders.., name]).
pub fn from_project_tree(file: &SourceFile, tree: &Yaml, fqn: &[String]) -> Result<ConfigMap> {
    let mut config = ConfigMap::new();
    let mut level = Some(tree);
    let mut depth = 0;
    while let Some(node) = level {
        let Some(entries) = node.as_map() else { break };
        let mut next = None;
        let mut layer = ConfigMap::new();
        for entry in entries {
            match classify(entry) {
                TreeKey::Config(key) => {
                    check_key(key).map_err(|hint| {
                        file.error(entry.key_pos, format!("unknown config key `{key}`"))
                            .maybe_hint(Some(hint).filter(|hint| !hint.is_empty()))
                            .detail("a key with a leading `+` or a non-mapping value is a config; a mapping without `+` is a folder")
                    })?;
                    layer.insert(canonical_key(key).to_string(), entry.value.to_json());
                }
                TreeKey::Folder => {
                    if fqn.get(depth) == Some(&entry.key) {
                        next = Some(&entry.value);
                    }
                }
            }
        }
        validate_values(&layer)
            .map_err(|message| file.error(entries.first().map_or(Pos::default(), |e| e.key_pos), message))?;
        merge_into(&mut config, &layer);
        level = next;
        depth += 1;
    }
    Ok(config)
}

/// Check the whole config tree of the project file once (every config key valid).
pub fn check_project_tree(file: &SourceFile, tree: &Yaml) -> Result<()> {
    let Some(entries) = tree.as_map() else {
        return Ok(());
    };
    for entry in entries {
        match classify(entry) {
            TreeKey::Config(key) => check_key(key).map_err(|hint| {
                file.error(entry.key_pos, format!("unknown config key `{key}`"))
                    .maybe_hint(Some(hint).filter(|hint| !hint.is_empty()))
            })?,
            TreeKey::Folder => check_project_tree(file, &entry.value)?,
        }
    }
    Ok(())
}

enum TreeKey<'a> {
    Config(&'a str),
    Folder,
}

fn classify(entry: &crate::project::yaml::YamlEntry) -> TreeKey<'_> {
    if let Some(key) = entry.key.strip_prefix('+') {
        return TreeKey::Config(key);
    }
    let is_mapping = matches!(entry.value, Yaml::Map(_));
    if !is_mapping || MAPPING_CONFIGS.contains(&entry.key.as_str()) {
        TreeKey::Config(&entry.key)
    } else {
        TreeKey::Folder
    }
}

/// How a test keeps its failing rows in the audit schema.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StoreFailuresAs {
    /// A table, replaced on every run.
    Table,
    /// A view of the test's query.
    View,
}

/// Whether and how a test stores its failing rows: dbt's `store_failures_as` (`table`, `view`;
/// `ephemeral` stores nothing) wins over `store_failures: true`, which stores a table.
pub fn store_failures_as(config: &ConfigMap) -> Option<StoreFailuresAs> {
    match config.text("store_failures_as") {
        Some("table") => Some(StoreFailuresAs::Table),
        Some("view") => Some(StoreFailuresAs::View),
        Some(_) => None,
        None => config
            .flag("store_failures", false)
            .then_some(StoreFailuresAs::Table),
    }
}

/// Read a typed view of common keys.
pub trait ConfigExt {
    /// A string value.
    fn text(&self, key: &str) -> Option<&str>;
    /// A boolean value with a default.
    fn flag(&self, key: &str, default: bool) -> bool;
}

impl ConfigExt for ConfigMap {
    fn text(&self, key: &str) -> Option<&str> {
        self.get(key).and_then(Value::as_str)
    }

    fn flag(&self, key: &str, default: bool) -> bool {
        self.get(key).and_then(Value::as_bool).unwrap_or(default)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn map(value: Value) -> ConfigMap {
        value.as_object().cloned().unwrap_or_default()
    }

    #[test]
    fn tags_and_hooks_accumulate_other_keys_overwrite() {
        let mut base = map(json!({"tags": ["a"], "materialized": "view", "post-hook": "x"}));
        merge_into(
            &mut base,
            &map(json!({"tags": "b", "materialized": "table", "post_hook": ["y"]})),
        );
        assert_eq!(
            Value::Object(base),
            json!({"tags": ["a", "b"], "materialized": "table", "post-hook": ["x", "y"]})
        );
    }

    #[test]
    fn unknown_key_suggests_the_closest() {
        assert_eq!(
            check_key("materialised"),
            Err("did you mean `materialized`?".to_string())
        );
        assert!(check_key("materialized").is_ok());
    }

    #[test]
    fn configs_not_built_yet_are_errors_not_silently_ignored() {
        let header = map(json!({"sql_header": "set work_mem = '1GB'"}));
        assert!(validate_values(&header).is_err_and(|message| message.contains("`sql_header`")));
        let empty_docs = map(json!({"persist_docs": {"relation": false}}));
        assert!(validate_values(&empty_docs).is_ok());
        let insert_overwrite = map(json!({"incremental_strategy": "insert_overwrite"}));
        assert!(
            validate_values(&insert_overwrite).is_err_and(|message| message.contains("insert_overwrite"))
        );
        assert!(validate_values(&map(json!({"incremental_strategy": "microbatch"}))).is_ok());
        assert!(validate_values(&map(json!({"on_schema_change": "sync_all_columns"}))).is_ok());
        assert!(validate_values(&map(json!({"on_schema_change": "sync"}))).is_err());
        assert!(validate_values(&map(json!({"incremental_strategy": "merge"}))).is_ok());
        assert!(validate_values(&map(json!({"incremental_strategy": "delete+insert"}))).is_ok());
    }

    #[test]
    fn store_failures_as_wins_over_store_failures() {
        let store = |value: Value| store_failures_as(&map(value));
        assert_eq!(store(json!({})), None);
        assert_eq!(store(json!({"store_failures": false})), None);
        assert_eq!(
            store(json!({"store_failures": true})),
            Some(StoreFailuresAs::Table)
        );
        assert_eq!(
            store(json!({"store_failures": false, "store_failures_as": "view"})),
            Some(StoreFailuresAs::View)
        );
        assert_eq!(
            store(json!({"store_failures": true, "store_failures_as": "ephemeral"})),
            None
        );
        assert!(validate_values(&map(json!({"store_failures": true}))).is_ok());
        assert!(validate_values(&map(json!({"store_failures": "yes"}))).is_err());
        assert!(
            validate_values(&map(json!({"store_failures_as": "incremental"})))
                .is_err_and(|message| message.contains("`ephemeral`, `table` or `view`"))
        );
    }

    #[test]
    fn unknown_materialization_is_rejected() {
        let config = map(json!({"materialized": "tabel"}));
        let message = validate_values(&config).err().unwrap_or_default();
        assert_eq!(message, "unknown materialization `tabel` (did you mean `table`?)");
    }
}
