//! Runs and experiment searches: execute the compiled filter, then load the matching page.

use keel_core::store::{ExperimentQuery, RunQuery};
use keel_core::{Experiment, Result, Run};
use rusqlite::Connection;
use rusqlite::types::Value;

use super::db_err;
use super::{experiments, load};
use crate::search_sql::{self, CompiledQuery, SqlValue};

fn bind(params: Vec<SqlValue>) -> Vec<Value> {
    params
        .into_iter()
        .map(|p| match p {
            SqlValue::Text(s) => Value::Text(s),
            SqlValue::Int(i) => Value::Integer(i),
            SqlValue::Real(f) => Value::Real(f),
        })
        .collect()
}

pub(crate) fn ids<T: rusqlite::types::FromSql>(
    conn: &Connection,
    q: CompiledQuery,
) -> Result<Vec<T>> {
    let mut stmt = conn.prepare_cached(&q.sql).map_err(db_err)?;
    let params = bind(q.params);
    let rows = stmt
        .query_map(rusqlite::params_from_iter(params.iter()), |r| r.get(0))
        .map_err(db_err)?;
    rows.collect::<rusqlite::Result<Vec<T>>>().map_err(db_err)
}

pub(crate) fn runs(conn: &Connection, q: &RunQuery) -> Result<Vec<Run>> {
    let experiment_ids: Vec<i64> = q
        .experiment_ids
        .iter()
        .filter_map(|id| id.parse().ok())
        .collect();
    let scope = search_sql::RunScope {
        experiment_ids: &experiment_ids,
        workspace: q.workspace.as_deref(),
    };
    let compiled =
        search_sql::run_search_sql(scope, q.view, &q.filter, &q.order_by, q.offset, q.limit);
    let run_ids: Vec<String> = ids(conn, compiled)?;
    load::runs(conn, &run_ids)
}

pub(crate) fn experiments(conn: &Connection, q: &ExperimentQuery) -> Result<Vec<Experiment>> {
    let compiled = search_sql::experiment_search_sql(q);
    let experiment_ids: Vec<i64> = ids(conn, compiled)?;
    experiments::load(conn, &experiment_ids)
}
