//! Compiles trace searches (`search_traces`) to parameterized SQL for both dialects, following
//! the reference's SQL store (`_get_filter_clauses_for_search_traces` and
//! `_get_orderby_clauses_for_search_traces` in `mlflow/store/tracking/sqlalchemy_store.py`):
//!
//! - Attributes compare the trace's columns; `end_time` is `request_time + coalesce(duration, 0)`.
//! - A tag or metadata comparison, `!=` included, matches only traces that have the key;
//!   `IS NULL` / `IS NOT NULL` test its presence. `metadata.mlflow.sourceRun = '<run>'` (which
//!   `run_id = ...` resolves to) also matches traces linked to the run (`trace_run_links`).
//! - `prompt = 'name/version'` matches traces linked to that prompt version.
//! - Every span comparison of one filter (`span.*` and `text`) must hold for the same span: they
//!   are AND-ed inside one `EXISTS` over the trace's spans. `text` / `span.content` search the
//!   span's JSON document and its name (which the reference's document includes).
//! - `feedback.<name>` / `expectation.<name>` look at valid assessments of that kind and name:
//!   `=` / `!=` compare the stored JSON value with the literal and with its JSON string form (so
//!   `'yes'` matches `"yes"` and `'true'` matches `true`), `<` ... `>=` the numeric value,
//!   `LIKE` / `ILIKE` / `RLIKE` the JSON text.
//! - `RLIKE` is `~` on PostgreSQL and the `regexp(pattern, text)` function on SQLite (registered
//!   by the SQLite search; an invalid pattern matches nothing there).
//! - Order: each term with missing values last in both directions, then `request_time DESC` and
//!   `trace_id ASC` unless already named.

use keel_core::traces::TraceQuery;
use keel_filter::traces::{
    SOURCE_RUN_METADATA, SpanField, TraceAttribute, TraceComparison, TraceKey,
};
use keel_filter::{CompareOp, Literal};

use super::{CompiledQuery, Dialect, Sql, SqlValue, condition};

/// The trace columns a search returns, in this order.
pub(crate) const TRACE_COLUMNS: &str = "t.trace_key, t.trace_id, t.experiment_id, \
     t.client_request_id, t.request_time, t.execution_duration, t.state, t.request_preview, \
     t.response_preview";

fn attribute_column(a: TraceAttribute) -> &'static str {
    match a {
        TraceAttribute::RequestId => "t.trace_id",
        TraceAttribute::Status => "t.state",
        TraceAttribute::ClientRequestId => "t.client_request_id",
        TraceAttribute::TimestampMs => "t.request_time",
        TraceAttribute::ExecutionTimeMs => "t.execution_duration",
        TraceAttribute::EndTimeMs => "(t.request_time + COALESCE(t.execution_duration, 0))",
        TraceAttribute::ExperimentId => "t.experiment_id",
    }
}

/// `col <op> value`, with `RLIKE` in the dialect's form.
fn cond(sql: &mut Sql, col: &str, op: CompareOp, value: &Literal) -> String {
    if op != CompareOp::RLike {
        return condition(sql, col, op, value);
    }
    let pattern = match value {
        Literal::Str(s) => s.clone(),
        _ => return sql.never(),
    };
    let p = sql.bind(SqlValue::Text(pattern));
    match sql.dialect {
        Dialect::Sqlite => format!("regexp({p}, {col})"),
        Dialect::Postgres => format!("{col} ~ {p}"),
    }
}

/// `EXISTS` over a `(trace_key, key, value)` table of the trace.
fn key_value(sql: &mut Sql, table: &str, key: &str, op: CompareOp, value: &Literal) -> String {
    let k = sql.text(key);
    let exists =
        format!("SELECT 1 FROM {table} kv WHERE kv.trace_key = t.trace_key AND kv.key = {k}");
    match op {
        CompareOp::IsNull => format!("NOT EXISTS ({exists})"),
        CompareOp::IsNotNull => format!("EXISTS ({exists})"),
        _ => {
            let c = cond(sql, "kv.value", op, value);
            format!("EXISTS ({exists} AND {c})")
        }
    }
}

