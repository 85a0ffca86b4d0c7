//! The server over a real socket, as slow, idle, greedy and HTTP/2 clients reach it: the
//! connection cap, header, body and idle timeouts, hyper's own errors in MLflow's JSON shape,
//! and the Host guard on h2c's `:authority`.

use std::net::SocketAddr;
use std::time::Duration;

use axum::body::Body;
use axum::http::{Request, StatusCode};
use http_body_util::BodyExt;
use hyper_util::rt::{TokioExecutor, TokioIo};
use keel_server::ConnectionLimits;
use serde_json::Value;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::support::TestApp;

/// How long a test waits for the server to act on a timeout of one second.
const PATIENCE: Duration = Duration::from_secs(15);

pub(crate) struct Served {
    addr: SocketAddr,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    task: tokio::task::JoinHandle<std::io::Result<()>>,
    _app: TestApp,
}

impl Served {
    async fn start(limits: ConnectionLimits) -> Self {
        Self::start_with(limits, None).await
    }

    pub(crate) async fn start_with(
        limits: ConnectionLimits,
        tls: Option<keel_server::tls::ServerTls>,
    ) -> Self {
        let app = TestApp::new().await;
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let addr = listener.local_addr().expect("addr");
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let task = tokio::spawn(keel_server::serve(
            listener,
            app.router(),
            limits,
            tls,
            async move {
                let _ = stopped.await;
            },
            Duration::from_secs(2),
        ));
        Self {
            addr,
            stop: Some(stop),
            task,
            _app: app,
        }
    }

    pub(crate) fn addr(&self) -> SocketAddr {
        self.addr
    }

    pub(crate) async fn connect(&self) -> TcpStream {
        TcpStream::connect(self.addr).await.expect("connect")
    }

    pub(crate) async fn shutdown(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        tokio::time::timeout(PATIENCE, &mut self.task)
            .await
            .expect("the server stops")
            .expect("task")
            .expect("serve");
    }
}

pub(crate) fn quick() -> ConnectionLimits {
    ConnectionLimits {
        max_connections: 64,
        header_read_timeout: Duration::from_secs(1),
        body_read_timeout: Duration::from_secs(1),
        idle_timeout: Duration::from_secs(1),
    }
}

/// Reads until the server closes the connection (or PATIENCE runs out, which fails the test).
pub(crate) async fn read_to_close(stream: &mut TcpStream, what: &str) -> String {
    let mut out = Vec::new();
    tokio::time::timeout(PATIENCE, stream.read_to_end(&mut out))
        .await
        .unwrap_or_else(|_| panic!("{what}: the server kept the connection open"))
        .ok();
    String::from_utf8_lossy(&out).into_owned()
}

fn json_body(response: &str) -> Value {
    let (_, body) = response.split_once("\r\n\r\n").expect("a body");
    serde_json::from_str(body).unwrap_or_else(|e| panic!("not JSON ({e}): {response}"))
}

#[tokio::test]
async fn connections_over_the_limit_get_a_503() {
    let served = Served::start(ConnectionLimits {
        max_connections: 2,
        ..ConnectionLimits::default()
    })
    .await;
    let _a = served.connect().await;
    let _b = served.connect().await;
    // Let the server accept both before the third arrives.
    tokio::time::sleep(Duration::from_millis(200)).await;
    let mut c = served.connect().await;
    let response = read_to_close(&mut c, "the refused connection").await;
    assert!(response.starts_with("HTTP/1.1 503 "), "{response}");
    assert!(
        response.to_ascii_lowercase().contains("retry-after: 1"),
        "{response}"
    );
    let body = json_body(&response);
    assert_eq!(body["error_code"], "TEMPORARILY_UNAVAILABLE");
    assert!(
        body["message"]
            .as_str()
            .expect("message")
            .contains("limit of 2")
    );
    // A slot freed is a slot for the next client.
    drop(_a);
    tokio::time::sleep(Duration::from_millis(200)).await;
    let mut d = served.connect().await;
    d.write_all(b"GET /health HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")
        .await
        .expect("write");
    let response = read_to_close(&mut d, "a request after a slot was freed").await;
    assert!(response.starts_with("HTTP/1.1 200 "), "{response}");
    served.shutdown().await;
}

#[tokio::test]
async fn trickled_headers_and_idle_connections_are_closed() {
    let served = Served::start(quick()).await;
    // Headers that never end.
    let mut slow = served.connect().await;
    slow.write_all(b"GET /health HTTP/1.1\r\nHost: localhost\r\nX-A: ")
        .await
        .expect("write");
    read_to_close(&mut slow, "headers trickling").await;
    // A connection that never sends anything.
    let mut silent = served.connect().await;
    read_to_close(&mut silent, "a silent connection").await;
    // A keep-alive connection left idle after its request.
    let mut idle = served.connect().await;
    idle.write_all(b"GET /health HTTP/1.1\r\nHost: localhost\r\n\r\n")
        .await
        .expect("write");
    let response = read_to_close(&mut idle, "an idle keep-alive connection").await;
    assert!(response.starts_with("HTTP/1.1 200 "), "{response}");
    served.shutdown().await;
}

