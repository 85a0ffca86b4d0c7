//! Every route of the route table, through the whole app over a real SQLite store: whatever
//! path parameters, query string and body a client sends, the answer is never a 5xx.
//!
//! An input is text: line 1 names the route (`POST runs/create`, as in the table; anything else
//! picks a route by hash), line 2 holds path parameters separated by tabs, line 3 the query
//! string, and the rest is the JSON body. `$RUN`, `$EXP` and `$MODEL` anywhere stand for a real
//! run, experiment and registered model, so mutations reach past "not found".
#![no_main]

use std::sync::{Arc, OnceLock};

use keel_core::webhooks::{OutboundRequest, SecretKey, SendOutcome, TargetPolicy, Transport};
use keel_core::{Registry, Tracking, Webhooks};
use keel_server::routes::{Route, table};
use keel_server::ui::UiAssets;
use keel_server::{AppState, RequestLimits, Services};
use libfuzzer_sys::fuzz_target;
use tower::ServiceExt;

/// Webhook targets are accepted but never contacted: fuzzing sends nothing off the machine.
struct Offline;

#[async_trait::async_trait]
impl Transport for Offline {
    async fn check_target(&self, _url: &str) -> keel_core::Result<()> {
        Ok(())
    }
    async fn post(&self, _request: OutboundRequest) -> SendOutcome {
        SendOutcome::Failed {
            error: "offline".into(),
            retryable: false,
        }
    }
}

struct World {
    runtime: tokio::runtime::Runtime,
    app: axum::Router,
    routes: Vec<Route>,
    run_id: String,
    experiment_id: String,
    _dir: tempfile::TempDir,
}

fn world() -> &'static World {
    static WORLD: OnceLock<World> = OnceLock::new();
    WORLD.get_or_init(|| {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("runtime");
        let dir = tempfile::tempdir().expect("tempdir");
        let (app, run_id, experiment_id) = runtime.block_on(async {
            let store = keel_store::sqlite::SqliteStore::open(&dir.path().join("keel.db"))
                .await
                .expect("store");
            let stores = keel_store::Stores::of(store);
            let tracking = Tracking::new(stores.tracking);
            tracking
                .ensure_default_experiment()
                .await
                .expect("default experiment");
            let webhooks = Webhooks::new(
                stores.webhooks,
                &SecretKey::generate().expect("key"),
                Arc::new(Offline),
                TargetPolicy::default(),
            )
            .expect("webhooks");
            let registry = Registry::new(
                stores.registry,
                tracking.clone(),
                keel_core::registry::SourcePolicy::new(),
            )
            .with_webhooks(webhooks.clone());
            let traces = keel_core::traces::Traces::new(stores.traces, tracking.clone());
            // The audit log is on, so that every route's recording is fuzzed too.
            let pem = keel_audit::note::NoteSigner::generate_pem().expect("key");
            let signer = keel_audit::note::NoteSigner::from_pem("fuzz.keel.local/audit", &pem)
                .expect("signer");
            let audit = keel_server::audit::AuditTrail::new(
                keel_core::audit::AuditLog::open(stores.audit, signer, Default::default())
                    .await
                    .expect("audit log"),
                Vec::new(),
            );
            // No account exists and the server is on loopback: requests act as the local
            // administrator, so every route is reached (authorization has its own tests).
            let auth = keel_auth::service::Auth::new(
                stores.identity,
                keel_auth::policy::PolicyEngine::new(None).expect("policy engine"),
                keel_auth::service::AuthSettings::default(),
                Arc::new(keel_core::clock::SystemClock),
            )
            .expect("auth");
            let artifacts = keel_artifacts::LocalArtifactStore::open(&dir.path().join("artifacts"))
                .await
                .expect("artifacts");
            // Private and plain-HTTP upstreams refused: nothing fuzzed resolves names.
            let gateway = keel_gateway::Gateway::new(
                stores.gateway,
                tracking.clone(),
                Arc::new(
                    keel_core::webhooks::SecretCipher::new(&SecretKey::generate().expect("key"))
                        .expect("cipher"),
                ),
                Arc::new(keel_core::clock::SystemClock),
                Default::default(),
            )
            .expect("gateway");
            let state = AppState::from(Services {
                tracking,
                registry,
                traces,
                // On, so that the workspace routes and the header are fuzzed too.
                workspaces: keel_core::Workspaces::new(stores.workspaces, true),
                auth,
                parents: Default::default(),
                workspace_cache: Default::default(),
                artifacts: Arc::new(artifacts),
                part_urls: keel_server::upload_urls::PartUrlSigner::new(
                    &SecretKey::generate().expect("key"),
                ),
                webhooks,
                gateway,
                ui: UiAssets::new([]),
                limits: RequestLimits::default(),
                audit: Some(audit),
                serve_mode: Default::default(),
                expose_metrics: true,
                static_prefix: String::new(),
            });
            let app = keel_server::app(state, Default::default());
            let seed = |method: &str, path: &str, body: &str| {
                let app = app.clone();
                let req = axum::http::Request::builder()
                    .method(method)
                    .uri(path)
                    .header("host", "localhost")
                    .header("content-type", "application/json")
                    .body(axum::body::Body::from(body.to_owned()))
                    .expect("request");
                async move {
                    let resp = app.oneshot(req).await.expect("infallible");
                    let bytes = axum::body::to_bytes(resp.into_body(), usize::MAX)
                        .await
                        .expect("body");
                    String::from_utf8_lossy(&bytes).into_owned()
                }
            };
            let exp = seed(
                "POST",
                "/api/2.0/mlflow/experiments/create",
                r#"{"name":"fuzz"}"#,
            )
            .await;
            let experiment_id = field(&exp, "experiment_id");
            let run = seed(
                "POST",
                "/api/2.0/mlflow/runs/create",
                &format!(r#"{{"experiment_id":"{experiment_id}"}}"#),
            )
            .await;
            let run_id = field(&run, "run_id");
            seed(
                "POST",
                "/api/2.0/mlflow/registered-models/create",
                r#"{"name":"fuzz-model"}"#,
            )
            .await;
            (app, run_id, experiment_id)
        });
        World {
            runtime,
            app,
            routes: table(),
            run_id,
            experiment_id,
            _dir: dir,
        }
    })
}

