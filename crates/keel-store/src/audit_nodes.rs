//! Which nodes of the audit log's Merkle tree the stores keep: perfect subtrees from level
//! [`FIRST_STORED_LEVEL`] up are rows; lower ones are computed from their (at most 16) leaves
//! when a proof or a sequencer needs them. A leaf's hash is a stored level-0 node (for entries
//! sequenced when every level was stored, and for pruned entries) or the hash of its entry.

use std::collections::BTreeMap;

use keel_audit::hash::{Hash, node_hash};
use keel_audit::tree::NodeId;

/// The lowest level stored: one node row per 16 entries instead of two per entry.
pub(crate) const FIRST_STORED_LEVEL: u8 = 4;

/// Whether a completed node is stored.
pub(crate) fn is_stored(id: NodeId) -> bool {
    id.level >= FIRST_STORED_LEVEL
}

/// A request for nodes, split by how each is found.
#[derive(Debug, Default)]
pub(crate) struct NodePlan {
    /// Read from the node rows.
    pub stored: Vec<NodeId>,
    /// Computed from the leaves `[start, end)`.
    low: Vec<(NodeId, (u64, u64))>,
    /// The leaves the low nodes need, as disjoint ranges `[start, end)` in order.
    pub leaf_ranges: Vec<(u64, u64)>,
}

impl NodePlan {
    pub fn new(ids: &[NodeId]) -> Self {
        let mut plan = Self::default();
        for &id in ids {
            if is_stored(id) {
                plan.stored.push(id);
            } else if let Some(range) = leaf_range(id) {
                plan.low.push((id, range));
            }
        }
        let mut ranges: Vec<(u64, u64)> = plan.low.iter().map(|(_, r)| *r).collect();
        ranges.sort_unstable();
        for (start, end) in ranges {
            match plan.leaf_ranges.last_mut() {
                Some(last) if start <= last.1 => last.1 = last.1.max(end),
                _ => plan.leaf_ranges.push((start, end)),
            }
        }
        plan
    }

    /// The low nodes whose leaves are all in `leaves` (by leaf index).
    pub fn computed(&self, leaves: &BTreeMap<u64, Hash>) -> Vec<(NodeId, Hash)> {
        self.low
            .iter()
            .filter_map(|&(id, (start, end))| {
                let hashes: Option<Vec<Hash>> =
                    (start..end).map(|i| leaves.get(&i).copied()).collect();
                hashes.map(|h| (id, perfect_root(h)))
            })
            .collect()
    }
}

/// The leaves `[start, end)` a node covers; `None` when they lie beyond any possible tree.
fn leaf_range(id: NodeId) -> Option<(u64, u64)> {
    let width = 1u64.checked_shl(u32::from(id.level))?;
    let start = id.index.checked_mul(width)?;
    Some((start, start.checked_add(width)?))
}

/// The root of a perfect subtree from its leaves (a power of two of them, at least one).
fn perfect_root(mut level: Vec<Hash>) -> Hash {
    while level.len() > 1 {
        level = level
            .chunks_exact(2)
            .map(|pair| node_hash(&pair[0], &pair[1]))
            .collect();
    }
    level[0]
}

#[cfg(test)]
mod tests {
    use keel_audit::hash::leaf_hash;
    use keel_audit::tree::Frontier;

    use super::*;

    #[test]
    fn a_perfect_root_is_the_frontier_root_of_the_same_leaves() {
        for n in [1usize, 2, 4, 8, 16] {
            let leaves: Vec<Hash> = (0..n).map(|i| leaf_hash(&[i as u8])).collect();
            let mut frontier = Frontier::empty();
            let mut sink = Vec::new();
            for leaf in &leaves {
                frontier.push(*leaf, &mut sink);
            }
            assert_eq!(perfect_root(leaves), frontier.root(), "{n} leaves");
        }
    }

    #[test]
    fn leaf_ranges_never_overflow() {
        assert_eq!(leaf_range(NodeId::new(3, 2)), Some((16, 24)));
        assert_eq!(leaf_range(NodeId::new(0, u64::MAX)), None);
        assert_eq!(leaf_range(NodeId::new(64, 0)), None);
        assert_eq!(leaf_range(NodeId::new(3, u64::MAX / 4)), None);
    }

    #[test]
    fn a_plan_merges_the_leaves_its_low_nodes_need_and_computes_only_complete_ones() {
        let ids = [
            NodeId::new(5, 1),
            NodeId::new(1, 17),
            NodeId::new(1, 16),
            NodeId::new(2, 9),
            NodeId::new(3, 0),
        ];
        let plan = NodePlan::new(&ids);
        assert_eq!(plan.stored, [NodeId::new(5, 1)]);
        assert_eq!(plan.leaf_ranges, [(0, 8), (32, 40)]);
        let leaves: BTreeMap<u64, Hash> = (32..40).map(|i| (i, leaf_hash(&[i as u8]))).collect();
        let got: Vec<NodeId> = plan
            .computed(&leaves)
            .into_iter()
            .map(|(id, _)| id)
            .collect();
        assert_eq!(
            got,
            [NodeId::new(1, 17), NodeId::new(1, 16), NodeId::new(2, 9)]
        );
    }
}
