//! Reading one level of tiles from a directory as a stream of hashes, in order.

use std::fs::{self, File};
use std::io::{ErrorKind, Read};
use std::path::{Path, PathBuf};

use super::{HEIGHT, Tile, WIDTH};
use crate::Error;
use crate::hash::Hash;

/// The bytes of a full tile.
const FULL_BYTES: usize = WIDTH as usize * 32;

/// The hashes of one tile level, read from the tiles under a directory (the one holding
/// `tile/`): full tiles `0, 1, ...`, then the widest partial tile where the full ones stop.
/// It yields at most `limit` hashes and ends early where no usable tile is found; a tile
/// that is missing, not a file, or not exactly `32 · W` bytes is not usable.
#[derive(Debug)]
pub(crate) struct TileStream {
    root: PathBuf,
    level: u8,
    limit: u64,
    /// The index of the next tile to load.
    next_tile: u64,
    /// The loaded tile's bytes, and the offset of the next hash and the end of what may be read.
    buf: Vec<u8>,
    pos: usize,
    end: usize,
    /// The path of the loaded tile.
    path: String,
    /// No tile follows the loaded one (it was partial, or the next is missing).
    done: bool,
    /// Why the stream ended before `limit`, once it has.
    gap: Option<String>,
}

impl TileStream {
    /// The stream of the `level` hashes under `root`, up to `limit` of them.
    pub(crate) fn open(root: &Path, level: u8, limit: u64) -> Self {
        Self {
            root: root.to_owned(),
            level,
            limit,
            next_tile: 0,
            buf: Vec::with_capacity(FULL_BYTES + 1),
            pos: 0,
            end: 0,
            path: String::new(),
            done: false,
            gap: None,
        }
    }

    /// The next hash, or `None` once the stream has ended.
    #[inline]
    pub(crate) fn next_hash(&mut self) -> Result<Option<Hash>, Error> {
        if self.pos == self.end && !self.load()? {
            return Ok(None);
        }
        let hash = self
            .buf
            .get(self.pos..self.pos + 32)
            .and_then(|bytes| Hash::try_from(bytes).ok());
        self.pos += 32;
        Ok(hash)
    }

    /// The path of the tile the last hash came from.
    pub(crate) fn tile_path(&self) -> &str {
        &self.path
    }

    /// Why the stream ended before its limit (a sentence naming the tile), if it did.
    pub(crate) fn gap(&self) -> Option<&str> {
        self.gap.as_deref()
    }

    /// Loads the next tile; false at the end of the stream.
    fn load(&mut self) -> Result<bool, Error> {
        let start = self.next_tile << HEIGHT;
        if self.done || self.gap.is_some() || start >= self.limit {
            return Ok(false);
        }
        let full = Tile::full(self.level, self.next_tile);
        let found = if read_exact_file(&self.root.join(full.path()), FULL_BYTES, &mut self.buf)? {
            Some(full)
        } else {
            self.done = true;
            self.widest_partial(full)?
        };
        let Some(tile) = found else {
            self.gap = Some(format!(
                "the level-{} hash tiles end at node {start}: {} is missing or malformed, and \
                 no {}.p/<W> partial tile replaces it",
                self.level,
                full.path(),
                full.path()
            ));
            return Ok(false);
        };
        let wanted = self.limit - start;
        let width = u64::from(tile.width);
        if width < wanted && !tile.is_full() {
            self.gap = Some(format!(
                "the level-{} hash tiles end at node {}: {} is the last of them",
                self.level,
                start + width,
                tile.path()
            ));
        }
        self.pos = 0;
        self.end = (width.min(wanted) * 32) as usize;
        self.path = tile.path();
        self.next_tile += 1;
        Ok(self.end > 0)
    }

