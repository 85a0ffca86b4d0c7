//! `AuditStore` for PostgreSQL: entries inserted in the transaction of the write they record
//! (`PostgresStore::write_with`), then sequenced into the Merkle tree by whichever replica holds
//! the tree head's row lock, so several processes on one database keep one gapless log. Nodes
//! are stored from level 4 up; lower ones are computed from their leaves
//! ([`crate::audit_nodes`]).

use std::collections::BTreeMap;

use async_trait::async_trait;
use keel_audit::hash::{Hash, leaf_hash};
use keel_audit::tree::{Frontier, NodeId};
use keel_core::audit::{
    AuditQuery, AuditRow, AuditStore, LoggedEntry, Sequenced, StoredCheckpoint, TreeHead,
};
use keel_core::entities::Page;
use keel_core::{Error, Result, paging};
use sqlx::PgConnection;

use super::PostgresStore;
use super::error::PgResult;
use crate::audit_nodes::{NodePlan, is_stored};

/// Inserts entries (in the caller's transaction), in one statement.
pub(crate) async fn insert_entries(c: &mut PgConnection, rows: &[&AuditRow]) -> PgResult<()> {
    if rows.is_empty() {
        return Ok(());
    }
    let mut time = Vec::with_capacity(rows.len());
    let mut actor = Vec::with_capacity(rows.len());
    let mut action = Vec::with_capacity(rows.len());
    let mut kind = Vec::with_capacity(rows.len());
    let mut id = Vec::with_capacity(rows.len());
    let mut outcome = Vec::with_capacity(rows.len());
    let mut entry = Vec::with_capacity(rows.len());
    for r in rows {
        time.push(r.time_ms);
        actor.push(r.actor.as_str());
        action.push(r.action.as_str());
        kind.push(r.resource_kind.as_str());
        id.push(r.resource_id.as_str());
        outcome.push(r.outcome.as_str());
        entry.push(r.entry.as_slice());
    }
    sqlx::query(
        "INSERT INTO audit_entries
             (time_ms, actor, action, resource_kind, resource_id, outcome, entry)
         SELECT * FROM unnest($1::bigint[], $2::text[], $3::text[], $4::text[], $5::text[],
                              $6::text[], $7::bytea[])",
    )
    .bind(time)
    .bind(actor)
    .bind(action)
    .bind(kind)
    .bind(id)
    .bind(outcome)
    .bind(entry)
    .execute(&mut *c)
    .await?;
    Ok(())
}

fn to_u64(v: i64) -> PgResult<u64> {
    u64::try_from(v).map_err(|_| Error::internal("negative size in the audit log").into())
}

fn to_i64(v: u64) -> PgResult<i64> {
    i64::try_from(v).map_err(|_| Error::invalid("index out of range").into())
}

fn hash_of(bytes: &[u8]) -> PgResult<Hash> {
    Hash::try_from(bytes).map_err(|_| Error::internal("a stored hash is not 32 bytes").into())
}

async fn head(c: &mut PgConnection, lock: bool) -> PgResult<TreeHead> {
    let sql = if lock {
        "SELECT size, root FROM audit_tree WHERE id = 1 FOR UPDATE"
    } else {
        "SELECT size, root FROM audit_tree WHERE id = 1"
    };
    let (size, root): (i64, Vec<u8>) = sqlx::query_as(sql).fetch_one(&mut *c).await?;
    Ok(TreeHead {
        size: to_u64(size)?,
        root: hash_of(&root)?,
    })
}

