//! Regression tests for the reference server's artifact CVE classes (see docs/security-tests.md):
//! each attack gets a 400/404 MLflow error, and nothing outside the artifact root is read,
//! written or deleted.
//!
//! Every test plants a secret file next to the artifact root (in the app's temporary directory,
//! the root's parent) and snapshots everything outside the root before the attack; after it, the
//! secret must never appear in a response and the snapshot must be unchanged: no file read
//! through, overwritten, created or deleted.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use axum::body::Body;
use axum::http::{Method, StatusCode};
use serde_json::{Value, json};

use crate::support::*;

/// The artifact proxy under the 2.0 API.
const PROXY: &str = "/api/2.0/mlflow-artifacts/artifacts";

/// Content of every planted secret; must never appear in a response.
const SECRET: &str = "TOP-SECRET-9f2c1e";

/// A Keel app with secrets planted outside its artifact root.
struct Target {
    app: TestApp,
}

impl Target {
    async fn new() -> Self {
        let app = TestApp::new().await;
        let target = Self { app };
        let outside = target.outside();
        std::fs::create_dir_all(&outside).expect("outside dir");
        std::fs::write(target.dir().join("secret.txt"), SECRET).expect("plant");
        std::fs::write(outside.join("secret.txt"), SECRET).expect("plant");
        std::fs::create_dir_all(target.root()).expect("root");
        target
    }

    /// The root's parent: the app's temporary directory.
    fn dir(&self) -> PathBuf {
        self.app.data_dir().to_path_buf()
    }

    fn root(&self) -> PathBuf {
        self.dir().join("artifacts")
    }

    /// A folder beside the root, for symlinks to point into.
    fn outside(&self) -> PathBuf {
        self.dir().join("outside")
    }

    /// Every file and link outside the artifact root, with its content (the database files,
    /// which legitimately change, by name only).
    fn outside_snapshot(&self) -> BTreeMap<PathBuf, Option<Vec<u8>>> {
        let mut out = BTreeMap::new();
        walk(&self.dir(), &self.root(), &mut out);
        out
    }

    /// Sends `method` to `uri` (already percent-encoded as the attacker wants it).
    async fn send(&self, method: Method, uri: &str, body: &'static [u8]) -> Raw {
        self.send_body(method, uri, Body::from(body), false).await
    }

    /// Sends a request with `Host: localhost`, its body labelled as JSON when `json` is set.
    async fn send_body(&self, method: Method, uri: &str, body: Body, json: bool) -> Raw {
        let mut req = axum::http::Request::builder()
            .method(method)
            .uri(uri)
            .header("host", "localhost");
        if json {
            req = req.header("content-type", "application/json");
        }
        let req = req
            .body(body)
            .unwrap_or_else(|e| panic!("request {uri}: {e}"));
        self.app.send(req).await
    }

    /// Sends the attack, then asserts it was refused with a 400 or 404 MLflow error that does
    /// not carry the secret, and that nothing outside the root changed.
    async fn refused(&self, method: Method, uri: &str) {
        self.refused_body(method, uri, Body::from(&b"pwned"[..]), false)
            .await;
    }

    /// [`Self::refused`] for a POST with a JSON body.
    async fn refused_json(&self, uri: &str, body: Value) {
        self.refused_body(Method::POST, uri, Body::from(body.to_string()), true)
            .await;
    }

    async fn refused_body(&self, method: Method, uri: &str, body: Body, json: bool) {
        let before = self.outside_snapshot();
        let raw = self.send_body(method.clone(), uri, body, json).await;
        assert_refused(&raw, &format!("{method} {uri}"));
        assert_eq!(
            before,
            self.outside_snapshot(),
            "{method} {uri} changed files outside the artifact root"
        );
    }

    /// The attack on every proxy operation: download, upload, delete, and list `path=`.
    async fn refused_everywhere(&self, encoded_path: &str, decoded_path: &str) {
        self.refused(Method::GET, &format!("{PROXY}/{encoded_path}"))
            .await;
        self.refused(Method::PUT, &format!("{PROXY}/{encoded_path}"))
            .await;
        self.refused(Method::DELETE, &format!("{PROXY}/{encoded_path}"))
            .await;
        self.refused(
            Method::GET,
            &format!("{PROXY}?{}", query(&[("path", decoded_path)])),
        )
        .await;
    }

    /// The store path (under the root) of a run's artifact folder.
    async fn run_root(&self, run_id: &str) -> String {
        let uri = self.app.run(run_id).await["info"]["artifact_uri"]
            .as_str()
            .expect("artifact_uri")
            .to_owned();
        uri.strip_prefix("mlflow-artifacts:/")
            .unwrap_or_else(|| panic!("not proxied: {uri}"))
            .to_owned()
    }

    /// Uploads `bytes` through the proxy and asserts success.
    async fn put(&self, path: &str, bytes: &'static [u8]) {
        let raw = self
            .send(Method::PUT, &format!("{PROXY}/{path}"), bytes)
            .await;
        assert_eq!(raw.status, StatusCode::OK, "PUT {path}: {:?}", raw.json());
    }
}

