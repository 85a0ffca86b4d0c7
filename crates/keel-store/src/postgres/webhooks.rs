//! SQL for webhooks and their delivery queue on PostgreSQL.
//!
//! A claim selects due rows `FOR UPDATE SKIP LOCKED` and leases them in the same statement, so
//! replicas claiming at once never get the same row; after the claim commits, the lease
//! (`lease_owner`, `lease_until`) keeps the row out of other claims until it is finished or the
//! lease expires. Updates and deletes lock the webhook's row first.

use std::collections::HashMap;

use keel_core::Error;
use keel_core::webhooks::*;
use sqlx::postgres::PgRow;
use sqlx::{PgConnection, Row};

use super::error::{Failure, PgResult, UNIQUE_VIOLATION};

const WEBHOOK_COLUMNS: &str = "webhook_id, name, description, url, status, secret, \
     creation_time, last_updated_time, workspace";

const DELIVERY_COLUMNS: &str = "delivery_id, webhook_id, entity, action, payload, status, \
     attempts, next_attempt_at, last_status_code, last_error, created_time, updated_time";

fn unexpected(what: String) -> Failure {
    Error::internal(format!("unexpected {what} in database")).into()
}

fn event_of(entity: &str, action: &str) -> PgResult<WebhookEvent> {
    WebhookEvent::parse(&format!("{entity}.{action}"))
        .map_err(|_| unexpected(format!("webhook event '{entity}.{action}'")))
}

fn webhook_from_row(r: &PgRow) -> PgResult<Webhook> {
    let status: String = r.try_get(4)?;
    Ok(Webhook {
        webhook_id: r.try_get(0)?,
        name: r.try_get(1)?,
        description: r.try_get(2)?,
        url: r.try_get(3)?,
        events: Vec::new(),
        status: WebhookStatus::parse(&status)
            .ok_or_else(|| unexpected(format!("webhook status '{status}'")))?,
        secret: r.try_get(5)?,
        creation_timestamp: r.try_get(6)?,
        last_updated_timestamp: r.try_get(7)?,
        workspace: r.try_get(8)?,
    })
}

fn delivery_from_row(r: &PgRow) -> PgResult<Delivery> {
    let entity: String = r.try_get(2)?;
    let action: String = r.try_get(3)?;
    let status: String = r.try_get(5)?;
    Ok(Delivery {
        delivery_id: r.try_get(0)?,
        webhook_id: r.try_get(1)?,
        event: event_of(&entity, &action)?,
        payload: r.try_get(4)?,
        status: DeliveryStatus::parse(&status)
            .ok_or_else(|| unexpected(format!("delivery status '{status}'")))?,
        attempts: r.try_get(6)?,
        next_attempt_at: r.try_get(7)?,
        last_status_code: r.try_get(8)?,
        last_error: r.try_get(9)?,
        created_at: r.try_get(10)?,
        updated_at: r.try_get(11)?,
    })
}

async fn attach_events(conn: &mut PgConnection, hooks: &mut [Webhook]) -> PgResult<()> {
    if hooks.is_empty() {
        return Ok(());
    }
    let ids: Vec<&str> = hooks.iter().map(|h| h.webhook_id.as_str()).collect();
    let rows: Vec<(String, String, String)> = sqlx::query_as(
        "SELECT webhook_id, entity, action FROM webhook_events WHERE webhook_id = ANY($1)",
    )
    .bind(&ids)
    .fetch_all(&mut *conn)
    .await?;
    let mut by_id: HashMap<String, Vec<WebhookEvent>> = HashMap::new();
    for (id, entity, action) in rows {
        by_id
            .entry(id)
            .or_default()
            .push(event_of(&entity, &action)?);
    }
    for hook in hooks {
        let mut events = by_id.remove(&hook.webhook_id).unwrap_or_default();
        events.sort_unstable();
        hook.events = events;
    }
    Ok(())
}

