//! The conformance suite on the SQLite store, plus checks only SQLite has (files, migrations).

use std::path::{Path, PathBuf};
use std::sync::Arc;

use keel_core::{RegistryStore, TrackingStore, WebhookStore};
use keel_store::StoreUri;
use keel_store::sqlite::SqliteStore;

use crate::conformance::{Fixture, experiment};

async fn open(path: &Path) -> Arc<dyn TrackingStore> {
    Arc::new(SqliteStore::open(path).await.expect("open SQLite store"))
}

/// A SQLite store in a fresh temporary directory, which lives as long as the fixture.
pub async fn fresh() -> Fixture {
    let dir = tempfile::tempdir().expect("temporary directory");
    let path: PathBuf = dir.path().join("nested").join("keel.db");
    let store = SqliteStore::open(&path).await.expect("open SQLite store");
    let registry: Arc<dyn RegistryStore> = Arc::new(store.clone());
    let webhooks: Arc<dyn WebhookStore> = Arc::new(store.clone());
    let traces: Arc<dyn keel_core::traces::TraceStore> = Arc::new(store.clone());
    let identity: Arc<dyn keel_auth::store::IdentityStore> = Arc::new(store.clone());
    let workspaces: Arc<dyn keel_core::WorkspaceStore> = Arc::new(store.clone());
    let audit: Arc<dyn keel_core::audit::AuditStore> = Arc::new(store.clone());
    let gateway: Arc<dyn keel_gateway::GatewayStore> = Arc::new(store.clone());
    Fixture::new(
        Arc::new(store),
        Box::new(move || {
            let path = path.clone();
            Box::pin(async move {
                keel_store::Stores::of(SqliteStore::open(&path).await.expect("reopen SQLite store"))
            })
        }),
        Box::new(dir),
    )
    .with_registry(registry)
    .with_webhooks(webhooks)
    .with_traces(traces)
    .with_identity(identity)
    .with_workspaces(workspaces)
    .with_audit(audit)
    .with_gateway(gateway)
}

conformance_suite!(suite, async || fresh().await);

/// Rows of the migration ledger, read with a plain connection.
fn migrations(path: &Path) -> Vec<(i64, String)> {
    let conn = rusqlite::Connection::open(path).expect("open raw");
    let mut stmt = conn
        .prepare("SELECT version, name FROM keel_schema_migrations ORDER BY version")
        .expect("prepare");
    stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
        .expect("query")
        .collect::<rusqlite::Result<Vec<_>>>()
        .expect("rows")
}

#[tokio::test]
async fn reopening_applies_each_migration_once() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("keel.db");
    let store = open(&path).await;
    let t = keel_core::Tracking::new(store.clone());
    let exp = experiment(&t, "kept").await;
    drop(t);
    drop(store);
    let first = migrations(&path);
    assert!(!first.is_empty());
    for _ in 0..3 {
        let store = open(&path).await;
        let t = keel_core::Tracking::new(store);
        assert_eq!(t.get_experiment(&exp).await.expect("kept").name, "kept");
    }
    assert_eq!(migrations(&path), first, "no migration ran twice");
}

#[tokio::test]
async fn newer_schema_is_refused() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("keel.db");
    drop(open(&path).await);
    {
        let conn = rusqlite::Connection::open(&path).expect("open raw");
        conn.execute(
            "INSERT INTO keel_schema_migrations (version, name, applied_at) VALUES (9999, 'future', 0)",
            [],
        )
        .expect("insert");
    }
    let err = SqliteStore::open(&path)
        .await
        .expect_err("a newer schema must be refused");
    assert!(err.message.contains("newer"), "{}", err.message);
}

#[tokio::test]
async fn store_uri_opens_the_same_database() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("via-uri.db");
    let uri = StoreUri::parse(&format!("sqlite:///{}", path.display())).expect("uri");
    let store = keel_store::open_tracking_store(&uri).await.expect("open");
    let t = keel_core::Tracking::new(store);
    let exp = experiment(&t, "via uri").await;
    drop(t);
    let t = keel_core::Tracking::new(open(&path).await);
    assert_eq!(
        t.get_experiment(&exp).await.expect("same file").name,
        "via uri"
    );
}

