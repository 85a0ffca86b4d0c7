//! Multipart uploads on local disk. Each upload gets a staging folder
//! `<root>/.keel-mpu/<upload_id>/` holding `upload.json` (the target path) and, per part, a
//! folder `<part_number>/` with the part's bytes in a file named by its ETag; uploading a part
//! again replaces the earlier file, so only the latest ETag completes. Completion streams the parts in order into the target through
//! the store's atomic write, then removes the folder. Names starting with `.keel-` are reserved
//! ([`crate::path::RESERVED_PREFIX`]), so no client path can reach the staging area.

use std::path::PathBuf;

use keel_core::{Error, Result};
use serde::{Deserialize, Serialize};
use tokio_util::io::StreamReader;

use super::{LocalArtifactStore, copy_into, ensure_real_dir};
use crate::multipart::{
    CompletedPart, PartNumber, UploadId, ordered_etags, part_mismatch, unknown_upload,
};
use crate::path::ArtifactPath;
use crate::store::{ByteStream, PartReceipt};

/// The staging area's folder under the root.
const STAGING: &str = ".keel-mpu";
const MANIFEST: &str = "upload.json";

/// What `upload.json` records.
#[derive(Debug, Serialize, Deserialize)]
struct Manifest {
    path: String,
}

fn staging_root(store: &LocalArtifactStore) -> PathBuf {
    store.root.join(STAGING)
}

fn upload_dir(store: &LocalArtifactStore, upload: &UploadId) -> PathBuf {
    staging_root(store).join(upload.as_str())
}

fn internal(what: &str, upload: &UploadId, e: std::io::Error) -> Error {
    Error::internal(format!("cannot {what} multipart upload {upload}: {e}"))
}

pub(super) async fn create(store: &LocalArtifactStore, path: &ArtifactPath) -> Result<UploadId> {
    if path.is_root() {
        return Err(Error::invalid("Cannot write to the artifact root itself"));
    }
    ensure_real_dir(&staging_root(store), path).await?;
    let upload = UploadId::random()?;
    let dir = upload_dir(store, &upload);
    tokio::fs::create_dir(&dir)
        .await
        .map_err(|e| internal("create", &upload, e))?;
    let manifest = serde_json::to_vec(&Manifest {
        path: path.as_string(),
    })
    .map_err(|e| Error::internal(format!("cannot record multipart upload {upload}: {e}")))?;
    tokio::fs::write(dir.join(MANIFEST), manifest)
        .await
        .map_err(|e| internal("create", &upload, e))?;
    Ok(upload)
}

/// The upload's folder, if the upload exists (its folder and manifest are real, not symlinks).
async fn existing(store: &LocalArtifactStore, upload: &UploadId) -> Result<PathBuf> {
    let dir = upload_dir(store, upload);
    for (p, want_dir) in [
        (staging_root(store), true),
        (dir.clone(), true),
        (dir.join(MANIFEST), false),
    ] {
        match tokio::fs::symlink_metadata(&p).await {
            Ok(m) if !m.file_type().is_symlink() && m.is_dir() == want_dir => {}
            _ => return Err(unknown_upload(upload)),
        }
    }
    Ok(dir)
}

/// The upload's folder, if it exists and was created for `path`.
async fn existing_for(
    store: &LocalArtifactStore,
    path: &ArtifactPath,
    upload: &UploadId,
) -> Result<PathBuf> {
    let dir = existing(store, upload).await?;
    let text = tokio::fs::read(dir.join(MANIFEST))
        .await
        .map_err(|_| unknown_upload(upload))?;
    let manifest: Manifest = serde_json::from_slice(&text).map_err(|e| {
        Error::internal(format!(
            "multipart upload {upload} has an unreadable manifest: {e}"
        ))
    })?;
    if manifest.path != path.as_string() {
        return Err(Error::not_found(format!(
            "No multipart upload '{upload}' of artifact '{path}' is in progress"
        )));
    }
    Ok(dir)
}

pub(super) async fn put_part(
    store: &LocalArtifactStore,
    upload: &UploadId,
    part: PartNumber,
    body: ByteStream,
) -> Result<PartReceipt> {
    let dir = existing(store, upload).await?;
    // The ETag is a fresh random token, so completion can tell this upload of the part from
    // any earlier or concurrent one.
    let token = UploadId::random()?;
    let temp = dir.join(format!(".tmp-{token}"));
    let part_dir = dir.join(part.get().to_string());
    let mut reader = StreamReader::new(body);
    let stored = match copy_into(&temp, &mut reader).await {
        Ok(_) => match tokio::fs::create_dir(&part_dir).await {
            Err(e) if e.kind() != std::io::ErrorKind::AlreadyExists => Err(e),
            _ => tokio::fs::rename(&temp, part_dir.join(token.as_str())).await,
        },
        Err(e) => Err(e),
    };
    if let Err(e) = stored {
        let _ = tokio::fs::remove_file(&temp).await;
        return Err(match e.kind() {
            std::io::ErrorKind::NotFound => unknown_upload(upload),
            std::io::ErrorKind::ConnectionAborted => {
                crate::store::write_error(&format!("Part {} of upload {upload}", part.get()), &e)
            }
            _ => internal("store a part of", upload, e),
        });
    }
    remove_older_uploads_of_part(&part_dir, &token).await;
    Ok(PartReceipt {
        etag: format!("\"{token}\""),
    })
}

/// Deletes earlier uploads of a part (best effort: completion checks the ETag anyway).
async fn remove_older_uploads_of_part(part_dir: &std::path::Path, latest: &UploadId) {
    let Ok(mut entries) = tokio::fs::read_dir(part_dir).await else {
        return;
    };
    while let Ok(Some(entry)) = entries.next_entry().await {
        if entry.file_name().to_str() != Some(latest.as_str()) {
            let _ = tokio::fs::remove_file(entry.path()).await;
        }
    }
}

