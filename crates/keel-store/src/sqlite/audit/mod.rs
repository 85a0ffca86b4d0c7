//! `AuditStore` for SQLite: the writer sequences each entry as it inserts it, in the
//! transaction of the write it records ([`tail`]), so leaf indices follow commit order without
//! gaps; the tree keeps nodes from level 4 up and computes lower ones ([`nodes`]); searches
//! go through postings written for batches of entries ([`search`]).

mod nodes;
mod search;
mod tail;

use async_trait::async_trait;
use keel_audit::hash::{Hash, leaf_hash};
use keel_audit::tree::NodeId;
use keel_core::audit::{
    AuditQuery, AuditRow, AuditStore, LoggedEntry, Outcome, Sequenced, StoredCheckpoint, TreeHead,
};
use keel_core::entities::Page;
use keel_core::{Error, Result};
use rusqlite::{Connection, OptionalExtension, params};

pub(crate) use tail::{after_group, before_commit, insert_entry};

use super::{SqliteStore, db_err};

fn to_u64(v: i64) -> Result<u64> {
    u64::try_from(v).map_err(|_| Error::internal("negative size in the audit log"))
}

fn to_i64(v: u64) -> Result<i64> {
    i64::try_from(v).map_err(|_| Error::invalid("index out of range"))
}

fn hash_of(bytes: Vec<u8>) -> Result<Hash> {
    Hash::try_from(bytes.as_slice()).map_err(|_| Error::internal("a stored hash is not 32 bytes"))
}

fn head(conn: &Connection) -> Result<TreeHead> {
    let (size, root): (i64, Vec<u8>) = conn
        .prepare_cached("SELECT size, root FROM audit_tree WHERE id = 1")
        .and_then(|mut s| s.query_row([], |r| Ok((r.get(0)?, r.get(1)?))))
        .map_err(db_err)?;
    Ok(TreeHead {
        size: to_u64(size)?,
        root: hash_of(root)?,
    })
}

/// How many leaves the stored search postings cover (the entries beyond have none yet).
fn indexed_size(conn: &Connection) -> Result<u64> {
    conn.prepare_cached("SELECT indexed_size FROM audit_tree WHERE id = 1")
        .and_then(|mut s| s.query_row([], |r| r.get(0)))
        .map_err(db_err)
        .and_then(to_u64)
}

/// A checkpoint's columns as stored.
type CheckpointRow = (i64, Vec<u8>, String, i64, Option<Vec<u8>>);

fn checkpoint_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<CheckpointRow> {
    Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?))
}

fn to_checkpoint(
    (size, root, note, created_ms, timestamp): CheckpointRow,
) -> Result<StoredCheckpoint> {
    Ok(StoredCheckpoint {
        tree_size: to_u64(size)?,
        root: hash_of(root)?,
        note,
        created_ms,
        timestamp,
    })
}

const CHECKPOINT_COLUMNS: &str = "tree_size, root, note, created_ms, timestamp";
const ENTRY_COLUMNS: &str = "leaf_index, time_ms, entry";

/// An entry's row; its queue order is its leaf index (entries are sequenced as they commit).
fn entry_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<LoggedEntry> {
    let leaf: i64 = r.get(0)?;
    Ok(LoggedEntry {
        seq: leaf,
        leaf_index: u64::try_from(leaf).ok(),
        time_ms: r.get(1)?,
        entry: r.get(2)?,
    })
}

#[async_trait]
impl AuditStore for SqliteStore {
    async fn append_entries(&self, rows: Vec<AuditRow>) -> Result<()> {
        self.write(move |conn| rows.iter().try_for_each(|row| insert_entry(conn, row)))
            .await
    }

    async fn sequence(&self, max: usize) -> Result<Sequenced> {
        self.write(move |conn| tail::sequence_unsequenced(conn, max))
            .await
    }

    async fn tree_head(&self) -> Result<TreeHead> {
        self.read(head).await
    }

    async fn nodes(&self, ids: &[NodeId]) -> Result<Vec<(NodeId, Hash)>> {
        let ids = ids.to_vec();
        self.read(move |conn| nodes::read_nodes(conn, &ids)).await
    }

