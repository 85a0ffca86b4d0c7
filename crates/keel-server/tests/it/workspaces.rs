//! Workspaces in-process: the header, the workspace API and its errors, and isolation (a
//! resource in another workspace is "not found" to administrators and forbidden to others,
//! and searches never reach across); deleted workspaces stay gone, also under concurrent
//! creations.

use axum::body::Body;
use axum::http::{Method, Request, StatusCode};
use keel_auth::Permission;
use keel_auth::entities::AccountKind;
use serde_json::{Value, json};

use crate::support::{Raw, TestApp, assert_error, basic};

const WS: &str = "/api/3.0/mlflow/workspaces";

/// Requests to `app` in one workspace (no header when `None`) as one caller (anonymous when
/// `None`). Paths without a leading `/` are under `/api/2.0/mlflow/`.
#[derive(Clone, Copy)]
struct Client<'a> {
    app: &'a TestApp,
    auth: Option<&'a str>,
    workspace: Option<&'a str>,
}

impl<'a> Client<'a> {
    fn new(app: &'a TestApp) -> Self {
        Self {
            app,
            auth: None,
            workspace: None,
        }
    }

    fn as_(self, auth: &'a str) -> Self {
        Self {
            auth: Some(auth),
            ..self
        }
    }

    fn in_(self, workspace: &'a str) -> Self {
        Self {
            workspace: Some(workspace),
            ..self
        }
    }

    async fn send(self, method: Method, path: &str, body: Option<Value>) -> Raw {
        let path = if path.starts_with('/') {
            path.to_owned()
        } else {
            format!("/api/2.0/mlflow/{path}")
        };
        let mut req = Request::builder().method(method).uri(path);
        if let Some(a) = self.auth {
            req = req.header("authorization", a);
        }
        if let Some(w) = self.workspace {
            req = req.header("x-mlflow-workspace", w);
        }
        let req = match body {
            Some(b) => req
                .header("content-type", "application/json")
                .body(Body::from(b.to_string())),
            None => req.body(Body::empty()),
        };
        self.app.send(req.expect("request")).await
    }

    async fn get(self, path: &str) -> Raw {
        self.send(Method::GET, path, None).await
    }

    async fn post(self, path: &str, body: Value) -> Raw {
        self.send(Method::POST, path, Some(body)).await
    }

    async fn patch(self, path: &str, body: Value) -> Raw {
        self.send(Method::PATCH, path, Some(body)).await
    }

    async fn delete(self, path: &str) -> Raw {
        self.send(Method::DELETE, path, None).await
    }

    async fn delete_json(self, path: &str, body: Value) -> Raw {
        self.send(Method::DELETE, path, Some(body)).await
    }

    /// Creates experiment `name` here and returns its ID.
    async fn create_experiment(self, name: &str) -> String {
        let raw = self.post("experiments/create", json!({"name": name})).await;
        assert_eq!(raw.status, StatusCode::OK, "{:?}", raw.json());
        raw.json()["experiment_id"].as_str().expect("id").to_owned()
    }
}

/// Asserts an MLflow error with this status and code whose message contains `says`.
fn assert_says(raw: &Raw, status: StatusCode, code: &str, says: &str) {
    let body = raw.json();
    assert_error(raw.status, &body, status, code);
    let message = body["message"].as_str().unwrap_or_default();
    assert!(message.contains(says), "{says:?} not in {message:?}");
}

fn names(raw: &Raw) -> Vec<String> {
    raw.json()["workspaces"]
        .as_array()
        .expect("list")
        .iter()
        .map(|w| w["name"].as_str().unwrap_or("").to_owned())
        .collect()
}

#[tokio::test]
async fn without_workspaces_the_header_and_the_api_are_refused() {
    let app = TestApp::new().await;
    let client = Client::new(&app);
    let raw = client.in_("team-a").get("experiments/search").await;
    assert_says(
        &raw,
        StatusCode::BAD_REQUEST,
        "FEATURE_DISABLED",
        "not enabled",
    );
    // A blank header is no header.
    let raw = client
        .in_("  ")
        .get("experiments/search?max_results=5")
        .await;
    assert_eq!(raw.status, StatusCode::OK);
    let raw = client.get(WS).await;
    assert_error(
        raw.status,
        &raw.json(),
        StatusCode::NOT_FOUND,
        "ENDPOINT_NOT_FOUND",
    );
    let info = client
        .in_("bogus!")
        .get("/api/3.0/mlflow/server-info")
        .await;
    assert_eq!(info.status, StatusCode::OK);
    assert_eq!(info.json()["workspaces_enabled"], json!(false));
}

