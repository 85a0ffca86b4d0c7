//! Registered models: create, read, rename, describe, delete, tag, alias, latest versions.

use super::rules::{self, validate_model_name};
use super::*;
use crate::entities::Tag;

/// Input of `registered-models/create`.
#[derive(Debug, Clone, Default)]
pub struct CreateRegisteredModel {
    pub name: String,
    pub tags: Vec<Tag>,
    pub description: Option<String>,
}

impl Registry {
    pub async fn create_registered_model(
        &self,
        req: CreateRegisteredModel,
    ) -> Result<RegisteredModel> {
        validate_model_name(&req.name, "name")?;
        let tags = rules::validate_tags(req.tags)?;
        let now = self.now();
        let model = RegisteredModel {
            workspace: self.workspace.clone(),
            name: req.name,
            creation_timestamp: now,
            last_updated_timestamp: now,
            description: req.description,
            latest_versions: Vec::new(),
            tags,
            aliases: Vec::new(),
        };
        self.store.insert_registered_model(&model).await?;
        self.emit_model_created(&model).await;
        Ok(model)
    }

    /// A model with its tags, aliases and the latest version of each stage.
    pub async fn get_registered_model(&self, name: &str) -> Result<RegisteredModel> {
        validate_model_name(name, "name")?;
        self.store
            .get_registered_model(&self.workspace, name)
            .await?
            .ok_or_else(|| registered_model_not_found(name))
    }

    /// Renames a model; its versions and aliases follow.
    pub async fn rename_registered_model(
        &self,
        name: &str,
        new_name: &str,
    ) -> Result<RegisteredModel> {
        validate_model_name(new_name, "new_name")?;
        validate_model_name(name, "name")?;
        self.store
            .rename_registered_model(&self.workspace, name, new_name, self.now())
            .await?;
        self.get_registered_model(new_name).await
    }

    /// Sets (or with `None`, clears) a model's description.
    pub async fn update_registered_model(
        &self,
        name: &str,
        description: Option<&str>,
    ) -> Result<RegisteredModel> {
        validate_model_name(name, "name")?;
        self.store
            .update_registered_model(&self.workspace, name, description, self.now())
            .await?;
        self.get_registered_model(name).await
    }

    /// Deletes a model with its versions, tags and aliases.
    pub async fn delete_registered_model(&self, name: &str) -> Result<()> {
        validate_model_name(name, "name")?;
        self.store
            .delete_registered_model(&self.workspace, name)
            .await
    }

    pub async fn set_registered_model_tag(&self, name: &str, tag: Tag) -> Result<()> {
        validate_model_name(name, "name")?;
        rules::validate_tag(&tag)?;
        self.store
            .set_registered_model_tag(&self.workspace, name, &tag)
            .await?;
        self.emit_model_tag_set(name, &tag).await;
        Ok(())
    }

    /// Deletes a tag; a missing tag is not an error (the model must exist).
    pub async fn delete_registered_model_tag(&self, name: &str, key: &str) -> Result<()> {
        validate_model_name(name, "name")?;
        crate::validation::validate_key(crate::validation::NameKind::Tag, key)?;
        self.store
            .delete_registered_model_tag(&self.workspace, name, key)
            .await?;
        self.emit_model_tag_deleted(name, key).await;
        Ok(())
    }

    /// The latest version of each of `stages` (all stages when empty), with their aliases.
    pub async fn get_latest_versions(
        &self,
        name: &str,
        stages: &[String],
    ) -> Result<Vec<ModelVersion>> {
        let wanted: Vec<Stage> = if stages.is_empty() {
            Stage::ALL.to_vec()
        } else {
            stages
                .iter()
                .map(|s| Stage::parse(s))
                .collect::<Result<_>>()?
        };
        let model = self.get_registered_model(name).await?;
        Ok(model
            .latest_versions
            .into_iter()
            .filter(|v| wanted.contains(&v.current_stage))
            .map(|mut v| {
                v.aliases = model
                    .aliases
                    .iter()
                    .filter(|a| a.version == v.version)
                    .map(|a| a.alias.clone())
                    .collect();
                v
            })
            .collect())
    }

    /// Points `alias` at `version` (which must exist).
    pub async fn set_registered_model_alias(
        &self,
        name: &str,
        alias: &str,
        version: &str,
    ) -> Result<()> {
        validate_model_name(name, "name")?;
        rules::validate_alias(alias)?;
        rules::validate_alias_not_reserved(alias)?;
        let number = rules::parse_version(version)?;
        self.store
            .set_registered_model_alias(&self.workspace, name, alias, number)
            .await?;
        self.emit_alias_created(name, alias, version).await;
        Ok(())
    }

    /// Deletes an alias; a missing alias is not an error (the model must exist).
    pub async fn delete_registered_model_alias(&self, name: &str, alias: &str) -> Result<()> {
        validate_model_name(name, "name")?;
        rules::validate_alias(alias)?;
        self.store
            .delete_registered_model_alias(&self.workspace, name, alias)
            .await?;
        self.emit_alias_deleted(name, alias).await;
        Ok(())
    }

    /// The version an alias points at; `latest` (any case) is the highest version.
    pub async fn get_model_version_by_alias(
        &self,
        name: &str,
        alias: &str,
    ) -> Result<ModelVersion> {
        validate_model_name(name, "name")?;
        rules::validate_alias(alias)?;
        if alias.eq_ignore_ascii_case("latest") {
            return self
                .get_latest_versions(name, &[])
                .await?
                .into_iter()
                .max_by_key(|v| v.version)
                .ok_or_else(|| {
                    Error::not_found(format!("Latest version not found for model {name}."))
                });
        }
        self.get_registered_model(name).await?;
        let version = self
            .store
            .alias_version(&self.workspace, name, alias)
            .await?
            .ok_or_else(|| Error::invalid(format!("Registered model alias {alias} not found.")))?;
        self.model_version(name, version).await
    }
}
