//! Checking the tiles of levels 1 and up against the nodes the entries' tree completes.

use std::path::Path;

use crate::Error;
use crate::hash::Hash;
use crate::tile::{HEIGHT, MAX_LEVEL, TileStream};
use crate::tree::NodeId;

/// The first thing wrong with the upper tiles: the first leaf of the subtree whose tile hash is
/// wrong or missing, and a sentence.
pub(super) type UpperFailure = (u64, String);

/// Compares each level-`8·L` node (`L ≥ 1`) the entries' frontier completes within the signed
/// tree with the next hash of the level-`L` tiles, which hold exactly these nodes, in order.
pub(super) struct UpperTiles {
    /// The tile streams of levels 1 and up, each limited to the nodes within the signed tree.
    streams: Vec<TileStream>,
    /// The levels (bit `L`) that already failed: they are checked no further.
    failed: u8,
    failure: Option<UpperFailure>,
    error: Option<Error>,
}

impl UpperTiles {
    /// The checks of the tiles under `dir` for the tree of `signed` leaves; none if `present` is
    /// false (a bundle without tiles).
    pub(super) fn open(dir: &Path, signed: u64, present: bool) -> Self {
        let mut streams = Vec::new();
        if present {
            for level in 1..=MAX_LEVEL {
                let nodes = signed >> (HEIGHT * level);
                if nodes == 0 {
                    break;
                }
                streams.push(TileStream::open(dir, level, nodes));
            }
        }
        Self {
            streams,
            failed: 0,
            failure: None,
            error: None,
        }
    }

    /// Checks a node the entries' frontier completed (only level-`8·L` nodes with `L ≥ 1` are).
    #[inline]
    pub(super) fn check(&mut self, id: NodeId, hash: Hash) {
        if id.level >= HEIGHT && id.level % HEIGHT == 0 {
            self.check_node(id, hash);
        }
    }

    #[cold]
    fn check_node(&mut self, id: NodeId, hash: Hash) {
        let level = id.level / HEIGHT;
        if self.failed & (1 << level) != 0 {
            return;
        }
        let Some(stream) = self.streams.get_mut(usize::from(level) - 1) else {
            return;
        };
        let first_leaf = id.index << id.level;
        let why = match stream.next_hash() {
            Ok(Some(tiled)) if tiled == hash => return,
            Ok(Some(_)) => format!(
                "{} holds a wrong hash for the leaves [{first_leaf}, {}), which the entries \
                 verify",
                stream.tile_path(),
                first_leaf + (1 << id.level)
            ),
            Ok(None) => stream
                .gap()
                .unwrap_or("a level-1 or higher hash tile is missing")
                .to_owned(),
            Err(e) => {
                self.error.get_or_insert(e);
                return;
            }
        };
        self.failed |= 1 << level;
        if self.failure.as_ref().is_none_or(|(at, _)| first_leaf < *at) {
            self.failure = Some((first_leaf, why));
        }
    }

    /// The first failure, or the I/O error that stopped a check.
    pub(super) fn finish(self) -> Result<Option<UpperFailure>, Error> {
        match self.error {
            Some(e) => Err(e),
            None => Ok(self.failure),
        }
    }
}
