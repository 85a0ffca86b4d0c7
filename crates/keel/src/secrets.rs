//! The key that encrypts secrets at rest: `secrets_key` from the configuration, or else a key
//! generated once into `<data_dir>/secrets.key` (owner-only permissions) and reused after.

use std::io::Write;
use std::path::Path;

use anyhow::Context;
use keel_core::webhooks::SecretKey;

use crate::config::Config;

/// The key file's name inside the data directory.
pub const KEY_FILE: &str = "secrets.key";

/// The configured key, or the data directory's key file (created when missing).
pub fn load_key(config: &Config) -> anyhow::Result<SecretKey> {
    if let Some(key) = &config.secrets_key {
        return SecretKey::from_base64(key.expose())
            .map_err(|e| anyhow::anyhow!("invalid secrets_key: {e}"));
    }
    load_or_create(&config.data_dir.join(KEY_FILE))
}

fn read(path: &Path) -> anyhow::Result<SecretKey> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("cannot read the secrets key file {}", path.display()))?;
    SecretKey::from_base64(&text)
        .map_err(|e| anyhow::anyhow!("invalid secrets key file {}: {e}", path.display()))
}

/// Reads the key file, or writes a new random key there (readable by the owner only). Two
/// processes starting at once agree: the file is created exclusively and the loser reads it.
pub fn load_or_create(path: &Path) -> anyhow::Result<SecretKey> {
    if path.exists() {
        warn_if_shared(path);
        return read(path);
    }
    let key = SecretKey::generate().map_err(|e| anyhow::anyhow!("{e}"))?;
    if create_owner_only(path, format!("{}\n", key.to_base64()).as_bytes())? {
        tracing::info!(path = %path.display(), "generated a new secrets key");
        Ok(key)
    } else {
        read(path)
    }
}

/// Writes `contents` to a new file readable by its owner only (created with its folder);
/// `false` when the file exists already (another process created it first), which is left as
/// it is.
pub fn create_owner_only(path: &Path, contents: &[u8]) -> anyhow::Result<bool> {
    if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
        std::fs::create_dir_all(parent)
            .with_context(|| format!("cannot create {}", parent.display()))?;
    }
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    match options.open(path) {
        Ok(mut file) => {
            file.write_all(contents)
                .and_then(|()| file.sync_all())
                .with_context(|| format!("cannot write {}", path.display()))?;
            Ok(true)
        }
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => Ok(false),
        Err(e) => Err(e).with_context(|| format!("cannot create {}", path.display())),
    }
}

#[cfg(unix)]
fn warn_if_shared(path: &Path) {
    use std::os::unix::fs::PermissionsExt;
    if let Ok(meta) = std::fs::metadata(path) {
        if meta.permissions().mode() & 0o077 != 0 {
            tracing::warn!(
                path = %path.display(),
                "the secrets key file is readable by other users; restrict it to mode 0600"
            );
        }
    }
}

#[cfg(not(unix))]
fn warn_if_shared(_: &Path) {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_key_file_is_created_once_owner_only_and_reused() {
        let dir = tempfile::tempdir().expect("tmp");
        let path = dir.path().join("nested").join(KEY_FILE);
        let first = load_or_create(&path).expect("created");
        let again = load_or_create(&path).expect("read back");
        assert_eq!(first.to_base64(), again.to_base64());
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&path).expect("meta").permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        std::fs::write(&path, "not a key").expect("overwrite");
        assert!(load_or_create(&path).is_err());
    }
}
