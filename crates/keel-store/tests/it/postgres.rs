//! The conformance suite on the PostgreSQL store, plus checks only PostgreSQL has (migrations
//! under the advisory lock, URIs).
//!
//! Every test gets a database of its own, created through the admin URL
//! (`KEEL_TEST_POSTGRES_URL`, default `postgres://postgres@127.0.0.1:5432/test`) and dropped when
//! the test ends, so runs never interfere. Without a reachable PostgreSQL the tests say they are
//! skipped and pass, except with `CI=true`, where they fail.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use keel_core::{RegistryStore, Tracking, TrackingStore, WebhookStore};
use keel_store::{PostgresConfig, PostgresStore, StoreUri};
use sqlx::{Connection, PgConnection};

use crate::conformance::{Fixture, experiment, run_in};

const DEFAULT_ADMIN_URL: &str = "postgres://postgres@127.0.0.1:5432/test";

fn admin_url() -> String {
    std::env::var("KEEL_TEST_POSTGRES_URL").unwrap_or_else(|_| DEFAULT_ADMIN_URL.to_owned())
}

/// `host:port` of the admin URL, for messages.
fn admin_address() -> String {
    let url = url::Url::parse(&admin_url()).expect("KEEL_TEST_POSTGRES_URL is a URL");
    format!(
        "{}:{}",
        url.host_str().unwrap_or("localhost"),
        url.port().unwrap_or(5432)
    )
}

async fn admin_connection() -> Result<PgConnection, String> {
    match tokio::time::timeout(Duration::from_secs(5), PgConnection::connect(&admin_url())).await {
        Ok(Ok(conn)) => Ok(conn),
        Ok(Err(e)) => Err(e.to_string()),
        Err(_) => Err("timed out".to_owned()),
    }
}

/// A database created for one test and dropped (with any connections left) when this is dropped.
pub struct TestDb {
    name: String,
    url: String,
}

impl TestDb {
    /// Creates a fresh database, or returns `None` (after saying the test is skipped) when
    /// PostgreSQL is not reachable. With `CI=true` an unreachable PostgreSQL fails the test.
    pub async fn create() -> Option<Self> {
        let mut admin = match admin_connection().await {
            Ok(conn) => conn,
            Err(e) => {
                let address = admin_address();
                if std::env::var("CI").as_deref() == Ok("true") {
                    panic!(
                        "PostgreSQL not reachable at {address} ({e}); CI=true requires it \
                         (KEEL_TEST_POSTGRES_URL overrides the admin URL)"
                    );
                }
                println!("skipped: PostgreSQL not reachable at {address}");
                return None;
            }
        };
        static NEXT: AtomicU64 = AtomicU64::new(0);
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.subsec_nanos())
            .unwrap_or(0);
        let name = format!(
            "keel_test_{}_{}_{nanos}",
            std::process::id(),
            NEXT.fetch_add(1, Ordering::Relaxed)
        );
        sqlx::query(&format!("CREATE DATABASE \"{name}\""))
            .execute(&mut admin)
            .await
            .expect("create the test database");
        let _ = admin.close().await;
        let mut url = url::Url::parse(&admin_url()).expect("admin URL");
        url.set_path(&name);
        Some(Self {
            name,
            url: url.to_string(),
        })
    }

    /// The store URI of this database, with extra query parameters such as `pool_size=8`.
    pub fn uri(&self, query: &str) -> String {
        let separator = if self.url.contains('?') { '&' } else { '?' };
        if query.is_empty() {
            self.url.clone()
        } else {
            format!("{}{separator}{query}", self.url)
        }
    }

    pub fn config(&self, query: &str) -> PostgresConfig {
        PostgresConfig::parse(&self.uri(query)).expect("store URI")
    }

    /// A plain connection to this database, for inspecting or preparing it by hand.
    pub async fn connect(&self) -> PgConnection {
        PgConnection::connect(&self.url)
            .await
            .expect("connect to the test database")
    }
}

