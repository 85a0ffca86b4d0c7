//! Joining artifact URIs the way the reference's `append_to_uri_path` does, so a location like
//! `mlflow-artifacts:/` or `s3://bucket/` gains path segments without doubled or lost slashes;
//! and making a relative local artifact location absolute, as its `resolve_uri_if_local` does.

use std::path::{Component, Path, PathBuf};

use crate::{Error, Result};

/// A relative local path made absolute against the process's working directory (with `.`
/// segments dropped, as Python's `pathlib` joins); an absolute path or a URI with a scheme
/// (`s3://...`, `file:///...`, `mlflow-artifacts:/...`) is returned as it is.
pub fn resolve_if_local(location: &str) -> Result<String> {
    let path = Path::new(location);
    if location.contains(':') || path.is_absolute() {
        return Ok(location.to_owned());
    }
    let cwd = std::env::current_dir()
        .map_err(|e| Error::internal(format!("cannot read the working directory: {e}")))?;
    let joined: PathBuf = cwd
        .join(path)
        .components()
        .filter(|c| !matches!(c, Component::CurDir))
        .collect();
    Ok(joined.display().to_string())
}

/// `base` followed by `/tail`: trailing slashes of `base` are dropped first, unless they are all
/// the path it has (`mlflow-artifacts:/`, `file:///`), which is then kept as the root.
pub fn append_to_uri(base: &str, tail: &str) -> String {
    let tail = tail.trim_start_matches('/');
    let path = base.split_once(':').map_or(base, |(_, rest)| rest);
    if !path.is_empty() && path.chars().all(|c| c == '/') {
        return format!("{base}{tail}");
    }
    format!("{}/{tail}", base.trim_end_matches('/'))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn relative_local_locations_become_absolute_and_the_rest_stay() {
        let cwd = std::env::current_dir().expect("cwd");
        assert_eq!(
            resolve_if_local("relative/dir").expect("resolved"),
            cwd.join("relative/dir").display().to_string()
        );
        assert_eq!(
            resolve_if_local("./x/./y").expect("resolved"),
            cwd.join("x/y").display().to_string()
        );
        for kept in [
            "/abs/dir",
            "s3://b/p",
            "file:///tmp/x",
            "mlflow-artifacts:/3",
        ] {
            assert_eq!(resolve_if_local(kept).expect("kept"), kept);
        }
    }

    #[test]
    fn joins_like_the_reference() {
        let cases = [
            (
                "mlflow-artifacts:/5",
                "r/artifacts",
                "mlflow-artifacts:/5/r/artifacts",
            ),
            (
                "mlflow-artifacts:/",
                "r/artifacts",
                "mlflow-artifacts:/r/artifacts",
            ),
            ("mlflow-artifacts:/x/", "r", "mlflow-artifacts:/x/r"),
            ("s3://bucket", "r", "s3://bucket/r"),
            ("s3://bucket/", "r", "s3://bucket/r"),
            ("s3://bucket/pre//", "r", "s3://bucket/pre/r"),
            ("file:///", "r", "file:///r"),
            ("/local/dir/", "/r", "/local/dir/r"),
        ];
        for (base, tail, want) in cases {
            assert_eq!(append_to_uri(base, tail), want, "{base} + {tail}");
        }
    }
}
