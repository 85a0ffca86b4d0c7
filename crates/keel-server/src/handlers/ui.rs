//! The web UI: `/` serves `index.html`, `/static-files/{*path}` the built files, with caching
//! (hashed `assets/` immutable, the rest revalidated by ETag), precompressed variants chosen by
//! `Accept-Encoding`, and a strict Content-Security-Policy on HTML.
//!
//! Files are found by exact match in the embedded table, never on disk, so no request path can
//! reach outside it (`..` or encoded separators simply match nothing). Unknown files get the
//! JSON 404 every other route gives, never `index.html`: the UI routes by URL fragment.

use axum::body::Body;
use axum::extract::rejection::PathRejection;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderName, HeaderValue, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use keel_core::Error;

use crate::error::ApiError;
use crate::state::AppState;
use crate::ui::UiAsset;

/// The policy of every HTML page: only this server's own scripts, styles and connections.
pub const CONTENT_SECURITY_POLICY: &str = "default-src 'self'; script-src 'self'; \
     style-src 'self'; img-src 'self' data: blob:; connect-src 'self'; font-src 'self'; \
     object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

const IMMUTABLE: &str = "public, max-age=31536000, immutable";
const REVALIDATE: &str = "no-cache";

const NOT_BUILT_PAGE: &str = "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
     <title>Keel: web UI not built</title></head><body><h1>Keel's web UI is not built</h1>\
     <p>This keel binary was built without its web UI. Run <code>scripts/build-ui.sh</code>, \
     then rebuild keel (<code>cargo build</code>).</p><p>The REST API under <code>/api/</code> \
     works as usual.</p></body></html>\n";

/// `GET /`: the UI's `index.html`, or a 503 page saying how to build it.
pub async fn index(State(s): State<AppState>, headers: HeaderMap) -> Response {
    match s.ui.index() {
        Some(asset) => serve(asset, &headers),
        None => not_built(),
    }
}

/// `GET /static-files/{*path}`: one built file, by exact path.
pub async fn asset(
    State(s): State<AppState>,
    uri: Uri,
    headers: HeaderMap,
    path: Result<Path<String>, PathRejection>,
) -> Response {
    match path.ok().and_then(|Path(p)| s.ui.get(&p).copied()) {
        Some(asset) => serve(&asset, &headers),
        None => ApiError(Error::not_found(format!(
            "No web UI file at '{}'.",
            uri.path()
        )))
        .into_response(),
    }
}

/// A content coding of a precompressed variant.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Coding {
    Br,
    Gzip,
}

impl Coding {
    fn name(self) -> &'static str {
        match self {
            Self::Br => "br",
            Self::Gzip => "gzip",
        }
    }
    fn etag_suffix(self) -> &'static str {
        match self {
            Self::Br => "-br",
            Self::Gzip => "-gz",
        }
    }
}

/// The q-value `accept` (an `Accept-Encoding` value) gives `names`, else its `*`, else 0.
fn quality(accept: &str, names: &[&str]) -> f32 {
    let mut wildcard = None;
    for item in accept.split(',') {
        let mut parts = item.split(';');
        let name = parts.next().unwrap_or_default().trim();
        let q = parts
            .filter_map(|p| p.trim().strip_prefix("q=").or(p.trim().strip_prefix("Q=")))
            .map(|v| v.trim().parse::<f32>().unwrap_or(0.0))
            .next()
            .unwrap_or(1.0);
        if names.iter().any(|n| name.eq_ignore_ascii_case(n)) {
            return q;
        }
        if name == "*" {
            wildcard = Some(q);
        }
    }
    wildcard.unwrap_or(0.0)
}

