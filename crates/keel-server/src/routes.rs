//! The route table: every HTTP route, declared once with the action and resource kind it
//! touches, so authorization and audit can wrap all routes uniformly.

use axum::Router;
use axum::http::Method;
use axum::routing::{MethodRouter, on};

use crate::authz::locate::Locate;
use crate::handlers::{
    access, accounts, artifacts, audit, experiments, gateway, logged_models, meta, multipart,
    presigned, promptlab, registry, runs, session, tokens, trace_edits, trace_search, trace_spans,
    traces, traces_v2, ui, webhooks, workspaces,
};
use crate::openapi::{Describe, OperationDoc, ResponseDoc, json};
use crate::state::AppState;
use keel_auth::grants::GrantType;

/// The kind of resource a route acts on (what a policy decides over).
pub use keel_auth::ResourceKind as Resource;

/// Where a route is mounted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mount {
    /// `/api/2.0/mlflow/<path>` and `/ajax-api/2.0/mlflow/<path>`.
    Mlflow2,
    /// Only `/ajax-api/2.0/mlflow/<path>` (UI helper endpoints).
    Ajax2,
    /// `/api/3.0/mlflow/<path>` and `/ajax-api/3.0/mlflow/<path>`.
    Mlflow3,
    /// Only `/ajax-api/3.0/mlflow/<path>` (Keel's UI helper endpoints; `/api/` stays MLflow's).
    Ajax3,
    /// `/api/2.0/mlflow-artifacts/<path>` and `/ajax-api/2.0/mlflow-artifacts/<path>`.
    Artifacts2,
    /// Keel's own API: `/api/3.0/keel/<path>` and `/ajax-api/3.0/keel/<path>`.
    Keel3,
    /// The path as written.
    Root,
}

impl Mount {
    /// The concrete paths a route at `path` is served at.
    pub fn paths(self, path: &str) -> Vec<String> {
        match self {
            Self::Mlflow2 => vec![
                format!("/api/2.0/mlflow/{path}"),
                format!("/ajax-api/2.0/mlflow/{path}"),
            ],
            Self::Ajax2 => vec![format!("/ajax-api/2.0/mlflow/{path}")],
            Self::Mlflow3 => vec![
                format!("/api/3.0/mlflow/{path}"),
                format!("/ajax-api/3.0/mlflow/{path}"),
            ],
            Self::Ajax3 => vec![format!("/ajax-api/3.0/mlflow/{path}")],
            Self::Artifacts2 => vec![
                format!("/api/2.0/mlflow-artifacts/{path}"),
                format!("/ajax-api/2.0/mlflow-artifacts/{path}"),
            ],
            Self::Keel3 => vec![
                format!("/api/3.0/keel/{path}"),
                format!("/ajax-api/3.0/keel/{path}"),
            ],
            Self::Root => vec![path.to_owned()],
        }
    }
}

/// What a request does, attached to each request as an extension.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RouteMeta {
    /// e.g. `runs.update`; an action of [`keel_auth::actions::CATALOGUE`].
    pub action: &'static str,
    pub resource: Resource,
    /// Where the request names its resource.
    pub locate: Locate,
}

/// One row of the route table.
pub struct Route {
    pub method: Method,
    pub mount: Mount,
    pub path: &'static str,
    pub meta: RouteMeta,
    /// What the route reads and answers, for the OpenAPI description (from the handler's
    /// signature; see [`crate::openapi`]).
    pub doc: OperationDoc,
    handler: MethodRouter<AppState>,
}

impl Route {
    /// Says where the request names its resource, when the resource kind's default does not.
    fn locate(mut self, locate: Locate) -> Self {
        self.meta.locate = locate;
        self
    }

    /// Says what a handler that answers a raw `Response` sends on success.
    fn responds(mut self, response: ResponseDoc) -> Self {
        self.doc.response = response;
        self
    }
}

impl std::fmt::Debug for Route {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Route")
            .field("method", &self.method)
            .field("mount", &self.mount)
            .field("path", &self.path)
            .field("meta", &self.meta)
            .finish()
    }
}

fn route<H, T, D>(
    method: Method,
    mount: Mount,
    path: &'static str,
    action: &'static str,
    resource: Resource,
    handler: H,
) -> Route
where
    H: axum::handler::Handler<T, AppState> + Describe<D>,
    T: 'static,
{
    let filter = axum::routing::MethodFilter::try_from(method.clone())
        .unwrap_or(axum::routing::MethodFilter::GET);
    Route {
        method,
        mount,
        path,
        meta: RouteMeta {
            action,
            resource,
            locate: default_locate(resource),
        },
        doc: H::doc(),
        handler: on(filter, handler),
    }
}