/// The first `"name":"value"` in a JSON text (enough for the seed responses).
fn field(json: &str, name: &str) -> String {
    let key = format!("\"{name}\":\"");
    let start = json.find(&key).map(|i| i + key.len()).expect("field");
    json[start..].split('"').next().expect("value").to_owned()
}

fn expand(text: &str, w: &World) -> String {
    text.replace("$RUN", &w.run_id)
        .replace("$EXP", &w.experiment_id)
        .replace("$MODEL", "fuzz-model")
}

fn percent_encode(segment: &str) -> String {
    form_urlencoded::byte_serialize(segment.as_bytes())
        .collect::<String>()
        .replace('+', "%20")
}

/// The route's path with its `{param}` and `{*rest}` placeholders filled in order.
fn fill(template: &str, params: &[&str], w: &World) -> String {
    let mut out = String::new();
    let mut rest = template;
    let mut values = params.iter();
    while let Some(open) = rest.find('{') {
        out.push_str(&rest[..open]);
        let close = rest[open..].find('}').map_or(rest.len(), |c| open + c + 1);
        let wildcard = rest[open..].starts_with("{*");
        let value = expand(values.next().copied().unwrap_or("x"), w);
        if wildcard {
            // A wildcard takes a path: keep its slashes, encode the rest.
            out.push_str(
                &value
                    .split('/')
                    .map(percent_encode)
                    .collect::<Vec<_>>()
                    .join("/"),
            );
        } else {
            out.push_str(&percent_encode(&value));
        }
        rest = &rest[close..];
    }
    out.push_str(rest);
    out
}

fuzz_target!(|data: &[u8]| {
    let w = world();
    let text = String::from_utf8_lossy(data);
    let mut lines = text.splitn(4, '\n');
    let name = lines.next().unwrap_or("");
    let params: Vec<&str> = lines.next().unwrap_or("").split('\t').collect();
    let query = expand(lines.next().unwrap_or(""), w);
    let body = expand(lines.next().unwrap_or(""), w);
    let route = w
        .routes
        .iter()
        .find(|r| format!("{} {}", r.method, r.path) == name)
        .unwrap_or_else(|| {
            let hash = name.bytes().fold(0usize, |h, b| {
                h.wrapping_mul(31).wrapping_add(usize::from(b))
            });
            &w.routes[hash % w.routes.len()]
        });
    let Some(base) = route.mount.paths(route.path).into_iter().next() else {
        return;
    };
    let mut uri = fill(&base, &params, w);
    if !query.is_empty() {
        uri.push('?');
        uri.push_str(&query);
    }
    let Ok(req) = axum::http::Request::builder()
        .method(route.method.clone())
        .uri(&uri)
        .header("host", "localhost")
        .header("content-type", "application/json")
        .body(axum::body::Body::from(body))
    else {
        return;
    };
    let (status, answer) = w.runtime.block_on(async {
        let resp = w.app.clone().oneshot(req).await.expect("infallible");
        let status = resp.status();
        let bytes = axum::body::to_bytes(resp.into_body(), 1 << 24)
            .await
            .unwrap_or_default();
        (status, String::from_utf8_lossy(&bytes).into_owned())
    });
    // 503 and 501 are answers by design (a busy store; signed URLs from a local store).
    assert!(
        !status.is_server_error()
            || status == axum::http::StatusCode::SERVICE_UNAVAILABLE
            || status == axum::http::StatusCode::NOT_IMPLEMENTED,
        "{} {uri} -> {status} {answer}",
        route.method
    );
});
