//! SQL for a run's inputs (datasets, models) and outputs (models), and the dataset summary.

use std::collections::HashMap;

use keel_core::store::LogInputs;
use keel_core::{DatasetSummary, ModelOutput};
use sqlx::PgConnection;

use super::error::PgResult;
use super::runs::{RunLock, require_active};

/// Records dataset and model inputs. Datasets are created once per experiment (concurrent
/// creations of one dataset meet in its unique key) and written in (name, digest) order.
pub(crate) async fn log_inputs(conn: &mut PgConnection, inputs: &LogInputs) -> PgResult<()> {
    let (run_key, experiment_id) = require_active(conn, &inputs.run_id, RunLock::Share).await?;
    let mut datasets: Vec<_> = inputs.datasets.iter().collect();
    datasets.sort_by(|a, b| {
        let (a, b) = (&a.input.dataset, &b.input.dataset);
        (&a.name, &a.digest).cmp(&(&b.name, &b.digest))
    });
    for new in datasets {
        let d = &new.input.dataset;
        sqlx::query(
            "INSERT INTO datasets (dataset_uuid, experiment_id, name, digest, source_type, \
             source, schema, profile) VALUES ($1, $2, $3, $4, $5, $6, $7, $8) \
             ON CONFLICT (experiment_id, name, digest) DO NOTHING",
        )
        .bind(&new.dataset_uuid)
        .bind(experiment_id)
        .bind(&d.name)
        .bind(&d.digest)
        .bind(&d.source_type)
        .bind(&d.source)
        .bind(d.schema.as_deref())
        .bind(d.profile.as_deref())
        .execute(&mut *conn)
        .await?;
        let dataset_uuid: String = sqlx::query_scalar(
            "SELECT dataset_uuid FROM datasets WHERE experiment_id = $1 AND name = $2 \
             AND digest = $3",
        )
        .bind(experiment_id)
        .bind(&d.name)
        .bind(&d.digest)
        .fetch_one(&mut *conn)
        .await?;
        sqlx::query(
            "INSERT INTO run_dataset_inputs (run_key, dataset_uuid) VALUES ($1, $2) \
             ON CONFLICT DO NOTHING",
        )
        .bind(run_key)
        .bind(&dataset_uuid)
        .execute(&mut *conn)
        .await?;
        if new.input.tags.is_empty() {
            continue;
        }
        let mut last: HashMap<&str, &str> = HashMap::new();
        for t in &new.input.tags {
            last.insert(&t.key, &t.value);
        }
        let mut tags: Vec<(&str, &str)> = last.into_iter().collect();
        tags.sort_unstable();
        let (keys, values): (Vec<&str>, Vec<&str>) = tags.into_iter().unzip();
        sqlx::query(
            "INSERT INTO run_dataset_input_tags (run_key, dataset_uuid, key, value) \
             SELECT $1, $2, k, v FROM UNNEST($3::text[], $4::text[]) AS t (k, v) \
             ON CONFLICT (run_key, dataset_uuid, key) DO UPDATE SET value = excluded.value",
        )
        .bind(run_key)
        .bind(&dataset_uuid)
        .bind(&keys)
        .bind(&values)
        .execute(&mut *conn)
        .await?;
    }
    if !inputs.models.is_empty() {
        let mut models: Vec<&str> = inputs.models.iter().map(|m| m.model_id.as_str()).collect();
        models.sort_unstable();
        models.dedup();
        sqlx::query(
            "INSERT INTO run_model_inputs (run_key, model_id) \
             SELECT $1, m FROM UNNEST($2::text[]) AS t (m) ON CONFLICT DO NOTHING",
        )
        .bind(run_key)
        .bind(&models)
        .execute(&mut *conn)
        .await?;
    }
    Ok(())
}

/// Records model outputs; when a model appears more than once, its last step wins.
pub(crate) async fn log_outputs(
    conn: &mut PgConnection,
    run_id: &str,
    models: &[ModelOutput],
) -> PgResult<()> {
    let (run_key, _) = require_active(conn, run_id, RunLock::Share).await?;
    if models.is_empty() {
        return Ok(());
    }
    let mut last: HashMap<&str, i64> = HashMap::new();
    for m in models {
        last.insert(&m.model_id, m.step);
    }
    let mut rows: Vec<(&str, i64)> = last.into_iter().collect();
    rows.sort_unstable();
    let (ids, steps): (Vec<&str>, Vec<i64>) = rows.into_iter().unzip();
    sqlx::query(
        "INSERT INTO run_model_outputs (run_key, model_id, step) \
         SELECT $1, m, s FROM UNNEST($2::text[], $3::bigint[]) AS t (m, s) \
         ON CONFLICT (run_key, model_id) DO UPDATE SET step = excluded.step",
    )
    .bind(run_key)
    .bind(&ids)
    .bind(&steps)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// Datasets used by runs of these experiments, with each input's context tag.
pub(crate) async fn search_datasets(
    conn: &mut PgConnection,
    experiment_ids: &[i64],
) -> PgResult<Vec<DatasetSummary>> {
    let rows: Vec<(i64, String, String, Option<String>)> = sqlx::query_as(
        "SELECT DISTINCT d.experiment_id, d.name, d.digest, t.value \
         FROM datasets d JOIN run_dataset_inputs i ON i.dataset_uuid = d.dataset_uuid \
         LEFT JOIN run_dataset_input_tags t ON t.run_key = i.run_key \
             AND t.dataset_uuid = i.dataset_uuid AND t.key = 'mlflow.data.context' \
         WHERE d.experiment_id = ANY($1) \
         ORDER BY d.experiment_id, d.name, d.digest, t.value LIMIT 1000",
    )
    .bind(experiment_ids)
    .fetch_all(&mut *conn)
    .await?;
    Ok(rows
        .into_iter()
        .map(|(experiment_id, name, digest, context)| DatasetSummary {
            experiment_id: experiment_id.to_string(),
            name,
            digest,
            context,
        })
        .collect())
}
