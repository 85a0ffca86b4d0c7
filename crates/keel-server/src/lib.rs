//! Keel's HTTP layer: the route table, wire types, extractors and thin handlers.
//!
//! This is the only crate that knows about HTTP. Handlers extract a wire message, call one
//! domain function and map its result; errors go through one table in [`error`].

pub mod audit;
pub mod authz;
pub mod connections;
pub mod error;
pub mod extract;
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

use axum::Router;
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::trace::TraceLayer;

pub use state::{AppState, RequestLimits, Services};

/// The full application: routes plus the middleware every request passes through.
pub fn app(state: AppState, guard: guard::BrowserGuard) -> Router {
    let mode = state.serve_mode;
    let count_requests = state.expose_metrics;
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
    // A layer on a router runs after its routing: this one wraps the routed app so that it
    // rewrites the path before the routes are matched.
    Router::new()
        .fallback_service(routed)
        .layer(axum::middleware::map_request(collapse_leading_slashes))
}

/// `//model-versions/get-artifact` is served as `/model-versions/get-artifact`, as the reference
/// server does (its WSGI layer drops repeated leading slashes); the rest of the path is kept.
async fn collapse_leading_slashes(mut req: axum::extract::Request) -> axum::extract::Request {
    let path = req.uri().path();
    if path.starts_with("//") {
        let collapsed = format!("/{}", path.trim_start_matches('/'));
        let path_and_query = match req.uri().query() {
            Some(q) => format!("{collapsed}?{q}"),
            None => collapsed,
        };
        let mut parts = req.uri().clone().into_parts();
        if let Ok(pq) = path_and_query.parse() {
            parts.path_and_query = Some(pq);
            if let Ok(uri) = axum::http::Uri::from_parts(parts) {
                *req.uri_mut() = uri;
            }
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
