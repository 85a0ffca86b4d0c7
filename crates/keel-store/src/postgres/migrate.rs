//! Schema migrations embedded in the binary, applied in order under a PostgreSQL advisory lock.
//!
//! Several Keel processes may start against one database at once. Each takes the session-level
//! advisory lock [`MIGRATION_LOCK`] on a connection of its own before reading the ledger
//! (`keel_schema_migrations`), so one applies the pending migrations while the others wait and
//! then find nothing left to do. Each migration runs in its own transaction together with its
//! ledger row (PostgreSQL DDL is transactional), so a failure leaves the schema at the previous
//! version. A database whose schema is newer than this binary is refused.

use sqlx::{Connection, Executor, PgConnection};

use keel_core::{Error, Result};

use super::PostgresConfig;
use super::error::{Failure, PgResult};

/// The advisory lock key held while migrating: the bytes of "keelmigr". Fixed forever, so that
/// every Keel version serializes on the same lock.
const MIGRATION_LOCK: i64 = 0x6b65_656c_6d69_6772;

/// One embedded migration.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Migration {
    pub version: i64,
    pub name: &'static str,
    sql: &'static str,
}

/// Every migration, in order.
const MIGRATIONS: &[Migration] = &[
    Migration {
        version: 1,
        name: "tracking",
        sql: include_str!("../../migrations/postgres/0001_tracking.sql"),
    },
    Migration {
        version: 2,
        name: "logged_models",
        sql: include_str!("../../migrations/postgres/0002_logged_models.sql"),
    },
    Migration {
        version: 3,
        name: "search_indexes",
        sql: include_str!("../../migrations/postgres/0003_search_indexes.sql"),
    },
    Migration {
        version: 4,
        name: "registry",
        sql: include_str!("../../migrations/postgres/0004_registry.sql"),
    },
    Migration {
        version: 5,
        name: "metrics_without_foreign_key",
        sql: include_str!("../../migrations/postgres/0005_metrics_without_foreign_key.sql"),
    },
    Migration {
        version: 6,
        name: "webhooks",
        sql: include_str!("../../migrations/postgres/0006_webhooks.sql"),
    },
    Migration {
        version: 7,
        name: "traces",
        sql: include_str!("../../migrations/postgres/0007_traces.sql"),
    },
    Migration {
        version: 8,
        name: "trace_links_and_assessments",
        sql: include_str!("../../migrations/postgres/0008_trace_links_and_assessments.sql"),
    },
    Migration {
        version: 9,
        name: "identity",
        sql: include_str!("../../migrations/postgres/0009_identity.sql"),
    },
    Migration {
        version: 10,
        name: "workspaces",
        sql: include_str!("../../migrations/postgres/0010_workspaces.sql"),
    },
    Migration {
        version: 11,
        name: "registry_workspaces",
        sql: include_str!("../../migrations/postgres/0011_registry_workspaces.sql"),
    },
    Migration {
        version: 12,
        name: "audit",
        sql: include_str!("../../migrations/postgres/0012_audit.sql"),
    },
    Migration {
        version: 13,
        name: "audit_retention",
        sql: include_str!("../../migrations/postgres/0013_audit_retention.sql"),
    },
    Migration {
        version: 14,
        name: "pending_trace_run_links",
        sql: include_str!("../../migrations/postgres/0014_pending_trace_run_links.sql"),
    },
    Migration {
        version: 15,
        name: "gateway_secrets",
        sql: include_str!("../../migrations/postgres/0015_gateway_secrets.sql"),
    },
    Migration {
        version: 16,
        name: "gateway_model_definitions",
        sql: include_str!("../../migrations/postgres/0016_gateway_model_definitions.sql"),
    },
    Migration {
        version: 17,
        name: "gateway_endpoints",
        sql: include_str!("../../migrations/postgres/0017_gateway_endpoints.sql"),
    },
    Migration {
        version: 18,
        name: "gateway_bindings",
        sql: include_str!("../../migrations/postgres/0018_gateway_bindings.sql"),
    },
    Migration {
        version: 19,
        name: "gateway_limits",
        sql: include_str!("../../migrations/postgres/0019_gateway_limits.sql"),
    },
    Migration {
        version: 20,
        name: "gateway_usage",
        sql: include_str!("../../migrations/postgres/0020_gateway_usage.sql"),
    },
    Migration {
        version: 21,
        name: "gateway_guardrails",
        sql: include_str!("../../migrations/postgres/0021_gateway_guardrails.sql"),
    },
];

