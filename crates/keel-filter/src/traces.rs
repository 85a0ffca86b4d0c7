//! The trace search grammar (`search_traces`), following MLflow's `SearchTraceUtils`
//! (`mlflow/utils/search_utils.py`) and its SQL store's checks (`sqlalchemy_store.py`).
//!
//! Keys are `<entity>.<key>` or a bare attribute: `trace.` / `attribute(s).` attributes
//! (`request_id`, `status`, `client_request_id`, the numeric `timestamp(_ms)`,
//! `execution_time(_ms)`, `end_time(_ms)`, and `name` → tag `mlflow.traceName`, `run_id` →
//! metadata `mlflow.sourceRun`, `prompt` → linked prompt versions, `text` → span content),
//! `tag(s).`, `metadata.` / `request_metadata.`, `span.` (`name`, `type`, `status`, `content`,
//! `attributes.<attr>`), `feedback.<name>`, `expectation.<name>` and `issue.id`. Comparators are
//! checked per entity with the reference's messages; clauses are AND-ed only.

use crate::parser::{self, KeyPart, RawComparison, RawKey, RawValue};
use crate::{CompareOp, FilterError, Literal};

/// Tag keys and metadata keys the grammar maps onto.
const TRACE_NAME_TAG: &str = "mlflow.traceName";
const LINKED_PROMPTS_TAG: &str = "mlflow.linkedPrompts";
pub const SOURCE_RUN_METADATA: &str = "mlflow.sourceRun";
const TOKEN_USAGE_METADATA: &str = "mlflow.trace.tokenUsage";
const COST_METADATA: &str = "mlflow.trace.cost";

/// A column of the trace itself.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TraceAttribute {
    RequestId,
    Status,
    ClientRequestId,
    /// The request time in milliseconds (`timestamp`, `timestamp_ms`).
    TimestampMs,
    /// The duration in milliseconds (`execution_time`, `execution_time_ms`).
    ExecutionTimeMs,
    /// `timestamp_ms + coalesce(execution_time_ms, 0)` (`end_time`, `end_time_ms`).
    EndTimeMs,
    /// order_by only.
    ExperimentId,
}

impl TraceAttribute {
    /// The reference's canonical name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::RequestId => "request_id",
            Self::Status => "status",
            Self::ClientRequestId => "client_request_id",
            Self::TimestampMs => "timestamp_ms",
            Self::ExecutionTimeMs => "execution_time_ms",
            Self::EndTimeMs => "end_time_ms",
            Self::ExperimentId => "experiment_id",
        }
    }

    pub fn is_numeric(self) -> bool {
        matches!(
            self,
            Self::TimestampMs | Self::ExecutionTimeMs | Self::EndTimeMs
        )
    }
}

/// What a `span.` key compares. All span comparisons of one filter must hold for the same span.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum SpanField {
    Name,
    Type,
    Status,
    /// The span's stored JSON document (`span.content`, and the attribute `text`).
    Content,
    /// `span.attributes.<attr>`: matched inside the content document.
    Attribute(String),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum AssessmentKind {
    Feedback,
    Expectation,
}

impl AssessmentKind {
    /// The stored `kind` column value.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Feedback => "feedback",
            Self::Expectation => "expectation",
        }
    }
}

/// A resolved trace search key.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum TraceKey {
    Attribute(TraceAttribute),
    /// A trace tag (`name` is the tag `mlflow.traceName`).
    Tag(String),
    /// A trace metadata entry (`run_id` is `mlflow.sourceRun`; with `=` it also matches traces
    /// linked to the run explicitly).
    Metadata(String),
    /// `prompt = 'name/version'`: a linked prompt version.
    Prompt,
    Span(SpanField),
    /// A valid feedback or expectation of that name.
    Assessment(AssessmentKind, String),
    /// `issue.id = '<id>'`.
    Issue,
}

/// One comparison of a trace filter.
#[derive(Debug, Clone, PartialEq)]
pub struct TraceComparison {
    pub key: TraceKey,
    pub op: CompareOp,
    pub value: Literal,
}

