//! SQL for the AI gateway's endpoints on PostgreSQL: an endpoint row, its model mappings (in
//! their configured order) and its tags, read in three queries however many endpoints are
//! asked for. Writes lock what they check: the endpoint row (`FOR UPDATE`) and the mapped
//! definitions (`FOR SHARE`, so none is deleted meanwhile).

use std::collections::{BTreeMap, HashMap, HashSet};

use keel_core::Error;
use keel_gateway::{
    AttachOutcome, DefinitionDelete, DetachOutcome, Endpoint, EndpointKey, EndpointWrite,
    FallbackConfig, Linkage, ModelMapping,
};
use sqlx::postgres::PgRow;
use sqlx::{PgConnection, Row};

use super::error::{Failure, PgResult, UNIQUE_VIOLATION};
use super::gateway::definition_at;
use crate::gateway_rows::{DEFINITION_COLUMNS, ENDPOINT_COLUMNS};

fn endpoint_from_row(r: &PgRow) -> PgResult<Endpoint> {
    Ok(Endpoint {
        endpoint_id: r.try_get(0)?,
        workspace: r.try_get(1)?,
        name: r.try_get(2)?,
        mappings: Vec::new(),
        tags: BTreeMap::new(),
        routing_strategy: r.try_get(3)?,
        fallback_config: FallbackConfig::from_stored(r.try_get(4)?),
        experiment_id: r.try_get(5)?,
        usage_tracking: r.try_get(6)?,
        created_at: r.try_get(7)?,
        last_updated_at: r.try_get(8)?,
        created_by: r.try_get(9)?,
        last_updated_by: r.try_get(10)?,
    })
}

fn mapping_from_row(r: &PgRow) -> PgResult<ModelMapping> {
    let linkage: String = r.try_get(3)?;
    Ok(ModelMapping {
        mapping_id: r.try_get(0)?,
        endpoint_id: r.try_get(1)?,
        weight: r.try_get(2)?,
        linkage: Linkage::parse(&linkage).ok_or_else(|| {
            Failure::from(Error::internal(format!(
                "unexpected linkage '{linkage}' in database"
            )))
        })?,
        fallback_order: r.try_get(4)?,
        created_at: r.try_get(5)?,
        created_by: r.try_get(6)?,
        model_definition: definition_at(r, 7)?,
    })
}

/// Fills in the mappings and tags of `endpoints`.
async fn attach(c: &mut PgConnection, endpoints: &mut [Endpoint]) -> PgResult<()> {
    if endpoints.is_empty() {
        return Ok(());
    }
    let ids: Vec<&str> = endpoints.iter().map(|e| e.endpoint_id.as_str()).collect();
    let rows = sqlx::query(&format!(
        "SELECT m.mapping_id, m.endpoint_id, m.weight, m.linkage_type, m.fallback_order, \
         m.created_at, m.created_by, {DEFINITION_COLUMNS} FROM gateway_endpoint_models m \
         JOIN gateway_model_definitions d ON d.model_definition_id = m.model_definition_id \
         LEFT JOIN gateway_secrets s ON s.secret_id = d.secret_id \
         WHERE m.endpoint_id = ANY($1) ORDER BY m.endpoint_id, m.position"
    ))
    .bind(&ids)
    .fetch_all(&mut *c)
    .await?;
    let mut mappings: HashMap<String, Vec<ModelMapping>> = HashMap::new();
    for row in &rows {
        let m = mapping_from_row(row)?;
        mappings.entry(m.endpoint_id.clone()).or_default().push(m);
    }
    let tag_rows: Vec<(String, String, String)> = sqlx::query_as(
        "SELECT endpoint_id, key, value FROM gateway_endpoint_tags WHERE endpoint_id = ANY($1)",
    )
    .bind(&ids)
    .fetch_all(&mut *c)
    .await?;
    let mut tags: HashMap<String, BTreeMap<String, String>> = HashMap::new();
    for (id, key, value) in tag_rows {
        tags.entry(id).or_default().insert(key, value);
    }
    for e in endpoints {
        e.mappings = mappings.remove(&e.endpoint_id).unwrap_or_default();
        e.tags = tags.remove(&e.endpoint_id).unwrap_or_default();
    }
    Ok(())
}

