//! SQL for MLflow 3 logged models, their params and tags, and their metrics (the `metrics` rows
//! of any run that name the model). Writes lock the model row before its params or tags.

use std::collections::HashMap;

use keel_core::store::LoggedModelQuery;
use keel_core::*;
use sqlx::{PgConnection, Row};

use super::convert::{
    experiment_id_to_i64, experiment_ids, lifecycle, metric_value_from_db, model_status,
};
use super::error::PgResult;
use super::search::ids;
use crate::search_sql::{self, Dialect};

const COLUMNS: &str = "model_id, experiment_id, name, artifact_location, creation_timestamp_ms, \
     last_updated_timestamp_ms, status, status_message, model_type, source_run_id, lifecycle_stage";

fn not_found(model_id: &str) -> Error {
    Error::not_found(format!("Logged model with ID '{model_id}' not found."))
}

pub(crate) async fn insert(conn: &mut PgConnection, m: &LoggedModel) -> PgResult<()> {
    let experiment_id = experiment_id_to_i64(&m.experiment_id)?;
    sqlx::query(&format!(
        "INSERT INTO logged_models ({COLUMNS}) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)"
    ))
    .bind(&m.model_id)
    .bind(experiment_id)
    .bind(&m.name)
    .bind(&m.artifact_location)
    .bind(m.creation_timestamp_ms)
    .bind(m.last_updated_timestamp_ms)
    .bind(m.status.as_str())
    .bind(m.status_message.as_deref())
    .bind(m.model_type.as_deref())
    .bind(m.source_run_id.as_deref())
    .bind(m.lifecycle_stage.as_str())
    .execute(&mut *conn)
    .await?;
    insert_params(conn, &m.model_id, &m.params).await?;
    upsert_tags(conn, &m.model_id, &m.tags).await
}

/// Inserts params whose keys are new and returns the stored values of the given keys.
async fn insert_params(
    conn: &mut PgConnection,
    model_id: &str,
    params: &[Param],
) -> PgResult<HashMap<String, String>> {
    if params.is_empty() {
        return Ok(HashMap::new());
    }
    let mut sorted: Vec<&Param> = params.iter().collect();
    sorted.sort_by(|a, b| a.key.cmp(&b.key));
    let keys: Vec<&str> = sorted.iter().map(|p| p.key.as_str()).collect();
    let values: Vec<&str> = sorted.iter().map(|p| p.value.as_str()).collect();
    sqlx::query(
        "INSERT INTO logged_model_params (model_id, key, value) \
         SELECT $1, k, v FROM UNNEST($2::text[], $3::text[]) AS p (k, v) \
         ON CONFLICT (model_id, key) DO NOTHING",
    )
    .bind(model_id)
    .bind(&keys)
    .bind(&values)
    .execute(&mut *conn)
    .await?;
    let stored: Vec<(String, String)> = sqlx::query_as(
        "SELECT key, value FROM logged_model_params WHERE model_id = $1 AND key = ANY($2)",
    )
    .bind(model_id)
    .bind(&keys)
    .fetch_all(&mut *conn)
    .await?;
    Ok(stored.into_iter().collect())
}

