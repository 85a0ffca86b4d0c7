//! `POST /ajax-api/2.0/mlflow/runs/create-promptlab-run`: the reference UI saves a prompt it
//! tried as a finished run with the prompt's params, an evaluation table and a model MLflow can
//! load (files rendered by `keel_core::promptlab`). Everything the request carries is checked
//! before the run is created; a storage failure after that leaves the run FAILED.

use axum::Json;
use axum::extract::State;
use keel_artifacts::proxied_path;
use keel_core::promptlab::{self, Entry, ModelMeta, PromptlabRun};
use keel_core::tracking::CreateRun;
use keel_core::{Error, ErrorCode, RunStatus, Tag};
use serde::Deserialize;
use serde_json::Value;

use super::runs::RunOut;
use crate::error::ApiResult;
use crate::extract::MlflowRequest;
use crate::state::AppState;
use crate::wire::proto::{Stringish, opt_i64, opt_string};
use crate::wire::requests::{TagIn, tags};

/// A `{key, value}` entry of the request.
#[derive(Debug, Default, Deserialize, schemars::JsonSchema)]
pub struct EntryIn {
    #[serde(default, deserialize_with = "opt_string")]
    key: Option<String>,
    #[serde(default)]
    value: Option<Value>,
}

#[derive(Debug, Default, Deserialize, schemars::JsonSchema)]
pub struct PromptlabIn {
    #[serde(default)]
    experiment_id: Option<Stringish>,
    #[serde(default, deserialize_with = "opt_string")]
    run_name: Option<String>,
    #[serde(default)]
    tags: Vec<TagIn>,
    #[serde(default, deserialize_with = "opt_string")]
    prompt_template: Option<String>,
    #[serde(default)]
    prompt_parameters: Vec<EntryIn>,
    #[serde(default, deserialize_with = "opt_string")]
    model_route: Option<String>,
    #[serde(default)]
    model_parameters: Vec<EntryIn>,
    #[serde(default)]
    model_input: Option<Value>,
    #[serde(default)]
    model_output: Option<Value>,
    #[serde(default)]
    model_output_parameters: Vec<EntryIn>,
    /// Required, as on the reference, and not used: the model names the server's MLflow.
    #[serde(default)]
    mlflow_version: Option<Value>,
    #[serde(default, deserialize_with = "opt_string")]
    user_id: Option<String>,
    #[serde(default, deserialize_with = "opt_i64")]
    start_time: Option<i64>,
}

/// The reference's error for a missing (or empty) field.
fn must_specify(field: &str) -> Error {
    Error::invalid(format!("CreatePromptlabRun request must specify {field}."))
}

/// Python's truthiness of a JSON value: not null, false, 0, "", [] or {}.
fn truthy(value: &Value) -> bool {
    match value {
        Value::Null => false,
        Value::Bool(b) => *b,
        Value::Number(n) => n.as_f64() != Some(0.0),
        Value::String(s) => !s.is_empty(),
        Value::Array(a) => !a.is_empty(),
        Value::Object(o) => !o.is_empty(),
    }
}

fn entries(field: &str, given: Vec<EntryIn>) -> Result<Vec<Entry>, Error> {
    given
        .into_iter()
        .map(|e| match e.key.filter(|k| !k.is_empty()) {
            Some(key) => Ok(Entry {
                key,
                value: e.value.unwrap_or(Value::Null),
            }),
            None => Err(Error::invalid(format!(
                "CreatePromptlabRun request must specify a key for every entry of {field}."
            ))),
        })
        .collect()
}

