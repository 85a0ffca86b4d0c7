//! A seeded, fuzz-ish sweep: garbage bodies and queries on every route never produce a 5xx.

use axum::http::{Method, StatusCode};
use keel_server::routes::table;
use serde_json::{Map, Value, json};

use crate::support::*;

/// Requests per route and mount path.
const ROUNDS: usize = 30;

/// Every field name any tracking request reads, plus a few that none do.
const FIELDS: &[&str] = &[
    "experiment_id",
    "experiment_ids",
    "experiment_name",
    "name",
    "new_name",
    "artifact_location",
    "tags",
    "key",
    "value",
    "run_id",
    "run_uuid",
    "run_ids",
    "run_name",
    "user_id",
    "start_time",
    "end_time",
    "status",
    "timestamp",
    "step",
    "metrics",
    "params",
    "datasets",
    "dataset",
    "models",
    "model_id",
    "metric_key",
    "max_results",
    "page_token",
    "filter",
    "order_by",
    "view_type",
    "run_view_type",
    "start_step",
    "end_step",
    "digest",
    "source",
    "source_type",
    "schema",
    "profile",
    "dataset_name",
    "dataset_digest",
    "unknown",
    "",
];

/// xorshift64*: small, deterministic, good enough to pick garbage.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    fn below(&mut self, n: usize) -> usize {
        usize::try_from(self.next() % u64::try_from(n.max(1)).unwrap_or(1)).unwrap_or(0)
    }

    fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len())]
    }
}

/// Strings that have broken parsers, validators or SQL before, plus real IDs.
fn strings(real: &[String]) -> Vec<String> {
    let mut s: Vec<String> = [
        "",
        " ",
        "0",
        "-1",
        "1.5",
        "9223372036854775807",
        "9223372036854775808",
        "-9223372036854775808",
        "1e309",
        "NaN",
        "Infinity",
        "-Infinity",
        "true",
        "null",
        "ACTIVE_ONLY",
        "ALL",
        "FINISHED",
        "../x",
        "/abs",
        "a\\b",
        "a\0b",
        "line\nbreak",
        "😀",
        "é́́",
        "'",
        "\"",
        "' OR 1=1 --",
        "metrics.acc > 0",
        "params.p = 'x' AND tags.t != 'y'",
        "attributes.start_time DESC",
        "metrics.`a b` ASC",
        "name LIKE '%'",
        "%",
        "a2VlbDpvZmZzZXQ6MQ",
        "a2VlbDpvZmZzZXQ6OTIyMzM3MjAzNjg1NDc3NTgwNw",
        "eyJvZmZzZXQiOiAxfQ==",
        "mlflow.runName",
        "mlflow.parentRunId",
        "m",
    ]
    .iter()
    .map(|s| (*s).to_owned())
    .collect();
    s.push("x".repeat(300));
    s.push("é".repeat(6001));
    s.extend(real.iter().cloned());
    s
}

fn random_value(rng: &mut Rng, pool: &[String], depth: u32) -> Value {
    let choices = if depth >= 3 { 6 } else { 9 };
    match rng.below(choices) {
        0 => Value::Null,
        1 => json!(rng.below(2) == 0),
        2 => json!(*rng.pick(&[
            0_i64,
            1,
            -1,
            2,
            1000,
            50_001,
            i64::MAX,
            i64::MIN,
            2500,
            25_001
        ])),
        3 => json!(*rng.pick(&[0.5_f64, -0.0, 1e308, -1e308, 1e-300, 3.0])),
        4 => json!(u64::MAX),
        5 => Value::String(rng.pick(pool).clone()),
        6 => {
            let n = rng.below(4);
            Value::Array((0..n).map(|_| random_value(rng, pool, depth + 1)).collect())
        }
        _ => random_object(rng, pool, depth + 1),
    }
}

fn random_object(rng: &mut Rng, pool: &[String], depth: u32) -> Value {
    let mut map = Map::new();
    for _ in 0..rng.below(7) {
        let key = (*rng.pick(FIELDS)).to_owned();
        map.insert(key, random_value(rng, pool, depth));
    }
    Value::Object(map)
}

