//! Conformance checks of the AI gateway's store: secrets are unique by name per workspace,
//! invisible from other workspaces, listed oldest first (by provider when asked), updated in
//! their mutable fields only, and deleted once; model definitions need their secret, keep
//! their names unique, and outlive the secret; endpoints keep their mappings in order, list
//! by provider, and keep the models they route to from being deleted; models are attached once
//! per linkage and detached first mapping first; bindings are unique per endpoint and go with
//! it.

use std::collections::BTreeMap;

use keel_core::workspaces::{DEFAULT_WORKSPACE, Workspace};
use keel_gateway::{
    AttachOutcome, BindingFilter, BindingWrite, DefinitionDelete, DefinitionWrite, DetachOutcome,
    Endpoint, EndpointBinding, EndpointKey, EndpointWrite, FallbackConfig, GatewaySecret, Linkage,
    ModelDefinition, ModelMapping,
};

use super::{Fixture, T0};

fn map(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
    pairs
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect()
}

fn secret(id: &str, name: &str, workspace: &str, provider: Option<&str>, at: i64) -> GatewaySecret {
    GatewaySecret {
        secret_id: id.to_owned(),
        secret_name: name.to_owned(),
        workspace: workspace.to_owned(),
        provider: provider.map(str::to_owned),
        masked_values: map(&[("api_key", "sk-...abcd")]),
        auth_config: map(&[("api_base", "https://api.example.com/v1")]),
        sealed_value: format!("v1:sealed-{id}"),
        created_at: at,
        last_updated_at: at,
        created_by: Some("alice".into()),
        last_updated_by: Some("alice".into()),
    }
}

pub async fn gateway_secrets_are_unique_per_workspace_and_updated_in_place(f: Fixture) {
    let store = f.gateway_store();
    f.workspace_store()
        .insert_workspace(&Workspace {
            name: "team-b".into(),
            description: None,
            default_artifact_root: None,
        })
        .await
        .expect("workspace");
    let a = secret("s-a", "openai", DEFAULT_WORKSPACE, Some("openai"), T0);
    assert!(store.insert_secret(&a).await.expect("insert"));
    // The same name in the same workspace is refused; in another workspace it is another secret.
    let clash = secret("s-b", "openai", DEFAULT_WORKSPACE, None, T0 + 1);
    assert!(!store.insert_secret(&clash).await.expect("clash"));
    let other = secret("s-c", "openai", "team-b", Some("openai"), T0 + 2);
    assert!(store.insert_secret(&other).await.expect("other workspace"));
    let local = secret("s-d", "local", DEFAULT_WORKSPACE, Some("ollama"), T0 + 3);
    assert!(store.insert_secret(&local).await.expect("second"));

    assert_eq!(
        store
            .get_secret(DEFAULT_WORKSPACE, "s-a")
            .await
            .expect("get"),
        Some(a.clone())
    );
    assert_eq!(store.get_secret("team-b", "s-a").await.expect("get"), None);
    assert_eq!(
        store
            .get_secret(DEFAULT_WORKSPACE, "s-b")
            .await
            .expect("get"),
        None
    );
    let ids = |v: Vec<GatewaySecret>| v.into_iter().map(|s| s.secret_id).collect::<Vec<_>>();
    assert_eq!(
        ids(store
            .list_secrets(DEFAULT_WORKSPACE, None)
            .await
            .expect("list")),
        ["s-a", "s-d"]
    );
    assert_eq!(
        ids(store
            .list_secrets(DEFAULT_WORKSPACE, Some("ollama"))
            .await
            .expect("list")),
        ["s-d"]
    );
    assert_eq!(
        ids(store.list_secrets("team-b", None).await.expect("list")),
        ["s-c"]
    );

    // An update writes the mutable fields only, and only in the secret's workspace.
    let mut changed = a.clone();
    changed.sealed_value = "v1:rotated".into();
    changed.masked_values = map(&[("api_key", "sk-...9999")]);
    changed.auth_config = BTreeMap::new();
    changed.last_updated_at = T0 + 10;
    changed.last_updated_by = None;
    changed.created_by = Some("mallory".into());
    changed.secret_name = "renamed".into();
    assert!(store.update_secret(&changed).await.expect("update"));
    let read = store
        .get_secret(DEFAULT_WORKSPACE, "s-a")
        .await
        .expect("get")
        .expect("found");
    assert_eq!(read.sealed_value, "v1:rotated");
    assert_eq!(read.masked_values, changed.masked_values);
    assert!(read.auth_config.is_empty());
    assert_eq!(
        (read.last_updated_at, read.last_updated_by),
        (T0 + 10, None)
    );
    assert_eq!(
        (read.created_by.as_deref(), read.secret_name.as_str()),
        (Some("alice"), "openai")
    );
    let mut elsewhere = changed.clone();
    elsewhere.workspace = "team-b".into();
    assert!(
        !store
            .update_secret(&elsewhere)
            .await
            .expect("update elsewhere")
    );

    assert!(
        !store
            .delete_secret("team-b", "s-a")
            .await
            .expect("delete elsewhere")
    );
    assert!(
        store
            .delete_secret(DEFAULT_WORKSPACE, "s-a")
            .await
            .expect("delete")
    );
    assert!(
        !store
            .delete_secret(DEFAULT_WORKSPACE, "s-a")
            .await
            .expect("again")
    );
    // The name is free again.
    assert!(store.insert_secret(&clash).await.expect("reuse the name"));
    assert_eq!(
        ids(store
            .list_secrets(DEFAULT_WORKSPACE, None)
            .await
            .expect("list")),
        ["s-b", "s-d"]
    );
}

