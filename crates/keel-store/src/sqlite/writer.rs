//! The single writer: a dedicated thread that commits queued write jobs in groups.
//!
//! SQLite has one writer at a time and a commit costs far more than a small write, so the writer
//! drains every job waiting in its queue into one transaction. A job's caller gets its result
//! only after the COMMIT that contains it, so an acknowledged write is durable (in the WAL file)
//! before the client hears about it.
//!
//! Store write functions do every check that can reject a request before their first write, so
//! a rejected job leaves the transaction as it found it and the other jobs still commit. (This
//! is much cheaper than a SAVEPOINT per job, which copies every page a job touches.) If a job
//! fails after changing rows anyway — a database error mid-write — the whole group is rolled
//! back and every caller in it is told to retry: nothing partial is ever committed.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc;
use std::thread::JoinHandle;

use keel_core::{Error, Result};
use rusqlite::Connection;

use super::db_err;

/// Most jobs committed together; bounds the latency one commit adds to its first job.
const MAX_JOBS_PER_COMMIT: usize = 256;

/// Called after the commit (with `None`) or after the commit failed (with its error).
type Completion = Box<dyn FnOnce(Option<Error>) + Send>;
/// A write to run on the writer connection; given `None`, it does not run and its completion
/// reports the error it is then handed. Also says whether it left partial changes behind.
type Job = Box<dyn FnOnce(Option<&Connection>) -> (Completion, Outcome) + Send>;

/// Whether a job left the transaction clean (committed work or no change at all).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Outcome {
    Clean,
    /// The job failed after changing rows: the transaction must be rolled back.
    Partial,
}

/// Handle to the writer thread. Dropping it lets the thread finish queued jobs and exit.
#[derive(Debug)]
pub(crate) struct Writer {
    jobs: Option<mpsc::Sender<Job>>,
    thread: Option<JoinHandle<()>>,
}

impl Writer {
    /// Starts the writer thread on `conn`. Between commits it restarts the WAL whenever
    /// `restart_wanted` is set.
    pub(crate) fn start(conn: Connection, restart_wanted: Arc<AtomicBool>) -> Result<Self> {
        let (tx, rx) = mpsc::channel::<Job>();
        let thread = std::thread::Builder::new()
            .name("keel-sqlite-writer".into())
            .spawn(move || run(conn, rx, restart_wanted))
            .map_err(|e| Error::internal(format!("cannot start the SQLite writer thread: {e}")))?;
        Ok(Self {
            jobs: Some(tx),
            thread: Some(thread),
        })
    }

    /// Runs `f` in the next group commit and returns its result once that commit is durable.
    pub(crate) async fn write<T, F>(&self, f: F) -> Result<T>
    where
        T: Send + 'static,
        F: FnOnce(&Connection) -> Result<T> + Send + 'static,
    {
        let (tx, rx) = tokio::sync::oneshot::channel::<Result<T>>();
        // The request's audit entry commits with its write (taken here, on the request's task).
        let claim = keel_core::audit::scope::claim();
        let job: Job = Box::new(move |conn| {
            let (out, outcome) = match conn {
                Some(conn) => run_job(conn, f, claim.as_ref()),
                None => (
                    Err(Error::unavailable("the write transaction could not start")),
                    Outcome::Clean,
                ),
            };
            let completion: Completion = Box::new(move |commit_error| {
                if let (None, Ok(_), Some(claim)) = (&commit_error, &out, &claim) {
                    claim.committed();
                }
                let _ = tx.send(match commit_error {
                    None => out,
                    Some(e) => Err(e),
                });
            });
            (completion, outcome)
        });
        let jobs = self
            .jobs
            .as_ref()
            .ok_or_else(|| Error::unavailable("the store is closing"))?;
        // Counted before it is sent, so the writer's decrement can never come first.
        let queue = &keel_metrics::global().sqlite_writer_queue;
        queue.inc();
        jobs.send(job).map_err(|_| {
            queue.dec();
            Error::unavailable("the store writer has stopped")
        })?;
        rx.await
            .map_err(|_| Error::internal("the store writer dropped a request"))?
    }
}

impl Drop for Writer {
    fn drop(&mut self) {
        drop(self.jobs.take());
        super::join_thread(self.thread.take(), "writer");
    }
}

/// Runs `f` and, when it succeeds, inserts the request's audit entry; notes whether it failed
/// after changing rows.
fn run_job<T>(
    conn: &Connection,
    f: impl FnOnce(&Connection) -> Result<T>,
    claim: Option<&keel_core::audit::scope::Claim>,
) -> (Result<T>, Outcome) {
    let before = conn.total_changes();
    let out = f(conn).and_then(|value| match claim {
        Some(claim) => super::audit::insert_entry(conn, claim.row()).map(|()| value),
        None => Ok(value),
    });
    let outcome = if out.is_err() && conn.total_changes() != before {
        Outcome::Partial
    } else {
        Outcome::Clean
    };
    (out, outcome)
}

fn run(conn: Connection, jobs: mpsc::Receiver<Job>, restart_wanted: Arc<AtomicBool>) {
    while let Ok(first) = jobs.recv() {
        if restart_wanted.swap(false, Ordering::Relaxed) {
            // Waits (busy timeout) for readers of old frames, then starts the WAL over.
            if let Err(e) = conn.query_row("PRAGMA wal_checkpoint(RESTART)", [], |_| Ok(())) {
                tracing::warn!(error = %e, "WAL restart checkpoint failed");
            }
        }
        commit_group(&conn, first, &jobs);
    }
}

