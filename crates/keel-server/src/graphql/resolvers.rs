//! The root fields of the reference's GraphQL schema and the inputs they take. Each resolves
//! through the same services, and the same authorization, as its REST route; an object the
//! caller may not read resolves to `null` without an error, as on the reference's basic-auth
//! server.

use async_graphql::{Context, Enum, InputObject, MaybeUndefined, Object, Result};
use axum::http::request::Parts;
use keel_auth::ResourceKind;
use keel_auth::grants::GrantType;
use keel_core::tracking::IntervalRequest;

use super::objects::*;
use crate::authz::locate::{self, Located};
use crate::authz::searchable::retain_readable;
use crate::authz::{Caller, permits};
use crate::handlers::artifacts::{RunArtifactIn, list_run_files};
use crate::handlers::registry::search_visible_versions;
use crate::handlers::runs::search_readable;
use crate::state::AppState;
use crate::wire::proto::Stringish;
use crate::wire::registry::SearchIn;
use crate::wire::requests::SearchRunsIn;
use crate::workspace::ActiveWorkspace;

/// What every resolver reads: the services, who is asking, in which workspace, and the
/// request's head (for the audit log's entries of denials and the URL's query string).
pub struct Env {
    pub state: AppState,
    pub caller: Caller,
    pub workspace: ActiveWorkspace,
    pub head: Parts,
}

fn env<'a>(ctx: &Context<'a>) -> &'a Env {
    ctx.data_unchecked::<Env>()
}

/// A field's value, or `null` with its error added to the response. (async-graphql would drop
/// a field that fails from its object; GraphQL and the reference make it `null`.)
pub(super) fn nullable<T>(ctx: &Context<'_>, result: Result<Option<T>>) -> Option<T> {
    result.unwrap_or_else(|e| {
        ctx.add_error(e.into_server_error(ctx.item.pos));
        None
    })
}

/// A domain error as a field error, in the words the REST route would use.
fn field_error(e: keel_core::Error) -> async_graphql::Error {
    async_graphql::Error::new(crate::error::shown_message(e))
}

/// A root field's `input`: the reference's resolvers take it as a required argument, so a field
/// without it (or with `null`) is `null` with an error.
fn required<T>(input: MaybeUndefined<T>, field: &str) -> Result<T> {
    match input {
        MaybeUndefined::Value(v) => Ok(v),
        _ => Err(format!("{field} needs its 'input' argument.").into()),
    }
}

/// Whether the caller may do `action` on `located`.
async fn may(
    ctx: &Context<'_>,
    action: &'static str,
    kind: ResourceKind,
    located: &Located,
) -> Result<bool> {
    let e = env(ctx);
    permits(
        &e.state,
        &e.caller.0,
        &e.workspace.0,
        action,
        kind,
        located,
        &e.head,
    )
    .await
    .map_err(field_error)
}

/// The strings of a `[String]` input, nulls left out.
fn strings(list: Option<Vec<Option<String>>>) -> Vec<String> {
    list.unwrap_or_default().into_iter().flatten().collect()
}

#[derive(Debug, InputObject)]
#[graphql(name = "MlflowGetExperimentInput")]
pub struct GetExperimentInput {
    experiment_id: Option<String>,
}

#[derive(Debug, InputObject)]
#[graphql(name = "MlflowGetMetricHistoryBulkIntervalInput")]
pub struct GetMetricHistoryBulkIntervalInput {
    run_ids: Option<Vec<Option<String>>>,
    metric_key: Option<String>,
    start_step: Option<i32>,
    end_step: Option<i32>,
    max_results: Option<i32>,
}

#[derive(Debug, InputObject)]
#[graphql(name = "MlflowGetRunInput")]
pub struct GetRunInput {
    run_id: Option<String>,
    run_uuid: Option<String>,
}

#[derive(Debug, InputObject)]
#[graphql(name = "MlflowListArtifactsInput")]
pub struct ListArtifactsInput {
    run_id: Option<String>,
    run_uuid: Option<String>,
    path: Option<String>,
    page_token: Option<String>,
}