fn definition(id: &str, name: &str, secret: Option<&str>, at: i64) -> ModelDefinition {
    ModelDefinition {
        model_definition_id: id.to_owned(),
        name: name.to_owned(),
        workspace: DEFAULT_WORKSPACE.to_owned(),
        secret_id: secret.map(str::to_owned),
        secret_name: None,
        provider: "openai".into(),
        model_name: "gpt-4o-mini".into(),
        created_at: at,
        last_updated_at: at,
        created_by: Some("alice".into()),
        last_updated_by: Some("alice".into()),
    }
}

pub async fn model_definitions_need_their_secret_and_outlive_it(f: Fixture) {
    let store = f.gateway_store();
    let key = secret("s-key", "openai", DEFAULT_WORKSPACE, Some("openai"), T0);
    assert!(store.insert_secret(&key).await.expect("secret"));
    let d1 = definition("d-1", "mini", Some("s-key"), T0 + 1);
    assert_eq!(
        store.insert_model_definition(&d1).await.expect("insert"),
        DefinitionWrite::Done
    );
    let read = store
        .get_model_definition(DEFAULT_WORKSPACE, "d-1")
        .await
        .expect("get")
        .expect("found");
    assert_eq!(read.secret_name.as_deref(), Some("openai"));
    assert_eq!(
        store
            .insert_model_definition(&definition("d-2", "mini", Some("s-key"), T0 + 2))
            .await
            .expect("clash"),
        DefinitionWrite::NameTaken
    );
    assert_eq!(
        store
            .insert_model_definition(&definition("d-3", "other", Some("s-nope"), T0 + 3))
            .await
            .expect("no secret"),
        DefinitionWrite::NoSecret
    );
    let d4 = definition("d-4", "big", Some("s-key"), T0 + 4);
    assert_eq!(
        store.insert_model_definition(&d4).await.expect("second"),
        DefinitionWrite::Done
    );

    // Renaming onto a taken name, to a missing secret, or a missing definition changes nothing.
    let mut renamed = d4.clone();
    renamed.name = "mini".into();
    assert_eq!(
        store
            .update_model_definition(&renamed)
            .await
            .expect("rename"),
        DefinitionWrite::NameTaken
    );
    let mut moved = d4.clone();
    moved.secret_id = Some("s-nope".into());
    assert_eq!(
        store.update_model_definition(&moved).await.expect("move"),
        DefinitionWrite::NoSecret
    );
    assert_eq!(
        store
            .update_model_definition(&definition("d-9", "x", None, T0))
            .await
            .expect("missing"),
        DefinitionWrite::NotFound
    );
    let mut changed = d4.clone();
    changed.name = "large".into();
    changed.model_name = "gpt-4o".into();
    changed.last_updated_at = T0 + 20;
    assert_eq!(
        store
            .update_model_definition(&changed)
            .await
            .expect("update"),
        DefinitionWrite::Done
    );
    let names = |v: Vec<ModelDefinition>| v.into_iter().map(|d| d.name).collect::<Vec<_>>();
    assert_eq!(
        names(
            store
                .list_model_definitions(DEFAULT_WORKSPACE, None, None)
                .await
                .expect("list")
        ),
        ["mini", "large"]
    );
    assert_eq!(
        names(
            store
                .list_model_definitions(DEFAULT_WORKSPACE, Some("anthropic"), None)
                .await
                .expect("list")
        ),
        Vec::<String>::new()
    );
    assert_eq!(
        names(
            store
                .list_model_definitions(DEFAULT_WORKSPACE, None, Some("s-key"))
                .await
                .expect("list")
        )
        .len(),
        2
    );

    // Deleting the secret leaves the definitions without one.
    assert!(
        store
            .delete_secret(DEFAULT_WORKSPACE, "s-key")
            .await
            .expect("delete secret")
    );
    let orphan = store
        .get_model_definition(DEFAULT_WORKSPACE, "d-1")
        .await
        .expect("get")
        .expect("kept");
    assert_eq!((orphan.secret_id, orphan.secret_name), (None, None));
    for (workspace, id, outcome) in [
        (DEFAULT_WORKSPACE, "d-1", DefinitionDelete::Deleted),
        (DEFAULT_WORKSPACE, "d-1", DefinitionDelete::NotFound),
        ("elsewhere", "d-4", DefinitionDelete::NotFound),
    ] {
        let deleted = store.delete_model_definition(workspace, id).await;
        assert_eq!(deleted.expect("delete"), outcome, "{workspace} {id}");
    }
}

