//! The audit log's signing key: `audit_signing_key` from the configuration (a PKCS#8 PEM file,
//! as `openssl genpkey -algorithm ed25519` writes), or else a key generated once into
//! `<data_dir>/audit-signing.pem` (owner-only permissions) and reused after; and the timestamp
//! authority that countersigns checkpoints, when one is configured.

use std::path::{Path, PathBuf};

use anyhow::Context;
use keel_audit::note::NoteSigner;

use crate::config::Config;

/// The key file's name inside the data directory.
pub const KEY_FILE: &str = "audit-signing.pem";

/// Where the signing key is read from.
pub fn key_path(config: &Config) -> PathBuf {
    config
        .audit_signing_key
        .clone()
        .unwrap_or_else(|| config.data_dir.join(KEY_FILE))
}

/// The log's signer, named by `audit_origin`; the default key file is created when missing
/// (a configured one must exist).
pub fn load_signer(config: &Config) -> anyhow::Result<NoteSigner> {
    let path = key_path(config);
    if config.audit_signing_key.is_none() && !path.exists() {
        create(&path)?;
    }
    let pem = std::fs::read_to_string(&path)
        .with_context(|| format!("cannot read the audit signing key {}", path.display()))?;
    NoteSigner::from_pem(&config.audit_origin, &pem).map_err(|e| {
        anyhow::anyhow!(
            "invalid audit signing key {} (or audit_origin '{}'): {e}",
            path.display(),
            config.audit_origin
        )
    })
}

/// Writes a new key (readable by the owner only). Two processes starting at once agree: the
/// file is created exclusively and the loser reads the winner's.
fn create(path: &Path) -> anyhow::Result<()> {
    let pem = NoteSigner::generate_pem().map_err(|e| anyhow::anyhow!("{e}"))?;
    if crate::secrets::create_owner_only(path, pem.as_bytes())? {
        tracing::info!(path = %path.display(), "generated a new audit signing key");
    }
    Ok(())
}

/// The timestamp authority client of `audit_timestamp_url` (with the CA certificates of
/// `audit_timestamp_ca` its tokens must chain to), if one is configured.
pub fn timestamper(
    config: &Config,
) -> anyhow::Result<Option<Box<dyn keel_core::audit::Timestamper>>> {
    let Some(url) = &config.audit_timestamp_url else {
        return Ok(None);
    };
    let ca = match &config.audit_timestamp_ca {
        Some(path) => Some(std::fs::read(path).with_context(|| {
            format!(
                "cannot read the timestamp authority's CA certificates {}",
                path.display()
            )
        })?),
        None => None,
    };
    let client = keel_server::audit::outlets::TsaClient::new(url, ca.as_deref())
        .map_err(|e| anyhow::anyhow!("invalid audit timestamp authority: {e}"))?;
    Ok(Some(Box::new(client)))
}
