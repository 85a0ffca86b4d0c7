//! Loading whole runs (info, data, inputs, outputs) for a list of run IDs in a few queries.

use std::collections::HashMap;
use std::rc::Rc;

use keel_core::*;
use rusqlite::Connection;

use super::convert::{int_array, lifecycle, metric_value_from_db, status, text_array};
use super::db_err;

const INFO_COLUMNS: &str = "run_uuid, name, experiment_id, user_id, status, start_time, \
                            end_time, artifact_uri, lifecycle_stage";

fn info_from_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<RunInfo> {
    info_at(r, 0)
}

/// Reads [`INFO_COLUMNS`] starting at column `at`.
fn info_at(r: &rusqlite::Row<'_>, at: usize) -> rusqlite::Result<RunInfo> {
    let experiment_id: i64 = r.get(at + 2)?;
    let status_text: String = r.get(at + 4)?;
    let stage: String = r.get(at + 8)?;
    Ok(RunInfo {
        run_id: r.get(at)?,
        run_name: r.get(at + 1)?,
        experiment_id: experiment_id.to_string(),
        user_id: r.get(at + 3)?,
        status: status(&status_text)?,
        start_time: r.get(at + 5)?,
        end_time: r.get(at + 6)?,
        artifact_uri: r.get(at + 7)?,
        lifecycle_stage: lifecycle(&stage)?,
    })
}

pub(crate) fn run_info(conn: &Connection, run_id: &str) -> Result<Option<RunInfo>> {
    use rusqlite::OptionalExtension;
    conn.prepare_cached(&format!(
        "SELECT {INFO_COLUMNS} FROM runs WHERE run_uuid = ?1"
    ))
    .and_then(|mut s| s.query_row([run_id], info_from_row).optional())
    .map_err(db_err)
}

/// Loads the runs with these IDs, in the order given; unknown IDs are skipped.
///
/// One query resolves the IDs to `run_key`s; every child table is then read with one query over
/// those integer keys, in index order (no sort), and each run's items are sorted here.
pub(crate) fn runs(conn: &Connection, ids: &[String]) -> Result<Vec<Run>> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let mut loaded: Vec<Run> = Vec::with_capacity(ids.len());
    let mut slot: HashMap<i64, usize> = HashMap::with_capacity(ids.len());
    for_each_row(
        conn,
        &format!("SELECT run_key, {INFO_COLUMNS} FROM runs WHERE run_uuid IN rarray(?1)"),
        text_array(ids.iter().map(String::as_str)),
        |r| Ok((r.get::<_, i64>(0)?, info_at(r, 1)?)),
        |(run_key, info)| {
            slot.insert(run_key, loaded.len());
            loaded.push(Run {
                info,
                data: RunData::default(),
                inputs: RunInputs::default(),
                outputs: RunOutputs::default(),
            });
        },
    )?;
    load_children(conn, int_array(slot.keys().copied()), &slot, &mut loaded)?;
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

