//! Conformance checks for MLflow 3 logged models: create, read, finalize, delete, tags, params,
//! metrics linked through runs, search (filters, datasets, order, paging) and the run's
//! `mlflow.log-model.history` tag.

use keel_core::store::DatasetFilter;
use keel_core::tracking::{
    CreateLoggedModel, LOGGED_MODELS_HISTORY_TAG, LoggedModelOrderBy, SearchLoggedModels,
};
use keel_core::{LoggedModel, LoggedModelStatus};

use super::*;

async fn model(t: &Tracking, experiment_id: &str, name: &str) -> LoggedModel {
    t.create_logged_model(CreateLoggedModel {
        experiment_id: experiment_id.into(),
        name: Some(name.into()),
        ..Default::default()
    })
    .await
    .expect("create logged model")
}

async fn search(t: &Tracking, req: SearchLoggedModels) -> Vec<String> {
    t.search_logged_models(req)
        .await
        .expect("search")
        .items
        .into_iter()
        .map(|m| m.name)
        .collect()
}

async fn search_filter(t: &Tracking, experiment_id: &str, filter: &str) -> Vec<String> {
    search(
        t,
        SearchLoggedModels {
            experiment_ids: vec![experiment_id.into()],
            filter: Some(filter.into()),
            ..Default::default()
        },
    )
    .await
}

/// A metric point linked to a model (and optionally a dataset).
fn model_point(key: &str, value: f64, ts: i64, model_id: &str, dataset: Option<&str>) -> LogMetric {
    LogMetric {
        model_id: Some(model_id.into()),
        dataset_name: dataset.map(str::to_owned),
        dataset_digest: dataset.map(|_| "d1".to_owned()),
        ..point(key, value, ts, 0)
    }
}

pub async fn create_and_get_logged_model(f: Fixture) {
    let t = f.tracking();
    let exp = experiment(&t, "models").await;
    let run = run_in(&t, &exp).await;
    let created = t
        .create_logged_model(CreateLoggedModel {
            experiment_id: exp.clone(),
            name: Some("clf".into()),
            model_type: Some("Classifier".into()),
            source_run_id: Some(run.info.run_id.clone()),
            params: vec![param("alpha", "0.5"), param("alpha", "0.7")],
            tags: vec![tag("team", "a")],
        })
        .await
        .expect("create");
    assert!(created.model_id.starts_with("m-"));
    assert_eq!(created.model_id.len(), 34);
    assert!(created.model_id[2..].chars().all(|c| c.is_ascii_hexdigit()));
    let experiment = t.get_experiment(&exp).await.expect("experiment");
    assert_eq!(
        created.artifact_location,
        format!(
            "{}/models/{}/artifacts",
            experiment.artifact_location, created.model_id
        )
    );
    assert_eq!(created.status, LoggedModelStatus::Pending);
    let got = t
        .get_logged_model(&created.model_id, false)
        .await
        .expect("get");
    assert_eq!(got, created);
    assert_eq!(got.params, vec![param("alpha", "0.7")]);
    assert_eq!(got.tags, vec![tag("team", "a")]);
    assert_eq!(got.source_run_id.as_deref(), Some(run.info.run_id.as_str()));
    let unnamed = t
        .create_logged_model(CreateLoggedModel {
            experiment_id: exp.clone(),
            ..Default::default()
        })
        .await
        .expect("create without a name");
    assert!(!unnamed.name.is_empty());
    expect_err(
        t.get_logged_model("m-0000", false).await,
        ErrorCode::ResourceDoesNotExist,
    );
}

