//! Conformance checks for metric history: full reads, paging, step ranges and bulk sampling.

use keel_core::tracking::{HistoryRequest, IntervalRequest, MetricHistory};
use keel_core::{ErrorCode, Metric};

use super::*;

/// Logs `points` in batches of at most 1000 (the per-request limit).
async fn log_points(t: &Tracking, run_id: &str, points: Vec<LogMetric>) {
    let mut points = points.into_iter().peekable();
    while points.peek().is_some() {
        let chunk: Vec<LogMetric> = points.by_ref().take(1000).collect();
        t.log_batch(run_id, chunk, Vec::new(), Vec::new())
            .await
            .expect("log batch");
    }
}

fn keys(history: &[Metric]) -> Vec<(i64, i64)> {
    history.iter().map(|m| (m.timestamp, m.step)).collect()
}

pub async fn metric_history_is_complete_and_ordered(f: Fixture) {
    let t = f.tracking();
    let exp = experiment(&t, "history").await;
    let run = run_in(&t, &exp).await;
    let id = &run.info.run_id;
    // Logged out of order, with timestamps and steps disagreeing.
    let points = vec![
        point("loss", 0.3, T0 + 30, 1),
        point("loss", 0.1, T0 + 10, 3),
        point("loss", 0.2, T0 + 10, 2),
        point("loss", 0.4, T0 + 20, 0),
        point("other", 9.0, T0, 0),
    ];
    for p in points {
        t.log_metric(id, p).await.expect("log");
    }
    let history = full_history(&t, id, "loss").await;
    assert_eq!(
        keys(&history),
        vec![(T0 + 10, 2), (T0 + 10, 3), (T0 + 20, 0), (T0 + 30, 1)]
    );
    assert!(history.iter().all(|m| m.key == "loss"));
    assert_eq!(
        history.iter().map(|m| m.value).collect::<Vec<_>>(),
        vec![0.2, 0.1, 0.4, 0.3]
    );
}

pub async fn whole_history_longer_than_a_page_is_read_in_pages(f: Fixture) {
    let t = f.tracking();
    let exp = experiment(&t, "whole").await;
    let run = run_in(&t, &exp).await;
    let id = &run.info.run_id;
    // One page is 25,000 points (the client's page size): 25,010 need two.
    let total = 25_010_i64;
    let points: Vec<LogMetric> = (0..total)
        .map(|i| point("m", i as f64, T0 + i, i))
        .collect();
    log_points(&t, id, points).await;
    let history = t
        .metric_history(HistoryRequest {
            run_id: id.clone(),
            metric_key: "m".into(),
            ..Default::default()
        })
        .await
        .expect("history");
    let MetricHistory::Whole(mut reader) = history else {
        panic!("a history longer than a page is read in pages");
    };
    let mut sizes = Vec::new();
    let mut steps = Vec::new();
    while let Some(page) = reader.next_page().await.expect("page") {
        sizes.push(page.len());
        steps.extend(page.iter().map(|m| m.step));
    }
    assert_eq!(sizes, vec![25_000, 10]);
    assert_eq!(steps, (0..total).collect::<Vec<_>>());
}

pub async fn metric_history_pages_with_tokens(f: Fixture) {
    let t = f.tracking();
    let exp = experiment(&t, "paging").await;
    let run = run_in(&t, &exp).await;
    let id = &run.info.run_id;
    // 1203 points; timestamps repeat every 7 points so (timestamp, step) orders them.
    let total = 1203_i64;
    let points: Vec<LogMetric> = (0..total)
        .rev()
        .map(|i| point("m", i as f64, T0 + i / 7, i))
        .collect();
    log_points(&t, id, points).await;

    let mut seen: Vec<Metric> = Vec::new();
    let mut token: Option<String> = None;
    let mut pages = 0;
    loop {
        let page = t
            .metric_history(HistoryRequest {
                run_id: id.clone(),
                metric_key: "m".into(),
                max_results: Some(100),
                page_token: token.clone(),
            })
            .await
            .map(one_page)
            .expect("page");
        pages += 1;
        assert!(page.items.len() <= 100);
        seen.extend(page.items);
        match page.next_page_token {
            Some(next) => token = Some(next),
            None => break,
        }
        assert!(pages <= 20, "paging does not end");
    }
    assert_eq!(pages, 13);
    let steps: Vec<i64> = seen.iter().map(|m| m.step).collect();
    assert_eq!(
        steps,
        (0..total).collect::<Vec<_>>(),
        "every point once, in order"
    );
    assert_eq!(seen, full_history(&t, id, "m").await);

    // One page large enough for everything has no next token.
    let page = t
        .metric_history(HistoryRequest {
            run_id: id.clone(),
            metric_key: "m".into(),
            max_results: Some(25_000),
            page_token: None,
        })
        .await
        .map(one_page)
        .expect("one page");
    assert_eq!(page.items.len(), total as usize);
    assert_eq!(page.next_page_token, None);
    // Bad paging input is rejected.
    expect_err(
        t.metric_history(HistoryRequest {
            run_id: id.clone(),
            metric_key: "m".into(),
            max_results: Some(0),
            page_token: None,
        })
        .await,
        ErrorCode::InvalidParameterValue,
    );
    expect_err(
        t.metric_history(HistoryRequest {
            run_id: id.clone(),
            metric_key: "m".into(),
            max_results: Some(10),
            page_token: Some("not-a-token".into()),
        })
        .await,
        ErrorCode::InvalidParameterValue,
    );
}

