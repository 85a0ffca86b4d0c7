//! Conformance checks for runs: create, get, update, delete/restore, tags, and missing runs.

use keel_core::store::{LogBatch, LogInputs};
use keel_core::tracking::{CreateRun, RUN_NAME_TAG};
use keel_core::{
    Dataset, DatasetInput, ErrorCode, LifecycleStage, ModelInput, ModelOutput, RunStatus, ViewType,
};

use super::*;

fn dataset_input(name: &str, digest: &str) -> DatasetInput {
    DatasetInput {
        tags: Vec::new(),
        dataset: Dataset {
            name: name.into(),
            digest: digest.into(),
            source_type: "local".into(),
            source: "/data".into(),
            schema: None,
            profile: None,
        },
    }
}

pub async fn create_run_generates_name_and_tag(f: Fixture) {
    let t = f.tracking();
    let exp = experiment(&t, "runs").await;
    let run = t
        .create_run(CreateRun {
            experiment_id: Some(exp.clone()),
            user_id: Some("ann".into()),
            start_time: Some(T0 + 42),
            tags: vec![tag("source", "test")],
            ..Default::default()
        })
        .await
        .expect("create");
    let info = &run.info;
    assert_eq!(info.run_id.len(), 32, "{}", info.run_id);
    assert!(info.run_id.chars().all(|c| c.is_ascii_hexdigit()));
    assert!(!info.run_name.is_empty());
    assert_eq!(
        info.run_name.split('-').count(),
        3,
        "generated names look like adjective-noun-number: {}",
        info.run_name
    );
    assert_eq!(info.experiment_id, exp);
    assert_eq!(info.user_id, "ann");
    assert_eq!(info.status, RunStatus::Running);
    assert_eq!(info.start_time, T0 + 42);
    assert_eq!(info.end_time, None);
    assert_eq!(info.lifecycle_stage, LifecycleStage::Active);
    assert_eq!(
        info.artifact_uri,
        format!("mlflow-artifacts:/{exp}/{}/artifacts", info.run_id)
    );

    let stored_run = get_run(&t, &info.run_id).await;
    assert_eq!(stored_run.info, run.info);
    assert_eq!(
        tag_value(&stored_run, RUN_NAME_TAG).as_deref(),
        Some(info.run_name.as_str())
    );
    assert_eq!(tag_value(&stored_run, "source").as_deref(), Some("test"));

    // Two runs get different IDs.
    let other = run_in(&t, &exp).await;
    assert_ne!(other.info.run_id, info.run_id);
}

pub async fn create_run_takes_name_from_argument_or_tag(f: Fixture) {
    let t = f.tracking();
    let exp = experiment(&t, "names").await;
    let by_arg = run_named(&t, &exp, "from-arg").await;
    let by_tag = t
        .create_run(CreateRun {
            experiment_id: Some(exp.clone()),
            tags: vec![tag(RUN_NAME_TAG, "from-tag")],
            ..Default::default()
        })
        .await
        .expect("create");
    let both = t
        .create_run(CreateRun {
            experiment_id: Some(exp.clone()),
            run_name: Some("same".into()),
            tags: vec![tag(RUN_NAME_TAG, "same")],
            ..Default::default()
        })
        .await
        .expect("create");
    for (run, name) in [
        (&by_arg, "from-arg"),
        (&by_tag, "from-tag"),
        (&both, "same"),
    ] {
        let stored_run = get_run(&t, &run.info.run_id).await;
        assert_eq!(stored_run.info.run_name, name);
        assert_eq!(tag_value(&stored_run, RUN_NAME_TAG).as_deref(), Some(name));
        let name_tags = stored_run
            .data
            .tags
            .iter()
            .filter(|t| t.key == RUN_NAME_TAG)
            .count();
        assert_eq!(name_tags, 1);
    }
}

