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
fn public_binds_are_valid_configurations() {
    // Authentication applies beyond loopback; whether accounts exist is checked when serving.
    let dir = tempfile::tempdir().expect("tempdir");
    let out = keel(dir.path(), &["config", "--host", "0.0.0.0"], &[]);
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

#[test]
fn object_store_settings_layer_like_the_rest() {
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::write(
        dir.path().join("keel.toml"),
        "artifacts_destination = \"s3://bucket/prefix\"\nartifacts_s3_allow_http = true\n\
         artifacts_s3_force_path_style = false\n",
    )
    .expect("write config");
    let out = keel(
        dir.path(),
        &["config", "--artifacts-s3-force-path-style"],
        &[("KEEL_ARTIFACTS_S3_ENDPOINT_URL", "http://127.0.0.1:9000")],
    );
    assert!(out.status.success(), "{}", stderr(&out));
    let text = stdout(&out);
    assert_eq!(
        value_of(&text, "artifacts_destination"),
        "\"s3://bucket/prefix\""
    );
    assert_eq!(
        value_of(&text, "artifacts_s3_endpoint_url"),
        "\"http://127.0.0.1:9000\"",
        "from the environment"
    );
    assert_eq!(
        value_of(&text, "artifacts_s3_force_path_style"),
        "true",
        "a bare flag means true and beats the file"
    );
    assert_eq!(value_of(&text, "artifacts_s3_allow_http"), "true");
}

#[test]
fn unsupported_artifact_destinations_are_rejected() {
    let dir = tempfile::tempdir().expect("tempdir");
    let out = keel(
        dir.path(),
        &["config", "--artifacts-destination", "ftp://host/x"],
        &[],
    );
    assert!(!out.status.success());
    assert!(stderr(&out).contains("s3://"), "{}", stderr(&out));
    let out = keel(
        dir.path(),
        &[
            "config",
            "--artifacts-s3-endpoint-url",
            "http://127.0.0.1:9000",
        ],
        &[],
    );
    assert!(
        !out.status.success(),
        "S3 settings without an s3:// destination"
    );
    assert!(stderr(&out).contains("artifacts_s3_"), "{}", stderr(&out));
}

#[test]
fn db_upgrade_applies_pending_migrations_once() {
    let dir = tempfile::tempdir().expect("tempdir");
    let first = crate::keel(dir.path(), &["db", "upgrade"], &[]);
    assert!(first.status.success(), "{}", crate::stderr(&first));
    let out = crate::stdout(&first);
    assert!(out.contains("applied migration 1 (tracking)"), "{out}");
    assert!(out.contains("applied migration 2 (logged_models)"), "{out}");
    assert!(dir.path().join("keel-data/keel.db").is_file());
    let again = crate::keel(dir.path(), &["db", "upgrade"], &[]);
    assert!(again.status.success(), "{}", crate::stderr(&again));
    assert_eq!(crate::stdout(&again).trim(), "the schema is up to date");
    let bad = crate::keel(
        dir.path(),
        &["db", "upgrade", "--backend-store-uri", "mysql://x"],
        &[],
    );
    assert!(!bad.status.success());
    assert!(
        crate::stderr(&bad).contains("backend_store_uri"),
        "{}",
        crate::stderr(&bad)
    );
}
