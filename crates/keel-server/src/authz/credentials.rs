//! Credentials from the `Authorization` header: HTTP Basic (as the official client sends
//! `MLFLOW_TRACKING_USERNAME`/`MLFLOW_TRACKING_PASSWORD`) or a bearer token (as it sends
//! `MLFLOW_TRACKING_TOKEN`); on the gateway's call routes, a token in `x-api-key` (as the
//! Anthropic SDK sends its key); without one, the web UI's session cookie.

use axum::http::HeaderMap;
use axum::http::header::{AUTHORIZATION, COOKIE};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;

/// The most bytes a credential may have (a Keel token is 62; a JWT a few kilobytes).
pub const MAX_CREDENTIAL_BYTES: usize = 8 * 1024;

/// The cookie holding a web UI session.
pub const SESSION_COOKIE: &str = "keel_session";

/// Credentials, owned (decoded from base64).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Presented {
    None,
    Password { username: String, password: String },
    Token(String),
    Session(String),
}

impl Presented {
    pub fn as_credentials(&self) -> keel_auth::service::Credentials<'_> {
        use keel_auth::service::Credentials;
        match self {
            Self::None => Credentials::None,
            Self::Password { username, password } => Credentials::Password { username, password },
            Self::Token(t) => Credentials::Token(t),
            Self::Session(t) => Credentials::Session(t),
        }
    }
}

/// The header an Anthropic-style SDK sends its key in.
const API_KEY: &str = "x-api-key";

/// Reads the request's credentials; a malformed header is an error saying what is wrong.
/// With `api_key_header` (the gateway's call routes), a token may come in `x-api-key`.
pub fn presented(headers: &HeaderMap, api_key_header: bool) -> Result<Presented, &'static str> {
    let mut values = headers.get_all(AUTHORIZATION).iter();
    let Some(value) = values.next() else {
        if api_key_header && let Some(key) = headers.get(API_KEY) {
            return api_key(key);
        }
        return Ok(
            session_cookie(headers).map_or(Presented::None, |t| Presented::Session(t.to_owned()))
        );
    };
    if values.next().is_some() {
        return Err("Send one Authorization header, not several.");
    }
    if value.len() > MAX_CREDENTIAL_BYTES {
        return Err("The Authorization header is too long.");
    }
    let value = value
        .to_str()
        .map_err(|_| "The Authorization header must be ASCII.")?;
    let (scheme, rest) = value
        .trim()
        .split_once(' ')
        .ok_or("The Authorization header must be 'Basic <credentials>' or 'Bearer <token>'.")?;
    let rest = rest.trim();
    if scheme.eq_ignore_ascii_case("basic") {
        let decoded = STANDARD
            .decode(rest)
            .map_err(|_| "The Basic credentials are not valid base64.")?;
        let text =
            String::from_utf8(decoded).map_err(|_| "The Basic credentials are not UTF-8.")?;
        let (username, password) = text
            .split_once(':')
            .ok_or("The Basic credentials must be 'username:password'.")?;
        if username.is_empty() {
            return Err("The Basic credentials have an empty username.");
        }
        Ok(Presented::Password {
            username: username.to_owned(),
            password: password.to_owned(),
        })
    } else if scheme.eq_ignore_ascii_case("bearer") {
        if rest.is_empty() || rest.contains(' ') {
            return Err("The bearer token is empty or malformed.");
        }
        Ok(Presented::Token(rest.to_owned()))
    } else {
        Err("The Authorization header must be 'Basic <credentials>' or 'Bearer <token>'.")
    }
}

/// A token sent as `x-api-key`.
fn api_key(value: &axum::http::HeaderValue) -> Result<Presented, &'static str> {
    if value.len() > MAX_CREDENTIAL_BYTES {
        return Err("The x-api-key header is too long.");
    }
    let token = value
        .to_str()
        .map_err(|_| "The x-api-key header must be ASCII.")?
        .trim();
    if token.is_empty() || token.contains(' ') {
        return Err("The x-api-key header is empty or malformed.");
    }
    Ok(Presented::Token(token.to_owned()))
}

