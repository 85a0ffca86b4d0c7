//! MLflow 3 logged models: create, read, finalize, delete, tag, parameterize and search them,
//! plus the older `runs/log-model` history tag.

use super::experiments::dedup_tags;
use super::search::parse_filter;
use super::*;
use crate::entities::*;
use crate::paging;
use crate::store::{DatasetFilter, LoggedModelOrder, LoggedModelQuery, TagUpdate};
use crate::validation::{self, NameKind};
use keel_filter::Target;

/// Default page size of `logged-models/search`, as in the reference.
pub const DEFAULT_LOGGED_MODEL_RESULTS: i64 = 100;
/// Largest page of `logged-models/search`.
pub const MAX_LOGGED_MODEL_RESULTS: i64 = 50_000;
/// The run tag holding the JSON list of models recorded by `runs/log-model`.
pub const LOGGED_MODELS_HISTORY_TAG: &str = "mlflow.log-model.history";
/// Characters a logged model's name may not contain (they would break `runs:/` and `models:/`
/// URIs), as in the reference.
const NAME_FORBIDDEN: &[char] = &['/', ':', '.', '%', '"', '\''];

/// Input of `POST logged-models`.
#[derive(Debug, Clone, Default)]
pub struct CreateLoggedModel {
    pub experiment_id: String,
    pub name: Option<String>,
    pub model_type: Option<String>,
    pub source_run_id: Option<String>,
    pub params: Vec<Param>,
    pub tags: Vec<Tag>,
}

/// One order_by entry of `logged-models/search`.
#[derive(Debug, Clone, Default)]
pub struct LoggedModelOrderBy {
    pub field_name: String,
    pub ascending: bool,
    pub dataset_name: Option<String>,
    pub dataset_digest: Option<String>,
}

/// Input of `logged-models/search`.
#[derive(Debug, Clone, Default)]
pub struct SearchLoggedModels {
    pub experiment_ids: Vec<String>,
    pub filter: Option<String>,
    pub datasets: Vec<DatasetFilter>,
    pub max_results: Option<i64>,
    pub order_by: Vec<LoggedModelOrderBy>,
    pub page_token: Option<String>,
}

fn model_not_found(model_id: &str) -> Error {
    Error::not_found(format!("Logged model with ID '{model_id}' not found."))
}

fn validate_name(name: &str) -> Result<()> {
    if name.is_empty() || name.contains(NAME_FORBIDDEN) {
        return Err(Error::invalid(format!(
            "Invalid model name ('{name}') provided. Model name must be a non-empty string and \
             cannot contain the following characters: ('/', ':', '.', '%', '\"', \"'\")"
        )));
    }
    validation::check_length("name", name, validation::MAX_ENTITY_KEY_LENGTH)
}

fn validate_params(params: &mut [Param]) -> Result<()> {
    for p in params {
        validation::validate_key(NameKind::Param, &p.key)?;
        validation::truncate_value(&mut p.value, validation::MAX_PARAM_VAL_LENGTH);
    }
    Ok(())
}

fn validate_tags(tags: Vec<Tag>) -> Result<Vec<Tag>> {
    let mut tags = dedup_tags(tags);
    for t in &mut tags {
        validation::validate_key(NameKind::Tag, &t.key)?;
        validation::truncate_value(&mut t.value, validation::MAX_TAG_VAL_LENGTH);
    }
    Ok(tags)
}

/// Keeps the last value of each key, so a request naming a key twice is one write.
fn dedup_params(params: Vec<Param>) -> Vec<Param> {
    crate::keyed::last_per_key(params, |p| &p.key)
}

