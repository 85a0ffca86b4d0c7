//! SQL for writing runs and what is logged to them, and for reading metric history.

use keel_core::store::{LogBatch, LogInputs, RunUpdate};
use keel_core::*;
use std::collections::HashMap;
use std::collections::hash_map::Entry;

use rusqlite::{Connection, OptionalExtension, ToSql, params};

use super::convert::{experiment_id_to_i64, int_array, metric_value_from_db, metric_value_to_db};
use super::db_err;
use super::load;

const RUN_NAME_TAG: &str = keel_core::tracking::RUN_NAME_TAG;

pub(crate) fn insert(conn: &Connection, run: &Run) -> Result<()> {
    let i = &run.info;
    conn.prepare_cached(
        "INSERT INTO runs (run_uuid, experiment_id, name, user_id, status, start_time, end_time, \
         artifact_uri, lifecycle_stage) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
    )
    .and_then(|mut s| {
        s.execute(params![
            i.run_id,
            experiment_id_to_i64(&i.experiment_id)
                .map_err(|e| { rusqlite::Error::ToSqlConversionFailure(Box::new(e)) })?,
            i.run_name,
            i.user_id,
            i.status.as_str(),
            i.start_time,
            i.end_time,
            i.artifact_uri,
            i.lifecycle_stage.as_str()
        ])
    })
    .map_err(db_err)?;
    let run_key = conn.last_insert_rowid();
    upsert_tags(conn, run_key, &run.data.tags)?;
    for p in &run.data.params {
        insert_param(conn, run_key, p)?;
    }
    Ok(())
}

/// The run's `run_key`; fails with RESOURCE_DOES_NOT_EXIST or INVALID_PARAMETER_VALUE unless
/// the run is active.
fn require_active(conn: &Connection, run_id: &str) -> Result<i64> {
    let found: Option<(i64, String)> = conn
        .prepare_cached("SELECT run_key, lifecycle_stage FROM runs WHERE run_uuid = ?1")
        .and_then(|mut s| {
            s.query_row([run_id], |r| Ok((r.get(0)?, r.get(1)?)))
                .optional()
        })
        .map_err(db_err)?;
    match found {
        None => Err(Error::not_found(format!("Run with id={run_id} not found"))),
        Some((run_key, stage)) if stage == "active" => Ok(run_key),
        Some((_, other)) => Err(Error::invalid(format!(
            "The run {run_id} must be in the 'active' state. Current state is {other}."
        ))),
    }
}

pub(crate) fn update(conn: &Connection, u: &RunUpdate) -> Result<RunInfo> {
    let run_key = require_active(conn, &u.run_id)?;
    conn.prepare_cached(
        "UPDATE runs SET status = COALESCE(?1, status), end_time = COALESCE(?2, end_time), \
         name = COALESCE(?3, name) WHERE run_uuid = ?4",
    )
    .and_then(|mut s| {
        s.execute(params![
            u.status.map(RunStatus::as_str),
            u.end_time,
            u.run_name,
            u.run_id
        ])
    })
    .map_err(db_err)?;
    if let Some(name) = &u.run_name {
        upsert_tags(conn, run_key, &[Tag::new(RUN_NAME_TAG, name.clone())])?;
    }
    load::run_info(conn, &u.run_id)?
        .ok_or_else(|| Error::not_found(format!("Run with id={} not found", u.run_id)))
}

pub(crate) fn set_lifecycle(
    conn: &Connection,
    run_id: &str,
    stage: LifecycleStage,
    deleted_time: Option<i64>,
) -> Result<()> {
    conn.execute(
        "UPDATE runs SET lifecycle_stage = ?1, deleted_time = ?2 WHERE run_uuid = ?3",
        params![stage.as_str(), deleted_time, run_id],
    )
    .map_err(db_err)?;
    Ok(())
}

