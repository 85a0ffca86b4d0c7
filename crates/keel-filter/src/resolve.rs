//! Target rules: which key prefixes, attribute names, comparators and value types runs and
//! experiments accept, and the canonical names keys resolve to.
//!
//! The rules mirror MLflow's `SearchUtils` (runs) and `SearchExperimentsUtils` (experiments) in
//! `mlflow/utils/search_utils.py`, plus `IS NULL` / `IS NOT NULL` on run params and tags and on
//! experiment tags (added to the reference in 2026).

use crate::parser::{KeyPart, RawComparison, RawKey, RawOrderBy, RawValue};
use crate::{CompareOp, Comparison, FilterError, Key, KeyKind, Literal, OrderBy, Target};

const NUMERIC_OPS: &[CompareOp] = &[
    CompareOp::Eq,
    CompareOp::Ne,
    CompareOp::Lt,
    CompareOp::Le,
    CompareOp::Gt,
    CompareOp::Ge,
];
const KEY_VALUE_OPS: &[CompareOp] = &[
    CompareOp::Eq,
    CompareOp::Ne,
    CompareOp::Like,
    CompareOp::ILike,
    CompareOp::IsNull,
    CompareOp::IsNotNull,
];
const STRING_OPS: &[CompareOp] = &[
    CompareOp::Eq,
    CompareOp::Ne,
    CompareOp::Like,
    CompareOp::ILike,
];
const STRING_OR_LIST_OPS: &[CompareOp] = &[
    CompareOp::Eq,
    CompareOp::Ne,
    CompareOp::Like,
    CompareOp::ILike,
    CompareOp::In,
    CompareOp::NotIn,
];

/// Exact-match comparisons, alone or against a list.
const EQUALITY_OR_LIST_OPS: &[CompareOp] = &[
    CompareOp::Eq,
    CompareOp::Ne,
    CompareOp::In,
    CompareOp::NotIn,
];

/// Run attributes a filter may name, as written, and the canonical name each resolves to.
const RUN_FILTER_ATTRIBUTES: &[(&str, &str)] = &[
    ("artifact_uri", "artifact_uri"),
    ("created", "start_time"),
    ("Created", "start_time"),
    ("end_time", "end_time"),
    ("run_id", "run_id"),
    ("run_name", "run_name"),
    ("run name", "run_name"),
    ("Run name", "run_name"),
    ("Run Name", "run_name"),
    ("start_time", "start_time"),
    ("status", "status"),
    ("user_id", "user_id"),
];

/// Run attributes an order_by clause may name (the reference has no "run name" aliases here).
const RUN_ORDER_BY_ATTRIBUTES: &[(&str, &str)] = &[
    ("artifact_uri", "artifact_uri"),
    ("created", "start_time"),
    ("Created", "start_time"),
    ("end_time", "end_time"),
    ("run_id", "run_id"),
    ("run_name", "run_name"),
    ("start_time", "start_time"),
    ("status", "status"),
    ("user_id", "user_id"),
];

const RUN_NUMERIC_ATTRIBUTES: &[&str] = &["start_time", "end_time"];

const EXPERIMENT_FILTER_ATTRIBUTES: &[(&str, &str)] = &[
    ("creation_time", "creation_time"),
    ("experiment_id", "experiment_id"),
    ("last_update_time", "last_update_time"),
    ("name", "name"),
];

const EXPERIMENT_ORDER_BY_ATTRIBUTES: &[(&str, &str)] = &[
    ("creation_time", "creation_time"),
    ("experiment_id", "experiment_id"),
    ("last_update_time", "last_update_time"),
    ("name", "name"),
];

/// `experiment_id` is not numeric in filters: IDs are compared as quoted strings, and it is the
/// one experiment attribute that takes `IN` lists, as in the reference.
const EXPERIMENT_NUMERIC_ATTRIBUTES: &[&str] = &["creation_time", "last_update_time"];

