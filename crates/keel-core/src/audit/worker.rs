//! The sequencer: a task that appends committed entries to the Merkle tree and signs
//! checkpoints when due. Every replica runs one; the store lets one sequence at a time. The
//! server owns it and stops it at shutdown, after the round in flight.

use std::time::Duration;

use tokio::sync::watch;
use tokio::task::JoinHandle;

use super::AuditLog;

/// How often committed entries are appended to the tree.
const ROUND: Duration = Duration::from_millis(200);

/// Handle to the running sequencer.
#[derive(Debug)]
pub struct Sequencer {
    stop: watch::Sender<bool>,
    task: JoinHandle<()>,
}

impl Sequencer {
    pub fn spawn(log: AuditLog) -> Self {
        let (stop, mut stopped) = watch::channel(false);
        let task = tokio::spawn(async move {
            loop {
                round(&log).await;
                tokio::select! {
                    _ = stopped.changed() => break,
                    () = tokio::time::sleep(ROUND) => {}
                }
            }
            // What committed before the stop is appended before the process ends.
            round(&log).await;
            tracing::debug!("audit sequencer stopped");
        });
        Self { stop, task }
    }

    /// Asks the sequencer to stop and waits for its last round.
    pub async fn stop(self) {
        let _ = self.stop.send(true);
        if let Err(e) = self.task.await {
            tracing::error!(error = %e, "the audit sequencer failed");
        }
    }
}

async fn round(log: &AuditLog) {
    if let Err(e) = log.sequence().await {
        tracing::warn!(error = %e, "cannot sequence audit entries");
        return;
    }
    if let Err(e) = log.checkpoint_if_due().await {
        tracing::warn!(error = %e, "cannot sign an audit checkpoint");
    }
}
