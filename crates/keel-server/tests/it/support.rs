//! The test harness: an app over a fresh SQLite store in a tempdir, and request helpers.

use std::sync::Arc;

use axum::Router;
use axum::body::Body;
use axum::http::{HeaderMap, Method, Request, StatusCode};
use http_body_util::BodyExt;
use keel_core::registry::SourcePolicy;
use keel_core::webhooks::{DeliveryPolicy, SecretKey, TargetPolicy};
use keel_core::{Registry, RegistryStore, Tracking, TrackingStore, Webhooks};
use keel_server::routes::Mount;
use keel_server::ui::{UiAsset, UiAssets};
use keel_server::{AppState, Services};
use keel_store::sqlite::SqliteStore;
use serde_json::{Value, json};
use tower::ServiceExt;

/// Prefix of the MLflow 2.0 REST API.
pub const API: &str = "/api/2.0/mlflow/";

/// The object-store root model-version sources may also point into (the test apps store
/// artifacts on local disk; this only widens which source URIs are accepted).
pub const STORE_ROOT: &str = "s3://keel-test-bucket/artifacts";

/// A raw response: status, headers and body bytes.
#[derive(Debug)]
pub struct Raw {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: Vec<u8>,
}

impl Raw {
    /// The body as JSON, or a JSON string holding the text when it is not JSON.
    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body)
            .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(&self.body).into_owned()))
    }
}

/// The full Keel app over a store that lives as long as this value.
pub struct TestApp {
    app: Router,
    /// The webhook service behind the app (tests drive its delivery rounds directly).
    pub webhooks: Webhooks,
    /// Identity and access behind the app (tests create accounts and tokens through it).
    pub auth: keel_auth::service::Auth,
    /// The audit log behind the app (tests sequence it and read it directly).
    pub audit: keel_core::audit::AuditLog,
    _dir: tempfile::TempDir,
}

/// An audit log over `store`, signed by a fresh key.
pub async fn audit_log(store: Arc<dyn keel_core::audit::AuditStore>) -> keel_core::audit::AuditLog {
    use keel_audit::note::NoteSigner;
    let pem = NoteSigner::generate_pem().expect("key");
    let signer = NoteSigner::from_pem("test.keel.local/audit", &pem).expect("signer");
    keel_core::audit::AuditLog::open(store, signer, Default::default())
        .await
        .expect("audit log")
}

/// An HTTP Basic `Authorization` value.
pub fn basic(user: &str, password: &str) -> String {
    use base64::Engine as _;
    let pair = format!("{user}:{password}");
    format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(pair)
    )
}

/// `path` as given when it starts with `/`, else under `/api/2.0/mlflow/`.
fn full_path(path: &str) -> String {
    if path.starts_with('/') {
        path.to_owned()
    } else {
        format!("{API}{path}")
    }
}

impl TestApp {
    pub async fn new() -> Self {
        Self::with_webhooks(false, DeliveryPolicy::default()).await
    }

    /// An app whose webhooks may (`allow_private`) reach loopback receivers, delivering with
    /// `policy`.
    pub async fn with_webhooks(allow_private: bool, policy: DeliveryPolicy) -> Self {
        Self::build(
            allow_private,
            policy,
            fixture_ui(),
            Default::default(),
            None,
            false,
        )
        .await
    }

    /// An app serving `ui` as its web UI's files.
    pub async fn with_ui(ui: UiAssets) -> Self {
        Self::build(
            false,
            DeliveryPolicy::default(),
            ui,
            Default::default(),
            None,
            false,
        )
        .await
    }

    /// An app where every request authenticates (`auth_mode = "required"`), resources nobody
    /// granted have `default_permission`, and `policies` (Cedar) are added to the built-in
    /// ones.
    pub async fn secured(
        default_permission: keel_auth::Permission,
        policies: Option<&str>,
    ) -> Self {
        Self::build(
            false,
            DeliveryPolicy::default(),
            fixture_ui(),
            required(default_permission),
            policies,
            false,
        )
        .await
    }

