//! SQL for experiments and their tags.

use keel_core::{Error, Experiment, LifecycleStage, Result, Tag};
use rusqlite::{Connection, OptionalExtension, params};

use super::convert::{experiment_id_to_i64, int_array, lifecycle};
use super::{db_err, is_foreign_key_violation, is_unique_violation};

const COLUMNS: &str = "experiment_id, name, artifact_location, lifecycle_stage, creation_time, \
     last_update_time, workspace";

fn already_exists(name: &str) -> Error {
    Error::already_exists(format!("Experiment(name={name}) already exists."))
}

pub(crate) fn insert(conn: &Connection, e: &Experiment) -> Result<()> {
    let id = experiment_id_to_i64(&e.experiment_id)?;
    conn.prepare_cached(
        "INSERT INTO experiments (experiment_id, name, artifact_location, lifecycle_stage, \
         creation_time, last_update_time, workspace) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
    )
    .and_then(|mut s| {
        s.execute(params![
            id,
            e.name,
            e.artifact_location,
            e.lifecycle_stage.as_str(),
            e.creation_time,
            e.last_update_time,
            e.workspace
        ])
    })
    .map_err(|err| {
        if is_unique_violation(&err) {
            already_exists(&e.name)
        } else if is_foreign_key_violation(&err) {
            keel_core::workspaces::not_found(&e.workspace)
        } else {
            db_err(err)
        }
    })?;
    let mut stmt = conn
        .prepare_cached(
            "INSERT INTO experiment_tags (experiment_id, key, value) VALUES (?1, ?2, ?3)",
        )
        .map_err(db_err)?;
    for tag in &e.tags {
        stmt.execute(params![id, tag.key, tag.value])
            .map_err(db_err)?;
    }
    Ok(())
}

/// Loads experiments by ID, in the order given, with their tags.
pub(crate) fn load(conn: &Connection, ids: &[i64]) -> Result<Vec<Experiment>> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let mut stmt = conn
        .prepare_cached(&format!(
            "SELECT {COLUMNS} FROM experiments WHERE experiment_id IN rarray(?1)"
        ))
        .map_err(db_err)?;
    let mut by_id = std::collections::HashMap::with_capacity(ids.len());
    let rows = stmt
        .query_map([int_array(ids.iter().copied())], |r| {
            let id: i64 = r.get(0)?;
            let stage: String = r.get(3)?;
            Ok((
                id,
                Experiment {
                    experiment_id: id.to_string(),
                    name: r.get(1)?,
                    artifact_location: r.get(2)?,
                    lifecycle_stage: lifecycle(&stage)?,
                    creation_time: r.get(4)?,
                    last_update_time: r.get(5)?,
                    workspace: r.get(6)?,
                    tags: Vec::new(),
                },
            ))
        })
        .map_err(db_err)?;
    for row in rows {
        let (id, e) = row.map_err(db_err)?;
        by_id.insert(id, e);
    }
    let mut tags = conn
        .prepare_cached(
            "SELECT experiment_id, key, value FROM experiment_tags WHERE experiment_id IN rarray(?1) \
             ORDER BY experiment_id, key",
        )
        .map_err(db_err)?;
    let tag_rows = tags
        .query_map([int_array(ids.iter().copied())], |r| {
            Ok((
                r.get::<_, i64>(0)?,
                Tag {
                    key: r.get(1)?,
                    value: r.get(2)?,
                },
            ))
        })
        .map_err(db_err)?;
    for row in tag_rows {
        let (id, tag) = row.map_err(db_err)?;
        if let Some(e) = by_id.get_mut(&id) {
            e.tags.push(tag);
        }
    }
    Ok(ids.iter().filter_map(|id| by_id.remove(id)).collect())
}

pub(crate) fn get(conn: &Connection, experiment_id: &str) -> Result<Option<Experiment>> {
    let Ok(id) = experiment_id.parse::<i64>() else {
        return Ok(None);
    };
    Ok(load(conn, &[id])?.pop())
}

