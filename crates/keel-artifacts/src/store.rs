//! The artifact store trait every backend implements (local directory, S3, GCS, Azure), so the
//! HTTP layer holds one `Arc<dyn ArtifactStore>` and never knows where bytes live.
//!
//! Every method takes an [`ArtifactPath`], so no backend ever sees an unvalidated client string.
//! Bytes move as streams in both directions: memory per transfer is bounded, whatever the size.

use std::ops::Range;

use async_trait::async_trait;
use bytes::Bytes;
use futures_util::stream::BoxStream;
use keel_core::Result;

use crate::multipart::{CompletedPart, PartNumber, UploadId};
use crate::path::ArtifactPath;

/// Bytes on their way in or out of a store.
pub type ByteStream = BoxStream<'static, std::io::Result<Bytes>>;

/// The error an upload's [`ByteStream`] yields when the client's request body fails (the
/// client went away, stalled past the body-read timeout, sent a broken chunk): stores answer it
/// with INVALID_PARAMETER_VALUE, never an internal error, and store nothing.
pub fn upload_interrupted(cause: impl std::fmt::Display) -> std::io::Error {
    std::io::Error::new(
        std::io::ErrorKind::ConnectionAborted,
        format!("the request body could not be read: {cause}"),
    )
}

/// The domain error of an upload that failed with `e`: the client's fault when its body failed
/// ([`upload_interrupted`]), else the store's.
pub(crate) fn write_error(what: &str, e: &std::io::Error) -> keel_core::Error {
    if e.kind() == std::io::ErrorKind::ConnectionAborted {
        keel_core::Error::invalid(format!("{what} was not stored: {e}"))
    } else {
        keel_core::Error::internal(format!("cannot store {what}: {e}"))
    }
}

/// An entry of a directory listing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileInfo {
    /// The entry's name inside the listed directory.
    pub name: String,
    pub is_dir: bool,
    /// Size in bytes, for files.
    pub size: Option<u64>,
}

/// What a store knows about one file before reading it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileMeta {
    pub size: u64,
    /// Identifies this version of the file; passing it to [`ArtifactStore::open`] makes the
    /// read fail rather than mix bytes of two versions.
    pub version: Option<String>,
}

/// A file being read.
pub struct Download {
    /// The size of the whole file (not of the requested range).
    pub size: u64,
    /// The requested bytes.
    pub body: ByteStream,
}

impl std::fmt::Debug for Download {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Download")
            .field("size", &self.size)
            .finish_non_exhaustive()
    }
}

/// The ETag a stored part answers with; completion must name it again.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PartReceipt {
    pub etag: String,
}

/// A request the storage service accepts without credentials until it expires: the signed URL,
/// and the headers the request must carry (they are part of the signature).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignedRequest {
    pub url: String,
    pub headers: Vec<(String, String)>,
}

/// The error of a store that cannot sign URLs.
pub(crate) fn cannot_sign() -> keel_core::Error {
    keel_core::Error::new(
        keel_core::ErrorCode::NotImplemented,
        "This artifact store cannot sign URLs for direct access.",
    )
}

/// Where artifacts live. Errors are `keel_core::Error`s: `RESOURCE_DOES_NOT_EXIST` for a
/// missing file or upload, `INVALID_PARAMETER_VALUE` for requests the store refuses, and
/// `INTERNAL_ERROR` for storage failures (messages never contain credentials).
#[async_trait]
pub trait ArtifactStore: Send + Sync + std::fmt::Debug {
    /// Where the store keeps its bytes, for logs (e.g. `s3://bucket/prefix`).
    fn location(&self) -> String;

    /// The entries of a directory, sorted by name, named relative to it. A missing directory
    /// or a file lists as empty; Keel's own bookkeeping entries are never listed.
    async fn list(&self, path: &ArtifactPath) -> Result<Vec<FileInfo>>;

    /// The size (and version) of a file.
    async fn head(&self, path: &ArtifactPath) -> Result<FileMeta>;

    /// Streams a file, or the byte `range` of it (which must lie inside the file). With
    /// `version` (from [`Self::head`]), fails instead of reading a file replaced since.
    async fn open(
        &self,
        path: &ArtifactPath,
        range: Option<Range<u64>>,
        version: Option<&str>,
    ) -> Result<Download>;

    /// Streams `body` into the file at `path`, replacing any previous version; readers see the
    /// old file or the whole new one, never a partial one. Returns the size written.
    async fn write(&self, path: &ArtifactPath, body: ByteStream) -> Result<u64>;

    /// Deletes a file, or a directory with everything under it.
    async fn delete(&self, path: &ArtifactPath) -> Result<()>;

    /// Starts a multipart upload of the file at `path`.
    async fn create_multipart(&self, path: &ArtifactPath) -> Result<UploadId>;

    /// Stores one part of an upload (a part uploaded again replaces the earlier one).
    async fn put_part(
        &self,
        upload: &UploadId,
        part: PartNumber,
        body: ByteStream,
    ) -> Result<PartReceipt>;

    /// Assembles the parts, in order, into the file at `path` (atomically, like
    /// [`Self::write`]) and forgets the upload.
    async fn complete_multipart(
        &self,
        path: &ArtifactPath,
        upload: &UploadId,
        parts: &[CompletedPart],
    ) -> Result<()>;

    /// Drops an upload and everything staged for it.
    async fn abort_multipart(&self, path: &ArtifactPath, upload: &UploadId) -> Result<()>;

    /// Drops uploads started more than `older_than` ago and never completed or aborted;
    /// returns how many.
    async fn purge_stale_uploads(&self, older_than: std::time::Duration) -> Result<usize>;

    /// Whether the store signs URLs for direct access to its objects (S3 does; a local
    /// directory cannot): [`Self::presign_download`] and [`Self::presign_upload`].
    fn signs_urls(&self) -> bool {
        false
    }

    /// A `GET` of the file straight from the storage service, as an attachment named after it,
    /// valid for `expires_in`; with the file's size. A missing file (or a directory) is
    /// `RESOURCE_DOES_NOT_EXIST`; a store that cannot sign URLs answers `NOT_IMPLEMENTED`.
    async fn presign_download(
        &self,
        path: &ArtifactPath,
        expires_in: std::time::Duration,
    ) -> Result<(SignedRequest, u64)> {
        let _ = (path, expires_in);
        Err(cannot_sign())
    }

    /// A `PUT` of the file straight to the storage service with `content_type` (signed, so the
    /// upload must send it), valid for `expires_in`; `NOT_IMPLEMENTED` where it cannot sign.
    async fn presign_upload(
        &self,
        path: &ArtifactPath,
        content_type: &str,
        expires_in: std::time::Duration,
    ) -> Result<SignedRequest> {
        let _ = (path, content_type, expires_in);
        Err(cannot_sign())
    }
}
