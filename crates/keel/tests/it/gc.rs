//! `keel gc` on a real data directory: dry runs change nothing, age limits hold, and a real run
//! removes deleted runs and experiments with their artifacts while sparing everything else.

use crate::process::{free_port, request, start, terminate, wait_healthy};
use crate::{keel, stderr, stdout};

fn post(port: u16, path: &str, body: &str) -> String {
    let (status, text) = request(
        port,
        "POST",
        &format!("/api/2.0/mlflow/{path}"),
        Some("application/json"),
        body.as_bytes(),
    )
    .expect("request");
    assert_eq!(status, 200, "{path}: {text}");
    text
}

fn field(json: &str, key: &str) -> String {
    let at = json
        .find(&format!("\"{key}\":\""))
        .unwrap_or_else(|| panic!("{key} in {json}"));
    json[at + key.len() + 4..]
        .split('"')
        .next()
        .unwrap_or_default()
        .to_owned()
}

fn upload(port: u16, path: &str) {
    let (status, text) = request(
        port,
        "PUT",
        &format!("/api/2.0/mlflow-artifacts/artifacts/{path}"),
        None,
        b"data",
    )
    .expect("upload");
    assert_eq!(status, 200, "{text}");
}

#[test]
fn gc_removes_only_what_was_deleted_long_enough_ago() {
    let dir = tempfile::tempdir().expect("tempdir");
    let port = free_port();
    let mut server = start(dir.path(), port);
    wait_healthy(port);
    let exp = field(
        &post(port, "experiments/create", r#"{"name":"doomed"}"#),
        "experiment_id",
    );
    let doomed_run = field(
        &post(
            port,
            "runs/create",
            &format!(r#"{{"experiment_id":"{exp}"}}"#),
        ),
        "run_id",
    );
    let deleted_run = field(
        &post(port, "runs/create", r#"{"experiment_id":"0"}"#),
        "run_id",
    );
    let kept_run = field(
        &post(port, "runs/create", r#"{"experiment_id":"0"}"#),
        "run_id",
    );
    let model_id = |body: &str| {
        let created = post(port, "logged-models", body);
        let start = created.find("\"model_id\":\"").expect("model_id") + 12;
        created[start..start + 34].to_owned()
    };
    let deleted_model = model_id(r#"{"experiment_id":"0"}"#);
    let kept_model = model_id(r#"{"experiment_id":"0"}"#);
    upload(port, &format!("0/models/{deleted_model}/artifacts/MLmodel"));
    upload(port, &format!("0/models/{kept_model}/artifacts/MLmodel"));
    let deleted = request(
        port,
        "DELETE",
        &format!("/api/2.0/mlflow/logged-models/{deleted_model}"),
        None,
        b"",
    );
    assert_eq!(deleted.map(|(s, _)| s), Some(200));
    upload(port, &format!("{exp}/{doomed_run}/artifacts/a.txt"));
    upload(port, &format!("0/{deleted_run}/artifacts/b.txt"));
    upload(port, &format!("0/{kept_run}/artifacts/c.txt"));
    post(
        port,
        "runs/delete",
        &format!(r#"{{"run_id":"{deleted_run}"}}"#),
    );
    post(
        port,
        "experiments/delete",
        &format!(r#"{{"experiment_id":"{exp}"}}"#),
    );
    terminate(&mut server);

    let artifacts = dir.path().join("keel-data/artifacts");
    let exists = |p: String| artifacts.join(p).exists();

    let dry = keel(dir.path(), &["gc", "--dry-run"], &[]);
    assert!(dry.status.success(), "{}", stderr(&dry));
    let listed = stdout(&dry);
    assert!(
        listed.contains("would remove 1 experiment(s), 2 run(s) and 1 logged model(s)"),
        "{listed}"
    );
    assert!(
        listed.contains(&doomed_run)
            && listed.contains(&deleted_run)
            && !listed.contains(&kept_run)
            && listed.contains(&deleted_model)
            && !listed.contains(&kept_model)
    );
    assert!(
        exists(format!("0/{deleted_run}/artifacts/b.txt")),
        "dry run changes nothing"
    );

    let young = keel(dir.path(), &["gc", "--older-than", "1d"], &[]);
    assert!(young.status.success(), "{}", stderr(&young));
    assert!(
        stdout(&young).contains("removed 0 experiment(s), 0 run(s) and 0 logged model(s)"),
        "{}",
        stdout(&young)
    );

    let real = keel(dir.path(), &["gc"], &[]);
    assert!(real.status.success(), "{}", stderr(&real));
    assert!(
        stdout(&real).contains("removed 1 experiment(s), 2 run(s) and 1 logged model(s)"),
        "{}",
        stdout(&real)
    );
    assert!(
        !exists(format!("0/{deleted_run}")),
        "deleted run's artifacts removed"
    );
    assert!(
        !exists(exp.clone()),
        "deleted experiment's artifacts removed"
    );
    assert!(
        exists(format!("0/{kept_run}/artifacts/c.txt")),
        "live run's artifacts kept"
    );
    assert!(
        !exists(format!("0/models/{deleted_model}")),
        "deleted logged model's artifacts removed"
    );
    assert!(
        exists(format!("0/models/{kept_model}/artifacts/MLmodel")),
        "live logged model's artifacts kept"
    );

    let port = free_port();
    let mut server = start(dir.path(), port);
    wait_healthy(port);
    let gone = |path: String| request(port, "GET", &path, None, b"").map(|(s, _)| s);
    assert_eq!(
        gone(format!("/api/2.0/mlflow/runs/get?run_id={deleted_run}")),
        Some(404)
    );
    assert_eq!(
        gone(format!("/api/2.0/mlflow/runs/get?run_id={doomed_run}")),
        Some(404)
    );
    assert_eq!(
        gone(format!(
            "/api/2.0/mlflow/experiments/get?experiment_id={exp}"
        )),
        Some(404)
    );
    assert_eq!(
        gone(format!("/api/2.0/mlflow/runs/get?run_id={kept_run}")),
        Some(200)
    );
    terminate(&mut server);
}

#[test]
fn gc_rejects_malformed_ages() {
    let dir = tempfile::tempdir().expect("tempdir");
    let out = keel(dir.path(), &["gc", "--older-than", "3 weeks"], &[]);
    assert!(!out.status.success());
    assert!(stderr(&out).contains("invalid age"), "{}", stderr(&out));
}

/// Posts one OTLP/JSON span (a root) of trace `trace_hex` that started `age_ms` ago.
fn export_trace(port: u16, trace_hex: &str, age_ms: u64) {
    let now_ns = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("clock")
        .as_nanos();
    let start = now_ns - u128::from(age_ms) * 1_000_000;
    let body = format!(
        r#"{{"resourceSpans":[{{"scopeSpans":[{{"spans":[{{"traceId":"{trace_hex}",
        "spanId":"0102030405060708","name":"root","startTimeUnixNano":"{start}",
        "endTimeUnixNano":"{end}"}}]}}]}}]}}"#,
        end = start + 1_000_000
    );
    let req = format!(
        "POST /v1/traces HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n\
         x-mlflow-experiment-id: 0\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    use std::io::{Read, Write};
    let mut stream = std::net::TcpStream::connect(("127.0.0.1", port)).expect("connect");
    stream.write_all(req.as_bytes()).expect("send");
    let mut response = String::new();
    stream.read_to_string(&mut response).expect("read");
    assert!(response.starts_with("HTTP/1.1 200"), "{response}");
}

