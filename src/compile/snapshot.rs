//! Snapshots (dbt's SCD type 2), compile side: the validated snapshot settings read once from a
//! snapshot's resolved config (strategy, unique key, hard deletes, meta column names), and the
//! template of a file of `{% snapshot %}` blocks. It must not reach the database: the adapter
//! turns a `SnapshotSpec` into SQL.

use std::ops::Range;

use serde_json::Value;

use super::config::{ConfigExt, ConfigMap, as_string_list};

/// The variable that selects which block of a snapshot file a render produces.
pub const BLOCK_VARIABLE: &str = "tmk_snapshot";

/// How a snapshot decides that a source row changed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SnapshotStrategy {
    /// Changed when the row's `updated_at` is newer than its current version's valid-from;
    /// versions are stamped with `updated_at`.
    Timestamp {
        /// The column (or expression) holding the row's last change time.
        updated_at: String,
    },
    /// Changed when one of the checked columns differs (nulls compare equal to nulls);
    /// versions are stamped with the run's time, or with `updated_at` when one is configured.
    Check {
        /// The compared columns.
        columns: CheckColumns,
        /// Optional column to stamp versions with instead of the run's time.
        updated_at: Option<String>,
    },
}

/// The columns a check-strategy snapshot compares.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CheckColumns {
    /// Every column of the snapshot query (`check_cols: all`).
    All,
    /// The listed columns.
    Listed(Vec<String>),
}

/// What happens to a current row whose key no longer comes from the source.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HardDeletes {
    /// Nothing: the row stays current (dbt's default).
    Ignore,
    /// The row's valid-to is set to the run's time.
    Invalidate,
    /// As `Invalidate`, and a new current version marks the key deleted (`dbt_is_deleted`).
    NewRecord,
}

/// The names of the columns a snapshot adds (dbt's `snapshot_meta_column_names`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MetaColumns {
    /// Version id: md5 of the key and the version's time.
    pub scd_id: String,
    /// The version's change time.
    pub updated_at: String,
    /// When the version became current.
    pub valid_from: String,
    /// When it stopped being current (NULL, or `dbt_valid_to_current`, while current).
    pub valid_to: String,
    /// `'True'` on versions that record a deletion (`hard_deletes: new_record` only).
    pub is_deleted: String,
}

/// A snapshot's validated settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SnapshotSpec {
    /// The key columns or expressions (pasted into SQL as written, as dbt does).
    pub unique_key: Vec<String>,
    /// The change detection strategy.
    pub strategy: SnapshotStrategy,
    /// Handling of rows gone from the source.
    pub hard_deletes: HardDeletes,
    /// Names of the added columns.
    pub meta: MetaColumns,
    /// A SQL expression current rows carry as valid-to instead of NULL (`dbt_valid_to_current`).
    pub valid_to_current: Option<String>,
}

impl SnapshotSpec {
    /// Validate a snapshot's config; the message names the offending key.
    pub fn from_config(config: &ConfigMap) -> Result<SnapshotSpec, String> {
        let unique_key = as_string_list(config.get("unique_key"));
        if unique_key.is_empty() {
            return Err(
                "a snapshot needs `unique_key`: the column (or list of columns) that identifies a row"
                    .to_string(),
            );
        }
        let updated_at = config.text("updated_at").map(str::to_string);
        let strategy = match config.text("strategy") {
            Some("timestamp") => SnapshotStrategy::Timestamp {
                updated_at: updated_at.ok_or(
                    "a snapshot with `strategy: timestamp` needs `updated_at`: the column holding each row's last change time",
                )?,
            },
            Some("check") => SnapshotStrategy::Check {
                columns: check_columns(config.get("check_cols"))?,
                updated_at,
            },
            Some(other) => {
                return Err(format!(
                    "`strategy: {other}` is not a snapshot strategy (use `timestamp` or `check`)"
                ));
            }
            None => return Err("a snapshot needs `strategy`: `timestamp` or `check`".to_string()),
        };
        let hard_deletes = match (
            config.text("hard_deletes"),
            config.flag("invalidate_hard_deletes", false),
        ) {
            (Some("ignore"), _) | (None, false) => HardDeletes::Ignore,
            (Some("invalidate"), _) | (None, true) => HardDeletes::Invalidate,
            (Some("new_record"), _) => HardDeletes::NewRecord,
            (Some(other), _) => {
                return Err(format!(
                    "`hard_deletes: {other}` is not valid (use `ignore`, `invalidate` or `new_record`)"
                ));
            }
        };
        Ok(SnapshotSpec {
            unique_key,
            strategy,
            hard_deletes,
            meta: meta_columns(config.get("snapshot_meta_column_names"))?,
            valid_to_current: config.text("dbt_valid_to_current").map(str::to_string),
        })
    }
}

