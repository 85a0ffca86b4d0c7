//! Model versions: create (with source checks and lineage), read, describe, transition, delete,
//! tag, download URI.

use super::rules::{self, parse_version, validate_model_name};
use super::source::{Source, VersionRef, is_within, wrong_owner};
use super::*;
use crate::entities::{LoggedModel, RunInfo, Tag};

/// The logged-model tag listing the registered versions made from the model, as JSON.
pub const MODEL_VERSIONS_TAG: &str = "mlflow.modelVersions";

/// Input of `model-versions/create`. `run_id` and `model_id` are as sent: `Some("")` was present
/// but empty, which matters for lineage checks as in the reference.
#[derive(Debug, Clone, Default)]
pub struct CreateModelVersion {
    pub name: String,
    pub source: String,
    pub run_id: Option<String>,
    pub tags: Vec<Tag>,
    pub run_link: Option<String>,
    pub description: Option<String>,
    pub model_id: Option<String>,
}

fn non_empty(s: Option<String>) -> Option<String> {
    s.filter(|s| !s.is_empty())
}

/// Where a new version's files are and what it came from, after resolving its source.
struct Lineage {
    source: String,
    storage_location: Option<String>,
    run_id: Option<String>,
    model_id: Option<String>,
}

impl Registry {
    pub async fn create_model_version(&self, mut req: CreateModelVersion) -> Result<ModelVersion> {
        validate_model_name(&req.name, "name")?;
        if req.source.is_empty() {
            return Err(Error::missing_parameter("source"));
        }
        let tags = rules::validate_tags(std::mem::take(&mut req.tags))?;
        let mut lineage = Lineage {
            source: req.source.clone(),
            storage_location: None,
            run_id: non_empty(req.run_id.clone()),
            model_id: non_empty(req.model_id.clone()),
        };
        // A prompt version's source is never read: only MLflow's placeholders are accepted, and
        // there is no run or logged model to trace it to (as in the reference).
        // The run a source was checked against, when that check read it.
        let mut checked_run = None;
        let logged_model = if is_prompt(&tags) {
            if !PROMPT_SOURCE_PLACEHOLDERS.contains(&req.source.as_str()) {
                return Err(Error::invalid(format!(
                    "Invalid prompt source: '{}'. Prompt sources must use an MLflow placeholder.",
                    req.source
                )));
            }
            None
        } else {
            let kind = self.sources.classify(&req.source)?;
            if let Source::Registered { name, reference } = &kind {
                self.registered_lineage(&mut lineage, name, reference, &req)
                    .await?;
            }
            match lineage.model_id.clone() {
                Some(model_id) => {
                    let model = self
                        .check_model_source(&lineage.source, &kind, &model_id)
                        .await?;
                    if matches!(kind, Source::LoggedModel { .. }) {
                        lineage.storage_location = Some(model.artifact_location.clone());
                    }
                    Some(model)
                }
                None => {
                    checked_run = self
                        .check_run_source(&lineage.source, &kind, lineage.run_id.as_deref())
                        .await?;
                    None
                }
            }
        };
        if let Some(model) = &logged_model {
            if lineage.run_id.is_none() {
                lineage.run_id = model.source_run_id.clone();
            }
        }
        self.check_lineage_workspace(&lineage, logged_model.as_ref(), checked_run)
            .await?;
        let now = self.now();
        let name = req.name;
        let link = logged_model.map(|m| LoggedModelLink {
            model_id: m.model_id,
            tag_key: MODEL_VERSIONS_TAG.to_owned(),
            update: versions_tag_update(name.clone()),
        });
        let new = NewModelVersion {
            workspace: self.workspace.clone(),
            name: name.clone(),
            creation_timestamp: now,
            description: req.description,
            user_id: None,
            source: lineage.source,
            storage_location: lineage.storage_location,
            run_id: lineage.run_id,
            run_link: req.run_link,
            status: ModelVersionStatus::Ready,
            status_message: None,
            tags,
            model_id: lineage.model_id,
            link,
        };
        let created = ModelVersion {
            name: new.name.clone(),
            version: 0,
            creation_timestamp: now,
            last_updated_timestamp: now,
            description: new.description.clone(),
            user_id: None,
            current_stage: Stage::None,
            source: new.source.clone(),
            storage_location: new.storage_location.clone(),
            run_id: new.run_id.clone(),
            run_link: new.run_link.clone(),
            status: new.status,
            status_message: None,
            tags: new.tags.clone(),
            aliases: Vec::new(),
            model_id: new.model_id.clone(),
        };
        let version = self.store.insert_model_version(new).await?;
        let created = ModelVersion { version, ..created };
        self.emit_version_created(&created).await;
        Ok(created)
    }

