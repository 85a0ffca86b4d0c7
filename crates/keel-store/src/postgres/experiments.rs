//! SQL for experiments and their tags. Writes lock the experiment row before its tags or runs.

use std::collections::{HashMap, HashSet};

use keel_core::{Error, Experiment, LifecycleStage, Tag};
use sqlx::{PgConnection, Row};

use super::convert::{experiment_id_to_i64, lifecycle};
use super::error::{Failure, PgResult, UNIQUE_VIOLATION};

const COLUMNS: &str = "experiment_id, name, artifact_location, lifecycle_stage, creation_time, \
     last_update_time, workspace";

fn already_exists(name: &str) -> Failure {
    Error::already_exists(format!("Experiment(name={name}) already exists.")).into()
}

/// A missing workspace (deleted meanwhile) is not found.
fn map_missing_workspace(failure: Failure, workspace: &str) -> Failure {
    if failure.constraint() == Some("experiments_workspace_fkey") {
        return keel_core::workspaces::not_found(workspace).into();
    }
    failure
}

/// A unique violation on the experiment's ID or name means the experiment exists already.
fn map_taken(failure: Failure, name: &str) -> Failure {
    if failure.sqlstate().as_deref() == Some(UNIQUE_VIOLATION)
        && matches!(
            failure.constraint(),
            Some("experiments_pkey" | "experiments_workspace_name_key")
        )
    {
        already_exists(name)
    } else {
        failure
    }
}

pub(crate) async fn insert(conn: &mut PgConnection, e: &Experiment) -> PgResult<()> {
    let id = experiment_id_to_i64(&e.experiment_id)?;
    sqlx::query(
        "INSERT INTO experiments (experiment_id, name, artifact_location, lifecycle_stage, \
         creation_time, last_update_time, workspace) VALUES ($1, $2, $3, $4, $5, $6, $7)",
    )
    .bind(id)
    .bind(&e.name)
    .bind(&e.artifact_location)
    .bind(e.lifecycle_stage.as_str())
    .bind(e.creation_time)
    .bind(e.last_update_time)
    .bind(&e.workspace)
    .execute(&mut *conn)
    .await
    .map_err(|err| map_taken(map_missing_workspace(err.into(), &e.workspace), &e.name))?;
    if e.tags.is_empty() {
        return Ok(());
    }
    let mut tags: Vec<&Tag> = e.tags.iter().collect();
    tags.sort_by(|a, b| a.key.cmp(&b.key));
    let keys: Vec<&str> = tags.iter().map(|t| t.key.as_str()).collect();
    let values: Vec<&str> = tags.iter().map(|t| t.value.as_str()).collect();
    sqlx::query(
        "INSERT INTO experiment_tags (experiment_id, key, value) \
         SELECT $1, k, v FROM UNNEST($2::text[], $3::text[]) AS t (k, v)",
    )
    .bind(id)
    .bind(&keys)
    .bind(&values)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// Loads experiments by ID, in the order given, with their tags.
pub(crate) async fn load(conn: &mut PgConnection, ids: &[i64]) -> PgResult<Vec<Experiment>> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let rows = sqlx::query(&format!(
        "SELECT {COLUMNS} FROM experiments WHERE experiment_id = ANY($1)"
    ))
    .bind(ids)
    .fetch_all(&mut *conn)
    .await?;
    let mut by_id = HashMap::with_capacity(rows.len());
    for r in rows {
        let id: i64 = r.try_get(0)?;
        let stage: String = r.try_get(3)?;
        by_id.insert(
            id,
            Experiment {
                experiment_id: id.to_string(),
                name: r.try_get(1)?,
                artifact_location: r.try_get(2)?,
                lifecycle_stage: lifecycle(&stage)?,
                creation_time: r.try_get(4)?,
                last_update_time: r.try_get(5)?,
                workspace: r.try_get(6)?,
                tags: Vec::new(),
            },
        );
    }
    let tags: Vec<(i64, String, String)> = sqlx::query_as(
        "SELECT experiment_id, key, value FROM experiment_tags WHERE experiment_id = ANY($1) \
         ORDER BY experiment_id, key",
    )
    .bind(ids)
    .fetch_all(&mut *conn)
    .await?;
    for (id, key, value) in tags {
        if let Some(e) = by_id.get_mut(&id) {
            e.tags.push(Tag { key, value });
        }
    }
    Ok(ids.iter().filter_map(|id| by_id.remove(id)).collect())
}

