//! Conformance checks of workspaces: the catalogue, experiment and model names unique per
//! workspace, models, versions and webhooks kept to their workspace, and the three ways of
//! deleting a workspace (each all or nothing).

use keel_core::registry::{
    CreateModelVersion, CreateRegisteredModel, SearchModelVersions, SearchRegisteredModels,
};
use keel_core::tracking::{CreateExperiment, SearchExperiments, SearchRuns};
use keel_core::webhooks::{Webhook, WebhookEvent, WebhookStatus};
use keel_core::workspaces::{DEFAULT_WORKSPACE, DeletionMode, Workspace};
use keel_core::{ErrorCode, LifecycleStage, RegisteredModel, Registry, Result};

use super::{Fixture, expect_err, run_in};

fn workspace(name: &str) -> Workspace {
    Workspace {
        name: name.to_owned(),
        description: Some(format!("{name} team")),
        default_artifact_root: None,
    }
}

/// Creates experiment `name` in `ws` (which must be in the catalogue).
async fn experiment_in(f: &Fixture, ws: &str, name: &str) -> String {
    f.tracking()
        .create_experiment(CreateExperiment {
            workspace: workspace(ws),
            name: name.to_owned(),
            ..Default::default()
        })
        .await
        .expect("create experiment")
}

async fn names_in(f: &Fixture, ws: &str) -> Vec<String> {
    let page = f
        .tracking()
        .search_experiments(SearchExperiments {
            workspace: ws.to_owned(),
            view: keel_core::ViewType::All,
            ..Default::default()
        })
        .await
        .expect("search");
    let mut names: Vec<String> = page.items.into_iter().map(|e| e.name).collect();
    names.sort();
    names
}

pub async fn the_catalogue_starts_with_default_and_names_are_unique(f: Fixture) {
    let store = f.workspace_store();
    let all = store.list_workspaces().await.expect("list");
    assert_eq!(all, vec![Workspace::default()]);
    store
        .insert_workspace(&workspace("team-b"))
        .await
        .expect("b");
    store
        .insert_workspace(&workspace("team-a"))
        .await
        .expect("a");
    expect_err(
        store.insert_workspace(&workspace("team-a")).await,
        ErrorCode::ResourceAlreadyExists,
    );
    let names: Vec<String> = store
        .list_workspaces()
        .await
        .expect("list")
        .into_iter()
        .map(|w| w.name)
        .collect();
    assert_eq!(names, ["default", "team-a", "team-b"]);
    let changed = Workspace {
        description: None,
        default_artifact_root: Some("s3://bucket/team-a".into()),
        ..workspace("team-a")
    };
    assert!(store.update_workspace(&changed).await.expect("update"));
    assert_eq!(
        store.get_workspace("team-a").await.expect("get"),
        Some(changed)
    );
    assert!(
        !store
            .update_workspace(&workspace("nobody"))
            .await
            .expect("update missing")
    );
    assert_eq!(store.get_workspace("nobody").await.expect("get"), None);
}

pub async fn experiment_names_are_unique_per_workspace(f: Fixture) {
    f.workspace_store()
        .insert_workspace(&workspace("team-a"))
        .await
        .expect("team-a");
    let here = experiment_in(&f, DEFAULT_WORKSPACE, "shared").await;
    let there = experiment_in(&f, "team-a", "shared").await;
    assert_ne!(here, there);
    let err = f
        .tracking()
        .create_experiment(CreateExperiment {
            workspace: workspace("team-a"),
            name: "shared".into(),
            ..Default::default()
        })
        .await;
    expect_err(err, ErrorCode::ResourceAlreadyExists);
    let t = f.tracking();
    let found = t
        .get_experiment_by_name("team-a", "shared")
        .await
        .expect("a");
    assert_eq!(
        (found.experiment_id.as_str(), found.workspace.as_str()),
        (there.as_str(), "team-a")
    );
    assert!(
        found
            .artifact_location
            .ends_with(&format!("/workspaces/team-a/{there}"))
    );
    let found = t
        .get_experiment_by_name(DEFAULT_WORKSPACE, "shared")
        .await
        .expect("d");
    assert_eq!(found.experiment_id, here);
    expect_err(
        t.get_experiment_by_name("team-b", "shared").await,
        ErrorCode::ResourceDoesNotExist,
    );
    assert_eq!(names_in(&f, "team-a").await, ["shared"]);
    assert_eq!(names_in(&f, DEFAULT_WORKSPACE).await, ["shared"]);
    // Renaming is unique within the workspace only.
    let other = experiment_in(&f, "team-a", "other").await;
    expect_err(
        t.rename_experiment(&other, "shared").await,
        ErrorCode::ResourceAlreadyExists,
    );
    // A workspace that is not in the catalogue takes no experiments.
    let err = t
        .create_experiment(CreateExperiment {
            workspace: workspace("ghost"),
            name: "x".into(),
            ..Default::default()
        })
        .await;
    expect_err(err, ErrorCode::ResourceDoesNotExist);
}