/// The perfect subtrees among `ids` that the tree holds (absent ones are left out): stored
/// ones, and lower ones computed from their leaves (see [`crate::audit_nodes`]).
async fn nodes(c: &mut PgConnection, ids: &[NodeId]) -> PgResult<Vec<(NodeId, Hash)>> {
    let plan = NodePlan::new(ids);
    let mut out = stored_nodes(c, &plan.stored).await?;
    if !plan.leaf_ranges.is_empty() {
        // Stored leaf hashes (entries sequenced when every level was stored, pruned ones) and
        // the hashes of the entries, computed by the server (RFC 9162: 0x00 ‖ entry). The
        // leaves are named one by one (at most 16 per node), so the planner knows how few rows
        // it reads, even before the table's statistics exist.
        let wanted = plan
            .leaf_ranges
            .iter()
            .flat_map(|&(start, end)| start..end)
            .map(to_i64)
            .collect::<PgResult<Vec<i64>>>()?;
        let rows: Vec<(i64, Vec<u8>)> = sqlx::query_as(
            "SELECT idx, hash FROM audit_nodes WHERE level = 0 AND idx = ANY($1)
             UNION ALL
             SELECT leaf_index, sha256('\\x00'::bytea || entry) FROM audit_entries
             WHERE leaf_index = ANY($1)",
        )
        .bind(wanted)
        .fetch_all(&mut *c)
        .await?;
        let mut leaves = BTreeMap::new();
        for (index, hash) in rows {
            leaves.insert(to_u64(index)?, hash_of(&hash)?);
        }
        out.extend(plan.computed(&leaves));
    }
    Ok(out)
}

async fn stored_nodes(c: &mut PgConnection, ids: &[NodeId]) -> PgResult<Vec<(NodeId, Hash)>> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let levels: Vec<i16> = ids.iter().map(|id| i16::from(id.level)).collect();
    let indices = ids
        .iter()
        .map(|id| to_i64(id.index))
        .collect::<PgResult<Vec<_>>>()?;
    let rows: Vec<(i16, i64, Vec<u8>)> = sqlx::query_as(
        "SELECT n.level, n.idx, n.hash FROM audit_nodes n
         JOIN unnest($1::smallint[], $2::bigint[]) AS want(level, idx)
           ON n.level = want.level AND n.idx = want.idx",
    )
    .bind(levels)
    .bind(indices)
    .fetch_all(&mut *c)
    .await?;
    rows.into_iter()
        .map(|(level, idx, hash)| {
            let id = NodeId {
                level: u8::try_from(level).map_err(|_| Error::internal("bad node level"))?,
                index: to_u64(idx)?,
            };
            Ok((id, hash_of(&hash)?))
        })
        .collect()
}

/// Appends up to `max` pending entries to the tree, holding the head's row lock.
async fn sequence(c: &mut PgConnection, max: usize) -> PgResult<Sequenced> {
    let before = head(c, true).await?;
    let pending: Vec<(i64, Vec<u8>)> = sqlx::query_as(
        "SELECT seq, entry FROM audit_entries WHERE leaf_index IS NULL ORDER BY seq LIMIT $1",
    )
    .bind(i64::try_from(max).unwrap_or(i64::MAX))
    .fetch_all(&mut *c)
    .await?;
    if pending.is_empty() {
        return Ok(Sequenced {
            appended: 0,
            head: before,
        });
    }
    let ids = Frontier::ids(before.size);
    let mut found = nodes(c, &ids).await?;
    found.sort_unstable_by_key(|(id, _)| *id);
    let hashes = ids
        .iter()
        .map(|id| {
            found
                .binary_search_by_key(id, |(n, _)| *n)
                .map(|i| found[i].1)
                .map_err(|_| Error::internal(format!("the audit tree misses its node {id:?}")))
        })
        .collect::<std::result::Result<Vec<_>, Error>>()?;
    let mut frontier = Frontier::from_hashes(before.size, hashes)
        .map_err(|e| Error::internal(format!("the audit tree's frontier is invalid: {e}")))?;
    let mut completed = Vec::with_capacity(pending.len() * 2);
    let mut seqs = Vec::with_capacity(pending.len());
    let mut indices = Vec::with_capacity(pending.len());
    for (seq, entry) in &pending {
        seqs.push(*seq);
        indices.push(to_i64(frontier.size())?);
        frontier.push(leaf_hash(entry), &mut completed);
    }
    sqlx::query(
        "UPDATE audit_entries SET leaf_index = v.leaf
         FROM unnest($1::bigint[], $2::bigint[]) AS v(seq, leaf)
         WHERE audit_entries.seq = v.seq",
    )
    .bind(&seqs)
    .bind(&indices)
    .execute(&mut *c)
    .await?;
    completed.retain(|(id, _)| is_stored(*id));
    let levels: Vec<i16> = completed
        .iter()
        .map(|(id, _)| i16::from(id.level))
        .collect();
    let node_indices = completed
        .iter()
        .map(|(id, _)| to_i64(id.index))
        .collect::<PgResult<Vec<_>>>()?;
    let node_hashes: Vec<&[u8]> = completed.iter().map(|(_, h)| h.as_slice()).collect();
    sqlx::query(
        "INSERT INTO audit_nodes (level, idx, hash)
         SELECT * FROM unnest($1::smallint[], $2::bigint[], $3::bytea[])",
    )
    .bind(levels)
    .bind(node_indices)
    .bind(node_hashes)
    .execute(&mut *c)
    .await?;
    let after = TreeHead {
        size: frontier.size(),
        root: frontier.root(),
    };
    sqlx::query("UPDATE audit_tree SET size = $1, root = $2 WHERE id = 1")
        .bind(to_i64(after.size)?)
        .bind(after.root.as_slice())
        .execute(&mut *c)
        .await?;
    Ok(Sequenced {
        appended: pending.len() as u64,
        head: after,
    })
}

