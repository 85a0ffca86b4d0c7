//! Conformance checks of the webhook store: CRUD with soft delete, paging, listing by event,
//! subscriptions, and the delivery queue (claim, lease, retry, finish, no double claim under
//! concurrency, persistence across a reopen).

use std::collections::HashSet;
use std::sync::Arc;

use keel_core::webhooks::*;
use keel_core::workspaces::DEFAULT_WORKSPACE;
use keel_core::{ErrorCode, WebhookStore};

use super::{Fixture, T0, expect_err};

fn event(entity: WebhookEntity, action: WebhookAction) -> WebhookEvent {
    WebhookEvent::new(entity, action).expect("valid event")
}

fn model_created() -> WebhookEvent {
    event(WebhookEntity::RegisteredModel, WebhookAction::Created)
}

fn tag_set() -> WebhookEvent {
    event(WebhookEntity::ModelVersionTag, WebhookAction::Set)
}

fn hook(id: &str, created: i64, mut events: Vec<WebhookEvent>) -> Webhook {
    events.sort_unstable();
    Webhook {
        workspace: DEFAULT_WORKSPACE.to_owned(),
        webhook_id: id.to_owned(),
        name: format!("name-{id}"),
        description: Some("about".into()),
        url: format!("https://example.com/{id}"),
        events,
        status: WebhookStatus::Active,
        secret: Some(format!("sealed-{id}")),
        creation_timestamp: created,
        last_updated_timestamp: created,
    }
}

fn delivery(id: &str, webhook_id: &str, due: i64) -> Delivery {
    Delivery {
        delivery_id: id.to_owned(),
        webhook_id: webhook_id.to_owned(),
        event: model_created(),
        payload: format!("{{\"n\": \"{id}\"}}"),
        status: DeliveryStatus::Pending,
        attempts: 0,
        next_attempt_at: due,
        last_status_code: None,
        last_error: None,
        created_at: due,
        updated_at: due,
    }
}

fn claim(owner: &str, now: i64, limit: i64) -> Claim {
    Claim {
        now,
        lease_until: now + 60_000,
        owner: owner.to_owned(),
        limit,
    }
}

fn ids(claimed: &[ClaimedDelivery]) -> Vec<String> {
    claimed
        .iter()
        .map(|c| c.delivery.delivery_id.clone())
        .collect()
}

fn names(hooks: &[Webhook]) -> Vec<&str> {
    hooks.iter().map(|h| h.webhook_id.as_str()).collect()
}

pub async fn webhook_crud_soft_delete_and_paging(f: Fixture) {
    let s = f.webhook_store();
    for (i, id) in ["a", "b", "c"].iter().enumerate() {
        s.insert_webhook(&hook(id, T0 + i as i64, vec![tag_set(), model_created()]))
            .await
            .expect("insert");
    }
    expect_err(
        s.insert_webhook(&hook("a", T0, vec![model_created()]))
            .await,
        ErrorCode::ResourceAlreadyExists,
    );
    let a = s.get_webhook("a").await.expect("get").expect("exists");
    assert_eq!(a, hook("a", T0, vec![model_created(), tag_set()]));
    assert_eq!(s.get_webhook("nope").await.expect("get"), None);

    assert_eq!(
        names(
            &s.list_webhooks(DEFAULT_WORKSPACE, None, 0, 10)
                .await
                .expect("list")
        ),
        ["c", "b", "a"]
    );
    assert_eq!(
        names(
            &s.list_webhooks(DEFAULT_WORKSPACE, None, 1, 1)
                .await
                .expect("list")
        ),
        ["b"]
    );
    assert!(
        s.list_webhooks(DEFAULT_WORKSPACE, None, 3, 10)
            .await
            .expect("list")
            .is_empty()
    );

    let mut changed = hook(
        "b",
        T0 + 1,
        vec![event(WebhookEntity::PromptAlias, WebhookAction::Deleted)],
    );
    changed.name = "renamed".into();
    changed.description = None;
    changed.url = "http://other.example/".into();
    changed.status = WebhookStatus::Disabled;
    changed.secret = None;
    changed.last_updated_timestamp = T0 + 50;
    s.update_webhook(&changed).await.expect("update");
    assert_eq!(
        s.get_webhook("b").await.expect("get"),
        Some(changed.clone())
    );

    s.delete_webhook("a", T0 + 60).await.expect("delete");
    assert_eq!(s.get_webhook("a").await.expect("get"), None);
    assert_eq!(
        names(
            &s.list_webhooks(DEFAULT_WORKSPACE, None, 0, 10)
                .await
                .expect("list")
        ),
        ["c", "b"]
    );
    expect_err(
        s.delete_webhook("a", T0 + 61).await,
        ErrorCode::ResourceDoesNotExist,
    );
    expect_err(
        s.update_webhook(&hook("a", T0, vec![model_created()]))
            .await,
        ErrorCode::ResourceDoesNotExist,
    );
    expect_err(
        s.update_webhook(&hook("nope", T0, vec![model_created()]))
            .await,
        ErrorCode::ResourceDoesNotExist,
    );
}

