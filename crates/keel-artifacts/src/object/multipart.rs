//! Multipart uploads in object storage, on the backend's own multipart API (`MultipartStore`).
//!
//! Keel's upload ID is random; the backend's upload ID and the target key live in a manifest
//! object `<prefix>/.keel-mpu/<upload_id>/upload.json`, so any Keel replica can serve any part.
//! Each stored part leaves an empty marker object `<upload_id>/<part>/<size>.<etag>` (replacing
//! the marker of an earlier upload of that part): completion checks the client's ETags and the
//! part sizes against these markers before asking the backend to assemble the object, which
//! then appears atomically.

use std::collections::HashMap;
use std::time::SystemTime;

use futures_util::{StreamExt, TryStreamExt};
use keel_core::{Error, Result};
use object_store::multipart::PartId;
use object_store::path::Path;
use object_store::{ObjectStoreExt, PutPayload, PutPayloadMut};
use serde::{Deserialize, Serialize};

use super::{ObjectArtifactStore, redact};
use crate::multipart::{
    CompletedPart, PartNumber, UploadId, hex, ordered_etags, part_mismatch, unhex, unknown_upload,
};
use crate::path::ArtifactPath;
use crate::store::{ByteStream, PartReceipt};

/// Largest part accepted: the backend API takes each part as one in-memory payload.
pub const MAX_PART_BYTES: usize = 64 * 1024 * 1024;

const STAGING: &str = ".keel-mpu";
const MANIFEST: &str = "upload.json";

#[derive(Debug, Serialize, Deserialize)]
struct Manifest {
    /// The artifact path being uploaded.
    path: String,
    /// The backend's ID of the multipart upload.
    multipart_id: String,
}

fn storage(what: &str, upload: &UploadId, e: object_store::Error) -> Error {
    match e {
        object_store::Error::NotFound { .. } => unknown_upload(upload),
        other => Error::internal(redact(&format!(
            "cannot {what} multipart upload {upload}: {other}"
        ))),
    }
}

impl ObjectArtifactStore {
    fn staging_key(&self) -> Result<Path> {
        self.internal_key([STAGING])
    }

    fn upload_key(&self, upload: &UploadId) -> Result<Path> {
        self.internal_key([STAGING, upload.as_str()])
    }

    fn manifest_key(&self, upload: &UploadId) -> Result<Path> {
        self.internal_key([STAGING, upload.as_str(), MANIFEST])
    }

    async fn manifest(&self, upload: &UploadId) -> Result<(Manifest, ArtifactPath)> {
        let bytes = self
            .store
            .get(&self.manifest_key(upload)?)
            .await
            .map_err(|e| storage("read", upload, e))?
            .bytes()
            .await
            .map_err(|e| storage("read", upload, e))?;
        let manifest: Manifest = serde_json::from_slice(&bytes).map_err(|e| {
            Error::internal(format!(
                "multipart upload {upload} has an unreadable manifest: {e}"
            ))
        })?;
        let path = ArtifactPath::parse(&manifest.path)?;
        Ok((manifest, path))
    }

    /// The manifest of an upload that must have been created for `path`.
    async fn manifest_for(&self, path: &ArtifactPath, upload: &UploadId) -> Result<Manifest> {
        let (manifest, target) = self.manifest(upload).await?;
        if &target != path {
            return Err(Error::not_found(format!(
                "No multipart upload '{upload}' of artifact '{path}' is in progress"
            )));
        }
        Ok(manifest)
    }

    /// Deletes everything under `key` (as a folder) but `keep`.
    async fn delete_under(&self, key: &Path, keep: Option<&Path>, upload: &UploadId) -> Result<()> {
        let keep = keep.cloned();
        let under = self
            .store
            .list(Some(key))
            .map_ok(|m| m.location)
            .try_filter(move |location| std::future::ready(Some(location) != keep.as_ref()))
            .boxed();
        self.store
            .delete_stream(under)
            .try_for_each(|_| async { Ok(()) })
            .await
            .map_err(|e| storage("clean up", upload, e))
    }

