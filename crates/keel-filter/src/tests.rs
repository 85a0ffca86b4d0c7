//! Behaviour tests of the public parsing API: every prefix, alias, operator, quoting form and error.

use super::*;

fn runs(input: &str) -> Vec<Comparison> {
    match parse_filter(Target::Runs, input) {
        Ok(v) => v,
        Err(e) => panic!("filter {input:?} should parse: {e}"),
    }
}

fn exps(input: &str) -> Vec<Comparison> {
    match parse_filter(Target::Experiments, input) {
        Ok(v) => v,
        Err(e) => panic!("filter {input:?} should parse: {e}"),
    }
}

fn one(input: &str) -> Comparison {
    let mut all = runs(input);
    assert_eq!(all.len(), 1, "{input}");
    all.remove(0)
}

fn runs_err(input: &str) -> String {
    match parse_filter(Target::Runs, input) {
        Ok(v) => panic!("filter {input:?} should fail, got {v:?}"),
        Err(e) => e.0,
    }
}

fn exps_err(input: &str) -> String {
    match parse_filter(Target::Experiments, input) {
        Ok(v) => panic!("filter {input:?} should fail, got {v:?}"),
        Err(e) => e.0,
    }
}

fn cmp(kind: KeyKind, name: &str, op: CompareOp, value: Literal) -> Comparison {
    Comparison {
        key: Key::new(kind, name),
        op,
        value,
    }
}

fn s(v: &str) -> Literal {
    Literal::Str(v.to_string())
}

fn order(target: Target, clause: &str) -> OrderBy {
    match parse_order_by(target, clause) {
        Ok(o) => o,
        Err(e) => panic!("order_by {clause:?} should parse: {e}"),
    }
}

fn order_err(target: Target, clause: &str) -> String {
    match parse_order_by(target, clause) {
        Ok(o) => panic!("order_by {clause:?} should fail, got {o:?}"),
        Err(e) => e.0,
    }
}

// ---- empty input ----

#[test]
fn empty_and_whitespace_filters_are_empty() {
    assert!(runs("").is_empty());
    assert!(runs("   \t\n ").is_empty());
    assert!(exps("").is_empty());
}

// ---- prefixes and aliases ----

#[test]
fn metric_prefixes() {
    for p in ["metric", "metrics"] {
        assert_eq!(
            one(&format!("{p}.acc > 0.5")),
            cmp(KeyKind::Metric, "acc", CompareOp::Gt, Literal::Num(0.5))
        );
    }
}

#[test]
fn param_prefixes() {
    for p in ["param", "params", "parameter", "parameters"] {
        assert_eq!(
            one(&format!("{p}.lr = '0.1'")),
            cmp(KeyKind::Param, "lr", CompareOp::Eq, s("0.1"))
        );
    }
}

#[test]
fn tag_prefixes() {
    for p in ["tag", "tags"] {
        assert_eq!(
            one(&format!("{p}.team = 'a'")),
            cmp(KeyKind::Tag, "team", CompareOp::Eq, s("a"))
        );
    }
}

#[test]
fn attribute_prefixes() {
    for p in ["attribute", "attributes", "attr", "run"] {
        assert_eq!(
            one(&format!("{p}.status = 'FINISHED'")),
            cmp(KeyKind::Attribute, "status", CompareOp::Eq, s("FINISHED"))
        );
    }
}

#[test]
fn dataset_prefixes() {
    for p in ["dataset", "datasets"] {
        assert_eq!(
            one(&format!("{p}.name = 'mnist'")),
            cmp(KeyKind::Dataset, "name", CompareOp::Eq, s("mnist"))
        );
    }
}

#[test]
fn backticked_prefix_is_trimmed() {
    assert_eq!(
        one("`metrics`.acc < 1"),
        cmp(KeyKind::Metric, "acc", CompareOp::Lt, Literal::Num(1.0))
    );
}

#[test]
fn prefixes_are_case_sensitive() {
    let e = runs_err("METRICS.acc > 1");
    assert!(e.contains("Invalid entity type 'METRICS'"), "{e}");
}

#[test]
fn unknown_prefix_is_rejected_with_its_name() {
    let e = runs_err("foo.bar = 'x'");
    assert!(e.contains("Invalid entity type 'foo'"), "{e}");
    assert!(e.contains("Valid entity types"), "{e}");
}

#[test]
fn double_quoted_prefix_is_rejected() {
    let e = runs_err("\"tags\".x = 'y'");
    assert!(e.contains("Invalid entity type '\"tags\"'"), "{e}");
}

#[test]
fn unprefixed_key_is_an_attribute() {
    assert_eq!(
        one("status = 'RUNNING'"),
        cmp(KeyKind::Attribute, "status", CompareOp::Eq, s("RUNNING"))
    );
    assert_eq!(
        one("start_time >= 10"),
        cmp(
            KeyKind::Attribute,
            "start_time",
            CompareOp::Ge,
            Literal::Num(10.0)
        )
    );
}

#[test]
fn unprefixed_unknown_key_is_an_invalid_attribute() {
    let e = runs_err("foo = 'x'");
    assert!(
        e.starts_with("Invalid attribute key 'foo' specified. Valid keys are"),
        "{e}"
    );
    assert!(e.contains("'run_id'"), "{e}");
}

// ---- key quoting ----

