//! Conformance checks of the model registry: registered models, versions, tags, aliases, stages,
//! sources and search, through `keel_core::Registry` on each backend.

use std::collections::BTreeSet;

use keel_core::registry::{
    CreateModelVersion, CreateRegisteredModel, MODEL_VERSIONS_TAG, SearchModelVersions,
    SearchRegisteredModels,
};
use keel_core::tracking::CreateLoggedModel;
use keel_core::{ErrorCode, ModelVersion, RegisteredModel, Registry, Stage, Tag};

use super::{Fixture, expect_err, experiment, run_in, tag};

async fn model(r: &Registry, name: &str, tags: Vec<Tag>) -> RegisteredModel {
    r.create_registered_model(CreateRegisteredModel {
        name: name.to_owned(),
        tags,
        description: None,
    })
    .await
    .unwrap_or_else(|e| panic!("create model {name}: {e}"))
}

/// Creates a version of `name` from an object-store source (no run needed).
async fn version(r: &Registry, name: &str) -> ModelVersion {
    version_from(r, name, "s3://bucket/prefix/some/model").await
}

async fn version_from(r: &Registry, name: &str, source: &str) -> ModelVersion {
    r.create_model_version(CreateModelVersion {
        name: name.to_owned(),
        source: source.to_owned(),
        ..Default::default()
    })
    .await
    .unwrap_or_else(|e| panic!("create version of {name} from {source}: {e}"))
}

fn numbers(versions: &[ModelVersion]) -> Vec<i64> {
    versions.iter().map(|v| v.version).collect()
}

fn names(models: &[RegisteredModel]) -> Vec<String> {
    models.iter().map(|m| m.name.clone()).collect()
}

pub async fn create_and_get_registered_model(f: Fixture) {
    let r = f.registry();
    let created = r
        .create_registered_model(CreateRegisteredModel {
            name: "clf".into(),
            tags: vec![tag("team", "a"), tag("team", "b"), tag("x", "1")],
            description: Some("a classifier".into()),
        })
        .await
        .expect("create");
    assert_eq!(created.creation_timestamp, created.last_updated_timestamp);
    let got = r.get_registered_model("clf").await.expect("get");
    assert_eq!(got, created);
    assert_eq!(got.tags, vec![tag("team", "b"), tag("x", "1")]);
    assert_eq!(got.description.as_deref(), Some("a classifier"));
    assert!(got.latest_versions.is_empty() && got.aliases.is_empty());

    let e = expect_err(
        r.create_registered_model(CreateRegisteredModel {
            name: "clf".into(),
            ..Default::default()
        })
        .await,
        ErrorCode::ResourceAlreadyExists,
    );
    assert_eq!(e.message, "Registered Model (name=clf) already exists.");
    let e = expect_err(
        r.get_registered_model("nope").await,
        ErrorCode::ResourceDoesNotExist,
    );
    assert_eq!(e.message, "Registered Model with name=nope not found");
    for bad in ["", "a/b", "a:b", ".."] {
        expect_err(
            r.create_registered_model(CreateRegisteredModel {
                name: bad.into(),
                ..Default::default()
            })
            .await,
            ErrorCode::InvalidParameterValue,
        );
    }
}

