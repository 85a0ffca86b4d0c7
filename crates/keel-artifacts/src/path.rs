//! Artifact paths that provably stay inside the artifact root.
//!
//! The reference server's worst security history is path traversal and local file inclusion
//! through artifact paths. A path arrives here already URL-decoded once by the HTTP layer and is
//! never decoded again; anything that could be read as another path is rejected rather than
//! normalized: `..` and `.` segments, absolute paths, drive letters, backslashes, NUL and other
//! control characters, `#`, `?`, `;`, empty segments, and leftover percent-encodings of path
//! characters (double-encoded input). Names starting with `.keel-` are reserved for the stores'
//! own bookkeeping (staged uploads), so no client path can reach it.

use keel_core::{Error, Result};

/// Longest path and longest segment accepted, in bytes.
pub const MAX_PATH_BYTES: usize = 4096;
pub const MAX_SEGMENT_BYTES: usize = 255;

/// The reference server's error for a path that could leave its root.
pub const INVALID_PATH: &str = "Invalid path";

/// Segments starting with this (in any case) are reserved for Keel's own bookkeeping files.
pub const RESERVED_PREFIX: &str = ".keel-";

/// A relative artifact path made of safe, non-empty segments; the empty path is the root.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default)]
pub struct ArtifactPath {
    segments: Vec<String>,
}

impl ArtifactPath {
    /// The artifact root itself.
    pub fn root() -> Self {
        Self::default()
    }

    /// Validates a client-supplied path. One trailing `/` is allowed (directories).
    ///
    /// What the reference server refuses too (traversal, absolute paths, `#`, double encoding)
    /// gets its error, `Invalid path`; what only Keel refuses is named.
    pub fn parse(raw: &str) -> Result<Self> {
        let reject = |why: &str| {
            Err(Error::invalid(format!(
                "Invalid artifact path '{}': {why}",
                shown(raw)
            )))
        };
        let traversal = || Err(Error::invalid(INVALID_PATH));
        if raw.len() > MAX_PATH_BYTES {
            return reject("it is too long");
        }
        if let Some(c) = raw.chars().find(|c| c.is_control()) {
            return reject(&format!("it contains the control character {:?}", c));
        }
        if raw.contains('#') || has_encoded_path_character(raw) {
            return traversal();
        }
        if let Some(c) = raw.chars().find(|c| matches!(c, '\\' | '?' | ';')) {
            return reject(&format!("'{c}' is not allowed"));
        }
        if raw.starts_with('/') || raw.starts_with('~') || has_drive_letter(raw) {
            return traversal();
        }
        let trimmed = raw.strip_suffix('/').unwrap_or(raw);
        if trimmed.is_empty() {
            return if raw.is_empty() {
                Ok(Self::root())
            } else {
                traversal()
            };
        }
        let mut segments = Vec::new();
        for segment in trimmed.split('/') {
            match segment {
                "" => return reject("it contains an empty segment ('//')"),
                "." | ".." => return traversal(),
                s if s.len() > MAX_SEGMENT_BYTES => return reject("a segment is too long"),
                s if is_reserved(s) => {
                    return reject("names starting with '.keel-' are reserved for Keel itself");
                }
                s => segments.push(s.to_owned()),
            }
        }
        Ok(Self { segments })
    }

    pub fn is_root(&self) -> bool {
        self.segments.is_empty()
    }

    pub fn segments(&self) -> &[String] {
        &self.segments
    }

    /// The containing path (the root's parent is the root).
    pub fn parent(&self) -> ArtifactPath {
        let mut segments = self.segments.clone();
        segments.pop();
        ArtifactPath { segments }
    }

    /// This path followed by `other`.
    pub fn join(&self, other: &ArtifactPath) -> ArtifactPath {
        let mut segments = self.segments.clone();
        segments.extend(other.segments.iter().cloned());
        ArtifactPath { segments }
    }

    /// The path as `a/b/c` (empty for the root).
    pub fn as_string(&self) -> String {
        self.segments.join("/")
    }
}

impl std::fmt::Display for ArtifactPath {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.as_string())
    }
}

/// `%2e` `%2f` `%5c` `%25` `%00` (any case) left in a decoded path mean it was encoded twice.
fn has_encoded_path_character(raw: &str) -> bool {
    let lower = raw.to_ascii_lowercase();
    ["%2e", "%2f", "%5c", "%25", "%00"]
        .iter()
        .any(|e| lower.contains(e))
}

