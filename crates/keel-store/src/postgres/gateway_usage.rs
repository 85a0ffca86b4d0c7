//! SQL for the AI gateway's usage ledger on PostgreSQL: rows added to in one transaction (in
//! key order, so replicas' flushes never wait on each other in a cycle), and grouped sums read
//! back.

use keel_gateway::{UsageCounts, UsageKey, UsageQuery, UsageRow};
use sqlx::{PgConnection, Row};

use super::error::PgResult;
use crate::gateway_rows::{USAGE_UPSERT_TAIL, usage_query_sql};

pub(super) async fn add_usage(
    c: &mut PgConnection,
    rows: &[(UsageKey, UsageCounts)],
) -> PgResult<()> {
    let sql = format!(
        "INSERT INTO gateway_usage (workspace, day, endpoint_id, provider, model, username, \
         calls, failures, cache_hits, input_tokens, output_tokens, cost_nanos) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12) {USAGE_UPSERT_TAIL}"
    );
    for (k, n) in rows {
        sqlx::query(&sql)
            .bind(&k.workspace)
            .bind(k.day)
            .bind(&k.endpoint_id)
            .bind(&k.provider)
            .bind(&k.model)
            .bind(&k.username)
            .bind(n.calls)
            .bind(n.failures)
            .bind(n.cache_hits)
            .bind(n.input_tokens)
            .bind(n.output_tokens)
            .bind(n.cost_nanos)
            .execute(&mut *c)
            .await?;
    }
    Ok(())
}

pub(super) async fn query_usage(
    c: &mut PgConnection,
    q: &UsageQuery,
    limit: usize,
) -> PgResult<Vec<UsageRow>> {
    let sql = usage_query_sql(q.group_by, limit, |n| {
        if n >= 4 {
            format!("${n}::text")
        } else {
            format!("${n}")
        }
    });
    let rows = sqlx::query(&sql)
        .bind(&q.workspace)
        .bind(q.from_day)
        .bind(q.to_day)
        .bind(q.endpoint_id.as_deref())
        .bind(q.username.as_deref())
        .fetch_all(&mut *c)
        .await?;
    let mut out = Vec::with_capacity(rows.len());
    for r in rows {
        let row = UsageRow {
            day: r.try_get(0)?,
            endpoint_id: r.try_get(1)?,
            endpoint_name: r.try_get(2)?,
            provider: r.try_get(3)?,
            model: r.try_get(4)?,
            username: r.try_get(5)?,
            counts: UsageCounts {
                calls: r.try_get(6)?,
                failures: r.try_get(7)?,
                cache_hits: r.try_get(8)?,
                input_tokens: r.try_get(9)?,
                output_tokens: r.try_get(10)?,
                cost_nanos: r.try_get(11)?,
            },
        };
        if row.counts.calls > 0 {
            out.push(row);
        }
    }
    Ok(out)
}