#[tokio::test]
async fn two_stores_on_one_file_see_each_others_writes() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("shared.db");
    let a = keel_core::Tracking::new(open(&path).await);
    let b = keel_core::Tracking::new(open(&path).await);
    let exp = experiment(&a, "shared").await;
    let run = crate::conformance::run_in(&b, &exp).await;
    let tasks: Vec<_> = [a.clone(), b.clone()]
        .into_iter()
        .enumerate()
        .map(|(i, t)| {
            let id = run.info.run_id.clone();
            tokio::spawn(async move {
                for step in 0..20_i64 {
                    let s = step * 2 + i as i64;
                    t.log_metric(&id, crate::conformance::point("m", 0.0, s, s))
                        .await?;
                }
                Ok::<(), keel_core::Error>(())
            })
        })
        .collect();
    for task in tasks {
        task.await
            .expect("task")
            .expect("writes from both stores succeed");
    }
    let history = crate::conformance::full_history(&a, &run.info.run_id, "m").await;
    assert_eq!(history.len(), 40);
}

/// A database left at schema 8 (before models belonged to workspaces) keeps its models, with
/// their versions, tags and aliases, in `default` when the registry's table is rebuilt.
#[tokio::test]
async fn models_of_schema_8_move_into_default() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("keel.db");
    SqliteStore::upgrade_to(&path, 8).await.expect("schema 8");
    {
        let conn = rusqlite::Connection::open(&path).expect("open raw");
        conn.execute_batch(
            "INSERT INTO registered_models (model_key, name, creation_time, last_updated_time,
                                            description, last_version)
                 VALUES (7, 'churn', 1, 2, 'old', 2);
             INSERT INTO registered_model_tags VALUES (7, 'team', 'core');
             INSERT INTO model_versions VALUES
               (7, 2, 1, 2, NULL, NULL, 'Production', 's3://b/m', NULL, '', NULL, 'READY', NULL,
                NULL);
             INSERT INTO model_version_tags VALUES (7, 2, 'env', 'prod');
             INSERT INTO registered_model_aliases VALUES (7, 'champion', 2);",
        )
        .expect("old rows");
    }
    let store = SqliteStore::open(&path).await.expect("upgrade");
    let registry: Arc<dyn RegistryStore> = Arc::new(store.clone());
    let model = registry
        .get_registered_model("default", "churn")
        .await
        .expect("get")
        .expect("kept in default");
    assert_eq!(model.workspace, "default");
    assert_eq!(model.description.as_deref(), Some("old"));
    assert_eq!(model.tags.len(), 1);
    assert_eq!(model.aliases.len(), 1);
    assert_eq!(model.latest_versions.len(), 1);
    let version = registry
        .get_model_version("default", "churn", 2)
        .await
        .expect("get")
        .expect("version kept");
    assert_eq!(version.tags.len(), 1);
    assert_eq!(version.aliases, ["champion"]);
    assert!(migrations(&path).contains(&(10, "audit".to_owned())));
}

