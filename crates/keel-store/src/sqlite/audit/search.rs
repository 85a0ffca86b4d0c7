//! Searching the SQLite audit log. Entries are found by actor, action or resource through
//! postings (`audit_postings`): one row per key and batch of entries, naming the leaf range of
//! that batch's entries with the key, written once per batch instead of an index row per entry
//! (see [`super::tail`]). A search reads the newest entries, which no posting covers yet,
//! directly, then walks the postings of its most selective key, newest first, and reads each
//! range with every criterion applied exactly; without a key it reads the entries themselves
//! (by time through their time index).

use keel_core::audit::{AuditQuery, AuditRow, LoggedEntry};
use keel_core::entities::Page;
use keel_core::{Result, paging};
use rusqlite::Connection;
use rusqlite::types::Value;

use super::{ENTRY_COLUMNS, entry_row, indexed_size, to_i64};
use crate::sqlite::db_err;

/// What a posting indexes, as stored in `audit_postings.field`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(super) enum Field {
    Actor = 1,
    Action = 2,
    ResourceKind = 3,
    ResourceId = 4,
}

/// The search keys of an entry (an entry without a resource ID has none of that field).
pub(super) fn keys(row: &AuditRow) -> impl Iterator<Item = (Field, &str)> {
    [
        (Field::Actor, row.actor.as_str()),
        (Field::Action, row.action.as_str()),
        (Field::ResourceKind, row.resource_kind.as_str()),
        (Field::ResourceId, row.resource_id.as_str()),
    ]
    .into_iter()
    .filter(|(field, value)| *field != Field::ResourceId || !value.is_empty())
}

/// The key a search walks the postings of: the most selective one it gives.
fn posting_key(q: &AuditQuery) -> Option<(Field, &str)> {
    [
        (Field::ResourceId, &q.resource_id),
        (Field::Actor, &q.actor),
        (Field::Action, &q.action),
        (Field::ResourceKind, &q.resource_kind),
    ]
    .into_iter()
    .find_map(|(field, v)| v.as_deref().map(|v| (field, v)))
}

/// Entries matching `q`, newest first, with the next page's token.
pub(super) fn search(conn: &Connection, q: &AuditQuery) -> Result<Page<LoggedEntry>> {
    let limit = q.max_results.max(1);
    let (filter, values) = filter(q);
    let mut rows = match posting_key(q) {
        None => read(conn, &select(&filter, false), &values, None, limit + 1)?,
        Some((field, value)) => {
            let sql = select(&filter, true);
            let before = q.before_seq.unwrap_or(i64::MAX);
            // Postings reach up to `indexed`; the entries from there on are read directly.
            let indexed = to_i64(indexed_size(conn)?)?;
            let mut found = if before > indexed {
                read(conn, &sql, &values, Some((indexed, i64::MAX)), limit + 1)?
            } else {
                Vec::new()
            };
            let mut cursor = before.min(indexed);
            'pages: while found.len() <= limit {
                let page = postings(conn, field, value, cursor)?;
                for &(first, last) in &page {
                    let want = limit + 1 - found.len();
                    found.extend(read(conn, &sql, &values, Some((first, last)), want)?);
                    if found.len() > limit {
                        break 'pages;
                    }
                }
                match page.last() {
                    Some(&(first, _)) if page.len() == POSTINGS_PAGE => cursor = first,
                    _ => break,
                }
            }
            found
        }
    };
    let next_page_token = if rows.len() > limit {
        rows.truncate(limit);
        rows.last().map(|e| paging::encode(e.seq))
    } else {
        None
    };
    Ok(Page {
        items: rows,
        next_page_token,
    })
}

/// Every criterion of `q` as SQL over `audit_entries`, with its values.
fn filter(q: &AuditQuery) -> (String, Vec<Value>) {
    let mut clauses: Vec<&str> = Vec::new();
    let mut values: Vec<Value> = Vec::new();
    for (clause, v) in [
        ("actor = ?", &q.actor),
        ("action = ?", &q.action),
        ("resource_kind = ?", &q.resource_kind),
        ("resource_id = ?", &q.resource_id),
    ] {
        if let Some(v) = v {
            clauses.push(clause);
            values.push(v.clone().into());
        }
    }
    if let Some(o) = q.outcome {
        clauses.push("outcome = ?");
        values.push(o.as_str().to_owned().into());
    }
    for (clause, v) in [
        ("time_ms >= ?", q.since_ms),
        ("time_ms < ?", q.until_ms),
        ("leaf_index < ?", q.before_seq),
    ] {
        if let Some(v) = v {
            clauses.push(clause);
            values.push(v.into());
        }
    }
    (clauses.join(" AND "), values)
}

/// The statement reading entries that match `filter`, newest first: within a leaf range
/// (its first and last leaf are the parameters after the filter's) when `ranged`, then a limit.
fn select(filter: &str, ranged: bool) -> String {
    let range = if ranged {
        "leaf_index BETWEEN ? AND ?"
    } else {
        ""
    };
    let clauses: Vec<&str> = [filter, range]
        .into_iter()
        .filter(|c| !c.is_empty())
        .collect();
    let filter = if clauses.is_empty() {
        String::new()
    } else {
        format!("WHERE {}", clauses.join(" AND "))
    };
    format!("SELECT {ENTRY_COLUMNS} FROM audit_entries {filter} ORDER BY leaf_index DESC LIMIT ?")
}

/// Up to `max` entries read by `sql` (from [`select`]) with the filter's `values`.
fn read(
    conn: &Connection,
    sql: &str,
    values: &[Value],
    range: Option<(i64, i64)>,
    max: usize,
) -> Result<Vec<LoggedEntry>> {
    let range = range
        .into_iter()
        .flat_map(|(first, last)| [Value::from(first), Value::from(last)]);
    let limit = Value::from(i64::try_from(max).unwrap_or(i64::MAX));
    let params = values.iter().cloned().chain(range).chain([limit]);
    conn.prepare_cached(sql)
        .and_then(|mut s| {
            s.query_map(rusqlite::params_from_iter(params), entry_row)?
                .collect()
        })
        .map_err(db_err)
}

/// Postings read at a time.
const POSTINGS_PAGE: usize = 256;

/// Up to [`POSTINGS_PAGE`] leaf ranges that hold entries of `field = value`, newest first,
/// starting below `before`.
fn postings(conn: &Connection, field: Field, value: &str, before: i64) -> Result<Vec<(i64, i64)>> {
    conn.prepare_cached(
        "SELECT first_leaf, last_leaf FROM audit_postings
         WHERE field = ?1 AND value = ?2 AND first_leaf < ?3 ORDER BY first_leaf DESC LIMIT ?4",
    )
    .and_then(|mut s| {
        s.query_map(
            rusqlite::params![field as i64, value, before, POSTINGS_PAGE as i64],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )?
        .collect()
    })
    .map_err(db_err)
}