#[tokio::test]
async fn the_workspace_api_creates_lists_updates_and_deletes() {
    let app = TestApp::with_workspaces(None).await;
    let client = Client::new(&app);
    let info = client.get("/api/3.0/mlflow/server-info").await;
    assert_eq!(info.json()["workspaces_enabled"], json!(true));
    let created = client
        .post(WS, json!({"name": "team-a", "description": "A"}))
        .await;
    assert_eq!(created.status, StatusCode::CREATED);
    assert_eq!(
        created.json(),
        json!({"workspace": {"name": "team-a", "description": "A"}})
    );
    for (body, code, says) in [
        (
            json!({"name": "team-a"}),
            "RESOURCE_ALREADY_EXISTS",
            "already exists",
        ),
        (
            json!({"name": "default"}),
            "INVALID_PARAMETER_VALUE",
            "reserved",
        ),
        (
            json!({"name": "Team"}),
            "INVALID_PARAMETER_VALUE",
            "must match",
        ),
        (
            json!({"name": "api"}),
            "INVALID_PARAMETER_VALUE",
            "reserved",
        ),
        (json!({}), "INVALID_PARAMETER_VALUE", "'name'"),
        (
            json!({"name": "ok-name", "default_artifact_root": "s3://b/p?x=1"}),
            "INVALID_PARAMETER_VALUE",
            "fragments or params",
        ),
        (json!({"name": 5}), "INVALID_PARAMETER_VALUE", "name"),
    ] {
        let raw = client.post(WS, body.clone()).await;
        assert_says(&raw, StatusCode::BAD_REQUEST, code, says);
    }
    assert_eq!(names(&client.get(WS).await), ["default", "team-a"]);
    let team_a = format!("{WS}/team-a");
    let patched = client
        .patch(&team_a, json!({"default_artifact_root": "s3://bucket/a"}))
        .await;
    assert_eq!(patched.status, StatusCode::OK);
    assert_eq!(
        patched.json()["workspace"]["default_artifact_root"],
        json!("s3://bucket/a")
    );
    let empty = client.patch(&team_a, json!({})).await;
    assert_says(
        &empty,
        StatusCode::BAD_REQUEST,
        "INVALID_PARAMETER_VALUE",
        "at least one key",
    );
    let missing = client.get(&format!("{WS}/nobody")).await;
    assert_eq!(missing.status, StatusCode::NOT_FOUND);
    // An experiment made there lands under the workspace's own root.
    let there = client.in_("team-a");
    let id = there.create_experiment("e").await;
    let got = there
        .get(&format!("experiments/get?experiment_id={id}"))
        .await;
    assert_eq!(
        got.json()["experiment"]["artifact_location"],
        json!(format!("s3://bucket/a/{id}"))
    );
    let located = there
        .post(
            "experiments/create",
            json!({"name": "f", "artifact_location": "s3://x/y"}),
        )
        .await;
    assert_eq!(located.status, StatusCode::BAD_REQUEST);
    // Deleting: the mode is exact, RESTRICT refuses while the experiment is there.
    let bad = client.delete(&format!("{team_a}?mode=cascade")).await;
    assert_says(
        &bad,
        StatusCode::BAD_REQUEST,
        "INVALID_PARAMETER_VALUE",
        "Invalid deletion mode",
    );
    let refused = client.delete(&team_a).await;
    assert_error(
        refused.status,
        &refused.json(),
        StatusCode::BAD_REQUEST,
        "INVALID_STATE",
    );
    let default = client.delete(&format!("{WS}/default")).await;
    assert_says(
        &default,
        StatusCode::BAD_REQUEST,
        "INVALID_PARAMETER_VALUE",
        "cannot be deleted",
    );
    let gone = client.delete(&format!("{team_a}?mode=CASCADE")).await;
    assert_eq!(gone.status, StatusCode::NO_CONTENT);
    assert!(gone.body.is_empty());
    let after = there.get("experiments/search?max_results=5").await;
    assert_eq!(
        after.status,
        StatusCode::NOT_FOUND,
        "the deleted workspace is gone at once"
    );
}