pub(super) async fn get_endpoint(
    c: &mut PgConnection,
    workspace: &str,
    key: EndpointKey<'_>,
) -> PgResult<Option<Endpoint>> {
    let (column, value) = match key {
        EndpointKey::Id(id) => ("endpoint_id", id),
        EndpointKey::Name(name) => ("name", name),
    };
    let row = sqlx::query(&format!(
        "SELECT {ENDPOINT_COLUMNS} FROM gateway_endpoints WHERE {column} = $1 AND workspace = $2"
    ))
    .bind(value)
    .bind(workspace)
    .fetch_optional(&mut *c)
    .await?;
    let mut found = row
        .as_ref()
        .map(endpoint_from_row)
        .transpose()?
        .into_iter()
        .collect::<Vec<_>>();
    attach(c, &mut found).await?;
    Ok(found.pop())
}

pub(super) async fn list_endpoints(
    c: &mut PgConnection,
    workspace: &str,
    provider: Option<&str>,
) -> PgResult<Vec<Endpoint>> {
    let rows = sqlx::query(&format!(
        "SELECT {ENDPOINT_COLUMNS} FROM gateway_endpoints e WHERE workspace = $1 AND EXISTS \
         (SELECT 1 FROM gateway_endpoint_models m JOIN gateway_model_definitions d \
          ON d.model_definition_id = m.model_definition_id \
          WHERE m.endpoint_id = e.endpoint_id AND ($2::text IS NULL OR d.provider = $2)) \
         ORDER BY name"
    ))
    .bind(workspace)
    .bind(provider)
    .fetch_all(&mut *c)
    .await?;
    let mut endpoints = rows
        .iter()
        .map(endpoint_from_row)
        .collect::<PgResult<Vec<_>>>()?;
    attach(c, &mut endpoints).await?;
    Ok(endpoints)
}

/// The mapped definitions that do not exist in the endpoint's workspace; those that do are
/// locked until the transaction ends.
async fn missing_definitions(c: &mut PgConnection, e: &Endpoint) -> PgResult<Vec<String>> {
    let wanted: HashSet<&str> = e
        .mappings
        .iter()
        .map(|m| m.model_definition.model_definition_id.as_str())
        .collect();
    let ids: Vec<&str> = wanted.iter().copied().collect();
    let found: HashSet<String> = sqlx::query_scalar(
        "SELECT model_definition_id FROM gateway_model_definitions \
         WHERE workspace = $1 AND model_definition_id = ANY($2) FOR SHARE",
    )
    .bind(&e.workspace)
    .bind(&ids)
    .fetch_all(&mut *c)
    .await?
    .into_iter()
    .collect();
    Ok(ids
        .into_iter()
        .filter(|id| !found.contains(*id))
        .map(str::to_owned)
        .collect())
}

async fn insert_mappings(c: &mut PgConnection, e: &Endpoint) -> PgResult<()> {
    for (position, m) in e.mappings.iter().enumerate() {
        sqlx::query(
            "INSERT INTO gateway_endpoint_models (mapping_id, endpoint_id, model_definition_id, \
             position, linkage_type, weight, fallback_order, created_at, created_by) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
        )
        .bind(&m.mapping_id)
        .bind(&e.endpoint_id)
        .bind(&m.model_definition.model_definition_id)
        .bind(i32::try_from(position).unwrap_or(i32::MAX))
        .bind(m.linkage.as_str())
        .bind(m.weight)
        .bind(m.fallback_order)
        .bind(m.created_at)
        .bind(m.created_by.as_deref())
        .execute(&mut *c)
        .await?;
    }
    Ok(())
}

pub(super) async fn insert_endpoint(c: &mut PgConnection, e: &Endpoint) -> PgResult<EndpointWrite> {
    let missing = missing_definitions(c, e).await?;
    if !missing.is_empty() {
        return Ok(EndpointWrite::MissingDefinitions(missing));
    }
    let done = sqlx::query(&format!(
        "INSERT INTO gateway_endpoints ({ENDPOINT_COLUMNS}) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) ON CONFLICT DO NOTHING"
    ))
    .bind(&e.endpoint_id)
    .bind(&e.workspace)
    .bind(&e.name)
    .bind(e.routing_strategy.as_deref())
    .bind(e.fallback_config.as_ref().map(FallbackConfig::to_stored))
    .bind(e.experiment_id.as_deref())
    .bind(e.usage_tracking)
    .bind(e.created_at)
    .bind(e.last_updated_at)
    .bind(e.created_by.as_deref())
    .bind(e.last_updated_by.as_deref())
    .execute(&mut *c)
    .await?;
    if done.rows_affected() == 0 {
        return Ok(EndpointWrite::NameTaken);
    }
    insert_mappings(c, e).await?;
    Ok(EndpointWrite::Done)
}