#[derive(Debug, InputObject)]
#[graphql(name = "MlflowSearchModelVersionsInput")]
pub struct SearchModelVersionsInput {
    filter: Option<String>,
    max_results: Option<LongString>,
    order_by: Option<Vec<Option<String>>>,
    page_token: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Enum)]
#[graphql(name = "MlflowViewType", rename_items = "SCREAMING_SNAKE_CASE")]
pub enum ViewType {
    ActiveOnly,
    DeletedOnly,
    All,
}

impl ViewType {
    fn as_str(self) -> &'static str {
        match self {
            Self::ActiveOnly => "ACTIVE_ONLY",
            Self::DeletedOnly => "DELETED_ONLY",
            Self::All => "ALL",
        }
    }
}

#[derive(Debug, InputObject)]
#[graphql(name = "MlflowSearchRunsInput")]
pub struct SearchRunsInput {
    experiment_ids: Option<Vec<Option<String>>>,
    filter: Option<String>,
    run_view_type: Option<ViewType>,
    max_results: Option<i32>,
    order_by: Option<Vec<Option<String>>>,
    page_token: Option<String>,
}

#[derive(Debug, InputObject)]
#[graphql(name = "MlflowSearchDatasetsInput")]
pub struct SearchDatasetsInput {
    experiment_ids: Option<Vec<Option<String>>>,
}

/// The root query type.
pub struct Query;

#[Object(name = "Query")]
impl Query {
    async fn mlflow_get_experiment(
        &self,
        ctx: &Context<'_>,
        input: MaybeUndefined<GetExperimentInput>,
    ) -> Option<GetExperimentResponse> {
        nullable(ctx, get_experiment(ctx, input).await)
    }

    async fn mlflow_get_metric_history_bulk_interval(
        &self,
        ctx: &Context<'_>,
        input: MaybeUndefined<GetMetricHistoryBulkIntervalInput>,
    ) -> Option<GetMetricHistoryBulkIntervalResponse> {
        nullable(ctx, get_metric_history_bulk_interval(ctx, input).await)
    }

    async fn mlflow_get_run(
        &self,
        ctx: &Context<'_>,
        input: MaybeUndefined<GetRunInput>,
    ) -> Option<GetRunResponse> {
        nullable(ctx, get_run(ctx, input).await)
    }

    async fn mlflow_list_artifacts(
        &self,
        ctx: &Context<'_>,
        input: MaybeUndefined<ListArtifactsInput>,
    ) -> Option<ListArtifactsResponse> {
        nullable(ctx, list_artifacts(ctx, input).await)
    }

    async fn mlflow_search_model_versions(
        &self,
        ctx: &Context<'_>,
        input: MaybeUndefined<SearchModelVersionsInput>,
    ) -> Option<SearchModelVersionsResponse> {
        nullable(ctx, search_model_versions(ctx, input).await)
    }

    /// Simple echoing field
    async fn test(&self, ctx: &Context<'_>, input_string: MaybeUndefined<String>) -> Option<Test> {
        nullable(
            ctx,
            match input_string {
                MaybeUndefined::Undefined => Err("test needs its 'inputString' argument.".into()),
                MaybeUndefined::Null => Ok(Some(Test { output: None })),
                MaybeUndefined::Value(s) => Ok(Some(Test { output: Some(s) })),
            },
        )
    }

    async fn mlflow_search_runs(
        &self,
        ctx: &Context<'_>,
        input: MaybeUndefined<SearchRunsInput>,
    ) -> Option<SearchRunsResponse> {
        nullable(ctx, search_runs(ctx, input).await)
    }
}

/// The root mutation type. Its fields only read: the reference declares searches here.
pub struct Mutation;

#[Object(name = "Mutation")]
impl Mutation {
    async fn mlflow_search_datasets(
        &self,
        ctx: &Context<'_>,
        input: MaybeUndefined<SearchDatasetsInput>,
    ) -> Option<SearchDatasetsResponse> {
        nullable(ctx, search_datasets(ctx, input).await)
    }

    async fn mlflow_search_runs(
        &self,
        ctx: &Context<'_>,
        input: MaybeUndefined<SearchRunsInput>,
    ) -> Option<SearchRunsResponse> {
        nullable(ctx, search_runs(ctx, input).await)
    }