pub async fn create_run_with_conflicting_name_and_tag_fails(f: Fixture) {
    let t = f.tracking();
    let exp = experiment(&t, "conflict").await;
    let result = t
        .create_run(CreateRun {
            experiment_id: Some(exp.clone()),
            run_name: Some("one".into()),
            tags: vec![tag(RUN_NAME_TAG, "two")],
            ..Default::default()
        })
        .await;
    expect_err(result, ErrorCode::InvalidParameterValue);
    assert!(
        search_run_ids(&t, &[&exp], "", &[], ViewType::All)
            .await
            .is_empty(),
        "no run was created"
    );
}

pub async fn create_run_needs_an_active_experiment(f: Fixture) {
    let t = f.tracking();
    let exp = experiment(&t, "gone").await;
    t.delete_experiment(&exp).await.expect("delete");
    let result = t
        .create_run(CreateRun {
            experiment_id: Some(exp.clone()),
            ..Default::default()
        })
        .await;
    expect_err(result, ErrorCode::InvalidParameterValue);
    let result = t
        .create_run(CreateRun {
            experiment_id: Some("987654321".into()),
            ..Default::default()
        })
        .await;
    expect_err(result, ErrorCode::ResourceDoesNotExist);
    // With no experiment ID the run goes to the default experiment, which must exist.
    expect_err(
        t.create_run(CreateRun::default()).await,
        ErrorCode::ResourceDoesNotExist,
    );
    t.ensure_default_experiment().await.expect("default");
    let run = t.create_run(CreateRun::default()).await.expect("create");
    assert_eq!(run.info.experiment_id, "0");
    assert!(
        search_run_ids(&t, &[&exp], "", &[], ViewType::All)
            .await
            .is_empty()
    );
}

pub async fn get_run_returns_the_created_run(f: Fixture) {
    let t = f.tracking();
    let exp = experiment(&t, "get").await;
    let created = t
        .create_run(CreateRun {
            experiment_id: Some(exp),
            user_id: Some("bob".into()),
            run_name: Some("r".into()),
            start_time: Some(T0 + 7),
            tags: vec![tag("b", "2"), tag("a", "1"), tag("a", "1-last")],
        })
        .await
        .expect("create");
    let got = get_run(&t, &created.info.run_id).await;
    assert_eq!(got.info, created.info);
    let pairs = |tags: &[Tag]| {
        sorted(
            &tags
                .iter()
                .map(|t| (t.key.clone(), t.value.clone()))
                .collect::<Vec<_>>(),
        )
    };
    assert_eq!(pairs(&got.data.tags), pairs(&created.data.tags));
    assert_eq!(tag_value(&got, "a").as_deref(), Some("1-last"));
    assert!(got.data.metrics.is_empty());
    assert!(got.data.params.is_empty());
    assert_eq!(got.inputs, Default::default());
    assert_eq!(got.outputs, Default::default());
    // The store's two read paths agree.
    let store = f.store();
    let info = store
        .get_run_info(&created.info.run_id)
        .await
        .expect("info")
        .expect("present");
    assert_eq!(info, created.info);
}

pub async fn update_run_changes_status_end_time_and_name(f: Fixture) {
    let t = f.tracking();
    let exp = experiment(&t, "update").await;
    let run = run_named(&t, &exp, "before").await;
    let id = run.info.run_id.clone();

    let info = t
        .update_run(&id, Some(RunStatus::Finished), Some(T0 + 500), None)
        .await
        .expect("update");
    assert_eq!(info.status, RunStatus::Finished);
    assert_eq!(info.end_time, Some(T0 + 500));
    assert_eq!(info.run_name, "before");

    let info = t
        .update_run(&id, None, None, Some("after".into()))
        .await
        .expect("rename");
    assert_eq!(info.run_name, "after");
    assert_eq!(info.status, RunStatus::Finished, "None leaves status");
    assert_eq!(info.end_time, Some(T0 + 500), "None leaves end_time");
    let got = get_run(&t, &id).await;
    assert_eq!(got.info, info);
    assert_eq!(tag_value(&got, RUN_NAME_TAG).as_deref(), Some("after"));

    // An empty name leaves the name alone.
    let info = t
        .update_run(&id, Some(RunStatus::Failed), None, Some(String::new()))
        .await
        .expect("update");
    assert_eq!(info.run_name, "after");
    assert_eq!(info.status, RunStatus::Failed);
    assert_eq!(
        tag_value(&get_run(&t, &id).await, RUN_NAME_TAG).as_deref(),
        Some("after")
    );
}

