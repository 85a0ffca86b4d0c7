//! Sequencing at commit: the writer thread gives each audit entry its leaf index as it inserts
//! it, in the transaction of the write it records, so the log needs no queue, no later
//! `UPDATE` and no pending index.
//!
//! The writer keeps the tree's right edge (its [`Frontier`]) between transactions, in a
//! thread-local: only a store's writer thread inserts entries, and each store has its own. At
//! its first entry in a transaction it checks the cached head against the stored one (another
//! process on the same file, such as a `keel` command, may have appended since) and reloads
//! when they differ; the writer writes the new head just before COMMIT ([`before_commit`]) and
//! drops the cache when a transaction rolls back ([`after_group`]).
//!
//! The search keys of the newest entries stay in memory until [`POSTINGS_BATCH`] entries have
//! gathered, then go out as one posting per key (see [`super::search`]) with the head: a
//! posting row per key and transaction would add a page or more per key to every commit's
//! write-ahead log. The head's `indexed_size` says how far the stored postings reach; searches
//! read the entries beyond it directly, and a reload notes them again.

use std::cell::RefCell;
use std::collections::HashMap;

use keel_audit::hash::leaf_hash;
use keel_audit::tree::Frontier;
use keel_core::audit::{AuditRow, Sequenced, TreeHead};
use keel_core::{Error, Result};
use rusqlite::{Connection, params};

use super::nodes::read_nodes;
use super::search::{self, Field};
use super::{ROW_COLUMNS, head, indexed_size, read_rows, to_i64, to_u64};
use crate::audit_nodes::is_stored;
use crate::sqlite::db_err;

/// How many entries' search keys the writer gathers before it writes them as postings.
pub(super) const POSTINGS_BATCH: u64 = 256;

/// The writer's view of the tree's right edge.
struct Tail {
    frontier: Frontier,
    /// The head as last loaded or written (what the stored head must still be).
    committed: TreeHead,
    /// Checked against the stored head in the current transaction.
    current: bool,
    /// Grown in the current transaction: the head row must be written before COMMIT.
    dirty: bool,
    /// How many leaves the stored postings cover.
    indexed: u64,
    /// The search keys of the entries from `indexed` on, each with the range of leaves it
    /// occurs in: written as postings once they are a batch.
    postings: Postings,
}

/// Search keys (a field's code, then its value) and the first and last leaf they occur at.
#[derive(Default)]
struct Postings {
    ranges: HashMap<String, (u64, u64)>,
    /// Reused to look keys up without allocating.
    key: String,
}

impl Postings {
    fn note(&mut self, field: Field, value: &str, leaf: u64) {
        self.key.clear();
        self.key.push(char::from(b'0' + field as u8));
        self.key.push_str(value);
        match self.ranges.get_mut(self.key.as_str()) {
            Some(range) => range.1 = leaf,
            None => {
                self.ranges.insert(self.key.clone(), (leaf, leaf));
            }
        }
    }

    fn note_row(&mut self, row: &AuditRow, leaf: u64) {
        for (field, value) in search::keys(row) {
            self.note(field, value, leaf);
        }
    }

    fn write(&mut self, conn: &Connection) -> Result<()> {
        let mut insert = conn
            .prepare_cached(
                "INSERT INTO audit_postings (field, value, first_leaf, last_leaf)
                 VALUES (?1, ?2, ?3, ?4)",
            )
            .map_err(db_err)?;
        for (key, (first, last)) in self.ranges.drain() {
            let (field, value) = key.split_at(1);
            insert
                .execute(params![
                    i64::from(field.as_bytes()[0] - b'0'),
                    value,
                    to_i64(first)?,
                    to_i64(last)?
                ])
                .map_err(db_err)?;
        }
        Ok(())
    }
}

impl Tail {
    fn head(&self) -> TreeHead {
        TreeHead {
            size: self.frontier.size(),
            root: self.frontier.root(),
        }
    }

