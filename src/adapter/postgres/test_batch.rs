//! Running a test batch on PostgreSQL: one scan counts every batched test's failing rows (see
//! `compile::test_batch`); an accepted_values test with bad rows then counts its distinct bad
//! values with a query of its own; one query of constants applies each test's `limit`,
//! `warn_if` and `error_if`. It only reads.

use sqlx::Row;
use sqlx::postgres::PgRow;

use super::materialize::TestOutcome;
use super::{Postgres, statement_error};
use crate::compile::test_batch::TestBatch;
use crate::error::{Error, ErrorKind, Result};

impl Postgres {
    /// The outcome of every test of `batch`, in batch order.
    /// Each outcome lists the batch's scan as the statement that ran.
    pub async fn run_test_batch(&self, batch: &TestBatch) -> Result<Vec<TestOutcome>> {
        let scan = batch.count_sql();
        let counts = self.fetch_row(&scan).await?;
        let mut failures = Vec::with_capacity(batch.tests.len());
        for (position, test) in batch.tests.iter().enumerate() {
            let rows: i64 = counts.try_get(position).map_err(read_error)?;
            let failing = match &test.recount {
                Some(recount) if rows > 0 => self.fetch_row(recount).await?.try_get(0).map_err(read_error)?,
                _ => rows,
            };
            failures.push(failing);
        }
        self.threshold_outcomes(&batch.threshold_sql(&failures), batch.tests.len(), &scan)
            .await
    }

    /// The outcomes a `thresholds_sql` query of `count` tests gives, each listing `statement`
    /// as the statement that answered it.
    pub(super) async fn threshold_outcomes(
        &self,
        sql: &str,
        count: usize,
        statement: &str,
    ) -> Result<Vec<TestOutcome>> {
        let thresholds = self.fetch_row(sql).await?;
        (0..count)
            .map(|position| {
                let failures: i64 = thresholds.try_get(3 * position).map_err(read_error)?;
                let flag = |index: usize| -> Result<bool> {
                    Ok(thresholds
                        .try_get::<Option<bool>, _>(index)
                        .map_err(read_error)?
                        .unwrap_or(false))
                };
                Ok(TestOutcome {
                    failures,
                    failures_text: failures.to_string(),
                    should_warn: flag(3 * position + 1)?,
                    should_error: flag(3 * position + 2)?,
                    statements: vec![statement.to_string()],
                })
            })
            .collect()
    }

    async fn fetch_row(&self, sql: &str) -> Result<PgRow> {
        sqlx::raw_sql(sqlx::AssertSqlSafe(sql.to_string()))
            .fetch_one(&self.pool)
            .await
            .map_err(|error| statement_error(&error, sql, None, 0))
    }
}

fn read_error(error: sqlx::Error) -> Error {
    Error::new(
        ErrorKind::Database,
        format!("cannot read a test batch's result: {error}"),
    )
}
