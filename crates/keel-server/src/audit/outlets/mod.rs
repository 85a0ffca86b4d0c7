//! The audit log's outlets as configured: the RFC 3161 timestamp authority client and the
//! checkpoint publication sinks (a directory or object-store prefix, a signed webhook).

mod storage;
mod tsa;
mod webhook;

pub use storage::StorageSink;
pub use tsa::TsaClient;
pub use webhook::WebhookSink;

use keel_artifacts::ObjectStoreOptions;
use keel_core::audit::{CheckpointSink, Outlets};
use keel_core::{Error, Result};

/// The outlets of `audit_publish` destinations (and a timestamp authority, when given):
/// `https://`/`http://` URLs are webhooks (signed with `secret`, which they need), anything
/// else a storage destination (`file:///dir`, a path, `s3://`, `gs://`, `az://`).
pub async fn outlets(
    timestamper: Option<Box<dyn keel_core::audit::Timestamper>>,
    publish: &[String],
    secret: Option<&str>,
    options: &ObjectStoreOptions,
) -> Result<Outlets> {
    let mut outlets = Outlets::default();
    if let Some(tsa) = timestamper {
        outlets = outlets.with_timestamper(tsa);
    }
    for destination in publish {
        let sink: Box<dyn CheckpointSink> =
            if destination.starts_with("https://") || destination.starts_with("http://") {
                let secret = secret.filter(|s| !s.is_empty()).ok_or_else(|| {
                    Error::invalid(
                        "audit_publish names a webhook: set audit_publish_secret \
                         (KEEL_AUDIT_PUBLISH_SECRET) to sign what it receives",
                    )
                })?;
                Box::new(WebhookSink::new(destination, secret)?)
            } else {
                Box::new(StorageSink::open(destination, options).await?)
            };
        outlets = outlets.with_sink(sink);
    }
    Ok(outlets)
}
