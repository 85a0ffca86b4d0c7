//! Loading whole runs (info, data, inputs, outputs) for a list of run IDs in a few queries.

use std::collections::HashMap;

use keel_core::*;
use sqlx::postgres::PgRow;
use sqlx::{PgConnection, Row};

use super::convert::{lifecycle, metric_value_from_db, status};
use super::error::PgResult;

const INFO_COLUMNS: &str = "run_uuid, name, experiment_id, user_id, status, start_time, \
                            end_time, artifact_uri, lifecycle_stage";

/// Reads [`INFO_COLUMNS`] starting at column `at`.
fn info_at(r: &PgRow, at: usize) -> PgResult<RunInfo> {
    let experiment_id: i64 = r.try_get(at + 2)?;
    let status_text: String = r.try_get(at + 4)?;
    let stage: String = r.try_get(at + 8)?;
    Ok(RunInfo {
        run_id: r.try_get(at)?,
        run_name: r.try_get(at + 1)?,
        experiment_id: experiment_id.to_string(),
        user_id: r.try_get(at + 3)?,
        status: status(&status_text)?,
        start_time: r.try_get(at + 5)?,
        end_time: r.try_get(at + 6)?,
        artifact_uri: r.try_get(at + 7)?,
        lifecycle_stage: lifecycle(&stage)?,
    })
}

pub(crate) async fn run_info(conn: &mut PgConnection, run_id: &str) -> PgResult<Option<RunInfo>> {
    let row = sqlx::query(&format!(
        "SELECT {INFO_COLUMNS} FROM runs WHERE run_uuid = $1"
    ))
    .bind(run_id)
    .fetch_optional(&mut *conn)
    .await?;
    row.map(|r| info_at(&r, 0)).transpose()
}

/// Loads the runs with these IDs, in the order given; unknown IDs are skipped.
///
/// One query resolves the IDs to `run_key`s; every child table is then read with one query over
/// those integer keys, and each run's items are sorted here.
pub(crate) async fn runs(conn: &mut PgConnection, ids: &[String]) -> PgResult<Vec<Run>> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let rows = sqlx::query(&format!(
        "SELECT run_key, {INFO_COLUMNS} FROM runs WHERE run_uuid = ANY($1)"
    ))
    .bind(ids)
    .fetch_all(&mut *conn)
    .await?;
    let mut loaded: Vec<Run> = Vec::with_capacity(rows.len());
    let mut slot: HashMap<i64, usize> = HashMap::with_capacity(rows.len());
    for r in &rows {
        slot.insert(r.try_get(0)?, loaded.len());
        loaded.push(Run {
            info: info_at(r, 1)?,
            data: RunData::default(),
            inputs: RunInputs::default(),
            outputs: RunOutputs::default(),
        });
    }
    let keys: Vec<i64> = slot.keys().copied().collect();
    load_children(conn, &keys, &slot, &mut loaded).await?;
    for run in &mut loaded {
        run.data.params.sort_by(|a, b| a.key.cmp(&b.key));
        run.data.tags.sort_by(|a, b| a.key.cmp(&b.key));
        run.data.metrics.sort_by(|a, b| a.key.cmp(&b.key));
        run.inputs
            .model_inputs
            .sort_by(|a, b| a.model_id.cmp(&b.model_id));
        run.outputs
            .model_outputs
            .sort_by(|a, b| (a.step, &a.model_id).cmp(&(b.step, &b.model_id)));
        run.inputs.dataset_inputs.sort_by(|a, b| {
            (&a.dataset.name, &a.dataset.digest).cmp(&(&b.dataset.name, &b.dataset.digest))
        });
        for input in &mut run.inputs.dataset_inputs {
            input.tags.sort_by(|a, b| a.key.cmp(&b.key));
        }
    }
    let mut by_id: HashMap<String, Run> = loaded
        .into_iter()
        .map(|run| (run.info.run_id.clone(), run))
        .collect();
    Ok(ids.iter().filter_map(|id| by_id.remove(id)).collect())
}

/// The loaded run with this `run_key`.
fn run_at<'a>(
    slot: &HashMap<i64, usize>,
    loaded: &'a mut [Run],
    run_key: i64,
) -> Option<&'a mut Run> {
    slot.get(&run_key).and_then(|i| loaded.get_mut(*i))
}

