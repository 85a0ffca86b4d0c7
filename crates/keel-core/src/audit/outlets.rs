//! Where signed checkpoints go beyond the database: an RFC 3161 timestamp authority that
//! countersigns each one, and publication sinks (a directory, an object-store prefix, a signed
//! webhook) that keep a copy outside Keel's control, so a rewritten history can be detected
//! from outside. The implementations (HTTP, object stores) live with the server; this module
//! holds the contracts and the retry logic.

use std::sync::Mutex;
use std::time::{Duration, Instant};

use super::store::StoredCheckpoint;
use crate::error::Result;

/// An RFC 3161 timestamp authority.
#[async_trait::async_trait]
pub trait Timestamper: Send + Sync {
    /// A timestamp response (DER `TimeStampResp`, checked) over `message`.
    async fn timestamp(&self, message: &[u8]) -> Result<Vec<u8>>;
}

/// A place each signed checkpoint is published to.
#[async_trait::async_trait]
pub trait CheckpointSink: Send + Sync {
    /// What the operator configured, for logs (never a secret).
    fn describe(&self) -> String;

    /// Publishes `checkpoint` of the log named `origin`. Publishing the same checkpoint again
    /// is harmless.
    async fn publish(&self, origin: &str, checkpoint: &StoredCheckpoint) -> Result<()>;
}

/// How long an outlet that failed is left alone before it is tried again.
pub(super) const RETRY_AFTER: Duration = Duration::from_secs(30);

/// A sink and what was published to it by this process.
pub(super) struct Outlet<T: ?Sized> {
    pub(super) target: Box<T>,
    state: Mutex<OutletState>,
}

#[derive(Default)]
struct OutletState {
    /// The largest checkpoint size delivered.
    done: u64,
    /// Not before this instant after a failure.
    retry_at: Option<Instant>,
}

impl<T: ?Sized> Outlet<T> {
    pub(super) fn new(target: Box<T>) -> Self {
        Self {
            target,
            state: Mutex::new(OutletState::default()),
        }
    }

    /// Whether the checkpoint of `size` still needs this outlet, and it may be tried now.
    pub(super) fn due(&self, size: u64) -> bool {
        let state = self.state.lock().unwrap_or_else(|e| e.into_inner());
        size > state.done && state.retry_at.is_none_or(|at| Instant::now() >= at)
    }

    /// Records the outcome of an attempt for the checkpoint of `size`.
    pub(super) fn record(&self, size: u64, ok: bool) {
        let mut state = self.state.lock().unwrap_or_else(|e| e.into_inner());
        if ok {
            state.done = state.done.max(size);
            state.retry_at = None;
        } else {
            state.retry_at = Some(Instant::now() + RETRY_AFTER);
        }
    }
}

/// The timestamp authority and sinks of a log.
#[derive(Default)]
pub struct Outlets {
    pub(super) timestamper: Option<Outlet<dyn Timestamper>>,
    pub(super) sinks: Vec<Outlet<dyn CheckpointSink>>,
}

impl Outlets {
    /// Timestamps checkpoints with `timestamper`: the latest one, as it is signed (retried while
    /// it is the latest; a checkpoint superseded while the authority was down stays without).
    pub fn with_timestamper(mut self, timestamper: Box<dyn Timestamper>) -> Self {
        self.timestamper = Some(Outlet::new(timestamper));
        self
    }

    /// Publishes checkpoints to `sink` too: the latest one, after its timestamp was asked for.
    pub fn with_sink(mut self, sink: Box<dyn CheckpointSink>) -> Self {
        self.sinks.push(Outlet::new(sink));
        self
    }

    pub(super) fn is_empty(&self) -> bool {
        self.timestamper.is_none() && self.sinks.is_empty()
    }
}

impl std::fmt::Debug for Outlets {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Outlets")
            .field("timestamper", &self.timestamper.is_some())
            .field(
                "sinks",
                &self
                    .sinks
                    .iter()
                    .map(|s| s.target.describe())
                    .collect::<Vec<_>>(),
            )
            .finish()
    }
}