    /// Deletes the manifest and part markers of an upload.
    async fn forget(&self, upload: &UploadId) -> Result<()> {
        self.delete_under(&self.upload_key(upload)?, None, upload)
            .await
    }

    /// Recorded parts of an upload: (part number, ETag) → size.
    async fn recorded_parts(&self, upload: &UploadId) -> Result<HashMap<(u32, String), u64>> {
        let upload_key = self.upload_key(upload)?;
        let mut markers = self.store.list(Some(&upload_key));
        let mut parts = HashMap::new();
        while let Some(meta) = markers.next().await {
            let meta = meta.map_err(|e| storage("read", upload, e))?;
            let Some(mut rest) = meta.location.prefix_match(&upload_key) else {
                continue;
            };
            let (Some(n), Some(marker), None) = (rest.next(), rest.next(), rest.next()) else {
                continue;
            };
            let Some((size, etag)) = marker.as_ref().split_once('.') else {
                continue;
            };
            if let (Ok(n), Ok(size)) = (n.as_ref().parse::<u32>(), size.parse::<u64>()) {
                parts.insert((n, etag.to_owned()), size);
            }
        }
        Ok(parts)
    }
}

pub(super) async fn create(store: &ObjectArtifactStore, path: &ArtifactPath) -> Result<UploadId> {
    if path.is_root() {
        return Err(Error::invalid("Cannot write to the artifact root itself"));
    }
    let upload = UploadId::random()?;
    let key = store.key(path)?;
    let multipart_id = store
        .multipart
        .create_multipart(&key)
        .await
        .map_err(|e| storage("create", &upload, e))?;
    let manifest = serde_json::to_vec(&Manifest {
        path: path.as_string(),
        multipart_id: multipart_id.clone(),
    })
    .map_err(|e| Error::internal(format!("cannot record multipart upload {upload}: {e}")));
    let recorded = match (manifest, store.manifest_key(&upload)) {
        (Ok(manifest), Ok(manifest_key)) => store
            .store
            .put(&manifest_key, PutPayload::from(manifest))
            .await
            .map(|_| ())
            .map_err(|e| storage("create", &upload, e)),
        (Err(e), _) | (_, Err(e)) => Err(e),
    };
    if let Err(e) = recorded {
        // Without its manifest the upload could never be completed: drop it now.
        let _ = store.multipart.abort_multipart(&key, &multipart_id).await;
        return Err(e);
    }
    Ok(upload)
}

/// Reads a part into memory, refusing more than [`MAX_PART_BYTES`].
async fn read_part(part: PartNumber, mut body: ByteStream) -> Result<PutPayload> {
    let mut payload = PutPayloadMut::new();
    while let Some(chunk) = body.next().await {
        let chunk =
            chunk.map_err(|e| crate::store::write_error(&format!("Part {}", part.get()), &e))?;
        if payload.content_length() + chunk.len() > MAX_PART_BYTES {
            return Err(Error::invalid(format!(
                "Part {} is larger than {} MiB, the largest part Keel accepts for object storage; \
                 upload in smaller parts (MLFLOW_MULTIPART_UPLOAD_CHUNK_SIZE)",
                part.get(),
                MAX_PART_BYTES / (1024 * 1024)
            )));
        }
        payload.push(chunk);
    }
    Ok(payload.freeze())
}

pub(super) async fn put_part(
    store: &ObjectArtifactStore,
    upload: &UploadId,
    part: PartNumber,
    body: ByteStream,
) -> Result<PartReceipt> {
    let (manifest, path) = store.manifest(upload).await?;
    let payload = read_part(part, body).await?;
    let size = payload.content_length();
    let stored = store
        .multipart
        .put_part(
            &store.key(&path)?,
            &manifest.multipart_id,
            part.index(),
            payload,
        )
        .await
        .map_err(|e| storage("store a part of", upload, e))?;
    let etag = hex(stored.content_id.as_bytes());
    let number = part.get().to_string();
    let part_key = store.internal_key([STAGING, upload.as_str(), &number])?;
    let marker =
        store.internal_key([STAGING, upload.as_str(), &number, &format!("{size}.{etag}")])?;
    store
        .store
        .put(&marker, PutPayload::default())
        .await
        .map_err(|e| storage("record a part of", upload, e))?;
    store.delete_under(&part_key, Some(&marker), upload).await?;
    Ok(PartReceipt {
        etag: format!("\"{etag}\""),
    })
}

