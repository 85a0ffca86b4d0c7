//! The audit log from the command line: account and token changes made with `keel users` and
//! `keel tokens` are recorded as the operator's, `keel audit export` and `verify` round-trip,
//! and a server refuses to sign a log first signed with another key.

use std::path::Path;
use std::process::Output;

use serde_json::Value;

use crate::process::{free_port, start, terminate, wait_healthy};
use crate::{keel, stderr, stdout};

/// `keel audit export` of the server data in `dir` into `bundle`.
fn export(dir: &Path, bundle: &Path) -> Output {
    keel(
        dir,
        &["audit", "export", "--out", bundle.to_str().expect("utf-8")],
        &[],
    )
}

/// `keel audit verify` of `bundle`.
fn verify(dir: &Path, bundle: &Path) -> Output {
    keel(
        dir,
        &["audit", "verify", bundle.to_str().expect("utf-8")],
        &[],
    )
}

#[test]
fn command_line_changes_are_recorded_and_the_export_verifies() {
    let dir = tempfile::tempdir().expect("dir");
    let created = keel(
        dir.path(),
        &["users", "create", "robot", "--service-account"],
        &[],
    );
    assert!(created.status.success(), "{}", stderr(&created));
    let token = keel(
        dir.path(),
        &["tokens", "create", "robot", "--name", "ci"],
        &[],
    );
    assert!(token.status.success(), "{}", stderr(&token));

    let bundle = dir.path().join("bundle");
    let exported = export(dir.path(), &bundle);
    assert!(exported.status.success(), "{}", stderr(&exported));
    let entries: Vec<Value> = std::fs::read_to_string(bundle.join("entries.jsonl"))
        .expect("entries")
        .lines()
        .map(|l| serde_json::from_str(l).expect("json"))
        .collect();
    let commands: Vec<(&str, &str)> = entries
        .iter()
        .filter(|e| e["event"] == "command")
        .map(|e| {
            assert_eq!(e["actor"]["kind"], "operator");
            assert_eq!(e["outcome"], "success");
            (
                e["action"].as_str().unwrap_or_default(),
                e["resource"]["id"].as_str().unwrap_or_default(),
            )
        })
        .collect();
    assert_eq!(
        commands,
        [
            ("accounts.create", "robot"),
            ("credentials.change", "robot")
        ]
    );
    let verified = verify(dir.path(), &bundle);
    assert!(verified.status.success(), "{}", stderr(&verified));
    assert!(
        stdout(&verified).starts_with("OK: 2 entries"),
        "{}",
        stdout(&verified)
    );
    // A malformed or missing pinned key is an error naming the file, not a verdict.
    let garbage = dir.path().join("garbage.vkey");
    std::fs::write(&garbage, "not a key\n").expect("write");
    for key in [garbage.clone(), dir.path().join("missing.vkey")] {
        let refused = keel(
            dir.path(),
            &[
                "audit",
                "verify",
                bundle.to_str().expect("utf-8"),
                "--key",
                key.to_str().expect("utf-8"),
            ],
            &[],
        );
        assert!(!refused.status.success());
        assert!(stderr(&refused).contains("key"), "{}", stderr(&refused));
    }
    // With the audit log off there is nothing to export.
    let off = keel(
        dir.path(),
        &["audit", "export", "--out", "elsewhere", "--audit-log=false"],
        &[],
    );
    assert!(!off.status.success());
    assert!(stderr(&off).contains("turned off"), "{}", stderr(&off));
    // Exporting into a bundle that exists is refused (nothing is overwritten).
    let again = export(dir.path(), &bundle);
    assert!(!again.status.success());
}

#[test]
fn a_server_refuses_a_signing_key_other_than_the_logs() {
    let dir = tempfile::tempdir().expect("dir");
    let port = free_port();
    let mut first = start(dir.path(), port);
    wait_healthy(port);
    terminate(&mut first);
    let other = dir.path().join("other.pem");
    std::fs::write(
        &other,
        keel_audit::note::NoteSigner::generate_pem().expect("key"),
    )
    .expect("write key");
    let refused = keel(
        dir.path(),
        &[
            "server",
            "--port",
            &free_port().to_string(),
            "--audit-signing-key",
            other.to_str().expect("utf-8"),
        ],
        &[],
    );
    assert!(!refused.status.success());
    assert!(
        stderr(&refused).contains("signed by the key"),
        "{}",
        stderr(&refused)
    );
}

/// Appends `old` entries recorded 300 days ago to the log of the server data in `dir`, signs
/// a checkpoint and prunes them with a 200-day retention, as a server's sequencer would.
fn prune_old_entries(dir: &std::path::Path, old: usize) {
    use keel_core::audit::{
        Actor, AuditLog, AuditRecord, AuditSettings, EventKind, Outcome, Resource,
    };
    use keel_core::clock::{Clock, SystemClock};

    let data = dir.join("keel-data");
    std::fs::create_dir_all(&data).expect("data dir");
    let pem = keel_audit::note::NoteSigner::generate_pem().expect("key");
    std::fs::write(data.join("audit-signing.pem"), &pem).expect("key file");
    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    runtime.block_on(async {
        let uri =
            keel_store::StoreUri::parse(&format!("sqlite:///{}", data.join("keel.db").display()))
                .expect("uri");
        let stores = keel_store::open_stores(&uri).await.expect("stores");
        let signer =
            keel_audit::note::NoteSigner::from_pem("keel.local/audit", &pem).expect("signer");
        let log = AuditLog::open(
            stores.audit,
            signer,
            AuditSettings {
                retention: Some(std::time::Duration::from_secs(200 * 86_400)),
                ..AuditSettings::default()
            },
        )
        .await
        .expect("log");
        let then = SystemClock.now_millis() - 300 * 86_400_000;
        let records: Vec<AuditRecord> = (0..old)
            .map(|i| {
                AuditRecord::new(
                    EventKind::Request,
                    then + i as i64,
                    Actor {
                        id: None,
                        kind: "user",
                        name: "alice".into(),
                    },
                    "runs.update",
                    Resource {
                        id: Some(format!("run{i}")),
                        kind: "Run".into(),
                    },
                    Outcome::Success,
                )
            })
            .collect();
        log.append(&records).await.expect("append");
        log.checkpoint_now().await.expect("checkpoint");
        let pruned = log.prune_expired().await.expect("prune").expect("pruned");
        assert_eq!(pruned.below, old as u64);
    });
}