pub(crate) fn get_by_name(
    conn: &Connection,
    workspace: &str,
    name: &str,
) -> Result<Option<Experiment>> {
    let id: Option<i64> = conn
        .prepare_cached("SELECT experiment_id FROM experiments WHERE workspace = ?1 AND name = ?2")
        .and_then(|mut s| s.query_row([workspace, name], |r| r.get(0)).optional())
        .map_err(db_err)?;
    match id {
        Some(id) => Ok(load(conn, &[id])?.pop()),
        None => Ok(None),
    }
}

pub(crate) fn rename(
    conn: &Connection,
    experiment_id: &str,
    new_name: &str,
    now: i64,
) -> Result<()> {
    let id = experiment_id_to_i64(experiment_id)?;
    conn.execute(
        "UPDATE experiments SET name = ?1, last_update_time = ?2 WHERE experiment_id = ?3",
        params![new_name, now, id],
    )
    .map_err(|err| {
        if is_unique_violation(&err) {
            already_exists(new_name)
        } else {
            db_err(err)
        }
    })?;
    Ok(())
}

/// Deleting an experiment deletes its active runs at the same instant; restoring it restores
/// exactly the runs deleted at that instant. That instant is `now`, moved past the deletion time
/// of any run deleted earlier so that such a run (even one deleted in the same millisecond)
/// never shares it and stays deleted on restore.
pub(crate) fn set_lifecycle(
    conn: &Connection,
    experiment_id: &str,
    stage: LifecycleStage,
    now: i64,
) -> Result<()> {
    let id = experiment_id_to_i64(experiment_id)?;
    match stage {
        LifecycleStage::Deleted => {
            let latest_run_deletion: Option<i64> = conn
                .query_row(
                    "SELECT MAX(deleted_time) FROM runs \
                     WHERE experiment_id = ?1 AND lifecycle_stage = 'deleted'",
                    params![id],
                    |r| r.get(0),
                )
                .map_err(db_err)?;
            let now = match latest_run_deletion {
                Some(t) if t >= now => t.saturating_add(1),
                _ => now,
            };
            conn.execute(
                "UPDATE experiments SET lifecycle_stage = 'deleted', deleted_time = ?1, \
                 last_update_time = ?1 WHERE experiment_id = ?2",
                params![now, id],
            )
            .map_err(db_err)?;
            conn.execute(
                "UPDATE runs SET lifecycle_stage = 'deleted', deleted_time = ?1 \
                 WHERE experiment_id = ?2 AND lifecycle_stage = 'active'",
                params![now, id],
            )
            .map_err(db_err)?;
        }
        LifecycleStage::Active => {
            conn.execute(
                "UPDATE runs SET lifecycle_stage = 'active', deleted_time = NULL \
                 WHERE experiment_id = ?1 AND lifecycle_stage = 'deleted' AND deleted_time = \
                 (SELECT deleted_time FROM experiments WHERE experiment_id = ?1)",
                params![id],
            )
            .map_err(db_err)?;
            conn.execute(
                "UPDATE experiments SET lifecycle_stage = 'active', deleted_time = NULL, \
                 last_update_time = ?1 WHERE experiment_id = ?2",
                params![now, id],
            )
            .map_err(db_err)?;
        }
    }
    Ok(())
}

pub(crate) fn set_tag(conn: &Connection, experiment_id: &str, tag: &Tag, now: i64) -> Result<()> {
    let id = experiment_id_to_i64(experiment_id)?;
    conn.prepare_cached(
        "INSERT INTO experiment_tags (experiment_id, key, value) VALUES (?1, ?2, ?3) \
         ON CONFLICT (experiment_id, key) DO UPDATE SET value = excluded.value",
    )
    .and_then(|mut s| s.execute(params![id, tag.key, tag.value]))
    .map_err(db_err)?;
    touch(conn, id, now)
}

pub(crate) fn delete_tag(
    conn: &Connection,
    experiment_id: &str,
    key: &str,
    now: i64,
) -> Result<bool> {
    let id = experiment_id_to_i64(experiment_id)?;
    let n = conn
        .execute(
            "DELETE FROM experiment_tags WHERE experiment_id = ?1 AND key = ?2",
            params![id, key],
        )
        .map_err(db_err)?;
    touch(conn, id, now)?;
    Ok(n > 0)
}

fn touch(conn: &Connection, id: i64, now: i64) -> Result<()> {
    conn.prepare_cached("UPDATE experiments SET last_update_time = ?1 WHERE experiment_id = ?2")
        .and_then(|mut s| s.execute(params![now, id]))
        .map_err(db_err)?;
    Ok(())
}