pub async fn run_name_tag_renames_the_run(f: Fixture) {
    let t = f.tracking();
    let exp = experiment(&t, "rename by tag").await;
    let run = run_named(&t, &exp, "original").await;
    let id = &run.info.run_id;
    t.set_tag(id, tag(RUN_NAME_TAG, "renamed"))
        .await
        .expect("set tag");
    let got = get_run(&t, id).await;
    assert_eq!(got.info.run_name, "renamed");
    assert_eq!(tag_value(&got, RUN_NAME_TAG).as_deref(), Some("renamed"));
    // The new name is what a search by name sees.
    assert_eq!(
        search_run_ids(
            &t,
            &[&exp],
            "attributes.run_name = 'renamed'",
            &[],
            ViewType::All
        )
        .await,
        vec![id.clone()]
    );
}

pub async fn delete_and_restore_run(f: Fixture) {
    let t = f.tracking();
    let exp = experiment(&t, "trash").await;
    let run = run_in(&t, &exp).await;
    let keep = run_in(&t, &exp).await;
    let id = &run.info.run_id;

    t.delete_run(id).await.expect("delete");
    let got = get_run(&t, id).await;
    assert_eq!(got.info.lifecycle_stage, LifecycleStage::Deleted);
    assert_eq!(
        search_run_ids(&t, &[&exp], "", &[], ViewType::ActiveOnly).await,
        vec![keep.info.run_id.clone()]
    );
    assert_eq!(
        search_run_ids(&t, &[&exp], "", &[], ViewType::DeletedOnly).await,
        vec![id.clone()]
    );

    t.restore_run(id).await.expect("restore");
    let restored = get_run(&t, id).await;
    assert_eq!(
        restored.info, run.info,
        "restore brings the run back as it was"
    );
    assert_eq!(
        search_run_ids(&t, &[&exp], "", &[], ViewType::DeletedOnly).await,
        Vec::<String>::new()
    );
    // It accepts writes again.
    t.log_param(id, param("p", "v")).await.expect("log param");
}

pub async fn delete_run_tag(f: Fixture) {
    let t = f.tracking();
    let exp = experiment(&t, "tags").await;
    let run = run_in(&t, &exp).await;
    let id = &run.info.run_id;
    t.set_tag(id, tag("a", "1")).await.expect("set");
    t.set_tag(id, tag("b", "2")).await.expect("set");
    t.delete_tag(id, "a").await.expect("delete");
    let got = get_run(&t, id).await;
    assert_eq!(tag_value(&got, "a"), None);
    assert_eq!(tag_value(&got, "b").as_deref(), Some("2"));
    expect_err(t.delete_tag(id, "a").await, ErrorCode::ResourceDoesNotExist);
    expect_err(
        t.delete_tag(id, "never").await,
        ErrorCode::ResourceDoesNotExist,
    );
    let store = f.store();
    assert!(store.delete_run_tag(id, "b").await.expect("store delete"));
    assert!(!store.delete_run_tag(id, "b").await.expect("store delete"));
}

