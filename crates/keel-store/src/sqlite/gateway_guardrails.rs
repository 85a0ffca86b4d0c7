//! SQL for the AI gateway's guardrails and their endpoint configs on SQLite. The writer is
//! single, so an add's checks (endpoint, guardrail, how many the endpoint runs) and its insert
//! see the same rows; every check comes before the write.

use keel_core::Result;
use keel_gateway::{AddOutcome, Guardrail, GuardrailAttachment, GuardrailConfig};
use rusqlite::{Connection, params};

use super::db_err;
use super::gateway::exists;
use super::gateway_endpoints::ENDPOINT_IN_WORKSPACE;
use crate::gateway_rows::{
    ENDPOINT_GUARDRAILS_FROM, ENDPOINT_GUARDRAILS_ORDER, GUARDRAIL_COLUMNS,
    GUARDRAIL_CONFIG_COLUMNS, GuardrailConfigRow, GuardrailRow,
};

/// A guardrail's row from [`GUARDRAIL_COLUMNS`] starting at column `at`.
fn guardrail_row(r: &rusqlite::Row<'_>, at: usize) -> rusqlite::Result<GuardrailRow> {
    Ok(GuardrailRow {
        guardrail_id: r.get(at)?,
        workspace: r.get(at + 1)?,
        name: r.get(at + 2)?,
        stage: r.get(at + 3)?,
        action: r.get(at + 4)?,
        detector: r.get(at + 5)?,
        created_by: r.get(at + 6)?,
        created_at: r.get(at + 7)?,
        last_updated_by: r.get(at + 8)?,
        last_updated_at: r.get(at + 9)?,
    })
}

fn guardrails(c: &Connection, sql: &str, args: impl rusqlite::Params) -> Result<Vec<Guardrail>> {
    let rows: Vec<GuardrailRow> = c
        .prepare_cached(sql)
        .and_then(|mut stmt| stmt.query_map(args, |r| guardrail_row(r, 0))?.collect())
        .map_err(db_err)?;
    rows.into_iter().map(GuardrailRow::into_guardrail).collect()
}

fn configs(c: &Connection, sql: &str, args: impl rusqlite::Params) -> Result<Vec<GuardrailConfig>> {
    let rows: Vec<(GuardrailConfigRow, GuardrailRow)> = c
        .prepare_cached(sql)
        .and_then(|mut stmt| {
            stmt.query_map(args, |r| {
                Ok((
                    GuardrailConfigRow {
                        endpoint_id: r.get(0)?,
                        execution_order: r.get(1)?,
                        created_by: r.get(2)?,
                        created_at: r.get(3)?,
                    },
                    guardrail_row(r, 4)?,
                ))
            })?
            .collect()
        })
        .map_err(db_err)?;
    rows.into_iter()
        .map(|(config, guardrail)| config.with(guardrail))
        .collect()
}

pub(super) fn insert(c: &Connection, g: &Guardrail) -> Result<()> {
    c.prepare_cached(
        "INSERT INTO gateway_guardrails (guardrail_id, workspace, name, stage, action, \
         detector, created_by, created_at, last_updated_by, last_updated_at) \
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
    )
    .and_then(|mut stmt| {
        stmt.execute(params![
            g.guardrail_id,
            g.workspace,
            g.name,
            g.stage.as_str(),
            g.action.as_str(),
            g.detector.to_json().to_string(),
            g.created_by,
            g.created_at,
            g.last_updated_by,
            g.last_updated_at,
        ])
    })
    .map(|_| ())
    .map_err(db_err)
}

pub(super) fn get(c: &Connection, workspace: &str, id: &str) -> Result<Option<Guardrail>> {
    Ok(guardrails(
        c,
        &format!(
            "SELECT {GUARDRAIL_COLUMNS} FROM gateway_guardrails g \
             WHERE g.guardrail_id = ?1 AND g.workspace = ?2"
        ),
        params![id, workspace],
    )?
    .pop())
}

pub(super) fn list(
    c: &Connection,
    workspace: &str,
    offset: i64,
    limit: i64,
) -> Result<Vec<Guardrail>> {
    guardrails(
        c,
        &format!(
            "SELECT {GUARDRAIL_COLUMNS} FROM gateway_guardrails g WHERE g.workspace = ?1 \
             ORDER BY g.guardrail_id LIMIT ?2 OFFSET ?3"
        ),
        params![workspace, limit, offset],
    )
}

/// Deletes the guardrail; its configs go by cascade.
pub(super) fn delete(c: &Connection, workspace: &str, id: &str) -> Result<bool> {
    c.prepare_cached("DELETE FROM gateway_guardrails WHERE guardrail_id = ?1 AND workspace = ?2")
        .and_then(|mut stmt| stmt.execute(params![id, workspace]))
        .map(|n| n == 1)
        .map_err(db_err)
}

