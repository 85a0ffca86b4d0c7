//! Webhooks end to end in-process: the MLflow API and its errors, signed deliveries to a local
//! receiver (headers, signature, retries after 5xx, redirects never followed), the outbound
//! target rule, the delivery log, the worker, and a queue that survives reopening the store.

use std::collections::VecDeque;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::http::{HeaderMap, Method, StatusCode};
use base64::Engine;
use hmac::{Hmac, Mac};
use keel_core::webhooks::{DeliveryPolicy, OutboundRequest, SendOutcome, TargetPolicy, Transport};
use serde_json::{Value, json};

use crate::support::TestApp;

/// One request the receiver got.
#[derive(Debug, Clone)]
struct Hit {
    path: String,
    headers: HeaderMap,
    body: String,
}

/// A canned answer: status, extra headers, body.
type Answer = (u16, Vec<(&'static str, String)>, &'static str);

/// A local HTTP receiver that records requests and answers from a script (then 200 "ok").
struct Receiver {
    addr: SocketAddr,
    hits: Arc<Mutex<Vec<Hit>>>,
    script: Arc<Mutex<VecDeque<Answer>>>,
    task: tokio::task::JoinHandle<()>,
}

impl Receiver {
    async fn start(script: Vec<Answer>) -> Self {
        let hits: Arc<Mutex<Vec<Hit>>> = Arc::default();
        let script = Arc::new(Mutex::new(VecDeque::from(script)));
        let (h, s) = (hits.clone(), script.clone());
        let app = axum::Router::new().fallback(
            move |uri: axum::http::Uri, headers: HeaderMap, body: String| {
                let (h, s) = (h.clone(), s.clone());
                async move {
                    h.lock().expect("lock").push(Hit {
                        path: uri.path().to_owned(),
                        headers,
                        body,
                    });
                    let (status, extra, body) =
                        s.lock()
                            .expect("lock")
                            .pop_front()
                            .unwrap_or((200, Vec::new(), "ok"));
                    let mut resp = axum::response::Response::new(axum::body::Body::from(body));
                    *resp.status_mut() = StatusCode::from_u16(status).expect("status");
                    for (k, v) in extra {
                        resp.headers_mut()
                            .insert(k, v.parse().expect("header value"));
                    }
                    resp
                }
            },
        );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let addr = listener.local_addr().expect("addr");
        let task = tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        Self {
            addr,
            hits,
            script,
            task,
        }
    }

    fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    fn hits(&self) -> Vec<Hit> {
        self.hits.lock().expect("lock").clone()
    }

    async fn wait_for(&self, n: usize) -> Vec<Hit> {
        for _ in 0..200 {
            if self.hits().len() >= n {
                return self.hits();
            }
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
        panic!("receiver got {} requests, wanted {n}", self.hits().len());
    }
}

impl Drop for Receiver {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// Fast retries for tests.
fn quick() -> DeliveryPolicy {
    DeliveryPolicy {
        max_attempts: 3,
        base_backoff: Duration::from_millis(200),
        max_backoff: Duration::from_millis(400),
        jitter: Duration::ZERO,
        poll_interval: Duration::from_millis(50),
        ..DeliveryPolicy::default()
    }
}

async fn create_hook(app: &TestApp, url: &str, events: Value, secret: Option<&str>) -> String {
    let mut body = json!({"name": "hook", "url": url, "events": events});
    if let Some(s) = secret {
        body["secret"] = json!(s);
    }
    let v = app.ok_post("webhooks", body).await;
    v["webhook"]["webhook_id"]
        .as_str()
        .expect("webhook_id")
        .to_owned()
}

fn ev(entity: &str, action: &str) -> Value {
    json!({"entity": entity, "action": action})
}

async fn deliveries(app: &TestApp, id: &str) -> Vec<Value> {
    app.ok_get(&format!("webhooks/{id}/deliveries"), &[]).await["deliveries"]
        .as_array()
        .cloned()
        .unwrap_or_default()
}

async fn request(
    app: &TestApp,
    method: Method,
    path: &str,
    body: Option<Value>,
) -> (StatusCode, Value) {
    let raw = match body {
        Some(b) => {
            app.raw(
                method,
                path,
                serde_json::to_vec(&b).expect("json"),
                Some("application/json"),
            )
            .await
        }
        None => app.raw(method, path, Vec::new(), None).await,
    };
    (raw.status, raw.json())
}

fn hmac_b64(secret: &str, content: &str) -> String {
    let mut mac = Hmac::<sha2::Sha256>::new_from_slice(secret.as_bytes()).expect("key");
    mac.update(content.as_bytes());
    base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes())
}

#[tokio::test]
async fn crud_follows_the_reference_and_never_returns_the_secret() {
    let app = TestApp::with_webhooks(true, quick()).await;
    let secret = "never-show-me-3f9a";
    let created = app
        .ok_post(
            "webhooks",
            json!({"name": "my-hook", "url": "https://example.com/h", "description": "d",
                   "events": [ev("REGISTERED_MODEL", "CREATED"), ev("MODEL_VERSION_TAG", "SET")],
                   "secret": secret}),
        )
        .await;
    let hook = &created["webhook"];
    let id = hook["webhook_id"].as_str().expect("id").to_owned();
    assert_eq!(id.len(), 36, "a UUID: {id}");
    assert_eq!(hook["name"], "my-hook");
    assert_eq!(hook["description"], "d");
    assert_eq!(hook["status"], "ACTIVE");
    assert_eq!(hook["url"], "https://example.com/h");
    assert_eq!(hook["events"].as_array().map(Vec::len), Some(2));
    assert!(hook["creation_timestamp"].as_i64().is_some());
    assert!(hook.get("secret").is_none());

    let got = app.ok_get(&format!("webhooks/{id}"), &[]).await;
    assert_eq!(got["webhook"], *hook);
    let ajax = app
        .get(&format!("/ajax-api/2.0/mlflow/webhooks/{id}"))
        .await;
    assert_eq!(ajax.0, StatusCode::OK);

    let (status, updated) = request(
        &app,
        Method::PATCH,
        &format!("webhooks/{id}"),
        Some(
            json!({"name": "renamed", "status": "DISABLED", "description": "",
                    "events": [ev("PROMPT", "CREATED")]}),
        ),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{updated}");
    let u = &updated["webhook"];
    assert_eq!(u["name"], "renamed");
    assert_eq!(u["status"], "DISABLED");
    assert!(u.get("description").is_none());
    assert_eq!(
        u["events"],
        json!([{"entity": "PROMPT", "action": "CREATED"}])
    );
    assert_eq!(u["url"], "https://example.com/h");

    for i in 0..3 {
        // Distinct creation times, so "newest first" is well defined.
        tokio::time::sleep(Duration::from_millis(3)).await;
        app.ok_post(
            "webhooks",
            json!({"name": format!("h{i}"), "url": "https://example.com/x",
                   "events": [ev("PROMPT_ALIAS", "DELETED")]}),
        )
        .await;
    }
    let page = app.ok_get("webhooks", &[("max_results", "3")]).await;
    assert_eq!(page["webhooks"].as_array().map(Vec::len), Some(3));
    assert_eq!(page["webhooks"][0]["name"], "h2", "newest first");
    let token = page["next_page_token"].as_str().expect("more").to_owned();
    let rest = app
        .ok_get("webhooks", &[("max_results", "3"), ("page_token", &token)])
        .await;
    assert_eq!(rest["webhooks"].as_array().map(Vec::len), Some(1));
    assert!(rest.get("next_page_token").is_none());

    let (status, _) = request(&app, Method::DELETE, &format!("webhooks/{id}"), None).await;
    assert_eq!(status, StatusCode::OK);
    let (status, body) = app.get(&format!("webhooks/{id}")).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(body["error_code"], "RESOURCE_DOES_NOT_EXIST");
    assert_eq!(body["message"], format!("Webhook with ID {id} not found."));
    let all = app.ok_get("webhooks", &[("max_results", "100")]).await;
    assert!(
        !all.to_string().contains(&id),
        "deleted webhooks are not listed"
    );

    for body in [
        created.to_string(),
        got.to_string(),
        updated.to_string(),
        page.to_string(),
    ] {
        assert!(!body.contains(secret), "secret leaked: {body}");
    }
}

#[tokio::test]
async fn bad_input_gets_mlflow_errors() {
    let app = TestApp::with_webhooks(true, quick()).await;
    let good = || json!({"name": "h", "url": "https://example.com/", "events": [ev("REGISTERED_MODEL", "CREATED")]});
    let cases: Vec<(Value, &str)> = vec![
        (
            json!({"url": "https://e.com", "events": [ev("REGISTERED_MODEL", "CREATED")]}),
            "Missing value for required parameter 'name'",
        ),
        (
            json!({"name": "h", "events": [ev("REGISTERED_MODEL", "CREATED")]}),
            "Missing value for required parameter 'url'",
        ),
        (
            json!({"name": "h", "url": "https://e.com"}),
            "Missing value for required parameter 'events'",
        ),
        (
            json!({"name": "h", "url": "https://e.com", "events": []}),
            "non-empty list",
        ),
        (
            {
                let mut b = good();
                b["name"] = json!("-bad");
                b
            },
            "Webhook name '-bad' is invalid",
        ),
        (
            {
                let mut b = good();
                b["url"] = json!("ftp://e.com/");
                b
            },
            "Invalid webhook URL scheme: 'ftp'",
        ),
        (
            {
                let mut b = good();
                b["url"] = json!("file:///etc/passwd");
                b
            },
            "Invalid webhook URL scheme",
        ),
        (
            {
                let mut b = good();
                b["url"] = json!("   ");
                b
            },
            "cannot be empty",
        ),
        (
            {
                let mut b = good();
                b["events"] = json!([ev("REGISTERED_MODEL", "DELETED")]);
                b
            },
            "Invalid action 'deleted' for entity 'registered_model'. Valid actions are: ['created']",
        ),
        (
            {
                let mut b = good();
                b["events"] = json!([ev("NOPE", "CREATED")]);
                b
            },
            "events[0].entity",
        ),
        (
            {
                let mut b = good();
                b["events"] = json!([{"entity": "PROMPT"}]);
                b
            },
            "events[0].action",
        ),
        (
            {
                let mut b = good();
                b["status"] = json!("SLEEPING");
                b
            },
            "status",
        ),
        (
            {
                let mut b = good();
                b["events"] = json!("REGISTERED_MODEL");
                b
            },
            "events",
        ),
    ];
    for (body, expected) in cases {
        let (status, v) = app.post("webhooks", body.clone()).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{body} -> {v}");
        assert_eq!(v["error_code"], "INVALID_PARAMETER_VALUE", "{body} -> {v}");
        let message = v["message"].as_str().unwrap_or("");
        assert!(message.contains(expected), "{body}: {message}");
    }
    let (status, v) = app.get_q("webhooks", &[("max_results", "1001")]).await;
    assert_eq!(
        (status, v["error_code"].as_str()),
        (StatusCode::BAD_REQUEST, Some("INVALID_PARAMETER_VALUE"))
    );
    let (status, _) = app.get_q("webhooks", &[("page_token", "garbage")]).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    for (method, path) in [
        (Method::GET, "webhooks/nope"),
        (Method::DELETE, "webhooks/nope"),
        (Method::GET, "webhooks/nope/deliveries"),
    ] {
        let (status, v) = request(&app, method, path, None).await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{path}");
        assert_eq!(v["error_code"], "RESOURCE_DOES_NOT_EXIST");
    }
    let (status, v) = request(
        &app,
        Method::PATCH,
        "webhooks/nope",
        Some(json!({"name": "x"})),
    )
    .await;
    assert_eq!(
        (status, v["error_code"].as_str()),
        (StatusCode::NOT_FOUND, Some("RESOURCE_DOES_NOT_EXIST"))
    );
    let (status, _) = app.post("webhooks/nope/test", json!({})).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn loopback_targets_are_refused_without_the_allowance() {
    let app = TestApp::new().await;
    let receiver = Receiver::start(Vec::new()).await;
    for url in [
        receiver.url("/h"),
        format!("http://localhost:{}/h", receiver.addr.port()),
        "http://169.254.169.254/latest/meta-data".to_owned(),
        "http://[::1]/".to_owned(),
        "http://10.0.0.1/".to_owned(),
        "http://0.0.0.0/".to_owned(),
    ] {
        let (status, v) = app
            .post(
                "webhooks",
                json!({"name": "h", "url": url, "events": [ev("REGISTERED_MODEL", "CREATED")]}),
            )
            .await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{url}: {v}");
        assert_eq!(v["error_code"], "INVALID_PARAMETER_VALUE");
        let message = v["message"].as_str().unwrap_or("");
        assert!(message.contains("not an allowed target"), "{url}: {v}");
        // What a name resolves to is not told to the caller.
        if url.contains("localhost") {
            assert!(
                !message.contains("127.0.0.1") && !message.contains("::1"),
                "{url}: {v}"
            );
        }
    }
    // At send time too (a name that resolved publicly before could resolve privately now):
    // the transport's resolver refuses the connection, and the failure is not retried.
    let transport =
        keel_server::webhooks::HttpTransport::new(TargetPolicy::default()).expect("transport");
    for url in [
        format!("http://localhost:{}/h", receiver.addr.port()),
        receiver.url("/h"),
    ] {
        let outcome = transport
            .post(OutboundRequest {
                url: url.clone(),
                headers: vec![("Content-Type", "application/json".into())],
                body: "{}".into(),
            })
            .await;
        match outcome {
            SendOutcome::Failed { error, retryable } => {
                assert!(!retryable, "{url}");
                assert!(error.contains("refused"), "{url}: {error}");
            }
            other => panic!("{url} was reached: {other:?}"),
        }
    }
    assert!(receiver.hits().is_empty(), "nothing reached the receiver");
}

#[tokio::test]
async fn registry_events_are_delivered_signed() {
    let app = TestApp::with_webhooks(true, quick()).await;
    let receiver = Receiver::start(Vec::new()).await;
    let secret = "s3cr3t-for-hmac";
    let id = create_hook(
        &app,
        &receiver.url("/hook"),
        json!([
            ev("REGISTERED_MODEL", "CREATED"),
            ev("MODEL_VERSION_ALIAS", "CREATED")
        ]),
        Some(secret),
    )
    .await;
    app.ok_post(
        "registered-models/create",
        json!({"name": "clf", "tags": [{"key": "team", "value": "ml"}], "description": "a model"}),
    )
    .await;
    assert_eq!(app.webhooks.deliver_due("test").await.expect("round"), 1);
    let hits = receiver.hits();
    assert_eq!(hits.len(), 1);
    let hit = &hits[0];
    assert_eq!(hit.path, "/hook");
    let header = |name: &str| {
        hit.headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_owned()
    };
    assert_eq!(header("content-type"), "application/json");
    let delivery_id = header("x-mlflow-delivery-id");
    assert_eq!(delivery_id.len(), 36);
    assert_eq!(delivery_id.as_bytes()[14], b'4', "a UUID4: {delivery_id}");
    let timestamp = header("x-mlflow-timestamp");
    let ts: i64 = timestamp.parse().expect("unix seconds");
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("clock")
        .as_secs() as i64;
    assert!((now - ts).abs() < 60);
    let expected = format!(
        "v1,{}",
        hmac_b64(secret, &format!("{delivery_id}.{timestamp}.{}", hit.body))
    );
    assert_eq!(header("x-mlflow-signature"), expected);
    let payload: Value = serde_json::from_str(&hit.body).expect("json body");
    assert_eq!(payload["entity"], "registered_model");
    assert_eq!(payload["action"], "created");
    assert!(
        payload["timestamp"]
            .as_str()
            .unwrap_or("")
            .ends_with("+00:00")
    );
    assert_eq!(
        payload["data"],
        json!({"name": "clf", "tags": {"team": "ml"}, "description": "a model"})
    );
    assert!(
        hit.body
            .starts_with("{\"entity\": \"registered_model\", \"action\": \"created\"")
    );

    // Not subscribed: nothing queued. Subscribed alias event: queued with its payload.
    let run = app.create_experiment("e").await;
    let run_id = app.create_run(&run).await;
    app.ok_post(
        "model-versions/create",
        json!({"name": "clf", "source": format!("runs:/{run_id}/model"), "run_id": run_id}),
    )
    .await;
    app.ok_post(
        "registered-models/alias",
        json!({"name": "clf", "alias": "champion", "version": "1"}),
    )
    .await;
    assert_eq!(app.webhooks.deliver_due("test").await.expect("round"), 1);
    let hits = receiver.hits();
    let alias: Value = serde_json::from_str(&hits[1].body).expect("json");
    assert_eq!(alias["entity"], "model_version_alias");
    assert_eq!(
        alias["data"],
        json!({"name": "clf", "alias": "champion", "version": "1"})
    );

    let log = deliveries(&app, &id).await;
    assert_eq!(log.len(), 2);
    assert_eq!(log[1]["delivery_id"], delivery_id.as_str());
    for d in &log {
        assert_eq!(d["status"], "SUCCEEDED", "{d}");
        assert_eq!(d["attempts"], 1);
        assert_eq!(d["response_status"], 200);
    }
    assert_eq!(
        log[0]["event"],
        json!({"entity": "MODEL_VERSION_ALIAS", "action": "CREATED"})
    );
    assert!(!log.iter().any(|d| d.to_string().contains(secret)));
}

#[tokio::test]
async fn server_errors_are_retried_then_delivered() {
    let app = TestApp::with_webhooks(true, quick()).await;
    let receiver =
        Receiver::start(vec![(500, Vec::new(), "boom"), (503, Vec::new(), "busy")]).await;
    let id = create_hook(
        &app,
        &receiver.url("/"),
        json!([ev("PROMPT", "CREATED")]),
        Some("k"),
    )
    .await;
    app.ok_post(
        "registered-models/create",
        json!({"name": "p", "tags": [{"key": "mlflow.prompt.is_prompt", "value": "true"},
                                      {"key": "_mlflow_prompt_type", "value": "text"},
                                      {"key": "team", "value": "a"}]}),
    )
    .await;
    assert_eq!(app.webhooks.deliver_due("t").await.expect("round"), 1);
    let log = deliveries(&app, &id).await;
    assert_eq!(log[0]["status"], "PENDING");
    assert_eq!(log[0]["attempts"], 1);
    assert_eq!(log[0]["response_status"], 500);
    assert!(log[0]["next_attempt_timestamp"].as_i64().is_some());
    // Not due yet.
    assert_eq!(app.webhooks.deliver_due("t").await.expect("round"), 0);
    for expected in [2, 3] {
        tokio::time::sleep(Duration::from_millis(450)).await;
        assert_eq!(app.webhooks.deliver_due("t").await.expect("round"), 1);
        assert_eq!(receiver.hits().len(), expected);
    }
    let log = deliveries(&app, &id).await;
    assert_eq!(log[0]["status"], "SUCCEEDED", "{}", log[0]);
    assert_eq!(log[0]["attempts"], 3);
    let hits = receiver.hits();
    let ids: Vec<_> = hits
        .iter()
        .map(|h| h.headers["x-mlflow-delivery-id"].clone())
        .collect();
    assert!(
        ids.windows(2).all(|w| w[0] == w[1]),
        "one delivery id across attempts"
    );
    let payload: Value = serde_json::from_str(&hits[2].body).expect("json");
    assert_eq!(payload["entity"], "prompt");
    assert_eq!(
        payload["data"]["tags"],
        json!({"team": "a"}),
        "prompt marker tags left out"
    );
}

#[tokio::test]
async fn attempts_are_bounded_and_retry_after_is_honoured() {
    let app = TestApp::with_webhooks(true, quick()).await;
    let receiver = Receiver::start(vec![
        (429, vec![("retry-after", "1".into())], ""),
        (502, Vec::new(), ""),
        (502, Vec::new(), ""),
    ])
    .await;
    let id = create_hook(
        &app,
        &receiver.url("/"),
        json!([ev("REGISTERED_MODEL", "CREATED")]),
        None,
    )
    .await;
    app.ok_post("registered-models/create", json!({"name": "m"}))
        .await;
    let before = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("clock")
        .as_millis() as i64;
    assert_eq!(app.webhooks.deliver_due("t").await.expect("round"), 1);
    let log = deliveries(&app, &id).await;
    assert_eq!(log[0]["response_status"], 429);
    let next = log[0]["next_attempt_timestamp"].as_i64().expect("pending");
    assert!(
        next >= before + 1000,
        "Retry-After: 1 honoured ({next} vs {before})"
    );
    assert!(
        receiver.hits()[0]
            .headers
            .get("x-mlflow-signature")
            .is_none(),
        "no secret, no signature"
    );
    tokio::time::sleep(Duration::from_millis(1100)).await;
    assert_eq!(app.webhooks.deliver_due("t").await.expect("round"), 1);
    tokio::time::sleep(Duration::from_millis(450)).await;
    assert_eq!(app.webhooks.deliver_due("t").await.expect("round"), 1);
    let log = deliveries(&app, &id).await;
    assert_eq!(log[0]["status"], "FAILED", "{}", log[0]);
    assert_eq!(log[0]["attempts"], 3);
    assert!(log[0].get("next_attempt_timestamp").is_none());
    tokio::time::sleep(Duration::from_millis(450)).await;
    assert_eq!(
        app.webhooks.deliver_due("t").await.expect("round"),
        0,
        "given up"
    );
}

#[tokio::test]
async fn redirects_are_never_followed() {
    let app = TestApp::with_webhooks(true, quick()).await;
    let receiver = Receiver::start(Vec::new()).await;
    let target = receiver.url("/followed");
    receiver
        .script
        .lock()
        .expect("lock")
        .push_back((302, vec![("location", target.clone())], ""));
    let id = create_hook(
        &app,
        &receiver.url("/hook"),
        json!([ev("REGISTERED_MODEL", "CREATED")]),
        None,
    )
    .await;
    app.ok_post("registered-models/create", json!({"name": "m"}))
        .await;
    assert_eq!(app.webhooks.deliver_due("t").await.expect("round"), 1);
    tokio::time::sleep(Duration::from_millis(100)).await;
    let hits = receiver.hits();
    assert_eq!(hits.len(), 1, "{hits:?}");
    assert_eq!(hits[0].path, "/hook");
    let log = deliveries(&app, &id).await;
    assert_eq!(log[0]["status"], "FAILED");
    assert_eq!(log[0]["response_status"], 302);
    assert!(
        log[0]["error_message"]
            .as_str()
            .unwrap_or("")
            .contains("redirect")
    );

    // The test endpoint reports the redirect without following it either.
    receiver
        .script
        .lock()
        .expect("lock")
        .push_back((301, vec![("location", target)], ""));
    let result = app.ok_post(&format!("webhooks/{id}/test"), json!({})).await;
    assert_eq!(result["result"]["success"], false);
    assert_eq!(result["result"]["response_status"], 301);
    assert!(!receiver.hits().iter().any(|h| h.path == "/followed"));
}

#[tokio::test]
async fn test_sends_the_example_payload_of_the_event() {
    let app = TestApp::with_webhooks(true, quick()).await;
    let receiver = Receiver::start(vec![(200, Vec::new(), "thanks")]).await;
    let id = create_hook(
        &app,
        &receiver.url("/t"),
        json!([
            ev("MODEL_VERSION", "CREATED"),
            ev("PROMPT_VERSION_TAG", "DELETED")
        ]),
        Some("abc"),
    )
    .await;
    let result = app
        .ok_post(
            &format!("webhooks/{id}/test"),
            json!({"event": ev("PROMPT_ALIAS", "CREATED")}),
        )
        .await;
    assert_eq!(
        result["result"],
        json!({"success": true, "response_status": 200, "response_body": "thanks"})
    );
    let hit = &receiver.hits()[0];
    let payload: Value = serde_json::from_str(&hit.body).expect("json");
    assert_eq!(payload["entity"], "prompt_alias");
    assert_eq!(
        payload["data"],
        json!({"name": "example_prompt", "alias": "example_alias", "version": "1"})
    );
    let sig = hit.headers["x-mlflow-signature"].to_str().expect("ascii");
    let expected = hmac_b64(
        "abc",
        &format!(
            "{}.{}.{}",
            hit.headers["x-mlflow-delivery-id"].to_str().expect("ascii"),
            hit.headers["x-mlflow-timestamp"].to_str().expect("ascii"),
            hit.body
        ),
    );
    assert_eq!(sig, format!("v1,{expected}"));

    // Without an event: the webhook's first event. A failing target: success false.
    receiver
        .script
        .lock()
        .expect("lock")
        .push_back((500, Vec::new(), "nope"));
    let result = app.ok_post(&format!("webhooks/{id}/test"), json!({})).await;
    assert_eq!(result["result"]["success"], false);
    assert_eq!(result["result"]["response_status"], 500);
    let payload: Value = serde_json::from_str(&receiver.hits()[1].body).expect("json");
    assert_eq!(payload["entity"], "model_version");
    assert_eq!(payload["data"]["source"], "models:/123");

    // Nobody listening: an error message, not an error response.
    let closed = {
        let l = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        l.local_addr().expect("addr")
    };
    let (status, _) = request(
        &app,
        Method::PATCH,
        &format!("webhooks/{id}"),
        Some(json!({"url": format!("http://{closed}/")})),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    let result = app.ok_post(&format!("webhooks/{id}/test"), json!({})).await;
    assert_eq!(result["result"]["success"], false);
    assert!(
        result["result"]["error_message"]
            .as_str()
            .unwrap_or("")
            .starts_with("Failed to test webhook:"),
        "{result}"
    );
}

#[tokio::test]
async fn disabled_and_unsubscribed_webhooks_get_nothing() {
    let app = TestApp::with_webhooks(true, quick()).await;
    let receiver = Receiver::start(Vec::new()).await;
    let id = create_hook(
        &app,
        &receiver.url("/"),
        json!([ev("REGISTERED_MODEL", "CREATED")]),
        None,
    )
    .await;
    let (status, _) = request(
        &app,
        Method::PATCH,
        &format!("webhooks/{id}"),
        Some(json!({"status": "DISABLED"})),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    create_hook(
        &app,
        &receiver.url("/"),
        json!([ev("MODEL_VERSION", "CREATED")]),
        None,
    )
    .await;
    app.ok_post("registered-models/create", json!({"name": "m"}))
        .await;
    // A prompt is not a registered model for webhooks.
    app.ok_post(
        "registered-models/create",
        json!({"name": "p", "tags": [{"key": "mlflow.prompt.is_prompt", "value": "true"}]}),
    )
    .await;
    assert_eq!(app.webhooks.deliver_due("t").await.expect("round"), 0);
    assert!(receiver.hits().is_empty());
}

#[tokio::test]
async fn the_worker_delivers_in_the_background_and_stops() {
    let app = TestApp::with_webhooks(true, quick()).await;
    let receiver = Receiver::start(Vec::new()).await;
    create_hook(
        &app,
        &receiver.url("/"),
        json!([ev("MODEL_VERSION_TAG", "SET")]),
        None,
    )
    .await;
    let worker = keel_server::webhooks::DeliveryWorker::spawn(app.webhooks.clone(), "w".to_owned());
    let exp = app.create_experiment("e").await;
    let run_id = app.create_run(&exp).await;
    app.ok_post("registered-models/create", json!({"name": "m"}))
        .await;
    app.ok_post(
        "model-versions/create",
        json!({"name": "m", "source": format!("runs:/{run_id}/model"), "run_id": run_id}),
    )
    .await;
    app.ok_post(
        "model-versions/set-tag",
        json!({"name": "m", "version": "1", "key": "stage", "value": "qa"}),
    )
    .await;
    let hits = receiver.wait_for(1).await;
    let payload: Value = serde_json::from_str(&hits[0].body).expect("json");
    assert_eq!(
        payload["data"],
        json!({"name": "m", "version": "1", "key": "stage", "value": "qa"})
    );
    tokio::time::timeout(Duration::from_secs(10), worker.stop())
        .await
        .expect("the worker stops promptly");
}

/// Deliveries queued before a restart are sent after it: the queue is in the database.
#[tokio::test]
async fn pending_deliveries_survive_reopening_the_store() {
    use keel_core::webhooks::{
        CreateWebhook, Event, SecretKey, WebhookAction, WebhookEntity, WebhookEvent,
    };
    let dir = tempfile::tempdir().expect("tmp");
    let path = dir.path().join("keel.db");
    let key = SecretKey::generate().expect("key");
    let receiver = Receiver::start(Vec::new()).await;
    let targets = TargetPolicy {
        allow_private: true,
    };
    let open = |path: std::path::PathBuf, key: SecretKey| async move {
        let store = keel_store::sqlite::SqliteStore::open(&path)
            .await
            .expect("open");
        let transport = keel_server::webhooks::HttpTransport::new(targets).expect("transport");
        keel_core::Webhooks::with_options(
            Arc::new(store),
            &key,
            Arc::new(transport),
            targets,
            quick(),
            Arc::new(keel_core::clock::SystemClock),
        )
        .expect("webhooks")
    };
    let event =
        WebhookEvent::new(WebhookEntity::RegisteredModel, WebhookAction::Created).expect("event");
    {
        let webhooks = open(path.clone(), key.clone()).await;
        webhooks
            .create_webhook(CreateWebhook {
                name: "h".into(),
                url: receiver.url("/after-restart"),
                events: vec![event],
                secret: Some("persisted-secret".into()),
                ..Default::default()
            })
            .await
            .expect("create");
        webhooks
            .emit(Event::registered_model_created("m", &[], ""))
            .await;
        // Dropped before any delivery round: the store (and its writer) close here.
    }
    assert!(receiver.hits().is_empty());
    let webhooks = open(path, key).await;
    assert_eq!(webhooks.deliver_due("after").await.expect("round"), 1);
    let hits = receiver.hits();
    assert_eq!(hits.len(), 1);
    assert_eq!(hits[0].path, "/after-restart");
    let sig = hits[0].headers["x-mlflow-signature"]
        .to_str()
        .expect("ascii");
    let expected = hmac_b64(
        "persisted-secret",
        &format!(
            "{}.{}.{}",
            hits[0].headers["x-mlflow-delivery-id"]
                .to_str()
                .expect("ascii"),
            hits[0].headers["x-mlflow-timestamp"]
                .to_str()
                .expect("ascii"),
            hits[0].body
        ),
    );
    assert_eq!(
        sig,
        format!("v1,{expected}"),
        "the secret survived, encrypted"
    );
    for file in ["keel.db", "keel.db-wal"] {
        let raw = std::fs::read(dir.path().join(file)).unwrap_or_default();
        let text = String::from_utf8_lossy(&raw);
        assert!(
            !text.contains("persisted-secret"),
            "the secret is not stored in clear"
        );
    }
}
