//! The PostgreSQL dialect's own forms of a few conditions; everything else is shared SQL.
//!
//! - Placeholders are `$N` and constant conditions are `FALSE` / `TRUE` (see [`super::Sql`]).
//! - `LIKE` is already case-sensitive on PostgreSQL, so the pattern binds as written; `ESCAPE ''`
//!   turns off PostgreSQL's default backslash escape, matching SQLite's translation (MLflow's
//!   `LIKE` has no escape character). `ILIKE` is native, also with `ESCAPE ''`, and folds only
//!   ASCII case because every text column is `COLLATE "C"` (as SQLite's `lower()`).
//! - Experiment IDs are integers in the schema but quoted strings in filters. SQLite converts such
//!   a string to a number when it looks like one and otherwise never finds it equal; PostgreSQL
//!   refuses to compare `bigint` with `text`, so the value is converted here the same way, and
//!   pattern matches compare the ID's text form.
//! - Run params and tags are indexed by `(key, left(value, 100))` (migration 0003; a B-tree entry
//!   cannot hold a whole 6,000-character value). An equality or prefix `LIKE` on a short
//!   literal is written against that prefix, where it means the same, so the index can find the
//!   runs; a longer `LIKE` prefix is added as a redundant condition ([`run_value_condition`]).
//!   Run searches whose first order term is a metric, param or tag are read in two slices (see
//!   [`super::RunSlice`]), the first ordered by [`value_prefix`] for params and tags.

use keel_filter::{CompareOp, Literal};

use super::{Sql, SqlValue, text_of};

/// The length (in characters) of the value prefix that run params and tags are indexed by:
/// `CREATE INDEX ... ON params (key, left(value, 100))` in migration 0003. A literal shorter than
/// this many bytes is shorter than this many characters in any encoding.
pub(super) const VALUE_PREFIX_CHARS: usize = 100;

/// The indexed prefix of a run param or tag value column.
pub(super) fn value_prefix(col: &str) -> String {
    format!("left({col}, {VALUE_PREFIX_CHARS})")
}

/// The condition on a run param or tag value `e.value` in the form the `(key, left(value, 100))`
/// index serves, or `None` when the shared form applies:
///
/// - `= s` with `s` shorter than the prefix: `left(e.value, 100) = s`. A value whose first 100
///   characters equal a shorter `s` is `s` itself, so this is the same condition.
/// - `LIKE 'p%'` (or `LIKE 'p'`) with a wildcard-free `p` shorter than the prefix:
///   `left(e.value, 100) LIKE 'p%'`, also the same condition.
/// - Another `LIKE` whose pattern starts with a short wildcard-free `p`: the condition as
///   written, and the redundant `left(e.value, 100) LIKE 'p%'` for the index.
pub(super) fn run_value_condition(sql: &mut Sql, op: CompareOp, value: &Literal) -> Option<String> {
    let Literal::Str(s) = value else {
        return None;
    };
    let col = "e.value";
    let prefixed = value_prefix(col);
    match op {
        CompareOp::Eq if s.len() < VALUE_PREFIX_CHARS => {
            let p = sql.text(s);
            Some(format!("{prefixed} = {p}"))
        }
        CompareOp::Like => {
            let literal_end = s.find(['%', '_']).unwrap_or(s.len());
            let prefix = s.get(..literal_end).unwrap_or_default();
            if prefix.is_empty() || prefix.len() >= VALUE_PREFIX_CHARS {
                return None;
            }
            let rest = s.get(literal_end..).unwrap_or_default();
            if rest.is_empty() || rest == "%" {
                let p = sql.text(s);
                return Some(format!("{prefixed} LIKE {p} ESCAPE ''"));
            }
            let p = sql.text(s);
            let q = sql.text(&format!("{prefix}%"));
            Some(format!(
                "{col} LIKE {p} ESCAPE '' AND {prefixed} LIKE {q} ESCAPE ''"
            ))
        }
        _ => None,
    }
}

