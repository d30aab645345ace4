//! `on_schema_change` for incremental models: compare the columns of the new rows with the
//! existing table's, then ignore the difference, fail naming it, add the new columns, or sync
//! the table to the model (add, drop, and change column types, where dbt fails). Views that
//! depend on the table are captured, dropped and recreated around a change they would block.
//! It runs inside the incremental model's transaction and must not commit.

use sqlx::PgConnection;

use super::catalog::typed_columns;
use super::dependents;
use super::materialize::{BuildOutcome, run};
use crate::compile::node::{Relation, quote_identifier};
use crate::error::{Error, ErrorKind, Result};

/// What an incremental model does when its columns differ from its table's.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum OnSchemaChange {
    /// Keep the table as it is; rows are inserted into its columns (dbt's default).
    #[default]
    Ignore,
    /// Stop with an error naming each difference.
    Fail,
    /// Add the model's new columns to the table; keep the others.
    AppendNewColumns,
    /// Make the table's columns the model's: add, drop, and change types.
    SyncAllColumns,
}

impl OnSchemaChange {
    /// Parse the config value (validated at parse time; unknown values mean `ignore`).
    pub fn parse(value: Option<&str>) -> OnSchemaChange {
        match value {
            Some("fail") => OnSchemaChange::Fail,
            Some("append_new_columns") => OnSchemaChange::AppendNewColumns,
            Some("sync_all_columns") => OnSchemaChange::SyncAllColumns,
            _ => OnSchemaChange::Ignore,
        }
    }
}

/// How the model's columns differ from the table's.
#[derive(Debug, Default, PartialEq, Eq)]
struct ColumnChanges {
    /// In the model, not in the table: (name, type).
    added: Vec<(String, String)>,
    /// In the table, not in the model.
    removed: Vec<String>,
    /// In both with another type: (name, table's type, model's type).
    retyped: Vec<(String, String, String)>,
}

impl ColumnChanges {
    fn between(table: &[(String, String)], model: &[(String, String)]) -> ColumnChanges {
        let type_in = |columns: &[(String, String)], name: &str| {
            columns
                .iter()
                .find(|(column, _)| column == name)
                .map(|(_, data_type)| data_type.clone())
        };
        ColumnChanges {
            added: model
                .iter()
                .filter(|(name, _)| type_in(table, name).is_none())
                .cloned()
                .collect(),
            removed: table
                .iter()
                .filter(|(name, _)| type_in(model, name).is_none())
                .map(|(name, _)| name.clone())
                .collect(),
            retyped: table
                .iter()
                .filter_map(|(name, old)| {
                    let new = type_in(model, name)?;
                    (&new != old).then(|| (name.clone(), old.clone(), new))
                })
                .collect(),
        }
    }

    fn is_empty(&self) -> bool {
        self.added.is_empty() && self.removed.is_empty() && self.retyped.is_empty()
    }

    /// Each difference, for messages.
    fn describe(&self) -> String {
        let mut lines = Vec::new();
        lines.extend(
            self.added
                .iter()
                .map(|(name, data_type)| format!("new column `{name}` ({data_type})")),
        );
        lines.extend(
            self.removed
                .iter()
                .map(|name| format!("column `{name}` is gone from the model")),
        );
        lines.extend(
            self.retyped
                .iter()
                .map(|(name, old, new)| format!("column `{name}` changed type from {old} to {new}")),
        );
        lines.join("; ")
    }
}

/// Apply `policy` to `table` for the new rows in `staging` (a temporary table); returns the
/// columns to insert, in the table's order.
pub(super) async fn apply(
    connection: &mut PgConnection,
    table: &Relation,
    staging: &str,
    policy: OnSchemaChange,
    outcome: &mut BuildOutcome,
) -> Result<Vec<String>> {
    let target = table.render();
    let table_columns = typed_columns(&mut *connection, &target).await?;
    let model_columns = typed_columns(&mut *connection, staging).await?;
    let changes = ColumnChanges::between(&table_columns, &model_columns);
    let names =
        |columns: &[(String, String)]| columns.iter().map(|(name, _)| name.clone()).collect::<Vec<_>>();
    if changes.is_empty() {
        return Ok(names(&table_columns));
    }
    match policy {
        OnSchemaChange::Ignore => Ok(names(&table_columns)),
        OnSchemaChange::Fail => Err(Error::new(
            ErrorKind::Database,
            format!("the columns of the model differ from its table {target}"),
        )
        .detail(changes.describe())
        .hint("set `on_schema_change` to `append_new_columns` or `sync_all_columns`, or rebuild it with --full-refresh")),
        OnSchemaChange::AppendNewColumns => {
            for (name, data_type) in &changes.added {
                let add = format!("alter table {target} add column {} {data_type}", quote_identifier(name));
                run(connection, &add, None, 0, outcome).await?;
            }
            let mut columns = names(&table_columns);
            columns.retain(|column| model_columns.iter().any(|(name, _)| name == column));
            columns.extend(changes.added.iter().map(|(name, _)| name.clone()));
            Ok(columns)
        }
        OnSchemaChange::SyncAllColumns => {
            // Dropping or retyping a column that views use is refused by PostgreSQL: take the
            // views away for the change and put them back; one that no longer fits fails the step.
            let blocked = !changes.removed.is_empty() || !changes.retyped.is_empty();
            let views = if blocked {
                dependents::capture(connection, table).await?
            } else {
                Vec::new()
            };
            dependents::drop_all(connection, &views).await?;
            let mut statements: Vec<String> = changes
                .added
                .iter()
                .map(|(name, data_type)| format!("alter table {target} add column {} {data_type}", quote_identifier(name)))
                .collect();
            statements.extend(
                changes
                    .removed
                    .iter()
                    .map(|name| format!("alter table {target} drop column {}", quote_identifier(name))),
            );
            for statement in &statements {
                run(connection, statement, None, 0, outcome).await?;
            }
            for (name, _, new) in &changes.retyped {
                let column = quote_identifier(name);
                let retype = format!("alter table {target} alter column {column} type {new} using {column}::{new}");
                run(connection, &retype, None, 0, outcome).await.map_err(|error| {
                    error.hint(format!(
                        "the existing values of `{name}` cannot all be converted to {new}; rebuild the model with --full-refresh"
                    ))
                })?;
            }
            dependents::recreate(connection, table, &views).await?;
            outcome
                .recreated_views
                .extend(views.into_iter().map(|view| view.qualified_name));
            Ok(names(&model_columns))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn columns(list: &[(&str, &str)]) -> Vec<(String, String)> {
        list.iter()
            .map(|(name, data_type)| (name.to_string(), data_type.to_string()))
            .collect()
    }

    #[test]
    fn changes_name_added_removed_and_retyped_columns() {
        let table = columns(&[("id", "integer"), ("name", "text"), ("price", "integer")]);
        let model = columns(&[("id", "integer"), ("price", "numeric(10,2)"), ("city", "text")]);
        let changes = ColumnChanges::between(&table, &model);
        assert_eq!(changes.added, columns(&[("city", "text")]));
        assert_eq!(changes.removed, ["name"]);
        assert_eq!(
            changes.retyped,
            [(
                "price".to_string(),
                "integer".to_string(),
                "numeric(10,2)".to_string()
            )]
        );
        assert_eq!(
            changes.describe(),
            "new column `city` (text); column `name` is gone from the model; column `price` changed type from integer to numeric(10,2)"
        );
        assert!(ColumnChanges::between(&table, &table).is_empty());
    }
}