/// One order_by term of a trace search.
#[derive(Debug, Clone, PartialEq)]
pub struct TraceOrderBy {
    pub key: TraceKey,
    pub ascending: bool,
}

use CompareOp as Op;

const STRING_ATTRIBUTE_OPS: &[Op] = &[
    Op::Ne,
    Op::Eq,
    Op::In,
    Op::NotIn,
    Op::Like,
    Op::ILike,
    Op::RLike,
];
const NUMERIC_OPS: &[Op] = &[Op::Gt, Op::Ge, Op::Ne, Op::Eq, Op::Lt, Op::Le];
const TAG_OPS: &[Op] = &[
    Op::Ne,
    Op::Eq,
    Op::Like,
    Op::ILike,
    Op::RLike,
    Op::IsNull,
    Op::IsNotNull,
];
const SPAN_OPS: &[Op] = STRING_ATTRIBUTE_OPS;
const SPAN_CONTENT_OPS: &[Op] = &[Op::Like, Op::ILike];
const NUMERIC_ASSESSMENT_OPS: &[Op] = &[Op::Gt, Op::Ge, Op::Lt, Op::Le];
const ASSESSMENT_OPS: &[Op] = &[
    Op::Ne,
    Op::Eq,
    Op::Gt,
    Op::Ge,
    Op::Lt,
    Op::Le,
    Op::Like,
    Op::ILike,
    Op::RLike,
    Op::IsNull,
    Op::IsNotNull,
];
const RESERVED_METADATA_OPS: &[Op] = &[Op::Eq, Op::Ne, Op::IsNull, Op::IsNotNull];

const FILTER_ATTRIBUTES: &[&str] = &[
    "request_id",
    "timestamp",
    "timestamp_ms",
    "execution_time",
    "execution_time_ms",
    "end_time",
    "end_time_ms",
    "status",
    "client_request_id",
    "name",
    "run_id",
    "prompt",
    "text",
];
const ORDER_BY_ATTRIBUTES: &[&str] = &[
    "experiment_id",
    "timestamp",
    "timestamp_ms",
    "execution_time",
    "execution_time_ms",
    "end_time",
    "end_time_ms",
    "status",
    "request_id",
    "name",
    "run_id",
];
const NUMERIC_ATTRIBUTES: &str = "{'timestamp_ms', 'timestamp', 'execution_time_ms', \
     'execution_time', 'end_time_ms', 'end_time'}";
const IN_ATTRIBUTES: &[&str] = &[
    "name",
    "status",
    "request_id",
    "run_id",
    "client_request_id",
];
const VALID_IDENTIFIERS: &str = "{'tag', 'tags', 'attribute', 'attributes', 'trace', \
     'request_metadata', 'metadata', 'span', 'feedback', 'expectation', 'issue'}";

fn err(msg: impl Into<String>) -> FilterError {
    FilterError(msg.into())
}

/// Python's repr of a set of strings, in a fixed order.
fn set_text<'a>(items: impl IntoIterator<Item = &'a str>) -> String {
    let quoted: Vec<String> = items.into_iter().map(|i| format!("'{i}'")).collect();
    format!("{{{}}}", quoted.join(", "))
}

fn ops_set(ops: &[Op]) -> String {
    set_text(ops.iter().map(|o| o.as_str()))
}

/// The entity a key's prefix names (after the reference's aliases).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Entity {
    Attribute,
    Tag,
    Metadata,
    Span,
    Feedback,
    Expectation,
    Issue,
}

impl Entity {
    fn parse(prefix: &str) -> Option<Self> {
        Some(match prefix {
            "attribute" | "attributes" | "trace" => Self::Attribute,
            "tag" | "tags" => Self::Tag,
            "request_metadata" | "metadata" => Self::Metadata,
            "span" => Self::Span,
            "feedback" => Self::Feedback,
            "expectation" => Self::Expectation,
            "issue" => Self::Issue,
            _ => return None,
        })
    }

