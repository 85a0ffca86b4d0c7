//! A local-directory artifact store that never reads or writes outside its root, even through
//! symlinks planted inside it.
//!
//! Reads resolve the real path (following symlinks) and refuse anything whose real location is
//! outside the root. Writes refuse to pass through any symlink at all, create missing folders
//! one level at a time, and land atomically (temporary file, then rename), so a reader never
//! sees a half-written artifact. Multipart uploads stage their parts in a hidden folder of the
//! root (see [`multipart`]).

mod multipart;

use std::io::ErrorKind;
use std::ops::Range;
use std::path::{Path, PathBuf};

use async_trait::async_trait;
use futures_util::{StreamExt, TryStreamExt};
use keel_core::{Error, ErrorCode, Result};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncSeekExt, AsyncWriteExt};
use tokio_util::io::{ReaderStream, StreamReader};

use crate::multipart::{CompletedPart, PartNumber, UploadId};
use crate::path::{ArtifactPath, is_reserved};
use crate::store::{ArtifactStore, ByteStream, Download, FileInfo, FileMeta, PartReceipt};

/// Bytes read from disk per chunk of a download: large enough to amortize each blocking read,
/// small enough to keep memory bounded per connection.
const DOWNLOAD_CHUNK: usize = 256 * 1024;

/// Artifacts stored as plain files under one root directory.
#[derive(Debug, Clone)]
pub struct LocalArtifactStore {
    /// Canonical (symlink-free, absolute) root.
    root: PathBuf,
}

fn io_err(what: &str, path: &ArtifactPath, e: std::io::Error) -> Error {
    match e.kind() {
        // `a.txt/b` where `a.txt` is a file: there is no such artifact.
        ErrorKind::NotFound | ErrorKind::NotADirectory => not_found(path),
        ErrorKind::ConnectionAborted => {
            crate::store::write_error(&format!("Artifact '{path}'"), &e)
        }
        _ => Error::internal(format!("cannot {what} artifact '{path}': {e}")),
    }
}

fn not_found(path: &ArtifactPath) -> Error {
    Error::not_found(format!("No such artifact: '{path}'"))
}

