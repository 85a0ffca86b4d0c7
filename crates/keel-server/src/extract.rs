//! Request extraction: a JSON body for POST/PATCH/DELETE and the query string for GET, parsed
//! into wire types with errors that name the offending field.

use axum::body::Body;
use axum::extract::FromRequest;
use axum::http::{Method, Request};
use keel_core::Error;
use serde::de::DeserializeOwned;

use crate::error::ApiError;

/// Largest JSON body any tracking API accepts.
pub const MAX_JSON_BODY_BYTES: usize = 16 * 1024 * 1024;

/// A parsed MLflow request and the size of its body in bytes.
#[derive(Debug)]
pub struct MlflowRequest<T> {
    pub message: T,
    pub body_len: usize,
}

impl<S: Send + Sync, T: DeserializeOwned + Default> FromRequest<S> for MlflowRequest<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request<Body>, _state: &S) -> Result<Self, Self::Rejection> {
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
        let bytes = axum::body::to_bytes(req.into_body(), MAX_JSON_BODY_BYTES).await.map_err(|_| {
            Error::invalid(format!(
                "Request body is too large or could not be read; the limit is {MAX_JSON_BODY_BYTES} bytes."
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
        Ok(Self {
            message: parse_json(&bytes)?,
            body_len,
        })
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

/// Parses a JSON body, naming the field whose value has the wrong type.
pub fn parse_json<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, Error> {
    let de = &mut serde_json::Deserializer::from_slice(bytes);
    let value = serde_path_to_error::deserialize(&mut *de).map_err(|e| {
        let path = e.path().to_string();
        let inner = e.into_inner();
        if inner.is_syntax() || inner.is_eof() {
            Error::new(
                keel_core::ErrorCode::BadRequest,
                format!("Malformed JSON request body: {inner}"),
            )
        } else if path == "." || path.is_empty() {
            Error::invalid(format!("Invalid request body: {inner}"))
        } else {
            Error::invalid(format!(
                "Invalid value for parameter '{path}' supplied: {inner}"
            ))
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
