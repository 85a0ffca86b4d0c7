//! The SQL that reads the items of a trace-metrics query (`traces/metrics`): one row per trace,
//! span or assessment of the experiments, its filters and time range applied, with the time it
//! is bucketed by, what the metric reads and its dimension values. Rows are grouped and
//! aggregated by `keel_core::traces::metrics::Aggregator` as they stream in.
//!
//! Columns: `time_ms`, `value_num` (a number, or NULL), `value_text` (the text a number is read
//! from: token usage, a session, an assessment's JSON value), then one column per dimension.

use keel_core::traces::metrics::{Dimension, Metric, MetricFilter, MetricQuery, MetricView};

use super::{CompiledQuery, Dialect, Sql, SqlValue};

/// A text value of the span's `content.attributes[<key>]`, when it is a string.
fn span_attribute_text(dialect: Dialect, key: &str) -> String {
    match dialect {
        Dialect::Sqlite => format!(
            "CASE WHEN json_type(s.content, '$.attributes.\"{key}\"') = 'text' \
             THEN json_extract(s.content, '$.attributes.\"{key}\"') END"
        ),
        Dialect::Postgres => format!(
            "CASE WHEN jsonb_typeof(s.content::jsonb -> 'attributes' -> '{key}') = 'string' \
             THEN s.content::jsonb -> 'attributes' ->> '{key}' END"
        ),
    }
}

/// A number in the span's `content.attributes[<key>][<field>]`, when it is one.
fn span_attribute_number(dialect: Dialect, key: &str, field: &str) -> String {
    match dialect {
        Dialect::Sqlite => format!(
            "CASE WHEN json_type(s.content, '$.attributes.\"{key}\".\"{field}\"') IN \
             ('integer', 'real') THEN json_extract(s.content, '$.attributes.\"{key}\".\"{field}\"') END"
        ),
        Dialect::Postgres => format!(
            "CASE WHEN jsonb_typeof(s.content::jsonb #> '{{attributes,{key},{field}}}') = 'number' \
             THEN (s.content::jsonb #>> '{{attributes,{key},{field}}}')::float8 END"
        ),
    }
}

/// The value of a trace's tag or metadata entry `key`.
fn pair_value(sql: &mut Sql, table: &str, key: &str) -> String {
    let k = sql.text(key);
    format!("(SELECT p.value FROM {table} p WHERE p.trace_key = t.trace_key AND p.key = {k})")
}

fn exists_pair(sql: &mut Sql, table: &str, key: &str, value: &str) -> String {
    let (k, v) = (sql.text(key), sql.text(value));
    format!(
        "EXISTS (SELECT 1 FROM {table} p WHERE p.trace_key = t.trace_key AND p.key = {k} \
         AND p.value = {v})"
    )
}

fn filter_condition(sql: &mut Sql, filter: &MetricFilter) -> String {
    let mut equals = |column: &str, value: &str| format!("{column} = {}", sql.text(value));
    match filter {
        MetricFilter::TraceStatus(v) => equals("t.state", v),
        MetricFilter::SpanName(v) => equals("s.name", v),
        MetricFilter::SpanStatus(v) => equals("s.status", v),
        MetricFilter::SpanType(v) => equals("s.span_type", v),
        MetricFilter::AssessmentName(v) => equals("a.name", v),
        MetricFilter::AssessmentType(v) => equals("a.kind", v),
        MetricFilter::TraceTag { key, value } => exists_pair(sql, "trace_tags", key, value),
        // The source run is also an explicit link, as in trace search.
        MetricFilter::TraceMetadata { key, value } if key == "mlflow.sourceRun" => {
            let in_metadata = exists_pair(sql, "trace_metadata", key, value);
            let run = sql.text(value);
            format!(
                "({in_metadata} OR EXISTS (SELECT 1 FROM trace_run_links l \
                 WHERE l.trace_key = t.trace_key AND l.run_uuid = {run}))"
            )
        }
        MetricFilter::TraceMetadata { key, value } => {
            exists_pair(sql, "trace_metadata", key, value)
        }
    }
}

