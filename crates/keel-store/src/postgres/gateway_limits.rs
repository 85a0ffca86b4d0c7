//! SQL for the AI gateway's budget policies and the counters calls are held to, on
//! PostgreSQL. A reservation locks its counters' rows (`FOR UPDATE`, in key order, so two
//! reservations never wait on each other in a cycle) before it checks them: replicas sharing
//! the database admit calls one counter row at a time, and none passes a limit.

use keel_gateway::{BudgetPolicy, Counter, Crossed, RateLimit, Reserved, Settlement};
use sqlx::postgres::PgRow;
use sqlx::{PgConnection, Row};

use super::error::{Failure, PgResult};
use crate::gateway_rows::{POLICY_COLUMNS, PolicyRow, RATE_COLUMNS, RateRow, counter_pattern};

fn policy_from_row(r: &PgRow) -> PgResult<BudgetPolicy> {
    let row = PolicyRow {
        budget_policy_id: r.try_get(0)?,
        workspace: r.try_get(1)?,
        budget_amount: r.try_get(2)?,
        duration_unit: r.try_get(3)?,
        duration_value: r.try_get(4)?,
        target_scope: r.try_get(5)?,
        target_value: r.try_get(6)?,
        budget_action: r.try_get(7)?,
        created_by: r.try_get(8)?,
        created_at: r.try_get(9)?,
        last_updated_by: r.try_get(10)?,
        last_updated_at: r.try_get(11)?,
    };
    row.into_policy().map_err(Failure::from)
}

pub(super) async fn insert_policy(c: &mut PgConnection, p: &BudgetPolicy) -> PgResult<()> {
    sqlx::query(&format!(
        "INSERT INTO gateway_budget_policies ({POLICY_COLUMNS}, budget_unit) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, 'USD')"
    ))
    .bind(&p.budget_policy_id)
    .bind(&p.workspace)
    .bind(p.budget_amount)
    .bind(p.duration.unit.as_str())
    .bind(i64::from(p.duration.value))
    .bind(p.target_scope.as_str())
    .bind(p.target_value.as_deref())
    .bind(p.budget_action.as_str())
    .bind(p.created_by.as_deref())
    .bind(p.created_at)
    .bind(p.last_updated_by.as_deref())
    .bind(p.last_updated_at)
    .execute(&mut *c)
    .await?;
    Ok(())
}

pub(super) async fn get_policy(
    c: &mut PgConnection,
    workspace: &str,
    id: &str,
) -> PgResult<Option<BudgetPolicy>> {
    sqlx::query(&format!(
        "SELECT {POLICY_COLUMNS} FROM gateway_budget_policies \
         WHERE budget_policy_id = $1 AND workspace = $2"
    ))
    .bind(id)
    .bind(workspace)
    .fetch_optional(&mut *c)
    .await?
    .as_ref()
    .map(policy_from_row)
    .transpose()
}

pub(super) async fn list_policies(
    c: &mut PgConnection,
    workspace: Option<&str>,
    offset: i64,
    limit: i64,
) -> PgResult<Vec<BudgetPolicy>> {
    sqlx::query(&format!(
        "SELECT {POLICY_COLUMNS} FROM gateway_budget_policies \
         WHERE ($1::text IS NULL OR workspace = $1) \
         ORDER BY budget_policy_id LIMIT $2 OFFSET $3"
    ))
    .bind(workspace)
    .bind(limit)
    .bind(offset)
    .fetch_all(&mut *c)
    .await?
    .iter()
    .map(policy_from_row)
    .collect()
}

