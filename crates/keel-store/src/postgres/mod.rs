//! The PostgreSQL metadata store (tracking, model registry and webhooks): a connection pool shared by any
//! number of Keel processes.
//!
//! Every write method runs as one READ COMMITTED transaction and is retried whole (a few times,
//! with jittered backoff) when PostgreSQL reports a serialization failure or deadlock, so
//! concurrent writers from several processes never see those errors. Deadlocks are kept rare in
//! the first place by one lock order: the parent row first (experiment, then run, locked with
//! `FOR SHARE` / `FOR NO KEY UPDATE`), then child rows, each table's rows in key order (every
//! multi-row upsert sorts its rows). Creations race through unique constraints and
//! `INSERT ... ON CONFLICT`, never through read-then-insert. Multi-statement reads run in one
//! REPEATABLE READ, READ ONLY transaction so they see one snapshot.
//!
//! The schema lives in `migrations/postgres/` and is applied at open under an advisory lock
//! ([`upgrade`]).

mod audit;
mod config;
mod convert;
mod error;
mod experiments;
mod gateway;
mod gateway_bindings;
mod gateway_endpoints;
mod gateway_guardrails;
mod gateway_limits;
mod gateway_usage;
mod group_commit;
mod history;
mod identity;
mod identity_store;
mod inputs;
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

use std::future::Future;
use std::hash::BuildHasher;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use keel_core::audit::scope::Claim;
use keel_core::{Error, Result};
use sqlx::PgConnection;
use sqlx::postgres::{PgPool, PgPoolOptions};

pub use config::{PoolOptions, PostgresConfig};
pub use migrate::{Migration, upgrade, upgrade_to};

use error::{Failure, PgResult};

/// How often a transaction is run again after a serialization failure or deadlock.
const MAX_RETRIES: u32 = 6;
/// The first retry waits up to this long; each further retry doubles it.
const BASE_BACKOFF: Duration = Duration::from_millis(4);
/// Connections idle this long are closed (the pool opens new ones on demand).
const IDLE_TIMEOUT: Duration = Duration::from_secs(600);

/// What a store function run on a connection returns.
pub(crate) type PgFuture<'c, T> = Pin<Box<dyn Future<Output = PgResult<T>> + Send + 'c>>;

/// A tracking store in a PostgreSQL database.
#[derive(Debug, Clone)]
pub struct PostgresStore {
    pool: PgPool,
    config: Arc<PostgresConfig>,
    /// Metric-only writes waiting to be committed together (see [`group_commit`]).
    groups: Arc<group_commit::GroupCommit>,
    /// The pool as `/metrics` reads it (the metrics keep only a weak reference to this, so
    /// they drop the pool once the last clone of the store is gone).
    _watched: Arc<WatchedPool>,
}

/// A store's pool, read at each scrape for `keel_db_pool_*`.
#[derive(Debug)]
struct WatchedPool {
    pool: PgPool,
    max: u32,
}

impl WatchedPool {
    fn stats(&self) -> keel_metrics::PoolStats {
        let open = u64::from(self.pool.size());
        let idle = self.pool.num_idle() as u64;
        keel_metrics::PoolStats {
            backend: "postgres",
            in_use: open.saturating_sub(idle),
            idle,
            max: u64::from(self.max),
        }
    }
}

impl PostgresStore {
    /// Connects, applies pending migrations (under an advisory lock, so replicas starting
    /// together apply each once) and opens the connection pool.
    pub async fn open(config: &PostgresConfig) -> Result<Self> {
        migrate::apply(config).await?;
        let options = config.connect_options()?;
        let pool = PgPoolOptions::new()
            .max_connections(config.pool.pool_size)
            .acquire_timeout(config.pool.acquire_timeout)
            .idle_timeout(IDLE_TIMEOUT)
            .connect_with(options)
            .await
            .map_err(|e| connect_error(config, &e))?;
        let watched = Arc::new(WatchedPool {
            pool: pool.clone(),
            max: config.pool.pool_size,
        });
        keel_metrics::global().watch_pool(&watched, WatchedPool::stats);
        Ok(Self {
            pool,
            config: Arc::new(config.clone()),
            groups: Arc::new(group_commit::GroupCommit::new(config.pool.pool_size)),
            _watched: watched,
        })
    }

    /// Closes every connection, waiting for those in use to be returned.
    pub async fn close(&self) {
        self.pool.close().await;
    }

