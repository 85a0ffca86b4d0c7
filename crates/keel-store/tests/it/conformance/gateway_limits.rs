//! Conformance checks of the gateway's limits in the store: budget policies and rate limits
//! are listed per workspace (all of them for calls), updated in place and deleted with their
//! counters; a reservation holds every counter or none, never passes a rejecting limit —
//! also when many are made at once — and is settled once; a counter reaches its limit once per
//! window; the sweep releases only expired holds.

use keel_core::workspaces::DEFAULT_WORKSPACE;
use keel_gateway::windows::{BudgetDuration, DurationUnit, Window};
use keel_gateway::{
    BudgetAction, BudgetPolicy, Counter, RateLimit, Reserved, Settlement, TargetScope,
};

use super::{Fixture, T0};

fn policy(id: &str, workspace: &str, scope: TargetScope) -> BudgetPolicy {
    BudgetPolicy {
        budget_policy_id: id.to_owned(),
        workspace: workspace.to_owned(),
        budget_amount: 2.5,
        duration: BudgetDuration {
            unit: DurationUnit::Days,
            value: 1,
        },
        target_scope: scope,
        target_value: None,
        budget_action: BudgetAction::Reject,
        created_by: Some("alice".into()),
        created_at: T0,
        last_updated_by: Some("alice".into()),
        last_updated_at: T0,
    }
}

const WINDOW: Window = Window {
    start_ms: 1_800_000_000_000,
    end_ms: 1_800_003_600_000,
};

fn counter(key: &str, limit: i64, held: i64, reject: bool) -> Counter {
    Counter {
        key: key.to_owned(),
        window: WINDOW,
        limit,
        reject,
        held,
    }
}

fn settle(key: &str, limit: i64, held: i64, used: i64) -> Settlement {
    Settlement {
        key: key.to_owned(),
        window_start_ms: WINDOW.start_ms,
        limit,
        held,
        used,
    }
}

pub async fn budget_policies_and_rate_limits_are_kept_per_workspace(f: Fixture) {
    let store = f.gateway_store();
    let a = policy("bp-a", DEFAULT_WORKSPACE, TargetScope::Workspace);
    let b = policy("bp-b", "team-b", TargetScope::Global);
    store.insert_budget_policy(&a).await.expect("a");
    store.insert_budget_policy(&b).await.expect("b");
    assert_eq!(
        store
            .get_budget_policy(DEFAULT_WORKSPACE, "bp-a")
            .await
            .expect("get"),
        Some(a.clone())
    );
    assert_eq!(
        store
            .get_budget_policy(DEFAULT_WORKSPACE, "bp-b")
            .await
            .expect("other workspace"),
        None
    );
    let listed = store
        .list_budget_policies(DEFAULT_WORKSPACE, 0, 10)
        .await
        .expect("list");
    assert_eq!(listed, vec![a.clone()]);
    assert_eq!(store.all_budget_policies().await.expect("all").len(), 2);

    let mut changed = a.clone();
    changed.budget_amount = 0.000001;
    changed.target_scope = TargetScope::User;
    changed.target_value = Some("bob".into());
    changed.budget_action = BudgetAction::Alert;
    changed.duration = BudgetDuration {
        unit: DurationUnit::Weeks,
        value: 2,
    };
    changed.last_updated_at = T0 + 5;
    assert!(store.update_budget_policy(&changed).await.expect("update"));
    assert_eq!(
        store
            .get_budget_policy(DEFAULT_WORKSPACE, "bp-a")
            .await
            .expect("get"),
        Some(changed.clone())
    );

    // A policy goes with its counters.
    let held = [counter("bp-a", 100, 10, true)];
    assert_eq!(
        store.reserve_limits("h1", &held, T0).await.expect("hold"),
        Reserved::Admitted
    );
    assert!(
        store
            .delete_budget_policy(DEFAULT_WORKSPACE, "bp-a")
            .await
            .expect("delete")
    );
    assert!(
        !store
            .delete_budget_policy(DEFAULT_WORKSPACE, "bp-a")
            .await
            .expect("again")
    );
    let usage = store
        .limit_usage(&[("bp-a".into(), WINDOW.start_ms)])
        .await
        .expect("usage");
    assert_eq!(usage, vec![(0, 0)]);

    let rate = RateLimit {
        rate_limit_id: "rl-a".into(),
        workspace: DEFAULT_WORKSPACE.into(),
        target_scope: TargetScope::Endpoint,
        target_value: Some("e-1".into()),
        requests_per_minute: Some(10),
        tokens_per_minute: None,
        created_by: None,
        created_at: T0,
        last_updated_by: None,
        last_updated_at: T0,
    };
    store.insert_rate_limit(&rate).await.expect("rate");
    let mut faster = rate.clone();
    faster.tokens_per_minute = Some(5_000);
    faster.requests_per_minute = None;
    assert!(store.update_rate_limit(&faster).await.expect("update"));
    assert_eq!(
        store
            .list_rate_limits(DEFAULT_WORKSPACE, 0, 10)
            .await
            .expect("list"),
        vec![faster.clone()]
    );
    assert!(
        store
            .list_rate_limits("team-b", 0, 10)
            .await
            .expect("other")
            .is_empty()
    );
    let tokens = [counter("rl-a:tokens", 5_000, 100, true)];
    store.reserve_limits("h2", &tokens, T0).await.expect("hold");
    assert!(
        store
            .delete_rate_limit(DEFAULT_WORKSPACE, "rl-a")
            .await
            .expect("delete")
    );
    assert!(store.all_rate_limits().await.expect("all").is_empty());
    let usage = store
        .limit_usage(&[("rl-a:tokens".into(), WINDOW.start_ms)])
        .await
        .expect("usage");
    assert_eq!(usage, vec![(0, 0)], "the counters went with the limit");
}

