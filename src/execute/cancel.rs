//! Ctrl-C during a run. The first one marks the run cancelled (the executor then starts no
//! new step and records the unfinished ones as cancelled) and cancels the statements running
//! on the pool until the run is over, so their transactions roll back and relations keep their
//! old state; a second one quits at once with exit code 130. It must not decide what a
//! cancelled step records (the executor does) nor print (the `Reporter` does).

use std::time::Duration;

use tokio::sync::watch;
use tokio::task::JoinHandle;

use crate::adapter::postgres::Postgres;

/// How often statements are cancelled again once the run is cancelled (a step may start
/// another statement after the one that was cancelled).
const CANCEL_EVERY: Duration = Duration::from_millis(250);

/// Whether the run was cancelled; cheap to clone into every step.
#[derive(Debug, Clone)]
pub struct Cancel {
    receiver: watch::Receiver<bool>,
}

/// Listens for Ctrl-C until dropped.
pub struct CtrlC {
    task: JoinHandle<()>,
}

impl Drop for CtrlC {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl Cancel {
    /// Listen for Ctrl-C while the returned [`CtrlC`] lives; cancelling stops the statements
    /// running on `postgres`'s pool.
    pub fn on_ctrl_c(postgres: Postgres) -> (Cancel, CtrlC) {
        let (sender, receiver) = watch::channel(false);
        let task = tokio::spawn(async move {
            if tokio::signal::ctrl_c().await.is_err() {
                // No signal handler (rare): Ctrl-C keeps its default, ending tmk at once.
                return;
            }
            sender.send_replace(true);
            tokio::select! {
                _ = tokio::signal::ctrl_c() => std::process::exit(130),
                () = async {
                    loop {
                        // Best effort: a failed attempt is repeated on the next tick.
                        let _ = postgres.cancel_queries().await;
                        tokio::time::sleep(CANCEL_EVERY).await;
                    }
                } => {}
            }
        });
        (Cancel { receiver }, CtrlC { task })
    }

    /// Whether the run was cancelled.
    pub fn is_cancelled(&self) -> bool {
        *self.receiver.borrow()
    }

    /// Wait until the run is cancelled (forever when it cannot be any more).
    pub async fn cancelled(&mut self) {
        if self.receiver.wait_for(|cancelled| *cancelled).await.is_err() {
            std::future::pending::<()>().await;
        }
    }
}
