//! Conformance checks for run and experiment search: filters, ordering, views and paging.

use keel_core::tracking::{CreateExperiment, SearchExperiments};
use keel_core::{Dataset, DatasetInput, ErrorCode, Experiment, RunStatus, ViewType};

use super::*;

/// Five runs with known data, created in order r1..r5 with increasing start times.
///
/// | run | name    | user | start | status   | acc  | loss | lr   | model | env  | datasets            |
/// |-----|---------|------|-------|----------|------|------|------|-------|------|---------------------|
/// | r1  | train-a | ann  | +100  | FINISHED | 0.9  | 0.1  | 0.1  | cnn   | prod | mnist/train         |
/// | r2  | train-b | bob  | +200  | RUNNING  | 0.5  |      | 0.01 | rnn   | dev  | mnist/eval, cifar/train |
/// | r3  | eval-c  | ann  | +300  | FAILED   |      | 0.3  | 0.1  |       |      |                     |
/// | r4  | train-d | carl | +400  | FINISHED | 0.7  |      |      |       | prod |                     |
/// | r5  | nan-e   | dan  | +500  | RUNNING  | NaN  |      |      |       |      |                     |
struct World {
    t: Tracking,
    exp: String,
    /// Run IDs r1..r5 at indexes 0..4.
    ids: Vec<String>,
}

impl World {
    /// The IDs of the named runs (1-based), in the order given.
    fn runs(&self, which: &[usize]) -> Vec<String> {
        which.iter().map(|i| self.ids[i - 1].clone()).collect()
    }

    async fn search(&self, filter: &str) -> Vec<String> {
        search_run_ids(&self.t, &[&self.exp], filter, &[], ViewType::ActiveOnly).await
    }

    async fn ordered(&self, order_by: &[&str]) -> Vec<String> {
        search_run_ids(&self.t, &[&self.exp], "", order_by, ViewType::ActiveOnly).await
    }
}

fn dataset_input(name: &str, digest: &str, context: &str) -> DatasetInput {
    DatasetInput {
        tags: vec![tag("mlflow.data.context", context)],
        dataset: Dataset {
            name: name.into(),
            digest: digest.into(),
            source_type: "local".into(),
            source: format!("/data/{name}"),
            schema: None,
            profile: None,
        },
    }
}

async fn world(f: &Fixture) -> World {
    let t = f.tracking();
    let exp = experiment(&t, "search").await;
    struct Spec {
        name: &'static str,
        user: &'static str,
        status: Option<RunStatus>,
        metrics: &'static [(&'static str, f64)],
        params: &'static [(&'static str, &'static str)],
        tags: &'static [(&'static str, &'static str)],
        datasets: &'static [(&'static str, &'static str, &'static str)],
    }
    let specs = [
        Spec {
            name: "train-a",
            user: "ann",
            status: Some(RunStatus::Finished),
            metrics: &[("acc", 0.9), ("loss", 0.1)],
            params: &[("lr", "0.1"), ("model", "cnn")],
            tags: &[("env", "prod")],
            datasets: &[("mnist", "m1", "train")],
        },
        Spec {
            name: "train-b",
            user: "bob",
            status: None,
            metrics: &[("acc", 0.5)],
            params: &[("lr", "0.01"), ("model", "rnn")],
            tags: &[("env", "dev")],
            datasets: &[("mnist", "m1", "eval"), ("cifar", "c1", "train")],
        },
        Spec {
            name: "eval-c",
            user: "ann",
            status: Some(RunStatus::Failed),
            metrics: &[("loss", 0.3)],
            params: &[("lr", "0.1")],
            tags: &[],
            datasets: &[],
        },
        Spec {
            name: "train-d",
            user: "carl",
            status: Some(RunStatus::Finished),
            metrics: &[("acc", 0.7)],
            params: &[],
            tags: &[("env", "prod")],
            datasets: &[],
        },
        Spec {
            name: "nan-e",
            user: "dan",
            status: None,
            metrics: &[("acc", f64::NAN)],
            params: &[],
            tags: &[],
            datasets: &[],
        },
    ];
    let mut ids = Vec::new();
    for (i, s) in specs.iter().enumerate() {
        let start = T0 + 100 * (i as i64 + 1);
        let run = t
            .create_run(keel_core::tracking::CreateRun {
                experiment_id: Some(exp.clone()),
                user_id: Some(s.user.into()),
                run_name: Some(s.name.into()),
                start_time: Some(start),
                tags: Vec::new(),
            })
            .await
            .expect("create run");
        let id = run.info.run_id;
        t.log_batch(
            &id,
            s.metrics
                .iter()
                .map(|(k, v)| point(k, *v, start, 0))
                .collect(),
            s.params.iter().map(|(k, v)| param(k, v)).collect(),
            s.tags.iter().map(|(k, v)| tag(k, v)).collect(),
        )
        .await
        .expect("log");
        if !s.datasets.is_empty() {
            t.log_inputs(
                &id,
                s.datasets
                    .iter()
                    .map(|(n, d, c)| dataset_input(n, d, c))
                    .collect(),
                Vec::new(),
            )
            .await
            .expect("inputs");
        }
        if let Some(status) = s.status {
            t.update_run(&id, Some(status), Some(start + 50), None)
                .await
                .expect("update");
        }
        ids.push(id);
    }
    World { t, exp, ids }
}