/// Escapes regular-expression metacharacters (the same set works for Rust and PostgreSQL).
fn regex_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        if "\\.+*?()|[]{}^$".contains(c) {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

/// A span comparison (inside the `EXISTS` over spans `s`).
fn span_condition(sql: &mut Sql, field: &SpanField, op: CompareOp, value: &Literal) -> String {
    let col = match field {
        SpanField::Name => "s.name",
        SpanField::Type => "s.span_type",
        SpanField::Status => "s.status",
        SpanField::Content => {
            // The reference's span document includes the span's name; Keel keeps it in a column.
            let in_content = cond(sql, "s.content", op, value);
            let in_name = cond(sql, "s.name", op, value);
            return format!("({in_content} OR {in_name})");
        }
        SpanField::Attribute(attr) => {
            // The content document holds `"attributes": {"<attr>":<JSON value>, ...}` (compact
            // JSON): the reference's pattern `%"<attr>"<value>%`, and for RLIKE a pattern
            // anchored inside the attribute's string value, adapted to that layout.
            let key = serde_json::to_string(attr).unwrap_or_default();
            let Literal::Str(v) = value else {
                return cond(sql, "s.content", op, value);
            };
            let pattern = if op == CompareOp::RLike {
                let (body, start) = match v.strip_prefix('^') {
                    Some(rest) => (rest, "\""),
                    None => (v.as_str(), "\".*"),
                };
                let (body, end) = match body.strip_suffix('$') {
                    Some(rest) => (rest, "\""),
                    None => (body, ""),
                };
                format!("{}:{start}{body}{end}", regex_escape(&key))
            } else {
                format!("%{key}{v}%")
            };
            return cond(sql, "s.content", op, &Literal::Str(pattern));
        }
    };
    cond(sql, col, op, value)
}

/// The JSON texts an assessment value may be stored as for the literal `v`: the text itself
/// (booleans, numbers, `null`), its JSON string, and the ASCII-escaped form Python writes.
fn json_forms(v: &str) -> Vec<String> {
    let mut forms = vec![v.to_owned()];
    let json = serde_json::to_string(v).unwrap_or_default();
    // As Python's `json.dumps` writes it (non-ASCII escaped).
    let ascii = keel_core::pyjson::dumps(&serde_json::Value::String(v.to_owned()), true);
    for form in [json, ascii] {
        if !forms.contains(&form) {
            forms.push(form);
        }
    }
    forms
}

fn assessment_condition(
    sql: &mut Sql,
    kind: &str,
    name: &str,
    op: CompareOp,
    value: &Literal,
) -> String {
    let k = sql.text(kind);
    let n = sql.text(name);
    let valid = match sql.dialect {
        Dialect::Sqlite => "a.valid = 1",
        Dialect::Postgres => "a.valid",
    };
    let base = format!(
        "SELECT 1 FROM assessments a WHERE a.trace_key = t.trace_key AND a.kind = {k} \
         AND a.name = {n} AND {valid}"
    );
    let c = match op {
        CompareOp::IsNull => return format!("NOT EXISTS ({base})"),
        CompareOp::IsNotNull => return format!("EXISTS ({base})"),
        CompareOp::Lt | CompareOp::Le | CompareOp::Gt | CompareOp::Ge => {
            let v = match value {
                Literal::Num(v) => SqlValue::Real(*v),
                _ => return sql.never(),
            };
            let sym = match op {
                CompareOp::Lt => "<",
                CompareOp::Le => "<=",
                CompareOp::Gt => ">",
                _ => ">=",
            };
            let p = sql.bind(v);
            format!("a.numeric_value IS NOT NULL AND a.numeric_value {sym} {p}")
        }
        CompareOp::Eq | CompareOp::Ne => {
            let Literal::Str(v) = value else {
                return sql.never();
            };
            let forms: Vec<String> = json_forms(v).iter().map(|f| sql.text(f)).collect();
            let not = if op == CompareOp::Ne { "NOT " } else { "" };
            format!("a.value {not}IN ({})", forms.join(", "))
        }
        _ => cond(sql, "a.value", op, value),
    };
    format!("EXISTS ({base} AND {c})")
}

fn trace_filter(sql: &mut Sql, c: &TraceComparison) -> Option<String> {
    Some(match &c.key {
        TraceKey::Attribute(a) => cond(sql, attribute_column(*a), c.op, &c.value),
        TraceKey::Tag(k) => key_value(sql, "trace_tags", k, c.op, &c.value),
        TraceKey::Metadata(k) if k == SOURCE_RUN_METADATA && c.op == CompareOp::Eq => {
            let Literal::Str(run) = &c.value else {
                return Some(sql.never());
            };
            let in_metadata = key_value(sql, "trace_metadata", k, c.op, &c.value);
            let r = sql.text(run);
            format!(
                "({in_metadata} OR EXISTS (SELECT 1 FROM trace_run_links l \
                 WHERE l.trace_key = t.trace_key AND l.run_uuid = {r}))"
            )
        }
        TraceKey::Metadata(k) => key_value(sql, "trace_metadata", k, c.op, &c.value),
        TraceKey::Prompt => {
            let Literal::Str(v) = &c.value else {
                return Some(sql.never());
            };
            let Some((name, version)) = v.split_once('/') else {
                return Some(sql.never());
            };
            let (n, v) = (sql.text(name), sql.text(version));
            format!(
                "EXISTS (SELECT 1 FROM trace_prompt_links p WHERE p.trace_key = t.trace_key \
                 AND p.prompt_name = {n} AND p.prompt_version = {v})"
            )
        }
        // Collected into one EXISTS by the caller.
        TraceKey::Span(_) => return None,
        TraceKey::Assessment(kind, name) => {
            assessment_condition(sql, kind.as_str(), name, c.op, &c.value)
        }
        TraceKey::Issue => {
            let Literal::Str(v) = &c.value else {
                return Some(sql.never());
            };
            assessment_condition(sql, "issue", v, CompareOp::IsNotNull, &Literal::Null)
        }
    })
}

/// `SELECT <TRACE_COLUMNS> ...` for one page of a trace search, in `dialect`.
pub(crate) fn trace_search_sql(
    dialect: Dialect,
    experiment_ids: &[i64],
    q: &TraceQuery,
) -> CompiledQuery {
    let mut sql = Sql::new(dialect);

    // ORDER BY first: its joins come before WHERE.
    let mut joins = Vec::new();
    let mut order_terms = Vec::new();
    let (mut has_time, mut has_id) = (false, false);
    for (i, o) in q.order_by.iter().enumerate() {
        let dir = if o.ascending { "ASC" } else { "DESC" };
        let table = match &o.key {
            TraceKey::Attribute(a) => {
                has_time |= *a == TraceAttribute::TimestampMs;
                has_id |= *a == TraceAttribute::RequestId;
                let col = attribute_column(*a);
                if matches!(
                    a,
                    TraceAttribute::ExecutionTimeMs | TraceAttribute::ClientRequestId
                ) {
                    order_terms.push(format!("CASE WHEN {col} IS NULL THEN 1 ELSE 0 END"));
                }
                order_terms.push(format!("{col} {dir}"));
                continue;
            }
            TraceKey::Tag(_) => "trace_tags",
            TraceKey::Metadata(_) => "trace_metadata",
            // The grammar orders by nothing else.
            _ => continue,
        };
        let (TraceKey::Tag(key) | TraceKey::Metadata(key)) = &o.key else {
            continue;
        };
        let alias = format!("o{}", i + 1);
        let k = sql.text(key);
        joins.push(format!(
            "LEFT JOIN {table} {alias} ON {alias}.trace_key = t.trace_key AND {alias}.key = {k}"
        ));
        order_terms.push(format!("CASE WHEN {alias}.value IS NULL THEN 1 ELSE 0 END"));
        order_terms.push(format!("{alias}.value {dir}"));
    }
    if !has_time {
        order_terms.push("t.request_time DESC".into());
    }
    if !has_id {
        order_terms.push("t.trace_id ASC".into());
    }

    let conditions = trace_conditions(&mut sql, experiment_ids, &q.filter);
    let limit_p = sql.bind(SqlValue::Int(q.limit));
    let offset_p = sql.bind(SqlValue::Int(q.offset.max(0)));
    let mut text = format!("SELECT {TRACE_COLUMNS} FROM traces t");
    for j in &joins {
        text.push(' ');
        text.push_str(j);
    }
    text.push_str(" WHERE ");
    text.push_str(&conditions);
    text.push_str(&format!(
        " ORDER BY {} LIMIT {limit_p} OFFSET {offset_p}",
        order_terms.join(", ")
    ));
    sql.finish(text)
}

/// `SELECT count(*) ...`: how many traces of the experiments match `filter`, in `dialect`.
pub(crate) fn trace_count_sql(
    dialect: Dialect,
    experiment_ids: &[i64],
    filter: &[TraceComparison],
) -> CompiledQuery {
    let mut sql = Sql::new(dialect);
    let conditions = trace_conditions(&mut sql, experiment_ids, filter);
    sql.finish(format!("SELECT count(*) FROM traces t WHERE {conditions}"))
}

/// The WHERE clause over `traces t` of a search: in one of the experiments (none matches
/// nothing), and every comparison of `filter` (those on spans in one `EXISTS`).
fn trace_conditions(sql: &mut Sql, experiment_ids: &[i64], filter: &[TraceComparison]) -> String {
    let mut conditions = Vec::new();
    conditions.push(sql.in_ids("t.experiment_id", experiment_ids));
    let mut span_conditions = Vec::new();
    for c in filter {
        match (&c.key, trace_filter(sql, c)) {
            (_, Some(cond)) => conditions.push(cond),
            (TraceKey::Span(field), None) => {
                span_conditions.push(span_condition(sql, field, c.op, &c.value));
            }
            (_, None) => {}
        }
    }
    if !span_conditions.is_empty() {
        conditions.push(format!(
            "EXISTS (SELECT 1 FROM spans s WHERE s.trace_key = t.trace_key AND {})",
            span_conditions.join(" AND ")
        ));
    }
    conditions.join(" AND ")
}

#[cfg(test)]
mod tests {
    use super::*;
    use rusqlite::Connection;

    /// Traces 1..=3 in experiment 1 and 4 in experiment 2, with tags, metadata, spans,
    /// assessments and links written directly.
    fn fixture() -> Connection {
        let conn = Connection::open_in_memory().expect("open");
        for schema in [
            include_str!("../../migrations/sqlite/0001_tracking.sql"),
            include_str!("../../migrations/sqlite/0005_traces.sql"),
            include_str!("../../migrations/sqlite/0006_trace_links_and_assessments.sql"),
        ] {
            conn.execute_batch(schema).expect("schema");
        }
        conn.execute_batch(
            r#"INSERT INTO experiments VALUES (1, 'a', 'a', 'active', 1, 1, NULL),
                 (2, 'b', 'b', 'active', 1, 1, NULL);
               INSERT INTO traces VALUES
                 (1, 'tr-1', 1, 'req-1', 1000, 50, 'OK', NULL, NULL),
                 (2, 'tr-2', 1, NULL, 2000, NULL, 'ERROR', NULL, NULL),
                 (3, 'tr-3', 1, NULL, 3000, 500, 'IN_PROGRESS', NULL, NULL),
                 (4, 'tr-4', 2, NULL, 4000, 5, 'OK', NULL, NULL);
               INSERT INTO trace_tags VALUES (1, 'mlflow.traceName', 'agent'),
                 (2, 'mlflow.traceName', 'Agent-2'), (1, 'team', 'x'), (3, 'team', 'y');
               INSERT INTO trace_metadata VALUES (1, 'mlflow.sourceRun', 'run-a'),
                 (2, 'mlflow.sourceRun', 'run-b');
               INSERT INTO trace_run_links VALUES (3, 'run-a');
               INSERT INTO trace_prompt_links VALUES (2, 'qa', '3');
               INSERT INTO spans VALUES
                 (1, 'a1', NULL, 'root', 'CHAIN', 'OK', 0, 1, NULL, '{"attributes":{"llm.model":"gpt-4o"}}'),
                 (1, 'a2', 'a1', 'llm', 'LLM', 'ERROR', 0, 1, NULL, '{"attributes":{"q":"héllo"}}'),
                 (2, 'b1', NULL, 'llm', 'CHAIN', 'OK', 0, 1, NULL, '{"attributes":{}}');
               INSERT INTO assessments (assessment_id, trace_key, name, kind, value,
                   numeric_value, source_type, source_id, valid, create_time, last_update_time)
                 VALUES ('a-1', 1, 'correct', 'feedback', '"yes"', NULL, 'HUMAN', 'u', 1, 0, 0),
                        ('a-2', 2, 'score', 'feedback', '0.9', 0.9, 'CODE', 'c', 1, 0, 0),
                        ('a-3', 3, 'score', 'feedback', '0.2', 0.2, 'CODE', 'c', 0, 0, 0),
                        ('a-4', 3, 'correct', 'feedback', 'true', 1, 'CODE', 'c', 1, 0, 0);"#,
        )
        .expect("fixture");
        conn.create_scalar_function(
            "regexp",
            2,
            rusqlite::functions::FunctionFlags::SQLITE_UTF8,
            |ctx| {
                let p: String = ctx.get(0)?;
                let s: Option<String> = ctx.get(1)?;
                Ok(s.is_some_and(|s| {
                    regex_automata::meta::Regex::new(&p).is_ok_and(|r| r.is_match(&s))
                }))
            },
        )
        .expect("regexp");
        conn
    }

    fn search(
        conn: &Connection,
        filter: &str,
        order_by: &[&str],
        experiments: &[i64],
    ) -> Vec<String> {
        let q = TraceQuery {
            experiment_ids: Vec::new(),
            filter: keel_filter::traces::parse_filter(filter).expect("filter"),
            order_by: keel_filter::traces::parse_order_by_list(order_by).expect("order_by"),
            offset: 0,
            limit: 100,
        };
        let compiled = trace_search_sql(Dialect::Sqlite, experiments, &q);
        let mut stmt = conn.prepare(&compiled.sql).expect("prepare");
        stmt.query_map(rusqlite::params_from_iter(compiled.params.iter()), |r| {
            r.get::<_, String>(1)
        })
        .expect("query")
        .collect::<rusqlite::Result<Vec<_>>>()
        .expect("rows")
    }

    fn ids(filter: &str) -> Vec<String> {
        search(&fixture(), filter, &[], &[1, 2])
    }

    fn v(ids: &[&str]) -> Vec<String> {
        ids.iter().map(|s| (*s).to_owned()).collect()
    }

    #[test]
    fn attributes() {
        assert_eq!(ids("status = 'OK'"), v(&["tr-4", "tr-1"]));
        assert_eq!(
            ids("status IN ('ERROR', 'IN_PROGRESS')"),
            v(&["tr-3", "tr-2"])
        );
        assert_eq!(
            ids("timestamp_ms > 1000 AND timestamp < 4000"),
            v(&["tr-3", "tr-2"])
        );
        assert_eq!(ids("execution_time_ms >= 50"), v(&["tr-3", "tr-1"]));
        assert_eq!(ids("end_time > 2000"), v(&["tr-4", "tr-3"]));
        assert_eq!(ids("client_request_id = 'req-1'"), v(&["tr-1"]));
        assert_eq!(ids("request_id RLIKE '^tr-[12]$'"), v(&["tr-2", "tr-1"]));
        assert_eq!(
            ids("request_id RLIKE '(['"),
            v(&[]),
            "bad pattern: no match"
        );
    }

    #[test]
    fn tags_metadata_runs_and_prompts() {
        assert_eq!(ids("name = 'agent'"), v(&["tr-1"]));
        assert_eq!(ids("name ILIKE 'agent%'"), v(&["tr-2", "tr-1"]));
        assert_eq!(
            ids("name LIKE 'agent%'"),
            v(&["tr-1"]),
            "LIKE is case-sensitive"
        );
        assert_eq!(ids("tags.team != 'x'"), v(&["tr-3"]));
        assert_eq!(ids("tags.team IS NULL"), v(&["tr-4", "tr-2"]));
        assert_eq!(
            ids("run_id = 'run-a'"),
            v(&["tr-3", "tr-1"]),
            "metadata or link"
        );
        assert_eq!(
            ids("metadata.`mlflow.sourceRun` LIKE 'run-%'"),
            v(&["tr-2", "tr-1"])
        );
        assert_eq!(ids("prompt = 'qa/3'"), v(&["tr-2"]));
        assert_eq!(ids("prompt = 'qa/4'"), v(&[]));
    }

    #[test]
    fn spans_match_one_span() {
        assert_eq!(ids("span.name = 'llm'"), v(&["tr-2", "tr-1"]));
        assert_eq!(ids("span.name = 'llm' AND span.type = 'LLM'"), v(&["tr-1"]));
        assert_eq!(
            ids("span.name = 'root' AND span.type = 'LLM'"),
            v(&[]),
            "the same span must match both"
        );
        assert_eq!(ids("span.status = 'ERROR'"), v(&["tr-1"]));
        assert_eq!(ids("text LIKE '%héllo%'"), v(&["tr-1"]));
        assert_eq!(
            ids("text LIKE 'roo%'"),
            v(&["tr-1"]),
            "the span name is searched too"
        );
        assert_eq!(
            ids("span.attributes.`llm.model` LIKE '%gpt%'"),
            v(&["tr-1"])
        );
        assert_eq!(
            ids("span.attributes.`llm.model` RLIKE '^gpt'"),
            v(&["tr-1"])
        );
        assert_eq!(ids("span.attributes.`llm.model` RLIKE '^pt'"), v(&[]));
    }

    #[test]
    fn assessments() {
        assert_eq!(ids("feedback.correct = 'yes'"), v(&["tr-1"]));
        assert_eq!(ids("feedback.correct = 'true'"), v(&["tr-3"]));
        assert_eq!(ids("feedback.correct != 'yes'"), v(&["tr-3"]));
        assert_eq!(ids("feedback.score > 0.5"), v(&["tr-2"]));
        assert_eq!(
            ids("feedback.score < 0.5"),
            v(&[]),
            "the invalid one is ignored"
        );
        assert_eq!(ids("feedback.score IS NULL"), v(&["tr-4", "tr-3", "tr-1"]));
        assert_eq!(ids("feedback.correct LIKE '%ye%'"), v(&["tr-1"]));
        assert_eq!(ids("expectation.correct IS NOT NULL"), v(&[]));
        assert_eq!(ids("issue.id = 'x'"), v(&[]));
    }

    #[test]
    fn ordering_and_experiments() {
        let conn = fixture();
        assert_eq!(
            search(&conn, "", &["execution_time ASC"], &[1]),
            v(&["tr-1", "tr-3", "tr-2"]),
            "NULL last"
        );
        assert_eq!(
            search(&conn, "", &["execution_time DESC"], &[1]),
            v(&["tr-3", "tr-1", "tr-2"]),
            "NULL last"
        );
        assert_eq!(
            search(&conn, "", &["tags.team DESC"], &[1, 2]),
            v(&["tr-3", "tr-1", "tr-4", "tr-2"])
        );
        assert_eq!(
            search(&conn, "", &["name"], &[1, 2]),
            v(&["tr-2", "tr-1", "tr-4", "tr-3"])
        );
        assert_eq!(
            search(&conn, "", &["status", "request_id DESC"], &[1, 2]),
            v(&["tr-2", "tr-3", "tr-4", "tr-1"])
        );
        assert_eq!(search(&conn, "", &[], &[2]), v(&["tr-4"]));
        assert_eq!(search(&conn, "", &[], &[]), v(&[]));
    }

    #[test]
    fn json_forms_cover_python_and_serde() {
        assert_eq!(json_forms("yes"), v(&["yes", "\"yes\""]));
        assert_eq!(json_forms("é"), v(&["é", "\"é\"", "\"\\u00e9\""]));
    }
}