/// Collects files and symlinks under `dir`, skipping `skip` and never following links.
fn walk(dir: &Path, skip: &Path, out: &mut BTreeMap<PathBuf, Option<Vec<u8>>>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries {
        let path = entry.expect("dir entry").path();
        if path == skip {
            continue;
        }
        let meta = std::fs::symlink_metadata(&path).expect("metadata");
        let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("");
        if meta.file_type().is_symlink() {
            out.insert(path.clone(), std::fs::read_link(&path).ok().map(into_bytes));
        } else if meta.is_dir() {
            out.insert(path.clone(), None);
            walk(&path, skip, out);
        } else if name.starts_with("keel.db") {
            out.insert(path, None);
        } else {
            let content = std::fs::read(&path).expect("read");
            out.insert(path, Some(content));
        }
    }
}

fn into_bytes(p: PathBuf) -> Vec<u8> {
    p.to_string_lossy().into_owned().into_bytes()
}

/// A 400 or 404 with exactly `{error_code, message}`, and no secret in it.
fn assert_refused(raw: &Raw, context: &str) {
    let body = raw.json();
    assert!(
        raw.status == StatusCode::BAD_REQUEST || raw.status == StatusCode::NOT_FOUND,
        "{context}: expected 400 or 404, got {} {body}",
        raw.status
    );
    assert_error_shape(&body);
    assert_no_secret(raw, context);
}

fn assert_no_secret(raw: &Raw, context: &str) {
    assert!(
        !String::from_utf8_lossy(&raw.body).contains(SECRET),
        "{context}: the secret leaked"
    );
}

#[cfg(unix)]
fn symlink(target: &Path, link: &Path) {
    std::os::unix::fs::symlink(target, link).expect("symlink");
}

/// CVE-2023-2356 (relative path traversal), CVE-2023-30172 (`/get-artifact` `path=../..`):
/// `..` segments in the path of every proxy operation.
#[tokio::test]
async fn dot_dot_segments_are_refused_on_every_operation() {
    let t = Target::new().await;
    for path in [
        "../secret.txt",
        "../outside/secret.txt",
        "0/../../secret.txt",
        "a/b/../../../secret.txt",
        "../../../../../../../../etc/passwd",
        "./secret.txt",
        "0/./x",
        "..",
        "../",
    ] {
        t.refused_everywhere(path, path).await;
    }
    // `path=` of the listing alone.
    for path in ["..", "../..", "../outside", "0/../..", "."] {
        t.refused(
            Method::GET,
            &format!("{PROXY}?{}", query(&[("path", path)])),
        )
        .await;
    }
}

/// Encoded separators and dots (`%2e%2e%2f`, `%2F`) decode once to `../` and are refused.
#[tokio::test]
async fn url_encoded_traversal_is_refused() {
    let t = Target::new().await;
    for (encoded, decoded) in [
        ("%2e%2e%2fsecret.txt", "../secret.txt"),
        ("%2E%2E%2F%2E%2E%2Fsecret.txt", "../../secret.txt"),
        ("..%2Fsecret.txt", "../secret.txt"),
        ("%2e%2e/outside/secret.txt", "../outside/secret.txt"),
        ("0%2F..%2F..%2Fsecret.txt", "0/../../secret.txt"),
        ("%2Fetc%2Fpasswd", "/etc/passwd"),
    ] {
        t.refused_everywhere(encoded, decoded).await;
    }
}

/// CVE-2023-6831 and its bypass CVE-2024-1560 (double URL-decoding, on delete) and the same
/// trick on reads and writes: `%252e%252e%252f` must not be decoded a second time.
#[tokio::test]
async fn double_encoded_traversal_is_refused() {
    let t = Target::new().await;
    for (encoded, decoded_once) in [
        ("%252e%252e%252fsecret.txt", "%2e%2e%2fsecret.txt"),
        (
            "%252E%252E%252F%252E%252E%252Fsecret.txt",
            "%2E%2E%2F%2E%2E%2Fsecret.txt",
        ),
        ("%252e%252e/secret.txt", "%2e%2e/secret.txt"),
        ("0%252f..%252f..%252fsecret.txt", "0%2f..%2f..%2fsecret.txt"),
        (
            "%25252e%25252e%25252fsecret.txt",
            "%252e%252e%252fsecret.txt",
        ),
    ] {
        t.refused_everywhere(encoded, decoded_once).await;
    }
}

/// CVE-2023-3765 and CVE-2023-1176 (absolute path traversal; the public probe lists
/// `?path=C:/`): absolute paths, `//` prefixes, and the secret's own absolute path.
#[tokio::test]
async fn absolute_paths_are_refused() {
    let t = Target::new().await;
    let secret = t.dir().join("secret.txt");
    let secret = secret.to_str().expect("utf-8 path");
    let secret_rel = secret.trim_start_matches('/');
    for (encoded, decoded) in [
        ("/etc/passwd".to_owned(), "/etc/passwd".to_owned()),
        ("//etc/passwd".to_owned(), "//etc".to_owned()),
        (format!("/{secret_rel}"), secret.to_owned()),
        (format!("%2F{secret_rel}"), secret.to_owned()),
        ("~/.ssh/id_rsa".to_owned(), "~/.ssh".to_owned()),
        ("/".to_owned(), "/".to_owned()),
    ] {
        t.refused_everywhere(&encoded, &decoded).await;
    }
}

