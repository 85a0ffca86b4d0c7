//! SQL for the AI gateway's guardrails and their endpoint configs on PostgreSQL. An add holds
//! the endpoint's row for update (adds to one endpoint take turns, so none passes the cap on
//! how many it runs) and the guardrail's for share (it is not deleted meanwhile).

use keel_gateway::{AddOutcome, Guardrail, GuardrailAttachment, GuardrailConfig};
use sqlx::postgres::PgRow;
use sqlx::{PgConnection, Row};

use super::error::{Failure, PgResult};
use super::gateway_endpoints::{Hold, hold_endpoint};
use crate::gateway_rows::{
    ENDPOINT_GUARDRAILS_FROM, ENDPOINT_GUARDRAILS_ORDER, GUARDRAIL_COLUMNS,
    GUARDRAIL_CONFIG_COLUMNS, GuardrailConfigRow, GuardrailRow,
};

/// A guardrail's row from [`GUARDRAIL_COLUMNS`] starting at column `at`.
fn guardrail_row(r: &PgRow, at: usize) -> PgResult<GuardrailRow> {
    Ok(GuardrailRow {
        guardrail_id: r.try_get(at)?,
        workspace: r.try_get(at + 1)?,
        name: r.try_get(at + 2)?,
        stage: r.try_get(at + 3)?,
        action: r.try_get(at + 4)?,
        detector: r.try_get(at + 5)?,
        created_by: r.try_get(at + 6)?,
        created_at: r.try_get(at + 7)?,
        last_updated_by: r.try_get(at + 8)?,
        last_updated_at: r.try_get(at + 9)?,
    })
}

fn guardrail_of(r: &PgRow) -> PgResult<Guardrail> {
    guardrail_row(r, 0)?.into_guardrail().map_err(Failure::from)
}

fn config_of(r: &PgRow) -> PgResult<GuardrailConfig> {
    let config = GuardrailConfigRow {
        endpoint_id: r.try_get(0)?,
        execution_order: r.try_get(1)?,
        created_by: r.try_get(2)?,
        created_at: r.try_get(3)?,
    };
    config.with(guardrail_row(r, 4)?).map_err(Failure::from)
}

pub(super) async fn insert(c: &mut PgConnection, g: &Guardrail) -> PgResult<()> {
    sqlx::query(
        "INSERT INTO gateway_guardrails (guardrail_id, workspace, name, stage, action, \
         detector, created_by, created_at, last_updated_by, last_updated_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
    )
    .bind(&g.guardrail_id)
    .bind(&g.workspace)
    .bind(&g.name)
    .bind(g.stage.as_str())
    .bind(g.action.as_str())
    .bind(g.detector.to_json().to_string())
    .bind(g.created_by.as_deref())
    .bind(g.created_at)
    .bind(g.last_updated_by.as_deref())
    .bind(g.last_updated_at)
    .execute(&mut *c)
    .await?;
    Ok(())
}

pub(super) async fn get(
    c: &mut PgConnection,
    workspace: &str,
    id: &str,
) -> PgResult<Option<Guardrail>> {
    sqlx::query(&format!(
        "SELECT {GUARDRAIL_COLUMNS} FROM gateway_guardrails g \
         WHERE g.guardrail_id = $1 AND g.workspace = $2"
    ))
    .bind(id)
    .bind(workspace)
    .fetch_optional(&mut *c)
    .await?
    .as_ref()
    .map(guardrail_of)
    .transpose()
}

pub(super) async fn list(
    c: &mut PgConnection,
    workspace: &str,
    offset: i64,
    limit: i64,
) -> PgResult<Vec<Guardrail>> {
    sqlx::query(&format!(
        "SELECT {GUARDRAIL_COLUMNS} FROM gateway_guardrails g WHERE g.workspace = $1 \
         ORDER BY g.guardrail_id LIMIT $2 OFFSET $3"
    ))
    .bind(workspace)
    .bind(limit)
    .bind(offset)
    .fetch_all(&mut *c)
    .await?
    .iter()
    .map(guardrail_of)
    .collect()
}

/// Deletes the guardrail; its configs go by cascade.
pub(super) async fn delete(c: &mut PgConnection, workspace: &str, id: &str) -> PgResult<bool> {
    let deleted =
        sqlx::query("DELETE FROM gateway_guardrails WHERE guardrail_id = $1 AND workspace = $2")
            .bind(id)
            .bind(workspace)
            .execute(&mut *c)
            .await?
            .rows_affected();
    Ok(deleted == 1)
}

