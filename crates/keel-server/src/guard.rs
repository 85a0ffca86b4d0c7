//! Browser-facing protections applied to every request: a Host allow-list against DNS
//! rebinding, and refusal of cross-origin writes (a page on another site cannot change data).

use std::net::IpAddr;
use std::sync::Arc;

use axum::extract::{Request, State};
use axum::http::{Method, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use keel_core::{Error, ErrorCode};

use crate::error::ApiError;

/// Which `Host` headers and `Origin`s are trusted.
#[derive(Debug, Clone, Default)]
pub struct BrowserGuard {
    /// Extra host names (lowercase, without port) accepted in `Host`; `*` accepts any.
    pub allowed_hosts: Vec<String>,
    /// Extra origins (e.g. `https://ui.example.com`) allowed to send writes; `*` allows any.
    pub allowed_origins: Vec<String>,
}

impl BrowserGuard {
    /// `localhost` and IP literals are always accepted: a DNS-rebinding attack needs a host
    /// name that resolves to this server, so only names need to be listed.
    fn host_allowed(&self, host: &str) -> bool {
        let name = strip_port(host).to_ascii_lowercase();
        name == "localhost"
            || name
                .trim_start_matches('[')
                .trim_end_matches(']')
                .parse::<IpAddr>()
                .is_ok()
            || self
                .allowed_hosts
                .iter()
                .any(|h| h == "*" || h.eq_ignore_ascii_case(&name))
    }

    /// Same-origin writes, loopback pages and configured origins may write.
    fn origin_allowed(&self, origin: &str, host: Option<&str>) -> bool {
        let lower = origin.to_ascii_lowercase();
        let authority = lower
            .split_once("://")
            .map(|(_, rest)| rest)
            .unwrap_or(&lower);
        if host.is_some_and(|h| h.eq_ignore_ascii_case(authority)) {
            return true;
        }
        let origin_host = strip_port(authority)
            .trim_start_matches('[')
            .trim_end_matches(']');
        let loopback = origin_host == "localhost"
            || origin_host
                .parse::<IpAddr>()
                .is_ok_and(|ip| ip.is_loopback());
        loopback
            || self
                .allowed_origins
                .iter()
                .any(|o| o == "*" || o.eq_ignore_ascii_case(origin))
    }
}

/// `host:port` → `host`, keeping bracketed IPv6 literals whole.
fn strip_port(authority: &str) -> &str {
    if authority.starts_with('[') {
        return authority
            .split_once(']')
            .map(|(h, _)| &authority[..=h.len()])
            .unwrap_or(authority);
    }
    match authority.rsplit_once(':') {
        Some((host, port)) if !host.contains(':') && port.chars().all(|c| c.is_ascii_digit()) => {
            host
        }
        _ => authority,
    }
}

/// The authority a request names, on every protocol: HTTP/1.1's one `Host` header, or
/// HTTP/2's `:authority` (which hyper puts in the URI); when both are present they must agree.
/// `Err` carries the reason for a 400.
fn effective_authority(req: &Request) -> Result<String, &'static str> {
    let mut hosts = req.headers().get_all(header::HOST).iter();
    let host = match (hosts.next(), hosts.next()) {
        (Some(_), Some(_)) => return Err("Bad Request: more than one Host header."),
        (Some(v), None) => Some(
            v.to_str()
                .map_err(|_| "Bad Request: the Host header is not valid text.")?,
        ),
        (None, _) => None,
    };
    let uri_authority = req.uri().authority().map(|a| a.as_str());
    match (host, uri_authority) {
        (Some(h), Some(a)) if !h.eq_ignore_ascii_case(a) => {
            Err("Bad Request: the Host header and the request's authority disagree.")
        }
        (Some(h), _) => Ok(h.to_owned()),
        (None, Some(a)) => Ok(a.to_owned()),
        (None, None) => Err("Bad Request: the Host header is missing."),
    }
}

