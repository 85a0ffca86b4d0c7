//! Where each route's resource is named in a request, and what it resolves to: the target
//! grants are resolved on and the resource as Cedar sees it (with its parents).
//!
//! Every route declares a [`Locate`] in the route table (by default from its resource kind).
//! IDs are read from the path, the query string (GET) or the JSON body (a small typed parse
//! that ignores every other field); a run, trace or logged model is resolved to its experiment
//! and a model to whether it is a prompt.

use axum::http::request::Parts;
use keel_auth::ResourceKind;
use keel_auth::assess::Target;
use keel_auth::grants::GrantType;
use keel_auth::policy::PolicyResource;
use keel_core::Error;
use serde::Deserialize;

use crate::state::AppState;

/// Where a route's resource is named.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Locate {
    /// The server itself, the UI, or the workspace as a whole (admin-only and any-user
    /// actions, searches whose results are filtered).
    Workspace,
    /// Creating a top-level resource of this type in the workspace.
    CreateInWorkspace(GrantType),
    /// `experiment_id`.
    Experiment,
    /// `experiment_name`.
    ExperimentByName,
    /// Every ID in `experiment_ids`.
    Experiments,
    /// Creating a resource of this type in the experiment `experiment_id`.
    CreateInExperiment(GrantType),
    /// `run_id` (or the legacy `run_uuid`).
    Run,
    /// `run_uuid` (or `run_id`) in the query string of a request whose body is data, not
    /// JSON (`upload-artifact`).
    RunInQuery,
    /// Every ID in `run_ids`, or repeated `run_id`.
    Runs,
    /// The logged model in the path's `{model_id}`.
    LoggedModelInPath,
    /// `run_id` if the request names one, else the logged model `model_id`.
    RunOrLoggedModel,
    /// The trace in the path's `{trace_id}`.
    TraceInPath,
    /// `trace_id` or `request_id`.
    Trace,
    /// Every ID in `trace_ids`.
    Traces,
    /// A v3 trace start: `trace.trace_info.trace_location.mlflow_experiment.experiment_id`.
    TraceStart,
    /// An OTLP export: the experiment in the `x-mlflow-experiment-id` header.
    OtlpExport,
    /// `traces/link-to-run`: the run, and every trace in `trace_ids`.
    LinkToRun,
    /// The registered model or prompt `name`.
    Model,
    /// A version of the registered model or prompt `name`.
    ModelVersion,
    /// The resource a per-user grant names: `resource_type` and `resource_id` (`*` names the
    /// whole type, which only a workspace administrator may grant).
    Grant,
    /// The artifact path in the URL (or `path` for listings): its first segment is the
    /// experiment.
    ArtifactPath,
    /// A call through the AI gateway: the workspace; its body is the provider's payload,
    /// streamed on to the handler unparsed (even when audited: the digest is taken as it
    /// streams).
    GatewayCall,
}

/// A located resource.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Located {
    Workspace {
        creates: Option<GrantType>,
    },
    Experiment(String),
    InExperiment {
        kind: GrantType,
        experiment: String,
        resource: (ResourceKind, String),
    },
    CreateInExperiment {
        kind: GrantType,
        experiment: String,
    },
    Model {
        prompt: bool,
        name: String,
    },
    Version {
        prompt: bool,
        name: String,
    },
}

/// The experiments of runs, traces and logged models already looked up. A resource never
/// moves to another experiment, so entries never go stale; the map is bounded.
#[derive(Debug)]
pub struct ParentCache {
    experiments: keel_auth::ttl::TtlMap<(ResourceKind, String), String>,
}

impl Default for ParentCache {
    fn default() -> Self {
        Self {
            experiments: keel_auth::ttl::TtlMap::new(
                std::time::Duration::from_secs(24 * 60 * 60),
                100_000,
            ),
        }
    }
}

impl ParentCache {
    /// The experiment of `id`, from the cache or from `lookup` (a missing resource is not
    /// remembered: it may be created next).
    async fn experiment_of<F>(&self, kind: ResourceKind, id: &str, lookup: F) -> String
    where
        F: std::future::Future<Output = Option<String>>,
    {
        self.experiments
            .get_or_find((kind, id.to_owned()), lookup)
            .await
            .unwrap_or_default()
    }
}

pub use keel_core::workspaces::DEFAULT_WORKSPACE;