impl Drop for TestDb {
    fn drop(&mut self) {
        // Drop runs inside the test's runtime, which cannot be blocked on: use a thread with a
        // runtime of its own. Failures are reported, never raised (this may run while unwinding).
        let name = self.name.clone();
        let dropped = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .map_err(|e| e.to_string())?;
            runtime.block_on(async {
                let mut admin = admin_connection().await?;
                sqlx::query(&format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)"))
                    .execute(&mut admin)
                    .await
                    .map_err(|e| e.to_string())?;
                let _ = admin.close().await;
                Ok::<(), String>(())
            })
        })
        .join();
        match dropped {
            Ok(Ok(())) => {}
            Ok(Err(e)) => eprintln!("could not drop test database {}: {e}", self.name),
            Err(_) => eprintln!(
                "could not drop test database {}: thread panicked",
                self.name
            ),
        }
    }
}

async fn open(config: &PostgresConfig) -> Arc<dyn TrackingStore> {
    Arc::new(
        PostgresStore::open(config)
            .await
            .expect("open PostgreSQL store"),
    )
}

/// A PostgreSQL store over a fresh database, dropped with the fixture.
pub async fn fresh() -> Option<Fixture> {
    let db = TestDb::create().await?;
    let config = db.config("pool_size=8");
    let store = PostgresStore::open(&config)
        .await
        .expect("open PostgreSQL store");
    let registry: Arc<dyn RegistryStore> = Arc::new(store.clone());
    let webhooks: Arc<dyn WebhookStore> = Arc::new(store.clone());
    let traces: Arc<dyn keel_core::traces::TraceStore> = Arc::new(store.clone());
    let identity: Arc<dyn keel_auth::store::IdentityStore> = Arc::new(store.clone());
    let workspaces: Arc<dyn keel_core::WorkspaceStore> = Arc::new(store.clone());
    let audit: Arc<dyn keel_core::audit::AuditStore> = Arc::new(store.clone());
    let gateway: Arc<dyn keel_gateway::GatewayStore> = Arc::new(store.clone());
    Some(
        Fixture::new(
            Arc::new(store),
            Box::new(move || {
                let config = config.clone();
                Box::pin(async move {
                    keel_store::Stores::of(
                        PostgresStore::open(&config)
                            .await
                            .expect("reopen PostgreSQL store"),
                    )
                })
            }),
            Box::new(db),
        )
        .with_registry(registry)
        .with_webhooks(webhooks)
        .with_traces(traces)
        .with_identity(identity)
        .with_workspaces(workspaces)
        .with_audit(audit)
        .with_gateway(gateway),
    )
}

conformance_suite!(suite, async || fresh().await);

/// Rows of the migration ledger.
async fn migrations(db: &TestDb) -> Vec<(i64, String)> {
    let mut conn = db.connect().await;
    sqlx::query_as("SELECT version, name FROM keel_schema_migrations ORDER BY version")
        .fetch_all(&mut conn)
        .await
        .expect("ledger")
}

#[tokio::test]
async fn reopening_applies_each_migration_once() {
    let Some(db) = TestDb::create().await else {
        return;
    };
    let config = db.config("");
    let t = Tracking::new(open(&config).await);
    let exp = experiment(&t, "kept").await;
    drop(t);
    let first = migrations(&db).await;
    assert_eq!(
        first,
        vec![
            (1, "tracking".to_owned()),
            (2, "logged_models".to_owned()),
            (3, "search_indexes".to_owned()),
            (4, "registry".to_owned()),
            (5, "metrics_without_foreign_key".to_owned()),
            (6, "webhooks".to_owned()),
            (7, "traces".to_owned()),
            (8, "trace_links_and_assessments".to_owned()),
            (9, "identity".to_owned()),
            (10, "workspaces".to_owned()),
            (11, "registry_workspaces".to_owned()),
            (12, "audit".to_owned()),
            (13, "audit_retention".to_owned()),
            (14, "pending_trace_run_links".to_owned()),
            (15, "gateway_secrets".to_owned()),
            (16, "gateway_model_definitions".to_owned()),
            (17, "gateway_endpoints".to_owned()),
            (18, "gateway_bindings".to_owned()),
            (19, "gateway_limits".to_owned()),
            (20, "gateway_usage".to_owned()),
            (21, "gateway_guardrails".to_owned())
        ]
    );
    for _ in 0..3 {
        let t = Tracking::new(open(&config).await);
        assert_eq!(t.get_experiment(&exp).await.expect("kept").name, "kept");
    }
    assert_eq!(migrations(&db).await, first, "no migration ran twice");
    let uri = StoreUri::parse(&db.uri("")).expect("uri");
    assert!(
        keel_store::upgrade(&uri).await.expect("upgrade").is_empty(),
        "nothing left to apply"
    );
}

