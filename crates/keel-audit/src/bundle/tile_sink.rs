//! Writing tile files on a background thread, so that syncing each to disk (one `fsync` per 256
//! entries) overlaps with writing and hashing the entries instead of adding to it.

use std::fs::{self, File};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::mpsc::{Receiver, SyncSender, sync_channel};
use std::thread::{self, JoinHandle};

use crate::Error;

/// Tiles queued at most: memory stays bounded (8 KiB each) when the disk is slower than the
/// entries.
const QUEUE: usize = 16;

/// A file to write: its path and bytes.
type Job = (PathBuf, Vec<u8>);

/// Creates, writes and syncs tile files in order on its own thread. The first error stops it;
/// [`TileSink::write`] or [`TileSink::finish`] then returns it.
#[derive(Debug)]
pub(super) struct TileSink {
    jobs: Option<SyncSender<Job>>,
    worker: Option<JoinHandle<Result<(), Error>>>,
}

impl TileSink {
    /// Starts the thread; `dir` names the bundle in errors.
    pub(super) fn start(dir: &Path) -> Result<Self, Error> {
        let (jobs, queue) = sync_channel(QUEUE);
        let worker = thread::Builder::new()
            .name("keel-audit tiles".into())
            .spawn(move || run(queue))
            .map_err(|e| Error::io(dir, e))?;
        Ok(Self {
            jobs: Some(jobs),
            worker: Some(worker),
        })
    }

    /// Queues a new file (its directories are created as needed; an existing file is an error).
    pub(super) fn write(&mut self, path: PathBuf, bytes: Vec<u8>) -> Result<(), Error> {
        let sent = match &self.jobs {
            Some(jobs) => jobs.send((path, bytes)).is_ok(),
            None => false,
        };
        if sent {
            return Ok(());
        }
        // The thread stopped: it has an error to tell.
        self.join()?;
        Err(Error::Bundle("the tile writer has stopped".into()))
    }

    /// Waits until every queued file is written and synced.
    pub(super) fn finish(mut self) -> Result<(), Error> {
        self.join()
    }

    fn join(&mut self) -> Result<(), Error> {
        self.jobs = None;
        match self.worker.take() {
            Some(worker) => worker
                .join()
                .map_err(|_| Error::Bundle("the tile writer thread panicked".into()))?,
            None => Ok(()),
        }
    }
}

fn run(queue: Receiver<Job>) -> Result<(), Error> {
    for (path, bytes) in queue {
        if let Some(parent) = path.parent() {
            fs::create_dir_all(parent).map_err(|e| Error::io(parent, e))?;
        }
        let mut file = File::create_new(&path).map_err(|e| Error::io(&path, e))?;
        file.write_all(&bytes)
            .and_then(|()| file.sync_all())
            .map_err(|e| Error::io(&path, e))?;
    }
    Ok(())
}
