//! Background WAL checkpoints, so the writer never pays for copying the WAL into the database.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{self, RecvTimeoutError};
use std::thread::JoinHandle;
use std::time::Duration;

use keel_core::{Error, Result};
use rusqlite::Connection;

/// How often the WAL is copied back into the database file.
const INTERVAL: Duration = Duration::from_millis(250);
/// WAL size (in frames, i.e. pages) past which the writer is asked to restart the WAL. Under
/// constant writes a passive checkpoint never catches up, so the WAL would only ever grow.
const RESTART_FRAMES: i64 = 16_384;

/// Handle to the checkpoint thread; dropping it runs a last checkpoint and stops the thread.
#[derive(Debug)]
pub(crate) struct Checkpointer {
    stop: Option<mpsc::Sender<()>>,
    thread: Option<JoinHandle<()>>,
}

impl Checkpointer {
    /// Starts checkpointing through `conn`; sets `restart_wanted` when the WAL grows too large
    /// for passive checkpoints to reset it (the writer then runs a RESTART checkpoint).
    pub(crate) fn start(conn: Connection, restart_wanted: Arc<AtomicBool>) -> Result<Self> {
        let (stop, stopped) = mpsc::channel::<()>();
        let thread = std::thread::Builder::new()
            .name("keel-sqlite-checkpoint".into())
            .spawn(move || {
                loop {
                    let last = !matches!(
                        stopped.recv_timeout(INTERVAL),
                        Err(RecvTimeoutError::Timeout)
                    );
                    // PASSIVE never blocks the writer or readers; frames still in use wait for the
                    // next round. The WAL file restarts from the top once fully checkpointed.
                    match conn
                        .query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |r| r.get::<_, i64>(1))
                    {
                        Ok(frames) if frames > RESTART_FRAMES => {
                            restart_wanted.store(true, Ordering::Relaxed)
                        }
                        Ok(_) => {}
                        Err(e) => tracing::warn!(error = %e, "WAL checkpoint failed"),
                    }
                    if last {
                        break;
                    }
                }
            })
            .map_err(|e| Error::internal(format!("cannot start the checkpoint thread: {e}")))?;
        Ok(Self {
            stop: Some(stop),
            thread: Some(thread),
        })
    }
}

impl Drop for Checkpointer {
    fn drop(&mut self) {
        drop(self.stop.take());
        super::join_thread(self.thread.take(), "checkpoint");
    }
}