/// Every check that can reject the batch runs before the first write, so a rejected batch
/// leaves the transaction untouched (see `writer.rs`).
pub(crate) fn log_batch(conn: &Connection, b: &LogBatch) -> Result<()> {
    let run_key = require_active(conn, &b.run_id)?;
    let mut conflicts = Vec::new();
    for p in &b.params {
        if let Some(old) = logged_param(conn, run_key, &p.key)? {
            if old != p.value {
                conflicts.push((p.key.as_str(), old, p.value.as_str()));
            }
        }
    }
    if let [conflict] = conflicts.as_slice() {
        if b.params.len() == 1 && b.metrics.is_empty() && b.tags.is_empty() {
            // A single log-param gets the reference's log_param message.
            let p = &b.params[0];
            return Err(Error::invalid(format!(
                "Changing param values is not allowed. Param with key='{}' was already logged \
                 with value='{}' for run ID='{}'. Attempted logging new value '{}'.",
                p.key, conflict.1, b.run_id, p.value
            )));
        }
    }
    if !conflicts.is_empty() {
        let listed: Vec<String> = conflicts
            .iter()
            .map(|(key, old, new)| {
                format!("{{'key': '{key}', 'old_value': '{old}', 'new_value': '{new}'}}")
            })
            .collect();
        return Err(Error::invalid(format!(
            "Changing param values is not allowed. Params were already logged='[{}]' for run \
             ID='{}'.",
            listed.join(", "),
            b.run_id
        )));
    }
    for p in &b.params {
        insert_param(conn, run_key, p)?;
    }
    upsert_tags(conn, run_key, &b.tags)?;
    if let Some(name) = &b.run_name {
        conn.prepare_cached("UPDATE runs SET name = ?1 WHERE run_uuid = ?2")
            .and_then(|mut s| s.execute(params![name, b.run_id]))
            .map_err(db_err)?;
    }
    insert_metrics(conn, run_key, &b.metrics)
}

/// The value already logged for a param key, if any.
fn logged_param(conn: &Connection, run_key: i64, key: &str) -> Result<Option<String>> {
    conn.prepare_cached("SELECT value FROM params WHERE run_key = ?1 AND key = ?2")
        .and_then(|mut s| s.query_row(params![run_key, key], |r| r.get(0)).optional())
        .map_err(db_err)
}

/// Inserts a param; an existing value for the key is kept (callers check for conflicts first).
fn insert_param(conn: &Connection, run_key: i64, p: &Param) -> Result<()> {
    conn.prepare_cached(
        "INSERT INTO params (run_key, key, value) VALUES (?1, ?2, ?3) \
         ON CONFLICT (run_key, key) DO NOTHING",
    )
    .and_then(|mut s| s.execute(params![run_key, p.key, p.value]))
    .map_err(db_err)?;
    Ok(())
}

fn upsert_tags(conn: &Connection, run_key: i64, tags: &[Tag]) -> Result<()> {
    let mut stmt = conn
        .prepare_cached(
            "INSERT INTO tags (run_key, key, value) VALUES (?1, ?2, ?3) \
             ON CONFLICT (run_key, key) DO UPDATE SET value = excluded.value",
        )
        .map_err(db_err)?;
    for t in tags {
        stmt.execute(params![run_key, t.key, t.value])
            .map_err(db_err)?;
    }
    Ok(())
}

fn insert_metrics(conn: &Connection, run_key: i64, metrics: &[Metric]) -> Result<()> {
    if metrics.is_empty() {
        return Ok(());
    }
    let stored: Vec<(f64, bool)> = metrics
        .iter()
        .map(|m| metric_value_to_db(m.value))
        .collect();
    let rows: Vec<[&dyn ToSql; 9]> = metrics
        .iter()
        .zip(&stored)
        .map(|(m, (value, is_nan))| -> [&dyn ToSql; 9] {
            [
                &run_key,
                &m.key,
                &m.step,
                &m.timestamp,
                value,
                is_nan,
                &m.model_id,
                &m.dataset_name,
                &m.dataset_digest,
            ]
        })
        .collect();
    insert_rows(
        conn,
        "INSERT INTO metrics (run_key, key, step, timestamp, value, is_nan, model_id, \
         dataset_name, dataset_digest) VALUES",
        "ON CONFLICT DO NOTHING",
        &rows,
    )?;
    // Only the newest point per key can change the run's latest value.
    let mut newest: HashMap<&str, (&Metric, &(f64, bool))> = HashMap::new();
    for (m, s) in metrics.iter().zip(&stored) {
        match newest.entry(m.key.as_str()) {
            Entry::Occupied(mut e) if supersedes_stored(m, e.get().0) => {
                e.insert((m, s));
            }
            Entry::Occupied(_) => {}
            Entry::Vacant(e) => {
                e.insert((m, s));
            }
        }
    }
    let latest: Vec<[&dyn ToSql; 6]> = newest
        .values()
        .map(|(m, (value, is_nan))| -> [&dyn ToSql; 6] {
            [&run_key, &m.key, &m.step, &m.timestamp, value, is_nan]
        })
        .collect();
    insert_rows(
        conn,
        "INSERT INTO latest_metrics (run_key, key, step, timestamp, value, is_nan) VALUES",
        "ON CONFLICT (run_key, key) DO UPDATE SET step = excluded.step, \
         timestamp = excluded.timestamp, value = excluded.value, is_nan = excluded.is_nan \
         WHERE (excluded.step, excluded.timestamp, excluded.value) > \
               (latest_metrics.step, latest_metrics.timestamp, latest_metrics.value)",
        &latest,
    )
}

