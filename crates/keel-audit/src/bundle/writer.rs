//! Writing an export bundle, with the hash tiles of its entries computed as they are written.

use std::fs::{self, File};
use std::io::{BufWriter, ErrorKind, Write};
use std::path::{Path, PathBuf};

use super::tile_sink::TileSink;
use super::{
    CHECKPOINTS_DIR, ENTRIES_FILE, KEY_FILE, PRUNED_FILE, TIMESTAMP_EXT, TIMESTAMPS_DIR,
    TSA_CA_FILE, checkpoint_name,
};
use crate::Error;
use crate::hash::Hash;
use crate::hash::leaf_hash;
use crate::note::NoteVerifier;
use crate::tile::{self, TileBuilder};

/// Writes an export bundle into a new (or empty) directory. Entries are buffered; the other
/// files are written when given. Nothing is complete until [`BundleWriter::finish`].
///
/// The hash tiles of the entries (`tile/`) are computed from the entries themselves: full tiles
/// are written as they fill, the partial tiles of the final size by [`BundleWriter::finish`].
/// So the entries written should be exactly those of the last checkpoint's tree. Tile files
/// are written and synced on a background thread; memory stays bounded whatever the number of
/// entries.
#[derive(Debug)]
pub struct BundleWriter {
    dir: PathBuf,
    entries: BufWriter<File>,
    tiles: TileBuilder,
    sink: TileSink,
    has_key: bool,
    /// Leaves given by hash only (pruned), all before the first entry.
    pruned: u64,
    /// Entries written.
    written: u64,
}

impl BundleWriter {
    /// Starts a bundle in `dir`, creating it if needed. Refuses a directory that is not empty.
    pub fn create(dir: &Path) -> Result<Self, Error> {
        match fs::read_dir(dir) {
            Ok(mut listing) => {
                if listing.next().is_some() {
                    return Err(Error::Bundle(format!("{} is not empty", dir.display())));
                }
            }
            Err(e) if e.kind() == ErrorKind::NotFound => {
                fs::create_dir_all(dir).map_err(|e| Error::io(dir, e))?;
            }
            Err(e) => return Err(Error::io(dir, e)),
        }
        for sub in [CHECKPOINTS_DIR, TIMESTAMPS_DIR, tile::DIR] {
            let path = dir.join(sub);
            fs::create_dir(&path).map_err(|e| Error::io(path, e))?;
        }
        let path = dir.join(ENTRIES_FILE);
        let file = File::create_new(&path).map_err(|e| Error::io(path, e))?;
        Ok(Self {
            dir: dir.to_owned(),
            entries: BufWriter::with_capacity(1 << 20, file),
            tiles: TileBuilder::new(),
            sink: TileSink::start(dir)?,
            has_key: false,
            pruned: 0,
            written: 0,
        })
    }

    /// Appends the next leaf of an entry pruned by retention, by its leaf hash (from the log's
    /// tree). Pruned leaves come before every entry.
    pub fn pruned_leaf(&mut self, hash: Hash) -> Result<(), Error> {
        if self.written > 0 {
            return Err(Error::Bundle(
                "pruned leaves must come before the entries".into(),
            ));
        }
        self.pruned += 1;
        self.push_leaf(hash)
    }

    fn push_leaf(&mut self, hash: Hash) -> Result<(), Error> {
        let (dir, sink) = (&self.dir, &mut self.sink);
        self.tiles.push(hash, |tile, hashes| {
            sink.write(dir.join(tile.path()), hashes.as_flattened().to_vec())
        })
    }

    /// Appends the next entry: its exact leaf bytes, which must not contain a newline.
    pub fn entry(&mut self, bytes: &[u8]) -> Result<(), Error> {
        if bytes.contains(&b'\n') {
            return Err(Error::Bundle("an entry must not contain a newline".into()));
        }
        let path = || self.dir.join(ENTRIES_FILE);
        self.entries
            .write_all(bytes)
            .and_then(|()| self.entries.write_all(b"\n"))
            .map_err(|e| Error::io(path(), e))?;
        self.written += 1;
        self.push_leaf(leaf_hash(bytes))
    }

