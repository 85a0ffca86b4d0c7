//! C2SP `tlog-tiles` hash tiles: the tree's perfect subtree hashes in files of 256.
//!
//! A tile of level `L` and index `N` holds the hashes of the tree level `8·L` nodes
//! `[256·N, 256·N + W)`, concatenated (32 bytes each). A full tile has `W = 256` and lives at
//! `tile/<L>/<N>`; the partial tile at the right edge of a tree of size `s` has
//! `W = floor(s / 256^L) mod 256` (when that is not 0) and lives at `tile/<L>/<N>.p/<W>`. `<N>`
//! is written in zero-padded groups of three digits, all but the last prefixed with `x`
//! (`1234067` is `x001/x234/067`), so no directory holds more than 3,000 names.
//!
//! Level-0 tiles hold the leaf hashes; each hash of a level-`L` tile (`L ≥ 1`) is the root of a
//! full tile of level `L - 1`. [`TileBuilder`] computes them from the leaves as they are
//! appended, keeping only the unfinished tile of each level.

mod builder;
mod read;

pub use builder::TileBuilder;
pub(crate) use read::TileStream;

use crate::tree::NodeId;

/// The height of a tile: the tree levels between a tile's hashes and its root.
pub const HEIGHT: u8 = 8;
/// The number of hashes in a full tile (`2^HEIGHT`).
pub const WIDTH: u16 = 256;
/// The highest tile level a tree of up to `u64::MAX` leaves has (its hashes are tree level 56).
pub const MAX_LEVEL: u8 = 7;
/// The directory, inside a log or bundle, that holds the tiles.
pub const DIR: &str = "tile";

/// A tile: `width` hashes of the tree level `8 · level` nodes, from node `256 · index` on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Tile {
    /// The tile level `L`: its hashes are tree level `8·L` nodes.
    pub level: u8,
    /// The position `N` of the tile among those of its level.
    pub index: u64,
    /// The number of hashes, from 1 to [`WIDTH`] (a full tile).
    pub width: u16,
}

impl Tile {
    /// The full tile of `level` and `index`.
    pub fn full(level: u8, index: u64) -> Self {
        Self {
            level,
            index,
            width: WIDTH,
        }
    }

    /// Whether the tile holds all [`WIDTH`] hashes.
    pub fn is_full(&self) -> bool {
        self.width == WIDTH
    }

    /// The tree node of the tile's first hash.
    pub fn first_node(&self) -> NodeId {
        NodeId::new(self.level * HEIGHT, self.index << HEIGHT)
    }

    /// The tile's path: `tile/<L>/<N>` for a full tile, `tile/<L>/<N>.p/<W>` for a partial one.
    pub fn path(&self) -> String {
        let n = index_path(self.index);
        if self.is_full() {
            format!("{DIR}/{}/{n}", self.level)
        } else {
            format!("{DIR}/{}/{n}.p/{}", self.level, self.width)
        }
    }

    /// The partial tiles at the right edge of the tree of `size` leaves, lowest level first:
    /// for each level `L` with `W = floor(size / 256^L) mod 256 > 0`, the tile of width `W`.
    /// With the full tiles before them ([`Tile::full_tiles`]), they are the tiles that describe
    /// the tree.
    pub fn right_edge(size: u64) -> Vec<Tile> {
        let mut out = Vec::new();
        for level in 0..=MAX_LEVEL {
            let nodes = size >> (HEIGHT * level);
            if nodes == 0 {
                break;
            }
            let width = (nodes % u64::from(WIDTH)) as u16;
            if width > 0 {
                out.push(Tile {
                    level,
                    index: nodes >> HEIGHT,
                    width,
                });
            }
        }
        out
    }

    /// The number of full tiles of `level` in the tree of `size` leaves: they are the tiles of
    /// that level with indexes `0..full_tiles(level, size)`.
    pub fn full_tiles(level: u8, size: u64) -> u64 {
        let shift = u32::from(HEIGHT) * u32::from(level);
        size.checked_shr(shift).unwrap_or(0) >> HEIGHT
    }
}

/// A tile index as a path: three-digit groups, zero-padded, all but the last prefixed with `x`
/// (`0` is `000`, `1000` is `x001/000`, `1234067` is `x001/x234/067`).
pub fn index_path(index: u64) -> String {
    let mut out = format!("{:03}", index % 1000);
    let mut rest = index / 1000;
    while rest > 0 {
        out = format!("x{:03}/{out}", rest % 1000);
        rest /= 1000;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn index_paths_group_three_digits() {
        assert_eq!(index_path(0), "000");
        assert_eq!(index_path(7), "007");
        assert_eq!(index_path(999), "999");
        assert_eq!(index_path(1000), "x001/000");
        assert_eq!(index_path(1_234_067), "x001/x234/067");
        assert_eq!(index_path(1_000_000), "x001/x000/000");
        assert_eq!(index_path(u64::MAX), "x018/x446/x744/x073/x709/x551/615");
    }

    #[test]
    fn paths_and_edges() {
        assert_eq!(Tile::full(0, 1_234_067).path(), "tile/0/x001/x234/067");
        let p = Tile {
            level: 3,
            index: 1_234_067,
            width: 1,
        };
        assert_eq!(p.path(), "tile/3/x001/x234/067.p/1");
        assert_eq!(p.first_node(), NodeId::new(24, 1_234_067 << 8));
        assert_eq!(Tile::right_edge(0), vec![]);
        assert_eq!(
            Tile::right_edge(256),
            vec![Tile {
                level: 1,
                index: 0,
                width: 1
            }]
        );
        assert_eq!(Tile::full_tiles(0, 256), 1);
        assert_eq!(Tile::full_tiles(1, 256), 0);
        assert_eq!(Tile::full_tiles(7, u64::MAX), 0);
        assert_eq!(Tile::full_tiles(0, u64::MAX), u64::MAX >> 8);
        let edge = Tile::right_edge(u64::MAX);
        assert_eq!(edge.len(), 8);
        assert_eq!(
            edge[7],
            Tile {
                level: 7,
                index: 0,
                width: 255
            }
        );
    }
}