    /// Runs `f` in one transaction, committing when it succeeds; runs it again from the start
    /// after a serialization failure or deadlock. The current request's audit entry, if any,
    /// commits with it.
    async fn write<A, T, F>(&self, args: &A, f: F) -> Result<T>
    where
        A: Sync + ?Sized,
        F: for<'c> Fn(&'c mut PgConnection, &'c A) -> PgFuture<'c, T> + Send + Sync,
    {
        let claim = keel_core::audit::scope::claim();
        self.write_with(args, claim.as_ref(), f).await
    }

    /// [`Self::write`] with the audit entry to commit given explicitly (`None`: none).
    async fn write_with<A, T, F>(&self, args: &A, claim: Option<&Claim>, f: F) -> Result<T>
    where
        A: Sync + ?Sized,
        F: for<'c> Fn(&'c mut PgConnection, &'c A) -> PgFuture<'c, T> + Send + Sync,
    {
        let mut attempt = 0;
        loop {
            let out = self.write_once(args, claim, &f).await;
            match out {
                Err(failure) if failure.is_retryable() && attempt < MAX_RETRIES => {
                    tracing::debug!(attempt, code = ?failure.sqlstate(), "retrying a transaction");
                    tokio::time::sleep(backoff(attempt)).await;
                    attempt += 1;
                }
                other => return other.map_err(|e| self.error(e)),
            }
        }
    }

    async fn write_once<A, T, F>(&self, args: &A, claim: Option<&Claim>, f: &F) -> PgResult<T>
    where
        A: Sync + ?Sized,
        F: for<'c> Fn(&'c mut PgConnection, &'c A) -> PgFuture<'c, T> + Send + Sync,
    {
        let mut tx = self.pool.begin().await?;
        let out = match f(&mut tx, args).await {
            Ok(value) => match claim {
                Some(claim) => audit::insert_entries(&mut tx, &[claim.row()])
                    .await
                    .map(|()| value),
                None => Ok(value),
            },
            Err(failure) => Err(failure),
        };
        match out {
            Ok(value) => {
                tx.commit().await?;
                if let Some(claim) = claim {
                    claim.committed();
                }
                Ok(value)
            }
            Err(failure) => {
                // Dropping the transaction would roll it back too, but later.
                let _ = tx.rollback().await;
                Err(failure)
            }
        }
    }

    /// Runs `f` in a read-only transaction that sees one snapshot.
    async fn read<A, T, F>(&self, args: &A, f: F) -> Result<T>
    where
        A: Sync + ?Sized,
        F: for<'c> Fn(&'c mut PgConnection, &'c A) -> PgFuture<'c, T> + Send + Sync,
    {
        let run = async {
            let mut tx = self
                .pool
                .begin_with("BEGIN ISOLATION LEVEL REPEATABLE READ, READ ONLY")
                .await?;
            let value = f(&mut tx, args).await?;
            tx.commit().await?;
            Ok(value)
        };
        run.await.map_err(|e| self.error(e))
    }

    /// Runs `f`, a single statement, on a pooled connection outside any explicit transaction.
    async fn query<A, T, F>(&self, args: &A, f: F) -> Result<T>
    where
        A: Sync + ?Sized,
        F: for<'c> Fn(&'c mut PgConnection, &'c A) -> PgFuture<'c, T> + Send + Sync,
    {
        let run = async {
            let mut conn = self.pool.acquire().await?;
            f(&mut conn, args).await
        };
        run.await.map_err(|e| self.error(e))
    }

    fn error(&self, failure: Failure) -> Error {
        failure.into_error(|m| self.config.redact(m))
    }
}

/// How long to wait before retry `attempt` (0-based): a random time up to
/// `BASE_BACKOFF * 2^attempt`, so that the transactions that collided do not collide again.
fn backoff(attempt: u32) -> Duration {
    let cap = BASE_BACKOFF.saturating_mul(1 << attempt.min(10));
    let random = std::collections::hash_map::RandomState::new()
        .hash_one((attempt, std::time::SystemTime::now()));
    let cap_us = u64::try_from(cap.as_micros()).unwrap_or(u64::MAX).max(1);
    Duration::from_micros(cap_us / 2 + random % (cap_us / 2 + 1))
}

/// A failure to connect, without the password.
fn connect_error(config: &PostgresConfig, e: &sqlx::Error) -> Error {
    Error::unavailable(format!(
        "cannot connect to PostgreSQL at {}: {}",
        config.redacted(),
        config.redact(&e.to_string())
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_grows_and_stays_within_its_cap() {
        for attempt in 0..MAX_RETRIES {
            let cap = BASE_BACKOFF * (1 << attempt);
            for _ in 0..20 {
                let d = backoff(attempt);
                assert!(d >= cap / 2 && d <= cap, "attempt {attempt}: {d:?}");
            }
        }
    }
}