pub(crate) async fn get(
    conn: &mut PgConnection,
    experiment_id: &str,
) -> PgResult<Option<Experiment>> {
    let Ok(id) = experiment_id.parse::<i64>() else {
        return Ok(None);
    };
    Ok(load(conn, &[id]).await?.pop())
}

pub(crate) async fn get_by_name(
    conn: &mut PgConnection,
    workspace: &str,
    name: &str,
) -> PgResult<Option<Experiment>> {
    let id: Option<i64> = sqlx::query_scalar(
        "SELECT experiment_id FROM experiments WHERE workspace = $1 AND name = $2",
    )
    .bind(workspace)
    .bind(name)
    .fetch_optional(&mut *conn)
    .await?;
    match id {
        Some(id) => Ok(load(conn, &[id]).await?.pop()),
        None => Ok(None),
    }
}

pub(crate) async fn rename(
    conn: &mut PgConnection,
    experiment_id: &str,
    new_name: &str,
    now: i64,
) -> PgResult<()> {
    let id = experiment_id_to_i64(experiment_id)?;
    sqlx::query("UPDATE experiments SET name = $1, last_update_time = $2 WHERE experiment_id = $3")
        .bind(new_name)
        .bind(now)
        .bind(id)
        .execute(&mut *conn)
        .await
        .map_err(|err| map_taken(err.into(), new_name))?;
    Ok(())
}

/// Locks the experiment row (before any of its runs) and returns its deletion time.
async fn lock(conn: &mut PgConnection, id: i64) -> PgResult<Option<Option<i64>>> {
    Ok(sqlx::query_scalar(
        "SELECT deleted_time FROM experiments WHERE experiment_id = $1 FOR NO KEY UPDATE",
    )
    .bind(id)
    .fetch_optional(&mut *conn)
    .await?)
}

/// Deleting an experiment deletes its active runs at the same instant; restoring it restores
/// exactly the runs deleted at that instant. That instant is `now`, moved past the deletion time
/// of any run deleted earlier so that such a run (even one deleted in the same millisecond)
/// never shares it and stays deleted on restore.
pub(crate) async fn set_lifecycle(
    conn: &mut PgConnection,
    experiment_id: &str,
    stage: LifecycleStage,
    now: i64,
) -> PgResult<()> {
    let id = experiment_id_to_i64(experiment_id)?;
    let Some(deleted_time) = lock(conn, id).await? else {
        return Ok(());
    };
    match stage {
        LifecycleStage::Deleted => {
            let latest_run_deletion: Option<i64> = sqlx::query_scalar(
                "SELECT MAX(deleted_time) FROM runs \
                 WHERE experiment_id = $1 AND lifecycle_stage = 'deleted'",
            )
            .bind(id)
            .fetch_one(&mut *conn)
            .await?;
            let now = match latest_run_deletion {
                Some(t) if t >= now => t.saturating_add(1),
                _ => now,
            };
            sqlx::query(
                "UPDATE experiments SET lifecycle_stage = 'deleted', deleted_time = $1, \
                 last_update_time = $1 WHERE experiment_id = $2",
            )
            .bind(now)
            .bind(id)
            .execute(&mut *conn)
            .await?;
            sqlx::query(
                "UPDATE runs SET lifecycle_stage = 'deleted', deleted_time = $1 \
                 WHERE experiment_id = $2 AND lifecycle_stage = 'active'",
            )
            .bind(now)
            .bind(id)
            .execute(&mut *conn)
            .await?;
        }
        LifecycleStage::Active => {
            sqlx::query(
                "UPDATE runs SET lifecycle_stage = 'active', deleted_time = NULL \
                 WHERE experiment_id = $1 AND lifecycle_stage = 'deleted' AND deleted_time = $2",
            )
            .bind(id)
            .bind(deleted_time)
            .execute(&mut *conn)
            .await?;
            sqlx::query(
                "UPDATE experiments SET lifecycle_stage = 'active', deleted_time = NULL, \
                 last_update_time = $1 WHERE experiment_id = $2",
            )
            .bind(now)
            .bind(id)
            .execute(&mut *conn)
            .await?;
        }
    }
    Ok(())
}

