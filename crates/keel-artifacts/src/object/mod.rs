//! Artifacts in object storage (S3, GCS, Azure Blob) through the `object_store` crate.
//!
//! Every artifact path becomes an object key under the configured prefix, one validated
//! [`ArtifactPath`] segment per key segment, kept verbatim so the layout matches what MLflow
//! writes to the same bucket. Uploads stream through a bounded multipart writer (an object
//! appears whole or not at all), downloads stream the object body, directories are key prefixes.

mod config;
mod multipart;
mod presign;

use std::ops::Range;
use std::sync::Arc;

use async_trait::async_trait;
use futures_util::{StreamExt, TryStreamExt};
use keel_core::{Error, ErrorCode, Result};
use object_store::buffered::BufWriter;
use object_store::multipart::MultipartStore;
use object_store::path::{Path, PathPart};
use object_store::{GetOptions, GetRange, ObjectStore, ObjectStoreExt};
use tokio::io::AsyncWriteExt;

pub use config::{ObjectStoreOptions, SCHEMES};

use crate::multipart::{CompletedPart, PartNumber, UploadId};
use crate::path::{ArtifactPath, is_reserved};
use crate::store::{
    ArtifactStore, ByteStream, Download, FileInfo, FileMeta, PartReceipt, SignedRequest,
};

/// Bytes buffered per part of a streamed upload, and how many parts may be in flight at once:
/// at most ~3 × 8 MiB of memory per upload, objects up to 80 GB (10,000 parts).
const WRITE_CHUNK: usize = 8 * 1024 * 1024;
const WRITE_CONCURRENCY: usize = 2;

/// Artifacts stored as objects under one prefix of a bucket (or container).
#[derive(Clone)]
pub struct ObjectArtifactStore {
    store: Arc<dyn ObjectStore>,
    multipart: Arc<dyn MultipartStore>,
    /// Signs URLs for direct access, where the backend can (S3).
    signer: Option<Arc<dyn object_store::signer::Signer>>,
    /// Key prefix every artifact lives under (may be empty).
    prefix: Path,
    /// The destination URL, for logs.
    location: String,
    /// Smallest size the backend accepts for every part of a multipart upload but the last.
    min_part_bytes: u64,
}

impl std::fmt::Debug for ObjectArtifactStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ObjectArtifactStore")
            .field("location", &self.location)
            .finish_non_exhaustive()
    }
}

impl ObjectArtifactStore {
    /// The store for `s3://bucket/prefix`, `gs://bucket/prefix` or `az://container/prefix`;
    /// credentials come from the backend's standard environment variables.
    pub fn open(destination: &str, options: &ObjectStoreOptions) -> Result<Self> {
        config::open(destination, options)
    }

    /// An `s3://` store on `base`, a builder that may already hold credentials, instead of on
    /// the `AWS_*` environment alone (for callers that manage credentials, such as tests).
    pub fn open_s3_with(
        base: object_store::aws::AmazonS3Builder,
        destination: &str,
        options: &ObjectStoreOptions,
    ) -> Result<Self> {
        config::open_s3_with(base, destination, options)
    }

    /// The object key of an artifact path.
    fn key(&self, path: &ArtifactPath) -> Result<Path> {
        join(&self.prefix, path.segments().iter().map(String::as_str))
    }

    /// A key of Keel's own bookkeeping under the prefix (e.g. `.keel-mpu/<id>`).
    fn internal_key<'a>(&self, parts: impl IntoIterator<Item = &'a str>) -> Result<Path> {
        join(&self.prefix, parts)
    }
}

/// `base` followed by `segments`, each kept verbatim (no segment can contain `/`, `.` or `..`:
/// [`ArtifactPath`] rejected those already, and `PathPart::parse` checks again).
fn join<'a>(base: &Path, segments: impl IntoIterator<Item = &'a str>) -> Result<Path> {
    let mut key = base.clone();
    for segment in segments {
        let part = PathPart::parse(segment)
            .map_err(|e| Error::invalid(format!("Invalid artifact path segment: {e}")))?;
        key = key.join(part);
    }
    Ok(key)
}

