//! Writing calls' traces off the request's path: a call hands its record to a bounded queue
//! and returns; one background task drains the queue in batches (up to [`MAX_BATCH`] records,
//! grouped by experiment: one span write per experiment, then the traces' infos, all at once).
//! When the queue is full (the store cannot keep up) a record is dropped and counted rather
//! than slowing calls; the call's audit entry is written with the request regardless.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use keel_core::traces::{IncomingSpan, Traces};
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use super::record::CallRecord;
use crate::prices::PriceTable;

/// Records waiting to be written, at most.
pub const QUEUE: usize = 10_000;
/// Records written together, at most.
pub const MAX_BATCH: usize = 256;

/// Hands calls' records to the writer task.
#[derive(Debug)]
pub struct CallTracer {
    queue: mpsc::Sender<CallRecord>,
    dropped: AtomicU64,
}

impl CallTracer {
    /// Starts the writer task (on the current tokio runtime, tracked by `tasks`); it ends
    /// once every [`CallTracer`] is dropped, or `stopping` is cancelled, and the queue is
    /// written.
    pub fn start(
        traces: Traces,
        prices: Arc<PriceTable>,
        tasks: &TaskTracker,
        stopping: CancellationToken,
    ) -> Self {
        let (queue, rx) = mpsc::channel(QUEUE);
        tasks.spawn(write_all(rx, traces, prices, stopping));
        Self {
            queue,
            dropped: AtomicU64::new(0),
        }
    }

    /// Queues `record` without waiting.
    pub fn record(&self, record: CallRecord) {
        if self.queue.try_send(record).is_err() {
            let dropped = self.dropped.fetch_add(1, Ordering::Relaxed) + 1;
            if dropped.is_power_of_two() {
                tracing::warn!(
                    dropped,
                    "gateway call traces are arriving faster than the store writes them; \
                     traces were dropped"
                );
            }
        }
    }

    /// Records dropped so far because the queue was full.
    pub fn dropped(&self) -> u64 {
        self.dropped.load(Ordering::Relaxed)
    }
}

async fn write_all(
    mut rx: mpsc::Receiver<CallRecord>,
    traces: Traces,
    prices: Arc<PriceTable>,
    stopping: CancellationToken,
) {
    let mut batch = Vec::with_capacity(MAX_BATCH);
    loop {
        tokio::select! {
            received = rx.recv_many(&mut batch, MAX_BATCH) => {
                if received == 0 {
                    return;
                }
                write_batch(&traces, &prices, std::mem::take(&mut batch)).await;
            }
            () = stopping.cancelled() => break,
        }
    }
    // Stopping: what is queued still goes on record.
    rx.close();
    while rx.recv_many(&mut batch, MAX_BATCH).await > 0 {
        write_batch(&traces, &prices, std::mem::take(&mut batch)).await;
    }
}

async fn write_batch(traces: &Traces, prices: &PriceTable, batch: Vec<CallRecord>) {
    let resource = Arc::new(BTreeMap::new());
    let mut by_experiment: BTreeMap<String, (Vec<IncomingSpan>, Vec<_>)> = BTreeMap::new();
    for record in batch {
        let experiment = record.experiment_id.clone();
        let (spans, info) = record.into_trace(prices);
        let entry = by_experiment.entry(experiment).or_default();
        entry.0.extend(spans.into_iter().map(|span| IncomingSpan {
            span,
            resource: resource.clone(),
        }));
        entry.1.push(info);
    }
    for (experiment, (spans, infos)) in by_experiment {
        if let Err(e) = traces.ingest(&experiment, spans).await {
            tracing::warn!(experiment, error = %e.message, "cannot write gateway call traces");
            continue;
        }
        // All at once: the store commits them together (the SQLite writer groups queued
        // writes into one transaction), instead of one commit after another.
        let written =
            futures_util::future::join_all(infos.into_iter().map(|info| traces.start_trace(info)))
                .await;
        for e in written.into_iter().filter_map(Result::err) {
            tracing::warn!(experiment, error = %e.message, "cannot write a gateway call's trace info");
        }
    }
}