    /// A `models:/<name>/...` source: the version it names becomes the lineage (source rewritten
    /// to `models:/<name>/<number>`, its run and logged model unless the request names them, and
    /// its files).
    async fn registered_lineage(
        &self,
        lineage: &mut Lineage,
        name: &str,
        reference: &VersionRef,
        req: &CreateModelVersion,
    ) -> Result<()> {
        let model = self.get_registered_model(name).await?;
        if is_prompt(&model.tags) {
            return Err(Error::invalid(format!(
                "Invalid model version source: '{}'. Prompt versions cannot be used as model \
                 version sources.",
                req.source
            )));
        }
        let number = match reference {
            VersionRef::Number(n) => *n,
            VersionRef::Alias(alias) => self
                .store
                .alias_version(&self.workspace, name, alias)
                .await?
                .ok_or_else(|| {
                    Error::invalid(format!("Registered model alias {alias} not found."))
                })?,
            VersionRef::Latest | VersionRef::Stage(_) => {
                let stage = match reference {
                    VersionRef::Stage(s) => Some(Stage::parse(s)?),
                    _ => None,
                };
                model
                    .latest_versions
                    .iter()
                    .filter(|v| stage.is_none_or(|s| v.current_stage == s))
                    .map(|v| v.version)
                    .max()
                    .ok_or_else(|| {
                        let in_stage = match reference {
                            VersionRef::Stage(s) => format!(" and stage '{s}'"),
                            _ => String::new(),
                        };
                        Error::invalid(format!(
                            "No versions of model with name '{name}'{in_stage} found"
                        ))
                    })?
            }
        };
        let src = self.model_version(name, number).await?;
        let differs = |given: &Option<String>, theirs: &Option<String>| {
            given.as_deref().unwrap_or("") != theirs.as_deref().unwrap_or("")
        };
        if (req.run_id.is_some() && differs(&req.run_id, &src.run_id))
            || (req.model_id.is_some() && differs(&req.model_id, &src.model_id))
        {
            return Err(Error::invalid(format!(
                "Invalid model version source: '{}'. The run_id and model_id request parameters \
                 must match the referenced model version.",
                req.source
            )));
        }
        lineage.source = format!("models:/{}/{}", src.name, src.version);
        lineage.storage_location = Some(src.download_uri().to_owned());
        if req.run_id.is_none() {
            lineage.run_id = src.run_id;
        }
        if req.model_id.is_none() {
            lineage.model_id = src.model_id;
        }
        Ok(())
    }

    /// With a `model_id`, the source must be that logged model or inside its artifacts (or a
    /// registered version, or inside the artifact store); returns the logged model.
    async fn check_model_source(
        &self,
        source: &str,
        kind: &Source,
        model_id: &str,
    ) -> Result<LoggedModel> {
        match kind {
            Source::LoggedModel { model_id: named } if named != model_id => {
                return Err(wrong_owner(source, "model_id"));
            }
            Source::Run { .. } => return Err(wrong_owner(source, "model_id")),
            _ => {}
        }
        let model = self
            .tracking
            .get_logged_model(model_id, false)
            .await
            .map_err(|e| match (e.code, kind) {
                (
                    crate::ErrorCode::ResourceDoesNotExist,
                    Source::Proxied | Source::LoggedModel { .. },
                ) => wrong_owner(source, "model_id"),
                _ => e,
            })?;
        if *kind == Source::Proxied && !is_within(source, &model.artifact_location) {
            return Err(wrong_owner(source, "model_id"));
        }
        Ok(model)
    }

