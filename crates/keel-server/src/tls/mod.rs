//! TLS served directly (`tls_cert`, `tls_key`): the certificate chain and private key from PEM
//! files, checked to match at start and reloaded when the files change (so a renewed
//! certificate needs no restart), TLS 1.2 and 1.3 with rustls' defaults, ALPN for h2 and
//! HTTP/1.1.

use std::path::{Path, PathBuf};
use std::sync::{Arc, RwLock};
use std::time::{Duration, SystemTime};

use tokio_rustls::TlsAcceptor;
use tokio_rustls::rustls::crypto::CryptoProvider;
use tokio_rustls::rustls::pki_types::pem::{self, PemObject};
use tokio_rustls::rustls::pki_types::{CertificateDer, PrivateKeyDer};
use tokio_rustls::rustls::server::{ClientHello, ResolvesServerCert};
use tokio_rustls::rustls::sign::CertifiedKey;
use tokio_rustls::rustls::{ServerConfig, crypto};

/// How often the certificate files are checked for a change.
pub const RELOAD_CHECK_INTERVAL: Duration = Duration::from_secs(30);

/// Why the certificate or key cannot be served.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct TlsError(String);

/// The server's TLS settings, with the certificate it presents kept current.
#[derive(Clone)]
pub struct ServerTls {
    acceptor: TlsAcceptor,
    current: Arc<CurrentCert>,
}

impl std::fmt::Debug for ServerTls {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ServerTls")
            .field("cert", &self.current.cert_path)
            .finish_non_exhaustive()
    }
}

impl ServerTls {
    /// Reads and checks the PEM certificate chain (leaf first) and private key (PKCS#8, PKCS#1
    /// or SEC1).
    pub fn load(cert_path: &Path, key_path: &Path) -> Result<Self, TlsError> {
        let provider = Arc::new(crypto::aws_lc_rs::default_provider());
        let (key, stamp) = read_certified_key(cert_path, key_path, &provider)?;
        let current = Arc::new(CurrentCert {
            cert_path: cert_path.to_owned(),
            key_path: key_path.to_owned(),
            provider: provider.clone(),
            key: RwLock::new(Arc::new(key)),
            stamp: RwLock::new(stamp),
        });
        let mut config = ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .map_err(|e| TlsError(format!("cannot set up TLS: {e}")))?
            .with_no_client_auth()
            .with_cert_resolver(current.clone());
        config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
        Ok(Self {
            acceptor: TlsAcceptor::from(Arc::new(config)),
            current,
        })
    }

    pub(crate) fn acceptor(&self) -> &TlsAcceptor {
        &self.acceptor
    }

    /// Checks the files every `every` and presents their new contents once they changed and
    /// still make a valid pair; a bad pair is logged and the previous certificate kept.
    pub fn spawn_reload(&self, every: Duration) -> tokio::task::JoinHandle<()> {
        let current = self.current.clone();
        tokio::spawn(async move {
            let mut ticker = tokio::time::interval(every);
            ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            ticker.tick().await;
            loop {
                ticker.tick().await;
                let current = current.clone();
                let _ = tokio::task::spawn_blocking(move || current.reload_if_changed()).await;
            }
        })
    }

    /// Reloads now if the files changed; `Ok(true)` when a new certificate is presented.
    pub fn reload_if_changed(&self) -> Result<bool, TlsError> {
        self.current.reload_if_changed_checked()
    }
}

/// The certificate presented to every client, and where it comes from.
#[derive(Debug)]
struct CurrentCert {
    cert_path: PathBuf,
    key_path: PathBuf,
    provider: Arc<CryptoProvider>,
    key: RwLock<Arc<CertifiedKey>>,
    stamp: RwLock<FilesStamp>,
}