impl PromptlabIn {
    /// The run to create, in the reference's order of checks.
    fn into_domain(self) -> Result<(CreateRun, PromptlabRun), Error> {
        let experiment_id = self
            .experiment_id
            .map(|id| id.0)
            .filter(|id| !id.is_empty())
            .ok_or_else(|| must_specify("experiment_id"))?;
        let prompt_template = self
            .prompt_template
            .filter(|t| !t.is_empty())
            .ok_or_else(|| must_specify("prompt_template"))?;
        if self.prompt_parameters.is_empty() {
            return Err(must_specify("prompt_parameters"));
        }
        let model_route = self
            .model_route
            .filter(|r| !r.is_empty())
            .ok_or_else(|| must_specify("model_route"))?;
        let model_input = self
            .model_input
            .filter(truthy)
            .ok_or_else(|| must_specify("model_input"))?;
        if !self.mlflow_version.as_ref().is_some_and(truthy) {
            return Err(must_specify("mlflow_version"));
        }
        let run = PromptlabRun {
            prompt_template,
            prompt_parameters: entries("prompt_parameters", self.prompt_parameters)?,
            model_route,
            model_parameters: entries("model_parameters", self.model_parameters)?,
            model_input,
            model_output: self.model_output.unwrap_or(Value::Null),
            model_output_parameters: entries(
                "model_output_parameters",
                self.model_output_parameters,
            )?,
        };
        let create = CreateRun {
            experiment_id: Some(experiment_id),
            user_id: Some(self.user_id.unwrap_or_else(|| "unknown".to_owned())),
            run_name: self.run_name.filter(|n| !n.is_empty()),
            start_time: self.start_time,
            tags: tags(self.tags)?,
        };
        Ok((create, run))
    }
}

pub async fn create(
    State(s): State<AppState>,
    req: MlflowRequest<PromptlabIn>,
) -> ApiResult<Json<RunOut>> {
    let (create, lab) = req.message.into_domain()?;
    let params = lab.params()?;
    // The files go through the artifact proxy: the experiment must keep its artifacts there.
    let experiment = s
        .tracking
        .get_experiment(create.experiment_id.as_deref().unwrap_or_default())
        .await?;
    if proxied_path(&experiment.artifact_location).is_err() {
        return Err(Error::new(
            ErrorCode::NotImplemented,
            format!(
                "Prompt engineering runs are stored through the artifact proxy; experiment {} \
                 keeps its artifacts at '{}', which this server does not write to.",
                experiment.experiment_id, experiment.artifact_location
            ),
        )
        .into());
    }
    let run = s.tracking.create_run(create).await?;
    let run_id = run.info.run_id.clone();
    match finish(&s, &run.info.artifact_uri, &run_id, &lab, params).await {
        Ok(()) => {}
        Err(e) => {
            let end = chrono::Utc::now().timestamp_millis();
            s.tracking
                .update_run(&run_id, Some(RunStatus::Failed), Some(end), None)
                .await?;
            return Err(e.into());
        }
    }
    Ok(Json(RunOut {
        run: s.tracking.get_run(&run_id).await?.into(),
    }))
}

/// Logs the params and tags, writes the files and the model's history, and finishes the run.
async fn finish(
    s: &AppState,
    artifact_uri: &str,
    run_id: &str,
    lab: &PromptlabRun,
    params: Vec<keel_core::Param>,
) -> Result<(), Error> {
    s.tracking
        .log_batch(run_id, Vec::new(), params, PromptlabRun::tags())
        .await?;
    let model_uuid = keel_core::names::new_uuid();
    let created = chrono::Utc::now()
        .format("%Y-%m-%d %H:%M:%S%.6f")
        .to_string();
    let meta = ModelMeta {
        run_id,
        model_uuid: &model_uuid,
        utc_time_created: &created,
        mlflow_version: super::meta::MLFLOW_COMPAT_VERSION,
    };
    let root = proxied_path(artifact_uri)?;
    for (file, content) in lab.files(&meta) {
        let path = root.join(&keel_artifacts::ArtifactPath::parse(file)?);
        let body =
            futures_util::stream::iter([Ok::<_, std::io::Error>(bytes::Bytes::from(content))]);
        s.artifacts.write(&path, Box::pin(body)).await?;
    }
    s.tracking
        .set_tag(
            run_id,
            Tag {
                key: "mlflow.log-model.history".into(),
                value: promptlab::log_model_history(&meta),
            },
        )
        .await?;
    let end = chrono::Utc::now().timestamp_millis();
    s.tracking
        .update_run(run_id, Some(RunStatus::Finished), Some(end), None)
        .await?;
    Ok(())
}
