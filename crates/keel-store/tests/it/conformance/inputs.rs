//! Conformance checks for run inputs (datasets, models) and outputs (models).

use keel_core::{Dataset, DatasetInput, DatasetSummary, ModelInput, ModelOutput};

use super::*;

const CONTEXT: &str = "mlflow.data.context";

fn dataset(name: &str, digest: &str, source: &str) -> Dataset {
    Dataset {
        name: name.into(),
        digest: digest.into(),
        source_type: "local".into(),
        source: source.into(),
        schema: Some(r#"{"mlflow_colspec": []}"#.into()),
        profile: Some(r#"{"num_rows": 10}"#.into()),
    }
}

fn input(d: Dataset, tags: &[(&str, &str)]) -> DatasetInput {
    DatasetInput {
        tags: tags.iter().map(|(k, v)| tag(k, v)).collect(),
        dataset: d,
    }
}

pub async fn datasets_are_deduplicated_per_experiment(f: Fixture) {
    let t = f.tracking();
    let exp = experiment(&t, "datasets").await;
    let other_exp = experiment(&t, "other datasets").await;
    let a = run_in(&t, &exp).await;
    let b = run_in(&t, &exp).await;
    let c = run_in(&t, &other_exp).await;
    let first = dataset("mnist", "d1", "/data/first");
    // Same name and digest, logged again with another source: the experiment keeps one dataset.
    let again = dataset("mnist", "d1", "/data/second");
    t.log_inputs(&a.info.run_id, vec![input(first.clone(), &[])], Vec::new())
        .await
        .expect("log a");
    t.log_inputs(&b.info.run_id, vec![input(again.clone(), &[])], Vec::new())
        .await
        .expect("log b");
    t.log_inputs(&c.info.run_id, vec![input(again.clone(), &[])], Vec::new())
        .await
        .expect("log c");

    let got_b = get_run(&t, &b.info.run_id).await;
    assert_eq!(got_b.inputs.dataset_inputs.len(), 1);
    assert_eq!(
        got_b.inputs.dataset_inputs[0].dataset, first,
        "run b uses the experiment's existing dataset"
    );
    let got_c = get_run(&t, &c.info.run_id).await;
    assert_eq!(
        got_c.inputs.dataset_inputs[0].dataset, again,
        "another experiment has its own dataset"
    );
    let summaries = t
        .search_datasets(vec![exp.clone(), other_exp.clone()])
        .await
        .expect("search datasets");
    let mut found: Vec<(String, String, String)> = summaries
        .iter()
        .map(|s| (s.experiment_id.clone(), s.name.clone(), s.digest.clone()))
        .collect();
    found.sort();
    let mut expected = vec![
        (exp.clone(), "mnist".to_owned(), "d1".to_owned()),
        (other_exp.clone(), "mnist".to_owned(), "d1".to_owned()),
    ];
    expected.sort();
    assert_eq!(found, expected);

    // A different digest is a different dataset.
    t.log_inputs(
        &a.info.run_id,
        vec![input(dataset("mnist", "d2", "/data/v2"), &[])],
        Vec::new(),
    )
    .await
    .expect("log v2");
    let names: Vec<(String, String)> = get_run(&t, &a.info.run_id)
        .await
        .inputs
        .dataset_inputs
        .iter()
        .map(|i| (i.dataset.name.clone(), i.dataset.digest.clone()))
        .collect();
    assert_eq!(
        sorted(&names),
        vec![
            ("mnist".to_owned(), "d1".to_owned()),
            ("mnist".to_owned(), "d2".to_owned())
        ]
    );
}

pub async fn relogging_a_dataset_input_is_idempotent(f: Fixture) {
    let t = f.tracking();
    let exp = experiment(&t, "relog").await;
    let run = run_in(&t, &exp).await;
    let id = &run.info.run_id;
    let d = dataset("iris", "abc", "/data/iris");
    for _ in 0..3 {
        t.log_inputs(
            id,
            vec![input(d.clone(), &[(CONTEXT, "train")])],
            Vec::new(),
        )
        .await
        .expect("log");
    }
    // Twice in one request as well.
    t.log_inputs(
        id,
        vec![
            input(d.clone(), &[(CONTEXT, "train")]),
            input(d.clone(), &[(CONTEXT, "train")]),
        ],
        Vec::new(),
    )
    .await
    .expect("log twice in one request");
    let got = get_run(&t, id).await;
    assert_eq!(got.inputs.dataset_inputs.len(), 1);
    assert_eq!(
        got.inputs.dataset_inputs[0].tags,
        vec![tag(CONTEXT, "train")]
    );
    assert_eq!(t.search_datasets(vec![exp]).await.expect("search").len(), 1);
}

pub async fn dataset_input_tags_round_trip(f: Fixture) {
    let t = f.tracking();
    let exp = experiment(&t, "input tags").await;
    let run = run_in(&t, &exp).await;
    let id = &run.info.run_id;
    let train = dataset("train-set", "t1", "/data/train");
    let eval = dataset("eval-set", "e1", "/data/eval");
    t.log_inputs(
        id,
        vec![
            input(train.clone(), &[(CONTEXT, "training"), ("split", "80%")]),
            input(eval.clone(), &[(CONTEXT, "evaluation")]),
        ],
        Vec::new(),
    )
    .await
    .expect("log inputs");
    let got = get_run(&t, id).await;
    let mut inputs = got.inputs.dataset_inputs.clone();
    inputs.sort_by(|a, b| a.dataset.name.cmp(&b.dataset.name));
    assert_eq!(inputs.len(), 2);
    assert_eq!(inputs[0].dataset, eval);
    assert_eq!(inputs[0].tags, vec![tag(CONTEXT, "evaluation")]);
    assert_eq!(inputs[1].dataset, train);
    let mut train_tags = inputs[1].tags.clone();
    train_tags.sort_by(|a, b| a.key.cmp(&b.key));
    assert_eq!(
        train_tags,
        vec![tag(CONTEXT, "training"), tag("split", "80%")]
    );
}

pub async fn search_datasets_returns_context(f: Fixture) {
    let t = f.tracking();
    let exp = experiment(&t, "contexts").await;
    let unrelated = experiment(&t, "unrelated").await;
    let a = run_in(&t, &exp).await;
    let b = run_in(&t, &exp).await;
    let u = run_in(&t, &unrelated).await;
    let d = dataset("wiki", "w1", "/data/wiki");
    t.log_inputs(
        &a.info.run_id,
        vec![
            input(d.clone(), &[(CONTEXT, "train")]),
            input(dataset("no-context", "n1", "/data/n"), &[]),
        ],
        Vec::new(),
    )
    .await
    .expect("log a");
    t.log_inputs(
        &b.info.run_id,
        vec![input(d.clone(), &[(CONTEXT, "eval")])],
        Vec::new(),
    )
    .await
    .expect("log b");
    t.log_inputs(
        &u.info.run_id,
        vec![input(
            dataset("elsewhere", "x1", "/data/x"),
            &[(CONTEXT, "train")],
        )],
        Vec::new(),
    )
    .await
    .expect("log u");

    let mut found = t.search_datasets(vec![exp.clone()]).await.expect("search");
    found.sort_by(|x, y| (&x.name, &x.context).cmp(&(&y.name, &y.context)));
    let summary = |name: &str, digest: &str, context: Option<&str>| DatasetSummary {
        experiment_id: exp.clone(),
        name: name.into(),
        digest: digest.into(),
        context: context.map(str::to_owned),
    };
    assert_eq!(
        found,
        vec![
            summary("no-context", "n1", None),
            summary("wiki", "w1", Some("eval")),
            summary("wiki", "w1", Some("train")),
        ]
    );
    // Input validation happens before the store.
    expect_err(
        t.search_datasets(Vec::new()).await,
        keel_core::ErrorCode::InvalidParameterValue,
    );
    // An experiment without datasets has none.
    let empty = experiment(&t, "empty").await;
    assert!(
        t.search_datasets(vec![empty])
            .await
            .expect("search")
            .is_empty()
    );
}

pub async fn log_outputs_and_model_inputs(f: Fixture) {
    let t = f.tracking();
    let exp = experiment(&t, "models").await;
    let run = run_in(&t, &exp).await;
    let id = &run.info.run_id;
    t.log_outputs(
        id,
        vec![
            ModelOutput {
                model_id: "m-b".into(),
                step: 2,
            },
            ModelOutput {
                model_id: "m-a".into(),
                step: 1,
            },
        ],
    )
    .await
    .expect("log outputs");
    // Logging the same model again records its new step, not a second output.
    t.log_outputs(
        id,
        vec![ModelOutput {
            model_id: "m-a".into(),
            step: 5,
        }],
    )
    .await
    .expect("log outputs again");
    t.log_inputs(
        id,
        Vec::new(),
        vec![
            ModelInput {
                model_id: "m-in".into(),
            },
            ModelInput {
                model_id: "m-in".into(),
            },
        ],
    )
    .await
    .expect("log model inputs");

    let got = get_run(&t, id).await;
    let mut outputs: Vec<(String, i64)> = got
        .outputs
        .model_outputs
        .iter()
        .map(|m| (m.model_id.clone(), m.step))
        .collect();
    outputs.sort();
    assert_eq!(outputs, vec![("m-a".to_owned(), 5), ("m-b".to_owned(), 2)]);
    assert_eq!(
        got.inputs.model_inputs,
        vec![ModelInput {
            model_id: "m-in".into()
        }]
    );
    expect_err(
        t.log_outputs(
            id,
            vec![ModelOutput {
                model_id: String::new(),
                step: 0,
            }],
        )
        .await,
        keel_core::ErrorCode::InvalidParameterValue,
    );
}
