//! Conformance checks for experiments: the default experiment, create/get, names, tags, lifecycle.

use keel_core::tracking::{
    CreateExperiment, DEFAULT_EXPERIMENT_ID, DEFAULT_EXPERIMENT_NAME, SearchExperiments,
};
use keel_core::{ErrorCode, Experiment, LifecycleStage, ViewType};

use super::*;

async fn all_experiments(t: &Tracking) -> Vec<Experiment> {
    t.search_experiments(SearchExperiments {
        view: ViewType::All,
        ..Default::default()
    })
    .await
    .expect("search experiments")
    .items
}

pub async fn default_experiment_is_created_once(f: Fixture) {
    let t = f.tracking();
    t.ensure_default_experiment().await.expect("first ensure");
    let first = t
        .get_experiment(DEFAULT_EXPERIMENT_ID)
        .await
        .expect("default exists");
    t.ensure_default_experiment().await.expect("second ensure");
    let second = t
        .get_experiment(DEFAULT_EXPERIMENT_ID)
        .await
        .expect("default exists");

    assert_eq!(first, second, "a second ensure must not touch the default");
    assert_eq!(first.name, DEFAULT_EXPERIMENT_NAME);
    assert_eq!(first.lifecycle_stage, LifecycleStage::Active);
    assert_eq!(first.artifact_location, "mlflow-artifacts:/0");
    let by_name = t
        .get_experiment_by_name("default", DEFAULT_EXPERIMENT_NAME)
        .await
        .expect("by name");
    assert_eq!(by_name, first);
    let all = all_experiments(&t).await;
    assert_eq!(all.len(), 1, "{all:?}");
}

pub async fn default_experiment_creation_is_safe_concurrently(f: Fixture) {
    let t = f.tracking();
    let tasks: Vec<_> = (0..8)
        .map(|_| {
            let t = t.clone();
            tokio::spawn(async move { t.ensure_default_experiment().await })
        })
        .collect();
    for task in tasks {
        task.await.expect("task").expect("ensure default");
    }
    let all = all_experiments(&t).await;
    assert_eq!(all.len(), 1, "{all:?}");
    assert_eq!(all[0].experiment_id, DEFAULT_EXPERIMENT_ID);
}

pub async fn create_and_get_experiment(f: Fixture) {
    let t = f.tracking();
    let id = t
        .create_experiment(CreateExperiment {
            workspace: Default::default(),
            name: "vision".into(),
            artifact_location: None,
            tags: vec![tag("team", "cv"), tag("owner", "ann")],
        })
        .await
        .expect("create");
    let custom = t
        .create_experiment(CreateExperiment {
            workspace: Default::default(),
            name: "custom location".into(),
            artifact_location: Some("s3://bucket/prefix".into()),
            tags: Vec::new(),
        })
        .await
        .expect("create");
    assert_ne!(id, custom);

    let e = t.get_experiment(&id).await.expect("get");
    assert_eq!(e.experiment_id, id);
    assert_eq!(e.name, "vision");
    assert_eq!(e.artifact_location, format!("mlflow-artifacts:/{id}"));
    assert_eq!(e.lifecycle_stage, LifecycleStage::Active);
    assert_eq!(e.creation_time, e.last_update_time);
    assert!(e.creation_time >= T0);
    assert_eq!(
        sorted(
            &e.tags
                .iter()
                .map(|t| (t.key.clone(), t.value.clone()))
                .collect::<Vec<_>>()
        ),
        vec![("owner".into(), "ann".into()), ("team".into(), "cv".into())]
    );
    assert_eq!(
        t.get_experiment_by_name("default", "vision")
            .await
            .expect("by name"),
        e
    );
    // The store returns the same experiment directly.
    assert_eq!(
        f.store().get_experiment(&id).await.expect("store get"),
        Some(e)
    );
    let c = t.get_experiment(&custom).await.expect("get custom");
    assert_eq!(c.artifact_location, "s3://bucket/prefix");
}

pub async fn experiment_names_are_unique(f: Fixture) {
    let t = f.tracking();
    let id = experiment(&t, "taken").await;
    let err = t
        .create_experiment(CreateExperiment {
            name: "taken".into(),
            ..Default::default()
        })
        .await;
    expect_err(err, ErrorCode::ResourceAlreadyExists);

    // A deleted experiment still holds its name.
    t.delete_experiment(&id).await.expect("delete");
    let err = t
        .create_experiment(CreateExperiment {
            name: "taken".into(),
            ..Default::default()
        })
        .await;
    expect_err(err, ErrorCode::ResourceAlreadyExists);

    // The store itself enforces uniqueness, whatever the ID.
    let mut copy = t.get_experiment(&id).await.expect("get");
    copy.experiment_id = "424242".into();
    copy.lifecycle_stage = LifecycleStage::Active;
    expect_err(
        f.store().insert_experiment(&copy).await,
        ErrorCode::ResourceAlreadyExists,
    );
    assert_eq!(f.store().get_experiment("424242").await.expect("get"), None);
    assert_eq!(all_experiments(&t).await.len(), 1);
}

