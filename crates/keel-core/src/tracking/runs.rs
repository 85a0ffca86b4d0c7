//! Run lifecycle and logging: create, update, delete, restore, metrics, params, tags, inputs.
//!
//! Writes to a run do not read it first: the store checks that the run exists and is active
//! inside the write's own transaction (RESOURCE_DOES_NOT_EXIST / INVALID_PARAMETER_VALUE).

use super::experiments::dedup_tags;
use super::*;
use crate::entities::*;
use crate::store::{LogBatch, LogInputs, NewDatasetInput, RunUpdate};
use crate::validation::{self, NameKind};

/// Input of `runs/create`.
#[derive(Debug, Clone, Default)]
pub struct CreateRun {
    pub experiment_id: Option<String>,
    pub user_id: Option<String>,
    pub run_name: Option<String>,
    pub start_time: Option<i64>,
    pub tags: Vec<Tag>,
}

/// One metric point as a client sends it (timestamp required, step defaults to 0).
#[derive(Debug, Clone)]
pub struct LogMetric {
    pub key: String,
    pub value: f64,
    pub timestamp: i64,
    pub step: i64,
    pub model_id: Option<String>,
    pub dataset_name: Option<String>,
    pub dataset_digest: Option<String>,
}

impl From<LogMetric> for Metric {
    fn from(m: LogMetric) -> Self {
        Metric {
            key: m.key,
            value: m.value,
            timestamp: m.timestamp,
            step: m.step,
            model_id: m.model_id,
            dataset_name: m.dataset_name,
            dataset_digest: m.dataset_digest,
        }
    }
}

impl Tracking {
    pub async fn create_run(&self, req: CreateRun) -> Result<Run> {
        let experiment_id = req
            .experiment_id
            .filter(|id| !id.is_empty())
            .unwrap_or_else(|| DEFAULT_EXPERIMENT_ID.to_owned());
        let experiment = self.active_experiment(&experiment_id).await?;
        let mut tags = dedup_tags(req.tags);
        for tag in &mut tags {
            validation::validate_key(NameKind::Tag, &tag.key)?;
            validation::truncate_value(&mut tag.value, validation::MAX_TAG_VAL_LENGTH);
        }
        let tagged_name = tags
            .iter()
            .find(|t| t.key == RUN_NAME_TAG)
            .map(|t| t.value.clone());
        let run_name = match (req.run_name.filter(|n| !n.is_empty()), tagged_name) {
            (Some(name), Some(tagged)) if name != tagged => {
                return Err(Error::invalid(format!(
                    "Both 'run_name' argument and 'mlflow.runName' tag are specified, but with \
                     different values (run_name='{name}', mlflow.runName='{tagged}')."
                )));
            }
            (Some(name), _) => name,
            (None, Some(tagged)) if !tagged.is_empty() => tagged,
            (None, _) => crate::names::random_run_name(),
        };
        validation::check_length("run_name", &run_name, validation::MAX_RUN_NAME_LENGTH)?;
        tags.retain(|t| t.key != RUN_NAME_TAG);
        tags.push(Tag::new(RUN_NAME_TAG, run_name.clone()));
        let user_id = req.user_id.unwrap_or_default();
        validation::check_length("user_id", &user_id, validation::MAX_USER_ID_LENGTH)?;

        let run_id = crate::names::new_run_id();
        crate::audit::scope::note_created("Run", &run_id);
        let run = Run {
            info: RunInfo {
                artifact_uri: crate::uri::append_to_uri(
                    &experiment.artifact_location,
                    &format!("{run_id}/artifacts"),
                ),
                run_id,
                run_name,
                experiment_id,
                user_id,
                status: RunStatus::Running,
                start_time: req.start_time.unwrap_or_else(|| self.now()),
                end_time: None,
                lifecycle_stage: LifecycleStage::Active,
            },
            data: RunData {
                metrics: Vec::new(),
                params: Vec::new(),
                tags,
            },
            inputs: RunInputs::default(),
            outputs: RunOutputs::default(),
        };
        self.store.insert_run(&run).await?;
        Ok(run)
    }

    pub async fn get_run(&self, run_id: &str) -> Result<Run> {
        required("run_id", run_id)?;
        self.store
            .get_run(run_id)
            .await?
            .ok_or_else(|| run_not_found(run_id))
    }

    /// Applies `runs/update`; an empty name leaves the name unchanged.
    pub async fn update_run(
        &self,
        run_id: &str,
        status: Option<RunStatus>,
        end_time: Option<i64>,
        run_name: Option<String>,
    ) -> Result<RunInfo> {
        required("run_id", run_id)?;
        let run_name = run_name.filter(|n| !n.is_empty());
        if let Some(name) = &run_name {
            validation::check_length("run_name", name, validation::MAX_RUN_NAME_LENGTH)?;
        }
        let update = RunUpdate {
            run_id: run_id.to_owned(),
            status,
            end_time,
            run_name,
        };
        self.store.update_run(&update).await
    }

    pub async fn delete_run(&self, run_id: &str) -> Result<()> {
        self.run_info(run_id).await?;
        self.store
            .set_run_lifecycle(run_id, LifecycleStage::Deleted, Some(self.now()))
            .await
    }

    pub async fn restore_run(&self, run_id: &str) -> Result<()> {
        self.run_info(run_id).await?;
        self.store
            .set_run_lifecycle(run_id, LifecycleStage::Active, None)
            .await
    }

