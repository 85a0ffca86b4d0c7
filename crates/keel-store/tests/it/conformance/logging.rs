//! Conformance checks for log-batch: atomicity, params, tags, latest metric values, odd floats.

use keel_core::store::LogBatch;
use keel_core::tracking::RUN_NAME_TAG;
use keel_core::{ErrorCode, Metric};

use super::*;

pub async fn log_batch_writes_metrics_params_and_tags(f: Fixture) {
    let t = f.tracking();
    let exp = experiment(&t, "batch").await;
    let run = run_named(&t, &exp, "b").await;
    let id = &run.info.run_id;
    t.log_batch(
        id,
        vec![
            point("loss", 0.5, T0, 0),
            point("loss", 0.25, T0 + 1, 1),
            point("acc", 0.9, T0, 0),
        ],
        vec![param("lr", "0.01"), param("layers", "3")],
        vec![tag("env", "dev"), tag(RUN_NAME_TAG, "renamed")],
    )
    .await
    .expect("log batch");

    let got = get_run(&t, id).await;
    assert_eq!(param_value(&got, "lr").as_deref(), Some("0.01"));
    assert_eq!(param_value(&got, "layers").as_deref(), Some("3"));
    assert_eq!(tag_value(&got, "env").as_deref(), Some("dev"));
    assert_eq!(got.info.run_name, "renamed");
    assert_eq!(latest(&got, "loss").map(|m| m.value), Some(0.25));
    assert_eq!(latest(&got, "acc").map(|m| m.value), Some(0.9));
    assert_eq!(got.data.metrics.len(), 2);
    assert_eq!(
        full_history(&t, id, "loss").await,
        vec![stored("loss", 0.5, T0, 0), stored("loss", 0.25, T0 + 1, 1)]
    );

    // Metric provenance fields are kept in history.
    let mut with_model = point("eval", 1.5, T0, 2);
    with_model.model_id = Some("m-123".into());
    with_model.dataset_name = Some("mnist".into());
    with_model.dataset_digest = Some("abc".into());
    t.log_metric(id, with_model.clone()).await.expect("log");
    assert_eq!(
        full_history(&t, id, "eval").await,
        vec![Metric::from(with_model)]
    );
}

/// Logs a batch whose one param conflicts with a stored value and checks nothing landed.
async fn conflicting_batch_writes_nothing(t: &Tracking, id: &str, log: impl AsyncFnOnce(LogBatch)) {
    t.log_param(id, param("lr", "0.1")).await.expect("first");
    let before = get_run(t, id).await;
    log(LogBatch {
        run_id: id.to_owned(),
        metrics: vec![stored("loss", 1.0, T0, 0), stored("acc", 0.5, T0, 0)],
        params: vec![
            param("new-before", "x"),
            param("lr", "0.2"),
            param("new-after", "y"),
        ],
        tags: vec![tag("env", "prod"), tag(RUN_NAME_TAG, "renamed")],
        run_name: Some("renamed".into()),
    })
    .await;
    let after = get_run(t, id).await;
    assert_eq!(after, before, "a failed batch writes nothing");
    assert_eq!(param_value(&after, "lr").as_deref(), Some("0.1"));
    assert_eq!(param_value(&after, "new-before"), None);
    assert_eq!(param_value(&after, "new-after"), None);
    assert_eq!(tag_value(&after, "env"), None);
    assert!(after.data.metrics.is_empty());
    assert!(full_history(t, id, "loss").await.is_empty());
    assert!(full_history(t, id, "acc").await.is_empty());
}

pub async fn log_batch_with_param_conflict_writes_nothing(f: Fixture) {
    let t = f.tracking();
    let exp = experiment(&t, "atomic").await;
    let run = run_named(&t, &exp, "orig").await;
    let id = run.info.run_id.clone();
    conflicting_batch_writes_nothing(&t, &id, async |batch| {
        let e = expect_err(
            t.log_batch(
                &batch.run_id,
                batch
                    .metrics
                    .into_iter()
                    .map(|m| point(&m.key, m.value, m.timestamp, m.step))
                    .collect(),
                batch.params,
                batch.tags,
            )
            .await,
            ErrorCode::InvalidParameterValue,
        );
        assert!(e.message.contains("lr"), "{}", e.message);
    })
    .await;
    // A single conflicting log-param fails the same way.
    expect_err(
        t.log_param(&id, param("lr", "0.3")).await,
        ErrorCode::InvalidParameterValue,
    );
    assert_eq!(get_run(&t, &id).await.info.run_name, "orig");
}

pub async fn store_log_batch_with_param_conflict_writes_nothing(f: Fixture) {
    let t = f.tracking();
    let store = f.store();
    let exp = experiment(&t, "atomic store").await;
    let run = run_named(&t, &exp, "orig").await;
    conflicting_batch_writes_nothing(&t, &run.info.run_id, async |batch| {
        expect_err(
            store.log_batch(&batch).await,
            ErrorCode::InvalidParameterValue,
        );
    })
    .await;
    assert_eq!(get_run(&t, &run.info.run_id).await.info.run_name, "orig");
}

