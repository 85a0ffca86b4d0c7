//! Schema migrations embedded in the binary and applied in order at start.

use keel_core::{Error, Result};
use rusqlite::{Connection, OptionalExtension};

use super::db_err;

/// Every migration, in order. Applied ones are recorded in `keel_schema_migrations`.
const MIGRATIONS: &[(i64, &str, &str)] = &[
    (
        1,
        "tracking",
        include_str!("../../migrations/sqlite/0001_tracking.sql"),
    ),
    (
        2,
        "logged_models",
        include_str!("../../migrations/sqlite/0002_logged_models.sql"),
    ),
    (
        3,
        "registry",
        include_str!("../../migrations/sqlite/0003_registry.sql"),
    ),
    (
        4,
        "webhooks",
        include_str!("../../migrations/sqlite/0004_webhooks.sql"),
    ),
    (
        5,
        "traces",
        include_str!("../../migrations/sqlite/0005_traces.sql"),
    ),
    (
        6,
        "trace_links_and_assessments",
        include_str!("../../migrations/sqlite/0006_trace_links_and_assessments.sql"),
    ),
    (
        7,
        "identity",
        include_str!("../../migrations/sqlite/0007_identity.sql"),
    ),
    (
        8,
        "workspaces",
        include_str!("../../migrations/sqlite/0008_workspaces.sql"),
    ),
    (
        9,
        "registry_workspaces",
        include_str!("../../migrations/sqlite/0009_registry_workspaces.sql"),
    ),
    (
        10,
        "audit",
        include_str!("../../migrations/sqlite/0010_audit.sql"),
    ),
    (
        11,
        "audit_retention",
        include_str!("../../migrations/sqlite/0011_audit_retention.sql"),
    ),
    (
        12,
        "audit_sequenced_at_commit",
        include_str!("../../migrations/sqlite/0012_audit_sequenced_at_commit.sql"),
    ),
    (
        13,
        "audit_postings_in_batches",
        include_str!("../../migrations/sqlite/0013_audit_postings_in_batches.sql"),
    ),
    (
        14,
        "pending_trace_run_links",
        include_str!("../../migrations/sqlite/0014_pending_trace_run_links.sql"),
    ),
    (
        15,
        "gateway_secrets",
        include_str!("../../migrations/sqlite/0015_gateway_secrets.sql"),
    ),
    (
        16,
        "gateway_model_definitions",
        include_str!("../../migrations/sqlite/0016_gateway_model_definitions.sql"),
    ),
    (
        17,
        "gateway_endpoints",
        include_str!("../../migrations/sqlite/0017_gateway_endpoints.sql"),
    ),
    (
        18,
        "gateway_bindings",
        include_str!("../../migrations/sqlite/0018_gateway_bindings.sql"),
    ),
    (
        19,
        "gateway_limits",
        include_str!("../../migrations/sqlite/0019_gateway_limits.sql"),
    ),
    (
        20,
        "gateway_usage",
        include_str!("../../migrations/sqlite/0020_gateway_usage.sql"),
    ),
    (
        21,
        "gateway_guardrails",
        include_str!("../../migrations/sqlite/0021_gateway_guardrails.sql"),
    ),
];

/// Applies the migrations this database has not seen yet, each in its own transaction; returns
/// the `(version, name)` of those this call applied.
///
/// Foreign keys are off while they run (SQLite's way to rebuild a table that others reference:
/// dropping the old table must not cascade to its children) and every migration's result is
/// checked with `PRAGMA foreign_key_check` before it commits.
pub(crate) fn apply(conn: &mut Connection) -> Result<Vec<(i64, &'static str)>> {
    apply_to(conn, i64::MAX)
}

/// [`apply`], of the migrations up to and including `last` only.
pub(crate) fn apply_to(conn: &mut Connection, last: i64) -> Result<Vec<(i64, &'static str)>> {
    conn.execute_batch("PRAGMA foreign_keys = OFF")
        .map_err(db_err)?;
    let applied = apply_each(conn, last);
    conn.execute_batch("PRAGMA foreign_keys = ON")
        .map_err(db_err)?;
    applied
}

fn apply_each(conn: &mut Connection, last: i64) -> Result<Vec<(i64, &'static str)>> {
    conn.execute_batch(
        "CREATE TABLE IF NOT EXISTS keel_schema_migrations (
             version    INTEGER PRIMARY KEY,
             name       TEXT    NOT NULL,
             applied_at INTEGER NOT NULL
         )",
    )
    .map_err(db_err)?;
    let applied: i64 = conn
        .query_row(
            "SELECT COALESCE(MAX(version), 0) FROM keel_schema_migrations",
            [],
            |r| r.get(0),
        )
        .map_err(db_err)?;
    if let Some(latest) = MIGRATIONS.last() {
        if applied > latest.0 {
            return Err(Error::internal(format!(
                "database schema version {applied} is newer than this keel ({}); upgrade keel",
                latest.0
            )));
        }
    }
    let mut newly_applied = Vec::new();
    for (version, name, sql) in MIGRATIONS
        .iter()
        .filter(|(v, _, _)| *v > applied && *v <= last)
    {
        // Re-check inside the write lock: another process may have applied it meanwhile.
        let tx = conn
            .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)
            .map_err(db_err)?;
        let done: bool = tx
            .query_row(
                "SELECT EXISTS (SELECT 1 FROM keel_schema_migrations WHERE version = ?1)",
                [version],
                |r| r.get(0),
            )
            .map_err(db_err)?;
        if done {
            continue;
        }
        tx.execute_batch(sql).map_err(db_err)?;
        let broken: Option<String> = tx
            .query_row("PRAGMA foreign_key_check", [], |r| r.get(0))
            .optional()
            .map_err(db_err)?;
        if let Some(table) = broken {
            return Err(Error::internal(format!(
                "schema migration {version} ({name}) left rows of '{table}' without their parent"
            )));
        }
        tx.execute(
            "INSERT INTO keel_schema_migrations (version, name, applied_at) \
             VALUES (?1, ?2, CAST(strftime('%s', 'now') AS INTEGER) * 1000)",
            rusqlite::params![version, name],
        )
        .map_err(db_err)?;
        tx.commit().map_err(db_err)?;
        tracing::info!(version, name, "applied schema migration");
        newly_applied.push((*version, *name));
    }
    Ok(newly_applied)
}
