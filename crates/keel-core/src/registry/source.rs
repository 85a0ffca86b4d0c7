//! Model-version sources: which URIs a version may point at, parsed once into a [`Source`].
//!
//! A source is read by the server later (`model-versions/get-artifact`, downloads through the
//! artifact proxy), so a source naming a local file is a file-read primitive: the CVE class of
//! CVE-2023-1177 (a `file://` or bare-path source), CVE-2023-2356 (`../` in any scheme),
//! CVE-2023-2780 (backslash traversal), CVE-2023-6977 (`//proc/self/root` read as a host),
//! CVE-2024-3573 (schemes the local-path check misreads), CVE-2024-1483 / CVE-2024-3848 (a `#`
//! fragment hiding a path), CVE-2024-1593 (`;` parameters) and CVE-2024-1560 (double
//! encoding). Keel accepts only:
//!
//! - `models:/<name>/<version|stage|latest>`, `models:/<name>@<alias>` and `models:/<model_id>`,
//! - `runs:/<run_id>/<path>`,
//! - `mlflow-artifacts:/<path>` (the server's own artifact proxy),
//! - URIs inside the configured artifact store when it is object storage
//!   ([`SourcePolicy::with_store_root`]),
//!
//! after decoding percent-escapes until nothing changes and refusing control characters,
//! backslashes, `#`, `?`, `;` and `.` / `..` segments. Local paths and `file:` URIs are never
//! accepted, nor is any other host (`http://...`, another bucket).

use crate::error::{Error, Result};

/// Where model-version sources may point besides the registry's own schemes.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SourcePolicy {
    store_roots: Vec<UriParts>,
}

impl SourcePolicy {
    /// Sources may use `models:/`, `runs:/` and `mlflow-artifacts:/` only.
    pub fn new() -> Self {
        Self::default()
    }

    /// Also accepts URIs under `root`, the artifact store's location (`s3://bucket/prefix`).
    /// Local directories and `file:` URIs are ignored: local paths are never sources.
    pub fn with_store_root(mut self, root: &str) -> Self {
        if let Some(parts) = parse_uri(root).filter(|p| p.scheme != "file") {
            self.store_roots.push(parts);
        }
        self
    }

    /// The path of `uri` relative to the artifact store's root, when it lies inside it.
    pub fn store_relative_path(&self, uri: &str) -> Option<String> {
        let parts = parse_uri(uri)?;
        self.store_roots
            .iter()
            .find(|root| parts.is_within(root, true))
            .map(|root| parts.segments[root.segments.len()..].join("/"))
    }

    fn in_store(&self, parts: &UriParts) -> bool {
        self.store_roots
            .iter()
            .any(|root| parts.is_within(root, true))
    }

    /// Checks a source and says what it names.
    pub fn classify(&self, source: &str) -> Result<Source> {
        let decoded = fully_decoded(source).ok_or_else(|| traversal(source))?;
        if decoded
            .chars()
            .any(|c| c.is_control() || c == '\\' || c == '\u{FFFD}')
        {
            return Err(traversal(source));
        }
        if decoded.contains(['#', '?', ';']) {
            return Err(Error::invalid(format!(
                "Invalid model version source: '{source}'. URIs with fragments (#), queries (?) \
                 or parameters (;) are not accepted as model version sources."
            )));
        }
        let Some(parts) = parse_uri(source) else {
            return Err(local_path(source));
        };
        if parts.traverses {
            return Err(traversal(source));
        }
        match parts.scheme.as_str() {
            "file" => Err(local_path(source)),
            "models" => {
                if parts.authority.is_some() {
                    return Err(Error::invalid(format!(
                        "Invalid model version source: '{source}'. Registered model sources \
                         must use the active model registry."
                    )));
                }
                parse_models_uri(source, &parts.raw_path)
                    .ok_or_else(|| wrong_owner(source, "model_id"))
            }
            "runs" => {
                let run_id = parts
                    .segments
                    .first()
                    .filter(|_| parts.authority.is_none() && parts.raw_path.starts_with('/'))
                    .ok_or_else(|| wrong_owner(source, "run_id"))?;
                Ok(Source::Run {
                    run_id: run_id.clone(),
                })
            }
            "mlflow-artifacts" => Ok(Source::Proxied),
            "http" | "https" => Err(Error::invalid(format!(
                "Invalid model version source: '{source}'. The '{}' scheme addresses a host \
                 other than the server's artifact store; register a runs:/, models:/ or \
                 mlflow-artifacts:/ URI instead.",
                parts.scheme
            ))),
            _ if self.in_store(&parts) => Ok(Source::Store),
            _ => Err(Error::invalid(format!(
                "Invalid model version source: '{source}'. A source must be a models:/, runs:/ \
                 or mlflow-artifacts:/ URI, or a URI inside the server's artifact store."
            ))),
        }
    }
}