/// Fills params, tags, latest metrics, inputs and outputs of the runs in `loaded`.
fn load_children(
    conn: &Connection,
    keys: Rc<Vec<rusqlite::types::Value>>,
    slot: &HashMap<i64, usize>,
    loaded: &mut [Run],
) -> Result<()> {
    for_each_row(
        conn,
        "SELECT run_key, key, value FROM params WHERE run_key IN rarray(?1)",
        keys.clone(),
        |r| {
            Ok((
                r.get(0)?,
                Param {
                    key: r.get(1)?,
                    value: r.get(2)?,
                },
            ))
        },
        |(k, p): (i64, Param)| {
            if let Some(run) = run_at(slot, loaded, k) {
                run.data.params.push(p);
            }
        },
    )?;
    for_each_row(
        conn,
        "SELECT run_key, key, value FROM tags WHERE run_key IN rarray(?1)",
        keys.clone(),
        |r| {
            Ok((
                r.get(0)?,
                Tag {
                    key: r.get(1)?,
                    value: r.get(2)?,
                },
            ))
        },
        |(k, t): (i64, Tag)| {
            if let Some(run) = run_at(slot, loaded, k) {
                run.data.tags.push(t);
            }
        },
    )?;
    for_each_row(
        conn,
        "SELECT run_key, key, value, is_nan, timestamp, step FROM latest_metrics \
         WHERE run_key IN rarray(?1)",
        keys.clone(),
        |r| {
            let metric = Metric {
                key: r.get(1)?,
                value: metric_value_from_db(r.get(2)?, r.get(3)?),
                timestamp: r.get(4)?,
                step: r.get(5)?,
                model_id: None,
                dataset_name: None,
                dataset_digest: None,
            };
            Ok((r.get(0)?, metric))
        },
        |(k, m): (i64, Metric)| {
            if let Some(run) = run_at(slot, loaded, k) {
                run.data.metrics.push(m);
            }
        },
    )?;
    for_each_row(
        conn,
        "SELECT run_key, model_id FROM run_model_inputs WHERE run_key IN rarray(?1)",
        keys.clone(),
        |r| {
            Ok((
                r.get(0)?,
                ModelInput {
                    model_id: r.get(1)?,
                },
            ))
        },
        |(k, m): (i64, ModelInput)| {
            if let Some(run) = run_at(slot, loaded, k) {
                run.inputs.model_inputs.push(m);
            }
        },
    )?;
    for_each_row(
        conn,
        "SELECT run_key, model_id, step FROM run_model_outputs WHERE run_key IN rarray(?1)",
        keys.clone(),
        |r| {
            Ok((
                r.get(0)?,
                ModelOutput {
                    model_id: r.get(1)?,
                    step: r.get(2)?,
                },
            ))
        },
        |(k, m): (i64, ModelOutput)| {
            if let Some(run) = run_at(slot, loaded, k) {
                run.outputs.model_outputs.push(m);
            }
        },
    )?;
    load_dataset_inputs(conn, keys, slot, loaded)
}

/// The loaded run with this `run_key`.
fn run_at<'a>(
    slot: &HashMap<i64, usize>,
    loaded: &'a mut [Run],
    run_key: i64,
) -> Option<&'a mut Run> {
    slot.get(&run_key).and_then(|i| loaded.get_mut(*i))
}

fn load_dataset_inputs(
    conn: &Connection,
    keys: Rc<Vec<rusqlite::types::Value>>,
    slot: &HashMap<i64, usize>,
    loaded: &mut [Run],
) -> Result<()> {
    let mut inputs: HashMap<(i64, String), DatasetInput> = HashMap::new();
    for_each_row(
        conn,
        "SELECT i.run_key, d.dataset_uuid, d.name, d.digest, d.source_type, d.source, d.schema, \
         d.profile FROM run_dataset_inputs i JOIN datasets d ON d.dataset_uuid = i.dataset_uuid \
         WHERE i.run_key IN rarray(?1)",
        keys.clone(),
        |r| {
            let dataset = Dataset {
                name: r.get(2)?,
                digest: r.get(3)?,
                source_type: r.get(4)?,
                source: r.get(5)?,
                schema: r.get(6)?,
                profile: r.get(7)?,
            };
            Ok(((r.get::<_, i64>(0)?, r.get::<_, String>(1)?), dataset))
        },
        |(key, dataset)| {
            inputs.insert(
                key,
                DatasetInput {
                    tags: Vec::new(),
                    dataset,
                },
            );
        },
    )?;
    if inputs.is_empty() {
        return Ok(());
    }
    for_each_row(
        conn,
        "SELECT run_key, dataset_uuid, key, value FROM run_dataset_input_tags \
         WHERE run_key IN rarray(?1)",
        keys,
        |r| {
            let key = (r.get::<_, i64>(0)?, r.get::<_, String>(1)?);
            Ok((
                key,
                Tag {
                    key: r.get(2)?,
                    value: r.get(3)?,
                },
            ))
        },
        |(key, tag)| {
            if let Some(input) = inputs.get_mut(&key) {
                input.tags.push(tag);
            }
        },
    )?;
    for ((run_key, _), input) in inputs {
        if let Some(run) = run_at(slot, loaded, run_key) {
            run.inputs.dataset_inputs.push(input);
        }
    }
    Ok(())
}

/// Runs a cached query with one parameter and feeds each mapped row to `sink`.
pub(crate) fn for_each_row<T, P: rusqlite::ToSql>(
    conn: &Connection,
    sql: &str,
    param: P,
    map: impl FnMut(&rusqlite::Row<'_>) -> rusqlite::Result<T>,
    mut sink: impl FnMut(T),
) -> Result<()> {
    let mut stmt = conn.prepare_cached(sql).map_err(db_err)?;
    for row in stmt.query_map([param], map).map_err(db_err)? {
        sink(row.map_err(db_err)?);
    }
    Ok(())
}
