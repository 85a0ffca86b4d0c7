//! Compiles parsed search filters and order_by terms (keel-filter's AST) to parameterized SQL.
//!
//! Every user value becomes a bound parameter made by [`Sql::bind`], the one place placeholders
//! are written (`?N` for SQLite, `$N` for PostgreSQL; [`postgres`] has the few other forms that
//! differ in that dialect). Keys that live in other tables (metrics, params, tags, datasets) are
//! tested with correlated `EXISTS` subqueries that hit those tables' `(run_key, key)` primary
//! keys, so nothing is loaded and filtered in memory. Semantics follow MLflow's SQL store
//! (`mlflow/store/tracking/sqlalchemy_store.py`), identically on both dialects:
//!
//! - A comparison on a metric, param or tag, including `!=`, matches only runs that have the key.
//! - `LIKE` is case-sensitive with `%` / `_` wildcards and no escape character (MLflow's SQLite
//!   store turns on `case_sensitive_like`). SQLite's `LIKE` ignores ASCII case and the pragma is
//!   per connection, so `LIKE` compiles to `GLOB` with the pattern translated exactly (`%` → `*`,
//!   `_` → `?`, GLOB's own `*`, `?`, `[` escaped as `[*]`, `[?]`, `[[]`). `ILIKE` compiles to
//!   `lower(col) LIKE lower(?)`, which ignores ASCII case whatever the pragma says. PostgreSQL
//!   uses its own `LIKE` / `ILIKE` with `ESCAPE ''` on `COLLATE "C"` columns, which means the same.
//! - Metric comparisons use the latest value. A NaN latest value satisfies only `!=` (IEEE
//!   semantics, as MLflow's in-memory filter; its SQL store compares the stored 0 instead).
//! - Dataset comparisons match runs with at least one dataset input satisfying them; `context` is
//!   the input tag `mlflow.data.context`.
//! - Runs sort by each order_by term with missing values last in both directions (for metrics:
//!   values, then NaN, then missing), then by `start_time DESC` unless already ordered by it, then
//!   `run_uuid`. Experiments default to `creation_time DESC, experiment_id ASC`; with explicit
//!   terms, `experiment_id DESC` breaks ties unless already named.

use keel_core::ViewType;
use keel_core::store::{ExperimentQuery, Visible};
use keel_filter::{CompareOp, Comparison, DATASET_CONTEXT_TAG, Key, KeyKind, Literal, OrderBy};

mod logged_models;
mod postgres;
mod registry;
mod trace_metrics;
mod traces;

pub(crate) use logged_models::{logged_model_search_sql, logged_model_search_sql_in};
pub(crate) use registry::{model_version_search_sql, registered_model_search_sql};
pub(crate) use trace_metrics::trace_metric_items_sql;
pub(crate) use traces::{trace_count_sql, trace_search_sql};

/// A bound parameter value.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum SqlValue {
    Text(String),
    Int(i64),
    Real(f64),
}

impl rusqlite::ToSql for SqlValue {
    fn to_sql(&self) -> rusqlite::Result<rusqlite::types::ToSqlOutput<'_>> {
        use rusqlite::types::{ToSqlOutput, ValueRef};
        Ok(match self {
            Self::Text(s) => ToSqlOutput::Borrowed(ValueRef::Text(s.as_bytes())),
            Self::Int(i) => ToSqlOutput::Borrowed(ValueRef::Integer(*i)),
            Self::Real(f) => ToSqlOutput::Borrowed(ValueRef::Real(*f)),
        })
    }
}

/// SQL text with its parameters, in placeholder-number order.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct CompiledQuery {
    pub sql: String,
    pub params: Vec<SqlValue>,
}

/// The SQL dialect placeholders (and the few dialect-specific forms) are written for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Dialect {
    Sqlite,
    Postgres,
}

/// Collects parameters and hands out their placeholders.
struct Sql {
    dialect: Dialect,
    params: Vec<SqlValue>,
}

impl Sql {
    fn new(dialect: Dialect) -> Self {
        Self {
            dialect,
            params: Vec::new(),
        }
    }

    /// Binds `value` and returns its placeholder. All placeholders are made here.
    fn bind(&mut self, value: SqlValue) -> String {
        self.params.push(value);
        let n = self.params.len();
        match self.dialect {
            Dialect::Sqlite => format!("?{n}"),
            Dialect::Postgres => format!("${n}"),
        }
    }

    /// A condition that never holds (PostgreSQL's WHERE wants a boolean, not `0`).
    fn never(&self) -> String {
        match self.dialect {
            Dialect::Sqlite => "0".into(),
            Dialect::Postgres => "FALSE".into(),
        }
    }

    /// A condition that always holds.
    fn always(&self) -> String {
        match self.dialect {
            Dialect::Sqlite => "1".into(),
            Dialect::Postgres => "TRUE".into(),
        }
    }

    fn text(&mut self, s: &str) -> String {
        self.bind(SqlValue::Text(s.to_string()))
    }

    /// `<column> IN (<ids>)`, or a condition that never holds for no IDs.
    fn in_ids(&mut self, column: &str, ids: &[i64]) -> String {
        if ids.is_empty() {
            return self.never();
        }
        let placeholders: Vec<String> =
            ids.iter().map(|id| self.bind(SqlValue::Int(*id))).collect();
        format!("{column} IN ({})", placeholders.join(", "))
    }

    fn finish(self, sql: String) -> CompiledQuery {
        CompiledQuery {
            sql,
            params: self.params,
        }
    }
}

/// An integral number within `i64` binds as an integer (exact against INTEGER columns); anything
/// else binds as a real.
fn number(v: f64) -> SqlValue {
    const LIMIT: f64 = 9_223_372_036_854_775_807.0;
    if v.is_finite() && v.fract() == 0.0 && v.abs() < LIMIT {
        SqlValue::Int(v as i64)
    } else {
        SqlValue::Real(v)
    }
}

/// A scalar literal as a parameter; lists and NULL never reach scalar comparisons (the parser
/// rejects them), and bind as an empty string if they ever do.
fn scalar(value: &Literal) -> SqlValue {
    match value {
        Literal::Str(s) => SqlValue::Text(s.clone()),
        Literal::Num(v) => number(*v),
        Literal::List(_) | Literal::Null => SqlValue::Text(String::new()),
    }
}

