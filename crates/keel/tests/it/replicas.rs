//! Two `keel server` processes sharing one PostgreSQL database under concurrent load: no client
//! sees an error, and every acknowledged write is readable through both processes.
//!
//! Needs PostgreSQL on 127.0.0.1:5432 (trust auth; `KEEL_TEST_POSTGRES_URL` overrides the admin
//! URL). Without it the test says it is skipped; with `CI=true` it fails instead.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::Mutex;

use serde_json::{Value, json};

use crate::process::{free_port, request, terminate, wait_healthy};

const DEFAULT_ADMIN_URL: &str = "postgresql://postgres@127.0.0.1:5432/test";
const WORKERS_PER_PROCESS: usize = 16;
const ROUNDS: usize = 12;
const SHARED_RUNS: usize = 4;

fn admin_url() -> String {
    std::env::var("KEEL_TEST_POSTGRES_URL").unwrap_or_else(|_| DEFAULT_ADMIN_URL.to_owned())
}

/// Runs one SQL statement with `psql` against the admin database.
fn psql(sql: &str) -> Result<(), String> {
    let out = Command::new("psql")
        .args([&admin_url(), "-v", "ON_ERROR_STOP=1", "-Atqc", sql])
        .output()
        .map_err(|e| format!("cannot run psql: {e}"))?;
    if out.status.success() {
        Ok(())
    } else {
        Err(String::from_utf8_lossy(&out.stderr).into_owned())
    }
}

/// A fresh database, dropped with the guard.
struct Database {
    name: String,
}

impl Database {
    /// `None` (the test is skipped) when PostgreSQL is unreachable and CI is not set.
    fn create() -> Option<Self> {
        if let Err(e) = psql("SELECT 1") {
            assert!(
                std::env::var("CI").as_deref() != Ok("true"),
                "PostgreSQL is required under CI=true but is not reachable: {e}"
            );
            eprintln!("skipped: PostgreSQL not reachable at {}: {e}", admin_url());
            return None;
        }
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.subsec_nanos())
            .unwrap_or(0);
        let name = format!("keel_replicas_{}_{nanos}", std::process::id());
        psql(&format!("CREATE DATABASE {name}")).expect("create database");
        Some(Self { name })
    }

    fn uri(&self) -> String {
        let admin = admin_url();
        let base = admin.rsplit_once('/').map_or(admin.as_str(), |(b, _)| b);
        format!("{base}/{}", self.name)
    }
}

impl Drop for Database {
    fn drop(&mut self) {
        let _ = psql(&format!(
            "DROP DATABASE IF EXISTS {} WITH (FORCE)",
            self.name
        ));
    }
}

fn start(dir: &std::path::Path, port: u16, store_uri: &str, audit_key: &Path) -> Child {
    Command::new(env!("CARGO_BIN_EXE_keel"))
        .current_dir(dir)
        .args(["server", "--port", &port.to_string()])
        .args(["--backend-store-uri", store_uri])
        .arg("--audit-signing-key")
        .arg(audit_key)
        .env_remove("KEEL_CONFIG")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn keel server")
}

fn call(port: u16, method: &str, path: &str, body: &Value) -> (u16, Value) {
    let bytes = body.to_string();
    let (status, text) = request(
        port,
        method,
        &format!("/api/2.0/mlflow/{path}"),
        Some("application/json"),
        bytes.as_bytes(),
    )
    .unwrap_or_else(|| panic!("no answer from port {port} to {path}"));
    (status, serde_json::from_str(&text).unwrap_or(Value::Null))
}

fn ok(port: u16, method: &str, path: &str, body: Value) -> Value {
    let (status, value) = call(port, method, path, &body);
    assert_eq!(status, 200, "{path} on port {port}: {value}");
    value
}

/// What the workers had acknowledged: params per run, metric steps per (run, key), tags set,
/// runs created, and every non-200 answer.
#[derive(Default)]
struct Acked {
    params: BTreeMap<String, BTreeSet<String>>,
    steps: BTreeMap<(String, String), BTreeSet<i64>>,
    created_runs: Vec<String>,
    errors: Vec<String>,
}

fn worker(port: u16, id: usize, experiment_id: &str, runs: &[String], acked: &Mutex<Acked>) {
    for round in 0..ROUNDS {
        let run = &runs[(id + round) % runs.len()];
        let key = format!("m{id}");
        let param = format!("p{id}_{round}");
        let body = json!({
            "run_id": run,
            "metrics": [{"key": key, "value": round, "timestamp": 1_700_000_000_000_i64 + round as i64, "step": round}],
            "params": [{"key": param, "value": "v"}],
            "tags": [{"key": "shared", "value": format!("worker {id}")}],
        });
        let (status, answer) = call(port, "POST", "runs/log-batch", &body);
        let mut a = acked.lock().expect("lock");
        if status == 200 {
            a.params.entry(run.clone()).or_default().insert(param);
            a.steps
                .entry((run.clone(), key))
                .or_default()
                .insert(round as i64);
        } else {
            a.errors.push(format!("log-batch {status}: {answer}"));
        }
        drop(a);
        if round % 4 == 0 {
            let (status, answer) = call(
                port,
                "POST",
                "runs/create",
                &json!({"experiment_id": experiment_id, "tags": [{"key": "by", "value": id.to_string()}]}),
            );
            let mut a = acked.lock().expect("lock");
            match answer["run"]["info"]["run_id"].as_str() {
                Some(run_id) if status == 200 => a.created_runs.push(run_id.to_owned()),
                _ => a.errors.push(format!("runs/create {status}: {answer}")),
            }
        }
    }
}

