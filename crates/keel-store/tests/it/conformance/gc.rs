//! Conformance checks for garbage collection: what counts as garbage, and purging it for good.

use keel_core::store::Garbage;

use super::*;

/// Experiment `doomed` (deleted at T0+5s, with run `a`) and experiment `keep` holding run `b`
/// (deleted at T0+1s) and live run `c`. Returns (doomed, a, b, c).
async fn scene(f: &Fixture) -> (String, String, String, String) {
    let t = f.tracking_at(T0);
    let doomed = experiment(&t, "gc-doomed").await;
    let keep = experiment(&t, "gc-keep").await;
    let a = run_in(&t, &doomed).await.info.run_id;
    let b = run_in(&t, &keep).await.info.run_id;
    let c = run_in(&t, &keep).await.info.run_id;
    log_point(&t, &a, "m", 1.0, T0, 0).await;
    f.tracking_at(T0 + 1_000)
        .delete_run(&b)
        .await
        .expect("delete b");
    f.tracking_at(T0 + 5_000)
        .delete_experiment(&doomed)
        .await
        .expect("delete doomed");
    (doomed, a, b, c)
}

fn ids(garbage: &Garbage) -> (Vec<String>, Vec<String>) {
    let experiments = garbage
        .experiments
        .iter()
        .map(|(id, _)| id.clone())
        .collect();
    let runs = sorted(
        &garbage
            .runs
            .iter()
            .map(|(id, _)| id.clone())
            .collect::<Vec<_>>(),
    );
    (experiments, runs)
}

pub async fn garbage_respects_the_cutoff(f: Fixture) {
    let (doomed, a, b, _c) = scene(&f).await;
    let later = f.tracking_at(T0 + 10_000);
    // Deleted at least 6 s before T0+10s, i.e. at or before T0+4s: only run b.
    assert_eq!(
        ids(&later.find_garbage(6_000).await.expect("garbage")),
        (vec![], vec![b.clone()])
    );
    // Everything deleted: the experiment, its run a, and run b.
    let all = later.find_garbage(0).await.expect("garbage");
    assert_eq!(
        ids(&all),
        (vec![doomed.clone()], sorted(&[a.clone(), b.clone()]))
    );
    assert!(
        all.runs.iter().all(|(_, uri)| uri.ends_with("/artifacts")),
        "{all:?}"
    );
    assert!(later.find_garbage(-1).await.is_err());
    assert!(
        later
            .find_garbage(1_000_000)
            .await
            .expect("garbage")
            .runs
            .is_empty()
    );
}

pub async fn purge_removes_runs_and_experiments_for_good(f: Fixture) {
    let (doomed, a, b, c) = scene(&f).await;
    let t = f.tracking_at(T0 + 10_000);
    let garbage = t.find_garbage(0).await.expect("garbage");
    let purged = t.purge(&garbage).await.expect("purge");
    assert_eq!(purged, garbage);
    expect_err(t.get_run(&a).await, ErrorCode::ResourceDoesNotExist);
    expect_err(t.get_run(&b).await, ErrorCode::ResourceDoesNotExist);
    expect_err(
        t.get_experiment(&doomed).await,
        ErrorCode::ResourceDoesNotExist,
    );
    assert!(
        full_history(&t, &a, "m").await.is_empty(),
        "logged data goes with the run"
    );
    assert_eq!(
        get_run(&t, &c).await.info.lifecycle_stage,
        LifecycleStage::Active
    );
    // The freed name can be used again, and a second collection finds nothing.
    experiment(&t, "gc-doomed").await;
    assert_eq!(
        t.find_garbage(0).await.expect("garbage"),
        Garbage::default()
    );
}

pub async fn purge_spares_what_was_restored_meanwhile(f: Fixture) {
    let (doomed, a, b, _c) = scene(&f).await;
    let t = f.tracking_at(T0 + 10_000);
    let garbage = t.find_garbage(0).await.expect("garbage");
    t.restore_run(&b).await.expect("restore b");
    t.restore_experiment(&doomed).await.expect("restore doomed");
    let purged = t.purge(&garbage).await.expect("purge");
    assert_eq!(purged, Garbage::default(), "nothing restored is removed");
    assert_eq!(stage_of(&t, &a).await, LifecycleStage::Active);
    assert_eq!(stage_of(&t, &b).await, LifecycleStage::Active);
}

pub async fn purge_removes_deleted_logged_models(f: Fixture) {
    use keel_core::tracking::CreateLoggedModel;
    let t = f.tracking_at(T0);
    let doomed = experiment(&t, "gc-models-doomed").await;
    let keep = experiment(&t, "gc-models-keep").await;
    let create = |experiment_id: &str| CreateLoggedModel {
        experiment_id: experiment_id.to_owned(),
        ..Default::default()
    };
    let x = t
        .create_logged_model(create(&keep))
        .await
        .expect("x")
        .model_id;
    let y = t
        .create_logged_model(create(&doomed))
        .await
        .expect("y")
        .model_id;
    let z = t
        .create_logged_model(create(&keep))
        .await
        .expect("z")
        .model_id;
    f.tracking_at(T0 + 1_000)
        .delete_logged_model(&x)
        .await
        .expect("delete x");
    f.tracking_at(T0 + 5_000)
        .delete_experiment(&doomed)
        .await
        .expect("delete doomed");
    let later = f.tracking_at(T0 + 10_000);
    let model_ids = |g: &Garbage| {
        sorted(
            &g.logged_models
                .iter()
                .map(|(id, _)| id.clone())
                .collect::<Vec<_>>(),
        )
    };
    assert_eq!(
        model_ids(&later.find_garbage(6_000).await.expect("garbage")),
        vec![x.clone()]
    );
    let garbage = later.find_garbage(0).await.expect("garbage");
    assert_eq!(model_ids(&garbage), sorted(&[x.clone(), y.clone()]));
    assert!(
        garbage
            .logged_models
            .iter()
            .all(|(id, location)| location.ends_with(&format!("/models/{id}/artifacts"))),
        "{garbage:?}"
    );
    let purged = later.purge(&garbage).await.expect("purge");
    assert_eq!(purged, garbage);
    for gone in [&x, &y] {
        expect_err(
            later.get_logged_model(gone, true).await,
            ErrorCode::ResourceDoesNotExist,
        );
    }
    later
        .get_logged_model(&z, false)
        .await
        .expect("live model kept");
}