fn endpoint(id: &str, name: &str, definitions: &[(&str, Linkage)]) -> Endpoint {
    Endpoint {
        endpoint_id: id.to_owned(),
        name: name.to_owned(),
        workspace: DEFAULT_WORKSPACE.to_owned(),
        mappings: definitions
            .iter()
            .enumerate()
            .map(|(i, (d, linkage))| ModelMapping {
                mapping_id: format!("m-{id}-{i}"),
                endpoint_id: id.to_owned(),
                model_definition: ModelDefinition {
                    model_definition_id: (*d).to_owned(),
                    ..ModelDefinition::default()
                },
                weight: 0.5,
                linkage: *linkage,
                fallback_order: (*linkage == Linkage::Fallback).then_some(0),
                created_at: T0,
                created_by: Some("alice".into()),
            })
            .collect(),
        tags: BTreeMap::new(),
        routing_strategy: None,
        fallback_config: Some(FallbackConfig {
            strategy: Some("SEQUENTIAL".into()),
            max_attempts: Some(1),
        }),
        experiment_id: Some("123".into()),
        usage_tracking: true,
        created_at: T0,
        last_updated_at: T0,
        created_by: Some("alice".into()),
        last_updated_by: Some("alice".into()),
    }
}

pub async fn endpoints_keep_their_mappings_in_order_and_protect_their_models(f: Fixture) {
    let store = f.gateway_store();
    assert!(
        store
            .insert_secret(&secret("s-k", "k", DEFAULT_WORKSPACE, None, T0))
            .await
            .expect("secret")
    );
    for (id, provider) in [("d-a", "openai"), ("d-b", "anthropic"), ("d-c", "openai")] {
        let mut d = definition(id, id, Some("s-k"), T0);
        d.provider = provider.into();
        assert_eq!(
            store.insert_model_definition(&d).await.expect("definition"),
            DefinitionWrite::Done
        );
    }
    let e1 = endpoint(
        "e-1",
        "chat",
        &[("d-b", Linkage::Primary), ("d-a", Linkage::Fallback)],
    );
    assert_eq!(
        store.insert_endpoint(&e1).await.expect("insert"),
        EndpointWrite::Done
    );
    assert_eq!(
        store
            .insert_endpoint(&endpoint("e-2", "chat", &[("d-a", Linkage::Primary)]))
            .await
            .expect("clash"),
        EndpointWrite::NameTaken
    );
    assert_eq!(
        store
            .insert_endpoint(&endpoint(
                "e-3",
                "other",
                &[("d-a", Linkage::Primary), ("d-zz", Linkage::Primary)]
            ))
            .await
            .expect("missing"),
        EndpointWrite::MissingDefinitions(vec!["d-zz".into()])
    );
    assert_eq!(
        store
            .get_endpoint(DEFAULT_WORKSPACE, EndpointKey::Name("other"))
            .await
            .expect("get"),
        None
    );
    let read = store
        .get_endpoint(DEFAULT_WORKSPACE, EndpointKey::Name("chat"))
        .await
        .expect("get")
        .expect("found");
    let order = |e: &Endpoint| {
        e.mappings
            .iter()
            .map(|m| (m.model_definition.model_definition_id.clone(), m.linkage))
            .collect::<Vec<_>>()
    };
    assert_eq!(
        order(&read),
        [
            ("d-b".into(), Linkage::Primary),
            ("d-a".into(), Linkage::Fallback)
        ]
    );
    assert_eq!(
        read.mappings[0].model_definition.secret_name.as_deref(),
        Some("k")
    );
    assert_eq!(read.fallback_config, e1.fallback_config);
    assert_eq!(read.experiment_id.as_deref(), Some("123"));
    assert_eq!(
        store
            .get_endpoint("elsewhere", EndpointKey::Id("e-1"))
            .await
            .expect("get"),
        None
    );

    // Tags, then the listing: endpoints with a model of the provider, by name.
    assert!(
        store
            .set_endpoint_tag(DEFAULT_WORKSPACE, "e-1", "team", "a")
            .await
            .expect("tag")
    );
    assert!(
        store
            .set_endpoint_tag(DEFAULT_WORKSPACE, "e-1", "team", "b")
            .await
            .expect("retag")
    );
    assert!(
        !store
            .set_endpoint_tag(DEFAULT_WORKSPACE, "e-nope", "team", "b")
            .await
            .expect("no endpoint")
    );
    let e4 = endpoint("e-4", "alpha", &[("d-c", Linkage::Primary)]);
    assert_eq!(
        store.insert_endpoint(&e4).await.expect("second"),
        EndpointWrite::Done
    );
    let names = |v: Vec<Endpoint>| v.into_iter().map(|e| e.name).collect::<Vec<_>>();
    assert_eq!(
        names(
            store
                .list_endpoints(DEFAULT_WORKSPACE, None)
                .await
                .expect("list")
        ),
        ["alpha", "chat"]
    );
    assert_eq!(
        names(
            store
                .list_endpoints(DEFAULT_WORKSPACE, Some("anthropic"))
                .await
                .expect("list")
        ),
        ["chat"]
    );
    let listed = store
        .list_endpoints(DEFAULT_WORKSPACE, Some("anthropic"))
        .await
        .expect("list");
    assert_eq!(listed[0].tags.get("team").map(String::as_str), Some("b"));

    // A model an endpoint routes to is kept; once no endpoint does, it can go.
    assert_eq!(
        store
            .delete_model_definition(DEFAULT_WORKSPACE, "d-a")
            .await
            .expect("in use"),
        DefinitionDelete::InUse
    );
    let mut replaced = read.clone();
    replaced.mappings = endpoint("e-1", "chat", &[("d-c", Linkage::Primary)]).mappings;
    replaced.mappings[0].mapping_id = "m-new".into();
    replaced.name = "alpha".into();
    assert_eq!(
        store
            .update_endpoint(&replaced, true)
            .await
            .expect("rename onto taken"),
        EndpointWrite::NameTaken
    );
    replaced.name = "chat-2".into();
    assert_eq!(
        store
            .update_endpoint(&replaced, true)
            .await
            .expect("update"),
        EndpointWrite::Done
    );
    let read = store
        .get_endpoint(DEFAULT_WORKSPACE, EndpointKey::Id("e-1"))
        .await
        .expect("get")
        .expect("found");
    assert_eq!(
        (read.name.as_str(), order(&read)),
        ("chat-2", vec![("d-c".into(), Linkage::Primary)])
    );
    assert_eq!(
        store
            .delete_model_definition(DEFAULT_WORKSPACE, "d-a")
            .await
            .expect("free"),
        DefinitionDelete::Deleted
    );

    assert!(
        store
            .delete_endpoint(DEFAULT_WORKSPACE, "e-1")
            .await
            .expect("delete")
    );
    assert!(
        !store
            .delete_endpoint(DEFAULT_WORKSPACE, "e-1")
            .await
            .expect("again")
    );
    assert!(
        !store
            .set_endpoint_tag(DEFAULT_WORKSPACE, "e-1", "team", "c")
            .await
            .expect("gone")
    );
    assert_eq!(
        store
            .delete_model_definition(DEFAULT_WORKSPACE, "d-b")
            .await
            .expect("free"),
        DefinitionDelete::Deleted
    );
}