    /// Simple echoing field. (The reference never calls its resolver, so it is always `null`.)
    async fn test_mutation(&self, input_string: Option<String>) -> Option<TestMutation> {
        let _ = input_string;
        None
    }
}

async fn get_experiment(
    ctx: &Context<'_>,
    input: MaybeUndefined<GetExperimentInput>,
) -> Result<Option<GetExperimentResponse>> {
    let input = required(input, "mlflowGetExperiment")?;
    // As the reference's store, an empty ID names the default experiment.
    let id = input
        .experiment_id
        .filter(|id| !id.is_empty())
        .unwrap_or_else(|| "0".to_owned());
    let located = Located::Experiment(id.clone());
    if !may(ctx, "experiments.read", ResourceKind::Experiment, &located).await? {
        return Ok(None);
    }
    let experiment = env(ctx)
        .state
        .tracking
        .get_experiment(&id)
        .await
        .map_err(field_error)?;
    Ok(Some(GetExperimentResponse {
        experiment: Some(experiment.into()),
        api_error: None,
    }))
}

/// A sampled history of one metric of several runs. The reference reads `startStep`, `endStep`
/// and `maxResults` from the URL's query string only; Keel takes them from the input, or else
/// from the query string.
async fn get_metric_history_bulk_interval(
    ctx: &Context<'_>,
    input: MaybeUndefined<GetMetricHistoryBulkIntervalInput>,
) -> Result<Option<GetMetricHistoryBulkIntervalResponse>> {
    let input = required(input, "mlflowGetMetricHistoryBulkInterval")?;
    let run_ids = strings(input.run_ids);
    let Some(metric_key) = input.metric_key.filter(|_| !run_ids.is_empty()) else {
        // No runs or no metric: nothing, as the reference answers.
        return Ok(Some(GetMetricHistoryBulkIntervalResponse {
            metrics: Some(Vec::new()),
            api_error: None,
        }));
    };
    let e = env(ctx);
    let url: UrlSteps = e
        .head
        .uri
        .query()
        .and_then(|q| crate::extract::parse_query(q).ok())
        .unwrap_or_default();
    let request = IntervalRequest {
        start_step: input.start_step.map(i64::from).or(url.start_step),
        end_step: input.end_step.map(i64::from).or(url.end_step),
        max_results: input.max_results.map(i64::from).or(url.max_results),
        metric_key,
        run_ids,
    };
    // Checked before any run is looked up, so a long list is refused at once.
    request.check().map_err(field_error)?;
    for id in &request.run_ids {
        let located = locate::run(&e.state, id.clone()).await;
        if !may(ctx, "runs.read", ResourceKind::Run, &located).await? {
            return Ok(None);
        }
    }
    let points = e
        .state
        .tracking
        .metric_history_interval(request)
        .await
        .map_err(field_error)?;
    Ok(Some(GetMetricHistoryBulkIntervalResponse {
        metrics: Some(points.into_iter().map(MetricWithRunId::from).collect()),
        api_error: None,
    }))
}

async fn get_run(
    ctx: &Context<'_>,
    input: MaybeUndefined<GetRunInput>,
) -> Result<Option<GetRunResponse>> {
    let input = required(input, "mlflowGetRun")?;
    let id = run_id(input.run_id, input.run_uuid);
    let e = env(ctx);
    let located = locate::run(&e.state, id.clone()).await;
    if !may(ctx, "runs.read", ResourceKind::Run, &located).await? {
        return Ok(None);
    }
    let run = e.state.tracking.get_run(&id).await.map_err(field_error)?;
    Ok(Some(GetRunResponse {
        run: Some(run.into()),
        api_error: None,
    }))
}