fn config(
    c: &Connection,
    workspace: &str,
    endpoint_id: &str,
    guardrail_id: &str,
) -> Result<Option<GuardrailConfig>> {
    Ok(configs(
        c,
        &format!(
            "SELECT {GUARDRAIL_CONFIG_COLUMNS}, {GUARDRAIL_COLUMNS} FROM {ENDPOINT_GUARDRAILS_FROM} \
             WHERE c.endpoint_id = ?1 AND c.guardrail_id = ?2 AND g.workspace = ?3"
        ),
        params![endpoint_id, guardrail_id, workspace],
    )?
    .pop())
}

pub(super) fn add_to_endpoint(
    c: &Connection,
    workspace: &str,
    a: &GuardrailAttachment,
    max: usize,
) -> Result<AddOutcome> {
    if !exists(c, ENDPOINT_IN_WORKSPACE, params![a.endpoint_id, workspace])? {
        return Ok(AddOutcome::EndpointMissing);
    }
    if !exists(
        c,
        "SELECT 1 FROM gateway_guardrails WHERE guardrail_id = ?1 AND workspace = ?2",
        params![a.guardrail_id, workspace],
    )? {
        return Ok(AddOutcome::GuardrailMissing);
    }
    if exists(
        c,
        "SELECT 1 FROM gateway_guardrail_configs WHERE endpoint_id = ?1 AND guardrail_id = ?2",
        params![a.endpoint_id, a.guardrail_id],
    )? {
        return Ok(AddOutcome::AlreadyAdded);
    }
    let running: i64 = c
        .prepare_cached("SELECT count(*) FROM gateway_guardrail_configs WHERE endpoint_id = ?1")
        .and_then(|mut stmt| stmt.query_row([&a.endpoint_id], |r| r.get(0)))
        .map_err(db_err)?;
    if usize::try_from(running).unwrap_or(usize::MAX) >= max {
        return Ok(AddOutcome::Full(max));
    }
    c.prepare_cached(
        "INSERT INTO gateway_guardrail_configs (endpoint_id, guardrail_id, execution_order, \
         created_by, created_at) VALUES (?1, ?2, ?3, ?4, ?5)",
    )
    .and_then(|mut stmt| {
        stmt.execute(params![
            a.endpoint_id,
            a.guardrail_id,
            a.execution_order,
            a.created_by,
            a.created_at,
        ])
    })
    .map_err(db_err)?;
    config(c, workspace, &a.endpoint_id, &a.guardrail_id)?
        .map(|c| AddOutcome::Added(Box::new(c)))
        .ok_or_else(|| keel_core::Error::internal("an added guardrail config vanished"))
}

pub(super) fn set_order(
    c: &Connection,
    workspace: &str,
    endpoint_id: &str,
    guardrail_id: &str,
    order: Option<i32>,
) -> Result<Option<GuardrailConfig>> {
    let updated = c
        .prepare_cached(
            "UPDATE gateway_guardrail_configs SET execution_order = ?3 \
             WHERE endpoint_id = ?1 AND guardrail_id = ?2 AND guardrail_id IN \
             (SELECT guardrail_id FROM gateway_guardrails WHERE workspace = ?4)",
        )
        .and_then(|mut stmt| stmt.execute(params![endpoint_id, guardrail_id, order, workspace]))
        .map_err(db_err)?;
    if updated == 0 {
        return Ok(None);
    }
    config(c, workspace, endpoint_id, guardrail_id)
}

pub(super) fn remove_from_endpoint(
    c: &Connection,
    workspace: &str,
    endpoint_id: &str,
    guardrail_id: &str,
) -> Result<bool> {
    c.prepare_cached(
        "DELETE FROM gateway_guardrail_configs WHERE endpoint_id = ?1 AND guardrail_id = ?2 \
         AND guardrail_id IN (SELECT guardrail_id FROM gateway_guardrails WHERE workspace = ?3)",
    )
    .and_then(|mut stmt| stmt.execute(params![endpoint_id, guardrail_id, workspace]))
    .map(|n| n == 1)
    .map_err(db_err)
}

pub(super) fn of_endpoint(
    c: &Connection,
    workspace: &str,
    endpoint_id: &str,
) -> Result<Vec<GuardrailConfig>> {
    configs(
        c,
        &format!(
            "SELECT {GUARDRAIL_CONFIG_COLUMNS}, {GUARDRAIL_COLUMNS} FROM {ENDPOINT_GUARDRAILS_FROM} \
             WHERE c.endpoint_id = ?1 AND g.workspace = ?2 {ENDPOINT_GUARDRAILS_ORDER}"
        ),
        params![endpoint_id, workspace],
    )
}