#[test]
fn two_processes_share_one_database_without_losing_writes() {
    let Some(db) = Database::create() else {
        return;
    };
    let uri = db.uri();
    let (dir_a, dir_b) = (
        tempfile::tempdir().expect("dir"),
        tempfile::tempdir().expect("dir"),
    );
    let (port_a, port_b) = (free_port(), free_port());
    // Replicas share the audit log's signing key.
    let key = dir_a.path().join("audit.pem");
    std::fs::write(
        &key,
        keel_audit::note::NoteSigner::generate_pem().expect("key"),
    )
    .expect("write key");
    // Both start at once: migrations run under an advisory lock, so neither trips on the other.
    let mut a = start(dir_a.path(), port_a, &uri, &key);
    let mut b = start(dir_b.path(), port_b, &uri, &key);
    wait_healthy(port_a);
    wait_healthy(port_b);

    let created = ok(
        port_a,
        "POST",
        "experiments/create",
        json!({"name": "replicas"}),
    );
    let experiment_id = created["experiment_id"].as_str().expect("id").to_owned();
    let runs: Vec<String> = (0..SHARED_RUNS)
        .map(|i| {
            let port = if i % 2 == 0 { port_a } else { port_b };
            ok(
                port,
                "POST",
                "runs/create",
                json!({"experiment_id": experiment_id}),
            )["run"]["info"]["run_id"]
                .as_str()
                .expect("run id")
                .to_owned()
        })
        .collect();

    let acked = Mutex::new(Acked::default());
    std::thread::scope(|scope| {
        for id in 0..2 * WORKERS_PER_PROCESS {
            let port = if id % 2 == 0 { port_a } else { port_b };
            let (experiment_id, runs, acked) = (&experiment_id, &runs, &acked);
            scope.spawn(move || worker(port, id, experiment_id, runs, acked));
        }
        // Meanwhile both processes race to create the same experiment name: one wins, the
        // other gets RESOURCE_ALREADY_EXISTS, never a 500.
        let race: Vec<(u16, Value)> = [port_a, port_b]
            .map(|port| {
                scope.spawn(move || {
                    call(
                        port,
                        "POST",
                        "experiments/create",
                        &json!({"name": "contested"}),
                    )
                })
            })
            .into_iter()
            .map(|h| h.join().expect("join"))
            .collect();
        let winners = race.iter().filter(|(s, _)| *s == 200).count();
        assert_eq!(winners, 1, "{race:?}");
        assert!(
            race.iter()
                .any(|(s, v)| *s == 400 && v["error_code"] == "RESOURCE_ALREADY_EXISTS"),
            "{race:?}"
        );
    });

    let acked = acked.into_inner().expect("lock");
    assert!(
        acked.errors.is_empty(),
        "clients saw errors: {:#?}",
        acked.errors
    );
    for port in [port_a, port_b] {
        for run in &runs {
            let got = ok(port, "GET", &format!("runs/get?run_id={run}"), Value::Null);
            let params: BTreeSet<String> = got["run"]["data"]["params"]
                .as_array()
                .expect("params")
                .iter()
                .filter_map(|p| p["key"].as_str().map(str::to_owned))
                .collect();
            assert!(
                acked.params[run].is_subset(&params),
                "run {run} via port {port} lost params"
            );
        }
        for ((run, key), steps) in &acked.steps {
            let history = ok(
                port,
                "GET",
                &format!("metrics/get-history?run_id={run}&metric_key={key}"),
                Value::Null,
            );
            let got: BTreeSet<i64> = history["metrics"]
                .as_array()
                .expect("metrics")
                .iter()
                .filter_map(|m| m["step"].as_i64())
                .collect();
            assert_eq!(&got, steps, "history of {key} in {run} via port {port}");
        }
        for run in &acked.created_runs {
            ok(port, "GET", &format!("runs/get?run_id={run}"), Value::Null);
        }
    }
    assert_eq!(
        acked.created_runs.len(),
        2 * WORKERS_PER_PROCESS * ROUNDS.div_ceil(4)
    );
    terminate(&mut a);
    terminate(&mut b);
    assert_one_verifiable_audit_log(&uri, dir_a.path(), &key, &acked.created_runs);
}

/// Both processes wrote one gapless audit log: its export verifies, and every run a client
/// was told was created has the entry of its creation.
fn assert_one_verifiable_audit_log(uri: &str, dir: &Path, key: &Path, created: &[String]) {
    let bundle = dir.join("bundle");
    let exported = Command::new(env!("CARGO_BIN_EXE_keel"))
        .current_dir(dir)
        .args(["audit", "export", "--backend-store-uri", uri, "--out"])
        .arg(&bundle)
        .arg("--audit-signing-key")
        .arg(key)
        .env_remove("KEEL_CONFIG")
        .output()
        .expect("export");
    assert!(
        exported.status.success(),
        "{}",
        String::from_utf8_lossy(&exported.stderr)
    );
    let verified = Command::new(env!("CARGO_BIN_EXE_keel"))
        .args(["audit", "verify"])
        .arg(&bundle)
        .output()
        .expect("verify");
    assert!(
        verified.status.success(),
        "{}",
        String::from_utf8_lossy(&verified.stderr)
    );
    let entries = std::fs::read_to_string(bundle.join("entries.jsonl")).expect("entries");
    let logged: BTreeSet<String> = entries
        .lines()
        .map(|line| serde_json::from_str::<Value>(line).expect("json"))
        .filter(|e| e["action"] == "runs.create" && e["outcome"] == "success")
        .filter_map(|e| e["resource"]["id"].as_str().map(str::to_owned))
        .collect();
    for run in created {
        assert!(
            logged.contains(run),
            "run {run} was created without its audit entry"
        );
    }
}