async fn list_artifacts(
    ctx: &Context<'_>,
    input: MaybeUndefined<ListArtifactsInput>,
) -> Result<Option<ListArtifactsResponse>> {
    let input = required(input, "mlflowListArtifacts")?;
    // Listings are not paged (the reference ignores `pageToken` too).
    let _ = input.page_token;
    let id = run_id(input.run_id, input.run_uuid);
    let e = env(ctx);
    let located = locate::run(&e.state, id.clone()).await;
    if !may(ctx, "runs.read", ResourceKind::Run, &located).await? {
        return Ok(None);
    }
    let listed = list_run_files(
        &e.state,
        RunArtifactIn {
            run_id: Some(id),
            run_uuid: None,
            path: input.path,
        },
    )
    .await
    .map_err(field_error)?;
    Ok(Some(ListArtifactsResponse {
        root_uri: Some(listed.root_uri),
        files: Some(
            listed
                .files
                .into_iter()
                .map(|f| {
                    let size = f.file_size.map(|n| i64::try_from(n).unwrap_or(i64::MAX));
                    FileInfo::new(f.path, f.is_dir, size)
                })
                .collect(),
        ),
        next_page_token: Some(String::new()),
        api_error: None,
    }))
}

async fn search_model_versions(
    ctx: &Context<'_>,
    input: MaybeUndefined<SearchModelVersionsInput>,
) -> Result<Option<SearchModelVersionsResponse>> {
    let input = required(input, "mlflowSearchModelVersions")?;
    let search = SearchIn {
        filter: input.filter,
        max_results: input.max_results.map(|n| n.0),
        order_by: strings(input.order_by),
        page_token: input.page_token,
    };
    let page = versions(ctx, search).await?;
    Ok(Some(SearchModelVersionsResponse {
        model_versions: Some(page.items.into_iter().map(ModelVersion::from).collect()),
        next_page_token: Some(page.next_page_token.unwrap_or_default()),
        api_error: None,
    }))
}

async fn search_datasets(
    ctx: &Context<'_>,
    input: MaybeUndefined<SearchDatasetsInput>,
) -> Result<Option<SearchDatasetsResponse>> {
    let input = required(input, "mlflowSearchDatasets")?;
    let mut ids = strings(input.experiment_ids);
    // The counts are checked on the request as sent, before any is dropped as unreadable.
    keel_core::tracking::check_dataset_search(&ids).map_err(field_error)?;
    let e = env(ctx);
    retain_readable(
        &e.state,
        &e.caller,
        &e.workspace,
        GrantType::Run,
        true,
        &mut ids,
    )
    .await
    .map_err(field_error)?;
    let found = if ids.is_empty() {
        Vec::new()
    } else {
        e.state
            .tracking
            .search_datasets(ids)
            .await
            .map_err(field_error)?
    };
    Ok(Some(SearchDatasetsResponse {
        dataset_summaries: Some(found.into_iter().map(DatasetSummary::from).collect()),
        api_error: None,
    }))
}

/// The query-string parameters the reference's bulk-interval resolver reads.
#[derive(Debug, Default, serde::Deserialize)]
struct UrlSteps {
    #[serde(default, deserialize_with = "crate::wire::proto::opt_i64")]
    start_step: Option<i64>,
    #[serde(default, deserialize_with = "crate::wire::proto::opt_i64")]
    end_step: Option<i64>,
    #[serde(default, deserialize_with = "crate::wire::proto::opt_i64")]
    max_results: Option<i64>,
}

/// `run_id`, or else the legacy `run_uuid` (empty when neither is given, as the reference
/// looks it up).
fn run_id(run_id: Option<String>, run_uuid: Option<String>) -> String {
    run_id
        .filter(|id| !id.is_empty())
        .or(run_uuid)
        .unwrap_or_default()
}

async fn search_runs(
    ctx: &Context<'_>,
    input: MaybeUndefined<SearchRunsInput>,
) -> Result<Option<SearchRunsResponse>> {
    let input = required(input, "mlflowSearchRuns")?;
    let e = env(ctx);
    let request = SearchRunsIn {
        experiment_ids: strings(input.experiment_ids)
            .into_iter()
            .map(Stringish)
            .collect(),
        filter: input.filter,
        run_view_type: input
            .run_view_type
            .map(|v| Stringish(v.as_str().to_owned())),
        max_results: input.max_results.map(i64::from),
        order_by: strings(input.order_by),
        page_token: input.page_token,
    };
    let page = search_readable(&e.state, &e.caller, &e.workspace, request)
        .await
        .map_err(field_error)?;
    let mut runs: Vec<Run> = page.items.into_iter().map(Run::from).collect();
    // A page may hold 50,000 runs: their experiments and versions are read once for the page,
    // not once per run.
    let selected = ctx.look_ahead().field("runs");
    if selected.field("experiment").exists() {
        attach_experiments(ctx, &mut runs).await;
    }
    if selected.field("modelVersions").exists() {
        attach_versions(ctx, &mut runs).await?;
    }
    Ok(Some(SearchRunsResponse {
        runs: Some(runs),
        next_page_token: Some(page.next_page_token.unwrap_or_default()),
        api_error: None,
    }))
}

