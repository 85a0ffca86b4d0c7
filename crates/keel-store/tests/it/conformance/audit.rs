//! The audit log's storage: entries commit with the writes they record (and only with writes
//! that commit), sequencing gives gapless indices whose tree matches the entries, even with
//! sequencers and writers racing, and checkpoints, pages and searches behave.

use std::sync::Arc;

use keel_audit::hash::leaf_hash;
use keel_audit::tree::{self, Frontier};
use keel_core::audit::scope::{self, Scope};
use keel_core::audit::{
    Actor, AuditQuery, AuditRecord, AuditStore, EventKind, Outcome, Resource, StoredCheckpoint,
};

use super::{Fixture, experiment, point, run_named};

fn record(action: &str, actor: &str, resource_id: &str, time_ms: i64) -> AuditRecord {
    AuditRecord::new(
        EventKind::Request,
        time_ms,
        Actor {
            id: None,
            kind: "user",
            name: actor.to_owned(),
        },
        action,
        Resource {
            id: Some(resource_id.to_owned()),
            kind: "Run".to_owned(),
        },
        Outcome::Failure,
    )
}

async fn sequence_all(store: &Arc<dyn AuditStore>) -> keel_core::audit::TreeHead {
    loop {
        let round = store.sequence(64).await.expect("sequence");
        if round.appended == 0 {
            return round.head;
        }
    }
}

/// Every sequenced entry in leaf order.
async fn all_entries(store: &Arc<dyn AuditStore>) -> Vec<keel_core::audit::LoggedEntry> {
    let mut out = Vec::new();
    loop {
        let page = store.entries(out.len() as u64, 100).await.expect("entries");
        if page.is_empty() {
            return out;
        }
        out.extend(page);
    }
}

/// The head's root is the Merkle root of the entries in leaf order, indices are 0..n.
async fn assert_tree_matches_entries(store: &Arc<dyn AuditStore>) -> u64 {
    let head = store.tree_head().await.expect("head");
    let entries = all_entries(store).await;
    assert_eq!(entries.len() as u64, head.size);
    let mut frontier = Frontier::empty();
    let mut completed = Vec::new();
    for (i, e) in entries.iter().enumerate() {
        assert_eq!(e.leaf_index, Some(i as u64), "gapless, in order");
        frontier.push(leaf_hash(&e.entry), &mut completed);
    }
    assert_eq!(frontier.root(), head.root);
    head.size
}

pub async fn entries_commit_only_with_the_writes_they_record(f: Fixture) {
    let audit = f.audit_store();
    let t = f.tracking();
    let ok = Scope::new(record("experiments.create", "alice", "", 1));
    let exp = scope::run(ok.clone(), experiment(&t, "audited")).await;
    assert!(ok.committed());
    // A write refused before it changed anything leaves no entry.
    let refused = Scope::new(record("runs.create", "bob", "", 2));
    let result = scope::run(
        refused.clone(),
        t.create_run(keel_core::tracking::CreateRun {
            experiment_id: Some("no-such-experiment".into()),
            ..Default::default()
        }),
    )
    .await;
    assert!(result.is_err());
    assert!(!refused.committed());
    let found = audit
        .search_entries(&AuditQuery {
            max_results: 10,
            ..Default::default()
        })
        .await
        .expect("search");
    assert_eq!(found.items.len(), 1);
    let entry: serde_json::Value = serde_json::from_slice(&found.items[0].entry).expect("json");
    assert_eq!(entry["outcome"], "success");
    assert_eq!(entry["actor"]["name"], "alice");
    // The domain names what it created.
    assert_eq!(entry["resource"]["kind"], "Experiment");
    assert_eq!(entry["resource"]["id"], exp.as_str());
    // Sequenced as it commits (SQLite) or by the sequencer (PostgreSQL): either way, once.
    assert!(matches!(found.items[0].leaf_index, None | Some(0)));
    assert_eq!(sequence_all(&audit).await.size, 1);
}

pub async fn concurrent_metric_writes_each_commit_their_own_entry(f: Fixture) {
    let audit = f.audit_store();
    let t = f.tracking();
    let exp = experiment(&t, "metrics").await;
    let run = run_named(&t, &exp, "r").await;
    let mut tasks = Vec::new();
    for i in 0..40i64 {
        let t = t.clone();
        let run_id = run.info.run_id.clone();
        tasks.push(tokio::spawn(async move {
            let s = Scope::new(record("runs.update", &format!("writer-{i}"), &run_id, i));
            scope::run(s.clone(), t.log_metric(&run_id, point("loss", 1.0, i, i)))
                .await
                .expect("log");
            assert!(s.committed());
        }));
    }
    for task in tasks {
        task.await.expect("task");
    }
    let found = audit
        .search_entries(&AuditQuery {
            action: Some("runs.update".into()),
            max_results: 100,
            ..Default::default()
        })
        .await
        .expect("search");
    let mut actors: Vec<String> = found
        .items
        .iter()
        .map(|e| {
            let v: serde_json::Value = serde_json::from_slice(&e.entry).expect("json");
            v["actor"]["name"].as_str().unwrap_or_default().to_owned()
        })
        .collect();
    actors.sort();
    let mut expected: Vec<String> = (0..40).map(|i| format!("writer-{i}")).collect();
    expected.sort();
    assert_eq!(actors, expected, "each write's entry exactly once");
}