#[test]
fn backticked_key_with_dots_and_spaces() {
    assert_eq!(
        one("metrics.`my key.with dots` >= 2"),
        cmp(
            KeyKind::Metric,
            "my key.with dots",
            CompareOp::Ge,
            Literal::Num(2.0)
        )
    );
}

#[test]
fn double_quoted_key() {
    assert_eq!(
        one("tags.\"mlflow.runName\" = 'x'"),
        cmp(KeyKind::Tag, "mlflow.runName", CompareOp::Eq, s("x"))
    );
    assert_eq!(
        one("metrics.\"f1 score\" > 0"),
        cmp(
            KeyKind::Metric,
            "f1 score",
            CompareOp::Gt,
            Literal::Num(0.0)
        )
    );
}

#[test]
fn bare_dotted_key_after_prefix() {
    assert_eq!(
        one("tags.mlflow.source.type = 'LOCAL'"),
        cmp(
            KeyKind::Tag,
            "mlflow.source.type",
            CompareOp::Eq,
            s("LOCAL")
        )
    );
}

#[test]
fn hyphenated_key_needs_quotes() {
    assert_eq!(
        one("metrics.`log-loss` < 1"),
        cmp(
            KeyKind::Metric,
            "log-loss",
            CompareOp::Lt,
            Literal::Num(1.0)
        )
    );
    let e = runs_err("metrics.log-loss < 1");
    assert!(e.contains("'-'") || e.contains("'-loss'"), "{e}");
}

#[test]
fn digit_leading_key_after_prefix() {
    assert_eq!(
        one("params.1st_iter = 'a'"),
        cmp(KeyKind::Param, "1st_iter", CompareOp::Eq, s("a"))
    );
    assert_eq!(
        one("params.`1st_iteration_timestamp` = '2022-01-01'"),
        cmp(
            KeyKind::Param,
            "1st_iteration_timestamp",
            CompareOp::Eq,
            s("2022-01-01")
        )
    );
}

#[test]
fn single_quoted_key_is_rejected() {
    let e = runs_err("tags.'team' = 'a'");
    assert!(e.contains("''team''") && e.contains("single quotes"), "{e}");
}

#[test]
fn quoted_segment_followed_by_more_segments_is_rejected() {
    let e = runs_err("tags.`a`.b = 'x'");
    assert!(e.contains("Invalid key 'tags.`a`.b'"), "{e}");
}

#[test]
fn empty_key_name_is_rejected() {
    let e = runs_err("metrics.`` > 1");
    assert!(e.contains("empty"), "{e}");
}

#[test]
fn unicode_keys_and_values() {
    assert_eq!(
        one("tags.équipe = 'café'"),
        cmp(KeyKind::Tag, "équipe", CompareOp::Eq, s("café"))
    );
}

// ---- attribute canonicalization ----

#[test]
fn created_aliases_start_time() {
    for k in ["created", "Created", "attributes.created"] {
        assert_eq!(
            one(&format!("{k} > 5")),
            cmp(
                KeyKind::Attribute,
                "start_time",
                CompareOp::Gt,
                Literal::Num(5.0)
            )
        );
    }
}

#[test]
fn run_name_aliases() {
    for k in [
        "run_name",
        "attributes.run_name",
        "`run name`",
        "\"Run name\"",
        "attributes.`Run Name`",
    ] {
        assert_eq!(
            one(&format!("{k} = 'r'")),
            cmp(KeyKind::Attribute, "run_name", CompareOp::Eq, s("r"))
        );
    }
}

#[test]
fn every_run_string_attribute() {
    for a in ["run_id", "run_name", "status", "user_id", "artifact_uri"] {
        assert_eq!(
            one(&format!("attributes.{a} != 'x'")).key,
            Key::new(KeyKind::Attribute, a)
        );
    }
}

#[test]
fn end_time_is_numeric() {
    assert_eq!(
        one("attributes.end_time <= 1664067852747"),
        cmp(
            KeyKind::Attribute,
            "end_time",
            CompareOp::Le,
            Literal::Num(1664067852747.0)
        )
    );
}

#[test]
fn non_searchable_run_attributes_are_rejected() {
    for a in ["run_uuid", "experiment_id", "lifecycle_stage", "name"] {
        let e = runs_err(&format!("attributes.{a} = 'x'"));
        assert!(e.contains(&format!("Invalid attribute key '{a}'")), "{e}");
    }
}

#[test]
fn attribute_names_are_case_sensitive() {
    let e = runs_err("attributes.Status = 'x'");
    assert!(e.contains("Invalid attribute key 'Status'"), "{e}");
}

// ---- operators ----

#[test]
fn every_numeric_operator_on_metrics() {
    for (src, op) in [
        ("=", CompareOp::Eq),
        ("!=", CompareOp::Ne),
        ("<", CompareOp::Lt),
        ("<=", CompareOp::Le),
        (">", CompareOp::Gt),
        (">=", CompareOp::Ge),
    ] {
        assert_eq!(one(&format!("metrics.m {src} 3")).op, op, "{src}");
    }
}

#[test]
fn string_operators_on_params_and_tags() {
    for (src, op) in [
        ("=", CompareOp::Eq),
        ("!=", CompareOp::Ne),
        ("LIKE", CompareOp::Like),
        ("ILIKE", CompareOp::ILike),
        ("like", CompareOp::Like),
        ("iLiKe", CompareOp::ILike),
    ] {
        assert_eq!(one(&format!("params.p {src} 'v%'")).op, op, "{src}");
        assert_eq!(one(&format!("tags.t {src} 'v%'")).op, op, "{src}");
    }
}

