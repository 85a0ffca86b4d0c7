//! The reference's GraphQL response, byte for byte: `{"data":...,"errors":[...]}` where each
//! error is only its message (or `errors` is `null`), written as Flask's `jsonify` writes it —
//! keys sorted, no spaces, every character outside printable ASCII escaped, floats as Python
//! prints them, and a closing newline.

use async_graphql::{Response, Value as ConstValue};
use keel_core::pyjson::{float_repr, push_string};

/// The response body for `response`.
pub fn write(response: &Response) -> String {
    let mut out = String::with_capacity(256);
    out.push_str("{\"data\":");
    push_value(&mut out, &response.data);
    out.push_str(",\"errors\":");
    if response.errors.is_empty() {
        out.push_str("null");
    } else {
        out.push('[');
        for (i, error) in response.errors.iter().enumerate() {
            if i > 0 {
                out.push(',');
            }
            push_string(&mut out, &error.message, true);
        }
        out.push(']');
    }
    out.push_str("}\n");
    out
}

/// The body answering with `data: null` and one error, as the reference's limit check does.
pub fn refusal(message: &str) -> String {
    let mut out = String::from("{\"data\":null,\"errors\":[");
    push_string(&mut out, message, true);
    out.push_str("]}\n");
    out
}

fn push_value(out: &mut String, value: &ConstValue) {
    match value {
        ConstValue::Null => out.push_str("null"),
        ConstValue::Boolean(b) => out.push_str(if *b { "true" } else { "false" }),
        ConstValue::Number(n) => match (n.as_i64(), n.as_u64(), n.as_f64()) {
            (Some(i), _, _) => out.push_str(&i.to_string()),
            (_, Some(u), _) => out.push_str(&u.to_string()),
            (_, _, Some(f)) if f.is_finite() => out.push_str(&float_repr(f)),
            _ => out.push_str("null"),
        },
        ConstValue::String(s) => push_string(out, s, true),
        ConstValue::Enum(name) => push_string(out, name.as_str(), true),
        ConstValue::Binary(bytes) => push_string(out, &String::from_utf8_lossy(bytes), true),
        ConstValue::List(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                push_value(out, item);
            }
            out.push(']');
        }
        ConstValue::Object(fields) => {
            // Python sorts by code point, which is the order of the UTF-8 bytes.
            let mut sorted: Vec<_> = fields.iter().collect();
            sorted.sort_unstable_by(|a, b| a.0.as_str().cmp(b.0.as_str()));
            out.push('{');
            for (i, (key, item)) in sorted.into_iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                push_string(out, key.as_str(), true);
                out.push(':');
                push_value(out, item);
            }
            out.push('}');
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use async_graphql::{Name, ServerError, indexmap::IndexMap};

    #[test]
    fn keys_are_sorted_text_escaped_and_floats_pythonic() {
        let mut inner = IndexMap::new();
        inner.insert(Name::new("value"), ConstValue::from(1e-7));
        inner.insert(Name::new("key"), ConstValue::from("h\u{e9}llo \u{1F600}"));
        inner.insert(Name::new("__typename"), ConstValue::from("T"));
        let mut data = IndexMap::new();
        data.insert(Name::new("ok"), ConstValue::Object(inner));
        data.insert(Name::new("bad"), ConstValue::Null);
        let mut response = Response::new(ConstValue::Object(data));
        response
            .errors
            .push(ServerError::new("Run with id=nope not found", None));
        assert_eq!(
            write(&response),
            "{\"data\":{\"bad\":null,\"ok\":{\"__typename\":\"T\",\"key\":\"h\\u00e9llo \
             \\ud83d\\ude00\",\"value\":1e-07}},\"errors\":[\"Run with id=nope not found\"]}\n"
        );
    }

    #[test]
    fn no_errors_is_null_and_a_refusal_has_no_data() {
        assert_eq!(
            write(&Response::new(ConstValue::Null)),
            "{\"data\":null,\"errors\":null}\n"
        );
        assert_eq!(
            refusal("Query exceeds maximum depth of 10"),
            "{\"data\":null,\"errors\":[\"Query exceeds maximum depth of 10\"]}\n"
        );
    }
}