    /// An app serving workspaces (`enable_workspaces`): open as [`Self::new`] when
    /// `default_permission` is `None`, else as [`Self::secured`] with it.
    pub async fn with_workspaces(default_permission: Option<keel_auth::Permission>) -> Self {
        Self::build(
            false,
            DeliveryPolicy::default(),
            fixture_ui(),
            default_permission.map(required).unwrap_or_default(),
            None,
            true,
        )
        .await
    }

    async fn build(
        allow_private: bool,
        policy: DeliveryPolicy,
        ui: UiAssets,
        auth_settings: keel_auth::service::AuthSettings,
        policies: Option<&str>,
        enable_workspaces: bool,
    ) -> Self {
        let dir = tempfile::tempdir().expect("tempdir");
        let store = SqliteStore::open(&dir.path().join("keel.db"))
            .await
            .expect("open store");
        let registry_store: Arc<dyn RegistryStore> = Arc::new(store.clone());
        let webhook_store: Arc<dyn keel_core::WebhookStore> = Arc::new(store.clone());
        let trace_store: Arc<dyn keel_core::traces::TraceStore> = Arc::new(store.clone());
        let identity: Arc<dyn keel_auth::store::IdentityStore> = Arc::new(store.clone());
        let audit_store: Arc<dyn keel_core::audit::AuditStore> = Arc::new(store.clone());
        let gateway_store: Arc<dyn keel_gateway::GatewayStore> = Arc::new(store.clone());
        let gateway = |tracking: Tracking| {
            keel_gateway::Gateway::new(
                gateway_store,
                tracking,
                Arc::new(
                    keel_core::webhooks::SecretCipher::new(&SecretKey::generate().expect("key"))
                        .expect("cipher"),
                ),
                Arc::new(keel_core::clock::SystemClock),
                keel_gateway::DestinationPolicy {
                    allow_http: allow_private,
                    allow_private,
                },
            )
            .expect("gateway")
        };
        let workspaces = keel_core::Workspaces::new(Arc::new(store.clone()), enable_workspaces);
        let store: Arc<dyn TrackingStore> = Arc::new(store);
        let tracking = Tracking::new(store);
        let targets = TargetPolicy { allow_private };
        let transport = keel_server::webhooks::HttpTransport::with_timeout(
            targets,
            std::time::Duration::from_secs(3),
        )
        .expect("transport");
        let webhooks = Webhooks::with_options(
            webhook_store,
            &SecretKey::generate().expect("key"),
            Arc::new(transport),
            targets,
            policy,
            Arc::new(keel_core::clock::SystemClock),
        )
        .expect("webhooks");
        let registry = Registry::new(
            registry_store,
            tracking.clone(),
            SourcePolicy::new().with_store_root(STORE_ROOT),
        )
        .with_webhooks(webhooks.clone());
        let traces = keel_core::traces::Traces::new(trace_store, tracking.clone());
        let gateway = gateway(tracking.clone());
        tracking
            .ensure_default_experiment()
            .await
            .expect("default experiment");
        let artifacts = keel_artifacts::LocalArtifactStore::open(&dir.path().join("artifacts"))
            .await
            .expect("artifact store");
        let auth = keel_auth::service::Auth::new(
            identity,
            keel_auth::policy::PolicyEngine::new(policies.map(|p| ("test policies", p)))
                .expect("policy engine"),
            auth_settings,
            Arc::new(keel_core::clock::SystemClock),
        )
        .expect("auth");
        let audit = audit_log(audit_store).await;
        Self {
            auth: auth.clone(),
            audit: audit.clone(),
            app: keel_server::app(
                AppState::from(Services {
                    tracking,
                    registry,
                    traces,
                    auth: auth.clone(),
                    parents: Default::default(),
                    workspaces,
                    workspace_cache: Default::default(),
                    artifacts: Arc::new(artifacts),
                    part_urls: keel_server::upload_urls::PartUrlSigner::new(
                        &SecretKey::generate().expect("key"),
                    ),
                    webhooks: webhooks.clone(),
                    gateway,
                    ui,
                    limits: Default::default(),
                    audit: Some(keel_server::audit::AuditTrail::new(audit, Vec::new())),
                    serve_mode: Default::default(),
                    // Every test app counts its requests, so every test runs through the
                    // metrics step and `/metrics` is served.
                    expose_metrics: true,
                    static_prefix: String::new(),
                }),
                Default::default(),
            ),
            webhooks,
            _dir: dir,
        }
    }

