//! The SQLite metadata store (tracking, model registry and webhooks): one writer connection, a small pool
//! of readers, WAL mode.
//!
//! SQLite allows one writer at a time, so writes go to a dedicated writer thread that commits
//! whatever is queued as one transaction, each request in its own savepoint ([`writer`]).
//! Readers use their own connections and see the last committed state (WAL). With
//! `synchronous = NORMAL` a committed transaction is in the WAL file before the caller hears
//! back, so it survives a crash of the process. WAL checkpoints run on a background thread
//! ([`checkpoint`]) so they never stall the writer.

mod audit;
mod checkpoint;
mod convert;
mod experiments;
mod gateway;
mod gateway_bindings;
mod gateway_endpoints;
mod gateway_guardrails;
mod gateway_limits;
mod gateway_usage;
mod identity;
mod identity_store;
mod load;
mod logged_models;
mod migrate;
mod registry;
mod registry_store;
mod runs;
mod search;
mod trace_edits;
mod trace_search;
mod trace_spans;
mod trace_store;
mod traces;
mod tracking_store;
mod webhook_store;
mod webhooks;
mod workspaces;
mod writer;

use std::path::Path;
use std::sync::{Arc, Mutex};

use keel_core::{Error, Result};
use regex_automata::meta::Regex;
use rusqlite::functions::FunctionFlags;
use rusqlite::{Connection, OpenFlags};
use tokio::sync::Semaphore;

/// Most reader connections kept open at once.
const MAX_READERS: usize = 8;
/// How long a connection waits for a lock held by another process before giving up.
const BUSY_TIMEOUT_MS: u64 = 10_000;

/// A tracking store in one SQLite database file.
#[derive(Debug, Clone)]
pub struct SqliteStore {
    inner: Arc<Inner>,
}

/// The writer connection, creating the database's folder first if needed.
fn open_writer(path: &Path) -> Result<Connection> {
    if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
        std::fs::create_dir_all(parent)
            .map_err(|e| Error::internal(format!("cannot create {}: {e}", parent.display())))?;
    }
    open_connection(path)
}

#[derive(Debug)]
struct Inner {
    path: std::path::PathBuf,
    // Declared (and so dropped) before the checkpointer: queued writes finish first.
    writer: writer::Writer,
    _checkpointer: checkpoint::Checkpointer,
    readers: Mutex<Vec<Connection>>,
    reader_permits: Semaphore,
}

impl Inner {
    /// The reader connections' figures, for `/metrics`.
    fn pool_stats(&self) -> keel_metrics::PoolStats {
        let in_use = MAX_READERS.saturating_sub(self.reader_permits.available_permits());
        let idle = self.readers.lock().map_or(0, |r| r.len());
        keel_metrics::PoolStats {
            backend: "sqlite",
            in_use: in_use as u64,
            idle: idle as u64,
            max: MAX_READERS as u64,
        }
    }
}

impl SqliteStore {
    /// Opens the database at `path`, creating it and its parent folder if needed, and applies
    /// pending migrations.
    pub async fn open(path: &Path) -> Result<Self> {
        let path = path.to_path_buf();
        tokio::task::spawn_blocking(move || Self::open_blocking(&path))
            .await
            .map_err(|e| Error::internal(format!("store task failed: {e}")))?
    }

    /// Applies pending migrations without starting a store; returns the `(version, name)` of
    /// those applied.
    pub async fn upgrade(path: &Path) -> Result<Vec<(i64, &'static str)>> {
        Self::upgrade_to(path, i64::MAX).await
    }

    /// Applies the pending migrations up to and including `version` only: how tests build a
    /// database as an older Keel left it.
    #[doc(hidden)]
    pub async fn upgrade_to(path: &Path, version: i64) -> Result<Vec<(i64, &'static str)>> {
        let path = path.to_path_buf();
        tokio::task::spawn_blocking(move || migrate::apply_to(&mut open_writer(&path)?, version))
            .await
            .map_err(|e| Error::internal(format!("store task failed: {e}")))?
    }

    fn open_blocking(path: &Path) -> Result<Self> {
        let mut writer = open_writer(path)?;
        migrate::apply(&mut writer)?;
        // Checkpoints are the checkpointer's job, off the write path.
        writer
            .execute_batch("PRAGMA wal_autocheckpoint = 0")
            .map_err(db_err)?;
        let restart_wal = Arc::new(std::sync::atomic::AtomicBool::new(false));
        let checkpointer =
            checkpoint::Checkpointer::start(open_connection(path)?, restart_wal.clone())?;
        let inner = Arc::new(Inner {
            path: path.to_path_buf(),
            writer: writer::Writer::start(writer, restart_wal)?,
            _checkpointer: checkpointer,
            readers: Mutex::new(Vec::new()),
            reader_permits: Semaphore::new(MAX_READERS),
        });
        keel_metrics::global().watch_pool(&inner, Inner::pool_stats);
        Ok(Self { inner })
    }

    /// Runs `f` as one all-or-nothing write; returns after the commit that contains it.
    async fn write<T, F>(&self, f: F) -> Result<T>
    where
        T: Send + 'static,
        F: FnOnce(&Connection) -> Result<T> + Send + 'static,
    {
        self.inner.writer.write(f).await
    }