    /// Without a `model_id`: a `runs:/` source must name `run_id`, a proxied source must lie in
    /// the artifacts of run `run_id`, and a logged-model source needs its `model_id`. Returns
    /// the run when the check read it.
    async fn check_run_source(
        &self,
        source: &str,
        kind: &Source,
        run_id: Option<&str>,
    ) -> Result<Option<RunInfo>> {
        match kind {
            Source::Run { run_id: named } if Some(named.as_str()) != run_id => {
                Err(wrong_owner(source, "run_id"))
            }
            Source::LoggedModel { .. } => Err(wrong_owner(source, "model_id")),
            Source::Proxied => {
                let Some(run_id) = run_id else {
                    return Err(wrong_owner(source, "run_id"));
                };
                let run = self.tracking.run_info(run_id).await.map_err(|e| {
                    if e.code == crate::ErrorCode::ResourceDoesNotExist {
                        wrong_owner(source, "run_id")
                    } else {
                        e
                    }
                })?;
                if is_within(source, &run.artifact_uri) {
                    Ok(Some(run))
                } else {
                    Err(wrong_owner(source, "run_id"))
                }
            }
            _ => Ok(None),
        }
    }

    /// A version comes only from a run or logged model of its own workspace: one in another
    /// workspace is not found, as it is to every other request made in this one. (A run that
    /// does not exist at all is left to the source checks, as in the reference.)
    async fn check_lineage_workspace(
        &self,
        lineage: &Lineage,
        model: Option<&LoggedModel>,
        checked_run: Option<RunInfo>,
    ) -> Result<()> {
        if let Some(model) = model {
            if !self.holds_experiment(&model.experiment_id).await? {
                return Err(Error::not_found(format!(
                    "Logged model with ID '{}' not found.",
                    model.model_id
                )));
            }
        }
        if let Some(run_id) = &lineage.run_id {
            let run = match checked_run {
                Some(run) => Ok(run),
                None => self.tracking.run_info(run_id).await,
            };
            if let Ok(run) = run {
                if !self.holds_experiment(&run.experiment_id).await? {
                    return Err(Error::not_found(format!("Run with id={run_id} not found")));
                }
            }
        }
        Ok(())
    }

    /// Whether experiment `id` is in this registry's workspace.
    async fn holds_experiment(&self, id: &str) -> Result<bool> {
        let experiment = self.tracking.get_experiment(id).await?;
        Ok(experiment.workspace == self.workspace)
    }

    /// A version (with tags and aliases) by number.
    pub(super) async fn model_version(&self, name: &str, version: i64) -> Result<ModelVersion> {
        self.store
            .get_model_version(&self.workspace, name, version)
            .await?
            .ok_or_else(|| model_version_not_found(name, version))
    }

    pub async fn get_model_version(&self, name: &str, version: &str) -> Result<ModelVersion> {
        validate_model_name(name, "name")?;
        self.model_version(name, parse_version(version)?).await
    }

    /// Sets (or with `None`, clears) a version's description.
    pub async fn update_model_version(
        &self,
        name: &str,
        version: &str,
        description: Option<&str>,
    ) -> Result<ModelVersion> {
        validate_model_name(name, "name")?;
        let version = parse_version(version)?;
        self.store
            .update_model_version(&self.workspace, name, version, description, self.now())
            .await?;
        self.model_version(name, version).await
    }

    /// Moves a version to another stage, optionally archiving the versions already there.
    pub async fn transition_model_version_stage(
        &self,
        name: &str,
        version: &str,
        stage: &str,
        archive_existing_versions: bool,
    ) -> Result<ModelVersion> {
        let target = Stage::parse(stage)?;
        if archive_existing_versions && !target.is_active() {
            return Err(Error::invalid(format!(
                "Model version transition cannot archive existing model versions because \
                 '{stage}' is not an Active stage. Valid stages are ['Staging', 'Production']"
            )));
        }
        validate_model_name(name, "name")?;
        let version = parse_version(version)?;
        self.store
            .transition_model_version_stage(
                &self.workspace,
                name,
                version,
                target,
                archive_existing_versions,
                self.now(),
            )
            .await?;
        self.model_version(name, version).await
    }

