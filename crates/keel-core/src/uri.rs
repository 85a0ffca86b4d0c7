//! Joining artifact URIs the way the reference's `append_to_uri_path` does, so a location like
//! `mlflow-artifacts:/` or `s3://bucket/` gains path segments without doubled or lost slashes.

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