/// Whether a name is one of Keel's own (compared case-insensitively, as on case-insensitive
/// file systems).
pub fn is_reserved(name: &str) -> bool {
    name.len() >= RESERVED_PREFIX.len()
        && name.as_bytes()[..RESERVED_PREFIX.len()].eq_ignore_ascii_case(RESERVED_PREFIX.as_bytes())
}

/// `C:` at the start (a Windows absolute path).
fn has_drive_letter(raw: &str) -> bool {
    let bytes = raw.as_bytes();
    bytes.len() >= 2 && bytes[0].is_ascii_alphabetic() && bytes[1] == b':'
}

/// The path for an error message: control characters escaped, length bounded.
fn shown(raw: &str) -> String {
    raw.chars()
        .take(200)
        .flat_map(char::escape_default)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ok(raw: &str) -> String {
        ArtifactPath::parse(raw)
            .map(|p| p.as_string())
            .unwrap_or_else(|e| panic!("{raw}: {e}"))
    }

    fn rejected(raw: &str) -> bool {
        ArtifactPath::parse(raw).is_err()
    }

    #[test]
    fn ordinary_paths_pass() {
        assert_eq!(ok(""), "");
        assert_eq!(ok("model"), "model");
        assert_eq!(ok("a/b/c.txt"), "a/b/c.txt");
        assert_eq!(ok("dir/"), "dir");
        assert_eq!(
            ok("données/模型 v2 (final).pkl"),
            "données/模型 v2 (final).pkl"
        );
        assert_eq!(ok("..hidden/x..y/...z"), "..hidden/x..y/...z");
        assert_eq!(ok("100%/done"), "100%/done");
    }

    #[test]
    fn traversal_segments_are_rejected() {
        for raw in [
            "..",
            "../x",
            "a/../../etc/passwd",
            "a/..",
            "./a",
            "a/./b",
            ".",
            "a/b/../c",
        ] {
            assert!(rejected(raw), "{raw}");
        }
    }

    #[test]
    fn absolute_paths_are_rejected() {
        for raw in [
            "/etc/passwd",
            "/",
            "//server/share",
            "C:/Windows",
            "c:\\x",
            "~/.ssh/id_rsa",
        ] {
            assert!(rejected(raw), "{raw}");
        }
    }

    #[test]
    fn backslashes_nul_and_controls_are_rejected() {
        for raw in [
            "a\\..\\b", "..\\x", "a\0b", "a\nb", "a\rb", "a\tb", "a\u{7f}b",
        ] {
            assert!(rejected(raw), "{raw:?}");
        }
    }

    #[test]
    fn fragments_queries_and_params_are_rejected() {
        for raw in ["a#b", "a?b=1", "a;b", "file.txt#../../x", "x?../y"] {
            assert!(rejected(raw), "{raw}");
        }
    }

    #[test]
    fn double_encoded_traversal_is_rejected() {
        // What is left after the HTTP layer decoded `%252e%252e%252f` etc. once.
        for raw in [
            "%2e%2e/x",
            "%2E%2E%2Fetc",
            "a%2fb",
            "..%5cx",
            "%252e",
            "a%00b",
            "%2e%2e",
        ] {
            assert!(rejected(raw), "{raw}");
        }
    }

    #[test]
    fn empty_segments_and_oversized_input_are_rejected() {
        assert!(rejected("a//b"));
        assert!(rejected("a///"));
        assert!(rejected(&"x".repeat(MAX_SEGMENT_BYTES + 1)));
        assert!(rejected(&"a/".repeat(MAX_PATH_BYTES)));
    }

    #[test]
    fn reserved_names_are_rejected() {
        for raw in [
            ".keel-mpu/x",
            "a/.keel-upload-1",
            ".KEEL-MPU",
            "a/.Keel-x/b",
        ] {
            assert!(rejected(raw), "{raw}");
        }
        assert_eq!(ok(".keel/x"), ".keel/x");
        assert_eq!(ok("a/.keelx"), "a/.keelx");
    }

    #[test]
    fn join_stays_relative() {
        let base = ArtifactPath::parse("1/abc/artifacts").expect("valid");
        let joined = base.join(&ArtifactPath::parse("model/MLmodel").expect("valid"));
        assert_eq!(joined.as_string(), "1/abc/artifacts/model/MLmodel");
        assert_eq!(base.join(&ArtifactPath::root()), base);
        assert_eq!(base.parent().as_string(), "1/abc");
        assert!(ArtifactPath::root().parent().is_root());
    }

    #[test]
    fn errors_never_echo_raw_control_characters() {
        let err = ArtifactPath::parse("a\nb").expect_err("rejected");
        assert!(!err.message.contains('\n'), "{}", err.message);
    }
}