/// Replicas starting at once: the advisory lock lets one migrate while the others wait.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_opens_migrate_once() {
    let Some(db) = TestDb::create().await else {
        return;
    };
    let config = db.config("pool_size=2");
    let opens: Vec<_> = (0..6)
        .map(|_| {
            let config = config.clone();
            tokio::spawn(async move { PostgresStore::open(&config).await.map(|_| ()) })
        })
        .collect();
    for open in opens {
        open.await.expect("task").expect("every replica opens");
    }
    assert_eq!(migrations(&db).await.len(), 21);
}

#[tokio::test]
async fn newer_schema_is_refused() {
    let Some(db) = TestDb::create().await else {
        return;
    };
    let config = db.config("");
    drop(open(&config).await);
    let mut conn = db.connect().await;
    sqlx::query(
        "INSERT INTO keel_schema_migrations (version, name, applied_at) VALUES (9999, 'future', 0)",
    )
    .execute(&mut conn)
    .await
    .expect("insert");
    let err = PostgresStore::open(&config)
        .await
        .expect_err("a newer schema must be refused");
    assert!(err.message.contains("newer"), "{}", err.message);
}

/// A database as the first Keel version left it (schema 1, with data) upgrades in place.
#[tokio::test]
async fn database_from_schema_one_upgrades_cleanly() {
    let Some(db) = TestDb::create().await else {
        return;
    };
    let config = db.config("");
    let applied = keel_store::postgres::upgrade_to(&config, 1)
        .await
        .expect("schema 1");
    assert_eq!(applied.len(), 1);
    let mut conn = db.connect().await;
    sqlx::raw_sql(
        "INSERT INTO experiments VALUES (7, 'old', 'mlflow-artifacts:/7', 'active', 1, 1, NULL);
         INSERT INTO runs (run_uuid, experiment_id, name, user_id, status, start_time, end_time,
             artifact_uri, lifecycle_stage)
             VALUES ('0123456789abcdef0123456789abcdef', 7, 'r', 'u', 'FINISHED', 1, 2, 'a', 'active');
         INSERT INTO metrics SELECT run_key, 'm', 0, 5, 0.5, 0, NULL, NULL, NULL FROM runs;
         INSERT INTO latest_metrics SELECT run_key, 'm', 0, 5, 0.5, 0 FROM runs;
         INSERT INTO params SELECT run_key, 'lr', '0.1' FROM runs;",
    )
    .execute(&mut conn)
    .await
    .expect("old data");
    assert_eq!(migrations(&db).await.len(), 1);

    let uri = StoreUri::parse(&db.uri("")).expect("uri");
    let applied = keel_store::upgrade(&uri).await.expect("upgrade");
    assert_eq!(
        applied,
        vec![
            (2, "logged_models"),
            (3, "search_indexes"),
            (4, "registry"),
            (5, "metrics_without_foreign_key"),
            (6, "webhooks"),
            (7, "traces"),
            (8, "trace_links_and_assessments"),
            (9, "identity"),
            (10, "workspaces"),
            (11, "registry_workspaces"),
            (12, "audit"),
            (13, "audit_retention"),
            (14, "pending_trace_run_links"),
            (15, "gateway_secrets"),
            (16, "gateway_model_definitions"),
            (17, "gateway_endpoints"),
            (18, "gateway_bindings"),
            (19, "gateway_limits"),
            (20, "gateway_usage"),
            (21, "gateway_guardrails")
        ]
    );
    let t = Tracking::new(open(&config).await);
    let run = t
        .get_run("0123456789abcdef0123456789abcdef")
        .await
        .expect("old run");
    assert_eq!(run.data.metrics.len(), 1);
    assert_eq!(run.data.params.len(), 1);
    assert_eq!(
        t.get_experiment("7").await.expect("old experiment").name,
        "old"
    );
    // The new schema works on the old data.
    let model = t
        .create_logged_model(keel_core::tracking::CreateLoggedModel {
            experiment_id: "7".into(),
            name: Some("after-upgrade".into()),
            ..Default::default()
        })
        .await
        .expect("logged model on upgraded schema");
    assert_eq!(model.experiment_id, "7");
    // The old rows are in schema 3's indexes: searches by param value and param order find them.
    for (filter, order_by) in [
        ("params.lr = '0.1'", ""),
        ("params.lr LIKE '0.%'", "params.lr"),
    ] {
        let page = t
            .search_runs(keel_core::tracking::SearchRuns {
                experiment_ids: vec!["7".into()],
                filter: Some(filter.into()),
                order_by: [order_by]
                    .into_iter()
                    .filter(|o| !o.is_empty())
                    .map(String::from)
                    .collect(),
                ..Default::default()
            })
            .await
            .expect("search");
        assert_eq!(page.items.len(), 1, "{filter}");
    }
}

