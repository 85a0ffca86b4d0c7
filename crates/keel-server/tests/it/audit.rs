//! The audit log end to end, in-process: every state-changing route of the table leaves an
//! entry, a write's entry is one success (a failed one one failure), denials and failed
//! sign-ins are recorded, and the API's checkpoints, proofs and entries verify with the
//! standard formats' own checks; bad parameters are 400s and entries are for administrators.

use axum::http::{Method, StatusCode};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use keel_audit::checkpoint::Checkpoint;
use keel_audit::hash::{Hash, leaf_hash};
use keel_audit::note::NoteVerifier;
use keel_audit::tree;
use keel_auth::Permission;
use keel_core::audit::AuditQuery;
use serde_json::{Value, json};
use sha2::Digest;

use crate::authz::{admin, bob, request_for, secured, seed};
use crate::support::TestApp;

/// Every entry, newest first.
async fn entries(app: &TestApp, query: AuditQuery) -> Vec<Value> {
    let page = app
        .audit
        .search(&AuditQuery {
            max_results: 1000,
            ..query
        })
        .await
        .expect("search");
    page.items
        .iter()
        .map(|e| serde_json::from_slice(&e.entry).expect("json"))
        .collect()
}

fn by_action(action: &str) -> AuditQuery {
    AuditQuery {
        action: Some(action.to_owned()),
        ..Default::default()
    }
}

#[tokio::test]
async fn every_state_changing_route_of_the_table_records_an_entry() {
    let app = secured(Permission::NoPermissions).await;
    let seeded = seed(&app).await;
    let mut checked = 0;
    for route in keel_server::routes::table() {
        let action = keel_auth::actions::find(route.meta.action).expect("catalogued");
        let (method, path, body) = request_for(&route, &seeded);
        let before = entries(&app, by_action(action.name)).await.len();
        let raw = app.call_as(&admin(), method.clone(), &path, body).await;
        let after = entries(&app, by_action(action.name)).await;
        let path_only = path.split('?').next().unwrap_or_default();
        let recorded = after
            .iter()
            .take(after.len() - before)
            .filter(|e| {
                e["request"]["path"] == path_only && e["request"]["method"] == method.as_str()
            })
            .count();
        if action.only_reads() {
            assert_eq!(recorded, 0, "{method} {path}: a read is not recorded");
            continue;
        }
        assert!(
            recorded >= 1,
            "{method} {path} ({}) answered {} and left no entry",
            action.name,
            raw.status
        );
        let newest = &after[0];
        let expected = if raw.status.is_success() {
            "success"
        } else {
            "failure"
        };
        assert_eq!(newest["outcome"], expected, "{method} {path}: {newest}");
        checked += 1;
    }
    assert!(checked > 80, "only {checked} state-changing routes");
}

