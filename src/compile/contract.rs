//! Model contracts (`contract: {enforced: true}`): the validated column list (names, declared
//! types, column constraints) and model-level constraints read from the properties YAML, the
//! comparison of a query's actual columns with the declared ones, and the table DDL that
//! carries the constraints (PostgreSQL enforces them). Pure: the adapter reads the query's
//! columns and runs the DDL.

use crate::project::properties::{RawColumn, RawNodeProperties};
use crate::project::yaml::{Pos, Yaml};

/// A constraint PostgreSQL enforces.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ConstraintKind {
    /// `not null` (column constraints only).
    NotNull,
    /// `unique`.
    Unique,
    /// `primary key`.
    PrimaryKey,
    /// `check (expression)`.
    Check(String),
    /// `references <to> (<to_columns>)`: `to` is `ref('m')`, `source('s', 't')` or a table
    /// name as written.
    ForeignKey {
        /// The referenced relation as written.
        to: String,
        /// The referenced columns.
        to_columns: Vec<String>,
    },
}

/// A constraint with its optional name and, for model-level ones, its columns.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Constraint {
    /// What it enforces.
    pub kind: ConstraintKind,
    /// `constraint <name>`, when given.
    pub name: Option<String>,
    /// The columns of a model-level constraint (empty for column constraints).
    pub columns: Vec<String>,
}

/// One declared column.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ContractColumn {
    /// Column name.
    pub name: String,
    /// Declared type, as written (`numeric(10,2)`, `text`).
    pub data_type: String,
    /// Its constraints.
    pub constraints: Vec<Constraint>,
}

/// A model's enforced contract.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Contract {
    /// The declared columns, in order.
    pub columns: Vec<ContractColumn>,
    /// Model-level constraints.
    pub constraints: Vec<Constraint>,
}

/// A contract problem and where it was written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ContractError {
    /// What is wrong.
    pub message: String,
    /// Where.
    pub pos: Pos,
}

impl Contract {
    /// Read the contract of a model from its properties (`raw`, described at `pos`).
    pub fn from_properties(raw: &RawNodeProperties, pos: Pos) -> Result<Contract, ContractError> {
        if raw.columns.is_empty() {
            return Err(ContractError {
                message: "an enforced contract needs the model's `columns`, each with a `data_type`"
                    .to_string(),
                pos,
            });
        }
        let columns = raw
            .columns
            .iter()
            .map(|column| contract_column(&column.value))
            .collect::<Result<Vec<_>, _>>()?;
        let constraints = match &raw.constraints {
            None => Vec::new(),
            Some(yaml) => constraints(yaml, pos, true)?,
        };
        Ok(Contract { columns, constraints })
    }

    /// How the query's columns (name, type as PostgreSQL formats it) differ from the contract's
    /// (`declared`: name, type as PostgreSQL formats the declared type); empty when they match.
    /// Only type names are compared (`numeric` and `numeric(10,2)` agree).
    pub fn differences(query: &[(String, String)], declared: &[(String, String)]) -> Vec<String> {
        column_differences(query, declared, "the contract", same_type)
            .into_iter()
            .map(|(_, difference)| difference)
            .collect()
    }

    /// The table definition `(<columns with constraints>, <model constraints>)` that follows
    /// `create table <relation>`, with foreign key targets resolved by `resolve` (`ref('m')` →
    /// the model's relation).
    pub fn table_definition(&self, resolve: impl Fn(&str) -> Option<String>) -> Result<String, String> {
        let mut lines = Vec::new();
        for column in &self.columns {
            let mut line = format!("{} {}", quote(&column.name), column.data_type);
            for constraint in &column.constraints {
                line.push(' ');
                line.push_str(&render(constraint, &resolve)?);
            }
            lines.push(line);
        }
        for constraint in &self.constraints {
            lines.push(render(constraint, &resolve)?);
        }
        Ok(format!("(\n    {}\n)", lines.join(",\n    ")))
    }

