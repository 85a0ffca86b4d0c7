//! SQL for the AI gateway's endpoints on SQLite: an endpoint row, its model mappings (in their
//! configured order) and its tags, read in three queries however many endpoints are asked for.
//! Every check that can refuse a write runs before the write's first statement.

use std::collections::{BTreeMap, HashMap, HashSet};

use keel_core::Result;
use keel_gateway::{
    AttachOutcome, DefinitionDelete, DetachOutcome, Endpoint, EndpointKey, EndpointWrite,
    FallbackConfig, Linkage, ModelMapping,
};
use rusqlite::{Connection, OptionalExtension, params};

use super::convert::text_array;
use super::db_err;
use super::gateway::{definition_at, exists};
use crate::gateway_rows::{DEFINITION_COLUMNS, ENDPOINT_COLUMNS};

/// Whether endpoint `?1` is in workspace `?2`.
pub(super) const ENDPOINT_IN_WORKSPACE: &str =
    "SELECT 1 FROM gateway_endpoints WHERE endpoint_id = ?1 AND workspace = ?2";
/// Whether model definition `?1` is in workspace `?2`.
const DEFINITION_IN_WORKSPACE: &str =
    "SELECT 1 FROM gateway_model_definitions WHERE model_definition_id = ?1 AND workspace = ?2";

/// An [`EndpointKey`] that can cross to the reader thread.
#[derive(Debug, Clone)]
pub(super) enum OwnedKey {
    Id(String),
    Name(String),
}

impl OwnedKey {
    pub(super) fn of(key: EndpointKey<'_>) -> Self {
        match key {
            EndpointKey::Id(id) => Self::Id(id.to_owned()),
            EndpointKey::Name(name) => Self::Name(name.to_owned()),
        }
    }
}

fn linkage_of(text: &str) -> rusqlite::Result<Linkage> {
    Linkage::parse(text).ok_or_else(|| {
        rusqlite::Error::FromSqlConversionFailure(
            0,
            rusqlite::types::Type::Text,
            format!("unexpected linkage '{text}' in database").into(),
        )
    })
}

fn endpoint_from_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<Endpoint> {
    Ok(Endpoint {
        endpoint_id: r.get(0)?,
        workspace: r.get(1)?,
        name: r.get(2)?,
        mappings: Vec::new(),
        tags: BTreeMap::new(),
        routing_strategy: r.get(3)?,
        fallback_config: FallbackConfig::from_stored(r.get(4)?),
        experiment_id: r.get(5)?,
        usage_tracking: r.get(6)?,
        created_at: r.get(7)?,
        last_updated_at: r.get(8)?,
        created_by: r.get(9)?,
        last_updated_by: r.get(10)?,
    })
}

/// Fills in the mappings and tags of `endpoints`.
fn attach(c: &Connection, endpoints: &mut [Endpoint]) -> Result<()> {
    if endpoints.is_empty() {
        return Ok(());
    }
    let ids = || text_array(endpoints.iter().map(|e| e.endpoint_id.as_str()));
    let mut mappings: HashMap<String, Vec<ModelMapping>> = HashMap::new();
    {
        let mut stmt = c
            .prepare_cached(&format!(
                "SELECT m.mapping_id, m.endpoint_id, m.weight, m.linkage_type, m.fallback_order, \
                 m.created_at, m.created_by, {DEFINITION_COLUMNS} FROM gateway_endpoint_models m \
                 JOIN gateway_model_definitions d ON d.model_definition_id = m.model_definition_id \
                 LEFT JOIN gateway_secrets s ON s.secret_id = d.secret_id \
                 WHERE m.endpoint_id IN rarray(?1) ORDER BY m.endpoint_id, m.position"
            ))
            .map_err(db_err)?;
        let rows = stmt
            .query_map([ids()], |r| {
                let linkage: String = r.get(3)?;
                Ok(ModelMapping {
                    mapping_id: r.get(0)?,
                    endpoint_id: r.get(1)?,
                    weight: r.get(2)?,
                    linkage: linkage_of(&linkage)?,
                    fallback_order: r.get(4)?,
                    created_at: r.get(5)?,
                    created_by: r.get(6)?,
                    model_definition: definition_at(r, 7)?,
                })
            })
            .map_err(db_err)?;
        for row in rows {
            let m = row.map_err(db_err)?;
            mappings.entry(m.endpoint_id.clone()).or_default().push(m);
        }
    }
    let mut tags: HashMap<String, BTreeMap<String, String>> = HashMap::new();
    {
        let mut stmt = c
            .prepare_cached(
                "SELECT endpoint_id, key, value FROM gateway_endpoint_tags \
                 WHERE endpoint_id IN rarray(?1)",
            )
            .map_err(db_err)?;
        let rows = stmt
            .query_map([ids()], |r| {
                Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?, r.get(2)?))
            })
            .map_err(db_err)?;
        for row in rows {
            let (id, key, value) = row.map_err(db_err)?;
            tags.entry(id).or_default().insert(key, value);
        }
    }
    for e in endpoints {
        e.mappings = mappings.remove(&e.endpoint_id).unwrap_or_default();
        e.tags = tags.remove(&e.endpoint_id).unwrap_or_default();
    }
    Ok(())
}

