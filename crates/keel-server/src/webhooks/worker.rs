//! The delivery worker: a tokio task that claims due deliveries, sends them and records the
//! outcomes, woken when this process queues deliveries and otherwise polling (other replicas
//! queue too, and retries come due); once an hour it also prunes finished deliveries past their
//! retention. The server owns it and stops it at shutdown, after the round in flight finishes
//! (each request is bounded by the transport's timeout).

use keel_core::Webhooks;
use tokio::sync::watch;
use tokio::task::JoinHandle;

/// How often finished deliveries past their retention are removed.
const PRUNE_EVERY: std::time::Duration = std::time::Duration::from_secs(3600);

/// Handle to the running worker.
#[derive(Debug)]
pub struct DeliveryWorker {
    stop: watch::Sender<bool>,
    task: JoinHandle<()>,
}

impl DeliveryWorker {
    /// Starts the worker; `name` identifies it in leases (with a random suffix per claim).
    pub fn spawn(webhooks: Webhooks, name: String) -> Self {
        let (stop, mut stopped) = watch::channel(false);
        let task = tokio::spawn(async move {
            let poll = webhooks.policy().poll_interval;
            let mut next_prune = tokio::time::Instant::now();
            loop {
                if *stopped.borrow() {
                    break;
                }
                if tokio::time::Instant::now() >= next_prune {
                    next_prune += PRUNE_EVERY;
                    match webhooks.prune_deliveries().await {
                        Ok(0) => {}
                        Ok(n) => tracing::info!(deliveries = n, "pruned the webhook delivery log"),
                        Err(e) => tracing::warn!(error = %e, "cannot prune webhook deliveries"),
                    }
                }
                let claimed = match webhooks.deliver_due(&name).await {
                    Ok(n) => n,
                    Err(e) => {
                        tracing::warn!(error = %e, "cannot claim webhook deliveries");
                        0
                    }
                };
                if claimed > 0 {
                    continue;
                }
                tokio::select! {
                    _ = stopped.changed() => break,
                    () = webhooks.wait_for_work(poll) => {}
                }
            }
            tracing::debug!("webhook delivery worker stopped");
        });
        Self { stop, task }
    }

    /// Asks the worker to stop and waits until it has (the round in flight completes first).
    pub async fn stop(self) {
        let _ = self.stop.send(true);
        if let Err(e) = self.task.await {
            tracing::error!(error = %e, "the webhook delivery worker failed");
        }
    }
}
