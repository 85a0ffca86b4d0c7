//! Accounts from the command line and the server's authentication posture: no default
//! password, the first administrator from `keel users create` or from the environment, a
//! network bind without accounts refused, tokens from `keel tokens create`.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::process::{Command, Stdio};
use std::time::Duration;

use base64::Engine as _;

use crate::process::{free_port, start, terminate, wait_healthy};
use crate::{keel, stderr, stdout};

/// A GET with an optional `Authorization` header; returns the status.
fn get_as(port: u16, path: &str, authorization: Option<&str>) -> u16 {
    let mut stream = TcpStream::connect(("127.0.0.1", port)).expect("connect");
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .expect("timeout");
    let auth = authorization
        .map(|a| format!("Authorization: {a}\r\n"))
        .unwrap_or_default();
    write!(
        stream,
        "GET {path} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n{auth}\r\n"
    )
    .expect("write");
    let mut response = String::new();
    stream.read_to_string(&mut response).expect("read");
    response
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .expect("status")
}

fn basic(user: &str, password: &str) -> String {
    format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}"))
    )
}

fn create_user_from_stdin(
    dir: &std::path::Path,
    args: &[&str],
    password: &str,
) -> std::process::Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_keel"))
        .current_dir(dir)
        .args(args)
        .env_remove("KEEL_CONFIG")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn keel users create");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(format!("{password}\n").as_bytes())
        .expect("write password");
    child.wait_with_output().expect("wait")
}

const SEARCH: &str = "/api/2.0/mlflow/experiments/search?max_results=1";

/// The status of a GET once another process's change has applied: the server caches what it
/// reads of accounts and tokens for `CACHE_TTL` (2 s), so it may first answer as before.
fn eventually(port: u16, path: &str, authorization: Option<&str>, want: u16) -> u16 {
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    loop {
        let got = get_as(port, path, authorization);
        if got == want || std::time::Instant::now() > deadline {
            return got;
        }
        std::thread::sleep(Duration::from_millis(200));
    }
}

#[test]
fn a_network_bind_without_accounts_refuses_to_start_and_says_how() {
    let dir = tempfile::tempdir().expect("tempdir");
    let port = free_port().to_string();
    let out = keel(
        dir.path(),
        &["server", "--host", "0.0.0.0", "--port", &port],
        &[],
    );
    assert!(!out.status.success());
    let err = stderr(&out);
    assert!(err.contains("keel users create"), "{err}");
    assert!(
        err.contains("--allow-unauthenticated-network-access"),
        "{err}"
    );
}

#[test]
fn without_accounts_local_requests_are_the_administrator_until_the_first_account() {
    let dir = tempfile::tempdir().expect("tempdir");
    let port = free_port();
    let mut server = start(dir.path(), port);
    wait_healthy(port);
    assert_eq!(
        get_as(port, SEARCH, None),
        200,
        "no accounts yet: open on loopback"
    );
    let out = create_user_from_stdin(
        dir.path(),
        &["users", "create", "admin", "--admin", "--password-stdin"],
        "admin-password-1",
    );
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(stdout(&out).contains("administrator"), "{}", stdout(&out));
    assert_eq!(
        eventually(port, SEARCH, None, 401),
        401,
        "the first account closes the door"
    );
    assert_eq!(
        get_as(port, SEARCH, Some(&basic("admin", "admin-password-1"))),
        200
    );
    assert_eq!(
        get_as(port, SEARCH, Some(&basic("admin", "wrong-password-1"))),
        401
    );
    assert_eq!(get_as(port, "/health", None), 200, "health stays public");
    // A token from the command line works as a bearer credential until revoked.
    let out = keel(
        dir.path(),
        &[
            "tokens",
            "create",
            "admin",
            "--name",
            "ci",
            "--expires-in",
            "1d",
        ],
        &[],
    );
    assert!(out.status.success(), "{}", stderr(&out));
    let token = stdout(&out).trim().to_owned();
    assert!(token.starts_with("keel_"), "{token}");
    assert_eq!(get_as(port, SEARCH, Some(&format!("Bearer {token}"))), 200);
    let id = &token["keel_".len().."keel_".len() + 12];
    let out = keel(dir.path(), &["tokens", "revoke", id], &[]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(
        eventually(port, SEARCH, Some(&format!("Bearer {token}")), 401),
        401
    );
    // `keel gc` removes the revoked token once it ended longer ago than --older-than.
    std::thread::sleep(std::time::Duration::from_millis(5));
    let kept = keel(dir.path(), &["gc", "--older-than", "1d"], &[]);
    assert!(
        stdout(&kept).contains("removed 0 API token(s)"),
        "{}",
        stdout(&kept)
    );
    let purged = keel(dir.path(), &["gc", "--older-than", "0s"], &[]);
    assert!(purged.status.success(), "{}", stderr(&purged));
    assert!(
        stdout(&purged).contains("removed 1 API token(s)"),
        "{}",
        stdout(&purged)
    );
    assert!(terminate(&mut server).success());
}

#[test]
fn short_passwords_and_duplicate_names_are_refused() {
    let dir = tempfile::tempdir().expect("tempdir");
    let out = create_user_from_stdin(
        dir.path(),
        &["users", "create", "admin", "--admin", "--password-stdin"],
        "short",
    );
    assert!(!out.status.success());
    assert!(
        stderr(&out).contains("at least 12 characters"),
        "{}",
        stderr(&out)
    );
    let ok = create_user_from_stdin(
        dir.path(),
        &["users", "create", "admin", "--password-stdin"],
        "long-enough-password",
    );
    assert!(ok.status.success(), "{}", stderr(&ok));
    let again = create_user_from_stdin(
        dir.path(),
        &["users", "create", "admin", "--password-stdin"],
        "long-enough-password",
    );
    assert!(!again.status.success());
    assert!(
        stderr(&again).contains("already exists"),
        "{}",
        stderr(&again)
    );
    let list = keel(dir.path(), &["users", "list"], &[]);
    assert!(stdout(&list).contains("admin"), "{}", stdout(&list));
}

#[test]
fn the_first_administrator_can_come_from_the_environment() {
    let dir = tempfile::tempdir().expect("tempdir");
    let port = free_port();
    let mut server = Command::new(env!("CARGO_BIN_EXE_keel"))
        .current_dir(dir.path())
        .args([
            "server",
            "--port",
            &port.to_string(),
            "--auth-mode",
            "required",
        ])
        .env_remove("KEEL_CONFIG")
        .env("KEEL_ADMIN_USERNAME", "root")
        .env("KEEL_ADMIN_PASSWORD", "container-password")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn");
    wait_healthy(port);
    assert_eq!(get_as(port, SEARCH, None), 401);
    assert_eq!(
        get_as(port, SEARCH, Some(&basic("root", "container-password"))),
        200
    );
    assert!(terminate(&mut server).success());
}