/// Runs `first` and the jobs queued behind it (including those that arrive while the group
/// runs) in one `BEGIN IMMEDIATE` transaction, then commits and completes each of them.
fn commit_group(conn: &Connection, first: Job, jobs: &mpsc::Receiver<Job>) {
    if let Err(e) = conn.execute_batch("BEGIN IMMEDIATE") {
        return fail_all(std::iter::once(first), db_err(e));
    }
    let mut completions: Vec<Completion> = Vec::new();
    let mut next = Some(first);
    let mut ran = 0;
    let metrics = keel_metrics::global();
    while let Some(job) = next.take() {
        metrics.sqlite_writer_queue.dec();
        let (completion, outcome) = job(Some(conn));
        completions.push(completion);
        ran += 1;
        if outcome == Outcome::Partial || conn.is_autocommit() {
            // Undo everything in this group (SQLite may already have): nothing partial commits.
            if !conn.is_autocommit() {
                let _ = conn.execute_batch("ROLLBACK");
            }
            super::audit::after_group(false);
            let err = Error::unavailable("a write in the same transaction failed; retry");
            for completion in completions.drain(..) {
                completion(Some(err.clone()));
            }
            return;
        }
        if ran < MAX_JOBS_PER_COMMIT {
            next = jobs.try_recv().ok();
        }
    }
    // The audit tree's new head is written last, in the same transaction as its entries.
    let commit_error = super::audit::before_commit(conn)
        .and_then(|()| conn.execute_batch("COMMIT").map_err(db_err))
        .err();
    if commit_error.is_some() {
        let _ = conn.execute_batch("ROLLBACK");
    }
    super::audit::after_group(commit_error.is_none());
    metrics.sqlite_commit_jobs.observe(ran as f64);
    for completion in completions {
        completion(commit_error.clone());
    }
}

/// Completes every job without running it.
fn fail_all(jobs: impl Iterator<Item = Job>, err: Error) {
    for job in jobs {
        keel_metrics::global().sqlite_writer_queue.dec();
        let (completion, _) = job(None);
        completion(Some(err.clone()));
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use keel_core::ErrorCode;

    use super::*;

    fn writer() -> (Writer, tempfile::TempDir) {
        let dir = tempfile::tempdir().expect("tempdir");
        let conn = Connection::open(dir.path().join("w.db")).expect("open");
        conn.execute_batch("PRAGMA journal_mode = WAL; CREATE TABLE t (v INTEGER PRIMARY KEY);")
            .expect("schema");
        let writer = Writer::start(conn, Arc::new(AtomicBool::new(false))).expect("start");
        (writer, dir)
    }

    fn rows(dir: &tempfile::TempDir) -> Vec<i64> {
        let conn = Connection::open(dir.path().join("w.db")).expect("open");
        let mut stmt = conn.prepare("SELECT v FROM t ORDER BY v").expect("prepare");
        let out = stmt.query_map([], |r| r.get(0)).expect("query");
        out.collect::<rusqlite::Result<Vec<i64>>>().expect("rows")
    }

    fn insert(conn: &Connection, v: i64) -> Result<()> {
        conn.execute("INSERT INTO t (v) VALUES (?1)", [v])
            .map(|_| ())
            .map_err(db_err)
    }

    /// The first job holds its group open long enough for the next two to join it.
    async fn three_in_one_group<A, B>(writer: &Writer, second: A, third: B) -> [Result<()>; 3]
    where
        A: FnOnce(&Connection) -> Result<()> + Send + 'static,
        B: FnOnce(&Connection) -> Result<()> + Send + 'static,
    {
        let first = writer.write(|c| {
            insert(c, 1)?;
            std::thread::sleep(Duration::from_millis(300));
            Ok(())
        });
        let later = async {
            tokio::time::sleep(Duration::from_millis(50)).await;
            tokio::join!(writer.write(second), writer.write(third))
        };
        let (a, (b, c)) = tokio::join!(first, later);
        [a, b, c]
    }

    #[tokio::test]
    async fn a_rejected_job_leaves_its_group_committing() {
        let (writer, dir) = writer();
        let [a, b, c] = three_in_one_group(
            &writer,
            |_| Err(Error::invalid("rejected before writing")),
            |c| insert(c, 3),
        )
        .await;
        assert!(a.is_ok() && c.is_ok());
        assert_eq!(b.map_err(|e| e.code), Err(ErrorCode::InvalidParameterValue));
        assert_eq!(rows(&dir), vec![1, 3]);
    }

    #[tokio::test]
    async fn a_job_failing_after_writing_rolls_back_its_whole_group() {
        let (writer, dir) = writer();
        let [a, b, c] = three_in_one_group(
            &writer,
            |c| {
                insert(c, 2)?;
                Err(Error::internal("failed half-way"))
            },
            |c| insert(c, 3),
        )
        .await;
        // Jobs 1 and 2 shared a transaction that had to be undone; both are told to retry.
        assert_eq!(
            a.map_err(|e| e.code),
            Err(ErrorCode::TemporarilyUnavailable)
        );
        assert_eq!(
            b.map_err(|e| e.code),
            Err(ErrorCode::TemporarilyUnavailable)
        );
        // Whatever group job 3 ran in, it committed on its own, and nothing of 1 or 2 remains.
        assert!(c.is_ok());
        assert_eq!(rows(&dir), vec![3]);
    }

    #[tokio::test]
    async fn acknowledged_writes_are_committed() {
        let (writer, dir) = writer();
        for v in 0..50 {
            assert!(writer.write(move |c| insert(c, v)).await.is_ok());
        }
        drop(writer);
        assert_eq!(rows(&dir), (0..50).collect::<Vec<i64>>());
    }
}