/// Integer columns that filters compare with quoted strings.
const INTEGER_ID_COLUMNS: &[&str] = &["experiments.experiment_id", "lm.experiment_id"];

/// The PostgreSQL form of `col <op> value`, or `None` when the shared form applies.
pub(super) fn condition(
    sql: &mut Sql,
    col: &str,
    op: CompareOp,
    value: &Literal,
) -> Option<String> {
    let integer = INTEGER_ID_COLUMNS.contains(&col);
    match op {
        CompareOp::Like | CompareOp::ILike => {
            let pattern = match value {
                Literal::Str(s) => s.clone(),
                other => text_of(other),
            };
            let p = sql.bind(SqlValue::Text(pattern));
            let operator = if op == CompareOp::Like {
                "LIKE"
            } else {
                "ILIKE"
            };
            Some(if integer {
                format!("CAST({col} AS TEXT) {operator} {p} ESCAPE ''")
            } else {
                format!("{col} {operator} {p} ESCAPE ''")
            })
        }
        _ if !integer => None,
        CompareOp::Eq | CompareOp::Ne => {
            let Literal::Str(s) = value else {
                return None;
            };
            Some(match as_integer(s) {
                Some(id) => {
                    let p = sql.bind(SqlValue::Int(id));
                    let sym = if op == CompareOp::Eq { "=" } else { "!=" };
                    format!("{col} {sym} {p}")
                }
                None if op == CompareOp::Eq => sql.never(),
                None => sql.always(),
            })
        }
        CompareOp::In | CompareOp::NotIn => {
            let items: Vec<String> = match value {
                Literal::List(items) => items.clone(),
                other => vec![text_of(other)],
            };
            let ids: Vec<i64> = items.iter().filter_map(|i| as_integer(i)).collect();
            if ids.is_empty() {
                return Some(if op == CompareOp::In {
                    sql.never()
                } else {
                    sql.always()
                });
            }
            let placeholders: Vec<String> = ids
                .into_iter()
                .map(|id| sql.bind(SqlValue::Int(id)))
                .collect();
            let not = if op == CompareOp::NotIn { "NOT " } else { "" };
            Some(format!("{col} {not}IN ({})", placeholders.join(", ")))
        }
        _ => None,
    }
}

/// The integer a quoted ID stands for, as SQLite's numeric affinity reads it: an integer, or a
/// real number with no fractional part, surrounding spaces allowed. Anything else equals no ID.
fn as_integer(s: &str) -> Option<i64> {
    const LIMIT: f64 = 9_223_372_036_854_775_807.0;
    let t = s.trim();
    t.parse::<i64>().ok().or_else(|| {
        t.parse::<f64>()
            .ok()
            .filter(|f| f.is_finite() && f.fract() == 0.0 && f.abs() < LIMIT)
            .map(|f| f as i64)
    })
}

#[cfg(test)]
mod tests {
    use keel_core::ViewType;
    use keel_core::store::LoggedModelQuery;
    use keel_filter::{Target, parse_filter, parse_order_by_list};

    use super::super::{
        CompiledQuery, Dialect, RunScope, RunSlice, experiment_search_sql_in,
        logged_model_search_sql_in, run_search_count_sql, run_search_slice_sql, run_search_sql_in,
        splits_on_first_order_term,
    };
    use super::*;

    fn runs(dialect: Dialect, filter: &str, order_by: &[&str]) -> CompiledQuery {
        let f = parse_filter(Target::Runs, filter).expect("filter parses");
        let o = parse_order_by_list(Target::Runs, order_by).expect("order_by parses");
        run_search_sql_in(
            dialect,
            RunScope::experiments(&[1, 2]),
            ViewType::ActiveOnly,
            &f,
            &o,
            5,
            10,
        )
    }

    fn pg_runs(filter: &str) -> CompiledQuery {
        runs(Dialect::Postgres, filter, &[])
    }

    fn pg_experiments(filter: &str) -> CompiledQuery {
        let f = parse_filter(Target::Experiments, filter).expect("filter parses");
        experiment_search_sql_in(
            Dialect::Postgres,
            &keel_core::store::ExperimentQuery {
                workspace: "default".into(),
                view: ViewType::All,
                filter: f,
                limit: 10,
                ..Default::default()
            },
        )
    }