impl Tracking {
    pub async fn create_logged_model(&self, req: CreateLoggedModel) -> Result<LoggedModel> {
        required("experiment_id", &req.experiment_id)?;
        let experiment = self.active_experiment(&req.experiment_id).await?;
        if let Some(name) = &req.name {
            validate_name(name)?;
        }
        let mut params = dedup_params(req.params);
        validate_params(&mut params)?;
        let tags = validate_tags(req.tags)?;
        let model_id = crate::names::new_logged_model_id();
        crate::audit::scope::note_created("LoggedModel", &model_id);
        let now = self.now();
        let model = LoggedModel {
            artifact_location: crate::uri::append_to_uri(
                &experiment.artifact_location,
                &format!("models/{model_id}/artifacts"),
            ),
            model_id,
            experiment_id: experiment.experiment_id,
            name: req.name.unwrap_or_else(crate::names::random_run_name),
            creation_timestamp_ms: now,
            last_updated_timestamp_ms: now,
            status: LoggedModelStatus::Pending,
            status_message: None,
            model_type: req.model_type.filter(|t| !t.is_empty()),
            source_run_id: req.source_run_id.filter(|r| !r.is_empty()),
            lifecycle_stage: LifecycleStage::Active,
            tags,
            params,
            metrics: Vec::new(),
        };
        self.store.insert_logged_model(&model).await?;
        Ok(model)
    }

    /// A logged model; deleted ones only when `allow_deleted`.
    pub async fn get_logged_model(
        &self,
        model_id: &str,
        allow_deleted: bool,
    ) -> Result<LoggedModel> {
        required("model_id", model_id)?;
        match self.store.get_logged_model(model_id).await? {
            Some(m) if allow_deleted || m.lifecycle_stage == LifecycleStage::Active => Ok(m),
            _ => Err(model_not_found(model_id)),
        }
    }

    /// Marks a model's upload as finished (or failed).
    pub async fn finalize_logged_model(
        &self,
        model_id: &str,
        status: LoggedModelStatus,
    ) -> Result<LoggedModel> {
        if status == LoggedModelStatus::Unspecified {
            return Err(Error::invalid(
                "Invalid status for a logged model: LOGGED_MODEL_STATUS_UNSPECIFIED. Use \
                 LOGGED_MODEL_READY or LOGGED_MODEL_UPLOAD_FAILED.",
            ));
        }
        self.get_logged_model(model_id, false).await?;
        self.store
            .set_logged_model_status(model_id, status, self.now())
            .await?;
        self.get_logged_model(model_id, false).await
    }

    pub async fn delete_logged_model(&self, model_id: &str) -> Result<()> {
        self.get_logged_model(model_id, false).await?;
        self.store
            .set_logged_model_lifecycle(model_id, LifecycleStage::Deleted, self.now())
            .await
    }

    pub async fn set_logged_model_tags(&self, model_id: &str, tags: Vec<Tag>) -> Result<()> {
        let tags = validate_tags(tags)?;
        self.get_logged_model(model_id, false).await?;
        self.store
            .set_logged_model_tags(model_id, &tags, self.now())
            .await
    }

    pub async fn delete_logged_model_tag(&self, model_id: &str, key: &str) -> Result<()> {
        self.get_logged_model(model_id, false).await?;
        if self.store.delete_logged_model_tag(model_id, key).await? {
            Ok(())
        } else {
            Err(Error::not_found(format!(
                "No tag with key '{key}' found for model with ID '{model_id}'."
            )))
        }
    }

    pub async fn log_logged_model_params(&self, model_id: &str, params: Vec<Param>) -> Result<()> {
        let mut params = dedup_params(params);
        validate_params(&mut params)?;
        self.get_logged_model(model_id, false).await?;
        self.store
            .log_logged_model_params(model_id, &params, self.now())
            .await
    }