/// How a write holds the endpoint row it checked.
#[derive(Debug, Clone, Copy)]
pub(super) enum Hold {
    /// Writes of the endpoint itself (and of its models) take turns.
    Update,
    /// The endpoint is not deleted meanwhile (tags, bindings).
    Share,
}

/// Whether the endpoint is in `workspace`, holding its row as `hold` says.
pub(super) async fn hold_endpoint(
    c: &mut PgConnection,
    workspace: &str,
    endpoint_id: &str,
    hold: Hold,
) -> PgResult<bool> {
    let sql = match hold {
        Hold::Update => {
            "SELECT 1 FROM gateway_endpoints WHERE endpoint_id = $1 AND workspace = $2 FOR UPDATE"
        }
        Hold::Share => {
            "SELECT 1 FROM gateway_endpoints WHERE endpoint_id = $1 AND workspace = $2 FOR SHARE"
        }
    };
    Ok(sqlx::query(sql)
        .bind(endpoint_id)
        .bind(workspace)
        .fetch_optional(&mut *c)
        .await?
        .is_some())
}

pub(super) async fn update_endpoint(
    c: &mut PgConnection,
    e: &Endpoint,
    replace: bool,
) -> PgResult<EndpointWrite> {
    if !hold_endpoint(c, &e.workspace, &e.endpoint_id, Hold::Update).await? {
        return Ok(EndpointWrite::NotFound);
    }
    if replace {
        let missing = missing_definitions(c, e).await?;
        if !missing.is_empty() {
            return Ok(EndpointWrite::MissingDefinitions(missing));
        }
    }
    let updated = sqlx::query(
        "UPDATE gateway_endpoints SET name = $3, routing_strategy = $4, fallback_config = $5, \
         experiment_id = $6, usage_tracking = $7, last_updated_at = $8, last_updated_by = $9 \
         WHERE endpoint_id = $1 AND workspace = $2",
    )
    .bind(&e.endpoint_id)
    .bind(&e.workspace)
    .bind(&e.name)
    .bind(e.routing_strategy.as_deref())
    .bind(e.fallback_config.as_ref().map(FallbackConfig::to_stored))
    .bind(e.experiment_id.as_deref())
    .bind(e.usage_tracking)
    .bind(e.last_updated_at)
    .bind(e.last_updated_by.as_deref())
    .execute(&mut *c)
    .await;
    if let Err(err) = updated {
        let failure = Failure::from(err);
        // The name is another endpoint's: the failed statement ends the transaction, which
        // then commits nothing.
        if failure.sqlstate().as_deref() == Some(UNIQUE_VIOLATION) {
            return Ok(EndpointWrite::NameTaken);
        }
        return Err(failure);
    }
    if replace {
        sqlx::query("DELETE FROM gateway_endpoint_models WHERE endpoint_id = $1")
            .bind(&e.endpoint_id)
            .execute(&mut *c)
            .await?;
        insert_mappings(c, e).await?;
    }
    Ok(EndpointWrite::Done)
}

pub(super) async fn delete_endpoint(
    c: &mut PgConnection,
    workspace: &str,
    id: &str,
) -> PgResult<bool> {
    let done =
        sqlx::query("DELETE FROM gateway_endpoints WHERE endpoint_id = $1 AND workspace = $2")
            .bind(id)
            .bind(workspace)
            .execute(&mut *c)
            .await?;
    Ok(done.rows_affected() == 1)
}

/// Sets (`Some(value)`) or deletes a tag of an endpoint of the workspace.
pub(super) async fn set_tag(
    c: &mut PgConnection,
    workspace: &str,
    endpoint_id: &str,
    key: &str,
    value: Option<&str>,
) -> PgResult<bool> {
    if !hold_endpoint(c, workspace, endpoint_id, Hold::Share).await? {
        return Ok(false);
    }
    match value {
        Some(value) => {
            sqlx::query(
                "INSERT INTO gateway_endpoint_tags (endpoint_id, key, value) VALUES ($1, $2, $3) \
                 ON CONFLICT (endpoint_id, key) DO UPDATE SET value = EXCLUDED.value",
            )
            .bind(endpoint_id)
            .bind(key)
            .bind(value)
            .execute(&mut *c)
            .await?;
        }
        None => {
            sqlx::query("DELETE FROM gateway_endpoint_tags WHERE endpoint_id = $1 AND key = $2")
                .bind(endpoint_id)
                .bind(key)
                .execute(&mut *c)
                .await?;
        }
    }
    Ok(true)
}