/// A query string of random pairs, sometimes with raw percent-garbage.
fn random_query(rng: &mut Rng, pool: &[String]) -> String {
    if rng.below(6) == 0 {
        return (*rng.pick(&[
            "%zz",
            "a=%ff%fe",
            "=&=&",
            "run_id",
            "&&&",
            "max_results=%00",
        ]))
        .to_owned();
    }
    let mut pairs: Vec<(String, String)> = Vec::new();
    for _ in 0..rng.below(7) {
        let key = (*rng.pick(FIELDS)).to_owned();
        let value = match random_value(rng, pool, 2) {
            Value::String(s) => s,
            other => other.to_string(),
        };
        // Stay under the URI length `http` accepts; the server never sees longer ones.
        if value.len() < 8 * 1024 {
            pairs.push((key, value));
        }
    }
    let refs: Vec<(&str, &str)> = pairs
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    query(&refs)
}

#[tokio::test]
async fn garbage_never_gets_a_5xx() {
    let app = TestApp::new().await;
    let exp = app.create_experiment("fuzz").await;
    let run = app.create_run(&exp).await;
    app.log_metric(&run, "m", json!(1), 1, 0).await;
    app.ok_post(
        "runs/log-parameter",
        json!({"run_id": run, "key": "p", "value": "x"}),
    )
    .await;
    let pool = strings(&[exp.clone(), run.clone()]);
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
    let mut statuses = std::collections::BTreeMap::<u16, usize>::new();
    for route in table() {
        for path in mount_paths(route.mount, route.path) {
            for round in 0..ROUNDS {
                let (status, body, shown) = if route.method == Method::GET {
                    let q = random_query(&mut rng, &pool);
                    let (s, b) = app.get(&format!("{path}?{q}")).await;
                    (s, b, q)
                } else {
                    let body = if round % 10 == 9 {
                        random_value(&mut rng, &pool, 0)
                    } else {
                        random_object(&mut rng, &pool, 0)
                    };
                    let (s, b) = app.post(&path, body.clone()).await;
                    (s, b, body.to_string())
                };
                *statuses.entry(status.as_u16()).or_default() += 1;
                // 501 is the answer of the signed-URL routes on a local artifact store.
                assert!(
                    !status.is_server_error() || status == StatusCode::NOT_IMPLEMENTED,
                    "{} {path} {shown}: {status} {body}",
                    route.method
                );
                if status == StatusCode::NOT_IMPLEMENTED {
                    assert_eq!(body["error_code"], "NOT_IMPLEMENTED", "{path} {shown}");
                } else if status != StatusCode::OK {
                    assert_4xx_at(
                        &path,
                        status,
                        &body,
                        &format!("{} {path} {shown}", route.method),
                    );
                }
            }
        }
    }
    // The sweep reached both successes and rejections.
    assert!(
        statuses.contains_key(&200) && statuses.contains_key(&400),
        "{statuses:?}"
    );
    // The store still answers afterwards.
    let r = app.run(&run).await;
    assert_eq!(r["info"]["experiment_id"], exp.as_str());
}

#[tokio::test]
async fn garbage_log_batches_with_a_real_run_never_get_a_5xx() {
    let app = TestApp::new().await;
    let run = app.create_run("0").await;
    let pool = strings(std::slice::from_ref(&run));
    let mut rng = Rng(0xD1B5_4A32_D192_ED03);
    for _ in 0..200 {
        let item = |rng: &mut Rng| random_object(rng, &pool, 1);
        let n = rng.below(5);
        let metrics: Vec<Value> = (0..n).map(|_| item(&mut rng)).collect();
        let n = rng.below(5);
        let params: Vec<Value> = (0..n).map(|_| item(&mut rng)).collect();
        let n = rng.below(5);
        let tags: Vec<Value> = (0..n).map(|_| item(&mut rng)).collect();
        let body = json!({"run_id": run, "metrics": metrics, "params": params, "tags": tags});
        let (status, v) = app.post("runs/log-batch", body.clone()).await;
        assert!(!status.is_server_error(), "{body}: {status} {v}");
        if status != StatusCode::OK {
            assert_4xx(status, &v, &body.to_string());
        }
    }
    let (status, v) = app.get_q("runs/get", &[("run_id", &run)]).await;
    assert_eq!(status, StatusCode::OK, "{v}");
}
