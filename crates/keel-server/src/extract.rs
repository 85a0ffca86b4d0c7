//! Request extraction: a JSON body for POST/PATCH/DELETE and the query string for GET, parsed
//! into wire types with errors that name the offending field.

use axum::body::Body;
use axum::extract::FromRequest;
use axum::http::{Method, Request};
use keel_core::Error;
use serde::de::DeserializeOwned;

use crate::error::ApiError;
use crate::state::AppState;

/// A parsed MLflow request and the size of its body in bytes.
#[derive(Debug)]
pub struct MlflowRequest<T> {
    pub message: T,
    pub body_len: usize,
}

/// Bodies larger than this are parsed on the blocking pool, so a large body never holds up the
/// async workers that serve everyone else.
const PARSE_INLINE_MAX_BYTES: usize = 64 * 1024;

impl<T: DeserializeOwned + Default + Send + 'static> FromRequest<AppState> for MlflowRequest<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request<Body>, state: &AppState) -> Result<Self, Self::Rejection> {
        // HEAD is routed to the GET handlers, so it reads the query string too.
        if req.method() == Method::GET || req.method() == Method::HEAD {
            let query = req.uri().query().unwrap_or("");
            return Ok(Self {
                message: parse_query(query)?,
                body_len: 0,
            });
        }
        let content_type = req
            .headers()
            .get(axum::http::header::CONTENT_TYPE)
            .map(|v| v.to_str().unwrap_or("").to_owned());
        let limit = state.limits.max_json_body_bytes;
        let bytes = axum::body::to_bytes(req.into_body(), limit)
            .await
            .map_err(|_| {
                Error::invalid(format!(
                    "Request body is too large or could not be read; the limit is {limit} bytes."
                ))
            })?;
        let body_len = bytes.len();
        if bytes.iter().all(u8::is_ascii_whitespace) {
            return Ok(Self {
                message: T::default(),
                body_len,
            });
        }
        check_json_content_type(content_type.as_deref())?;
        let message = if body_len <= PARSE_INLINE_MAX_BYTES {
            parse_json(&bytes)?
        } else {
            tokio::task::spawn_blocking(move || parse_json(&bytes))
                .await
                .map_err(|_| Error::internal("The request body could not be parsed."))??
        };
        Ok(Self { message, body_len })
    }
}

/// Bodies must be declared as JSON. Besides matching the reference server, this stops the
/// "simple" cross-site POSTs a browser sends without a preflight (text/plain, form data).
fn check_json_content_type(content_type: Option<&str>) -> Result<(), Error> {
    let Some(content_type) = content_type else {
        return Err(Error::invalid(
            "Bad Request. Content-Type header is missing; it must be 'application/json'.",
        ));
    };
    let essence = content_type.split(';').next().unwrap_or("").trim();
    if essence.eq_ignore_ascii_case("application/json") {
        Ok(())
    } else {
        Err(Error::invalid(format!(
            "Bad Request. Content-Type must be one of ['application/json'], got '{content_type}'."
        )))
    }
}

/// Parses a JSON body, naming the field whose value has the wrong type. A string holding NUL
/// (`\u0000`) is refused here, before any store sees it: PostgreSQL cannot store it, and no
/// MLflow name, ID, value or filter needs it.
pub fn parse_json<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, Error> {
    if has_escaped_nul(bytes) {
        return Err(nul_error(bytes));
    }
    let de = &mut serde_json::Deserializer::from_slice(bytes);
    let value = serde_path_to_error::deserialize(&mut *de).map_err(|e| {
        let path = e.path().to_string();
        let offending = offending_value(bytes, e.path());
        let inner = e.into_inner();
        if inner.is_syntax() || inner.is_eof() {
            Error::new(
                keel_core::ErrorCode::BadRequest,
                format!("Malformed JSON request body: {inner}"),
            )
        } else if path == "." || path.is_empty() {
            Error::invalid(format!("Invalid request body: {inner}"))
        } else {
            match offending {
                Some(value) => Error::invalid(invalid_value_message(&path, &value)),
                None => Error::invalid(format!(
                    "Invalid value for parameter '{path}' supplied: {inner}"
                )),
            }
        }
    })?;
    // Trailing bytes after the object (`{"a":1}}`, two objects) are malformed, not ignored.
    de.end().map_err(|inner| {
        Error::new(
            keel_core::ErrorCode::BadRequest,
            format!("Malformed JSON request body: {inner}"),
        )
    })?;
    Ok(value)
}

/// The reference server's message for a field of the wrong type or value, e.g. `Invalid value
/// 123 for parameter 'name' supplied:  Hint: Value was of type 'int'. See the API docs for more
/// information about request parameters.` (the value as compact JSON with sorted keys and
/// ASCII escapes, as Python's `json.dumps` writes it, cut at [`MAX_ECHOED_VALUE`] characters;
/// the type as Python names it).
pub fn invalid_value_message(path: &str, value: &serde_json::Value) -> String {
    use serde_json::Value;
    fn sort_keys(value: &mut Value) {
        match value {
            Value::Object(map) => {
                map.sort_keys();
                map.values_mut().for_each(sort_keys);
            }
            Value::Array(items) => items.iter_mut().for_each(sort_keys),
            _ => {}
        }
    }
    let mut sorted = value.clone();
    sort_keys(&mut sorted);
    let type_name = match value {
        Value::Null => "NoneType",
        Value::Bool(_) => "bool",
        Value::Number(n) if n.is_f64() => "float",
        Value::Number(_) => "int",
        Value::String(_) => "str",
        Value::Array(_) => "list",
        Value::Object(_) => "dict",
    };
    let mut shown = String::new();
    for c in sorted.to_string().chars() {
        if shown.len() >= MAX_ECHOED_VALUE {
            shown.push_str("...");
            break;
        }
        if c.is_ascii() {
            shown.push(c);
        } else {
            let mut units = [0u16; 2];
            for unit in c.encode_utf16(&mut units) {
                shown.push_str(&format!("\\u{unit:04x}"));
            }
        }
    }
    format!(
        "Invalid value {shown} for parameter '{path}' supplied:  Hint: Value was of type \
         '{type_name}'. See the API docs for more information about request parameters."
    )
}

