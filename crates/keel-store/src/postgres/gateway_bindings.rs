//! SQL for the AI gateway's endpoint bindings on PostgreSQL: a binding belongs to the
//! workspace of its endpoint, which every statement joins or checks (an insert holds the
//! endpoint row, so it is not deleted meanwhile).

use keel_gateway::{BindingFilter, BindingWrite, EndpointBinding};
use sqlx::{PgConnection, Row};

use super::error::PgResult;
use super::gateway_endpoints::{Hold, hold_endpoint};

const COLUMNS: &str = "b.endpoint_id, b.resource_type, b.resource_id, b.display_name, \
                       b.created_at, b.last_updated_at, b.created_by, b.last_updated_by";

pub(super) async fn insert_binding(
    c: &mut PgConnection,
    workspace: &str,
    b: &EndpointBinding,
) -> PgResult<BindingWrite> {
    if !hold_endpoint(c, workspace, &b.endpoint_id, Hold::Share).await? {
        return Ok(BindingWrite::EndpointNotFound);
    }
    let inserted = sqlx::query(
        "INSERT INTO gateway_endpoint_bindings (endpoint_id, resource_type, resource_id, \
         display_name, created_at, last_updated_at, created_by, last_updated_by) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8) ON CONFLICT DO NOTHING",
    )
    .bind(&b.endpoint_id)
    .bind(&b.resource_type)
    .bind(&b.resource_id)
    .bind(b.display_name.as_deref())
    .bind(b.created_at)
    .bind(b.last_updated_at)
    .bind(b.created_by.as_deref())
    .bind(b.last_updated_by.as_deref())
    .execute(&mut *c)
    .await?
    .rows_affected();
    Ok(if inserted == 0 {
        BindingWrite::AlreadyBound
    } else {
        BindingWrite::Done
    })
}

pub(super) async fn delete_binding(
    c: &mut PgConnection,
    workspace: &str,
    endpoint_id: &str,
    resource_type: &str,
    resource_id: &str,
) -> PgResult<bool> {
    let done = sqlx::query(
        "DELETE FROM gateway_endpoint_bindings b USING gateway_endpoints e \
         WHERE b.endpoint_id = $1 AND b.resource_type = $2 AND b.resource_id = $3 \
         AND e.endpoint_id = b.endpoint_id AND e.workspace = $4",
    )
    .bind(endpoint_id)
    .bind(resource_type)
    .bind(resource_id)
    .bind(workspace)
    .execute(&mut *c)
    .await?;
    Ok(done.rows_affected() == 1)
}

pub(super) async fn list_bindings(
    c: &mut PgConnection,
    workspace: &str,
    filter: &BindingFilter,
) -> PgResult<Vec<EndpointBinding>> {
    let rows = sqlx::query(&format!(
        "SELECT {COLUMNS} FROM gateway_endpoint_bindings b \
         JOIN gateway_endpoints e ON e.endpoint_id = b.endpoint_id WHERE e.workspace = $1 \
         AND ($2::text IS NULL OR b.endpoint_id = $2) \
         AND ($3::text IS NULL OR b.resource_type = $3) \
         AND ($4::text IS NULL OR b.resource_id = $4) \
         ORDER BY b.created_at, b.endpoint_id, b.resource_type, b.resource_id"
    ))
    .bind(workspace)
    .bind(filter.endpoint_id.as_deref())
    .bind(filter.resource_type.as_deref())
    .bind(filter.resource_id.as_deref())
    .fetch_all(&mut *c)
    .await?;
    rows.iter()
        .map(|r| {
            Ok(EndpointBinding {
                endpoint_id: r.try_get(0)?,
                resource_type: r.try_get(1)?,
                resource_id: r.try_get(2)?,
                display_name: r.try_get(3)?,
                created_at: r.try_get(4)?,
                last_updated_at: r.try_get(5)?,
                created_by: r.try_get(6)?,
                last_updated_by: r.try_get(7)?,
            })
        })
        .collect()
}
