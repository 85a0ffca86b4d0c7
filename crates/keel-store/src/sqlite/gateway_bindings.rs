//! SQL for the AI gateway's endpoint bindings on SQLite: a binding belongs to the workspace of
//! its endpoint, which every statement joins or checks.

use keel_core::Result;
use keel_gateway::{BindingFilter, BindingWrite, EndpointBinding};
use rusqlite::{Connection, params};

use super::db_err;
use super::gateway::exists;
use super::gateway_endpoints::ENDPOINT_IN_WORKSPACE;

const COLUMNS: &str = "b.endpoint_id, b.resource_type, b.resource_id, b.display_name, \
                       b.created_at, b.last_updated_at, b.created_by, b.last_updated_by";

pub(super) fn insert_binding(
    c: &Connection,
    workspace: &str,
    b: &EndpointBinding,
) -> Result<BindingWrite> {
    if !exists(c, ENDPOINT_IN_WORKSPACE, params![b.endpoint_id, workspace])? {
        return Ok(BindingWrite::EndpointNotFound);
    }
    let inserted = c
        .prepare_cached(
            "INSERT INTO gateway_endpoint_bindings (endpoint_id, resource_type, resource_id, \
             display_name, created_at, last_updated_at, created_by, last_updated_by) \
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8) ON CONFLICT DO NOTHING",
        )
        .and_then(|mut stmt| {
            stmt.execute(params![
                b.endpoint_id,
                b.resource_type,
                b.resource_id,
                b.display_name,
                b.created_at,
                b.last_updated_at,
                b.created_by,
                b.last_updated_by,
            ])
        })
        .map_err(db_err)?;
    Ok(if inserted == 0 {
        BindingWrite::AlreadyBound
    } else {
        BindingWrite::Done
    })
}

pub(super) fn delete_binding(c: &Connection, workspace: &str, key: &[String; 3]) -> Result<bool> {
    c.prepare_cached(
        "DELETE FROM gateway_endpoint_bindings WHERE endpoint_id = ?1 AND resource_type = ?2 \
         AND resource_id = ?3 AND endpoint_id IN \
         (SELECT endpoint_id FROM gateway_endpoints WHERE workspace = ?4)",
    )
    .and_then(|mut stmt| stmt.execute(params![key[0], key[1], key[2], workspace]))
    .map(|n| n == 1)
    .map_err(db_err)
}

pub(super) fn list_bindings(
    c: &Connection,
    workspace: &str,
    filter: &BindingFilter,
) -> Result<Vec<EndpointBinding>> {
    c.prepare_cached(&format!(
        "SELECT {COLUMNS} FROM gateway_endpoint_bindings b \
         JOIN gateway_endpoints e ON e.endpoint_id = b.endpoint_id WHERE e.workspace = ?1 \
         AND (?2 IS NULL OR b.endpoint_id = ?2) AND (?3 IS NULL OR b.resource_type = ?3) \
         AND (?4 IS NULL OR b.resource_id = ?4) \
         ORDER BY b.created_at, b.endpoint_id, b.resource_type, b.resource_id"
    ))
    .and_then(|mut stmt| {
        stmt.query_map(
            params![
                workspace,
                filter.endpoint_id,
                filter.resource_type,
                filter.resource_id
            ],
            |r| {
                Ok(EndpointBinding {
                    endpoint_id: r.get(0)?,
                    resource_type: r.get(1)?,
                    resource_id: r.get(2)?,
                    display_name: r.get(3)?,
                    created_at: r.get(4)?,
                    last_updated_at: r.get(5)?,
                    created_by: r.get(6)?,
                    last_updated_by: r.get(7)?,
                })
            },
        )?
        .collect()
    })
    .map_err(db_err)
}