/// Where requests on a kind of resource name it, unless the route says otherwise.
fn default_locate(resource: Resource) -> Locate {
    match resource {
        Resource::Experiment => Locate::Experiment,
        Resource::Run => Locate::Run,
        Resource::LoggedModel => Locate::LoggedModelInPath,
        Resource::Trace => Locate::TraceInPath,
        Resource::RegisteredModel | Resource::Prompt => Locate::Model,
        Resource::ModelVersion => Locate::ModelVersion,
        Resource::Artifact => Locate::ArtifactPath,
        _ => Locate::Workspace,
    }
}

/// Every route Keel serves.
pub fn table() -> Vec<Route> {
    use Method as M;
    use Mount::*;
    use Resource::*;
    vec![
        route(
            M::GET,
            Root,
            "/health",
            "server.health",
            Server,
            meta::health,
        )
        .responds(ResponseDoc::Text),
        route(
            M::GET,
            Root,
            "/version",
            "server.version",
            Server,
            meta::version,
        )
        .responds(ResponseDoc::Text),
        // Prometheus metrics, when the operator exposes them (404 otherwise).
        route(
            M::GET,
            Root,
            crate::metrics::METRICS_PATH,
            "server.metrics.read",
            Server,
            crate::metrics::serve,
        )
        .responds(ResponseDoc::Text),
        // This API's OpenAPI description, generated from this table.
        route(
            M::GET,
            Root,
            "/api/openapi.json",
            "server.openapi",
            Server,
            meta::openapi,
        )
        .responds(json::<serde_json::Value>()),
        // The web UI: its page and its built files.
        // The reference's GraphQL API: any signed-in caller; each object is authorized by its
        // resolver.
        route(
            M::POST,
            Root,
            "/graphql",
            "graphql.read",
            Workspace,
            crate::graphql::serve,
        )
        .responds(json::<serde_json::Value>()),
        route(
            M::GET,
            Root,
            "/graphql",
            "graphql.read",
            Workspace,
            crate::graphql::serve,
        )
        .responds(json::<serde_json::Value>()),
        route(M::GET, Root, "/", "ui.read", Ui, ui::index),
        route(
            M::GET,
            Root,
            "/static-files/{*path}",
            "ui.read",
            Ui,
            ui::asset,
        ),
        route(
            M::GET,
            Mlflow3,
            "server-info",
            "server.info",
            Server,
            meta::server_info,
        ),
        // Workspaces (answered only with `enable_workspaces`).
        route(
            M::GET,
            Mlflow3,
            "workspaces",
            "workspaces.read",
            Workspace,
            workspaces::list,
        ),
        route(
            M::POST,
            Mlflow3,
            "workspaces",
            "workspaces.admin",
            Workspace,
            workspaces::create,
        )
        .responds(json::<workspaces::WorkspaceOut>()),
        route(
            M::GET,
            Mlflow3,
            "workspaces/{workspace_name}",
            "workspaces.read",
            Workspace,
            workspaces::get,
        ),
        route(
            M::PATCH,
            Mlflow3,
            "workspaces/{workspace_name}",
            "workspaces.admin",
            Workspace,
            workspaces::update,
        ),
        route(
            M::DELETE,
            Mlflow3,
            "workspaces/{workspace_name}",
            "workspaces.admin",
            Workspace,
            workspaces::delete,
        ),
        // Experiments.
        route(
            M::POST,
            Mlflow2,
            "experiments/create",
            "experiments.create",
            Experiment,
            experiments::create,
        )
        .locate(Locate::CreateInWorkspace(GrantType::Experiment)),
        route(
            M::GET,
            Mlflow2,
            "experiments/get",
            "experiments.read",
            Experiment,
            experiments::get,
        ),
        route(
            M::GET,
            Mlflow2,
            "experiments/get-by-name",
            "experiments.read",
            Experiment,
            experiments::get_by_name,
        )
        .locate(Locate::ExperimentByName),
        route(
            M::GET,
            Mlflow2,
            "experiments/search",
            "experiments.search",
            Experiment,
            experiments::search,
        )
        .locate(Locate::Workspace),
        route(
            M::POST,
            Mlflow2,
            "experiments/search",
            "experiments.search",
            Experiment,
            experiments::search,
        )
        .locate(Locate::Workspace),
        route(
            M::POST,
            Mlflow2,
            "experiments/update",
            "experiments.update",
            Experiment,
            experiments::update,
        ),
        route(
            M::POST,
            Mlflow2,
            "experiments/delete",
            "experiments.delete",
            Experiment,
            experiments::delete,
        ),
        route(
            M::POST,
            Mlflow2,
            "experiments/restore",
            "experiments.restore",
            Experiment,
            experiments::restore,
        ),
        route(
            M::POST,
            Mlflow2,
            "experiments/set-experiment-tag",
            "experiments.update",
            Experiment,
            experiments::set_tag,
        ),
        route(
            M::POST,
            Mlflow2,
            "experiments/delete-experiment-tag",
            "experiments.update",
            Experiment,
            experiments::delete_tag,
        ),
        route(
            M::POST,
            Ajax2,
            "experiments/search-datasets",
            "experiments.read",
            Experiment,
            experiments::search_datasets,
        )
        .locate(Locate::Experiments),
        // Runs.
        route(
            M::POST,
            Mlflow2,
            "runs/create",
            "runs.create",
            Experiment,
            runs::create,
        )
        .locate(Locate::CreateInExperiment(GrantType::Run)),
        route(
            M::POST,
            Ajax2,
            "runs/create-promptlab-run",
            "runs.create",
            Experiment,
            promptlab::create,
        )
        .responds(json::<runs::RunOut>())
        .locate(Locate::CreateInExperiment(GrantType::Run)),
        route(M::GET, Mlflow2, "runs/get", "runs.read", Run, runs::get),
        route(
            M::POST,
            Mlflow2,
            "runs/update",
            "runs.update",
            Run,
            runs::update,
        ),
        route(
            M::POST,
            Mlflow2,
            "runs/delete",
            "runs.delete",
            Run,
            runs::delete,
        ),
        route(
            M::POST,
            Mlflow2,
            "runs/restore",
            "runs.restore",
            Run,
            runs::restore,
        ),
        route(
            M::POST,
            Mlflow2,
            "runs/search",
            "runs.search",
            Experiment,
            runs::search,
        )
        .locate(Locate::Workspace),
        route(
            M::POST,
            Mlflow2,
            "runs/log-metric",
            "runs.update",
            Run,
            runs::log_metric,
        ),
        route(
            M::POST,
            Mlflow2,
            "runs/log-parameter",
            "runs.update",
            Run,
            runs::log_param,
        ),
        route(
            M::POST,
            Mlflow2,
            "runs/set-tag",
            "runs.update",
            Run,
            runs::set_tag,
        ),
        route(
            M::POST,
            Mlflow2,
            "runs/delete-tag",
            "runs.update",
            Run,
            runs::delete_tag,
        ),
        route(
            M::POST,
            Mlflow2,
            "runs/log-batch",
            "runs.update",
            Run,
            runs::log_batch,
        ),
        route(
            M::POST,
            Mlflow2,
            "runs/log-inputs",
            "runs.update",
            Run,
            runs::log_inputs,
        ),
        route(
            M::POST,
            Mlflow2,
            "runs/outputs",
            "runs.update",
            Run,
            runs::log_outputs,
        ),
        route(
            M::POST,
            Mlflow2,
            "runs/log-model",
            "runs.update",
            Run,
            logged_models::record,
        ),
        // Logged models (MLflow 3).
        route(
            M::POST,
            Mlflow2,
            "logged-models",
            "logged_models.create",
            LoggedModel,
            logged_models::create,
        )
        .locate(Locate::CreateInExperiment(GrantType::LoggedModel)),
        route(
            M::POST,
            Mlflow2,
            "logged-models/search",
            "logged_models.search",
            Workspace,
            logged_models::search,
        )
        .locate(Locate::Workspace),
        route(
            M::GET,
            Mlflow2,
            "logged-models/{model_id}",
            "logged_models.read",
            LoggedModel,
            logged_models::get,
        ),
        route(
            M::PATCH,
            Mlflow2,
            "logged-models/{model_id}",
            "logged_models.update",
            LoggedModel,
            logged_models::finalize,
        ),
        route(
            M::DELETE,
            Mlflow2,
            "logged-models/{model_id}",
            "logged_models.delete",
            LoggedModel,
            logged_models::delete,
        ),
        route(
            M::PATCH,
            Mlflow2,
            "logged-models/{model_id}/tags",
            "logged_models.update",
            LoggedModel,
            logged_models::set_tags,
        ),
        route(
            M::DELETE,
            Mlflow2,
            "logged-models/{model_id}/tags/{*tag_key}",
            "logged_models.update",
            LoggedModel,
            logged_models::delete_tag,
        ),
        route(
            M::POST,
            Mlflow2,
            "logged-models/{model_id}/params",
            "logged_models.update",
            LoggedModel,
            logged_models::log_params,
        ),
        route(
            M::GET,
            Mlflow2,
            "logged-models/{model_id}/artifacts/directories",
            "logged_models.read",
            LoggedModel,
            logged_models::list_artifacts,
        ),
        route(
            M::GET,
            Ajax2,
            "logged-models/{model_id}/artifacts/files",
            "logged_models.read",
            LoggedModel,
            logged_models::get_artifact,
        ),
        // Traces: OTLP span export and the v3 trace API. Fixed paths (`traces/get`, ...) win over
        // `traces/{trace_id}` in the router.
        route(
            M::POST,
            Root,
            "/v1/traces",
            "traces.write",
            Trace,
            traces::export,
        )
        .locate(Locate::OtlpExport),
        route(
            M::POST,
            Mlflow3,
            "traces",
            "traces.write",
            Trace,
            traces::start,
        )
        .locate(Locate::TraceStart),
        route(
            M::GET,
            Mlflow3,
            "traces/get",
            "traces.read",
            Trace,
            traces::get,
        )
        .responds(json::<traces::GetTraceOut>())
        .locate(Locate::Trace),
        route(
            M::GET,
            Mlflow3,
            "traces/batchGet",
            "traces.read",
            Trace,
            traces::batch_get,
        )
        .locate(Locate::Traces),
        route(
            M::POST,
            Mlflow3,
            "traces/search",
            "traces.search",
            Workspace,
            trace_search::search_v3,
        )
        .locate(Locate::Workspace),
        route(
            M::POST,
            Mlflow3,
            "traces/metrics",
            "traces.read",
            Experiment,
            trace_search::metrics,
        )
        .locate(Locate::Experiments),
        route(
            M::POST,
            Mlflow3,
            "traces/calculate-filter-correlation",
            "traces.read",
            Experiment,
            trace_search::filter_correlation,
        )
        .locate(Locate::Experiments),
        route(
            M::GET,
            Mlflow2,
            "traces",
            "traces.search",
            Workspace,
            trace_search::search_v2,
        )
        .locate(Locate::Workspace),
        // The deprecated v2 trace API older clients fall back to.
        route(
            M::POST,
            Mlflow2,
            "traces",
            "traces.write",
            Trace,
            traces_v2::start,
        )
        .locate(Locate::CreateInExperiment(GrantType::Trace)),
        route(
            M::PATCH,
            Mlflow2,
            "traces/{trace_id}",
            "traces.write",
            Trace,
            traces_v2::end,
        ),
        route(
            M::GET,
            Mlflow2,
            "traces/{trace_id}/info",
            "traces.read",
            Trace,
            traces_v2::get_info,
        ),
        route(
            M::POST,
            Mlflow3,
            "traces/batchGetInfos",
            "traces.read",
            Trace,
            traces::batch_get_infos,
        )
        .locate(Locate::Traces),
        route(
            M::GET,
            Mlflow3,
            "traces/{trace_id}",
            "traces.read",
            Trace,
            traces::get_info,
        ),
        // Keel's span skeleton and single spans for the web UI (not part of MLflow's API).
        route(
            M::GET,
            Ajax3,
            "traces/{trace_id}/spans",
            "traces.read",
            Trace,
            trace_spans::skeleton,
        ),
        route(
            M::GET,
            Ajax3,
            "traces/{trace_id}/spans/{span_id}",
            "traces.read",
            Trace,
            trace_spans::span,
        ),
        // Tags (the client always uses the v2 paths), deletion and links.
        route(
            M::PATCH,
            Mlflow2,
            "traces/{trace_id}/tags",
            "traces.write",
            Trace,
            trace_edits::set_tag,
        ),
        route(
            M::DELETE,
            Mlflow2,
            "traces/{trace_id}/tags",
            "traces.write",
            Trace,
            trace_edits::delete_tag,
        ),
        route(
            M::PATCH,
            Mlflow3,
            "traces/{trace_id}/tags",
            "traces.write",
            Trace,
            trace_edits::set_tag,
        ),
        route(
            M::DELETE,
            Mlflow3,
            "traces/{trace_id}/tags",
            "traces.write",
            Trace,
            trace_edits::delete_tag,
        ),
        route(
            M::POST,
            Mlflow2,
            "traces/delete-traces",
            "traces.delete",
            Trace,
            trace_edits::delete_traces,
        )
        .locate(Locate::Experiment),
        route(
            M::POST,
            Mlflow3,
            "traces/delete-traces",
            "traces.delete",
            Trace,
            trace_edits::delete_traces,
        )
        .locate(Locate::Experiment),
        route(
            M::POST,
            Mlflow2,
            "traces/link-to-run",
            "traces.write",
            Trace,
            trace_edits::link_to_run,
        )
        .locate(Locate::LinkToRun),
        route(
            M::POST,
            Mlflow2,
            "traces/link-prompts",
            "traces.write",
            Trace,
            trace_edits::link_prompts,
        )
        .locate(Locate::Trace),
        // Assessments.
        route(
            M::POST,
            Mlflow3,
            "traces/{trace_id}/assessments",
            "traces.write",
            Trace,
            trace_edits::create_assessment,
        ),
        route(
            M::GET,
            Mlflow3,
            "traces/{trace_id}/assessments/{assessment_id}",
            "traces.read",
            Trace,
            trace_edits::get_assessment,
        ),
        route(
            M::PATCH,
            Mlflow3,
            "traces/{trace_id}/assessments/{assessment_id}",
            "traces.write",
            Trace,
            trace_edits::update_assessment,
        ),
        route(
            M::DELETE,
            Mlflow3,
            "traces/{trace_id}/assessments/{assessment_id}",
            "traces.write",
            Trace,
            trace_edits::delete_assessment,
        ),
        // Model registry: registered models, their aliases and tags, and model versions.
        route(
            M::POST,
            Mlflow2,
            "registered-models/create",
            "registered_models.create",
            RegisteredModel,
            registry::create_model,
        )
        .locate(Locate::CreateInWorkspace(GrantType::RegisteredModel)),
        route(
            M::GET,
            Mlflow2,
            "registered-models/get",
            "registered_models.read",
            RegisteredModel,
            registry::get_model,
        ),
        route(
            M::POST,
            Mlflow2,
            "registered-models/rename",
            "registered_models.update",
            RegisteredModel,
            registry::rename_model,
        ),
        route(
            M::PATCH,
            Mlflow2,
            "registered-models/update",
            "registered_models.update",
            RegisteredModel,
            registry::update_model,
        ),
        route(
            M::DELETE,
            Mlflow2,
            "registered-models/delete",
            "registered_models.delete",
            RegisteredModel,
            registry::delete_model,
        ),
        route(
            M::GET,
            Mlflow2,
            "registered-models/search",
            "registered_models.search",
            RegisteredModel,
            registry::search_models,
        )
        .locate(Locate::Workspace),
        route(
            M::POST,
            Mlflow2,
            "registered-models/get-latest-versions",
            "registered_models.read",
            RegisteredModel,
            registry::latest_versions,
        ),
        route(
            M::GET,
            Mlflow2,
            "registered-models/get-latest-versions",
            "registered_models.read",
            RegisteredModel,
            registry::latest_versions,
        ),
        route(
            M::POST,
            Mlflow2,
            "registered-models/set-tag",
            "registered_models.update",
            RegisteredModel,
            registry::set_model_tag,
        ),
        route(
            M::DELETE,
            Mlflow2,
            "registered-models/delete-tag",
            "registered_models.update",
            RegisteredModel,
            registry::delete_model_tag,
        ),
        route(
            M::POST,
            Mlflow2,
            "registered-models/alias",
            "registered_models.update",
            RegisteredModel,
            registry::set_alias,
        ),
        route(
            M::DELETE,
            Mlflow2,
            "registered-models/alias",
            "registered_models.update",
            RegisteredModel,
            registry::delete_alias,
        ),
        route(
            M::GET,
            Mlflow2,
            "registered-models/alias",
            "model_versions.read",
            ModelVersion,
            registry::get_by_alias,
        ),
        route(
            M::POST,
            Mlflow2,
            "model-versions/create",
            "model_versions.create",
            RegisteredModel,
            registry::create_version,
        ),
        route(
            M::GET,
            Mlflow2,
            "model-versions/get",
            "model_versions.read",
            ModelVersion,
            registry::get_version,
        ),
        route(
            M::PATCH,
            Mlflow2,
            "model-versions/update",
            "model_versions.update",
            ModelVersion,
            registry::update_version,
        ),
        route(
            M::POST,
            Mlflow2,
            "model-versions/transition-stage",
            "model_versions.update",
            ModelVersion,
            registry::transition_stage,
        ),
        route(
            M::DELETE,
            Mlflow2,
            "model-versions/delete",
            "model_versions.delete",
            ModelVersion,
            registry::delete_version,
        ),
        route(
            M::GET,
            Mlflow2,
            "model-versions/search",
            "model_versions.search",
            ModelVersion,
            registry::search_versions,
        )
        .locate(Locate::Workspace),
        route(
            M::GET,
            Mlflow2,
            "model-versions/get-download-uri",
            "model_versions.read",
            ModelVersion,
            registry::download_uri,
        ),
        route(
            M::POST,
            Mlflow2,
            "model-versions/set-tag",
            "model_versions.update",
            ModelVersion,
            registry::set_version_tag,
        ),
        route(
            M::DELETE,
            Mlflow2,
            "model-versions/delete-tag",
            "model_versions.update",
            ModelVersion,
            registry::delete_version_tag,
        ),
        route(
            M::GET,
            Root,
            "/model-versions/get-artifact",
            "model_versions.read",
            ModelVersion,
            registry::get_artifact,
        ),
        // The web UI's sign-in and sign-out.
        route(
            M::POST,
            Keel3,
            "auth/login",
            "auth.login",
            Server,
            session::login,
        )
        .responds(json::<session::SessionOut>()),
        route(
            M::POST,
            Keel3,
            "auth/logout",
            "auth.logout",
            Server,
            session::logout,
        )
        .responds(json::<super::handlers::Empty>()),
        route(
            M::GET,
            Keel3,
            "auth/options",
            "auth.login",
            Server,
            session::options,
        ),
        // Single sign-on: to the identity provider and back (redirects).
        route(
            M::GET,
            Keel3,
            "auth/oidc/login",
            "auth.login",
            Server,
            session::sso_login,
        )
        .responds(ResponseDoc::Redirect),
        route(
            M::GET,
            Keel3,
            "auth/oidc/callback",
            "auth.login",
            Server,
            session::sso_callback,
        )
        .responds(ResponseDoc::Redirect),
        route(
            M::GET,
            Keel3,
            "auth/session",
            "accounts.self",
            Account,
            session::current,
        ),
        // The caller's level on a page's resources (for the UI to offer what they may do).
        route(
            M::POST,
            Keel3,
            "permissions/mine",
            "accounts.self",
            Account,
            access::mine,
        ),
        // Who has access to one resource, for those who manage it.
        route(
            M::GET,
            Keel3,
            "permissions/holders",
            "permissions.manage",
            Account,
            access::holders,
        )
        .locate(Locate::Grant),
        // The audit log: checkpoints, the verifier key and proofs for anyone signed in (as a
        // witness would check it); entries and searches for administrators.
        route(
            M::GET,
            Keel3,
            "audit/checkpoint",
            "audit.proofs.read",
            Server,
            audit::checkpoint,
        )
        .responds(ResponseDoc::Text),
        route(
            M::GET,
            Keel3,
            "audit/key",
            "audit.proofs.read",
            Server,
            audit::key,
        )
        .responds(ResponseDoc::Text),
        route(
            M::GET,
            Keel3,
            "audit/checkpoints",
            "audit.proofs.read",
            Server,
            audit::checkpoints,
        ),
        route(
            M::GET,
            Keel3,
            "audit/proofs/inclusion",
            "audit.proofs.read",
            Server,
            audit::inclusion,
        ),
        route(
            M::GET,
            Keel3,
            "audit/proofs/consistency",
            "audit.proofs.read",
            Server,
            audit::consistency,
        ),
        route(
            M::GET,
            Keel3,
            "audit/entries",
            "audit.read",
            Server,
            audit::entries,
        ),
        route(
            M::GET,
            Keel3,
            "audit/search",
            "audit.read",
            Server,
            audit::search,
        ),
        // API tokens: the caller's own (any account's, for administrators).
        route(
            M::GET,
            Keel3,
            "tokens",
            "tokens.self",
            Account,
            tokens::list,
        ),
        route(
            M::POST,
            Keel3,
            "tokens",
            "credentials.change",
            Account,
            tokens::issue,
        ),
        route(
            M::DELETE,
            Keel3,
            "tokens/{token_id}",
            "credentials.change",
            Account,
            tokens::revoke,
        ),
        // Accounts, roles and grants: the reference's auth REST API.
        route(
            M::POST,
            Mlflow2,
            "users/create",
            "accounts.create",
            Account,
            accounts::create_user,
        ),
        route(
            M::POST,
            Keel3,
            "service-accounts",
            "accounts.create",
            Account,
            accounts::create_service_account,
        ),
        route(
            M::GET,
            Mlflow2,
            "users/get",
            "accounts.self",
            Account,
            accounts::get_user,
        ),
        route(
            M::GET,
            Mlflow2,
            "users/current",
            "accounts.self",
            Account,
            accounts::current_user,
        ),
        route(
            M::GET,
            Mlflow2,
            "users/list",
            "accounts.list",
            Account,
            accounts::list_users,
        ),
        route(
            M::PATCH,
            Mlflow2,
            "users/update-password",
            "credentials.change",
            Account,
            accounts::update_password,
        ),
        route(
            M::PATCH,
            Mlflow2,
            "users/update-admin",
            "accounts.admin",
            Account,
            accounts::update_admin,
        ),
        route(
            M::DELETE,
            Mlflow2,
            "users/delete",
            "accounts.admin",
            Account,
            accounts::delete_user,
        ),
        route(
            M::POST,
            Mlflow3,
            "roles/create",
            "roles.admin",
            Role,
            accounts::create_role,
        ),
        route(
            M::GET,
            Mlflow3,
            "roles/get",
            "roles.read",
            Role,
            accounts::get_role,
        ),
        route(
            M::GET,
            Mlflow3,
            "roles/list",
            "roles.read",
            Role,
            accounts::list_roles,
        ),
        route(
            M::PATCH,
            Mlflow3,
            "roles/update",
            "roles.admin",
            Role,
            accounts::update_role,
        ),
        route(
            M::DELETE,
            Mlflow3,
            "roles/delete",
            "roles.admin",
            Role,
            accounts::delete_role,
        ),
        route(
            M::POST,
            Mlflow3,
            "roles/permissions/add",
            "roles.admin",
            Role,
            accounts::add_role_permission,
        ),
        route(
            M::DELETE,
            Mlflow3,
            "roles/permissions/remove",
            "roles.admin",
            Role,
            accounts::remove_role_permission,
        ),
        route(
            M::GET,
            Mlflow3,
            "roles/permissions/list",
            "roles.read",
            Role,
            accounts::list_role_permissions,
        ),
        route(
            M::PATCH,
            Mlflow3,
            "roles/permissions/update",
            "roles.admin",
            Role,
            accounts::update_role_permission,
        ),
        route(
            M::POST,
            Mlflow3,
            "roles/assign",
            "roles.admin",
            Role,
            accounts::assign_role,
        ),
        route(
            M::DELETE,
            Mlflow3,
            "roles/unassign",
            "roles.admin",
            Role,
            accounts::unassign_role,
        ),
        route(
            M::GET,
            Mlflow3,
            "roles/users/list",
            "roles.admin",
            Role,
            accounts::list_role_users,
        ),
        route(
            M::GET,
            Mlflow3,
            "users/roles/list",
            "accounts.self",
            Account,
            accounts::list_user_roles,
        ),
        route(
            M::GET,
            Mlflow3,
            "users/current/permissions",
            "accounts.self",
            Account,
            accounts::current_permissions,
        ),
        route(
            M::GET,
            Mlflow3,
            "users/permissions/list",
            "accounts.self",
            Account,
            accounts::list_user_permissions,
        ),
        route(
            M::POST,
            Mlflow3,
            "users/permissions/grant",
            "permissions.manage",
            Account,
            accounts::grant_permission,
        )
        .locate(Locate::Grant),
        route(
            M::POST,
            Mlflow3,
            "users/permissions/revoke",
            "permissions.manage",
            Account,
            accounts::revoke_permission,
        )
        .locate(Locate::Grant),
        route(
            M::GET,
            Mlflow3,
            "users/permissions/get",
            "accounts.self",
            Account,
            accounts::get_permission,
        ),
        // Webhooks (MLflow's API) and Keel's delivery log.
        // The AI gateway's configuration: provider secrets and model definitions (workspace
        // administrators).
        route(
            M::POST,
            Mlflow3,
            "gateway/secrets/create",
            "gateway.secrets.create",
            Workspace,
            gateway::create_secret,
        ),
        route(
            M::GET,
            Mlflow3,
            "gateway/secrets/get",
            "gateway.secrets.read",
            Workspace,
            gateway::get_secret,
        ),
        route(
            M::POST,
            Mlflow3,
            "gateway/secrets/update",
            "gateway.secrets.update",
            Workspace,
            gateway::update_secret,
        ),
        route(
            M::DELETE,
            Mlflow3,
            "gateway/secrets/delete",
            "gateway.secrets.delete",
            Workspace,
            gateway::delete_secret,
        ),
        route(
            M::GET,
            Mlflow3,
            "gateway/secrets/list",
            "gateway.secrets.read",
            Workspace,
            gateway::list_secrets,
        ),
        route(
            M::POST,
            Mlflow3,
            "gateway/model-definitions/create",
            "gateway.model_definitions.create",
            Workspace,
            gateway::create_model_definition,
        ),
        route(
            M::GET,
            Mlflow3,
            "gateway/model-definitions/get",
            "gateway.model_definitions.read",
            Workspace,
            gateway::get_model_definition,
        ),
        route(
            M::GET,
            Mlflow3,
            "gateway/model-definitions/list",
            "gateway.model_definitions.read",
            Workspace,
            gateway::list_model_definitions,
        ),
        route(
            M::POST,
            Mlflow3,
            "gateway/model-definitions/update",
            "gateway.model_definitions.update",
            Workspace,
            gateway::update_model_definition,
        ),
        route(
            M::DELETE,
            Mlflow3,
            "gateway/model-definitions/delete",
            "gateway.model_definitions.delete",
            Workspace,
            gateway::delete_model_definition,
        ),
        route(
            M::POST,
            Mlflow2,
            "webhooks",
            "webhooks.create",
            Webhook,
            webhooks::create,
        ),
        route(
            M::GET,
            Mlflow2,
            "webhooks",
            "webhooks.read",
            Webhook,
            webhooks::list,
        ),
        route(
            M::GET,
            Mlflow2,
            "webhooks/{webhook_id}",
            "webhooks.read",
            Webhook,
            webhooks::get,
        ),
        route(
            M::PATCH,
            Mlflow2,
            "webhooks/{webhook_id}",
            "webhooks.update",
            Webhook,
            webhooks::update,
        ),
        route(
            M::DELETE,
            Mlflow2,
            "webhooks/{webhook_id}",
            "webhooks.delete",
            Webhook,
            webhooks::delete,
        ),
        route(
            M::POST,
            Mlflow2,
            "webhooks/{webhook_id}/test",
            "webhooks.test",
            Webhook,
            webhooks::test,
        ),
        route(
            M::GET,
            Mlflow2,
            "webhooks/{webhook_id}/deliveries",
            "webhooks.read",
            Webhook,
            webhooks::deliveries,
        ),
        route(
            M::GET,
            Mlflow2,
            "metrics/get-history",
            "runs.read",
            Run,
            runs::metric_history,
        )
        .responds(json::<runs::HistoryOut>()),
        // A trace's spans (or one of its attachments) as the file the reference's web UI
        // downloads.
        route(
            M::GET,
            Ajax2,
            "get-trace-artifact",
            "traces.read",
            Trace,
            traces::artifact,
        )
        .locate(Locate::Trace),
        route(
            M::GET,
            Ajax3,
            "get-trace-artifact",
            "traces.read",
            Trace,
            traces::artifact,
        )
        .locate(Locate::Trace),
        // The web UI's file upload to a run's artifacts (the body is the file, not JSON).
        route(
            M::POST,
            Ajax2,
            "upload-artifact",
            "runs.update",
            Run,
            artifacts::upload_run_artifact,
        )
        .locate(Locate::RunInQuery)
        .responds(ResponseDoc::Text),
        route(
            M::GET,
            Ajax2,
            "metrics/get-history-bulk",
            "runs.read",
            Run,
            runs::metric_history_bulk,
        )
        .locate(Locate::Runs)
        .responds(json::<runs::BulkOut>()),
        route(
            M::GET,
            Mlflow2,
            "metrics/get-history-bulk-interval",
            "runs.read",
            Run,
            runs::metric_history_interval,
        )
        .locate(Locate::Runs),
        route(
            M::GET,
            Mlflow2,
            "artifacts/list",
            "runs.read",
            Run,
            artifacts::list_run,
        ),
        route(
            M::GET,
            Root,
            "/get-artifact",
            "runs.read",
            Run,
            artifacts::get_run_artifact,
        ),
        // The artifact proxy.
        route(
            M::GET,
            Artifacts2,
            "artifacts",
            "artifacts.list",
            Artifact,
            artifacts::list,
        ),
        route(
            M::GET,
            Artifacts2,
            "artifacts/{*path}",
            "artifacts.read",
            Artifact,
            artifacts::download,
        ),
        route(
            M::PUT,
            Artifacts2,
            "artifacts/{*path}",
            "artifacts.write",
            Artifact,
            artifacts::upload,
        ),
        route(
            M::DELETE,
            Artifacts2,
            "artifacts/{*path}",
            "artifacts.delete",
            Artifact,
            artifacts::delete,
        ),
        // Signed URLs for direct access to the bucket (S3 only).
        route(
            M::GET,
            Artifacts2,
            "presigned/{*path}",
            "artifacts.read",
            Artifact,
            presigned::proxied_download,
        ),
        route(
            M::POST,
            Mlflow2,
            "artifacts/presigned-download-url",
            "runs.read",
            Run,
            presigned::run_download,
        ),
        route(
            M::POST,
            Mlflow2,
            "artifacts/presigned-upload-url",
            "artifacts.presign_upload",
            Run,
            presigned::upload,
        )
        .locate(Locate::RunOrLoggedModel),
        // Proxied multipart upload: create hands out part URLs that point back at Keel.
        route(
            M::POST,
            Artifacts2,
            "mpu/create/{*path}",
            "artifacts.write",
            Artifact,
            multipart::create,
        ),
        route(
            M::PUT,
            Artifacts2,
            "mpu/part/{upload_id}/{part_number}",
            "artifacts.upload_part",
            Artifact,
            multipart::put_part,
        )
        .responds(json::<crate::handlers::Empty>())
        .locate(Locate::Workspace),
        route(
            M::POST,
            Artifacts2,
            "mpu/complete/{*path}",
            "artifacts.write",
            Artifact,
            multipart::complete,
        ),
        route(
            M::POST,
            Artifacts2,
            "mpu/abort/{*path}",
            "artifacts.write",
            Artifact,
            multipart::abort,
        ),
    ]
}