/// CVE-2023-1177 and CVE-2023-2780 (`\..\filename`), CVE-2023-3765 (`C:/`): Windows drive
/// letters and backslashes, which some path libraries treat as separators.
#[tokio::test]
async fn drive_letters_and_backslashes_are_refused() {
    let t = Target::new().await;
    for (encoded, decoded) in [
        ("C:/Windows/win.ini", "C:/"),
        ("c:%5CWindows%5Cwin.ini", "c:\\Windows"),
        ("C%3A/secret.txt", "C:"),
        ("..%5Csecret.txt", "..\\secret.txt"),
        ("a%5C..%5C..%5Csecret.txt", "a\\..\\..\\secret.txt"),
        ("%5C%5Cserver%5Cshare", "\\\\server\\share"),
        ("0/%5C..%5C..%5Csecret.txt", "0/\\..\\..\\secret.txt"),
    ] {
        t.refused_everywhere(encoded, decoded).await;
    }
}

/// NUL truncation (`secret.txt%00.png`) and other control characters.
#[tokio::test]
async fn nul_and_control_characters_are_refused() {
    let t = Target::new().await;
    for (encoded, decoded) in [
        ("secret.txt%00.png", "secret.txt\0.png"),
        ("..%00/secret.txt", "..\0/secret.txt"),
        ("%00", "\0"),
        ("a%0A..%2Fsecret.txt", "a\n../secret.txt"),
        ("a%0Db", "a\rb"),
        ("a%7Fb", "a\u{7f}b"),
    ] {
        t.refused_everywhere(encoded, decoded).await;
    }
}

/// CVE-2024-3848 and CVE-2024-2928 (`#` fragments), CVE-2023-6909 (`?` queries) and
/// CVE-2024-1593 (`;` params): characters a URL parser splits on, inside an artifact path.
#[tokio::test]
async fn fragment_query_and_param_characters_are_refused() {
    let t = Target::new().await;
    for (encoded, decoded) in [
        ("x%23/../../secret.txt", "x#/../../secret.txt"),
        ("x%23%2F..%2F..%2Fsecret.txt", "x#/../../secret.txt"),
        ("secret.txt%23.png", "secret.txt#.png"),
        ("x%3F/../../secret.txt", "x?/../../secret.txt"),
        ("x%3Fa=..%2F..%2Fsecret.txt", "x?a=../../secret.txt"),
        ("x;/../../secret.txt", "x;/../../secret.txt"),
        ("x%3B..%2Fsecret.txt", "x;../secret.txt"),
        ("a;b", "a;b"),
    ] {
        t.refused_everywhere(encoded, decoded).await;
    }
}

/// A symlink to a file outside the root, planted inside it: downloads and run reads do not
/// follow it, listings leave it out, uploads do not write through it, and a delete removes only
/// the link.
#[cfg(unix)]
#[tokio::test]
async fn symlinked_file_is_never_followed_out_of_the_root() {
    let t = Target::new().await;
    let run_id = t.app.create_run("0").await;
    let run_root = t.run_root(&run_id).await;
    t.put(&format!("{run_root}/real.txt"), b"inside").await;
    let link = t.root().join(&run_root).join("link.txt");
    symlink(&t.dir().join("secret.txt"), &link);
    let link_path = format!("{run_root}/link.txt");
    // Control: a link that stays inside the root is followed, so the refusals below are about
    // where the link points, not about links as such.
    symlink(
        Path::new("real.txt"),
        &t.root().join(&run_root).join("inner.txt"),
    );
    let raw = t
        .send(Method::GET, &format!("{PROXY}/{run_root}/inner.txt"), b"")
        .await;
    assert_eq!(
        (raw.status, raw.body.as_slice()),
        (StatusCode::OK, &b"inside"[..])
    );

    t.refused(Method::GET, &format!("{PROXY}/{link_path}"))
        .await;
    t.refused(
        Method::GET,
        &format!(
            "/get-artifact?{}",
            query(&[("run_uuid", &run_id), ("path", "link.txt")])
        ),
    )
    .await;
    // Writing through the link would overwrite the secret.
    t.refused(Method::PUT, &format!("{PROXY}/{link_path}"))
        .await;

    for listing in [
        t.app.ok_get(PROXY, &[("path", run_root.as_str())]).await,
        t.app
            .ok_get("artifacts/list", &[("run_id", run_id.as_str())])
            .await,
    ] {
        let names: Vec<String> = array(&listing["files"])
            .iter()
            .map(|f| f["path"].as_str().expect("path").to_owned())
            .collect();
        assert!(
            names.iter().all(|n| !n.ends_with("link.txt")),
            "listing shows the outward link: {listing}"
        );
        assert!(names.iter().any(|n| n.ends_with("real.txt")), "{listing}");
        assert!(!listing.to_string().contains(SECRET));
    }

    // Deleting the link removes the link, never the file it points to.
    let before = t.outside_snapshot();
    let raw = t
        .send(Method::DELETE, &format!("{PROXY}/{link_path}"), b"")
        .await;
    assert_eq!(raw.status, StatusCode::OK, "{:?}", raw.json());
    assert!(
        std::fs::symlink_metadata(&link).is_err(),
        "link still there"
    );
    assert_eq!(before, t.outside_snapshot());
    assert_eq!(
        std::fs::read_to_string(t.dir().join("secret.txt")).expect("secret"),
        SECRET
    );
}