pub async fn reservations_hold_all_or_nothing_and_settle_once(f: Fixture) {
    let store = f.gateway_store();
    let both = [
        counter("bp-alert", 100, 0, false),
        counter("bp-reject", 100, 60, true),
    ];
    assert_eq!(
        store
            .reserve_limits("h1", &both, T0 + 1_000)
            .await
            .expect("h1"),
        Reserved::Admitted
    );
    // 60 held: another 60 does not fit, and nothing of that refusal is held anywhere.
    assert_eq!(
        store
            .reserve_limits("h2", &both, T0 + 1_000)
            .await
            .expect("h2"),
        Reserved::Refused(1)
    );
    let keys = [
        ("bp-alert".to_owned(), WINDOW.start_ms),
        ("bp-reject".to_owned(), WINDOW.start_ms),
    ];
    assert_eq!(
        store.limit_usage(&keys).await.expect("usage"),
        vec![(0, 0), (0, 60)]
    );
    // Settled at less than its worst case: the rest is free again; the alert counter reaches
    // its limit with this settlement, once.
    let crossed = store
        .settle_limits(
            "h1",
            &[
                settle("bp-alert", 100, 0, 150),
                settle("bp-reject", 100, 60, 25),
            ],
        )
        .await
        .expect("settle");
    assert_eq!(crossed.len(), 1);
    assert_eq!(
        (crossed[0].key.as_str(), crossed[0].used),
        ("bp-alert", 150)
    );
    assert_eq!(
        store.limit_usage(&keys).await.expect("usage"),
        vec![(150, 0), (25, 0)]
    );
    // Settling again releases nothing more (the hold is gone) and crosses nothing again.
    let again = store
        .settle_limits("h1", &[settle("bp-alert", 100, 0, 1)])
        .await
        .expect("again");
    assert!(again.is_empty());
    assert_eq!(
        store
            .reserve_limits("h3", &both, T0 + 1_000)
            .await
            .expect("h3"),
        Reserved::Admitted,
        "25 used + 60 held fits in 100"
    );
    // An unsettled hold is released by the sweep once it expires, not before.
    assert_eq!(store.sweep_limits(T0, 0).await.expect("early"), 0);
    assert_eq!(store.sweep_limits(T0 + 1_000, 0).await.expect("sweep"), 1);
    assert_eq!(
        store.limit_usage(&keys).await.expect("usage"),
        vec![(151, 0), (25, 0)]
    );
    // Windows that ended long ago are forgotten.
    store
        .sweep_limits(T0 + 2_000, WINDOW.end_ms + 1)
        .await
        .expect("prune");
    assert_eq!(
        store.limit_usage(&keys).await.expect("usage"),
        vec![(0, 0), (0, 0)]
    );
}