/// At most this much of an offending value is echoed in an error message.
const MAX_ECHOED_VALUE: usize = 1000;

/// The value at `path` in a body that failed to parse (read again, untyped, only on this error
/// path), if the body is JSON and the path leads somewhere.
fn offending_value(bytes: &[u8], path: &serde_path_to_error::Path) -> Option<serde_json::Value> {
    use serde_path_to_error::Segment;
    let mut value: serde_json::Value = serde_json::from_slice(bytes).ok()?;
    for segment in path.iter() {
        value = match segment {
            Segment::Seq { index } => value.as_array_mut()?.get_mut(*index)?.take(),
            Segment::Map { key } => value.as_object_mut()?.get_mut(key.as_str())?.take(),
            Segment::Enum { .. } | Segment::Unknown => return None,
        };
    }
    Some(value)
}

/// Whether JSON text holds a `\u0000` escape (one not itself escaped, as in `"\\u0000"`).
/// A raw NUL byte cannot occur in valid JSON, whose parser rejects control characters.
fn has_escaped_nul(bytes: &[u8]) -> bool {
    let mut backslashes = 0usize;
    for (i, &b) in bytes.iter().enumerate() {
        if b == b'\\' {
            backslashes += 1;
            continue;
        }
        if b == b'u' && backslashes % 2 == 1 && bytes.get(i + 1..i + 5) == Some(b"0000") {
            return true;
        }
        backslashes = 0;
    }
    false
}

/// The error for a body holding NUL, naming the first field that does (found by a second,
/// untyped parse, only on this error path).
fn nul_error(bytes: &[u8]) -> Error {
    fn find(value: &serde_json::Value, path: &mut String) -> bool {
        match value {
            serde_json::Value::String(s) => s.contains('\0'),
            serde_json::Value::Array(items) => items.iter().enumerate().any(|(i, v)| {
                let len = path.len();
                path.push_str(&format!("[{i}]"));
                let found = find(v, path);
                if !found {
                    path.truncate(len);
                }
                found
            }),
            serde_json::Value::Object(map) => map.iter().any(|(k, v)| {
                let len = path.len();
                if !path.is_empty() {
                    path.push('.');
                }
                path.push_str(k);
                let found = k.contains('\0') || find(v, path);
                if !found {
                    path.truncate(len);
                }
                found
            }),
            _ => false,
        }
    }
    let mut path = String::new();
    let named = serde_json::from_slice::<serde_json::Value>(bytes)
        .is_ok_and(|v| find(&v, &mut path) && !path.is_empty());
    let field = if named {
        format!(" in parameter '{}'", path.replace('\0', "\\u0000"))
    } else {
        String::new()
    };
    Error::invalid(format!(
        "Invalid value{field}: NUL characters (\\u0000) are not allowed in names, IDs, values \
         or filters."
    ))
}

/// Parses a query string; repeated keys become lists.
pub fn parse_query<T: DeserializeOwned>(query: &str) -> Result<T, Error> {
    let mut map = serde_json::Map::new();
    for (key, value) in form_urlencoded::parse(query.as_bytes()) {
        let value = serde_json::Value::String(value.into_owned());
        match map.get_mut(key.as_ref()) {
            Some(serde_json::Value::Array(items)) => items.push(value),
            Some(existing) => {
                let first = existing.take();
                *existing = serde_json::Value::Array(vec![first, value]);
            }
            None => {
                map.insert(key.into_owned(), value);
            }
        }
    }
    serde_path_to_error::deserialize(serde_json::Value::Object(map)).map_err(|e| {
        let path = e.path().to_string();
        Error::invalid(format!(
            "Invalid value for parameter '{path}' supplied: {}",
            e.into_inner()
        ))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_oversized_offending_value_is_echoed_cut() {
        let huge = serde_json::Value::String("x".repeat(1_000_000));
        let message = invalid_value_message("value", &huge);
        assert!(message.len() < MAX_ECHOED_VALUE + 200, "{}", message.len());
        assert!(
            message.contains("xxx... for parameter 'value'"),
            "{message}"
        );
        assert!(message.ends_with("Value was of type 'str'. See the API docs for more information about request parameters."));
    }

    #[test]
    fn a_mistyped_nested_field_is_named_with_its_value() {
        #[derive(Debug, serde::Deserialize)]
        struct Item {
            #[allow(dead_code)]
            value: f64,
        }
        #[derive(Debug, serde::Deserialize)]
        struct Body {
            #[allow(dead_code)]
            items: Vec<Item>,
        }
        let err = parse_json::<Body>(
            br#"{"items": [{"value": 1}, {"value": {"b": [true], "a": "\u00e9"}}]}"#,
        )
        .expect_err("a dict for a float");
        assert_eq!(
            err.message,
            "Invalid value {\"a\":\"\\u00e9\",\"b\":[true]} for parameter 'items[1].value' supplied:  \
             Hint: Value was of type 'dict'. See the API docs for more information about request \
             parameters."
        );
    }
}