/// The variant to send: the acceptable one (q > 0) with the highest q, Brotli on a tie.
fn choose(asset: &UiAsset, accept: Option<&str>) -> Option<(Coding, &'static [u8])> {
    let accept = accept?;
    let mut best: Option<(f32, Coding, &'static [u8])> = None;
    for (coding, bytes, names) in [
        (Coding::Br, asset.br, &["br"][..]),
        (Coding::Gzip, asset.gz, &["gzip", "x-gzip"][..]),
    ] {
        let (Some(bytes), q) = (bytes, quality(accept, names)) else {
            continue;
        };
        if q > 0.0 && best.is_none_or(|(b, _, _)| q > b) {
            best = Some((q, coding, bytes));
        }
    }
    best.map(|(_, coding, bytes)| (coding, bytes))
}

/// Whether `If-None-Match` names `etag` (weak comparison, as RFC 9110 asks for this header).
fn not_modified(if_none_match: &str, etag: &str) -> bool {
    if_none_match.split(',').map(str::trim).any(|tag| {
        let tag = tag.strip_prefix("W/").unwrap_or(tag);
        tag == "*" || tag == etag
    })
}

/// The ETag of one representation: each coding has its own, so caches never mix them up.
fn representation_etag(etag: &str, coding: Option<Coding>) -> String {
    match coding {
        None => etag.to_owned(),
        Some(c) => match etag.strip_suffix('"') {
            Some(open) => format!("{open}{}\"", c.etag_suffix()),
            None => format!("{etag}{}", c.etag_suffix()),
        },
    }
}

fn header_str(headers: &HeaderMap, name: HeaderName) -> Option<&str> {
    headers.get(name).and_then(|v| v.to_str().ok())
}

/// Headers every HTML page gets.
fn page_headers(out: &mut HeaderMap) {
    for (name, value) in [
        (header::CONTENT_SECURITY_POLICY, CONTENT_SECURITY_POLICY),
        (header::REFERRER_POLICY, "same-origin"),
        (header::X_FRAME_OPTIONS, "DENY"),
        (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
    ] {
        out.insert(name, HeaderValue::from_static(value));
    }
}

fn serve(asset: &UiAsset, headers: &HeaderMap) -> Response {
    let chosen = choose(asset, header_str(headers, header::ACCEPT_ENCODING));
    let coding = chosen.map(|(c, _)| c);
    let etag = representation_etag(asset.etag, coding);
    let mut out = HeaderMap::new();
    if let Ok(value) = HeaderValue::from_str(&etag) {
        out.insert(header::ETAG, value);
    }
    out.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static(if asset.immutable {
            IMMUTABLE
        } else {
            REVALIDATE
        }),
    );
    out.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    if asset.br.is_some() || asset.gz.is_some() {
        out.insert(header::VARY, HeaderValue::from_static("accept-encoding"));
    }
    if asset.content_type.starts_with("text/html") {
        page_headers(&mut out);
    }
    if header_str(headers, header::IF_NONE_MATCH).is_some_and(|v| not_modified(v, &etag)) {
        return (StatusCode::NOT_MODIFIED, out).into_response();
    }
    out.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static(asset.content_type),
    );
    let body = match chosen {
        Some((coding, bytes)) => {
            out.insert(
                header::CONTENT_ENCODING,
                HeaderValue::from_static(coding.name()),
            );
            bytes
        }
        None => asset.bytes,
    };
    (StatusCode::OK, out, Body::from(body)).into_response()
}

/// 503 for a build without the UI (debug and test builds only: release builds refuse).
fn not_built() -> Response {
    let mut out = HeaderMap::new();
    page_headers(&mut out);
    out.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/html; charset=utf-8"),
    );
    out.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    (StatusCode::SERVICE_UNAVAILABLE, out, NOT_BUILT_PAGE).into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn asset(br: bool, gz: bool) -> UiAsset {
        UiAsset {
            path: "assets/a.js",
            bytes: b"plain",
            content_type: "text/javascript; charset=utf-8",
            etag: "\"00000000000000ab\"",
            immutable: true,
            br: br.then_some(&b"br"[..]),
            gz: gz.then_some(&b"gz"[..]),
        }
    }

    #[test]
    fn encodings_follow_q_values_and_prefer_brotli() {
        let both = asset(true, true);
        let pick = |a: &UiAsset, accept: &str| choose(a, Some(accept)).map(|(c, _)| c);
        assert_eq!(pick(&both, "gzip, deflate, br, zstd"), Some(Coding::Br));
        assert_eq!(pick(&both, "gzip"), Some(Coding::Gzip));
        assert_eq!(pick(&both, "br;q=0, gzip"), Some(Coding::Gzip));
        assert_eq!(pick(&both, "br;q=0.5, gzip;q=0.8"), Some(Coding::Gzip));
        assert_eq!(pick(&both, "BR ; Q=1, x-gzip"), Some(Coding::Br));
        assert_eq!(pick(&both, "*"), Some(Coding::Br));
        assert_eq!(pick(&both, "*;q=0"), None);
        assert_eq!(pick(&both, "br;q=0, gzip;q=0, *"), None);
        assert_eq!(pick(&both, "identity"), None);
        assert_eq!(pick(&both, "br;q=nonsense"), None);
        assert_eq!(pick(&asset(false, true), "br, gzip"), Some(Coding::Gzip));
        assert_eq!(pick(&asset(false, false), "br, gzip"), None);
        assert_eq!(choose(&both, None).map(|(c, _)| c), None);
    }

    #[test]
    fn if_none_match_takes_lists_weak_tags_and_star() {
        let etag = "\"00000000000000ab\"";
        assert!(not_modified(etag, etag));
        assert!(not_modified("W/\"00000000000000ab\"", etag));
        assert!(not_modified("\"x\", W/\"00000000000000ab\" ,\"y\"", etag));
        assert!(not_modified("*", etag));
        assert!(!not_modified("\"00000000000000ac\"", etag));
        assert!(!not_modified("", etag));
        assert_eq!(
            representation_etag(etag, Some(Coding::Br)),
            "\"00000000000000ab-br\""
        );
        assert_eq!(representation_etag(etag, None), etag);
    }
}