/// A log written by the schema that sequenced after commit (two sequenced entries with every
/// node stored, one committed but not sequenced yet) upgrades into the log sequenced at commit:
/// the waiting entry is sequenced first, in order, and the tree of old and new entries, with
/// every proof, is the tree of the entries in leaf order.
#[tokio::test]
async fn an_audit_log_of_the_previous_schema_upgrades_and_keeps_verifying() {
    use keel_audit::hash::{leaf_hash, node_hash};
    use keel_audit::tree::{self, Frontier};
    use keel_core::audit::{AuditRow, AuditStore, Outcome};

    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("keel.db");
    SqliteStore::upgrade_to(&path, 11).await.expect("schema 11");
    let entry = |n: u64| format!("{{\"n\":{n}}}").into_bytes();
    let (l0, l1) = (leaf_hash(&entry(0)), leaf_hash(&entry(1)));
    let n1 = node_hash(&l0, &l1);
    {
        let conn = rusqlite::Connection::open(&path).expect("open raw");
        for (seq, leaf) in [(1, Some(0)), (2, Some(1)), (3, None)] {
            conn.execute(
                "INSERT INTO audit_entries (seq, leaf_index, time_ms, actor, action,
                                            resource_kind, resource_id, outcome, entry)
                 VALUES (?1, ?2, 1, 'alice', 'runs.update', 'Run', 'r', 'success', ?3)",
                rusqlite::params![seq, leaf, entry(seq as u64 - 1)],
            )
            .expect("old entry");
        }
        for (level, idx, hash) in [(0, 0, l0), (0, 1, l1), (1, 0, n1)] {
            conn.execute(
                "INSERT INTO audit_nodes (level, idx, hash) VALUES (?1, ?2, ?3)",
                rusqlite::params![level, idx, hash.as_slice()],
            )
            .expect("old node");
        }
        conn.execute("UPDATE audit_tree SET size = 2, root = ?1", [n1.as_slice()])
            .expect("old head");
    }
    let store = SqliteStore::open(&path).await.expect("upgrade");
    let audit: Arc<dyn AuditStore> = Arc::new(store);
    let round = audit.sequence(100).await.expect("sequence");
    assert_eq!(round.appended, 1, "the waiting entry");
    assert_eq!(round.head.size, 3);
    assert_eq!(audit.sequence(100).await.expect("again").appended, 0);
    let rows = (3..40)
        .map(|n| AuditRow {
            time_ms: 2,
            actor: "bob".into(),
            action: "runs.update".into(),
            resource_kind: "Run".into(),
            resource_id: "r".into(),
            outcome: Outcome::Success,
            entry: entry(n),
        })
        .collect();
    audit.append_entries(rows).await.expect("new entries");

    let head = audit.tree_head().await.expect("head");
    let stored = audit.entries(0, 100).await.expect("entries");
    assert_eq!(stored.len(), 40);
    let mut frontier = Frontier::empty();
    let mut sink = Vec::new();
    for (i, e) in stored.iter().enumerate() {
        assert_eq!(e.leaf_index, Some(i as u64));
        assert_eq!(
            e.entry,
            entry(i as u64),
            "old, waiting and new entries in order"
        );
        frontier.push(leaf_hash(&e.entry), &mut sink);
    }
    assert_eq!((head.size, head.root), (40, frontier.root()));
    for index in 0..40 {
        let plan = tree::inclusion_plan(index, 40).expect("plan");
        let nodes = audit.nodes(&plan).await.expect("nodes");
        let proof = tree::inclusion_proof(index, 40, |id| {
            nodes.iter().find(|(n, _)| *n == id).map(|(_, h)| *h)
        })
        .expect("proof");
        let leaf = leaf_hash(&stored[index as usize].entry);
        tree::verify_inclusion(&leaf, index, 40, &proof, &head.root).expect("verifies");
    }
}

/// Pruning removes what named the pruned entries from the search postings too (retention
/// deletes actors and resource IDs, not only entries); searches still find every later entry.
#[tokio::test]
async fn pruning_forgets_the_search_keys_of_pruned_entries() {
    use keel_core::audit::{AuditQuery, AuditRow, AuditStore, Outcome};

    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("keel.db");
    let audit: Arc<dyn AuditStore> = Arc::new(SqliteStore::open(&path).await.expect("open"));
    for t in 0..4u64 {
        let rows = (0..10u64)
            .map(|k| AuditRow {
                time_ms: 1,
                actor: format!("user-{t}"),
                action: "runs.update".into(),
                resource_kind: "Run".into(),
                resource_id: format!("run-{}", t * 10 + k),
                outcome: Outcome::Success,
                entry: format!("{{\"n\":{}}}", t * 10 + k).into_bytes(),
            })
            .collect();
        audit.append_entries(rows).await.expect("append");
    }
    assert_eq!(audit.prune(20, None).await.expect("prune"), 20);
    let conn = rusqlite::Connection::open(&path).expect("open raw");
    let named: Vec<String> = conn
        .prepare("SELECT value FROM audit_postings WHERE first_leaf < 20")
        .and_then(|mut s| s.query_map([], |r| r.get(0))?.collect())
        .expect("postings");
    assert!(
        named.iter().all(|v| v == "runs.update" || v == "Run"),
        "only keys that reach past the pruned entries remain: {named:?}"
    );
    let search = |actor: &str| {
        let audit = audit.clone();
        let q = AuditQuery {
            actor: Some(actor.to_owned()),
            max_results: 100,
            ..Default::default()
        };
        async move { audit.search_entries(&q).await.expect("search").items.len() }
    };
    assert_eq!(search("user-1").await, 0);
    assert_eq!(search("user-2").await, 10);
}