/// Translates a SQL `LIKE` pattern (no escape character) to an equivalent `GLOB` pattern.
fn like_to_glob(pattern: &str) -> String {
    let mut out = String::with_capacity(pattern.len() + 8);
    for c in pattern.chars() {
        match c {
            '%' => out.push('*'),
            '_' => out.push('?'),
            '*' => out.push_str("[*]"),
            '?' => out.push_str("[?]"),
            '[' => out.push_str("[[]"),
            other => out.push(other),
        }
    }
    out
}

fn binary_op(op: CompareOp) -> Option<&'static str> {
    Some(match op {
        CompareOp::Eq => "=",
        CompareOp::Ne => "!=",
        CompareOp::Lt => "<",
        CompareOp::Le => "<=",
        CompareOp::Gt => ">",
        CompareOp::Ge => ">=",
        _ => return None,
    })
}

/// `col <op> value` for a column holding text or numbers.
fn condition(sql: &mut Sql, col: &str, op: CompareOp, value: &Literal) -> String {
    if sql.dialect == Dialect::Postgres {
        if let Some(cond) = postgres::condition(sql, col, op, value) {
            return cond;
        }
    }
    if let Some(sym) = binary_op(op) {
        let p = sql.bind(scalar(value));
        return format!("{col} {sym} {p}");
    }
    match op {
        CompareOp::Like => {
            let pattern = match value {
                Literal::Str(s) => like_to_glob(s),
                other => like_to_glob(&text_of(other)),
            };
            let p = sql.bind(SqlValue::Text(pattern));
            format!("{col} GLOB {p}")
        }
        CompareOp::ILike => {
            let p = sql.bind(scalar(value));
            format!("lower({col}) LIKE lower({p})")
        }
        CompareOp::In | CompareOp::NotIn => {
            let items: Vec<String> = match value {
                Literal::List(items) => items.clone(),
                other => vec![text_of(other)],
            };
            if items.is_empty() {
                return if op == CompareOp::In {
                    sql.never()
                } else {
                    sql.always()
                };
            }
            let placeholders: Vec<String> = items.iter().map(|i| sql.text(i)).collect();
            let not = if op == CompareOp::NotIn { "NOT " } else { "" };
            format!("{col} {not}IN ({})", placeholders.join(", "))
        }
        CompareOp::IsNull => format!("{col} IS NULL"),
        CompareOp::IsNotNull => format!("{col} IS NOT NULL"),
        // Binary operators were handled above.
        _ => sql.never(),
    }
}

fn text_of(value: &Literal) -> String {
    match value {
        Literal::Str(s) => s.clone(),
        Literal::Num(v) => v.to_string(),
        Literal::List(items) => items.join(","),
        Literal::Null => String::new(),
    }
}

fn view_condition(table: &str, view: ViewType) -> Option<String> {
    match view {
        ViewType::ActiveOnly => Some(format!("{table}.lifecycle_stage = 'active'")),
        ViewType::DeletedOnly => Some(format!("{table}.lifecycle_stage = 'deleted'")),
        ViewType::All => None,
    }
}

/// The `runs` column behind a canonical run attribute name.
fn run_column(name: &str) -> Option<&'static str> {
    Some(match name {
        "run_id" => "runs.run_uuid",
        "run_name" => "runs.name",
        "status" => "runs.status",
        "user_id" => "runs.user_id",
        "artifact_uri" => "runs.artifact_uri",
        "start_time" => "runs.start_time",
        "end_time" => "runs.end_time",
        _ => return None,
    })
}

/// The `experiments` column behind a canonical experiment attribute name.
fn experiment_column(name: &str) -> Option<&'static str> {
    Some(match name {
        "name" => "experiments.name",
        "creation_time" => "experiments.creation_time",
        "last_update_time" => "experiments.last_update_time",
        "experiment_id" => "experiments.experiment_id",
        _ => return None,
    })
}

/// A `(run_key, key, value)` table holding a run's `kind` entries.
fn run_kv_table(kind: KeyKind) -> Option<&'static str> {
    match kind {
        KeyKind::Metric => Some("latest_metrics"),
        KeyKind::Param => Some("params"),
        KeyKind::Tag => Some("tags"),
        KeyKind::Attribute | KeyKind::Dataset => None,
    }
}

fn metric_condition(sql: &mut Sql, op: CompareOp, value: &Literal) -> String {
    let v = match value {
        Literal::Num(v) => SqlValue::Real(*v),
        other => scalar(other),
    };
    let sym = binary_op(op).unwrap_or("=");
    let p = sql.bind(v);
    if op == CompareOp::Ne {
        format!("(m.is_nan = 1 OR m.value != {p})")
    } else {
        format!("m.is_nan = 0 AND m.value {sym} {p}")
    }
}

fn run_filter(sql: &mut Sql, c: &Comparison) -> String {
    match c.key.kind {
        KeyKind::Attribute => match run_column(&c.key.name) {
            Some(col) => condition(sql, col, c.op, &c.value),
            // Unreachable for parsed filters: keel-filter only yields known attributes.
            None => sql.never(),
        },
        KeyKind::Metric => {
            let k = sql.text(&c.key.name);
            let cond = metric_condition(sql, c.op, &c.value);
            format!(
                "EXISTS (SELECT 1 FROM latest_metrics m WHERE m.run_key = runs.run_key \
                 AND m.key = {k} AND {cond})"
            )
        }
        KeyKind::Param | KeyKind::Tag => {
            let table = if c.key.kind == KeyKind::Param {
                "params"
            } else {
                "tags"
            };
            let k = sql.text(&c.key.name);
            let exists =
                format!("SELECT 1 FROM {table} e WHERE e.run_key = runs.run_key AND e.key = {k}");
            match c.op {
                CompareOp::IsNull => format!("NOT EXISTS ({exists})"),
                CompareOp::IsNotNull => format!("EXISTS ({exists})"),
                op => {
                    let indexed = match sql.dialect {
                        Dialect::Postgres => postgres::run_value_condition(sql, op, &c.value),
                        Dialect::Sqlite => None,
                    };
                    let cond = indexed.unwrap_or_else(|| condition(sql, "e.value", op, &c.value));
                    format!("EXISTS ({exists} AND {cond})")
                }
            }
        }
        KeyKind::Dataset => {
            if c.key.name == "context" {
                let k = sql.text(DATASET_CONTEXT_TAG);
                let cond = condition(sql, "t.value", c.op, &c.value);
                format!(
                    "EXISTS (SELECT 1 FROM run_dataset_input_tags t \
                     WHERE t.run_key = runs.run_key AND t.key = {k} AND {cond})"
                )
            } else {
                let col = match c.key.name.as_str() {
                    "name" => "d.name",
                    "digest" => "d.digest",
                    _ => return sql.never(),
                };
                let cond = condition(sql, col, c.op, &c.value);
                format!(
                    "EXISTS (SELECT 1 FROM run_dataset_inputs i \
                     JOIN datasets d ON d.dataset_uuid = i.dataset_uuid \
                     WHERE i.run_key = runs.run_key AND {cond})"
                )
            }
        }
    }
}

