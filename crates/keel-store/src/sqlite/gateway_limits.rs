//! SQL for the AI gateway's budget policies and the counters calls are held to, on SQLite.
//! The writer is single, so a reservation's checks and its writes see the same counters; it
//! checks every counter before it writes any.

use keel_core::Result;
use keel_gateway::{BudgetPolicy, Counter, Crossed, RateLimit, Reserved, Settlement};
use rusqlite::{Connection, OptionalExtension, params};

use super::db_err;
use crate::gateway_rows::{POLICY_COLUMNS, PolicyRow, RATE_COLUMNS, RateRow, counter_pattern};

fn policy_from_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<PolicyRow> {
    Ok(PolicyRow {
        budget_policy_id: r.get(0)?,
        workspace: r.get(1)?,
        budget_amount: r.get(2)?,
        duration_unit: r.get(3)?,
        duration_value: r.get(4)?,
        target_scope: r.get(5)?,
        target_value: r.get(6)?,
        budget_action: r.get(7)?,
        created_by: r.get(8)?,
        created_at: r.get(9)?,
        last_updated_by: r.get(10)?,
        last_updated_at: r.get(11)?,
    })
}

fn policies(c: &Connection, sql: &str, args: impl rusqlite::Params) -> Result<Vec<BudgetPolicy>> {
    let rows: Vec<PolicyRow> = c
        .prepare_cached(sql)
        .and_then(|mut stmt| stmt.query_map(args, policy_from_row)?.collect())
        .map_err(db_err)?;
    rows.into_iter().map(PolicyRow::into_policy).collect()
}

pub(super) fn insert_policy(c: &Connection, p: &BudgetPolicy) -> Result<()> {
    c.prepare_cached(&format!(
        "INSERT INTO gateway_budget_policies ({POLICY_COLUMNS}, budget_unit) \
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, 'USD')"
    ))
    .and_then(|mut stmt| {
        stmt.execute(params![
            p.budget_policy_id,
            p.workspace,
            p.budget_amount,
            p.duration.unit.as_str(),
            p.duration.value,
            p.target_scope.as_str(),
            p.target_value,
            p.budget_action.as_str(),
            p.created_by,
            p.created_at,
            p.last_updated_by,
            p.last_updated_at,
        ])
    })
    .map(|_| ())
    .map_err(db_err)
}

pub(super) fn get_policy(
    c: &Connection,
    workspace: &str,
    id: &str,
) -> Result<Option<BudgetPolicy>> {
    Ok(policies(
        c,
        &format!(
            "SELECT {POLICY_COLUMNS} FROM gateway_budget_policies \
             WHERE budget_policy_id = ?1 AND workspace = ?2"
        ),
        params![id, workspace],
    )?
    .pop())
}

pub(super) fn list_policies(
    c: &Connection,
    workspace: &str,
    offset: i64,
    limit: i64,
) -> Result<Vec<BudgetPolicy>> {
    policies(
        c,
        &format!(
            "SELECT {POLICY_COLUMNS} FROM gateway_budget_policies WHERE workspace = ?1 \
             ORDER BY budget_policy_id LIMIT ?2 OFFSET ?3"
        ),
        params![workspace, limit, offset],
    )
}

pub(super) fn all_policies(c: &Connection) -> Result<Vec<BudgetPolicy>> {
    policies(
        c,
        &format!("SELECT {POLICY_COLUMNS} FROM gateway_budget_policies ORDER BY budget_policy_id"),
        [],
    )
}

pub(super) fn update_policy(c: &Connection, p: &BudgetPolicy) -> Result<bool> {
    c.prepare_cached(
        "UPDATE gateway_budget_policies SET budget_amount = ?3, duration_unit = ?4, \
         duration_value = ?5, target_scope = ?6, target_value = ?7, budget_action = ?8, \
         last_updated_by = ?9, last_updated_at = ?10 \
         WHERE budget_policy_id = ?1 AND workspace = ?2",
    )
    .and_then(|mut stmt| {
        stmt.execute(params![
            p.budget_policy_id,
            p.workspace,
            p.budget_amount,
            p.duration.unit.as_str(),
            p.duration.value,
            p.target_scope.as_str(),
            p.target_value,
            p.budget_action.as_str(),
            p.last_updated_by,
            p.last_updated_at,
        ])
    })
    .map(|n| n == 1)
    .map_err(db_err)
}

pub(super) fn delete_policy(c: &Connection, workspace: &str, id: &str) -> Result<bool> {
    let deleted = c
        .prepare_cached(
            "DELETE FROM gateway_budget_policies WHERE budget_policy_id = ?1 AND workspace = ?2",
        )
        .and_then(|mut stmt| stmt.execute(params![id, workspace]))
        .map_err(db_err)?;
    if deleted == 0 {
        return Ok(false);
    }
    delete_counters(c, id)?;
    Ok(true)
}

