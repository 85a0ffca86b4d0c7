//! Target rules of the model registry: registered-model and model-version searches.
//!
//! They follow MLflow's `SearchModelUtils` / `SearchModelVersionUtils` and the SQL store's
//! checks (`mlflow/store/model_registry/sqlalchemy_store.py`), which differ from the tracking
//! targets: the only prefixes are `attribute`, `tag` and `tags`; registered models filter on
//! `name` (with lists) and tags; model versions on `name`, `run_id` (both with lists),
//! `source_path` and the integer `version_number`. Value types are checked before comparators,
//! as the reference does, so the same mistakes get the same messages.

use crate::parser::{KeyPart, RawComparison, RawKey, RawOrderBy, RawValue};
use crate::{CompareOp, Comparison, FilterError, Key, KeyKind, Literal, OrderBy, Target};

const ENTITY_TYPES: &str = "('attribute', 'tag', 'tags')";
const REGISTERED_MODEL_KEYS: &[&str] = &["name"];
const MODEL_VERSION_KEYS: &[&str] = &["name", "run_id", "source_path", "version_number"];
/// Model-version attributes that take lists, as the reference's `LIST_SUPPORTED_KEYS`.
const LIST_KEYS: &[&str] = &["name", "run_id"];
const STRING_OPS: &[CompareOp] = &[
    CompareOp::Eq,
    CompareOp::Ne,
    CompareOp::Like,
    CompareOp::ILike,
];
const NUMERIC_OPS: &[CompareOp] = &[
    CompareOp::Eq,
    CompareOp::Ne,
    CompareOp::Lt,
    CompareOp::Le,
    CompareOp::Gt,
    CompareOp::Ge,
];
/// Registered-model order_by keys as written, and the column each names (the reference orders
/// both timestamp keys by the last update).
const REGISTERED_MODEL_ORDER_BY: &[(&str, &str)] = &[
    ("name", "name"),
    ("timestamp", "last_updated_timestamp"),
    ("last_updated_timestamp", "last_updated_timestamp"),
];
const MODEL_VERSION_ORDER_BY: &[&str] = &[
    "creation_timestamp",
    "last_updated_timestamp",
    "name",
    "version_number",
];

fn err(msg: impl Into<String>) -> FilterError {
    FilterError(msg.into())
}

/// Python's repr of a set of strings, as the reference prints its valid keys.
fn set_text(names: &[&str]) -> String {
    let quoted: Vec<String> = names.iter().map(|n| format!("'{n}'")).collect();
    format!("{{{}}}", quoted.join(", "))
}

/// Whether the canonical attribute `name` of a registry target holds numbers.
pub(crate) fn is_numeric_attribute(target: Target, name: &str) -> bool {
    match target {
        Target::ModelVersions => matches!(
            name,
            "version_number" | "creation_timestamp" | "last_updated_timestamp"
        ),
        _ => name == "last_updated_timestamp",
    }
}

/// The name after the prefix: one (possibly quoted) part, or bare parts joined with dots.
fn name_of(raw: &RawKey, rest: &[KeyPart]) -> Result<String, FilterError> {
    let name = match rest {
        [single] => single.content().to_string(),
        parts if parts.iter().all(|p| matches!(p, KeyPart::Bare(_))) => parts
            .iter()
            .map(KeyPart::content)
            .collect::<Vec<_>>()
            .join("."),
        _ => {
            return Err(err(format!(
                "Invalid key '{}': a quoted name must be the whole name after the prefix, e.g. \
                 tags.`my.key`",
                raw.text
            )));
        }
    };
    if name.is_empty() {
        return Err(err(format!(
            "Invalid key '{}': the name after the prefix is empty",
            raw.text
        )));
    }
    Ok(name)
}

fn resolve_key(target: Target, raw: &RawKey) -> Result<Key, FilterError> {
    let (kind, name) = match raw.parts.as_slice() {
        [] => return Err(err("Invalid key: the key is empty")),
        [only] => (KeyKind::Attribute, only.content().to_string()),
        [prefix, rest @ ..] => {
            let kind = match prefix {
                KeyPart::Bare(p) | KeyPart::Backtick(p) if p == "attribute" => KeyKind::Attribute,
                KeyPart::Bare(p) | KeyPart::Backtick(p) if p == "tag" || p == "tags" => {
                    KeyKind::Tag
                }
                other => {
                    return Err(err(format!(
                        "Invalid entity type '{}'. Valid entity types are {ENTITY_TYPES}",
                        other.content()
                    )));
                }
            };
            (kind, name_of(raw, rest)?)
        }
    };
    if kind == KeyKind::Attribute {
        let valid = match target {
            Target::ModelVersions => MODEL_VERSION_KEYS,
            _ => REGISTERED_MODEL_KEYS,
        };
        if !valid.contains(&name.as_str()) {
            return Err(err(format!(
                "Invalid attribute key '{name}' specified. Valid keys are '{}'",
                set_text(valid)
            )));
        }
    }
    Ok(Key { kind, name })
}

fn unquoted(value_text: &str) -> FilterError {
    err(format!(
        "Parameter value is either not quoted or unidentified quote types used for string value \
         {value_text}. Use either single or double quotes."
    ))
}