pub async fn relogging_same_param_value_is_ok(f: Fixture) {
    let t = f.tracking();
    let exp = experiment(&t, "params").await;
    let run = run_in(&t, &exp).await;
    let id = &run.info.run_id;
    t.log_param(id, param("lr", "0.1")).await.expect("first");
    t.log_param(id, param("lr", "0.1"))
        .await
        .expect("same value");
    t.log_batch(
        id,
        vec![point("m", 1.0, T0, 0)],
        vec![param("lr", "0.1"), param("batch", "32")],
        Vec::new(),
    )
    .await
    .expect("batch with the same value");
    let got = get_run(&t, id).await;
    assert_eq!(got.data.params.len(), 2);
    assert_eq!(param_value(&got, "lr").as_deref(), Some("0.1"));
    assert_eq!(param_value(&got, "batch").as_deref(), Some("32"));
    assert_eq!(latest(&got, "m").map(|m| m.value), Some(1.0));
    // Values compare exactly: a trailing space makes a different value.
    expect_err(
        t.log_param(id, param("batch", "32 ")).await,
        ErrorCode::InvalidParameterValue,
    );
}

pub async fn tags_overwrite(f: Fixture) {
    let t = f.tracking();
    let exp = experiment(&t, "tags").await;
    let run = run_in(&t, &exp).await;
    let id = &run.info.run_id;
    t.set_tag(id, tag("env", "dev")).await.expect("set");
    t.set_tag(id, tag("env", "prod")).await.expect("overwrite");
    // Within one batch the last value of a key wins.
    t.log_batch(
        id,
        Vec::new(),
        Vec::new(),
        vec![tag("k", "first"), tag("k", "second")],
    )
    .await
    .expect("batch");
    let got = get_run(&t, id).await;
    assert_eq!(tag_value(&got, "env").as_deref(), Some("prod"));
    assert_eq!(tag_value(&got, "k").as_deref(), Some("second"));
    assert_eq!(got.data.tags.iter().filter(|t| t.key == "env").count(), 1);
}

pub async fn latest_metric_is_max_of_step_timestamp_value(f: Fixture) {
    let t = f.tracking();
    let exp = experiment(&t, "latest").await;
    let run = run_in(&t, &exp).await;
    let id = &run.info.run_id;
    let check = async |expected: (f64, i64, i64)| {
        let got = latest(&get_run(&t, id).await, "m").expect("metric present");
        assert_eq!((got.value, got.timestamp, got.step), expected);
    };

    log_point(&t, id, "m", 1.0, T0 + 10, 5).await;
    check((1.0, T0 + 10, 5)).await;
    // Older steps arriving later do not win, even with later timestamps.
    log_point(&t, id, "m", 9.0, T0 + 99, 1).await;
    check((1.0, T0 + 10, 5)).await;
    // Same step, later timestamp wins even with a smaller value.
    log_point(&t, id, "m", 0.5, T0 + 20, 5).await;
    check((0.5, T0 + 20, 5)).await;
    // Same step, earlier timestamp does not.
    log_point(&t, id, "m", 7.0, T0 + 15, 5).await;
    check((0.5, T0 + 20, 5)).await;
    // Same step and timestamp: the larger value wins.
    log_point(&t, id, "m", 0.75, T0 + 20, 5).await;
    check((0.75, T0 + 20, 5)).await;
    log_point(&t, id, "m", 0.6, T0 + 20, 5).await;
    check((0.75, T0 + 20, 5)).await;
    // A larger step wins whatever its timestamp.
    log_point(&t, id, "m", -3.0, T0, 6).await;
    check((-3.0, T0, 6)).await;
    // Within one batch, out-of-order points resolve the same way.
    t.log_batch(
        id,
        vec![
            point("m", 4.0, T0 + 1, 8),
            point("m", 2.0, T0 + 3, 7),
            point("m", 5.0, T0 + 2, 8),
            point("m", 1.0, T0, 8),
        ],
        Vec::new(),
        Vec::new(),
    )
    .await
    .expect("batch");
    check((5.0, T0 + 2, 8)).await;
    assert_eq!(full_history(&t, id, "m").await.len(), 11);
}