    /// Adds the signed checkpoint note of tree size `size`.
    pub fn checkpoint(&mut self, size: u64, note: &str) -> Result<(), Error> {
        let path = self.dir.join(CHECKPOINTS_DIR).join(checkpoint_name(size));
        write_new(&path, note.as_bytes())
    }

    /// Adds the RFC 3161 timestamp response (DER) of the checkpoint of size `size`.
    pub fn timestamp(&mut self, size: u64, der: &[u8]) -> Result<(), Error> {
        let name = format!("{}{TIMESTAMP_EXT}", checkpoint_name(size));
        write_new(&self.dir.join(TIMESTAMPS_DIR).join(name), der)
    }

    /// Adds the timestamp authority's CA certificates (PEM), which must parse.
    pub fn tsa_ca(&mut self, pem: &[u8]) -> Result<(), Error> {
        crate::timestamp::TrustAnchors::from_pem(pem)
            .map_err(|e| Error::Bundle(format!("invalid timestamp authority CA: {e}")))?;
        write_new(&self.dir.join(TSA_CA_FILE), pem)
    }

    /// Adds the log's note verifier key, which must parse.
    pub fn key(&mut self, vkey: &str) -> Result<(), Error> {
        NoteVerifier::parse(vkey)?;
        write_new(&self.dir.join(KEY_FILE), format!("{vkey}\n").as_bytes())?;
        self.has_key = true;
        Ok(())
    }

    /// Writes the partial tiles of the entries written, flushes the entries and syncs every file
    /// and directory to disk. Refuses a bundle without its key.
    pub fn finish(self) -> Result<(), Error> {
        if !self.has_key {
            return Err(Error::Bundle(
                "a bundle needs its key (BundleWriter::key)".into(),
            ));
        }
        if self.pruned > 0 {
            write_new(
                &self.dir.join(PRUNED_FILE),
                format!("{}\n", self.pruned).as_bytes(),
            )?;
        }
        let mut sink = self.sink;
        for (tile, hashes) in self.tiles.partial_tiles() {
            sink.write(self.dir.join(tile.path()), hashes.as_flattened().to_vec())?;
        }
        sink.finish()?;
        sync_tree(&self.dir.join(tile::DIR))?;
        let path = self.dir.join(ENTRIES_FILE);
        let file = self
            .entries
            .into_inner()
            .map_err(|e| Error::io(&path, e.into_error()))?;
        file.sync_all().map_err(|e| Error::io(&path, e))?;
        for dir in [
            self.dir.join(CHECKPOINTS_DIR),
            self.dir.join(TIMESTAMPS_DIR),
            self.dir.clone(),
        ] {
            sync_dir(&dir)?;
        }
        Ok(())
    }
}

/// Syncs `dir` and every directory under it (the tile directories, a few per million entries).
fn sync_tree(dir: &Path) -> Result<(), Error> {
    let mut subdirs = Vec::new();
    for entry in fs::read_dir(dir).map_err(|e| Error::io(dir, e))? {
        let entry = entry.map_err(|e| Error::io(dir, e))?;
        let kind = entry.file_type().map_err(|e| Error::io(entry.path(), e))?;
        if kind.is_dir() {
            subdirs.push(entry.path());
        }
    }
    for sub in subdirs {
        sync_tree(&sub)?;
    }
    sync_dir(dir)
}

/// Writes a new file (refusing to overwrite one) and syncs it.
fn write_new(path: &Path, bytes: &[u8]) -> Result<(), Error> {
    let mut file = File::create_new(path).map_err(|e| Error::io(path, e))?;
    file.write_all(bytes)
        .and_then(|()| file.sync_all())
        .map_err(|e| Error::io(path, e))
}

/// Syncs a directory, so the files created in it survive a crash (Unix; elsewhere a no-op).
fn sync_dir(dir: &Path) -> Result<(), Error> {
    #[cfg(unix)]
    {
        File::open(dir)
            .and_then(|d| d.sync_all())
            .map_err(|e| Error::io(dir, e))?;
    }
    #[cfg(not(unix))]
    let _ = dir;
    Ok(())
}
