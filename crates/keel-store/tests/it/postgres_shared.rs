//! Two PostgreSQL stores over one database, as two Keel replicas would use it, each hammered by
//! 16 concurrent tasks writing to the same runs, experiments and tags. Every acknowledged write
//! must be there afterwards, read through the other store, and no client may see a deadlock or
//! duplicate-key error.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use keel_core::tracking::{CreateExperiment, CreateRun};
use keel_core::{ErrorCode, Tracking, TrackingStore, ViewType};
use keel_store::PostgresStore;

use crate::conformance::{T0, experiment, full_history, get_run, param, point, run_in, tag};
use crate::postgres::TestDb;

const TASKS: usize = 16;
const ROUNDS: usize = 8;
const SHARED_RUNS: usize = 3;
const POINTS_PER_BATCH: usize = 5;

/// What one task had acknowledged.
#[derive(Default)]
struct Acked {
    /// `(shared run index, step)` of every metric point.
    points: Vec<(usize, i64)>,
    /// `(shared run index, param key, value)`.
    params: Vec<(usize, String, String)>,
    /// `(shared run index, tag key, round)` of the task's own tag.
    own_tags: Vec<(usize, String, usize)>,
    created_runs: Vec<String>,
    /// Rounds in which this task's experiment creation won the race.
    won_races: Vec<usize>,
    counter_increments: usize,
}