#[test]
fn operators_without_spaces() {
    assert_eq!(one("metrics.m>=-1").value, Literal::Num(-1.0));
    assert_eq!(one("params.p='x'").value, s("x"));
    assert_eq!(one("metrics.m!=2").op, CompareOp::Ne);
}

#[test]
fn string_operators_rejected_on_metrics() {
    for op in ["LIKE", "ILIKE"] {
        let e = runs_err(&format!("metrics.m {op} '1'"));
        assert!(e.contains(&format!("Invalid comparator '{op}'")), "{e}");
    }
}

#[test]
fn numeric_operators_rejected_on_params_and_tags() {
    for k in ["params.p", "tags.t"] {
        let e = runs_err(&format!("{k} > 'a'"));
        assert!(e.contains("Invalid comparator '>'"), "{e}");
    }
}

#[test]
fn numeric_operators_rejected_on_string_attributes() {
    let e = runs_err("attributes.status < 'x'");
    assert!(e.contains("Invalid comparator '<'"), "{e}");
}

#[test]
fn like_rejected_on_numeric_attributes() {
    let e = runs_err("attributes.start_time LIKE '1%'");
    assert!(e.contains("Invalid comparator 'LIKE'"), "{e}");
}

#[test]
fn unknown_operators_name_the_token() {
    assert_eq!(
        runs_err("metrics.acc >> 1"),
        "Invalid filter 'metrics.acc >> 1': unexpected token '>>', expected a comparison operator \
         (=, !=, <, <=, >, >=, LIKE, ILIKE, IN, NOT IN, IS NULL, IS NOT NULL)"
    );
    for op in ["<>", "==", "=>", "!", "~"] {
        let e = runs_err(&format!("metrics.acc {op} 1"));
        assert!(e.contains(&format!("unexpected token '{op}'")), "{e}");
    }
}

#[test]
fn not_like_is_unsupported() {
    let e = runs_err("params.p NOT LIKE 'a'");
    assert!(e.contains("NOT LIKE"), "{e}");
}

// ---- IN / NOT IN ----

#[test]
fn run_id_in_list() {
    assert_eq!(
        one("attributes.run_id IN ('a1', 'b2')"),
        cmp(
            KeyKind::Attribute,
            "run_id",
            CompareOp::In,
            Literal::List(vec!["a1".into(), "b2".into()])
        )
    );
}

#[test]
fn run_id_not_in_list_any_case_keywords() {
    assert_eq!(
        one("run_id not in ('a')"),
        cmp(
            KeyKind::Attribute,
            "run_id",
            CompareOp::NotIn,
            Literal::List(vec!["a".into()])
        )
    );
    assert_eq!(
        one("run_id Not In ('a','b',)").value,
        Literal::List(vec!["a".into(), "b".into()])
    );
}

#[test]
fn dataset_keys_support_lists() {
    for k in ["name", "digest", "context"] {
        let c = one(&format!("datasets.{k} IN ('x', 'y z')"));
        assert_eq!(c.key, Key::new(KeyKind::Dataset, k));
        assert_eq!(c.value, Literal::List(vec!["x".into(), "y z".into()]));
    }
    assert_eq!(one("datasets.digest NOT IN ('d1')").op, CompareOp::NotIn);
}

#[test]
fn lists_only_for_run_id_among_attributes() {
    let e = runs_err("attributes.status IN ('FINISHED')");
    assert_eq!(
        e,
        "Only the 'run_id' attribute supports comparison with a list of quoted string values."
    );
}

#[test]
fn in_rejected_on_params_tags_metrics() {
    for k in ["params.p", "tags.t", "metrics.m"] {
        let e = runs_err(&format!("{k} IN ('a')"));
        assert!(e.contains("Invalid comparator 'IN'"), "{e}");
    }
}

#[test]
fn list_items_must_be_single_quoted() {
    let e = runs_err("run_id IN (\"a\", \"b\")");
    assert!(e.contains("single-quoted") && e.contains("\"a\""), "{e}");
    let e = runs_err("run_id IN (1, 2)");
    assert!(e.contains("unexpected token '1'"), "{e}");
}

#[test]
fn malformed_lists() {
    assert!(runs_err("run_id IN ()").contains("non-empty list"));
    assert!(runs_err("run_id IN ('a'").contains("unexpected end of input"));
    assert!(runs_err("run_id IN ('a' 'b')").contains("unexpected token ''b''"));
    assert!(runs_err("run_id IN ('a',,'b')").contains("unexpected token ','"));
    assert!(runs_err("run_id IN 'a'").contains("unexpected token ''a''"));
    assert!(runs_err("run_id IN").contains("unexpected end of input after 'IN'"));
}

#[test]
fn list_after_non_in_operator_is_rejected() {
    let e = runs_err("run_id = ('a')");
    assert!(e.contains("only allowed after IN or NOT IN"), "{e}");
}

#[test]
fn list_items_are_unescaped() {
    assert_eq!(
        one(r"datasets.name IN ('it\'s')").value,
        Literal::List(vec!["it's".into()])
    );
}

// ---- IS NULL / IS NOT NULL ----

#[test]
fn is_null_on_params_and_tags() {
    assert_eq!(
        one("params.lr IS NULL"),
        cmp(KeyKind::Param, "lr", CompareOp::IsNull, Literal::Null)
    );
    assert_eq!(
        one("tags.env is not null"),
        cmp(KeyKind::Tag, "env", CompareOp::IsNotNull, Literal::Null)
    );
    assert_eq!(
        runs("tags.a IS NULL AND params.b IS NOT NULL AND metrics.c > 1").len(),
        3
    );
}