/// Builds the router from the table, tagging each request with its route's [`RouteMeta`].
pub fn router(state: AppState) -> Router {
    let mut by_path: Vec<(String, MethodRouter<AppState>)> = Vec::new();
    let authz = axum::middleware::from_fn_with_state(state.clone(), crate::authz::enforce);
    for r in table() {
        // The route's metadata is attached first (outermost), so authorization sees it.
        let handler = r
            .handler
            .layer::<_, std::convert::Infallible>(authz.clone())
            .layer(axum::Extension(r.meta));
        for path in r.mount.paths(r.path) {
            match by_path.iter_mut().find(|(p, _)| *p == path) {
                Some((_, existing)) => {
                    let merged = std::mem::take(existing).merge(handler.clone());
                    *existing = merged;
                }
                None => by_path.push((path, handler.clone())),
            }
        }
    }
    let mut router = Router::new();
    for (path, method_router) in by_path {
        router = router.route(&path, method_router.fallback(meta::method_not_allowed));
    }
    router.fallback(meta::not_found).with_state(state)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_route_is_unique_and_named() {
        let table = table();
        let mut seen = std::collections::HashSet::new();
        for r in &table {
            assert!(r.meta.action.contains('.'), "{}", r.path);
            assert!(
                seen.insert((r.method.clone(), r.mount.paths(r.path))),
                "duplicate {}",
                r.path
            );
        }
    }
}
