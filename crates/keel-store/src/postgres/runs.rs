//! SQL for writing runs and what is logged to them: params, tags and metrics.
//!
//! A write first locks the run row (`FOR SHARE` when it only adds child rows, so batches to one
//! run proceed side by side; `FOR NO KEY UPDATE` when it changes the row or reads-then-writes a
//! tag), then writes child tables in a fixed order, each table's rows sorted by key. Concurrent
//! writers therefore always take locks in the same order and cannot deadlock each other.

use std::collections::HashMap;
use std::collections::hash_map::Entry;

use keel_core::store::{LogBatch, RunUpdate, TagUpdate};
use keel_core::*;
use sqlx::{PgConnection, Row};

use super::convert::{experiment_id_to_i64, metric_value_to_db, supersedes_stored};
use super::error::PgResult;
use super::load;

const RUN_NAME_TAG: &str = keel_core::tracking::RUN_NAME_TAG;

/// How a write locks the run row.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum RunLock {
    /// Adds child rows only: other such writers may hold it too.
    Share,
    /// Changes the run row or needs a tag to stay as read: one writer at a time.
    Exclusive,
}

pub(crate) async fn insert(conn: &mut PgConnection, run: &Run) -> PgResult<()> {
    let i = &run.info;
    let run_key: i64 = sqlx::query_scalar(
        "INSERT INTO runs (run_uuid, experiment_id, name, user_id, status, start_time, end_time, \
         artifact_uri, lifecycle_stage) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) \
         RETURNING run_key",
    )
    .bind(&i.run_id)
    .bind(experiment_id_to_i64(&i.experiment_id)?)
    .bind(&i.run_name)
    .bind(&i.user_id)
    .bind(i.status.as_str())
    .bind(i.start_time)
    .bind(i.end_time)
    .bind(&i.artifact_uri)
    .bind(i.lifecycle_stage.as_str())
    .fetch_one(&mut *conn)
    .await?;
    insert_params(conn, run_key, &run.data.params).await?;
    upsert_tags(conn, run_key, &run.data.tags).await
}

/// Locks the run row and returns its `run_key` and experiment; fails with
/// RESOURCE_DOES_NOT_EXIST or INVALID_PARAMETER_VALUE unless the run is active.
pub(crate) async fn require_active(
    conn: &mut PgConnection,
    run_id: &str,
    lock: RunLock,
) -> PgResult<(i64, i64)> {
    let sql = match lock {
        RunLock::Share => {
            "SELECT run_key, experiment_id, lifecycle_stage FROM runs WHERE run_uuid = $1 \
             FOR SHARE"
        }
        RunLock::Exclusive => {
            "SELECT run_key, experiment_id, lifecycle_stage FROM runs WHERE run_uuid = $1 \
             FOR NO KEY UPDATE"
        }
    };
    let found: Option<(i64, i64, String)> = sqlx::query_as(sql)
        .bind(run_id)
        .fetch_optional(&mut *conn)
        .await?;
    match found {
        None => Err(not_found(run_id).into()),
        Some((run_key, experiment_id, stage)) if stage == "active" => Ok((run_key, experiment_id)),
        Some((_, _, other)) => Err(not_active(run_id, &other).into()),
    }
}

/// The error for a write to a run that does not exist.
pub(crate) fn not_found(run_id: &str) -> Error {
    Error::not_found(format!("Run with id={run_id} not found"))
}

/// The error for a write to a run in lifecycle stage `stage` (not active).
pub(crate) fn not_active(run_id: &str, stage: &str) -> Error {
    Error::invalid(format!(
        "The run {run_id} must be in the 'active' state. Current state is {stage}."
    ))
}

pub(crate) async fn update(conn: &mut PgConnection, u: &RunUpdate) -> PgResult<RunInfo> {
    let (run_key, _) = require_active(conn, &u.run_id, RunLock::Exclusive).await?;
    sqlx::query(
        "UPDATE runs SET status = COALESCE($1, status), end_time = COALESCE($2, end_time), \
         name = COALESCE($3, name) WHERE run_key = $4",
    )
    .bind(u.status.map(RunStatus::as_str))
    .bind(u.end_time)
    .bind(u.run_name.as_deref())
    .bind(run_key)
    .execute(&mut *conn)
    .await?;
    if let Some(name) = &u.run_name {
        upsert_tags(conn, run_key, &[Tag::new(RUN_NAME_TAG, name.clone())]).await?;
    }
    load::run_info(conn, &u.run_id)
        .await?
        .ok_or_else(|| Error::not_found(format!("Run with id={} not found", u.run_id)).into())
}

pub(crate) async fn set_lifecycle(
    conn: &mut PgConnection,
    run_id: &str,
    stage: LifecycleStage,
    deleted_time: Option<i64>,
) -> PgResult<()> {
    sqlx::query("UPDATE runs SET lifecycle_stage = $1, deleted_time = $2 WHERE run_uuid = $3")
        .bind(stage.as_str())
        .bind(deleted_time)
        .bind(run_id)
        .execute(&mut *conn)
        .await?;
    Ok(())
}