    async fn register_log_key(&self, vkey: &str) -> Result<String> {
        let vkey = vkey.to_owned();
        self.write(move |conn| {
            conn.execute(
                "UPDATE audit_tree SET log_key = ?1 WHERE id = 1 AND log_key IS NULL",
                [&vkey],
            )
            .map_err(db_err)?;
            conn.query_row("SELECT log_key FROM audit_tree WHERE id = 1", [], |r| {
                r.get(0)
            })
            .map_err(db_err)
        })
        .await
    }

    async fn add_checkpoint(&self, c: &StoredCheckpoint) -> Result<bool> {
        let c = c.clone();
        self.write(move |conn| {
            conn.execute(
                "INSERT INTO audit_checkpoints (tree_size, root, note, created_ms, timestamp)
                 VALUES (?1, ?2, ?3, ?4, ?5) ON CONFLICT (tree_size) DO NOTHING",
                params![
                    to_i64(c.tree_size)?,
                    c.root.as_slice(),
                    c.note,
                    c.created_ms,
                    c.timestamp
                ],
            )
            .map(|n| n == 1)
            .map_err(db_err)
        })
        .await
    }

    async fn set_checkpoint_timestamp(&self, tree_size: u64, token: &[u8]) -> Result<()> {
        let token = token.to_vec();
        let size = to_i64(tree_size)?;
        self.write(move |conn| {
            conn.execute(
                "UPDATE audit_checkpoints SET timestamp = ?1 WHERE tree_size = ?2 AND timestamp IS NULL",
                params![token, size],
            )
            .map(|_| ())
            .map_err(db_err)
        })
        .await
    }

    async fn latest_checkpoint(&self) -> Result<Option<StoredCheckpoint>> {
        self.read(|conn| {
            conn.prepare_cached(&format!(
                "SELECT {CHECKPOINT_COLUMNS} FROM audit_checkpoints ORDER BY tree_size DESC LIMIT 1"
            ))
            .and_then(|mut s| s.query_row([], checkpoint_row).optional())
            .map_err(db_err)?
            .map(to_checkpoint)
            .transpose()
        })
        .await
    }

    async fn checkpoints(&self, from_size: u64, limit: usize) -> Result<Vec<StoredCheckpoint>> {
        let from = to_i64(from_size)?;
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        self.read(move |conn| {
            let rows: Vec<_> = conn
                .prepare_cached(&format!(
                    "SELECT {CHECKPOINT_COLUMNS} FROM audit_checkpoints WHERE tree_size >= ?1
                     ORDER BY tree_size LIMIT ?2"
                ))
                .and_then(|mut s| s.query_map(params![from, limit], checkpoint_row)?.collect())
                .map_err(db_err)?;
            rows.into_iter().map(to_checkpoint).collect()
        })
        .await
    }

    async fn entries(&self, start: u64, limit: usize) -> Result<Vec<LoggedEntry>> {
        let start = to_i64(start)?;
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        self.read(move |conn| {
            conn.prepare_cached(&format!(
                "SELECT {ENTRY_COLUMNS} FROM audit_entries WHERE leaf_index >= ?1
                 ORDER BY leaf_index LIMIT ?2"
            ))
            .and_then(|mut s| s.query_map(params![start, limit], entry_row)?.collect())
            .map_err(db_err)
        })
        .await
    }

    async fn search_entries(&self, query: &AuditQuery) -> Result<Page<LoggedEntry>> {
        let query = query.clone();
        self.read(move |conn| search::search(conn, &query)).await
    }

    async fn first_unexpired(&self, from: u64, to: u64, cutoff_ms: i64) -> Result<u64> {
        let (from_i, to_i) = (to_i64(from)?, to_i64(to)?);
        self.read(move |conn| {
            let first: Option<i64> = conn
                .prepare_cached(
                    "SELECT leaf_index FROM audit_entries
                     WHERE leaf_index >= ?1 AND leaf_index < ?2 AND time_ms >= ?3
                     ORDER BY leaf_index LIMIT 1",
                )
                .and_then(|mut s| {
                    s.query_row(params![from_i, to_i, cutoff_ms], |r| r.get(0))
                        .optional()
                })
                .map_err(db_err)?;
            first.map_or(Ok(to), to_u64)
        })
        .await
    }