pub async fn rename_moves_versions_and_aliases(f: Fixture) {
    let r = f.registry();
    let before = model(&r, "old", vec![tag("k", "v")]).await;
    version(&r, "old").await;
    version(&r, "old").await;
    r.set_registered_model_alias("old", "champ", "2")
        .await
        .expect("alias");
    let renamed = r
        .rename_registered_model("old", "new")
        .await
        .expect("rename");
    assert_eq!(renamed.name, "new");
    assert!(renamed.last_updated_timestamp > before.last_updated_timestamp);
    assert_eq!(renamed.tags, vec![tag("k", "v")]);
    assert_eq!(numbers(&renamed.latest_versions), vec![2]);
    assert!(renamed.latest_versions.iter().all(|v| v.name == "new"));
    let by_alias = r
        .get_model_version_by_alias("new", "champ")
        .await
        .expect("alias");
    assert_eq!((by_alias.name.as_str(), by_alias.version), ("new", 2));
    assert_eq!(
        by_alias.last_updated_timestamp,
        renamed.last_updated_timestamp
    );
    expect_err(
        r.get_registered_model("old").await,
        ErrorCode::ResourceDoesNotExist,
    );
    expect_err(
        r.get_model_version("old", "1").await,
        ErrorCode::ResourceDoesNotExist,
    );
    // Numbering continues under the new name.
    assert_eq!(version(&r, "new").await.version, 3);

    model(&r, "taken", vec![]).await;
    let e = expect_err(
        r.rename_registered_model("new", "taken").await,
        ErrorCode::ResourceAlreadyExists,
    );
    assert_eq!(e.message, "Registered Model (name=taken) already exists.");
    r.rename_registered_model("new", "new")
        .await
        .expect("same name");
    expect_err(
        r.rename_registered_model("missing", "x").await,
        ErrorCode::ResourceDoesNotExist,
    );
    expect_err(
        r.rename_registered_model("new", "").await,
        ErrorCode::InvalidParameterValue,
    );
}

pub async fn update_and_delete_registered_model(f: Fixture) {
    let r = f.registry();
    let created = model(&r, "m", vec![tag("a", "1")]).await;
    let updated = r
        .update_registered_model("m", Some("new text"))
        .await
        .expect("update");
    assert_eq!(updated.description.as_deref(), Some("new text"));
    assert!(updated.last_updated_timestamp > created.last_updated_timestamp);
    let cleared = r.update_registered_model("m", None).await.expect("clear");
    assert_eq!(cleared.description, None);
    expect_err(
        r.update_registered_model("missing", Some("x")).await,
        ErrorCode::ResourceDoesNotExist,
    );

    version(&r, "m").await;
    version(&r, "m").await;
    r.set_model_version_tag("m", "1", tag("t", "v"))
        .await
        .expect("tag");
    r.set_registered_model_alias("m", "champ", "1")
        .await
        .expect("alias");
    r.delete_registered_model("m").await.expect("delete");
    expect_err(
        r.get_registered_model("m").await,
        ErrorCode::ResourceDoesNotExist,
    );
    expect_err(
        r.get_model_version("m", "1").await,
        ErrorCode::ResourceDoesNotExist,
    );
    expect_err(
        r.delete_registered_model("m").await,
        ErrorCode::ResourceDoesNotExist,
    );
    // A new model of the same name starts over, without the old tags, versions or aliases.
    let again = model(&r, "m", vec![]).await;
    assert!(again.tags.is_empty() && again.aliases.is_empty());
    assert_eq!(version(&r, "m").await.version, 1);
    assert!(
        r.get_model_version("m", "1")
            .await
            .expect("v1")
            .tags
            .is_empty()
    );
}

pub async fn registered_model_tags(f: Fixture) {
    let r = f.registry();
    let created = model(&r, "m", vec![]).await;
    r.set_registered_model_tag("m", tag("k", "1"))
        .await
        .expect("set");
    r.set_registered_model_tag("m", tag("k", "2"))
        .await
        .expect("overwrite");
    r.set_registered_model_tag("m", tag("long", &"x".repeat(100_000)))
        .await
        .expect("long value");
    let got = r.get_registered_model("m").await.expect("get");
    assert_eq!(got.tags[0], tag("k", "2"));
    assert_eq!(got.tags.len(), 2);
    // Tags do not change the last-update time (as in the reference).
    assert_eq!(got.last_updated_timestamp, created.last_updated_timestamp);
    r.delete_registered_model_tag("m", "k")
        .await
        .expect("delete");
    r.delete_registered_model_tag("m", "k")
        .await
        .expect("missing tag is fine");
    assert_eq!(
        r.get_registered_model("m").await.expect("get").tags.len(),
        1
    );
    expect_err(
        r.set_registered_model_tag("missing", tag("k", "v")).await,
        ErrorCode::ResourceDoesNotExist,
    );
    expect_err(
        r.delete_registered_model_tag("missing", "k").await,
        ErrorCode::ResourceDoesNotExist,
    );
    expect_err(
        r.set_registered_model_tag("m", tag("../k", "v")).await,
        ErrorCode::InvalidParameterValue,
    );
}