/// Runs `<head> (?, ...), (?, ...) <tail>` over `rows`, many rows per statement. Chunks of 100,
/// 10 and 1 rows keep the number of distinct cached statements per table at three.
fn insert_rows<const W: usize>(
    conn: &Connection,
    head: &str,
    tail: &str,
    rows: &[[&dyn ToSql; W]],
) -> Result<()> {
    let mut rest = rows;
    while !rest.is_empty() {
        let n = [100, 10, 1]
            .into_iter()
            .find(|n| *n <= rest.len())
            .unwrap_or(1);
        let (chunk, remaining) = rest.split_at(n);
        let tuple = format!("({})", vec!["?"; W].join(", "));
        let sql = format!("{head} {} {tail}", vec![tuple.as_str(); n].join(", "));
        conn.prepare_cached(&sql)
            .and_then(|mut stmt| {
                stmt.execute(rusqlite::params_from_iter(chunk.iter().flatten().copied()))
            })
            .map_err(db_err)?;
        rest = remaining;
    }
    Ok(())
}

/// Whether `a` replaces `b` as the latest value, compared exactly as the `latest_metrics` upsert
/// compares rows: by (step, timestamp, stored value), where NaN is stored as 0. Comparing the
/// real NaN instead would make the result depend on how points are split into batches.
fn supersedes_stored(a: &Metric, b: &Metric) -> bool {
    let stored = |m: &Metric| metric_value_to_db(m.value).0;
    (a.step, a.timestamp)
        .cmp(&(b.step, b.timestamp))
        .then_with(|| {
            stored(a)
                .partial_cmp(&stored(b))
                .unwrap_or(std::cmp::Ordering::Equal)
        })
        .is_gt()
}

pub(crate) fn delete_tag(conn: &Connection, run_id: &str, key: &str) -> Result<bool> {
    let run_key = require_active(conn, run_id)?;
    let n = conn
        .execute(
            "DELETE FROM tags WHERE run_key = ?1 AND key = ?2",
            params![run_key, key],
        )
        .map_err(db_err)?;
    Ok(n > 0)
}

/// Sets a tag to `update(current value)`; the update runs (and may fail) before any write.
pub(crate) fn update_tag(
    conn: &Connection,
    run_id: &str,
    key: &str,
    update: keel_core::store::TagUpdate,
) -> Result<()> {
    let run_key = require_active(conn, run_id)?;
    let current: Option<String> = conn
        .prepare_cached("SELECT value FROM tags WHERE run_key = ?1 AND key = ?2")
        .and_then(|mut s| s.query_row(params![run_key, key], |r| r.get(0)).optional())
        .map_err(db_err)?;
    let value = update(current.as_deref())?;
    upsert_tags(conn, run_key, &[Tag::new(key, value)])
}