    /// The app's router, to serve over a real socket.
    pub fn router(&self) -> Router {
        self.app.clone()
    }

    /// The temporary directory of this app: the database, and the artifact root in `artifacts/`.
    pub fn data_dir(&self) -> &std::path::Path {
        self._dir.path()
    }

    /// Sends one request and collects the whole response.
    pub async fn send(&self, mut req: Request<Body>) -> Raw {
        // As every HTTP/1.1 client does (the guard refuses requests without a Host).
        if !req.headers().contains_key("host") && req.uri().authority().is_none() {
            req.headers_mut()
                .insert("host", axum::http::HeaderValue::from_static("localhost"));
        }
        self.send_as_is(req).await
    }

    /// Sends `body` (JSON, or nothing) with `method` and an `Authorization` header.
    pub async fn call_as(
        &self,
        authorization: &str,
        method: Method,
        path: &str,
        body: Option<Value>,
    ) -> Raw {
        let mut req = Request::builder()
            .method(method)
            .uri(full_path(path))
            .header("authorization", authorization);
        let body = match body {
            Some(v) => {
                req = req.header("content-type", "application/json");
                Body::from(serde_json::to_vec(&v).expect("json"))
            }
            None => Body::empty(),
        };
        self.send(req.body(body).expect("request")).await
    }

    /// Sends one request exactly as built (no Host added) and collects the whole response.
    pub async fn send_as_is(&self, req: Request<Body>) -> Raw {
        let resp = self.app.clone().oneshot(req).await.expect("infallible");
        let status = resp.status();
        let headers = resp.headers().clone();
        let body = resp
            .into_body()
            .collect()
            .await
            .expect("body")
            .to_bytes()
            .to_vec();
        Raw {
            status,
            headers,
            body,
        }
    }

    /// Sends `body` with `method` and an optional content type.
    pub async fn raw(
        &self,
        method: Method,
        path: &str,
        body: impl Into<Body>,
        content_type: Option<&str>,
    ) -> Raw {
        let mut req = Request::builder().method(method).uri(full_path(path));
        if let Some(ct) = content_type {
            req = req.header("content-type", ct);
        }
        self.send(req.body(body.into()).expect("request")).await
    }

    /// POSTs `body` as JSON.
    pub async fn post(&self, path: &str, body: Value) -> (StatusCode, Value) {
        self.post_bytes(path, serde_json::to_vec(&body).expect("json"))
            .await
    }

    /// POSTs raw bytes labelled as JSON.
    pub async fn post_bytes(&self, path: &str, body: Vec<u8>) -> (StatusCode, Value) {
        let raw = self
            .raw(Method::POST, path, body, Some("application/json"))
            .await;
        (raw.status, raw.json())
    }

    /// GETs a path that may carry a query string.
    pub async fn get(&self, path_with_query: &str) -> (StatusCode, Value) {
        let raw = self
            .raw(Method::GET, path_with_query, Body::empty(), None)
            .await;
        (raw.status, raw.json())
    }

    /// GETs `path` with `params` encoded as a query string.
    pub async fn get_q(&self, path: &str, params: &[(&str, &str)]) -> (StatusCode, Value) {
        self.get(&format!("{path}?{}", query(params))).await
    }

    /// POSTs and asserts a 200, returning the body.
    pub async fn ok_post(&self, path: &str, body: Value) -> Value {
        let (status, v) = self.post(path, body.clone()).await;
        assert_eq!(
            status,
            StatusCode::OK,
            "POST {path} {} -> {v}",
            clip(&body.to_string())
        );
        v
    }

