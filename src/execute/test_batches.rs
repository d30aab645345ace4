//! The answers of the run's test batches, shared by their tests' steps: the first step of a
//! batch to run sends the batch's one query; the others wait for its answer. When the batch
//! query fails, each test runs its own query instead, so each reports its own result or
//! error exactly as if it had run alone. It must not write SQL.

use tokio::sync::OnceCell;

use crate::adapter::postgres::{Postgres, TestOutcome};
use crate::compile::test_batch::TestBatch;
use crate::plan::BatchSlot;

/// The batches of a plan and, once asked, their outcomes.
pub struct BatchAnswers {
    batches: Vec<TestBatch>,
    answers: Vec<OnceCell<Option<Vec<TestOutcome>>>>,
}

impl BatchAnswers {
    /// Nothing answered yet.
    pub fn new(batches: Vec<TestBatch>) -> BatchAnswers {
        let answers = batches.iter().map(|_| OnceCell::new()).collect();
        BatchAnswers { batches, answers }
    }

    /// The outcome of the test at `slot`, from its batch's query (sent once); None when the
    /// batch query failed and the test must run alone.
    pub async fn outcome(&self, postgres: &Postgres, slot: BatchSlot) -> Option<TestOutcome> {
        let (batch, answer) = (self.batches.get(slot.batch)?, self.answers.get(slot.batch)?);
        let outcomes = answer
            .get_or_init(|| async { postgres.run_test_batch(batch).await.ok() })
            .await;
        outcomes.as_ref()?.get(slot.position).cloned()
    }
}
