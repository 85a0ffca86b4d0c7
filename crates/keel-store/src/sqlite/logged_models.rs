//! SQL for MLflow 3 logged models, their params and tags, and their metrics (the `metrics` rows
//! of any run that name the model).

use std::collections::HashMap;

use keel_core::store::LoggedModelQuery;
use keel_core::*;
use rusqlite::{Connection, OptionalExtension, params};

use super::convert::{experiment_id_to_i64, lifecycle, metric_value_from_db, text_array};
use super::db_err;
use super::load::for_each_row;
use super::search::ids;
use crate::search_sql;

const COLUMNS: &str = "model_id, experiment_id, name, artifact_location, creation_timestamp_ms, \
     last_updated_timestamp_ms, status, status_message, model_type, source_run_id, lifecycle_stage";

fn not_found(model_id: &str) -> Error {
    Error::not_found(format!("Logged model with ID '{model_id}' not found."))
}

fn model_status(s: &str) -> rusqlite::Result<LoggedModelStatus> {
    LoggedModelStatus::parse(s).ok_or_else(|| {
        rusqlite::Error::FromSqlConversionFailure(
            6,
            rusqlite::types::Type::Text,
            format!("unexpected logged model status '{s}' in database").into(),
        )
    })
}

fn from_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<LoggedModel> {
    Ok(LoggedModel {
        model_id: r.get(0)?,
        experiment_id: r.get::<_, i64>(1)?.to_string(),
        name: r.get(2)?,
        artifact_location: r.get(3)?,
        creation_timestamp_ms: r.get(4)?,
        last_updated_timestamp_ms: r.get(5)?,
        status: model_status(&r.get::<_, String>(6)?)?,
        status_message: r.get(7)?,
        model_type: r.get(8)?,
        source_run_id: r.get(9)?,
        lifecycle_stage: lifecycle(&r.get::<_, String>(10)?)?,
        tags: Vec::new(),
        params: Vec::new(),
        metrics: Vec::new(),
    })
}

pub(crate) fn insert(conn: &Connection, m: &LoggedModel) -> Result<()> {
    let experiment_id = experiment_id_to_i64(&m.experiment_id)?;
    conn.prepare_cached(&format!(
        "INSERT INTO logged_models ({COLUMNS}) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)"
    ))
    .and_then(|mut s| {
        s.execute(params![
            m.model_id,
            experiment_id,
            m.name,
            m.artifact_location,
            m.creation_timestamp_ms,
            m.last_updated_timestamp_ms,
            m.status.as_str(),
            m.status_message,
            m.model_type,
            m.source_run_id,
            m.lifecycle_stage.as_str(),
        ])
    })
    .map_err(db_err)?;
    insert_params(conn, &m.model_id, &m.params)?;
    upsert_tags(conn, &m.model_id, &m.tags)
}

fn insert_params(conn: &Connection, model_id: &str, params: &[Param]) -> Result<()> {
    let mut stmt = conn
        .prepare_cached(
            "INSERT INTO logged_model_params (model_id, key, value) VALUES (?1, ?2, ?3) \
             ON CONFLICT (model_id, key) DO NOTHING",
        )
        .map_err(db_err)?;
    for p in params {
        stmt.execute(params![model_id, p.key, p.value])
            .map_err(db_err)?;
    }
    Ok(())
}

fn upsert_tags(conn: &Connection, model_id: &str, tags: &[Tag]) -> Result<()> {
    let mut stmt = conn
        .prepare_cached(
            "INSERT INTO logged_model_tags (model_id, key, value) VALUES (?1, ?2, ?3) \
             ON CONFLICT (model_id, key) DO UPDATE SET value = excluded.value",
        )
        .map_err(db_err)?;
    for t in tags {
        stmt.execute(params![model_id, t.key, t.value])
            .map_err(db_err)?;
    }
    Ok(())
}

/// Fails with RESOURCE_DOES_NOT_EXIST unless the model exists.
fn require(conn: &Connection, model_id: &str) -> Result<()> {
    let found: Option<i64> = conn
        .prepare_cached("SELECT 1 FROM logged_models WHERE model_id = ?1")
        .and_then(|mut s| s.query_row([model_id], |r| r.get(0)).optional())
        .map_err(db_err)?;
    found.map(|_| ()).ok_or_else(|| not_found(model_id))
}

fn touch(conn: &Connection, model_id: &str, now: i64) -> Result<()> {
    conn.prepare_cached(
        "UPDATE logged_models SET last_updated_timestamp_ms = ?1 WHERE model_id = ?2",
    )
    .and_then(|mut s| s.execute(params![now, model_id]))
    .map_err(db_err)?;
    Ok(())
}

/// Checks for conflicting values before writing anything (see `writer.rs`).
pub(crate) fn log_params(
    conn: &Connection,
    model_id: &str,
    params: &[Param],
    now: i64,
) -> Result<()> {
    require(conn, model_id)?;
    let mut stmt = conn
        .prepare_cached("SELECT value FROM logged_model_params WHERE model_id = ?1 AND key = ?2")
        .map_err(db_err)?;
    for p in params {
        let old: Option<String> = stmt
            .query_row(params![model_id, p.key], |r| r.get(0))
            .optional()
            .map_err(db_err)?;
        if let Some(old) = old.filter(|old| *old != p.value) {
            return Err(Error::invalid(format!(
                "Changing param values is not allowed. Param with key='{}' was already logged \
                 with value='{old}' for logged model ID='{model_id}'. Attempted logging new \
                 value '{}'.",
                p.key, p.value
            )));
        }
    }
    insert_params(conn, model_id, params)?;
    touch(conn, model_id, now)
}