    /// The stored tail, with the keys of the entries no posting covers yet.
    fn loaded(conn: &Connection) -> Result<Self> {
        let frontier = load_frontier(conn)?;
        let committed = TreeHead {
            size: frontier.size(),
            root: frontier.root(),
        };
        let indexed = indexed_size(conn)?;
        let mut postings = Postings::default();
        let unindexed = read_rows(
            conn,
            &format!(
                "SELECT leaf_index, {ROW_COLUMNS} FROM audit_entries
                 WHERE leaf_index >= ?1 ORDER BY leaf_index"
            ),
            to_i64(indexed)?,
        )?;
        for (leaf, row) in &unindexed {
            postings.note_row(row, to_u64(*leaf)?);
        }
        Ok(Self {
            frontier,
            committed,
            current: false,
            dirty: false,
            indexed,
            postings,
        })
    }
}

thread_local! {
    static TAIL: RefCell<Option<Tail>> = const { RefCell::new(None) };
}

/// Inserts one entry as the tree's next leaf, with the nodes it completes (in the caller's
/// transaction, on the writer thread).
pub(crate) fn insert_entry(conn: &Connection, row: &AuditRow) -> Result<()> {
    TAIL.with_borrow_mut(|slot| {
        let tail = current(conn, slot)?;
        let leaf = tail.frontier.size();
        let index = to_i64(leaf)?;
        conn.prepare_cached(
            "INSERT INTO audit_entries
                 (leaf_index, time_ms, actor, action, resource_kind, resource_id, outcome, entry)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
        )
        .and_then(|mut s| {
            s.execute(params![
                index,
                row.time_ms,
                row.actor,
                row.action,
                row.resource_kind,
                row.resource_id,
                row.outcome.as_str(),
                row.entry
            ])
        })
        .map_err(db_err)?;
        let mut completed = Vec::new();
        tail.frontier.push(leaf_hash(&row.entry), &mut completed);
        tail.dirty = true;
        tail.postings.note_row(row, leaf);
        let mut insert = conn
            .prepare_cached("INSERT INTO audit_nodes (level, idx, hash) VALUES (?1, ?2, ?3)")
            .map_err(db_err)?;
        for (id, hash) in completed {
            if is_stored(id) {
                insert
                    .execute(params![id.level, to_i64(id.index)?, hash.as_slice()])
                    .map_err(db_err)?;
            }
        }
        Ok(())
    })
}

/// The tail, loaded or checked against the stored head once per transaction.
fn current<'a>(conn: &Connection, slot: &'a mut Option<Tail>) -> Result<&'a mut Tail> {
    let tail = match slot.take() {
        Some(tail) if tail.current || head(conn)? == tail.committed => tail,
        _ => Tail::loaded(conn)?,
    };
    let tail = slot.insert(tail);
    tail.current = true;
    Ok(tail)
}

/// The frontier of the stored tree.
fn load_frontier(conn: &Connection) -> Result<Frontier> {
    let size = head(conn)?.size;
    let ids = Frontier::ids(size);
    let found = read_nodes(conn, &ids)?;
    let hashes = ids
        .iter()
        .map(|id| {
            found
                .iter()
                .find(|(n, _)| n == id)
                .map(|(_, h)| *h)
                .ok_or_else(|| Error::internal(format!("the audit tree misses its node {id}")))
        })
        .collect::<Result<Vec<_>>>()?;
    Frontier::from_hashes(size, hashes)
        .map_err(|e| Error::internal(format!("the audit tree's frontier is invalid: {e}")))
}

/// Writes the head the transaction's entries grew the tree to, and the postings of a full
/// batch (called by the writer just before COMMIT; a failure fails the transaction).
pub(crate) fn before_commit(conn: &Connection) -> Result<()> {
    TAIL.with_borrow_mut(|slot| {
        let Some(tail) = slot.as_mut().filter(|t| t.dirty) else {
            return Ok(());
        };
        let head = tail.head();
        if head.size.saturating_sub(tail.indexed) >= POSTINGS_BATCH {
            tail.postings.write(conn)?;
            tail.indexed = head.size;
        }
        let (size, indexed) = (to_i64(head.size)?, to_i64(tail.indexed)?);
        conn.prepare_cached(
            "UPDATE audit_tree SET size = ?1, root = ?2, indexed_size = ?3 WHERE id = 1",
        )
        .and_then(|mut s| s.execute(params![size, head.root.as_slice(), indexed]))
        .map_err(db_err)?;
        tail.committed = head;
        tail.dirty = false;
        Ok(())
    })
}