pub async fn sequencing_builds_the_tree_of_the_entries_and_proofs_verify(f: Fixture) {
    let audit = f.audit_store();
    let records: Vec<_> = (0..150)
        .map(|i| record("runs.update", "alice", &format!("r{i}"), i))
        .map(|r| r.to_row().expect("row"))
        .collect();
    for chunk in records.chunks(50) {
        audit.append_entries(chunk.to_vec()).await.expect("append");
    }
    let head = sequence_all(&audit).await;
    assert_eq!(head.size, 150);
    assert_eq!(assert_tree_matches_entries(&audit).await, 150);
    // Proofs from the stored nodes verify against the head.
    let entries = all_entries(&audit).await;
    for index in [0u64, 1, 63, 64, 100, 149] {
        let plan = tree::inclusion_plan(index, head.size).expect("plan");
        let nodes = audit.nodes(&plan).await.expect("nodes");
        let proof = tree::inclusion_proof(index, head.size, |id| {
            nodes.iter().find(|(n, _)| *n == id).map(|(_, h)| *h)
        })
        .expect("proof");
        let leaf = leaf_hash(&entries[index as usize].entry);
        tree::verify_inclusion(&leaf, index, head.size, &proof, &head.root).expect("verifies");
    }
    // An old size's root, from the stored nodes, is consistent with the head.
    let plan = tree::consistency_plan(70, head.size).expect("plan");
    let nodes = audit.nodes(&plan).await.expect("nodes");
    let proof = tree::consistency_proof(70, head.size, |id| {
        nodes.iter().find(|(n, _)| *n == id).map(|(_, h)| *h)
    })
    .expect("proof");
    let mut frontier = Frontier::empty();
    let mut completed = Vec::new();
    for e in &entries[..70] {
        frontier.push(leaf_hash(&e.entry), &mut completed);
    }
    tree::verify_consistency(70, head.size, &frontier.root(), &head.root, &proof)
        .expect("consistent");
}

pub async fn racing_writers_and_sequencers_keep_one_gapless_log(f: Fixture) {
    let audit = f.audit_store();
    let mut tasks = Vec::new();
    for w in 0..6 {
        let audit = audit.clone();
        tasks.push(tokio::spawn(async move {
            for i in 0..25 {
                let row = record("runs.update", &format!("w{w}"), &format!("{i}"), i)
                    .to_row()
                    .expect("row");
                audit.append_entries(vec![row]).await.expect("append");
            }
        }));
    }
    for _ in 0..3 {
        let audit = audit.clone();
        tasks.push(tokio::spawn(async move {
            for _ in 0..40 {
                audit.sequence(7).await.expect("sequence");
            }
        }));
    }
    for task in tasks {
        task.await.expect("task");
    }
    sequence_all(&audit).await;
    assert_eq!(assert_tree_matches_entries(&audit).await, 150);
}