#[tokio::test]
async fn store_uri_opens_the_same_database() {
    let Some(db) = TestDb::create().await else {
        return;
    };
    for scheme_uri in [
        db.uri("pool_size=2"),
        db.uri("pool_size=2")
            .replacen("postgres://", "postgresql://", 1),
    ] {
        let uri = StoreUri::parse(&scheme_uri).expect("uri");
        let t = Tracking::new(keel_store::open_tracking_store(&uri).await.expect("open"));
        t.ensure_default_experiment().await.expect("default");
    }
    let t = Tracking::new(open(&db.config("")).await);
    let exp = experiment(&t, "via uri").await;
    let run = run_in(&t, &exp).await;
    assert_eq!(
        t.get_run(&run.info.run_id)
            .await
            .expect("run")
            .info
            .experiment_id,
        exp
    );
}

/// Connection failures name the server but never the password.
#[tokio::test]
async fn connect_errors_hide_the_password() {
    let uri = StoreUri::parse(
        "postgresql://keel:hunter2@127.0.0.1:1/nowhere?acquire_timeout_ms=500&pool_size=1",
    )
    .expect("uri");
    let e = keel_store::open_tracking_store(&uri)
        .await
        .err()
        .expect("nothing listens on port 1");
    assert!(!e.message.contains("hunter2"), "{}", e.message);
    assert!(e.message.contains("127.0.0.1:1"), "{}", e.message);
    assert!(!format!("{uri:?}").contains("hunter2"));
}

