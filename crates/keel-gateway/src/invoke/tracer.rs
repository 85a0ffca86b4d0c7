//! Writing calls' traces off the request's path: a call hands its record to a bounded queue
//! and returns; one background task drains the queue in batches (up to [`MAX_BATCH`] records,
//! grouped by experiment), each experiment's traces whole in one store write
//! ([`Traces::record_complete`]: no read-back, one commit). The queue is bounded in records
//! ([`QUEUE`]) and in bytes ([`MAX_QUEUED_BYTES`]); when it is full (the store cannot keep up) a
//! record is dropped and counted rather than slowing calls or growing memory; the call's audit
//! entry is written with the request regardless.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};

use keel_core::traces::Traces;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use super::record::CallRecord;
use crate::prices::PriceTable;

/// Records waiting to be written, at most.
pub const QUEUE: usize = 4_096;
/// Bytes of records (their requests and answers, approximately) waiting to be written, at most.
pub const MAX_QUEUED_BYTES: usize = 32 * 1024 * 1024;
/// Records taken from the queue at a time, at most; one store write per experiment among them.
/// Small enough that a write holds SQLite's single writer for a few milliseconds only, so the
/// requests' own writes (their audit entries) queued behind it are not held up for long.
pub const MAX_BATCH: usize = 64;

/// Hands calls' records to the writer task.
#[derive(Debug)]
pub struct CallTracer {
    queue: mpsc::Sender<(CallRecord, usize)>,
    queued_bytes: Arc<AtomicUsize>,
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
        let queued_bytes = Arc::new(AtomicUsize::new(0));
        let writer = Writer {
            traces,
            prices,
            queued_bytes: queued_bytes.clone(),
        };
        tasks.spawn(writer.write_all(rx, stopping));
        Self {
            queue,
            queued_bytes,
            dropped: AtomicU64::new(0),
        }
    }

    /// Queues `record` without waiting.
    pub fn record(&self, record: CallRecord) {
        let bytes = record.approximate_size();
        let admitted = self
            .queued_bytes
            .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |queued| {
                let total = queued.saturating_add(bytes);
                (total <= MAX_QUEUED_BYTES).then_some(total)
            })
            .is_ok();
        let sent = admitted && {
            let sent = self.queue.try_send((record, bytes)).is_ok();
            if !sent {
                self.queued_bytes.fetch_sub(bytes, Ordering::Relaxed);
            }
            sent
        };
        if !sent {
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

/// The task that writes queued records.
struct Writer {
    traces: Traces,
    prices: Arc<PriceTable>,
    queued_bytes: Arc<AtomicUsize>,
}

impl Writer {
    async fn write_all(
        self,
        mut rx: mpsc::Receiver<(CallRecord, usize)>,
        stopping: CancellationToken,
    ) {
        let mut batch = Vec::with_capacity(MAX_BATCH);
        loop {
            tokio::select! {
                received = rx.recv_many(&mut batch, MAX_BATCH) => {
                    if received == 0 {
                        return;
                    }
                    self.write_batch(std::mem::take(&mut batch)).await;
                }
                () = stopping.cancelled() => break,
            }
        }
        // Stopping: what is queued still goes on record.
        rx.close();
        while rx.recv_many(&mut batch, MAX_BATCH).await > 0 {
            self.write_batch(std::mem::take(&mut batch)).await;
        }
    }

    async fn write_batch(&self, batch: Vec<(CallRecord, usize)>) {
        let mut bytes = 0usize;
        let mut by_experiment: BTreeMap<String, Vec<_>> = BTreeMap::new();
        for (record, size) in batch {
            bytes += size;
            let experiment = record.experiment_id.clone();
            let (spans, info) = record.into_trace(&self.prices);
            by_experiment
                .entry(experiment)
                .or_default()
                .push((info, spans));
        }
        for (experiment, traces) in by_experiment {
            if let Err(e) = self.traces.record_complete(&experiment, traces).await {
                tracing::warn!(experiment, error = %e.message, "cannot write gateway call traces");
            }
        }
        self.queued_bytes.fetch_sub(bytes, Ordering::Relaxed);
    }
}