    fn pg_models(experiment_ids: &[i64], filter: &str) -> CompiledQuery {
        let q = LoggedModelQuery {
            filter: parse_filter(Target::LoggedModels, filter).expect("filter parses"),
            limit: 10,
            ..Default::default()
        };
        logged_model_search_sql_in(Dialect::Postgres, experiment_ids, &q)
    }

    fn text(s: &str) -> SqlValue {
        SqlValue::Text(s.into())
    }

    #[test]
    fn placeholders_are_dollar_numbered_in_binding_order() {
        let q = runs(
            Dialect::Postgres,
            "params.a = 'x' AND run_id IN ('p', 'q') AND metrics.m > 1",
            &["metrics.m DESC", "tags.t"],
        );
        assert!(!q.sql.contains('?'), "{}", q.sql);
        for n in 1..=q.params.len() {
            assert!(
                q.sql.contains(&format!("${n}")),
                "${n} missing in {}",
                q.sql
            );
        }
        assert!(!q.sql.contains(&format!("${}", q.params.len() + 1)));
        assert_eq!(q.params.first(), Some(&text("m")));
        assert_eq!(q.params.last(), Some(&SqlValue::Int(5)));
    }

    /// Without LIKE, ILIKE or experiment IDs the dialects differ only in their placeholders.
    #[test]
    fn shared_sql_differs_only_in_placeholders() {
        let filter = "metrics.acc >= 0.5 AND params.lr != '0.1' AND tags.env IS NULL \
                      AND datasets.context IN ('train') AND status = 'FINISHED'";
        let order = ["metrics.acc DESC", "params.lr", "end_time"];
        let sqlite = runs(Dialect::Sqlite, filter, &order);
        let pg = runs(Dialect::Postgres, filter, &order);
        assert_eq!(sqlite.params, pg.params);
        let mut as_sqlite = pg.sql.clone();
        for n in (1..=pg.params.len()).rev() {
            as_sqlite = as_sqlite.replace(&format!("${n}"), &format!("?{n}"));
        }
        assert_eq!(as_sqlite, sqlite.sql);
    }

    #[test]
    fn run_search_sql_text() {
        let q = runs(
            Dialect::Postgres,
            "metrics.acc > 0.5 AND params.model = 'cnn'",
            &["metrics.acc DESC"],
        );
        assert_eq!(
            q.sql,
            "SELECT runs.run_uuid FROM runs LEFT JOIN latest_metrics o1 ON o1.run_key = \
             runs.run_key AND o1.key = $1 WHERE runs.experiment_id IN ($2, $3) AND \
             runs.lifecycle_stage = 'active' AND EXISTS (SELECT 1 FROM latest_metrics m WHERE \
             m.run_key = runs.run_key AND m.key = $4 AND m.is_nan = 0 AND m.value > $5) AND \
             EXISTS (SELECT 1 FROM params e WHERE e.run_key = runs.run_key AND e.key = $6 AND \
             left(e.value, 100) = $7) ORDER BY CASE WHEN o1.run_key IS NULL THEN 2 WHEN o1.is_nan = 1 THEN \
             1 ELSE 0 END, o1.value DESC, runs.start_time DESC, runs.run_uuid ASC LIMIT $8 \
             OFFSET $9"
        );
        assert_eq!(
            q.params,
            vec![
                text("acc"),
                SqlValue::Int(1),
                SqlValue::Int(2),
                text("acc"),
                SqlValue::Real(0.5),
                text("model"),
                text("cnn"),
                SqlValue::Int(10),
                SqlValue::Int(5),
            ]
        );
    }