pub(super) async fn delete_definition(
    c: &mut PgConnection,
    workspace: &str,
    id: &str,
) -> PgResult<DefinitionDelete> {
    let mine = sqlx::query(
        "SELECT 1 FROM gateway_model_definitions WHERE model_definition_id = $1 \
         AND workspace = $2 FOR UPDATE",
    )
    .bind(id)
    .bind(workspace)
    .fetch_optional(&mut *c)
    .await?;
    if mine.is_none() {
        return Ok(DefinitionDelete::NotFound);
    }
    let used =
        sqlx::query("SELECT 1 FROM gateway_endpoint_models WHERE model_definition_id = $1 LIMIT 1")
            .bind(id)
            .fetch_optional(&mut *c)
            .await?;
    if used.is_some() {
        return Ok(DefinitionDelete::InUse);
    }
    sqlx::query("DELETE FROM gateway_model_definitions WHERE model_definition_id = $1")
        .bind(id)
        .execute(&mut *c)
        .await?;
    Ok(DefinitionDelete::Deleted)
}

pub(super) async fn attach_model(
    c: &mut PgConnection,
    workspace: &str,
    m: &ModelMapping,
    fallback_if_unset: Option<&FallbackConfig>,
    updated_by: Option<&str>,
    max_models: usize,
) -> PgResult<AttachOutcome> {
    if !hold_endpoint(c, workspace, &m.endpoint_id, Hold::Update).await? {
        return Ok(AttachOutcome::EndpointNotFound);
    }
    let definition_id = &m.model_definition.model_definition_id;
    let definition = sqlx::query(
        "SELECT 1 FROM gateway_model_definitions WHERE model_definition_id = $1 \
         AND workspace = $2 FOR SHARE",
    )
    .bind(definition_id)
    .bind(workspace)
    .fetch_optional(&mut *c)
    .await?;
    if definition.is_none() {
        return Ok(AttachOutcome::DefinitionNotFound);
    }
    let row = sqlx::query(
        "SELECT COUNT(*), COALESCE(MAX(position) + 1, 0) FROM gateway_endpoint_models \
         WHERE endpoint_id = $1",
    )
    .bind(&m.endpoint_id)
    .fetch_one(&mut *c)
    .await?;
    let (count, next): (i64, i32) = (row.try_get(0)?, row.try_get(1)?);
    if usize::try_from(count).unwrap_or(usize::MAX) >= max_models {
        return Ok(AttachOutcome::Full);
    }
    let inserted = sqlx::query(
        "INSERT INTO gateway_endpoint_models (mapping_id, endpoint_id, model_definition_id, \
         position, linkage_type, weight, fallback_order, created_at, created_by) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) ON CONFLICT DO NOTHING",
    )
    .bind(&m.mapping_id)
    .bind(&m.endpoint_id)
    .bind(definition_id)
    .bind(next)
    .bind(m.linkage.as_str())
    .bind(m.weight)
    .bind(m.fallback_order)
    .bind(m.created_at)
    .bind(m.created_by.as_deref())
    .execute(&mut *c)
    .await?
    .rows_affected();
    if inserted == 0 {
        return Ok(AttachOutcome::AlreadyAttached);
    }
    sqlx::query(
        "UPDATE gateway_endpoints SET last_updated_at = $2, \
         last_updated_by = COALESCE($3, last_updated_by), \
         fallback_config = COALESCE(fallback_config, $4) WHERE endpoint_id = $1",
    )
    .bind(&m.endpoint_id)
    .bind(m.created_at)
    .bind(updated_by)
    .bind(fallback_if_unset.map(FallbackConfig::to_stored))
    .execute(&mut *c)
    .await?;
    Ok(AttachOutcome::Attached)
}

pub(super) async fn detach_model(
    c: &mut PgConnection,
    workspace: &str,
    endpoint_id: &str,
    definition_id: &str,
) -> PgResult<DetachOutcome> {
    if !hold_endpoint(c, workspace, endpoint_id, Hold::Update).await? {
        return Ok(DetachOutcome::EndpointNotFound);
    }
    let removed = sqlx::query(
        "DELETE FROM gateway_endpoint_models WHERE mapping_id = (SELECT mapping_id \
         FROM gateway_endpoint_models WHERE endpoint_id = $1 AND model_definition_id = $2 \
         ORDER BY position LIMIT 1)",
    )
    .bind(endpoint_id)
    .bind(definition_id)
    .execute(&mut *c)
    .await?
    .rows_affected();
    Ok(if removed == 0 {
        DetachOutcome::NotAttached
    } else {
        DetachOutcome::Detached
    })
}