pub async fn checkpoints_keys_and_searches(f: Fixture) {
    let audit = f.audit_store();
    // The first key registered is the log's.
    assert_eq!(audit.register_log_key("k1").await.expect("key"), "k1");
    assert_eq!(audit.register_log_key("k2").await.expect("key"), "k1");
    assert_eq!(audit.latest_checkpoint().await.expect("latest"), None);
    let checkpoint = |size: u64| StoredCheckpoint {
        tree_size: size,
        root: [size as u8; 32],
        note: format!("note {size}\n"),
        created_ms: size as i64,
        timestamp: None,
    };
    for size in [1, 5, 9] {
        assert!(audit.add_checkpoint(&checkpoint(size)).await.expect("add"));
    }
    assert!(!audit.add_checkpoint(&checkpoint(5)).await.expect("again"));
    audit
        .set_checkpoint_timestamp(5, b"token")
        .await
        .expect("timestamp");
    let latest = audit.latest_checkpoint().await.expect("latest");
    assert_eq!(latest.map(|c| c.tree_size), Some(9));
    let from = audit.checkpoints(2, 10).await.expect("list");
    assert_eq!(from.iter().map(|c| c.tree_size).collect::<Vec<_>>(), [5, 9]);
    assert_eq!(from[0].timestamp.as_deref(), Some(&b"token"[..]));

    let mut rows = Vec::new();
    for i in 0..30i64 {
        let mut r = record(
            if i % 3 == 0 {
                "runs.delete"
            } else {
                "runs.update"
            },
            if i % 2 == 0 { "alice" } else { "bob" },
            &format!("run-{}", i % 5),
            1000 + i,
        );
        r.outcome = if i % 10 == 0 {
            Outcome::Denied
        } else {
            Outcome::Success
        };
        rows.push(r.to_row().expect("row"));
    }
    audit.append_entries(rows).await.expect("append");
    let search = |q: AuditQuery| {
        let audit = audit.clone();
        async move { audit.search_entries(&q).await.expect("search") }
    };
    let times = |page: &keel_core::entities::Page<keel_core::audit::LoggedEntry>| {
        page.items
            .iter()
            .map(|e| e.time_ms - 1000)
            .collect::<Vec<_>>()
    };
    let q = AuditQuery {
        actor: Some("alice".into()),
        action: Some("runs.delete".into()),
        max_results: 100,
        ..Default::default()
    };
    assert_eq!(times(&search(q).await), [24, 18, 12, 6, 0]);
    let q = AuditQuery {
        resource_id: Some("run-2".into()),
        resource_kind: Some("Run".into()),
        outcome: Some(Outcome::Success),
        max_results: 100,
        ..Default::default()
    };
    assert_eq!(times(&search(q).await), [27, 22, 17, 12, 7, 2]);
    let q = AuditQuery {
        outcome: Some(Outcome::Denied),
        since_ms: Some(1010),
        until_ms: Some(1021),
        max_results: 100,
        ..Default::default()
    };
    assert_eq!(times(&search(q).await), [20, 10]);
    // Pages, newest first, each token continuing where the last page ended.
    let mut seen = Vec::new();
    let mut token = None;
    loop {
        let page = search(AuditQuery {
            actor: Some("bob".into()),
            max_results: 4,
            before_seq: token,
            ..Default::default()
        })
        .await;
        seen.extend(times(&page));
        match page.next_page_token {
            Some(t) => token = Some(keel_core::paging::decode(Some(&t)).expect("token")),
            None => break,
        }
    }
    assert_eq!(
        seen,
        (0..30).rev().filter(|i| i % 2 == 1).collect::<Vec<_>>()
    );
}

pub async fn retention_prunes_old_signed_entries_and_the_tree_still_verifies(f: Fixture) {
    use std::time::Duration;

    use keel_audit::note::NoteSigner;
    use keel_core::audit::{AuditLog, AuditSettings, Pruned};
    use keel_core::clock::{Clock, SystemClock};

    let store = f.audit_store();
    let pem = NoteSigner::generate_pem().expect("key");
    let signer = || NoteSigner::from_pem("keel.test/audit", &pem).expect("signer");
    let days = |n: u64| Duration::from_secs(n * 86_400);
    let short = AuditSettings {
        retention: Some(days(180)),
        ..AuditSettings::default()
    };
    let err = AuditLog::open(store.clone(), signer(), short)
        .await
        .expect_err("under six months is refused");
    assert!(err.to_string().contains("184"), "{err}");
    let log = AuditLog::open(
        store.clone(),
        signer(),
        AuditSettings {
            retention: Some(days(200)),
            ..AuditSettings::default()
        },
    )
    .await
    .expect("open");

    let day_ms = 86_400_000i64;
    let now = SystemClock.now_millis();
    // More than one deletion transaction's worth.
    const OLD: u64 = 4500;
    let old: Vec<_> = (0..OLD as i64)
        .map(|i| {
            record(
                "runs.update",
                "alice",
                &format!("old{i}"),
                now - 300 * day_ms + i,
            )
        })
        .collect();
    let kept: Vec<_> = (0..10)
        .map(|i| {
            record(
                "runs.update",
                "bob",
                &format!("kept{i}"),
                now - 190 * day_ms + i,
            )
        })
        .collect();
    log.append(&old).await.expect("append");
    log.append(&kept).await.expect("append");
    log.sequence().await.expect("sequence");
    let before: Vec<_> = all_entries(&store)
        .await
        .iter()
        .map(|e| leaf_hash(&e.entry))
        .collect();
    // Only entries a signed checkpoint covers are pruned.
    assert_eq!(log.prune_expired().await.expect("prune"), None);
    let first = log.checkpoint_now().await.expect("checkpoint");
    assert_eq!(first.tree_size, OLD + 10);
    assert_eq!(
        log.prune_expired().await.expect("prune"),
        Some(Pruned {
            below: OLD,
            removed: OLD,
            more: false,
        })
    );
    assert_eq!(log.pruned_below().await.expect("mark"), OLD);
    assert_eq!(
        log.prune_expired().await.expect("again"),
        None,
        "nothing more"
    );
    let page = log.entries(0, 100).await.expect("entries");
    assert_eq!(page.first().and_then(|e| e.leaf_index), Some(OLD));
    assert!(
        log.search(&AuditQuery {
            actor: Some("alice".into()),
            max_results: 10,
            ..AuditQuery::default()
        })
        .await
        .expect("search")
        .items
        .is_empty(),
        "pruned entries are gone from searches too"
    );

    // The pass recorded itself.
    let head = log.sequence().await.expect("sequence");
    assert_eq!(head.size, OLD + 11);
    let last = log.entries(OLD + 10, 1).await.expect("entry");
    let entry: serde_json::Value = serde_json::from_slice(&last[0].entry).expect("json");
    assert_eq!(entry["action"], "audit.prune");
    assert_eq!(entry["event"], "system");
    assert_eq!(entry["actor"]["kind"], "system");
    assert_eq!(entry["detail"]["pruned_below"], OLD);
    assert_eq!(entry["detail"]["retention_days"], 200);

    // The leaf hashes stay: every checkpoint and proof still verifies.
    let second = log.checkpoint_now().await.expect("checkpoint");
    let size = OLD + 11;
    let mut hashes = Vec::new();
    while (hashes.len() as u64) < size {
        let count = (size - hashes.len() as u64).min(1000);
        hashes.extend(
            log.leaf_hashes(hashes.len() as u64, count)
                .await
                .expect("leaf hashes"),
        );
    }
    assert_eq!(hashes[..before.len()], before[..]);
    let mut frontier = Frontier::empty();
    let mut completed = Vec::new();
    for (i, h) in hashes.iter().enumerate() {
        frontier.push(*h, &mut completed);
        if i as u64 == first.tree_size - 1 {
            assert_eq!(frontier.root(), first.root);
        }
    }
    assert_eq!(frontier.root(), second.root);
    for index in [0, OLD - 1, OLD, size - 1] {
        let proof = log.inclusion_proof(index, size).await.expect("proof");
        tree::verify_inclusion(&hashes[index as usize], index, size, &proof, &second.root)
            .expect("verifies");
    }
    let proof = log
        .consistency_proof(first.tree_size, size)
        .await
        .expect("proof");
    tree::verify_consistency(first.tree_size, size, &first.root, &second.root, &proof)
        .expect("consistent");
    assert!(log.leaf_hashes(0, 1001).await.is_err(), "bounded");
}