    /// The name the reference's messages use.
    fn label(self) -> &'static str {
        match self {
            Self::Attribute => "attribute",
            Self::Tag => "tag",
            Self::Metadata => "request_metadata",
            Self::Span => "span",
            Self::Feedback => "feedback",
            Self::Expectation => "expectation",
            Self::Issue => "issue",
        }
    }
}

/// Splits a key at its first dot into entity and name; a bare key is an attribute.
fn split_key(raw: &RawKey, attributes: &[&str]) -> Result<(Entity, String), FilterError> {
    let (entity, name) = match raw.parts.as_slice() {
        [] => return Err(err("Invalid key: the key is empty")),
        [only] => (Entity::Attribute, only.content().to_owned()),
        [prefix, rest @ ..] => {
            let prefix_name = match prefix {
                KeyPart::Bare(p) | KeyPart::Backtick(p) => p.as_str(),
                KeyPart::DQuoted(p) => p.as_str(),
            };
            let entity = Entity::parse(prefix_name).ok_or_else(|| {
                err(format!(
                    "Invalid entity type '{prefix_name}'. Valid values are {VALID_IDENTIFIERS}"
                ))
            })?;
            let name = match rest {
                [single] => single.content().to_owned(),
                // `span.attributes.<attr>` keeps its own quoting rules below.
                parts => parts
                    .iter()
                    .map(KeyPart::content)
                    .collect::<Vec<_>>()
                    .join("."),
            };
            (entity, name)
        }
    };
    if entity == Entity::Attribute && !attributes.contains(&name.as_str()) {
        return Err(err(format!(
            "Invalid attribute key '{name}' specified. Valid keys are '{}'",
            set_text(attributes.iter().copied())
        )));
    }
    Ok((entity, name))
}

fn attribute(name: &str) -> Option<TraceAttribute> {
    Some(match name {
        "request_id" => TraceAttribute::RequestId,
        "status" => TraceAttribute::Status,
        "client_request_id" => TraceAttribute::ClientRequestId,
        "timestamp" | "timestamp_ms" => TraceAttribute::TimestampMs,
        "execution_time" | "execution_time_ms" => TraceAttribute::ExecutionTimeMs,
        "end_time" | "end_time_ms" => TraceAttribute::EndTimeMs,
        "experiment_id" => TraceAttribute::ExperimentId,
        _ => return None,
    })
}

fn unquoted(value_text: &str) -> FilterError {
    err(format!(
        "Parameter value is either not quoted or unidentified quote types used for string \
         value {value_text}. Use either single or double quotes."
    ))
}

fn shown(raw: &RawComparison) -> &str {
    if raw.value_text.is_empty() {
        raw.op.as_str()
    } else {
        &raw.value_text
    }
}

fn check_ops(ops: &[Op], op: Op, message: impl FnOnce() -> String) -> Result<(), FilterError> {
    if ops.contains(&op) {
        Ok(())
    } else {
        Err(err(message()))
    }
}

/// A string value (or `NULL` for `IS [NOT] NULL`), as tags and metadata take.
fn string_value(entity: Entity, raw: &RawComparison) -> Result<Literal, FilterError> {
    match &raw.value {
        RawValue::Str(s) => Ok(Literal::Str(s.clone())),
        RawValue::Null => Ok(Literal::Null),
        RawValue::List(items) if matches!(entity, Entity::Tag | Entity::Span) => {
            Ok(Literal::List(items.clone()))
        }
        RawValue::Unquoted => Err(unquoted(&raw.value_text)),
        _ => Err(err(format!(
            "Expected a quoted string value for {} (e.g. 'my-value'). Got value {}",
            entity.label(),
            shown(raw)
        ))),
    }
}

