//! The one streaming pass over `entries.jsonl` and, alongside it, the level-0 hash tiles.
//!
//! Each entry's leaf hash is compared with the tile hash of its index. While they agree one
//! frontier serves both. From the first index where they differ (or where one of them ends),
//! the tiles get a frontier of their own, so each side is compared with the checkpoints
//! separately: whichever one a checkpoint after that index verifies is the signed tree. The
//! tiles are read only up to the last checkpoint's size, the only part a signature covers.
//! The nodes the entries' frontier completes there are compared with the tiles of level 1 and
//! up. Leaves pruned by retention (before the first entry) are taken from the level-0 tiles.

use std::fs::{self, File};
use std::io::{BufRead, BufReader, ErrorKind};
use std::path::Path;

use super::compare::Comparer;
use super::upper::{UpperFailure, UpperTiles};
use crate::Error;
use crate::bundle::{ENTRIES_FILE, MIN_RETENTION_DAYS, PRUNE_ACTION, PRUNED_FILE};
use crate::canonical::is_canonical;
use crate::hash::{Hash, leaf_hash};
use crate::tile::{self, TileStream};
use crate::tree::Frontier;

/// What the pass found, for [`super::judge`] to turn into problems.
pub(super) struct Replay<'a> {
    /// The size of the tree rebuilt: pruned leaves and entries (lines).
    pub(super) entries: u64,
    /// The number of leading leaves pruned (taken from the tiles).
    pub(super) pruned: u64,
    /// The index at which the tiles ended before giving every pruned leaf, if they did (the
    /// entries are then not read: their indices are unknown).
    pub(super) pruned_gap: Option<u64>,
    /// The first entry recording a pruning that covers the pruned leaves, if any.
    pub(super) prune_record: Option<u64>,
    /// The entries' tree compared with the checkpoints.
    pub(super) entries_cmp: Comparer<'a>,
    /// The first entry that is not canonical JSON.
    pub(super) not_canonical: Option<u64>,
    /// The last entry, if its line has no newline.
    pub(super) unterminated: Option<u64>,
    /// What the tiles showed.
    pub(super) tiles: TileFacts<'a>,
}

/// What the tiles showed.
pub(super) struct TileFacts<'a> {
    /// Whether the bundle has a `tile/` directory.
    pub(super) present: bool,
    /// The tiles' tree compared with the checkpoints (the entries' tree up to the split).
    pub(super) cmp: Comparer<'a>,
    /// The first index where tiles and entries differ, if any.
    pub(super) split: Option<Split>,
    /// Why the level-0 tiles ended before the last checkpoint's size, if they did.
    pub(super) gap: Option<String>,
    /// The first problem with the tiles of level 1 and up.
    pub(super) upper: Option<UpperFailure>,
}

/// The first index where tiles and entries differ.
pub(super) struct Split {
    /// The index.
    pub(super) at: u64,
    /// How they differ there.
    pub(super) cause: Cause,
    /// The path of the tile holding index `at` (for [`Cause::Mismatch`] and
    /// [`Cause::EntriesEnded`]).
    pub(super) tile: String,
}

/// How tiles and entries differ at a [`Split`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Cause {
    /// The entry's leaf hash is not the tile's hash.
    Mismatch,
    /// The tiles end there (or there are none), and the entries go on.
    TilesEnded,
    /// The entries end there, and the tiles go on.
    EntriesEnded,
}

/// The tile side of the pass.
struct Tiles<'a> {
    level0: Option<TileStream>,
    cmp: Comparer<'a>,
    /// After the split: where, and the tiles' own frontier.
    split: Option<(Split, Frontier)>,
    /// The level-0 tiles have ended (after the split).
    ended: bool,
}

impl Tiles<'_> {
    /// The next level-0 tile hash.
    #[inline]
    fn next(&mut self) -> Result<Option<Hash>, Error> {
        match &mut self.level0 {
            Some(stream) => stream.next_hash(),
            None => Ok(None),
        }
    }

    /// Splits from the entries' frontier `shared` at its size: the tiles then hold `tile` there
    /// (`None`: they end there, whatever `cause` says).
    #[cold]
    fn split(&mut self, shared: &Frontier, cause: Cause, tile: Option<Hash>) {
        let mut frontier = shared.clone();
        let cause = match tile {
            Some(hash) => {
                frontier.push_leaf(hash);
                cause
            }
            None => {
                self.ended = true;
                Cause::TilesEnded
            }
        };
        let path = self.level0.as_ref().map(|s| s.tile_path().to_owned());
        let split = Split {
            at: shared.size(),
            cause,
            tile: path.unwrap_or_default(),
        };
        self.split = Some((split, frontier));
    }

    /// After the split: compares the tiles' tree with the checkpoints at its size and appends
    /// the next tile hash to it. False once the tiles have ended.
    fn advance(&mut self) -> Result<bool, Error> {
        let Some((_, frontier)) = &mut self.split else {
            return Ok(false);
        };
        self.cmp.reach(frontier);
        if self.ended {
            return Ok(false);
        }
        let next = match &mut self.level0 {
            Some(stream) => stream.next_hash()?,
            None => None,
        };
        match next {
            Some(hash) => {
                frontier.push_leaf(hash);
                Ok(true)
            }
            None => {
                self.ended = true;
                Ok(false)
            }
        }
    }
}

