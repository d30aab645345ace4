//! The answers of the run's test batches, shared by their tests' steps: the first step of a
//! batch to run sends the batch's one query; the others wait for its answer. When the batch
//! query fails, each test runs its own query instead, so each reports its own result or
//! error exactly as if it had run alone. It must not write SQL.

use std::time::Instant;

use tokio::sync::OnceCell;

use crate::adapter::postgres::{Postgres, TestOutcome};
use crate::compile::test_batch::TestBatch;
use crate::plan::BatchSlot;

/// The batches of a plan and, once asked, their outcomes.
pub struct BatchAnswers {
    batches: Vec<TestBatch>,
    answers: Vec<OnceCell<Option<Answer>>>,
}

impl BatchAnswers {
    /// Nothing answered yet.
    pub fn new(batches: Vec<TestBatch>) -> BatchAnswers {
        let answers = batches.iter().map(|_| OnceCell::new()).collect();
        BatchAnswers { batches, answers }
    }

    /// The outcome of the test at `slot`, from its batch's query (sent once), and the seconds
    /// that query took; None when the batch query failed and the test must run alone.
    pub async fn outcome(&self, postgres: &Postgres, slot: BatchSlot) -> Option<(TestOutcome, f64)> {
        let (batch, answer) = (self.batches.get(slot.batch)?, self.answers.get(slot.batch)?);
        let answer = answer
            .get_or_init(|| async {
                let clock = Instant::now();
                let outcomes = postgres.run_test_batch(batch).await.ok()?;
                Some(Answer {
                    outcomes,
                    seconds: clock.elapsed().as_secs_f64(),
                })
            })
            .await
            .as_ref()?;
        Some((answer.outcomes.get(slot.position)?.clone(), answer.seconds))
    }
}

/// A batch query's outcomes, in batch order, and how long it took.
struct Answer {
    outcomes: Vec<TestOutcome>,
    seconds: f64,
}
