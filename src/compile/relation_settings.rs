//! What a built relation carries besides its rows, read from its config: dbt's `grants`
//! (privilege → grantees) and `indexes` (dbt-postgres), and tmk's `row_security` (PostgreSQL
//! row-level security policies) and `partition_by` (range partitions by day, month or year),
//! plus the primary and foreign keys of a model's DBML table. Validated here once, at the config
//! border, into plain data the adapter applies; it must not speak SQL to a database.

use serde_json::Value;

use super::config::{ConfigMap, as_string_list};

/// A relation's grants, indexes and row security policies.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RelationSettings {
    /// `grants`: each privilege with the roles that hold it (the config owns them all).
    pub grants: Vec<Grant>,
    /// `indexes`: created on the new table before it is swapped in.
    pub indexes: Vec<IndexSpec>,
    /// `row_security`: when any, row-level security is enabled and these are its policies.
    pub policies: Vec<RowPolicy>,
    /// `partition_by`: the table is range-partitioned on a date column or `YYYYMMDD` key.
    pub partition: Option<PartitionSpec>,
    /// The primary key's columns (from the model's DBML table; empty when none).
    pub primary_key: Vec<String>,
    /// Foreign keys (from the model's DBML table).
    pub foreign_keys: Vec<ForeignKeySpec>,
}

/// A foreign key the table gets once built.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ForeignKeySpec {
    /// The constraint's name.
    pub name: String,
    /// The referencing columns.
    pub columns: Vec<String>,
    /// The referenced relation, rendered.
    pub references: String,
    /// The referenced columns.
    pub referenced_columns: Vec<String>,
    /// `ON DELETE …` action, when not the default.
    pub on_delete: Option<String>,
    /// `ON UPDATE …` action, when not the default.
    pub on_update: Option<String>,
}

/// `partition_by: {field: order_date, granularity: month}`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PartitionSpec {
    /// The column: a date or timestamp, or an integer date key written `YYYYMMDD`.
    pub field: String,
    /// One partition per this period.
    pub granularity: Granularity,
}

/// The period one partition covers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Granularity {
    /// A calendar day.
    Day,
    /// A calendar month.
    Month,
    /// A calendar year.
    Year,
}

impl Granularity {
    /// The name PostgreSQL's `date_trunc` and `interval` use.
    pub fn as_str(self) -> &'static str {
        match self {
            Granularity::Day => "day",
            Granularity::Month => "month",
            Granularity::Year => "year",
        }
    }

    /// The `to_char` pattern of a partition's label (`2024`, `202401`, `20240115`).
    pub fn label_format(self) -> &'static str {
        match self {
            Granularity::Day => "YYYYMMDD",
            Granularity::Month => "YYYYMM",
            Granularity::Year => "YYYY",
        }
    }
}

/// One privilege and its grantees (`select: [bi_viewer]`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Grant {
    /// The privilege, lower case (`select`, `insert`, ...).
    pub privilege: String,
    /// The roles that get it.
    pub grantees: Vec<String>,
}

/// One index (`{columns: [a, b], unique: true, type: btree}`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IndexSpec {
    /// Columns or expressions, pasted as written (as dbt does).
    pub columns: Vec<String>,
    /// A unique index.
    pub unique: bool,
    /// The access method (`btree`, `hash`, `gin`, `brin`, ...), when not the default.
    pub method: Option<String>,
}

/// One row-level security policy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RowPolicy {
    /// The policy's name (unique per relation).
    pub name: String,
    /// The command it applies to: `select`, `insert`, `update`, `delete` or `all`.
    pub command: String,
    /// The roles it applies to (`public` when none are named).
    pub roles: Vec<String>,
    /// The row condition (SQL), as written.
    pub using: String,
}

/// The privileges PostgreSQL grants on tables and views.
const PRIVILEGES: &[&str] = &[
    "select",
    "insert",
    "update",
    "delete",
    "truncate",
    "references",
    "trigger",
    "all",
];

/// The index access methods PostgreSQL ships.
const INDEX_METHODS: &[&str] = &["btree", "hash", "gist", "spgist", "gin", "brin"];

/// The commands a policy can apply to.
const POLICY_COMMANDS: &[&str] = &["all", "select", "insert", "update", "delete"];

impl RelationSettings {
    /// Read and check the settings in `config`; the error says which key is wrong and how.
    pub fn from_config(config: &ConfigMap) -> Result<Self, String> {
        Ok(Self {
            grants: grants(config.get("grants"))?,
            indexes: indexes(config.get("indexes"))?,
            policies: policies(config.get("row_security"))?,
            partition: partition(config.get("partition_by"))?,
            primary_key: Vec::new(),
            foreign_keys: Vec::new(),
        })
    }

    /// Whether there is anything to apply once the relation exists.
    pub fn is_empty(&self) -> bool {
        self.grants.is_empty()
            && self.indexes.is_empty()
            && self.policies.is_empty()
            && self.primary_key.is_empty()
            && self.foreign_keys.is_empty()
    }
}

