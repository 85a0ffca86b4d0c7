//! Loading whole runs (info, data, inputs, outputs) for a list of run IDs in a few queries.

use std::collections::HashMap;

use keel_core::*;
use rusqlite::Connection;

use super::convert::{lifecycle, metric_value_from_db, status, text_array};
use super::db_err;

const INFO_COLUMNS: &str = "run_uuid, name, experiment_id, user_id, status, start_time, \
                            end_time, artifact_uri, lifecycle_stage";

fn info_from_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<RunInfo> {
    let experiment_id: i64 = r.get(2)?;
    let status_text: String = r.get(4)?;
    let stage: String = r.get(8)?;
    Ok(RunInfo {
        run_id: r.get(0)?,
        run_name: r.get(1)?,
        experiment_id: experiment_id.to_string(),
        user_id: r.get(3)?,
        status: status(&status_text)?,
        start_time: r.get(5)?,
        end_time: r.get(6)?,
        artifact_uri: r.get(7)?,
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
pub(crate) fn runs(conn: &Connection, ids: &[String]) -> Result<Vec<Run>> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let id_param = || text_array(ids.iter().map(String::as_str));
    let mut by_id: HashMap<String, Run> = HashMap::with_capacity(ids.len());
    {
        let mut stmt = conn
            .prepare_cached(&format!(
                "SELECT {INFO_COLUMNS} FROM runs WHERE run_uuid IN rarray(?1)"
            ))
            .map_err(db_err)?;
        for info in stmt
            .query_map([id_param()], info_from_row)
            .map_err(db_err)?
        {
            let info = info.map_err(db_err)?;
            by_id.insert(
                info.run_id.clone(),
                Run {
                    info,
                    data: RunData::default(),
                    inputs: RunInputs::default(),
                    outputs: RunOutputs::default(),
                },
            );
        }
    }
    for_each_row(
        conn,
        "SELECT r.run_uuid, c.key, c.value FROM runs r JOIN params c ON c.run_key = r.run_key \
         WHERE r.run_uuid IN rarray(?1) ORDER BY c.run_key, c.key",
        id_param(),
        |r| {
            Ok((
                r.get::<_, String>(0)?,
                Param {
                    key: r.get(1)?,
                    value: r.get(2)?,
                },
            ))
        },
        |(id, p)| push(&mut by_id, &id, |run| run.data.params.push(p)),
    )?;
    for_each_row(
        conn,
        "SELECT r.run_uuid, c.key, c.value FROM runs r JOIN tags c ON c.run_key = r.run_key \
         WHERE r.run_uuid IN rarray(?1) ORDER BY c.run_key, c.key",
        id_param(),
        |r| {
            Ok((
                r.get::<_, String>(0)?,
                Tag {
                    key: r.get(1)?,
                    value: r.get(2)?,
                },
            ))
        },
        |(id, t)| push(&mut by_id, &id, |run| run.data.tags.push(t)),
    )?;
    for_each_row(
        conn,
        "SELECT r.run_uuid, c.key, c.value, c.is_nan, c.timestamp, c.step FROM runs r \
         JOIN latest_metrics c ON c.run_key = r.run_key WHERE r.run_uuid IN rarray(?1) \
         ORDER BY c.run_key, c.key",
        id_param(),
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
            Ok((r.get::<_, String>(0)?, metric))
        },
        |(id, m)| push(&mut by_id, &id, |run| run.data.metrics.push(m)),
    )?;
    load_dataset_inputs(conn, id_param(), &mut by_id)?;
    for_each_row(
        conn,
        "SELECT r.run_uuid, c.model_id FROM runs r JOIN run_model_inputs c ON c.run_key = r.run_key \
         WHERE r.run_uuid IN rarray(?1) ORDER BY c.run_key, c.model_id",
        id_param(),
        |r| {
            Ok((
                r.get::<_, String>(0)?,
                ModelInput {
                    model_id: r.get(1)?,
                },
            ))
        },
        |(id, m)| push(&mut by_id, &id, |run| run.inputs.model_inputs.push(m)),
    )?;
    for_each_row(
        conn,
        "SELECT r.run_uuid, c.model_id, c.step FROM runs r \
         JOIN run_model_outputs c ON c.run_key = r.run_key WHERE r.run_uuid IN rarray(?1) \
         ORDER BY c.run_key, c.step, c.model_id",
        id_param(),
        |r| {
            Ok((
                r.get::<_, String>(0)?,
                ModelOutput {
                    model_id: r.get(1)?,
                    step: r.get(2)?,
                },
            ))
        },
        |(id, m)| push(&mut by_id, &id, |run| run.outputs.model_outputs.push(m)),
    )?;
    Ok(ids.iter().filter_map(|id| by_id.remove(id)).collect())
}

fn load_dataset_inputs(
    conn: &Connection,
    id_param: std::rc::Rc<Vec<rusqlite::types::Value>>,
    by_id: &mut HashMap<String, Run>,
) -> Result<()> {
    let mut inputs: HashMap<(String, String), DatasetInput> = HashMap::new();
    let mut order: Vec<(String, String)> = Vec::new();
    for_each_row(
        conn,
        "SELECT r.run_uuid, d.dataset_uuid, d.name, d.digest, d.source_type, d.source, d.schema, \
         d.profile FROM run_dataset_inputs i JOIN datasets d ON d.dataset_uuid = i.dataset_uuid \
         JOIN runs r ON r.run_key = i.run_key \
         WHERE r.run_uuid IN rarray(?1) ORDER BY i.run_key, d.name, d.digest",
        id_param.clone(),
        |r| {
            let dataset = Dataset {
                name: r.get(2)?,
                digest: r.get(3)?,
                source_type: r.get(4)?,
                source: r.get(5)?,
                schema: r.get(6)?,
                profile: r.get(7)?,
            };
            Ok(((r.get::<_, String>(0)?, r.get::<_, String>(1)?), dataset))
        },
        |(key, dataset)| {
            order.push(key.clone());
            inputs.insert(
                key,
                DatasetInput {
                    tags: Vec::new(),
                    dataset,
                },
            );
        },
    )?;
    for_each_row(
        conn,
        "SELECT r.run_uuid, c.dataset_uuid, c.key, c.value FROM runs r \
         JOIN run_dataset_input_tags c ON c.run_key = r.run_key WHERE r.run_uuid IN rarray(?1) \
         ORDER BY c.run_key, c.dataset_uuid, c.key",
        id_param,
        |r| {
            let key = (r.get::<_, String>(0)?, r.get::<_, String>(1)?);
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
    for key in order {
        if let Some(input) = inputs.remove(&key) {
            push(by_id, &key.0, |run| run.inputs.dataset_inputs.push(input));
        }
    }
    Ok(())
}

fn push(by_id: &mut HashMap<String, Run>, run_id: &str, f: impl FnOnce(&mut Run)) {
    if let Some(run) = by_id.get_mut(run_id) {
        f(run);
    }
}

/// Runs a cached query with one parameter and feeds each mapped row to `sink`.
fn for_each_row<T, P: rusqlite::ToSql>(
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