    /// The `to` of every foreign key, as written.
    pub fn foreign_targets(&self) -> impl Iterator<Item = &str> {
        self.columns
            .iter()
            .flat_map(|column| &column.constraints)
            .chain(&self.constraints)
            .filter_map(|constraint| match &constraint.kind {
                ConstraintKind::ForeignKey { to, .. } => Some(to.as_str()),
                _ => None,
            })
    }
}

fn quote(name: &str) -> String {
    crate::compile::node::quote_identifier(name)
}

/// Types agree on their name; sizes, precision and scale are not compared (as in dbt): the
/// table is created with the declared type, so values are cast to it on insert.
/// How the query's columns differ from the `declared` ones (both: name, type as PostgreSQL
/// formats it), as (column, difference) pairs; `declared_in` names where they are declared and
/// `same` decides when two types agree.
pub fn column_differences(
    query: &[(String, String)],
    declared: &[(String, String)],
    declared_in: &str,
    same: fn(&str, &str) -> bool,
) -> Vec<(String, String)> {
    let mut differences = Vec::new();
    for (name, declared_type) in declared {
        match query.iter().find(|(column, _)| column == name) {
            None => differences.push((
                name.clone(),
                format!("column `{name}` ({declared_type}) is missing from the query"),
            )),
            Some((_, query_type)) if !same(query_type, declared_type) => differences.push((
                name.clone(),
                format!("column `{name}` is {query_type} in the query but {declared_type} in {declared_in}"),
            )),
            Some(_) => {}
        }
    }
    for (name, query_type) in query {
        if !declared.iter().any(|(column, _)| column == name) {
            differences.push((
                name.clone(),
                format!("column `{name}` ({query_type}) is not in {declared_in}"),
            ));
        }
    }
    differences
}

fn same_type(query: &str, declared: &str) -> bool {
    let base = |data_type: &str| {
        data_type
            .split('(')
            .next()
            .unwrap_or(data_type)
            .trim()
            .to_string()
    };
    base(query) == base(declared)
}

fn render(constraint: &Constraint, resolve: &impl Fn(&str) -> Option<String>) -> Result<String, String> {
    let columns = if constraint.columns.is_empty() {
        String::new()
    } else {
        format!(
            " ({})",
            constraint
                .columns
                .iter()
                .map(|column| quote(column))
                .collect::<Vec<_>>()
                .join(", ")
        )
    };
    let body = match &constraint.kind {
        ConstraintKind::NotNull => "not null".to_string(),
        ConstraintKind::Unique => format!("unique{columns}"),
        ConstraintKind::PrimaryKey => format!("primary key{columns}"),
        ConstraintKind::Check(expression) => format!("check ({expression})"),
        ConstraintKind::ForeignKey { to, to_columns } => {
            let target = resolve(to)
                .ok_or_else(|| format!("the foreign key's `to: {to}` names no model, seed or source"))?;
            let referenced = to_columns
                .iter()
                .map(|column| quote(column))
                .collect::<Vec<_>>()
                .join(", ");
            let foreign = if constraint.columns.is_empty() {
                String::new()
            } else {
                format!("foreign key{columns} ")
            };
            format!("{foreign}references {target} ({referenced})")
        }
    };
    Ok(match &constraint.name {
        Some(name) => format!("constraint {} {body}", quote(name)),
        None => body,
    })
}

fn contract_column(column: &RawColumn) -> Result<ContractColumn, ContractError> {
    let pos = Pos {
        line: column.name.referenced.line() as usize,
        column: column.name.referenced.column() as usize,
    };
    let data_type = column.data_type.clone().ok_or_else(|| ContractError {
        message: format!(
            "column `{}` needs a `data_type` for the enforced contract",
            column.name.value
        ),
        pos,
    })?;
    let constraints = match &column.constraints {
        None => Vec::new(),
        Some(yaml) => constraints(yaml, pos, false)?,
    };
    Ok(ContractColumn {
        name: column.name.value.clone(),
        data_type,
        constraints,
    })
}