/// Ends the writer's transaction: a committed tail is checked again in the next one, a rolled
/// back one is reloaded.
pub(crate) fn after_group(committed: bool) {
    TAIL.with_borrow_mut(|slot| {
        if committed {
            if let Some(tail) = slot.as_mut() {
                tail.current = false;
                tail.dirty = false;
            }
        } else {
            *slot = None;
        }
    });
}

/// Moves up to `max` entries that committed before this store sequenced at commit (left in
/// `audit_unsequenced` by the migration) into the log, in commit order.
pub(super) fn sequence_unsequenced(conn: &Connection, max: usize) -> Result<Sequenced> {
    let rows = read_rows(
        conn,
        &format!("SELECT seq, {ROW_COLUMNS} FROM audit_unsequenced ORDER BY seq LIMIT ?1"),
        i64::try_from(max).unwrap_or(i64::MAX),
    )?;
    for (_, row) in &rows {
        insert_entry(conn, row)?;
    }
    if let Some((last, _)) = rows.last() {
        conn.prepare_cached("DELETE FROM audit_unsequenced WHERE seq <= ?1")
            .and_then(|mut s| s.execute([last]))
            .map_err(db_err)?;
    }
    let head = TAIL.with_borrow_mut(|slot| current(conn, slot).map(|tail| tail.head()))?;
    Ok(Sequenced {
        appended: rows.len() as u64,
        head,
    })
}

#[cfg(test)]
mod tests {
    use keel_audit::tree::{self, NodeId};
    use keel_core::audit::Outcome;

    use super::*;
    use crate::sqlite::migrate;

    fn database() -> (tempfile::TempDir, std::path::PathBuf) {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("audit.db");
        let mut conn = Connection::open(&path).expect("open");
        migrate::apply(&mut conn).expect("migrate");
        (dir, path)
    }

    fn row(n: u64) -> AuditRow {
        AuditRow {
            time_ms: n as i64,
            actor: "alice".into(),
            action: "runs.update".into(),
            resource_kind: "Run".into(),
            resource_id: format!("r{n}"),
            outcome: Outcome::Success,
            entry: format!("{{\"n\":{n}}}").into_bytes(),
        }
    }

    /// One writer transaction of `rows`, committed or rolled back as the writer does it.
    fn transaction(conn: &Connection, rows: std::ops::Range<u64>, commit: bool) {
        conn.execute_batch("BEGIN IMMEDIATE").expect("begin");
        for n in rows {
            insert_entry(conn, &row(n)).expect("insert");
        }
        if commit {
            before_commit(conn).expect("head");
            conn.execute_batch("COMMIT").expect("commit");
        } else {
            conn.execute_batch("ROLLBACK").expect("rollback");
        }
        after_group(commit);
    }

    /// The stored head is the tree of the stored entries in leaf order, and every node a proof
    /// can ask for is there (stored or computed) with the right hash.
    fn assert_consistent(conn: &Connection, expected: &[u64]) {
        let stored = head(conn).expect("head");
        let entries: Vec<(i64, Vec<u8>)> = conn
            .prepare("SELECT leaf_index, entry FROM audit_entries ORDER BY leaf_index")
            .and_then(|mut s| s.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?.collect())
            .expect("entries");
        let want: Vec<Vec<u8>> = expected.iter().map(|&n| row(n).entry).collect();
        assert_eq!(
            entries.iter().map(|(_, e)| e.clone()).collect::<Vec<_>>(),
            want
        );
        let leaves: Vec<_> = want.iter().map(|e| leaf_hash(e)).collect();
        let mut frontier = Frontier::empty();
        let mut completed = Vec::new();
        for (i, leaf) in leaves.iter().enumerate() {
            assert_eq!(entries[i].0, i as i64, "gapless");
            frontier.push(*leaf, &mut completed);
        }
        assert_eq!(stored.size, frontier.size());
        assert_eq!(stored.root, frontier.root());
        let ids: Vec<NodeId> = completed.iter().map(|(id, _)| *id).collect();
        let mut found = read_nodes(conn, &ids).expect("nodes");
        found.sort_unstable_by_key(|(id, _)| *id);
        completed.sort_unstable_by_key(|(id, _)| *id);
        assert_eq!(found, completed);
        let size = stored.size;
        for index in 0..size {
            let plan = tree::inclusion_plan(index, size).expect("plan");
            let nodes = read_nodes(conn, &plan).expect("nodes");
            let proof = tree::inclusion_proof(index, size, |id| {
                nodes.iter().find(|(n, _)| *n == id).map(|(_, h)| *h)
            })
            .expect("proof");
            tree::verify_inclusion(&leaves[index as usize], index, size, &proof, &stored.root)
                .expect("verifies");
        }
    }