/// Logs params, tags and metrics in one transaction; a param conflict rolls all of it back.
pub(crate) async fn log_batch(conn: &mut PgConnection, b: &LogBatch) -> PgResult<()> {
    let lock = if b.run_name.is_some() {
        RunLock::Exclusive
    } else {
        RunLock::Share
    };
    let (run_key, _) = require_active(conn, &b.run_id, lock).await?;
    let conflicts = insert_params(conn, run_key, &b.params).await?;
    if !conflicts.is_empty() {
        return Err(param_conflict(b, &conflicts).into());
    }
    upsert_tags(conn, run_key, &b.tags).await?;
    if let Some(name) = &b.run_name {
        sqlx::query("UPDATE runs SET name = $1 WHERE run_key = $2")
            .bind(name)
            .bind(run_key)
            .execute(&mut *conn)
            .await?;
    }
    insert_metrics(conn, run_key, &b.metrics).await
}

/// The error for params that already hold other values: `(key, stored value, new value)`.
fn param_conflict(b: &LogBatch, conflicts: &[(&str, String, &str)]) -> Error {
    if let [(key, old, new)] = conflicts {
        if b.params.len() == 1 && b.metrics.is_empty() && b.tags.is_empty() {
            // A single log-param gets the reference's log_param message.
            return Error::invalid(format!(
                "Changing param values is not allowed. Param with key='{key}' was already logged \
                 with value='{old}' for run ID='{}'. Attempted logging new value '{new}'.",
                b.run_id
            ));
        }
    }
    let listed: Vec<String> = conflicts
        .iter()
        .map(|(key, old, new)| {
            format!("{{'key': '{key}', 'old_value': '{old}', 'new_value': '{new}'}}")
        })
        .collect();
    Error::invalid(format!(
        "Changing param values is not allowed. Params were already logged='[{}]' for run \
         ID='{}'.",
        listed.join(", "),
        b.run_id
    ))
}

/// Inserts params whose keys are new and returns, in request order, those whose key already
/// holds a different value (`(key, stored value, new value)`). Inserting first and comparing
/// after sees values committed by concurrent writers, which a check before inserting would miss.
async fn insert_params<'p>(
    conn: &mut PgConnection,
    run_key: i64,
    params: &'p [Param],
) -> PgResult<Vec<(&'p str, String, &'p str)>> {
    if params.is_empty() {
        return Ok(Vec::new());
    }
    let mut sorted: Vec<&Param> = params.iter().collect();
    sorted.sort_by(|a, b| a.key.cmp(&b.key));
    let keys: Vec<&str> = sorted.iter().map(|p| p.key.as_str()).collect();
    let values: Vec<&str> = sorted.iter().map(|p| p.value.as_str()).collect();
    let inserted: Vec<String> = sqlx::query_scalar(
        "INSERT INTO params (run_key, key, value) \
         SELECT $1, k, v FROM UNNEST($2::text[], $3::text[]) AS p (k, v) \
         ON CONFLICT (run_key, key) DO NOTHING RETURNING key",
    )
    .bind(run_key)
    .bind(&keys)
    .bind(&values)
    .fetch_all(&mut *conn)
    .await?;
    if inserted.len() == params.len() {
        return Ok(Vec::new());
    }
    let stored: HashMap<String, String> =
        sqlx::query_as("SELECT key, value FROM params WHERE run_key = $1 AND key = ANY($2)")
            .bind(run_key)
            .bind(&keys)
            .fetch_all(&mut *conn)
            .await?
            .into_iter()
            .collect();
    Ok(params
        .iter()
        .filter_map(|p| {
            let old = stored.get(&p.key)?;
            (*old != p.value).then(|| (p.key.as_str(), old.clone(), p.value.as_str()))
        })
        .collect())
}

/// Sets tags; when a key appears more than once, its last value wins.
async fn upsert_tags(conn: &mut PgConnection, run_key: i64, tags: &[Tag]) -> PgResult<()> {
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
        "INSERT INTO tags (run_key, key, value) \
         SELECT $1, k, v FROM UNNEST($2::text[], $3::text[]) AS t (k, v) \
         ON CONFLICT (run_key, key) DO UPDATE SET value = excluded.value",
    )
    .bind(run_key)
    .bind(&keys)
    .bind(&values)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// Stores metric points (identical points once) and moves each key's latest value forward.
