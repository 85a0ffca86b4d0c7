//! Endpoints (`e-...`): the names callers invoke, each routing to model definitions — primary
//! models (one, or a weighted traffic split) and fallbacks in order — with tags and, when usage
//! is tracked, an experiment (`gateway/<name>`) its calls are traced into. As the reference's
//! `gateway/endpoints/*` routes; a failed request writes nothing (the endpoint's name is
//! checked before its experiment is made).

use std::collections::{BTreeMap, HashSet};

use keel_core::tracking::CreateExperiment;
use keel_core::workspaces::Workspace;
use keel_core::{Error, ErrorCode, Result, Tag};

use crate::Gateway;
use crate::model_definitions::ModelDefinition;
use crate::routing::check_endpoint_name;

/// Keel's bounds.
pub const MAX_MODELS_PER_ENDPOINT: usize = 50;
pub const MAX_TAG_KEY_CHARS: usize = 250;
pub const MAX_TAG_VALUE_CHARS: usize = 5000;
pub const MAX_NAME_CHARS: usize = 255;

/// The reference's strategy that splits traffic by weight.
pub const TRAFFIC_SPLIT: &str = "REQUEST_BASED_TRAFFIC_SPLIT";

/// How a model serves its endpoint.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Linkage {
    Primary,
    Fallback,
}

impl Linkage {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Primary => "PRIMARY",
            Self::Fallback => "FALLBACK",
        }
    }

    /// The enum name, or its protobuf number.
    pub fn parse(text: &str) -> Option<Self> {
        match text {
            "PRIMARY" | "1" => Some(Self::Primary),
            "FALLBACK" | "2" => Some(Self::Fallback),
            _ => None,
        }
    }
}

/// One model configuration of a request, as sent.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ModelConfigIn {
    pub model_definition_id: Option<String>,
    pub linkage_type: Option<String>,
    pub weight: Option<f64>,
    pub fallback_order: Option<i32>,
}

/// A model of an endpoint, with its definition.
#[derive(Debug, Clone, PartialEq)]
pub struct ModelMapping {
    pub mapping_id: String,
    pub endpoint_id: String,
    pub model_definition: ModelDefinition,
    pub weight: f64,
    pub linkage: Linkage,
    pub fallback_order: Option<i32>,
    pub created_at: i64,
    pub created_by: Option<String>,
}

/// What the endpoint does when a model fails.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FallbackConfig {
    /// `SEQUENTIAL` (the only strategy) or unset.
    pub strategy: Option<String>,
    pub max_attempts: Option<i32>,
}

impl FallbackConfig {
    /// The stored form: `{"strategy": ..., "max_attempts": ...}`.
    pub fn to_stored(&self) -> String {
        serde_json::json!({"strategy": self.strategy, "max_attempts": self.max_attempts})
            .to_string()
    }

