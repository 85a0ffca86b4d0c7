//! Building RFC 9162 inclusion and consistency proofs (and roots) from stored perfect subtrees.
//!
//! Each proof is first described as the list of RFC 9162 subtrees (leaf ranges) whose hashes it
//! is made of, following the RFC's recursive definitions of `PATH` (§2.1.3.1) and `PROOF`
//! (§2.1.4.1) iteratively. A plan is the set of perfect subtrees those ranges decompose into;
//! a proof is the hash of each range computed from them.

use super::range::{decompose, split_point, subtree_hash};
use super::{Frontier, NodeId};
use crate::Error;
use crate::hash::{Hash, empty_root};

/// The subtrees of `PATH(index, D[0:size])`, in proof order (leaf to root).
fn inclusion_ranges(index: u64, size: u64) -> Result<Vec<(u64, u64)>, Error> {
    if index >= size {
        return Err(Error::InvalidRange);
    }
    let (mut lo, mut hi) = (0, size);
    let mut out = Vec::new();
    while hi - lo > 1 {
        let k = split_point(hi - lo);
        if index < lo + k {
            // PATH(m, D[0:k]) : MTH(D[k:n])
            out.push((lo + k, hi));
            hi = lo + k;
        } else {
            // PATH(m - k, D[k:n]) : MTH(D[0:k])
            out.push((lo, lo + k));
            lo += k;
        }
    }
    out.reverse();
    Ok(out)
}

/// The subtrees of `PROOF(first, D[0:second])`, in proof order.
fn consistency_ranges(first: u64, second: u64) -> Result<Vec<(u64, u64)>, Error> {
    if first == 0 || first > second {
        return Err(Error::InvalidRange);
    }
    let (mut lo, mut hi) = (0, second);
    // The RFC's `b`: whether the subtree being walked is a subtree of the whole first tree.
    let mut whole = true;
    let mut out = Vec::new();
    loop {
        let m = first - lo;
        let n = hi - lo;
        if m == n {
            // SUBPROOF(m, D[m], true) = {}; SUBPROOF(m, D[m], false) = {MTH(D[m])}
            if !whole {
                out.push((lo, hi));
            }
            break;
        }
        let k = split_point(n);
        if m <= k {
            // SUBPROOF(m, D[0:k], b) : MTH(D[k:n])
            out.push((lo + k, hi));
            hi = lo + k;
        } else {
            // SUBPROOF(m - k, D[k:n], false) : MTH(D[0:k])
            out.push((lo, lo + k));
            lo += k;
            whole = false;
        }
    }
    out.reverse();
    Ok(out)
}

/// The perfect subtrees that make up `ranges`, sorted and deduplicated.
fn plan(ranges: &[(u64, u64)]) -> Vec<NodeId> {
    let mut ids = Vec::new();
    for &(start, end) in ranges {
        decompose(start, end, &mut ids);
    }
    ids.sort_unstable();
    ids.dedup();
    ids
}

/// The hash of each range, from perfect subtrees looked up with `node`.
fn hashes(
    ranges: &[(u64, u64)],
    node: impl Fn(NodeId) -> Option<Hash>,
) -> Result<Vec<Hash>, Error> {
    let mut scratch = Vec::new();
    ranges
        .iter()
        .map(|&(start, end)| subtree_hash(start, end, &node, &mut scratch))
        .collect()
}

/// The stored perfect subtrees needed to build the inclusion proof of leaf `index` in the tree
/// of `size` leaves, sorted and deduplicated. [`Error::InvalidRange`] unless `index < size`.
pub fn inclusion_plan(index: u64, size: u64) -> Result<Vec<NodeId>, Error> {
    Ok(plan(&inclusion_ranges(index, size)?))
}

/// The RFC 9162 inclusion proof `PATH(index, D[0:size])`, from the perfect subtrees returned by
/// `node` (those of [`inclusion_plan`]). [`Error::MissingNode`] if `node` lacks one,
/// [`Error::InvalidRange`] unless `index < size`.
pub fn inclusion_proof(
    index: u64,
    size: u64,
    node: impl Fn(NodeId) -> Option<Hash>,
) -> Result<Vec<Hash>, Error> {
    hashes(&inclusion_ranges(index, size)?, node)
}

/// The stored perfect subtrees needed to build the consistency proof from the tree of `first`
/// leaves to the tree of `second`, sorted and deduplicated (empty when `first == second`).
/// [`Error::InvalidRange`] unless `0 < first <= second`: RFC 9162 defines no proof from the
/// empty tree.
pub fn consistency_plan(first: u64, second: u64) -> Result<Vec<NodeId>, Error> {
    Ok(plan(&consistency_ranges(first, second)?))
}

/// The RFC 9162 consistency proof `PROOF(first, D[0:second])` (empty when `first == second`),
/// from the perfect subtrees returned by `node`. [`Error::MissingNode`] if `node` lacks one,
/// [`Error::InvalidRange`] unless `0 < first <= second`.
pub fn consistency_proof(
    first: u64,
    second: u64,
    node: impl Fn(NodeId) -> Option<Hash>,
) -> Result<Vec<Hash>, Error> {
    hashes(&consistency_ranges(first, second)?, node)
}

/// The perfect subtrees the root of the tree of `size` leaves is computed from: its frontier.
pub fn root_plan(size: u64) -> Vec<NodeId> {
    Frontier::ids(size)
}

/// The root of the tree of `size` leaves from the perfect subtrees returned by `node`;
/// [`empty_root`] for size 0. [`Error::MissingNode`] if `node` lacks one.
pub fn root(size: u64, node: impl Fn(NodeId) -> Option<Hash>) -> Result<Hash, Error> {
    if size == 0 {
        return Ok(empty_root());
    }
    subtree_hash(0, size, &node, &mut Vec::new())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges_follow_the_rfc_recursion() {
        assert_eq!(inclusion_ranges(0, 1).ok(), Some(vec![]));
        assert_eq!(inclusion_proof(0, 1, |_| None).ok(), Some(vec![]));
        assert_eq!(
            inclusion_ranges(1, 5).ok(),
            Some(vec![(0, 1), (2, 4), (4, 5)])
        );
        assert_eq!(
            consistency_ranges(6, 8).ok(),
            Some(vec![(4, 6), (6, 8), (0, 4)])
        );
        assert_eq!(consistency_ranges(2, 5).ok(), Some(vec![(2, 4), (4, 5)]));
        assert_eq!(consistency_ranges(4, 4).ok(), Some(vec![]));
    }

    #[test]
    fn out_of_range_is_refused() {
        assert!(matches!(inclusion_plan(0, 0), Err(Error::InvalidRange)));
        assert!(matches!(inclusion_plan(5, 5), Err(Error::InvalidRange)));
        assert!(matches!(consistency_plan(0, 5), Err(Error::InvalidRange)));
        assert!(matches!(consistency_plan(0, 0), Err(Error::InvalidRange)));
        assert!(matches!(consistency_plan(6, 5), Err(Error::InvalidRange)));
        assert!(matches!(
            inclusion_proof(0, 2, |_| None),
            Err(Error::MissingNode(NodeId { level: 0, index: 1 }))
        ));
    }

    #[test]
    fn plans_are_logarithmic_at_the_largest_sizes() {
        let size = u64::MAX;
        let plan = inclusion_plan(size - 1, size).unwrap_or_default();
        assert!(!plan.is_empty() && plan.len() <= 128, "{}", plan.len());
        let plan = consistency_plan((1 << 62) + 3, size).unwrap_or_default();
        assert!(!plan.is_empty() && plan.len() <= 128, "{}", plan.len());
    }
}
