//! RFC 9162 Merkle tree math over stored perfect subtrees.
//!
//! A log stores the hash of every *perfect* subtree (a [`NodeId`]: `2^level` leaves starting at a
//! multiple of `2^level`) once it is complete, and nothing else. The tree of any size is then
//! described by the perfect subtrees of its binary decomposition (its [`Frontier`]), and every
//! hash a proof needs is either a stored perfect subtree or a right-edge subtree computed from the
//! few perfect subtrees of its own decomposition. Proofs therefore need `O(log n)` node lookups,
//! and the `*_plan` functions say which ones, so a store can fetch them in one query.
//!
//! Sizes and indexes are `u64`; sizes up to `2^63` (and beyond, to `u64::MAX`) are supported.

mod frontier;
mod proof;
mod range;
mod verify;

use std::fmt;

pub use frontier::Frontier;
pub use proof::{
    consistency_plan, consistency_proof, inclusion_plan, inclusion_proof, root, root_plan,
};
pub use verify::{verify_consistency, verify_inclusion};

/// A perfect subtree: the `2^level` leaves `[index << level, (index + 1) << level)`.
///
/// Level 0 nodes are leaf hashes. Ordered by level, then index.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct NodeId {
    /// The height of the subtree: it covers `2^level` leaves.
    pub level: u8,
    /// The position of the subtree among those of its level, from the left.
    pub index: u64,
}

impl NodeId {
    /// The perfect subtree at `level` and `index`.
    pub fn new(level: u8, index: u64) -> Self {
        Self { level, index }
    }
}

impl fmt::Display for NodeId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "(level {}, index {})", self.level, self.index)
    }
}