pub async fn webhooks_by_event_and_active_subscriptions(f: Fixture) {
    let s = f.webhook_store();
    s.insert_webhook(&hook("m", T0, vec![model_created()]))
        .await
        .expect("insert");
    s.insert_webhook(&hook("t", T0 + 1, vec![tag_set()]))
        .await
        .expect("insert");
    s.insert_webhook(&hook("both", T0 + 2, vec![model_created(), tag_set()]))
        .await
        .expect("insert");
    let mut off = hook("off", T0 + 3, vec![model_created()]);
    off.status = WebhookStatus::Disabled;
    s.insert_webhook(&off).await.expect("insert");
    s.insert_webhook(&hook("gone", T0 + 4, vec![model_created()]))
        .await
        .expect("insert");
    s.delete_webhook("gone", T0 + 5).await.expect("delete");

    let by_event = s
        .list_webhooks(DEFAULT_WORKSPACE, Some(model_created()), 0, 10)
        .await
        .expect("list");
    assert_eq!(
        names(&by_event),
        ["off", "both", "m"],
        "disabled listed, deleted not"
    );
    assert_eq!(by_event[1].events.len(), 2, "all events of each webhook");
    assert_eq!(
        names(
            &s.list_webhooks(DEFAULT_WORKSPACE, Some(model_created()), 1, 1)
                .await
                .expect("list")
        ),
        ["both"]
    );
    let none = event(WebhookEntity::PromptTag, WebhookAction::Set);
    assert!(
        s.list_webhooks(DEFAULT_WORKSPACE, Some(none), 0, 10)
            .await
            .expect("list")
            .is_empty()
    );

    let mut subs = s
        .active_subscriptions(DEFAULT_WORKSPACE, &[model_created()])
        .await
        .expect("subs");
    subs.sort_by(|a, b| a.webhook_id.cmp(&b.webhook_id));
    let got: Vec<(&str, WebhookEvent)> = subs
        .iter()
        .map(|s| (s.webhook_id.as_str(), s.event))
        .collect();
    assert_eq!(got, [("both", model_created()), ("m", model_created())]);
    let subs = s
        .active_subscriptions(DEFAULT_WORKSPACE, &[model_created(), tag_set()])
        .await
        .expect("subs");
    assert_eq!(subs.len(), 4, "{subs:?}");
    assert!(
        s.active_subscriptions(DEFAULT_WORKSPACE, &[none])
            .await
            .expect("subs")
            .is_empty()
    );
    assert!(
        s.active_subscriptions(DEFAULT_WORKSPACE, &[])
            .await
            .expect("subs")
            .is_empty()
    );
}