    async fn prune(&self, below: u64, record: Option<AuditRow>) -> Result<u64> {
        let below = to_i64(below)?;
        self.write(move |conn| {
            if let Some(row) = &record {
                insert_entry(conn, row)?;
            }
            keep_leaf_hashes(conn, below)?;
            let removed = conn
                .prepare_cached("DELETE FROM audit_entries WHERE leaf_index < ?1")
                .and_then(|mut s| s.execute([below]))
                .map_err(db_err)?;
            conn.prepare_cached(
                "UPDATE audit_tree SET pruned_below = ?1 WHERE id = 1 AND pruned_below < ?1",
            )
            .and_then(|mut s| s.execute([below]))
            .map_err(db_err)?;
            Ok(removed as u64)
        })
        .await
    }

    async fn pruned_below(&self) -> Result<u64> {
        self.read(|conn| {
            let mark: i64 = conn
                .prepare_cached("SELECT pruned_below FROM audit_tree WHERE id = 1")
                .and_then(|mut s| s.query_row([], |r| r.get(0)))
                .map_err(db_err)?;
            to_u64(mark)
        })
        .await
    }
}

/// Before the entries below `below` are deleted: stores their leaf hashes as level-0 nodes
/// (those not stored yet), so that every proof and checkpoint stays verifiable, and deletes the
/// postings that name only them (a posting reaching past `below` still finds later entries).
fn keep_leaf_hashes(conn: &Connection, below: i64) -> Result<()> {
    let entries = read_rows(
        conn,
        &format!("SELECT leaf_index, {ROW_COLUMNS} FROM audit_entries WHERE leaf_index < ?1"),
        below,
    )?;
    let mut keep = conn
        .prepare_cached(
            "INSERT INTO audit_nodes (level, idx, hash) VALUES (0, ?1, ?2)
             ON CONFLICT (level, idx) DO NOTHING",
        )
        .map_err(db_err)?;
    let mut keys = std::collections::BTreeSet::new();
    for (index, row) in &entries {
        keep.execute(params![index, leaf_hash(&row.entry).as_slice()])
            .map_err(db_err)?;
        keys.extend(search::keys(row));
    }
    let mut forget = conn
        .prepare_cached(
            "DELETE FROM audit_postings
             WHERE field = ?1 AND value = ?2 AND first_leaf < ?3 AND last_leaf < ?3",
        )
        .map_err(db_err)?;
    for (field, value) in keys {
        forget
            .execute(params![field as i64, value, below])
            .map_err(db_err)?;
    }
    Ok(())
}

/// The columns of a stored entry's row, in the order [`read_rows`] reads them after the key.
const ROW_COLUMNS: &str = "time_ms, actor, action, resource_kind, resource_id, outcome, entry";

/// Rows of `(key, ROW_COLUMNS...)` read by `sql` (one parameter), as keys and the rows a store
/// inserts.
fn read_rows(conn: &Connection, sql: &str, param: i64) -> Result<Vec<(i64, AuditRow)>> {
    type Columns = (i64, i64, String, String, String, String, String, Vec<u8>);
    let found: Vec<Columns> = conn
        .prepare_cached(sql)
        .and_then(|mut s| {
            s.query_map([param], |r| {
                Ok((
                    r.get(0)?,
                    r.get(1)?,
                    r.get(2)?,
                    r.get(3)?,
                    r.get(4)?,
                    r.get(5)?,
                    r.get(6)?,
                    r.get(7)?,
                ))
            })?
            .collect()
        })
        .map_err(db_err)?;
    found
        .into_iter()
        .map(|(key, time_ms, actor, action, kind, id, outcome, entry)| {
            let row = AuditRow {
                time_ms,
                actor,
                action,
                resource_kind: kind,
                resource_id: id,
                outcome: Outcome::parse(&outcome)?,
                entry,
            };
            Ok((key, row))
        })
        .collect()
}
