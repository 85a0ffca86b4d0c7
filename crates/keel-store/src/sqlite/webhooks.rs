//! SQL for webhooks and their delivery queue on SQLite.
//!
//! Claims run on the single writer connection, so two claims never interleave: a claimed row
//! carries a lease until it is finished or the lease expires. Write functions check before
//! their first write (see `writer.rs`).

use std::collections::HashMap;

use keel_core::webhooks::*;
use keel_core::{Error, Result};
use rusqlite::{Connection, OptionalExtension, params};

use super::convert::text_array;
use super::{db_err, is_foreign_key_violation, is_unique_violation};

const WEBHOOK_COLUMNS: &str = "webhook_id, name, description, url, status, secret, \
     creation_time, last_updated_time, workspace";

const DELIVERY_COLUMNS: &str = "delivery_id, webhook_id, entity, action, payload, status, \
     attempts, next_attempt_at, last_status_code, last_error, created_time, updated_time";

fn invalid(what: String) -> rusqlite::Error {
    rusqlite::Error::FromSqlConversionFailure(
        0,
        rusqlite::types::Type::Text,
        format!("unexpected {what} in database").into(),
    )
}

fn event_of(entity: &str, action: &str) -> rusqlite::Result<WebhookEvent> {
    WebhookEvent::parse(&format!("{entity}.{action}"))
        .map_err(|_| invalid(format!("webhook event '{entity}.{action}'")))
}

fn webhook_from_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<Webhook> {
    let status: String = r.get(4)?;
    Ok(Webhook {
        webhook_id: r.get(0)?,
        name: r.get(1)?,
        description: r.get(2)?,
        url: r.get(3)?,
        events: Vec::new(),
        status: WebhookStatus::parse(&status)
            .ok_or_else(|| invalid(format!("webhook status '{status}'")))?,
        secret: r.get(5)?,
        creation_timestamp: r.get(6)?,
        last_updated_timestamp: r.get(7)?,
        workspace: r.get(8)?,
    })
}

pub(crate) fn delivery_from_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<Delivery> {
    let entity: String = r.get(2)?;
    let action: String = r.get(3)?;
    let status: String = r.get(5)?;
    Ok(Delivery {
        delivery_id: r.get(0)?,
        webhook_id: r.get(1)?,
        event: event_of(&entity, &action)?,
        payload: r.get(4)?,
        status: DeliveryStatus::parse(&status)
            .ok_or_else(|| invalid(format!("delivery status '{status}'")))?,
        attempts: r.get(6)?,
        next_attempt_at: r.get(7)?,
        last_status_code: r.get(8)?,
        last_error: r.get(9)?,
        created_at: r.get(10)?,
        updated_at: r.get(11)?,
    })
}

/// Fills in the events of `hooks`.
fn attach_events(conn: &Connection, hooks: &mut [Webhook]) -> Result<()> {
    if hooks.is_empty() {
        return Ok(());
    }
    let mut stmt = conn
        .prepare_cached(
            "SELECT webhook_id, entity, action FROM webhook_events \
             WHERE webhook_id IN rarray(?1)",
        )
        .map_err(db_err)?;
    let ids = text_array(hooks.iter().map(|h| h.webhook_id.as_str()));
    let rows = stmt
        .query_map([ids], |r| {
            let id: String = r.get(0)?;
            let entity: String = r.get(1)?;
            let action: String = r.get(2)?;
            Ok((id, event_of(&entity, &action)?))
        })
        .map_err(db_err)?;
    let mut by_id: HashMap<String, Vec<WebhookEvent>> = HashMap::new();
    for row in rows {
        let (id, event) = row.map_err(db_err)?;
        by_id.entry(id).or_default().push(event);
    }
    for hook in hooks {
        let mut events = by_id.remove(&hook.webhook_id).unwrap_or_default();
        events.sort_unstable();
        hook.events = events;
    }
    Ok(())
}

fn insert_events(conn: &Connection, hook: &Webhook) -> Result<()> {
    let mut stmt = conn
        .prepare_cached(
            "INSERT INTO webhook_events (webhook_id, entity, action) VALUES (?1, ?2, ?3)",
        )
        .map_err(db_err)?;
    for e in &hook.events {
        stmt.execute(params![
            hook.webhook_id,
            e.entity().as_str(),
            e.action().as_str()
        ])
        .map_err(db_err)?;
    }
    Ok(())
}

pub(crate) fn insert_webhook(conn: &Connection, hook: &Webhook) -> Result<()> {
    // A taken ID fails the insert itself, which then changed nothing.
    conn.execute(
        &format!(
            "INSERT INTO webhooks ({WEBHOOK_COLUMNS}) \
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)"
        ),
        params![
            hook.webhook_id,
            hook.name,
            hook.description,
            hook.url,
            hook.status.as_str(),
            hook.secret,
            hook.creation_timestamp,
            hook.last_updated_timestamp,
            hook.workspace
        ],
    )
    .map_err(|e| {
        if is_foreign_key_violation(&e) {
            keel_core::workspaces::not_found(&hook.workspace)
        } else if is_unique_violation(&e) {
            Error::already_exists(format!(
                "Webhook with ID {} already exists.",
                hook.webhook_id
            ))
        } else {
            db_err(e)
        }
    })?;
    insert_events(conn, hook)
}

