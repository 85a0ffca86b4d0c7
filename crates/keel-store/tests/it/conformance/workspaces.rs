//! Conformance checks of workspaces: the catalogue, experiment names unique per workspace, and
//! the three ways of deleting a workspace (each all or nothing).

use keel_core::tracking::{CreateExperiment, SearchExperiments, SearchRuns};
use keel_core::workspaces::{DEFAULT_WORKSPACE, DeletionMode, Workspace};
use keel_core::{ErrorCode, LifecycleStage};

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