/// Logged-model attributes, as written, and their canonical names (the reference's column names
/// and its `ALIASES`). The same names work in filters and in order_by.
const LOGGED_MODEL_ATTRIBUTES: &[(&str, &str)] = &[
    ("artifact_location", "artifact_location"),
    ("creation_time", "creation_timestamp_ms"),
    ("creation_timestamp", "creation_timestamp_ms"),
    ("creation_timestamp_ms", "creation_timestamp_ms"),
    ("experiment_id", "experiment_id"),
    ("last_updated_timestamp", "last_updated_timestamp_ms"),
    ("last_updated_timestamp_ms", "last_updated_timestamp_ms"),
    ("model_id", "model_id"),
    ("model_type", "model_type"),
    ("name", "name"),
    ("source_run_id", "source_run_id"),
    ("status", "status"),
    ("status_message", "status_message"),
];

const LOGGED_MODEL_NUMERIC_ATTRIBUTES: &[&str] =
    &["creation_timestamp_ms", "last_updated_timestamp_ms"];

const DATASET_KEYS: &[&str] = &["context", "digest", "name"];

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Usage {
    Filter,
    OrderBy,
}

fn err(msg: impl Into<String>) -> FilterError {
    FilterError(msg.into())
}

fn entity_kind(target: Target, prefix: &str) -> Option<KeyKind> {
    let kind = match prefix {
        "attribute" | "attributes" | "attr" => KeyKind::Attribute,
        "tag" | "tags" => KeyKind::Tag,
        "run" if target == Target::Runs => KeyKind::Attribute,
        "metric" | "metrics" if target != Target::Experiments => KeyKind::Metric,
        "param" | "params" if target != Target::Experiments => KeyKind::Param,
        "parameter" | "parameters" if target == Target::Runs => KeyKind::Param,
        "dataset" | "datasets" if target == Target::Runs => KeyKind::Dataset,
        _ => return None,
    };
    Some(kind)
}

fn valid_entity_types(target: Target) -> &'static str {
    match target {
        Target::Runs => {
            "['attribute', 'metric', 'param', 'tag', 'dataset'] (aliases: attributes, attr, run, \
             metrics, params, parameter, parameters, tags, datasets)"
        }
        Target::Experiments => "['attribute', 'tag'] (aliases: attributes, attr, tags)",
        Target::LoggedModels => {
            "['attributes', 'metrics', 'params', 'tags'] (aliases: attribute, attr, metric, \
             param, tag)"
        }
        // The registry targets resolve their keys in `registry.rs`.
        Target::RegisteredModels | Target::ModelVersions => "['attribute', 'tag', 'tags']",
    }
}

fn attribute_table(target: Target, usage: Usage) -> &'static [(&'static str, &'static str)] {
    match (target, usage) {
        (Target::Runs, Usage::Filter) => RUN_FILTER_ATTRIBUTES,
        (Target::Runs, Usage::OrderBy) => RUN_ORDER_BY_ATTRIBUTES,
        (Target::Experiments, Usage::Filter) => EXPERIMENT_FILTER_ATTRIBUTES,
        (Target::Experiments, Usage::OrderBy) => EXPERIMENT_ORDER_BY_ATTRIBUTES,
        (Target::LoggedModels, _) => LOGGED_MODEL_ATTRIBUTES,
        (Target::RegisteredModels | Target::ModelVersions, _) => &[],
    }
}

fn list_names(names: impl Iterator<Item = &'static str>) -> String {
    let quoted: Vec<String> = names.map(|n| format!("'{n}'")).collect();
    format!("[{}]", quoted.join(", "))
}

fn ops_text(ops: &[CompareOp]) -> String {
    ops.iter()
        .map(|op| op.as_str())
        .collect::<Vec<_>>()
        .join(", ")
}

/// Whether the canonical attribute `name` of `target` holds numbers.
pub(crate) fn is_numeric_attribute(target: Target, name: &str) -> bool {
    match target {
        Target::Runs => RUN_NUMERIC_ATTRIBUTES.contains(&name),
        Target::Experiments => EXPERIMENT_NUMERIC_ATTRIBUTES.contains(&name),
        Target::LoggedModels => LOGGED_MODEL_NUMERIC_ATTRIBUTES.contains(&name),
        Target::RegisteredModels | Target::ModelVersions => false,
    }
}

