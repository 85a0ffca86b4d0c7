//! The server process: starts on the embedded default, answers, and stops cleanly on SIGTERM.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("free port")
}

/// A minimal HTTP/1.1 GET; returns the status code and body.
pub fn get(port: u16, path: &str) -> Option<(u16, String)> {
    request(port, "GET", path, None, b"")
}

/// A minimal HTTP/1.1 request with an optional body of the given content type.
pub fn request(
    port: u16,
    method: &str,
    path: &str,
    content_type: Option<&str>,
    body: &[u8],
) -> Option<(u16, String)> {
    let mut stream = TcpStream::connect(("127.0.0.1", port)).ok()?;
    stream.set_read_timeout(Some(Duration::from_secs(5))).ok()?;
    let ct = content_type
        .map(|c| format!("Content-Type: {c}\r\n"))
        .unwrap_or_default();
    write!(
        stream,
        "{method} {path} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n{ct}\
         Content-Length: {}\r\n\r\n",
        body.len()
    )
    .ok()?;
    stream.write_all(body).ok()?;
    let mut response = String::new();
    stream.read_to_string(&mut response).ok()?;
    let status = response.split_whitespace().nth(1)?.parse().ok()?;
    let body = response
        .split_once("\r\n\r\n")
        .map(|(_, b)| b.to_owned())
        .unwrap_or_default();
    Some((status, body))
}

pub fn start(dir: &std::path::Path, port: u16) -> Child {
    start_with(dir, port, &[])
}

/// `keel server` on `port` with `extra` flags.
pub fn start_with(dir: &std::path::Path, port: u16, extra: &[&str]) -> Child {
    Command::new(env!("CARGO_BIN_EXE_keel"))
        .current_dir(dir)
        .args(["server", "--port", &port.to_string()])
        .args(extra)
        .env_remove("KEEL_CONFIG")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn keel server")
}