async fn config(
    c: &mut PgConnection,
    workspace: &str,
    endpoint_id: &str,
    guardrail_id: &str,
) -> PgResult<Option<GuardrailConfig>> {
    sqlx::query(&format!(
        "SELECT {GUARDRAIL_CONFIG_COLUMNS}, {GUARDRAIL_COLUMNS} FROM {ENDPOINT_GUARDRAILS_FROM} \
         WHERE c.endpoint_id = $1 AND c.guardrail_id = $2 AND g.workspace = $3"
    ))
    .bind(endpoint_id)
    .bind(guardrail_id)
    .bind(workspace)
    .fetch_optional(&mut *c)
    .await?
    .as_ref()
    .map(config_of)
    .transpose()
}

pub(super) async fn add_to_endpoint(
    c: &mut PgConnection,
    workspace: &str,
    a: &GuardrailAttachment,
    max: usize,
) -> PgResult<AddOutcome> {
    if !hold_endpoint(c, workspace, &a.endpoint_id, Hold::Update).await? {
        return Ok(AddOutcome::EndpointMissing);
    }
    let guardrail: Option<i32> = sqlx::query_scalar(
        "SELECT 1 FROM gateway_guardrails WHERE guardrail_id = $1 AND workspace = $2 FOR SHARE",
    )
    .bind(&a.guardrail_id)
    .bind(workspace)
    .fetch_optional(&mut *c)
    .await?;
    if guardrail.is_none() {
        return Ok(AddOutcome::GuardrailMissing);
    }
    let (added, running): (bool, i64) = sqlx::query_as(
        "SELECT COALESCE(bool_or(guardrail_id = $2), FALSE), count(*) \
         FROM gateway_guardrail_configs WHERE endpoint_id = $1",
    )
    .bind(&a.endpoint_id)
    .bind(&a.guardrail_id)
    .fetch_one(&mut *c)
    .await?;
    if added {
        return Ok(AddOutcome::AlreadyAdded);
    }
    if usize::try_from(running).unwrap_or(usize::MAX) >= max {
        return Ok(AddOutcome::Full(max));
    }
    sqlx::query(
        "INSERT INTO gateway_guardrail_configs (endpoint_id, guardrail_id, execution_order, \
         created_by, created_at) VALUES ($1, $2, $3, $4, $5)",
    )
    .bind(&a.endpoint_id)
    .bind(&a.guardrail_id)
    .bind(a.execution_order)
    .bind(a.created_by.as_deref())
    .bind(a.created_at)
    .execute(&mut *c)
    .await?;
    config(c, workspace, &a.endpoint_id, &a.guardrail_id)
        .await?
        .map(|c| AddOutcome::Added(Box::new(c)))
        .ok_or_else(|| {
            Failure::from(keel_core::Error::internal(
                "an added guardrail config vanished",
            ))
        })
}

pub(super) async fn set_order(
    c: &mut PgConnection,
    workspace: &str,
    endpoint_id: &str,
    guardrail_id: &str,
    order: Option<i32>,
) -> PgResult<Option<GuardrailConfig>> {
    let updated = sqlx::query(
        "UPDATE gateway_guardrail_configs c SET execution_order = $3 \
         FROM gateway_guardrails g WHERE c.endpoint_id = $1 AND c.guardrail_id = $2 \
         AND g.guardrail_id = c.guardrail_id AND g.workspace = $4",
    )
    .bind(endpoint_id)
    .bind(guardrail_id)
    .bind(order)
    .bind(workspace)
    .execute(&mut *c)
    .await?
    .rows_affected();
    if updated == 0 {
        return Ok(None);
    }
    config(c, workspace, endpoint_id, guardrail_id).await
}

pub(super) async fn remove_from_endpoint(
    c: &mut PgConnection,
    workspace: &str,
    endpoint_id: &str,
    guardrail_id: &str,
) -> PgResult<bool> {
    let removed = sqlx::query(
        "DELETE FROM gateway_guardrail_configs c USING gateway_guardrails g \
         WHERE c.endpoint_id = $1 AND c.guardrail_id = $2 \
         AND g.guardrail_id = c.guardrail_id AND g.workspace = $3",
    )
    .bind(endpoint_id)
    .bind(guardrail_id)
    .bind(workspace)
    .execute(&mut *c)
    .await?
    .rows_affected();
    Ok(removed == 1)
}

pub(super) async fn of_endpoint(
    c: &mut PgConnection,
    workspace: &str,
    endpoint_id: &str,
) -> PgResult<Vec<GuardrailConfig>> {
    sqlx::query(&format!(
        "SELECT {GUARDRAIL_CONFIG_COLUMNS}, {GUARDRAIL_COLUMNS} FROM {ENDPOINT_GUARDRAILS_FROM} \
         WHERE c.endpoint_id = $1 AND g.workspace = $2 {ENDPOINT_GUARDRAILS_ORDER}"
    ))
    .bind(endpoint_id)
    .bind(workspace)
    .fetch_all(&mut *c)
    .await?
    .iter()
    .map(config_of)
    .collect()
}