    /// Reads [`Self::to_stored`]'s text (`None` for none, or for text it did not write).
    pub fn from_stored(text: Option<String>) -> Option<Self> {
        let value: serde_json::Value = serde_json::from_str(&text?).ok()?;
        Some(Self {
            strategy: value["strategy"].as_str().map(str::to_owned),
            max_attempts: value["max_attempts"]
                .as_i64()
                .and_then(|n| i32::try_from(n).ok()),
        })
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct Endpoint {
    pub endpoint_id: String,
    pub name: String,
    pub workspace: String,
    /// In the order they were configured.
    pub mappings: Vec<ModelMapping>,
    pub tags: BTreeMap<String, String>,
    pub routing_strategy: Option<String>,
    pub fallback_config: Option<FallbackConfig>,
    pub experiment_id: Option<String>,
    pub usage_tracking: bool,
    pub created_at: i64,
    pub last_updated_at: i64,
    pub created_by: Option<String>,
    pub last_updated_by: Option<String>,
}

/// `endpoints/create`.
#[derive(Debug, Clone, Default)]
pub struct CreateEndpoint {
    pub name: Option<String>,
    pub model_configs: Option<Vec<ModelConfigIn>>,
    pub created_by: Option<String>,
    pub routing_strategy: Option<String>,
    pub fallback_config: Option<FallbackConfig>,
    pub experiment_id: Option<String>,
    pub usage_tracking: Option<bool>,
}

/// `endpoints/update`: what is absent stays as it is.
#[derive(Debug, Clone, Default)]
pub struct UpdateEndpoint {
    pub endpoint_id: String,
    pub name: Option<String>,
    pub updated_by: Option<String>,
    pub model_configs: Option<Vec<ModelConfigIn>>,
    pub routing_strategy: Option<String>,
    pub fallback_config: Option<FallbackConfig>,
    pub experiment_id: Option<String>,
    pub usage_tracking: Option<bool>,
}

/// How a request names an endpoint.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EndpointKey<'a> {
    Id(&'a str),
    Name(&'a str),
}

/// What a store write of an endpoint did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EndpointWrite {
    Done,
    /// Another endpoint of the workspace has the name.
    NameTaken,
    /// The endpoint does not exist (updates only).
    NotFound,
    /// These model definitions do not exist in the workspace.
    MissingDefinitions(Vec<String>),
}

/// A model configuration checked: its definition's ID, how it serves, its weight and order.
#[derive(Debug, Clone, PartialEq)]
pub struct ModelConfig {
    pub model_definition_id: String,
    pub linkage: Linkage,
    pub weight: f64,
    pub fallback_order: Option<i32>,
}

pub(crate) fn not_found(key: EndpointKey<'_>) -> Error {
    match key {
        EndpointKey::Id(id) => {
            Error::not_found(format!("GatewayEndpoint not found (endpoint_id='{id}')"))
        }
        EndpointKey::Name(name) => {
            Error::not_found(format!("GatewayEndpoint not found (name='{name}')"))
        }
    }
}

/// Checks a request's model configurations, in the reference's order and words.
pub fn check_configs(configs: Vec<ModelConfigIn>) -> Result<Vec<ModelConfig>> {
    let mut checked = Vec::with_capacity(configs.len());
    for (i, c) in configs.into_iter().enumerate() {
        let linkage = c
            .linkage_type
            .as_deref()
            .and_then(Linkage::parse)
            .ok_or_else(|| {
                Error::invalid(format!(
                    "Invalid or missing value for required parameter 'linkage_type' in \
                     model_configs[{i}]. Must be one of: PRIMARY, FALLBACK."
                ))
            })?;
        let model_definition_id = c
            .model_definition_id
            .filter(|id| !id.is_empty())
            .ok_or_else(|| {
                Error::missing_parameter(&format!("model_configs[{i}].model_definition_id"))
            })?;
        let weight = c.weight.unwrap_or(1.0);
        if !weight.is_finite() || weight < 0.0 {
            return Err(Error::invalid(format!(
                "model_configs[{i}].weight must be a non-negative number, got {weight}."
            )));
        }
        checked.push(ModelConfig {
            model_definition_id,
            linkage,
            weight,
            fallback_order: c.fallback_order,
        });
    }
    if checked.is_empty() {
        return Err(Error::invalid(
            "Endpoint must have at least one model configuration",
        ));
    }
    if checked.len() > MAX_MODELS_PER_ENDPOINT {
        return Err(Error::invalid(format!(
            "An endpoint may have at most {MAX_MODELS_PER_ENDPOINT} model configurations, got {}.",
            checked.len()
        )));
    }
    let mut seen = HashSet::new();
    for c in &checked {
        if !seen.insert((c.model_definition_id.as_str(), c.linkage)) {
            return Err(Error::invalid(format!(
                "model_configs holds model definition '{}' as {} twice.",
                c.model_definition_id,
                c.linkage.as_str()
            )));
        }
    }
    Ok(checked)
}

/// `None` for the unset strategy, the name for a known one.
fn routing_strategy(value: Option<String>) -> Result<Option<String>> {
    match value.as_deref() {
        None | Some("" | "ROUTING_STRATEGY_UNSPECIFIED" | "0") => Ok(None),
        Some(TRAFFIC_SPLIT | "1") => Ok(Some(TRAFFIC_SPLIT.to_owned())),
        Some(other) => Err(Error::invalid(format!(
            "Invalid routing_strategy '{other}'. Must be one of: {TRAFFIC_SPLIT}."
        ))),
    }
}

fn fallback_config(value: FallbackConfig) -> Result<FallbackConfig> {
    let strategy = match value.strategy.as_deref() {
        None | Some("" | "FALLBACK_STRATEGY_UNSPECIFIED" | "0") => None,
        Some("SEQUENTIAL" | "1") => Some("SEQUENTIAL".to_owned()),
        Some(other) => {
            return Err(Error::invalid(format!(
                "Invalid fallback_config.strategy '{other}'. Must be one of: SEQUENTIAL."
            )));
        }
    };
    if let Some(n) = value.max_attempts
        && n < 0
    {
        return Err(Error::invalid(format!(
            "fallback_config.max_attempts must not be negative, got {n}."
        )));
    }
    Ok(FallbackConfig {
        strategy,
        max_attempts: value.max_attempts,
    })
}

fn check_name(name: &str) -> Result<()> {
    check_endpoint_name(name)?;
    if name.chars().count() > MAX_NAME_CHARS {
        return Err(Error::invalid(format!(
            "Endpoint name must be at most {MAX_NAME_CHARS} characters long."
        )));
    }
    Ok(())
}

/// The experiment an endpoint's calls are traced into.
pub fn experiment_name(endpoint_name: &str) -> String {
    format!("gateway/{endpoint_name}")
}

fn outcome(write: EndpointWrite, endpoint: &Endpoint) -> Result<()> {
    match write {
        EndpointWrite::Done => Ok(()),
        EndpointWrite::NameTaken => Err(name_taken(&endpoint.name)),
        EndpointWrite::NotFound => Err(not_found(EndpointKey::Id(&endpoint.endpoint_id))),
        EndpointWrite::MissingDefinitions(ids) => Err(definitions_not_found(ids)),
    }
}

fn definitions_not_found(mut ids: Vec<String>) -> Error {
    ids.sort();
    ids.dedup();
    Error::not_found(format!("Model definitions not found: {}", ids.join(", ")))
}

fn name_taken(name: &str) -> Error {
    Error::already_exists(format!("Endpoint with name '{name}' already exists"))
}

fn check_tag(key: &str, value: &str) -> Result<()> {
    if key.is_empty() {
        return Err(Error::missing_parameter("key"));
    }
    if key.chars().count() > MAX_TAG_KEY_CHARS {
        return Err(Error::invalid(format!(
            "Tag key must be at most {MAX_TAG_KEY_CHARS} characters long."
        )));
    }
    if value.chars().count() > MAX_TAG_VALUE_CHARS {
        return Err(Error::invalid(format!(
            "Tag value must be at most {MAX_TAG_VALUE_CHARS} characters long."
        )));
    }
    Ok(())
}

impl Gateway {
    /// Refuses configurations naming definitions the workspace does not have, before anything
    /// is written (the store checks again, under lock, when it writes).
    async fn check_definitions_exist(
        &self,
        workspace: &str,
        configs: &[ModelConfig],
    ) -> Result<()> {
        let mut missing = Vec::new();
        let ids: HashSet<&str> = configs
            .iter()
            .map(|c| c.model_definition_id.as_str())
            .collect();
        for id in ids {
            if self
                .store
                .get_model_definition(workspace, id)
                .await?
                .is_none()
            {
                missing.push(id.to_owned());
            }
        }
        if missing.is_empty() {
            Ok(())
        } else {
            Err(definitions_not_found(missing))
        }
    }

    fn mappings(
        &self,
        endpoint_id: &str,
        configs: Vec<ModelConfig>,
        now: i64,
        author: Option<String>,
    ) -> Vec<ModelMapping> {
        configs
            .into_iter()
            .map(|c| ModelMapping {
                mapping_id: format!("m-{}", uuid::Uuid::new_v4().simple()),
                endpoint_id: endpoint_id.to_owned(),
                model_definition: ModelDefinition {
                    model_definition_id: c.model_definition_id,
                    ..ModelDefinition::default()
                },
                weight: c.weight,
                linkage: c.linkage,
                fallback_order: c.fallback_order,
                created_at: now,
                created_by: author.clone(),
            })
            .collect()
    }

    /// The experiment `experiment_id` names, checked to be in the workspace; or, for usage
    /// tracking without one, `gateway/<name>` (made with the reference's tags if missing).
    async fn trace_experiment(
        &self,
        workspace: &Workspace,
        endpoint_id: &str,
        endpoint_name: &str,
        experiment_id: Option<String>,
    ) -> Result<String> {
        if let Some(id) = experiment_id {
            let experiment = self.tracking.get_experiment(&id).await?;
            if experiment.workspace != workspace.name {
                return Err(Error::not_found(format!(
                    "No Experiment with id={id} exists"
                )));
            }
            return Ok(experiment.experiment_id);
        }
        let name = experiment_name(endpoint_name);
        if let Ok(existing) = self
            .tracking
            .get_experiment_by_name(&workspace.name, &name)
            .await
        {
            return Ok(existing.experiment_id);
        }
        let tag = |key: &str, value: &str| Tag {
            key: key.to_owned(),
            value: value.to_owned(),
        };
        let created = self
            .tracking
            .create_experiment(CreateExperiment {
                workspace: workspace.clone(),
                name: name.clone(),
                artifact_location: None,
                tags: vec![
                    tag("mlflow.experiment.sourceType", "GATEWAY"),
                    tag("mlflow.experiment.sourceId", endpoint_id),
                    tag("mlflow.experiment.isGateway", "true"),
                ],
            })
            .await;
        match created {
            Ok(id) => Ok(id),
            // Made meanwhile by another request: use it.
            Err(e) if e.code == ErrorCode::ResourceAlreadyExists => self
                .tracking
                .get_experiment_by_name(&workspace.name, &name)
                .await
                .map(|e| e.experiment_id),
            Err(e) => Err(e),
        }
    }

    pub async fn create_endpoint(
        &self,
        workspace: &Workspace,
        req: CreateEndpoint,
    ) -> Result<Endpoint> {
        let name = req
            .name
            .filter(|n| !n.is_empty())
            .ok_or_else(|| Error::missing_parameter("name"))?;
        let configs = req
            .model_configs
            .ok_or_else(|| Error::missing_parameter("model_configs"))?;
        check_name(&name)?;
        let configs = check_configs(configs)?;
        let routing_strategy = routing_strategy(req.routing_strategy)?;
        let given_fallback = req.fallback_config.map(fallback_config).transpose()?;
        let has_fallbacks = configs.iter().any(|c| c.linkage == Linkage::Fallback);
        let fallback_config = match given_fallback {
            Some(f) => Some(f),
            None if has_fallbacks => Some(FallbackConfig::default()),
            None => None,
        };
        let usage_tracking = req.usage_tracking.unwrap_or(true);
        self.check_definitions_exist(&workspace.name, &configs)
            .await?;
        if self
            .store
            .get_endpoint(&workspace.name, EndpointKey::Name(&name))
            .await?
            .is_some()
        {
            return Err(name_taken(&name));
        }
        let endpoint_id = format!("e-{}", uuid::Uuid::new_v4().simple());
        let experiment_id = match (
            req.experiment_id.filter(|id| !id.is_empty()),
            usage_tracking,
        ) {
            (Some(id), _) => Some(
                self.trace_experiment(workspace, &endpoint_id, &name, Some(id))
                    .await?,
            ),
            (None, true) => Some(
                self.trace_experiment(workspace, &endpoint_id, &name, None)
                    .await?,
            ),
            (None, false) => None,
        };
        let now = self.now();
        let endpoint = Endpoint {
            mappings: self.mappings(&endpoint_id, configs, now, req.created_by.clone()),
            endpoint_id,
            name,
            workspace: workspace.name.clone(),
            tags: BTreeMap::new(),
            routing_strategy,
            fallback_config,
            experiment_id,
            usage_tracking,
            created_at: now,
            last_updated_at: now,
            last_updated_by: req.created_by.clone(),
            created_by: req.created_by,
        };
        outcome(self.store.insert_endpoint(&endpoint).await?, &endpoint)?;
        self.get_endpoint(&workspace.name, EndpointKey::Id(&endpoint.endpoint_id))
            .await
    }

    pub async fn get_endpoint(&self, workspace: &str, key: EndpointKey<'_>) -> Result<Endpoint> {
        self.store
            .get_endpoint(workspace, key)
            .await?
            .ok_or_else(|| not_found(key))
    }

    /// Endpoints with at least one model (of `provider`, if given), as the reference lists them.
    pub async fn list_endpoints(
        &self,
        workspace: &str,
        provider: Option<&str>,
    ) -> Result<Vec<Endpoint>> {
        self.store
            .list_endpoints(workspace, provider.filter(|p| !p.is_empty()))
            .await
    }

    /// New model configurations replace every mapping (and the fallback settings with the
    /// request's); `routing_strategy` can be set, not cleared; turning usage tracking on gives
    /// the endpoint its `gateway/<name>` experiment if it has none.
    pub async fn update_endpoint(
        &self,
        workspace: &Workspace,
        req: UpdateEndpoint,
    ) -> Result<Endpoint> {
        let mut endpoint = self
            .get_endpoint(&workspace.name, EndpointKey::Id(&req.endpoint_id))
            .await?;
        if let Some(name) = req.name.filter(|n| !n.is_empty()) {
            check_name(&name)?;
            endpoint.name = name;
        }
        let author = req.updated_by.filter(|a| !a.is_empty());
        let now = self.now();
        let replace = match req.model_configs.filter(|c| !c.is_empty()) {
            Some(configs) => {
                let configs = check_configs(configs)?;
                self.check_definitions_exist(&workspace.name, &configs)
                    .await?;
                endpoint.mappings =
                    self.mappings(&endpoint.endpoint_id, configs, now, author.clone());
                endpoint.fallback_config = Some(
                    req.fallback_config
                        .map(fallback_config)
                        .transpose()?
                        .unwrap_or_default(),
                );
                true
            }
            None => {
                if let Some(f) = req.fallback_config {
                    endpoint.fallback_config = Some(fallback_config(f)?);
                }
                false
            }
        };
        if let Some(strategy) = routing_strategy(req.routing_strategy)? {
            endpoint.routing_strategy = Some(strategy);
        }
        if let Some(tracking) = req.usage_tracking {
            endpoint.usage_tracking = tracking;
        }
        let experiment_id = req.experiment_id.filter(|id| !id.is_empty());
        if experiment_id.is_some()
            || (req.usage_tracking == Some(true) && endpoint.experiment_id.is_none())
        {
            let taken = self
                .store
                .get_endpoint(&workspace.name, EndpointKey::Name(&endpoint.name))
                .await?
                .is_some_and(|other| other.endpoint_id != endpoint.endpoint_id);
            if taken {
                return Err(name_taken(&endpoint.name));
            }
            endpoint.experiment_id = Some(
                self.trace_experiment(
                    workspace,
                    &endpoint.endpoint_id,
                    &endpoint.name,
                    experiment_id,
                )
                .await?,
            );
        }
        if let Some(author) = author {
            endpoint.last_updated_by = Some(author);
        }
        endpoint.last_updated_at = now;
        let written = self.store.update_endpoint(&endpoint, replace).await?;
        self.changed();
        outcome(written, &endpoint)?;
        self.get_endpoint(&workspace.name, EndpointKey::Id(&endpoint.endpoint_id))
            .await
    }

    pub async fn delete_endpoint(&self, workspace: &str, endpoint_id: &str) -> Result<()> {
        if endpoint_id.is_empty() {
            return Err(Error::missing_parameter("endpoint_id"));
        }
        if self.store.delete_endpoint(workspace, endpoint_id).await? {
            self.changed();
            Ok(())
        } else {
            Err(not_found(EndpointKey::Id(endpoint_id)))
        }
    }

    pub async fn set_endpoint_tag(
        &self,
        workspace: &str,
        endpoint_id: &str,
        key: &str,
        value: &str,
    ) -> Result<()> {
        check_tag(key, value)?;
        if self
            .store
            .set_endpoint_tag(workspace, endpoint_id, key, value)
            .await?
        {
            Ok(())
        } else {
            Err(not_found(EndpointKey::Id(endpoint_id)))
        }
    }

    /// Deleting a tag the endpoint does not have is not an error (as the reference).
    pub async fn delete_endpoint_tag(
        &self,
        workspace: &str,
        endpoint_id: &str,
        key: &str,
    ) -> Result<()> {
        if key.is_empty() {
            return Err(Error::missing_parameter("key"));
        }
        if self
            .store
            .delete_endpoint_tag(workspace, endpoint_id, key)
            .await?
        {
            Ok(())
        } else {
            Err(not_found(EndpointKey::Id(endpoint_id)))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(id: &str, linkage: Option<&str>) -> ModelConfigIn {
        ModelConfigIn {
            model_definition_id: Some(id.to_owned()),
            linkage_type: linkage.map(str::to_owned),
            ..ModelConfigIn::default()
        }
    }

    #[test]
    fn model_configurations_are_checked_in_the_references_words() {
        let e = check_configs(vec![
            config("d-1", Some("PRIMARY")),
            config("d-2", Some("SECONDARY")),
        ])
        .expect_err("bad linkage");
        assert_eq!(
            e.message,
            "Invalid or missing value for required parameter 'linkage_type' in model_configs[1]. \
             Must be one of: PRIMARY, FALLBACK."
        );
        assert_eq!(
            check_configs(vec![]).expect_err("empty").message,
            "Endpoint must have at least one model configuration"
        );
        let checked = check_configs(vec![
            config("d-1", Some("PRIMARY")),
            config("d-1", Some("2")),
        ])
        .expect("a model may be primary and fallback");
        assert_eq!(checked[0].weight, 1.0);
        assert_eq!(checked[1].linkage, Linkage::Fallback);
        assert!(
            check_configs(vec![
                config("d-1", Some("PRIMARY")),
                config("d-1", Some("PRIMARY"))
            ])
            .is_err()
        );
        let many = (0..51)
            .map(|i| config(&format!("d-{i}"), Some("PRIMARY")))
            .collect();
        assert!(check_configs(many).is_err());
    }

    #[test]
    fn fallback_settings_round_trip_through_their_stored_text() {
        for config in [
            FallbackConfig::default(),
            FallbackConfig {
                strategy: Some("SEQUENTIAL".into()),
                max_attempts: Some(2),
            },
        ] {
            assert_eq!(
                FallbackConfig::from_stored(Some(config.to_stored())),
                Some(config)
            );
        }
        assert_eq!(FallbackConfig::from_stored(None), None);
    }

    #[test]
    fn strategies_are_names_or_numbers() {
        assert_eq!(
            routing_strategy(Some("1".into())).expect("number"),
            Some(TRAFFIC_SPLIT.to_owned())
        );
        assert_eq!(
            routing_strategy(Some("ROUTING_STRATEGY_UNSPECIFIED".into())).expect("unset"),
            None
        );
        assert!(routing_strategy(Some("ROUND_ROBIN".into())).is_err());
        let f = fallback_config(FallbackConfig {
            strategy: Some("SEQUENTIAL".into()),
            max_attempts: Some(2),
        })
        .expect("valid");
        assert_eq!(f.max_attempts, Some(2));
        assert!(
            fallback_config(FallbackConfig {
                strategy: None,
                max_attempts: Some(-1)
            })
            .is_err()
        );
    }
}