/// What a checked source names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Source {
    /// `models:/<name>/...` or `models:/<name>@<alias>`: another registered version.
    Registered { name: String, reference: VersionRef },
    /// `models:/<model_id>`: an MLflow 3 logged model.
    LoggedModel { model_id: String },
    /// `runs:/<run_id>/<path>`.
    Run { run_id: String },
    /// `mlflow-artifacts:/...`: a path in the server's artifact proxy.
    Proxied,
    /// A URI inside the configured object store.
    Store,
}

/// How a `models:/<name>...` URI picks a version.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum VersionRef {
    Number(i64),
    /// A stage name as written (checked when resolved).
    Stage(String),
    Latest,
    Alias(String),
}

/// `Invalid model version source ... The <field> request parameter must identify the resource
/// that contains the source.`
pub(crate) fn wrong_owner(source: &str, field: &str) -> Error {
    Error::invalid(format!(
        "Invalid model version source: '{source}'. The {field} request parameter must identify \
         the resource that contains the source."
    ))
}

fn traversal(source: &str) -> Error {
    Error::invalid(format!(
        "Invalid model version source: '{source}'. If supplying a source as an http, https, \
         local file path, ftp, objectstore, or mlflow-artifacts uri, an absolute path must be \
         provided without relative path references present. Please provide an absolute path."
    ))
}

fn local_path(source: &str) -> Error {
    Error::invalid(format!(
        "Invalid model version source: '{source}'. Local file paths and file:// URIs are not \
         accepted as model version sources; use a runs:/, models:/ or mlflow-artifacts:/ URI."
    ))
}

/// Parses the path of a `models:` URI as the reference's `_parse_model_uri` does.
fn parse_models_uri(source: &str, path: &str) -> Option<Source> {
    let rest = path.strip_prefix('/').filter(|r| !r.is_empty())?;
    let parts: Vec<&str> = rest.split('/').collect();
    if parts.len() > 2 || parts[0].trim().is_empty() {
        return None;
    }
    if let [name, suffix] = parts.as_slice() {
        if suffix.trim().is_empty() {
            return None;
        }
        let reference = if suffix.chars().all(|c| c.is_ascii_digit()) {
            VersionRef::Number(suffix.parse().ok()?)
        } else if suffix.eq_ignore_ascii_case("latest") {
            VersionRef::Latest
        } else {
            VersionRef::Stage((*suffix).to_owned())
        };
        return Some(Source::Registered {
            name: (*name).to_owned(),
            reference,
        });
    }
    if source.contains('@') {
        let (name, alias) = parts[0].rsplit_once('@')?;
        if alias.trim().is_empty() {
            return None;
        }
        return Some(Source::Registered {
            name: name.to_owned(),
            reference: VersionRef::Alias(alias.to_owned()),
        });
    }
    Some(Source::LoggedModel {
        model_id: parts[0].to_owned(),
    })
}

/// Whether `source` lies inside `root` (an artifact location of a run or logged model): same
/// scheme and authority, and the root's decoded path segments start the source's.
pub(crate) fn is_within(source: &str, root: &str) -> bool {
    match (parse_uri(source), parse_uri(root)) {
        (Some(s), Some(r)) => s.is_within(&r, false),
        _ => false,
    }
}

/// A URI split into its scheme, authority and decoded path segments.
#[derive(Debug, Clone, PartialEq, Eq)]
struct UriParts {
    /// Lower-cased.
    scheme: String,
    /// Lower-cased; `None` without `//`.
    authority: Option<String>,
    /// The path as written (after the authority).
    raw_path: String,
    /// The non-empty path segments, fully decoded.
    segments: Vec<String>,
    /// Whether a decoded segment is `.` or `..`.
    traverses: bool,
}