/// Hands each run its experiment, each read once. One that cannot be read is left for the run's
/// own resolver, which reports the error.
async fn attach_experiments(ctx: &Context<'_>, runs: &mut [Run]) {
    let mut found: std::collections::HashMap<String, Option<Experiment>> = Default::default();
    for run in runs.iter_mut() {
        if !found.contains_key(&run.experiment_id) {
            let experiment = run_experiment(ctx, &run.experiment_id).await.ok().flatten();
            found.insert(run.experiment_id.clone(), experiment);
        }
        run.known_experiment = found[&run.experiment_id].clone();
    }
}

/// Run IDs per version search when a page's versions are read together.
const RUNS_PER_VERSION_SEARCH: usize = 100;

/// Hands each run the versions registered from it that the caller may read, searched for a
/// hundred runs at a time.
async fn attach_versions(ctx: &Context<'_>, runs: &mut [Run]) -> Result<()> {
    let mut by_run: std::collections::HashMap<String, Vec<ModelVersion>> = Default::default();
    let ids: Vec<&str> = runs
        .iter()
        .map(|r| r.run_id.as_str())
        // Run IDs are hex digits; one with a quote names no run (and would not parse).
        .filter(|id| !id.contains('\''))
        .collect();
    for chunk in ids.chunks(RUNS_PER_VERSION_SEARCH) {
        let list = chunk
            .iter()
            .map(|id| format!("'{id}'"))
            .collect::<Vec<_>>()
            .join(", ");
        let mut page_token = None;
        loop {
            let search = SearchIn {
                filter: Some(format!("run_id IN ({list})")),
                page_token,
                ..SearchIn::default()
            };
            let page = versions(ctx, search).await?;
            for version in page.items {
                let run_id = version.run_id.clone().unwrap_or_default();
                by_run.entry(run_id).or_default().push(version.into());
            }
            match page.next_page_token {
                Some(token) => page_token = Some(token),
                None => break,
            }
        }
    }
    for run in runs {
        run.known_versions = Some(by_run.remove(&run.run_id).unwrap_or_default());
    }
    Ok(())
}

/// Model versions the caller may read, in the request's workspace.
async fn versions(
    ctx: &Context<'_>,
    search: SearchIn,
) -> Result<keel_core::Page<keel_core::ModelVersion>> {
    let e = env(ctx);
    let registry = e.state.registry.in_workspace(e.workspace.name());
    search_visible_versions(&e.state, &registry, &e.caller, &e.workspace, search)
        .await
        .map_err(|err| field_error(err.0))
}

/// `MlflowRunExtension.experiment`: the experiment of a run the caller may read.
pub(super) async fn run_experiment(
    ctx: &Context<'_>,
    experiment_id: &str,
) -> Result<Option<Experiment>> {
    let experiment = env(ctx)
        .state
        .tracking
        .get_experiment(experiment_id)
        .await
        .map_err(field_error)?;
    Ok(Some(experiment.into()))
}

/// `MlflowRunExtension.modelVersions`: the versions registered from the run that the caller
/// may read.
pub(super) async fn run_model_versions(
    ctx: &Context<'_>,
    run_id: &str,
) -> Result<Option<Vec<ModelVersion>>> {
    // Run IDs are hex digits; one with a quote names no run (and would not parse).
    if run_id.contains('\'') {
        return Ok(Some(Vec::new()));
    }
    let search = SearchIn {
        filter: Some(format!("run_id = '{run_id}'")),
        ..SearchIn::default()
    };
    let page = versions(ctx, search).await?;
    Ok(Some(
        page.items.into_iter().map(ModelVersion::from).collect(),
    ))
}