fn resolve_attribute(name: &str, raw: &RawComparison) -> Result<TraceComparison, FilterError> {
    let op = raw.op;
    // Values first, as the reference reads them before it checks comparators.
    let value = match &raw.value {
        RawValue::Str(s) => Literal::Str(s.clone()),
        RawValue::Null => Literal::Null,
        RawValue::Unquoted => return Err(unquoted(&raw.value_text)),
        RawValue::List(items) => {
            if !IN_ATTRIBUTES.contains(&name) {
                return Err(err(format!(
                    "Only attributes in {} supports comparison with a list of quoted string \
                     values.",
                    set_text(IN_ATTRIBUTES.iter().copied())
                )));
            }
            Literal::List(items.clone())
        }
        RawValue::Num(v) => {
            if attribute(name).is_none_or(|a| !a.is_numeric()) {
                return Err(err(format!(
                    "Only the '{NUMERIC_ATTRIBUTES}' attributes support comparison with numeric \
                     values."
                )));
            }
            Literal::Num(*v)
        }
    };
    match name {
        "name" => return resolve_tag(TRACE_NAME_TAG.to_owned(), raw, value),
        "run_id" => return resolve_metadata(SOURCE_RUN_METADATA.to_owned(), raw, value),
        "prompt" => return resolve_tag(LINKED_PROMPTS_TAG.to_owned(), raw, value),
        "text" => {
            check_ops(SPAN_CONTENT_OPS, op, || {
                format!(
                    "span.content comparator '{op}' not one of '{}'",
                    ops_set(SPAN_CONTENT_OPS)
                )
            })?;
            return Ok(TraceComparison {
                key: TraceKey::Span(SpanField::Content),
                op,
                value,
            });
        }
        _ => {}
    }
    let Some(attr) = attribute(name) else {
        return Err(err(format!("Invalid attribute key '{name}' specified.")));
    };
    if attr.is_numeric() {
        check_ops(NUMERIC_OPS, op, || {
            format!(
                "Invalid comparator '{op}' not one of '{}",
                ops_set(STRING_ATTRIBUTE_OPS)
            )
        })?;
        let value = match value {
            Literal::Num(v) => Literal::Num(v),
            Literal::Str(s) => match s.trim().parse::<f64>() {
                Ok(v) if v.is_finite() => Literal::Num(v),
                _ => {
                    return Err(err(format!(
                        "Expected numeric value type for numeric attribute: {}. Found {}",
                        attr.as_str(),
                        raw.value_text
                    )));
                }
            },
            _ => {
                return Err(err(format!(
                    "Expected numeric value type for numeric attribute: {}. Found {}",
                    attr.as_str(),
                    shown(raw)
                )));
            }
        };
        return Ok(TraceComparison {
            key: TraceKey::Attribute(attr),
            op,
            value,
        });
    }
    check_ops(STRING_ATTRIBUTE_OPS, op, || {
        format!(
            "Invalid comparator '{op}' not one of '{}'",
            ops_set(STRING_ATTRIBUTE_OPS)
        )
    })?;
    Ok(TraceComparison {
        key: TraceKey::Attribute(attr),
        op,
        value,
    })
}

fn resolve_tag(
    key: String,
    raw: &RawComparison,
    value: Literal,
) -> Result<TraceComparison, FilterError> {
    let op = raw.op;
    check_ops(TAG_OPS, op, || {
        format!("Invalid comparator '{op}' not one of '{}", ops_set(TAG_OPS))
    })?;
    if key == LINKED_PROMPTS_TAG {
        if op != Op::Eq {
            return Err(err(format!(
                "Invalid comparator '{op}' for prompts filter. Only '=' is supported with \
                 format: prompt = \"name/version\""
            )));
        }
        let Literal::Str(s) = &value else {
            return Err(err("Expected a quoted string value for the prompts filter"));
        };
        if s.matches('/').count() != 1 {
            return Err(err(format!(
                "Invalid prompts filter value '{s}'. Expected format: prompt = \"name/version\""
            )));
        }
        return Ok(TraceComparison {
            key: TraceKey::Prompt,
            op,
            value,
        });
    }
    Ok(TraceComparison {
        key: TraceKey::Tag(key),
        op,
        value,
    })
}