pub(super) async fn complete(
    store: &ObjectArtifactStore,
    path: &ArtifactPath,
    upload: &UploadId,
    parts: &[CompletedPart],
) -> Result<()> {
    let manifest = store.manifest_for(path, upload).await?;
    let etags = ordered_etags(parts)?;
    let recorded = store.recorded_parts(upload).await?;
    let mut ids = Vec::with_capacity(etags.len());
    for (i, etag) in etags.iter().enumerate() {
        let number = i + 1;
        let content_id = unhex(etag)
            .and_then(|bytes| String::from_utf8(bytes).ok())
            .ok_or_else(|| part_mismatch(upload, number))?;
        let size = recorded
            .get(&(number as u32, (*etag).to_owned()))
            .ok_or_else(|| part_mismatch(upload, number))?;
        if number < etags.len() && *size < store.min_part_bytes {
            return Err(Error::invalid(format!(
                "Part {number} is {size} bytes; this object store needs every part but the last \
                 to be at least {} MiB (raise MLFLOW_MULTIPART_UPLOAD_CHUNK_SIZE)",
                store.min_part_bytes / (1024 * 1024)
            )));
        }
        ids.push(PartId { content_id });
    }
    let key = store.key(path)?;
    if ids.is_empty() {
        // An empty file: nothing to assemble.
        store
            .store
            .put(&key, PutPayload::default())
            .await
            .map_err(|e| storage("complete", upload, e))?;
        let _ = store
            .multipart
            .abort_multipart(&key, &manifest.multipart_id)
            .await;
    } else {
        store
            .multipart
            .complete_multipart(&key, &manifest.multipart_id, ids)
            .await
            .map_err(|e| storage("complete", upload, e))?;
    }
    store.forget(upload).await
}

pub(super) async fn abort(
    store: &ObjectArtifactStore,
    path: &ArtifactPath,
    upload: &UploadId,
) -> Result<()> {
    let manifest = store.manifest_for(path, upload).await?;
    match store
        .multipart
        .abort_multipart(&store.key(path)?, &manifest.multipart_id)
        .await
    {
        Ok(()) | Err(object_store::Error::NotFound { .. }) => {}
        Err(e) => return Err(storage("abort", upload, e)),
    }
    store.forget(upload).await
}

pub(super) async fn purge_stale(
    store: &ObjectArtifactStore,
    older_than: std::time::Duration,
) -> Result<usize> {
    let cutoff = SystemTime::now()
        .checked_sub(older_than)
        .unwrap_or(SystemTime::UNIX_EPOCH);
    let staging = store.staging_key()?;
    let mut objects = store.store.list(Some(&staging));
    // Newest activity per upload: an upload still receiving parts is not stale.
    let mut newest: HashMap<UploadId, SystemTime> = HashMap::new();
    while let Some(meta) = objects.next().await {
        let meta =
            meta.map_err(|e| Error::internal(redact(&format!("cannot list staged uploads: {e}"))))?;
        let Some(upload) = meta
            .location
            .prefix_match(&staging)
            .and_then(|mut rest| rest.next())
            .and_then(|id| UploadId::parse(id.as_ref()).ok())
        else {
            continue;
        };
        let modified = SystemTime::from(meta.last_modified);
        let entry = newest.entry(upload).or_insert(modified);
        *entry = (*entry).max(modified);
    }
    let mut purged = 0;
    for (upload, modified) in newest {
        if modified >= cutoff {
            continue;
        }
        if let Ok((manifest, path)) = store.manifest(&upload).await {
            let _ = store
                .multipart
                .abort_multipart(&store.key(&path)?, &manifest.multipart_id)
                .await;
        }
        store.forget(&upload).await?;
        purged += 1;
    }
    Ok(purged)
}