impl UriParts {
    /// `empty_root_ok`: whether a root with no path (a whole bucket) contains everything in it.
    fn is_within(&self, root: &UriParts, empty_root_ok: bool) -> bool {
        self.scheme == root.scheme
            && self.authority == root.authority
            && (empty_root_ok || !root.segments.is_empty())
            && self.segments.len() >= root.segments.len()
            && self.segments[..root.segments.len()] == root.segments[..]
    }
}

/// Splits `uri` per RFC 3986; `None` when it has no scheme of at least two characters (a bare
/// path, `//host/path`, or a Windows drive letter).
fn parse_uri(uri: &str) -> Option<UriParts> {
    let (scheme, rest) = uri.split_once(':')?;
    let mut chars = scheme.chars();
    let valid_scheme = scheme.len() >= 2
        && chars.next().is_some_and(|c| c.is_ascii_alphabetic())
        && chars.all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.'));
    if !valid_scheme {
        return None;
    }
    let (authority, raw_path) = match rest.strip_prefix("//") {
        Some(after) => {
            let (authority, path) = after.split_at(after.find('/').unwrap_or(after.len()));
            (Some(authority.to_ascii_lowercase()), path)
        }
        None => (None, rest),
    };
    let decoded = fully_decoded(raw_path)?;
    let segments: Vec<String> = decoded
        .split('/')
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
        .collect();
    let traverses = decoded.split('/').any(|s| s == "." || s == "..");
    Some(UriParts {
        scheme: scheme.to_ascii_lowercase(),
        authority,
        raw_path: raw_path.to_owned(),
        segments,
        traverses,
    })
}

/// Decodes percent-escapes until nothing changes (so double-encoded input is seen for what it
/// is); `None` when the bytes are not UTF-8 or the encoding nests absurdly deep.
fn fully_decoded(s: &str) -> Option<String> {
    let mut current = s.to_owned();
    for _ in 0..8 {
        let next = percent_decode(&current)?;
        if next == current {
            return Some(current);
        }
        current = next;
    }
    None
}