/// A list of constraints; `model_level` ones name their `columns`.
fn constraints(yaml: &Yaml, pos: Pos, model_level: bool) -> Result<Vec<Constraint>, ContractError> {
    let Yaml::Seq(items) = yaml else {
        return Err(ContractError {
            message: "`constraints` must be a list of `{type: ..}` entries".to_string(),
            pos,
        });
    };
    items
        .iter()
        .map(|(item_pos, item)| constraint(item, *item_pos, model_level))
        .collect()
}

fn constraint(item: &Yaml, pos: Pos, model_level: bool) -> Result<Constraint, ContractError> {
    let error = |message: String| ContractError { message, pos };
    let entries = item
        .as_map()
        .ok_or_else(|| error("a constraint is a mapping like `{type: not_null}`".to_string()))?;
    let text = |key: &str| {
        entries
            .iter()
            .find(|entry| entry.key == key)
            .and_then(|entry| entry.value.as_str())
    };
    let list = |key: &str| -> Vec<String> {
        entries
            .iter()
            .find(|entry| entry.key == key)
            .map(|entry| match &entry.value {
                Yaml::Seq(items) => items
                    .iter()
                    .filter_map(|(_, item)| item.as_str().map(str::to_string))
                    .collect(),
                Yaml::Str(one) => vec![one.clone()],
                _ => Vec::new(),
            })
            .unwrap_or_default()
    };
    for entry in entries {
        if ![
            "type",
            "name",
            "expression",
            "columns",
            "to",
            "to_columns",
            "warn_unenforced",
            "warn_unsupported",
        ]
        .contains(&entry.key.as_str())
        {
            return Err(ContractError {
                message: format!(
                    "`{}` is not a constraint setting (type, name, expression, columns, to, to_columns)",
                    entry.key
                ),
                pos: entry.key_pos,
            });
        }
    }
    let expression = text("expression").map(str::to_string);
    let kind = match text("type") {
        Some("not_null") if !model_level => ConstraintKind::NotNull,
        Some("unique") => ConstraintKind::Unique,
        Some("primary_key") => ConstraintKind::PrimaryKey,
        Some("check") => ConstraintKind::Check(
            expression.ok_or_else(|| error("a `check` constraint needs `expression`".to_string()))?,
        ),
        Some("foreign_key") => match (text("to"), expression) {
            (Some(to), _) => ConstraintKind::ForeignKey {
                to: to.to_string(),
                to_columns: list("to_columns"),
            },
            // dbt's older form: `expression: "other_table (id)"`.
            (None, Some(expression)) => match expression.split_once('(') {
                Some((table, columns)) => ConstraintKind::ForeignKey {
                    to: table.trim().to_string(),
                    to_columns: columns
                        .trim_end_matches(')')
                        .split(',')
                        .map(|column| column.trim().to_string())
                        .collect(),
                },
                None => {
                    return Err(error(format!(
                        "`expression: {expression}` must be `table (column)`"
                    )));
                }
            },
            (None, None) => {
                return Err(error(
                    "a `foreign_key` constraint needs `to` and `to_columns`".to_string(),
                ));
            }
        },
        Some(other) => {
            return Err(error(format!(
                "`type: {other}` is not a {} constraint (use {})",
                if model_level { "model" } else { "column" },
                if model_level {
                    "unique, primary_key, check, foreign_key"
                } else {
                    "not_null, unique, primary_key, check, foreign_key"
                }
            )));
        }
        None => return Err(error("a constraint needs `type`".to_string())),
    };
    let columns = if model_level { list("columns") } else { Vec::new() };
    if model_level && columns.is_empty() && !matches!(kind, ConstraintKind::Check(_)) {
        return Err(error("a model-level constraint needs `columns`".to_string()));
    }
    Ok(Constraint {
        kind,
        name: text("name").map(str::to_string),
        columns,
    })
}