pub(crate) fn get_webhook(conn: &Connection, webhook_id: &str) -> Result<Option<Webhook>> {
    let found = conn
        .query_row(
            &format!(
                "SELECT {WEBHOOK_COLUMNS} FROM webhooks \
                 WHERE webhook_id = ?1 AND deleted_time IS NULL"
            ),
            [webhook_id],
            webhook_from_row,
        )
        .optional()
        .map_err(db_err)?;
    let Some(hook) = found else { return Ok(None) };
    let mut hooks = [hook];
    attach_events(conn, &mut hooks)?;
    let [hook] = hooks;
    Ok(Some(hook))
}

pub(crate) fn list_webhooks(
    conn: &Connection,
    workspace: &str,
    event: Option<WebhookEvent>,
    offset: i64,
    limit: i64,
) -> Result<Vec<Webhook>> {
    let mut hooks = match event {
        None => {
            let mut stmt = conn
                .prepare_cached(&format!(
                    "SELECT {WEBHOOK_COLUMNS} FROM webhooks \
                     WHERE workspace = ?1 AND deleted_time IS NULL \
                     ORDER BY creation_time DESC, webhook_id DESC LIMIT ?2 OFFSET ?3"
                ))
                .map_err(db_err)?;
            let rows = stmt
                .query_map(params![workspace, limit, offset], webhook_from_row)
                .map_err(db_err)?;
            rows.collect::<rusqlite::Result<Vec<_>>>().map_err(db_err)?
        }
        Some(e) => {
            let mut stmt = conn
                .prepare_cached(
                    "SELECT w.webhook_id, w.name, w.description, w.url, w.status, w.secret, \
                     w.creation_time, w.last_updated_time, w.workspace FROM webhooks w \
                     JOIN webhook_events e ON e.webhook_id = w.webhook_id \
                     WHERE w.workspace = ?1 AND w.deleted_time IS NULL AND e.entity = ?2 \
                     AND e.action = ?3 \
                     ORDER BY w.creation_time DESC, w.webhook_id DESC LIMIT ?4 OFFSET ?5",
                )
                .map_err(db_err)?;
            let rows = stmt
                .query_map(
                    params![
                        workspace,
                        e.entity().as_str(),
                        e.action().as_str(),
                        limit,
                        offset
                    ],
                    webhook_from_row,
                )
                .map_err(db_err)?;
            rows.collect::<rusqlite::Result<Vec<_>>>().map_err(db_err)?
        }
    };
    attach_events(conn, &mut hooks)?;
    Ok(hooks)
}

fn require_live(conn: &Connection, webhook_id: &str) -> Result<()> {
    let found: Option<i64> = conn
        .query_row(
            "SELECT 1 FROM webhooks WHERE webhook_id = ?1 AND deleted_time IS NULL",
            [webhook_id],
            |r| r.get(0),
        )
        .optional()
        .map_err(db_err)?;
    found
        .map(|_| ())
        .ok_or_else(|| webhook_not_found(webhook_id))
}

pub(crate) fn update_webhook(conn: &Connection, hook: &Webhook) -> Result<()> {
    require_live(conn, &hook.webhook_id)?;
    conn.execute(
        "UPDATE webhooks SET name = ?2, description = ?3, url = ?4, status = ?5, secret = ?6, \
         last_updated_time = ?7 WHERE webhook_id = ?1",
        params![
            hook.webhook_id,
            hook.name,
            hook.description,
            hook.url,
            hook.status.as_str(),
            hook.secret,
            hook.last_updated_timestamp
        ],
    )
    .map_err(db_err)?;
    conn.execute(
        "DELETE FROM webhook_events WHERE webhook_id = ?1",
        [&hook.webhook_id],
    )
    .map_err(db_err)?;
    insert_events(conn, hook)
}

pub(crate) fn delete_webhook(conn: &Connection, webhook_id: &str, now: i64) -> Result<()> {
    require_live(conn, webhook_id)?;
    conn.execute(
        "UPDATE webhooks SET deleted_time = ?2, last_updated_time = ?2 WHERE webhook_id = ?1",
        params![webhook_id, now],
    )
    .map_err(db_err)?;
    Ok(())
}

pub(crate) fn active_subscriptions(
    conn: &Connection,
    workspace: &str,
    events: &[WebhookEvent],
) -> Result<Vec<Subscription>> {
    let mut stmt = conn
        .prepare_cached(
            "SELECT e.webhook_id FROM webhook_events e \
             JOIN webhooks w ON w.webhook_id = e.webhook_id \
             WHERE e.entity = ?1 AND e.action = ?2 AND w.workspace = ?3 \
             AND w.status = 'ACTIVE' AND w.deleted_time IS NULL ORDER BY e.webhook_id",
        )
        .map_err(db_err)?;
    let mut out = Vec::new();
    for &event in events {
        let rows = stmt
            .query_map(
                params![event.entity().as_str(), event.action().as_str(), workspace],
                |r| r.get::<_, String>(0),
            )
            .map_err(db_err)?;
        for id in rows {
            out.push(Subscription {
                webhook_id: id.map_err(db_err)?,
                event,
            });
        }
    }
    Ok(out)
}