#[test]
fn is_null_rejected_elsewhere() {
    for k in [
        "metrics.m",
        "attributes.status",
        "attributes.start_time",
        "datasets.name",
    ] {
        let e = runs_err(&format!("{k} IS NULL"));
        assert!(e.contains("Invalid comparator 'IS NULL'"), "{e}");
    }
}

#[test]
fn malformed_is_null() {
    assert!(runs_err("tags.a IS").contains("unexpected end of input after 'IS'"));
    assert!(runs_err("tags.a IS 'x'").contains("unexpected token ''x'', expected NULL"));
    assert!(runs_err("tags.a IS NOT").contains("unexpected end of input after 'IS NOT'"));
    assert!(runs_err("tags.a = NULL").contains("not quoted"));
}

// ---- values ----

#[test]
fn single_and_double_quoted_values() {
    assert_eq!(one("params.p = 'a b'").value, s("a b"));
    assert_eq!(one("params.p = \"a b\"").value, s("a b"));
    assert_eq!(one("params.p = ''").value, s(""));
    assert_eq!(one("params.p = \"it's\"").value, s("it's"));
}

#[test]
fn quoted_values_keep_escapes_verbatim_like_the_reference() {
    assert_eq!(one("params.p = 'it''s'").value, s("it''s"));
    assert_eq!(one(r"params.p = 'a\'b'").value, s(r"a\'b"));
}

#[test]
fn quoted_values_may_contain_keywords_and_operators() {
    assert_eq!(
        one("tags.t = 'x AND y OR z >= 1'").value,
        s("x AND y OR z >= 1")
    );
}

#[test]
fn numeric_literal_forms() {
    for (src, v) in [
        ("1", 1.0),
        ("-1", -1.0),
        ("0.5", 0.5),
        ("-0.25", -0.25),
        (".5", 0.5),
        ("1e3", 1000.0),
        ("2.5E-1", 0.25),
        ("-1e-2", -0.01),
        ("5.", 5.0),
    ] {
        assert_eq!(
            one(&format!("metrics.m = {src}")).value,
            Literal::Num(v),
            "{src}"
        );
    }
}

#[test]
fn metrics_need_numbers() {
    assert_eq!(
        runs_err("metrics.m > '1'"),
        "Expected numeric value type for metric. Found '1'"
    );
    assert!(runs_err("metrics.m > abc").contains("Found abc"));
}

#[test]
fn numeric_attributes_need_numbers() {
    assert_eq!(
        runs_err("attributes.start_time > 'x'"),
        "Expected numeric value type for numeric attribute: start_time. Found 'x'"
    );
}

#[test]
fn strings_need_quotes() {
    let e = runs_err("params.p = abc");
    assert!(e.contains("not quoted") && e.contains("abc"), "{e}");
    let e = runs_err("tags.t = `abc`");
    assert!(e.contains("not quoted") && e.contains("`abc`"), "{e}");
    let e = runs_err("params.p = 1");
    assert!(
        e.contains("Expected a quoted string value for param 'p'") && e.contains("Got value 1"),
        "{e}"
    );
    let e = runs_err("attributes.status = 1");
    assert!(
        e.contains("Expected a quoted string value for attribute 'status'"),
        "{e}"
    );
    let e = runs_err("datasets.name = 1");
    assert!(
        e.contains("Expected a quoted string value for dataset 'name'"),
        "{e}"
    );
}

#[test]
fn missing_value() {
    let e = runs_err("params.p =");
    assert!(e.contains("unexpected end of input after '='"), "{e}");
}

#[test]
fn unterminated_strings() {
    let e = runs_err("params.p = 'abc");
    assert!(
        e.starts_with("Invalid filter 'params.p = 'abc': unterminated"),
        "{e}"
    );
    assert!(runs_err("params.`abc = 'x'").contains("unterminated"));
}

// ---- datasets ----

#[test]
fn dataset_context_and_digest() {
    assert_eq!(
        one("datasets.context = 'train'"),
        cmp(KeyKind::Dataset, "context", CompareOp::Eq, s("train"))
    );
    assert_eq!(one("datasets.digest LIKE 'ab%'").op, CompareOp::Like);
    assert_eq!(one("datasets.name ILIKE '%Custom%'").op, CompareOp::ILike);
    assert_eq!(one("datasets.name != 'x'").op, CompareOp::Ne);
}

#[test]
fn invalid_dataset_key() {
    let e = runs_err("datasets.schema = 'x'");
    assert!(
        e.starts_with("Invalid dataset key 'schema' specified. Valid keys are"),
        "{e}"
    );
}

#[test]
fn dataset_numeric_operator_rejected() {
    assert!(runs_err("datasets.name > 'a'").contains("Invalid comparator '>'"));
}

// ---- AND / OR / structure ----

#[test]
fn and_is_case_insensitive() {
    let got = runs("metrics.a > 1 and params.b = 'x' AnD tags.c != 'y'");
    assert_eq!(got.len(), 3);
    assert_eq!(got[2], cmp(KeyKind::Tag, "c", CompareOp::Ne, s("y")));
}