#[tokio::test]
async fn deleted_workspaces_stay_gone() {
    let app = TestApp::with_workspaces(None).await;
    let client = Client::new(&app);
    let team = format!("{WS}/team-d");
    client.post(WS, json!({"name": "team-d"})).await;
    let id = client.in_("team-d").create_experiment("kept").await;
    let gone = client.delete(&format!("{team}?mode=CASCADE")).await;
    assert_eq!(gone.status, StatusCode::NO_CONTENT);
    // Replayed: the second deletion finds nothing, in every mode.
    for mode in ["", "?mode=CASCADE", "?mode=SET_DEFAULT"] {
        let again = client.delete(&format!("{team}{mode}")).await;
        assert_says(
            &again,
            StatusCode::NOT_FOUND,
            "RESOURCE_DOES_NOT_EXIST",
            "Workspace 'team-d' not found",
        );
    }
    // Nothing is reachable through it any more.
    let old = client.in_("team-d");
    for raw in [
        old.get(&format!("experiments/get?experiment_id={id}"))
            .await,
        old.post("experiments/create", json!({"name": "late"}))
            .await,
        client.patch(&team, json!({"description": "x"})).await,
    ] {
        assert_says(
            &raw,
            StatusCode::NOT_FOUND,
            "RESOURCE_DOES_NOT_EXIST",
            "Workspace 'team-d' not found",
        );
    }
    // A workspace made again under the same name starts empty.
    client.post(WS, json!({"name": "team-d"})).await;
    let found = old
        .get(&format!("experiments/get?experiment_id={id}"))
        .await;
    assert_eq!(found.status, StatusCode::NOT_FOUND);
    let search = old.get("experiments/search?max_results=5").await;
    assert_eq!(search.json().get("experiments"), None);
}

/// What a concurrent-deletion round creates: the route, a body for the `i`th, and where the
/// ones kept are listed (and under which key).
struct Creation {
    path: &'static str,
    body: fn(usize) -> Value,
    list: &'static str,
    key: &'static str,
}

const CREATIONS: [Creation; 3] = [
    Creation {
        path: "experiments/create",
        body: |i| json!({"name": format!("e-{i}")}),
        list: "experiments/search?max_results=50",
        key: "experiments",
    },
    Creation {
        path: "registered-models/create",
        body: |i| json!({"name": format!("m-{i}")}),
        list: "registered-models/search?max_results=50",
        key: "registered_models",
    },
    Creation {
        path: "webhooks",
        body: |i| {
            json!({"name": format!("h-{i}"), "url": "https://93.184.216.34/hook",
                   "events": [{"entity": "REGISTERED_MODEL", "action": "CREATED"}]})
        },
        list: "webhooks",
        key: "webhooks",
    },
];

#[tokio::test]
async fn a_workspace_deleted_during_creations_keeps_nothing_and_loses_nothing() {
    let app = TestApp::with_workspaces(None).await;
    let client = Client::new(&app);
    let busy = format!("{WS}/busy");
    for (kind, creation) in CREATIONS.iter().enumerate() {
        for round in 0..4 {
            client.post(WS, json!({"name": "busy"})).await;
            let there = client.in_("busy");
            // The deletion goes in among the creations, earlier each round.
            let mut requests: Vec<futures_util::future::BoxFuture<'_, Raw>> = (0..12)
                .map(|i| {
                    let body = (creation.body)(round * 100 + i);
                    Box::pin(async move { there.post(creation.path, body).await }) as _
                })
                .collect();
            let at = 12 - round * 4;
            requests.insert(
                at,
                Box::pin(client.delete(&busy)) as futures_util::future::BoxFuture<'_, Raw>,
            );
            let mut created = futures_util::future::join_all(requests).await;
            let deleted = created.remove(at);
            let mut made = 0;
            for raw in &created {
                match raw.status {
                    StatusCode::OK => made += 1,
                    _ => assert_says(
                        raw,
                        StatusCode::NOT_FOUND,
                        "RESOURCE_DOES_NOT_EXIST",
                        "Workspace 'busy' not found",
                    ),
                }
            }
            // RESTRICT: the deletion wins only if it came before every creation, and a
            // creation that came after it finds no workspace (never a server error, never an
            // orphan).
            let case = format!("{} round {round}", creation.path);
            match deleted.status {
                StatusCode::NO_CONTENT => assert_eq!(made, 0, "{case}"),
                _ => {
                    assert_error(
                        deleted.status,
                        &deleted.json(),
                        StatusCode::BAD_REQUEST,
                        "INVALID_STATE",
                    );
                    assert!(made > 0, "{case}");
                    let listed = there.get(creation.list).await;
                    let kept = listed.json()[creation.key]
                        .as_array()
                        .map(Vec::len)
                        .unwrap_or(0);
                    assert_eq!(kept, made, "{case}: every acknowledged creation is kept");
                    let gone = client.delete(&format!("{busy}?mode=CASCADE")).await;
                    assert_eq!(gone.status, StatusCode::NO_CONTENT, "{case} ({kind})");
                }
            }
        }
    }
}