pub async fn concurrent_creation_with_one_name_succeeds_once(f: Fixture) {
    let t = f.tracking();
    let tasks: Vec<_> = (0..8)
        .map(|_| {
            let t = t.clone();
            tokio::spawn(async move {
                t.create_experiment(CreateExperiment {
                    name: "race".into(),
                    ..Default::default()
                })
                .await
            })
        })
        .collect();
    let mut created = Vec::new();
    for task in tasks {
        match task.await.expect("task") {
            Ok(id) => created.push(id),
            Err(e) => assert_eq!(e.code, ErrorCode::ResourceAlreadyExists, "{e}"),
        }
    }
    assert_eq!(created.len(), 1, "exactly one creation wins");
    let e = t
        .get_experiment_by_name("default", "race")
        .await
        .expect("by name");
    assert_eq!(e.experiment_id, created[0]);
    assert_eq!(all_experiments(&t).await.len(), 1);
}

pub async fn unknown_experiment_is_not_found(f: Fixture) {
    let t = f.tracking();
    expect_err(
        t.get_experiment("123456").await,
        ErrorCode::ResourceDoesNotExist,
    );
    expect_err(
        t.get_experiment_by_name("default", "nope").await,
        ErrorCode::ResourceDoesNotExist,
    );
    expect_err(
        t.get_experiment("abc").await,
        ErrorCode::InvalidParameterValue,
    );
    expect_err(
        t.rename_experiment("123456", "x").await,
        ErrorCode::ResourceDoesNotExist,
    );
    expect_err(
        t.delete_experiment("123456").await,
        ErrorCode::ResourceDoesNotExist,
    );
    expect_err(
        t.restore_experiment("123456").await,
        ErrorCode::ResourceDoesNotExist,
    );
    expect_err(
        t.set_experiment_tag("123456", tag("k", "v")).await,
        ErrorCode::ResourceDoesNotExist,
    );
    let store = f.store();
    assert_eq!(store.get_experiment("123456").await.expect("get"), None);
    assert_eq!(store.get_experiment("abc").await.expect("get"), None);
    assert_eq!(
        store
            .get_experiment_by_name("default", "nope")
            .await
            .expect("get"),
        None
    );
}

pub async fn rename_experiment(f: Fixture) {
    let t = f.tracking();
    let id = experiment(&t, "old name").await;
    let before = t.get_experiment(&id).await.expect("get");
    t.rename_experiment(&id, "new name").await.expect("rename");

    let after = t.get_experiment(&id).await.expect("get");
    assert_eq!(after.name, "new name");
    assert!(after.last_update_time > before.last_update_time);
    assert_eq!(after.creation_time, before.creation_time);
    assert_eq!(
        t.get_experiment_by_name("default", "new name")
            .await
            .expect("by new name")
            .experiment_id,
        id
    );
    expect_err(
        t.get_experiment_by_name("default", "old name").await,
        ErrorCode::ResourceDoesNotExist,
    );
    // The old name is free again.
    experiment(&t, "old name").await;
}

pub async fn rename_onto_taken_name_fails(f: Fixture) {
    let t = f.tracking();
    let a = experiment(&t, "a").await;
    let b = experiment(&t, "b").await;
    expect_err(
        t.rename_experiment(&a, "b").await,
        ErrorCode::ResourceAlreadyExists,
    );
    assert_eq!(t.get_experiment(&a).await.expect("a").name, "a");
    assert_eq!(t.get_experiment(&b).await.expect("b").name, "b");
    // Directly on the store as well.
    expect_err(
        f.store().rename_experiment(&b, "a", T0 + 99).await,
        ErrorCode::ResourceAlreadyExists,
    );
    assert_eq!(t.get_experiment(&b).await.expect("b").name, "b");
    // Renaming to its own name is fine.
    t.rename_experiment(&a, "a").await.expect("same name");
}

pub async fn experiment_tags_set_overwrite_delete(f: Fixture) {
    let t = f.tracking();
    let id = experiment(&t, "tagged").await;
    t.set_experiment_tag(&id, tag("team", "core"))
        .await
        .expect("set");
    t.set_experiment_tag(&id, tag("note", "hello"))
        .await
        .expect("set");
    t.set_experiment_tag(&id, tag("team", "platform"))
        .await
        .expect("overwrite");
    let e = t.get_experiment(&id).await.expect("get");
    assert_eq!(
        sorted(
            &e.tags
                .iter()
                .map(|t| (t.key.clone(), t.value.clone()))
                .collect::<Vec<_>>()
        ),
        vec![
            ("note".into(), "hello".into()),
            ("team".into(), "platform".into())
        ]
    );
    assert!(e.last_update_time > e.creation_time);

    t.delete_experiment_tag(&id, "note").await.expect("delete");
    let e = t.get_experiment(&id).await.expect("get");
    assert_eq!(e.tags, vec![tag("team", "platform")]);
    expect_err(
        t.delete_experiment_tag(&id, "note").await,
        ErrorCode::ResourceDoesNotExist,
    );
    expect_err(
        t.delete_experiment_tag(&id, "never-set").await,
        ErrorCode::ResourceDoesNotExist,
    );
    // The store reports whether a tag existed.
    assert!(
        !f.store()
            .delete_experiment_tag(&id, "never-set", T0 + 99)
            .await
            .expect("store delete")
    );
    assert!(
        f.store()
            .delete_experiment_tag(&id, "team", T0 + 99)
            .await
            .expect("store delete")
    );
    assert!(t.get_experiment(&id).await.expect("get").tags.is_empty());
}

