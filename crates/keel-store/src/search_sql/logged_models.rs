//! Compiles a logged-model search to parameterized SQL, following the reference's
//! `search_logged_models` (SQL store):
//!
//! - Only active models of the named experiments.
//! - A metric comparison matches a model with at least one metric point (of any run or step)
//!   satisfying it, restricted to the request's datasets when it names any; with datasets but no
//!   metric comparison, a model needs some metric point on those datasets.
//! - Param and tag comparisons need the key (also for `!=`).
//! - Order terms put missing values last both ways; a metric orders by the model's latest point
//!   (largest timestamp, then step, then smallest run ID), optionally of one dataset. Unless
//!   named, `creation_timestamp_ms DESC` and then `model_id` break ties.

use keel_core::store::{DatasetFilter, LoggedModelQuery};
use keel_filter::{Comparison, KeyKind};

use super::{CompiledQuery, Dialect, Sql, SqlValue, condition, metric_condition};

/// The `logged_models` column behind a canonical logged-model attribute name.
fn column(name: &str) -> Option<&'static str> {
    Some(match name {
        "model_id" => "lm.model_id",
        "experiment_id" => "lm.experiment_id",
        "name" => "lm.name",
        "artifact_location" => "lm.artifact_location",
        "creation_timestamp_ms" => "lm.creation_timestamp_ms",
        "last_updated_timestamp_ms" => "lm.last_updated_timestamp_ms",
        "status" => "lm.status",
        "status_message" => "lm.status_message",
        "model_type" => "lm.model_type",
        "source_run_id" => "lm.source_run_id",
        _ => return None,
    })
}

/// `(m.dataset_name = ? [AND m.dataset_digest = ?]) OR ...` for metric rows aliased `m`.
fn dataset_condition(sql: &mut Sql, datasets: &[DatasetFilter]) -> Option<String> {
    if datasets.is_empty() {
        return None;
    }
    let alternatives: Vec<String> = datasets
        .iter()
        .map(|d| {
            let name = sql.text(&d.name);
            match &d.digest {
                Some(digest) => {
                    let digest = sql.text(digest);
                    format!("(m.dataset_name = {name} AND m.dataset_digest = {digest})")
                }
                None => format!("m.dataset_name = {name}"),
            }
        })
        .collect();
    Some(format!("({})", alternatives.join(" OR ")))
}

fn filter(sql: &mut Sql, c: &Comparison, datasets: &[DatasetFilter]) -> String {
    match c.key.kind {
        KeyKind::Attribute => match column(&c.key.name) {
            Some(col) => condition(sql, col, c.op, &c.value),
            None => sql.never(),
        },
        KeyKind::Metric => {
            let k = sql.text(&c.key.name);
            let cond = metric_condition(sql, c.op, &c.value);
            let on_datasets = dataset_condition(sql, datasets)
                .map(|d| format!(" AND {d}"))
                .unwrap_or_default();
            format!(
                "EXISTS (SELECT 1 FROM metrics m WHERE m.model_id = lm.model_id AND m.key = {k} \
                 AND {cond}{on_datasets})"
            )
        }
        KeyKind::Param | KeyKind::Tag => {
            let table = if c.key.kind == KeyKind::Param {
                "logged_model_params"
            } else {
                "logged_model_tags"
            };
            let k = sql.text(&c.key.name);
            let cond = condition(sql, "e.value", c.op, &c.value);
            format!(
                "EXISTS (SELECT 1 FROM {table} e WHERE e.model_id = lm.model_id AND e.key = {k} \
                 AND {cond})"
            )
        }
        // The logged-model grammar has no dataset keys.
        KeyKind::Dataset => sql.never(),
    }
}

/// `SELECT lm.model_id ...` for one page of a logged-model search, in SQLite's dialect.
pub(crate) fn logged_model_search_sql(
    experiment_ids: &[i64],
    q: &LoggedModelQuery,
) -> CompiledQuery {
    logged_model_search_sql_in(Dialect::Sqlite, experiment_ids, q)
}

/// `SELECT lm.model_id ...` for one page of a logged-model search, in `dialect`.
pub(crate) fn logged_model_search_sql_in(
    dialect: Dialect,
    experiment_ids: &[i64],
    q: &LoggedModelQuery,
) -> CompiledQuery {
    let mut sql = Sql::new(dialect);

    let mut order_terms = Vec::new();
    let (mut has_created, mut has_id) = (false, false);
    for o in &q.order_by {
        let dir = if o.ascending { "ASC" } else { "DESC" };
        let value = match o.key.kind {
            KeyKind::Attribute => {
                let Some(col) = column(&o.key.name) else {
                    continue;
                };
                has_created |= o.key.name == "creation_timestamp_ms";
                has_id |= o.key.name == "model_id";
                col.to_string()
            }
            KeyKind::Metric => {
                let k = sql.text(&o.key.name);
                let mut on_dataset = String::new();
                if let Some(name) = &o.dataset_name {
                    on_dataset.push_str(&format!(" AND m.dataset_name = {}", sql.text(name)));
                }
                if let Some(digest) = &o.dataset_digest {
                    on_dataset.push_str(&format!(" AND m.dataset_digest = {}", sql.text(digest)));
                }
                format!(
                    "(SELECT m.value FROM metrics m JOIN runs r ON r.run_key = m.run_key \
                     WHERE m.model_id = lm.model_id AND m.key = {k}{on_dataset} \
                     ORDER BY m.timestamp DESC, m.step DESC, r.run_uuid ASC LIMIT 1)"
                )
            }
            KeyKind::Param | KeyKind::Tag | KeyKind::Dataset => continue,
        };
        order_terms.push(format!("CASE WHEN {value} IS NULL THEN 1 ELSE 0 END"));
        order_terms.push(format!("{value} {dir}"));
    }
    if !has_created {
        order_terms.push("lm.creation_timestamp_ms DESC".into());
    }
    if !has_id {
        order_terms.push("lm.model_id ASC".into());
    }

    let mut conditions = vec!["lm.lifecycle_stage = 'active'".to_string()];
    conditions.push(sql.in_ids("lm.experiment_id", experiment_ids));
    let mut has_metric_filter = false;
    for c in &q.filter {
        has_metric_filter |= c.key.kind == KeyKind::Metric;
        conditions.push(filter(&mut sql, c, &q.datasets));
    }
    if !has_metric_filter {
        if let Some(d) = dataset_condition(&mut sql, &q.datasets) {
            conditions.push(format!(
                "EXISTS (SELECT 1 FROM metrics m WHERE m.model_id = lm.model_id AND {d})"
            ));
        }
    }

    let limit_p = sql.bind(SqlValue::Int(q.limit));
    let offset_p = sql.bind(SqlValue::Int(q.offset.max(0)));
    let text = format!(
        "SELECT lm.model_id FROM logged_models lm WHERE {} ORDER BY {} LIMIT {limit_p} OFFSET \
         {offset_p}",
        conditions.join(" AND "),
        order_terms.join(", ")
    );
    sql.finish(text)
}
