//! Enforced contracts on PostgreSQL: compare the columns a model's query returns with the
//! declared ones (types as PostgreSQL formats them, so `int4` and `integer` agree), and fail
//! naming each difference before anything is swapped in (and the same, exactly, for a model
//! bound to a DBML table); a table is then created from the
//! declared definition, so PostgreSQL enforces its constraints on every row inserted. It runs
//! inside the caller's transaction and must not commit.

use sqlx::PgConnection;

use super::catalog::typed_columns;
use super::materialize::{BuildOutcome, run};
use crate::compile::contract::{Contract, column_differences};
use crate::compile::dbml_binding::DbmlBinding;
use crate::compile::node::quote_identifier;
use crate::error::{Error, ErrorKind, Result, SourceLocation};

const SHAPE_TABLE: &str = "\"tmk_contract_query\"";
const DECLARED_TABLE: &str = "\"tmk_contract_declared\"";

/// A model's enforced contract, ready for the database.
#[derive(Debug, Clone)]
pub struct EnforcedContract {
    /// `(<columns with constraints>, <model constraints>)`, foreign keys resolved.
    pub definition: String,
    /// Declared (name, type) pairs, in order.
    pub columns: Vec<(String, String)>,
}

impl EnforcedContract {
    /// The declared column names, quoted, in order.
    pub fn column_list(&self) -> String {
        self.columns
            .iter()
            .map(|(name, _)| quote_identifier(name))
            .collect::<Vec<_>>()
            .join(", ")
    }
}

/// The columns of `query` (a relation or temporary table) and the `declared` ones, both with
/// types as PostgreSQL formats them (so `int4` and `integer` agree).
async fn formatted_columns(
    connection: &mut PgConnection,
    query: &str,
    declared: &[(String, String)],
    outcome: &mut BuildOutcome,
) -> Result<(Vec<(String, String)>, Vec<(String, String)>)> {
    let declared_columns = declared
        .iter()
        .map(|(name, data_type)| format!("{} {data_type}", quote_identifier(name)))
        .collect::<Vec<_>>()
        .join(", ");
    let declare = format!("create temporary table {DECLARED_TABLE} ({declared_columns})");
    run(connection, &declare, None, 0, outcome)
        .await
        .map_err(|error| error.hint("a declared `data_type` is not a PostgreSQL type"))?;
    let declared = typed_columns(&mut *connection, DECLARED_TABLE).await?;
    let actual = typed_columns(&mut *connection, query).await?;
    run(
        connection,
        &format!("drop table {DECLARED_TABLE}"),
        None,
        0,
        outcome,
    )
    .await?;
    Ok((actual, declared))
}

/// Fail unless `query` (a relation or temporary table holding the query's columns) has the
/// declared columns and types.
pub(super) async fn check(
    connection: &mut PgConnection,
    query: &str,
    contract: &EnforcedContract,
    outcome: &mut BuildOutcome,
) -> Result<()> {
    let (actual, declared) = formatted_columns(connection, query, &contract.columns, outcome).await?;
    let differences = Contract::differences(&actual, &declared);
    if differences.is_empty() {
        return Ok(());
    }
    Err(Error::new(
        ErrorKind::Database,
        format!(
            "the model's query does not match its enforced contract ({} difference{})",
            differences.len(),
            if differences.len() == 1 { "" } else { "s" }
        ),
    )
    .detail(differences.join("; "))
    .hint("change the query or the `columns` of the contract; nothing was changed in the database"))
}

/// A model bound to a DBML table, as the build checks it.
#[derive(Debug, Clone, Copy)]
pub struct DbmlCheck<'a> {
    /// The binding.
    pub binding: &'a DbmlBinding,
    /// The model's file, for the error.
    pub model_path: &'a str,
}

/// Fail unless `query` (the built table or the new rows) has exactly the DBML table's columns
/// and types; each difference names the DBML column's file:line:col.
pub(super) async fn check_dbml(
    connection: &mut PgConnection,
    query: &str,
    check: DbmlCheck<'_>,
    outcome: &mut BuildOutcome,
) -> Result<()> {
    let binding = check.binding;
    let declared: Vec<(String, String)> = binding
        .columns
        .iter()
        .map(|column| (column.name.clone(), column.data_type.clone()))
        .collect();
    let (actual, declared) = formatted_columns(connection, query, &declared, outcome).await?;
    let differences = column_differences(&actual, &declared, "the DBML", |a, b| a == b);
    if differences.is_empty() {
        return Ok(());
    }
    let mut error = Error::new(
        ErrorKind::Database,
        format!(
            "model `{}` does not match DBML table `{}` ({} difference{})",
            check.model_path,
            binding.table,
            differences.len(),
            if differences.len() == 1 { "" } else { "s" }
        ),
    )
    .at(SourceLocation::new(check.model_path, 1, 1));
    for (column, difference) in differences {
        let at = binding
            .columns
            .iter()
            .find(|declared| declared.name == column)
            .map_or_else(
                || binding.declared_at.clone(),
                |declared| declared.declared_at.clone(),
            );
        error = error.detail(format!("{difference} ({at})"));
    }
    Err(error.hint(format!(
        "change the model or the table in the DBML ({}); nothing was changed in the database",
        binding.declared_at
    )))
}

/// The columns of the model's query, without running it: a temporary table from `limit 0`.
pub(super) async fn query_shape(
    connection: &mut PgConnection,
    sql: &str,
    origin: &super::SqlOrigin,
    outcome: &mut BuildOutcome,
) -> Result<&'static str> {
    let prefix = format!("create temporary table {SHAPE_TABLE} on commit drop as\nselect * from (\n");
    let shape = format!("{prefix}{sql}\n) as model_subq limit 0");
    run(connection, &shape, Some(origin), prefix.chars().count(), outcome).await?;
    Ok(SHAPE_TABLE)
}