pub(crate) fn log_inputs(conn: &Connection, inputs: &LogInputs) -> Result<()> {
    let run_key = require_active(conn, &inputs.run_id)?;
    let experiment_id: i64 = conn
        .query_row(
            "SELECT experiment_id FROM runs WHERE run_uuid = ?1",
            [&inputs.run_id],
            |r| r.get(0),
        )
        .map_err(db_err)?;
    for new in &inputs.datasets {
        let d = &new.input.dataset;
        conn.prepare_cached(
            "INSERT INTO datasets (dataset_uuid, experiment_id, name, digest, source_type, source, \
             schema, profile) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8) \
             ON CONFLICT (experiment_id, name, digest) DO NOTHING",
        )
        .and_then(|mut s| {
            s.execute(params![
                new.dataset_uuid,
                experiment_id,
                d.name,
                d.digest,
                d.source_type,
                d.source,
                d.schema,
                d.profile
            ])
        })
        .map_err(db_err)?;
        let dataset_uuid: String = conn
            .prepare_cached(
                "SELECT dataset_uuid FROM datasets WHERE experiment_id = ?1 AND name = ?2 AND digest = ?3",
            )
            .and_then(|mut s| s.query_row(params![experiment_id, d.name, d.digest], |r| r.get(0)))
            .map_err(db_err)?;
        conn.prepare_cached(
            "INSERT INTO run_dataset_inputs (run_key, dataset_uuid) VALUES (?1, ?2) \
             ON CONFLICT DO NOTHING",
        )
        .and_then(|mut s| s.execute(params![run_key, dataset_uuid]))
        .map_err(db_err)?;
        let mut tag_stmt = conn
            .prepare_cached(
                "INSERT INTO run_dataset_input_tags (run_key, dataset_uuid, key, value) \
                 VALUES (?1, ?2, ?3, ?4) ON CONFLICT DO UPDATE SET value = excluded.value",
            )
            .map_err(db_err)?;
        for tag in &new.input.tags {
            tag_stmt
                .execute(params![run_key, dataset_uuid, tag.key, tag.value])
                .map_err(db_err)?;
        }
    }
    let mut model_stmt = conn
        .prepare_cached(
            "INSERT INTO run_model_inputs (run_key, model_id) VALUES (?1, ?2) ON CONFLICT DO NOTHING",
        )
        .map_err(db_err)?;
    for m in &inputs.models {
        model_stmt
            .execute(params![run_key, m.model_id])
            .map_err(db_err)?;
    }
    Ok(())
}

pub(crate) fn log_outputs(conn: &Connection, run_id: &str, models: &[ModelOutput]) -> Result<()> {
    let run_key = require_active(conn, run_id)?;
    let mut stmt = conn
        .prepare_cached(
            "INSERT INTO run_model_outputs (run_key, model_id, step) VALUES (?1, ?2, ?3) \
             ON CONFLICT (run_key, model_id) DO UPDATE SET step = excluded.step",
        )
        .map_err(db_err)?;
    for m in models {
        stmt.execute(params![run_key, m.model_id, m.step])
            .map_err(db_err)?;
    }
    Ok(())
}

fn metric_from_row(key_col: usize) -> impl Fn(&rusqlite::Row<'_>) -> rusqlite::Result<Metric> {
    move |r| {
        Ok(Metric {
            key: r.get(key_col)?,
            step: r.get(key_col + 1)?,
            timestamp: r.get(key_col + 2)?,
            value: metric_value_from_db(r.get(key_col + 3)?, r.get(key_col + 4)?),
            model_id: r.get(key_col + 5)?,
            dataset_name: r.get(key_col + 6)?,
            dataset_digest: r.get(key_col + 7)?,
        })
    }
}

const METRIC_COLUMNS: &str =
    "key, step, timestamp, value, is_nan, model_id, dataset_name, dataset_digest";

pub(crate) fn history(
    conn: &Connection,
    run_id: &str,
    key: &str,
    offset: i64,
    limit: i64,
) -> Result<Vec<Metric>> {
    let mut stmt = conn
        .prepare_cached(&format!(
            "SELECT {METRIC_COLUMNS} FROM metrics WHERE run_key = (SELECT run_key FROM runs WHERE run_uuid = ?1) AND key = ?2 \
             ORDER BY timestamp, step, value LIMIT ?3 OFFSET ?4"
        ))
        .map_err(db_err)?;
    let rows = stmt
        .query_map(params![run_id, key, limit, offset], metric_from_row(0))
        .map_err(db_err)?;
    rows.collect::<rusqlite::Result<Vec<_>>>().map_err(db_err)
}