pub(super) async fn update_policy(c: &mut PgConnection, p: &BudgetPolicy) -> PgResult<bool> {
    let done = sqlx::query(
        "UPDATE gateway_budget_policies SET budget_amount = $3, duration_unit = $4, \
         duration_value = $5, target_scope = $6, target_value = $7, budget_action = $8, \
         last_updated_by = $9, last_updated_at = $10 \
         WHERE budget_policy_id = $1 AND workspace = $2",
    )
    .bind(&p.budget_policy_id)
    .bind(&p.workspace)
    .bind(p.budget_amount)
    .bind(p.duration.unit.as_str())
    .bind(i64::from(p.duration.value))
    .bind(p.target_scope.as_str())
    .bind(p.target_value.as_deref())
    .bind(p.budget_action.as_str())
    .bind(p.last_updated_by.as_deref())
    .bind(p.last_updated_at)
    .execute(&mut *c)
    .await?;
    Ok(done.rows_affected() == 1)
}

pub(super) async fn delete_policy(
    c: &mut PgConnection,
    workspace: &str,
    id: &str,
) -> PgResult<bool> {
    let deleted = sqlx::query(
        "DELETE FROM gateway_budget_policies WHERE budget_policy_id = $1 AND workspace = $2",
    )
    .bind(id)
    .bind(workspace)
    .execute(&mut *c)
    .await?
    .rows_affected();
    if deleted == 0 {
        return Ok(false);
    }
    delete_counters(c, id).await?;
    Ok(true)
}

/// Deletes the counters and holds of the policy or rate limit `id`.
async fn delete_counters(c: &mut PgConnection, id: &str) -> PgResult<()> {
    for table in ["gateway_limit_counters", "gateway_limit_holds"] {
        sqlx::query(&format!(
            "DELETE FROM {table} WHERE counter = $1 OR counter LIKE $2"
        ))
        .bind(id)
        .bind(counter_pattern(id))
        .execute(&mut *c)
        .await?;
    }
    Ok(())
}

fn rate_from_row(r: &PgRow) -> PgResult<RateLimit> {
    let row = RateRow {
        rate_limit_id: r.try_get(0)?,
        workspace: r.try_get(1)?,
        target_scope: r.try_get(2)?,
        target_value: r.try_get(3)?,
        requests_per_minute: r.try_get(4)?,
        tokens_per_minute: r.try_get(5)?,
        created_by: r.try_get(6)?,
        created_at: r.try_get(7)?,
        last_updated_by: r.try_get(8)?,
        last_updated_at: r.try_get(9)?,
    };
    row.into_limit().map_err(Failure::from)
}

pub(super) async fn insert_rate_limit(c: &mut PgConnection, l: &RateLimit) -> PgResult<()> {
    sqlx::query(&format!(
        "INSERT INTO gateway_rate_limits ({RATE_COLUMNS}) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)"
    ))
    .bind(&l.rate_limit_id)
    .bind(&l.workspace)
    .bind(l.target_scope.as_str())
    .bind(l.target_value.as_deref())
    .bind(l.requests_per_minute)
    .bind(l.tokens_per_minute)
    .bind(l.created_by.as_deref())
    .bind(l.created_at)
    .bind(l.last_updated_by.as_deref())
    .bind(l.last_updated_at)
    .execute(&mut *c)
    .await?;
    Ok(())
}

pub(super) async fn get_rate_limit(
    c: &mut PgConnection,
    workspace: &str,
    id: &str,
) -> PgResult<Option<RateLimit>> {
    sqlx::query(&format!(
        "SELECT {RATE_COLUMNS} FROM gateway_rate_limits WHERE rate_limit_id = $1 AND workspace = $2"
    ))
    .bind(id)
    .bind(workspace)
    .fetch_optional(&mut *c)
    .await?
    .as_ref()
    .map(rate_from_row)
    .transpose()
}

/// The rate limits of `workspace` (all of them with `None`), by ID.
pub(super) async fn list_rate_limits(
    c: &mut PgConnection,
    workspace: Option<&str>,
    offset: i64,
    limit: i64,
) -> PgResult<Vec<RateLimit>> {
    sqlx::query(&format!(
        "SELECT {RATE_COLUMNS} FROM gateway_rate_limits \
         WHERE ($1::text IS NULL OR workspace = $1) ORDER BY rate_limit_id LIMIT $2 OFFSET $3"
    ))
    .bind(workspace)
    .bind(limit)
    .bind(offset)
    .fetch_all(&mut *c)
    .await?
    .iter()
    .map(rate_from_row)
    .collect()
}