/// The staged files of `parts`, in order; every part must be there with the ETag named.
pub(super) async fn staged_parts(
    store: &LocalArtifactStore,
    path: &ArtifactPath,
    upload: &UploadId,
    parts: &[CompletedPart],
) -> Result<Vec<PathBuf>> {
    let dir = existing_for(store, path, upload).await?;
    let mut files = Vec::with_capacity(parts.len());
    for (i, etag) in ordered_etags(parts)?.into_iter().enumerate() {
        let token = UploadId::parse(etag).map_err(|_| part_mismatch(upload, i + 1))?;
        let file = dir.join((i + 1).to_string()).join(token.as_str());
        match tokio::fs::symlink_metadata(&file).await {
            Ok(m) if m.is_file() => files.push(file),
            _ => return Err(part_mismatch(upload, i + 1)),
        }
    }
    Ok(files)
}

/// Removes a finished upload's staging folder.
pub(super) async fn forget(store: &LocalArtifactStore, upload: &UploadId) -> Result<()> {
    match tokio::fs::remove_dir_all(upload_dir(store, upload)).await {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(internal("clean up", upload, e)),
    }
}

pub(super) async fn abort(
    store: &LocalArtifactStore,
    path: &ArtifactPath,
    upload: &UploadId,
) -> Result<()> {
    existing_for(store, path, upload).await?;
    forget(store, upload).await
}

/// Removes uploads started before `cutoff` and never completed or aborted; returns how many.
pub(super) async fn purge_stale(
    store: &LocalArtifactStore,
    cutoff: std::time::SystemTime,
) -> Result<usize> {
    let root = staging_root(store);
    let mut entries = match tokio::fs::read_dir(&root).await {
        Ok(entries) => entries,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(0),
        Err(e) => return Err(Error::internal(format!("cannot list staged uploads: {e}"))),
    };
    let mut purged = 0;
    while let Some(entry) = entries
        .next_entry()
        .await
        .map_err(|e| Error::internal(format!("cannot list staged uploads: {e}")))?
    {
        let Some(upload) = entry
            .file_name()
            .to_str()
            .and_then(|n| UploadId::parse(n).ok())
        else {
            continue;
        };
        let stale = tokio::fs::symlink_metadata(entry.path())
            .await
            .ok()
            .filter(|m| m.is_dir() && !m.file_type().is_symlink())
            .and_then(|m| m.modified().ok())
            .is_some_and(|modified| modified < cutoff);
        if stale {
            forget(store, &upload).await?;
            purged += 1;
        }
    }
    Ok(purged)
}

#[cfg(test)]
mod tests {
    use futures_util::TryStreamExt;

    use super::*;
    use crate::store::ArtifactStore;

    async fn collect(body: ByteStream) -> Vec<u8> {
        body.try_fold(Vec::new(), |mut acc, chunk| async move {
            acc.extend_from_slice(&chunk);
            Ok(acc)
        })
        .await
        .unwrap_or_default()
    }

    fn body(bytes: &'static [u8]) -> ByteStream {
        Box::pin(futures_util::stream::iter([Ok(bytes::Bytes::from_static(
            bytes,
        ))]))
    }

    #[tokio::test]
    async fn parts_stage_in_a_hidden_folder_and_vanish_on_completion() {
        let dir = tempfile::tempdir().expect("tempdir");
        let store = LocalArtifactStore::open(dir.path()).await.expect("open");
        let path = ArtifactPath::parse("a/b.bin").expect("valid");
        let upload = store.create_multipart(&path).await.expect("create");
        let staged = upload_dir(&store, &upload);
        assert!(staged.join(MANIFEST).is_file());
        let part = PartNumber::new(1).expect("valid");
        let stale = store
            .put_part(&upload, part, body(b"old"))
            .await
            .expect("part");
        let receipt = store
            .put_part(&upload, part, body(b"xyz"))
            .await
            .expect("part again");
        let part_files = std::fs::read_dir(staged.join("1"))
            .expect("part dir")
            .count();
        assert_eq!(part_files, 1, "the earlier upload of the part is gone");
        let stale_parts = [CompletedPart {
            part_number: part,
            etag: stale.etag,
        }];
        assert!(
            store
                .complete_multipart(&path, &upload, &stale_parts)
                .await
                .is_err()
        );
        assert!(
            store
                .list(&ArtifactPath::root())
                .await
                .expect("list")
                .is_empty()
        );
        let parts = [CompletedPart {
            part_number: part,
            etag: receipt.etag,
        }];
        store
            .complete_multipart(&path, &upload, &parts)
            .await
            .expect("complete");
        assert!(!staged.exists());
        let download = store.open(&path, None, None).await.expect("open");
        assert_eq!(collect(download.body).await, b"xyz");
    }

    #[tokio::test]
    async fn stale_uploads_are_purged() {
        let dir = tempfile::tempdir().expect("tempdir");
        let store = LocalArtifactStore::open(dir.path()).await.expect("open");
        let path = ArtifactPath::parse("x").expect("valid");
        let upload = store.create_multipart(&path).await.expect("create");
        let past = std::time::SystemTime::now() - std::time::Duration::from_secs(3600);
        assert_eq!(purge_stale(&store, past).await.ok(), Some(0));
        let future = std::time::SystemTime::now() + std::time::Duration::from_secs(3600);
        assert_eq!(purge_stale(&store, future).await.ok(), Some(1));
        assert!(!upload_dir(&store, &upload).exists());
    }
}