/// One metric's points in `steps`, sampled (see `TrackingStore::metric_history_sampled`).
///
/// The primary key orders points by timestamp, so `ORDER BY step` would make SQLite sort every
/// point in a temporary B-tree (most of the time for a long history). Instead the points are read
/// in key order as compact tuples, sorted here, and only the kept ones become `Metric`s.
pub(crate) fn history_sampled(
    conn: &Connection,
    run_id: &str,
    key: &str,
    (start, end): (Option<i64>, Option<i64>),
    max_points: usize,
) -> Result<Vec<Metric>> {
    struct Point {
        step: i64,
        timestamp: i64,
        /// The stored value (what SQL's `ORDER BY value` compares) and the NaN flag.
        stored: f64,
        is_nan: bool,
        /// model_id, dataset_name, dataset_digest, read only when one is set.
        extra: Option<Box<[Option<String>; 3]>>,
    }
    let mut stmt = conn
        .prepare_cached(
            "SELECT step, timestamp, value, is_nan, \
                 model_id IS NOT NULL OR dataset_name IS NOT NULL OR dataset_digest IS NOT NULL, \
                 model_id, dataset_name, dataset_digest \
             FROM metrics WHERE run_key = (SELECT run_key FROM runs WHERE run_uuid = ?1) \
             AND key = ?2 AND step >= ?3 AND step <= ?4",
        )
        .map_err(db_err)?;
    let rows = stmt
        .query_map(
            params![
                run_id,
                key,
                start.unwrap_or(i64::MIN),
                end.unwrap_or(i64::MAX)
            ],
            |r| {
                let extra = if r.get::<_, bool>(4)? {
                    Some(Box::new([r.get(5)?, r.get(6)?, r.get(7)?]))
                } else {
                    None
                };
                Ok(Point {
                    step: r.get(0)?,
                    timestamp: r.get(1)?,
                    stored: r.get(2)?,
                    is_nan: r.get(3)?,
                    extra,
                })
            },
        )
        .map_err(db_err)?;
    let mut points = rows.collect::<rusqlite::Result<Vec<_>>>().map_err(db_err)?;
    points.sort_unstable_by(|a, b| {
        (a.step, a.timestamp)
            .cmp(&(b.step, b.timestamp))
            .then(a.stored.total_cmp(&b.stored))
            .then(a.is_nan.cmp(&b.is_nan))
    });
    let keep = keel_core::tracking::sampled_positions(points.len(), max_points);
    Ok(points
        .into_iter()
        .zip(keep)
        .filter(|(_, kept)| *kept)
        .map(|(p, _)| {
            let [model_id, dataset_name, dataset_digest] = p.extra.map(|e| *e).unwrap_or_default();
            Metric {
                key: key.to_owned(),
                step: p.step,
                timestamp: p.timestamp,
                value: metric_value_from_db(p.stored, p.is_nan),
                model_id,
                dataset_name,
                dataset_digest,
            }
        })
        .collect())
}

pub(crate) fn search_datasets(
    conn: &Connection,
    experiment_ids: &[String],
) -> Result<Vec<DatasetSummary>> {
    let ids: Vec<i64> = experiment_ids
        .iter()
        .filter_map(|id| id.parse().ok())
        .collect();
    let mut stmt = conn
        .prepare_cached(
            "SELECT DISTINCT d.experiment_id, d.name, d.digest, t.value \
             FROM datasets d JOIN run_dataset_inputs i ON i.dataset_uuid = d.dataset_uuid \
             LEFT JOIN run_dataset_input_tags t ON t.run_key = i.run_key \
                 AND t.dataset_uuid = i.dataset_uuid AND t.key = 'mlflow.data.context' \
             WHERE d.experiment_id IN rarray(?1) \
             ORDER BY d.experiment_id, d.name, d.digest LIMIT 1000",
        )
        .map_err(db_err)?;
    let rows = stmt
        .query_map([int_array(ids)], |r| {
            Ok(DatasetSummary {
                experiment_id: r.get::<_, i64>(0)?.to_string(),
                name: r.get(1)?,
                digest: r.get(2)?,
                context: r.get(3)?,
            })
        })
        .map_err(db_err)?;
    rows.collect::<rusqlite::Result<Vec<_>>>().map_err(db_err)
}
