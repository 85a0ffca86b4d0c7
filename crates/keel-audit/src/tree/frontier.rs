//! The frontier (compact range) of a tree: what an appender keeps to extend it and know its root.

use super::NodeId;
use super::range::{decompose, fold_right};
use crate::Error;
use crate::hash::{Hash, empty_root, node_hash};

/// The compact range of `[0, size)`: the hashes of the perfect subtrees of `size`'s binary
/// decomposition, left to right (largest first). Enough to append leaves and compute the root.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Frontier {
    size: u64,
    hashes: Vec<Hash>,
}

impl Frontier {
    /// The frontier of the empty tree.
    pub fn empty() -> Self {
        Self::default()
    }

    /// The number of leaves.
    pub fn size(&self) -> u64 {
        self.size
    }

    /// The perfect subtrees that make up the frontier of `size`, left to right.
    pub fn ids(size: u64) -> Vec<NodeId> {
        let mut out = Vec::with_capacity(size.count_ones() as usize);
        decompose(0, size, &mut out);
        out
    }

    /// The frontier of `size` from the hashes of [`Frontier::ids`]`(size)`, in that order.
    pub fn from_hashes(size: u64, hashes: Vec<Hash>) -> Result<Self, Error> {
        let expected = size.count_ones() as usize;
        if hashes.len() != expected {
            return Err(Error::InvalidFrontier {
                size,
                expected,
                got: hashes.len(),
            });
        }
        Ok(Self { size, hashes })
    }

    /// Appends the leaf whose hash is `leaf`. Pushes onto `completed` (without clearing it) the
    /// leaf's level-0 node and every perfect subtree this append completes, lowest first: the
    /// nodes a log stores.
    ///
    /// A frontier of `u64::MAX` leaves cannot grow: appending to it does nothing.
    pub fn push(&mut self, leaf: Hash, completed: &mut Vec<(NodeId, Hash)>) {
        self.append(leaf, |id, h| completed.push((id, h)));
    }

    /// Appends a leaf without reporting the completed nodes.
    pub(crate) fn push_leaf(&mut self, leaf: Hash) {
        self.append(leaf, |_, _| {});
    }

    /// Appends a leaf, calling `visit` with the nodes [`Frontier::push`] would report, in the
    /// same order, without collecting them.
    pub(crate) fn push_visit(&mut self, leaf: Hash, visit: impl FnMut(NodeId, Hash)) {
        self.append(leaf, visit);
    }

    fn append(&mut self, leaf: Hash, mut completed: impl FnMut(NodeId, Hash)) {
        let Some(new_size) = self.size.checked_add(1) else {
            return;
        };
        let index = self.size;
        completed(NodeId::new(0, index), leaf);
        let mut hash = leaf;
        // Each trailing one bit of the old size is a perfect subtree of that level that the new
        // leaf's subtree now completes into one of the next level.
        for level in 1..=self.size.trailing_ones() {
            let Some(left) = self.hashes.pop() else {
                break;
            };
            hash = node_hash(&left, &hash);
            // `level` is at most 63 here: the old size is below u64::MAX.
            completed(NodeId::new(level as u8, index >> level), hash);
        }
        self.hashes.push(hash);
        self.size = new_size;
    }

    /// The root of the tree (its RFC 9162 Merkle tree hash); [`empty_root`] for the empty tree.
    pub fn root(&self) -> Hash {
        if self.hashes.is_empty() {
            return empty_root();
        }
        fold_right(self.hashes.iter().map(|h| Ok(*h))).unwrap_or_else(|_| empty_root())
    }

    /// The hashes of the perfect subtrees, in the order of [`Frontier::ids`]`(self.size())`.
    pub fn hashes(&self) -> &[Hash] {
        &self.hashes
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::hash::leaf_hash;

    #[test]
    fn ids_follow_the_binary_decomposition() {
        assert_eq!(Frontier::ids(0), vec![]);
        assert_eq!(Frontier::ids(1), vec![NodeId::new(0, 0)]);
        assert_eq!(
            Frontier::ids(7),
            vec![NodeId::new(2, 0), NodeId::new(1, 2), NodeId::new(0, 6)]
        );
        assert_eq!(Frontier::ids(8), vec![NodeId::new(3, 0)]);
        assert_eq!(Frontier::ids(1 << 63), vec![NodeId::new(63, 0)]);
    }

    #[test]
    fn push_reports_completed_nodes() {
        let mut f = Frontier::empty();
        let mut done = Vec::new();
        for i in 0..3u8 {
            f.push(leaf_hash(&[i]), &mut done);
        }
        let ids: Vec<NodeId> = done.iter().map(|(id, _)| *id).collect();
        assert_eq!(
            ids,
            vec![
                NodeId::new(0, 0),
                NodeId::new(0, 1),
                NodeId::new(1, 0),
                NodeId::new(0, 2)
            ]
        );
        done.clear();
        f.push(leaf_hash(&[3]), &mut done);
        let ids: Vec<NodeId> = done.iter().map(|(id, _)| *id).collect();
        assert_eq!(
            ids,
            vec![NodeId::new(0, 3), NodeId::new(1, 1), NodeId::new(2, 0)]
        );
        assert_eq!(f.hashes(), &[done[2].1]);
        assert_eq!(f.root(), done[2].1);
    }

    #[test]
    fn from_hashes_checks_the_count() {
        assert!(Frontier::from_hashes(5, vec![[0; 32]; 2]).is_ok());
        assert!(matches!(
            Frontier::from_hashes(5, vec![[0; 32]; 3]),
            Err(Error::InvalidFrontier {
                size: 5,
                expected: 2,
                got: 3
            })
        ));
        assert_eq!(
            Frontier::from_hashes(0, vec![]).map(|f| f.root()).ok(),
            Some(empty_root())
        );
    }

    #[test]
    fn a_full_frontier_does_not_grow() {
        let mut f = Frontier::from_hashes(u64::MAX, vec![[7; 32]; 64]).unwrap_or_default();
        assert_eq!(f.size(), u64::MAX);
        let mut done = Vec::new();
        f.push([1; 32], &mut done);
        assert_eq!(f.size(), u64::MAX);
        assert!(done.is_empty());
    }
}