pub(crate) async fn insert_metrics(
    conn: &mut PgConnection,
    run_key: i64,
    metrics: &[Metric],
) -> PgResult<()> {
    if metrics.is_empty() {
        return Ok(());
    }
    let mut rows: Vec<(&Metric, f64, i16)> = metrics
        .iter()
        .map(|m| {
            let (value, is_nan) = metric_value_to_db(m.value);
            (m, value, is_nan)
        })
        .collect();
    // Primary-key order: (key, timestamp, step, value, is_nan).
    rows.sort_by(|(a, av, an), (b, bv, bn)| {
        (&a.key, a.timestamp, a.step)
            .cmp(&(&b.key, b.timestamp, b.step))
            .then_with(|| av.total_cmp(bv))
            .then_with(|| an.cmp(bn))
    });
    sqlx::query(
        "INSERT INTO metrics (run_key, key, step, timestamp, value, is_nan, model_id, \
         dataset_name, dataset_digest) \
         SELECT $1, * FROM UNNEST($2::text[], $3::bigint[], $4::bigint[], \
             $5::double precision[], $6::smallint[], $7::text[], $8::text[], $9::text[]) \
         ON CONFLICT DO NOTHING",
    )
    .bind(run_key)
    .bind(
        rows.iter()
            .map(|(m, _, _)| m.key.as_str())
            .collect::<Vec<_>>(),
    )
    .bind(rows.iter().map(|(m, _, _)| m.step).collect::<Vec<_>>())
    .bind(rows.iter().map(|(m, _, _)| m.timestamp).collect::<Vec<_>>())
    .bind(rows.iter().map(|(_, v, _)| *v).collect::<Vec<_>>())
    .bind(rows.iter().map(|(_, _, n)| *n).collect::<Vec<_>>())
    .bind(
        rows.iter()
            .map(|(m, _, _)| m.model_id.as_deref())
            .collect::<Vec<_>>(),
    )
    .bind(
        rows.iter()
            .map(|(m, _, _)| m.dataset_name.as_deref())
            .collect::<Vec<_>>(),
    )
    .bind(
        rows.iter()
            .map(|(m, _, _)| m.dataset_digest.as_deref())
            .collect::<Vec<_>>(),
    )
    .execute(&mut *conn)
    .await?;

    // Only the newest point per key can change the run's latest value.
    let mut newest: HashMap<&str, &Metric> = HashMap::new();
    for m in metrics {
        match newest.entry(m.key.as_str()) {
            Entry::Occupied(mut e) if supersedes_stored(m, e.get()) => {
                e.insert(m);
            }
            Entry::Occupied(_) => {}
            Entry::Vacant(e) => {
                e.insert(m);
            }
        }
    }
    let mut latest: Vec<&Metric> = newest.into_values().collect();
    latest.sort_by(|a, b| a.key.cmp(&b.key));
    let stored: Vec<(f64, i16)> = latest.iter().map(|m| metric_value_to_db(m.value)).collect();
    sqlx::query(
        "INSERT INTO latest_metrics (run_key, key, step, timestamp, value, is_nan) \
         SELECT $1, * FROM UNNEST($2::text[], $3::bigint[], $4::bigint[], \
             $5::double precision[], $6::smallint[]) \
         ON CONFLICT (run_key, key) DO UPDATE SET step = excluded.step, \
         timestamp = excluded.timestamp, value = excluded.value, is_nan = excluded.is_nan \
         WHERE (excluded.step, excluded.timestamp, excluded.value) > \
               (latest_metrics.step, latest_metrics.timestamp, latest_metrics.value)",
    )
    .bind(run_key)
    .bind(latest.iter().map(|m| m.key.as_str()).collect::<Vec<_>>())
    .bind(latest.iter().map(|m| m.step).collect::<Vec<_>>())
    .bind(latest.iter().map(|m| m.timestamp).collect::<Vec<_>>())
    .bind(stored.iter().map(|(v, _)| *v).collect::<Vec<_>>())
    .bind(stored.iter().map(|(_, n)| *n).collect::<Vec<_>>())
    .execute(&mut *conn)
    .await?;
    Ok(())
}

pub(crate) async fn delete_tag(conn: &mut PgConnection, run_id: &str, key: &str) -> PgResult<bool> {
    let (run_key, _) = require_active(conn, run_id, RunLock::Share).await?;
    let n = sqlx::query("DELETE FROM tags WHERE run_key = $1 AND key = $2")
        .bind(run_key)
        .bind(key)
        .execute(&mut *conn)
        .await?
        .rows_affected();
    Ok(n > 0)
}

/// Sets a tag to `update(current value)`. The run row stays locked from the read to the commit,
/// so concurrent updates of the run's tags apply one after another and none is lost.
/// A retried transaction calls `update` again on the value it then reads.
pub(crate) async fn update_tag(
    conn: &mut PgConnection,
    run_id: &str,
    key: &str,
    update: &TagUpdate,
) -> PgResult<()> {
    let (run_key, _) = require_active(conn, run_id, RunLock::Exclusive).await?;
    let current: Option<String> =
        sqlx::query("SELECT value FROM tags WHERE run_key = $1 AND key = $2")
            .bind(run_key)
            .bind(key)
            .fetch_optional(&mut *conn)
            .await?
            .map(|r| r.try_get(0))
            .transpose()?;
    let value = update(current.as_deref())?;
    upsert_tags(conn, run_key, &[Tag::new(key, value)]).await
}