async fn insert_events(conn: &mut PgConnection, hook: &Webhook) -> PgResult<()> {
    let entities: Vec<&str> = hook.events.iter().map(|e| e.entity().as_str()).collect();
    let actions: Vec<&str> = hook.events.iter().map(|e| e.action().as_str()).collect();
    sqlx::query(
        "INSERT INTO webhook_events (webhook_id, entity, action) \
         SELECT $1, e, a FROM UNNEST($2::text[], $3::text[]) AS t (e, a)",
    )
    .bind(&hook.webhook_id)
    .bind(&entities)
    .bind(&actions)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

pub(crate) async fn insert_webhook(conn: &mut PgConnection, hook: &Webhook) -> PgResult<()> {
    let inserted = sqlx::query(&format!(
        "INSERT INTO webhooks ({WEBHOOK_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)"
    ))
    .bind(&hook.webhook_id)
    .bind(&hook.name)
    .bind(hook.description.as_deref())
    .bind(&hook.url)
    .bind(hook.status.as_str())
    .bind(hook.secret.as_deref())
    .bind(hook.creation_timestamp)
    .bind(hook.last_updated_timestamp)
    .bind(&hook.workspace)
    .execute(&mut *conn)
    .await;
    if let Err(e) = inserted {
        let failure = Failure::from(e);
        if failure.constraint() == Some("webhooks_workspace_fkey") {
            return Err(keel_core::workspaces::not_found(&hook.workspace).into());
        }
        if failure.sqlstate().as_deref() == Some(UNIQUE_VIOLATION) {
            return Err(Error::already_exists(format!(
                "Webhook with ID {} already exists.",
                hook.webhook_id
            ))
            .into());
        }
        return Err(failure);
    }
    insert_events(conn, hook).await
}

pub(crate) async fn get_webhook(
    conn: &mut PgConnection,
    webhook_id: &str,
) -> PgResult<Option<Webhook>> {
    let row = sqlx::query(&format!(
        "SELECT {WEBHOOK_COLUMNS} FROM webhooks WHERE webhook_id = $1 AND deleted_time IS NULL"
    ))
    .bind(webhook_id)
    .fetch_optional(&mut *conn)
    .await?;
    let Some(row) = row else { return Ok(None) };
    let mut hooks = [webhook_from_row(&row)?];
    attach_events(conn, &mut hooks).await?;
    let [hook] = hooks;
    Ok(Some(hook))
}

pub(crate) async fn list_webhooks(
    conn: &mut PgConnection,
    workspace: &str,
    event: Option<WebhookEvent>,
    offset: i64,
    limit: i64,
) -> PgResult<Vec<Webhook>> {
    let rows = match event {
        None => {
            sqlx::query(&format!(
                "SELECT {WEBHOOK_COLUMNS} FROM webhooks \
                 WHERE workspace = $1 AND deleted_time IS NULL \
                 ORDER BY creation_time DESC, webhook_id DESC LIMIT $2 OFFSET $3"
            ))
            .bind(workspace)
            .bind(limit)
            .bind(offset)
            .fetch_all(&mut *conn)
            .await?
        }
        Some(e) => {
            sqlx::query(
                "SELECT w.webhook_id, w.name, w.description, w.url, w.status, w.secret, \
                 w.creation_time, w.last_updated_time, w.workspace FROM webhooks w \
                 JOIN webhook_events e ON e.webhook_id = w.webhook_id \
                 WHERE w.workspace = $1 AND w.deleted_time IS NULL AND e.entity = $2 \
                 AND e.action = $3 \
                 ORDER BY w.creation_time DESC, w.webhook_id DESC LIMIT $4 OFFSET $5",
            )
            .bind(workspace)
            .bind(e.entity().as_str())
            .bind(e.action().as_str())
            .bind(limit)
            .bind(offset)
            .fetch_all(&mut *conn)
            .await?
        }
    };
    let mut hooks = rows
        .iter()
        .map(webhook_from_row)
        .collect::<PgResult<Vec<_>>>()?;
    attach_events(conn, &mut hooks).await?;
    Ok(hooks)
}

/// Locks a live webhook's row; RESOURCE_DOES_NOT_EXIST when there is none.
async fn lock_live(conn: &mut PgConnection, webhook_id: &str) -> PgResult<()> {
    let found: Option<i32> = sqlx::query_scalar(
        "SELECT 1 FROM webhooks WHERE webhook_id = $1 AND deleted_time IS NULL FOR UPDATE",
    )
    .bind(webhook_id)
    .fetch_optional(&mut *conn)
    .await?;
    found
        .map(|_| ())
        .ok_or_else(|| webhook_not_found(webhook_id).into())
}

pub(crate) async fn update_webhook(conn: &mut PgConnection, hook: &Webhook) -> PgResult<()> {
    lock_live(conn, &hook.webhook_id).await?;
    sqlx::query(
        "UPDATE webhooks SET name = $2, description = $3, url = $4, status = $5, secret = $6, \
         last_updated_time = $7 WHERE webhook_id = $1",
    )
    .bind(&hook.webhook_id)
    .bind(&hook.name)
    .bind(hook.description.as_deref())
    .bind(&hook.url)
    .bind(hook.status.as_str())
    .bind(hook.secret.as_deref())
    .bind(hook.last_updated_timestamp)
    .execute(&mut *conn)
    .await?;
    sqlx::query("DELETE FROM webhook_events WHERE webhook_id = $1")
        .bind(&hook.webhook_id)
        .execute(&mut *conn)
        .await?;
    insert_events(conn, hook).await
}

pub(crate) async fn delete_webhook(
    conn: &mut PgConnection,
    webhook_id: &str,
    now: i64,
) -> PgResult<()> {
    lock_live(conn, webhook_id).await?;
    sqlx::query(
        "UPDATE webhooks SET deleted_time = $2, last_updated_time = $2 WHERE webhook_id = $1",
    )
    .bind(webhook_id)
    .bind(now)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

pub(crate) async fn active_subscriptions(
    conn: &mut PgConnection,
    workspace: &str,
    events: &[WebhookEvent],
) -> PgResult<Vec<Subscription>> {
    if events.is_empty() {
        return Ok(Vec::new());
    }
    let entities: Vec<&str> = events.iter().map(|e| e.entity().as_str()).collect();
    let actions: Vec<&str> = events.iter().map(|e| e.action().as_str()).collect();
    let rows: Vec<(String, String, String)> = sqlx::query_as(
        "SELECT e.webhook_id, e.entity, e.action FROM webhook_events e \
         JOIN webhooks w ON w.webhook_id = e.webhook_id \
         JOIN UNNEST($1::text[], $2::text[]) AS t (entity, action) \
             ON t.entity = e.entity AND t.action = e.action \
         WHERE w.workspace = $3 AND w.status = 'ACTIVE' AND w.deleted_time IS NULL \
         ORDER BY e.webhook_id",
    )
    .bind(&entities)
    .bind(&actions)
    .bind(workspace)
    .fetch_all(&mut *conn)
    .await?;
    rows.into_iter()
        .map(|(webhook_id, entity, action)| {
            Ok(Subscription {
                webhook_id,
                event: event_of(&entity, &action)?,
            })
        })
        .collect()
}

pub(crate) async fn insert_deliveries(
    conn: &mut PgConnection,
    deliveries: &[Delivery],
) -> PgResult<()> {
    let mut sorted: Vec<&Delivery> = deliveries.iter().collect();
    sorted.sort_by(|a, b| a.delivery_id.cmp(&b.delivery_id));
    for d in sorted {
        sqlx::query(&format!(
            "INSERT INTO webhook_deliveries ({DELIVERY_COLUMNS}) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)"
        ))
        .bind(&d.delivery_id)
        .bind(&d.webhook_id)
        .bind(d.event.entity().as_str())
        .bind(d.event.action().as_str())
        .bind(&d.payload)
        .bind(d.status.as_str())
        .bind(d.attempts)
        .bind(d.next_attempt_at)
        .bind(d.last_status_code)
        .bind(d.last_error.as_deref())
        .bind(d.created_at)
        .bind(d.updated_at)
        .execute(&mut *conn)
        .await?;
    }
    Ok(())
}

pub(crate) async fn claim_deliveries(
    conn: &mut PgConnection,
    claim: &Claim,
) -> PgResult<Vec<ClaimedDelivery>> {
    let rows = sqlx::query(&format!(
        "WITH due AS ( \
             SELECT delivery_id FROM webhook_deliveries \
             WHERE status = 'PENDING' AND next_attempt_at <= $3 \
             AND (lease_until IS NULL OR lease_until <= $3) \
             ORDER BY next_attempt_at, delivery_id LIMIT $4 \
             FOR UPDATE SKIP LOCKED) \
         UPDATE webhook_deliveries d SET lease_owner = $1, lease_until = $2, \
             attempts = d.attempts + 1, updated_time = $3 \
         FROM due WHERE d.delivery_id = due.delivery_id \
         RETURNING {}",
        DELIVERY_COLUMNS
            .split(", ")
            .map(|c| format!("d.{c}"))
            .collect::<Vec<_>>()
            .join(", ")
    ))
    .bind(&claim.owner)
    .bind(claim.lease_until)
    .bind(claim.now)
    .bind(claim.limit)
    .fetch_all(&mut *conn)
    .await?;
    let deliveries = rows
        .iter()
        .map(delivery_from_row)
        .collect::<PgResult<Vec<_>>>()?;
    let ids: Vec<&str> = deliveries.iter().map(|d| d.webhook_id.as_str()).collect();
    let hooks: Vec<(String, String, Option<String>, bool)> = sqlx::query_as(
        "SELECT webhook_id, url, secret, status = 'ACTIVE' AND deleted_time IS NULL \
         FROM webhooks WHERE webhook_id = ANY($1)",
    )
    .bind(&ids)
    .fetch_all(&mut *conn)
    .await?;
    let hooks: HashMap<String, (String, Option<String>, bool)> = hooks
        .into_iter()
        .map(|(id, url, secret, active)| (id, (url, secret, active)))
        .collect();
    let mut out = Vec::with_capacity(deliveries.len());
    for delivery in deliveries {
        let (url, secret, active) = hooks.get(&delivery.webhook_id).cloned().ok_or_else(|| {
            unexpected(format!("delivery without webhook {}", delivery.webhook_id))
        })?;
        out.push(ClaimedDelivery {
            delivery,
            url,
            secret,
            webhook_active: active,
        });
    }
    out.sort_by(|a, b| {
        (a.delivery.next_attempt_at, &a.delivery.delivery_id)
            .cmp(&(b.delivery.next_attempt_at, &b.delivery.delivery_id))
    });
    Ok(out)
}

pub(crate) async fn finish_delivery(conn: &mut PgConnection, u: &DeliveryUpdate) -> PgResult<bool> {
    let done = sqlx::query(
        "UPDATE webhook_deliveries SET status = $3, next_attempt_at = $4, \
         last_status_code = $5, last_error = $6, updated_time = $7, \
         lease_owner = NULL, lease_until = NULL \
         WHERE delivery_id = $1 AND lease_owner = $2",
    )
    .bind(&u.delivery_id)
    .bind(&u.owner)
    .bind(u.status.as_str())
    .bind(u.next_attempt_at)
    .bind(u.last_status_code)
    .bind(u.last_error.as_deref())
    .bind(u.now)
    .execute(&mut *conn)
    .await?;
    Ok(done.rows_affected() == 1)
}

pub(crate) async fn prune_deliveries(
    conn: &mut PgConnection,
    before: i64,
    limit: i64,
) -> PgResult<u64> {
    let done = sqlx::query(
        "DELETE FROM webhook_deliveries WHERE delivery_id IN (SELECT delivery_id \
         FROM webhook_deliveries WHERE status <> 'PENDING' AND updated_time < $1 \
         ORDER BY updated_time LIMIT $2 FOR UPDATE SKIP LOCKED)",
    )
    .bind(before)
    .bind(limit)
    .execute(&mut *conn)
    .await?;
    Ok(done.rows_affected())
}

pub(crate) async fn list_deliveries(
    conn: &mut PgConnection,
    webhook_id: &str,
    offset: i64,
    limit: i64,
) -> PgResult<Vec<Delivery>> {
    let rows = sqlx::query(&format!(
        "SELECT {DELIVERY_COLUMNS} FROM webhook_deliveries WHERE webhook_id = $1 \
         ORDER BY created_time DESC, delivery_id DESC LIMIT $2 OFFSET $3"
    ))
    .bind(webhook_id)
    .bind(limit)
    .bind(offset)
    .fetch_all(&mut *conn)
    .await?;
    rows.iter().map(delivery_from_row).collect()
}
