//! One fresh, empty store per test for each backend the conformance suite runs against.

use std::sync::Arc;

use keel_artifacts::{ArtifactStore, LocalArtifactStore, ObjectArtifactStore, ObjectStoreOptions};
use object_store::aws::AmazonS3Builder;

/// A store and whatever must live as long as it.
pub struct Fixture {
    pub store: Arc<dyn ArtifactStore>,
    _dir: Option<tempfile::TempDir>,
}

/// A local store in a new temporary directory.
pub async fn local() -> Option<Fixture> {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = LocalArtifactStore::open(&dir.path().join("root"))
        .await
        .expect("open");
    Some(Fixture {
        store: Arc::new(store),
        _dir: Some(dir),
    })
}

/// An S3 store under a fresh prefix of the moto server's bucket; `None` when moto is not
/// available (outside CI only).
pub async fn s3() -> Option<Fixture> {
    let moto = crate::moto::server()?;
    let prefix = keel_artifacts::UploadId::random().expect("random");
    let options = ObjectStoreOptions {
        s3_endpoint_url: Some(moto.endpoint.clone()),
        s3_force_path_style: Some(true),
        s3_allow_http: Some(true),
    };
    let credentials = AmazonS3Builder::new()
        .with_access_key_id("keel-test")
        .with_secret_access_key("keel-test-secret")
        .with_region("us-east-1");
    let store = ObjectArtifactStore::open_s3_with(
        credentials,
        &format!("s3://{}/runs/{prefix}", moto.bucket),
        &options,
    )
    .expect("open S3 store");
    Some(Fixture {
        store: Arc::new(store),
        _dir: None,
    })
}