/// The relation named by a foreign key's `to`: `ref('m')`, `source('s', 't')`, or as written.
pub enum ForeignTarget<'a> {
    /// `ref('m')`.
    Ref(&'a str),
    /// `source('s', 't')`.
    Source(&'a str, &'a str),
    /// A table name as written.
    Written(&'a str),
}

/// The quoted arguments of `ref(..)` / `source(..)`.
fn arguments(inner: &str) -> Vec<&str> {
    inner
        .split(',')
        .map(|part| part.trim().trim_matches(|c| c == '\'' || c == '"'))
        .collect()
}

/// Parse a foreign key's `to`.
pub fn foreign_target(to: &str) -> ForeignTarget<'_> {
    let to = to.trim();
    if let Some(inner) = to.strip_prefix("ref(").and_then(|rest| rest.strip_suffix(')'))
        && let [name] = arguments(inner).as_slice()
    {
        return ForeignTarget::Ref(name);
    }
    if let Some(inner) = to.strip_prefix("source(").and_then(|rest| rest.strip_suffix(')'))
        && let [source, table] = arguments(inner).as_slice()
    {
        return ForeignTarget::Source(source, table);
    }
    ForeignTarget::Written(to)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pair(name: &str, data_type: &str) -> (String, String) {
        (name.to_string(), data_type.to_string())
    }

    #[test]
    fn differences_name_missing_extra_and_retyped_columns() {
        let query = [
            pair("id", "integer"),
            pair("price", "numeric(10,2)"),
            pair("note", "text"),
        ];
        let declared = [
            pair("id", "bigint"),
            pair("price", "numeric(12,4)"),
            pair("name", "text"),
        ];
        assert_eq!(
            Contract::differences(&query, &declared),
            [
                "column `id` is integer in the query but bigint in the contract",
                "column `name` (text) is missing from the query",
                "column `note` (text) is not in the contract",
            ]
        );
        assert!(Contract::differences(&query[..1], &[pair("id", "integer")]).is_empty());
    }

    #[test]
    fn the_table_carries_column_and_model_constraints() {
        let contract = Contract {
            columns: vec![
                ContractColumn {
                    name: "id".into(),
                    data_type: "integer".into(),
                    constraints: vec![
                        Constraint {
                            kind: ConstraintKind::NotNull,
                            name: None,
                            columns: vec![],
                        },
                        Constraint {
                            kind: ConstraintKind::PrimaryKey,
                            name: None,
                            columns: vec![],
                        },
                    ],
                },
                ContractColumn {
                    name: "customer_id".into(),
                    data_type: "integer".into(),
                    constraints: vec![Constraint {
                        kind: ConstraintKind::ForeignKey {
                            to: "ref('customers')".into(),
                            to_columns: vec!["id".into()],
                        },
                        name: None,
                        columns: vec![],
                    }],
                },
            ],
            constraints: vec![Constraint {
                kind: ConstraintKind::Check("id > 0".into()),
                name: Some("positive_id".into()),
                columns: vec![],
            }],
        };
        let resolve = |to: &str| match foreign_target(to) {
            ForeignTarget::Ref("customers") => Some("\"db\".\"s\".\"customers\"".to_string()),
            _ => None,
        };
        assert_eq!(
            contract.table_definition(resolve).expect("valid"),
            "(\n    \"id\" integer not null primary key,\n    \"customer_id\" integer references \"db\".\"s\".\"customers\" (\"id\"),\n    constraint \"positive_id\" check (id > 0)\n)"
        );
        assert_eq!(
            contract.foreign_targets().collect::<Vec<_>>(),
            ["ref('customers')"]
        );
        assert!(contract.table_definition(|_| None).is_err());
    }
}