fn check_columns(value: Option<&Value>) -> Result<CheckColumns, String> {
    match value {
        Some(Value::String(all)) if all == "all" => Ok(CheckColumns::All),
        Some(Value::Array(_)) => {
            let columns = as_string_list(value);
            if columns.is_empty() {
                Err("`check_cols` lists no column".to_string())
            } else {
                Ok(CheckColumns::Listed(columns))
            }
        }
        Some(other) => Err(format!(
            "`check_cols` must be a list of columns or `all`, not `{other}`"
        )),
        None => Err(
            "a snapshot with `strategy: check` needs `check_cols`: a list of columns, or `all`".to_string(),
        ),
    }
}

fn meta_columns(value: Option<&Value>) -> Result<MetaColumns, String> {
    let names = match value {
        None | Some(Value::Null) => serde_json::Map::new(),
        Some(Value::Object(names)) => names.clone(),
        Some(other) => {
            return Err(format!(
                "`snapshot_meta_column_names` must map dbt's column names to yours, not `{other}`"
            ));
        }
    };
    const KNOWN: [&str; 5] = [
        "dbt_scd_id",
        "dbt_updated_at",
        "dbt_valid_from",
        "dbt_valid_to",
        "dbt_is_deleted",
    ];
    if let Some(unknown) = names.keys().find(|key| !KNOWN.contains(&key.as_str())) {
        return Err(format!(
            "`snapshot_meta_column_names.{unknown}` is not a snapshot column (known: {})",
            KNOWN.join(", ")
        ));
    }
    let name = |key: &str| match names.get(key) {
        Some(Value::String(name)) => Ok(name.clone()),
        None | Some(Value::Null) => Ok(key.to_string()),
        Some(other) => Err(format!(
            "`snapshot_meta_column_names.{key}` must be a column name, not `{other}`"
        )),
    };
    Ok(MetaColumns {
        scd_id: name("dbt_scd_id")?,
        updated_at: name("dbt_updated_at")?,
        valid_from: name("dbt_valid_from")?,
        valid_to: name("dbt_valid_to")?,
        is_deleted: name("dbt_is_deleted")?,
    })
}

/// The template of a file of snapshot blocks: each `{% snapshot name %}` tag becomes
/// `{% if tmk_snapshot == "name" %}` (its `{% endsnapshot %}` an `{% endif %}`), so one
/// template renders any of the file's snapshots; text outside the blocks is blanked. Lines stay
/// where they were, so errors point into the file.
pub fn block_template(text: &str, blocks: &[(String, Range<usize>, Range<usize>)]) -> String {
    let mut template = String::with_capacity(text.len() + 32 * blocks.len());
    let mut position = 0;
    for (name, open, close) in blocks {
        template.push_str(&blank(&text[position..open.start]));
        let tag = &text[open.clone()];
        template.push_str(&retag(tag, &format!("if {BLOCK_VARIABLE} == \"{name}\"")));
        template.push_str(&text[open.end..close.start]);
        template.push_str(&retag(&text[close.clone()], "endif"));
        position = close.end;
    }
    template.push_str(&blank(&text[position..]));
    template
}

/// `tag` with its content replaced by `inner`, keeping its whitespace control and newlines.
fn retag(tag: &str, inner: &str) -> String {
    let open = if tag.starts_with("{%-") { "{%- " } else { "{% " };
    let close = if tag.ends_with("-%}") { " -%}" } else { " %}" };
    let newlines = "\n".repeat(tag.matches('\n').count());
    format!("{open}{inner}{close}{newlines}")
}