pub async fn unknown_run_is_not_found(f: Fixture) {
    let t = f.tracking();
    experiment(&t, "exists").await;
    let missing = "0123456789abcdef0123456789abcdef";
    let nf = ErrorCode::ResourceDoesNotExist;
    expect_err(t.get_run(missing).await, nf);
    expect_err(
        t.update_run(missing, Some(RunStatus::Finished), None, None)
            .await,
        nf,
    );
    expect_err(t.delete_run(missing).await, nf);
    expect_err(t.restore_run(missing).await, nf);
    expect_err(t.log_metric(missing, point("m", 1.0, T0, 0)).await, nf);
    expect_err(t.log_param(missing, param("p", "v")).await, nf);
    expect_err(t.set_tag(missing, tag("k", "v")).await, nf);
    expect_err(
        t.log_batch(
            missing,
            vec![point("m", 1.0, T0, 0)],
            vec![param("p", "v")],
            vec![tag("k", "v")],
        )
        .await,
        nf,
    );
    expect_err(t.delete_tag(missing, "k").await, nf);
    expect_err(
        t.log_inputs(missing, vec![dataset_input("d", "x")], Vec::new())
            .await,
        nf,
    );
    expect_err(
        t.log_outputs(
            missing,
            vec![ModelOutput {
                model_id: "m-1".into(),
                step: 0,
            }],
        )
        .await,
        nf,
    );

    let store = f.store();
    assert_eq!(store.get_run(missing).await.expect("get"), None);
    assert_eq!(store.get_run_info(missing).await.expect("get"), None);
    expect_err(
        store
            .log_batch(&LogBatch {
                run_id: missing.into(),
                params: vec![param("p", "v")],
                ..Default::default()
            })
            .await,
        nf,
    );
}

pub async fn writes_to_deleted_run_fail_and_write_nothing(f: Fixture) {
    let t = f.tracking();
    let exp = experiment(&t, "deleted run").await;
    let run = run_named(&t, &exp, "frozen").await;
    let id = &run.info.run_id;
    t.log_batch(
        id,
        vec![point("m", 1.0, T0, 0)],
        vec![param("p", "v")],
        vec![tag("k", "v")],
    )
    .await
    .expect("log");
    t.delete_run(id).await.expect("delete");
    let before = get_run(&t, id).await;

    let invalid = ErrorCode::InvalidParameterValue;
    expect_err(t.log_metric(id, point("m", 2.0, T0 + 1, 1)).await, invalid);
    expect_err(t.log_metric(id, point("m2", 2.0, T0 + 1, 1)).await, invalid);
    expect_err(t.log_param(id, param("p2", "v")).await, invalid);
    expect_err(t.set_tag(id, tag("k", "changed")).await, invalid);
    expect_err(t.set_tag(id, tag(RUN_NAME_TAG, "renamed")).await, invalid);
    expect_err(
        t.log_batch(
            id,
            vec![point("m3", 3.0, T0, 0)],
            vec![param("p3", "v")],
            vec![tag("k3", "v")],
        )
        .await,
        invalid,
    );
    expect_err(t.delete_tag(id, "k").await, invalid);
    expect_err(
        t.update_run(
            id,
            Some(RunStatus::Finished),
            Some(T0 + 9),
            Some("x".into()),
        )
        .await,
        invalid,
    );
    expect_err(
        t.log_inputs(
            id,
            vec![dataset_input("d", "x")],
            vec![ModelInput {
                model_id: "m-in".into(),
            }],
        )
        .await,
        invalid,
    );
    expect_err(
        t.log_outputs(
            id,
            vec![ModelOutput {
                model_id: "m-out".into(),
                step: 1,
            }],
        )
        .await,
        invalid,
    );
    // The store refuses too, whatever the service checked.
    let store = f.store();
    expect_err(
        store
            .log_batch(&LogBatch {
                run_id: id.clone(),
                metrics: vec![stored("m4", 4.0, T0, 0)],
                ..Default::default()
            })
            .await,
        invalid,
    );
    expect_err(
        store
            .log_inputs(&LogInputs {
                run_id: id.clone(),
                datasets: Vec::new(),
                models: vec![ModelInput {
                    model_id: "m-in".into(),
                }],
            })
            .await,
        invalid,
    );

    assert_eq!(get_run(&t, id).await, before, "nothing was written");
    assert_eq!(full_history(&t, id, "m").await.len(), 1);
    assert!(full_history(&t, id, "m2").await.is_empty());
    assert!(full_history(&t, id, "m4").await.is_empty());
    assert!(
        t.search_datasets(vec![exp])
            .await
            .expect("datasets")
            .is_empty()
    );
}