/// A tag's value: a quoted string, compared with `=`, `!=`, `LIKE` or `ILIKE`.
fn tag_value(raw: RawComparison) -> Result<Literal, FilterError> {
    let value = match raw.value {
        RawValue::Str(s) => Literal::Str(s),
        RawValue::Unquoted => return Err(unquoted(&raw.value_text)),
        _ => {
            return Err(err(format!(
                "Expected a quoted string value for tag (e.g. 'my-value'). Got value {}",
                if raw.value_text.is_empty() {
                    raw.op.as_str()
                } else {
                    &raw.value_text
                }
            )));
        }
    };
    if !STRING_OPS.contains(&raw.op) {
        return Err(err(format!("Invalid comparator for tag: {}", raw.op)));
    }
    Ok(value)
}

/// `version_number`: an integer, or a quoted string holding one (the reference calls `int()`).
fn version_value(raw: &RawComparison) -> Result<Literal, FilterError> {
    let invalid = || {
        err(format!(
            "Invalid value for numeric attribute 'version_number': {}",
            raw.value_text
        ))
    };
    let number = match &raw.value {
        RawValue::Num(v) => {
            let integral_text = raw
                .value_text
                .chars()
                .all(|c| c.is_ascii_digit() || c == '-');
            if !integral_text || !v.is_finite() {
                return Err(invalid());
            }
            *v
        }
        RawValue::Str(s) => s.trim().parse::<i64>().map_err(|_| invalid())? as f64,
        RawValue::List(_) => return Err(list_not_supported()),
        RawValue::Unquoted => return Err(unquoted(&raw.value_text)),
        RawValue::Null => return Err(invalid()),
    };
    if !NUMERIC_OPS.contains(&raw.op) {
        return Err(err(format!(
            "Invalid comparator for attribute version_number: {}",
            raw.op
        )));
    }
    Ok(Literal::Num(number))
}

fn list_not_supported() -> FilterError {
    err(
        "Only ['name', 'run_id'] attributes support comparison with a list of quoted string values.",
    )
}

/// A string attribute's value: quoted, or a list for the keys that take lists.
fn string_attribute_value(
    target: Target,
    key: &Key,
    raw: RawComparison,
) -> Result<Literal, FilterError> {
    let value = match raw.value {
        RawValue::Str(s) => Literal::Str(s),
        RawValue::List(items)
            if target == Target::RegisteredModels || LIST_KEYS.contains(&key.name.as_str()) =>
        {
            Literal::List(items)
        }
        RawValue::List(_) => return Err(list_not_supported()),
        RawValue::Unquoted => return Err(unquoted(&raw.value_text)),
        RawValue::Num(_) if target == Target::ModelVersions => {
            return Err(err(
                "Only the '{'version_number', 'creation_timestamp', 'last_updated_timestamp'}' \
                 attributes support comparison with numeric values.",
            ));
        }
        RawValue::Num(_) | RawValue::Null => {
            return Err(err(format!(
                "Expected a quoted string value or a list of quoted string values for \
                 attributes. Got value {}",
                if raw.value_text.is_empty() {
                    raw.op.as_str()
                } else {
                    &raw.value_text
                }
            )));
        }
    };
    let list_ok = matches!(value, Literal::List(_));
    let allowed = STRING_OPS.contains(&raw.op)
        || (list_ok && matches!(raw.op, CompareOp::In | CompareOp::NotIn));
    if !allowed {
        return Err(err(format!("Invalid comparator for attribute: {}", raw.op)));
    }
    Ok(value)
}

pub(crate) fn resolve_comparison(
    target: Target,
    raw: RawComparison,
) -> Result<Comparison, FilterError> {
    let key = resolve_key(target, &raw.key)?;
    let op = raw.op;
    let value = match key.kind {
        KeyKind::Tag => tag_value(raw)?,
        _ if key.name == "version_number" => version_value(&raw)?,
        _ => string_attribute_value(target, &key, raw)?,
    };
    Ok(Comparison { key, op, value })
}

pub(crate) fn resolve_order_by(target: Target, raw: RawOrderBy) -> Result<OrderBy, FilterError> {
    let ascending = raw.ascending;
    let key = match target {
        Target::ModelVersions => {
            let name = match raw.key.parts.as_slice() {
                [only] => only.content().to_string(),
                [KeyPart::Bare(p) | KeyPart::Backtick(p), rest @ ..]
                    if matches!(p.as_str(), "attribute" | "attributes" | "attr") =>
                {
                    name_of(&raw.key, rest)?
                }
                _ => raw.key.text.clone(),
            };
            if !MODEL_VERSION_ORDER_BY.contains(&name.as_str()) {
                return Err(err(format!(
                    "Invalid attribute key '{name}' specified. Valid keys are '{}'",
                    set_text(MODEL_VERSION_ORDER_BY)
                )));
            }
            name
        }
        _ => {
            let written = match raw.key.parts.as_slice() {
                [only] => only.content().to_string(),
                _ => raw.key.text.clone(),
            };
            match REGISTERED_MODEL_ORDER_BY
                .iter()
                .find(|(w, _)| *w == written)
            {
                Some((_, canonical)) => (*canonical).to_string(),
                None => {
                    return Err(err(format!(
                        "Invalid order by key '{written}' specified. Valid keys are \
                         '{{'name', 'timestamp'}}'"
                    )));
                }
            }
        }
    };
    Ok(OrderBy {
        key: Key::new(KeyKind::Attribute, key),
        ascending,
    })
}
