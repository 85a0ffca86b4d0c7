//! The Merkle tree's perfect subtrees as the SQLite store keeps them: nodes from level
//! [`FIRST_STORED_LEVEL`] up are rows of `audit_nodes`; lower ones are computed from their
//! (at most 16) leaves when a proof or the writer needs them. A leaf's hash is a stored level-0
//! node for entries sequenced before that rule and for pruned ones, else the hash of its entry.

use std::collections::BTreeMap;

use keel_audit::hash::{Hash, leaf_hash, node_hash};
use keel_audit::tree::NodeId;
use keel_core::{Error, Result};
use rusqlite::{Connection, OptionalExtension, params};

use super::{hash_of, to_i64};
use crate::sqlite::db_err;

/// The lowest level stored: one node row per 16 entries instead of two per entry.
pub(super) const FIRST_STORED_LEVEL: u8 = 4;

/// The perfect subtrees among `ids` that the tree holds (absent ones are left out).
pub(super) fn read_nodes(conn: &Connection, ids: &[NodeId]) -> Result<Vec<(NodeId, Hash)>> {
    let mut out = Vec::with_capacity(ids.len());
    let mut low = Vec::new();
    for &id in ids {
        if id.level >= FIRST_STORED_LEVEL {
            if let Some(hash) = stored_node(conn, id)? {
                out.push((id, hash));
            }
        } else if let Some(range) = leaf_range(id) {
            low.push((id, range));
        }
    }
    if low.is_empty() {
        return Ok(out);
    }
    let leaves = leaves_in(conn, low.iter().map(|(_, range)| *range))?;
    for (id, (start, end)) in low {
        let hashes: Option<Vec<Hash>> = (start..end).map(|i| leaves.get(&i).copied()).collect();
        if let Some(hashes) = hashes {
            out.push((id, perfect_root(hashes)));
        }
    }
    Ok(out)
}

/// The leaves `[start, end)` a node covers; `None` when they lie beyond any possible tree.
fn leaf_range(id: NodeId) -> Option<(u64, u64)> {
    let width = 1u64.checked_shl(u32::from(id.level))?;
    let start = id.index.checked_mul(width)?;
    Some((start, start.checked_add(width)?))
}

fn stored_node(conn: &Connection, id: NodeId) -> Result<Option<Hash>> {
    let hash: Option<Vec<u8>> = conn
        .prepare_cached("SELECT hash FROM audit_nodes WHERE level = ?1 AND idx = ?2")
        .and_then(|mut s| {
            s.query_row(params![id.level, to_i64(id.index).unwrap_or(-1)], |r| {
                r.get(0)
            })
            .optional()
        })
        .map_err(db_err)?;
    hash.map(hash_of).transpose()
}

/// The hashes of the leaves in the given ranges (merged where they touch), by leaf index.
fn leaves_in(
    conn: &Connection,
    ranges: impl Iterator<Item = (u64, u64)>,
) -> Result<BTreeMap<u64, Hash>> {
    let mut ranges: Vec<(u64, u64)> = ranges.collect();
    ranges.sort_unstable();
    let mut merged: Vec<(u64, u64)> = Vec::with_capacity(ranges.len());
    for (start, end) in ranges {
        match merged.last_mut() {
            Some(last) if start <= last.1 => last.1 = last.1.max(end),
            _ => merged.push((start, end)),
        }
    }
    let mut leaves = BTreeMap::new();
    for (start, end) in merged {
        let (start, end) = (to_i64(start)?, to_i64(end).unwrap_or(i64::MAX));
        let mut stored = conn
            .prepare_cached(
                "SELECT idx, hash FROM audit_nodes WHERE level = 0 AND idx >= ?1 AND idx < ?2",
            )
            .map_err(db_err)?;
        let rows = stored
            .query_map(params![start, end], |r| {
                Ok((r.get::<_, i64>(0)?, r.get::<_, Vec<u8>>(1)?))
            })
            .map_err(db_err)?;
        for row in rows {
            let (index, hash) = row.map_err(db_err)?;
            leaves.insert(index_of(index)?, hash_of(hash)?);
        }
        let mut entries = conn
            .prepare_cached(
                "SELECT leaf_index, entry FROM audit_entries
                 WHERE leaf_index >= ?1 AND leaf_index < ?2",
            )
            .map_err(db_err)?;
        let rows = entries
            .query_map(params![start, end], |r| {
                Ok((r.get::<_, i64>(0)?, r.get::<_, Vec<u8>>(1)?))
            })
            .map_err(db_err)?;
        for row in rows {
            let (index, entry) = row.map_err(db_err)?;
            leaves
                .entry(index_of(index)?)
                .or_insert_with(|| leaf_hash(&entry));
        }
    }
    Ok(leaves)
}

fn index_of(v: i64) -> Result<u64> {
    u64::try_from(v).map_err(|_| Error::internal("negative leaf index in the audit log"))
}

/// The root of a perfect subtree from its leaves (a power of two of them).
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
}