pub(super) fn get_endpoint(
    c: &Connection,
    workspace: &str,
    key: &OwnedKey,
) -> Result<Option<Endpoint>> {
    let (column, value) = match key {
        OwnedKey::Id(id) => ("endpoint_id", id),
        OwnedKey::Name(name) => ("name", name),
    };
    let found = c
        .prepare_cached(&format!(
            "SELECT {ENDPOINT_COLUMNS} FROM gateway_endpoints WHERE {column} = ?1 AND workspace = ?2"
        ))
        .and_then(|mut stmt| stmt.query_row(params![value, workspace], endpoint_from_row).optional())
        .map_err(db_err)?;
    let mut found: Vec<Endpoint> = found.into_iter().collect();
    attach(c, &mut found)?;
    Ok(found.pop())
}

pub(super) fn list_endpoints(
    c: &Connection,
    workspace: &str,
    provider: Option<&str>,
) -> Result<Vec<Endpoint>> {
    let mut endpoints = c
        .prepare_cached(&format!(
            "SELECT {ENDPOINT_COLUMNS} FROM gateway_endpoints e WHERE workspace = ?1 AND EXISTS \
             (SELECT 1 FROM gateway_endpoint_models m JOIN gateway_model_definitions d \
              ON d.model_definition_id = m.model_definition_id \
              WHERE m.endpoint_id = e.endpoint_id AND (?2 IS NULL OR d.provider = ?2)) \
             ORDER BY name"
        ))
        .and_then(|mut stmt| {
            stmt.query_map(params![workspace, provider], endpoint_from_row)?
                .collect::<rusqlite::Result<Vec<_>>>()
        })
        .map_err(db_err)?;
    attach(c, &mut endpoints)?;
    Ok(endpoints)
}

/// The mapped definitions that do not exist in the endpoint's workspace.
fn missing_definitions(c: &Connection, e: &Endpoint) -> Result<Vec<String>> {
    let wanted: HashSet<&str> = e
        .mappings
        .iter()
        .map(|m| m.model_definition.model_definition_id.as_str())
        .collect();
    let found: HashSet<String> = c
        .prepare_cached(
            "SELECT model_definition_id FROM gateway_model_definitions \
             WHERE workspace = ?1 AND model_definition_id IN rarray(?2)",
        )
        .and_then(|mut stmt| {
            stmt.query_map(
                params![e.workspace, text_array(wanted.iter().copied())],
                |r| r.get(0),
            )?
            .collect()
        })
        .map_err(db_err)?;
    Ok(wanted
        .into_iter()
        .filter(|id| !found.contains(*id))
        .map(str::to_owned)
        .collect())
}

fn insert_mappings(c: &Connection, e: &Endpoint) -> Result<()> {
    let mut stmt = c
        .prepare_cached(
            "INSERT INTO gateway_endpoint_models (mapping_id, endpoint_id, model_definition_id, \
             position, linkage_type, weight, fallback_order, created_at, created_by) \
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
        )
        .map_err(db_err)?;
    for (position, m) in e.mappings.iter().enumerate() {
        stmt.execute(params![
            m.mapping_id,
            e.endpoint_id,
            m.model_definition.model_definition_id,
            position as i64,
            m.linkage.as_str(),
            m.weight,
            m.fallback_order,
            m.created_at,
            m.created_by,
        ])
        .map_err(db_err)?;
    }
    Ok(())
}

