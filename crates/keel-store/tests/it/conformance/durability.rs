//! Conformance checks for concurrent writers and readers, and for data surviving a reopen.

use keel_core::tracking::{CreateExperiment, SearchRuns};
use keel_core::{Dataset, DatasetInput, LifecycleStage, ModelOutput, RunStatus, ViewType};

use super::*;

pub async fn concurrent_log_batch_to_one_run(f: Fixture) {
    let t = f.tracking();
    let exp = experiment(&t, "concurrent").await;
    let run = run_in(&t, &exp).await;
    let id = run.info.run_id.clone();
    const TASKS: i64 = 16;
    const POINTS: i64 = 50;
    let tasks: Vec<_> = (0..TASKS)
        .map(|task| {
            let (t, id) = (t.clone(), id.clone());
            tokio::spawn(async move {
                for round in 0..5_i64 {
                    let metrics = (0..POINTS / 5)
                        .map(|j| {
                            let step = task * POINTS + round * (POINTS / 5) + j;
                            point("shared", step as f64, T0 + step, step)
                        })
                        .chain(std::iter::once(point(
                            &format!("own-{task}"),
                            round as f64,
                            T0 + round,
                            round,
                        )))
                        .collect();
                    t.log_batch(
                        &id,
                        metrics,
                        vec![param(&format!("p-{task}-{round}"), &task.to_string())],
                        vec![tag(&format!("t-{task}"), &round.to_string())],
                    )
                    .await?;
                }
                Ok::<(), keel_core::Error>(())
            })
        })
        .collect();
    for task in tasks {
        task.await.expect("task").expect("every log_batch succeeds");
    }

    let history = full_history(&t, &id, "shared").await;
    let steps: Vec<i64> = history.iter().map(|m| m.step).collect();
    assert_eq!(steps, (0..TASKS * POINTS).collect::<Vec<_>>());
    let got = get_run(&t, &id).await;
    assert_eq!(got.data.params.len(), (TASKS * 5) as usize);
    for task in 0..TASKS {
        assert_eq!(
            tag_value(&got, &format!("t-{task}")).as_deref(),
            Some("4"),
            "each task's last tag value wins"
        );
        let own = latest(&got, &format!("own-{task}")).expect("own metric");
        assert_eq!((own.value, own.step), (4.0, 4));
        assert_eq!(full_history(&t, &id, &format!("own-{task}")).await.len(), 5);
    }
    let shared = latest(&got, "shared").expect("shared");
    assert_eq!(shared.step, TASKS * POINTS - 1);
}

pub async fn concurrent_runs_and_reads(f: Fixture) {
    let t = f.tracking();
    let exp = experiment(&t, "busy").await;
    let writers: Vec<_> = (0..8)
        .map(|i| {
            let (t, exp) = (t.clone(), exp.clone());
            tokio::spawn(async move {
                let mut ids = Vec::new();
                for j in 0..5 {
                    let run = run_named(&t, &exp, &format!("w{i}-{j}")).await;
                    log_point(&t, &run.info.run_id, "m", f64::from(j), T0, 0).await;
                    ids.push(run.info.run_id);
                }
                ids
            })
        })
        .collect();
    let readers: Vec<_> = (0..4)
        .map(|_| {
            let (t, exp) = (t.clone(), exp.clone());
            tokio::spawn(async move {
                let mut last = 0;
                for _ in 0..20 {
                    let page = t
                        .search_runs(SearchRuns {
                            experiment_ids: vec![exp.clone()],
                            max_results: Some(1000),
                            ..Default::default()
                        })
                        .await
                        .expect("search during writes");
                    assert!(page.items.len() >= last, "committed runs never vanish");
                    last = page.items.len();
                    tokio::task::yield_now().await;
                }
            })
        })
        .collect();
    let mut all = Vec::new();
    for w in writers {
        all.extend(w.await.expect("writer"));
    }
    for r in readers {
        r.await.expect("reader");
    }
    assert_eq!(all.len(), 40);
    let found = search_run_ids(&t, &[&exp], "", &[], ViewType::All).await;
    assert_eq!(sorted(&found), sorted(&all));
}

