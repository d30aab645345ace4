//! Watermarks: each model with `watermark: <column>` has its high-water mark (the greatest value
//! of that column among its committed rows) in `tmk_meta.load_watermarks`, keyed by the
//! model's table (so two targets in one database keep their own). It is read once
//! before the models compile, and moved inside the transaction that commits the model's rows,
//! so a failed or interrupted run leaves it where it was and it always matches the data.
//! It must not decide which models have watermarks: callers pass them.

use std::collections::HashMap;

use sqlx::{PgConnection, Row};

use super::catalog::typed_columns;
use super::materialize::{BuildOutcome, run};
use super::quote_literal;
use super::{Postgres, statement_error};
use crate::compile::jinja::context::StoredWatermark;
use crate::compile::node::{Relation, quote_identifier};
use crate::error::{Error, ErrorKind, Result};

/// The metadata table.
const TABLE: &str = "tmk_meta.load_watermarks";

/// A model whose watermark a build moves: its table, unique id and watermark column.
#[derive(Debug, Clone, Copy)]
pub struct WatermarkColumn<'a> {
    /// The model's table (the key in `tmk_meta.load_watermarks`).
    pub relation: &'a Relation,
    /// The model's unique id.
    pub model: &'a str,
    /// The column whose greatest value is kept.
    pub column: &'a str,
}

/// A watermarked model before a run: where its rows are, and whether its table exists.
#[derive(Debug, Clone)]
pub struct WatermarkedModel {
    /// The model's unique id.
    pub model: String,
    /// Its watermark column.
    pub column: String,
    /// Its table.
    pub relation: Relation,
    /// The table exists (a watermark missing from the metadata is then read off the table).
    pub exists: bool,
}

impl Postgres {
    /// Create the metadata table if needed and read the watermarks of `models`. A model whose
    /// table exists but has no stored watermark (the config was just added) gets the greatest
    /// value of its column in the table.
    pub async fn read_watermarks(
        &self,
        models: &[WatermarkedModel],
    ) -> Result<HashMap<String, StoredWatermark>> {
        if models.is_empty() {
            return Ok(HashMap::new());
        }
        let mut connection = self
            .pool
            .acquire()
            .await
            .map_err(|error| statement_error(&error, "connect", None, 0))?;
        super::meta::ensure_tables(&mut connection).await?;
        drop(connection);
        let relations: Vec<String> = models.iter().map(|model| model.relation.render()).collect();
        let sql =
            format!("select relation, column_name, value, data_type from {TABLE} where relation = any($1)");
        let rows = sqlx::query(sqlx::AssertSqlSafe(sql.clone()))
            .bind(&relations)
            .fetch_all(&self.pool)
            .await
            .map_err(|error| statement_error(&error, &sql, None, 0))?;
        let mut stored = HashMap::new();
        for row in rows {
            let (relation, column): (String, String) = (row.get(0), row.get(1));
            // A watermark kept for another column does not apply to this one.
            if let Some(wanted) = models
                .iter()
                .find(|wanted| wanted.relation.render() == relation && wanted.column == column)
            {
                stored.insert(
                    wanted.model.clone(),
                    StoredWatermark {
                        value: row.get(2),
                        data_type: row.get(3),
                    },
                );
            }
        }
        let unstored: Vec<&WatermarkedModel> = models
            .iter()
            .filter(|model| model.exists && !stored.contains_key(&model.model))
            .collect();
        for model in unstored {
            let column = quote_identifier(&model.column);
            let sql = format!(
                "select max({column})::text, pg_typeof(max({column}))::text from {}",
                model.relation.render()
            );
            let row = sqlx::query(sqlx::AssertSqlSafe(sql.clone()))
                .fetch_one(&self.pool)
                .await
                .map_err(|error| statement_error(&error, &sql, None, 0))?;
            if let Some(value) = row.get::<Option<String>, _>(0) {
                stored.insert(
                    model.model.clone(),
                    StoredWatermark {
                        value,
                        data_type: row.get(1),
                    },
                );
            }
        }
        Ok(stored)
    }
}

/// Move `watermark` to the greatest value of its column in `rows` (a relation or a temporary
/// table), inside the caller's transaction. `forward_only` keeps a greater stored value (rows
/// added to a table); otherwise the table was rebuilt and its own greatest value is the mark.
pub(super) async fn advance(
    connection: &mut PgConnection,
    watermark: &WatermarkColumn<'_>,
    rows: &str,
    forward_only: bool,
    outcome: &mut BuildOutcome,
) -> Result<()> {
    let columns = typed_columns(&mut *connection, rows).await?;
    let Some((_, data_type)) = columns.iter().find(|(name, _)| name == watermark.column) else {
        return Err(Error::new(
            ErrorKind::Database,
            format!(
                "`watermark: {}` names no column of the model (it returns: {})",
                watermark.column,
                columns
                    .iter()
                    .map(|(name, _)| name.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        )
        .hint("name the column whose greatest loaded value tmk should keep"));
    };
    let column = quote_identifier(watermark.column);
    let keep_greater = if forward_only {
        format!(
            "\nwhere cast(excluded.value as {data_type}) > cast(stored.value as {data_type}) or stored.column_name <> excluded.column_name or stored.data_type <> excluded.data_type"
        )
    } else {
        String::new()
    };
    if !forward_only {
        let reset = format!(
            "delete from {TABLE} where relation = {}",
            quote_literal(&watermark.relation.render())
        );
        run(connection, &reset, None, 0, outcome).await?;
    }
    let statement = format!(
        "insert into {TABLE} as stored (relation, model, column_name, value, data_type, updated_at)\n\
         select {}, {}, {}, max({column})::text, {}, now() from {rows} having max({column}) is not null\n\
         on conflict (relation) do update set model = excluded.model, column_name = excluded.column_name, \
         value = excluded.value, data_type = excluded.data_type, updated_at = excluded.updated_at{keep_greater}",
        quote_literal(&watermark.relation.render()),
        quote_literal(watermark.model),
        quote_literal(watermark.column),
        quote_literal(data_type),
    );
    run(connection, &statement, None, 0, outcome).await.map(|_| ())
}