pub(super) fn insert_endpoint(c: &Connection, e: &Endpoint) -> Result<EndpointWrite> {
    let missing = missing_definitions(c, e)?;
    if !missing.is_empty() {
        return Ok(EndpointWrite::MissingDefinitions(missing));
    }
    let inserted = c
        .prepare_cached(&format!(
            "INSERT INTO gateway_endpoints ({ENDPOINT_COLUMNS}) \
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11) ON CONFLICT DO NOTHING"
        ))
        .and_then(|mut stmt| {
            stmt.execute(params![
                e.endpoint_id,
                e.workspace,
                e.name,
                e.routing_strategy,
                e.fallback_config.as_ref().map(FallbackConfig::to_stored),
                e.experiment_id,
                e.usage_tracking,
                e.created_at,
                e.last_updated_at,
                e.created_by,
                e.last_updated_by,
            ])
        })
        .map_err(db_err)?;
    if inserted == 0 {
        return Ok(EndpointWrite::NameTaken);
    }
    insert_mappings(c, e)?;
    Ok(EndpointWrite::Done)
}

pub(super) fn update_endpoint(
    c: &Connection,
    e: &Endpoint,
    replace: bool,
) -> Result<EndpointWrite> {
    if !exists(
        c,
        ENDPOINT_IN_WORKSPACE,
        params![e.endpoint_id, e.workspace],
    )? {
        return Ok(EndpointWrite::NotFound);
    }
    let taken = "SELECT 1 FROM gateway_endpoints WHERE workspace = ?1 AND name = ?2 \
                 AND endpoint_id <> ?3";
    if exists(c, taken, params![e.workspace, e.name, e.endpoint_id])? {
        return Ok(EndpointWrite::NameTaken);
    }
    if replace {
        let missing = missing_definitions(c, e)?;
        if !missing.is_empty() {
            return Ok(EndpointWrite::MissingDefinitions(missing));
        }
    }
    c.prepare_cached(
        "UPDATE gateway_endpoints SET name = ?3, routing_strategy = ?4, fallback_config = ?5, \
         experiment_id = ?6, usage_tracking = ?7, last_updated_at = ?8, last_updated_by = ?9 \
         WHERE endpoint_id = ?1 AND workspace = ?2",
    )
    .and_then(|mut stmt| {
        stmt.execute(params![
            e.endpoint_id,
            e.workspace,
            e.name,
            e.routing_strategy,
            e.fallback_config.as_ref().map(FallbackConfig::to_stored),
            e.experiment_id,
            e.usage_tracking,
            e.last_updated_at,
            e.last_updated_by,
        ])
    })
    .map_err(db_err)?;
    if replace {
        c.execute(
            "DELETE FROM gateway_endpoint_models WHERE endpoint_id = ?1",
            params![e.endpoint_id],
        )
        .map_err(db_err)?;
        insert_mappings(c, e)?;
    }
    Ok(EndpointWrite::Done)
}

/// Sets (`Some(value)`) or deletes a tag of an endpoint of the workspace.
pub(super) fn set_tag(
    c: &Connection,
    workspace: &str,
    endpoint_id: &str,
    key: &str,
    value: Option<&str>,
) -> Result<bool> {
    if !exists(c, ENDPOINT_IN_WORKSPACE, params![endpoint_id, workspace])? {
        return Ok(false);
    }
    match value {
        Some(value) => c.execute(
            "INSERT INTO gateway_endpoint_tags (endpoint_id, key, value) VALUES (?1, ?2, ?3) \
             ON CONFLICT (endpoint_id, key) DO UPDATE SET value = excluded.value",
            params![endpoint_id, key, value],
        ),
        None => c.execute(
            "DELETE FROM gateway_endpoint_tags WHERE endpoint_id = ?1 AND key = ?2",
            params![endpoint_id, key],
        ),
    }
    .map_err(db_err)?;
    Ok(true)
}