#[tokio::test]
async fn resources_stay_in_their_workspace() {
    let app = TestApp::with_workspaces(None).await;
    let client = Client::new(&app);
    client.post(WS, json!({"name": "team-a"})).await;
    for (header, status) in [
        ("nobody", StatusCode::NOT_FOUND),
        ("Bad Name", StatusCode::BAD_REQUEST),
    ] {
        let raw = client
            .in_(header)
            .get("experiments/search?max_results=5")
            .await;
        assert_eq!(raw.status, status);
    }
    let team_a = client.in_("team-a");
    let here = client.create_experiment("same").await;
    let there = team_a.create_experiment("same").await;
    // By name: each workspace has its own.
    let by_name = team_a
        .get("experiments/get-by-name?experiment_name=same")
        .await;
    assert_eq!(by_name.json()["experiment"]["experiment_id"], json!(there));
    // By ID across workspaces: not found, as the reference answers.
    let across = team_a
        .get(&format!("experiments/get?experiment_id={here}"))
        .await;
    assert_says(
        &across,
        StatusCode::NOT_FOUND,
        "RESOURCE_DOES_NOT_EXIST",
        &format!("No Experiment with id={here}"),
    );
    let run = client
        .post("runs/create", json!({"experiment_id": here}))
        .await
        .json()["run"]["info"]["run_id"]
        .as_str()
        .expect("run")
        .to_owned();
    let across = team_a
        .post(
            "runs/log-metric",
            json!({"run_id": run, "key": "m", "value": 1, "timestamp": 1}),
        )
        .await;
    assert_says(
        &across,
        StatusCode::NOT_FOUND,
        "RESOURCE_DOES_NOT_EXIST",
        "Run with id=",
    );
    let into = team_a
        .post("runs/create", json!({"experiment_id": here}))
        .await;
    assert_eq!(into.status, StatusCode::NOT_FOUND);
    // Searches: experiments of the workspace only; runs of other workspaces' experiments drop.
    let search = team_a.get("experiments/search?max_results=50").await.json();
    let ids: Vec<&str> = search["experiments"]
        .as_array()
        .expect("list")
        .iter()
        .map(|e| e["experiment_id"].as_str().unwrap_or(""))
        .collect();
    assert_eq!(ids, [there.as_str()]);
    let runs = team_a
        .post("runs/search", json!({"experiment_ids": [here, there]}))
        .await;
    assert_eq!(runs.status, StatusCode::OK);
    assert_eq!(runs.json().get("runs"), None, "{:?}", runs.json());
    let mine = client
        .post("runs/search", json!({"experiment_ids": [here]}))
        .await
        .json();
    assert_eq!(mine["runs"].as_array().map(Vec::len), Some(1));
    // Traces and logged models of another workspace's experiment drop out of searches too.
    client
        .post("/api/3.0/mlflow/traces", crate::traces::start_body(&here))
        .await;
    client
        .post(
            "logged-models",
            json!({"experiment_id": here, "name": "lm"}),
        )
        .await;
    let located = |id: &str| json!([{"type": "MLFLOW_EXPERIMENT", "mlflow_experiment": {"experiment_id": id}}]);
    for (in_, seen) in [(team_a, 0), (client, 1)] {
        let traces = in_
            .post(
                "/api/3.0/mlflow/traces/search",
                json!({"locations": located(&here)}),
            )
            .await;
        assert_eq!(traces.status, StatusCode::OK);
        assert_eq!(traces.json()["traces"].as_array().map_or(0, Vec::len), seen);
        let v2 = in_.get(&format!("traces?experiment_ids={here}")).await;
        assert_eq!(v2.json()["traces"].as_array().map_or(0, Vec::len), seen);
        let models = in_
            .post("logged-models/search", json!({"experiment_ids": [here]}))
            .await;
        assert_eq!(models.status, StatusCode::OK);
        assert_eq!(models.json()["models"].as_array().map_or(0, Vec::len), seen);
    }
}

