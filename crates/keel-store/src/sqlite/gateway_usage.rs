//! SQL for the AI gateway's usage ledger on SQLite: rows added to in one write, and grouped
//! sums read back.

use keel_core::Result;
use keel_gateway::{UsageCounts, UsageKey, UsageQuery, UsageRow};
use rusqlite::{Connection, params};

use super::db_err;
use crate::gateway_rows::{USAGE_UPSERT_TAIL, usage_query_sql};

pub(super) fn add_usage(c: &Connection, rows: &[(UsageKey, UsageCounts)]) -> Result<()> {
    let mut stmt = c
        .prepare_cached(&format!(
            "INSERT INTO gateway_usage (workspace, day, endpoint_id, provider, model, username, \
             calls, failures, cache_hits, input_tokens, output_tokens, cost_nanos) \
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12) {USAGE_UPSERT_TAIL}"
        ))
        .map_err(db_err)?;
    for (k, n) in rows {
        stmt.execute(params![
            k.workspace,
            k.day,
            k.endpoint_id,
            k.provider,
            k.model,
            k.username,
            n.calls,
            n.failures,
            n.cache_hits,
            n.input_tokens,
            n.output_tokens,
            n.cost_nanos,
        ])
        .map_err(db_err)?;
    }
    Ok(())
}

pub(super) fn query_usage(c: &Connection, q: &UsageQuery, limit: usize) -> Result<Vec<UsageRow>> {
    let sql = usage_query_sql(q.group_by, limit, |n| format!("?{n}"));
    let rows: Vec<UsageRow> = c
        .prepare_cached(&sql)
        .and_then(|mut stmt| {
            stmt.query_map(
                params![q.workspace, q.from_day, q.to_day, q.endpoint_id, q.username],
                |r| {
                    Ok(UsageRow {
                        day: r.get(0)?,
                        endpoint_id: r.get(1)?,
                        endpoint_name: r.get(2)?,
                        provider: r.get(3)?,
                        model: r.get(4)?,
                        username: r.get(5)?,
                        counts: UsageCounts {
                            calls: r.get(6)?,
                            failures: r.get(7)?,
                            cache_hits: r.get(8)?,
                            input_tokens: r.get(9)?,
                            output_tokens: r.get(10)?,
                            cost_nanos: r.get(11)?,
                        },
                    })
                },
            )?
            .collect()
        })
        .map_err(db_err)?;
    Ok(rows.into_iter().filter(|r| r.counts.calls > 0).collect())
}
