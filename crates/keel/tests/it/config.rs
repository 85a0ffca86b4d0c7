//! `keel config` shows the effective configuration: defaults < file < environment < flags.

use crate::{keel, stderr, stdout};

fn value_of(toml_text: &str, key: &str) -> String {
    let table: toml::Table = toml_text.parse().expect("config prints TOML");
    table.get(key).map(|v| v.to_string()).unwrap_or_default()
}

#[test]
fn defaults_live_under_the_data_dir() {
    let dir = tempfile::tempdir().expect("tempdir");
    let out = keel(dir.path(), &["config"], &[]);
    assert!(out.status.success(), "{}", stderr(&out));
    let text = stdout(&out);
    assert_eq!(value_of(&text, "host"), "\"127.0.0.1\"");
    assert_eq!(value_of(&text, "port"), "5000");
    assert_eq!(
        value_of(&text, "backend_store_uri"),
        "\"sqlite:///keel-data/keel.db\""
    );
    assert_eq!(
        value_of(&text, "artifacts_destination"),
        "\"keel-data/artifacts\""
    );
}

#[test]
fn file_then_env_then_flags() {
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::write(
        dir.path().join("custom.toml"),
        "port = 6001\nlog_level = \"debug\"\ndata_dir = \"from-file\"\nhost = \"127.0.0.3\"\n",
    )
    .expect("write config");
    let out = keel(
        dir.path(),
        &["config", "--config", "custom.toml", "--port", "6003"],
        &[("KEEL_PORT", "6002"), ("KEEL_LOG_LEVEL", "warn")],
    );
    assert!(out.status.success(), "{}", stderr(&out));
    let text = stdout(&out);
    assert_eq!(value_of(&text, "port"), "6003", "flag beats env and file");
    assert_eq!(value_of(&text, "log_level"), "\"warn\"", "env beats file");
    assert_eq!(
        value_of(&text, "host"),
        "\"127.0.0.3\"",
        "file beats default"
    );
    assert_eq!(
        value_of(&text, "backend_store_uri"),
        "\"sqlite:///from-file/keel.db\""
    );
}

#[test]
fn keel_toml_in_the_working_directory_is_read() {
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::write(dir.path().join("keel.toml"), "port = 7007\n").expect("write config");
    let out = keel(dir.path(), &["config"], &[]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(value_of(&stdout(&out), "port"), "7007");
}

#[test]
fn unknown_keys_are_rejected_by_name() {
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::write(dir.path().join("keel.toml"), "prot = 5000\n").expect("write config");
    let out = keel(dir.path(), &["config"], &[]);
    assert!(!out.status.success());
    let err = stderr(&out);
    assert!(
        err.contains("unknown field") && err.contains("prot"),
        "{err}"
    );
}

#[test]
fn wrong_types_are_explained() {
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::write(dir.path().join("keel.toml"), "port = \"high\"\n").expect("write config");
    let out = keel(dir.path(), &["config"], &[]);
    assert!(!out.status.success());
    assert!(stderr(&out).contains("port"), "{}", stderr(&out));
}

#[test]
fn public_bind_needs_explicit_consent() {
    let dir = tempfile::tempdir().expect("tempdir");
    let out = keel(dir.path(), &["config", "--host", "0.0.0.0"], &[]);
    assert!(!out.status.success());
    assert!(
        stderr(&out).contains("--allow-unauthenticated-network-access"),
        "{}",
        stderr(&out)
    );
    let out = keel(
        dir.path(),
        &["config", "--host", "0.0.0.0"],
        &[("KEEL_ALLOW_UNAUTHENTICATED_NETWORK_ACCESS", "true")],
    );
    assert!(out.status.success(), "{}", stderr(&out));
}

#[test]
fn unsupported_store_uris_are_rejected() {
    let dir = tempfile::tempdir().expect("tempdir");
    let out = keel(
        dir.path(),
        &["config", "--backend-store-uri", "mysql://db/x"],
        &[],
    );
    assert!(!out.status.success());
    assert!(
        stderr(&out).contains("Unsupported backend store URI"),
        "{}",
        stderr(&out)
    );
}
