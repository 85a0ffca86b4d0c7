//! Experiment lifecycle: create, read, rename, delete, restore, tags.

use super::*;
use crate::entities::{Experiment, LifecycleStage, Tag};
use crate::validation;
use crate::workspaces::Workspace;

/// Input of `experiments/create`.
#[derive(Debug, Clone, Default)]
pub struct CreateExperiment {
    /// The workspace it is made in (names are unique per workspace).
    pub workspace: Workspace,
    pub name: String,
    pub artifact_location: Option<String>,
    pub tags: Vec<Tag>,
}

impl Tracking {
    /// Creates experiment "0" ("Default") if the store has none yet. Safe to call concurrently.
    pub async fn ensure_default_experiment(&self) -> Result<()> {
        if self
            .store
            .get_experiment(DEFAULT_EXPERIMENT_ID)
            .await?
            .is_some()
        {
            return Ok(());
        }
        let now = self.now();
        let experiment = Experiment {
            experiment_id: DEFAULT_EXPERIMENT_ID.to_owned(),
            name: DEFAULT_EXPERIMENT_NAME.to_owned(),
            workspace: crate::workspaces::DEFAULT_WORKSPACE.to_owned(),
            artifact_location: self.experiment_artifact_location(DEFAULT_EXPERIMENT_ID),
            lifecycle_stage: LifecycleStage::Active,
            creation_time: now,
            last_update_time: now,
            tags: Vec::new(),
        };
        match self.store.insert_experiment(&experiment).await {
            Err(e) if e.code == crate::ErrorCode::ResourceAlreadyExists => Ok(()),
            other => other,
        }
    }

    pub async fn create_experiment(&self, req: CreateExperiment) -> Result<String> {
        validation::validate_experiment_name(required("name", &req.name)?)?;
        for tag in &req.tags {
            validation::validate_experiment_tag(&tag.key, &tag.value)?;
        }
        let now = self.now();
        let experiment_id = crate::names::new_experiment_id(now);
        crate::audit::scope::note_created("Experiment", &experiment_id);
        let artifact_location = match req.artifact_location.filter(|l| !l.is_empty()) {
            Some(location) => {
                validation::validate_artifact_location(&location)?;
                crate::uri::resolve_if_local(&location)?
            }
            None => req
                .workspace
                .experiment_artifact_location(&self.artifact_root, &experiment_id),
        };
        let experiment = Experiment {
            experiment_id: experiment_id.clone(),
            name: req.name,
            workspace: req.workspace.name,
            artifact_location,
            lifecycle_stage: LifecycleStage::Active,
            creation_time: now,
            last_update_time: now,
            tags: dedup_tags(req.tags),
        };
        self.store.insert_experiment(&experiment).await?;
        Ok(experiment_id)
    }

    pub async fn get_experiment(&self, experiment_id: &str) -> Result<Experiment> {
        required("experiment_id", experiment_id)?;
        parse_experiment_id(experiment_id)?;
        self.store
            .get_experiment(experiment_id)
            .await?
            .ok_or_else(|| experiment_not_found(experiment_id))
    }

    /// The experiment named `name` in `workspace`.
    pub async fn get_experiment_by_name(&self, workspace: &str, name: &str) -> Result<Experiment> {
        required("experiment_name", name)?;
        self.store
            .get_experiment_by_name(workspace, name)
            .await?
            .ok_or_else(|| {
                Error::not_found(format!("Could not find experiment with name '{name}'"))
            })
    }

    pub async fn rename_experiment(&self, experiment_id: &str, new_name: &str) -> Result<()> {
        validation::validate_experiment_name(required("new_name", new_name)?)?;
        let experiment = self.get_experiment(experiment_id).await?;
        if experiment.lifecycle_stage != LifecycleStage::Active {
            return Err(Error::invalid(format!(
                "Cannot rename a non-active experiment. Experiment {experiment_id} is deleted."
            )));
        }
        self.store
            .rename_experiment(experiment_id, new_name, self.now())
            .await
    }

    /// Deletes an active experiment and its runs; an already deleted one is not found.
    pub async fn delete_experiment(&self, experiment_id: &str) -> Result<()> {
        self.experiment_in_stage(experiment_id, LifecycleStage::Active)
            .await?;
        self.store
            .set_experiment_lifecycle(experiment_id, LifecycleStage::Deleted, self.now())
            .await
    }

    /// Restores a deleted experiment and the runs deleted with it; an active one is not found.
    pub async fn restore_experiment(&self, experiment_id: &str) -> Result<()> {
        self.experiment_in_stage(experiment_id, LifecycleStage::Deleted)
            .await?;
        self.store
            .set_experiment_lifecycle(experiment_id, LifecycleStage::Active, self.now())
            .await
    }

    async fn experiment_in_stage(&self, experiment_id: &str, stage: LifecycleStage) -> Result<()> {
        let experiment = self.get_experiment(experiment_id).await?;
        if experiment.lifecycle_stage != stage {
            return Err(experiment_not_found(experiment_id));
        }
        Ok(())
    }

    pub async fn set_experiment_tag(&self, experiment_id: &str, tag: Tag) -> Result<()> {
        required("key", &tag.key)?;
        validation::validate_experiment_tag(&tag.key, &tag.value)?;
        self.active_experiment(experiment_id).await?;
        self.store
            .set_experiment_tag(experiment_id, &tag, self.now())
            .await
    }

    pub async fn delete_experiment_tag(&self, experiment_id: &str, key: &str) -> Result<()> {
        required("key", key)?;
        self.active_experiment(experiment_id).await?;
        if !self
            .store
            .delete_experiment_tag(experiment_id, key, self.now())
            .await?
        {
            return Err(Error::not_found(format!(
                "No tag with name: {key} in experiment with id {experiment_id}"
            )));
        }
        Ok(())
    }

    /// The experiment, if it exists and is active.
    pub(crate) async fn active_experiment(&self, experiment_id: &str) -> Result<Experiment> {
        let experiment = self.get_experiment(experiment_id).await?;
        if experiment.lifecycle_stage != LifecycleStage::Active {
            return Err(Error::invalid(format!(
                "The experiment {experiment_id} must be in the 'active' state. Current state is \
                 deleted."
            )));
        }
        Ok(experiment)
    }
}

/// Keeps the last value for each key, in first-seen key order.
pub(crate) fn dedup_tags(tags: Vec<Tag>) -> Vec<Tag> {
    crate::keyed::last_per_key(tags, |t| &t.key)
}