pub async fn delete_experiment_cascades_to_runs(f: Fixture) {
    let t = f.tracking();
    let id = experiment(&t, "doomed").await;
    let other = experiment(&t, "bystander").await;
    let runs = [run_in(&t, &id).await, run_in(&t, &id).await];
    let bystander = run_in(&t, &other).await;

    t.delete_experiment(&id).await.expect("delete");
    let e = t.get_experiment(&id).await.expect("still readable");
    assert_eq!(e.lifecycle_stage, LifecycleStage::Deleted);
    for r in &runs {
        assert_eq!(stage_of(&t, &r.info.run_id).await, LifecycleStage::Deleted);
    }
    assert_eq!(
        stage_of(&t, &bystander.info.run_id).await,
        LifecycleStage::Active
    );
    assert!(
        search_run_ids(&t, &[&id], "", &[], ViewType::ActiveOnly)
            .await
            .is_empty()
    );
    assert_eq!(
        search_run_ids(&t, &[&id], "", &[], ViewType::DeletedOnly)
            .await
            .len(),
        2
    );
    // Deleting twice: the experiment is no longer active, so it is not found.
    expect_err(
        t.delete_experiment(&id).await,
        ErrorCode::ResourceDoesNotExist,
    );
    // A deleted experiment cannot be renamed or tagged.
    expect_err(
        t.rename_experiment(&id, "zombie").await,
        ErrorCode::InvalidParameterValue,
    );
    expect_err(
        t.set_experiment_tag(&id, tag("k", "v")).await,
        ErrorCode::InvalidParameterValue,
    );
    // Restoring an active experiment: not found.
    expect_err(
        t.restore_experiment(&other).await,
        ErrorCode::ResourceDoesNotExist,
    );
}

pub async fn restore_experiment_restores_only_runs_deleted_with_it(f: Fixture) {
    let t = f.tracking();
    let id = experiment(&t, "phoenix").await;
    let earlier = run_in(&t, &id).await;
    let b = run_in(&t, &id).await;
    let c = run_in(&t, &id).await;
    t.delete_run(&earlier.info.run_id)
        .await
        .expect("delete run");

    t.delete_experiment(&id).await.expect("delete");
    t.restore_experiment(&id).await.expect("restore");

    assert_eq!(
        t.get_experiment(&id).await.expect("get").lifecycle_stage,
        LifecycleStage::Active
    );
    assert_eq!(
        stage_of(&t, &earlier.info.run_id).await,
        LifecycleStage::Deleted,
        "a run deleted before the experiment stays deleted"
    );
    for r in [&b, &c] {
        assert_eq!(stage_of(&t, &r.info.run_id).await, LifecycleStage::Active);
    }
    assert_eq!(
        sorted(&search_run_ids(&t, &[&id], "", &[], ViewType::ActiveOnly).await),
        sorted(&[b.info.run_id.clone(), c.info.run_id.clone()])
    );

    // A second delete/restore cycle behaves the same.
    t.delete_experiment(&id).await.expect("delete again");
    t.restore_experiment(&id).await.expect("restore again");
    assert_eq!(
        stage_of(&t, &earlier.info.run_id).await,
        LifecycleStage::Deleted
    );
    assert_eq!(stage_of(&t, &b.info.run_id).await, LifecycleStage::Active);
}

/// The run deleted on its own and the experiment deleted later share one millisecond: the
/// experiment's restore must still leave that run deleted.
pub async fn restore_keeps_run_deleted_earlier_in_same_millisecond(f: Fixture) {
    let setup = f.tracking();
    let id = experiment(&setup, "same instant").await;
    let earlier = run_in(&setup, &id).await;
    let with_it = run_in(&setup, &id).await;

    let frozen = f.tracking_at(T0 + 5_000);
    frozen
        .delete_run(&earlier.info.run_id)
        .await
        .expect("delete run");
    frozen.delete_experiment(&id).await.expect("delete");
    frozen.restore_experiment(&id).await.expect("restore");

    assert_eq!(
        stage_of(&setup, &with_it.info.run_id).await,
        LifecycleStage::Active
    );
    assert_eq!(
        stage_of(&setup, &earlier.info.run_id).await,
        LifecycleStage::Deleted,
        "a run deleted before the experiment, in the same millisecond, stays deleted"
    );
}