/// `SELECT ...` of the query's items, in `dialect`.
pub(crate) fn trace_metric_items_sql(
    dialect: Dialect,
    experiment_ids: &[i64],
    q: &MetricQuery,
) -> CompiledQuery {
    let mut sql = Sql::new(dialect);
    let float = |expr: String| match dialect {
        Dialect::Sqlite => expr,
        Dialect::Postgres => format!("CAST({expr} AS DOUBLE PRECISION)"),
    };
    let (from, time, range_column) = match q.view {
        MetricView::Traces => ("traces t", "t.request_time", "t.request_time"),
        MetricView::Spans => (
            "spans s JOIN traces t ON t.trace_key = s.trace_key",
            "s.start_time / 1000000",
            "t.request_time",
        ),
        MetricView::Assessments => (
            "assessments a JOIN traces t ON t.trace_key = a.trace_key",
            "t.request_time",
            "t.request_time",
        ),
    };
    // Typed NULLs, so that PostgreSQL's columns have one type whatever the metric.
    let no_number = || float("NULL".into());
    let no_text = || "CAST(NULL AS TEXT)".to_owned();
    let (value_num, value_text) = match q.metric {
        Metric::TraceCount | Metric::SpanCount | Metric::AssessmentCount => {
            (no_number(), no_text())
        }
        Metric::SessionCount => (
            no_number(),
            pair_value(&mut sql, "trace_metadata", "mlflow.trace.session"),
        ),
        Metric::TraceLatency => (float("t.execution_duration".into()), no_text()),
        Metric::Tokens(_) => (
            no_number(),
            pair_value(&mut sql, "trace_metadata", "mlflow.trace.tokenUsage"),
        ),
        Metric::SpanLatency => (
            float("(s.end_time - s.start_time) / 1000000".into()),
            no_text(),
        ),
        Metric::Cost(field) => (
            float(span_attribute_number(dialect, "mlflow.llm.cost", field)),
            no_text(),
        ),
        Metric::AssessmentValue => (float("a.numeric_value".into()), "a.value".to_owned()),
    };
    let dimensions: Vec<String> = q
        .dimensions
        .iter()
        .map(|d| match d {
            Dimension::TraceName => pair_value(&mut sql, "trace_tags", "mlflow.traceName"),
            Dimension::TraceStatus => "t.state".to_owned(),
            Dimension::SpanName => "s.name".to_owned(),
            Dimension::SpanType => "s.span_type".to_owned(),
            Dimension::SpanStatus => "s.status".to_owned(),
            Dimension::SpanModelName => span_attribute_text(dialect, "mlflow.llm.model"),
            Dimension::SpanModelProvider => span_attribute_text(dialect, "mlflow.llm.provider"),
            Dimension::AssessmentName => "a.name".to_owned(),
            Dimension::AssessmentValue => "a.value".to_owned(),
        })
        .collect();

    let mut conditions = Vec::new();
    conditions.push(sql.in_ids("t.experiment_id", experiment_ids));
    if q.view == MetricView::Assessments {
        conditions.push(match dialect {
            Dialect::Sqlite => "a.valid = 1".to_owned(),
            Dialect::Postgres => "a.valid".to_owned(),
        });
    }
    for f in &q.filters {
        conditions.push(filter_condition(&mut sql, f));
    }
    // A span cost is bounded by the span's own start (nanoseconds, the end bound exclusive of
    // the next millisecond); everything else by its trace's time.
    if matches!(q.metric, Metric::Cost(_)) {
        let ns = |ms: i64| ms.checked_mul(1_000_000);
        if let Some(start) = q.start_ms {
            conditions.push(match ns(start) {
                Some(v) => format!("s.start_time >= {}", sql.bind(SqlValue::Int(v))),
                None if start > 0 => sql.never(),
                None => sql.always(),
            });
        }
        if let Some(end) = q.end_ms {
            conditions.push(match end.checked_add(1).and_then(ns) {
                Some(v) => format!("s.start_time < {}", sql.bind(SqlValue::Int(v))),
                None if end > 0 => sql.always(),
                None => sql.never(),
            });
        }
    } else {
        if let Some(start) = q.start_ms {
            let p = sql.bind(SqlValue::Int(start));
            conditions.push(format!("{range_column} >= {p}"));
        }
        if let Some(end) = q.end_ms {
            let p = sql.bind(SqlValue::Int(end));
            conditions.push(format!("{range_column} <= {p}"));
        }
    }

    let mut columns = vec![
        format!("{time} AS time_ms"),
        format!("{value_num} AS value_num"),
        format!("{value_text} AS value_text"),
    ];
    columns.extend(
        dimensions
            .iter()
            .enumerate()
            .map(|(i, d)| format!("{d} AS d{i}")),
    );
    let text = format!(
        "SELECT {} FROM {from} WHERE {}",
        columns.join(", "),
        conditions.join(" AND ")
    );
    sql.finish(text)
}