pub async fn restrict_refuses_a_workspace_that_holds_experiments(f: Fixture) {
    let store = f.workspace_store();
    store
        .insert_workspace(&workspace("team-a"))
        .await
        .expect("a");
    let id = experiment_in(&f, "team-a", "gone").await;
    f.tracking().delete_experiment(&id).await.expect("delete");
    // A deleted experiment still counts.
    let err = expect_err(
        store
            .delete_workspace("team-a", DeletionMode::Restrict)
            .await,
        ErrorCode::InvalidState,
    );
    assert!(
        err.message
            .contains("'experiments' still contains 1 resource(s)"),
        "{}",
        err.message
    );
    assert!(store.get_workspace("team-a").await.expect("get").is_some());
    store
        .insert_workspace(&workspace("empty"))
        .await
        .expect("e");
    store
        .delete_workspace("empty", DeletionMode::Restrict)
        .await
        .expect("an empty workspace goes");
    assert_eq!(store.get_workspace("empty").await.expect("get"), None);
    let again = store
        .delete_workspace("empty", DeletionMode::Cascade)
        .await
        .expect_err("a second deletion finds nothing");
    assert_eq!(
        again.code,
        ErrorCode::ResourceDoesNotExist,
        "{}",
        again.message
    );
}

pub async fn set_default_moves_everything_unless_a_name_is_taken(f: Fixture) {
    let store = f.workspace_store();
    store
        .insert_workspace(&workspace("team-a"))
        .await
        .expect("a");
    experiment_in(&f, DEFAULT_WORKSPACE, "clash").await;
    let clash = experiment_in(&f, "team-a", "clash").await;
    let kept = experiment_in(&f, "team-a", "kept").await;
    let run = run_in(&f.tracking(), &kept).await.info.run_id;
    let err = expect_err(
        store
            .delete_workspace("team-a", DeletionMode::SetDefault)
            .await,
        ErrorCode::InvalidState,
    );
    assert!(
        err.message.contains("experiments: clash"),
        "{}",
        err.message
    );
    // Nothing moved.
    assert_eq!(names_in(&f, "team-a").await, ["clash", "kept"]);
    f.tracking()
        .rename_experiment(&clash, "clash-a")
        .await
        .expect("rename");
    store
        .delete_workspace("team-a", DeletionMode::SetDefault)
        .await
        .expect("set default");
    assert_eq!(store.get_workspace("team-a").await.expect("get"), None);
    assert_eq!(
        names_in(&f, DEFAULT_WORKSPACE).await,
        ["clash", "clash-a", "kept"]
    );
    let moved = f.tracking().get_experiment(&kept).await.expect("kept");
    assert_eq!(moved.workspace, DEFAULT_WORKSPACE);
    f.tracking().get_run(&run).await.expect("its runs stay");
}

pub async fn cascade_deletes_the_experiments_and_the_roles(f: Fixture) {
    let store = f.workspace_store();
    store
        .insert_workspace(&workspace("team-a"))
        .await
        .expect("a");
    let doomed = experiment_in(&f, "team-a", "doomed").await;
    let run = run_in(&f.tracking(), &doomed).await.info.run_id;
    let t = f.tracking();
    t.log_metric(
        &run,
        keel_core::tracking::LogMetric {
            key: "loss".into(),
            value: 1.0,
            timestamp: 1,
            step: 0,
            model_id: None,
            dataset_name: None,
            dataset_digest: None,
        },
    )
    .await
    .expect("metric");
    let identity = f.identity_store();
    identity
        .insert_role("team-a", "admin", None)
        .await
        .expect("role there");
    identity
        .insert_role(DEFAULT_WORKSPACE, "admin", None)
        .await
        .expect("role here");
    let survivor = experiment_in(&f, DEFAULT_WORKSPACE, "survivor").await;
    store
        .delete_workspace("team-a", DeletionMode::Cascade)
        .await
        .expect("cascade");
    expect_err(
        t.get_experiment(&doomed).await,
        ErrorCode::ResourceDoesNotExist,
    );
    expect_err(t.get_run(&run).await, ErrorCode::ResourceDoesNotExist);
    let survivor = t.get_experiment(&survivor).await.expect("survivor");
    assert_eq!(survivor.lifecycle_stage, LifecycleStage::Active);
    let roles = identity.list_roles(None).await.expect("roles");
    assert_eq!(
        roles
            .iter()
            .map(|r| r.workspace.as_str())
            .collect::<Vec<_>>(),
        [DEFAULT_WORKSPACE]
    );
    assert_eq!(store.get_workspace("team-a").await.expect("get"), None);
}