    /// GETs with a query and asserts a 200, returning the body.
    pub async fn ok_get(&self, path: &str, params: &[(&str, &str)]) -> Value {
        let (status, v) = self.get_q(path, params).await;
        assert_eq!(status, StatusCode::OK, "GET {path} {params:?} -> {v}");
        v
    }

    pub async fn create_experiment(&self, name: &str) -> String {
        let v = self
            .ok_post("experiments/create", json!({ "name": name }))
            .await;
        v["experiment_id"]
            .as_str()
            .expect("experiment_id")
            .to_owned()
    }

    /// Creates a run in `experiment_id` and returns its ID.
    pub async fn create_run(&self, experiment_id: &str) -> String {
        self.create_run_with(json!({ "experiment_id": experiment_id, "start_time": 1000 }))
            .await
    }

    pub async fn create_run_with(&self, body: Value) -> String {
        let v = self.ok_post("runs/create", body).await;
        v["run"]["info"]["run_id"]
            .as_str()
            .expect("run_id")
            .to_owned()
    }

    /// The `run` object of `runs/get`.
    pub async fn run(&self, run_id: &str) -> Value {
        self.ok_get("runs/get", &[("run_id", run_id)]).await["run"].clone()
    }

    /// The points of `metrics/get-history` (empty when the key is absent).
    pub async fn history(&self, run_id: &str, key: &str) -> Vec<Value> {
        let v = self
            .ok_get(
                "metrics/get-history",
                &[("run_id", run_id), ("metric_key", key)],
            )
            .await;
        array(&v["metrics"])
    }

    pub async fn log_metric(&self, run_id: &str, key: &str, value: Value, ts: i64, step: i64) {
        self.ok_post(
            "runs/log-metric",
            json!({ "run_id": run_id, "key": key, "value": value, "timestamp": ts, "step": step }),
        )
        .await;
    }

    /// IDs of the runs a `runs/search` body finds (first page only).
    pub async fn search_run_ids(&self, body: Value) -> Vec<String> {
        let v = self.ok_post("runs/search", body).await;
        array(&v["runs"])
            .iter()
            .map(|r| r["info"]["run_id"].as_str().expect("run_id").to_owned())
            .collect()
    }
}

/// A built web UI as tests see it: a page with both precompressed variants, a hashed script
/// with a gzip variant only, and an unhashed icon.
/// Authentication on every request (`auth_mode = "required"`) with `default_permission`.
fn required(default_permission: keel_auth::Permission) -> keel_auth::service::AuthSettings {
    keel_auth::service::AuthSettings {
        mode: keel_auth::service::AuthMode::Required,
        default_permission,
        ..Default::default()
    }
}

pub fn fixture_ui() -> UiAssets {
    let asset = |path, bytes, content_type, etag, immutable, br, gz| UiAsset {
        path,
        bytes,
        content_type,
        etag,
        immutable,
        br,
        gz,
    };
    UiAssets::new([
        asset(
            "index.html",
            FIXTURE_INDEX,
            "text/html; charset=utf-8",
            "\"1111111111111111\"",
            false,
            Some(&b"brotli index"[..]),
            Some(&b"gzip index"[..]),
        ),
        asset(
            "assets/index-3f2a9c.js",
            b"console.log('keel');",
            "text/javascript; charset=utf-8",
            "\"2222222222222222\"",
            true,
            None,
            Some(&b"gzip script"[..]),
        ),
        asset(
            "favicon.svg",
            b"<svg xmlns='http://www.w3.org/2000/svg'/>",
            "image/svg+xml",
            "\"3333333333333333\"",
            false,
            None,
            None,
        ),
    ])
}

/// The fixture's `index.html`.
pub const FIXTURE_INDEX: &[u8] =
    b"<!doctype html><title>Keel</title><script type=module src=/static-files/assets/index-3f2a9c.js></script>";