pub(crate) async fn set_tag(
    conn: &mut PgConnection,
    experiment_id: &str,
    tag: &Tag,
    now: i64,
) -> PgResult<()> {
    let id = experiment_id_to_i64(experiment_id)?;
    touch(conn, id, now).await?;
    sqlx::query(
        "INSERT INTO experiment_tags (experiment_id, key, value) VALUES ($1, $2, $3) \
         ON CONFLICT (experiment_id, key) DO UPDATE SET value = excluded.value",
    )
    .bind(id)
    .bind(&tag.key)
    .bind(&tag.value)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

pub(crate) async fn delete_tag(
    conn: &mut PgConnection,
    experiment_id: &str,
    key: &str,
    now: i64,
) -> PgResult<bool> {
    let id = experiment_id_to_i64(experiment_id)?;
    touch(conn, id, now).await?;
    let n = sqlx::query("DELETE FROM experiment_tags WHERE experiment_id = $1 AND key = $2")
        .bind(id)
        .bind(key)
        .execute(&mut *conn)
        .await?
        .rows_affected();
    Ok(n > 0)
}

/// Sets the last update time, locking the experiment row first.
async fn touch(conn: &mut PgConnection, id: i64, now: i64) -> PgResult<()> {
    sqlx::query("UPDATE experiments SET last_update_time = $1 WHERE experiment_id = $2")
        .bind(now)
        .bind(id)
        .execute(&mut *conn)
        .await?;
    Ok(())
}

/// Deleted experiments and runs whose deletion time is at or before `cutoff`, plus every run of
/// such experiments.
pub(crate) async fn garbage(
    conn: &mut PgConnection,
    cutoff: i64,
) -> PgResult<keel_core::store::Garbage> {
    let experiments: Vec<(i64, String)> = sqlx::query_as(
        "SELECT experiment_id, artifact_location FROM experiments \
         WHERE lifecycle_stage = 'deleted' AND deleted_time <= $1 ORDER BY experiment_id",
    )
    .bind(cutoff)
    .fetch_all(&mut *conn)
    .await?;
    let runs: Vec<(String, String)> = sqlx::query_as(
        "SELECT run_uuid, artifact_uri FROM runs \
         WHERE (lifecycle_stage = 'deleted' AND deleted_time <= $1) \
            OR experiment_id IN (SELECT experiment_id FROM experiments \
                WHERE lifecycle_stage = 'deleted' AND deleted_time <= $1) \
         ORDER BY run_uuid",
    )
    .bind(cutoff)
    .fetch_all(&mut *conn)
    .await?;
    let logged_models: Vec<(String, String)> = sqlx::query_as(
        "SELECT model_id, artifact_location FROM logged_models \
         WHERE (lifecycle_stage = 'deleted' AND last_updated_timestamp_ms <= $1) \
            OR experiment_id IN (SELECT experiment_id FROM experiments \
                WHERE lifecycle_stage = 'deleted' AND deleted_time <= $1) \
         ORDER BY model_id",
    )
    .bind(cutoff)
    .fetch_all(&mut *conn)
    .await?;
    Ok(keel_core::store::Garbage {
        experiments: experiments
            .into_iter()
            .map(|(id, location)| (id.to_string(), location))
            .collect(),
        runs,
        logged_models,
    })
}

/// Deletes the runs (their metric points explicitly, other child rows by cascade), the logged
/// models and then the experiments of `garbage` that are still deleted, and returns exactly
/// those. Rows are locked in key order first, so two processes purging at once do not deadlock.
pub(crate) async fn purge(
    conn: &mut PgConnection,
    garbage: &keel_core::store::Garbage,
) -> PgResult<keel_core::store::Garbage> {
    let mut run_ids: Vec<&str> = garbage.runs.iter().map(|(id, _)| id.as_str()).collect();
    run_ids.sort_unstable();
    let purged_runs: Vec<(String, i64)> = sqlx::query_as(
        "WITH doomed AS (SELECT run_key FROM runs WHERE run_uuid = ANY($1) \
             AND (lifecycle_stage = 'deleted' OR experiment_id IN (SELECT experiment_id \
                 FROM experiments WHERE lifecycle_stage = 'deleted')) \
             ORDER BY run_uuid FOR UPDATE) \
         DELETE FROM runs WHERE run_key IN (SELECT run_key FROM doomed) \
         RETURNING run_uuid, run_key",
    )
    .bind(&run_ids)
    .fetch_all(&mut *conn)
    .await?;
    // Metric points have no foreign key to cascade (schema 5); the runs are locked and gone, so
    // no writer can add points to them any more.
    let (purged_runs, purged_keys): (Vec<String>, Vec<i64>) = purged_runs.into_iter().unzip();
    sqlx::query("DELETE FROM metrics WHERE run_key = ANY($1)")
        .bind(&purged_keys)
        .execute(&mut *conn)
        .await?;

    let mut model_ids: Vec<&str> = garbage
        .logged_models
        .iter()
        .map(|(id, _)| id.as_str())
        .collect();
    model_ids.sort_unstable();
    let purged_models: Vec<String> = sqlx::query_scalar(
        "WITH doomed AS (SELECT model_id FROM logged_models WHERE model_id = ANY($1) \
             AND (lifecycle_stage = 'deleted' OR experiment_id IN (SELECT experiment_id \
                 FROM experiments WHERE lifecycle_stage = 'deleted')) \
             ORDER BY model_id FOR UPDATE) \
         DELETE FROM logged_models WHERE model_id IN (SELECT model_id FROM doomed) \
         RETURNING model_id",
    )
    .bind(&model_ids)
    .fetch_all(&mut *conn)
    .await?;

    let mut experiment_ids = Vec::with_capacity(garbage.experiments.len());
    for (id, _) in &garbage.experiments {
        experiment_ids.push(experiment_id_to_i64(id)?);
    }
    experiment_ids.sort_unstable();
    let purged_experiments: Vec<i64> = sqlx::query_scalar(
        "WITH doomed AS (SELECT experiment_id FROM experiments e WHERE experiment_id = ANY($1) \
             AND lifecycle_stage = 'deleted' \
             AND NOT EXISTS (SELECT 1 FROM runs WHERE runs.experiment_id = e.experiment_id) \
             ORDER BY experiment_id FOR UPDATE) \
         DELETE FROM experiments WHERE experiment_id IN (SELECT experiment_id FROM doomed) \
         RETURNING experiment_id",
    )
    .bind(&experiment_ids)
    .fetch_all(&mut *conn)
    .await?;

    let keep = |all: &[(String, String)], purged: &[String]| -> Vec<(String, String)> {
        let purged: HashSet<&str> = purged.iter().map(String::as_str).collect();
        all.iter()
            .filter(|(id, _)| purged.contains(id.as_str()))
            .cloned()
            .collect()
    };
    let purged_experiments: Vec<String> = purged_experiments.iter().map(i64::to_string).collect();
    Ok(keel_core::store::Garbage {
        runs: keep(&garbage.runs, &purged_runs),
        logged_models: keep(&garbage.logged_models, &purged_models),
        experiments: keep(&garbage.experiments, &purged_experiments),
    })
}