    pub async fn log_metric(&self, run_id: &str, metric: LogMetric) -> Result<()> {
        self.log_batch(run_id, vec![metric], Vec::new(), Vec::new())
            .await
    }

    pub async fn log_param(&self, run_id: &str, param: Param) -> Result<()> {
        self.log_batch(run_id, Vec::new(), vec![param], Vec::new())
            .await
    }

    pub async fn set_tag(&self, run_id: &str, tag: Tag) -> Result<()> {
        self.log_batch(run_id, Vec::new(), Vec::new(), vec![tag])
            .await
    }

    /// Logs metrics, params and tags in one transaction.
    pub async fn log_batch(
        &self,
        run_id: &str,
        metrics: Vec<LogMetric>,
        mut params: Vec<Param>,
        mut tags: Vec<Tag>,
    ) -> Result<()> {
        required("run_id", run_id)?;
        validation::validate_batch_counts(metrics.len(), params.len(), tags.len())?;
        for m in &metrics {
            validation::validate_key(NameKind::Metric, &m.key)?;
            validation::validate_timestamp(&m.key, m.timestamp)?;
        }
        for p in &mut params {
            validation::validate_key(NameKind::Param, &p.key)?;
            validation::truncate_value(&mut p.value, validation::MAX_PARAM_VAL_LENGTH);
        }
        let mut seen = std::collections::HashSet::new();
        let duplicates: Vec<&str> = params
            .iter()
            .filter(|p| !seen.insert(p.key.as_str()))
            .map(|p| p.key.as_str())
            .collect();
        if !duplicates.is_empty() {
            return Err(Error::invalid(format!(
                "Duplicate parameter keys have been submitted: {duplicates:?}. Please ensure the \
                 request contains only one param value per param key."
            )));
        }
        for t in &mut tags {
            validation::validate_key(NameKind::Tag, &t.key)?;
            validation::truncate_value(&mut t.value, validation::MAX_TAG_VAL_LENGTH);
        }
        let tags = dedup_tags(tags);
        let run_name = tags
            .iter()
            .find(|t| t.key == RUN_NAME_TAG)
            .map(|t| t.value.clone());
        if let Some(name) = &run_name {
            validation::check_length("run_name", name, validation::MAX_RUN_NAME_LENGTH)?;
        }
        let batch = LogBatch {
            run_id: run_id.to_owned(),
            metrics: metrics.into_iter().map(Metric::from).collect(),
            params,
            tags,
            run_name,
        };
        self.store.log_batch(&batch).await
    }

    pub async fn delete_tag(&self, run_id: &str, key: &str) -> Result<()> {
        required("key", key)?;
        required("run_id", run_id)?;
        if !self.store.delete_run_tag(run_id, key).await? {
            return Err(Error::not_found(format!(
                "No tag with name: {key} in run with id {run_id}"
            )));
        }
        Ok(())
    }

    pub async fn log_inputs(
        &self,
        run_id: &str,
        datasets: Vec<DatasetInput>,
        models: Vec<ModelInput>,
    ) -> Result<()> {
        required("run_id", run_id)?;
        for input in &datasets {
            validate_dataset_input(input)?;
        }
        let inputs = LogInputs {
            run_id: run_id.to_owned(),
            datasets: datasets
                .into_iter()
                .map(|input| NewDatasetInput {
                    dataset_uuid: crate::names::new_uuid(),
                    input,
                })
                .collect(),
            models,
        };
        self.store.log_inputs(&inputs).await
    }

    pub async fn log_outputs(&self, run_id: &str, models: Vec<ModelOutput>) -> Result<()> {
        required("run_id", run_id)?;
        for model in &models {
            required("model_id", &model.model_id)?;
        }
        self.store.log_outputs(run_id, &models).await
    }

    /// A run's info alone (one read; [`Self::get_run`] also loads its data and inputs).
    pub async fn run_info(&self, run_id: &str) -> Result<RunInfo> {
        required("run_id", run_id)?;
        self.store
            .get_run_info(run_id)
            .await?
            .ok_or_else(|| run_not_found(run_id))
    }
}

fn validate_dataset_input(input: &DatasetInput) -> Result<()> {
    let d = &input.dataset;
    required("dataset.name", &d.name)?;
    required("dataset.digest", &d.digest)?;
    required("dataset.source_type", &d.source_type)?;
    required("dataset.source", &d.source)?;
    validation::check_length("dataset name", &d.name, validation::MAX_DATASET_NAME_SIZE)?;
    validation::check_length(
        "dataset digest",
        &d.digest,
        validation::MAX_DATASET_DIGEST_SIZE,
    )?;
    validation::check_length(
        "dataset source",
        &d.source,
        validation::MAX_DATASET_SOURCE_SIZE,
    )?;
    if let Some(schema) = &d.schema {
        validation::check_length(
            "dataset schema",
            schema,
            validation::MAX_DATASET_SCHEMA_SIZE,
        )?;
    }
    if let Some(profile) = &d.profile {
        validation::check_length(
            "dataset profile",
            profile,
            validation::MAX_DATASET_PROFILE_SIZE,
        )?;
    }
    for tag in &input.tags {
        required("input tag key", &tag.key)?;
        validation::check_length(
            "input tag key",
            &tag.key,
            validation::MAX_INPUT_TAG_KEY_SIZE,
        )?;
        validation::check_length(
            &format!("value of input tag '{}'", tag.key),
            &tag.value,
            validation::MAX_INPUT_TAG_VALUE_SIZE,
        )?;
    }
    Ok(())
}