/// Whose runs a run search reads: those of these experiments, and when `workspace` is set only
/// those of its experiments in that workspace (the filter is part of the statement).
#[derive(Debug, Clone, Copy)]
pub(crate) struct RunScope<'a> {
    pub experiment_ids: &'a [i64],
    pub workspace: Option<&'a str>,
}

#[cfg(test)]
impl<'a> RunScope<'a> {
    /// The runs of these experiments, in whatever workspace.
    pub(crate) fn experiments(experiment_ids: &'a [i64]) -> Self {
        Self {
            experiment_ids,
            workspace: None,
        }
    }
}

/// `SELECT runs.run_uuid ...` for one page of a run search, in SQLite's dialect.
pub(crate) fn run_search_sql(
    scope: RunScope<'_>,
    view: ViewType,
    filter: &[Comparison],
    order_by: &[OrderBy],
    offset: i64,
    limit: i64,
) -> CompiledQuery {
    run_search_sql_in(
        Dialect::Sqlite,
        scope,
        view,
        filter,
        order_by,
        offset,
        limit,
    )
}

/// Which of a search's matching runs one statement reads. SQLite reads them all at once
/// ([`RunSlice::All`]); PostgreSQL splits a search whose first order term is a metric, param or
/// tag (see [`splits_on_first_order_term`] and `postgres::search`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum RunSlice {
    /// Every matching run.
    All,
    /// The runs with a value for the first order term (for a metric: a latest value that is not
    /// NaN). These sort before all others, and the statement joins that value with an inner join
    /// and orders by it alone first, so an index on (key, value) can produce the order and the
    /// scan stops after one page.
    Valued,
    /// The other matching runs: without the first order term's key, or (metrics) with a NaN
    /// latest value.
    Unvalued,
}

/// Whether a run search ordered by `order_by` can be read as [`RunSlice::Valued`] then
/// [`RunSlice::Unvalued`]: its first order term is a metric, param or tag.
pub(crate) fn splits_on_first_order_term(order_by: &[OrderBy]) -> bool {
    order_by
        .first()
        .is_some_and(|o| run_kv_table(o.key.kind).is_some())
}

/// `SELECT runs.run_uuid ...` for one page of a run search, in `dialect`.
pub(crate) fn run_search_sql_in(
    dialect: Dialect,
    scope: RunScope<'_>,
    view: ViewType,
    filter: &[Comparison],
    order_by: &[OrderBy],
    offset: i64,
    limit: i64,
) -> CompiledQuery {
    run_search_slice_sql(
        dialect,
        scope,
        view,
        filter,
        order_by,
        RunSlice::All,
        offset,
        limit,
    )
}

/// One page of one slice of a run search (`ORDER BY ... LIMIT ... OFFSET ...`).
#[allow(clippy::too_many_arguments)]
pub(crate) fn run_search_slice_sql(
    dialect: Dialect,
    scope: RunScope<'_>,
    view: ViewType,
    filter: &[Comparison],
    order_by: &[OrderBy],
    slice: RunSlice,
    offset: i64,
    limit: i64,
) -> CompiledQuery {
    let (mut sql, body, order_terms) =
        run_search_body(dialect, scope, view, filter, order_by, slice);
    let limit_p = sql.bind(SqlValue::Int(limit));
    let offset_p = sql.bind(SqlValue::Int(offset.max(0)));
    let text = format!(
        "{body} ORDER BY {} LIMIT {limit_p} OFFSET {offset_p}",
        order_terms.join(", ")
    );
    sql.finish(text)
}

/// `SELECT count(*) ...`: how many runs one slice of a run search holds.
pub(crate) fn run_search_count_sql(
    dialect: Dialect,
    scope: RunScope<'_>,
    view: ViewType,
    filter: &[Comparison],
    order_by: &[OrderBy],
    slice: RunSlice,
) -> CompiledQuery {
    let (sql, body, _) = run_search_body(dialect, scope, view, filter, order_by, slice);
    sql.finish(format!("SELECT count(*) FROM ({body}) AS slice"))
}

