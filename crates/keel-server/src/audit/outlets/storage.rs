//! Publishing checkpoints to a directory or an object-store prefix: each checkpoint as
//! `checkpoints/<size>` (20 zero-padded digits, as in an export bundle), its timestamp as
//! `timestamps/<size>.tsr`, and the latest as `checkpoint` (the file tlog clients and witnesses
//! poll). Every file is written whole (a rename, or one object put).

use std::sync::Arc;

use bytes::Bytes;
use keel_artifacts::{ArtifactPath, ArtifactStore, ObjectStoreOptions};
use keel_core::audit::{CheckpointSink, StoredCheckpoint};
use keel_core::{Error, Result};

/// A directory or object-store prefix that receives every checkpoint.
pub struct StorageSink {
    store: Arc<dyn ArtifactStore>,
    destination: String,
}

impl StorageSink {
    /// The sink at `destination`: `file:///dir` or a path (created if missing), or an object
    /// store URL (`s3://bucket/prefix`, ...).
    pub async fn open(destination: &str, options: &ObjectStoreOptions) -> Result<Self> {
        let target = destination.strip_prefix("file://").unwrap_or(destination);
        if target.is_empty() {
            return Err(Error::invalid("an audit_publish destination is empty"));
        }
        // The object-store options (endpoint, credentials style) apply to object stores only.
        let default = ObjectStoreOptions::default();
        let options = if target.contains("://") {
            options
        } else {
            &default
        };
        let store = keel_artifacts::open(target, options).await.map_err(|e| {
            Error::invalid(format!(
                "cannot open the audit publication sink {destination}: {e}"
            ))
        })?;
        Ok(Self {
            store,
            destination: destination.to_owned(),
        })
    }

    async fn put(&self, path: &str, bytes: Vec<u8>) -> Result<()> {
        let path = ArtifactPath::parse(path)?;
        let body = futures_util::stream::once(async move { Ok(Bytes::from(bytes)) });
        self.store.write(&path, Box::pin(body)).await.map(|_| ())
    }
}

#[async_trait::async_trait]
impl CheckpointSink for StorageSink {
    fn describe(&self) -> String {
        self.destination.clone()
    }

    async fn publish(&self, _origin: &str, checkpoint: &StoredCheckpoint) -> Result<()> {
        let name = format!("{:020}", checkpoint.tree_size);
        if let Some(token) = &checkpoint.timestamp {
            self.put(&format!("timestamps/{name}.tsr"), token.clone())
                .await?;
        }
        let note = checkpoint.note.clone().into_bytes();
        self.put(&format!("checkpoints/{name}"), note.clone())
            .await?;
        self.put("checkpoint", note).await
    }
}