/// Reads the entries and the tiles of the bundle in `dir`, comparing both with `checkpoints`
/// (the valid ones, by size).
pub(super) fn replay<'a>(dir: &Path, checkpoints: &'a [(u64, Hash)]) -> Result<Replay<'a>, Error> {
    let signed = checkpoints.last().map_or(0, |&(size, _)| size);
    let present = fs::symlink_metadata(dir.join(tile::DIR)).is_ok();
    let mut tiles = Tiles {
        level0: present.then(|| TileStream::open(dir, 0, signed)),
        cmp: Comparer::new(checkpoints),
        split: None,
        ended: false,
    };
    // The upper tiles are checked against the entries' tree, which is the signed tree when
    // they are reported (when the entries verify the last checkpoint).
    let mut upper = UpperTiles::open(dir, signed, present);
    let mut entries_cmp = Comparer::new(checkpoints);
    let mut frontier = Frontier::empty();
    let mut not_canonical = None;
    let mut unterminated = None;

    let pruned = read_pruned(dir)?;
    let mut pruned_gap = None;
    let mut prune_record = None;
    while frontier.size() < pruned {
        entries_cmp.reach(&frontier);
        tiles.cmp.reach(&frontier);
        let Some(hash) = tiles.next()? else {
            pruned_gap = Some(frontier.size());
            break;
        };
        if frontier.size() < signed {
            frontier.push_visit(hash, |id, node| upper.check(id, node));
        } else {
            frontier.push_leaf(hash);
        }
    }

    let path = dir.join(ENTRIES_FILE);
    match File::open(&path) {
        Ok(_) if pruned_gap.is_some() => {}
        Ok(file) => {
            let mut reader = BufReader::with_capacity(1 << 20, file);
            let mut line = Vec::with_capacity(4096);
            loop {
                line.clear();
                let n = reader
                    .read_until(b'\n', &mut line)
                    .map_err(|e| Error::io(&path, e))?;
                if n == 0 {
                    break;
                }
                entries_cmp.reach(&frontier);
                let index = frontier.size();
                let bytes = match line.strip_suffix(b"\n") {
                    Some(bytes) => bytes,
                    None => {
                        unterminated = Some(index);
                        &line[..]
                    }
                };
                if not_canonical.is_none() && !is_canonical(bytes) {
                    not_canonical = Some(index);
                }
                if pruned > 0 && prune_record.is_none() && records_pruning(bytes, pruned) {
                    prune_record = Some(index);
                }
                let leaf = leaf_hash(bytes);
                if tiles.split.is_none() {
                    tiles.cmp.reach(&frontier);
                    match tiles.next()? {
                        Some(tile) if tile == leaf => {}
                        tile => tiles.split(&frontier, Cause::Mismatch, tile),
                    }
                } else {
                    tiles.advance()?;
                }
                if index < signed {
                    frontier.push_visit(leaf, |id, node| upper.check(id, node));
                } else {
                    frontier.push_leaf(leaf);
                }
            }
        }
        Err(e) if e.kind() == ErrorKind::NotFound => {}
        Err(e) => return Err(Error::io(path, e)),
    }
    entries_cmp.reach(&frontier);
    if tiles.split.is_none() {
        tiles.cmp.reach(&frontier);
        let tile = tiles.next()?;
        tiles.split(&frontier, Cause::EntriesEnded, tile);
    }
    while tiles.advance()? {}

    let gap = tiles
        .level0
        .as_ref()
        .and_then(|s| s.gap().map(str::to_owned));
    Ok(Replay {
        entries: frontier.size(),
        pruned,
        pruned_gap,
        prune_record,
        entries_cmp,
        not_canonical,
        unterminated,
        tiles: TileFacts {
            present,
            cmp: tiles.cmp,
            split: tiles.split.map(|(split, _)| split),
            gap,
            upper: upper.finish()?,
        },
    })
}

/// Whether `entry` records a pruning of at least `pruned` leaves by Keel itself, with a
/// retention of at least six months. Entries are canonical JSON with sorted keys, and `action`
/// sorts first, so only lines that start as such an entry are parsed.
fn records_pruning(entry: &[u8], pruned: u64) -> bool {
    let prefix = format!("{{\"action\":\"{PRUNE_ACTION}\",");
    if !entry.starts_with(prefix.as_bytes()) {
        return false;
    }
    let Ok(v) = serde_json::from_slice::<serde_json::Value>(entry) else {
        return false;
    };
    v["event"] == "system"
        && v["actor"]["kind"] == "system"
        && v["detail"]["pruned_below"]
            .as_u64()
            .is_some_and(|below| below >= pruned)
        && v["detail"]["retention_days"]
            .as_u64()
            .is_some_and(|days| days >= MIN_RETENTION_DAYS)
}

/// The number of pruned leading leaves the bundle declares (0 without a `pruned` file).
fn read_pruned(dir: &Path) -> Result<u64, Error> {
    let path = dir.join(PRUNED_FILE);
    let text = match fs::read_to_string(&path) {
        Ok(text) => text,
        Err(e) if e.kind() == ErrorKind::NotFound => return Ok(0),
        Err(e) => return Err(Error::io(path, e)),
    };
    text.strip_suffix('\n')
        .filter(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()))
        .and_then(|n| n.parse().ok())
        .ok_or_else(|| {
            Error::Bundle(format!(
                "{} must hold a decimal number of entries and a newline",
                path.display()
            ))
        })
}
