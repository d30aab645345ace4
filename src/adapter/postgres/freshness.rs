//! Source freshness on PostgreSQL: the newest load time of a source table and its age, read in
//! UTC (a `timestamp without time zone` column is taken as UTC, as dbt does). It only reads.

use sqlx::Row;

use super::materialize::commit;
use super::{Postgres, statement_error};
use crate::compile::freshness::FreshnessSpec;
use crate::compile::node::Relation;
use crate::error::Result;

/// What a freshness check read.
#[derive(Debug, Clone, PartialEq)]
pub struct FreshnessReading {
    /// The newest load time (ISO 8601, UTC); None when the table has no rows.
    pub max_loaded_at: Option<String>,
    /// When it was read (ISO 8601, UTC).
    pub snapshotted_at: String,
    /// Seconds between the two; None when the table has no rows.
    pub age_seconds: Option<f64>,
}

impl Postgres {
    /// Read the newest `loaded_at_field` of `relation` (rows matching the spec's `filter`).
    pub async fn check_freshness(
        &self,
        relation: &Relation,
        spec: &FreshnessSpec,
    ) -> Result<FreshnessReading> {
        let filter = spec
            .filter
            .as_deref()
            .map(|filter| format!(" where {filter}"))
            .unwrap_or_default();
        let sql = format!(
            "with newest as (select max({field})::timestamptz as loaded_at from {table}{filter})\n\
             select to_char(loaded_at, 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"'), \
             to_char(now(), 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"'), \
             extract(epoch from now() - loaded_at)::float8 from newest",
            field = spec.loaded_at_field,
            table = relation.render(),
        );
        let mut transaction = self.begin().await?;
        sqlx::raw_sql("set local timezone = 'UTC'")
            .execute(&mut *transaction)
            .await
            .map_err(|error| statement_error(&error, "set local timezone = 'UTC'", None, 0))?;
        let row = sqlx::raw_sql(sqlx::AssertSqlSafe(sql.clone()))
            .fetch_one(&mut *transaction)
            .await
            .map_err(|error| statement_error(&error, &sql, None, 0))?;
        commit(transaction).await?;
        let read = |error: sqlx::Error| statement_error(&error, &sql, None, 0);
        Ok(FreshnessReading {
            max_loaded_at: row.try_get(0).map_err(read)?,
            snapshotted_at: row
                .try_get::<Option<String>, _>(1)
                .map_err(read)?
                .unwrap_or_default(),
            age_seconds: row.try_get(2).map_err(read)?,
        })
    }
}