pub(super) async fn update_rate_limit(c: &mut PgConnection, l: &RateLimit) -> PgResult<bool> {
    let done = sqlx::query(
        "UPDATE gateway_rate_limits SET target_scope = $3, target_value = $4, \
         requests_per_minute = $5, tokens_per_minute = $6, last_updated_by = $7, \
         last_updated_at = $8 WHERE rate_limit_id = $1 AND workspace = $2",
    )
    .bind(&l.rate_limit_id)
    .bind(&l.workspace)
    .bind(l.target_scope.as_str())
    .bind(l.target_value.as_deref())
    .bind(l.requests_per_minute)
    .bind(l.tokens_per_minute)
    .bind(l.last_updated_by.as_deref())
    .bind(l.last_updated_at)
    .execute(&mut *c)
    .await?;
    Ok(done.rows_affected() == 1)
}

pub(super) async fn delete_rate_limit(
    c: &mut PgConnection,
    workspace: &str,
    id: &str,
) -> PgResult<bool> {
    let deleted =
        sqlx::query("DELETE FROM gateway_rate_limits WHERE rate_limit_id = $1 AND workspace = $2")
            .bind(id)
            .bind(workspace)
            .execute(&mut *c)
            .await?
            .rows_affected();
    if deleted == 0 {
        return Ok(false);
    }
    delete_counters(c, id).await?;
    Ok(true)
}