pub async fn metric_history_of_unknown_run_or_key_is_empty(f: Fixture) {
    let t = f.tracking();
    let exp = experiment(&t, "empty").await;
    let run = run_in(&t, &exp).await;
    log_point(&t, &run.info.run_id, "m", 1.0, T0, 0).await;
    assert!(full_history(&t, &run.info.run_id, "other").await.is_empty());
    assert!(
        full_history(&t, "ffffffffffffffffffffffffffffffff", "m")
            .await
            .is_empty()
    );
    // The key is matched exactly.
    assert!(full_history(&t, &run.info.run_id, "M").await.is_empty());
    assert_eq!(full_history(&t, &run.info.run_id, "m").await.len(), 1);
}

pub async fn store_metric_history_offset_and_limit(f: Fixture) {
    let t = f.tracking();
    let exp = experiment(&t, "store paging").await;
    let run = run_in(&t, &exp).await;
    let id = &run.info.run_id;
    log_points(
        &t,
        id,
        (0..10).rev().map(|i| point("m", 0.0, T0 + i, i)).collect(),
    )
    .await;
    let store = f.store();
    let steps = |v: Vec<Metric>| v.into_iter().map(|m| m.step).collect::<Vec<_>>();
    assert_eq!(
        steps(store.metric_history(id, "m", 0, 3).await.expect("page")),
        vec![0, 1, 2]
    );
    assert_eq!(
        steps(store.metric_history(id, "m", 3, 3).await.expect("page")),
        vec![3, 4, 5]
    );
    assert_eq!(
        steps(store.metric_history(id, "m", 8, 3).await.expect("page")),
        vec![8, 9]
    );
    assert!(
        store
            .metric_history(id, "m", 10, 3)
            .await
            .expect("page")
            .is_empty()
    );
    assert_eq!(
        store
            .metric_history(id, "m", 0, i64::MAX)
            .await
            .expect("all")
            .len(),
        10
    );
}

pub async fn store_metric_history_sampled_is_inclusive_step_ordered_and_even(f: Fixture) {
    let t = f.tracking();
    let exp = experiment(&t, "range").await;
    let run = run_in(&t, &exp).await;
    let id = &run.info.run_id;
    // Timestamps run against steps so the two orders differ.
    log_points(
        &t,
        id,
        (0..10)
            .map(|i| point("m", i as f64, T0 + 100 - i, i))
            .collect(),
    )
    .await;
    log_point(&t, id, "m", 42.0, T0 + 1000, 4).await;
    let store = f.store();
    let steps = |v: Vec<Metric>| {
        v.into_iter()
            .map(|m| (m.step, m.timestamp))
            .collect::<Vec<_>>()
    };
    assert_eq!(
        steps(
            store
                .metric_history_sampled(id, "m", (Some(3), Some(5)), usize::MAX)
                .await
                .expect("range")
        ),
        vec![(3, T0 + 97), (4, T0 + 96), (4, T0 + 1000), (5, T0 + 95)]
    );
    assert_eq!(
        store
            .metric_history_sampled(id, "m", (None, None), usize::MAX)
            .await
            .expect("all")
            .len(),
        11
    );
    assert_eq!(
        steps(
            store
                .metric_history_sampled(id, "m", (Some(9), Some(9)), 1)
                .await
                .expect("one")
        ),
        vec![(9, T0 + 91)]
    );
    // 11 points in 4 buckets (3, 3, 3, 2): their first points, the last point replacing the
    // last bucket's, all in step order although timestamps run the other way.
    assert_eq!(
        steps(
            store
                .metric_history_sampled(id, "m", (None, None), 4)
                .await
                .expect("sampled")
        ),
        vec![(0, T0 + 100), (3, T0 + 97), (5, T0 + 95), (9, T0 + 91)]
    );
    assert!(
        store
            .metric_history_sampled(id, "m", (Some(10), Some(20)), 5)
            .await
            .expect("none")
            .is_empty()
    );
}