fn percent_decode(s: &str) -> Option<String> {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = |b: u8| (b as char).to_digit(16);
        match (bytes[i], bytes.get(i + 1), bytes.get(i + 2)) {
            (b'%', Some(&h), Some(&l)) if hex(h).is_some() && hex(l).is_some() => {
                out.push((hex(h)? * 16 + hex(l)?) as u8);
                i += 3;
            }
            (b, _, _) => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8(out).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn policy() -> SourcePolicy {
        SourcePolicy::new().with_store_root("s3://Bucket/prefix")
    }

    #[test]
    fn registry_schemes_are_classified() {
        let p = SourcePolicy::new();
        assert_eq!(
            p.classify("models:/m-0123").ok(),
            Some(Source::LoggedModel {
                model_id: "m-0123".into()
            })
        );
        assert_eq!(
            p.classify("models:/clf/3").ok(),
            Some(Source::Registered {
                name: "clf".into(),
                reference: VersionRef::Number(3)
            })
        );
        assert_eq!(
            p.classify("models:/clf@champ").ok(),
            Some(Source::Registered {
                name: "clf".into(),
                reference: VersionRef::Alias("champ".into())
            })
        );
        assert_eq!(
            p.classify("models:/clf/Latest").ok(),
            Some(Source::Registered {
                name: "clf".into(),
                reference: VersionRef::Latest
            })
        );
        assert_eq!(
            p.classify("models:/clf/Staging").ok(),
            Some(Source::Registered {
                name: "clf".into(),
                reference: VersionRef::Stage("Staging".into())
            })
        );
        assert_eq!(
            p.classify("runs:/abc/model").ok(),
            Some(Source::Run {
                run_id: "abc".into()
            })
        );
        assert_eq!(
            p.classify("mlflow-artifacts:/1/abc/artifacts/model").ok(),
            Some(Source::Proxied)
        );
        for bad in [
            "models:/",
            "models:/a/b/c",
            "models:/a/",
            "models:/a@",
            "runs:/",
            "runs:abc",
        ] {
            assert!(p.classify(bad).is_err(), "{bad}");
        }
        assert!(p.classify("models://other/clf/1").is_err());
        assert!(p.classify("runs://host/abc/m").is_err());
    }

    #[test]
    fn store_uris_only_inside_the_configured_root() {
        let p = policy();
        assert_eq!(
            p.classify("s3://bucket/prefix/1/x").ok(),
            Some(Source::Store)
        );
        assert_eq!(p.classify("S3://BUCKET/prefix/x").ok(), Some(Source::Store));
        for bad in [
            "s3://bucket/other/x",
            "s3://bucket/prefixx/x",
            "s3://other/prefix/x",
            "gs://bucket/prefix/x",
            "s3://bucket/prefix/../other",
        ] {
            assert!(p.classify(bad).is_err(), "{bad}");
        }
        assert!(
            SourcePolicy::new()
                .classify("s3://bucket/prefix/x")
                .is_err()
        );
        assert_eq!(
            p.store_relative_path("s3://bucket/prefix/1/m/MLmodel")
                .as_deref(),
            Some("1/m/MLmodel")
        );
        assert_eq!(p.store_relative_path("s3://bucket/else"), None);
        let whole_bucket = SourcePolicy::new().with_store_root("s3://b");
        assert_eq!(whole_bucket.classify("s3://b/x").ok(), Some(Source::Store));
        // Local roots never widen the policy.
        let local = SourcePolicy::new()
            .with_store_root("/srv/keel/artifacts")
            .with_store_root("file:///srv/keel/artifacts");
        assert!(local.classify("file:///srv/keel/artifacts/x").is_err());
        assert_eq!(local, SourcePolicy::new());
    }

    /// Each known CVE pattern in this area is refused.
    #[test]
    fn known_attack_sources_are_rejected() {
        let p = policy();
        for bad in [
            // CVE-2023-1177: local files as sources.
            "file:///etc/passwd",
            "/etc/passwd",
            "relative/path",
            "./model",
            "file:/etc/passwd",
            "FILE:///etc/passwd",
            "file://localhost/etc/passwd",
            // CVE-2023-6977: a path read as a host.
            "//proc/self/root",
            "//proc/self/root/etc/passwd",
            // CVE-2024-3573: schemes the local-path check misreads.
            "C:/Windows/win.ini",
            "c:\\Windows\\win.ini",
            "local:///etc/passwd",
            // CVE-2023-2356: relative traversal in any scheme.
            "mlflow-artifacts:/../../etc",
            "mlflow-artifacts:/1/../../../etc/passwd",
            "runs:/abc/../../x",
            "models:/m/../1",
            "s3://bucket/prefix/../../etc",
            // CVE-2023-2780: backslash traversal.
            "mlflow-artifacts:/x/..\\..\\etc",
            // Encoded and double-encoded traversal (CVE-2024-1560 style).
            "mlflow-artifacts:/x/%2e%2e/%2e%2e/etc",
            "mlflow-artifacts:/x/%2E%2E%2F%2E%2E%2Fetc",
            "mlflow-artifacts:/x/%252e%252e/etc",
            "mlflow-artifacts:/x/..%2fetc",
            "mlflow-artifacts:/x/%5c..%5cetc",
            // NUL and control characters.
            "mlflow-artifacts:/x%00/y",
            "mlflow-artifacts:/x\u{0}y",
            // CVE-2024-1483 / CVE-2024-3848: a fragment hiding a path; CVE-2024-1593: params.
            "http:///#/../../etc/",
            "mlflow-artifacts:/x#/../../etc",
            "mlflow-artifacts:/x;/../../etc",
            "mlflow-artifacts:/x?p=../../etc",
            // Other hosts.
            "http://127.0.0.1:5000/api/2.0/mlflow-artifacts/artifacts/x",
            "https://evil.example/model",
            "ftp://host/x",
        ] {
            let e = p.classify(bad).expect_err(bad);
            assert!(
                e.message.starts_with("Invalid model version source"),
                "{bad}: {}",
                e.message
            );
        }
    }

    #[test]
    fn within_checks_decoded_segments() {
        let root = "mlflow-artifacts:/1/run/artifacts";
        assert!(is_within("mlflow-artifacts:/1/run/artifacts/model", root));
        assert!(is_within("mlflow-artifacts:/1/run/artifacts", root));
        assert!(is_within("mlflow-artifacts:/1/%72un/artifacts/m", root));
        assert!(!is_within("mlflow-artifacts:/1/run/artifactsx", root));
        assert!(!is_within(
            "mlflow-artifacts://host/1/run/artifacts/m",
            root
        ));
        assert!(!is_within("mlflow-artifacts:/1/other/artifacts", root));
        assert!(!is_within("mlflow-artifacts:/x", "mlflow-artifacts:/"));
    }
}