/// `SELECT runs.run_uuid FROM ... WHERE ...` of a run search and its ORDER BY terms.
fn run_search_body(
    dialect: Dialect,
    scope: RunScope<'_>,
    view: ViewType,
    filter: &[Comparison],
    order_by: &[OrderBy],
    slice: RunSlice,
) -> (Sql, String, Vec<String>) {
    let mut sql = Sql::new(dialect);

    // ORDER BY terms first: their JOINs come before WHERE in the statement.
    let mut joins = Vec::new();
    let mut order_terms = Vec::new();
    let mut slice_condition = None;
    for (i, o) in order_by.iter().enumerate() {
        let dir = if o.ascending { "ASC" } else { "DESC" };
        if o.key.kind == KeyKind::Attribute {
            let Some(col) = run_column(&o.key.name) else {
                continue;
            };
            if o.key.name == "end_time" {
                order_terms.push(format!("CASE WHEN {col} IS NULL THEN 1 ELSE 0 END"));
            }
            order_terms.push(format!("{col} {dir}"));
            continue;
        }
        let Some(table) = run_kv_table(o.key.kind) else {
            continue;
        };
        let alias = format!("o{}", i + 1);
        let k = sql.text(&o.key.name);
        let metric = o.key.kind == KeyKind::Metric;
        let on = format!("{alias}.run_key = runs.run_key AND {alias}.key = {k}");
        if i == 0 && slice == RunSlice::Valued {
            // Only runs with a value: an inner join, ordered by the value alone.
            if metric {
                joins.push(format!(
                    "JOIN {table} {alias} ON {on} AND {alias}.is_nan = 0"
                ));
            } else {
                joins.push(format!("JOIN {table} {alias} ON {on}"));
                if dialect == Dialect::Postgres {
                    // The order of the (key, value-prefix) index first; equal prefixes then
                    // sort by the whole value, which is the same order as the value alone.
                    order_terms.push(format!(
                        "{} {dir}",
                        postgres::value_prefix(&format!("{alias}.value"))
                    ));
                }
            }
            order_terms.push(format!("{alias}.value {dir}"));
            continue;
        }
        joins.push(format!("LEFT JOIN {table} {alias} ON {on}"));
        if i == 0 && slice == RunSlice::Unvalued {
            slice_condition = Some(if metric {
                format!("({alias}.run_key IS NULL OR {alias}.is_nan = 1)")
            } else {
                format!("{alias}.run_key IS NULL")
            });
        }
        if metric {
            order_terms.push(format!(
                "CASE WHEN {alias}.run_key IS NULL THEN 2 WHEN {alias}.is_nan = 1 THEN 1 ELSE 0 END"
            ));
        } else {
            order_terms.push(format!(
                "CASE WHEN {alias}.run_key IS NULL THEN 1 ELSE 0 END"
            ));
        }
        order_terms.push(format!("{alias}.value {dir}"));
    }
    let start_time = Key::new(KeyKind::Attribute, "start_time");
    if !order_by.iter().any(|o| o.key == start_time) {
        order_terms.push("runs.start_time DESC".into());
    }
    order_terms.push("runs.run_uuid ASC".into());

    let mut conditions = Vec::new();
    if scope.experiment_ids.is_empty() {
        conditions.push(sql.never());
    } else {
        let ids: Vec<String> = scope
            .experiment_ids
            .iter()
            .map(|id| sql.bind(SqlValue::Int(*id)))
            .collect();
        conditions.push(format!("runs.experiment_id IN ({})", ids.join(", ")));
    }
    if let Some(workspace) = scope.workspace {
        let w = sql.text(workspace);
        conditions.push(format!(
            "runs.experiment_id IN (SELECT experiment_id FROM experiments WHERE workspace = {w})"
        ));
    }
    conditions.extend(view_condition("runs", view));
    for c in filter {
        conditions.push(run_filter(&mut sql, c));
    }
    conditions.extend(slice_condition);

    let mut text = String::from("SELECT runs.run_uuid FROM runs");
    for j in &joins {
        text.push(' ');
        text.push_str(j);
    }
    text.push_str(" WHERE ");
    text.push_str(&conditions.join(" AND "));
    (sql, text, order_terms)
}

fn experiment_filter(sql: &mut Sql, c: &Comparison) -> String {
    match c.key.kind {
        KeyKind::Attribute => match experiment_column(&c.key.name) {
            Some(col) => condition(sql, col, c.op, &c.value),
            None => sql.never(),
        },
        KeyKind::Tag => {
            let k = sql.text(&c.key.name);
            let exists = format!(
                "SELECT 1 FROM experiment_tags e \
                 WHERE e.experiment_id = experiments.experiment_id AND e.key = {k}"
            );
            match c.op {
                CompareOp::IsNull => format!("NOT EXISTS ({exists})"),
                CompareOp::IsNotNull => format!("EXISTS ({exists})"),
                op => {
                    let cond = condition(sql, "e.value", op, &c.value);
                    format!("EXISTS ({exists} AND {cond})")
                }
            }
        }
        // Experiments have no metrics, params or datasets; the parser rejects them.
        KeyKind::Metric | KeyKind::Param | KeyKind::Dataset => sql.never(),
    }
}

/// `SELECT experiments.experiment_id ...` for one page of an experiment search, in SQLite's
/// dialect.
pub(crate) fn experiment_search_sql(q: &ExperimentQuery) -> CompiledQuery {
    experiment_search_sql_in(Dialect::Sqlite, q)
}

/// The condition keeping only visible rows, `column` holding integer IDs (IDs that are not
/// integers name nothing).
fn visible_ids(sql: &mut Sql, column: &str, visible: &Visible) -> Option<String> {
    let (ids, negate) = match visible {
        Visible::All => return None,
        Visible::Only(ids) => (ids, false),
        Visible::AllExcept(ids) => (ids, true),
    };
    let params: Vec<String> = ids
        .iter()
        .filter_map(|id| id.parse::<i64>().ok())
        .map(|id| sql.bind(SqlValue::Int(id)))
        .collect();
    Some(match (params.is_empty(), negate) {
        (true, false) => "1 = 0".to_owned(),
        (true, true) => return None,
        (false, false) => format!("{column} IN ({})", params.join(", ")),
        (false, true) => format!("{column} NOT IN ({})", params.join(", ")),
    })
}

/// `SELECT experiments.experiment_id ...` for one page of an experiment search, in `dialect`.
pub(crate) fn experiment_search_sql_in(dialect: Dialect, q: &ExperimentQuery) -> CompiledQuery {
    let ExperimentQuery {
        workspace,
        visible,
        view,
        filter,
        order_by,
        offset,
        limit,
    } = q;
    let (view, offset, limit) = (*view, *offset, *limit);
    let mut sql = Sql::new(dialect);
    let ws = sql.text(workspace);
    let mut conditions = vec![format!("experiments.workspace = {ws}")];
    conditions.extend(view_condition("experiments", view));
    conditions.extend(visible_ids(&mut sql, "experiments.experiment_id", visible));
    for c in filter {
        conditions.push(experiment_filter(&mut sql, c));
    }

    let mut order_terms = Vec::new();
    let mut has_id = false;
    for o in order_by.iter().filter(|o| o.key.kind == KeyKind::Attribute) {
        let Some(col) = experiment_column(&o.key.name) else {
            continue;
        };
        has_id |= o.key.name == "experiment_id";
        order_terms.push(format!(
            "{col} {}",
            if o.ascending { "ASC" } else { "DESC" }
        ));
    }
    if order_terms.is_empty() {
        order_terms.push("experiments.creation_time DESC".into());
        order_terms.push("experiments.experiment_id ASC".into());
    } else if !has_id {
        order_terms.push("experiments.experiment_id DESC".into());
    }

    let limit_p = sql.bind(SqlValue::Int(limit));
    let offset_p = sql.bind(SqlValue::Int(offset.max(0)));
    let mut text = String::from("SELECT experiments.experiment_id FROM experiments");
    if !conditions.is_empty() {
        text.push_str(" WHERE ");
        text.push_str(&conditions.join(" AND "));
    }
    text.push_str(" ORDER BY ");
    text.push_str(&order_terms.join(", "));
    text.push_str(&format!(" LIMIT {limit_p} OFFSET {offset_p}"));
    sql.finish(text)
}