pub async fn models_attach_once_per_linkage_and_detach_first_mapping_first(f: Fixture) {
    let store = f.gateway_store();
    assert!(
        store
            .insert_secret(&secret("s-k", "k", DEFAULT_WORKSPACE, None, T0))
            .await
            .expect("secret")
    );
    for id in ["d-a", "d-b"] {
        assert_eq!(
            store
                .insert_model_definition(&definition(id, id, Some("s-k"), T0))
                .await
                .expect("definition"),
            DefinitionWrite::Done
        );
    }
    let mut e = endpoint("e-1", "chat", &[("d-a", Linkage::Primary)]);
    e.fallback_config = None;
    assert_eq!(
        store.insert_endpoint(&e).await.expect("insert"),
        EndpointWrite::Done
    );
    let mapping = |id: &str, d: &str, linkage: Linkage| ModelMapping {
        mapping_id: id.to_owned(),
        endpoint_id: "e-1".to_owned(),
        model_definition: ModelDefinition {
            model_definition_id: d.to_owned(),
            ..ModelDefinition::default()
        },
        weight: 1.0,
        linkage,
        fallback_order: None,
        created_at: T0 + 5,
        created_by: Some("bob".into()),
    };
    let on = FallbackConfig {
        strategy: Some("SEQUENTIAL".into()),
        max_attempts: None,
    };
    let attach = |m: ModelMapping, max: usize| {
        let store = store.clone();
        let on = on.clone();
        async move {
            let fallback = (m.linkage == Linkage::Fallback).then_some(&on);
            store
                .attach_model(DEFAULT_WORKSPACE, &m, fallback, Some("bob"), max)
                .await
                .expect("attach")
        }
    };
    assert_eq!(
        attach(mapping("m-1", "d-b", Linkage::Fallback), 50).await,
        AttachOutcome::Attached
    );
    assert_eq!(
        attach(mapping("m-2", "d-b", Linkage::Fallback), 50).await,
        AttachOutcome::AlreadyAttached
    );
    assert_eq!(
        attach(mapping("m-3", "d-a", Linkage::Fallback), 2).await,
        AttachOutcome::Full
    );
    assert_eq!(
        attach(mapping("m-4", "d-zz", Linkage::Primary), 50).await,
        AttachOutcome::DefinitionNotFound
    );
    let mut elsewhere = mapping("m-5", "d-a", Linkage::Fallback);
    elsewhere.endpoint_id = "e-nope".into();
    assert_eq!(attach(elsewhere, 50).await, AttachOutcome::EndpointNotFound);
    assert_eq!(
        attach(mapping("m-6", "d-a", Linkage::Fallback), 50).await,
        AttachOutcome::Attached
    );
    let read = store
        .get_endpoint(DEFAULT_WORKSPACE, EndpointKey::Id("e-1"))
        .await
        .expect("get")
        .expect("found");
    let order: Vec<_> = read
        .mappings
        .iter()
        .map(|m| (m.mapping_id.as_str(), m.linkage))
        .collect();
    assert_eq!(
        order,
        [
            ("m-e-1-0", Linkage::Primary),
            ("m-1", Linkage::Fallback),
            ("m-6", Linkage::Fallback)
        ]
    );
    assert_eq!(
        read.fallback_config,
        Some(on.clone()),
        "fallbacks turned on"
    );
    assert_eq!(
        (read.last_updated_at, read.last_updated_by.as_deref()),
        (T0 + 5, Some("bob"))
    );

    // Detach removes the first mapping of the definition, whatever its linkage.
    let detach = |e: &'static str, d: &'static str| {
        let store = store.clone();
        async move {
            store
                .detach_model(DEFAULT_WORKSPACE, e, d)
                .await
                .expect("detach")
        }
    };
    assert_eq!(detach("e-1", "d-a").await, DetachOutcome::Detached);
    assert_eq!(
        detach("e-nope", "d-a").await,
        DetachOutcome::EndpointNotFound
    );
    assert_eq!(detach("e-1", "d-zz").await, DetachOutcome::NotAttached);
    let read = store
        .get_endpoint(DEFAULT_WORKSPACE, EndpointKey::Id("e-1"))
        .await
        .expect("get")
        .expect("found");
    let left: Vec<_> = read
        .mappings
        .iter()
        .map(|m| m.mapping_id.as_str())
        .collect();
    assert_eq!(left, ["m-1", "m-6"]);
}

