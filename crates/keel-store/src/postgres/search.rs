//! Run and experiment searches: execute the compiled filter (PostgreSQL dialect), then load the
//! matching page.

use keel_core::store::{ExperimentQuery, RunQuery};
use keel_core::{Experiment, Run};
use sqlx::postgres::{PgArguments, PgRow};
use sqlx::query::QueryScalar;
use sqlx::{PgConnection, Postgres};

use super::convert::experiment_ids;
use super::error::PgResult;
use super::{experiments, load};
use crate::search_sql::{self, CompiledQuery, Dialect, SqlValue};

/// The first column of every row of a compiled query. Search statements vary with the filter,
/// so they are not kept as prepared statements.
pub(crate) async fn ids<T>(conn: &mut PgConnection, q: &CompiledQuery) -> PgResult<Vec<T>>
where
    T: Send + Unpin + for<'r> sqlx::Decode<'r, Postgres> + sqlx::Type<Postgres>,
    (T,): for<'r> sqlx::FromRow<'r, PgRow>,
{
    let mut query: QueryScalar<'_, Postgres, T, PgArguments> = sqlx::query_scalar(&q.sql);
    for p in &q.params {
        query = match p {
            SqlValue::Text(s) => query.bind(s.as_str()),
            SqlValue::Int(i) => query.bind(*i),
            SqlValue::Real(f) => query.bind(*f),
        };
    }
    Ok(query.persistent(false).fetch_all(&mut *conn).await?)
}

pub(crate) async fn runs(conn: &mut PgConnection, q: &RunQuery) -> PgResult<Vec<Run>> {
    let compiled = search_sql::run_search_sql_in(
        Dialect::Postgres,
        &experiment_ids(&q.experiment_ids),
        q.view,
        &q.filter,
        &q.order_by,
        q.offset,
        q.limit,
    );
    let run_ids: Vec<String> = ids(conn, &compiled).await?;
    load::runs(conn, &run_ids).await
}

pub(crate) async fn experiments(
    conn: &mut PgConnection,
    q: &ExperimentQuery,
) -> PgResult<Vec<Experiment>> {
    let compiled = search_sql::experiment_search_sql_in(
        Dialect::Postgres,
        q.view,
        &q.filter,
        &q.order_by,
        q.offset,
        q.limit,
    );
    let experiment_ids: Vec<i64> = ids(conn, &compiled).await?;
    experiments::load(conn, &experiment_ids).await
}