#[test]
fn or_is_rejected_clearly() {
    let e = runs_err("metrics.a > 1 OR metrics.b > 2");
    assert_eq!(
        e,
        "Invalid filter 'metrics.a > 1 OR metrics.b > 2': 'OR' is not supported; combine comparisons with AND only"
    );
    assert!(runs_err("metrics.a > 1 or metrics.b > 2").contains("'or' is not supported"));
}

#[test]
fn dangling_and() {
    assert!(runs_err("metrics.a > 1 AND").contains("unexpected end of input after 'AND'"));
    assert!(runs_err("AND metrics.a > 1").contains("unexpected token 'AND'"));
    assert!(runs_err("metrics.a > 1 AND AND metrics.b > 1").contains("unexpected token 'AND'"));
}

#[test]
fn comparisons_need_and_between_them() {
    let e = runs_err("metrics.a > 1 metrics.b > 2");
    assert!(
        e.contains("unexpected token 'metrics'") && e.contains("expected AND"),
        "{e}"
    );
}

#[test]
fn parentheses_cannot_group() {
    assert!(runs_err("(metrics.a > 1)").contains("unexpected token '('"));
    assert!(runs_err("metrics.a > 1 AND (metrics.b > 1)").contains("unexpected token '('"));
    assert!(runs_err("metrics.a > 1)").contains("parentheses"));
}

#[test]
fn semicolons_and_comments_are_rejected() {
    assert!(runs_err("metrics.a > 1; DROP TABLE runs").contains("unexpected token ';'"));
    assert!(runs_err("metrics.a > 1 -- c").contains("unexpected token '-'"));
}

#[test]
fn key_without_operator() {
    let e = runs_err("metrics.acc");
    assert!(
        e.contains("unexpected end of input after 'metrics.acc'"),
        "{e}"
    );
    let e = runs_err("metrics.acc 1");
    assert!(e.contains("unexpected token '1'"), "{e}");
}

#[test]
fn trailing_dot_in_key() {
    assert!(runs_err("metrics. > 1").contains("unexpected token '>'"));
    assert!(runs_err("metrics.").contains("unexpected end of input after 'metrics.'"));
}

#[test]
fn multiline_and_tabs() {
    assert_eq!(runs("metrics.a > 1\n\tAND\r\nparams.b = 'c'").len(), 2);
}

// ---- experiments ----

#[test]
fn experiment_attributes() {
    assert_eq!(
        exps("name = 'x'")[0],
        cmp(KeyKind::Attribute, "name", CompareOp::Eq, s("x"))
    );
    assert_eq!(exps("attribute.name LIKE 'x%'")[0].op, CompareOp::Like);
    assert_eq!(exps("attributes.name ILIKE 'x%'")[0].op, CompareOp::ILike);
    assert_eq!(
        exps("creation_time > 5 AND last_update_time <= 9")[1],
        cmp(
            KeyKind::Attribute,
            "last_update_time",
            CompareOp::Le,
            Literal::Num(9.0)
        )
    );
}

#[test]
fn experiment_tags() {
    assert_eq!(
        exps("tags.group != 'x'")[0],
        cmp(KeyKind::Tag, "group", CompareOp::Ne, s("x"))
    );
    assert_eq!(
        exps("tag.`a.b` ILIKE '%x%'")[0].key,
        Key::new(KeyKind::Tag, "a.b")
    );
    assert_eq!(exps("tags.g IS NULL")[0].op, CompareOp::IsNull);
    assert_eq!(exps("tags.g IS NOT NULL")[0].op, CompareOp::IsNotNull);
}

#[test]
fn experiment_rejects_run_only_keys() {
    for k in [
        "metrics.m > 1",
        "params.p = 'a'",
        "datasets.name = 'a'",
        "run.name = 'x'",
    ] {
        let e = exps_err(k);
        assert!(e.contains("Invalid entity type"), "{k}: {e}");
    }
    let e = exps_err("status = 'x'");
    assert!(e.contains("Invalid attribute key 'status'"), "{e}");
}

#[test]
fn experiment_ids_compare_by_equality_or_list() {
    let eq = parse_filter(Target::Experiments, "experiment_id = '12'").expect("parses");
    assert_eq!(eq[0].key, Key::new(KeyKind::Attribute, "experiment_id"));
    assert_eq!(eq[0].value, Literal::Str("12".into()));
    let list = parse_filter(
        Target::Experiments,
        "attributes.experiment_id IN ('1', '2')",
    )
    .expect("parses");
    assert_eq!(list[0].op, CompareOp::In);
    assert_eq!(list[0].value, Literal::List(vec!["1".into(), "2".into()]));
    assert!(exps_err("experiment_id LIKE '1%'").contains("Invalid comparator 'LIKE'"));
    assert!(exps_err("experiment_id > '1'").contains("Invalid comparator '>'"));
}

#[test]
fn experiment_operator_rules() {
    assert!(exps_err("name > 'a'").contains("Invalid comparator '>'"));
    assert!(exps_err("creation_time LIKE '1'").contains("Invalid comparator 'LIKE'"));
    assert!(exps_err("name IN ('a')").contains("Invalid comparator 'IN'"));
    assert!(exps_err("creation_time > 'a'").contains("Expected numeric value type"));
    assert!(exps_err("name IS NULL").contains("Invalid comparator 'IS NULL'"));
}

// ---- order_by ----

#[test]
fn order_by_defaults_to_ascending() {
    assert_eq!(
        order(Target::Runs, "metrics.acc"),
        OrderBy {
            key: Key::new(KeyKind::Metric, "acc"),
            ascending: true
        }
    );
}