/// Merge a layer's `grants` over the base's as dbt does: a privilege replaces the base's
/// grantees of that privilege, a `+privilege` adds to them.
pub fn merge_grants(base: Option<&Value>, layer: &Value) -> Value {
    let mut merged = base.and_then(Value::as_object).cloned().unwrap_or_default();
    let Some(layer) = layer.as_object() else {
        return layer.clone();
    };
    for (key, value) in layer {
        match key.strip_prefix('+') {
            Some(privilege) => {
                let mut grantees = as_string_list(merged.get(privilege));
                for grantee in as_string_list(Some(value)) {
                    if !grantees.contains(&grantee) {
                        grantees.push(grantee);
                    }
                }
                merged.insert(privilege.to_string(), Value::from(grantees));
            }
            None => {
                merged.insert(key.clone(), value.clone());
            }
        }
    }
    Value::Object(merged)
}

fn grants(value: Option<&Value>) -> Result<Vec<Grant>, String> {
    let Some(value) = value.filter(|value| !value.is_null()) else {
        return Ok(Vec::new());
    };
    let map = value.as_object().ok_or_else(|| {
        format!("`grants` must map privileges to roles (`grants: {{select: [role]}}`), not `{value}`")
    })?;
    let mut grants = Vec::new();
    for (key, grantees) in map {
        let privilege = key.trim_start_matches('+').to_ascii_lowercase();
        if !PRIVILEGES.contains(&privilege.as_str()) {
            return Err(format!(
                "`grants`: unknown privilege `{key}` (one of {})",
                PRIVILEGES.join(", ")
            ));
        }
        let grantees = as_string_list(Some(grantees));
        if let Some(blank) = grantees.iter().find(|grantee| grantee.trim().is_empty()) {
            return Err(format!("`grants`: `{key}` names an empty role `{blank}`"));
        }
        if !grantees.is_empty() {
            grants.push(Grant { privilege, grantees });
        }
    }
    Ok(grants)
}

fn indexes(value: Option<&Value>) -> Result<Vec<IndexSpec>, String> {
    let Some(value) = value.filter(|value| !value.is_null()) else {
        return Ok(Vec::new());
    };
    let items = value
        .as_array()
        .ok_or_else(|| format!("`indexes` must be a list of `{{columns: [..]}}`, not `{value}`"))?;
    items
        .iter()
        .map(|item| {
            let index = item.as_object().ok_or_else(|| {
                format!("an entry of `indexes` must be a mapping with `columns`, not `{item}`")
            })?;
            if let Some(unknown) = index
                .keys()
                .find(|key| !matches!(key.as_str(), "columns" | "unique" | "type"))
            {
                return Err(format!(
                    "`indexes`: unknown key `{unknown}` (an index has `columns`, `unique` and `type`)"
                ));
            }
            let columns = as_string_list(index.get("columns"));
            if columns.is_empty() {
                return Err("`indexes`: an index needs at least one entry in `columns`".to_string());
            }
            let unique = match index.get("unique") {
                None | Some(Value::Null) => false,
                Some(Value::Bool(unique)) => *unique,
                Some(other) => {
                    return Err(format!(
                        "`indexes`: `unique` must be true or false, not `{other}`"
                    ));
                }
            };
            let method = match index.get("type").and_then(Value::as_str) {
                None => None,
                Some(method) if INDEX_METHODS.contains(&method.to_ascii_lowercase().as_str()) => {
                    Some(method.to_ascii_lowercase())
                }
                Some(method) => {
                    return Err(format!(
                        "`indexes`: unknown index type `{method}` (one of {})",
                        INDEX_METHODS.join(", ")
                    ));
                }
            };
            Ok(IndexSpec {
                columns,
                unique,
                method,
            })
        })
        .collect()
}

fn partition(value: Option<&Value>) -> Result<Option<PartitionSpec>, String> {
    let Some(value) = value.filter(|value| !value.is_null()) else {
        return Ok(None);
    };
    let expected = "`partition_by` must be `{field: <column>, granularity: day|month|year}`";
    let map = value
        .as_object()
        .ok_or_else(|| format!("{expected}, not `{value}`"))?;
    if let Some(unknown) = map
        .keys()
        .find(|key| !matches!(key.as_str(), "field" | "granularity"))
    {
        return Err(format!("{expected}; unknown key `{unknown}`"));
    }
    let field = map
        .get("field")
        .and_then(Value::as_str)
        .filter(|field| !field.trim().is_empty())
        .ok_or_else(|| format!("{expected}; `field` is missing"))?;
    let granularity = match map.get("granularity").and_then(Value::as_str).unwrap_or("month") {
        "day" => Granularity::Day,
        "month" => Granularity::Month,
        "year" => Granularity::Year,
        other => return Err(format!("{expected}; `granularity: {other}` is none of those")),
    };
    Ok(Some(PartitionSpec {
        field: field.trim().to_string(),
        granularity,
    }))
}