fn resolve_metadata(
    key: String,
    raw: &RawComparison,
    value: Literal,
) -> Result<TraceComparison, FilterError> {
    let op = raw.op;
    let valid = &[
        Op::Ne,
        Op::Eq,
        Op::Like,
        Op::ILike,
        Op::RLike,
        Op::IsNull,
        Op::IsNotNull,
    ];
    check_ops(valid, op, || {
        format!("Invalid comparator '{op}' not one of '{}'", ops_set(valid))
    })?;
    if matches!(value, Literal::List(_)) {
        return Err(err(format!(
            "Expected a quoted string value for request_metadata (e.g. 'my-value'). Got value {}",
            raw.value_text
        )));
    }
    if key == TOKEN_USAGE_METADATA || key == COST_METADATA {
        check_ops(RESERVED_METADATA_OPS, op, || {
            format!(
                "Comparator '{op}' is not supported for reserved metadata '{key}'. Only '=', \
                 '!=', 'IS NULL', and 'IS NOT NULL' are supported."
            )
        })?;
    }
    Ok(TraceComparison {
        key: TraceKey::Metadata(key),
        op,
        value,
    })
}

fn resolve_span(name: &str, raw: &RawComparison) -> Result<TraceComparison, FilterError> {
    let op = raw.op;
    let value = string_value(Entity::Span, raw)?;
    let field = if let Some(attr) = name.strip_prefix("attributes.") {
        let attr = attr.trim_matches('`');
        if attr.is_empty() {
            return Err(err(
                "Span attribute name cannot be empty after 'attributes.'",
            ));
        }
        SpanField::Attribute(attr.to_owned())
    } else {
        match name {
            "name" => SpanField::Name,
            "type" => SpanField::Type,
            "status" => SpanField::Status,
            "content" => SpanField::Content,
            _ => {
                return Err(err(format!(
                    "Invalid span attribute '{name}'. Supported attributes: name, status, type, \
                     attributes.<attribute_name>."
                )));
            }
        }
    };
    let ops = if field == SpanField::Content {
        SPAN_CONTENT_OPS
    } else {
        SPAN_OPS
    };
    check_ops(ops, op, || {
        format!(
            "span.{name} comparator '{op}' not one of '{}'",
            ops_set(ops)
        )
    })?;
    if matches!(value, Literal::Null) {
        // IS NULL never reaches here (rejected above); keep the type total.
        return Err(err(format!("span.{name} needs a value")));
    }
    Ok(TraceComparison {
        key: TraceKey::Span(field),
        op,
        value,
    })
}

fn resolve_assessment(
    entity: Entity,
    name: String,
    raw: &RawComparison,
) -> Result<TraceComparison, FilterError> {
    let op = raw.op;
    let label = entity.label();
    if name.is_empty() {
        return Err(err("Assessment field name cannot be empty"));
    }
    let numeric = NUMERIC_ASSESSMENT_OPS.contains(&op);
    let value = match &raw.value {
        RawValue::Null => Literal::Null,
        RawValue::Str(s) if !numeric => Literal::Str(s.clone()),
        RawValue::Num(v) if numeric => Literal::Num(*v),
        _ if numeric => {
            return Err(err(format!(
                "Expected a numeric value for {label} when using comparator '{op}'. Got value {}",
                raw.value_text
            )));
        }
        _ => {
            return Err(err(format!(
                "Expected a quoted string value for {label} (e.g. 'my-value'). Got value {}",
                shown(raw)
            )));
        }
    };
    check_ops(ASSESSMENT_OPS, op, || {
        format!(
            "assessment.{name} comparator '{op}' not one of '{}'",
            ops_set(ASSESSMENT_OPS)
        )
    })?;
    let kind = if entity == Entity::Feedback {
        AssessmentKind::Feedback
    } else {
        AssessmentKind::Expectation
    };
    Ok(TraceComparison {
        key: TraceKey::Assessment(kind, name),
        op,
        value,
    })
}