    #[test]
    fn like_binds_the_pattern_as_written_with_no_escape_character() {
        let q = pg_runs("tags.env LIKE 'p_o%*[x]?'");
        assert!(
            q.sql
                .contains("EXISTS (SELECT 1 FROM tags e WHERE e.run_key = runs.run_key AND e.key = $3 AND e.value LIKE $4 ESCAPE '' AND left(e.value, 100) LIKE $5 ESCAPE '')"),
            "{}",
            q.sql
        );
        assert_eq!(q.params[3], text("p_o%*[x]?"));
        assert_eq!(q.params[4], text("p%"));
        let q = pg_runs("attributes.run_name LIKE 'train%'");
        assert!(q.sql.contains("runs.name LIKE $3 ESCAPE ''"), "{}", q.sql);
        assert!(!q.sql.contains("GLOB"));
    }

    #[test]
    fn ilike_is_native() {
        let q = pg_runs("params.model ILIKE 'CNN%'");
        assert!(q.sql.contains("e.value ILIKE $4 ESCAPE ''"), "{}", q.sql);
        assert!(!q.sql.contains("lower("), "{}", q.sql);
        assert_eq!(q.params[3], text("CNN%"));
        let q = pg_runs("datasets.name ILIKE 'mn%'");
        assert!(q.sql.contains("d.name ILIKE $3 ESCAPE ''"), "{}", q.sql);
    }

    #[test]
    fn constant_conditions_are_booleans() {
        let f = parse_filter(Target::Runs, "").expect("parses");
        let q = run_search_sql_in(
            Dialect::Postgres,
            RunScope::experiments(&[]),
            ViewType::All,
            &f,
            &[],
            0,
            10,
        );
        assert!(q.sql.contains(" WHERE FALSE ORDER BY"), "{}", q.sql);
        let q = pg_models(&[], "");
        assert!(q.sql.contains(" AND FALSE ORDER BY"), "{}", q.sql);
        assert!(!pg_runs("").sql.contains(" 0 "));
    }

    #[test]
    fn experiment_ids_compare_as_integers() {
        let q = pg_experiments("experiment_id = '42'");
        assert_eq!(
            q.sql,
            "SELECT experiments.experiment_id FROM experiments WHERE \
             experiments.workspace = $1 AND experiments.experiment_id = $2 ORDER BY \
             experiments.creation_time DESC, experiments.experiment_id ASC LIMIT $3 OFFSET $4"
        );
        assert_eq!(q.params[1], SqlValue::Int(42));
        assert_eq!(
            pg_experiments("experiment_id = ' 7.0 '").params[1],
            SqlValue::Int(7)
        );
        let q = pg_experiments("experiment_id = 'abc'");
        assert!(q.sql.contains("AND FALSE ORDER BY"), "{}", q.sql);
        let q = pg_experiments("experiment_id != 'abc'");
        assert!(q.sql.contains("AND TRUE ORDER BY"), "{}", q.sql);
        let q = pg_experiments("experiment_id IN ('1', 'x', '3')");
        assert!(
            q.sql.contains("experiments.experiment_id IN ($2, $3)"),
            "{}",
            q.sql
        );
        assert_eq!(q.params[1..3], [SqlValue::Int(1), SqlValue::Int(3)]);
        let q = pg_experiments("experiment_id NOT IN ('x')");
        assert!(q.sql.contains("AND TRUE ORDER BY"), "{}", q.sql);
    }

    #[test]
    fn logged_model_experiment_id_patterns_match_its_text() {
        let q = pg_models(&[3], "experiment_id LIKE '1%' AND name = 'm'");
        assert!(
            q.sql
                .contains("lm.experiment_id IN ($1) AND CAST(lm.experiment_id AS TEXT) LIKE $2 ESCAPE '' AND lm.name = $3"),
            "{}",
            q.sql
        );
        assert_eq!(q.params[..3], [SqlValue::Int(3), text("1%"), text("m")]);
    }

    /// The condition inside a run search's single param/tag EXISTS, and its parameters.
    fn value_condition(filter: &str) -> (String, Vec<SqlValue>) {
        let q = pg_runs(filter);
        let start = q
            .sql
            .find("e.key = $3 AND ")
            .expect("param or tag condition")
            + 15;
        let end = q.sql.rfind(") ORDER BY").expect("order");
        (
            q.sql[start..end].to_string(),
            q.params[3..q.params.len() - 2].to_vec(),
        )
    }