/// A symlink to a directory outside the root: nothing below it is read, listed, written or
/// deleted, and deleting the link leaves the directory's content alone.
#[cfg(unix)]
/// Found by the `api_routes` fuzz target: a path that continues below a file (`f.txt/x`) made
/// the local store's ENOTDIR a 500. It is no such artifact (404) to read, list or delete, and a
/// 400 to write.
#[tokio::test]
async fn paths_below_a_file_are_not_found() {
    let t = Target::new().await;
    t.put("dir/f.txt", b"data").await;
    for method in [Method::GET, Method::DELETE, Method::HEAD] {
        let raw = t
            .send(method.clone(), &format!("{PROXY}/dir/f.txt/x"), b"")
            .await;
        assert_eq!(
            raw.status,
            StatusCode::NOT_FOUND,
            "{method}: {:?}",
            raw.body
        );
    }
    let raw = t
        .send(Method::PUT, &format!("{PROXY}/dir/f.txt/x"), b"y")
        .await;
    assert_eq!(raw.status, StatusCode::BAD_REQUEST, "PUT: {:?}", raw.json());
    let listing = t.app.get_q(PROXY, &[("path", "dir/f.txt/x")]).await;
    assert!(!listing.0.is_server_error(), "list: {listing:?}");
    // A path over a directory is refused too, without a 5xx.
    let raw = t.send(Method::PUT, &format!("{PROXY}/dir"), b"y").await;
    assert_eq!(
        raw.status,
        StatusCode::BAD_REQUEST,
        "PUT over a folder: {:?}",
        raw.json()
    );
}

/// A FIFO planted in the root is refused at once (it used to hang the request and leak a
/// blocking thread), and a hard link to a file outside the root — which no path check can see —
/// is refused because the file has several links.
#[tokio::test]
async fn fifos_and_hard_links_are_not_served() {
    let t = Target::new().await;
    let run_id = t.app.create_run("0").await;
    let run_root = t.run_root(&run_id).await;
    t.put(&format!("{run_root}/real.txt"), b"inside").await;
    let dir = t.root().join(&run_root);
    let made = std::process::Command::new("mkfifo")
        .arg(dir.join("pipe"))
        .status()
        .expect("mkfifo runs");
    assert!(made.success(), "mkfifo failed");
    std::fs::hard_link(t.dir().join("secret.txt"), dir.join("hard.txt")).expect("hard link");

    for name in ["pipe", "hard.txt"] {
        let path = format!("{run_root}/{name}");
        let uri = format!("{PROXY}/{path}");
        let read = t.send(Method::GET, &uri, b"");
        let raw = tokio::time::timeout(std::time::Duration::from_secs(20), read)
            .await
            .unwrap_or_else(|_| panic!("GET {path} hangs"));
        assert_refused(&raw, &format!("GET {path}"));
        let uri = format!(
            "/get-artifact?{}",
            query(&[("run_uuid", run_id.as_str()), ("path", name)])
        );
        let ui_read = t.send(Method::GET, &uri, b"");
        let raw = tokio::time::timeout(std::time::Duration::from_secs(20), ui_read)
            .await
            .unwrap_or_else(|_| panic!("get-artifact {path} hangs"));
        assert_refused(&raw, &format!("get-artifact {path}"));
    }
    // The regular file beside them is still served.
    let raw = t
        .send(Method::GET, &format!("{PROXY}/{run_root}/real.txt"), b"")
        .await;
    assert_eq!(
        (raw.status, raw.body.as_slice()),
        (StatusCode::OK, &b"inside"[..])
    );
}