pub(crate) fn insert_deliveries(conn: &Connection, deliveries: &[Delivery]) -> Result<()> {
    let mut stmt = conn
        .prepare_cached(&format!(
            "INSERT INTO webhook_deliveries ({DELIVERY_COLUMNS}) \
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)"
        ))
        .map_err(db_err)?;
    for d in deliveries {
        stmt.execute(params![
            d.delivery_id,
            d.webhook_id,
            d.event.entity().as_str(),
            d.event.action().as_str(),
            d.payload,
            d.status.as_str(),
            d.attempts,
            d.next_attempt_at,
            d.last_status_code,
            d.last_error,
            d.created_at,
            d.updated_at
        ])
        .map_err(db_err)?;
    }
    Ok(())
}

/// Whether some pending delivery is due and not leased at `now`.
pub(crate) fn any_due(conn: &Connection, now: i64) -> Result<bool> {
    conn.prepare_cached(
        "SELECT 1 FROM webhook_deliveries WHERE status = 'PENDING' AND next_attempt_at <= ?1 \
         AND (lease_until IS NULL OR lease_until <= ?1) LIMIT 1",
    )
    .and_then(|mut stmt| stmt.exists([now]))
    .map_err(db_err)
}

pub(crate) fn claim_deliveries(conn: &Connection, claim: &Claim) -> Result<Vec<ClaimedDelivery>> {
    let mut stmt = conn
        .prepare_cached(&format!(
            "UPDATE webhook_deliveries SET lease_owner = ?1, lease_until = ?2, \
             attempts = attempts + 1, updated_time = ?3 \
             WHERE delivery_id IN (SELECT delivery_id FROM webhook_deliveries \
                 WHERE status = 'PENDING' AND next_attempt_at <= ?3 \
                 AND (lease_until IS NULL OR lease_until <= ?3) \
                 ORDER BY next_attempt_at, delivery_id LIMIT ?4) \
             RETURNING {DELIVERY_COLUMNS}"
        ))
        .map_err(db_err)?;
    let rows = stmt
        .query_map(
            params![claim.owner, claim.lease_until, claim.now, claim.limit],
            delivery_from_row,
        )
        .map_err(db_err)?;
    let deliveries = rows.collect::<rusqlite::Result<Vec<_>>>().map_err(db_err)?;
    let mut hook = conn
        .prepare_cached(
            "SELECT url, secret, status = 'ACTIVE' AND deleted_time IS NULL \
             FROM webhooks WHERE webhook_id = ?1",
        )
        .map_err(db_err)?;
    let mut out = Vec::with_capacity(deliveries.len());
    for delivery in deliveries {
        let (url, secret, active): (String, Option<String>, bool) = hook
            .query_row([&delivery.webhook_id], |r| {
                Ok((r.get(0)?, r.get(1)?, r.get(2)?))
            })
            .map_err(db_err)?;
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

pub(crate) fn finish_delivery(conn: &Connection, u: &DeliveryUpdate) -> Result<bool> {
    let changed = conn
        .execute(
            "UPDATE webhook_deliveries SET status = ?3, next_attempt_at = ?4, \
             last_status_code = ?5, last_error = ?6, updated_time = ?7, \
             lease_owner = NULL, lease_until = NULL \
             WHERE delivery_id = ?1 AND lease_owner = ?2",
            params![
                u.delivery_id,
                u.owner,
                u.status.as_str(),
                u.next_attempt_at,
                u.last_status_code,
                u.last_error,
                u.now
            ],
        )
        .map_err(db_err)?;
    Ok(changed == 1)
}

pub(crate) fn prune_deliveries(conn: &Connection, before: i64, limit: i64) -> Result<u64> {
    let n = conn
        .execute(
            "DELETE FROM webhook_deliveries WHERE delivery_id IN (SELECT delivery_id \
             FROM webhook_deliveries WHERE status <> 'PENDING' AND updated_time < ?1 \
             ORDER BY updated_time LIMIT ?2)",
            params![before, limit],
        )
        .map_err(db_err)?;
    Ok(n as u64)
}

pub(crate) fn list_deliveries(
    conn: &Connection,
    webhook_id: &str,
    offset: i64,
    limit: i64,
) -> Result<Vec<Delivery>> {
    let mut stmt = conn
        .prepare_cached(&format!(
            "SELECT {DELIVERY_COLUMNS} FROM webhook_deliveries WHERE webhook_id = ?1 \
             ORDER BY created_time DESC, delivery_id DESC LIMIT ?2 OFFSET ?3"
        ))
        .map_err(db_err)?;
    let rows = stmt
        .query_map(params![webhook_id, limit, offset], delivery_from_row)
        .map_err(db_err)?;
    rows.collect::<rusqlite::Result<Vec<_>>>().map_err(db_err)
}