fn resolve_comparison(raw: RawComparison) -> Result<TraceComparison, FilterError> {
    let (entity, name) = split_key(&raw.key, FILTER_ATTRIBUTES)?;
    match entity {
        Entity::Attribute => resolve_attribute(&name, &raw),
        Entity::Tag => {
            let value = string_value(entity, &raw)?;
            resolve_tag(name, &raw, value)
        }
        Entity::Metadata => {
            let value = string_value(entity, &raw)?;
            resolve_metadata(name, &raw, value)
        }
        Entity::Span => resolve_span(&name, &raw),
        Entity::Feedback | Entity::Expectation => resolve_assessment(entity, name, &raw),
        Entity::Issue => {
            if name != "id" {
                return Err(err(format!(
                    "Invalid issue attribute '{name}'. Supported attributes: id"
                )));
            }
            let value = match &raw.value {
                RawValue::Str(s) => Literal::Str(s.clone()),
                RawValue::Unquoted => return Err(unquoted(&raw.value_text)),
                _ => {
                    return Err(err(format!(
                        "Expected a quoted string value for issue (e.g. 'my-value'). Got value {}",
                        shown(&raw)
                    )));
                }
            };
            check_ops(&[Op::Eq], raw.op, || {
                format!("issue.{name} comparator '{}' not one of '{{'='}}'", raw.op)
            })?;
            Ok(TraceComparison {
                key: TraceKey::Issue,
                op: raw.op,
                value,
            })
        }
    }
}

/// Parses a trace filter into AND-ed comparisons. Empty input gives none.
pub fn parse_filter(input: &str) -> Result<Vec<TraceComparison>, FilterError> {
    let tokens = crate::lex("filter", input)?;
    let raw = parser::parse_filter_tokens(&tokens)
        .map_err(|detail| err(format!("Invalid filter '{input}': {detail}")))?;
    raw.into_iter().map(resolve_comparison).collect()
}

/// Parses one order_by clause, `<key> [ASC|DESC]`.
pub fn parse_order_by(clause: &str) -> Result<TraceOrderBy, FilterError> {
    let tokens = crate::lex("order_by clause", clause)?;
    let raw = parser::parse_order_by_tokens(&tokens)
        .map_err(|detail| err(format!("Invalid order_by clause '{clause}': {detail}")))?;
    let (entity, name) = split_key(&raw.key, ORDER_BY_ATTRIBUTES)?;
    let key = match entity {
        Entity::Attribute => match name.as_str() {
            "name" => TraceKey::Tag(TRACE_NAME_TAG.to_owned()),
            "run_id" => TraceKey::Metadata(SOURCE_RUN_METADATA.to_owned()),
            other => TraceKey::Attribute(
                attribute(other)
                    .ok_or_else(|| err(format!("Invalid attribute key '{other}' specified.")))?,
            ),
        },
        Entity::Tag => TraceKey::Tag(name),
        Entity::Metadata => {
            if name == TOKEN_USAGE_METADATA || name == COST_METADATA {
                return Err(err(format!(
                    "Ordering by reserved metadata '{name}' is not supported because it is \
                     represented by multiple columns."
                )));
            }
            TraceKey::Metadata(name)
        }
        other => {
            return Err(err(format!("Invalid identifier type '{}'", other.label())));
        }
    };
    Ok(TraceOrderBy {
        key,
        ascending: raw.ascending,
    })
}