fn policies(value: Option<&Value>) -> Result<Vec<RowPolicy>, String> {
    let Some(value) = value.filter(|value| !value.is_null()) else {
        return Ok(Vec::new());
    };
    let items = value.as_array().ok_or_else(|| {
        format!("`row_security` must be a list of policies (`- {{name: .., using: ..}}`), not `{value}`")
    })?;
    let mut policies: Vec<RowPolicy> = Vec::new();
    for item in items {
        let policy = item
            .as_object()
            .ok_or_else(|| format!("a `row_security` policy must be a mapping, not `{item}`"))?;
        if let Some(unknown) = policy
            .keys()
            .find(|key| !matches!(key.as_str(), "name" | "for" | "to" | "using"))
        {
            return Err(format!(
                "`row_security`: unknown key `{unknown}` (a policy has `name`, `for`, `to` and `using`)"
            ));
        }
        let text = |key: &str| policy.get(key).and_then(Value::as_str).map(str::trim);
        let name = text("name")
            .filter(|name| !name.is_empty())
            .ok_or("`row_security`: every policy needs a `name`")?;
        let using = text("using")
            .filter(|using| !using.is_empty())
            .ok_or_else(|| format!("`row_security`: policy `{name}` needs a `using` condition"))?;
        let command = text("for").unwrap_or("select").to_ascii_lowercase();
        if !POLICY_COMMANDS.contains(&command.as_str()) {
            return Err(format!(
                "`row_security`: policy `{name}` is `for: {command}`; one of {}",
                POLICY_COMMANDS.join(", ")
            ));
        }
        if policies.iter().any(|other| other.name == name) {
            return Err(format!("`row_security`: two policies are named `{name}`"));
        }
        policies.push(RowPolicy {
            name: name.to_string(),
            command,
            roles: as_string_list(policy.get("to")),
            using: using.to_string(),
        });
    }
    Ok(policies)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn settings(value: Value) -> Result<RelationSettings, String> {
        RelationSettings::from_config(&value.as_object().cloned().unwrap_or_default())
    }

    #[test]
    fn reads_grants_indexes_and_policies() {
        let read = settings(json!({
            "grants": {"select": ["bi_viewer", "analyst"], "insert": []},
            "indexes": [{"columns": ["date_key"]}, {"columns": ["order_id", "order_item_id"], "unique": true, "type": "BTREE"}],
            "row_security": [{"name": "own_region", "to": "bi_regional", "using": "region_id = 1"}],
        }));
        assert_eq!(
            read,
            Ok(RelationSettings {
                grants: vec![Grant {
                    privilege: "select".into(),
                    grantees: vec!["bi_viewer".into(), "analyst".into()]
                }],
                indexes: vec![
                    IndexSpec {
                        columns: vec!["date_key".into()],
                        unique: false,
                        method: None
                    },
                    IndexSpec {
                        columns: vec!["order_id".into(), "order_item_id".into()],
                        unique: true,
                        method: Some("btree".into())
                    },
                ],
                policies: vec![RowPolicy {
                    name: "own_region".into(),
                    command: "select".into(),
                    roles: vec!["bi_regional".into()],
                    using: "region_id = 1".into(),
                }],
                partition: None,
                primary_key: Vec::new(),
                foreign_keys: Vec::new(),
            })
        );
    }

    #[test]
    fn wrong_shapes_say_what_is_expected() {
        let cases = [
            (
                json!({"grants": ["bi_viewer"]}),
                "`grants` must map privileges to roles",
            ),
            (
                json!({"grants": {"selects": ["x"]}}),
                "unknown privilege `selects`",
            ),
            (json!({"indexes": [{"column": ["a"]}]}), "unknown key `column`"),
            (
                json!({"indexes": [{"columns": []}]}),
                "at least one entry in `columns`",
            ),
            (
                json!({"indexes": [{"columns": ["a"], "type": "bitmap"}]}),
                "unknown index type `bitmap`",
            ),
            (
                json!({"row_security": [{"name": "p"}]}),
                "policy `p` needs a `using`",
            ),
            (
                json!({"row_security": [{"name": "p", "using": "true", "for": "read"}]}),
                "`for: read`",
            ),
            (json!({"partition_by": {"column": "d"}}), "unknown key `column`"),
            (
                json!({"partition_by": {"field": "d", "granularity": "week"}}),
                "`granularity: week`",
            ),
        ];
        for (config, expected) in cases {
            let message = settings(config.clone()).expect_err(&config.to_string());
            assert!(message.contains(expected), "{message}");
        }
    }

    #[test]
    fn partitions_are_monthly_unless_told_otherwise() {
        let read = settings(json!({"partition_by": {"field": "date_key"}}));
        assert_eq!(
            read.map(|settings| settings.partition),
            Ok(Some(PartitionSpec {
                field: "date_key".into(),
                granularity: Granularity::Month
            }))
        );
    }

    #[test]
    fn plus_privilege_adds_grantees_and_a_bare_one_replaces_them() {
        let base = json!({"select": ["a"], "insert": ["w"]});
        assert_eq!(
            merge_grants(Some(&base), &json!({"+select": ["b"]})),
            json!({"select": ["a", "b"], "insert": ["w"]})
        );
        assert_eq!(
            merge_grants(Some(&base), &json!({"select": ["c"]})),
            json!({"select": ["c"], "insert": ["w"]})
        );
    }
}