pub async fn bulk_interval_samples_each_run_and_keeps_last_point(f: Fixture) {
    let t = f.tracking();
    let exp = experiment(&t, "bulk").await;
    let long = run_in(&t, &exp).await;
    let short = run_in(&t, &exp).await;
    log_points(
        &t,
        &long.info.run_id,
        (0..100).map(|i| point("m", i as f64, T0 + i, i)).collect(),
    )
    .await;
    log_points(
        &t,
        &short.info.run_id,
        (0..7)
            .map(|i| point("m", i as f64, T0 + i, i * 10))
            .collect(),
    )
    .await;

    let out = t
        .metric_history_interval(IntervalRequest {
            run_ids: vec![long.info.run_id.clone(), short.info.run_id.clone()],
            metric_key: "m".into(),
            max_results: Some(10),
            ..Default::default()
        })
        .await
        .expect("bulk");
    let of = |run_id: &str| -> Vec<i64> {
        out.iter()
            .filter(|m| m.run_id == run_id)
            .map(|m| m.metric.step)
            .collect()
    };
    let long_steps = of(&long.info.run_id);
    assert_eq!(long_steps.len(), 10, "{long_steps:?}");
    assert_eq!(long_steps.first(), Some(&0));
    assert_eq!(
        long_steps.last(),
        Some(&99),
        "the last point is always kept"
    );
    assert!(long_steps.windows(2).all(|w| w[0] < w[1]));
    assert_eq!(of(&short.info.run_id), vec![0, 10, 20, 30, 40, 50, 60]);
    // Results are grouped by run, in request order.
    let first_short = out
        .iter()
        .position(|m| m.run_id == short.info.run_id)
        .expect("short present");
    assert!(
        out[..first_short]
            .iter()
            .all(|m| m.run_id == long.info.run_id)
    );
    assert_eq!(out.len(), 17);

    // max_results 1 keeps just the last point of each run.
    let last_only = t
        .metric_history_interval(IntervalRequest {
            run_ids: vec![long.info.run_id.clone(), short.info.run_id.clone()],
            metric_key: "m".into(),
            max_results: Some(1),
            ..Default::default()
        })
        .await
        .expect("bulk");
    assert_eq!(
        last_only.iter().map(|m| m.metric.step).collect::<Vec<_>>(),
        vec![99, 60]
    );
}

pub async fn bulk_interval_step_range_is_inclusive(f: Fixture) {
    let t = f.tracking();
    let exp = experiment(&t, "bulk range").await;
    let run = run_in(&t, &exp).await;
    let id = &run.info.run_id;
    log_points(
        &t,
        id,
        (0..50).map(|i| point("m", i as f64, T0 + i, i)).collect(),
    )
    .await;
    let request = |start: i64, end: i64, max: i64| IntervalRequest {
        run_ids: vec![id.clone()],
        metric_key: "m".into(),
        start_step: Some(start),
        end_step: Some(end),
        max_results: Some(max),
    };
    let steps = |v: Vec<keel_core::MetricWithRunId>| {
        v.into_iter().map(|m| m.metric.step).collect::<Vec<_>>()
    };
    assert_eq!(
        steps(
            t.metric_history_interval(request(10, 14, 100))
                .await
                .expect("range")
        ),
        vec![10, 11, 12, 13, 14]
    );
    assert_eq!(
        steps(
            t.metric_history_interval(request(7, 7, 100))
                .await
                .expect("one step")
        ),
        vec![7]
    );
    let sampled = steps(
        t.metric_history_interval(request(10, 30, 5))
            .await
            .expect("sampled"),
    );
    assert_eq!(sampled.len(), 5);
    assert_eq!(sampled.first(), Some(&10));
    assert_eq!(sampled.last(), Some(&30));
    assert!(sampled.iter().all(|s| (10..=30).contains(s)));
}

pub async fn bulk_interval_rejects_bad_requests(f: Fixture) {
    let t = f.tracking();
    let exp = experiment(&t, "bulk errors").await;
    let run = run_in(&t, &exp).await;
    let id = run.info.run_id.clone();
    let base = IntervalRequest {
        run_ids: vec![id.clone()],
        metric_key: "m".into(),
        ..Default::default()
    };
    let invalid = ErrorCode::InvalidParameterValue;
    for bad in [
        IntervalRequest {
            start_step: Some(1),
            ..base.clone()
        },
        IntervalRequest {
            end_step: Some(1),
            ..base.clone()
        },
        IntervalRequest {
            start_step: Some(5),
            end_step: Some(1),
            ..base.clone()
        },
        IntervalRequest {
            max_results: Some(0),
            ..base.clone()
        },
        IntervalRequest {
            max_results: Some(2501),
            ..base.clone()
        },
        IntervalRequest {
            run_ids: Vec::new(),
            ..base.clone()
        },
        IntervalRequest {
            run_ids: (0..101).map(|_| id.clone()).collect(),
            ..base.clone()
        },
        IntervalRequest {
            metric_key: String::new(),
            ..base.clone()
        },
    ] {
        let described = format!("{bad:?}");
        let e = expect_err(t.metric_history_interval(bad).await, invalid);
        assert!(!e.message.is_empty(), "{described}");
    }
    assert!(
        t.metric_history_interval(base)
            .await
            .expect("valid, empty")
            .is_empty()
    );
}