#[tokio::test]
async fn a_write_records_one_success_with_its_body_digest_and_a_failed_one_a_failure() {
    let app = TestApp::new().await;
    let exp = app.create_experiment("digests").await;
    let run = app.create_run(&exp).await;
    let body = json!({"run_id": run, "key": "loss", "value": 0.5, "timestamp": 1, "step": 0});
    let bytes = serde_json::to_vec(&body).expect("json");
    let raw = app
        .raw(
            Method::POST,
            "runs/log-metric",
            bytes.clone(),
            Some("application/json"),
        )
        .await;
    assert_eq!(raw.status, StatusCode::OK);
    let request_id = raw.headers["x-request-id"]
        .to_str()
        .expect("ascii")
        .to_owned();
    let logged = entries(&app, by_action("runs.update")).await;
    assert_eq!(logged.len(), 1, "{logged:?}");
    let e = &logged[0];
    assert_eq!(e["outcome"], "success");
    assert_eq!(e["event"], "request");
    assert_eq!(e["resource"], json!({"kind": "Run", "id": run}));
    assert_eq!(e["actor"]["kind"], "local_administrator");
    assert_eq!(e["request"]["id"], request_id.as_str());
    assert_eq!(
        e["request"]["body_sha256"],
        keel_server::audit::body::hex(&sha2::Sha256::digest(&bytes)).as_str()
    );
    assert_eq!(e["v"], 1);
    // The created run is named by the entry of its creation.
    let created = entries(&app, by_action("runs.create")).await;
    assert_eq!(created[0]["resource"], json!({"kind": "Run", "id": run}));

    let (status, _) = app
        .post(
            "runs/log-metric",
            json!({"run_id": "0123456789abcdef0123456789abcdef", "key": "k", "value": 1, "timestamp": 1}),
        )
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let logged = entries(&app, by_action("runs.update")).await;
    assert_eq!(logged.len(), 2);
    assert_eq!(logged[0]["outcome"], "failure");
    assert_eq!(logged[0]["error_code"], "RESOURCE_DOES_NOT_EXIST");

    // An oversized request ID is cut to 128 bytes, never stored or echoed whole.
    let long = "a".repeat(8192);
    let req = axum::http::Request::builder()
        .method(Method::POST)
        .uri("/api/2.0/mlflow/runs/set-tag")
        .header("content-type", "application/json")
        .header("x-request-id", long.as_str())
        .body(axum::body::Body::from(
            serde_json::to_vec(&json!({"run_id": run, "key": "t", "value": "v"})).expect("json"),
        ))
        .expect("request");
    let raw = app.send(req).await;
    assert_eq!(raw.status, StatusCode::OK);
    assert_eq!(raw.headers["x-request-id"].len(), 128);
    let newest = &entries(&app, by_action("runs.update")).await[0];
    assert_eq!(newest["request"]["id"].as_str().map(str::len), Some(128));

    // A usable client request ID is kept; anything else is replaced.
    for (sent, kept) in [("client-req.42", true), ("bad id; drop", false)] {
        let req = axum::http::Request::builder()
            .method(Method::POST)
            .uri("/api/2.0/mlflow/runs/set-tag")
            .header("content-type", "application/json")
            .header("x-request-id", sent)
            .body(axum::body::Body::from(
                serde_json::to_vec(&json!({"run_id": run, "key": "t", "value": "v"}))
                    .expect("json"),
            ))
            .expect("request");
        let raw = app.send(req).await;
        let echoed = raw.headers["x-request-id"]
            .to_str()
            .unwrap_or_default()
            .to_owned();
        assert_eq!(echoed == sent, kept, "{sent:?} -> {echoed}");
    }
}

#[tokio::test]
async fn denials_and_failed_sign_ins_are_recorded() {
    let app = secured(Permission::NoPermissions).await;
    let seeded = seed(&app).await;
    let raw = app
        .call_as(
            &bob(),
            Method::POST,
            "runs/set-tag",
            Some(json!({"run_id": seeded.run, "key": "k", "value": "v"})),
        )
        .await;
    assert_eq!(raw.status, StatusCode::FORBIDDEN);
    let denied = entries(&app, by_action("runs.update")).await;
    let denial = denied
        .iter()
        .find(|e| e["event"] == "denial")
        .expect("a denial entry");
    assert_eq!(denial["outcome"], "denied");
    assert_eq!(denial["actor"]["name"], "bob");
    assert_eq!(denial["error_code"], "PERMISSION_DENIED");

    let wrong = crate::support::basic("bob", "not-the-password");
    let raw = app
        .call_as(&wrong, Method::GET, "experiments/search", None)
        .await;
    assert_eq!(raw.status, StatusCode::UNAUTHORIZED);
    let failed = entries(
        &app,
        AuditQuery {
            actor: Some("bob".into()),
            action: Some("experiments.search".into()),
            ..Default::default()
        },
    )
    .await;
    assert_eq!(failed.len(), 1, "{failed:?}");
    assert_eq!(failed[0]["event"], "authentication");
    assert_eq!(failed[0]["error_code"], "UNAUTHENTICATED");
    assert!(!failed[0].to_string().contains("not-the-password"));

    // A sign-in names its account, whether it succeeds or not.
    for (password, outcome) in [
        ("nope-nope-nope", "failure"),
        (crate::authz::USER_PASSWORD, "success"),
    ] {
        let raw = app
            .raw(
                Method::POST,
                "/api/3.0/keel/auth/login",
                serde_json::to_vec(&json!({"username": "bob", "password": password}))
                    .expect("json"),
                Some("application/json"),
            )
            .await;
        let logins = entries(&app, by_action("auth.login")).await;
        assert_eq!(logins[0]["actor"]["name"], "bob", "{}", raw.status);
        assert_eq!(logins[0]["outcome"], outcome);
    }
}