type CheckpointRow = (i64, Vec<u8>, String, i64, Option<Vec<u8>>);
const CHECKPOINT_COLUMNS: &str = "tree_size, root, note, created_ms, timestamp";

fn checkpoint(
    (size, root, note, created_ms, timestamp): CheckpointRow,
) -> PgResult<StoredCheckpoint> {
    Ok(StoredCheckpoint {
        tree_size: to_u64(size)?,
        root: hash_of(&root)?,
        note,
        created_ms,
        timestamp,
    })
}

type EntryRow = (i64, Option<i64>, i64, Vec<u8>);
const ENTRY_COLUMNS: &str = "seq, leaf_index, time_ms, entry";

fn entry((seq, leaf, time_ms, entry): EntryRow) -> LoggedEntry {
    LoggedEntry {
        seq,
        leaf_index: leaf.and_then(|l| u64::try_from(l).ok()),
        time_ms,
        entry,
    }
}

/// A search parameter.
enum Arg<'a> {
    Text(&'a str),
    Int(i64),
}

async fn search(c: &mut PgConnection, q: &AuditQuery) -> PgResult<Page<LoggedEntry>> {
    // Only the given criteria become clauses (fixed text, numbered parameters), so the planner
    // picks the index of the criterion at hand.
    let mut clauses: Vec<String> = Vec::new();
    let mut args: Vec<Arg<'_>> = Vec::new();
    let outcome = q.outcome.map(|o| o.as_str());
    for (column, value) in [
        ("actor", q.actor.as_deref()),
        ("action", q.action.as_deref()),
        ("resource_kind", q.resource_kind.as_deref()),
        ("resource_id", q.resource_id.as_deref()),
        ("outcome", outcome),
    ] {
        if let Some(v) = value {
            args.push(Arg::Text(v));
            clauses.push(format!("{column} = ${}", args.len()));
        }
    }
    for (clause, value) in [
        ("time_ms >=", q.since_ms),
        ("time_ms <", q.until_ms),
        ("seq <", q.before_seq),
    ] {
        if let Some(v) = value {
            args.push(Arg::Int(v));
            clauses.push(format!("{clause} ${}", args.len()));
        }
    }
    let filter = if clauses.is_empty() {
        String::new()
    } else {
        format!("WHERE {}", clauses.join(" AND "))
    };
    let limit = q.max_results.max(1);
    args.push(Arg::Int(i64::try_from(limit + 1).unwrap_or(i64::MAX)));
    let sql = format!(
        "SELECT {ENTRY_COLUMNS} FROM audit_entries {filter} ORDER BY seq DESC LIMIT ${}",
        args.len()
    );
    let mut query = sqlx::query_as::<_, EntryRow>(&sql);
    for arg in args {
        query = match arg {
            Arg::Text(t) => query.bind(t),
            Arg::Int(i) => query.bind(i),
        };
    }
    let mut rows = query.fetch_all(&mut *c).await?;
    let next_page_token = if rows.len() > limit {
        rows.truncate(limit);
        rows.last().map(|r| paging::encode(r.0))
    } else {
        None
    };
    Ok(Page {
        items: rows.into_iter().map(entry).collect(),
        next_page_token,
    })
}