pub async fn version_numbers_are_never_reused(f: Fixture) {
    let r = f.registry();
    let created = model(&r, "m", vec![]).await;
    let v1 = version(&r, "m").await;
    assert_eq!(v1.version, 1);
    assert_eq!(v1.current_stage, Stage::None);
    let got = r.get_registered_model("m").await.expect("get");
    assert_eq!(got.last_updated_timestamp, v1.creation_timestamp);
    assert!(got.last_updated_timestamp > created.last_updated_timestamp);
    assert_eq!(version(&r, "m").await.version, 2);
    assert_eq!(version(&r, "m").await.version, 3);
    r.delete_model_version("m", "3").await.expect("delete 3");
    assert_eq!(version(&r, "m").await.version, 4);
    r.delete_model_version("m", "2").await.expect("delete 2");
    expect_err(
        r.delete_model_version("m", "2").await,
        ErrorCode::ResourceDoesNotExist,
    );
    assert_eq!(version(&r, "m").await.version, 5);
    let e = expect_err(
        r.create_model_version(CreateModelVersion {
            name: "missing".into(),
            source: "s3://bucket/prefix/x".into(),
            ..Default::default()
        })
        .await,
        ErrorCode::ResourceDoesNotExist,
    );
    assert_eq!(e.message, "Registered Model with name=missing not found");
}

pub async fn concurrent_creates_get_distinct_numbers(f: Fixture) {
    const N: usize = 24;
    let r = f.registry();
    model(&r, "busy", vec![]).await;
    model(&r, "other", vec![]).await;
    let mut tasks = Vec::new();
    for i in 0..N {
        let r = r.clone();
        let name = if i % 4 == 3 { "other" } else { "busy" };
        tasks.push(tokio::spawn(async move {
            (name, version(&r, name).await.version)
        }));
    }
    let mut busy = BTreeSet::new();
    let mut other = BTreeSet::new();
    for t in tasks {
        let (name, number) = t.await.expect("task");
        let set = if name == "busy" {
            &mut busy
        } else {
            &mut other
        };
        assert!(
            set.insert(number),
            "version {number} of {name} handed out twice"
        );
    }
    assert_eq!(busy, (1..=(N as i64 * 3 / 4)).collect());
    assert_eq!(other, (1..=(N as i64 / 4)).collect());
    let page = r
        .search_model_versions(SearchModelVersions {
            filter: Some("name = 'busy'".into()),
            ..Default::default()
        })
        .await
        .expect("search");
    assert_eq!(page.items.len(), N * 3 / 4);
}