pub fn wait_healthy(port: u16) {
    let deadline = Instant::now() + Duration::from_secs(20);
    while Instant::now() < deadline {
        if let Some((200, body)) = get(port, "/health") {
            assert_eq!(body.trim(), "OK");
            return;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    panic!("keel did not become healthy on port {port}");
}

pub fn terminate(child: &mut Child) -> std::process::ExitStatus {
    let pid = child.id().to_string();
    let sent = Command::new("kill")
        .args(["-TERM", &pid])
        .status()
        .expect("kill");
    assert!(sent.success());
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        if let Some(status) = child.try_wait().expect("wait") {
            return status;
        }
        assert!(Instant::now() < deadline, "keel did not stop after SIGTERM");
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// Stops a server started with its stderr piped (it must exit cleanly) and returns its log.
fn stop_and_read_log(child: &mut Child) -> String {
    let status = terminate(child);
    assert!(status.success(), "{status:?}");
    let mut log = String::new();
    child
        .stderr
        .take()
        .expect("stderr")
        .read_to_string(&mut log)
        .expect("log");
    log
}

#[test]
fn serves_the_embedded_default_and_stops_on_sigterm() {
    let dir = tempfile::tempdir().expect("tempdir");
    let port = free_port();
    let mut child = start(dir.path(), port);
    wait_healthy(port);
    let (status, body) = get(port, "/api/2.0/mlflow/experiments/get?experiment_id=0").expect("get");
    assert_eq!(status, 200, "{body}");
    assert!(body.contains("\"name\":\"Default\""), "{body}");
    assert!(
        dir.path().join("keel-data/keel.db").is_file(),
        "SQLite database under ./keel-data"
    );
    assert!(
        dir.path().join("keel-data/artifacts").is_dir(),
        "artifacts folder under ./keel-data"
    );
    let status = terminate(&mut child);
    assert!(
        status.success(),
        "graceful shutdown exits 0, got {status:?}"
    );
}

#[test]
fn data_survives_a_restart() {
    let dir = tempfile::tempdir().expect("tempdir");
    let port = free_port();
    let mut child = start(dir.path(), port);
    wait_healthy(port);
    terminate(&mut child);
    // The second start finds the migrated database and the default experiment already there.
    let port = free_port();
    let mut child = start(dir.path(), port);
    wait_healthy(port);
    let (status, _) = get(port, "/api/2.0/mlflow/experiments/get?experiment_id=0").expect("get");
    assert_eq!(status, 200);
    terminate(&mut child);
}

/// Listening beyond loopback without authentication is allowed only with the explicit flag,
/// and then the server says so loudly at start.
#[test]
fn unauthenticated_network_access_is_announced_loudly() {
    let dir = tempfile::tempdir().expect("tempdir");
    let port = free_port();
    let mut child = Command::new(env!("CARGO_BIN_EXE_keel"))
        .current_dir(dir.path())
        .args([
            "server",
            "--host",
            "0.0.0.0",
            "--port",
            &port.to_string(),
            "--allow-unauthenticated-network-access",
        ])
        .env_remove("KEEL_CONFIG")
        .env("NO_COLOR", "1")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn keel server");
    wait_healthy(port);
    let log = stop_and_read_log(&mut child);
    let warning = log
        .lines()
        .find(|l| l.contains("UNAUTHENTICATED NETWORK ACCESS"))
        .unwrap_or_else(|| panic!("no warning in the log:\n{log}"));
    assert!(warning.contains("WARN"), "{warning}");
}

#[test]
fn mlflow_server_flags_are_taken_with_the_reference_meaning() {
    let dir = tempfile::tempdir().expect("tempdir");
    let out = crate::keel(dir.path(), &["server", "--dev"], &[]);
    assert!(!out.status.success());
    assert!(
        crate::stderr(&out).contains("--dev"),
        "{}",
        crate::stderr(&out)
    );

    let port = free_port();
    let mut child = start_with(dir.path(), port, &["--workers", "4", "--artifacts-only"]);
    wait_healthy(port);
    let (status, body) = request(
        port,
        "POST",
        "/api/2.0/mlflow/experiments/create",
        Some("application/json"),
        br#"{"name": "x"}"#,
    )
    .expect("answer");
    assert_eq!(status, 503, "{body}");
    assert!(
        body.starts_with("Endpoint: /api/2.0/mlflow/experiments/create disabled due to the mlflow server running in `--artifacts-only` mode"),
        "{body}"
    );
    let put = request(
        port,
        "PUT",
        "/api/2.0/mlflow-artifacts/artifacts/a/b.txt",
        Some("text/plain"),
        b"hello",
    );
    assert_eq!(put.map(|(s, _)| s), Some(200), "the proxy is served");
    assert_eq!(
        get(port, "/api/2.0/mlflow-artifacts/artifacts/a/b.txt"),
        Some((200, "hello".to_owned()))
    );
    // Metrics are not served unless asked for, as on the reference.
    assert_eq!(get(port, "/metrics").map(|(s, _)| s), Some(404));
    let log = stop_and_read_log(&mut child);
    assert!(log.contains("--workers is accepted"), "{log}");

    let port = free_port();
    let prometheus_dir = dir.path().join("prometheus");
    let mut child = start_with(
        dir.path(),
        port,
        &["--expose-prometheus", &prometheus_dir.to_string_lossy()],
    );
    wait_healthy(port);
    assert_eq!(
        get(port, "/api/2.0/mlflow/experiments/search?max_results=1").map(|(s, _)| s),
        Some(200)
    );
    let (status, metrics) = get(port, "/metrics").expect("answer");
    assert_eq!(status, 200, "{metrics}");
    assert!(
        metrics.contains("mlflow_http_request_total{method=\"GET\",status=\"200\"}")
            && metrics.contains("keel_build_info{version=\""),
        "{metrics}"
    );
    let log = stop_and_read_log(&mut child);
    assert!(log.contains("--expose-prometheus"), "{log}");
}