#[tokio::test]
async fn signed_in_users_see_their_workspaces_and_only_admins_change_them() {
    let app = TestApp::with_workspaces(Some(Permission::NoPermissions)).await;
    app.auth
        .create_user("admin", Some("admin-password-1"), true, AccountKind::User)
        .await
        .expect("admin");
    app.auth
        .create_user("bob", Some("bob-password-123"), false, AccountKind::User)
        .await
        .expect("bob");
    let (admin, bob) = (
        basic("admin", "admin-password-1"),
        basic("bob", "bob-password-123"),
    );
    let (admin, bob) = (Client::new(&app).as_(&admin), Client::new(&app).as_(&bob));
    // Unauthenticated callers learn nothing about workspaces, not even whether one exists.
    let anon = Client::new(&app)
        .in_("nobody")
        .get("experiments/search")
        .await;
    assert_eq!(anon.status, StatusCode::UNAUTHORIZED);
    for body in [json!({"name": "team-a"}), json!({"name": "team-b"})] {
        let raw = bob.post(WS, body.clone()).await;
        assert_eq!(raw.status, StatusCode::FORBIDDEN);
        let raw = admin.post(WS, body).await;
        assert_eq!(raw.status, StatusCode::CREATED);
    }
    assert_eq!(names(&bob.get(WS).await), ["default"]);
    let raw = bob.get(&format!("{WS}/team-a")).await;
    assert_eq!(raw.status, StatusCode::FORBIDDEN);
    // A member (the seeded `user` role) sees it and may create there; what they create is theirs.
    let roles = admin
        .get("/api/3.0/mlflow/roles/list?workspace=team-a")
        .await
        .json();
    let user_role = roles["roles"]
        .as_array()
        .expect("roles")
        .iter()
        .find(|r| r["name"] == "user")
        .expect("seeded user role")["id"]
        .clone();
    let assigned = admin
        .post(
            "/api/3.0/mlflow/roles/assign",
            json!({"username": "bob", "role_id": user_role}),
        )
        .await;
    assert_eq!(assigned.status, StatusCode::OK, "{:?}", assigned.json());
    assert_eq!(names(&bob.get(WS).await), ["default", "team-a"]);
    let theirs = bob.in_("team-a").create_experiment("bob's").await;
    // Not a member of team-b: nothing there, and nothing of team-a from there.
    let elsewhere = bob
        .in_("team-b")
        .post("experiments/create", json!({"name": "x"}))
        .await;
    assert_eq!(elsewhere.status, StatusCode::FORBIDDEN);
    let get_theirs = format!("experiments/get?experiment_id={theirs}");
    let across = bob.in_("team-b").get(&get_theirs).await;
    assert_eq!(
        across.status,
        StatusCode::FORBIDDEN,
        "non-administrators get the same answer as for a missing resource"
    );
    let home = bob.in_("team-a").get(&get_theirs).await;
    assert_eq!(home.status, StatusCode::OK);
    let by_admin = admin.in_("team-b").get(&get_theirs).await;
    assert_eq!(by_admin.status, StatusCode::NOT_FOUND);
    let raw = bob.delete(&format!("{WS}/team-b")).await;
    assert_eq!(raw.status, StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn artifacts_live_under_the_workspace_prefix_and_go_with_a_cascade() {
    let app = TestApp::with_workspaces(None).await;
    let client = Client::new(&app);
    client.post(WS, json!({"name": "team-c"})).await;
    let id = client.in_("team-c").create_experiment("files").await;
    let put = |ws: Option<&'static str>, path: String| {
        let app = &app;
        async move {
            let mut req = Request::builder()
                .method(Method::PUT)
                .uri(format!("/api/2.0/mlflow-artifacts/artifacts/{path}"));
            if let Some(w) = ws {
                req = req.header("x-mlflow-workspace", w);
            }
            app.send(req.body(Body::from("hello")).expect("request"))
                .await
        }
    };
    let stored = put(Some("team-c"), format!("workspaces/team-c/{id}/f.txt")).await;
    assert_eq!(stored.status, StatusCode::OK, "{:?}", stored.json());
    let file = app
        .data_dir()
        .join(format!("artifacts/workspaces/team-c/{id}/f.txt"));
    assert!(file.exists());
    // The prefix must name the request's workspace, and only `default` goes without one.
    for (ws, path) in [
        (Some("team-c"), format!("{id}/g.txt")),
        (None, format!("workspaces/team-c/{id}/g.txt")),
    ] {
        let refused = put(ws, path.clone()).await;
        assert_eq!(refused.status, StatusCode::BAD_REQUEST, "{ws:?} {path}");
    }
    let gone = client.delete(&format!("{WS}/team-c?mode=CASCADE")).await;
    assert_eq!(gone.status, StatusCode::NO_CONTENT);
    assert!(!app.data_dir().join("artifacts/workspaces/team-c").exists());
}

#[tokio::test]
async fn models_prompts_and_webhooks_stay_in_their_workspace() {
    let app = TestApp::with_workspaces(None).await;
    let client = Client::new(&app);
    client.post(WS, json!({"name": "team-m"})).await;
    let there = client.in_("team-m");
    for c in [client, there] {
        let made = c
            .post("registered-models/create", json!({"name": "shared"}))
            .await;
        assert_eq!(made.status, StatusCode::OK, "{:?}", made.json());
    }
    let prompt_tag = json!([{"key": "mlflow.prompt.is_prompt", "value": "true"}]);
    for name in ["only-here", "a-prompt"] {
        let tags = if name == "a-prompt" {
            prompt_tag.clone()
        } else {
            json!([])
        };
        let made = client
            .post(
                "registered-models/create",
                json!({"name": name, "tags": tags}),
            )
            .await;
        assert_eq!(made.status, StatusCode::OK, "{:?}", made.json());
    }
    for name in ["only-here", "a-prompt"] {
        let across = there
            .get(&format!("registered-models/get?name={name}"))
            .await;
        assert_says(
            &across,
            StatusCode::NOT_FOUND,
            "RESOURCE_DOES_NOT_EXIST",
            &format!("Registered Model with name={name} not found"),
        );
    }
    let deleted = there
        .delete_json("registered-models/delete", json!({"name": "only-here"}))
        .await;
    assert_eq!(deleted.status, StatusCode::NOT_FOUND);
    let search = there
        .get("registered-models/search?max_results=50")
        .await
        .json();
    let names: Vec<&str> = search["registered_models"]
        .as_array()
        .expect("models")
        .iter()
        .map(|m| m["name"].as_str().unwrap_or(""))
        .collect();
    assert_eq!(names, ["shared"]);
    // Webhooks: made in one workspace, not seen or changed from another.
    let hook = there
        .post(
            "webhooks",
            json!({"name": "h", "url": "https://93.184.216.34/hook",
                   "events": [{"entity": "REGISTERED_MODEL", "action": "CREATED"}]}),
        )
        .await;
    assert_eq!(hook.status, StatusCode::OK, "{:?}", hook.json());
    let id = hook.json()["webhook"]["webhook_id"]
        .as_str()
        .expect("id")
        .to_owned();
    assert_eq!(client.get("webhooks").await.json().get("webhooks"), None);
    let listed = there.get("webhooks").await.json();
    assert_eq!(listed["webhooks"].as_array().map(Vec::len), Some(1));
    for raw in [
        client.get(&format!("webhooks/{id}")).await,
        client.delete(&format!("webhooks/{id}")).await,
        client
            .patch(&format!("webhooks/{id}"), json!({"name": "taken"}))
            .await,
    ] {
        assert_error(
            raw.status,
            &raw.json(),
            StatusCode::NOT_FOUND,
            "RESOURCE_DOES_NOT_EXIST",
        );
    }
    // What the workspace holds keeps it from a RESTRICT deletion, models first.
    let refused = client.delete(&format!("{WS}/team-m")).await;
    assert_says(
        &refused,
        StatusCode::BAD_REQUEST,
        "INVALID_STATE",
        "registered_models",
    );
    let gone = client.delete(&format!("{WS}/team-m?mode=CASCADE")).await;
    assert_eq!(gone.status, StatusCode::NO_CONTENT);
    let kept = client.get("registered-models/get?name=shared").await;
    assert_eq!(kept.status, StatusCode::OK);
}