#[tokio::test]
async fn symlinked_directory_is_never_followed_out_of_the_root() {
    let t = Target::new().await;
    let run_id = t.app.create_run("0").await;
    let run_root = t.run_root(&run_id).await;
    t.put(&format!("{run_root}/real.txt"), b"inside").await;
    let link = t.root().join(&run_root).join("dir");
    symlink(&t.outside(), &link);
    // Relative links resolve the same way; one more, to the root's parent.
    symlink(
        Path::new("../../../.."),
        &t.root().join(&run_root).join("up"),
    );

    for sub in ["dir/secret.txt", "up/secret.txt", "up/outside/secret.txt"] {
        let path = format!("{run_root}/{sub}");
        t.refused(Method::GET, &format!("{PROXY}/{path}")).await;
        t.refused(
            Method::GET,
            &format!(
                "/get-artifact?{}",
                query(&[("run_uuid", &run_id), ("path", sub)])
            ),
        )
        .await;
        // Overwriting a file below the link, or creating one there.
        t.refused(Method::PUT, &format!("{PROXY}/{path}")).await;
        t.refused(Method::PUT, &format!("{PROXY}/{run_root}/{sub}.new"))
            .await;
        t.refused(Method::DELETE, &format!("{PROXY}/{path}")).await;
    }
    t.refused(
        Method::PUT,
        &format!("{PROXY}/{run_root}/dir/new/deeper.txt"),
    )
    .await;

    // Listing through the links shows nothing of what lies outside.
    for (endpoint, params) in [
        (PROXY.to_owned(), vec![("path", format!("{run_root}/dir"))]),
        (PROXY.to_owned(), vec![("path", format!("{run_root}/up"))]),
        (
            "artifacts/list".to_owned(),
            vec![("run_id", run_id.clone()), ("path", "dir".to_owned())],
        ),
        (
            "artifacts/list".to_owned(),
            vec![("run_id", run_id.clone()), ("path", "up".to_owned())],
        ),
        (
            "artifacts/list".to_owned(),
            vec![("run_id", run_id.clone())],
        ),
    ] {
        let params: Vec<(&str, &str)> = params.iter().map(|(k, v)| (*k, v.as_str())).collect();
        let before = t.outside_snapshot();
        let (status, v) = t.app.get_q(&endpoint, &params).await;
        assert_eq!(before, t.outside_snapshot());
        let text = v.to_string();
        assert!(!text.contains("secret.txt"), "{endpoint} {params:?}: {v}");
        assert!(!text.contains("\"outside\""), "{endpoint} {params:?}: {v}");
        if status != StatusCode::OK {
            assert_refused_value(status, &v, &endpoint);
        }
    }

    // Deleting the directory link removes the link only.
    let before = t.outside_snapshot();
    let raw = t
        .send(Method::DELETE, &format!("{PROXY}/{run_root}/dir"), b"")
        .await;
    assert_eq!(raw.status, StatusCode::OK, "{:?}", raw.json());
    assert!(
        std::fs::symlink_metadata(&link).is_err(),
        "link still there"
    );
    assert_eq!(before, t.outside_snapshot());
    assert!(t.outside().join("secret.txt").exists());
}

fn assert_refused_value(status: StatusCode, v: &Value, context: &str) {
    assert!(
        status == StatusCode::BAD_REQUEST || status == StatusCode::NOT_FOUND,
        "{context}: {status} {v}"
    );
    assert_error_shape(v);
}

/// CVE-2023-30172 (`/get-artifact?path=../../...`): a run's reads and listings never reach
/// another run's folder, whatever the encoding.
#[tokio::test]
async fn a_run_cannot_read_or_list_another_runs_artifacts() {
    let t = Target::new().await;
    let exp = t.app.create_experiment("victims").await;
    let attacker = t.app.create_run(&exp).await;
    let victim = t.app.create_run(&exp).await;
    let victim_root = t.run_root(&victim).await;
    t.put(&format!("{victim_root}/secret.txt"), SECRET.as_bytes())
        .await;
    // The victim's file is really there and readable through its own run.
    let raw = t
        .send(
            Method::GET,
            &format!(
                "/get-artifact?{}",
                query(&[("run_uuid", &victim), ("path", "secret.txt")])
            ),
            b"",
        )
        .await;
    assert_eq!(raw.status, StatusCode::OK);
    assert_eq!(raw.body, SECRET.as_bytes());

    let to_victim = format!("../../{victim}/artifacts/secret.txt");
    let to_victim_dir = format!("../../{victim}/artifacts");
    let double_encoded = format!("%2e%2e/%2e%2e/{victim}/artifacts/secret.txt");
    for path in [
        to_victim.as_str(),
        &format!("x/../../../{victim}/artifacts/secret.txt"),
        &double_encoded,
        &format!("..\\..\\{victim}\\artifacts\\secret.txt"),
        &format!("/{victim_root}/secret.txt"),
        &format!("#/../../{victim}/artifacts/secret.txt"),
        "../../../../secret.txt",
    ] {
        for key in ["run_uuid", "run_id"] {
            t.refused(
                Method::GET,
                &format!(
                    "/get-artifact?{}",
                    query(&[(key, &attacker), ("path", path)])
                ),
            )
            .await;
        }
    }
    // The same with the query itself percent-encoded by hand (and twice).
    for raw_query in [
        format!("run_uuid={attacker}&path=..%2F..%2F{victim}%2Fartifacts%2Fsecret.txt"),
        format!(
            "run_uuid={attacker}&path=%252e%252e%252f%252e%252e%252f{victim}%252fartifacts%252fsecret.txt"
        ),
    ] {
        t.refused(Method::GET, &format!("/get-artifact?{raw_query}"))
            .await;
    }
    for path in ["..", "../..", "../../..", to_victim_dir.as_str(), ".", "/"] {
        t.refused(
            Method::GET,
            &format!(
                "{API}artifacts/list?{}",
                query(&[("run_id", &attacker), ("path", path)])
            ),
        )
        .await;
    }
    // A run ID is an ID, not a path.
    for run in [
        format!("../{victim}"),
        "..".to_owned(),
        format!("{attacker}/.."),
    ] {
        t.refused(
            Method::GET,
            &format!(
                "/get-artifact?{}",
                query(&[("run_uuid", &run), ("path", "secret.txt")])
            ),
        )
        .await;
        t.refused(
            Method::GET,
            &format!("{API}artifacts/list?{}", query(&[("run_id", &run)])),
        )
        .await;
    }
}