impl LocalArtifactStore {
    /// Opens (creating if needed) the store rooted at `root`.
    pub async fn open(root: &Path) -> Result<Self> {
        tokio::fs::create_dir_all(root).await.map_err(|e| {
            Error::internal(format!(
                "cannot create artifact root {}: {e}",
                root.display()
            ))
        })?;
        let root = tokio::fs::canonicalize(root).await.map_err(|e| {
            Error::internal(format!(
                "cannot resolve artifact root {}: {e}",
                root.display()
            ))
        })?;
        Ok(Self { root })
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    /// Where `path` lives, before any symlink is considered.
    fn locate(&self, path: &ArtifactPath) -> PathBuf {
        let mut p = self.root.clone();
        p.extend(path.segments());
        p
    }

    /// The real location of an existing artifact, which must lie inside the root.
    async fn resolve_existing(&self, path: &ArtifactPath) -> Result<PathBuf> {
        let real = tokio::fs::canonicalize(self.locate(path))
            .await
            .map_err(|e| io_err("resolve", path, e))?;
        if real.starts_with(&self.root) {
            Ok(real)
        } else {
            Err(not_found(path))
        }
    }

    /// Opens an artifact file for reading; returns it with its size.
    pub async fn open_file(&self, path: &ArtifactPath) -> Result<(tokio::fs::File, u64)> {
        let (file, meta) = self.open_regular(path).await?;
        Ok((file, meta.len()))
    }

    /// Opens a regular file inside the root; returns it with the metadata of what was opened.
    ///
    /// Only regular files with one link are served. The file is opened without blocking and
    /// without following a symlink swapped in after the path was resolved, so a FIFO or device
    /// planted in the root can neither hang a request nor be read; a file with several links
    /// may be a hard link to a file outside the root, which the path check cannot see.
    async fn open_regular(
        &self,
        path: &ArtifactPath,
    ) -> Result<(tokio::fs::File, std::fs::Metadata)> {
        let real = self.resolve_existing(path).await?;
        let before = tokio::fs::metadata(&real)
            .await
            .map_err(|e| io_err("read", path, e))?;
        check_servable(&before, path, &real)?;
        let mut options = tokio::fs::OpenOptions::new();
        options.read(true);
        #[cfg(unix)]
        options.custom_flags(libc::O_NONBLOCK | libc::O_NOFOLLOW);
        let file = options
            .open(&real)
            .await
            .map_err(|e| io_err("read", path, e))?;
        let meta = file.metadata().await.map_err(|e| io_err("read", path, e))?;
        check_servable(&meta, path, &real)?;
        Ok((file, meta))
    }

    /// The entries of a directory, sorted by name. A missing directory or a file lists as empty;
    /// symlinks whose target lies outside the root are left out.
    pub async fn list(&self, path: &ArtifactPath) -> Result<Vec<FileInfo>> {
        let dir = match self.resolve_existing(path).await {
            Ok(dir) => dir,
            Err(e) if e.code == ErrorCode::ResourceDoesNotExist => return Ok(Vec::new()),
            Err(e) => return Err(e),
        };
        if !tokio::fs::metadata(&dir)
            .await
            .map(|m| m.is_dir())
            .unwrap_or(false)
        {
            return Ok(Vec::new());
        }
        let mut entries = tokio::fs::read_dir(&dir)
            .await
            .map_err(|e| io_err("list", path, e))?;
        let mut out = Vec::new();
        while let Some(entry) = entries
            .next_entry()
            .await
            .map_err(|e| io_err("list", path, e))?
        {
            let Some(name) = entry.file_name().to_str().map(str::to_owned) else {
                continue;
            };
            if is_reserved(&name) {
                continue;
            }
            let Ok(real) = tokio::fs::canonicalize(entry.path()).await else {
                continue;
            };
            if !real.starts_with(&self.root) {
                continue;
            }
            let Ok(meta) = tokio::fs::metadata(&real).await else {
                continue;
            };
            out.push(FileInfo {
                name,
                is_dir: meta.is_dir(),
                size: meta.is_file().then_some(meta.len()),
            });
        }
        out.sort_by(|a, b| a.name.cmp(&b.name));
        Ok(out)
    }

    /// Streams `body` into the artifact at `path`, replacing it atomically; returns the size.
    pub async fn write(
        &self,
        path: &ArtifactPath,
        body: &mut (impl AsyncRead + Unpin + ?Sized),
    ) -> Result<u64> {
        let Some((name, parents)) = path.segments().split_last() else {
            return Err(Error::invalid("Cannot write to the artifact root itself"));
        };
        let mut dir = self.root.clone();
        for segment in parents {
            dir.push(segment);
            ensure_real_dir(&dir, path).await?;
        }
        let target = dir.join(name);
        match tokio::fs::symlink_metadata(&target).await {
            Ok(m) if m.file_type().is_symlink() => {
                return Err(Error::invalid(format!(
                    "Artifact '{path}' is a symlink; refusing to write through it"
                )));
            }
            Ok(m) if m.is_dir() => {
                return Err(Error::invalid(format!("Artifact '{path}' is a directory")));
            }
            _ => {}
        }
        let temp = dir.join(format!("{TEMP_PREFIX}{}", keel_core::names::new_uuid()));
        let written = copy_into(&temp, body).await;
        let result = match written {
            Ok(size) => tokio::fs::rename(&temp, &target).await.map(|()| size),
            Err(e) => Err(e),
        };
        match result {
            Ok(size) => Ok(size),
            Err(e) => {
                let _ = tokio::fs::remove_file(&temp).await;
                Err(io_err("write", path, e))
            }
        }
    }

    /// Deletes a file or a whole directory. A symlink is removed itself, never its target.
    pub async fn delete(&self, path: &ArtifactPath) -> Result<()> {
        if path.is_root() {
            return Err(Error::invalid("Cannot delete the artifact root"));
        }
        // The containing directory must really be inside the root.
        let parent = self.locate(&path.parent());
        let real_parent = tokio::fs::canonicalize(&parent)
            .await
            .map_err(|e| io_err("delete", path, e))?;
        if !real_parent.starts_with(&self.root) {
            return Err(not_found(path));
        }
        let target = self.locate(path);
        let meta = tokio::fs::symlink_metadata(&target)
            .await
            .map_err(|e| io_err("delete", path, e))?;
        let removed = if meta.is_dir() {
            tokio::fs::remove_dir_all(&target).await
        } else {
            tokio::fs::remove_file(&target).await
        };
        removed.map_err(|e| io_err("delete", path, e))
    }
}

/// Refuses what is not a regular file with a single link (see [`LocalArtifactStore::open_regular`]).
fn check_servable(meta: &std::fs::Metadata, path: &ArtifactPath, real: &Path) -> Result<()> {
    if meta.is_dir() {
        return Err(Error::invalid(format!(
            "Artifact '{path}' is a directory, not a file"
        )));
    }
    if !meta.is_file() {
        tracing::warn!(path = %real.display(), "refusing to serve an artifact that is not a regular file (FIFO, socket or device)");
        return Err(Error::invalid(format!(
            "Artifact '{path}' is not a regular file"
        )));
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::MetadataExt;
        if meta.nlink() > 1 {
            tracing::warn!(
                path = %real.display(),
                links = meta.nlink(),
                "refusing to serve an artifact with several hard links: it may be a link to a file outside the artifact root"
            );
            return Err(Error::invalid(format!(
                "Artifact '{path}' cannot be served: the file has several hard links"
            )));
        }
    }
    Ok(())
}

/// Prefix of in-progress uploads; hidden from listings like every reserved name.
const TEMP_PREFIX: &str = ".keel-upload-";

/// The files' bytes one after the other, each opened only when the previous one is done.
fn concatenated(files: Vec<PathBuf>) -> ByteStream {
    futures_util::stream::iter(files)
        .then(tokio::fs::File::open)
        .map_ok(|file| ReaderStream::with_capacity(file, DOWNLOAD_CHUNK))
        .try_flatten()
        .boxed()
}

/// A file's version: its size and modification time, which change when it is replaced.
fn version_of(meta: &std::fs::Metadata) -> Option<String> {
    let modified = meta.modified().ok()?;
    let since = modified.duration_since(std::time::UNIX_EPOCH).ok()?;
    Some(format!("{}-{}", meta.len(), since.as_nanos()))
}

/// The error for a read of a file replaced since its size was looked up.
fn changed(path: &ArtifactPath) -> Error {
    Error::new(
        ErrorCode::TemporarilyUnavailable,
        format!("Artifact '{path}' changed while it was being read; retry the request"),
    )
}

#[async_trait]
impl ArtifactStore for LocalArtifactStore {
    fn location(&self) -> String {
        self.root.display().to_string()
    }

