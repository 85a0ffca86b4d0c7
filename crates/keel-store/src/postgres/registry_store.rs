//! `RegistryStore` for PostgreSQL: each write method is one retried transaction, each read one
//! snapshot.

use async_trait::async_trait;
use keel_core::registry::{
    ModelVersionQuery, NewModelVersion, RegisteredModelQuery, RegistryStore,
};
use keel_core::*;

use super::{PostgresStore, registry};

#[async_trait]
impl RegistryStore for PostgresStore {
    async fn insert_registered_model(&self, model: &RegisteredModel) -> Result<()> {
        self.write(model, |c, m| Box::pin(registry::insert_model(c, m)))
            .await
    }

    async fn get_registered_model(
        &self,
        workspace: &str,
        name: &str,
    ) -> Result<Option<RegisteredModel>> {
        self.read(&(workspace, name), |c, (ws, name)| {
            Box::pin(registry::get_model(c, ws, name))
        })
        .await
    }

    async fn rename_registered_model(
        &self,
        workspace: &str,
        name: &str,
        new_name: &str,
        now: i64,
    ) -> Result<()> {
        self.write(
            &(workspace, name, new_name, now),
            |c, (ws, name, new_name, now)| {
                Box::pin(registry::rename_model(c, ws, name, new_name, *now))
            },
        )
        .await
    }

    async fn update_registered_model(
        &self,
        workspace: &str,
        name: &str,
        description: Option<&str>,
        now: i64,
    ) -> Result<()> {
        self.write(
            &(workspace, name, description, now),
            |c, (ws, name, description, now)| {
                Box::pin(registry::update_model(c, ws, name, *description, *now))
            },
        )
        .await
    }

    async fn delete_registered_model(&self, workspace: &str, name: &str) -> Result<()> {
        self.write(&(workspace, name), |c, (ws, name)| {
            Box::pin(registry::delete_model(c, ws, name))
        })
        .await
    }

    async fn set_registered_model_tag(&self, workspace: &str, name: &str, tag: &Tag) -> Result<()> {
        self.write(&(workspace, name, tag), |c, (ws, name, tag)| {
            Box::pin(registry::set_model_tag(c, ws, name, tag))
        })
        .await
    }

    async fn delete_registered_model_tag(
        &self,
        workspace: &str,
        name: &str,
        key: &str,
    ) -> Result<()> {
        self.write(&(workspace, name, key), |c, (ws, name, key)| {
            Box::pin(registry::delete_model_tag(c, ws, name, key))
        })
        .await
    }

    async fn search_registered_models(
        &self,
        query: &RegisteredModelQuery,
    ) -> Result<Vec<RegisteredModel>> {
        self.read(query, |c, q| Box::pin(registry::search_models(c, q)))
            .await
    }

    async fn set_registered_model_alias(
        &self,
        workspace: &str,
        name: &str,
        alias: &str,
        version: i64,
    ) -> Result<()> {
        self.write(
            &(workspace, name, alias, version),
            |c, (ws, name, alias, version)| {
                Box::pin(registry::set_alias(c, ws, name, alias, *version))
            },
        )
        .await
    }

    async fn delete_registered_model_alias(
        &self,
        workspace: &str,
        name: &str,
        alias: &str,
    ) -> Result<()> {
        self.write(&(workspace, name, alias), |c, (ws, name, alias)| {
            Box::pin(registry::delete_alias(c, ws, name, alias))
        })
        .await
    }

    async fn alias_version(&self, workspace: &str, name: &str, alias: &str) -> Result<Option<i64>> {
        self.query(&(workspace, name, alias), |c, (ws, name, alias)| {
            Box::pin(registry::alias_version(c, ws, name, alias))
        })
        .await
    }

    async fn insert_model_version(&self, version: NewModelVersion) -> Result<i64> {
        self.write(&version, |c, v| Box::pin(registry::insert_version(c, v)))
            .await
    }

    async fn get_model_version(
        &self,
        workspace: &str,
        name: &str,
        version: i64,
    ) -> Result<Option<ModelVersion>> {
        self.read(&(workspace, name, version), |c, (ws, name, version)| {
            Box::pin(registry::get_version(c, ws, name, *version))
        })
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
        self.write(
            &(workspace, name, version, description, now),
            |c, (ws, name, version, description, now)| {
                Box::pin(registry::update_version(
                    c,
                    ws,
                    name,
                    *version,
                    *description,
                    *now,
                ))
            },
        )
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
        self.write(
            &(workspace, name, version, stage, archive_existing, now),
            |c, (ws, name, version, stage, archive, now)| {
                Box::pin(registry::transition_version(
                    c, ws, name, *version, *stage, *archive, *now,
                ))
            },
        )
        .await
    }

    async fn delete_model_version(
        &self,
        workspace: &str,
        name: &str,
        version: i64,
        now: i64,
    ) -> Result<()> {
        self.write(
            &(workspace, name, version, now),
            |c, (ws, name, version, now)| {
                Box::pin(registry::delete_version(c, ws, name, *version, *now))
            },
        )
        .await
    }

    async fn set_model_version_tag(
        &self,
        workspace: &str,
        name: &str,
        version: i64,
        tag: &Tag,
    ) -> Result<()> {
        self.write(
            &(workspace, name, version, tag),
            |c, (ws, name, version, tag)| {
                Box::pin(registry::set_version_tag(c, ws, name, *version, tag))
            },
        )
        .await
    }

    async fn delete_model_version_tag(
        &self,
        workspace: &str,
        name: &str,
        version: i64,
        key: &str,
    ) -> Result<()> {
        self.write(
            &(workspace, name, version, key),
            |c, (ws, name, version, key)| {
                Box::pin(registry::delete_version_tag(c, ws, name, *version, key))
            },
        )
        .await
    }

    async fn search_model_versions(&self, query: &ModelVersionQuery) -> Result<Vec<ModelVersion>> {
        self.read(query, |c, q| Box::pin(registry::search_versions(c, q)))
            .await
    }
}
