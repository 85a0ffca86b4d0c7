//! Conformance checks of the AI gateway's store: secrets are unique by name per workspace,
//! invisible from other workspaces, listed oldest first (by provider when asked), updated in
//! their mutable fields only, and deleted once; model definitions need their secret, keep
//! their names unique, and outlive the secret.

use std::collections::BTreeMap;

use keel_core::workspaces::{DEFAULT_WORKSPACE, Workspace};
use keel_gateway::{DefinitionWrite, GatewaySecret, ModelDefinition};

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
    assert!(
        store
            .delete_model_definition(DEFAULT_WORKSPACE, "d-1")
            .await
            .expect("delete")
    );
    assert!(
        !store
            .delete_model_definition(DEFAULT_WORKSPACE, "d-1")
            .await
            .expect("again")
    );
    assert!(
        !store
            .delete_model_definition("elsewhere", "d-4")
            .await
            .expect("elsewhere")
    );
}