#[cfg(test)]
mod tests {
    use super::*;
    use keel_filter::{Target, parse_filter, parse_order_by_list};
    use rusqlite::Connection;

    const SCHEMA: &str = include_str!("../migrations/sqlite/0001_tracking.sql");

    /// Experiments 1 (active) and 2 (deleted), and runs r1..r5 in experiment 1 plus r6 in
    /// experiment 2, with metrics, params, tags and datasets chosen to tell the operators apart.
    fn fixture() -> Connection {
        let conn = Connection::open_in_memory().expect("open");
        conn.execute_batch(SCHEMA).expect("schema");
        conn.execute_batch(
            "INSERT INTO experiments VALUES
               (1, 'Alpha', 'a', 'active', 100, 500, NULL),
               (2, 'beta', 'b', 'deleted', 200, 400, 450),
               (3, 'alpha_2', 'c', 'active', 200, 300, NULL),
               (4, 'Gamma*[x]?', 'd', 'active', 50, 600, NULL);
             INSERT INTO experiment_tags VALUES (1, 'team', 'Core'), (3, 'team', 'core'),
               (4, 'owner', 'x');
             INSERT INTO runs VALUES
               (1, 'r1', 1, 'Train-A', 'ann', 'FINISHED', 1000, 2000, 'file:/a/r1', 'active', NULL),
               (2, 'r2', 1, 'train-b', 'bob', 'FAILED',   3000, NULL, 'file:/a/r2', 'active', NULL),
               (3, 'r3', 1, 'eval_c',  'ann', 'RUNNING',  2000, 2500, 'file:/a/r3', 'active', NULL),
               (4, 'r4', 1, 'TRAIN%d', 'cy',  'FINISHED', 2000, 2600, 'file:/a/r4', 'active', NULL),
               (5, 'r5', 1, 'gone',    'ann', 'KILLED',   4000, 4100, 'file:/a/r5', 'deleted', 5000),
               (6, 'r6', 2, 'other',   'ann', 'FINISHED', 5000, 5100, 'file:/b/r6', 'active', NULL);
             INSERT INTO latest_metrics VALUES
               (1, 'acc', 0, 0, 0.9, 0), (2, 'acc', 0, 0, 0.5, 0),
               (3, 'acc', 0, 0, 0, 1),   (6, 'acc', 0, 0, 0.99, 0),
               (1, 'f1 score', 0, 0, 0.1, 0);
             INSERT INTO params VALUES
               (1, 'lr', '0.1'), (2, 'lr', '0.01'), (3, 'lr', 'Big'),
               (1, 'model', 'CNN'), (2, 'model', 'cnn-v2'), (4, 'model', 'rnn');
             INSERT INTO tags VALUES
               (1, 'env', 'prod'), (2, 'env', 'dev'), (3, 'env', 'Prod'),
               (1, 'mlflow.runName', 'Train-A');
             INSERT INTO datasets VALUES
               ('d1', 1, 'mnist', 'abc123', 'local', 's', NULL, NULL),
               ('d2', 1, 'cifar', 'def456', 'local', 's', NULL, NULL);
             INSERT INTO run_dataset_inputs VALUES (1, 'd1'), (2, 'd1'), (2, 'd2');
             INSERT INTO run_dataset_input_tags VALUES
               (1, 'd1', 'mlflow.data.context', 'train'),
               (2, 'd1', 'mlflow.data.context', 'eval'),
               (2, 'd2', 'mlflow.data.context', 'train');
             ALTER TABLE experiments ADD COLUMN workspace TEXT NOT NULL DEFAULT 'default';",
        )
        .expect("fixture");
        conn
    }

    fn query<T: rusqlite::types::FromSql>(conn: &Connection, q: &CompiledQuery) -> Vec<T> {
        let mut stmt = conn
            .prepare(&q.sql)
            .unwrap_or_else(|e| panic!("{e}: {}", q.sql));
        let rows = stmt
            .query_map(rusqlite::params_from_iter(q.params.iter()), |r| r.get(0))
            .expect("query");
        rows.collect::<rusqlite::Result<Vec<T>>>().expect("rows")
    }

    fn search_runs_in(
        conn: &Connection,
        experiments: &[i64],
        view: ViewType,
        filter: &str,
        order_by: &[&str],
    ) -> Vec<String> {
        let f = parse_filter(Target::Runs, filter).expect("filter parses");
        let o = parse_order_by_list(Target::Runs, order_by).expect("order_by parses");
        query(
            conn,
            &run_search_sql(RunScope::experiments(experiments), view, &f, &o, 0, 100),
        )
    }

    fn runs(conn: &Connection, filter: &str) -> Vec<String> {
        search_runs_in(conn, &[1], ViewType::ActiveOnly, filter, &[])
    }

    fn ordered(conn: &Connection, order_by: &[&str]) -> Vec<String> {
        search_runs_in(conn, &[1], ViewType::ActiveOnly, "", order_by)
    }

    fn exps(conn: &Connection, view: ViewType, filter: &str, order_by: &[&str]) -> Vec<i64> {
        let f = parse_filter(Target::Experiments, filter).expect("filter parses");
        let o = parse_order_by_list(Target::Experiments, order_by).expect("order_by parses");
        query(
            conn,
            &experiment_search_sql(&ExperimentQuery {
                workspace: "default".into(),
                view,
                filter: f,
                order_by: o,
                limit: 100,
                ..Default::default()
            }),
        )
    }