/// The same points give the same latest value whether they arrive in one batch or one by one,
/// in any order, including NaN and infinities at the same step and timestamp.
pub async fn latest_metric_does_not_depend_on_batching(f: Fixture) {
    let t = f.tracking();
    let exp = experiment(&t, "batching").await;
    let cases: Vec<Vec<(f64, i64, i64)>> = vec![
        vec![(f64::NAN, T0, 1), (5.0, T0, 1)],
        vec![(5.0, T0, 1), (f64::NAN, T0, 1)],
        vec![(f64::NAN, T0, 1), (-5.0, T0, 1)],
        vec![(-5.0, T0, 1), (f64::NAN, T0, 1)],
        vec![(f64::NAN, T0, 1), (f64::INFINITY, T0, 1), (3.0, T0, 1)],
        vec![(f64::NEG_INFINITY, T0, 1), (f64::NAN, T0, 1)],
        vec![(1.0, T0, 2), (f64::NAN, T0, 2), (f64::NAN, T0 + 1, 1)],
        vec![(3.0, T0 + 5, 1), (2.0, T0 + 5, 1), (9.0, T0 + 4, 1)],
    ];
    for points in cases {
        let batched = run_in(&t, &exp).await;
        let one_by_one = run_in(&t, &exp).await;
        let reversed = run_in(&t, &exp).await;
        t.log_batch(
            &batched.info.run_id,
            points
                .iter()
                .map(|(v, ts, s)| point("m", *v, *ts, *s))
                .collect(),
            Vec::new(),
            Vec::new(),
        )
        .await
        .expect("batch");
        for (v, ts, s) in &points {
            log_point(&t, &one_by_one.info.run_id, "m", *v, *ts, *s).await;
        }
        for (v, ts, s) in points.iter().rev() {
            log_point(&t, &reversed.info.run_id, "m", *v, *ts, *s).await;
        }
        let summary = |m: Metric| (m.value, m.timestamp, m.step);
        let a = summary(latest(&get_run(&t, &batched.info.run_id).await, "m").expect("m"));
        let b = summary(latest(&get_run(&t, &one_by_one.info.run_id).await, "m").expect("m"));
        let c = summary(latest(&get_run(&t, &reversed.info.run_id).await, "m").expect("m"));
        let same = |x: (f64, i64, i64), y: (f64, i64, i64)| {
            same_value(x.0, y.0) && x.1 == y.1 && x.2 == y.2
        };
        assert!(
            same(a, b) && same(b, c),
            "points {points:?}: one batch gives {a:?}, one by one {b:?}, reversed {c:?}"
        );
    }
}

pub async fn nan_and_infinities_round_trip(f: Fixture) {
    let t = f.tracking();
    let exp = experiment(&t, "floats").await;
    let run = run_in(&t, &exp).await;
    let id = &run.info.run_id;
    let values = [
        ("nan", f64::NAN),
        ("pos_inf", f64::INFINITY),
        ("neg_inf", f64::NEG_INFINITY),
        ("tiny", f64::MIN_POSITIVE),
        ("max", f64::MAX),
        ("neg_zero", -0.0),
    ];
    t.log_batch(
        id,
        values.iter().map(|(k, v)| point(k, *v, T0, 0)).collect(),
        Vec::new(),
        Vec::new(),
    )
    .await
    .expect("log");
    let got = get_run(&t, id).await;
    for (key, value) in values {
        let m = latest(&got, key).expect("present");
        assert!(same_value(m.value, value), "{key}: {} != {value}", m.value);
        let history = full_history(&t, id, key).await;
        assert_eq!(history.len(), 1, "{key}");
        assert!(same_value(history[0].value, value), "{key} history");
    }
    // A NaN history mixed with numbers keeps each point.
    log_point(&t, id, "nan", 1.0, T0 + 1, 1).await;
    log_point(&t, id, "nan", f64::NAN, T0 + 2, 2).await;
    let history = full_history(&t, id, "nan").await;
    let values: Vec<f64> = history.iter().map(|m| m.value).collect();
    assert_eq!(values.len(), 3);
    assert!(values[0].is_nan() && values[1] == 1.0 && values[2].is_nan());
    assert!(
        latest(&get_run(&t, id).await, "nan")
            .expect("nan")
            .value
            .is_nan()
    );
    // The infinities are not confused with the largest finite values.
    assert!(
        latest(&got, "pos_inf")
            .expect("pos_inf")
            .value
            .is_infinite()
    );
    assert_eq!(latest(&got, "max").expect("max").value, f64::MAX);
}

pub async fn identical_metric_points_are_stored_once(f: Fixture) {
    let t = f.tracking();
    let exp = experiment(&t, "dedup").await;
    let run = run_in(&t, &exp).await;
    let id = &run.info.run_id;
    log_point(&t, id, "m", 1.0, T0, 0).await;
    log_point(&t, id, "m", 1.0, T0, 0).await;
    t.log_batch(
        id,
        vec![
            point("m", 1.0, T0, 0),
            point("m", 1.0, T0, 0),
            point("m", f64::NAN, T0, 0),
            point("m", f64::NAN, T0, 0),
            point("m", 2.0, T0, 0),
        ],
        Vec::new(),
        Vec::new(),
    )
    .await
    .expect("batch");
    log_point(&t, id, "m", f64::NAN, T0, 0).await;
    let history = full_history(&t, id, "m").await;
    let mut values: Vec<String> = history.iter().map(|m| m.value.to_string()).collect();
    values.sort();
    assert_eq!(values, vec!["1", "2", "NaN"], "{history:?}");
    // Points differing only in step or timestamp are distinct.
    log_point(&t, id, "m", 1.0, T0, 1).await;
    log_point(&t, id, "m", 1.0, T0 + 1, 0).await;
    assert_eq!(full_history(&t, id, "m").await.len(), 5);
}