/// Deletes the counters and holds of the policy or rate limit `id`.
fn delete_counters(c: &Connection, id: &str) -> Result<()> {
    for table in ["gateway_limit_counters", "gateway_limit_holds"] {
        c.prepare_cached(&format!(
            "DELETE FROM {table} WHERE counter = ?1 OR counter LIKE ?2"
        ))
        .and_then(|mut stmt| stmt.execute(params![id, counter_pattern(id)]))
        .map_err(db_err)?;
    }
    Ok(())
}

fn rate_from_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<RateRow> {
    Ok(RateRow {
        rate_limit_id: r.get(0)?,
        workspace: r.get(1)?,
        target_scope: r.get(2)?,
        target_value: r.get(3)?,
        requests_per_minute: r.get(4)?,
        tokens_per_minute: r.get(5)?,
        created_by: r.get(6)?,
        created_at: r.get(7)?,
        last_updated_by: r.get(8)?,
        last_updated_at: r.get(9)?,
    })
}

fn rate_limits(c: &Connection, sql: &str, args: impl rusqlite::Params) -> Result<Vec<RateLimit>> {
    let rows: Vec<RateRow> = c
        .prepare_cached(sql)
        .and_then(|mut stmt| stmt.query_map(args, rate_from_row)?.collect())
        .map_err(db_err)?;
    rows.into_iter().map(RateRow::into_limit).collect()
}

pub(super) fn insert_rate_limit(c: &Connection, l: &RateLimit) -> Result<()> {
    c.prepare_cached(&format!(
        "INSERT INTO gateway_rate_limits ({RATE_COLUMNS}) \
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)"
    ))
    .and_then(|mut stmt| {
        stmt.execute(params![
            l.rate_limit_id,
            l.workspace,
            l.target_scope.as_str(),
            l.target_value,
            l.requests_per_minute,
            l.tokens_per_minute,
            l.created_by,
            l.created_at,
            l.last_updated_by,
            l.last_updated_at,
        ])
    })
    .map(|_| ())
    .map_err(db_err)
}

pub(super) fn get_rate_limit(
    c: &Connection,
    workspace: &str,
    id: &str,
) -> Result<Option<RateLimit>> {
    Ok(rate_limits(
        c,
        &format!(
            "SELECT {RATE_COLUMNS} FROM gateway_rate_limits \
             WHERE rate_limit_id = ?1 AND workspace = ?2"
        ),
        params![id, workspace],
    )?
    .pop())
}

/// The rate limits of `workspace` (all of them with `None`), by ID.
pub(super) fn list_rate_limits(
    c: &Connection,
    workspace: Option<&str>,
    offset: i64,
    limit: i64,
) -> Result<Vec<RateLimit>> {
    rate_limits(
        c,
        &format!(
            "SELECT {RATE_COLUMNS} FROM gateway_rate_limits WHERE (?1 IS NULL OR workspace = ?1) \
             ORDER BY rate_limit_id LIMIT ?2 OFFSET ?3"
        ),
        params![workspace, limit, offset],
    )
}

pub(super) fn update_rate_limit(c: &Connection, l: &RateLimit) -> Result<bool> {
    c.prepare_cached(
        "UPDATE gateway_rate_limits SET target_scope = ?3, target_value = ?4, \
         requests_per_minute = ?5, tokens_per_minute = ?6, last_updated_by = ?7, \
         last_updated_at = ?8 WHERE rate_limit_id = ?1 AND workspace = ?2",
    )
    .and_then(|mut stmt| {
        stmt.execute(params![
            l.rate_limit_id,
            l.workspace,
            l.target_scope.as_str(),
            l.target_value,
            l.requests_per_minute,
            l.tokens_per_minute,
            l.last_updated_by,
            l.last_updated_at,
        ])
    })
    .map(|n| n == 1)
    .map_err(db_err)
}

pub(super) fn delete_rate_limit(c: &Connection, workspace: &str, id: &str) -> Result<bool> {
    let deleted = c
        .prepare_cached(
            "DELETE FROM gateway_rate_limits WHERE rate_limit_id = ?1 AND workspace = ?2",
        )
        .and_then(|mut stmt| stmt.execute(params![id, workspace]))
        .map_err(db_err)?;
    if deleted == 0 {
        return Ok(false);
    }
    delete_counters(c, id)?;
    Ok(true)
}

/// A counter's settled use and holds (`(0, 0)` for one never used).
fn usage(c: &Connection, counter: &str, window_start_ms: i64) -> Result<(i64, i64)> {
    c.prepare_cached(
        "SELECT used, held FROM gateway_limit_counters WHERE counter = ?1 AND window_start_ms = ?2",
    )
    .and_then(|mut stmt| {
        stmt.query_row(params![counter, window_start_ms], |r| {
            Ok((r.get(0)?, r.get(1)?))
        })
        .optional()
    })
    .map(Option::unwrap_or_default)
    .map_err(db_err)
}