pub async fn run_search_keeps_to_its_workspace(f: Fixture) {
    f.workspace_store()
        .insert_workspace(&workspace("team-a"))
        .await
        .expect("a");
    let t = f.tracking();
    let here = experiment_in(&f, DEFAULT_WORKSPACE, "here").await;
    let there = experiment_in(&f, "team-a", "there").await;
    let run_here = run_in(&t, &here).await.info.run_id;
    let run_there = run_in(&t, &there).await.info.run_id;
    let search = |workspace: Option<&str>, order_by: &[&str]| SearchRuns {
        experiment_ids: vec![here.clone(), there.clone()],
        workspace: workspace.map(str::to_owned),
        order_by: order_by.iter().map(|o| (*o).to_owned()).collect(),
        ..Default::default()
    };
    // Both statement shapes: plain, and (PostgreSQL) split on a first order term of a tag.
    for order_by in [&[][..], &["tags.`mlflow.runName` ASC"][..]] {
        for (workspace, want) in [
            (Some(DEFAULT_WORKSPACE), vec![run_here.clone()]),
            (Some("team-a"), vec![run_there.clone()]),
            (Some("team-z"), vec![]),
        ] {
            let page = t
                .search_runs(search(workspace, order_by))
                .await
                .expect("search");
            let ids: Vec<String> = page.items.into_iter().map(|r| r.info.run_id).collect();
            assert_eq!(ids, want, "{workspace:?} {order_by:?}");
        }
        let all = t.search_runs(search(None, order_by)).await.expect("search");
        assert_eq!(all.items.len(), 2, "no workspace: no filter");
    }
}

async fn model_in(r: &Registry, name: &str) -> Result<RegisteredModel> {
    r.create_registered_model(CreateRegisteredModel {
        name: name.to_owned(),
        ..Default::default()
    })
    .await
}

async fn model_names(r: &Registry) -> Vec<String> {
    let page = r
        .search_registered_models(SearchRegisteredModels::default())
        .await
        .expect("search");
    page.items.into_iter().map(|m| m.name).collect()
}

fn version_from(name: &str, source: &str, run_id: Option<&str>) -> CreateModelVersion {
    CreateModelVersion {
        name: name.to_owned(),
        source: source.to_owned(),
        run_id: run_id.map(str::to_owned),
        ..Default::default()
    }
}