pub async fn model_version_fields_tags_and_updates(f: Fixture) {
    let r = f.registry();
    let t = f.tracking();
    let exp = experiment(&t, "e").await;
    let run = run_in(&t, &exp).await;
    let run_id = run.info.run_id.clone();
    model(&r, "m", vec![]).await;
    let created = r
        .create_model_version(CreateModelVersion {
            name: "m".into(),
            source: format!("runs:/{run_id}/model"),
            run_id: Some(run_id.clone()),
            tags: vec![tag("b", "2"), tag("a", "1")],
            run_link: Some("http://link".into()),
            description: Some("first".into()),
            model_id: None,
        })
        .await
        .expect("create");
    let got = r.get_model_version("m", "1").await.expect("get");
    assert_eq!(got, created);
    assert_eq!(got.run_id.as_deref(), Some(run_id.as_str()));
    assert_eq!(got.source, format!("runs:/{run_id}/model"));
    assert_eq!(got.storage_location, None);
    assert_eq!(got.run_link.as_deref(), Some("http://link"));
    assert_eq!(got.tags, vec![tag("a", "1"), tag("b", "2")]);
    assert_eq!(
        r.get_model_version_download_uri("m", "1")
            .await
            .expect("uri"),
        format!("runs:/{run_id}/model")
    );

    let updated = r
        .update_model_version("m", "1", Some("second"))
        .await
        .expect("update");
    assert_eq!(updated.description.as_deref(), Some("second"));
    assert!(updated.last_updated_timestamp > created.last_updated_timestamp);
    r.set_model_version_tag("m", "1", tag("a", "one"))
        .await
        .expect("tag");
    r.delete_model_version_tag("m", "1", "b")
        .await
        .expect("untag");
    r.delete_model_version_tag("m", "1", "b")
        .await
        .expect("missing tag is fine");
    assert_eq!(
        r.get_model_version("m", "1").await.expect("get").tags,
        vec![tag("a", "one")]
    );
    expect_err(
        r.set_model_version_tag("m", "9", tag("a", "b")).await,
        ErrorCode::ResourceDoesNotExist,
    );
    let e = expect_err(
        r.get_model_version("m", "9").await,
        ErrorCode::ResourceDoesNotExist,
    );
    assert_eq!(e.message, "Model Version (name=m, version=9) not found");
    let e = expect_err(
        r.get_model_version("m", "x").await,
        ErrorCode::InvalidParameterValue,
    );
    assert_eq!(
        e.message,
        "Parameter 'version' must be an integer, got 'x'."
    );
    expect_err(
        r.update_model_version("m", "9", Some("x")).await,
        ErrorCode::ResourceDoesNotExist,
    );
}

pub async fn stages_and_latest_versions(f: Fixture) {
    let r = f.registry();
    model(&r, "m", vec![]).await;
    for _ in 0..4 {
        version(&r, "m").await;
    }
    let v1 = r
        .transition_model_version_stage("m", "1", "production", false)
        .await
        .expect("to production");
    assert_eq!(v1.current_stage, Stage::Production);
    r.transition_model_version_stage("m", "3", "Staging", false)
        .await
        .expect("to staging");
    let v2 = r
        .transition_model_version_stage("m", "2", "Production", true)
        .await
        .expect("archive others");
    assert_eq!(v2.current_stage, Stage::Production);
    let v1 = r.get_model_version("m", "1").await.expect("v1");
    assert_eq!(v1.current_stage, Stage::Archived);
    assert_eq!(v1.last_updated_timestamp, v2.last_updated_timestamp);
    let rm = r.get_registered_model("m").await.expect("model");
    assert_eq!(rm.last_updated_timestamp, v2.last_updated_timestamp);
    let stages: Vec<(i64, Stage)> = rm
        .latest_versions
        .iter()
        .map(|v| (v.version, v.current_stage))
        .collect();
    assert_eq!(
        stages,
        vec![
            (1, Stage::Archived),
            (2, Stage::Production),
            (3, Stage::Staging),
            (4, Stage::None)
        ]
    );
    let latest = r
        .get_latest_versions("m", &["PRODUCTION".into(), "None".into()])
        .await
        .expect("latest");
    assert_eq!(numbers(&latest), vec![2, 4]);
    assert_eq!(
        numbers(&r.get_latest_versions("m", &[]).await.expect("all")),
        vec![1, 2, 3, 4]
    );
    expect_err(
        r.get_latest_versions("m", &["bogus".into()]).await,
        ErrorCode::InvalidParameterValue,
    );
    expect_err(
        r.transition_model_version_stage("m", "2", "bogus", false)
            .await,
        ErrorCode::InvalidParameterValue,
    );
    let e = expect_err(
        r.transition_model_version_stage("m", "2", "Archived", true)
            .await,
        ErrorCode::InvalidParameterValue,
    );
    assert!(
        e.message.contains("is not an Active stage"),
        "{}",
        e.message
    );
    expect_err(
        r.transition_model_version_stage("m", "9", "Staging", false)
            .await,
        ErrorCode::ResourceDoesNotExist,
    );
}