pub async fn create_logged_model_rejects_bad_input(f: Fixture) {
    let t = f.tracking();
    let exp = experiment(&t, "bad models").await;
    for name in ["a/b", "a.b", "x:y", ""] {
        expect_err(
            t.create_logged_model(CreateLoggedModel {
                experiment_id: exp.clone(),
                name: Some(name.into()),
                ..Default::default()
            })
            .await,
            ErrorCode::InvalidParameterValue,
        );
    }
    expect_err(
        t.create_logged_model(CreateLoggedModel {
            experiment_id: "123456".into(),
            ..Default::default()
        })
        .await,
        ErrorCode::ResourceDoesNotExist,
    );
    t.delete_experiment(&exp).await.expect("delete experiment");
    expect_err(
        t.create_logged_model(CreateLoggedModel {
            experiment_id: exp.clone(),
            ..Default::default()
        })
        .await,
        ErrorCode::InvalidParameterValue,
    );
}

pub async fn finalize_delete_and_allow_deleted(f: Fixture) {
    let t = f.tracking();
    let exp = experiment(&t, "lifecycle").await;
    let m = model(&t, &exp, "m1").await;
    let ready = t
        .finalize_logged_model(&m.model_id, LoggedModelStatus::Ready)
        .await
        .expect("finalize");
    assert_eq!(ready.status, LoggedModelStatus::Ready);
    assert!(ready.last_updated_timestamp_ms > m.last_updated_timestamp_ms);
    expect_err(
        t.finalize_logged_model(&m.model_id, LoggedModelStatus::Unspecified)
            .await,
        ErrorCode::InvalidParameterValue,
    );
    t.delete_logged_model(&m.model_id).await.expect("delete");
    expect_err(
        t.get_logged_model(&m.model_id, false).await,
        ErrorCode::ResourceDoesNotExist,
    );
    let deleted = t
        .get_logged_model(&m.model_id, true)
        .await
        .expect("allow_deleted");
    assert_eq!(deleted.lifecycle_stage, LifecycleStage::Deleted);
    expect_err(
        t.delete_logged_model(&m.model_id).await,
        ErrorCode::ResourceDoesNotExist,
    );
    assert!(search_filter(&t, &exp, "").await.is_empty());
}

pub async fn logged_model_tags_and_params(f: Fixture) {
    let t = f.tracking();
    let exp = experiment(&t, "tags").await;
    let m = model(&t, &exp, "m").await;
    t.set_logged_model_tags(&m.model_id, vec![tag("a", "1"), tag("b", "2")])
        .await
        .expect("set tags");
    t.set_logged_model_tags(&m.model_id, vec![tag("a", "3")])
        .await
        .expect("overwrite");
    t.delete_logged_model_tag(&m.model_id, "b")
        .await
        .expect("delete tag");
    expect_err(
        t.delete_logged_model_tag(&m.model_id, "b").await,
        ErrorCode::ResourceDoesNotExist,
    );
    t.log_logged_model_params(&m.model_id, vec![param("p", "1"), param("q", "2")])
        .await
        .expect("params");
    t.log_logged_model_params(&m.model_id, vec![param("p", "1")])
        .await
        .expect("same value again");
    expect_err(
        t.log_logged_model_params(&m.model_id, vec![param("q", "9"), param("r", "3")])
            .await,
        ErrorCode::InvalidParameterValue,
    );
    let got = t.get_logged_model(&m.model_id, false).await.expect("get");
    assert_eq!(got.tags, vec![tag("a", "3")]);
    assert_eq!(
        got.params,
        vec![param("p", "1"), param("q", "2")],
        "a rejected request writes nothing"
    );
    expect_err(
        t.set_logged_model_tags("m-missing", vec![tag("a", "1")])
            .await,
        ErrorCode::ResourceDoesNotExist,
    );
}

pub async fn logged_model_metrics_come_from_runs(f: Fixture) {
    let t = f.tracking();
    let exp = experiment(&t, "metrics").await;
    let m = model(&t, &exp, "m").await;
    let run = run_in(&t, &exp).await;
    t.log_metric(
        &run.info.run_id,
        model_point("acc", 0.9, T0 + 5, &m.model_id, Some("test")),
    )
    .await
    .expect("log");
    log_point(&t, &run.info.run_id, "loss", 0.1, T0 + 6, 0).await;
    let got = t.get_logged_model(&m.model_id, false).await.expect("get");
    assert_eq!(got.metrics.len(), 1, "{:?}", got.metrics);
    assert_eq!(got.metrics[0].run_id, run.info.run_id);
    assert_eq!(got.metrics[0].metric.key, "acc");
    assert_eq!(got.metrics[0].metric.dataset_name.as_deref(), Some("test"));
}