pub async fn search_runs_filters_metrics_params_tags(f: Fixture) {
    let w = world(&f).await;
    // Default order: start_time DESC.
    assert_eq!(w.search("").await, w.runs(&[5, 4, 3, 2, 1]));
    assert_eq!(w.search("metrics.acc > 0.6").await, w.runs(&[4, 1]));
    assert_eq!(w.search("metrics.acc >= 0.5").await, w.runs(&[4, 2, 1]));
    assert_eq!(w.search("metrics.loss <= 0.3").await, w.runs(&[3, 1]));
    assert_eq!(w.search("metrics.acc = 0.5").await, w.runs(&[2]));
    assert_eq!(w.search("params.lr = '0.1'").await, w.runs(&[3, 1]));
    // Comparisons on a key only match runs that have it.
    assert_eq!(w.search("params.model != 'cnn'").await, w.runs(&[2]));
    assert_eq!(w.search("params.model IS NULL").await, w.runs(&[5, 4, 3]));
    assert_eq!(w.search("params.model IS NOT NULL").await, w.runs(&[2, 1]));
    assert_eq!(w.search("tags.env = 'prod'").await, w.runs(&[4, 1]));
    assert_eq!(w.search("tags.env LIKE 'd%'").await, w.runs(&[2]));
    assert_eq!(w.search("tags.env LIKE 'PROD'").await, w.runs(&[]));
    assert_eq!(w.search("tags.env ILIKE 'PROD'").await, w.runs(&[4, 1]));
    assert_eq!(
        w.search("metrics.acc > 0.6 AND tags.env = 'prod' AND params.lr = '0.1'")
            .await,
        w.runs(&[1])
    );
    assert_eq!(w.search("metrics.missing > 0").await, w.runs(&[]));
    assert_eq!(
        w.search("tags.`mlflow.runName` = 'eval-c'").await,
        w.runs(&[3])
    );
}