pub async fn aliases_point_at_versions(f: Fixture) {
    let r = f.registry();
    model(&r, "m", vec![]).await;
    for _ in 0..3 {
        version(&r, "m").await;
    }
    r.set_registered_model_alias("m", "champ", "2")
        .await
        .expect("set");
    r.set_registered_model_alias("m", "backup", "2")
        .await
        .expect("set");
    let v = r
        .get_model_version_by_alias("m", "champ")
        .await
        .expect("get");
    assert_eq!(v.version, 2);
    assert_eq!(v.aliases, vec!["backup".to_owned(), "champ".to_owned()]);
    assert_eq!(
        r.get_model_version("m", "2").await.expect("v2").aliases,
        vec!["backup".to_owned(), "champ".to_owned()]
    );
    r.set_registered_model_alias("m", "champ", "3")
        .await
        .expect("move");
    assert_eq!(
        r.get_model_version_by_alias("m", "champ")
            .await
            .expect("moved")
            .version,
        3
    );
    let rm = r.get_registered_model("m").await.expect("model");
    let aliases: Vec<(&str, i64)> = rm
        .aliases
        .iter()
        .map(|a| (a.alias.as_str(), a.version))
        .collect();
    assert_eq!(aliases, vec![("backup", 2), ("champ", 3)]);
    // `latest` is the highest version, whatever its stage.
    assert_eq!(
        r.get_model_version_by_alias("m", "LATEST")
            .await
            .expect("latest")
            .version,
        3
    );

    r.delete_registered_model_alias("m", "backup")
        .await
        .expect("delete");
    r.delete_registered_model_alias("m", "backup")
        .await
        .expect("missing alias is fine");
    let e = expect_err(
        r.get_model_version_by_alias("m", "backup").await,
        ErrorCode::InvalidParameterValue,
    );
    assert_eq!(e.message, "Registered model alias backup not found.");
    // Deleting a version deletes the aliases pointing at it.
    r.delete_model_version("m", "3")
        .await
        .expect("delete version");
    expect_err(
        r.get_model_version_by_alias("m", "champ").await,
        ErrorCode::InvalidParameterValue,
    );
    assert!(
        r.get_registered_model("m")
            .await
            .expect("model")
            .aliases
            .is_empty()
    );

    let e = expect_err(
        r.set_registered_model_alias("m", "champ", "99").await,
        ErrorCode::ResourceDoesNotExist,
    );
    assert_eq!(e.message, "Model Version (name=m, version=99) not found");
    for reserved in ["latest", "Latest", "v1", "V22"] {
        expect_err(
            r.set_registered_model_alias("m", reserved, "1").await,
            ErrorCode::InvalidParameterValue,
        );
    }
    expect_err(
        r.set_registered_model_alias("m", "bad alias", "1").await,
        ErrorCode::InvalidParameterValue,
    );
    expect_err(
        r.get_model_version_by_alias("missing", "champ").await,
        ErrorCode::ResourceDoesNotExist,
    );
    expect_err(
        r.delete_registered_model_alias("missing", "champ").await,
        ErrorCode::ResourceDoesNotExist,
    );
}