/// The first 300 characters of `s`, for assertion messages.
pub fn clip(s: &str) -> String {
    let mut out: String = s.chars().take(300).collect();
    if out.len() < s.len() {
        out.push_str("...");
    }
    out
}

/// Encodes `params` as a query string.
pub fn query(params: &[(&str, &str)]) -> String {
    let mut q = form_urlencoded::Serializer::new(String::new());
    for (k, v) in params {
        q.append_pair(k, v);
    }
    q.finish()
}

/// The items of a JSON array, or none when the value is absent.
pub fn array(v: &Value) -> Vec<Value> {
    match v {
        Value::Null => Vec::new(),
        Value::Array(items) => items.clone(),
        other => panic!("expected an array, got {other}"),
    }
}

/// Asserts an MLflow error: the status, the code, and a body of exactly two strings.
pub fn assert_error(status: StatusCode, body: &Value, want: StatusCode, code: &str) {
    assert_eq!(status, want, "body: {body}");
    assert_error_shape(body);
    assert_eq!(body["error_code"], code, "body: {body}");
}

/// Asserts a 400 INVALID_PARAMETER_VALUE whose message contains `needle`.
pub fn assert_invalid(status: StatusCode, body: &Value, needle: &str) {
    assert_error(
        status,
        body,
        StatusCode::BAD_REQUEST,
        "INVALID_PARAMETER_VALUE",
    );
    let message = body["message"].as_str().unwrap_or_default();
    assert!(
        message.contains(needle),
        "message {message:?} does not contain {needle:?}"
    );
}

/// Asserts `{"error_code": "...", "message": "..."}` and nothing else.
pub fn assert_error_shape(body: &Value) {
    let obj = body
        .as_object()
        .unwrap_or_else(|| panic!("not an object: {body}"));
    assert!(obj["error_code"].is_string(), "{body}");
    assert!(obj["message"].is_string(), "{body}");
    assert_eq!(obj.len(), 2, "{body}");
}

/// Asserts the error shape of the route at `path`: the AI gateway's call routes answer as the
/// reference's gateway does (`{"detail": <text or object>}`), except for what the request
/// pipeline refuses before the handler (authentication, malformed URLs: MLflow's shape, as
/// every other route answers).
pub fn assert_error_shape_at(path: &str, body: &Value) {
    if path.starts_with("/gateway/") && body.get("detail").is_some() {
        let obj = body
            .as_object()
            .unwrap_or_else(|| panic!("not an object: {body}"));
        assert_eq!(obj.len(), 1, "{path}: {body}");
        assert!(
            obj["detail"].is_string() || obj["detail"].is_object(),
            "{path}: {body}"
        );
    } else {
        assert_error_shape(body);
    }
}

/// Asserts a client error (4xx) with the error body of the route at `path`.
pub fn assert_4xx_at(path: &str, status: StatusCode, body: &Value, context: &str) {
    assert!(
        status.is_client_error(),
        "{context}: expected 4xx, got {status} {body}"
    );
    assert_error_shape_at(path, body);
}

/// Asserts a client error (4xx) with an MLflow error body.
pub fn assert_4xx(status: StatusCode, body: &Value, context: &str) {
    assert!(
        status.is_client_error(),
        "{context}: expected 4xx, got {status} {body}"
    );
    assert_error_shape(body);
}

/// The concrete paths a route of `mount` is served at.
pub fn mount_paths(mount: Mount, path: &str) -> Vec<String> {
    mount.paths(path)
}

/// The keys of a JSON object, sorted.
pub fn keys(v: &Value) -> Vec<String> {
    let mut k: Vec<String> = v
        .as_object()
        .map(|o| o.keys().cloned().collect())
        .unwrap_or_default();
    k.sort();
    k
}

/// The value of the tag `key` in a list of `{key, value}` objects.
pub fn tag<'a>(tags: &'a Value, key: &str) -> Option<&'a str> {
    tags.as_array()?
        .iter()
        .find(|t| t["key"] == key)
        .and_then(|t| t["value"].as_str())
}