pub async fn search_runs_filters_attributes(f: Fixture) {
    let w = world(&f).await;
    assert_eq!(
        w.search("attributes.status = 'FINISHED'").await,
        w.runs(&[4, 1])
    );
    assert_eq!(w.search("status != 'RUNNING'").await, w.runs(&[4, 3, 1]));
    assert_eq!(
        w.search("attributes.run_name LIKE 'train-%'").await,
        w.runs(&[4, 2, 1])
    );
    assert_eq!(w.search("`Run name` = 'eval-c'").await, w.runs(&[3]));
    assert_eq!(
        w.search("attributes.user_id = 'ann'").await,
        w.runs(&[3, 1])
    );
    assert_eq!(
        w.search(&format!("attributes.start_time >= {}", T0 + 300))
            .await,
        w.runs(&[5, 4, 3])
    );
    assert_eq!(
        w.search(&format!("created < {}", T0 + 200)).await,
        w.runs(&[1])
    );
    assert_eq!(
        w.search(&format!("end_time = {}", T0 + 350)).await,
        w.runs(&[3])
    );
    let ids = w.runs(&[1, 3]);
    assert_eq!(
        w.search(&format!(
            "attributes.run_id IN ('{}', '{}', 'ffffffffffffffffffffffffffffffff')",
            ids[0], ids[1]
        ))
        .await,
        w.runs(&[3, 1])
    );
    assert_eq!(
        w.search(&format!("run_id NOT IN ('{}', '{}')", ids[0], ids[1]))
            .await,
        w.runs(&[5, 4, 2])
    );
    assert_eq!(
        w.search(&format!("attributes.run_id = '{}'", ids[1])).await,
        w.runs(&[3])
    );
}

pub async fn search_runs_filters_datasets(f: Fixture) {
    let w = world(&f).await;
    assert_eq!(w.search("datasets.name = 'mnist'").await, w.runs(&[2, 1]));
    assert_eq!(w.search("datasets.name = 'cifar'").await, w.runs(&[2]));
    assert_eq!(w.search("datasets.digest = 'c1'").await, w.runs(&[2]));
    assert_eq!(
        w.search("datasets.name IN ('cifar', 'other')").await,
        w.runs(&[2])
    );
    assert_eq!(
        w.search("datasets.context = 'train'").await,
        w.runs(&[2, 1])
    );
    assert_eq!(w.search("datasets.context = 'eval'").await, w.runs(&[2]));
    assert_eq!(
        w.search("datasets.name = 'mnist' AND params.model = 'cnn'")
            .await,
        w.runs(&[1])
    );
    assert_eq!(w.search("datasets.name = 'imagenet'").await, w.runs(&[]));
}

pub async fn search_runs_orders_by_metric_with_missing_last(f: Fixture) {
    let w = world(&f).await;
    // Values, then NaN, then runs without the metric, in both directions.
    assert_eq!(w.ordered(&["metrics.acc"]).await, w.runs(&[2, 4, 1, 5, 3]));
    assert_eq!(
        w.ordered(&["metrics.acc ASC"]).await,
        w.runs(&[2, 4, 1, 5, 3])
    );
    assert_eq!(
        w.ordered(&["metrics.acc DESC"]).await,
        w.runs(&[1, 4, 2, 5, 3])
    );
    // Runs without the metric keep the default tie-break among themselves: start_time DESC.
    assert_eq!(
        w.ordered(&["metrics.loss DESC"]).await,
        w.runs(&[3, 1, 5, 4, 2])
    );
    assert_eq!(w.ordered(&["metrics.loss"]).await, w.runs(&[1, 3, 5, 4, 2]));
}

/// Paging through orders led by a metric, param or tag, with every page size: the pages of runs
/// with a value, of runs without one (or with NaN), and the pages that hold both agree with one
/// big page. (PostgreSQL reads such pages in two statements, valued runs first.)
pub async fn search_runs_pages_across_missing_values(f: Fixture) {
    let w = world(&f).await;
    let orders: [&[&str]; 8] = [
        &["metrics.acc"],
        &["metrics.acc DESC"],
        &["metrics.loss DESC"],
        &["params.lr"],
        &["params.model DESC", "metrics.acc"],
        &["tags.env"],
        &["tags.env DESC", "start_time ASC"],
        &["metrics.nothing"],
    ];
    for order_by in orders {
        let one_page = w.ordered(order_by).await;
        assert_eq!(one_page.len(), 5, "{order_by:?}");
        for filter in ["", "attributes.user_id != 'zed'"] {
            for max in 1..=5 {
                let req = SearchRuns {
                    experiment_ids: vec![w.exp.clone()],
                    filter: Some(filter.into()),
                    max_results: Some(max),
                    order_by: order_by.iter().map(|s| (*s).to_owned()).collect(),
                    ..Default::default()
                };
                let (ids, _) = all_pages(&w.t, req).await;
                assert_eq!(ids, one_page, "{order_by:?}, max_results {max}");
            }
        }
    }
}

