//! `/graphql`: the reference's GraphQL API (its schema, root fields and answers), over the same
//! services and authorization as the REST routes.
//!
//! A request is parsed once, bounded ([`limits`]), validated and run by async-graphql, and
//! answered in the reference's envelope ([`envelope`]). The route only needs a signed-in
//! caller; each object is authorized in its resolver ([`resolvers`]).

pub mod envelope;
pub mod limits;
pub mod objects;
pub mod resolvers;

use std::sync::LazyLock;

use async_graphql::registry::{MetaDirective, MetaInputValue, Registry};
use async_graphql::{EmptySubscription, Schema};
use axum::extract::{FromRequestParts, State};
use axum::http::request::Parts;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use keel_core::Error;
use serde::Deserialize;

use crate::authz::Caller;
use crate::error::ApiError;
use crate::extract::MlflowRequest;
use crate::state::AppState;
use crate::workspace::ActiveWorkspace;
use resolvers::{Env, Mutation, Query};

type MlflowSchema = Schema<Query, Mutation, EmptySubscription>;

/// The schema holds no state (resolvers find the services in the request's data), so one
/// serves every server in the process.
static SCHEMA: LazyLock<MlflowSchema> = LazyLock::new(|| {
    Schema::build(Query, Mutation, EmptySubscription)
        .directive(Component)
        .finish()
});

/// A GraphQL request: a JSON body for POST, or the query string for GET (`variables` then a
/// JSON-encoded object).
#[derive(Debug, Default, Deserialize, schemars::JsonSchema)]
pub struct GraphqlIn {
    pub query: Option<String>,
    pub variables: Option<serde_json::Value>,
    #[serde(rename = "operationName")]
    pub operation_name: Option<String>,
}

/// The request's head, for the audit log's entries of denials and the query string.
pub struct Head(pub Parts);

impl<S: Send + Sync> FromRequestParts<S> for Head {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        Ok(Self(parts.clone()))
    }
}

/// `GET|POST /graphql`.
pub async fn serve(
    State(s): State<AppState>,
    caller: Caller,
    workspace: ActiveWorkspace,
    Head(head): Head,
    req: MlflowRequest<GraphqlIn>,
) -> Response {
    let limits = s.limits.graphql;
    let mut request = match prepare(req.message) {
        Ok(r) => r,
        Err(e) => return ApiError(e).into_response(),
    };
    let document = match request.parsed_query() {
        Ok(doc) => doc,
        Err(e) => {
            return ApiError(Error::invalid(format!(
                "The GraphQL query could not be parsed: {}",
                e.message
            )))
            .into_response();
        }
    };
    if limits::written_selections(document) > limits::MAX_DOCUMENT_SELECTIONS {
        return ApiError(Error::invalid(format!(
            "A GraphQL document may hold at most {} selections.",
            limits::MAX_DOCUMENT_SELECTIONS
        )))
        .into_response();
    }
    if let Some(message) = limits::check_query_safety(document, limits) {
        return json(envelope::refusal(&message));
    }
    let env = Env {
        state: s,
        caller,
        workspace,
        head,
    };
    let response = SCHEMA.execute(request.data(env)).await;
    json(envelope::write(&response))
}

/// The async-graphql request for `message`, once its query is known to nest shallowly enough
/// to parse.
fn prepare(message: GraphqlIn) -> Result<async_graphql::Request, Error> {
    let query = message
        .query
        .filter(|q| !q.trim().is_empty())
        .ok_or_else(|| Error::missing_parameter("query"))?;
    if limits::nesting_depth(&query) > limits::MAX_NESTING {
        return Err(Error::invalid(format!(
            "The GraphQL query nests brackets more than {} deep.",
            limits::MAX_NESTING
        )));
    }
    let variables = match message.variables {
        None | Some(serde_json::Value::Null) => serde_json::Map::new(),
        Some(serde_json::Value::Object(map)) => map,
        // In a query string, `variables` is JSON text.
        Some(serde_json::Value::String(text)) if !text.trim().is_empty() => {
            match serde_json::from_str(&text) {
                Ok(serde_json::Value::Object(map)) => map,
                Ok(serde_json::Value::Null) => serde_json::Map::new(),
                _ => return Err(variables_error()),
            }
        }
        Some(serde_json::Value::String(_)) => serde_json::Map::new(),
        Some(_) => return Err(variables_error()),
    };
    let mut request = async_graphql::Request::new(query)
        .variables(async_graphql::Variables::from_json(variables.into()));
    if let Some(name) = message.operation_name.filter(|n| !n.is_empty()) {
        request = request.operation_name(name);
    }
    Ok(request)
}

fn variables_error() -> Error {
    Error::invalid("Invalid value for parameter 'variables': it must be a JSON object.")
}

fn json(body: String) -> Response {
    (
        StatusCode::OK,
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        )],
        body,
    )
        .into_response()
}

/// `@component(name: String!)` on queries and mutations: the reference's web UI names the
/// component a query serves; accepted and ignored, as the reference does.
struct Component;

impl async_graphql::CustomDirectiveFactory for Component {
    fn name(&self) -> std::borrow::Cow<'static, str> {
        "component".into()
    }

    fn register(&self, registry: &mut Registry) {
        let name = MetaInputValue {
            name: "name".to_owned(),
            description: None,
            ty: "String!".to_owned(),
            deprecation: Default::default(),
            default_value: None,
            visible: None,
            inaccessible: false,
            tags: Vec::new(),
            is_secret: false,
            directive_invocations: Vec::new(),
        };
        registry.add_directive(MetaDirective {
            name: "component".to_owned(),
            description: None,
            locations: vec![
                async_graphql::registry::__DirectiveLocation::QUERY,
                async_graphql::registry::__DirectiveLocation::MUTATION,
            ],
            args: [("name".to_owned(), name)].into_iter().collect(),
            is_repeatable: false,
            visible: None,
            composable: None,
        });
    }

    fn create(
        &self,
        _ctx: &async_graphql::ContextDirective<'_>,
        _directive: &async_graphql::parser::types::Directive,
    ) -> async_graphql::ServerResult<Box<dyn async_graphql::CustomDirective>> {
        // Only called for directives on fields, where `@component` cannot be placed.
        Ok(Box::new(Ignored))
    }
}

struct Ignored;

impl async_graphql::CustomDirective for Ignored {}