/// Fills params, tags, latest metrics, inputs and outputs of the runs in `loaded`.
async fn load_children(
    conn: &mut PgConnection,
    keys: &[i64],
    slot: &HashMap<i64, usize>,
    loaded: &mut [Run],
) -> PgResult<()> {
    let params: Vec<(i64, String, String)> =
        sqlx::query_as("SELECT run_key, key, value FROM params WHERE run_key = ANY($1)")
            .bind(keys)
            .fetch_all(&mut *conn)
            .await?;
    for (k, key, value) in params {
        if let Some(run) = run_at(slot, loaded, k) {
            run.data.params.push(Param { key, value });
        }
    }
    let tags: Vec<(i64, String, String)> =
        sqlx::query_as("SELECT run_key, key, value FROM tags WHERE run_key = ANY($1)")
            .bind(keys)
            .fetch_all(&mut *conn)
            .await?;
    for (k, key, value) in tags {
        if let Some(run) = run_at(slot, loaded, k) {
            run.data.tags.push(Tag { key, value });
        }
    }
    let metrics: Vec<(i64, String, f64, i16, i64, i64)> = sqlx::query_as(
        "SELECT run_key, key, value, is_nan, timestamp, step FROM latest_metrics \
         WHERE run_key = ANY($1)",
    )
    .bind(keys)
    .fetch_all(&mut *conn)
    .await?;
    for (k, key, value, is_nan, timestamp, step) in metrics {
        if let Some(run) = run_at(slot, loaded, k) {
            run.data.metrics.push(Metric {
                key,
                value: metric_value_from_db(value, is_nan),
                timestamp,
                step,
                model_id: None,
                dataset_name: None,
                dataset_digest: None,
            });
        }
    }
    let model_inputs: Vec<(i64, String)> =
        sqlx::query_as("SELECT run_key, model_id FROM run_model_inputs WHERE run_key = ANY($1)")
            .bind(keys)
            .fetch_all(&mut *conn)
            .await?;
    for (k, model_id) in model_inputs {
        if let Some(run) = run_at(slot, loaded, k) {
            run.inputs.model_inputs.push(ModelInput { model_id });
        }
    }
    let model_outputs: Vec<(i64, String, i64)> = sqlx::query_as(
        "SELECT run_key, model_id, step FROM run_model_outputs WHERE run_key = ANY($1)",
    )
    .bind(keys)
    .fetch_all(&mut *conn)
    .await?;
    for (k, model_id, step) in model_outputs {
        if let Some(run) = run_at(slot, loaded, k) {
            run.outputs
                .model_outputs
                .push(ModelOutput { model_id, step });
        }
    }
    load_dataset_inputs(conn, keys, slot, loaded).await
}

async fn load_dataset_inputs(
    conn: &mut PgConnection,
    keys: &[i64],
    slot: &HashMap<i64, usize>,
    loaded: &mut [Run],
) -> PgResult<()> {
    type InputRow = (
        i64,
        String,
        String,
        String,
        String,
        String,
        Option<String>,
        Option<String>,
    );
    let rows: Vec<InputRow> = sqlx::query_as(
        "SELECT i.run_key, d.dataset_uuid, d.name, d.digest, d.source_type, d.source, d.schema, \
         d.profile FROM run_dataset_inputs i JOIN datasets d ON d.dataset_uuid = i.dataset_uuid \
         WHERE i.run_key = ANY($1)",
    )
    .bind(keys)
    .fetch_all(&mut *conn)
    .await?;
    if rows.is_empty() {
        return Ok(());
    }
    let mut inputs: HashMap<(i64, String), DatasetInput> = HashMap::with_capacity(rows.len());
    for (run_key, uuid, name, digest, source_type, source, schema, profile) in rows {
        let dataset = Dataset {
            name,
            digest,
            source_type,
            source,
            schema,
            profile,
        };
        inputs.insert(
            (run_key, uuid),
            DatasetInput {
                tags: Vec::new(),
                dataset,
            },
        );
    }
    let tags: Vec<(i64, String, String, String)> = sqlx::query_as(
        "SELECT run_key, dataset_uuid, key, value FROM run_dataset_input_tags \
         WHERE run_key = ANY($1)",
    )
    .bind(keys)
    .fetch_all(&mut *conn)
    .await?;
    for (run_key, uuid, key, value) in tags {
        if let Some(input) = inputs.get_mut(&(run_key, uuid)) {
            input.tags.push(Tag { key, value });
        }
    }
    for ((run_key, _), input) in inputs {
        if let Some(run) = run_at(slot, loaded, run_key) {
            run.inputs.dataset_inputs.push(input);
        }
    }
    Ok(())
}