pub async fn search_runs_orders_by_param_and_attribute(f: Fixture) {
    let w = world(&f).await;
    assert_eq!(w.ordered(&["params.lr"]).await, w.runs(&[2, 3, 1, 5, 4]));
    assert_eq!(
        w.ordered(&["params.lr DESC"]).await,
        w.runs(&[3, 1, 2, 5, 4])
    );
    assert_eq!(
        w.ordered(&["tags.env DESC"]).await,
        w.runs(&[4, 1, 2, 5, 3])
    );
    assert_eq!(
        w.ordered(&["attributes.run_name"]).await,
        w.runs(&[3, 5, 1, 2, 4])
    );
    assert_eq!(w.ordered(&["start_time"]).await, w.runs(&[1, 2, 3, 4, 5]));
    assert_eq!(
        w.ordered(&["attributes.start_time DESC"]).await,
        w.runs(&[5, 4, 3, 2, 1])
    );
    assert_eq!(
        w.ordered(&["user_id", "metrics.acc DESC"]).await,
        w.runs(&[1, 3, 2, 4, 5])
    );
}

pub async fn search_runs_view_types(f: Fixture) {
    let w = world(&f).await;
    w.t.delete_run(&w.ids[4]).await.expect("delete r5");
    w.t.delete_run(&w.ids[1]).await.expect("delete r2");
    let by_view = async |view| search_run_ids(&w.t, &[&w.exp], "", &[], view).await;
    assert_eq!(by_view(ViewType::ActiveOnly).await, w.runs(&[4, 3, 1]));
    assert_eq!(by_view(ViewType::DeletedOnly).await, w.runs(&[5, 2]));
    assert_eq!(by_view(ViewType::All).await, w.runs(&[5, 4, 3, 2, 1]));
    // Views combine with filters.
    assert_eq!(
        search_run_ids(
            &w.t,
            &[&w.exp],
            "params.lr IS NOT NULL",
            &[],
            ViewType::DeletedOnly
        )
        .await,
        w.runs(&[2])
    );
}

/// Every page through a search, following tokens; checks no page is larger than `max_results`.
async fn all_pages(t: &Tracking, req: SearchRuns) -> (Vec<String>, usize) {
    let max = usize::try_from(req.max_results.expect("max_results")).expect("positive");
    let mut req = req;
    let mut ids = Vec::new();
    let mut pages = 0;
    loop {
        let page = t.search_runs(req.clone()).await.expect("page");
        pages += 1;
        assert!(page.items.len() <= max);
        ids.extend(run_ids(&page.items));
        match page.next_page_token {
            Some(token) => req.page_token = Some(token),
            None => return (ids, pages),
        }
        assert!(pages < 100, "paging does not end");
    }
}