pub async fn search_logged_models_filters(f: Fixture) {
    let t = f.tracking();
    let exp = experiment(&t, "search").await;
    let other = experiment(&t, "other").await;
    let a = model(&t, &exp, "alpha").await;
    let b = model(&t, &exp, "beta").await;
    model(&t, &other, "gamma").await;
    t.finalize_logged_model(&a.model_id, LoggedModelStatus::Ready)
        .await
        .expect("finalize");
    t.set_logged_model_tags(&b.model_id, vec![tag("stage", "prod")])
        .await
        .expect("tag");
    t.log_logged_model_params(&a.model_id, vec![param("lr", "0.1")])
        .await
        .expect("param");
    let run = run_in(&t, &exp).await;
    for (m, v) in [(&a, 0.8), (&b, 0.95)] {
        t.log_metric(
            &run.info.run_id,
            model_point("acc", v, T0 + 9, &m.model_id, Some("eval")),
        )
        .await
        .expect("metric");
    }

    assert_eq!(search_filter(&t, &exp, "").await, vec!["beta", "alpha"]);
    assert_eq!(
        search_filter(&t, &exp, "name = 'alpha'").await,
        vec!["alpha"]
    );
    assert_eq!(
        search_filter(&t, &exp, "name LIKE 'b%'").await,
        vec!["beta"]
    );
    assert_eq!(
        search_filter(&t, &exp, "name ILIKE 'ALP%'").await,
        vec!["alpha"]
    );
    assert_eq!(
        search_filter(&t, &exp, "name IN ('alpha', 'gamma')").await,
        vec!["alpha"]
    );
    assert_eq!(
        search_filter(&t, &exp, "status = 'READY'").await,
        vec!["alpha"]
    );
    assert_eq!(
        search_filter(&t, &exp, "tags.stage = 'prod'").await,
        vec!["beta"]
    );
    assert_eq!(
        search_filter(&t, &exp, "params.lr = '0.1'").await,
        vec!["alpha"]
    );
    assert!(
        search_filter(&t, &exp, "params.lr != '0.1'")
            .await
            .is_empty(),
        "!= needs the key"
    );
    assert_eq!(
        search_filter(&t, &exp, "metrics.acc > 0.9").await,
        vec!["beta"]
    );
    assert_eq!(
        search_filter(&t, &exp, "metrics.acc >= 0.8 AND name != 'beta'").await,
        vec!["alpha"]
    );
    assert_eq!(
        search_filter(
            &t,
            &exp,
            &format!("creation_timestamp_ms <= {}", a.creation_timestamp_ms)
        )
        .await,
        vec!["alpha"]
    );
    assert_eq!(
        search_filter(&t, &exp, &format!("source_run_id = '{}'", run.info.run_id)).await,
        Vec::<String>::new()
    );
    let both = search(
        &t,
        SearchLoggedModels {
            experiment_ids: vec![exp.clone(), other.clone()],
            ..Default::default()
        },
    )
    .await;
    assert_eq!(both, vec!["gamma", "beta", "alpha"]);
    let on_dataset = |name: &str| SearchLoggedModels {
        experiment_ids: vec![exp.clone()],
        filter: Some("metrics.acc > 0".into()),
        datasets: vec![DatasetFilter {
            name: name.into(),
            digest: None,
        }],
        ..Default::default()
    };
    assert_eq!(search(&t, on_dataset("eval")).await, vec!["beta", "alpha"]);
    assert!(search(&t, on_dataset("train")).await.is_empty());
    expect_err(
        t.search_logged_models(SearchLoggedModels {
            experiment_ids: vec![exp.clone()],
            filter: Some("metrics.acc LIKE 'x'".into()),
            ..Default::default()
        })
        .await,
        ErrorCode::InvalidParameterValue,
    );
    expect_err(
        t.search_logged_models(SearchLoggedModels {
            experiment_ids: vec![exp.clone()],
            datasets: vec![DatasetFilter {
                name: String::new(),
                digest: None,
            }],
            ..Default::default()
        })
        .await,
        ErrorCode::InvalidParameterValue,
    );
}