#[test]
fn order_by_directions_any_case() {
    assert!(order(Target::Runs, "params.p ASC").ascending);
    assert!(!order(Target::Runs, "params.p DESC").ascending);
    assert!(!order(Target::Runs, "tags.t desc").ascending);
    assert!(order(Target::Runs, "  tags.t   asc  ").ascending);
}

#[test]
fn order_by_run_attributes() {
    assert_eq!(
        order(Target::Runs, "start_time DESC").key,
        Key::new(KeyKind::Attribute, "start_time")
    );
    assert_eq!(
        order(Target::Runs, "attributes.created").key,
        Key::new(KeyKind::Attribute, "start_time")
    );
    assert_eq!(
        order(Target::Runs, "Created").key,
        Key::new(KeyKind::Attribute, "start_time")
    );
    for a in [
        "run_id",
        "run_name",
        "status",
        "user_id",
        "artifact_uri",
        "end_time",
    ] {
        assert_eq!(order(Target::Runs, a).key, Key::new(KeyKind::Attribute, a));
    }
}

#[test]
fn order_by_quoted_keys() {
    assert_eq!(
        order(Target::Runs, "metrics.`f1 score` DESC").key,
        Key::new(KeyKind::Metric, "f1 score")
    );
    assert_eq!(
        order(Target::Runs, "tags.\"mlflow.runName\"").key,
        Key::new(KeyKind::Tag, "mlflow.runName")
    );
    assert_eq!(
        order(Target::Runs, "parameters.a.b").key,
        Key::new(KeyKind::Param, "a.b")
    );
}

#[test]
fn order_by_rejects_datasets_and_unknown_attributes() {
    assert!(
        order_err(Target::Runs, "datasets.name").contains("Invalid order_by entity type 'dataset'")
    );
    assert!(order_err(Target::Runs, "`Run name`").contains("Invalid attribute key 'Run name'"));
    assert!(order_err(Target::Runs, "lifecycle_stage").contains("Invalid attribute key"));
}

#[test]
fn order_by_syntax_errors() {
    assert!(order_err(Target::Runs, "").contains("empty"));
    assert!(order_err(Target::Runs, "   ").contains("empty"));
    assert_eq!(
        order_err(Target::Runs, "metrics.acc UP"),
        "Invalid order_by clause 'metrics.acc UP': unexpected token 'UP', expected ASC, DESC or the end of the clause"
    );
    assert!(order_err(Target::Runs, "metrics.acc DESC extra").contains("unexpected token 'extra'"));
    assert!(order_err(Target::Runs, "metrics.acc, params.b").contains("unexpected token ','"));
    assert!(order_err(Target::Runs, "metrics.`acc").contains("unterminated"));
}

#[test]
fn order_by_experiments() {
    for (clause, name) in [
        ("name", "name"),
        ("experiment_id DESC", "experiment_id"),
        ("creation_time", "creation_time"),
        ("attributes.last_update_time ASC", "last_update_time"),
    ] {
        assert_eq!(
            order(Target::Experiments, clause).key,
            Key::new(KeyKind::Attribute, name)
        );
    }
    assert!(
        order_err(Target::Experiments, "tags.x").contains("Invalid order_by entity type 'tag'")
    );
    assert!(order_err(Target::Experiments, "metrics.x").contains("Invalid entity type 'metrics'"));
    assert!(
        order_err(Target::Experiments, "start_time").contains("Invalid attribute key 'start_time'")
    );
}

#[test]
fn order_by_list_skips_blanks_and_rejects_duplicates_for_runs() {
    let got =
        parse_order_by_list(Target::Runs, &["metrics.a DESC", " ", "params.b"]).expect("parses");
    assert_eq!(got.len(), 2);
    let e = parse_order_by_list(Target::Runs, &["created", "start_time DESC"]).expect_err("dup");
    assert!(e.0.contains("duplicate"), "{}", e.0);
    let ok = parse_order_by_list(Target::Experiments, &["name", "name DESC"]).expect("allowed");
    assert_eq!(ok.len(), 2);
}

// ---- helpers and display ----

#[test]
fn display_helpers() {
    assert_eq!(CompareOp::NotIn.to_string(), "NOT IN");
    assert_eq!(
        Key::new(KeyKind::Metric, "a b").to_string(),
        "metrics.`a b`"
    );
    assert!(is_numeric_attribute(Target::Runs, "end_time"));
    assert!(!is_numeric_attribute(Target::Runs, "status"));
    assert!(is_numeric_attribute(Target::Experiments, "creation_time"));
    assert_eq!(FilterError("x".into()).to_string(), "x");
}

// ---- robustness ----

/// A small xorshift generator so the garbage test needs no dependency and is reproducible.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}