/// Removes query strings (which could carry a SAS token) from URLs in a storage error message.
fn redact(message: &str) -> String {
    message
        .split(' ')
        .map(|word| match (word.contains("://"), word.split_once('?')) {
            (true, Some((url, _))) => format!("{url}?<redacted>"),
            _ => word.to_owned(),
        })
        .collect::<Vec<_>>()
        .join(" ")
}

/// Maps a storage error: a missing object is `RESOURCE_DOES_NOT_EXIST`, a failed version
/// precondition asks for a retry, anything else is an internal error naming the operation.
fn storage_err(what: &str, path: &ArtifactPath, e: object_store::Error) -> Error {
    match e {
        object_store::Error::NotFound { .. } => not_found(path),
        object_store::Error::Precondition { .. } | object_store::Error::NotModified { .. } => {
            Error::new(
                ErrorCode::TemporarilyUnavailable,
                format!("Artifact '{path}' changed while it was being read; retry the request"),
            )
        }
        other => Error::internal(redact(&format!("cannot {what} artifact '{path}': {other}"))),
    }
}

fn not_found(path: &ArtifactPath) -> Error {
    Error::not_found(format!("No such artifact: '{path}'"))
}

/// The name of the last segment of a listed key, unless it is one of Keel's own.
fn listed_name(key: &Path) -> Option<String> {
    let name = key.filename()?;
    (!name.is_empty() && !is_reserved(name)).then(|| name.to_owned())
}

#[async_trait]
impl ArtifactStore for ObjectArtifactStore {
    fn location(&self) -> String {
        self.location.clone()
    }

    async fn list(&self, path: &ArtifactPath) -> Result<Vec<FileInfo>> {
        let dir = self.key(path)?;
        let prefix = (!dir.as_ref().is_empty()).then_some(&dir);
        let listed = self
            .store
            .list_with_delimiter(prefix)
            .await
            .map_err(|e| storage_err("list", path, e))?;
        let dirs = listed.common_prefixes.iter().filter_map(|p| {
            Some(FileInfo {
                name: listed_name(p)?,
                is_dir: true,
                size: None,
            })
        });
        let files = listed.objects.iter().filter_map(|o| {
            Some(FileInfo {
                name: listed_name(&o.location)?,
                is_dir: false,
                size: Some(o.size),
            })
        });
        let mut out: Vec<FileInfo> = dirs.chain(files).collect();
        out.sort_by(|a, b| a.name.cmp(&b.name));
        Ok(out)
    }

    async fn head(&self, path: &ArtifactPath) -> Result<FileMeta> {
        let meta = self
            .store
            .head(&self.key(path)?)
            .await
            .map_err(|e| storage_err("read", path, e))?;
        Ok(FileMeta {
            size: meta.size,
            version: meta.e_tag,
        })
    }

    async fn open(
        &self,
        path: &ArtifactPath,
        range: Option<Range<u64>>,
        version: Option<&str>,
    ) -> Result<Download> {
        if let Some(r) = &range {
            if r.start >= r.end {
                return Err(Error::invalid(format!(
                    "Empty byte range {}-{} of artifact '{path}'",
                    r.start, r.end
                )));
            }
        }
        let options = GetOptions {
            range: range.map(GetRange::Bounded),
            if_match: version.map(str::to_owned),
            ..Default::default()
        };
        let result = self
            .store
            .get_opts(&self.key(path)?, options)
            .await
            .map_err(|e| storage_err("read", path, e))?;
        let size = result.meta.size;
        let body = result.into_stream().map_err(std::io::Error::other).boxed();
        Ok(Download { size, body })
    }

    async fn write(&self, path: &ArtifactPath, mut body: ByteStream) -> Result<u64> {
        if path.is_root() {
            return Err(Error::invalid("Cannot write to the artifact root itself"));
        }
        let mut writer = BufWriter::with_capacity(self.store.clone(), self.key(path)?, WRITE_CHUNK)
            .with_max_concurrency(WRITE_CONCURRENCY);
        let mut size = 0u64;
        while let Some(chunk) = body.next().await {
            let put = match chunk {
                Ok(bytes) => {
                    size += bytes.len() as u64;
                    writer
                        .put(bytes)
                        .await
                        .map_err(|e| storage_err("write", path, e))
                }
                Err(e) => Err(crate::store::write_error(&format!("Artifact '{path}'"), &e)),
            };
            if let Err(e) = put {
                // Nothing becomes visible: drop the parts uploaded so far.
                let _ = writer.abort().await;
                return Err(e);
            }
        }
        // On failure, shutting down aborts the multipart upload itself.
        writer.shutdown().await.map_err(|e| {
            Error::internal(redact(&format!("cannot write artifact '{path}': {e}")))
        })?;
        Ok(size)
    }