    #[test]
    fn short_equalities_and_prefixes_use_the_indexed_value_prefix() {
        assert_eq!(
            value_condition("params.model = 'cnn'"),
            ("left(e.value, 100) = $4".into(), vec![text("cnn")])
        );
        assert_eq!(
            value_condition("tags.sha LIKE 'ab%'"),
            (
                "left(e.value, 100) LIKE $4 ESCAPE ''".into(),
                vec![text("ab%")]
            )
        );
        // No wildcard: LIKE is equality, and the prefix means the same for a short literal.
        assert_eq!(
            value_condition("tags.sha LIKE 'abc'"),
            (
                "left(e.value, 100) LIKE $4 ESCAPE ''".into(),
                vec![text("abc")]
            )
        );
        // Other patterns keep their condition and gain a redundant prefix for the index.
        assert_eq!(
            value_condition("tags.path LIKE 's3://b/%.csv'"),
            (
                "e.value LIKE $4 ESCAPE '' AND left(e.value, 100) LIKE $5 ESCAPE ''".into(),
                vec![text("s3://b/%.csv"), text("s3://b/%")]
            )
        );
    }

    #[test]
    fn long_literals_leading_wildcards_and_other_operators_keep_the_shared_form() {
        let long = "x".repeat(VALUE_PREFIX_CHARS);
        assert_eq!(
            value_condition(&format!("params.p = '{long}'")),
            ("e.value = $4".into(), vec![text(&long)])
        );
        assert_eq!(
            value_condition(&format!("params.p LIKE '{long}%'")).0,
            "e.value LIKE $4 ESCAPE ''"
        );
        assert_eq!(
            value_condition("tags.t LIKE '%ab'").0,
            "e.value LIKE $4 ESCAPE ''"
        );
        assert_eq!(value_condition("tags.t != 'a'").0, "e.value != $4");
        assert_eq!(
            value_condition("tags.t ILIKE 'a%'").0,
            "e.value ILIKE $4 ESCAPE ''"
        );
        // Experiment tags and logged-model params have no such index.
        let q = pg_experiments("tags.team = 'core'");
        assert!(q.sql.contains("e.value = $3"), "{}", q.sql);
        let q = pg_models(&[1], "params.lr = '0.1'");
        assert!(q.sql.contains("e.value = $3"), "{}", q.sql);
    }

    /// A multi-byte literal counts its bytes: shorter than 100 bytes means shorter than 100
    /// characters in any server encoding.
    #[test]
    fn the_prefix_rule_counts_bytes() {
        let wide = "é".repeat(50); // 100 bytes, 50 characters
        assert_eq!(
            value_condition(&format!("params.p = '{wide}'")).0,
            "e.value = $4"
        );
        let narrow = "é".repeat(49); // 98 bytes
        assert_eq!(
            value_condition(&format!("params.p = '{narrow}'")).0,
            "left(e.value, 100) = $4"
        );
    }

    #[test]
    fn the_migration_indexes_the_same_prefix() {
        const MIGRATION: &str = include_str!("../../migrations/postgres/0003_search_indexes.sql");
        for table in ["params", "tags"] {
            let index = format!("ON {table} (key, left(value, {VALUE_PREFIX_CHARS}))");
            assert!(MIGRATION.contains(&index), "{index}");
        }
    }

    fn slices(order_by: &[&str], slice: RunSlice) -> CompiledQuery {
        let f = parse_filter(Target::Runs, "params.p = 'x'").expect("filter parses");
        let o = parse_order_by_list(Target::Runs, order_by).expect("order_by parses");
        run_search_slice_sql(
            Dialect::Postgres,
            RunScope::experiments(&[1]),
            ViewType::ActiveOnly,
            &f,
            &o,
            slice,
            5,
            10,
        )
    }