/// Deleted experiments and runs whose deletion time is at or before `cutoff`, plus every run of
/// such experiments.
pub(crate) fn garbage(conn: &Connection, cutoff: i64) -> Result<keel_core::store::Garbage> {
    let experiments = conn
        .prepare_cached(
            "SELECT experiment_id, artifact_location FROM experiments \
             WHERE lifecycle_stage = 'deleted' AND deleted_time <= ?1 ORDER BY experiment_id",
        )
        .and_then(|mut s| {
            s.query_map([cutoff], |r| {
                Ok((r.get::<_, i64>(0)?.to_string(), r.get(1)?))
            })?
            .collect::<rusqlite::Result<Vec<(String, String)>>>()
        })
        .map_err(db_err)?;
    let runs = conn
        .prepare_cached(
            "SELECT run_uuid, artifact_uri FROM runs \
             WHERE (lifecycle_stage = 'deleted' AND deleted_time <= ?1) \
                OR experiment_id IN (SELECT experiment_id FROM experiments \
                    WHERE lifecycle_stage = 'deleted' AND deleted_time <= ?1) \
             ORDER BY run_uuid",
        )
        .and_then(|mut s| {
            s.query_map([cutoff], |r| Ok((r.get(0)?, r.get(1)?)))?
                .collect::<rusqlite::Result<Vec<(String, String)>>>()
        })
        .map_err(db_err)?;
    let logged_models = conn
        .prepare_cached(
            "SELECT model_id, artifact_location FROM logged_models \
             WHERE (lifecycle_stage = 'deleted' AND last_updated_timestamp_ms <= ?1) \
                OR experiment_id IN (SELECT experiment_id FROM experiments \
                    WHERE lifecycle_stage = 'deleted' AND deleted_time <= ?1) \
             ORDER BY model_id",
        )
        .and_then(|mut s| {
            s.query_map([cutoff], |r| Ok((r.get(0)?, r.get(1)?)))?
                .collect::<rusqlite::Result<Vec<(String, String)>>>()
        })
        .map_err(db_err)?;
    Ok(keel_core::store::Garbage {
        experiments,
        runs,
        logged_models,
    })
}

/// Deletes the runs (child rows cascade), the logged models and then the experiments of
/// `garbage` that are still deleted, and returns exactly those.
pub(crate) fn purge(
    conn: &Connection,
    garbage: &keel_core::store::Garbage,
) -> Result<keel_core::store::Garbage> {
    let mut purged = keel_core::store::Garbage::default();
    let mut run_stmt = conn
        .prepare_cached(
            "DELETE FROM runs WHERE run_uuid = ?1 AND (lifecycle_stage = 'deleted' OR \
             experiment_id IN (SELECT experiment_id FROM experiments \
                 WHERE lifecycle_stage = 'deleted'))",
        )
        .map_err(db_err)?;
    for run in &garbage.runs {
        if run_stmt.execute([&run.0]).map_err(db_err)? == 1 {
            purged.runs.push(run.clone());
        }
    }
    let mut model_stmt = conn
        .prepare_cached(
            "DELETE FROM logged_models WHERE model_id = ?1 AND (lifecycle_stage = 'deleted' OR \
             experiment_id IN (SELECT experiment_id FROM experiments \
                 WHERE lifecycle_stage = 'deleted'))",
        )
        .map_err(db_err)?;
    for model in &garbage.logged_models {
        if model_stmt.execute([&model.0]).map_err(db_err)? == 1 {
            purged.logged_models.push(model.clone());
        }
    }
    let mut exp_stmt = conn
        .prepare_cached(
            "DELETE FROM experiments WHERE experiment_id = ?1 AND lifecycle_stage = 'deleted' \
             AND NOT EXISTS (SELECT 1 FROM runs WHERE runs.experiment_id = ?1)",
        )
        .map_err(db_err)?;
    for experiment in &garbage.experiments {
        if exp_stmt
            .execute([experiment_id_to_i64(&experiment.0)?])
            .map_err(db_err)?
            == 1
        {
            purged.experiments.push(experiment.clone());
        }
    }
    Ok(purged)
}