#[test]
fn gc_removes_traces_past_their_retention() {
    let dir = tempfile::tempdir().expect("tempdir");
    let port = free_port();
    let mut server = start(dir.path(), port);
    wait_healthy(port);
    let (old, young) = ("aa".repeat(16), "bb".repeat(16));
    export_trace(port, &old, 3 * 86_400_000);
    export_trace(port, &young, 60_000);
    terminate(&mut server);

    let dry = keel(
        dir.path(),
        &["gc", "--traces-older-than", "2d", "--dry-run"],
        &[],
    );
    assert!(dry.status.success(), "{}", stderr(&dry));
    assert!(
        stdout(&dry).contains("would remove 1 trace(s)"),
        "{}",
        stdout(&dry)
    );
    assert!(stdout(&dry).contains(&old), "{}", stdout(&dry));
    let real = keel(dir.path(), &["gc", "--traces-older-than", "2d"], &[]);
    assert!(real.status.success(), "{}", stderr(&real));
    assert!(
        stdout(&real).contains("removed 1 trace(s)"),
        "{}",
        stdout(&real)
    );
    let bad = keel(dir.path(), &["gc", "--traces-older-than", "soon"], &[]);
    assert!(!bad.status.success());

    let port = free_port();
    let mut server = start(dir.path(), port);
    wait_healthy(port);
    let status = |hex: &str| {
        request(
            port,
            "GET",
            &format!("/api/3.0/mlflow/traces/tr-{hex}"),
            None,
            b"",
        )
        .map(|(s, _)| s)
    };
    assert_eq!(status(&old), Some(404));
    assert_eq!(status(&young), Some(200));
    terminate(&mut server);
}