#[test]
fn garbage_never_panics() {
    const PIECES: &[&str] = &[
        "metrics",
        "params",
        "tags",
        "attributes",
        "datasets",
        "run_id",
        "name",
        ".",
        "`",
        "\"",
        "'",
        "(",
        ")",
        ",",
        " ",
        "=",
        "!=",
        ">=",
        "<",
        ">>",
        "AND",
        "OR",
        "IN",
        "NOT",
        "IS",
        "NULL",
        "LIKE",
        "ilike",
        "-",
        "1",
        "1.5e-3",
        ".5",
        "é",
        "\\",
        "''",
        "x",
        "`a b`",
        "'v'",
        "\n",
        ";",
        "$",
        "#",
        "DESC",
        "asc",
        "\u{0}",
        "🦀",
        "0x1F",
        "e",
        "--",
    ];
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
    for _ in 0..20_000 {
        let len = rng.below(12);
        let mut input = String::new();
        for _ in 0..len {
            input.push_str(PIECES[rng.below(PIECES.len())]);
        }
        for target in [
            Target::Runs,
            Target::Experiments,
            Target::LoggedModels,
            Target::RegisteredModels,
            Target::ModelVersions,
        ] {
            let _ = parse_filter(target, &input);
            let _ = parse_order_by(target, &input);
        }
    }
    // Raw bytes too, decoded lossily.
    for _ in 0..5_000 {
        let len = rng.below(24);
        let bytes: Vec<u8> = (0..len).map(|_| (rng.next() & 0xFF) as u8).collect();
        let input = String::from_utf8_lossy(&bytes);
        let _ = parse_filter(Target::Runs, &input);
        let _ = parse_order_by(Target::Experiments, &input);
    }
}

#[test]
fn every_error_is_nonempty_and_well_formed() {
    for bad in [
        "metrics.a >> 1",
        "x = 'y'",
        "(",
        ")",
        "'",
        "`",
        "\"",
        "AND",
        "a =",
        "metrics.a > 'b'",
    ] {
        let e = runs_err(bad);
        assert!(!e.is_empty());
    }
}

#[test]
fn long_inputs_are_linear_and_fine() {
    let clause = "metrics.a > 1 AND ";
    let input = format!("{}params.b = 'c'", clause.repeat(5_000));
    assert_eq!(runs(&input).len(), 5_001);
}

fn models(input: &str) -> Vec<Comparison> {
    parse_filter(Target::LoggedModels, input).expect("logged-model filter parses")
}

fn models_err(input: &str) -> String {
    parse_filter(Target::LoggedModels, input)
        .expect_err("logged-model filter is rejected")
        .0
}

#[test]
fn logged_model_keys_resolve_with_aliases() {
    let c = models("name = 'm' AND creation_time > 5 AND last_updated_timestamp <= 9");
    assert_eq!(c[0].key, Key::new(KeyKind::Attribute, "name"));
    assert_eq!(
        c[1].key,
        Key::new(KeyKind::Attribute, "creation_timestamp_ms")
    );
    assert_eq!(c[1].value, Literal::Num(5.0));
    assert_eq!(
        c[2].key,
        Key::new(KeyKind::Attribute, "last_updated_timestamp_ms")
    );
    let c = models("metrics.acc >= 0.9 AND params.lr = '0.1' AND tags.`a.b` LIKE 'x%'");
    assert_eq!(c[0].key, Key::new(KeyKind::Metric, "acc"));
    assert_eq!(c[1].key, Key::new(KeyKind::Param, "lr"));
    assert_eq!(c[2].key, Key::new(KeyKind::Tag, "a.b"));
    assert_eq!(c[2].op, CompareOp::Like);
}

#[test]
fn logged_model_strings_take_lists_and_numbers_do_not_take_like() {
    let c = models("model_id IN ('m-1', 'm-2') AND params.p NOT IN ('a')");
    assert_eq!(c[0].value, Literal::List(vec!["m-1".into(), "m-2".into()]));
    assert_eq!(c[1].op, CompareOp::NotIn);
    assert!(models_err("metrics.acc LIKE '1'").contains("Invalid comparator"));
    assert!(models_err("creation_time IN (1, 2)").starts_with("Invalid"));
    assert!(models_err("params.p > '1'").contains("Invalid comparator"));
    assert!(models_err("metrics.acc > 'high'").contains("numeric"));
    assert!(models_err("bogus = 'x'").contains("Invalid attribute key"));
    assert!(models_err("datasets.name = 'x'").contains("Invalid entity type"));
}

#[test]
fn logged_model_order_by_takes_attributes_and_metrics_only() {
    let o = parse_order_by(Target::LoggedModels, "metrics.acc").expect("parses");
    assert_eq!(o.key, Key::new(KeyKind::Metric, "acc"));
    let o = parse_order_by(Target::LoggedModels, "creation_timestamp").expect("parses");
    assert_eq!(o.key, Key::new(KeyKind::Attribute, "creation_timestamp_ms"));
    assert!(parse_order_by(Target::LoggedModels, "params.p").is_err());
    assert!(parse_order_by(Target::LoggedModels, "tags.t").is_err());
}

fn registered(input: &str) -> Vec<Comparison> {
    parse_filter(Target::RegisteredModels, input).expect("registered-model filter parses")
}

fn registered_err(input: &str) -> String {
    parse_filter(Target::RegisteredModels, input)
        .expect_err("registered-model filter is rejected")
        .0
}

fn versions(input: &str) -> Vec<Comparison> {
    parse_filter(Target::ModelVersions, input).expect("model-version filter parses")
}

fn versions_err(input: &str) -> String {
    parse_filter(Target::ModelVersions, input)
        .expect_err("model-version filter is rejected")
        .0
}