/// Sets tags; when a key appears more than once, its last value wins.
async fn upsert_tags(conn: &mut PgConnection, model_id: &str, tags: &[Tag]) -> PgResult<()> {
    if tags.is_empty() {
        return Ok(());
    }
    let mut last: HashMap<&str, &str> = HashMap::with_capacity(tags.len());
    for t in tags {
        last.insert(&t.key, &t.value);
    }
    let mut rows: Vec<(&str, &str)> = last.into_iter().collect();
    rows.sort_unstable();
    let (keys, values): (Vec<&str>, Vec<&str>) = rows.into_iter().unzip();
    sqlx::query(
        "INSERT INTO logged_model_tags (model_id, key, value) \
         SELECT $1, k, v FROM UNNEST($2::text[], $3::text[]) AS t (k, v) \
         ON CONFLICT (model_id, key) DO UPDATE SET value = excluded.value",
    )
    .bind(model_id)
    .bind(&keys)
    .bind(&values)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// Locks the model row; fails with RESOURCE_DOES_NOT_EXIST unless the model exists.
async fn lock(conn: &mut PgConnection, model_id: &str) -> PgResult<()> {
    let found: Option<i32> =
        sqlx::query_scalar("SELECT 1 FROM logged_models WHERE model_id = $1 FOR NO KEY UPDATE")
            .bind(model_id)
            .fetch_optional(&mut *conn)
            .await?;
    found.map(|_| ()).ok_or_else(|| not_found(model_id).into())
}

async fn touch(conn: &mut PgConnection, model_id: &str, now: i64) -> PgResult<()> {
    sqlx::query("UPDATE logged_models SET last_updated_timestamp_ms = $1 WHERE model_id = $2")
        .bind(now)
        .bind(model_id)
        .execute(&mut *conn)
        .await?;
    Ok(())
}

/// Adds params; a key that already holds another value fails the whole request.
pub(crate) async fn log_params(
    conn: &mut PgConnection,
    model_id: &str,
    params: &[Param],
    now: i64,
) -> PgResult<()> {
    lock(conn, model_id).await?;
    let stored = insert_params(conn, model_id, params).await?;
    for p in params {
        if let Some(old) = stored.get(&p.key).filter(|old| **old != p.value) {
            return Err(Error::invalid(format!(
                "Changing param values is not allowed. Param with key='{}' was already logged \
                 with value='{old}' for logged model ID='{model_id}'. Attempted logging new \
                 value '{}'.",
                p.key, p.value
            ))
            .into());
        }
    }
    touch(conn, model_id, now).await
}

pub(crate) async fn set_status(
    conn: &mut PgConnection,
    model_id: &str,
    status: LoggedModelStatus,
    now: i64,
) -> PgResult<()> {
    lock(conn, model_id).await?;
    sqlx::query(
        "UPDATE logged_models SET status = $1, last_updated_timestamp_ms = $2 WHERE model_id = $3",
    )
    .bind(status.as_str())
    .bind(now)
    .bind(model_id)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

pub(crate) async fn set_lifecycle(
    conn: &mut PgConnection,
    model_id: &str,
    stage: LifecycleStage,
    now: i64,
) -> PgResult<()> {
    lock(conn, model_id).await?;
    sqlx::query(
        "UPDATE logged_models SET lifecycle_stage = $1, last_updated_timestamp_ms = $2 \
         WHERE model_id = $3",
    )
    .bind(stage.as_str())
    .bind(now)
    .bind(model_id)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

pub(crate) async fn set_tags(
    conn: &mut PgConnection,
    model_id: &str,
    tags: &[Tag],
    now: i64,
) -> PgResult<()> {
    lock(conn, model_id).await?;
    upsert_tags(conn, model_id, tags).await?;
    touch(conn, model_id, now).await
}

pub(crate) async fn delete_tag(
    conn: &mut PgConnection,
    model_id: &str,
    key: &str,
) -> PgResult<bool> {
    lock(conn, model_id).await?;
    let n = sqlx::query("DELETE FROM logged_model_tags WHERE model_id = $1 AND key = $2")
        .bind(model_id)
        .bind(key)
        .execute(&mut *conn)
        .await?
        .rows_affected();
    Ok(n > 0)
}

pub(crate) async fn get(conn: &mut PgConnection, model_id: &str) -> PgResult<Option<LoggedModel>> {
    Ok(load(conn, &[model_id.to_owned()]).await?.pop())
}

/// The models with these IDs, in the given order, with tags, params and metrics.
pub(crate) async fn load(conn: &mut PgConnection, ids: &[String]) -> PgResult<Vec<LoggedModel>> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let rows = sqlx::query(&format!(
        "SELECT {COLUMNS} FROM logged_models WHERE model_id = ANY($1)"
    ))
    .bind(ids)
    .fetch_all(&mut *conn)
    .await?;
    let mut by_id: HashMap<String, LoggedModel> = HashMap::with_capacity(ids.len());
    for r in rows {
        let m = LoggedModel {
            model_id: r.try_get(0)?,
            experiment_id: r.try_get::<i64, _>(1)?.to_string(),
            name: r.try_get(2)?,
            artifact_location: r.try_get(3)?,
            creation_timestamp_ms: r.try_get(4)?,
            last_updated_timestamp_ms: r.try_get(5)?,
            status: model_status(&r.try_get::<String, _>(6)?)?,
            status_message: r.try_get(7)?,
            model_type: r.try_get(8)?,
            source_run_id: r.try_get(9)?,
            lifecycle_stage: lifecycle(&r.try_get::<String, _>(10)?)?,
            tags: Vec::new(),
            params: Vec::new(),
            metrics: Vec::new(),
        };
        by_id.insert(m.model_id.clone(), m);
    }
    let params: Vec<(String, String, String)> = sqlx::query_as(
        "SELECT model_id, key, value FROM logged_model_params WHERE model_id = ANY($1) \
         ORDER BY model_id, key",
    )
    .bind(ids)
    .fetch_all(&mut *conn)
    .await?;
    for (id, key, value) in params {
        if let Some(m) = by_id.get_mut(&id) {
            m.params.push(Param { key, value });
        }
    }
    let tags: Vec<(String, String, String)> = sqlx::query_as(
        "SELECT model_id, key, value FROM logged_model_tags WHERE model_id = ANY($1) \
         ORDER BY model_id, key",
    )
    .bind(ids)
    .fetch_all(&mut *conn)
    .await?;
    for (id, key, value) in tags {
        if let Some(m) = by_id.get_mut(&id) {
            m.tags.push(Tag { key, value });
        }
    }
    type MetricRow = (
        String,
        String,
        String,
        i64,
        i64,
        f64,
        i16,
        Option<String>,
        Option<String>,
    );
    let metrics: Vec<MetricRow> = sqlx::query_as(
        "SELECT m.model_id, r.run_uuid, m.key, m.step, m.timestamp, m.value, m.is_nan, \
         m.dataset_name, m.dataset_digest FROM metrics m JOIN runs r ON r.run_key = m.run_key \
         WHERE m.model_id = ANY($1) \
         ORDER BY m.model_id, m.key, m.timestamp, m.step, r.run_uuid, m.value, m.is_nan",
    )
    .bind(ids)
    .fetch_all(&mut *conn)
    .await?;
    for (model_id, run_id, key, step, timestamp, value, is_nan, dataset_name, dataset_digest) in
        metrics
    {
        if let Some(m) = by_id.get_mut(&model_id) {
            m.metrics.push(MetricWithRunId {
                run_id,
                metric: Metric {
                    key,
                    step,
                    timestamp,
                    value: metric_value_from_db(value, is_nan),
                    model_id: Some(model_id),
                    dataset_name,
                    dataset_digest,
                },
            });
        }
    }
    Ok(ids.iter().filter_map(|id| by_id.remove(id)).collect())
}

pub(crate) async fn search(
    conn: &mut PgConnection,
    q: &LoggedModelQuery,
) -> PgResult<Vec<LoggedModel>> {
    let compiled = search_sql::logged_model_search_sql_in(
        Dialect::Postgres,
        &experiment_ids(&q.experiment_ids),
        q,
    );
    let model_ids: Vec<String> = ids(conn, &compiled).await?;
    load(conn, &model_ids).await
}