    /// The stored postings cover every key of every entry below `indexed_size`, and no more.
    fn assert_postings_cover(conn: &Connection) -> u64 {
        let indexed = indexed_size(conn).expect("indexed size");
        let entries = read_rows(
            conn,
            &format!("SELECT leaf_index, {ROW_COLUMNS} FROM audit_entries WHERE leaf_index < ?1"),
            to_i64(indexed).expect("size"),
        )
        .expect("entries");
        let postings: Vec<(i64, String, i64, i64)> = conn
            .prepare("SELECT field, value, first_leaf, last_leaf FROM audit_postings")
            .and_then(|mut s| {
                s.query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)))?
                    .collect()
            })
            .expect("postings");
        for (leaf, row) in &entries {
            for (field, value) in search::keys(row) {
                assert!(
                    postings.iter().any(|(f, v, first, last)| *f == field as i64
                        && v == value
                        && first <= leaf
                        && leaf <= last),
                    "leaf {leaf} has no posting for {value}"
                );
            }
        }
        assert!(
            postings
                .iter()
                .all(|p| p.3 < to_i64(indexed).expect("size"))
        );
        indexed
    }

    #[test]
    fn postings_go_out_in_batches_and_a_new_writer_notes_the_entries_they_do_not_cover() {
        let (_dir, path) = database();
        let conn = Connection::open(&path).expect("open");
        for t in 0..30 {
            transaction(&conn, t * 10..t * 10 + 10, true);
        }
        assert_eq!(
            assert_postings_cover(&conn),
            260,
            "the first batch went out at 260"
        );
        // A writer that starts afresh (a restart) picks up the keys of leaves 260..300.
        let other = path.clone();
        std::thread::spawn(move || {
            let conn = Connection::open(&other).expect("open");
            for t in 30..60 {
                transaction(&conn, t * 10..t * 10 + 10, true);
            }
        })
        .join()
        .expect("new writer");
        assert_eq!(assert_postings_cover(&conn), 520);
        assert_consistent(&conn, &(0..600).collect::<Vec<_>>());
    }

    #[test]
    fn entries_get_the_next_leaves_as_they_commit_and_a_rollback_gives_theirs_back() {
        let (_dir, path) = database();
        let conn = Connection::open(&path).expect("open");
        transaction(&conn, 0..19, true);
        transaction(&conn, 100..105, false);
        transaction(&conn, 19..40, true);
        assert_consistent(&conn, &(0..40).collect::<Vec<_>>());
    }

    #[test]
    fn another_writer_on_the_same_file_is_noticed() {
        let (_dir, path) = database();
        let conn = Connection::open(&path).expect("open");
        transaction(&conn, 0..5, true);
        // A second process (here a thread, with its own tail) appends in between.
        let other = path.clone();
        std::thread::spawn(move || {
            let conn = Connection::open(&other).expect("open");
            transaction(&conn, 5..23, true);
        })
        .join()
        .expect("other writer");
        transaction(&conn, 23..300, true);
        assert_consistent(&conn, &(0..300).collect::<Vec<_>>());
        assert_eq!(assert_postings_cover(&conn), 300);
    }
}