pub(super) async fn reserve(
    c: &mut PgConnection,
    hold_id: &str,
    counters: &[Counter],
    expires_at_ms: i64,
) -> PgResult<Reserved> {
    // Rows are created and locked in key order, whatever order the call lists them in.
    let mut order: Vec<usize> = (0..counters.len()).collect();
    order.sort_by(|a, b| {
        (&counters[*a].key, counters[*a].window.start_ms)
            .cmp(&(&counters[*b].key, counters[*b].window.start_ms))
    });
    let mut usage = vec![(0i64, 0i64); counters.len()];
    for &i in &order {
        let counter = &counters[i];
        sqlx::query(
            "INSERT INTO gateway_limit_counters (counter, window_start_ms, window_end_ms) \
             VALUES ($1, $2, $3) ON CONFLICT DO NOTHING",
        )
        .bind(&counter.key)
        .bind(counter.window.start_ms)
        .bind(counter.window.end_ms)
        .execute(&mut *c)
        .await?;
        let row = sqlx::query(
            "SELECT used, held FROM gateway_limit_counters \
             WHERE counter = $1 AND window_start_ms = $2 FOR UPDATE",
        )
        .bind(&counter.key)
        .bind(counter.window.start_ms)
        .fetch_one(&mut *c)
        .await?;
        usage[i] = (row.try_get(0)?, row.try_get(1)?);
    }
    for (i, counter) in counters.iter().enumerate() {
        let (used, held) = usage[i];
        if counter.reject && !keel_gateway::limits::fits(used, held, counter.held, counter.limit) {
            return Ok(Reserved::Refused(i));
        }
    }
    for &i in &order {
        let counter = &counters[i];
        if counter.held == 0 {
            continue;
        }
        sqlx::query(
            "UPDATE gateway_limit_counters SET held = held + $3 \
             WHERE counter = $1 AND window_start_ms = $2",
        )
        .bind(&counter.key)
        .bind(counter.window.start_ms)
        .bind(counter.held)
        .execute(&mut *c)
        .await?;
        sqlx::query(
            "INSERT INTO gateway_limit_holds (hold_id, counter, window_start_ms, amount, \
             expires_at) VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(hold_id)
        .bind(&counter.key)
        .bind(counter.window.start_ms)
        .bind(counter.held)
        .bind(expires_at_ms)
        .execute(&mut *c)
        .await?;
    }
    Ok(Reserved::Admitted)
}

pub(super) async fn settle(
    c: &mut PgConnection,
    hold_id: &str,
    settlements: &[Settlement],
) -> PgResult<Vec<Crossed>> {
    let mut order: Vec<&Settlement> = settlements.iter().collect();
    order.sort_by(|a, b| (&a.key, a.window_start_ms).cmp(&(&b.key, b.window_start_ms)));
    let mut crossed = Vec::new();
    for s in order {
        let released: i64 = sqlx::query_scalar(
            "DELETE FROM gateway_limit_holds WHERE hold_id = $1 AND counter = $2 \
             RETURNING amount",
        )
        .bind(hold_id)
        .bind(&s.key)
        .fetch_optional(&mut *c)
        .await?
        .unwrap_or(0);
        sqlx::query(
            "UPDATE gateway_limit_counters SET used = used + $3, held = GREATEST(held - $4, 0) \
             WHERE counter = $1 AND window_start_ms = $2",
        )
        .bind(&s.key)
        .bind(s.window_start_ms)
        .bind(s.used)
        .bind(released)
        .execute(&mut *c)
        .await?;
        if s.used == 0 {
            continue;
        }
        // The row is locked by the update above: one settlement sees the limit reached.
        let reached: Option<i64> = sqlx::query_scalar(
            "UPDATE gateway_limit_counters SET reached = TRUE WHERE counter = $1 \
             AND window_start_ms = $2 AND NOT reached AND used >= $3 RETURNING used",
        )
        .bind(&s.key)
        .bind(s.window_start_ms)
        .bind(s.limit)
        .fetch_optional(&mut *c)
        .await?;
        if let Some(used) = reached {
            crossed.push(Crossed {
                key: s.key.clone(),
                window_start_ms: s.window_start_ms,
                used,
            });
        }
    }
    Ok(crossed)
}

pub(super) async fn limit_usage(
    c: &mut PgConnection,
    counters: &[(String, i64)],
) -> PgResult<Vec<(i64, i64)>> {
    let mut out = Vec::with_capacity(counters.len());
    for (key, start) in counters {
        let row: Option<(i64, i64)> = sqlx::query_as(
            "SELECT used, held FROM gateway_limit_counters \
             WHERE counter = $1 AND window_start_ms = $2",
        )
        .bind(key)
        .bind(start)
        .fetch_optional(&mut *c)
        .await?;
        out.push(row.unwrap_or_default());
    }
    Ok(out)
}

pub(super) async fn sweep(
    c: &mut PgConnection,
    now_ms: i64,
    ended_before_ms: i64,
) -> PgResult<u64> {
    let released = sqlx::query(
        "WITH expired AS (DELETE FROM gateway_limit_holds WHERE expires_at <= $1 \
         RETURNING counter, window_start_ms, amount), \
         totals AS (SELECT counter, window_start_ms, SUM(amount)::bigint AS amount, \
         COUNT(*) AS holds FROM expired GROUP BY counter, window_start_ms), \
         released AS (UPDATE gateway_limit_counters l SET held = GREATEST(l.held - t.amount, 0) \
         FROM totals t WHERE l.counter = t.counter AND l.window_start_ms = t.window_start_ms) \
         SELECT COALESCE(SUM(holds), 0)::bigint FROM totals",
    )
    .bind(now_ms)
    .fetch_one(&mut *c)
    .await?
    .try_get::<i64, _>(0)?;
    sqlx::query("DELETE FROM gateway_limit_counters WHERE window_end_ms < $1 AND held = 0")
        .bind(ended_before_ms)
        .execute(&mut *c)
        .await?;
    Ok(u64::try_from(released).unwrap_or(0))
}
