//! What a server serves, as `mlflow server --no-serve-artifacts` and `--artifacts-only` choose:
//! a route turned off answers 503 with the reference's plain-text explanation.

use axum::extract::{Request, State};
use axum::http::{StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

/// Which halves of the API are on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ServeMode {
    /// The artifact proxy (`mlflow-artifacts` routes).
    pub serve_artifacts: bool,
    /// Nothing but the artifact proxy: tracking, registry and traces are off.
    pub artifacts_only: bool,
}

impl Default for ServeMode {
    fn default() -> Self {
        Self {
            serve_artifacts: true,
            artifacts_only: false,
        }
    }
}

/// The artifact proxy's routes, under both API prefixes.
const PROXY_PREFIXES: [&str; 2] = [
    "/api/2.0/mlflow-artifacts/",
    "/ajax-api/2.0/mlflow-artifacts/",
];

/// The routes of the tracking service (what `--artifacts-only` turns off). Keel's own routes
/// (sign-in, accounts, audit) stay on: the artifact proxy needs them to authenticate callers.
const TRACKING_PREFIXES: [&str; 6] = [
    "/api/2.0/mlflow/",
    "/api/3.0/mlflow/",
    "/ajax-api/2.0/mlflow/",
    "/ajax-api/3.0/mlflow/",
    "/v1/traces",
    "/graphql",
];
const TRACKING_PATHS: [&str; 2] = ["/get-artifact", "/model-versions/get-artifact"];

impl ServeMode {
    /// The reference's message for a request to a route this mode turns off.
    pub fn refusal(&self, path: &str) -> Option<String> {
        let proxied = PROXY_PREFIXES.iter().any(|p| path.starts_with(p));
        if proxied && !self.serve_artifacts {
            return Some(format!(
                "Endpoint: {path} disabled due to the mlflow server running with \
                 `--no-serve-artifacts`. To enable artifacts server functionality, run \
                 `mlflow server` with `--serve-artifacts`"
            ));
        }
        let tracking =
            TRACKING_PREFIXES.iter().any(|p| path.starts_with(p)) || TRACKING_PATHS.contains(&path);
        if tracking && self.artifacts_only {
            return Some(format!(
                "Endpoint: {path} disabled due to the mlflow server running in \
                 `--artifacts-only` mode. To enable tracking server functionality, run \
                 `mlflow server` without `--artifacts-only`"
            ));
        }
        None
    }
}

/// Answers 503 for a route the server's mode turns off.
pub async fn enforce(State(mode): State<ServeMode>, req: Request, next: Next) -> Response {
    match mode.refusal(req.uri().path()) {
        Some(message) => (
            StatusCode::SERVICE_UNAVAILABLE,
            [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
            message,
        )
            .into_response(),
        None => next.run(req).await,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_mode_turns_off_its_routes_only() {
        let all = ServeMode::default();
        assert_eq!(all.refusal("/api/2.0/mlflow/runs/create"), None);
        assert_eq!(all.refusal("/api/2.0/mlflow-artifacts/artifacts/a"), None);

        let no_proxy = ServeMode {
            serve_artifacts: false,
            artifacts_only: false,
        };
        let refused = no_proxy
            .refusal("/ajax-api/2.0/mlflow-artifacts/artifacts/a")
            .expect("refused");
        assert!(refused.contains("`--no-serve-artifacts`"), "{refused}");
        assert_eq!(no_proxy.refusal("/api/2.0/mlflow/runs/create"), None);

        let proxy_only = ServeMode {
            serve_artifacts: true,
            artifacts_only: true,
        };
        for path in [
            "/api/2.0/mlflow/runs/create",
            "/ajax-api/3.0/mlflow/traces/search",
            "/get-artifact",
            "/model-versions/get-artifact",
            "/v1/traces",
            "/graphql",
        ] {
            let refused = proxy_only.refusal(path).expect(path);
            assert!(
                refused.starts_with(&format!("Endpoint: {path} disabled")),
                "{refused}"
            );
            assert!(refused.contains("`--artifacts-only`"), "{refused}");
        }
        for path in [
            "/api/2.0/mlflow-artifacts/artifacts/a",
            "/health",
            "/version",
            "/",
        ] {
            assert_eq!(proxy_only.refusal(path), None, "{path}");
        }
    }
}