    /// Deletes a version with its tags and the aliases pointing at it.
    pub async fn delete_model_version(&self, name: &str, version: &str) -> Result<()> {
        validate_model_name(name, "name")?;
        let version = parse_version(version)?;
        self.store
            .delete_model_version(&self.workspace, name, version, self.now())
            .await
    }

    /// The URI the version's files are downloaded from.
    pub async fn get_model_version_download_uri(
        &self,
        name: &str,
        version: &str,
    ) -> Result<String> {
        Ok(self
            .get_model_version(name, version)
            .await?
            .download_uri()
            .to_owned())
    }

    /// Where a version's files are read from: its download URI, with a `runs:/<run>/<path>` URI
    /// resolved to the run's artifact location.
    pub async fn model_version_artifact_location(
        &self,
        name: &str,
        version: &str,
    ) -> Result<String> {
        let uri = self.get_model_version_download_uri(name, version).await?;
        let is_runs_uri = uri
            .get(..6)
            .is_some_and(|p| p.eq_ignore_ascii_case("runs:/"));
        if !is_runs_uri {
            return Ok(uri);
        }
        let rest = &uri[6..];
        let (run_id, path) = rest.split_once('/').unwrap_or((rest, ""));
        let run = self.tracking.run_info(run_id).await?;
        Ok(if path.is_empty() {
            run.artifact_uri
        } else {
            crate::uri::append_to_uri(&run.artifact_uri, path)
        })
    }

    pub async fn set_model_version_tag(&self, name: &str, version: &str, tag: Tag) -> Result<()> {
        validate_model_name(name, "name")?;
        let number = parse_version(version)?;
        rules::validate_tag(&tag)?;
        self.store
            .set_model_version_tag(&self.workspace, name, number, &tag)
            .await?;
        self.emit_version_tag_set(name, version, &tag).await;
        Ok(())
    }

    /// Deletes a tag; a missing tag is not an error (the version must exist).
    pub async fn delete_model_version_tag(
        &self,
        name: &str,
        version: &str,
        key: &str,
    ) -> Result<()> {
        validate_model_name(name, "name")?;
        let number = parse_version(version)?;
        crate::validation::validate_key(crate::validation::NameKind::Tag, key)?;
        self.store
            .delete_model_version_tag(&self.workspace, name, number, key)
            .await?;
        self.emit_version_tag_deleted(name, version, key).await;
        Ok(())
    }
}

/// Appends `{"name": ..., "version": ...}` to a logged model's `mlflow.modelVersions` list
/// (unless already there), written as the reference's `json.dumps` writes it.
fn versions_tag_update(name: String) -> VersionsTagUpdate {
    Box::new(move |current: Option<&str>, version: i64| {
        let mut entries: Vec<serde_json::Value> = current
            .and_then(|v| serde_json::from_str(v).ok())
            .unwrap_or_default();
        let entry = serde_json::json!({"name": name, "version": version});
        if !entries.contains(&entry) {
            entries.push(entry);
        }
        let value = crate::pyjson::dumps(&serde_json::Value::Array(entries), true);
        crate::validation::check_length(
            &format!("Tag value of '{MODEL_VERSIONS_TAG}'"),
            &value,
            crate::validation::MAX_TAG_VAL_LENGTH,
        )?;
        Ok(value)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions_tag_is_written_like_the_reference() {
        let update = versions_tag_update("clf".into());
        let first = update(None, 1).expect("first");
        assert_eq!(first, r#"[{"name": "clf", "version": 1}]"#);
        let second = update(Some(&first), 2).expect("second");
        assert_eq!(
            second,
            r#"[{"name": "clf", "version": 1}, {"name": "clf", "version": 2}]"#
        );
        assert_eq!(update(Some(&second), 2).expect("again"), second);
        assert_eq!(
            update(Some("not json"), 1).expect("garbage"),
            r#"[{"name": "clf", "version": 1}]"#
        );
        let accents = versions_tag_update("modèle\"".into());
        assert_eq!(
            accents(None, 3).expect("escaped"),
            r#"[{"name": "mod\u00e8le\"", "version": 3}]"#
        );
    }
}