/// A write that loses a deadlock is run again and succeeds; its client never sees the deadlock.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_deadlocked_write_is_retried() {
    let Some(db) = TestDb::create().await else {
        return;
    };
    let t = Tracking::new(open(&db.config("pool_size=2")).await);
    let exp = experiment(&t, "deadlock").await;
    let run = run_in(&t, &exp).await.info.run_id;
    t.log_batch(
        &run,
        Vec::new(),
        Vec::new(),
        vec![
            crate::conformance::tag("k1", "0"),
            crate::conformance::tag("k2", "0"),
        ],
    )
    .await
    .expect("tags");

    // Another session locks k2 first; the store's batch then locks k1 and waits for k2.
    let mut other = db.connect().await;
    let set = "UPDATE tags SET value = 'other' WHERE key = $1 \
               AND run_key = (SELECT run_key FROM runs WHERE run_uuid = $2)";
    sqlx::query("BEGIN")
        .execute(&mut other)
        .await
        .expect("begin");
    sqlx::query(set)
        .bind("k2")
        .bind(&run)
        .execute(&mut other)
        .await
        .expect("lock k2");
    let batch = {
        let (t, run) = (t.clone(), run.clone());
        tokio::spawn(async move {
            t.log_batch(
                &run,
                Vec::new(),
                Vec::new(),
                vec![
                    crate::conformance::tag("k1", "store"),
                    crate::conformance::tag("k2", "store"),
                ],
            )
            .await
        })
    };
    // Wait until the store's session is blocked on k2 (holding k1).
    let mut watcher = db.connect().await;
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    loop {
        let waiting: i64 = sqlx::query_scalar(
            "SELECT count(*) FROM pg_stat_activity \
             WHERE datname = current_database() AND wait_event_type = 'Lock'",
        )
        .fetch_one(&mut watcher)
        .await
        .expect("activity");
        if waiting > 0 {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "the batch never blocked"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    // Now the other session wants k1: a deadlock. The store's session has waited longer, so its
    // deadlock check (after deadlock_timeout, 1 s by default) fires first and aborts it.
    sqlx::query(set)
        .bind("k1")
        .bind(&run)
        .execute(&mut other)
        .await
        .expect("the other session wins the deadlock");
    sqlx::query("COMMIT")
        .execute(&mut other)
        .await
        .expect("commit");

    batch
        .await
        .expect("task")
        .expect("the store retried its batch after the deadlock");
    let got = t.get_run(&run).await.expect("run");
    let value = |k: &str| {
        got.data
            .tags
            .iter()
            .find(|t| t.key == k)
            .map(|t| t.value.clone())
    };
    assert_eq!(value("k1").as_deref(), Some("store"));
    assert_eq!(value("k2").as_deref(), Some("store"));
}

/// Concurrent metric-only writes are committed in groups, and each keeps its own outcome: writes
/// to live runs land (every point once, also those stored before; the latest value is the newest
/// point), writes to a deleted or missing run fail alone, with the errors a write of its own
/// gets.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn grouped_metric_writes_keep_their_own_outcomes() {
    use crate::conformance::{T0, expect_err, full_history, get_run, latest, point};
    use keel_core::ErrorCode;

    let Some(db) = TestDb::create().await else {
        return;
    };
    let t = Tracking::new(open(&db.config("pool_size=4")).await);
    let exp = experiment(&t, "groups").await;
    let live = [
        run_in(&t, &exp).await.info.run_id,
        run_in(&t, &exp).await.info.run_id,
    ];
    let deleted = run_in(&t, &exp).await.info.run_id;
    t.delete_run(&deleted).await.expect("delete");
    let missing = "0123456789abcdef0123456789abcdef".to_owned();
    // Some points are stored already: writing them again (in a group) stores nothing twice.
    for i in (0..60_i64).filter(|i| i % 5 < 3) {
        let run = &live[usize::from(i % 5 == 1)];
        t.log_metric(run, point("m", i as f64, T0 + i, i))
            .await
            .expect("stored before");
    }

    let writes: Vec<_> = (0..300_i64)
        .map(|i| {
            let t = t.clone();
            let run = match i % 5 {
                3 => deleted.clone(),
                4 => missing.clone(),
                k => live[usize::from(k % 2 == 1)].clone(),
            };
            tokio::spawn(async move {
                // Some writes carry several points (log-batch), most one (log-metric).
                let points = if i % 7 == 0 {
                    vec![
                        point("m", i as f64, T0 + i, i),
                        point("n", -(i as f64), T0 + i, i),
                    ]
                } else {
                    vec![point("m", i as f64, T0 + i, i)]
                };
                (i, t.log_batch(&run, points, Vec::new(), Vec::new()).await)
            })
        })
        .collect();
    let mut landed = [Vec::new(), Vec::new()];
    for w in writes {
        let (i, result) = w.await.expect("task");
        match i % 5 {
            3 => {
                expect_err(result, ErrorCode::InvalidParameterValue);
            }
            4 => {
                expect_err(result, ErrorCode::ResourceDoesNotExist);
            }
            k => {
                result.expect("write to a live run");
                landed[usize::from(k % 2 == 1)].push(i);
            }
        }
    }
    for (run, steps) in live.iter().zip(landed) {
        let history = full_history(&t, run, "m").await;
        let mut got: Vec<i64> = history.iter().map(|m| m.step).collect();
        got.sort_unstable();
        assert_eq!(got, steps, "every acknowledged point of {run}");
        let newest = *steps.iter().max().expect("points");
        assert_eq!(
            latest(&get_run(&t, run).await, "m").expect("m").step,
            newest
        );
    }
    assert!(full_history(&t, &deleted, "m").await.is_empty());
}