pub async fn search_runs_pages_through_250_runs(f: Fixture) {
    let t = f.tracking();
    let exp = experiment(&t, "many").await;
    let noise = experiment(&t, "noise").await;
    // (run_id, start_time, score): start times repeat so the run ID must break ties.
    let mut rows: Vec<(String, i64, i64)> = Vec::new();
    for i in 0..250_i64 {
        let start = T0 + i / 3;
        let run = t
            .create_run(keel_core::tracking::CreateRun {
                experiment_id: Some(exp.clone()),
                start_time: Some(start),
                ..Default::default()
            })
            .await
            .expect("create");
        let score = i % 17;
        log_point(&t, &run.info.run_id, "score", score as f64, T0, 0).await;
        rows.push((run.info.run_id, start, score));
    }
    run_in(&t, &noise).await;

    let request = |order_by: &[&str]| SearchRuns {
        experiment_ids: vec![exp.clone()],
        max_results: Some(40),
        order_by: order_by.iter().map(|s| (*s).to_owned()).collect(),
        ..Default::default()
    };

    // Default order: start_time DESC, then run ID.
    let mut expected = rows.clone();
    expected.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
    let expected: Vec<String> = expected.into_iter().map(|r| r.0).collect();
    let (ids, pages) = all_pages(&t, request(&[])).await;
    assert_eq!(pages, 7);
    assert_eq!(ids.len(), 250);
    assert_eq!(ids, expected, "every run exactly once, in order");
    assert_eq!(
        ids,
        search_run_ids(&t, &[&exp], "", &[], ViewType::ActiveOnly).await,
        "paging agrees with one big page"
    );

    // Ordered by a metric with many ties.
    let mut expected = rows.clone();
    expected.sort_by(|a, b| {
        b.2.cmp(&a.2)
            .then_with(|| b.1.cmp(&a.1))
            .then_with(|| a.0.cmp(&b.0))
    });
    let expected: Vec<String> = expected.into_iter().map(|r| r.0).collect();
    let (ids, _) = all_pages(&t, request(&["metrics.score DESC"])).await;
    assert_eq!(ids, expected);

    // With a filter, paging covers exactly the matching runs.
    let mut req = request(&["start_time ASC"]);
    req.filter = Some("metrics.score < 5".into());
    let (ids, _) = all_pages(&t, req).await;
    let mut expected: Vec<(String, i64, i64)> = rows.iter().filter(|r| r.2 < 5).cloned().collect();
    expected.sort_by(|a, b| a.1.cmp(&b.1).then_with(|| a.0.cmp(&b.0)));
    assert_eq!(ids, expected.into_iter().map(|r| r.0).collect::<Vec<_>>());
}

pub async fn search_runs_spans_experiments(f: Fixture) {
    let t = f.tracking();
    let a = experiment(&t, "a").await;
    let b = experiment(&t, "b").await;
    let c = experiment(&t, "c").await;
    let ra = run_named(&t, &a, "ra").await.info.run_id;
    let rb = run_named(&t, &b, "rb").await.info.run_id;
    let rc = run_named(&t, &c, "rc").await.info.run_id;
    assert_eq!(
        sorted(&search_run_ids(&t, &[&a, &b], "", &[], ViewType::All).await),
        sorted(&[ra.clone(), rb.clone()])
    );
    assert_eq!(
        search_run_ids(&t, &[&c], "", &[], ViewType::All).await,
        vec![rc]
    );
    // An unknown experiment simply has no runs.
    assert!(
        search_run_ids(&t, &["987654321"], "", &[], ViewType::All)
            .await
            .is_empty()
    );
    let page = t
        .search_runs(SearchRuns::default())
        .await
        .expect("no experiments");
    assert!(page.items.is_empty());
    assert_eq!(page.next_page_token, None);
    // Search results carry the full run.
    t.log_param(&ra, param("p", "v")).await.expect("param");
    let page = t
        .search_runs(SearchRuns {
            experiment_ids: vec![a.clone()],
            ..Default::default()
        })
        .await
        .expect("search");
    assert_eq!(page.items, vec![get_run(&t, &ra).await]);
}

pub async fn search_runs_rejects_bad_input(f: Fixture) {
    let t = f.tracking();
    let exp = experiment(&t, "bad").await;
    let invalid = ErrorCode::InvalidParameterValue;
    let base = SearchRuns {
        experiment_ids: vec![exp.clone()],
        ..Default::default()
    };
    for filter in [
        "metrics.acc >",
        "metrics.acc > 1 OR metrics.acc < 0",
        "nonsense.key = 1",
        "params.lr > '1'",
        "attributes.unknown = 'x'",
    ] {
        let req = SearchRuns {
            filter: Some(filter.into()),
            ..base.clone()
        };
        expect_err(t.search_runs(req).await, invalid);
    }
    for order_by in ["metrics.acc SIDEWAYS", "attributes.nope"] {
        let req = SearchRuns {
            order_by: vec![order_by.into()],
            ..base.clone()
        };
        expect_err(t.search_runs(req).await, invalid);
    }
    for max in [0, -1, 50_001] {
        let req = SearchRuns {
            max_results: Some(max),
            ..base.clone()
        };
        expect_err(t.search_runs(req).await, invalid);
    }
    let req = SearchRuns {
        page_token: Some("garbage".into()),
        ..base.clone()
    };
    expect_err(t.search_runs(req).await, invalid);
    let req = SearchRuns {
        experiment_ids: vec!["abc".into()],
        ..base.clone()
    };
    expect_err(t.search_runs(req).await, invalid);
}