#[test]
fn a_log_pruned_by_retention_exports_and_verifies_offline() {
    let dir = tempfile::tempdir().expect("dir");
    prune_old_entries(dir.path(), 300);
    // A change after the pruning, recorded by the command line.
    let created = keel(
        dir.path(),
        &["users", "create", "robot", "--service-account"],
        &[],
    );
    assert!(created.status.success(), "{}", stderr(&created));
    let bundle = dir.path().join("bundle");
    let exported = export(dir.path(), &bundle);
    assert!(exported.status.success(), "{}", stderr(&exported));
    assert!(
        stdout(&exported).contains("300 before them pruned by retention"),
        "{}",
        stdout(&exported)
    );
    assert_eq!(
        std::fs::read_to_string(bundle.join("pruned")).expect("pruned"),
        "300\n"
    );
    let first: Value = serde_json::from_str(
        std::fs::read_to_string(bundle.join("entries.jsonl"))
            .expect("entries")
            .lines()
            .next()
            .expect("a kept entry"),
    )
    .expect("json");
    assert_eq!(
        first["action"], "audit.prune",
        "the pruning recorded itself"
    );
    let verified = verify(dir.path(), &bundle);
    assert!(verified.status.success(), "{}", stderr(&verified));
    assert!(
        stdout(&verified).contains("300 earlier entries were pruned"),
        "{}",
        stdout(&verified)
    );
    // The pruned entries' leaf hashes are what the checkpoints verify.
    std::fs::remove_file(bundle.join("tile/0/000")).expect("remove a tile");
    let broken = verify(dir.path(), &bundle);
    assert!(!broken.status.success());
    assert!(stderr(&broken).contains("BadTile"), "{}", stderr(&broken));
}

#[test]
fn a_retention_under_six_months_is_refused() {
    let dir = tempfile::tempdir().expect("dir");
    let refused = keel(
        dir.path(),
        &[
            "audit",
            "export",
            "--out",
            "b",
            "--audit-retention-days",
            "90",
        ],
        &[],
    );
    assert!(!refused.status.success());
    assert!(
        stderr(&refused).contains("at least 184"),
        "{}",
        stderr(&refused)
    );
}

#[test]
fn malformed_timestamp_and_publication_settings_are_refused_by_name() {
    let dir = tempfile::tempdir().expect("dir");
    let garbage = dir.path().join("garbage.pem");
    std::fs::write(&garbage, "not a certificate\n").expect("write");
    let garbage = garbage.to_str().expect("utf-8");
    // (flags, environment, what the error says)
    type Case<'a> = (&'a [&'a str], &'a [(&'a str, &'a str)], &'a str);
    let cases: [Case<'_>; 5] = [
        (
            &["--audit-timestamp-ca", garbage],
            &[],
            "audit_timestamp_ca needs audit_timestamp_url",
        ),
        (
            &["--audit-timestamp-url", "ftp://tsa.example/"],
            &[],
            "must be http:// or https://",
        ),
        (
            &[
                "--audit-timestamp-url",
                "http://127.0.0.1:9/",
                "--audit-timestamp-ca",
                garbage,
            ],
            &[],
            "invalid timestamp authority CA",
        ),
        (
            &[
                "--audit-publish",
                "https://hooks.example/audit?token=s3cret",
            ],
            &[],
            "KEEL_AUDIT_PUBLISH_SECRET",
        ),
        (
            &["--audit-publish", "https://"],
            &[("KEEL_AUDIT_PUBLISH_SECRET", "x")],
            "not a valid http(s) URL",
        ),
    ];
    for (flags, env, message) in cases {
        let mut args = vec!["audit", "export", "--out", "b"];
        args.extend_from_slice(flags);
        let refused = keel(dir.path(), &args, env);
        assert!(!refused.status.success(), "{flags:?}");
        let err = stderr(&refused);
        assert!(err.contains(message), "{flags:?}: {err}");
        assert!(
            !err.contains("s3cret"),
            "a URL's token is never printed: {err}"
        );
    }
    assert!(!dir.path().join("b").exists(), "nothing is written");
    // A CA file that is not one is an error naming it, not a verdict.
    let verify = keel(
        dir.path(),
        &["audit", "verify", "b", "--tsa-ca", garbage],
        &[],
    );
    assert!(!verify.status.success());
    assert!(
        stderr(&verify).contains("invalid timestamp authority CA"),
        "{}",
        stderr(&verify)
    );
}