    pub async fn search_logged_models(&self, req: SearchLoggedModels) -> Result<Page<LoggedModel>> {
        let limit = req.max_results.unwrap_or(DEFAULT_LOGGED_MODEL_RESULTS);
        validation::validate_max_results(limit, MAX_LOGGED_MODEL_RESULTS)?;
        let offset = paging::decode(req.page_token.as_deref())?;
        if req.datasets.iter().any(|d| d.name.is_empty()) {
            return Err(Error::invalid(
                "`dataset_name` in the `datasets` clause must be specified.",
            ));
        }
        let filter = parse_filter(Target::LoggedModels, req.filter.as_deref())?;
        if req.order_by.len() > validation::MAX_ORDER_BY_CLAUSES {
            return Err(Error::invalid(format!(
                "Invalid order_by: at most {} order_by clauses are supported, got {}.",
                validation::MAX_ORDER_BY_CLAUSES,
                req.order_by.len()
            )));
        }
        let order_by = req
            .order_by
            .into_iter()
            .map(|o| {
                let parsed = keel_filter::parse_order_by(Target::LoggedModels, &o.field_name)
                    .map_err(|e| {
                        Error::invalid(format!(
                            "Invalid order by field name: {}. {e}",
                            o.field_name
                        ))
                    })?;
                if parsed.key.kind != keel_filter::KeyKind::Metric
                    && (o.dataset_name.is_some() || o.dataset_digest.is_some())
                {
                    return Err(Error::invalid(format!(
                        "`dataset_name` and `dataset_digest` may only be set when ordering by a \
                         metric, not by '{}'.",
                        o.field_name
                    )));
                }
                Ok(LoggedModelOrder {
                    key: parsed.key,
                    ascending: o.ascending,
                    dataset_name: o.dataset_name,
                    dataset_digest: o.dataset_digest,
                })
            })
            .collect::<Result<Vec<_>>>()?;
        if req.experiment_ids.len() > validation::MAX_SEARCH_EXPERIMENT_IDS {
            return Err(Error::invalid(format!(
                "A logged model search can name at most {} experiment_ids, got {}.",
                validation::MAX_SEARCH_EXPERIMENT_IDS,
                req.experiment_ids.len()
            )));
        }
        for id in &req.experiment_ids {
            parse_experiment_id(id)?;
        }
        let query = LoggedModelQuery {
            experiment_ids: req.experiment_ids,
            filter,
            datasets: req.datasets,
            order_by,
            offset,
            limit: limit + 1,
        };
        let rows = self.store.search_logged_models(&query).await?;
        Ok(paging::page_from(rows, offset, limit))
    }

    /// `runs/log-model`: appends a model's metadata (the client's `Model.get_tags_dict()`, as
    /// JSON) to the run's `mlflow.log-model.history` tag.
    pub async fn record_logged_model(&self, run_id: &str, model_json: &str) -> Result<()> {
        required("run_id", run_id)?;
        let model: serde_json::Value = serde_json::from_str(model_json).map_err(|_| {
            Error::invalid(format!(
                "Malformed model info. \n {model_json} \n is not a valid JSON."
            ))
        })?;
        let Some(fields) = model.as_object() else {
            return Err(Error::invalid(format!(
                "Malformed model info. \n {model_json} \n is not a JSON object."
            )));
        };
        let mut missing: Vec<&str> = ["artifact_path", "flavors", "utc_time_created", "run_id"]
            .into_iter()
            .filter(|f| !fields.contains_key(*f))
            .collect();
        if !missing.is_empty() {
            missing.sort_unstable();
            return Err(Error::invalid(format!(
                "Model json is missing mandatory fields: {missing:?}"
            )));
        }
        let update: TagUpdate = Box::new(move |current: Option<&str>| {
            let mut history: Vec<serde_json::Value> = current
                .and_then(|v| serde_json::from_str(v).ok())
                .unwrap_or_default();
            history.push(model.clone());
            let value = serde_json::Value::Array(history).to_string();
            validation::check_length(
                &format!("Tag value of '{LOGGED_MODELS_HISTORY_TAG}'"),
                &value,
                validation::MAX_TAG_VAL_LENGTH,
            )?;
            Ok(value)
        });
        self.store
            .update_run_tag(run_id, LOGGED_MODELS_HISTORY_TAG, update)
            .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_that_break_model_uris_are_rejected() {
        for bad in ["", "a/b", "a:b", "a.b", "50%", "a\"b", "a'b"] {
            assert!(validate_name(bad).is_err(), "{bad:?} should be rejected");
        }
        assert!(validate_name("my-model_2 final").is_ok());
    }

    #[test]
    fn repeated_param_keys_keep_the_last_value() {
        let params = dedup_params(vec![
            Param {
                key: "a".into(),
                value: "1".into(),
            },
            Param {
                key: "b".into(),
                value: "2".into(),
            },
            Param {
                key: "a".into(),
                value: "3".into(),
            },
        ]);
        assert_eq!(params.len(), 2);
        assert_eq!(params[0].value, "3");
    }
}