pub async fn search_logged_models_orders_and_pages(f: Fixture) {
    let t = f.tracking();
    let exp = experiment(&t, "order").await;
    let run = run_in(&t, &exp).await;
    let mut names = Vec::new();
    for i in 0..7 {
        let name = format!("m{i}");
        let m = model(&t, &exp, &name).await;
        if i != 3 {
            // m3 has no metric: it sorts last both ways.
            let v = f64::from((i * 5) % 7);
            t.log_metric(
                &run.info.run_id,
                model_point("score", v, T0 + 100, &m.model_id, None),
            )
            .await
            .expect("metric");
        }
        names.push(name);
    }
    let order = |field: &str, ascending: bool| SearchLoggedModels {
        experiment_ids: vec![exp.clone()],
        order_by: vec![LoggedModelOrderBy {
            field_name: field.into(),
            ascending,
            ..Default::default()
        }],
        ..Default::default()
    };
    // Scores: m0 0, m1 5, m2 3, m4 6, m5 4, m6 2.
    assert_eq!(
        search(&t, order("metrics.score", true)).await,
        vec!["m0", "m6", "m2", "m5", "m1", "m4", "m3"]
    );
    assert_eq!(
        search(&t, order("metrics.score", false)).await,
        vec!["m4", "m1", "m5", "m2", "m6", "m0", "m3"]
    );
    assert_eq!(search(&t, order("name", true)).await, names);
    assert_eq!(
        search(&t, order("creation_timestamp", true)).await,
        names,
        "aliases resolve"
    );
    expect_err(
        t.search_logged_models(order("params.x", true)).await,
        ErrorCode::InvalidParameterValue,
    );

    let mut seen = Vec::new();
    let mut token = None;
    loop {
        let page = t
            .search_logged_models(SearchLoggedModels {
                experiment_ids: vec![exp.clone()],
                max_results: Some(3),
                page_token: token.clone(),
                ..order("name", true)
            })
            .await
            .expect("page");
        assert!(page.items.len() <= 3);
        seen.extend(page.items.into_iter().map(|m| m.name));
        token = page.next_page_token;
        if token.is_none() {
            break;
        }
    }
    assert_eq!(seen, names);
}

pub async fn record_logged_model_appends_history(f: Fixture) {
    let t = f.tracking();
    let exp = experiment(&t, "history").await;
    let run = run_in(&t, &exp).await;
    let id = &run.info.run_id;
    let model = |path: &str| {
        format!(
            r#"{{"artifact_path": "{path}", "flavors": {{}}, "utc_time_created": "now", "run_id": "{id}"}}"#
        )
    };
    t.record_logged_model(id, &model("a")).await.expect("first");
    t.record_logged_model(id, &model("b"))
        .await
        .expect("second");
    let run = t.get_run(id).await.expect("run");
    let history = run
        .data
        .tags
        .iter()
        .find(|t| t.key == LOGGED_MODELS_HISTORY_TAG)
        .expect("history tag");
    let parsed: Vec<serde_json::Value> = serde_json::from_str(&history.value).expect("a JSON list");
    assert_eq!(parsed.len(), 2);
    assert_eq!(parsed[1]["artifact_path"], "b");
    expect_err(
        t.record_logged_model(id, r#"{"artifact_path": "x"}"#).await,
        ErrorCode::InvalidParameterValue,
    );
    expect_err(
        t.record_logged_model(id, "not json").await,
        ErrorCode::InvalidParameterValue,
    );
}