/// Experiments for the experiment-search checks, created in this order (creation time
/// increases): exp-alpha {team: core}, exp-beta {team: ml}, other-gamma {team: core},
/// exp-delta (deleted).
async fn experiment_world(t: &Tracking) -> Vec<String> {
    let mut ids = Vec::new();
    for (name, team) in [
        ("exp-alpha", Some("core")),
        ("exp-beta", Some("ml")),
        ("other-gamma", Some("core")),
        ("exp-delta", None),
    ] {
        let id = t
            .create_experiment(CreateExperiment {
                workspace: Default::default(),
                name: name.into(),
                artifact_location: None,
                tags: team.map(|v| vec![tag("team", v)]).unwrap_or_default(),
            })
            .await
            .expect("create");
        ids.push(id);
    }
    t.delete_experiment(&ids[3]).await.expect("delete delta");
    ids
}

async fn experiment_search(
    t: &Tracking,
    filter: &str,
    order_by: &[&str],
    view: ViewType,
) -> Vec<String> {
    let page = t
        .search_experiments(SearchExperiments {
            filter: Some(filter.into()),
            view,
            max_results: Some(1000),
            order_by: order_by.iter().map(|s| (*s).to_owned()).collect(),
            page_token: None,
            ..Default::default()
        })
        .await
        .unwrap_or_else(|e| panic!("search experiments {filter:?}: {e}"));
    assert_eq!(page.next_page_token, None);
    page.items.into_iter().map(|e| e.experiment_id).collect()
}

fn pick(ids: &[String], which: &[usize]) -> Vec<String> {
    which.iter().map(|i| ids[*i].clone()).collect()
}

pub async fn search_experiments_filters(f: Fixture) {
    let t = f.tracking();
    let ids = experiment_world(&t).await;
    let active = ViewType::ActiveOnly;
    // Default order: newest first.
    assert_eq!(
        experiment_search(&t, "", &[], active).await,
        pick(&ids, &[2, 1, 0])
    );
    assert_eq!(
        experiment_search(&t, "name LIKE 'exp-%'", &[], active).await,
        pick(&ids, &[1, 0])
    );
    assert_eq!(
        experiment_search(&t, "name LIKE 'exp-%'", &[], ViewType::All).await,
        pick(&ids, &[3, 1, 0])
    );
    assert_eq!(
        experiment_search(&t, "name = 'exp-beta'", &[], active).await,
        pick(&ids, &[1])
    );
    assert_eq!(
        experiment_search(&t, "name ILIKE 'EXP-A%'", &[], active).await,
        pick(&ids, &[0])
    );
    assert_eq!(
        experiment_search(&t, "tags.team = 'core'", &[], active).await,
        pick(&ids, &[2, 0])
    );
    assert_eq!(
        experiment_search(&t, "tags.team != 'core'", &[], active).await,
        pick(&ids, &[1])
    );
    assert_eq!(
        experiment_search(&t, "tags.team = 'core' AND name LIKE 'exp%'", &[], active).await,
        pick(&ids, &[0])
    );
    let beta = t.get_experiment(&ids[1]).await.expect("beta");
    assert_eq!(
        experiment_search(
            &t,
            &format!("creation_time >= {}", beta.creation_time),
            &[],
            active
        )
        .await,
        pick(&ids, &[2, 1])
    );
    expect_err(
        t.search_experiments(SearchExperiments {
            filter: Some("metrics.acc > 1".into()),
            ..Default::default()
        })
        .await,
        ErrorCode::InvalidParameterValue,
    );
}

