//! Running a test batch on PostgreSQL: one scan of the relation counts every batched test's
//! failures and evaluates its `warn_if`/`error_if` (see `compile::test_batch`). It only reads.

use sqlx::Row;

use super::materialize::TestOutcome;
use super::{Postgres, statement_error};
use crate::compile::test_batch::TestBatch;
use crate::error::{Error, ErrorKind, Result};

impl Postgres {
    /// Count the failures of every test of `batch` with one query; outcomes in batch order.
    pub async fn run_test_batch(&self, batch: &TestBatch) -> Result<Vec<TestOutcome>> {
        let sql = batch.sql();
        let row = sqlx::raw_sql(sqlx::AssertSqlSafe(sql.clone()))
            .fetch_one(&self.pool)
            .await
            .map_err(|error| statement_error(&error, &sql, None, 0))?;
        let read = |error: sqlx::Error| {
            Error::new(
                ErrorKind::Database,
                format!("cannot read a test batch's result: {error}"),
            )
        };
        (0..batch.tests.len())
            .map(|position| {
                let failures_text: String = row
                    .try_get::<Option<String>, _>(3 * position)
                    .map_err(read)?
                    .unwrap_or_else(|| "0".to_string());
                Ok(TestOutcome {
                    failures: failures_text.parse().unwrap_or(0),
                    failures_text,
                    should_warn: row
                        .try_get::<Option<bool>, _>(3 * position + 1)
                        .map_err(read)?
                        .unwrap_or(false),
                    should_error: row
                        .try_get::<Option<bool>, _>(3 * position + 2)
                        .map_err(read)?
                        .unwrap_or(false),
                    statements: Vec::new(),
                })
            })
            .collect()
    }
}