    #[test]
    fn only_metric_param_and_tag_first_terms_split() {
        let split = |o: &[&str]| {
            splits_on_first_order_term(&parse_order_by_list(Target::Runs, o).expect("parses"))
        };
        assert!(split(&["metrics.m DESC", "start_time"]));
        assert!(split(&["params.p"]));
        assert!(split(&["tags.t DESC"]));
        assert!(!split(&["start_time", "metrics.m"]));
        assert!(!split(&[]));
    }

    #[test]
    fn valued_slice_orders_by_the_joined_value_alone() {
        let q = slices(&["metrics.m DESC", "params.q"], RunSlice::Valued);
        assert_eq!(
            q.sql,
            "SELECT runs.run_uuid FROM runs JOIN latest_metrics o1 ON o1.run_key = runs.run_key \
             AND o1.key = $1 AND o1.is_nan = 0 LEFT JOIN params o2 ON o2.run_key = runs.run_key \
             AND o2.key = $2 WHERE runs.experiment_id IN ($3) AND runs.lifecycle_stage = 'active' \
             AND EXISTS (SELECT 1 FROM params e WHERE e.run_key = runs.run_key AND e.key = $4 AND \
             left(e.value, 100) = $5) ORDER BY o1.value DESC, CASE WHEN o2.run_key IS NULL THEN 1 \
             ELSE 0 END, o2.value ASC, runs.start_time DESC, runs.run_uuid ASC LIMIT $6 OFFSET $7"
        );
        let q = slices(&["tags.t"], RunSlice::Valued);
        assert!(
            q.sql
                .contains("JOIN tags o1 ON o1.run_key = runs.run_key AND o1.key = $1 WHERE"),
            "{}",
            q.sql
        );
        assert!(
            q.sql.contains(
                "ORDER BY left(o1.value, 100) ASC, o1.value ASC, runs.start_time DESC, runs.run_uuid ASC"
            ),
            "{}",
            q.sql
        );
    }

    #[test]
    fn unvalued_slice_keeps_the_order_and_takes_the_rest() {
        let all = slices(&["metrics.m DESC"], RunSlice::All);
        let rest = slices(&["metrics.m DESC"], RunSlice::Unvalued);
        assert_eq!(
            rest.sql,
            all.sql.replace(
                " ORDER BY",
                " AND (o1.run_key IS NULL OR o1.is_nan = 1) ORDER BY"
            )
        );
        assert_eq!(rest.params, all.params);
        let rest = slices(&["params.q"], RunSlice::Unvalued);
        assert!(
            rest.sql
                .contains("AND o1.run_key IS NULL ORDER BY CASE WHEN o1.run_key IS NULL"),
            "{}",
            rest.sql
        );
    }

    #[test]
    fn count_covers_one_slice_without_paging() {
        let f = parse_filter(Target::Runs, "").expect("filter parses");
        let o = parse_order_by_list(Target::Runs, &["metrics.m"]).expect("order_by parses");
        let q = run_search_count_sql(
            Dialect::Postgres,
            RunScope::experiments(&[1, 2]),
            ViewType::All,
            &f,
            &o,
            RunSlice::Valued,
        );
        assert_eq!(
            q.sql,
            "SELECT count(*) FROM (SELECT runs.run_uuid FROM runs JOIN latest_metrics o1 ON \
             o1.run_key = runs.run_key AND o1.key = $1 AND o1.is_nan = 0 WHERE \
             runs.experiment_id IN ($2, $3)) AS slice"
        );
        assert_eq!(q.params.len(), 3);
    }

    #[test]
    fn as_integer_reads_like_sqlite_affinity() {
        assert_eq!(as_integer("12"), Some(12));
        assert_eq!(as_integer(" -3 "), Some(-3));
        assert_eq!(as_integer("4.0"), Some(4));
        assert_eq!(as_integer("4.5"), None);
        assert_eq!(as_integer("inf"), None);
        assert_eq!(as_integer("NaN"), None);
        assert_eq!(as_integer(""), None);
        assert_eq!(as_integer("1e3"), Some(1000));
    }
}