#[tokio::test]
async fn a_graphql_read_of_what_the_caller_may_not_read_is_null_and_its_denial_recorded() {
    let app = secured(Permission::NoPermissions).await;
    let seeded = seed(&app).await;
    let query = format!(
        "{{ mlflowGetRun(input: {{runId: \"{}\"}}) {{ run {{ info {{ runId }} }} }} }}",
        seeded.run
    );
    for (who, shown) in [(bob(), false), (crate::authz::admin(), true)] {
        let raw = app
            .call_as(
                &who,
                Method::POST,
                "/graphql",
                Some(json!({"query": query})),
            )
            .await;
        assert_eq!(raw.status, StatusCode::OK);
        let body = raw.json();
        assert_eq!(body["errors"], Value::Null, "{body}");
        assert_eq!(
            body["data"]["mlflowGetRun"]["run"]["info"]["runId"] == json!(seeded.run),
            shown,
            "{body}"
        );
        assert_eq!(body["data"]["mlflowGetRun"].is_null(), !shown, "{body}");
    }
    let denied = entries(&app, by_action("runs.read")).await;
    let denial = denied
        .iter()
        .find(|e| e["event"] == "denial")
        .expect("a denial entry");
    assert_eq!(denial["actor"]["name"], "bob");
    assert_eq!(denial["resource"]["id"], json!(seeded.run), "{denial}");
}

fn b64_hashes(v: &Value) -> Vec<Hash> {
    v.as_array()
        .expect("hashes")
        .iter()
        .map(|h| {
            let bytes = STANDARD.decode(h.as_str().expect("text")).expect("base64");
            Hash::try_from(bytes.as_slice()).expect("32 bytes")
        })
        .collect()
}