/// The session cookie's value, if the request sends one.
pub fn session_cookie(headers: &HeaderMap) -> Option<&str> {
    cookie_value(headers, SESSION_COOKIE)
}

/// The value of the cookie `name`, if the request sends one that is not empty and at most
/// [`MAX_CREDENTIAL_BYTES`] (HTTP/2 may split cookies over several headers).
pub fn cookie_value<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get_all(COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .find_map(|pair| pair.trim().strip_prefix(name)?.strip_prefix('='))
        .filter(|t| !t.is_empty() && t.len() <= MAX_CREDENTIAL_BYTES)
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    fn with(value: &str) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert(AUTHORIZATION, HeaderValue::from_str(value).expect("header"));
        h
    }

    #[test]
    fn basic_and_bearer_parse() {
        assert_eq!(presented(&HeaderMap::new(), false), Ok(Presented::None));
        assert_eq!(
            presented(
                &with(&format!("Basic {}", STANDARD.encode("alice:pa:ss"))),
                false
            ),
            Ok(Presented::Password {
                username: "alice".into(),
                password: "pa:ss".into()
            })
        );
        assert_eq!(
            presented(&with("bearer keel_abc"), false),
            Ok(Presented::Token("keel_abc".into()))
        );
    }

    #[test]
    fn the_session_cookie_is_read_only_without_an_authorization_header() {
        let mut h = HeaderMap::new();
        h.append(
            COOKIE,
            HeaderValue::from_static("theme=dark; keel_session_x=no"),
        );
        h.append(
            COOKIE,
            HeaderValue::from_static("keel_session=keel_abc; other=1"),
        );
        assert_eq!(
            presented(&h, false),
            Ok(Presented::Session("keel_abc".into()))
        );
        h.insert(AUTHORIZATION, HeaderValue::from_static("Bearer keel_tok"));
        assert_eq!(
            presented(&h, false),
            Ok(Presented::Token("keel_tok".into()))
        );
        let empty = HeaderMap::from_iter([(COOKIE, HeaderValue::from_static("keel_session="))]);
        assert_eq!(presented(&empty, false), Ok(Presented::None));
    }

    #[test]
    fn malformed_headers_are_refused_with_a_reason() {
        for bad in [
            "Basic",
            "Basic !!!",
            &format!("Basic {}", STANDARD.encode("no-colon")),
            &format!("Basic {}", STANDARD.encode(":empty-user")),
            &format!("Basic {}", STANDARD.encode([0xff, 0xfe, b':'])),
            "Bearer ",
            "Bearer a b",
            "Digest x",
            "Negotiate",
        ] {
            assert!(presented(&with(bad), false).is_err(), "{bad}");
        }
        let long = format!("Bearer {}", "a".repeat(MAX_CREDENTIAL_BYTES));
        assert!(presented(&with(&long), false).is_err());
        let mut two = with("Bearer a");
        two.append(AUTHORIZATION, HeaderValue::from_static("Bearer b"));
        assert!(presented(&two, false).is_err());
    }

    #[test]
    fn x_api_key_is_a_token_only_where_the_gateway_reads_it() {
        let h = HeaderMap::from_iter([(
            axum::http::HeaderName::from_static("x-api-key"),
            HeaderValue::from_static("keel_tok"),
        )]);
        assert_eq!(presented(&h, true), Ok(Presented::Token("keel_tok".into())));
        assert_eq!(presented(&h, false), Ok(Presented::None));
        let mut both = h.clone();
        both.insert(AUTHORIZATION, HeaderValue::from_static("Bearer keel_other"));
        assert_eq!(
            presented(&both, true),
            Ok(Presented::Token("keel_other".into())),
            "Authorization wins"
        );
        let blank = HeaderMap::from_iter([(
            axum::http::HeaderName::from_static("x-api-key"),
            HeaderValue::from_static(" "),
        )]);
        assert!(presented(&blank, true).is_err());
    }
}
