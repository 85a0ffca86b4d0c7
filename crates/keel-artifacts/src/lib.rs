//! Artifact storage: validated artifact paths and the stores that hold artifact bytes.
//!
//! Every path a client sends is parsed once into an [`ArtifactPath`], which cannot name anything
//! outside the artifact root; stores only ever accept that type. Stores implement
//! [`ArtifactStore`]: [`LocalArtifactStore`] (a directory) and [`ObjectArtifactStore`] (S3, GCS,
//! Azure through `object_store`); [`open`] picks one from the configured destination.

pub mod local;
pub mod multipart;
pub mod object;
pub mod path;
pub mod store;
pub mod uri;

use std::sync::Arc;

pub use local::LocalArtifactStore;
pub use multipart::{CompletedPart, MAX_PARTS, PartNumber, UploadId};
pub use object::{ObjectArtifactStore, ObjectStoreOptions};
pub use path::ArtifactPath;
pub use store::{
    ArtifactStore, ByteStream, Download, FileInfo, FileMeta, PartReceipt, SignedRequest,
    upload_interrupted,
};
pub use uri::proxied_path;

/// Opens the store for `destination`: a `scheme://` URL is object storage, anything else a
/// local directory (created if missing).
pub async fn open(
    destination: &str,
    options: &ObjectStoreOptions,
) -> keel_core::Result<Arc<dyn ArtifactStore>> {
    if destination.contains("://") {
        return Ok(Arc::new(ObjectArtifactStore::open(destination, options)?));
    }
    if options != &ObjectStoreOptions::default() {
        return Err(keel_core::Error::invalid(format!(
            "The artifacts_s3_* settings apply only to an s3:// destination, not to the local \
             directory '{destination}'"
        )));
    }
    Ok(Arc::new(
        LocalArtifactStore::open(std::path::Path::new(destination)).await?,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn the_destination_picks_the_backend() {
        let dir = tempfile::tempdir().expect("tempdir");
        let local = dir.path().join("artifacts");
        let none = ObjectStoreOptions::default();
        let store = open(&local.display().to_string(), &none)
            .await
            .expect("local");
        assert!(local.is_dir(), "the directory is created");
        assert!(store.location().ends_with("artifacts"));
        let s3 = ObjectStoreOptions {
            s3_force_path_style: Some(true),
            ..Default::default()
        };
        assert!(open(&local.display().to_string(), &s3).await.is_err());
        let object = open("s3://bucket/prefix", &s3).await.expect("s3");
        assert_eq!(object.location(), "s3://bucket/prefix");
        assert!(open("ftp://host/x", &none).await.is_err());
    }
}