pub(super) fn delete_definition(
    c: &Connection,
    workspace: &str,
    id: &str,
) -> Result<DefinitionDelete> {
    if !exists(c, DEFINITION_IN_WORKSPACE, params![id, workspace])? {
        return Ok(DefinitionDelete::NotFound);
    }
    let used = "SELECT 1 FROM gateway_endpoint_models WHERE model_definition_id = ?1";
    if exists(c, used, params![id])? {
        return Ok(DefinitionDelete::InUse);
    }
    c.execute(
        "DELETE FROM gateway_model_definitions WHERE model_definition_id = ?1",
        params![id],
    )
    .map_err(db_err)?;
    Ok(DefinitionDelete::Deleted)
}

pub(super) fn attach_model(
    c: &Connection,
    workspace: &str,
    m: &ModelMapping,
    fallback_if_unset: Option<&FallbackConfig>,
    updated_by: Option<&str>,
    max_models: usize,
) -> Result<AttachOutcome> {
    if !exists(c, ENDPOINT_IN_WORKSPACE, params![m.endpoint_id, workspace])? {
        return Ok(AttachOutcome::EndpointNotFound);
    }
    let definition_id = &m.model_definition.model_definition_id;
    if !exists(
        c,
        DEFINITION_IN_WORKSPACE,
        params![definition_id, workspace],
    )? {
        return Ok(AttachOutcome::DefinitionNotFound);
    }
    let (count, next): (i64, i64) = c
        .prepare_cached(
            "SELECT COUNT(*), COALESCE(MAX(position) + 1, 0) FROM gateway_endpoint_models \
             WHERE endpoint_id = ?1",
        )
        .and_then(|mut stmt| stmt.query_row(params![m.endpoint_id], |r| Ok((r.get(0)?, r.get(1)?))))
        .map_err(db_err)?;
    if usize::try_from(count).unwrap_or(usize::MAX) >= max_models {
        return Ok(AttachOutcome::Full);
    }
    let inserted = c
        .prepare_cached(
            "INSERT INTO gateway_endpoint_models (mapping_id, endpoint_id, model_definition_id, \
             position, linkage_type, weight, fallback_order, created_at, created_by) \
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9) ON CONFLICT DO NOTHING",
        )
        .and_then(|mut stmt| {
            stmt.execute(params![
                m.mapping_id,
                m.endpoint_id,
                definition_id,
                next,
                m.linkage.as_str(),
                m.weight,
                m.fallback_order,
                m.created_at,
                m.created_by,
            ])
        })
        .map_err(db_err)?;
    if inserted == 0 {
        return Ok(AttachOutcome::AlreadyAttached);
    }
    c.prepare_cached(
        "UPDATE gateway_endpoints SET last_updated_at = ?2, \
         last_updated_by = COALESCE(?3, last_updated_by), \
         fallback_config = COALESCE(fallback_config, ?4) WHERE endpoint_id = ?1",
    )
    .and_then(|mut stmt| {
        stmt.execute(params![
            m.endpoint_id,
            m.created_at,
            updated_by,
            fallback_if_unset.map(FallbackConfig::to_stored),
        ])
    })
    .map_err(db_err)?;
    Ok(AttachOutcome::Attached)
}

pub(super) fn detach_model(
    c: &Connection,
    workspace: &str,
    endpoint_id: &str,
    definition_id: &str,
) -> Result<DetachOutcome> {
    if !exists(c, ENDPOINT_IN_WORKSPACE, params![endpoint_id, workspace])? {
        return Ok(DetachOutcome::EndpointNotFound);
    }
    let removed = c
        .prepare_cached(
            "DELETE FROM gateway_endpoint_models WHERE mapping_id = (SELECT mapping_id \
             FROM gateway_endpoint_models WHERE endpoint_id = ?1 AND model_definition_id = ?2 \
             ORDER BY position LIMIT 1)",
        )
        .and_then(|mut stmt| stmt.execute(params![endpoint_id, definition_id]))
        .map_err(db_err)?;
    Ok(if removed == 0 {
        DetachOutcome::NotAttached
    } else {
        DetachOutcome::Detached
    })
}
