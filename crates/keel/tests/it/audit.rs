//! The audit log from the command line: account and token changes made with `keel users` and
//! `keel tokens` are recorded as the operator's, `keel audit export` and `verify` round-trip,
//! and a server refuses to sign a log first signed with another key.

use serde_json::Value;

use crate::process::{free_port, start, terminate, wait_healthy};
use crate::{keel, stderr, stdout};

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
    let exported = keel(
        dir.path(),
        &["audit", "export", "--out", bundle.to_str().expect("utf-8")],
        &[],
    );
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
    let verified = keel(
        dir.path(),
        &["audit", "verify", bundle.to_str().expect("utf-8")],
        &[],
    );
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
    let again = keel(
        dir.path(),
        &["audit", "export", "--out", bundle.to_str().expect("utf-8")],
        &[],
    );
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