#[async_trait]
impl AuditStore for PostgresStore {
    async fn append_entries(&self, rows: Vec<AuditRow>) -> Result<()> {
        self.write_with(&rows, None, |c, rows| {
            Box::pin(async move { insert_entries(c, &rows.iter().collect::<Vec<_>>()).await })
        })
        .await
    }

    async fn sequence(&self, max: usize) -> Result<Sequenced> {
        self.write_with(&max, None, |c, max| Box::pin(sequence(c, *max)))
            .await
    }

    async fn tree_head(&self) -> Result<TreeHead> {
        self.query(&(), |c, ()| Box::pin(head(c, false))).await
    }

    async fn nodes(&self, ids: &[NodeId]) -> Result<Vec<(NodeId, Hash)>> {
        self.query(ids, |c, ids| Box::pin(nodes(c, ids))).await
    }

    async fn register_log_key(&self, vkey: &str) -> Result<String> {
        self.write_with(vkey, None, |c, vkey| {
            Box::pin(async move {
                sqlx::query("UPDATE audit_tree SET log_key = $1 WHERE id = 1 AND log_key IS NULL")
                    .bind(vkey)
                    .execute(&mut *c)
                    .await?;
                let (key,): (String,) =
                    sqlx::query_as("SELECT log_key FROM audit_tree WHERE id = 1")
                        .fetch_one(&mut *c)
                        .await?;
                Ok(key)
            })
        })
        .await
    }

    async fn add_checkpoint(&self, cp: &StoredCheckpoint) -> Result<bool> {
        self.write_with(cp, None, |c, cp| {
            Box::pin(async move {
                let done = sqlx::query(
                    "INSERT INTO audit_checkpoints (tree_size, root, note, created_ms, timestamp)
                     VALUES ($1, $2, $3, $4, $5) ON CONFLICT (tree_size) DO NOTHING",
                )
                .bind(to_i64(cp.tree_size)?)
                .bind(cp.root.as_slice())
                .bind(&cp.note)
                .bind(cp.created_ms)
                .bind(&cp.timestamp)
                .execute(&mut *c)
                .await?;
                Ok(done.rows_affected() == 1)
            })
        })
        .await
    }

    async fn set_checkpoint_timestamp(&self, tree_size: u64, token: &[u8]) -> Result<()> {
        self.write_with(&(tree_size, token), None, |c, (size, token)| {
            Box::pin(async move {
                sqlx::query("UPDATE audit_checkpoints SET timestamp = $1 WHERE tree_size = $2 AND timestamp IS NULL")
                    .bind(*token)
                    .bind(to_i64(*size)?)
                    .execute(&mut *c)
                    .await?;
                Ok(())
            })
        })
        .await
    }

    async fn latest_checkpoint(&self) -> Result<Option<StoredCheckpoint>> {
        self.query(&(), |c, ()| {
            Box::pin(async move {
                let row: Option<CheckpointRow> = sqlx::query_as(&format!(
                    "SELECT {CHECKPOINT_COLUMNS} FROM audit_checkpoints
                     ORDER BY tree_size DESC LIMIT 1"
                ))
                .fetch_optional(&mut *c)
                .await?;
                row.map(checkpoint).transpose()
            })
        })
        .await
    }