pub async fn bindings_are_unique_per_endpoint_and_go_with_it(f: Fixture) {
    let store = f.gateway_store();
    assert!(
        store
            .insert_secret(&secret("s-k", "k", DEFAULT_WORKSPACE, None, T0))
            .await
            .expect("secret")
    );
    assert_eq!(
        store
            .insert_model_definition(&definition("d-a", "d-a", Some("s-k"), T0))
            .await
            .expect("definition"),
        DefinitionWrite::Done
    );
    for (id, name) in [("e-1", "one"), ("e-2", "two")] {
        assert_eq!(
            store
                .insert_endpoint(&endpoint(id, name, &[("d-a", Linkage::Primary)]))
                .await
                .expect("endpoint"),
            EndpointWrite::Done
        );
    }
    let binding = |endpoint: &str, resource: &str, at: i64| EndpointBinding {
        endpoint_id: endpoint.to_owned(),
        resource_type: "scorer".to_owned(),
        resource_id: resource.to_owned(),
        display_name: None,
        created_at: at,
        last_updated_at: at,
        created_by: Some("al".into()),
        last_updated_by: Some("al".into()),
    };
    for (b, want) in [
        (binding("e-1", "s-1", T0), BindingWrite::Done),
        (binding("e-1", "s-1", T0 + 1), BindingWrite::AlreadyBound),
        (binding("e-2", "s-1", T0 + 2), BindingWrite::Done),
        (binding("e-1", "s-2", T0 + 3), BindingWrite::Done),
        (binding("e-nope", "s-1", T0), BindingWrite::EndpointNotFound),
    ] {
        assert_eq!(
            store
                .insert_binding(DEFAULT_WORKSPACE, &b)
                .await
                .expect("insert"),
            want,
            "{b:?}"
        );
    }
    assert_eq!(
        store
            .insert_binding("elsewhere", &binding("e-1", "s-9", T0))
            .await
            .expect("other workspace"),
        BindingWrite::EndpointNotFound
    );
    let list = |filter: BindingFilter| {
        let store = store.clone();
        async move {
            store
                .list_bindings(DEFAULT_WORKSPACE, &filter)
                .await
                .expect("list")
                .into_iter()
                .map(|b| (b.endpoint_id, b.resource_id))
                .collect::<Vec<_>>()
        }
    };
    let pair = |e: &str, r: &str| (e.to_owned(), r.to_owned());
    assert_eq!(
        list(BindingFilter::default()).await,
        [pair("e-1", "s-1"), pair("e-2", "s-1"), pair("e-1", "s-2")]
    );
    assert_eq!(
        list(BindingFilter {
            resource_id: Some("s-1".into()),
            ..BindingFilter::default()
        })
        .await,
        [pair("e-1", "s-1"), pair("e-2", "s-1")]
    );
    assert_eq!(
        list(BindingFilter {
            endpoint_id: Some("e-1".into()),
            resource_type: Some("scorer".into()),
            ..BindingFilter::default()
        })
        .await,
        [pair("e-1", "s-1"), pair("e-1", "s-2")]
    );
    assert!(
        store
            .list_bindings("elsewhere", &BindingFilter::default())
            .await
            .expect("list")
            .is_empty()
    );
    assert!(
        !store
            .delete_binding("elsewhere", "e-1", "scorer", "s-1")
            .await
            .expect("other workspace")
    );
    assert!(
        store
            .delete_binding(DEFAULT_WORKSPACE, "e-1", "scorer", "s-1")
            .await
            .expect("delete")
    );
    assert!(
        !store
            .delete_binding(DEFAULT_WORKSPACE, "e-1", "scorer", "s-1")
            .await
            .expect("again")
    );
    // Deleting an endpoint deletes its bindings.
    assert!(
        store
            .delete_endpoint(DEFAULT_WORKSPACE, "e-2")
            .await
            .expect("endpoint")
    );
    assert_eq!(list(BindingFilter::default()).await, [pair("e-1", "s-2")]);
}