    async fn delete(&self, path: &ArtifactPath) -> Result<()> {
        if path.is_root() {
            return Err(Error::invalid("Cannot delete the artifact root"));
        }
        let key = self.key(path)?;
        let mut found = match self.store.head(&key).await {
            Ok(_) => {
                self.store
                    .delete(&key)
                    .await
                    .map_err(|e| storage_err("delete", path, e))?;
                true
            }
            Err(object_store::Error::NotFound { .. }) => false,
            Err(e) => return Err(storage_err("delete", path, e)),
        };
        // Everything under the key as a folder, streamed (never all keys in memory at once).
        let under = self.store.list(Some(&key)).map_ok(|m| m.location).boxed();
        let deleted = self
            .store
            .delete_stream(under)
            .try_fold(0usize, |n, _| async move { Ok(n + 1) })
            .await
            .map_err(|e| storage_err("delete", path, e))?;
        found |= deleted > 0;
        if found { Ok(()) } else { Err(not_found(path)) }
    }

    async fn create_multipart(&self, path: &ArtifactPath) -> Result<UploadId> {
        multipart::create(self, path).await
    }

    async fn put_part(
        &self,
        upload: &UploadId,
        part: PartNumber,
        body: ByteStream,
    ) -> Result<PartReceipt> {
        multipart::put_part(self, upload, part, body).await
    }

    async fn complete_multipart(
        &self,
        path: &ArtifactPath,
        upload: &UploadId,
        parts: &[CompletedPart],
    ) -> Result<()> {
        multipart::complete(self, path, upload, parts).await
    }

    async fn abort_multipart(&self, path: &ArtifactPath, upload: &UploadId) -> Result<()> {
        multipart::abort(self, path, upload).await
    }

    async fn purge_stale_uploads(&self, older_than: std::time::Duration) -> Result<usize> {
        multipart::purge_stale(self, older_than).await
    }

    fn signs_urls(&self) -> bool {
        self.signer.is_some()
    }

    async fn presign_download(
        &self,
        path: &ArtifactPath,
        expires_in: std::time::Duration,
    ) -> Result<(SignedRequest, u64)> {
        presign::download(self, path, expires_in).await
    }

    async fn presign_upload(
        &self,
        path: &ArtifactPath,
        content_type: &str,
        expires_in: std::time::Duration,
    ) -> Result<SignedRequest> {
        presign::upload(self, path, content_type, expires_in).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_keep_segments_verbatim_under_the_prefix() {
        let prefix = Path::from("runs/keel");
        let path = ArtifactPath::parse("1/abc/artifacts/a [1] 100%.txt").expect("valid");
        let key = join(&prefix, path.segments().iter().map(String::as_str)).expect("key");
        assert_eq!(key.as_ref(), "runs/keel/1/abc/artifacts/a [1] 100%.txt");
        let root = join(&Path::default(), ["x"]).expect("key");
        assert_eq!(root.as_ref(), "x");
        assert!(join(&prefix, [".."]).is_err());
    }

    #[test]
    fn listed_names_hide_keel_bookkeeping() {
        assert_eq!(
            listed_name(&Path::from("p/a.txt")).as_deref(),
            Some("a.txt")
        );
        assert_eq!(listed_name(&Path::from("p/.keel-mpu")), None);
    }

    #[test]
    fn urls_in_error_messages_lose_their_query() {
        assert_eq!(
            redact(
                "Error performing GET https://acct.blob.core.windows.net/c/x?sig=SECRET&se=1 in 1s"
            ),
            "Error performing GET https://acct.blob.core.windows.net/c/x?<redacted> in 1s"
        );
        assert_eq!(redact("plain message? yes"), "plain message? yes");
    }
}