impl Located {
    pub fn target(&self) -> Target<'_> {
        match self {
            Self::Workspace { creates } => Target::Workspace { creates: *creates },
            Self::Experiment(id) => Target::Experiment { id },
            Self::InExperiment {
                kind, experiment, ..
            } => Target::InExperiment {
                kind: *kind,
                experiment,
            },
            Self::CreateInExperiment { kind, experiment } => Target::CreateInExperiment {
                kind: *kind,
                experiment,
            },
            Self::Model { prompt, name } => Target::Model {
                prompt: *prompt,
                name,
            },
            Self::Version { prompt, name } => Target::Version {
                prompt: *prompt,
                name,
            },
        }
    }

    /// The resource as Cedar sees it, `kind` being the route's declared kind, in `workspace`.
    pub fn resource(&self, kind: ResourceKind, workspace: &str) -> PolicyResource {
        let ws = (ResourceKind::Workspace, workspace.to_owned());
        let (kind, id, parents) = match self {
            Self::Workspace { .. } => match kind {
                ResourceKind::Server | ResourceKind::Ui => (kind, "keel".to_owned(), vec![]),
                _ => (ResourceKind::Workspace, workspace.to_owned(), vec![]),
            },
            Self::Experiment(id) | Self::CreateInExperiment { experiment: id, .. } => {
                (ResourceKind::Experiment, id.clone(), vec![ws])
            }
            Self::InExperiment {
                experiment,
                resource,
                ..
            } => (
                resource.0,
                resource.1.clone(),
                vec![(ResourceKind::Experiment, experiment.clone()), ws],
            ),
            Self::Model { prompt, name } => (
                if *prompt {
                    ResourceKind::Prompt
                } else {
                    ResourceKind::RegisteredModel
                },
                name.clone(),
                vec![ws],
            ),
            Self::Version { prompt, name } => {
                let (model_kind, version_kind) = if *prompt {
                    (ResourceKind::Prompt, ResourceKind::ModelVersion)
                } else {
                    (ResourceKind::RegisteredModel, ResourceKind::ModelVersion)
                };
                (
                    version_kind,
                    name.clone(),
                    vec![(model_kind, name.clone()), ws],
                )
            }
        };
        PolicyResource { kind, id, parents }
    }
}

/// The IDs a request may name, from its query string or JSON body; every other field is
/// skipped unparsed.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct Ids {
    experiment_id: Option<Id>,
    experiment_ids: Option<OneOrMany>,
    experiment_name: Option<Id>,
    run_id: Option<OneOrMany>,
    run_uuid: Option<Id>,
    run_ids: Option<OneOrMany>,
    name: Option<Id>,
    trace_id: Option<Id>,
    request_id: Option<Id>,
    trace_ids: Option<OneOrMany>,
    path: Option<Id>,
    trace: Option<TraceEnvelope>,
    locations: Option<Vec<TraceLocation>>,
    tags: Option<Vec<TagIn>>,
    resource_type: Option<Id>,
    resource_id: Option<Id>,
    model_id: Option<Id>,
    // For audit entries only: a model version, an account.
    version: Option<Id>,
    username: Option<Id>,
}

/// A string or a number, as IDs arrive.
#[derive(Debug, Clone, Deserialize)]
#[serde(untagged)]
enum Id {
    Text(String),
    Number(serde_json::Number),
    Other(serde::de::IgnoredAny),
}