pub async fn delivery_queue_claims_leases_retries_and_finishes(f: Fixture) {
    let s = f.webhook_store();
    s.insert_webhook(&hook("h", T0, vec![model_created()]))
        .await
        .expect("insert");
    s.insert_deliveries(&[
        delivery("d1", "h", T0 + 10),
        delivery("d2", "h", T0 + 20),
        delivery("d3", "h", T0 + 1_000),
    ])
    .await
    .expect("queue");

    // Only due rows, oldest due first, each counted as an attempt and leased.
    let first = s
        .claim_deliveries(&claim("w1", T0 + 100, 10))
        .await
        .expect("claim");
    assert_eq!(ids(&first), ["d1", "d2"]);
    assert!(
        first
            .iter()
            .all(|c| c.delivery.attempts == 1 && c.webhook_active)
    );
    assert_eq!(first[0].url, "https://example.com/h");
    assert_eq!(first[0].secret.as_deref(), Some("sealed-h"));
    assert_eq!(first[0].delivery.payload, "{\"n\": \"d1\"}");
    // Leased: nobody else gets them while the lease runs...
    assert!(
        s.claim_deliveries(&claim("w2", T0 + 200, 10))
            .await
            .expect("claim")
            .is_empty()
    );
    // ...but after it expires (a crashed worker), they are claimable again.
    let again = s
        .claim_deliveries(&claim("w2", T0 + 100 + 60_000, 1))
        .await
        .expect("claim");
    assert_eq!(ids(&again), ["d1"]);
    assert_eq!(again[0].delivery.attempts, 2);

    // The first worker lost d1's lease: its outcome is not recorded.
    let update = |id: &str, owner: &str, status, next, code, error: Option<&str>| DeliveryUpdate {
        delivery_id: id.to_owned(),
        owner: owner.to_owned(),
        status,
        next_attempt_at: next,
        last_status_code: code,
        last_error: error.map(str::to_owned),
        now: T0 + 70_000,
    };
    assert!(
        !s.finish_delivery(&update(
            "d1",
            "w1",
            DeliveryStatus::Succeeded,
            0,
            Some(200),
            None
        ))
        .await
        .expect("finish")
    );
    // d1 (held by w2): a retryable failure, due again later.
    assert!(
        s.finish_delivery(&update(
            "d1",
            "w2",
            DeliveryStatus::Pending,
            T0 + 80_000,
            Some(503),
            Some("HTTP 503")
        ))
        .await
        .expect("finish")
    );
    // d2 (held by w1, lease still valid at its own clock): succeeded.
    assert!(
        s.finish_delivery(&update(
            "d2",
            "w1",
            DeliveryStatus::Succeeded,
            T0 + 20,
            Some(200),
            None
        ))
        .await
        .expect("finish")
    );
    assert!(
        !s.finish_delivery(&update(
            "d2",
            "w1",
            DeliveryStatus::Failed,
            0,
            None,
            Some("twice")
        ))
        .await
        .expect("finish"),
        "a finished delivery has no lease left"
    );
    let due = s
        .claim_deliveries(&claim("w3", T0 + 79_999, 10))
        .await
        .expect("claim");
    assert_eq!(ids(&due), ["d3"], "d1 waits for its retry time; d2 is done");
    let later = s
        .claim_deliveries(&claim("w3", T0 + 80_000, 10))
        .await
        .expect("claim");
    assert_eq!(ids(&later), ["d1"]);
    assert_eq!(later[0].delivery.attempts, 3);
    assert!(
        s.finish_delivery(&update(
            "d1",
            "w3",
            DeliveryStatus::Failed,
            T0 + 80_000,
            Some(503),
            Some("gave up")
        ))
        .await
        .expect("finish")
    );
    assert!(
        s.claim_deliveries(&claim("w4", T0 + 10_000_000, 10))
            .await
            .expect("claim")
            .iter()
            .all(|c| c.delivery.delivery_id == "d3"),
        "failed and succeeded deliveries are never claimed again"
    );

    let log = s.list_deliveries("h", 0, 10).await.expect("log");
    assert_eq!(
        log.iter()
            .map(|d| d.delivery_id.as_str())
            .collect::<Vec<_>>(),
        ["d3", "d2", "d1"],
        "newest first"
    );
    let d1 = &log[2];
    assert_eq!(d1.status, DeliveryStatus::Failed);
    assert_eq!(d1.attempts, 3);
    assert_eq!(d1.last_status_code, Some(503));
    assert_eq!(d1.last_error.as_deref(), Some("gave up"));
    assert_eq!(d1.event, model_created());
    assert_eq!(log[1].status, DeliveryStatus::Succeeded);
    assert_eq!(s.list_deliveries("h", 1, 1).await.expect("log").len(), 1);
    assert!(
        s.list_deliveries("other", 0, 10)
            .await
            .expect("log")
            .is_empty()
    );

    // A delivery whose webhook was deleted is handed out marked inactive (not to be sent).
    s.insert_webhook(&hook("x", T0, vec![model_created()]))
        .await
        .expect("insert");
    s.insert_deliveries(&[delivery("dx", "x", T0)])
        .await
        .expect("queue");
    s.delete_webhook("x", T0 + 1).await.expect("delete");
    let claimed = s
        .claim_deliveries(&claim("w5", T0 + 20_000_000, 10))
        .await
        .expect("claim");
    let dx = claimed
        .iter()
        .find(|c| c.delivery.delivery_id == "dx")
        .expect("claimed");
    assert!(!dx.webhook_active);
}