/// Metric points have no foreign key (schema 5): purging a run must delete them itself, both the
/// points written one at a time and those written in groups.
#[tokio::test]
async fn purge_deletes_the_metric_points_of_purged_runs() {
    use crate::conformance::point;

    let Some(db) = TestDb::create().await else {
        return;
    };
    let t = Tracking::new(open(&db.config("pool_size=4")).await);
    let exp = experiment(&t, "purge-points").await;
    let doomed = run_in(&t, &exp).await.info.run_id;
    let kept = run_in(&t, &exp).await.info.run_id;
    for run in [&doomed, &kept] {
        for step in 0..3 {
            t.log_metric(run, point("m", 1.0, 1_000 + step, step))
                .await
                .expect("log");
        }
    }
    t.delete_run(&doomed).await.expect("delete");
    let garbage = t.find_garbage(0).await.expect("garbage");
    assert_eq!(t.purge(&garbage).await.expect("purge").runs.len(), 1);
    let mut conn = db.connect().await;
    let left: Vec<(String, i64)> = sqlx::query_as(
        "SELECT r.run_uuid, count(*) FROM metrics m LEFT JOIN runs r USING (run_key) \
         GROUP BY r.run_uuid",
    )
    .fetch_all(&mut conn)
    .await
    .expect("count points");
    assert_eq!(left, vec![(kept, 3)], "only the kept run's points remain");
}

/// A database left at schema 10 (before models belonged to workspaces) keeps its models, with
/// their versions, tags and aliases, in `default`.
#[tokio::test]
async fn models_of_schema_10_move_into_default() {
    let Some(db) = TestDb::create().await else {
        return;
    };
    let config = db.config("");
    keel_store::postgres::upgrade_to(&config, 10)
        .await
        .expect("schema 10");
    let mut conn = db.connect().await;
    sqlx::raw_sql(
        "INSERT INTO registered_models (model_key, name, creation_time, last_updated_time,
                                        description, last_version)
             OVERRIDING SYSTEM VALUE VALUES (7, 'churn', 1, 2, 'old', 2);
         INSERT INTO registered_model_tags VALUES (7, 'team', 'core');
         INSERT INTO model_versions (model_key, version, creation_time, last_updated_time,
                                     current_stage, source, run_id, status)
             VALUES (7, 2, 1, 2, 'Production', 's3://b/m', '', 'READY');
         INSERT INTO model_version_tags VALUES (7, 2, 'env', 'prod');
         INSERT INTO registered_model_aliases VALUES (7, 'champion', 2);",
    )
    .execute(&mut conn)
    .await
    .expect("old rows");
    let store = PostgresStore::open(&config).await.expect("upgrade");
    let model = store
        .get_registered_model("default", "churn")
        .await
        .expect("get")
        .expect("kept in default");
    assert_eq!(model.workspace, "default");
    assert_eq!(model.tags.len(), 1);
    assert_eq!(model.aliases.len(), 1);
    let version = store
        .get_model_version("default", "churn", 2)
        .await
        .expect("get")
        .expect("version kept");
    assert_eq!(version.tags.len(), 1);
    assert_eq!(version.aliases, ["champion"]);
}