    fn ids(v: &[&str]) -> Vec<String> {
        v.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn experiment_searches_keep_only_visible_rows() {
        let conn = fixture();
        let with = |v: Visible| -> Vec<i64> {
            query(
                &conn,
                &experiment_search_sql(&ExperimentQuery {
                    workspace: "default".into(),
                    visible: v,
                    view: ViewType::All,
                    limit: 100,
                    ..Default::default()
                }),
            )
        };
        assert_eq!(with(Visible::All).len(), 4);
        let mut only = with(Visible::Only(vec![
            "3".into(),
            "1".into(),
            "not-an-id".into(),
        ]));
        only.sort_unstable();
        assert_eq!(only, [1, 3]);
        assert!(with(Visible::Only(vec![])).is_empty());
        let mut except = with(Visible::AllExcept(vec!["2".into()]));
        except.sort_unstable();
        assert_eq!(except, [1, 3, 4]);
        assert_eq!(with(Visible::AllExcept(vec![])).len(), 4);
    }

    #[test]
    fn default_order_is_start_time_desc_then_run_id() {
        let conn = fixture();
        assert_eq!(runs(&conn, ""), ids(&["r2", "r3", "r4", "r1"]));
    }

    #[test]
    fn view_types_and_experiment_ids() {
        let conn = fixture();
        assert_eq!(
            search_runs_in(&conn, &[1], ViewType::DeletedOnly, "", &[]),
            ids(&["r5"])
        );
        assert_eq!(
            search_runs_in(&conn, &[1, 2], ViewType::All, "", &[]),
            ids(&["r6", "r5", "r2", "r3", "r4", "r1"])
        );
        assert!(search_runs_in(&conn, &[], ViewType::All, "", &[]).is_empty());
        assert!(search_runs_in(&conn, &[99], ViewType::All, "", &[]).is_empty());
    }

    #[test]
    fn metric_comparisons() {
        let conn = fixture();
        assert_eq!(runs(&conn, "metrics.acc > 0.6"), ids(&["r1"]));
        assert_eq!(runs(&conn, "metrics.acc >= 0.5"), ids(&["r2", "r1"]));
        assert_eq!(runs(&conn, "metrics.acc < 0.6"), ids(&["r2"]));
        assert_eq!(runs(&conn, "metrics.acc <= 0.9"), ids(&["r2", "r1"]));
        assert_eq!(runs(&conn, "metrics.acc = 0.5"), ids(&["r2"]));
        assert_eq!(runs(&conn, "metrics.`f1 score` = 0.1"), ids(&["r1"]));
    }

    #[test]
    fn metric_not_equal_needs_the_key_and_nan_is_unequal() {
        let conn = fixture();
        // r4 has no acc metric; r3's latest acc is NaN (stored as 0).
        assert_eq!(runs(&conn, "metrics.acc != 0.5"), ids(&["r3", "r1"]));
        assert_eq!(runs(&conn, "metrics.acc = 0"), Vec::<String>::new());
        assert_eq!(runs(&conn, "metrics.acc <= 0"), Vec::<String>::new());
    }

    #[test]
    fn param_and_tag_equality_is_case_sensitive() {
        let conn = fixture();
        assert_eq!(runs(&conn, "params.model = 'CNN'"), ids(&["r1"]));
        assert_eq!(runs(&conn, "tags.env = 'prod'"), ids(&["r1"]));
        assert_eq!(runs(&conn, "tags.env = 'Prod'"), ids(&["r3"]));
    }

    #[test]
    fn param_not_equal_needs_the_key() {
        let conn = fixture();
        // r3 has no model param, so it does not match.
        assert_eq!(runs(&conn, "params.model != 'CNN'"), ids(&["r2", "r4"]));
    }

    #[test]
    fn like_is_case_sensitive() {
        let conn = fixture();
        assert_eq!(runs(&conn, "params.model LIKE 'cnn%'"), ids(&["r2"]));
        assert_eq!(runs(&conn, "params.model LIKE 'CNN'"), ids(&["r1"]));
        assert_eq!(runs(&conn, "tags.env LIKE '%rod'"), ids(&["r3", "r1"]));
        assert_eq!(runs(&conn, "tags.env LIKE 'p_od'"), ids(&["r1"]));
        assert_eq!(
            runs(&conn, "attributes.run_name LIKE 'train%'"),
            ids(&["r2"])
        );
    }

    #[test]
    fn like_treats_glob_metacharacters_literally() {
        let conn = fixture();
        assert_eq!(
            runs(&conn, "attributes.run_name LIKE 'TRAIN%'"),
            ids(&["r4"])
        );
        assert_eq!(
            exps(&conn, ViewType::All, "name LIKE 'Gamma*[x]?'", &[]),
            vec![4]
        );
        assert_eq!(
            exps(&conn, ViewType::All, "name LIKE '%[x]%'", &[]),
            vec![4]
        );
        assert!(exps(&conn, ViewType::All, "name LIKE 'Gamma_'", &[]).is_empty());
        assert_eq!(
            exps(&conn, ViewType::All, "name LIKE 'Gamma_[x]_'", &[]),
            vec![4]
        );
    }

    #[test]
    fn like_to_glob_translation() {
        assert_eq!(like_to_glob("a%b_c"), "a*b?c");
        assert_eq!(like_to_glob("*?[]"), "[*][?][[]]");
        assert_eq!(like_to_glob(r"a\_"), r"a\?");
    }

    #[test]
    fn ilike_ignores_case() {
        let conn = fixture();
        assert_eq!(runs(&conn, "params.model ILIKE 'cnn%'"), ids(&["r2", "r1"]));
        assert_eq!(runs(&conn, "tags.env ILIKE 'PROD'"), ids(&["r3", "r1"]));
        assert_eq!(
            runs(&conn, "attributes.run_name ILIKE 'train%'"),
            ids(&["r2", "r4", "r1"])
        );
    }

    #[test]
    fn is_null_and_is_not_null() {
        let conn = fixture();
        assert_eq!(runs(&conn, "params.model IS NULL"), ids(&["r3"]));
        assert_eq!(
            runs(&conn, "params.model IS NOT NULL"),
            ids(&["r2", "r4", "r1"])
        );
        assert_eq!(runs(&conn, "tags.env IS NULL"), ids(&["r4"]));
    }

    #[test]
    fn string_attributes() {
        let conn = fixture();
        assert_eq!(
            runs(&conn, "attributes.status = 'FINISHED'"),
            ids(&["r4", "r1"])
        );
        assert_eq!(runs(&conn, "status != 'FINISHED'"), ids(&["r2", "r3"]));
        assert_eq!(runs(&conn, "user_id = 'ann'"), ids(&["r3", "r1"]));
        assert_eq!(runs(&conn, "artifact_uri LIKE '%r2'"), ids(&["r2"]));
        assert_eq!(runs(&conn, "run_name = 'eval_c'"), ids(&["r3"]));
        assert_eq!(runs(&conn, "`Run name` = 'eval_c'"), ids(&["r3"]));
        assert_eq!(runs(&conn, "run_id = 'r4'"), ids(&["r4"]));
    }

    #[test]
    fn run_id_in_and_not_in() {
        let conn = fixture();
        assert_eq!(
            runs(&conn, "run_id IN ('r1', 'r3', 'zz')"),
            ids(&["r3", "r1"])
        );
        assert_eq!(
            runs(&conn, "run_id NOT IN ('r1', 'r3')"),
            ids(&["r2", "r4"])
        );
    }

    #[test]
    fn numeric_attributes() {
        let conn = fixture();
        assert_eq!(runs(&conn, "start_time >= 2000"), ids(&["r2", "r3", "r4"]));
        assert_eq!(runs(&conn, "created < 2000"), ids(&["r1"]));
        assert_eq!(runs(&conn, "start_time = 2000.0"), ids(&["r3", "r4"]));
        assert_eq!(runs(&conn, "start_time > 1999.5"), ids(&["r2", "r3", "r4"]));
        // end_time is NULL for r2: no comparison matches it.
        assert_eq!(runs(&conn, "end_time != 0"), ids(&["r3", "r4", "r1"]));
    }

    #[test]
    fn dataset_filters() {
        let conn = fixture();
        assert_eq!(runs(&conn, "datasets.name = 'mnist'"), ids(&["r2", "r1"]));
        assert_eq!(runs(&conn, "datasets.name = 'cifar'"), ids(&["r2"]));
        assert_eq!(runs(&conn, "datasets.digest LIKE 'def%'"), ids(&["r2"]));
        assert_eq!(runs(&conn, "datasets.name IN ('cifar', 'x')"), ids(&["r2"]));
        // Any dataset input not named mnist: only r2 (cifar); runs without inputs never match.
        assert_eq!(runs(&conn, "datasets.name NOT IN ('mnist')"), ids(&["r2"]));
        assert_eq!(runs(&conn, "datasets.name != 'mnist'"), ids(&["r2"]));
        assert_eq!(
            runs(&conn, "datasets.context = 'train'"),
            ids(&["r2", "r1"])
        );
        assert_eq!(runs(&conn, "datasets.context = 'eval'"), ids(&["r2"]));
        assert_eq!(runs(&conn, "datasets.context IN ('eval')"), ids(&["r2"]));
        assert_eq!(runs(&conn, "datasets.name ILIKE 'MN%'"), ids(&["r2", "r1"]));
    }

    #[test]
    fn conditions_are_anded() {
        let conn = fixture();
        assert_eq!(
            runs(
                &conn,
                "metrics.acc > 0.1 AND params.lr = '0.1' AND tags.env = 'prod'"
            ),
            ids(&["r1"])
        );
        assert!(runs(&conn, "metrics.acc > 0.6 AND tags.env = 'dev'").is_empty());
    }

    #[test]
    fn user_values_are_never_in_the_sql_text() {
        let f = parse_filter(
            Target::Runs,
            "params.`x'; DROP TABLE runs; --` = 'v'' OR 1=1 --' AND tags.t LIKE '%'",
        )
        .expect("parses");
        let o = parse_order_by_list(Target::Runs, &["metrics.`evil'key` DESC"]).expect("parses");
        let q = run_search_sql(RunScope::experiments(&[1]), ViewType::All, &f, &o, 0, 10);
        assert!(!q.sql.contains("DROP") && !q.sql.contains("evil") && !q.sql.contains("OR 1=1"));
        assert!(
            q.params
                .contains(&SqlValue::Text("x'; DROP TABLE runs; --".into()))
        );
        let conn = fixture();
        assert!(query::<String>(&conn, &q).is_empty());
        let count: i64 = conn
            .query_row("SELECT count(*) FROM runs", [], |r| r.get(0))
            .expect("count");
        assert_eq!(count, 6);
    }

    #[test]
    fn placeholders_are_numbered_in_binding_order() {
        let f =
            parse_filter(Target::Runs, "params.a = 'x' AND run_id IN ('p', 'q')").expect("parses");
        let o = parse_order_by_list(Target::Runs, &["metrics.m"]).expect("parses");
        let q = run_search_sql(
            RunScope::experiments(&[7]),
            ViewType::ActiveOnly,
            &f,
            &o,
            5,
            10,
        );
        for n in 1..=q.params.len() {
            assert!(
                q.sql.contains(&format!("?{n}")),
                "?{n} missing in {}",
                q.sql
            );
        }
        assert!(!q.sql.contains(&format!("?{}", q.params.len() + 1)));
        assert_eq!(q.params.first(), Some(&SqlValue::Text("m".into())));
        assert_eq!(q.params.last(), Some(&SqlValue::Int(5)));
    }

    #[test]
    fn order_by_metric_puts_nan_then_missing_last_both_ways() {
        let conn = fixture();
        // r1 0.9, r2 0.5, r3 NaN, r4 missing.
        assert_eq!(
            ordered(&conn, &["metrics.acc"]),
            ids(&["r2", "r1", "r3", "r4"])
        );
        assert_eq!(
            ordered(&conn, &["metrics.acc DESC"]),
            ids(&["r1", "r2", "r3", "r4"])
        );
    }

    #[test]
    fn order_by_param_and_tag_missing_last() {
        let conn = fixture();
        // model: r1 CNN, r2 cnn-v2, r4 rnn, r3 missing; byte order puts upper case first.
        assert_eq!(
            ordered(&conn, &["params.model"]),
            ids(&["r1", "r2", "r4", "r3"])
        );
        assert_eq!(
            ordered(&conn, &["params.model DESC"]),
            ids(&["r4", "r2", "r1", "r3"])
        );
        // env: r1 prod, r2 dev, r3 Prod, r4 missing.
        assert_eq!(
            ordered(&conn, &["tags.env DESC"]),
            ids(&["r1", "r2", "r3", "r4"])
        );
    }

    #[test]
    fn order_by_attributes_with_tie_breakers() {
        let conn = fixture();
        assert_eq!(
            ordered(&conn, &["start_time"]),
            ids(&["r1", "r3", "r4", "r2"])
        );
        assert_eq!(
            ordered(&conn, &["created DESC"]),
            ids(&["r2", "r3", "r4", "r1"])
        );
        // Same status: start_time DESC then run_uuid break the tie.
        assert_eq!(ordered(&conn, &["status"]), ids(&["r2", "r4", "r1", "r3"]));
        assert_eq!(
            ordered(&conn, &["run_name DESC"]),
            ids(&["r2", "r3", "r1", "r4"])
        );
        // end_time NULL (r2) sorts last both ways.
        assert_eq!(
            ordered(&conn, &["end_time"]),
            ids(&["r1", "r3", "r4", "r2"])
        );
        assert_eq!(
            ordered(&conn, &["end_time DESC"]),
            ids(&["r4", "r3", "r1", "r2"])
        );
    }

    #[test]
    fn order_by_several_terms() {
        let conn = fixture();
        assert_eq!(
            ordered(&conn, &["user_id", "metrics.acc DESC"]),
            ids(&["r1", "r3", "r2", "r4"])
        );
    }

    #[test]
    fn filter_and_order_and_paging_together() {
        let conn = fixture();
        let f = parse_filter(Target::Runs, "metrics.acc >= 0").expect("parses");
        let o = parse_order_by_list(Target::Runs, &["metrics.acc DESC"]).expect("parses");
        let page1: Vec<String> = query(
            &conn,
            &run_search_sql(RunScope::experiments(&[1, 2]), ViewType::All, &f, &o, 0, 2),
        );
        let page2: Vec<String> = query(
            &conn,
            &run_search_sql(RunScope::experiments(&[1, 2]), ViewType::All, &f, &o, 2, 2),
        );
        assert_eq!(page1, ids(&["r6", "r1"]));
        assert_eq!(page2, ids(&["r2"]));
    }

    #[test]
    fn experiment_default_order_and_views() {
        let conn = fixture();
        assert_eq!(exps(&conn, ViewType::ActiveOnly, "", &[]), vec![3, 1, 4]);
        assert_eq!(exps(&conn, ViewType::DeletedOnly, "", &[]), vec![2]);
        assert_eq!(exps(&conn, ViewType::All, "", &[]), vec![2, 3, 1, 4]);
    }

    #[test]
    fn experiment_attribute_filters() {
        let conn = fixture();
        assert_eq!(exps(&conn, ViewType::All, "name = 'Alpha'", &[]), vec![1]);
        assert_eq!(
            exps(&conn, ViewType::All, "name LIKE 'alpha%'", &[]),
            vec![3]
        );
        assert_eq!(
            exps(&conn, ViewType::All, "name ILIKE 'alpha%'", &[]),
            vec![3, 1]
        );
        assert_eq!(
            exps(&conn, ViewType::All, "name != 'Alpha'", &["name"]),
            vec![4, 3, 2]
        );
        assert_eq!(
            exps(&conn, ViewType::All, "creation_time >= 200", &[]),
            vec![2, 3]
        );
        assert_eq!(
            exps(&conn, ViewType::All, "last_update_time < 450", &[]),
            vec![2, 3]
        );
    }

    #[test]
    fn experiment_tag_filters() {
        let conn = fixture();
        assert_eq!(
            exps(&conn, ViewType::All, "tags.team = 'core'", &[]),
            vec![3]
        );
        assert_eq!(
            exps(&conn, ViewType::All, "tags.team ILIKE 'CORE'", &[]),
            vec![3, 1]
        );
        assert_eq!(
            exps(&conn, ViewType::All, "tags.team != 'core'", &[]),
            vec![1]
        );
        assert_eq!(
            exps(&conn, ViewType::All, "tags.team IS NULL", &[]),
            vec![2, 4]
        );
        assert_eq!(
            exps(&conn, ViewType::All, "tags.owner IS NOT NULL", &[]),
            vec![4]
        );
    }

    #[test]
    fn experiment_order_by_and_tie_breaker() {
        let conn = fixture();
        assert_eq!(exps(&conn, ViewType::All, "", &["name"]), vec![1, 4, 3, 2]);
        assert_eq!(
            exps(&conn, ViewType::All, "", &["experiment_id DESC"]),
            vec![4, 3, 2, 1]
        );
        assert_eq!(
            exps(&conn, ViewType::All, "", &["creation_time"]),
            vec![4, 1, 3, 2]
        );
        assert_eq!(
            exps(
                &conn,
                ViewType::All,
                "",
                &["creation_time", "experiment_id"]
            ),
            vec![4, 1, 2, 3]
        );
        assert_eq!(
            exps(&conn, ViewType::All, "", &["last_update_time DESC"]),
            vec![4, 1, 2, 3]
        );
    }

    #[test]
    fn experiment_paging() {
        let conn = fixture();
        let q = experiment_search_sql(&ExperimentQuery {
            workspace: "default".into(),
            view: ViewType::All,
            offset: 1,
            limit: 2,
            ..Default::default()
        });
        assert_eq!(query::<i64>(&conn, &q), vec![3, 1]);
    }

    #[test]
    fn numbers_bind_as_integers_when_integral() {
        assert_eq!(number(5.0), SqlValue::Int(5));
        assert_eq!(number(-3.0), SqlValue::Int(-3));
        assert_eq!(number(2.5), SqlValue::Real(2.5));
        assert_eq!(number(1e300), SqlValue::Real(1e300));
        assert_eq!(number(f64::INFINITY), SqlValue::Real(f64::INFINITY));
    }

    #[test]
    fn compiled_sql_uses_indexes_for_key_lookups() {
        let conn = fixture();
        let f = parse_filter(Target::Runs, "params.lr = '0.1' AND metrics.acc > 0.5").expect("ok");
        let q = run_search_sql(
            RunScope::experiments(&[1]),
            ViewType::ActiveOnly,
            &f,
            &[],
            0,
            10,
        );
        let mut stmt = conn
            .prepare(&format!("EXPLAIN QUERY PLAN {}", q.sql))
            .expect("explain");
        let plan: Vec<String> = stmt
            .query_map(rusqlite::params_from_iter(q.params.iter()), |r| {
                r.get::<_, String>(3)
            })
            .expect("plan")
            .collect::<rusqlite::Result<_>>()
            .expect("rows");
        let plan = plan.join("\n");
        assert!(
            !plan.contains("SCAN params") && !plan.contains("SCAN e"),
            "{plan}"
        );
        assert!(!plan.contains("SCAN m"), "{plan}");
        assert!(
            plan.contains("SEARCH e USING PRIMARY KEY (run_key=? AND key=?)"),
            "{plan}"
        );
        assert!(
            plan.contains("SEARCH m USING PRIMARY KEY (run_key=? AND key=?)"),
            "{plan}"
        );
    }
}