pub async fn registered_models_keep_to_their_workspace(f: Fixture) {
    f.workspace_store()
        .insert_workspace(&workspace("team-a"))
        .await
        .expect("a");
    let here = f.registry();
    let there = here.in_workspace("team-a");
    model_in(&here, "shared").await.expect("here");
    model_in(&there, "shared")
        .await
        .expect("the same name there");
    expect_err(
        model_in(&there, "shared").await,
        ErrorCode::ResourceAlreadyExists,
    );
    model_in(&here, "only-here").await.expect("only here");
    here.create_model_version(version_from("only-here", "s3://bucket/prefix/m", None))
        .await
        .expect("version");
    // Named from the other workspace, a model is not there: reads, writes and versions alike.
    let missing = ErrorCode::ResourceDoesNotExist;
    expect_err(there.get_registered_model("only-here").await, missing);
    expect_err(there.delete_registered_model("only-here").await, missing);
    expect_err(
        there.rename_registered_model("only-here", "x").await,
        missing,
    );
    expect_err(there.get_model_version("only-here", "1").await, missing);
    expect_err(
        there
            .set_registered_model_alias("only-here", "champion", "1")
            .await,
        missing,
    );
    expect_err(
        there
            .create_model_version(version_from("only-here", "s3://bucket/prefix/n", None))
            .await,
        missing,
    );
    // Renames check names in their own workspace only.
    here.rename_registered_model("only-here", "renamed")
        .await
        .expect("rename");
    expect_err(
        here.rename_registered_model("renamed", "shared").await,
        ErrorCode::ResourceAlreadyExists,
    );
    assert_eq!(model_names(&here).await, ["renamed", "shared"]);
    assert_eq!(model_names(&there).await, ["shared"]);
    let versions = there
        .search_model_versions(SearchModelVersions::default())
        .await
        .expect("versions");
    assert!(versions.items.is_empty(), "{:?}", versions.items);
    // A version comes only from a run of its own workspace.
    let exp = experiment_in(&f, "team-a", "training").await;
    let run = run_in(&f.tracking(), &exp).await.info.run_id;
    let source = format!("runs:/{run}/model");
    let refused = expect_err(
        here.create_model_version(version_from("renamed", &source, Some(&run)))
            .await,
        missing,
    );
    assert!(refused.message.contains(&run), "{}", refused.message);
    there
        .create_model_version(version_from("shared", &source, Some(&run)))
        .await
        .expect("a version from a run of team-a");
    // Deleting the workspace: RESTRICT counts its models, SET_DEFAULT refuses a name taken in
    // default, CASCADE takes the models with their versions.
    let store = f.workspace_store();
    let refused = expect_err(
        store
            .delete_workspace("team-a", DeletionMode::SetDefault)
            .await,
        ErrorCode::InvalidState,
    );
    assert!(
        refused.message.contains("registered_models: shared"),
        "{}",
        refused.message
    );
    store
        .delete_workspace("team-a", DeletionMode::Cascade)
        .await
        .expect("cascade");
    assert_eq!(model_names(&here).await, ["renamed", "shared"]);
    assert!(
        f.registry_store()
            .get_registered_model("team-a", "shared")
            .await
            .expect("get")
            .is_none()
    );
}

pub async fn restrict_refuses_a_workspace_that_holds_models_or_webhooks(f: Fixture) {
    let store = f.workspace_store();
    for name in ["models", "hooks"] {
        store.insert_workspace(&workspace(name)).await.expect("ws");
    }
    model_in(&f.registry().in_workspace("models"), "m")
        .await
        .expect("model");
    let hooks = f.webhook_store();
    let hook = |id: &str, workspace: &str| Webhook {
        webhook_id: id.to_owned(),
        workspace: workspace.to_owned(),
        name: id.to_owned(),
        description: None,
        url: "https://example.com/hook".into(),
        events: vec![WebhookEvent::parse("registered_model.created").expect("event")],
        status: WebhookStatus::Active,
        secret: None,
        creation_timestamp: 1,
        last_updated_timestamp: 1,
    };
    hooks
        .insert_webhook(&hook("h1", "hooks"))
        .await
        .expect("hook");
    hooks
        .insert_webhook(&hook("h0", DEFAULT_WORKSPACE))
        .await
        .expect("hook");
    // Webhooks are listed, and hear events, in their own workspace only.
    let listed = hooks
        .list_webhooks("hooks", None, 0, 10)
        .await
        .expect("list");
    assert_eq!(
        listed
            .iter()
            .map(|h| h.webhook_id.as_str())
            .collect::<Vec<_>>(),
        ["h1"]
    );
    let event = WebhookEvent::parse("registered_model.created").expect("event");
    let subs = hooks
        .active_subscriptions("hooks", &[event])
        .await
        .expect("subs");
    assert_eq!(
        subs.iter()
            .map(|s| s.webhook_id.as_str())
            .collect::<Vec<_>>(),
        ["h1"]
    );
    expect_err(
        hooks.insert_webhook(&hook("h2", "nowhere")).await,
        ErrorCode::ResourceDoesNotExist,
    );
    for (name, table) in [("models", "registered_models"), ("hooks", "webhooks")] {
        let refused = expect_err(
            store.delete_workspace(name, DeletionMode::Restrict).await,
            ErrorCode::InvalidState,
        );
        assert!(refused.message.contains(table), "{}", refused.message);
    }
    // A deleted webhook no longer holds its workspace.
    hooks.delete_webhook("h1", 2).await.expect("delete hook");
    store
        .delete_workspace("hooks", DeletionMode::Restrict)
        .await
        .expect("only a deleted webhook was left");
    store
        .delete_workspace("models", DeletionMode::SetDefault)
        .await
        .expect("moved");
    assert_eq!(model_names(&f.registry()).await, ["m"]);
}