pub async fn sources_link_runs_and_logged_models(f: Fixture) {
    let r = f.registry();
    let t = f.tracking();
    let exp = experiment(&t, "e").await;
    let run = run_in(&t, &exp).await;
    let run_id = run.info.run_id.clone();
    let artifact_uri = run.info.artifact_uri.clone();
    model(&r, "m", vec![]).await;

    // A logged model: the version stores its files' location and its run, and the logged
    // model lists the versions made from it.
    let logged = t
        .create_logged_model(CreateLoggedModel {
            experiment_id: exp.clone(),
            name: Some("lm".into()),
            source_run_id: Some(run_id.clone()),
            ..Default::default()
        })
        .await
        .expect("logged model");
    let from_model = |model_id: Option<String>| CreateModelVersion {
        name: "m".into(),
        source: format!("models:/{}", logged.model_id),
        model_id,
        ..Default::default()
    };
    let v1 = r
        .create_model_version(from_model(Some(logged.model_id.clone())))
        .await
        .expect("from logged model");
    assert_eq!(v1.source, format!("models:/{}", logged.model_id));
    assert_eq!(v1.run_id.as_deref(), Some(run_id.as_str()));
    assert_eq!(v1.model_id.as_deref(), Some(logged.model_id.as_str()));
    assert_eq!(
        r.get_model_version_download_uri("m", "1")
            .await
            .expect("uri"),
        logged.artifact_location
    );
    let v2 = r
        .create_model_version(from_model(Some(logged.model_id.clone())))
        .await
        .expect("again");
    assert_eq!(v2.version, 2);
    let tags = t
        .get_logged_model(&logged.model_id, false)
        .await
        .expect("lm")
        .tags;
    assert_eq!(
        tags,
        vec![tag(
            MODEL_VERSIONS_TAG,
            r#"[{"name": "m", "version": 1}, {"name": "m", "version": 2}]"#
        )]
    );
    // The logged-model URI needs its model_id, and a model_id must match the URI.
    expect_err(
        r.create_model_version(from_model(None)).await,
        ErrorCode::InvalidParameterValue,
    );
    expect_err(
        r.create_model_version(from_model(Some(
            "m-0123456789abcdef0123456789abcdef".into(),
        )))
        .await,
        ErrorCode::InvalidParameterValue,
    );

    // Another registered version: the source is rewritten to its number and its lineage kept.
    r.set_registered_model_alias("m", "champ", "2")
        .await
        .expect("alias");
    let v3 = version_from(&r, "m", "models:/m@champ").await;
    assert_eq!(v3.source, "models:/m/2");
    assert_eq!(v3.run_id.as_deref(), Some(run_id.as_str()));
    assert_eq!(
        v3.storage_location.as_deref(),
        Some(logged.artifact_location.as_str())
    );
    let v4 = version_from(&r, "m", "models:/m/latest").await;
    assert_eq!(v4.source, "models:/m/3");
    expect_err(
        r.create_model_version(CreateModelVersion {
            name: "m".into(),
            source: "models:/missing/1".into(),
            ..Default::default()
        })
        .await,
        ErrorCode::ResourceDoesNotExist,
    );

    // Proxied artifacts must lie in the named run's artifacts.
    let inside = format!("{artifact_uri}/model");
    let ok = r
        .create_model_version(CreateModelVersion {
            name: "m".into(),
            source: inside.clone(),
            run_id: Some(run_id.clone()),
            ..Default::default()
        })
        .await
        .expect("inside the run");
    assert_eq!(ok.source, inside);
    for (source, run) in [
        (inside.clone(), None),
        (
            inside.clone(),
            Some("0123456789abcdef0123456789abcdef".to_owned()),
        ),
        (
            "mlflow-artifacts:/elsewhere/model".to_owned(),
            Some(run_id.clone()),
        ),
        (format!("runs:/{run_id}/model"), None),
        (format!("runs:/{run_id}/model"), Some("other".to_owned())),
        ("file:///etc/passwd".to_owned(), Some(run_id.clone())),
        ("s3://bucket/elsewhere/x".to_owned(), None),
    ] {
        let e = expect_err(
            r.create_model_version(CreateModelVersion {
                name: "m".into(),
                source: source.clone(),
                run_id: run,
                ..Default::default()
            })
            .await,
            ErrorCode::InvalidParameterValue,
        );
        assert!(
            e.message.starts_with("Invalid model version source"),
            "{source}: {}",
            e.message
        );
    }
    // Nothing rejected took a number.
    assert_eq!(version(&r, "m").await.version, 6);
}