pub async fn concurrent_reservations_never_pass_a_limit(f: Fixture) {
    let store = f.gateway_store();
    let mut tasks = Vec::new();
    for i in 0..40 {
        let store = store.clone();
        tasks.push(tokio::spawn(async move {
            // Two counters in either order: no reservation waits on another in a cycle.
            let mut counters = vec![
                counter("rl-x:requests", 10, 1, true),
                counter("bp-x", 1_000_000, 7, true),
            ];
            if i % 2 == 0 {
                counters.reverse();
            }
            store
                .reserve_limits(&format!("h{i}"), &counters, T0 + 60_000)
                .await
                .expect("reserve")
        }));
    }
    let mut admitted = 0;
    for task in tasks {
        if task.await.expect("task") == Reserved::Admitted {
            admitted += 1;
        }
    }
    assert_eq!(admitted, 10, "exactly the limit's worth of requests held");
    let usage = store
        .limit_usage(&[
            ("rl-x:requests".into(), WINDOW.start_ms),
            ("bp-x".into(), WINDOW.start_ms),
        ])
        .await
        .expect("usage");
    assert_eq!(usage, vec![(0, 10), (0, 70)]);
}

pub async fn the_usage_ledger_adds_up_and_groups_as_asked(f: Fixture) {
    use keel_gateway::{GroupBy, UsageCounts, UsageKey, UsageQuery};
    let store = f.gateway_store();
    let key = |day: i64, endpoint: &str, model: &str, user: &str| UsageKey {
        workspace: DEFAULT_WORKSPACE.into(),
        day,
        endpoint_id: endpoint.into(),
        provider: "openai".into(),
        model: model.into(),
        username: user.into(),
    };
    let one = UsageCounts {
        calls: 1,
        failures: 0,
        cache_hits: 0,
        input_tokens: 10,
        output_tokens: 5,
        cost_nanos: 100,
    };
    let failed = UsageCounts {
        calls: 1,
        failures: 1,
        ..UsageCounts::default()
    };
    store
        .add_usage(&[
            (key(100, "e-1", "a", "bob"), one),
            (key(101, "e-1", "b", "ann"), one),
        ])
        .await
        .expect("add");
    // Added to, not replaced; another workspace's rows are not seen.
    let mut elsewhere = key(100, "e-1", "a", "bob");
    elsewhere.workspace = "team-b".into();
    store
        .add_usage(&[(key(100, "e-1", "a", "bob"), failed), (elsewhere, one)])
        .await
        .expect("add again");
    let query = |group_by: GroupBy, from_day: i64| UsageQuery {
        workspace: DEFAULT_WORKSPACE.into(),
        from_day,
        to_day: 101,
        endpoint_id: None,
        username: None,
        group_by,
    };
    let total = store
        .query_usage(&query(GroupBy::default(), 0), 100)
        .await
        .expect("total");
    assert_eq!(total.len(), 1);
    assert_eq!(
        total[0].counts,
        UsageCounts {
            calls: 3,
            failures: 1,
            cache_hits: 0,
            input_tokens: 20,
            output_tokens: 10,
            cost_nanos: 200
        }
    );
    assert_eq!(total[0].day, None);
    let by_day = store
        .query_usage(
            &query(
                GroupBy {
                    day: true,
                    model: true,
                    ..GroupBy::default()
                },
                0,
            ),
            100,
        )
        .await
        .expect("by day");
    let days: Vec<(Option<i64>, Option<String>, i64)> = by_day
        .iter()
        .map(|r| (r.day, r.model.clone(), r.counts.calls))
        .collect();
    assert_eq!(
        days,
        vec![
            (Some(100), Some("a".into()), 2),
            (Some(101), Some("b".into()), 1)
        ]
    );
    let mut only_ann = query(
        GroupBy {
            user: true,
            ..GroupBy::default()
        },
        0,
    );
    only_ann.username = Some("ann".into());
    let ann = store.query_usage(&only_ann, 100).await.expect("ann");
    assert_eq!(ann.len(), 1);
    assert_eq!(
        (ann[0].username.as_deref(), ann[0].counts.calls),
        (Some("ann"), 1)
    );
    // Outside the days asked for, nothing.
    assert!(
        store
            .query_usage(&query(GroupBy::default(), 102), 100)
            .await
            .expect("none")
            .is_empty()
    );
}