    async fn checkpoints(&self, from_size: u64, limit: usize) -> Result<Vec<StoredCheckpoint>> {
        self.query(&(from_size, limit), |c, (from, limit)| {
            Box::pin(async move {
                let rows: Vec<CheckpointRow> = sqlx::query_as(&format!(
                    "SELECT {CHECKPOINT_COLUMNS} FROM audit_checkpoints WHERE tree_size >= $1
                     ORDER BY tree_size LIMIT $2"
                ))
                .bind(to_i64(*from)?)
                .bind(i64::try_from(*limit).unwrap_or(i64::MAX))
                .fetch_all(&mut *c)
                .await?;
                rows.into_iter().map(checkpoint).collect()
            })
        })
        .await
    }

    async fn entries(&self, start: u64, limit: usize) -> Result<Vec<LoggedEntry>> {
        self.query(&(start, limit), |c, (start, limit)| {
            Box::pin(async move {
                let rows: Vec<EntryRow> = sqlx::query_as(&format!(
                    "SELECT {ENTRY_COLUMNS} FROM audit_entries WHERE leaf_index >= $1
                     ORDER BY leaf_index LIMIT $2"
                ))
                .bind(to_i64(*start)?)
                .bind(i64::try_from(*limit).unwrap_or(i64::MAX))
                .fetch_all(&mut *c)
                .await?;
                Ok(rows.into_iter().map(entry).collect())
            })
        })
        .await
    }

    async fn search_entries(&self, query: &AuditQuery) -> Result<Page<LoggedEntry>> {
        self.query(query, |c, q| Box::pin(search(c, q))).await
    }

    async fn first_unexpired(&self, from: u64, to: u64, cutoff_ms: i64) -> Result<u64> {
        self.query(&(from, to, cutoff_ms), |c, (from, to, cutoff)| {
            Box::pin(async move {
                let first: Option<(i64,)> = sqlx::query_as(
                    "SELECT leaf_index FROM audit_entries
                     WHERE leaf_index >= $1 AND leaf_index < $2 AND time_ms >= $3
                     ORDER BY leaf_index LIMIT 1",
                )
                .bind(to_i64(*from)?)
                .bind(to_i64(*to)?)
                .bind(*cutoff)
                .fetch_optional(&mut *c)
                .await?;
                first.map_or(Ok(*to), |(leaf,)| to_u64(leaf))
            })
        })
        .await
    }

    async fn prune(&self, below: u64, record: Option<AuditRow>) -> Result<u64> {
        self.write_with(&(below, record), None, |c, (below, record)| {
            Box::pin(async move {
                // One pruning at a time across replicas, under the tree head's lock.
                head(c, true).await?;
                if let Some(row) = record {
                    insert_entries(c, &[row]).await?;
                }
                let below = to_i64(*below)?;
                // Their leaf hashes stay, so every proof and checkpoint stays verifiable.
                sqlx::query(
                    "INSERT INTO audit_nodes (level, idx, hash)
                     SELECT 0, leaf_index, sha256('\\x00'::bytea || entry) FROM audit_entries
                     WHERE leaf_index < $1
                     ON CONFLICT (level, idx) DO NOTHING",
                )
                .bind(below)
                .execute(&mut *c)
                .await?;
                let removed = sqlx::query("DELETE FROM audit_entries WHERE leaf_index < $1")
                    .bind(below)
                    .execute(&mut *c)
                    .await?;
                sqlx::query(
                    "UPDATE audit_tree SET pruned_below = $1 WHERE id = 1 AND pruned_below < $1",
                )
                .bind(below)
                .execute(&mut *c)
                .await?;
                Ok(removed.rows_affected())
            })
        })
        .await
    }

    async fn pruned_below(&self) -> Result<u64> {
        self.query(&(), |c, ()| {
            Box::pin(async move {
                let (mark,): (i64,) =
                    sqlx::query_as("SELECT pruned_below FROM audit_tree WHERE id = 1")
                        .fetch_one(&mut *c)
                        .await?;
                to_u64(mark)
            })
        })
        .await
    }
}