#[test]
fn registered_model_filters_take_name_and_tags() {
    let c = registered("name LIKE 'm%' AND tags.`a.b` = 'x' AND tag.t != 'y'");
    assert_eq!(c[0].key, Key::new(KeyKind::Attribute, "name"));
    assert_eq!(c[0].op, CompareOp::Like);
    assert_eq!(c[1].key, Key::new(KeyKind::Tag, "a.b"));
    assert_eq!(c[2].key, Key::new(KeyKind::Tag, "t"));
    let c = registered("attribute.name IN ('a', 'b') AND name NOT IN ('c')");
    assert_eq!(c[0].value, Literal::List(vec!["a".into(), "b".into()]));
    assert_eq!(c[1].op, CompareOp::NotIn);
    assert_eq!(registered("name ILIKE '%X%'")[0].op, CompareOp::ILike);
}

#[test]
fn registered_model_filter_errors_match_the_reference() {
    assert_eq!(
        registered_err("attributes.name = 'm1'"),
        "Invalid entity type 'attributes'. Valid entity types are ('attribute', 'tag', 'tags')"
    );
    assert_eq!(
        registered_err("creation_timestamp > 1"),
        "Invalid attribute key 'creation_timestamp' specified. Valid keys are '{'name'}'"
    );
    assert_eq!(
        registered_err("tags.t = 1"),
        "Expected a quoted string value for tag (e.g. 'my-value'). Got value 1"
    );
    assert_eq!(
        registered_err("tags.t IN ('v')"),
        "Expected a quoted string value for tag (e.g. 'my-value'). Got value ('v')"
    );
    assert_eq!(
        registered_err("name = 1"),
        "Expected a quoted string value or a list of quoted string values for attributes. Got \
         value 1"
    );
    assert_eq!(
        registered_err("name > 'a'"),
        "Invalid comparator for attribute: >"
    );
    assert!(registered_err("name = 'a' OR name = 'b'").contains("OR"));
    assert!(registered_err("metrics.x > 1").contains("Invalid entity type 'metrics'"));
    assert!(registered_err("name IS NULL").contains("attributes"));
}

#[test]
fn model_version_filters_follow_the_reference() {
    let c = versions(
        "name = 'm' AND version_number >= 2 AND run_id IN ('r1') AND source_path LIKE 's3://%' \
         AND tags.k = 'v'",
    );
    assert_eq!(c[1].key, Key::new(KeyKind::Attribute, "version_number"));
    assert_eq!(c[1].value, Literal::Num(2.0));
    assert_eq!(c[2].value, Literal::List(vec!["r1".into()]));
    assert_eq!(c[3].key, Key::new(KeyKind::Attribute, "source_path"));
    assert_eq!(c[4].key, Key::new(KeyKind::Tag, "k"));
    // A quoted integer is an integer, as the reference's int() reads it.
    assert_eq!(versions("version_number = '1'")[0].value, Literal::Num(1.0));
    assert_eq!(
        versions_err("version_number = 1.5"),
        "Invalid value for numeric attribute 'version_number': 1.5"
    );
    assert_eq!(
        versions_err("version_number = 1.0"),
        "Invalid value for numeric attribute 'version_number': 1.0"
    );
    assert!(versions_err("version_number = 'x'").contains("numeric attribute"));
    assert_eq!(
        versions_err("version_number LIKE '1'"),
        "Invalid comparator for attribute version_number: LIKE"
    );
    assert_eq!(
        versions_err("source_path IN ('x')"),
        "Only ['name', 'run_id'] attributes support comparison with a list of quoted string \
         values."
    );
    assert_eq!(
        versions_err("source_path = 1"),
        "Only the '{'version_number', 'creation_timestamp', 'last_updated_timestamp'}' \
         attributes support comparison with numeric values."
    );
    assert_eq!(
        versions_err("foo = 'b'"),
        "Invalid attribute key 'foo' specified. Valid keys are '{'name', 'run_id', \
         'source_path', 'version_number'}'"
    );
    assert!(versions_err("tags.k IN ('a')").contains("quoted string value for tag"));
    assert!(versions_err("tags.k > 'a'").contains("Invalid comparator for tag"));
}

#[test]
fn registry_order_by_keys() {
    let o = parse_order_by(Target::RegisteredModels, "timestamp DESC").expect("parses");
    assert_eq!(
        o.key,
        Key::new(KeyKind::Attribute, "last_updated_timestamp")
    );
    assert!(!o.ascending);
    let e = parse_order_by(Target::RegisteredModels, "creation_timestamp").expect_err("bad key");
    assert_eq!(
        e.0,
        "Invalid order by key 'creation_timestamp' specified. Valid keys are '{'name', \
         'timestamp'}'"
    );
    let dup = parse_order_by_list(Target::RegisteredModels, &["name", "name DESC"]);
    assert!(dup.expect_err("duplicate").0.contains("duplicate"));
    let dup = parse_order_by_list(
        Target::RegisteredModels,
        &["timestamp", "last_updated_timestamp"],
    );
    assert!(dup.is_err(), "both timestamp keys order by the same column");

    let o = parse_order_by(Target::ModelVersions, "attribute.version_number ASC").expect("parses");
    assert_eq!(o.key, Key::new(KeyKind::Attribute, "version_number"));
    assert!(parse_order_by(Target::ModelVersions, "creation_timestamp").is_ok());
    let e = parse_order_by(Target::ModelVersions, "run_id").expect_err("not orderable");
    assert!(e.0.starts_with("Invalid attribute key 'run_id'"), "{}", e.0);
    assert!(parse_order_by(Target::ModelVersions, "tags.x").is_err());
    assert!(is_numeric_attribute(
        Target::ModelVersions,
        "version_number"
    ));
    assert!(!is_numeric_attribute(Target::RegisteredModels, "name"));
}