pub async fn search_experiments_order_by(f: Fixture) {
    let t = f.tracking();
    let ids = experiment_world(&t).await;
    let all = ViewType::All;
    assert_eq!(
        experiment_search(&t, "", &["name"], all).await,
        pick(&ids, &[0, 1, 3, 2])
    );
    assert_eq!(
        experiment_search(&t, "", &["name DESC"], all).await,
        pick(&ids, &[2, 3, 1, 0])
    );
    assert_eq!(
        experiment_search(&t, "", &["creation_time ASC"], all).await,
        pick(&ids, &[0, 1, 2, 3])
    );
    // Touch alpha so it becomes the most recently updated.
    t.set_experiment_tag(&ids[0], tag("touched", "yes"))
        .await
        .expect("tag");
    assert_eq!(
        experiment_search(&t, "", &["last_update_time DESC"], all)
            .await
            .first(),
        Some(&ids[0])
    );
    assert_eq!(
        experiment_search(&t, "", &["experiment_id"], all).await,
        sorted_numeric(&ids)
    );
}

fn sorted_numeric(ids: &[String]) -> Vec<String> {
    let mut v: Vec<String> = ids.to_vec();
    v.sort_by_key(|id| id.parse::<i64>().expect("numeric id"));
    v
}

pub async fn search_experiments_view_types(f: Fixture) {
    let t = f.tracking();
    let ids = experiment_world(&t).await;
    assert_eq!(
        experiment_search(&t, "", &[], ViewType::ActiveOnly).await,
        pick(&ids, &[2, 1, 0])
    );
    assert_eq!(
        experiment_search(&t, "", &[], ViewType::DeletedOnly).await,
        pick(&ids, &[3])
    );
    assert_eq!(
        experiment_search(&t, "", &[], ViewType::All).await,
        pick(&ids, &[3, 2, 1, 0])
    );
    t.restore_experiment(&ids[3]).await.expect("restore");
    assert!(
        experiment_search(&t, "", &[], ViewType::DeletedOnly)
            .await
            .is_empty()
    );
}

pub async fn search_experiments_pages(f: Fixture) {
    let t = f.tracking();
    let mut created: Vec<Experiment> = Vec::new();
    for i in 0..25 {
        let id = experiment(&t, &format!("exp-{:02}", (i * 7) % 25)).await;
        created.push(t.get_experiment(&id).await.expect("get"));
    }
    let pages_of = async |order_by: Vec<String>| {
        let mut req = SearchExperiments {
            max_results: Some(7),
            order_by,
            ..Default::default()
        };
        let mut ids = Vec::new();
        let mut pages = 0;
        loop {
            let page = t.search_experiments(req.clone()).await.expect("page");
            pages += 1;
            assert!(page.items.len() <= 7);
            ids.extend(page.items.into_iter().map(|e| e.experiment_id));
            match page.next_page_token {
                Some(token) => req.page_token = Some(token),
                None => break,
            }
            assert!(pages < 50, "paging does not end");
        }
        (ids, pages)
    };

    let (ids, pages) = pages_of(Vec::new()).await;
    assert_eq!(pages, 4);
    let mut newest_first = created.clone();
    newest_first.sort_by_key(|e| std::cmp::Reverse(e.creation_time));
    assert_eq!(
        ids,
        newest_first
            .iter()
            .map(|e| e.experiment_id.clone())
            .collect::<Vec<_>>()
    );

    let (ids, _) = pages_of(vec!["name ASC".into()]).await;
    let mut by_name = created.clone();
    by_name.sort_by(|a, b| a.name.cmp(&b.name));
    assert_eq!(
        ids,
        by_name
            .iter()
            .map(|e| e.experiment_id.clone())
            .collect::<Vec<_>>()
    );
}