    /// Runs `f` on a reader connection.
    async fn read<T, F>(&self, f: F) -> Result<T>
    where
        T: Send + 'static,
        F: FnOnce(&Connection) -> Result<T> + Send + 'static,
    {
        let _permit = self
            .inner
            .reader_permits
            .acquire()
            .await
            .map_err(|_| Error::internal("reader pool closed"))?;
        let inner = self.inner.clone();
        tokio::task::spawn_blocking(move || {
            let pooled = inner
                .readers
                .lock()
                .map_err(|_| Error::internal("reader pool poisoned"))?
                .pop();
            let conn = match pooled {
                Some(conn) => conn,
                None => open_connection(&inner.path)?,
            };
            // A read runs in one transaction so multi-statement loads see one snapshot.
            conn.execute_batch("BEGIN").map_err(db_err)?;
            let out = f(&conn);
            let _ = conn.execute_batch("COMMIT");
            if let Ok(mut readers) = inner.readers.lock() {
                readers.push(conn);
            }
            out
        })
        .await
        .map_err(|e| Error::internal(format!("store task failed: {e}")))?
    }
}

fn open_connection(path: &Path) -> Result<Connection> {
    let flags = OpenFlags::SQLITE_OPEN_READ_WRITE
        | OpenFlags::SQLITE_OPEN_CREATE
        | OpenFlags::SQLITE_OPEN_NO_MUTEX
        | OpenFlags::SQLITE_OPEN_URI;
    let conn = Connection::open_with_flags(path, flags).map_err(|e| {
        Error::internal(format!(
            "cannot open SQLite database {}: {e}",
            path.display()
        ))
    })?;
    conn.busy_timeout(std::time::Duration::from_millis(BUSY_TIMEOUT_MS))
        .map_err(db_err)?;
    // page_size only takes effect when the file is created. 2 KiB pages suit the write pattern:
    // a batch dirties one leaf per metric key, and every dirty page is written to the WAL
    // (measured: ~20% more log-batch throughput than 4 KiB).
    conn.execute_batch(
        "PRAGMA page_size = 2048;
         PRAGMA journal_mode = WAL;
         PRAGMA synchronous = NORMAL;
         PRAGMA foreign_keys = ON;
         PRAGMA temp_store = MEMORY;
         PRAGMA cache_size = -16000;
         PRAGMA journal_size_limit = 67108864;",
    )
    .map_err(db_err)?;
    conn.set_prepared_statement_cache_capacity(64);
    rusqlite::vtab::array::load_module(&conn).map_err(db_err)?;
    register_regexp(&conn)?;
    Ok(conn)
}

/// `regexp(pattern, text)`: whether the regular expression finds a match anywhere in `text`, as
/// the reference's SQLite function (Python's `re.search`) does; an invalid pattern or a NULL
/// matches nothing. The compiled pattern is cached per statement.
fn register_regexp(conn: &Connection) -> Result<()> {
    conn.create_scalar_function(
        "regexp",
        2,
        FunctionFlags::SQLITE_UTF8 | FunctionFlags::SQLITE_DETERMINISTIC,
        |ctx| {
            let regex = ctx.get_or_create_aux(0, |v| -> rusqlite::Result<Option<Regex>> {
                Ok(v.as_str().ok().and_then(|p| Regex::new(p).ok()))
            })?;
            let text: Option<String> = ctx.get(1)?;
            Ok(match (regex.as_ref(), text) {
                (Some(r), Some(t)) => r.is_match(&t),
                _ => false,
            })
        },
    )
    .map_err(db_err)
}

/// Waits for one of the store's threads to finish (its channel already closed).
fn join_thread(thread: Option<std::thread::JoinHandle<()>>, name: &str) {
    if let Some(thread) = thread {
        if thread.join().is_err() {
            tracing::error!(thread = name, "a SQLite store thread panicked");
        }
    }
}

/// Maps an unexpected SQLite failure to a domain error; lock timeouts are retryable.
pub(crate) fn db_err(e: rusqlite::Error) -> Error {
    if let rusqlite::Error::SqliteFailure(f, _) = &e {
        if matches!(
            f.code,
            rusqlite::ErrorCode::DatabaseBusy | rusqlite::ErrorCode::DatabaseLocked
        ) {
            return Error::unavailable(format!("database is busy, retry later: {e}"));
        }
    }
    // Limits of SQL compilation are reached only by absurd searches: that is bad input.
    let text = e.to_string();
    let limits = [
        "too many SQL variables",
        "Expression tree is too large",
        "pattern too complex",
        "tables in a join",
        "too many FROM clause terms",
        "too many terms in",
    ];
    if limits.iter().any(|l| text.contains(l)) {
        return Error::invalid(
            "The search is too large to evaluate; narrow the filter or order_by.",
        );
    }
    tracing::error!(error = %e, "sqlite error");
    Error::internal(format!("database error: {e}"))
}

/// True when `e` is a UNIQUE or PRIMARY KEY violation.
pub(crate) fn is_unique_violation(e: &rusqlite::Error) -> bool {
    matches!(e, rusqlite::Error::SqliteFailure(f, _)
        if f.code == rusqlite::ErrorCode::ConstraintViolation
            && matches!(f.extended_code, rusqlite::ffi::SQLITE_CONSTRAINT_UNIQUE | rusqlite::ffi::SQLITE_CONSTRAINT_PRIMARYKEY))
}

pub(crate) fn is_foreign_key_violation(e: &rusqlite::Error) -> bool {
    matches!(e, rusqlite::Error::SqliteFailure(f, _)
        if f.extended_code == rusqlite::ffi::SQLITE_CONSTRAINT_FOREIGNKEY)
}