/// A search pages through every match, newest first, however the matches are spread over
/// transactions (here 320, more than the stores read at once) and whatever other entries share
/// them; a page token resumes exactly where the last page ended.
pub async fn searches_find_every_match_across_many_transactions(f: Fixture) {
    let audit = f.audit_store();
    let mut expected = Vec::new();
    for t in 0..320i64 {
        let mut rows = Vec::new();
        for k in 0..3i64 {
            let n = t * 3 + k;
            // Sparse matches: alice's deletes, one transaction in seven.
            let (actor, action) = match (t % 7, k) {
                (0, 1) => ("alice", "runs.delete"),
                (_, 0) => ("alice", "runs.update"),
                _ => ("bob", "runs.delete"),
            };
            let mut r = record(action, actor, &format!("run-{}", n % 5), n);
            r.outcome = Outcome::Success;
            if actor == "alice" && action == "runs.delete" {
                expected.push(r.to_row().expect("row").entry);
            }
            rows.push(r.to_row().expect("row"));
        }
        audit.append_entries(rows).await.expect("append");
    }
    sequence_all(&audit).await;
    expected.reverse();
    let mut found = Vec::new();
    let mut before = None;
    loop {
        let page = audit
            .search_entries(&AuditQuery {
                actor: Some("alice".into()),
                action: Some("runs.delete".into()),
                before_seq: before,
                max_results: 7,
                ..Default::default()
            })
            .await
            .expect("search");
        assert!(page.items.len() <= 7);
        found.extend(page.items.iter().map(|e| e.entry.clone()));
        match page.next_page_token {
            Some(token) => before = Some(keel_core::paging::decode(Some(&token)).expect("token")),
            None => break,
        }
    }
    assert_eq!(found.len(), expected.len());
    assert!(found == expected, "every match, newest first");
    // By resource and time too: run-3's entries from the second half, all of them.
    let since = 480;
    let by_resource = audit
        .search_entries(&AuditQuery {
            resource_kind: Some("Run".into()),
            resource_id: Some("run-3".into()),
            since_ms: Some(since),
            max_results: 1000,
            ..Default::default()
        })
        .await
        .expect("search");
    let want = (since..960).filter(|n| n % 5 == 3).count();
    assert_eq!(by_resource.items.len(), want);
    assert!(by_resource.next_page_token.is_none());
}