    async fn list(&self, path: &ArtifactPath) -> Result<Vec<FileInfo>> {
        LocalArtifactStore::list(self, path).await
    }

    async fn head(&self, path: &ArtifactPath) -> Result<FileMeta> {
        let (_, meta) = self.open_regular(path).await?;
        Ok(FileMeta {
            size: meta.len(),
            version: version_of(&meta),
        })
    }

    async fn open(
        &self,
        path: &ArtifactPath,
        range: Option<Range<u64>>,
        version: Option<&str>,
    ) -> Result<Download> {
        let (mut file, meta) = self.open_regular(path).await?;
        let size = meta.len();
        if version.is_some() && version_of(&meta).as_deref() != version {
            return Err(changed(path));
        }
        let range = range.unwrap_or(0..size);
        if range.start > range.end || range.end > size {
            return Err(Error::invalid(format!(
                "Byte range {}-{} is outside artifact '{path}' ({size} bytes)",
                range.start, range.end
            )));
        }
        if range.start > 0 {
            file.seek(std::io::SeekFrom::Start(range.start))
                .await
                .map_err(|e| io_err("read", path, e))?;
        }
        let reader = file.take(range.end - range.start);
        Ok(Download {
            size,
            body: Box::pin(ReaderStream::with_capacity(reader, DOWNLOAD_CHUNK)),
        })
    }

    async fn write(&self, path: &ArtifactPath, body: ByteStream) -> Result<u64> {
        let mut reader = StreamReader::new(body);
        LocalArtifactStore::write(self, path, &mut reader).await
    }

    async fn delete(&self, path: &ArtifactPath) -> Result<()> {
        LocalArtifactStore::delete(self, path).await
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
        let staged = multipart::staged_parts(self, path, upload, parts).await?;
        let mut reader = StreamReader::new(concatenated(staged));
        LocalArtifactStore::write(self, path, &mut reader).await?;
        multipart::forget(self, upload).await
    }

    async fn abort_multipart(&self, path: &ArtifactPath, upload: &UploadId) -> Result<()> {
        multipart::abort(self, path, upload).await
    }

    async fn purge_stale_uploads(&self, older_than: std::time::Duration) -> Result<usize> {
        let cutoff = std::time::SystemTime::now()
            .checked_sub(older_than)
            .unwrap_or(std::time::UNIX_EPOCH);
        multipart::purge_stale(self, cutoff).await
    }
}

/// Makes sure `dir` is a real directory (not a symlink, not a file), creating it if missing.
async fn ensure_real_dir(dir: &Path, path: &ArtifactPath) -> Result<()> {
    match tokio::fs::symlink_metadata(dir).await {
        Ok(m) if m.file_type().is_symlink() => Err(Error::invalid(format!(
            "Artifact path '{path}' passes through a symlink; refusing to write"
        ))),
        Ok(m) if m.is_dir() => Ok(()),
        Ok(_) => Err(Error::invalid(format!(
            "Artifact path '{path}' passes through a file where a directory is expected"
        ))),
        Err(e) if e.kind() == ErrorKind::NotFound => match tokio::fs::create_dir(dir).await {
            Ok(()) => Ok(()),
            // Another upload created it meanwhile: check what is there now.
            Err(e) if e.kind() == ErrorKind::AlreadyExists => {
                match tokio::fs::symlink_metadata(dir).await {
                    Ok(m) if m.is_dir() && !m.file_type().is_symlink() => Ok(()),
                    _ => Err(Error::invalid(format!(
                        "Artifact path '{path}' changed during the upload"
                    ))),
                }
            }
            Err(e) => Err(io_err("create folders for", path, e)),
        },
        Err(e) => Err(io_err("inspect", path, e)),
    }
}

/// Bytes buffered before each write to disk (request bodies arrive in small frames).
const WRITE_BUFFER: usize = 1024 * 1024;

/// Copies `body` into a new file at `temp` and flushes it to disk.
async fn copy_into(
    temp: &Path,
    body: &mut (impl AsyncRead + Unpin + ?Sized),
) -> std::io::Result<u64> {
    let file = tokio::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(temp)
        .await?;
    let mut file = tokio::io::BufWriter::with_capacity(WRITE_BUFFER, file);
    let size = tokio::io::copy(body, &mut file).await?;
    file.flush().await?;
    file.get_ref().sync_data().await?;
    Ok(size)
}