pub async fn search_registered_models_filters_orders_pages(f: Fixture) {
    let r = f.registry();
    model(&r, "alpha", vec![tag("team", "core")]).await;
    model(&r, "Beta", vec![tag("team", "Core")]).await;
    model(&r, "gamma", vec![]).await;
    model(&r, "prompt", vec![tag("mlflow.prompt.is_prompt", "true")]).await;
    version(&r, "alpha").await; // alpha is now the most recently updated
    let search = |filter: &str, order_by: &[&str]| {
        let r = r.clone();
        let req = SearchRegisteredModels {
            filter: Some(filter.to_owned()),
            order_by: order_by.iter().map(|s| (*s).to_owned()).collect(),
            ..Default::default()
        };
        async move { names(&r.search_registered_models(req).await.expect("search").items) }
    };
    assert_eq!(search("", &[]).await, vec!["Beta", "alpha", "gamma"]);
    assert_eq!(
        search("name LIKE '%a'", &[]).await,
        vec!["Beta", "alpha", "gamma"]
    );
    assert_eq!(search("name LIKE 'a%'", &[]).await, vec!["alpha"]);
    assert_eq!(search("name ILIKE 'B%'", &[]).await, vec!["Beta"]);
    assert_eq!(
        search("name IN ('gamma', 'alpha')", &[]).await,
        vec!["alpha", "gamma"]
    );
    assert_eq!(search("tags.team = 'core'", &[]).await, vec!["alpha"]);
    assert_eq!(
        search("tags.team ILIKE 'core'", &[]).await,
        vec!["Beta", "alpha"]
    );
    assert_eq!(search("tags.team != 'core'", &[]).await, vec!["Beta"]);
    assert_eq!(
        search("", &["name DESC"]).await,
        vec!["gamma", "alpha", "Beta"]
    );
    assert_eq!(
        search("", &["timestamp DESC"]).await,
        vec!["alpha", "gamma", "Beta"]
    );
    // Prompts only when asked for.
    assert_eq!(
        search("tags.`mlflow.prompt.is_prompt` = 'true'", &[]).await,
        vec!["prompt"]
    );
    assert_eq!(
        search("tags.`mlflow.prompt.is_prompt` = 'false'", &[]).await,
        vec!["Beta", "alpha", "gamma"]
    );
    let found = r
        .search_registered_models(SearchRegisteredModels {
            filter: Some("name = 'alpha'".into()),
            ..Default::default()
        })
        .await
        .expect("search")
        .items;
    assert_eq!(numbers(&found[0].latest_versions), vec![1]);
    assert_eq!(found[0].tags, vec![tag("team", "core")]);

    // Paging.
    let mut seen = Vec::new();
    let mut token = None;
    loop {
        let page = r
            .search_registered_models(SearchRegisteredModels {
                max_results: Some(2),
                page_token: token,
                ..Default::default()
            })
            .await
            .expect("page");
        seen.extend(names(&page.items));
        token = page.next_page_token;
        if token.is_none() {
            break;
        }
    }
    assert_eq!(seen, vec!["Beta", "alpha", "gamma"]);

    for (filter, order_by) in [
        ("creation_timestamp > 1", vec![]),
        ("name = 1", vec![]),
        ("name = 'a' OR name = 'b'", vec![]),
        ("", vec!["creation_timestamp"]),
        ("", vec!["name", "name DESC"]),
    ] {
        expect_err(
            r.search_registered_models(SearchRegisteredModels {
                filter: Some(filter.into()),
                order_by: order_by.into_iter().map(str::to_owned).collect(),
                ..Default::default()
            })
            .await,
            ErrorCode::InvalidParameterValue,
        );
    }
    for max in [0, 1001] {
        expect_err(
            r.search_registered_models(SearchRegisteredModels {
                max_results: Some(max),
                ..Default::default()
            })
            .await,
            ErrorCode::InvalidParameterValue,
        );
    }
}