    /// Reads the widest usable partial tile `<N>.p/<W>` of the full tile `full` into the buffer.
    fn widest_partial(&mut self, full: Tile) -> Result<Option<Tile>, Error> {
        let pdir = self.root.join(format!("{}.p", full.path()));
        let listing = match fs::read_dir(&pdir) {
            Ok(listing) => listing,
            Err(e) if unusable(&e) => return Ok(None),
            Err(e) => return Err(Error::io(pdir, e)),
        };
        let mut widths = Vec::new();
        for entry in listing {
            let entry = entry.map_err(|e| Error::io(&pdir, e))?;
            if let Some(w) = entry.file_name().to_str().and_then(parse_width) {
                widths.push(w);
            }
        }
        widths.sort_unstable_by(|a, b| b.cmp(a));
        for width in widths {
            let path = pdir.join(width.to_string());
            if read_exact_file(&path, usize::from(width) * 32, &mut self.buf)? {
                return Ok(Some(Tile { width, ..full }));
            }
        }
        Ok(None)
    }
}

/// A partial tile's width from its file name: 1 to 255 in decimal, without leading zeros.
fn parse_width(name: &str) -> Option<u16> {
    if name.is_empty() || name.starts_with('0') || !name.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    name.parse().ok().filter(|&w| w < WIDTH)
}

/// Reads the file at `path` into `buf` if it is a file of exactly `len` bytes; false if it is
/// missing, not a file, or of another length.
fn read_exact_file(path: &Path, len: usize, buf: &mut Vec<u8>) -> Result<bool, Error> {
    buf.clear();
    let file = match File::open(path) {
        Ok(file) => file,
        Err(e) if unusable(&e) => return Ok(false),
        Err(e) => return Err(Error::io(path, e)),
    };
    match file.take(len as u64 + 1).read_to_end(buf) {
        Ok(n) => Ok(n == len),
        Err(e) if unusable(&e) => Ok(false),
        Err(e) => Err(Error::io(path, e)),
    }
}

/// Errors that mean "no tile here" rather than a failing disk.
fn unusable(e: &std::io::Error) -> bool {
    matches!(
        e.kind(),
        ErrorKind::NotFound | ErrorKind::IsADirectory | ErrorKind::NotADirectory
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hashes(dir: &Path, level: u8, limit: u64) -> (Vec<Hash>, Option<String>) {
        let mut s = TileStream::open(dir, level, limit);
        let mut out = Vec::new();
        while let Ok(Some(h)) = s.next_hash() {
            out.push(h);
        }
        (out, s.gap().map(str::to_owned))
    }

    #[test]
    fn full_tiles_then_the_widest_partial() {
        let tmp = tempfile::TempDir::new().unwrap_or_else(|e| panic!("{e}"));
        let dir = tmp.path();
        let write = |path: &str, first: u8, n: usize| {
            let path = dir.join(path);
            fs::create_dir_all(path.parent().unwrap_or(dir)).unwrap_or_else(|e| panic!("{e}"));
            let bytes: Vec<u8> = (0..n)
                .flat_map(|i| [first.wrapping_add(i as u8); 32])
                .collect();
            fs::write(path, bytes).unwrap_or_else(|e| panic!("{e}"));
        };
        write("tile/1/000", 0, 256);
        write("tile/1/001.p/3", 100, 3);
        write("tile/1/001.p/5", 0, 5);
        write("tile/1/001.p/9", 0, 8); // the wrong length for its width: not usable
        let (h, gap) = hashes(dir, 1, 261);
        assert_eq!(h.len(), 261);
        assert_eq!(h[256], [0; 32]);
        assert_eq!(gap, None);
        // Limited: the stream stops without a gap.
        assert_eq!(hashes(dir, 1, 258), (h[..258].to_vec(), None));
        // Asked for more than there is: a gap naming the last tile.
        let (more, gap) = hashes(dir, 1, 300);
        assert_eq!(more, h);
        assert!(gap.is_some_and(|g| g.contains("tile/1/001.p/5")));
        // Another level, with no tiles at all.
        let (none, gap) = hashes(dir, 0, 1);
        assert!(none.is_empty());
        assert!(gap.is_some_and(|g| g.contains("tile/0/000 is missing")));
        assert_eq!(hashes(dir, 0, 0), (vec![], None));
    }

    #[test]
    fn widths_are_canonical_decimals() {
        assert_eq!(parse_width("1"), Some(1));
        assert_eq!(parse_width("255"), Some(255));
        assert_eq!(parse_width("256"), None);
        assert_eq!(parse_width("0"), None);
        assert_eq!(parse_width("012"), None);
        assert_eq!(parse_width("+12"), None);
        assert_eq!(parse_width(""), None);
    }
}