async fn hammer(
    t: Tracking,
    store: Arc<dyn TrackingStore>,
    replica: usize,
    task: usize,
    experiment_id: String,
    shared: Arc<Vec<String>>,
) -> keel_core::Result<Acked> {
    let mut acked = Acked::default();
    for round in 0..ROUNDS {
        let me = format!("{replica}-{task}-{round}");
        let r = (task + round) % SHARED_RUNS;
        let run_id = &shared[r];
        let first_step = ((replica * TASKS + task) * ROUNDS + round) * POINTS_PER_BATCH;
        let steps: Vec<i64> = (0..POINTS_PER_BATCH)
            .map(|j| (first_step + j) as i64)
            .collect();
        let own_tag = format!("t-{replica}-{task}");
        t.log_batch(
            run_id,
            steps
                .iter()
                .map(|s| point("m", *s as f64, T0 + s, *s))
                .collect(),
            vec![param(&format!("p-{me}"), &me)],
            vec![
                tag(&format!("shared-{}", round % 4), &me),
                tag(&own_tag, &round.to_string()),
            ],
        )
        .await?;
        acked.points.extend(steps.iter().map(|s| (r, *s)));
        acked.params.push((r, format!("p-{me}"), me.clone()));
        acked.own_tags.push((r, own_tag, round));

        let run = t
            .create_run(CreateRun {
                experiment_id: Some(experiment_id.clone()),
                run_name: Some(format!("run-{me}")),
                ..Default::default()
            })
            .await?;
        acked.created_runs.push(run.info.run_id);

        t.set_experiment_tag(&experiment_id, tag("last-writer", &me))
            .await?;
        t.set_tag(run_id, tag("last-writer", &me)).await?;

        store
            .update_run_tag(
                &shared[0],
                "counter",
                Box::new(|current: Option<&str>| {
                    let n: u64 = current.and_then(|c| c.parse().ok()).unwrap_or(0);
                    Ok((n + 1).to_string())
                }),
            )
            .await?;
        acked.counter_increments += 1;

        match t
            .create_experiment(CreateExperiment {
                name: format!("race-{round}"),
                ..Default::default()
            })
            .await
        {
            Ok(_) => acked.won_races.push(round),
            Err(e) if e.code == ErrorCode::ResourceAlreadyExists => {}
            Err(e) => return Err(e),
        }
    }
    Ok(acked)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_stores_under_concurrent_load_lose_nothing() {
    let Some(db) = TestDb::create().await else {
        return;
    };
    let config = db.config("pool_size=16");
    let stores: Vec<Arc<dyn TrackingStore>> = vec![
        Arc::new(PostgresStore::open(&config).await.expect("replica a")),
        Arc::new(PostgresStore::open(&config).await.expect("replica b")),
    ];
    let services: Vec<Tracking> = stores.iter().map(|s| Tracking::new(s.clone())).collect();
    let (a, b) = (&services[0], &services[1]);
    let (da, dbf) = tokio::join!(a.ensure_default_experiment(), b.ensure_default_experiment());
    da.expect("default experiment on a");
    dbf.expect("default experiment on b");

    let exp = experiment(a, "shared").await;
    let mut shared = Vec::new();
    for _ in 0..SHARED_RUNS {
        shared.push(run_in(a, &exp).await.info.run_id);
    }
    let shared = Arc::new(shared);

    let started = std::time::Instant::now();
    let mut tasks = Vec::new();
    for (replica, (t, store)) in services.iter().zip(&stores).enumerate() {
        for task in 0..TASKS {
            tasks.push(tokio::spawn(hammer(
                t.clone(),
                store.clone(),
                replica,
                task,
                exp.clone(),
                shared.clone(),
            )));
        }
    }
    let mut all = Vec::new();
    for task in tasks {
        match task.await.expect("task") {
            Ok(acked) => all.push(acked),
            Err(e) => panic!(
                "a write failed under concurrency: {} {}",
                e.code.as_str(),
                e.message
            ),
        }
    }
    println!(
        "{} tasks x {ROUNDS} rounds in {:?}",
        all.len(),
        started.elapsed()
    );

    // Read everything back through the replica that did not necessarily write it.
    let (reader, other) = (b, a);
    let mut points: BTreeMap<usize, BTreeSet<i64>> = BTreeMap::new();
    for (r, step) in all.iter().flat_map(|x| x.points.iter().copied()) {
        points.entry(r).or_default().insert(step);
    }
    for (r, expected) in &points {
        let history = full_history(reader, &shared[*r], "m").await;
        let got: Vec<i64> = history.iter().map(|m| m.step).collect();
        let want: Vec<i64> = expected.iter().copied().collect();
        assert_eq!(got, want, "every acknowledged point of shared run {r}");
        let run = get_run(other, &shared[*r]).await;
        let latest = run.data.metrics.iter().find(|m| m.key == "m").expect("m");
        assert_eq!(
            Some(&latest.step),
            expected.last(),
            "latest value of run {r}"
        );
    }

    let runs: Vec<_> = {
        let mut v = Vec::new();
        for id in shared.iter() {
            v.push(get_run(reader, id).await);
        }
        v
    };
    for (r, key, value) in all.iter().flat_map(|x| x.params.iter()) {
        let run = &runs[*r];
        assert!(
            run.data
                .params
                .iter()
                .any(|p| &p.key == key && &p.value == value),
            "param {key} on shared run {r}"
        );
    }
    let mut own_tags: BTreeMap<(usize, String), usize> = BTreeMap::new();
    for (r, key, round) in all.iter().flat_map(|x| x.own_tags.iter()) {
        let last = own_tags.entry((*r, key.clone())).or_default();
        *last = (*last).max(*round);
    }
    for ((r, key), round) in &own_tags {
        let value = runs[*r]
            .data
            .tags
            .iter()
            .find(|t| &t.key == key)
            .map(|t| t.value.clone());
        assert_eq!(
            value,
            Some(round.to_string()),
            "tag {key} on shared run {r}"
        );
    }
    let increments: usize = all.iter().map(|x| x.counter_increments).sum();
    assert_eq!(increments, 2 * TASKS * ROUNDS);
    let counter = runs[0]
        .data
        .tags
        .iter()
        .find(|t| t.key == "counter")
        .map(|t| t.value.clone());
    assert_eq!(
        counter,
        Some(increments.to_string()),
        "no tag update was lost"
    );

    let mut created: Vec<String> = all.iter().flat_map(|x| x.created_runs.clone()).collect();
    created.extend(shared.iter().cloned());
    created.sort();
    let mut found =
        crate::conformance::search_run_ids(reader, &[&exp], "", &[], ViewType::All).await;
    found.sort();
    assert_eq!(found.len(), 2 * TASKS * ROUNDS + SHARED_RUNS);
    assert_eq!(found, created, "every created run is found");

    let mut wins: Vec<usize> = all.iter().flat_map(|x| x.won_races.clone()).collect();
    wins.sort_unstable();
    assert_eq!(
        wins,
        (0..ROUNDS).collect::<Vec<_>>(),
        "each name is created exactly once"
    );
    for round in 0..ROUNDS {
        reader
            .get_experiment_by_name("default", &format!("race-{round}"))
            .await
            .expect("race winner exists");
    }
    let tags = reader.get_experiment(&exp).await.expect("experiment").tags;
    assert!(tags.iter().any(|t| t.key == "last-writer"));
}