pub async fn search_model_versions_filters_orders_pages(f: Fixture) {
    let r = f.registry();
    let t = f.tracking();
    let exp = experiment(&t, "e").await;
    let run = run_in(&t, &exp).await;
    let run_id = run.info.run_id.clone();
    model(&r, "a", vec![]).await;
    model(&r, "b", vec![]).await;
    model(&r, "p", vec![]).await;
    version(&r, "a").await; // a/1
    r.create_model_version(CreateModelVersion {
        name: "a".into(),
        source: format!("runs:/{run_id}/model"),
        run_id: Some(run_id.clone()),
        tags: vec![tag("env", "prod")],
        ..Default::default()
    })
    .await
    .expect("a/2");
    version(&r, "b").await; // b/1
    r.create_model_version(CreateModelVersion {
        name: "p".into(),
        source: "dummy-source".into(),
        tags: vec![tag("mlflow.prompt.is_prompt", "true")],
        ..Default::default()
    })
    .await
    .expect("prompt version");
    let search = |filter: &str, order_by: &[&str]| {
        let r = r.clone();
        let req = SearchModelVersions {
            filter: Some(filter.to_owned()),
            order_by: order_by.iter().map(|s| (*s).to_owned()).collect(),
            ..Default::default()
        };
        async move {
            r.search_model_versions(req)
                .await
                .expect("search")
                .items
                .iter()
                .map(|v| format!("{}/{}", v.name, v.version))
                .collect::<Vec<_>>()
        }
    };
    // Default order: last updated first.
    assert_eq!(search("", &[]).await, vec!["b/1", "a/2", "a/1"]);
    assert_eq!(
        search("name = 'a'", &["version_number ASC"]).await,
        vec!["a/1", "a/2"]
    );
    assert_eq!(search("version_number >= 2", &[]).await, vec!["a/2"]);
    assert_eq!(
        search("version_number = '1'", &["name"]).await,
        vec!["a/1", "b/1"]
    );
    assert_eq!(
        search(&format!("run_id IN ('{run_id}', 'x')"), &[]).await,
        vec!["a/2"]
    );
    assert_eq!(
        search(&format!("run_id != '{run_id}'"), &[]).await,
        vec!["b/1", "a/1"]
    );
    assert_eq!(
        search("source_path LIKE 's3://%'", &[]).await,
        vec!["b/1", "a/1"]
    );
    assert_eq!(search("tags.env = 'prod'", &[]).await, vec!["a/2"]);
    assert_eq!(search("name IN ('b', 'p')", &[]).await, vec!["b/1"]);
    assert_eq!(
        search("tags.`mlflow.prompt.is_prompt` = 'true'", &[]).await,
        vec!["p/1"]
    );
    assert_eq!(
        search("", &["creation_timestamp ASC"]).await,
        vec!["a/1", "a/2", "b/1"]
    );
    // Search results carry tags but not aliases, as the reference sends them.
    r.set_registered_model_alias("a", "champ", "2")
        .await
        .expect("alias");
    let hit = r
        .search_model_versions(SearchModelVersions {
            filter: Some("tags.env = 'prod'".into()),
            ..Default::default()
        })
        .await
        .expect("search")
        .items;
    assert_eq!(hit[0].tags, vec![tag("env", "prod")]);
    assert!(hit[0].aliases.is_empty());

    let mut seen = Vec::new();
    let mut token = None;
    loop {
        let page = r
            .search_model_versions(SearchModelVersions {
                max_results: Some(1),
                order_by: vec!["creation_timestamp".into()],
                page_token: token,
                ..Default::default()
            })
            .await
            .expect("page");
        seen.extend(page.items.iter().map(|v| v.version));
        token = page.next_page_token;
        if token.is_none() {
            break;
        }
    }
    assert_eq!(seen, vec![1, 2, 1]);

    for filter in [
        "version_number = 1.5",
        "source_path IN ('x')",
        "foo = 'b'",
        "metrics.x > 1",
        "tags.env IN ('a')",
    ] {
        expect_err(
            r.search_model_versions(SearchModelVersions {
                filter: Some(filter.into()),
                ..Default::default()
            })
            .await,
            ErrorCode::InvalidParameterValue,
        );
    }
    expect_err(
        r.search_model_versions(SearchModelVersions {
            order_by: vec!["run_id".into()],
            ..Default::default()
        })
        .await,
        ErrorCode::InvalidParameterValue,
    );
    expect_err(
        r.search_model_versions(SearchModelVersions {
            max_results: Some(200_001),
            ..Default::default()
        })
        .await,
        ErrorCode::InvalidParameterValue,
    );
}