/// Splits a written key into its kind and name, then checks and canonicalizes the name.
fn resolve_key(target: Target, raw: &RawKey, usage: Usage) -> Result<Key, FilterError> {
    let (kind, name) = match raw.parts.as_slice() {
        [] => return Err(err("Invalid key: the key is empty")),
        [only] => (KeyKind::Attribute, only.content().to_string()),
        [prefix, rest @ ..] => {
            let prefix_name = match prefix {
                KeyPart::Bare(p) | KeyPart::Backtick(p) => p.as_str(),
                KeyPart::DQuoted(_) => "",
            };
            let kind = entity_kind(target, prefix_name).ok_or_else(|| {
                let shown = match prefix {
                    KeyPart::DQuoted(p) => format!("\"{p}\""),
                    other => other.content().to_string(),
                };
                err(format!(
                    "Invalid entity type '{shown}' in key '{}'. Valid entity types are {}",
                    raw.text,
                    valid_entity_types(target)
                ))
            })?;
            let name = match rest {
                [single] => single.content().to_string(),
                parts if parts.iter().all(|p| matches!(p, KeyPart::Bare(_))) => parts
                    .iter()
                    .map(KeyPart::content)
                    .collect::<Vec<_>>()
                    .join("."),
                _ => {
                    return Err(err(format!(
                        "Invalid key '{}': a quoted name must be the whole name after the \
                         prefix, e.g. tags.`my.key` or tags.\"my.key\"",
                        raw.text
                    )));
                }
            };
            (kind, name)
        }
    };
    if name.is_empty() {
        return Err(err(format!(
            "Invalid key '{}': the name after the prefix is empty",
            raw.text
        )));
    }
    match kind {
        KeyKind::Attribute => {
            let table = attribute_table(target, usage);
            let canonical = table
                .iter()
                .find(|(written, _)| *written == name)
                .map(|(_, c)| *c);
            match canonical {
                Some(c) => Ok(Key {
                    kind,
                    name: c.to_string(),
                }),
                None => Err(err(format!(
                    "Invalid attribute key '{name}' specified. Valid keys are '{}'",
                    list_names(table.iter().map(|(w, _)| *w))
                ))),
            }
        }
        KeyKind::Dataset if !DATASET_KEYS.contains(&name.as_str()) => Err(err(format!(
            "Invalid dataset key '{name}' specified. Valid keys are '{}'",
            list_names(DATASET_KEYS.iter().copied())
        ))),
        _ => Ok(Key { kind, name }),
    }
}

fn allowed_ops(target: Target, key: &Key) -> &'static [CompareOp] {
    if target == Target::LoggedModels {
        // The reference's `Entity.validate_op`: numbers compare, strings match or take lists.
        return match key.kind {
            KeyKind::Metric => NUMERIC_OPS,
            KeyKind::Attribute if is_numeric_attribute(target, &key.name) => NUMERIC_OPS,
            _ => STRING_OR_LIST_OPS,
        };
    }
    match key.kind {
        KeyKind::Metric => NUMERIC_OPS,
        KeyKind::Param | KeyKind::Tag => KEY_VALUE_OPS,
        KeyKind::Dataset => STRING_OR_LIST_OPS,
        KeyKind::Attribute if is_numeric_attribute(target, &key.name) => NUMERIC_OPS,
        KeyKind::Attribute => match target {
            // The reference lets every string attribute through the comparator check and then
            // rejects lists for all but run_id; keep that order so the message matches.
            Target::Runs => STRING_OR_LIST_OPS,
            Target::Experiments if key.name == "experiment_id" => EQUALITY_OR_LIST_OPS,
            Target::Experiments
            | Target::LoggedModels
            | Target::RegisteredModels
            | Target::ModelVersions => STRING_OPS,
        },
    }
}

fn kind_label(key: &Key) -> &'static str {
    match key.kind {
        KeyKind::Attribute => "attribute",
        KeyKind::Metric => "metric",
        KeyKind::Param => "param",
        KeyKind::Tag => "tag",
        KeyKind::Dataset => "dataset",
    }
}