impl CurrentCert {
    fn reload_if_changed(&self) {
        match self.reload_if_changed_checked() {
            Ok(true) => {
                tracing::info!(cert = %self.cert_path.display(), "reloaded the TLS certificate");
            }
            Ok(false) => {}
            Err(e) => tracing::warn!(
                error = %e,
                "the TLS certificate files changed but cannot be used; still presenting the \
                 previous certificate"
            ),
        }
    }

    fn reload_if_changed_checked(&self) -> Result<bool, TlsError> {
        let seen = FilesStamp::of(&self.cert_path, &self.key_path);
        if *self.stamp.read().unwrap_or_else(|e| e.into_inner()) == seen {
            return Ok(false);
        }
        // Remember the files as seen even if they are bad, so a broken pair is reported once.
        *self.stamp.write().unwrap_or_else(|e| e.into_inner()) = seen;
        let (key, _) = read_certified_key(&self.cert_path, &self.key_path, &self.provider)?;
        *self.key.write().unwrap_or_else(|e| e.into_inner()) = Arc::new(key);
        Ok(true)
    }
}

impl ResolvesServerCert for CurrentCert {
    fn resolve(&self, _hello: ClientHello<'_>) -> Option<Arc<CertifiedKey>> {
        Some(self.key.read().unwrap_or_else(|e| e.into_inner()).clone())
    }
}

/// The modification times and sizes of the two files: what a change is detected by.
#[derive(Debug, Clone, PartialEq, Eq)]
struct FilesStamp([Option<(SystemTime, u64)>; 2]);

impl FilesStamp {
    fn of(cert: &Path, key: &Path) -> Self {
        let stamp = |p: &Path| {
            let meta = std::fs::metadata(p).ok()?;
            Some((meta.modified().ok()?, meta.len()))
        };
        Self([stamp(cert), stamp(key)])
    }
}

/// The largest certificate or key file read: far above any real chain.
const MAX_PEM_BYTES: u64 = 1024 * 1024;

fn read_certified_key(
    cert_path: &Path,
    key_path: &Path,
    provider: &CryptoProvider,
) -> Result<(CertifiedKey, FilesStamp), TlsError> {
    let stamp = FilesStamp::of(cert_path, key_path);
    let cert_pem = read_pem(cert_path, "tls_cert")?;
    let key_pem = read_pem(key_path, "tls_key")?;
    let chain = CertificateDer::pem_slice_iter(&cert_pem)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| bad(cert_path, "tls_cert", &e))?;
    if chain.is_empty() {
        return Err(TlsError(format!(
            "tls_cert {}: no PEM CERTIFICATE found",
            cert_path.display()
        )));
    }
    let key = PrivateKeyDer::from_pem_slice(&key_pem).map_err(|e| bad(key_path, "tls_key", &e))?;
    let certified = CertifiedKey::from_der(chain, key, provider).map_err(|e| {
        TlsError(format!(
            "tls_cert {} and tls_key {} cannot be used together: {e}",
            cert_path.display(),
            key_path.display()
        ))
    })?;
    Ok((certified, stamp))
}

fn read_pem(path: &Path, setting: &str) -> Result<Vec<u8>, TlsError> {
    use std::io::Read;
    let file = std::fs::File::open(path)
        .map_err(|e| TlsError(format!("cannot read {setting} {}: {e}", path.display())))?;
    let mut bytes = Vec::new();
    file.take(MAX_PEM_BYTES + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| TlsError(format!("cannot read {setting} {}: {e}", path.display())))?;
    if bytes.len() as u64 > MAX_PEM_BYTES {
        return Err(TlsError(format!(
            "{setting} {} is larger than {MAX_PEM_BYTES} bytes",
            path.display()
        )));
    }
    Ok(bytes)
}

fn bad(path: &Path, setting: &str, e: &pem::Error) -> TlsError {
    let reason = match e {
        pem::Error::NoItemsFound => "no PEM private key found".to_owned(),
        e => format!("not valid PEM: {e}"),
    };
    TlsError(format!("{setting} {}: {reason}", path.display()))
}

#[cfg(test)]
mod tests;