pub async fn concurrent_claims_never_hand_out_a_delivery_twice(f: Fixture) {
    let s = f.webhook_store();
    s.insert_webhook(&hook("h", T0, vec![model_created()]))
        .await
        .expect("insert");
    let rows: Vec<Delivery> = (0..60)
        .map(|i| delivery(&format!("d{i:02}"), "h", T0 + i))
        .collect();
    s.insert_deliveries(&rows).await.expect("queue");
    let claims: Vec<_> = (0..12)
        .map(|w| {
            let s: Arc<dyn WebhookStore> = s.clone();
            tokio::spawn(async move {
                s.claim_deliveries(&claim(&format!("w{w}"), T0 + 1_000, 7))
                    .await
                    .expect("claim")
            })
        })
        .collect();
    let mut seen = HashSet::new();
    for c in claims {
        for d in c.await.expect("task") {
            assert_eq!(d.delivery.attempts, 1, "claimed once");
            assert!(seen.insert(d.delivery.delivery_id.clone()), "claimed twice");
        }
    }
    let rest = s
        .claim_deliveries(&claim("last", T0 + 1_000, 100))
        .await
        .expect("claim");
    for d in rest {
        assert!(seen.insert(d.delivery.delivery_id), "claimed twice");
    }
    assert_eq!(seen.len(), 60, "every delivery claimed exactly once");
}

pub async fn queued_deliveries_survive_a_reopen(mut f: Fixture) {
    {
        let s = f.webhook_store();
        s.insert_webhook(&hook("h", T0, vec![model_created()]))
            .await
            .expect("insert");
        s.insert_deliveries(&[delivery("kept", "h", T0)])
            .await
            .expect("queue");
    }
    f.reopen().await;
    let s = f.webhook_store();
    let claimed = s
        .claim_deliveries(&claim("after", T0 + 1, 10))
        .await
        .expect("claim");
    assert_eq!(ids(&claimed), ["kept"]);
    assert_eq!(claimed[0].secret.as_deref(), Some("sealed-h"));
}

pub async fn finished_deliveries_are_pruned_oldest_first(f: Fixture) {
    let s = f.webhook_store();
    s.insert_webhook(&hook("h", T0, vec![model_created()]))
        .await
        .expect("insert");
    let rows: Vec<Delivery> = (0..5)
        .map(|i| delivery(&format!("d{i}"), "h", T0 + i))
        .collect();
    s.insert_deliveries(&rows).await.expect("queue");
    let claimed = s
        .claim_deliveries(&claim("w", T0 + 10, 4))
        .await
        .expect("claim");
    assert_eq!(ids(&claimed), ["d0", "d1", "d2", "d3"]);
    for (i, c) in claimed.iter().enumerate() {
        let status = if i % 2 == 0 {
            DeliveryStatus::Succeeded
        } else {
            DeliveryStatus::Failed
        };
        let done = DeliveryUpdate {
            delivery_id: c.delivery.delivery_id.clone(),
            owner: "w".into(),
            status,
            next_attempt_at: c.delivery.next_attempt_at,
            last_status_code: None,
            last_error: None,
            now: T0 + 100 + i as i64,
        };
        assert!(s.finish_delivery(&done).await.expect("finish"));
    }
    // d0..d3 finished at T0+100..T0+103; d4 is still pending and is never pruned.
    assert_eq!(s.prune_deliveries(T0 + 102, 10).await.expect("prune"), 2);
    assert_eq!(
        s.prune_deliveries(T0 + 1_000_000, 1).await.expect("prune"),
        1
    );
    assert_eq!(
        s.prune_deliveries(T0 + 1_000_000, 10).await.expect("prune"),
        1
    );
    assert_eq!(
        s.prune_deliveries(T0 + 1_000_000, 10).await.expect("prune"),
        0
    );
    let left = s.list_deliveries("h", 0, 10).await.expect("log");
    assert_eq!(
        left.iter()
            .map(|d| d.delivery_id.as_str())
            .collect::<Vec<_>>(),
        ["d4"]
    );
}