/// Middleware enforcing [`BrowserGuard`]; also the one place that refuses `%00` (an encoded
/// NUL) anywhere in the path or query, which no name, ID or filter may contain.
pub async fn enforce(State(guard): State<Arc<BrowserGuard>>, req: Request, next: Next) -> Response {
    let host = match effective_authority(&req) {
        Ok(host) => host,
        Err(why) => return bad_request(why.to_owned()),
    };
    if !guard.host_allowed(&host) {
        return forbidden(format!(
            "Invalid Host header '{host}' - possible DNS rebinding attack detected. Add the \
             host name to allowed_hosts if this server is reached under that name."
        ));
    }
    if req
        .uri()
        .path_and_query()
        .is_some_and(|pq| pq.as_str().contains("%00"))
    {
        return ApiError(Error::invalid(
            "Invalid request: the URL contains an encoded NUL character (%00), which no name, \
             ID or value may contain.",
        ))
        .into_response();
    }
    let writes = !matches!(*req.method(), Method::GET | Method::HEAD | Method::OPTIONS);
    if writes {
        if let Some(origin) = req
            .headers()
            .get(header::ORIGIN)
            .and_then(|v| v.to_str().ok())
        {
            if !guard.origin_allowed(origin, Some(&host)) {
                return forbidden(format!(
                    "Cross-origin request blocked: origin '{origin}' may not change data on this \
                     server. Add it to cors_allowed_origins if it should."
                ));
            }
        }
    }
    next.run(req).await
}

fn bad_request(message: String) -> Response {
    ApiError(Error::new(ErrorCode::BadRequest, message)).into_response()
}

fn forbidden(message: String) -> Response {
    ApiError(Error::new(ErrorCode::PermissionDenied, message)).into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hosts() {
        let g = BrowserGuard {
            allowed_hosts: vec!["keel.internal".into()],
            ..Default::default()
        };
        for ok in [
            "localhost:5000",
            "127.0.0.1:5000",
            "[::1]:5000",
            "10.1.2.3",
            "KEEL.internal:80",
        ] {
            assert!(g.host_allowed(ok), "{ok}");
        }
        for bad in [
            "evil.example",
            "evil.example:5000",
            "localhost.evil.example",
        ] {
            assert!(!g.host_allowed(bad), "{bad}");
        }
        let open = BrowserGuard {
            allowed_hosts: vec!["*".into()],
            ..Default::default()
        };
        assert!(open.host_allowed("anything.example"));
    }

    #[test]
    fn the_authority_comes_from_host_or_the_uri_and_must_be_single() {
        let req = |uri: &str, hosts: &[&str]| {
            let mut b = axum::http::Request::builder().uri(uri);
            for h in hosts {
                b = b.header(header::HOST, *h);
            }
            b.body(axum::body::Body::empty()).expect("request")
        };
        assert_eq!(
            effective_authority(&req("/x", &["a.example"])),
            Ok("a.example".into())
        );
        // HTTP/2: `:authority` arrives in the URI and there is no Host header.
        assert_eq!(
            effective_authority(&req("http://evil.example/x", &[])),
            Ok("evil.example".into())
        );
        assert_eq!(
            effective_authority(&req("http://localhost:5000/x", &["LOCALHOST:5000"])),
            Ok("LOCALHOST:5000".into())
        );
        assert!(effective_authority(&req("/x", &[])).is_err());
        assert!(effective_authority(&req("/x", &["a", "b"])).is_err());
        assert!(effective_authority(&req("http://evil.example/x", &["localhost"])).is_err());
    }

    #[test]
    fn origins() {
        let g = BrowserGuard {
            allowed_origins: vec!["https://ui.example".into()],
            ..Default::default()
        };
        assert!(g.origin_allowed("http://127.0.0.1:5000", Some("127.0.0.1:5000")));
        assert!(g.origin_allowed("http://localhost:3000", Some("127.0.0.1:5000")));
        assert!(g.origin_allowed("https://keel.corp", Some("keel.corp")));
        assert!(g.origin_allowed("https://ui.example", Some("keel.corp")));
        assert!(!g.origin_allowed("http://evil.example", Some("127.0.0.1:5000")));
        assert!(!g.origin_allowed("null", Some("127.0.0.1:5000")));
    }
}
