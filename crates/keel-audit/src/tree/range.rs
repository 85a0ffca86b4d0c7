//! Subtrees of an RFC 9162 tree as leaf ranges, and their decomposition into perfect subtrees.
//!
//! Every subtree of the RFC 9162 tree of size `n` is `[j·2^L, min((j+1)·2^L, n))` for some level
//! `L`: either a perfect subtree, or the right edge of the tree. Its hash is the fold, from the
//! right, of the hashes of the perfect subtrees of its binary decomposition.

use super::NodeId;
use crate::Error;
use crate::hash::{Hash, node_hash};

/// The largest power of two strictly smaller than `n` (the RFC's `k`); `n` must be at least 2.
pub(crate) fn split_point(n: u64) -> u64 {
    1 << (63 - (n - 1).leading_zeros())
}

/// Pushes onto `out` the perfect subtrees of `[start, end)`, largest (leftmost) first.
///
/// `start` must be a multiple of the largest power of two not above `end - start`, which holds
/// for every subtree of an RFC 9162 tree.
pub(crate) fn decompose(start: u64, end: u64, out: &mut Vec<NodeId>) {
    let len = end - start;
    let mut pos = start;
    for level in (0..64u8).rev() {
        if len & (1 << level) != 0 {
            out.push(NodeId::new(level, pos >> level));
            pos = pos.wrapping_add(1 << level);
        }
    }
}

/// The hash of the subtree `[start, end)` from its perfect subtrees, looked up with `node`.
pub(crate) fn subtree_hash(
    start: u64,
    end: u64,
    node: &impl Fn(NodeId) -> Option<Hash>,
    scratch: &mut Vec<NodeId>,
) -> Result<Hash, Error> {
    scratch.clear();
    decompose(start, end, scratch);
    fold_right(
        scratch
            .iter()
            .map(|&id| node(id).ok_or(Error::MissingNode(id))),
    )
}

/// Folds perfect subtree hashes (left to right) into the hash of the subtree they make up:
/// `node_hash(h0, node_hash(h1, ... node_hash(h(n-2), h(n-1))))`.
pub(crate) fn fold_right(
    hashes: impl DoubleEndedIterator<Item = Result<Hash, Error>>,
) -> Result<Hash, Error> {
    let mut acc: Option<Hash> = None;
    for h in hashes.rev() {
        let h = h?;
        acc = Some(match acc {
            None => h,
            Some(right) => node_hash(&h, &right),
        });
    }
    acc.ok_or(Error::InvalidRange)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn split_point_is_largest_power_of_two_below() {
        assert_eq!(split_point(2), 1);
        assert_eq!(split_point(3), 2);
        assert_eq!(split_point(4), 2);
        assert_eq!(split_point(5), 4);
        assert_eq!(split_point(8), 4);
        assert_eq!(split_point(9), 8);
        assert_eq!(split_point(u64::MAX), 1 << 63);
        assert_eq!(split_point((1 << 63) + 1), 1 << 63);
    }

    #[test]
    fn decompose_right_edge() {
        let mut out = Vec::new();
        decompose(8, 15, &mut out);
        assert_eq!(
            out,
            vec![NodeId::new(2, 2), NodeId::new(1, 6), NodeId::new(0, 14)]
        );
        out.clear();
        decompose(0, u64::MAX, &mut out);
        assert_eq!(out.len(), 64);
        assert_eq!(out[0], NodeId::new(63, 0));
        assert_eq!(out[63], NodeId::new(0, u64::MAX - 1));
    }
}