pub(super) fn reserve(
    c: &Connection,
    hold_id: &str,
    counters: &[Counter],
    expires_at_ms: i64,
) -> Result<Reserved> {
    for (i, counter) in counters.iter().enumerate() {
        if !counter.reject {
            continue;
        }
        let (used, held) = usage(c, &counter.key, counter.window.start_ms)?;
        if !keel_gateway::limits::fits(used, held, counter.held, counter.limit) {
            return Ok(Reserved::Refused(i));
        }
    }
    for counter in counters {
        c.prepare_cached(
            "INSERT INTO gateway_limit_counters (counter, window_start_ms, window_end_ms, held) \
             VALUES (?1, ?2, ?3, ?4) \
             ON CONFLICT DO UPDATE SET held = held + excluded.held",
        )
        .and_then(|mut stmt| {
            stmt.execute(params![
                counter.key,
                counter.window.start_ms,
                counter.window.end_ms,
                counter.held
            ])
        })
        .map_err(db_err)?;
        if counter.held > 0 {
            c.prepare_cached(
                "INSERT INTO gateway_limit_holds (hold_id, counter, window_start_ms, amount, \
                 expires_at) VALUES (?1, ?2, ?3, ?4, ?5)",
            )
            .and_then(|mut stmt| {
                stmt.execute(params![
                    hold_id,
                    counter.key,
                    counter.window.start_ms,
                    counter.held,
                    expires_at_ms
                ])
            })
            .map_err(db_err)?;
        }
    }
    Ok(Reserved::Admitted)
}

pub(super) fn settle(
    c: &Connection,
    hold_id: &str,
    settlements: &[Settlement],
) -> Result<Vec<Crossed>> {
    let mut crossed = Vec::new();
    for s in settlements {
        let released: i64 = c
            .prepare_cached(
                "DELETE FROM gateway_limit_holds WHERE hold_id = ?1 AND counter = ?2 \
                 RETURNING amount",
            )
            .and_then(|mut stmt| {
                stmt.query_row(params![hold_id, s.key], |r| r.get(0))
                    .optional()
            })
            .map_err(db_err)?
            .unwrap_or(0);
        c.prepare_cached(
            "UPDATE gateway_limit_counters SET used = used + ?3, held = MAX(held - ?4, 0) \
             WHERE counter = ?1 AND window_start_ms = ?2",
        )
        .and_then(|mut stmt| stmt.execute(params![s.key, s.window_start_ms, s.used, released]))
        .map_err(db_err)?;
        if s.used > 0 {
            let reached: Option<i64> = c
                .prepare_cached(
                    "UPDATE gateway_limit_counters SET reached = 1 WHERE counter = ?1 \
                     AND window_start_ms = ?2 AND reached = 0 AND used >= ?3 RETURNING used",
                )
                .and_then(|mut stmt| {
                    stmt.query_row(params![s.key, s.window_start_ms, s.limit], |r| r.get(0))
                        .optional()
                })
                .map_err(db_err)?;
            if let Some(used) = reached {
                crossed.push(Crossed {
                    key: s.key.clone(),
                    window_start_ms: s.window_start_ms,
                    used,
                });
            }
        }
    }
    Ok(crossed)
}

pub(super) fn limit_usage(c: &Connection, counters: &[(String, i64)]) -> Result<Vec<(i64, i64)>> {
    counters
        .iter()
        .map(|(key, start)| usage(c, key, *start))
        .collect()
}

pub(super) fn sweep(c: &Connection, now_ms: i64, ended_before_ms: i64) -> Result<u64> {
    let expired: Vec<(String, i64, i64)> = c
        .prepare_cached(
            "DELETE FROM gateway_limit_holds WHERE expires_at <= ?1 \
             RETURNING counter, window_start_ms, amount",
        )
        .and_then(|mut stmt| {
            stmt.query_map(params![now_ms], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?
                .collect()
        })
        .map_err(db_err)?;
    for (counter, start, amount) in &expired {
        c.prepare_cached(
            "UPDATE gateway_limit_counters SET held = MAX(held - ?3, 0) \
             WHERE counter = ?1 AND window_start_ms = ?2",
        )
        .and_then(|mut stmt| stmt.execute(params![counter, start, amount]))
        .map_err(db_err)?;
    }
    c.prepare_cached("DELETE FROM gateway_limit_counters WHERE window_end_ms < ?1 AND held = 0")
        .and_then(|mut stmt| stmt.execute(params![ended_before_ms]))
        .map_err(db_err)?;
    Ok(expired.len() as u64)
}