/// Applies the pending migrations of the database at `config` and returns those it applied
/// (empty when the schema was already current). This is what opening a store does first; it is
/// public for an explicit `keel db upgrade`.
pub async fn upgrade(config: &PostgresConfig) -> Result<Vec<Migration>> {
    upgrade_to(config, i64::MAX).await
}

/// Applies the migrations at open.
pub(crate) async fn apply(config: &PostgresConfig) -> Result<()> {
    for m in upgrade(config).await? {
        tracing::info!(
            version = m.version,
            name = m.name,
            "applied schema migration"
        );
    }
    Ok(())
}

/// Takes the advisory lock, migrates and releases it.
async fn migrate(conn: &mut PgConnection, migrations: &[Migration]) -> PgResult<Vec<Migration>> {
    // Migrations may rewrite large tables: no statement timeout here.
    sqlx::query("SET statement_timeout = 0")
        .execute(&mut *conn)
        .await?;
    sqlx::query("SELECT pg_advisory_lock($1)")
        .bind(MIGRATION_LOCK)
        .execute(&mut *conn)
        .await?;
    let out = migrate_locked(conn, migrations).await;
    let unlocked = sqlx::query("SELECT pg_advisory_unlock($1)")
        .bind(MIGRATION_LOCK)
        .execute(&mut *conn)
        .await;
    let applied = out?;
    unlocked?;
    Ok(applied)
}

async fn migrate_locked(
    conn: &mut PgConnection,
    migrations: &[Migration],
) -> PgResult<Vec<Migration>> {
    sqlx::query(
        "CREATE TABLE IF NOT EXISTS keel_schema_migrations (
             version    BIGINT PRIMARY KEY,
             name       TEXT   NOT NULL,
             applied_at BIGINT NOT NULL
         )",
    )
    .execute(&mut *conn)
    .await?;
    let current: i64 =
        sqlx::query_scalar("SELECT COALESCE(MAX(version), 0) FROM keel_schema_migrations")
            .fetch_one(&mut *conn)
            .await?;
    if let Some(latest) = migrations.last() {
        if current > latest.version {
            return Err(Failure::Domain(Error::internal(format!(
                "database schema version {current} is newer than this keel ({}); upgrade keel",
                latest.version
            ))));
        }
    }
    let mut applied = Vec::new();
    for m in migrations.iter().filter(|m| m.version > current) {
        let mut tx = conn.begin().await?;
        // A plain string runs over the simple protocol, which takes several statements.
        // (Not `sqlx::raw_sql`: its future is not provably `Send`, and callers spawn `open`.)
        (&mut *tx).execute(m.sql).await?;
        sqlx::query(
            "INSERT INTO keel_schema_migrations (version, name, applied_at) \
             VALUES ($1, $2, (extract(epoch FROM clock_timestamp()) * 1000)::BIGINT)",
        )
        .bind(m.version)
        .bind(m.name)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        applied.push(*m);
    }
    Ok(applied)
}

/// Applies the pending migrations up to and including `version` only: how tests build a
/// database as an older Keel left it.
#[doc(hidden)]
pub async fn upgrade_to(config: &PostgresConfig, version: i64) -> Result<Vec<Migration>> {
    let end = MIGRATIONS
        .iter()
        .position(|m| m.version > version)
        .unwrap_or(MIGRATIONS.len());
    let options = config.connect_options()?;
    // The driver has no connect timeout of its own: bound it like a pool acquire.
    let connect = PgConnection::connect_with(&options);
    let mut conn = match tokio::time::timeout(config.pool.acquire_timeout, connect).await {
        Ok(connected) => connected.map_err(|e| super::connect_error(config, &e))?,
        Err(_) => {
            return Err(Error::unavailable(format!(
                "cannot connect to PostgreSQL at {}: no answer within {:?}",
                config.redacted(),
                config.pool.acquire_timeout
            )));
        }
    };
    let out = migrate(&mut conn, MIGRATIONS.get(..end).unwrap_or(MIGRATIONS)).await;
    // Closing the session releases the advisory lock even if unlocking failed.
    let _ = conn.close().await;
    out.map_err(|e| e.into_error(|m| config.redact(m)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions_are_consecutive_from_one() {
        for (i, m) in MIGRATIONS.iter().enumerate() {
            assert_eq!(m.version, i as i64 + 1, "{}", m.name);
            assert!(!m.sql.trim().is_empty());
        }
    }
}