#[tokio::test]
async fn checkpoints_proofs_and_entries_from_the_api_verify() {
    let app = secured(Permission::NoPermissions).await;
    let exp = app
        .call_as(
            &admin(),
            Method::POST,
            "experiments/create",
            Some(json!({"name": "p"})),
        )
        .await
        .json()["experiment_id"]
        .clone();
    for i in 0..20 {
        app.call_as(
            &admin(),
            Method::POST,
            "experiments/set-experiment-tag",
            Some(json!({"experiment_id": exp, "key": format!("k{i}"), "value": "v"})),
        )
        .await;
    }
    app.audit.sequence().await.expect("sequence");
    let first = app.audit.checkpoint_now().await.expect("checkpoint");
    for i in 0..7 {
        app.call_as(
            &admin(),
            Method::POST,
            "experiments/set-experiment-tag",
            Some(json!({"experiment_id": exp, "key": format!("more{i}"), "value": "v"})),
        )
        .await;
    }
    let app = &app;
    let get = async |path: &'static str| {
        let raw = app.call_as(&bob(), Method::GET, path, None).await;
        assert_eq!(
            raw.status,
            StatusCode::OK,
            "{path}: {}",
            String::from_utf8_lossy(&raw.body)
        );
        raw
    };
    // Anyone signed in checks the log as a witness would.
    let vkey = String::from_utf8(get("/api/3.0/keel/audit/key").await.body).expect("utf-8");
    let verifier = NoteVerifier::parse(vkey.trim()).expect("vkey");
    app.audit.checkpoint_now().await.expect("checkpoint");
    let note = String::from_utf8(get("/api/3.0/keel/audit/checkpoint").await.body).expect("utf-8");
    let text = verifier.open(&note).expect("signed by the log's key");
    let head = Checkpoint::parse(text).expect("checkpoint");
    assert_eq!(head.origin, verifier.name());
    assert!(head.size > first.tree_size);

    // Entries (administrators only) hash to leaves whose inclusion proofs verify.
    let raw = app
        .call_as(&bob(), Method::GET, "/api/3.0/keel/audit/entries", None)
        .await;
    assert_eq!(raw.status, StatusCode::FORBIDDEN);
    let page = app
        .call_as(
            &admin(),
            Method::GET,
            "/api/3.0/keel/audit/entries?start=0&max_results=1000",
            None,
        )
        .await
        .json();
    let listed = page["entries"].as_array().expect("entries");
    // The log may already hold entries after the checkpoint (on SQLite every entry is in the
    // tree as it commits, e.g. bob's denial above); those the checkpoint covers verify.
    assert!(listed.len() as u64 >= head.size);
    for (i, e) in listed.iter().take(head.size as usize).enumerate() {
        assert_eq!(e["leaf_index"], i);
        let leaf = STANDARD
            .decode(e["leaf"].as_str().expect("leaf"))
            .expect("base64");
        assert_eq!(
            serde_json::from_slice::<Value>(&leaf).expect("json"),
            e["entry"]
        );
        let proof = app
            .call_as(
                &bob(),
                Method::GET,
                &format!(
                    "/api/3.0/keel/audit/proofs/inclusion?leaf_index={i}&tree_size={}",
                    head.size
                ),
                None,
            )
            .await
            .json();
        tree::verify_inclusion(
            &leaf_hash(&leaf),
            i as u64,
            head.size,
            &b64_hashes(&proof["hashes"]),
            &head.root,
        )
        .unwrap_or_else(|e| panic!("leaf {i}: {e}"));
    }
    // The earlier checkpoint is consistent with the latest.
    let proof = app
        .call_as(
            &bob(),
            Method::GET,
            &format!(
                "/api/3.0/keel/audit/proofs/consistency?first={}",
                first.tree_size
            ),
            None,
        )
        .await
        .json();
    assert_eq!(proof["second"], head.size);
    tree::verify_consistency(
        first.tree_size,
        head.size,
        &first.root,
        &head.root,
        &b64_hashes(&proof["hashes"]),
    )
    .expect("consistent");
    let listed = app
        .call_as(&bob(), Method::GET, "/api/3.0/keel/audit/checkpoints", None)
        .await
        .json();
    assert!(listed["checkpoints"].as_array().expect("list").len() >= 2);

    // Bad parameters are 400s that say what is wrong.
    for bad in [
        "proofs/inclusion",
        "proofs/inclusion?leaf_index=-1",
        "proofs/inclusion?leaf_index=abc",
        "proofs/inclusion?leaf_index=0&tree_size=0",
        "proofs/inclusion?leaf_index=99999&tree_size=5",
        "proofs/inclusion?leaf_index=0&tree_size=999999999",
        "proofs/consistency?first=0&second=5",
        "proofs/consistency?first=9&second=5",
        "proofs/consistency?first=1&second=18446744073709551615",
    ] {
        let raw = app
            .call_as(
                &bob(),
                Method::GET,
                &format!("/api/3.0/keel/audit/{bad}"),
                None,
            )
            .await;
        assert_eq!(
            raw.status,
            StatusCode::BAD_REQUEST,
            "{bad}: {}",
            String::from_utf8_lossy(&raw.body)
        );
        assert_eq!(raw.json()["error_code"], "INVALID_PARAMETER_VALUE", "{bad}");
    }
    for bad in [
        "entries?max_results=0",
        "entries?max_results=1001",
        "search?outcome=maybe",
        "search?page_token=not-a-token",
    ] {
        let raw = app
            .call_as(
                &admin(),
                Method::GET,
                &format!("/api/3.0/keel/audit/{bad}"),
                None,
            )
            .await;
        assert_eq!(
            raw.status,
            StatusCode::BAD_REQUEST,
            "{bad}: {}",
            String::from_utf8_lossy(&raw.body)
        );
    }
    // Searches page through the newest entries first.
    let found = app
        .call_as(
            &admin(),
            Method::GET,
            "/api/3.0/keel/audit/search?action=experiments.update&actor=admin&max_results=5",
            None,
        )
        .await
        .json();
    assert_eq!(found["entries"].as_array().expect("entries").len(), 5);
    assert!(found["next_page_token"].is_string());
}
