//! Keel's HTTP layer: the route table, wire types, extractors and thin handlers.
//!
//! This is the only crate that knows about HTTP. Handlers extract a wire message, call one
//! domain function and map its result; errors go through one table in [`error`].

pub mod audit;
pub mod authz;
pub mod connections;
pub mod error;
pub mod extract;
pub mod graphql;
pub mod guard;
pub mod handlers;
pub mod metrics;
pub mod openapi;
pub mod routes;
pub mod serve_mode;
pub mod state;
pub mod tls;
pub mod ui;
pub mod upload_urls;
pub mod webhooks;
pub mod wire;
pub mod workspace;

use std::sync::Arc;

use axum::Router;
use axum::extract::State;
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::trace::TraceLayer;

pub use state::{AppState, RequestLimits, Services};

/// The full application: routes plus the middleware every request passes through.
pub fn app(state: AppState, guard: guard::BrowserGuard) -> Router {
    let mode = state.serve_mode;
    let count_requests = state.expose_metrics;
    let static_prefix: Arc<str> = state.static_prefix.as_str().into();
    let mut routed = routes::router(state);
    // Serving everything (the usual case) needs no check per request.
    if mode != serve_mode::ServeMode::default() {
        routed = routed.layer(axum::middleware::from_fn_with_state(
            mode,
            serve_mode::enforce,
        ));
    }
    routed = routed.layer(axum::middleware::from_fn_with_state(
        std::sync::Arc::new(guard),
        guard::enforce,
    ));
    if count_requests {
        keel_metrics::global().set_build(
            env!("CARGO_PKG_VERSION"),
            handlers::meta::MLFLOW_COMPAT_VERSION,
        );
        routed = routed.layer(axum::middleware::from_fn(metrics::record));
    }
    let routed = routed
        .layer(CatchPanicLayer::custom(panic_response))
        .layer(TraceLayer::new_for_http());
    // A layer on a router runs after its routing: these wrap the routed app so that they
    // rewrite the path before the routes are matched (the last one added runs first).
    let mut app = Router::new().fallback_service(routed);
    if !static_prefix.is_empty() {
        app = app.layer(axum::middleware::from_fn_with_state(
            static_prefix,
            strip_static_prefix,
        ));
    }
    app.layer(axum::middleware::map_request(collapse_leading_slashes))
}

/// Serves every route under `--static-prefix` (as the reference does): `/mlflow/api/...` is
/// routed as `/api/...` and `/mlflow/` as `/`; `/mlflow` is redirected (308) to `/mlflow/`, where
/// the UI is; a path outside the prefix is not found.
async fn strip_static_prefix(
    State(prefix): State<Arc<str>>,
    mut req: axum::extract::Request,
    next: axum::middleware::Next,
) -> axum::response::Response {
    use axum::response::IntoResponse;
    let path = req.uri().path();
    let inner = match path.strip_prefix(&*prefix) {
        Some("") => {
            let location = match req.uri().query() {
                Some(q) => format!("{prefix}/?{q}"),
                None => format!("{prefix}/"),
            };
            return (
                axum::http::StatusCode::PERMANENT_REDIRECT,
                [(axum::http::header::LOCATION, location)],
            )
                .into_response();
        }
        Some(rest) if rest.starts_with('/') => rest,
        _ => {
            return error::ApiError(keel_core::Error::new(
                keel_core::ErrorCode::EndpointNotFound,
                format!(
                    "No API endpoint at path '{path}': this server is served under '{prefix}'."
                ),
            ))
            .into_response();
        }
    };
    if let Some(uri) = with_path(req.uri(), inner) {
        *req.uri_mut() = uri;
    }
    next.run(req).await
}

/// `uri` with its path replaced by `path` (the query kept).
fn with_path(uri: &axum::http::Uri, path: &str) -> Option<axum::http::Uri> {
    let path_and_query = match uri.query() {
        Some(q) => format!("{path}?{q}"),
        None => path.to_owned(),
    };
    let mut parts = uri.clone().into_parts();
    parts.path_and_query = Some(path_and_query.parse().ok()?);
    axum::http::Uri::from_parts(parts).ok()
}

/// `//model-versions/get-artifact` is served as `/model-versions/get-artifact`, as the reference
/// server does (its WSGI layer drops repeated leading slashes); the rest of the path is kept.
async fn collapse_leading_slashes(mut req: axum::extract::Request) -> axum::extract::Request {
    let path = req.uri().path();
    if path.starts_with("//") {
        let collapsed = format!("/{}", path.trim_start_matches('/'));
        if let Some(uri) = with_path(req.uri(), &collapsed) {
            *req.uri_mut() = uri;
        }
    }
    req
}

fn panic_response(_: Box<dyn std::any::Any + Send + 'static>) -> axum::response::Response {
    use axum::response::IntoResponse;
    error::ApiError(keel_core::Error::internal(
        "The server hit an unexpected condition.",
    ))
    .into_response()
}

pub use connections::{ConnectionLimits, serve};