/// CVE-2023-6015 (arbitrary file PUT) and CVE-2023-6976 (arbitrary file write): an upload aimed
/// from a run's prefix at another run's files, or out of the root, lands nowhere.
#[tokio::test]
async fn uploads_cannot_overwrite_outside_their_target() {
    let t = Target::new().await;
    let exp = t.app.create_experiment("uploads").await;
    let attacker = t.app.create_run(&exp).await;
    let victim = t.app.create_run(&exp).await;
    let a_root = t.run_root(&attacker).await;
    let v_root = t.run_root(&victim).await;
    t.put(&format!("{v_root}/model.pkl"), b"genuine").await;

    for path in [
        format!("{a_root}/../../{victim}/artifacts/model.pkl"),
        format!("{a_root}/%2e%2e/%2e%2e/{victim}/artifacts/model.pkl"),
        format!("{a_root}/%252e%252e/%252e%252e/{victim}/artifacts/model.pkl"),
        format!("{a_root}/..%5C..%5C{victim}%5Cartifacts%5Cmodel.pkl"),
        format!("{a_root}/../../../../secret.txt"),
        format!("{a_root}/../../../../outside/secret.txt"),
        format!("{a_root}/../../../../pwned.txt"),
        format!("{a_root}/../../../../keel.db"),
        format!("{a_root}/x%00/../../../../../pwned.txt"),
    ] {
        t.refused(Method::PUT, &format!("{PROXY}/{path}")).await;
        // The ajax mount is the same handler.
        t.refused(
            Method::PUT,
            &format!("/ajax-api/2.0/mlflow-artifacts/artifacts/{path}"),
        )
        .await;
    }
    let raw = t
        .send(Method::GET, &format!("{PROXY}/{v_root}/model.pkl"), b"")
        .await;
    assert_eq!(raw.body, b"genuine", "the victim's model was overwritten");
    assert!(!t.dir().join("pwned.txt").exists());
    assert!(!t.root().join("pwned.txt").exists());
}

/// CVE-2023-6909, CVE-2024-1483, CVE-2024-2928, CVE-2024-3848, GHSA-m49c-5c52-6696 (`?`/`#` in
/// `artifact_location`), CVE-2023-6977 (`//proc/self/root`), CVE-2024-3573 (`file:` and
/// scheme-less URIs read as local paths), CVE-2024-8859 (`dbfs:/`): experiment artifact
/// locations that point outside the store. Keel, like the reference, refuses `#`, `?` and `;`
/// at creation; other locations are stored (the client may log there itself), but the server
/// serves and lists run artifacts only from its own `mlflow-artifacts:` store, so reads of such
/// runs are refused: never served from the local filesystem, not even where a planted file
/// waits at the spot the location names.
#[tokio::test]
async fn escaping_artifact_locations_are_never_served() {
    let t = Target::new().await;
    let outside = t.outside();
    let outside = outside.to_str().expect("utf-8 path").to_owned();
    let rejected_at_creation = [
        "http:///#/../../../../../../../../../../etc/".to_owned(),
        "http:///?/../../../../../../../../../../etc/".to_owned(),
        format!("file://{outside}#/../.."),
        format!("file://{outside}?x=../.."),
        format!("file://{outside};x"),
        "mlflow-artifacts:/0#/../..".to_owned(),
        "runs:/abc/artifacts".to_owned(),
        "a\0b".to_owned(),
    ];
    for location in &rejected_at_creation {
        let (status, v) = t
            .app
            .post(
                "experiments/create",
                json!({"name": format!("bad {location:?}"), "artifact_location": location}),
            )
            .await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{location:?}: {v}");
        assert_error_shape(&v);
    }

    let stored = [
        "file:///etc".to_owned(),
        format!("file://{outside}"),
        "/tmp/x".to_owned(),
        outside.clone(),
        "../x".to_owned(),
        "../outside".to_owned(),
        "//proc/self/environ".to_owned(),
        "//proc/self/root".to_owned(),
        "mlflow-artifacts:/../..".to_owned(),
        "mlflow-artifacts:/../outside".to_owned(),
        "mlflow-artifacts:/a/%2e%2e/b".to_owned(),
        "mlflow-artifacts:/%2e%2e/outside".to_owned(),
        "mlflow-artifacts:/%252e%252e/outside".to_owned(),
        "mlflow-artifacts://host/../outside".to_owned(),
        "mlflow-artifacts:/a\\..\\..\\outside".to_owned(),
        "s3://x/../y".to_owned(),
        "dbfs:/".to_owned(),
        "C:\\outside".to_owned(),
    ];
    for (i, location) in stored.iter().enumerate() {
        let (status, v) = t
            .app
            .post(
                "experiments/create",
                json!({"name": format!("loc-{i}"), "artifact_location": location}),
            )
            .await;
        if status != StatusCode::OK {
            // Refusing at creation is fine too.
            assert_eq!(status, StatusCode::BAD_REQUEST, "{location:?}: {v}");
            assert_error_shape(&v);
            continue;
        }
        let exp = v["experiment_id"].as_str().expect("experiment_id");
        let run = t.app.create_run(exp).await;
        // Plant the secret where a server that followed the location would look for the run's
        // files: beside the root, under the run's own ID.
        let planted = t.outside().join(&run).join("artifacts");
        std::fs::create_dir_all(&planted).expect("plant dir");
        std::fs::write(planted.join("secret.txt"), SECRET).expect("plant");
        for path in ["secret.txt", "passwd", "environ", ""] {
            t.refused(
                Method::GET,
                &format!(
                    "/get-artifact?{}",
                    query(&[("run_uuid", &run), ("path", path)])
                ),
            )
            .await;
        }
        for path in ["", ".", ".."] {
            let before = t.outside_snapshot();
            let (status, v) = t
                .app
                .get_q(
                    "artifacts/list",
                    &[("run_id", run.as_str()), ("path", path)],
                )
                .await;
            assert_eq!(before, t.outside_snapshot());
            assert_refused_value(status, &v, &format!("{location} list {path:?}"));
            assert!(!v.to_string().contains("secret.txt"), "{location}: {v}");
        }
    }
}

