//! Run and experiment searches: execute the compiled filter (PostgreSQL dialect), then load the
//! matching page.
//!
//! A run search ordered first by a metric, param or tag is read in two slices
//! ([`RunSlice`]): first the runs that have a value for it, whose statement joins that value
//! with an inner join and orders by it, so PostgreSQL can walk the `(key, value)` index in order
//! and stop after one page instead of sorting every matching run; then, only when those run out
//! within the page, the runs without a value (which sort after them). Both statements run in the
//! search's one read-only snapshot, so together they return exactly the page the single
//! statement would.

use keel_core::store::{ExperimentQuery, RunQuery};
use keel_core::{Experiment, Run};
use sqlx::postgres::{PgArguments, PgRow};
use sqlx::{PgConnection, Postgres};

use super::convert::experiment_ids;
use super::error::PgResult;
use super::{experiments, load};
use crate::search_sql::{self, CompiledQuery, Dialect, RunScope, RunSlice, SqlValue};

/// A compiled query's parameters, bound for PostgreSQL.
pub(crate) fn arguments(params: &[SqlValue]) -> PgResult<PgArguments> {
    use sqlx::Arguments;
    let mut args = PgArguments::default();
    for p in params {
        match p {
            SqlValue::Text(s) => args.add(s.clone()),
            SqlValue::Int(i) => args.add(*i),
            SqlValue::Real(f) => args.add(*f),
        }
        .map_err(sqlx::Error::Encode)?;
    }
    Ok(args)
}

/// The first column of every row of a compiled query. Search statements vary with the filter,
/// so they are not kept as prepared statements.
pub(crate) async fn ids<T>(conn: &mut PgConnection, q: &CompiledQuery) -> PgResult<Vec<T>>
where
    T: Send + Unpin + for<'r> sqlx::Decode<'r, Postgres> + sqlx::Type<Postgres>,
    (T,): for<'r> sqlx::FromRow<'r, PgRow>,
{
    Ok(sqlx::query_scalar_with(&q.sql, arguments(&q.params)?)
        .persistent(false)
        .fetch_all(&mut *conn)
        .await?)
}

/// What the planner charges for starting parallel workers during a run search (the default is
/// 1000). A search reads one page, usually by walking an index and stopping early; starting
/// workers for that costs more (several milliseconds) than the work they share, yet the default
/// makes plans parallel from about 10 ms of estimated work. Searches that must read many runs
/// still go parallel.
const SEARCH_PARALLEL_SETUP_COST: &str = "SET LOCAL parallel_setup_cost = 10000";

pub(crate) async fn runs(conn: &mut PgConnection, q: &RunQuery) -> PgResult<Vec<Run>> {
    // Runs inside the search's own read-only transaction: LOCAL ends with it.
    sqlx::query(SEARCH_PARALLEL_SETUP_COST)
        .execute(&mut *conn)
        .await?;
    let experiments = experiment_ids(&q.experiment_ids);
    let scope = RunScope {
        experiment_ids: &experiments,
        workspace: q.workspace.as_deref(),
    };
    let run_ids = if search_sql::splits_on_first_order_term(&q.order_by) && q.limit > 0 {
        split_page(conn, q, scope).await?
    } else {
        let compiled = search_sql::run_search_sql_in(
            Dialect::Postgres,
            scope,
            q.view,
            &q.filter,
            &q.order_by,
            q.offset,
            q.limit,
        );
        ids(conn, &compiled).await?
    };
    load::runs(conn, &run_ids).await
}

/// The page of a search ordered first by a metric, param or tag: valued runs, then the others.
async fn split_page(
    conn: &mut PgConnection,
    q: &RunQuery,
    scope: RunScope<'_>,
) -> PgResult<Vec<String>> {
    let slice = |slice, offset, limit| {
        search_sql::run_search_slice_sql(
            Dialect::Postgres,
            scope,
            q.view,
            &q.filter,
            &q.order_by,
            slice,
            offset,
            limit,
        )
    };
    let offset = q.offset.max(0);
    let mut page: Vec<String> = ids(conn, &slice(RunSlice::Valued, offset, q.limit)).await?;
    let got = i64::try_from(page.len()).unwrap_or(i64::MAX);
    if got >= q.limit {
        return Ok(page);
    }
    // The valued runs end within this page, or before it: how many are there?
    let valued = if got > 0 || offset == 0 {
        offset + got
    } else {
        let count = search_sql::run_search_count_sql(
            Dialect::Postgres,
            scope,
            q.view,
            &q.filter,
            &q.order_by,
            RunSlice::Valued,
        );
        ids::<i64>(conn, &count)
            .await?
            .first()
            .copied()
            .unwrap_or(0)
    };
    let rest: Vec<String> = ids(
        conn,
        &slice(RunSlice::Unvalued, (offset - valued).max(0), q.limit - got),
    )
    .await?;
    page.extend(rest);
    Ok(page)
}

pub(crate) async fn experiments(
    conn: &mut PgConnection,
    q: &ExperimentQuery,
) -> PgResult<Vec<Experiment>> {
    let compiled = search_sql::experiment_search_sql_in(Dialect::Postgres, q);
    let experiment_ids: Vec<i64> = ids(conn, &compiled).await?;
    experiments::load(conn, &experiment_ids).await
}
