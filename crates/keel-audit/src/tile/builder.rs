//! Computing the tiles of a tree as its leaves are appended, in `O(256 · levels)` memory.

use super::{HEIGHT, MAX_LEVEL, Tile, WIDTH};
use crate::hash::Hash;
use crate::tree::Frontier;

/// Builds the tiles of a growing tree: [`TileBuilder::push`] hands over every full tile as it
/// fills, and [`TileBuilder::partial_tiles`] gives the partial tiles of the current size.
///
/// It keeps the tree's [`Frontier`] and the unfinished tile of each level (at most
/// `8 × 255` hashes).
#[derive(Debug, Clone, Default)]
pub struct TileBuilder {
    frontier: Frontier,
    /// The hashes of the unfinished tile of each level, from level 0.
    pending: Vec<Vec<Hash>>,
}

impl TileBuilder {
    /// A builder for the empty tree.
    pub fn new() -> Self {
        Self::default()
    }

    /// The number of leaves appended.
    pub fn size(&self) -> u64 {
        self.frontier.size()
    }

    /// The tree's frontier (its root is [`Frontier::root`]).
    pub fn frontier(&self) -> &Frontier {
        &self.frontier
    }

    /// Appends the leaf whose hash is `leaf`, calling `full` with every tile this completes
    /// (lowest level first) and its 256 hashes. Stops at the first error `full` returns; the
    /// leaf is appended all the same, so a builder that saw an error should be dropped.
    pub fn push<E>(
        &mut self,
        leaf: Hash,
        mut full: impl FnMut(Tile, &[Hash]) -> Result<(), E>,
    ) -> Result<(), E> {
        let pending = &mut self.pending;
        // One append completes at most one node per tree level, so at most one tile per level.
        let mut filled = 0u8;
        self.frontier.push_visit(leaf, |id, hash| {
            if id.level % HEIGHT != 0 {
                return;
            }
            let level = usize::from(id.level / HEIGHT);
            if pending.len() <= level {
                pending.resize_with(level + 1, || Vec::with_capacity(usize::from(WIDTH)));
            }
            pending[level].push(hash);
            if pending[level].len() == usize::from(WIDTH) {
                filled |= 1 << level;
            }
        });
        for level in 0..=MAX_LEVEL {
            if filled & (1 << level) == 0 {
                continue;
            }
            let Some(hashes) = self.pending.get_mut(usize::from(level)) else {
                continue;
            };
            // The tile just filled holds the level's nodes up to the one this leaf completed.
            let nodes = self.frontier.size() >> (HEIGHT * level);
            let tile = Tile::full(level, (nodes >> HEIGHT) - 1);
            let result = full(tile, hashes);
            hashes.clear();
            result?;
        }
        Ok(())
    }

    /// The partial tiles of the current size with their hashes, lowest level first (the tiles of
    /// [`Tile::right_edge`]`(self.size())`).
    pub fn partial_tiles(&self) -> impl Iterator<Item = (Tile, &[Hash])> + '_ {
        let size = self.frontier.size();
        self.pending
            .iter()
            .zip(0u8..)
            .filter(|(hashes, _)| !hashes.is_empty())
            .map(move |(hashes, level)| {
                let tile = Tile {
                    level,
                    index: (size >> (HEIGHT * level)) >> HEIGHT,
                    width: hashes.len() as u16,
                };
                (tile, hashes.as_slice())
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::hash::leaf_hash;

    fn build(n: u64) -> (TileBuilder, Vec<Tile>) {
        let mut b = TileBuilder::new();
        let mut full = Vec::new();
        for i in 0..n {
            b.push(leaf_hash(&i.to_be_bytes()), |t, h| {
                assert_eq!(h.len(), 256);
                full.push(t);
                Ok::<_, ()>(())
            })
            .unwrap_or(());
        }
        (b, full)
    }

    #[test]
    fn the_spec_example_of_70000() {
        let (b, full) = build(70_000);
        let level0 = full.iter().filter(|t| t.level == 0).count();
        let level1: Vec<&Tile> = full.iter().filter(|t| t.level == 1).collect();
        assert_eq!(level0, 273);
        assert_eq!(level1, vec![&Tile::full(1, 0)]);
        assert_eq!(full.len(), 274);
        assert_eq!(full[255], Tile::full(0, 255));
        assert_eq!(full[256], Tile::full(1, 0));
        let partial: Vec<Tile> = b.partial_tiles().map(|(t, _)| t).collect();
        assert_eq!(partial, Tile::right_edge(70_000));
        let widths: Vec<(u8, u64, u16)> = partial
            .iter()
            .map(|t| (t.level, t.index, t.width))
            .collect();
        assert_eq!(widths, vec![(0, 273, 112), (1, 1, 17), (2, 0, 1)]);
    }

    #[test]
    fn a_failing_callback_stops_the_push() {
        let mut b = TileBuilder::new();
        for i in 0..255u64 {
            assert_eq!(b.push(leaf_hash(&i.to_be_bytes()), |_, _| Err(())), Ok(()));
        }
        assert_eq!(b.push([0; 32], |_, _| Err("full")), Err("full"));
        assert_eq!(b.size(), 256);
    }
}