pub(crate) fn set_status(
    conn: &Connection,
    model_id: &str,
    status: LoggedModelStatus,
    now: i64,
) -> Result<()> {
    require(conn, model_id)?;
    conn.prepare_cached(
        "UPDATE logged_models SET status = ?1, last_updated_timestamp_ms = ?2 WHERE model_id = ?3",
    )
    .and_then(|mut s| s.execute(params![status.as_str(), now, model_id]))
    .map_err(db_err)?;
    Ok(())
}

pub(crate) fn set_lifecycle(
    conn: &Connection,
    model_id: &str,
    stage: LifecycleStage,
    now: i64,
) -> Result<()> {
    require(conn, model_id)?;
    conn.prepare_cached(
        "UPDATE logged_models SET lifecycle_stage = ?1, last_updated_timestamp_ms = ?2 \
         WHERE model_id = ?3",
    )
    .and_then(|mut s| s.execute(params![stage.as_str(), now, model_id]))
    .map_err(db_err)?;
    Ok(())
}

pub(crate) fn set_tags(conn: &Connection, model_id: &str, tags: &[Tag], now: i64) -> Result<()> {
    require(conn, model_id)?;
    upsert_tags(conn, model_id, tags)?;
    touch(conn, model_id, now)
}

pub(crate) fn delete_tag(conn: &Connection, model_id: &str, key: &str) -> Result<bool> {
    require(conn, model_id)?;
    let n = conn
        .prepare_cached("DELETE FROM logged_model_tags WHERE model_id = ?1 AND key = ?2")
        .and_then(|mut s| s.execute(params![model_id, key]))
        .map_err(db_err)?;
    Ok(n > 0)
}

pub(crate) fn get(conn: &Connection, model_id: &str) -> Result<Option<LoggedModel>> {
    Ok(load(conn, &[model_id.to_owned()])?.pop())
}

/// The models with these IDs, in the given order, with tags, params and metrics.
pub(crate) fn load(conn: &Connection, ids: &[String]) -> Result<Vec<LoggedModel>> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let wanted = || text_array(ids.iter().map(String::as_str));
    let mut by_id: HashMap<String, LoggedModel> = HashMap::with_capacity(ids.len());
    for_each_row(
        conn,
        &format!("SELECT {COLUMNS} FROM logged_models WHERE model_id IN rarray(?1)"),
        wanted(),
        from_row,
        |m| {
            by_id.insert(m.model_id.clone(), m);
        },
    )?;
    for_each_row(
        conn,
        "SELECT model_id, key, value FROM logged_model_params WHERE model_id IN rarray(?1) \
         ORDER BY model_id, key",
        wanted(),
        |r| Ok((r.get::<_, String>(0)?, r.get(1)?, r.get(2)?)),
        |(id, key, value)| {
            if let Some(m) = by_id.get_mut(&id) {
                m.params.push(Param { key, value });
            }
        },
    )?;
    for_each_row(
        conn,
        "SELECT model_id, key, value FROM logged_model_tags WHERE model_id IN rarray(?1) \
         ORDER BY model_id, key",
        wanted(),
        |r| Ok((r.get::<_, String>(0)?, r.get(1)?, r.get(2)?)),
        |(id, key, value)| {
            if let Some(m) = by_id.get_mut(&id) {
                m.tags.push(Tag { key, value });
            }
        },
    )?;
    for_each_row(
        conn,
        "SELECT m.model_id, r.run_uuid, m.key, m.step, m.timestamp, m.value, m.is_nan, \
         m.dataset_name, m.dataset_digest FROM metrics m JOIN runs r ON r.run_key = m.run_key \
         WHERE m.model_id IN rarray(?1) ORDER BY m.model_id, m.key, m.timestamp, m.step",
        wanted(),
        |r| {
            let model_id: String = r.get(0)?;
            Ok((
                model_id.clone(),
                MetricWithRunId {
                    run_id: r.get(1)?,
                    metric: Metric {
                        key: r.get(2)?,
                        step: r.get(3)?,
                        timestamp: r.get(4)?,
                        value: metric_value_from_db(r.get(5)?, r.get(6)?),
                        model_id: Some(model_id),
                        dataset_name: r.get(7)?,
                        dataset_digest: r.get(8)?,
                    },
                },
            ))
        },
        |(id, metric)| {
            if let Some(m) = by_id.get_mut(&id) {
                m.metrics.push(metric);
            }
        },
    )?;
    Ok(ids.iter().filter_map(|id| by_id.remove(id)).collect())
}

pub(crate) fn search(conn: &Connection, q: &LoggedModelQuery) -> Result<Vec<LoggedModel>> {
    let experiment_ids: Vec<i64> = q
        .experiment_ids
        .iter()
        .filter_map(|id| id.parse().ok())
        .collect();
    let compiled = search_sql::logged_model_search_sql(&experiment_ids, q);
    let model_ids: Vec<String> = ids(conn, compiled)?;
    load(conn, &model_ids)
}
