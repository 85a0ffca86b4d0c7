//! `RegistryStore` for SQLite: each method runs its SQL on the writer or a reader connection.

use async_trait::async_trait;
use keel_core::registry::{
    ModelVersionQuery, NewModelVersion, RegisteredModelQuery, RegistryStore,
};
use keel_core::*;

use super::{SqliteStore, registry};

fn own(s: &str) -> String {
    s.to_owned()
}

#[async_trait]
impl RegistryStore for SqliteStore {
    async fn insert_registered_model(&self, model: &RegisteredModel) -> Result<()> {
        let m = model.clone();
        self.write(move |tx| registry::insert_model(tx, &m)).await
    }

    async fn get_registered_model(
        &self,
        workspace: &str,
        name: &str,
    ) -> Result<Option<RegisteredModel>> {
        let (ws, name) = (own(workspace), own(name));
        self.read(move |c| registry::get_model(c, &ws, &name)).await
    }

    async fn rename_registered_model(
        &self,
        workspace: &str,
        name: &str,
        new_name: &str,
        now: i64,
    ) -> Result<()> {
        let (ws, name, new_name) = (own(workspace), own(name), own(new_name));
        self.write(move |tx| registry::rename_model(tx, &ws, &name, &new_name, now))
            .await
    }

    async fn update_registered_model(
        &self,
        workspace: &str,
        name: &str,
        description: Option<&str>,
        now: i64,
    ) -> Result<()> {
        let (ws, name, description) = (own(workspace), own(name), description.map(own));
        self.write(move |tx| registry::update_model(tx, &ws, &name, description.as_deref(), now))
            .await
    }

    async fn delete_registered_model(&self, workspace: &str, name: &str) -> Result<()> {
        let (ws, name) = (own(workspace), own(name));
        self.write(move |tx| registry::delete_model(tx, &ws, &name))
            .await
    }

    async fn set_registered_model_tag(&self, workspace: &str, name: &str, tag: &Tag) -> Result<()> {
        let (ws, name, tag) = (own(workspace), own(name), tag.clone());
        self.write(move |tx| registry::set_model_tag(tx, &ws, &name, &tag))
            .await
    }

    async fn delete_registered_model_tag(
        &self,
        workspace: &str,
        name: &str,
        key: &str,
    ) -> Result<()> {
        let (ws, name, key) = (own(workspace), own(name), own(key));
        self.write(move |tx| registry::delete_model_tag(tx, &ws, &name, &key))
            .await
    }

    async fn search_registered_models(
        &self,
        query: &RegisteredModelQuery,
    ) -> Result<Vec<RegisteredModel>> {
        let q = query.clone();
        self.read(move |c| registry::search_models(c, &q)).await
    }

    async fn set_registered_model_alias(
        &self,
        workspace: &str,
        name: &str,
        alias: &str,
        version: i64,
    ) -> Result<()> {
        let (ws, name, alias) = (own(workspace), own(name), own(alias));
        self.write(move |tx| registry::set_alias(tx, &ws, &name, &alias, version))
            .await
    }

    async fn delete_registered_model_alias(
        &self,
        workspace: &str,
        name: &str,
        alias: &str,
    ) -> Result<()> {
        let (ws, name, alias) = (own(workspace), own(name), own(alias));
        self.write(move |tx| registry::delete_alias(tx, &ws, &name, &alias))
            .await
    }

    async fn alias_version(&self, workspace: &str, name: &str, alias: &str) -> Result<Option<i64>> {
        let (ws, name, alias) = (own(workspace), own(name), own(alias));
        self.read(move |c| registry::alias_version(c, &ws, &name, &alias))
            .await
    }

    async fn insert_model_version(&self, version: NewModelVersion) -> Result<i64> {
        self.write(move |tx| registry::insert_version(tx, &version))
            .await
    }

    async fn get_model_version(
        &self,
        workspace: &str,
        name: &str,
        version: i64,
    ) -> Result<Option<ModelVersion>> {
        let (ws, name) = (own(workspace), own(name));
        self.read(move |c| registry::get_version(c, &ws, &name, version))
            .await
    }

    async fn update_model_version(
        &self,
        workspace: &str,
        name: &str,
        version: i64,
        description: Option<&str>,
        now: i64,
    ) -> Result<()> {
        let (ws, name, description) = (own(workspace), own(name), description.map(own));
        self.write(move |tx| {
            registry::update_version(tx, &ws, &name, version, description.as_deref(), now)
        })
        .await
    }

    async fn transition_model_version_stage(
        &self,
        workspace: &str,
        name: &str,
        version: i64,
        stage: Stage,
        archive_existing: bool,
        now: i64,
    ) -> Result<()> {
        let (ws, name) = (own(workspace), own(name));
        self.write(move |tx| {
            registry::transition_version(tx, &ws, &name, version, stage, archive_existing, now)
        })
        .await
    }

    async fn delete_model_version(
        &self,
        workspace: &str,
        name: &str,
        version: i64,
        now: i64,
    ) -> Result<()> {
        let (ws, name) = (own(workspace), own(name));
        self.write(move |tx| registry::delete_version(tx, &ws, &name, version, now))
            .await
    }

    async fn set_model_version_tag(
        &self,
        workspace: &str,
        name: &str,
        version: i64,
        tag: &Tag,
    ) -> Result<()> {
        let (ws, name, tag) = (own(workspace), own(name), tag.clone());
        self.write(move |tx| registry::set_version_tag(tx, &ws, &name, version, &tag))
            .await
    }

    async fn delete_model_version_tag(
        &self,
        workspace: &str,
        name: &str,
        version: i64,
        key: &str,
    ) -> Result<()> {
        let (ws, name, key) = (own(workspace), own(name), own(key));
        self.write(move |tx| registry::delete_version_tag(tx, &ws, &name, version, &key))
            .await
    }

    async fn search_model_versions(&self, query: &ModelVersionQuery) -> Result<Vec<ModelVersion>> {
        let q = query.clone();
        self.read(move |c| registry::search_versions(c, &q)).await
    }
}