fn resolve_value(
    target: Target,
    key: &Key,
    op: CompareOp,
    value: RawValue,
    value_text: &str,
) -> Result<Literal, FilterError> {
    let numeric = match key.kind {
        KeyKind::Metric => true,
        KeyKind::Attribute => is_numeric_attribute(target, &key.name),
        _ => false,
    };
    if numeric {
        return match value {
            RawValue::Num(v) => Ok(Literal::Num(v)),
            _ if key.kind == KeyKind::Metric => Err(err(format!(
                "Expected numeric value type for metric. Found {value_text}"
            ))),
            _ => Err(err(format!(
                "Expected numeric value type for numeric attribute: {}. Found {value_text}",
                key.name
            ))),
        };
    }
    match value {
        RawValue::Null => Ok(Literal::Null),
        RawValue::Str(s) => Ok(Literal::Str(s)),
        RawValue::List(items) => match key.kind {
            KeyKind::Dataset => Ok(Literal::List(items)),
            _ if target == Target::LoggedModels => Ok(Literal::List(items)),
            KeyKind::Attribute if target == Target::Runs && key.name == "run_id" => {
                Ok(Literal::List(items))
            }
            KeyKind::Attribute if target == Target::Experiments && key.name == "experiment_id" => {
                Ok(Literal::List(items))
            }
            KeyKind::Attribute if target == Target::Runs => Err(err(
                "Only the 'run_id' attribute supports comparison with a list of quoted string values.",
            )),
            _ => Err(err(format!(
                "Comparison with a list ({}) is not supported for {} '{}'",
                op.as_str(),
                kind_label(key),
                key.name
            ))),
        },
        RawValue::Unquoted => Err(err(format!(
            "Parameter value is either not quoted or unidentified quote types used for string \
             value {value_text}. Use either single or double quotes."
        ))),
        RawValue::Num(_) => Err(err(format!(
            "Expected a quoted string value for {} '{}' (e.g. 'my-value'). Got value {value_text}",
            kind_label(key),
            key.name
        ))),
    }
}

pub(crate) fn resolve_comparison(
    target: Target,
    raw: RawComparison,
) -> Result<Comparison, FilterError> {
    let key = resolve_key(target, &raw.key, Usage::Filter)?;
    let allowed = allowed_ops(target, &key);
    if !allowed.contains(&raw.op) {
        return Err(err(format!(
            "Invalid comparator '{}' for {} '{}'. Valid comparators are '{}'",
            raw.op.as_str(),
            kind_label(&key),
            key.name,
            ops_text(allowed)
        )));
    }
    let value = resolve_value(target, &key, raw.op, raw.value, &raw.value_text)?;
    Ok(Comparison {
        key,
        op: raw.op,
        value,
    })
}

pub(crate) fn resolve_order_by(target: Target, raw: RawOrderBy) -> Result<OrderBy, FilterError> {
    let key = resolve_key(target, &raw.key, Usage::OrderBy)?;
    let allowed = match target {
        Target::Runs => matches!(
            key.kind,
            KeyKind::Attribute | KeyKind::Metric | KeyKind::Param | KeyKind::Tag
        ),
        Target::Experiments => key.kind == KeyKind::Attribute,
        Target::LoggedModels => matches!(key.kind, KeyKind::Attribute | KeyKind::Metric),
        Target::RegisteredModels | Target::ModelVersions => key.kind == KeyKind::Attribute,
    };
    if !allowed {
        return Err(err(format!(
            "Invalid order_by entity type '{}' in '{}'. {}",
            kind_label(&key),
            raw.key.text,
            match target {
                Target::Runs => "Runs can be ordered by attributes, metrics, params and tags",
                Target::Experiments => "Experiments can be ordered by attributes only",
                Target::LoggedModels => "Logged models can be ordered by attributes and metrics",
                Target::RegisteredModels | Target::ModelVersions => {
                    "The registry orders by attributes only"
                }
            }
        )));
    }
    Ok(OrderBy {
        key,
        ascending: raw.ascending,
    })
}