/// Guardrails belong to their workspace; an endpoint runs them by execution order (unset
/// last, then by ID), each once and at most as many as asked; deleting a guardrail or the
/// endpoint takes its configs away.
pub async fn guardrails_run_on_endpoints_in_order(f: Fixture) {
    use keel_gateway::guardrails::detectors::DetectorSpec;
    use keel_gateway::guardrails::{Action, Stage};
    use keel_gateway::{AddOutcome, Guardrail, GuardrailAttachment};
    let store = f.gateway_store();
    f.workspace_store()
        .insert_workspace(&Workspace {
            name: "team-b".into(),
            description: None,
            default_artifact_root: None,
        })
        .await
        .expect("workspace");
    assert!(
        store
            .insert_secret(&secret("s-k", "k", DEFAULT_WORKSPACE, None, T0))
            .await
            .expect("secret")
    );
    assert_eq!(
        store
            .insert_model_definition(&definition("d-a", "d-a", Some("s-k"), T0))
            .await
            .expect("definition"),
        DefinitionWrite::Done
    );
    assert_eq!(
        store
            .insert_endpoint(&endpoint("e-1", "one", &[("d-a", Linkage::Primary)]))
            .await
            .expect("endpoint"),
        EndpointWrite::Done
    );
    let guardrail = |id: &str, workspace: &str| Guardrail {
        guardrail_id: id.to_owned(),
        workspace: workspace.to_owned(),
        name: format!("name-{id}"),
        stage: Stage::Before,
        action: Action::Sanitization,
        detector: DetectorSpec::parse(&serde_json::json!({"type": "pii", "entities": ["EMAIL"]}))
            .expect("detector"),
        created_by: Some("alice".into()),
        created_at: T0,
        last_updated_by: Some("alice".into()),
        last_updated_at: T0,
    };
    for id in ["gr-a", "gr-b", "gr-c"] {
        store
            .insert_guardrail(&guardrail(id, DEFAULT_WORKSPACE))
            .await
            .expect("insert");
    }
    store
        .insert_guardrail(&guardrail("gr-z", "team-b"))
        .await
        .expect("other workspace");
    assert_eq!(
        store
            .get_guardrail(DEFAULT_WORKSPACE, "gr-a")
            .await
            .expect("get"),
        Some(guardrail("gr-a", DEFAULT_WORKSPACE))
    );
    assert_eq!(
        store
            .get_guardrail(DEFAULT_WORKSPACE, "gr-z")
            .await
            .expect("get"),
        None
    );
    let listed = store
        .list_guardrails(DEFAULT_WORKSPACE, 1, 10)
        .await
        .expect("list");
    let ids: Vec<&str> = listed.iter().map(|g| g.guardrail_id.as_str()).collect();
    assert_eq!(ids, ["gr-b", "gr-c"]);
    let attach = |guardrail: &str, order: Option<i32>| GuardrailAttachment {
        endpoint_id: "e-1".into(),
        guardrail_id: guardrail.into(),
        execution_order: order,
        created_by: Some("alice".into()),
        created_at: T0,
    };
    for (guardrail, order, max, expected) in [
        ("gr-a", None, 3, "added"),
        ("gr-b", Some(2), 3, "added"),
        ("gr-c", Some(1), 3, "added"),
        ("gr-c", Some(1), 3, "already"),
        ("gr-z", None, 9, "missing guardrail"),
    ] {
        let outcome = store
            .add_guardrail_to_endpoint(DEFAULT_WORKSPACE, &attach(guardrail, order), max)
            .await
            .expect("add");
        let got = match outcome {
            AddOutcome::Added(_) => "added",
            AddOutcome::AlreadyAdded => "already",
            AddOutcome::GuardrailMissing => "missing guardrail",
            AddOutcome::EndpointMissing => "missing endpoint",
            AddOutcome::Full(_) => "full",
        };
        assert_eq!(got, expected, "{guardrail}");
    }
    store
        .insert_guardrail(&guardrail("gr-d", DEFAULT_WORKSPACE))
        .await
        .expect("d");
    assert_eq!(
        store
            .add_guardrail_to_endpoint(DEFAULT_WORKSPACE, &attach("gr-d", None), 3)
            .await
            .expect("full"),
        AddOutcome::Full(3)
    );
    assert_eq!(
        store
            .add_guardrail_to_endpoint("team-b", &attach("gr-z", None), 9)
            .await
            .expect("endpoint of another workspace"),
        AddOutcome::EndpointMissing
    );
    let order = |configs: Vec<keel_gateway::GuardrailConfig>| {
        configs
            .into_iter()
            .map(|c| (c.guardrail_id, c.execution_order))
            .collect::<Vec<_>>()
    };
    let configs = store
        .endpoint_guardrails(DEFAULT_WORKSPACE, "e-1")
        .await
        .expect("configs");
    assert_eq!(configs[0].guardrail, guardrail("gr-c", DEFAULT_WORKSPACE));
    assert_eq!(
        order(configs),
        [
            ("gr-c".to_owned(), Some(1)),
            ("gr-b".to_owned(), Some(2)),
            ("gr-a".to_owned(), None)
        ]
    );
    let moved = store
        .set_guardrail_order(DEFAULT_WORKSPACE, "e-1", "gr-a", Some(0))
        .await
        .expect("order")
        .expect("config");
    assert_eq!(moved.execution_order, Some(0));
    assert_eq!(
        store
            .set_guardrail_order(DEFAULT_WORKSPACE, "e-1", "gr-d", Some(0))
            .await
            .expect("none"),
        None
    );
    assert!(
        store
            .remove_guardrail_from_endpoint(DEFAULT_WORKSPACE, "e-1", "gr-b")
            .await
            .expect("remove")
    );
    assert!(
        !store
            .remove_guardrail_from_endpoint(DEFAULT_WORKSPACE, "e-1", "gr-b")
            .await
            .expect("again")
    );
    assert!(
        store
            .delete_guardrail(DEFAULT_WORKSPACE, "gr-c")
            .await
            .expect("delete")
    );
    assert!(
        !store
            .delete_guardrail(DEFAULT_WORKSPACE, "gr-z")
            .await
            .expect("other workspace")
    );
    assert_eq!(
        order(
            store
                .endpoint_guardrails(DEFAULT_WORKSPACE, "e-1")
                .await
                .expect("configs")
        ),
        [("gr-a".to_owned(), Some(0))]
    );
    assert!(
        store
            .delete_endpoint(DEFAULT_WORKSPACE, "e-1")
            .await
            .expect("endpoint")
    );
    assert!(
        store
            .endpoint_guardrails(DEFAULT_WORKSPACE, "e-1")
            .await
            .expect("configs")
            .is_empty()
    );
    assert!(
        store
            .get_guardrail(DEFAULT_WORKSPACE, "gr-a")
            .await
            .expect("kept")
            .is_some()
    );
}

