//! A real S3-compatible server for the object-store tests: `moto_server` (PyPI `moto[server]`,
//! pinned in e2e/requirements.txt) on a free loopback port, started once per test run.
//!
//! Found through `KEEL_TEST_MOTO` (a path; scripts/test.sh points it at the venv's), then
//! `.venv/bin/moto_server` in the workspace, then `PATH`. Without it the S3 tests print why and
//! pass vacuously, except under CI (`CI` set), where a missing moto fails them. The server runs
//! under a small shell watchdog that kills it when this test process exits and closes the pipe.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::PathBuf;
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::{Mutex, OnceLock};
use std::time::{Duration, Instant};

/// A running moto server with one bucket.
pub struct Moto {
    pub endpoint: String,
    pub bucket: String,
    /// Closing this pipe (at process exit) makes the watchdog stop moto.
    _watchdog_stdin: Mutex<ChildStdin>,
    _watchdog: Mutex<Child>,
}

/// Runs moto, kills it once stdin reaches end of file, and exits when moto does.
const WATCHDOG: &str = r#"exec 3<&0
"$0" -H 127.0.0.1 -p "$1" >"$2" 2>&1 </dev/null &
moto=$!
{ read -r _ <&3; kill "$moto" 2>/dev/null; } &
reader=$!
wait "$moto"
kill "$reader" 2>/dev/null"#;

const BUCKET: &str = "keel-test";

/// The shared server, or `None` (after printing why) when moto is unavailable outside CI.
pub fn server() -> Option<&'static Moto> {
    static SERVER: OnceLock<Result<Option<Moto>, String>> = OnceLock::new();
    match SERVER.get_or_init(start) {
        Ok(moto) => moto.as_ref(),
        Err(why) => panic!("{why}"),
    }
}

fn in_ci() -> bool {
    std::env::var("CI").is_ok_and(|v| !v.is_empty() && v != "0" && v != "false")
}

fn find_moto() -> Option<PathBuf> {
    let workspace = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..");
    if let Some(path) = std::env::var_os("KEEL_TEST_MOTO").filter(|p| !p.is_empty()) {
        // Relative to the workspace root (tests run in the crate's folder).
        return Some(workspace.join(path));
    }
    let venv = workspace.join(".venv/bin/moto_server");
    if venv.is_file() {
        return Some(venv);
    }
    std::env::split_paths(&std::env::var_os("PATH")?)
        .map(|dir| dir.join("moto_server"))
        .find(|p| p.is_file())
}

/// Starts moto; `Err` (failing every S3 test) if it is missing under CI or does not come up.
fn start() -> Result<Option<Moto>, String> {
    let Some(moto) = find_moto() else {
        let why = "moto_server not found (set KEEL_TEST_MOTO, or run scripts/test.sh once to \
                   create .venv with e2e/requirements.txt)";
        if in_ci() {
            return Err(format!("S3 tests cannot run under CI: {why}"));
        }
        // Straight to stderr: libtest captures `eprintln!` of passing tests.
        let _ = writeln!(std::io::stderr(), "skipping S3 artifact store tests: {why}");
        return Ok(None);
    };
    let port = free_port();
    let log = std::env::temp_dir().join(format!("keel-moto-{port}.log"));
    let mut watchdog = Command::new("sh")
        .arg("-c")
        .arg(WATCHDOG)
        .arg(&moto)
        .arg(port.to_string())
        .arg(&log)
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .map_err(|e| format!("cannot start {}: {e}", moto.display()))?;
    let stdin = watchdog
        .stdin
        .take()
        .ok_or_else(|| "no pipe to the moto watchdog".to_owned())?;
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        if let Ok(200) = http(port, "PUT", &format!("/{BUCKET}")) {
            break;
        }
        let exited = watchdog.try_wait().ok().flatten().is_some();
        if exited || Instant::now() > deadline {
            drop(stdin);
            let _ = watchdog.wait();
            let output = std::fs::read_to_string(&log).unwrap_or_default();
            return Err(format!(
                "moto_server ({}) did not come up on port {port}; its output:\n{output}",
                moto.display()
            ));
        }
        std::thread::sleep(Duration::from_millis(200));
    }
    Ok(Some(Moto {
        endpoint: format!("http://127.0.0.1:{port}"),
        bucket: BUCKET.to_owned(),
        _watchdog_stdin: Mutex::new(stdin),
        _watchdog: Mutex::new(watchdog),
    }))
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("free port")
}

/// The status of a bodiless request (moto accepts unsigned requests).
fn http(port: u16, method: &str, path: &str) -> std::io::Result<u16> {
    let mut stream = TcpStream::connect(("127.0.0.1", port))?;
    stream.set_read_timeout(Some(Duration::from_secs(10)))?;
    write!(
        stream,
        "{method} {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nContent-Length: 0\r\n\
         Connection: close\r\n\r\n"
    )?;
    let mut response = String::new();
    stream.read_to_string(&mut response)?;
    response
        .split_whitespace()
        .nth(1)
        .and_then(|code| code.parse().ok())
        .ok_or_else(|| std::io::Error::other(format!("bad response: {response:.200}")))
}
