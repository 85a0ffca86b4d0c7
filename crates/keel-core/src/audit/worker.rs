//! The sequencer: a task that appends committed entries to the Merkle tree, signs checkpoints
//! when due and prunes entries past the retention; and, beside it, a task that delivers
//! checkpoints to the outlets (timestamp authority, publication sinks), so a slow or failing
//! outlet never delays sequencing. Every replica runs them; the store lets one sequence at a
//! time. The server owns them and stops them at shutdown, after the round in flight.

use std::time::{Duration, Instant};

use tokio::sync::watch;
use tokio::task::JoinHandle;

use super::AuditLog;

/// How often committed entries are appended to the tree.
const ROUND: Duration = Duration::from_millis(200);
/// How often entries past the retention are looked for (and at start; sooner while a pass
/// leaves expired entries behind).
const PRUNE_EVERY: Duration = Duration::from_secs(3600);
/// How often the latest checkpoint is offered to the outlets.
const DELIVER_EVERY: Duration = Duration::from_secs(1);

/// Handle to the running sequencer.
#[derive(Debug)]
pub struct Sequencer {
    stop: watch::Sender<bool>,
    tasks: Vec<JoinHandle<()>>,
}

impl Sequencer {
    pub fn spawn(log: AuditLog) -> Self {
        let (stop, stopped) = watch::channel(false);
        let mut tasks = vec![tokio::spawn(sequence(log.clone(), stopped.clone()))];
        if log.has_outlets() {
            tasks.push(tokio::spawn(deliver(log, stopped)));
        }
        Self { stop, tasks }
    }

    /// Asks the sequencer to stop and waits for its last round.
    pub async fn stop(self) {
        let _ = self.stop.send(true);
        for task in self.tasks {
            if let Err(e) = task.await {
                tracing::error!(error = %e, "the audit sequencer failed");
            }
        }
    }
}

async fn sequence(log: AuditLog, mut stopped: watch::Receiver<bool>) {
    let mut prune_at = Instant::now();
    loop {
        round(&log).await;
        if Instant::now() >= prune_at {
            let more = prune(&log).await;
            prune_at = if more {
                Instant::now()
            } else {
                Instant::now() + PRUNE_EVERY
            };
        }
        tokio::select! {
            _ = stopped.changed() => break,
            () = tokio::time::sleep(ROUND) => {}
        }
    }
    // What committed before the stop is appended before the process ends.
    round(&log).await;
    tracing::debug!("audit sequencer stopped");
}

async fn deliver(log: AuditLog, mut stopped: watch::Receiver<bool>) {
    loop {
        tokio::select! {
            _ = stopped.changed() => break,
            () = tokio::time::sleep(DELIVER_EVERY) => {}
        }
        tokio::select! {
            _ = stopped.changed() => break,
            delivered = log.deliver() => {
                if let Err(e) = delivered {
                    tracing::warn!(error = %e, "cannot deliver an audit checkpoint");
                }
            }
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

/// One pruning pass; whether expired entries remain.
async fn prune(log: &AuditLog) -> bool {
    match log.prune_expired().await {
        Ok(Some(pruned)) => {
            tracing::info!(
                below = pruned.below,
                removed = pruned.removed,
                "pruned audit entries past the retention"
            );
            pruned.more
        }
        Ok(None) => false,
        Err(e) => {
            tracing::warn!(error = %e, "cannot prune audit entries");
            false
        }
    }
}