/// Parses a request's order_by list (blank clauses skipped); a key named twice is an error.
pub fn parse_order_by_list<S: AsRef<str>>(clauses: &[S]) -> Result<Vec<TraceOrderBy>, FilterError> {
    let mut out: Vec<TraceOrderBy> = Vec::with_capacity(clauses.len());
    for clause in clauses
        .iter()
        .map(AsRef::as_ref)
        .filter(|c| !c.trim().is_empty())
    {
        let order = parse_order_by(clause)?;
        if out.iter().any(|o| o.key == order.key) {
            let all: Vec<String> = clauses
                .iter()
                .map(|c| format!("'{}'", c.as_ref()))
                .collect();
            return Err(err(format!(
                "`order_by` contains duplicate fields: [{}]",
                all.join(", ")
            )));
        }
        out.push(order);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn one(input: &str) -> TraceComparison {
        let mut all = parse_filter(input).unwrap_or_else(|e| panic!("{input}: {e}"));
        assert_eq!(all.len(), 1, "{input}");
        all.remove(0)
    }

    fn fails(input: &str) -> String {
        match parse_filter(input) {
            Ok(c) => panic!("{input} parsed as {c:?}"),
            Err(e) => e.0,
        }
    }

    fn s(v: &str) -> Literal {
        Literal::Str(v.into())
    }

    #[test]
    fn attribute_prefixes_and_aliases() {
        for prefix in ["", "trace.", "attribute.", "attributes."] {
            assert_eq!(
                one(&format!("{prefix}status = 'OK'")),
                TraceComparison {
                    key: TraceKey::Attribute(TraceAttribute::Status),
                    op: Op::Eq,
                    value: s("OK")
                }
            );
        }
        assert_eq!(
            one("timestamp > 5").key,
            TraceKey::Attribute(TraceAttribute::TimestampMs)
        );
        assert_eq!(
            one("trace.execution_time <= 1.5").key,
            TraceKey::Attribute(TraceAttribute::ExecutionTimeMs)
        );
        assert_eq!(
            one("end_time_ms >= 10").key,
            TraceKey::Attribute(TraceAttribute::EndTimeMs)
        );
        assert_eq!(one("client_request_id RLIKE '^req'").op, Op::RLike);
    }

    #[test]
    fn mapped_attributes() {
        assert_eq!(
            one("trace.name = 'agent'").key,
            TraceKey::Tag(TRACE_NAME_TAG.into())
        );
        assert_eq!(
            one("run_id = 'abc'").key,
            TraceKey::Metadata(SOURCE_RUN_METADATA.into())
        );
        assert_eq!(one("prompt = 'qa/2'").key, TraceKey::Prompt);
        assert_eq!(
            one("tags.`mlflow.linkedPrompts` = 'qa/2'").key,
            TraceKey::Prompt
        );
        assert_eq!(
            one("trace.text ILIKE '%hello%'").key,
            TraceKey::Span(SpanField::Content)
        );
    }

    #[test]
    fn tags_metadata_and_quoted_keys() {
        assert_eq!(
            one("tags.`mlflow.traceName` LIKE 'a%'").key,
            TraceKey::Tag("mlflow.traceName".into())
        );
        assert_eq!(one("tag.team IS NULL").value, Literal::Null);
        assert_eq!(
            one("metadata.\"mlflow.sourceRun\" != 'x'").key,
            TraceKey::Metadata("mlflow.sourceRun".into())
        );
        assert_eq!(one("request_metadata.env IS NOT NULL").op, Op::IsNotNull);
        assert_eq!(
            one("tags.a.b = 'v'").key,
            TraceKey::Tag("a.b".into()),
            "bare dotted names join"
        );
    }

    #[test]
    fn spans_and_assessments() {
        assert_eq!(
            one("span.name IN ('a', 'b')"),
            TraceComparison {
                key: TraceKey::Span(SpanField::Name),
                op: Op::In,
                value: Literal::List(vec!["a".into(), "b".into()])
            }
        );
        assert_eq!(
            one("span.type = 'LLM'").key,
            TraceKey::Span(SpanField::Type)
        );
        assert_eq!(
            one("span.attributes.`llm.model` LIKE '%gpt%'").key,
            TraceKey::Span(SpanField::Attribute("llm.model".into()))
        );
        assert_eq!(
            one("feedback.correct = 'yes'").key,
            TraceKey::Assessment(AssessmentKind::Feedback, "correct".into())
        );
        assert_eq!(one("feedback.score >= 0.5").value, Literal::Num(0.5));
        assert_eq!(
            one("expectation.`expected answer` IS NULL").key,
            TraceKey::Assessment(AssessmentKind::Expectation, "expected answer".into())
        );
        assert_eq!(one("issue.id = 'iss-1'").key, TraceKey::Issue);
    }

    #[test]
    fn several_clauses() {
        let all = parse_filter(
            "status = 'OK' AND span.name = 'llm' and tags.team = 'x' AND timestamp_ms > 0",
        )
        .expect("parses");
        assert_eq!(all.len(), 4);
        assert!(parse_filter("").expect("empty").is_empty());
    }

    #[test]
    fn rejections_use_the_reference_messages() {
        assert!(fails("status = 'OK' OR status = 'ERROR'").contains("AND only"));
        assert!(fails("foo.bar = 'x'").starts_with("Invalid entity type 'foo'. Valid values are"),);
        assert!(fails("nope = 'x'").starts_with("Invalid attribute key 'nope' specified."));
        assert!(
            fails("status > 'OK'").starts_with("Invalid comparator '>' not one of"),
            "{}",
            fails("status > 'OK'")
        );
        assert!(fails("status = 1").contains("support comparison with numeric values"));
        assert!(fails("timestamp_ms LIKE '1%'").starts_with("Invalid comparator 'LIKE'"));
        assert!(fails("timestamp_ms > 'abc'").contains("Expected numeric value type"));
        assert!(fails("name IN ('a')").starts_with("Invalid comparator 'IN'"));
        assert!(fails("run_id IN ('a')").starts_with("Invalid comparator 'IN'"));
        assert!(fails("timestamp_ms IN ('1')").contains("supports comparison with a list"));
        assert!(fails("tags.a > 'x'").starts_with("Invalid comparator '>'"));
        assert!(fails("tags.a = 1").contains("Expected a quoted string value for tag"));
        assert!(fails("metadata.a IN ('x')").contains("quoted string value for request_metadata"));
        assert!(fails("span.name IS NULL").starts_with("span.name comparator 'IS NULL'"));
        assert!(fails("span.content = 'x'").starts_with("span.content comparator '='"));
        assert!(fails("text = 'x'").starts_with("span.content comparator '='"));
        assert!(fails("span.kind = 'x'").starts_with("Invalid span attribute 'kind'"));
        assert!(fails("feedback.a > 'x'").contains("Expected a numeric value for feedback"));
        assert!(fails("feedback.a = 1").contains("Expected a quoted string value for feedback"));
        assert!(fails("prompt LIKE 'a/1'").contains("for prompts filter"));
        assert!(fails("prompt = 'a'").contains("Invalid prompts filter value"));
        assert!(fails("issue.name = 'x'").contains("Invalid issue attribute"));
        assert!(fails("status = OK").contains("not quoted"));
        assert!(
            fails("metadata.`mlflow.trace.tokenUsage` LIKE '%'")
                .contains("reserved metadata 'mlflow.trace.tokenUsage'")
        );
    }

    #[test]
    fn order_by_keys() {
        let list = parse_order_by_list(&[
            "timestamp_ms DESC",
            "name",
            "tags.team ASC",
            "metadata.`mlflow.user` DESC",
            "run_id",
            "experiment_id",
            "",
        ])
        .expect("parses");
        assert_eq!(
            list.iter().map(|o| o.key.clone()).collect::<Vec<_>>(),
            vec![
                TraceKey::Attribute(TraceAttribute::TimestampMs),
                TraceKey::Tag(TRACE_NAME_TAG.into()),
                TraceKey::Tag("team".into()),
                TraceKey::Metadata("mlflow.user".into()),
                TraceKey::Metadata(SOURCE_RUN_METADATA.into()),
                TraceKey::Attribute(TraceAttribute::ExperimentId),
            ]
        );
        assert!(!list[0].ascending && list[1].ascending);
        let dup = parse_order_by_list(&["timestamp", "timestamp_ms DESC"]).expect_err("dup");
        assert!(
            dup.0.starts_with("`order_by` contains duplicate fields"),
            "{dup}"
        );
        assert!(parse_order_by("text").is_err());
        assert!(parse_order_by("span.name").is_err());
        assert!(parse_order_by("metadata.`mlflow.trace.cost`").is_err());
        assert!(parse_order_by("timestamp sideways").is_err());
    }
}