/// Listing the proxy root, or a folder, never names anything outside it; and the two mounts
/// of the proxy behave the same.
#[tokio::test]
async fn listings_stay_inside_the_root() {
    let t = Target::new().await;
    t.put("0/x/file.txt", b"x").await;
    for prefix in [
        "/api/2.0/mlflow-artifacts",
        "/ajax-api/2.0/mlflow-artifacts",
    ] {
        let (status, v) = t.app.get(&format!("{prefix}/artifacts")).await;
        assert_eq!(status, StatusCode::OK, "{v}");
        let names: Vec<Value> = array(&v["files"])
            .iter()
            .map(|f| f["path"].clone())
            .collect();
        assert_eq!(names, vec![json!("0")], "{v}");
        let (status, v) = t
            .app
            .get(&format!("{prefix}/artifacts?{}", query(&[("path", "0/x")])))
            .await;
        assert_eq!(status, StatusCode::OK, "{v}");
        assert_eq!(
            v["files"],
            json!([{"path": "file.txt", "is_dir": false, "file_size": 1}])
        );
        for path in ["..", "../outside", "/", "C:/", "0/x/../../.."] {
            t.refused(
                Method::GET,
                &format!("{prefix}/artifacts?{}", query(&[("path", path)])),
            )
            .await;
        }
    }
}

/// Multipart upload endpoints.
const MPU: &str = "/api/2.0/mlflow-artifacts/mpu";

impl Target {
    /// Starts a one-part upload of `name` into `dir`; returns the upload ID and the part's path.
    async fn mpu_create(&self, dir: &str, name: &str) -> (String, String) {
        let raw = self
            .send_body(
                Method::POST,
                &format!("{MPU}/create/{dir}"),
                Body::from(json!({"path": name, "num_parts": 1}).to_string()),
                true,
            )
            .await;
        let v = raw.json();
        assert_eq!(raw.status, StatusCode::OK, "mpu/create {dir}: {v}");
        let upload = v["upload_id"].as_str().expect("upload_id").to_owned();
        let url = v["credentials"][0]["url"].as_str().expect("url");
        let part = url
            .strip_prefix("http://localhost")
            .unwrap_or_else(|| panic!("part URL {url}"))
            .to_owned();
        (upload, part)
    }

    /// Uploads one part; returns its ETag.
    async fn mpu_part(&self, part_path: &str, bytes: &'static [u8]) -> String {
        let raw = self.send(Method::PUT, part_path, bytes).await;
        assert_eq!(raw.status, StatusCode::OK, "{:?}", raw.json());
        raw.headers["etag"].to_str().expect("etag").to_owned()
    }
}