/// Text outside snapshot blocks: only its line breaks are kept.
fn blank(text: &str) -> String {
    text.chars().filter(|&c| c == '\n').collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn config(value: Value) -> ConfigMap {
        value.as_object().cloned().unwrap_or_default()
    }

    #[test]
    fn a_timestamp_snapshot_with_defaults() {
        let spec = SnapshotSpec::from_config(&config(
            json!({"unique_key": "id", "strategy": "timestamp", "updated_at": "updated_at"}),
        ))
        .expect("valid");
        assert_eq!(spec.unique_key, ["id"]);
        assert_eq!(spec.hard_deletes, HardDeletes::Ignore);
        assert_eq!(spec.meta.valid_to, "dbt_valid_to");
        assert_eq!(spec.valid_to_current, None);
    }

    #[test]
    fn a_check_snapshot_with_a_composite_key_renamed_columns_and_new_record_deletes() {
        let spec = SnapshotSpec::from_config(&config(json!({
            "unique_key": ["order_id", "line"], "strategy": "check", "check_cols": "all",
            "hard_deletes": "new_record",
            "snapshot_meta_column_names": {"dbt_valid_from": "valid_from", "dbt_valid_to": "valid_to"}
        })))
        .expect("valid");
        assert_eq!(spec.unique_key, ["order_id", "line"]);
        assert_eq!(
            spec.strategy,
            SnapshotStrategy::Check {
                columns: CheckColumns::All,
                updated_at: None
            }
        );
        assert_eq!(spec.hard_deletes, HardDeletes::NewRecord);
        assert_eq!(
            (spec.meta.valid_from.as_str(), spec.meta.scd_id.as_str()),
            ("valid_from", "dbt_scd_id")
        );
        let legacy = SnapshotSpec::from_config(&config(json!({
            "unique_key": "id", "strategy": "check", "check_cols": ["a"], "invalidate_hard_deletes": true
        })))
        .expect("valid");
        assert_eq!(legacy.hard_deletes, HardDeletes::Invalidate);
    }

    #[test]
    fn missing_and_wrong_settings_name_the_key() {
        let error = |value: Value| SnapshotSpec::from_config(&config(value)).expect_err("an error");
        assert!(error(json!({"strategy": "timestamp"})).contains("`unique_key`"));
        assert!(error(json!({"unique_key": "id"})).contains("`strategy`"));
        assert!(error(json!({"unique_key": "id", "strategy": "timestamp"})).contains("`updated_at`"));
        assert!(error(json!({"unique_key": "id", "strategy": "check"})).contains("`check_cols`"));
        assert!(
            error(json!({"unique_key": "id", "strategy": "check", "check_cols": "some"}))
                .contains("`check_cols`")
        );
        assert!(error(json!({"unique_key": "id", "strategy": "clock"})).contains("`strategy: clock`"));
        assert!(
            error(
                json!({"unique_key": "id", "strategy": "check", "check_cols": "all", "hard_deletes": "drop"})
            )
            .contains("`hard_deletes: drop`")
        );
        assert!(
            error(
                json!({"unique_key": "id", "strategy": "check", "check_cols": "all",
                "snapshot_meta_column_names": {"dbt_valid_until": "x"}})
            )
            .contains("dbt_valid_until")
        );
    }

    #[test]
    fn block_templates_keep_lines_and_select_one_block() {
        let text = "-- header {{ x }}\n{% snapshot a %}\nselect 1\n{% endsnapshot %}\n{%- snapshot b -%}select 2{%- endsnapshot -%}\n";
        let blocks = [
            ("a".to_string(), 18..34, 44..61),
            ("b".to_string(), 62..80, 88..107),
        ];
        assert_eq!(&text[blocks[0].1.clone()], "{% snapshot a %}");
        assert_eq!(&text[blocks[1].2.clone()], "{%- endsnapshot -%}");
        let template = block_template(text, &blocks);
        assert_eq!(
            template,
            "\n{% if tmk_snapshot == \"a\" %}\nselect 1\n{% endif %}\n{%- if tmk_snapshot == \"b\" -%}select 2{%- endif -%}\n"
        );
        assert_eq!(template.lines().count(), text.lines().count());
    }
}