#[tokio::test]
async fn a_trickled_body_times_out_with_a_4xx_and_writes_nothing() {
    let served = Served::start(quick()).await;
    let mut stream = served.connect().await;
    let body = br#"{"name": "never-created", "artifact_location": "x"}"#;
    let head = format!(
        "POST /api/2.0/mlflow/experiments/create HTTP/1.1\r\nHost: localhost\r\n\
         Content-Type: application/json\r\nContent-Length: {}\r\n\r\n",
        body.len() + 100
    );
    stream.write_all(head.as_bytes()).await.expect("head");
    stream.write_all(&body[..10]).await.expect("some body");
    let response = read_to_close(&mut stream, "a stalled body").await;
    assert!(response.starts_with("HTTP/1.1 400 "), "{response}");
    assert_eq!(
        json_body(&response)["error_code"],
        "INVALID_PARAMETER_VALUE"
    );
    let (status, _) = served
        ._app
        .get_q(
            "experiments/get-by-name",
            &[("experiment_name", "never-created")],
        )
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    served.shutdown().await;
}

#[tokio::test]
async fn a_stalled_artifact_upload_is_a_4xx_and_stores_nothing() {
    let served = Served::start(quick()).await;
    let mut stream = served.connect().await;
    let path = "/api/2.0/mlflow-artifacts/artifacts/0/stalled/file.bin";
    stream
        .write_all(
            format!("PUT {path} HTTP/1.1\r\nHost: localhost\r\nContent-Length: 1000\r\n\r\n")
                .as_bytes(),
        )
        .await
        .expect("head");
    stream.write_all(&[7; 10]).await.expect("some body");
    let response = read_to_close(&mut stream, "a stalled upload").await;
    assert!(response.starts_with("HTTP/1.1 400 "), "{response}");
    assert_eq!(
        json_body(&response)["error_code"],
        "INVALID_PARAMETER_VALUE"
    );
    let mut stream = served.connect().await;
    stream
        .write_all(
            format!("GET {path} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")
                .as_bytes(),
        )
        .await
        .expect("write");
    let response = read_to_close(&mut stream, "reading the stalled upload").await;
    assert!(response.starts_with("HTTP/1.1 404 "), "{response}");
    served.shutdown().await;
}

#[tokio::test]
async fn hypers_own_errors_have_mlflow_json_bodies() {
    let served = Served::start(ConnectionLimits::default()).await;
    let long = "a".repeat(70_000);
    let mut stream = served.connect().await;
    stream
        .write_all(
            format!("GET /api/2.0/mlflow/experiments/get?experiment_id={long} HTTP/1.1\r\nHost: localhost\r\n\r\n")
                .as_bytes(),
        )
        .await
        .expect("write");
    let response = read_to_close(&mut stream, "a 70 kB URI").await;
    assert!(response.starts_with("HTTP/1.1 414 "), "{response}");
    assert!(
        response
            .to_ascii_lowercase()
            .contains("content-type: application/json"),
        "{response}"
    );
    assert_eq!(json_body(&response)["error_code"], "BAD_REQUEST");

    let mut stream = served.connect().await;
    stream
        .write_all(b"GET /health HTTP/1.1\r\nHost: localhost\r\nBad Header\r\n\r\n")
        .await
        .expect("write");
    let response = read_to_close(&mut stream, "a malformed header").await;
    assert!(response.starts_with("HTTP/1.1 400 "), "{response}");
    assert_eq!(json_body(&response)["error_code"], "BAD_REQUEST");

    // Requests on the same connection before and after are untouched: a normal response whose
    // body happens to be bytes like hyper's is never rewritten.
    let mut stream = served.connect().await;
    stream
        .write_all(b"GET /health HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")
        .await
        .expect("write");
    let response = read_to_close(&mut stream, "a normal request").await;
    assert!(response.starts_with("HTTP/1.1 200 "), "{response}");
    served.shutdown().await;
}

#[tokio::test]
async fn the_host_guard_checks_h2c_authority() {
    let served = Served::start(ConnectionLimits::default()).await;
    let io = TokioIo::new(served.connect().await);
    let (mut sender, conn) = hyper::client::conn::http2::handshake(TokioExecutor::new(), io)
        .await
        .expect("h2c handshake");
    let driver = tokio::spawn(conn);
    let path = "/api/2.0/mlflow/experiments/search?max_results=1";
    for (authority, want) in [
        ("evil.example", StatusCode::FORBIDDEN),
        ("localhost", StatusCode::OK),
    ] {
        let req = Request::builder()
            .uri(format!("http://{authority}{path}"))
            .body(Body::empty())
            .expect("request");
        let response = sender.send_request(req).await.expect("response");
        let status = response.status();
        let body = response
            .into_body()
            .collect()
            .await
            .expect("body")
            .to_bytes();
        assert_eq!(
            status,
            want,
            "{authority}: {}",
            String::from_utf8_lossy(&body)
        );
    }
    drop(sender);
    driver.abort();
    served.shutdown().await;
}

#[tokio::test]
async fn missing_or_repeated_host_headers_are_a_400() {
    let served = Served::start(ConnectionLimits::default()).await;
    for request in [
        "GET /health HTTP/1.1\r\nConnection: close\r\n\r\n",
        "GET /health HTTP/1.1\r\nHost: localhost\r\nHost: evil.example\r\nConnection: close\r\n\r\n",
        "GET /health HTTP/1.0\r\n\r\n",
    ] {
        let mut stream = served.connect().await;
        stream.write_all(request.as_bytes()).await.expect("write");
        let response = read_to_close(&mut stream, request).await;
        assert!(
            response.starts_with("HTTP/1.1 400 ") || response.starts_with("HTTP/1.0 400 "),
            "{request:?}: {response}"
        );
        assert_eq!(
            json_body(&response)["error_code"],
            "BAD_REQUEST",
            "{request:?}"
        );
    }
    served.shutdown().await;
}