impl Id {
    fn text(&self) -> Option<String> {
        match self {
            Self::Text(s) => Some(s.clone()),
            Self::Number(n) => Some(n.to_string()),
            Self::Other(_) => None,
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(untagged)]
enum OneOrMany {
    One(Id),
    Many(Vec<Id>),
}

impl OneOrMany {
    fn all(&self) -> Vec<String> {
        match self {
            Self::One(id) => id.text().into_iter().collect(),
            Self::Many(ids) => ids.iter().filter_map(Id::text).collect(),
        }
    }
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct TraceEnvelope {
    trace_info: Option<TraceInfoIds>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct TraceInfoIds {
    trace_location: Option<TraceLocation>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct TraceLocation {
    mlflow_experiment: Option<ExperimentRef>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct ExperimentRef {
    experiment_id: Option<Id>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct TagIn {
    key: Option<String>,
    value: Option<String>,
}

impl Ids {
    /// The IDs of a GET request's query string.
    pub fn from_query(query: &str) -> Result<Self, Error> {
        crate::extract::parse_query(query)
    }

    /// The IDs of a JSON body (an empty body names nothing).
    pub fn from_body(bytes: &[u8]) -> Result<Self, Error> {
        if bytes.iter().all(u8::is_ascii_whitespace) {
            return Ok(Self::default());
        }
        crate::extract::parse_json(bytes)
    }

    fn one(field: &'static str, value: &Option<Id>) -> Result<String, Error> {
        value
            .as_ref()
            .and_then(Id::text)
            .filter(|s| !s.is_empty())
            .ok_or_else(|| Error::missing_parameter(field))
    }

    fn run_id(&self) -> Result<String, Error> {
        match (&self.run_id, &self.run_uuid) {
            (Some(OneOrMany::One(id)), _) => Self::one("run_id", &Some(id.clone())),
            (_, Some(uuid)) => Self::one("run_uuid", &Some(uuid.clone())),
            _ => Err(Error::missing_parameter("run_id")),
        }
    }

    fn experiments(&self) -> Vec<String> {
        self.experiment_ids
            .as_ref()
            .map(OneOrMany::all)
            .unwrap_or_default()
    }

    fn declares_prompt(&self) -> bool {
        self.tags.iter().flatten().any(|t| {
            t.key.as_deref() == Some(keel_core::registry::IS_PROMPT_TAG)
                && t.value
                    .as_deref()
                    .is_some_and(|v| v.eq_ignore_ascii_case("true"))
        })
    }
}

/// The ID of the resource a request names, for its audit entry: read from the path, the query
/// or the body as the route's locator reads it, without looking anything up. Lists of IDs are
/// joined with commas.
pub fn subject(
    how: Locate,
    ids: &Ids,
    path_param: impl Fn(&str) -> Option<String>,
) -> Option<String> {
    let text = |v: &Option<Id>| v.as_ref().and_then(Id::text).filter(|s| !s.is_empty());
    let joined = |all: Vec<String>| (!all.is_empty()).then(|| all.join(","));
    let many = |v: &Option<OneOrMany>| joined(v.as_ref().map(OneOrMany::all).unwrap_or_default());
    match how {
        Locate::Experiment | Locate::CreateInExperiment(_) => text(&ids.experiment_id),
        Locate::ExperimentByName => text(&ids.experiment_name),
        Locate::Experiments => joined(ids.experiments()),
        Locate::Run | Locate::RunInQuery | Locate::LinkToRun => ids.run_id().ok(),
        Locate::Runs => many(&ids.run_ids).or_else(|| many(&ids.run_id)),
        Locate::LoggedModelInPath => path_param("model_id"),
        Locate::RunOrLoggedModel => ids.run_id().ok().or_else(|| text(&ids.model_id)),
        Locate::TraceInPath => path_param("trace_id"),
        Locate::Trace => text(&ids.trace_id).or_else(|| text(&ids.request_id)),
        Locate::Traces => many(&ids.trace_ids),
        Locate::TraceStart | Locate::OtlpExport => None,
        Locate::Model => text(&ids.name),
        Locate::ModelVersion => text(&ids.name).map(|name| match text(&ids.version) {
            Some(version) => format!("{name}/{version}"),
            None => name,
        }),
        Locate::Grant => Some(format!(
            "{}/{}",
            text(&ids.resource_type).unwrap_or_default(),
            text(&ids.resource_id).unwrap_or_default()
        )),
        Locate::ArtifactPath => path_param("path").or_else(|| text(&ids.path)),
        // The endpoint in the path; one named by the body's `model` is not read here.
        Locate::GatewayCall => path_param("endpoint_name"),
        Locate::Workspace | Locate::CreateInWorkspace(_) => {
            ["workspace_name", "webhook_id", "token_id", "assessment_id"]
                .into_iter()
                .find_map(&path_param)
                .or_else(|| text(&ids.name))
                .or_else(|| text(&ids.username))
        }
    }
}

/// Whether a request's body is read for its audit entry's resource ID: as authorization reads
/// it, and the small JSON bodies of workspace-wide actions (accounts, roles, webhooks).
pub fn audit_reads_body(locate: Locate) -> bool {
    reads_body(locate) || locate == Locate::Workspace
}

/// Whether a route's locator reads the JSON body of a POST, PATCH or DELETE.
pub fn reads_body(locate: Locate) -> bool {
    !matches!(
        locate,
        Locate::Workspace
            | Locate::LoggedModelInPath
            | Locate::TraceInPath
            | Locate::OtlpExport
            | Locate::ArtifactPath
            | Locate::RunInQuery
            | Locate::GatewayCall
    )
}

/// Resolves what a request acts on. Missing IDs are a 400 naming the field; a resource that
/// does not exist resolves to nothing anyone but administrators may touch (the handler then
/// answers 404 to them).
pub async fn locate(
    state: &AppState,
    locate: Locate,
    workspace: &str,
    parts: &Parts,
    path_param: impl Fn(&str) -> Option<String>,
    ids: &Ids,
) -> Result<Vec<Located>, Error> {
    let one = |l: Located| Ok(vec![l]);
    match locate {
        Locate::Workspace | Locate::GatewayCall => one(Located::Workspace { creates: None }),
        Locate::CreateInWorkspace(t) => {
            let t = if t == GrantType::RegisteredModel && ids.declares_prompt() {
                GrantType::Prompt
            } else {
                t
            };
            one(Located::Workspace { creates: Some(t) })
        }
        Locate::Experiment => one(Located::Experiment(Ids::one(
            "experiment_id",
            &ids.experiment_id,
        )?)),
        Locate::ExperimentByName => {
            let name = Ids::one("experiment_name", &ids.experiment_name)?;
            let id = state
                .tracking
                .get_experiment_by_name(workspace, &name)
                .await
                .map(|e| e.experiment_id)
                .unwrap_or_default();
            one(Located::Experiment(id))
        }
        Locate::Experiments => Ok(ids
            .experiments()
            .into_iter()
            .map(Located::Experiment)
            .collect()),
        Locate::CreateInExperiment(kind) => one(Located::CreateInExperiment {
            kind,
            experiment: Ids::one("experiment_id", &ids.experiment_id)?,
        }),
        Locate::Run | Locate::RunInQuery => one(run(state, ids.run_id()?).await),
        Locate::Runs => {
            let mut all = ids.run_ids.as_ref().map(OneOrMany::all).unwrap_or_default();
            if let Some(many) = &ids.run_id {
                all.extend(many.all());
            }
            let mut located = Vec::with_capacity(all.len());
            for id in all {
                located.push(run(state, id).await);
            }
            Ok(located)
        }
        Locate::LoggedModelInPath => {
            let id = path_param("model_id").ok_or_else(|| Error::missing_parameter("model_id"))?;
            one(logged_model(state, id).await)
        }
        Locate::RunOrLoggedModel => match (ids.run_id(), Ids::one("model_id", &ids.model_id)) {
            (Ok(run_id), _) => one(run(state, run_id).await),
            (Err(_), Ok(model_id)) => one(logged_model(state, model_id).await),
            (Err(e), Err(_)) => Err(e),
        },
        Locate::TraceInPath => {
            let id = path_param("trace_id").ok_or_else(|| Error::missing_parameter("trace_id"))?;
            one(trace(state, id).await)
        }
        Locate::Trace => {
            let id = Ids::one("trace_id", &ids.trace_id)
                .or_else(|_| Ids::one("request_id", &ids.request_id))?;
            one(trace(state, id).await)
        }
        Locate::Traces => Ok(traces(state, ids).await),
        Locate::TraceStart => {
            let experiment = ids
                .trace
                .as_ref()
                .and_then(|t| t.trace_info.as_ref())
                .and_then(|i| i.trace_location.as_ref())
                .and_then(|l| l.mlflow_experiment.as_ref())
                .and_then(|e| e.experiment_id.as_ref())
                .and_then(Id::text)
                .unwrap_or_default();
            one(Located::CreateInExperiment {
                kind: GrantType::Trace,
                experiment,
            })
        }
        Locate::OtlpExport => {
            let experiment = parts
                .headers
                .get(crate::handlers::traces::EXPERIMENT_HEADER)
                .and_then(|v| v.to_str().ok())
                .unwrap_or_default()
                .trim()
                .to_owned();
            one(Located::CreateInExperiment {
                kind: GrantType::Trace,
                experiment,
            })
        }
        Locate::LinkToRun => {
            let run = run(state, ids.run_id()?).await;
            let run_experiment = match &run {
                Located::InExperiment { experiment, .. } => experiment.clone(),
                _ => String::new(),
            };
            let mut located = vec![run];
            // A trace that has not arrived yet is only ever linked if it arrives in the run's
            // experiment, so the link is a write there.
            for mut trace in traces(state, ids).await {
                if let Located::InExperiment { experiment, .. } = &mut trace {
                    if experiment.is_empty() {
                        experiment.clone_from(&run_experiment);
                    }
                }
                located.push(trace);
            }
            Ok(located)
        }
        Locate::Model | Locate::ModelVersion => {
            let name = Ids::one("name", &ids.name)?;
            let prompt = state
                .registry
                .in_workspace(workspace)
                .get_registered_model(&name)
                .await
                .is_ok_and(|m| is_prompt(&m.tags));
            one(if locate == Locate::Model {
                Located::Model { prompt, name }
            } else {
                Located::Version { prompt, name }
            })
        }
        Locate::Grant => {
            let t = Ids::one("resource_type", &ids.resource_type)?;
            let id = Ids::one("resource_id", &ids.resource_id)?;
            let t = GrantType::parse(&t)?;
            one(match t {
                _ if id == "*" => Located::Workspace { creates: None },
                GrantType::Experiment => Located::Experiment(id),
                GrantType::RegisteredModel => Located::Model {
                    prompt: false,
                    name: id,
                },
                GrantType::Prompt => Located::Model {
                    prompt: true,
                    name: id,
                },
                GrantType::Scorer => {
                    let experiment = id.split('/').next().unwrap_or_default().to_owned();
                    in_experiment(GrantType::Scorer, experiment, ResourceKind::Scorer, id)
                }
                _ => Located::Workspace { creates: None },
            })
        }
        Locate::ArtifactPath => {
            let raw = path_param("path")
                .or_else(|| ids.path.as_ref().and_then(Id::text))
                .unwrap_or_default();
            let experiment = artifact_experiment(&raw, workspace)?;
            one(in_experiment(
                GrantType::Run,
                experiment.clone(),
                ResourceKind::Artifact,
                raw,
            ))
        }
    }
}

/// The experiment an artifact path is in: its first segment, after `workspaces/<name>/` for
/// experiments of a workspace other than `default` (where their artifacts live). The prefix
/// must name the request's workspace, and only `default` goes without it.
fn artifact_experiment(raw: &str, workspace: &str) -> Result<String, Error> {
    let mut segments = raw.trim_start_matches('/').split('/');
    let first = segments.next().unwrap_or_default();
    let (named, experiment) = if first == "workspaces" {
        (segments.next().unwrap_or_default(), segments.next())
    } else {
        (DEFAULT_WORKSPACE, Some(first))
    };
    if named != workspace {
        return Err(Error::invalid(format!(
            "Invalid path: artifacts of workspace '{workspace}' are under \
             'workspaces/{workspace}/' (or, in 'default', under no prefix), not '{raw}'."
        )));
    }
    Ok(experiment
        .filter(|s| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()))
        .unwrap_or_default()
        .to_owned())
}

fn in_experiment(
    kind: GrantType,
    experiment: String,
    resource: ResourceKind,
    id: String,
) -> Located {
    Located::InExperiment {
        kind,
        experiment,
        resource: (resource, id),
    }
}

/// A resource kept in an experiment: its experiment from the cache, else from `lookup`.
async fn in_parent(
    state: &AppState,
    grant: GrantType,
    kind: ResourceKind,
    id: &str,
    lookup: impl std::future::Future<Output = Option<String>>,
) -> Located {
    let experiment = state.parents.experiment_of(kind, id, lookup).await;
    in_experiment(grant, experiment, kind, id.to_owned())
}

async fn logged_model(state: &AppState, model_id: String) -> Located {
    let lookup = state.tracking.get_logged_model(&model_id, true);
    in_parent(
        state,
        GrantType::LoggedModel,
        ResourceKind::LoggedModel,
        &model_id,
        async { lookup.await.ok().map(|m| m.experiment_id) },
    )
    .await
}

pub(crate) async fn run(state: &AppState, run_id: String) -> Located {
    let lookup = state.tracking.run_info(&run_id);
    in_parent(state, GrantType::Run, ResourceKind::Run, &run_id, async {
        lookup.await.ok().map(|r| r.experiment_id)
    })
    .await
}

async fn trace(state: &AppState, trace_id: String) -> Located {
    let lookup = state.traces.get_trace_info(&trace_id);
    in_parent(
        state,
        GrantType::Trace,
        ResourceKind::Trace,
        &trace_id,
        async { lookup.await.ok().map(|t| t.experiment_id) },
    )
    .await
}

/// Every trace in `trace_ids`.
async fn traces(state: &AppState, ids: &Ids) -> Vec<Located> {
    let mut located = Vec::new();
    for id in ids
        .trace_ids
        .as_ref()
        .map(OneOrMany::all)
        .unwrap_or_default()
    {
        located.push(trace(state, id).await);
    }
    located
}

/// Whether a registered model's tags mark it a prompt (as its routes are authorized).
pub(crate) fn is_prompt(tags: &[keel_core::Tag]) -> bool {
    tags.iter().any(|t| {
        t.key == keel_core::registry::IS_PROMPT_TAG && t.value.eq_ignore_ascii_case("true")
    })
}