/// The multipart upload endpoints: the folder in the URL, the file name in the body, the upload
/// ID and the part ETags (which name staged files on disk) never reach outside the root, the
/// staging area, or another upload's target.
#[tokio::test]
async fn multipart_uploads_cannot_escape_the_root() {
    let t = Target::new().await;
    // Control: a one-part upload lands where it should.
    let (upload, part) = t.mpu_create("0/mp", "/home/me/model.bin").await;
    let etag = t.mpu_part(&part, b"part-bytes").await;
    let complete = json!({
        "path": "/home/me/model.bin",
        "upload_id": upload,
        "parts": [{"part_number": 1, "etag": etag}],
    });
    let raw = t
        .send_body(
            Method::POST,
            &format!("{MPU}/complete/0/mp"),
            Body::from(complete.to_string()),
            true,
        )
        .await;
    assert_eq!(raw.status, StatusCode::OK, "{:?}", raw.json());
    let raw = t
        .send(Method::GET, &format!("{PROXY}/0/mp/model.bin"), b"")
        .await;
    assert_eq!(raw.body, b"part-bytes");

    let valid_id = "0123456789abcdef0123456789abcdef";
    let body = |name: &str, upload: &str, etag: &str| {
        json!({
            "path": name,
            "num_parts": 1,
            "upload_id": upload,
            "parts": [{"part_number": 1, "etag": etag}],
        })
    };
    // Folders that escape, or reach the staging area.
    for dir in [
        "..",
        "../outside",
        "0/../..",
        "%2e%2e/outside",
        "%252e%252e/outside",
        "..%5Coutside",
        "/etc",
        "C:/x",
        "x%23/../..",
        ".keel-mpu",
        "0/.keel-mpu",
        ".KEEL-mpu/x",
    ] {
        for op in ["create", "complete", "abort"] {
            t.refused_json(
                &format!("{MPU}/{op}/{dir}"),
                body("/tmp/f.bin", valid_id, "\"x\""),
            )
            .await;
        }
    }
    // File names (the base name of the client's path) that escape.
    for name in [
        "..",
        "/tmp/..",
        "C:\\Users\\..",
        "/tmp/dir/",
        "",
        ".keel-mpu",
        "/tmp/.keel-upload-x",
        "x\u{0}y",
        "a%2f..",
    ] {
        t.refused_json(&format!("{MPU}/create/0/mp"), body(name, valid_id, "\"x\""))
            .await;
    }
    // Upload IDs that are paths.
    let (upload, part) = t.mpu_create("0/mp2", "/tmp/f.bin").await;
    let etag = t.mpu_part(&part, b"staged").await;
    for id in [
        "..".to_owned(),
        "../../outside".to_owned(),
        "%2e%2e".to_owned(),
        ".keel-mpu".to_owned(),
        upload.to_uppercase(),
        format!("{upload}/.."),
        format!("../{upload}"),
    ] {
        t.refused(Method::PUT, &format!("{MPU}/part/{id}/1")).await;
        for op in ["complete", "abort"] {
            t.refused_json(&format!("{MPU}/{op}/0/mp2"), body("/tmp/f.bin", &id, &etag))
                .await;
        }
    }
    for number in ["0", "..", "-1", "99999", "1%2F..", "%2e%2e"] {
        t.refused(Method::PUT, &format!("{MPU}/part/{upload}/{number}"))
            .await;
    }
    // ETags name the staged part files: a path there must not pull a file into the artifact.
    for bad in [
        "../../../../secret.txt",
        "\"../../../../../secret.txt\"",
        "../../../../outside/secret.txt",
        "/etc/passwd",
        "..",
    ] {
        t.refused_json(
            &format!("{MPU}/complete/0/mp2"),
            body("/tmp/f.bin", &upload, bad),
        )
        .await;
    }
    // The upload was started for 0/mp2/f.bin: completing it into another target is refused.
    t.put("0/victim/f.bin", b"genuine").await;
    for (dir, name) in [("0/victim", "/tmp/f.bin"), ("0/mp2", "/tmp/other.bin")] {
        t.refused_json(&format!("{MPU}/complete/{dir}"), body(name, &upload, &etag))
            .await;
        t.refused_json(&format!("{MPU}/abort/{dir}"), body(name, &upload, &etag))
            .await;
    }
    let raw = t
        .send(Method::GET, &format!("{PROXY}/0/victim/f.bin"), b"")
        .await;
    assert_eq!(raw.body, b"genuine", "another target was overwritten");
    for path in ["0/mp2/f.bin", "0/mp2/secret.txt"] {
        let raw = t.send(Method::GET, &format!("{PROXY}/{path}"), b"").await;
        assert_eq!(
            raw.status,
            StatusCode::NOT_FOUND,
            "{path}: {:?}",
            raw.json()
        );
    }
    // The staging area is out of reach of the plain artifact endpoints too.
    for path in [
        ".keel-mpu".to_owned(),
        format!(".keel-mpu/{upload}/upload.json"),
        format!(".keel-mpu/{upload}/1"),
    ] {
        t.refused_everywhere(&path, &path).await;
    }
    // The untouched upload still completes: nothing above disturbed it.
    let complete = body("/tmp/f.bin", &upload, &etag);
    let raw = t
        .send_body(
            Method::POST,
            &format!("{MPU}/complete/0/mp2"),
            Body::from(complete.to_string()),
            true,
        )
        .await;
    assert_eq!(raw.status, StatusCode::OK, "{:?}", raw.json());
    let raw = t
        .send(Method::GET, &format!("{PROXY}/0/mp2/f.bin"), b"")
        .await;
    assert_eq!(raw.body, b"staged");
}

/// Runs of an experiment located at the artifact root itself (`mlflow-artifacts:/`) must still
/// get a folder each: joining `mlflow-artifacts:/` + `/<run>` once made `mlflow-artifacts://<run>`,
/// whose "host" part was dropped, so every such run shared one folder.
#[tokio::test]
async fn runs_of_an_experiment_at_the_root_get_separate_folders() {
    let t = Target::new().await;
    let created = t
        .app
        .ok_post(
            "/api/2.0/mlflow/experiments/create",
            serde_json::json!({"name": "at-root", "artifact_location": "mlflow-artifacts:/"}),
        )
        .await;
    let exp = created["experiment_id"].as_str().expect("id").to_owned();
    let first = t.app.create_run(&exp).await;
    let second = t.app.create_run(&exp).await;
    let first_root = t.run_root(&first).await;
    assert_eq!(first_root, format!("{first}/artifacts"));
    assert_eq!(t.run_root(&second).await, format!("{second}/artifacts"));
    t.put(&format!("{first_root}/secret.txt"), SECRET.as_bytes())
        .await;
    let raw = t
        .send(
            Method::GET,
            &format!(
                "/get-artifact?{}",
                query(&[("run_uuid", &second), ("path", "secret.txt")])
            ),
            b"",
        )
        .await;
    assert_eq!(raw.status, StatusCode::NOT_FOUND, "{:?}", raw.json());
}