/// A workspace holding gateway resources: RESTRICT refuses to delete it naming them, SET_DEFAULT
/// moves them (unless a name is taken), CASCADE deletes them with their configs — never a
/// foreign-key failure.
pub async fn workspace_deletion_takes_the_gateway_along(f: Fixture) {
    use keel_core::workspaces::DeletionMode;
    use keel_gateway::guardrails::detectors::DetectorSpec;
    use keel_gateway::guardrails::{Action, Stage};
    use keel_gateway::{Guardrail, GuardrailAttachment};
    let store = f.gateway_store();
    let workspaces = f.workspace_store();
    let fill = |ws: &'static str, n: u8| {
        let store = store.clone();
        async move {
            let s = format!("s-{ws}-{n}");
            assert!(
                store
                    .insert_secret(&secret(&s, &format!("key-{n}"), ws, None, T0))
                    .await
                    .expect("secret")
            );
            let mut d = definition(&format!("d-{ws}-{n}"), &format!("def-{n}"), Some(&s), T0);
            d.workspace = ws.to_owned();
            assert_eq!(
                store.insert_model_definition(&d).await.expect("definition"),
                DefinitionWrite::Done
            );
            let e_id = format!("e-{ws}-{n}");
            let mut e = endpoint(
                &e_id,
                &format!("ep-{n}"),
                &[(&d.model_definition_id, Linkage::Primary)],
            );
            e.workspace = ws.to_owned();
            assert_eq!(
                store.insert_endpoint(&e).await.expect("endpoint"),
                EndpointWrite::Done
            );
            let g_id = format!("gr-{ws}-{n}");
            store
                .insert_guardrail(&Guardrail {
                    guardrail_id: g_id.clone(),
                    workspace: ws.to_owned(),
                    name: "g".into(),
                    stage: Stage::Before,
                    action: Action::Validation,
                    detector: DetectorSpec::Secrets,
                    created_by: None,
                    created_at: T0,
                    last_updated_by: None,
                    last_updated_at: T0,
                })
                .await
                .expect("guardrail");
            let attachment = GuardrailAttachment {
                endpoint_id: e_id.clone(),
                guardrail_id: g_id,
                execution_order: None,
                created_by: None,
                created_at: T0,
            };
            store
                .add_guardrail_to_endpoint(ws, &attachment, 5)
                .await
                .expect("config");
            e_id
        }
    };
    for ws in ["team-m", "team-x"] {
        workspaces
            .insert_workspace(&Workspace {
                name: ws.into(),
                description: None,
                default_artifact_root: None,
            })
            .await
            .expect("workspace");
    }
    let moved = fill("team-m", 1).await;
    let doomed = fill("team-x", 2).await;
    let err = workspaces
        .delete_workspace("team-m", DeletionMode::Restrict)
        .await
        .expect_err("restricted");
    assert!(
        err.message.contains("'gateway_endpoints'"),
        "{}",
        err.message
    );
    workspaces
        .delete_workspace("team-m", DeletionMode::SetDefault)
        .await
        .expect("moved");
    let endpoint = store
        .get_endpoint(DEFAULT_WORKSPACE, EndpointKey::Id(&moved))
        .await
        .expect("get")
        .expect("moved to default");
    assert_eq!(endpoint.mappings.len(), 1);
    assert_eq!(
        store
            .endpoint_guardrails(DEFAULT_WORKSPACE, &moved)
            .await
            .expect("configs")
            .len(),
        1
    );
    workspaces
        .delete_workspace("team-x", DeletionMode::Cascade)
        .await
        .expect("cascade");
    assert!(
        store
            .get_endpoint("team-x", EndpointKey::Id(&doomed))
            .await
            .expect("get")
            .is_none()
    );
    assert!(
        store
            .list_secrets("team-x", None)
            .await
            .expect("list")
            .is_empty()
    );
    assert!(
        store
            .get_guardrail("team-x", "gr-team-x-2")
            .await
            .expect("get")
            .is_none()
    );
}