pub async fn reopen_keeps_all_data(mut f: Fixture) {
    let (exp, kept, deleted, run_before) = {
        let t = f.tracking();
        t.ensure_default_experiment().await.expect("default");
        let exp = t
            .create_experiment(CreateExperiment {
                workspace: Default::default(),
                name: "durable".into(),
                artifact_location: None,
                tags: vec![tag("team", "core")],
            })
            .await
            .expect("create");
        let kept = run_named(&t, &exp, "kept").await;
        let id = &kept.info.run_id;
        t.log_batch(
            id,
            vec![
                point("m", 1.0, T0, 0),
                point("m", f64::NAN, T0 + 1, 1),
                point("inf", f64::INFINITY, T0, 0),
            ],
            vec![param("lr", "0.1")],
            vec![tag("env", "prod")],
        )
        .await
        .expect("log");
        t.log_inputs(
            id,
            vec![DatasetInput {
                tags: vec![tag("mlflow.data.context", "train")],
                dataset: Dataset {
                    name: "mnist".into(),
                    digest: "d1".into(),
                    source_type: "local".into(),
                    source: "/data".into(),
                    schema: None,
                    profile: None,
                },
            }],
            Vec::new(),
        )
        .await
        .expect("inputs");
        t.log_outputs(
            id,
            vec![ModelOutput {
                model_id: "m-1".into(),
                step: 3,
            }],
        )
        .await
        .expect("outputs");
        t.update_run(id, Some(RunStatus::Finished), Some(T0 + 10), None)
            .await
            .expect("finish");
        let deleted = run_in(&t, &exp).await;
        t.delete_run(&deleted.info.run_id).await.expect("delete");
        let run_before = get_run(&t, id).await;
        (exp, kept.info.run_id, deleted.info.run_id, run_before)
    };
    let experiment_before = f.tracking().get_experiment(&exp).await.expect("experiment");
    let history_before = full_history(&f.tracking(), &kept, "m").await;

    for _ in 0..2 {
        f.reopen().await;
        let t = f.tracking();
        assert_eq!(
            t.get_experiment(&exp).await.expect("experiment survives"),
            experiment_before
        );
        let run = get_run(&t, &kept).await;
        assert_eq!(run.info, run_before.info);
        assert_eq!(run.data.params, run_before.data.params);
        assert_eq!(run.data.tags, run_before.data.tags);
        assert_eq!(run.inputs, run_before.inputs);
        assert_eq!(run.outputs, run_before.outputs);
        assert_eq!(run.data.metrics.len(), run_before.data.metrics.len());
        assert!(latest(&run, "m").expect("m").value.is_nan());
        assert_eq!(latest(&run, "inf").expect("inf").value, f64::INFINITY);
        let history = full_history(&t, &kept, "m").await;
        assert_eq!(history.len(), history_before.len());
        assert_eq!(history[0], history_before[0]);
        assert_eq!(stage_of(&t, &deleted).await, LifecycleStage::Deleted);
        assert_eq!(
            t.search_datasets(vec![exp.clone()])
                .await
                .expect("datasets")
                .len(),
            1
        );
        // The default experiment is still there and is not created twice.
        t.ensure_default_experiment().await.expect("default again");
        assert_eq!(
            t.get_experiment("0").await.expect("default").name,
            "Default"
        );
        // The reopened store accepts writes and still enforces its constraints.
        t.log_param(&kept, param("lr", "0.1"))
            .await
            .expect("same value");
        expect_err(
            t.log_param(&kept, param("lr", "0.2")).await,
            keel_core::ErrorCode::InvalidParameterValue,
        );
        expect_err(
            t.create_experiment(CreateExperiment {
                name: "durable".into(),
                ..Default::default()
            })
            .await,
            keel_core::ErrorCode::ResourceAlreadyExists,
        );
    }
}
