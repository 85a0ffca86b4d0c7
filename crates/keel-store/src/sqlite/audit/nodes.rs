//! Reading the Merkle tree's perfect subtrees from SQLite: stored ones from `audit_nodes`,
//! lower ones computed from their leaves (see [`crate::audit_nodes`]).

use std::collections::BTreeMap;

use keel_audit::hash::{Hash, leaf_hash};
use keel_audit::tree::NodeId;
use keel_core::{Error, Result};
use rusqlite::{Connection, params};

use super::{hash_of, to_i64};
use crate::audit_nodes::NodePlan;
use crate::sqlite::db_err;

/// The perfect subtrees among `ids` that the tree holds (absent ones are left out).
pub(super) fn read_nodes(conn: &Connection, ids: &[NodeId]) -> Result<Vec<(NodeId, Hash)>> {
    let plan = NodePlan::new(ids);
    let mut out = Vec::with_capacity(ids.len());
    for chunk in plan.stored.chunks(NODES_PER_QUERY) {
        out.extend(stored_nodes(conn, chunk)?);
    }
    if !plan.leaf_ranges.is_empty() {
        out.extend(plan.computed(&leaves_in(conn, &plan.leaf_ranges)?));
    }
    Ok(out)
}

/// Stored nodes looked up by one statement (a proof needs one per level).
const NODES_PER_QUERY: usize = 64;

/// The stored nodes among `ids` (at most [`NODES_PER_QUERY`]), in one query.
fn stored_nodes(conn: &Connection, ids: &[NodeId]) -> Result<Vec<(NodeId, Hash)>> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    // Padded to a multiple of 16 pairs with a node that does not exist, so that a few
    // statements serve every plan (and stay in the statement cache).
    let slots = ids.len().div_ceil(16) * 16;
    let wanted = vec!["(?, ?)"; slots].join(", ");
    let mut values: Vec<i64> = Vec::with_capacity(slots * 2);
    for id in ids {
        values.push(i64::from(id.level));
        values.push(to_i64(id.index).unwrap_or(-1));
    }
    values.resize(slots * 2, -1);
    let rows: Vec<(i64, i64, Vec<u8>)> = conn
        .prepare_cached(&format!(
            "SELECT level, idx, hash FROM audit_nodes WHERE (level, idx) IN (VALUES {wanted})"
        ))
        .and_then(|mut s| {
            s.query_map(rusqlite::params_from_iter(values), |r| {
                Ok((r.get(0)?, r.get(1)?, r.get(2)?))
            })?
            .collect()
        })
        .map_err(db_err)?;
    rows.into_iter()
        .map(|(level, index, hash)| {
            let level = u8::try_from(level).map_err(|_| Error::internal("bad node level"))?;
            Ok((NodeId::new(level, index_of(index)?), hash_of(hash)?))
        })
        .collect()
}

/// The hashes of the leaves in the given ranges, by leaf index: a stored level-0 node, or the
/// hash of the entry (one statement per range, as PostgreSQL's).
fn leaves_in(conn: &Connection, ranges: &[(u64, u64)]) -> Result<BTreeMap<u64, Hash>> {
    let mut stmt = conn
        .prepare_cached(
            "SELECT idx, hash, NULL FROM audit_nodes WHERE level = 0 AND idx >= ?1 AND idx < ?2
             UNION ALL
             SELECT leaf_index, NULL, entry FROM audit_entries
             WHERE leaf_index >= ?1 AND leaf_index < ?2",
        )
        .map_err(db_err)?;
    let mut leaves = BTreeMap::new();
    for &(start, end) in ranges {
        let (start, end) = (to_i64(start)?, to_i64(end).unwrap_or(i64::MAX));
        let rows = stmt
            .query_map(params![start, end], |r| {
                Ok((
                    r.get::<_, i64>(0)?,
                    r.get::<_, Option<Vec<u8>>>(1)?,
                    r.get::<_, Option<Vec<u8>>>(2)?,
                ))
            })
            .map_err(db_err)?;
        for row in rows {
            let hash = match row.map_err(db_err)? {
                (index, Some(stored), _) => (index, hash_of(stored)?),
                (index, None, Some(entry)) => (index, leaf_hash(&entry)),
                (_, None, None) => continue,
            };
            leaves.insert(index_of(hash.0)?, hash.1);
        }
    }
    Ok(leaves)
}

fn index_of(v: i64) -> Result<u64> {
    u64::try_from(v).map_err(|_| Error::internal("negative leaf index in the audit log"))
}
