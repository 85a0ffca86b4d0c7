//! Keel's HTTP layer: the route table, wire types, extractors and thin handlers.
//!
//! This is the only crate that knows about HTTP. Handlers extract a wire message, call one
//! domain function and map its result; errors go through one table in [`error`].

pub mod error;
pub mod extract;
pub mod guard;
pub mod handlers;
pub mod routes;
pub mod state;
pub mod ui;
pub mod webhooks;
pub mod wire;

use std::future::Future;
use std::time::Duration;

use axum::Router;
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::trace::TraceLayer;

pub use state::AppState;

/// The full application: routes plus the middleware every request passes through.
pub fn app(state: AppState, guard: guard::BrowserGuard) -> Router {
    routes::router(state)
        .layer(axum::middleware::from_fn_with_state(
            std::sync::Arc::new(guard),
            guard::enforce,
        ))
        .layer(CatchPanicLayer::custom(panic_response))
        .layer(TraceLayer::new_for_http())
}

fn panic_response(_: Box<dyn std::any::Any + Send + 'static>) -> axum::response::Response {
    use axum::response::IntoResponse;
    error::ApiError(keel_core::Error::internal(
        "The server hit an unexpected condition.",
    ))
    .into_response()
}

/// Serves `app` on `listener` until `shutdown` resolves, then lets in-flight requests finish
/// (up to `grace`) before returning.
pub async fn serve(
    listener: tokio::net::TcpListener,
    app: Router,
    shutdown: impl Future<Output = ()> + Send + 'static,
    grace: Duration,
) -> std::io::Result<()> {
    let (tx, mut rx) = tokio::sync::watch::channel(false);
    let server = axum::serve(listener, app).with_graceful_shutdown(async move {
        shutdown.await;
        let _ = tx.send(true);
    });
    let mut server = std::pin::pin!(server.into_future());
    tokio::select! {
        res = &mut server => return res,
        _ = rx.changed() => {}
    }
    tracing::info!(
        grace_secs = grace.as_secs(),
        "shutting down; finishing in-flight requests"
    );
    match tokio::time::timeout(grace, server).await {
        Ok(res) => res,
        Err(_) => {
            tracing::warn!("in-flight requests did not finish within the grace period");
            Ok(())
        }
    }
}
