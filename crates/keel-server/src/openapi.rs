//! The OpenAPI 3.1 description of every route, generated — never written by hand — from the
//! route table (methods, paths, actions, resource kinds) and the wire types (JSON Schemas
//! derived with schemars). Each handler's signature says what it reads and answers: an
//! [`MlflowRequest<T>`] argument is the JSON body (or, for GET, the query string) shaped as `T`,
//! an `ApiResult<Json<U>>` result is a 200 shaped as `U`; routes whose handlers answer a raw
//! `Response` say what it is in the table ([`crate::routes::Route::responds`]).
//! Served at `/api/openapi.json`.

use std::future::Future;
use std::sync::OnceLock;

use axum::Json;
use axum::body::Body;
use axum::extract::rejection::{PathRejection, QueryRejection};
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, Method, Uri};
use axum::response::Response;
use schemars::generate::{Contract, SchemaSettings};
use schemars::{JsonSchema, Schema, SchemaGenerator};
use serde_json::{Map, Value, json};

use crate::error::{ApiError, ApiResult};
use crate::extract::MlflowRequest;
use crate::routes::Route;
use crate::state::AppState;

/// A schema, made on demand by the generator of its direction.
pub type SchemaFn = fn(&mut SchemaGenerator) -> Schema;

fn schema_of<T: JsonSchema>(g: &mut SchemaGenerator) -> Schema {
    g.subschema_for::<T>()
}

/// A JSON answer shaped as `T`.
pub fn json<T: JsonSchema>() -> ResponseDoc {
    ResponseDoc::Json(schema_of::<T>)
}

/// What a 2xx answer of a route is.
#[derive(Debug, Clone, Copy, Default)]
pub enum ResponseDoc {
    /// JSON shaped as the schema.
    Json(SchemaFn),
    /// Plain text.
    Text,
    /// Whatever the stored file or the client's encoding is (artifact downloads, OTLP).
    #[default]
    Any,
    /// A `302 Found` to another page (single sign-on).
    Redirect,
}

/// What an operation reads and answers, as its handler's signature says.
#[derive(Debug, Clone, Copy, Default)]
pub struct OperationDoc {
    /// The wire message of an [`MlflowRequest`] argument.
    pub request: Option<SchemaFn>,
    /// The query string of a request whose body is not its message (a [`Query`] argument).
    pub query: Option<SchemaFn>,
    /// The handler streams the raw request body (artifact uploads, OTLP).
    pub raw_body: bool,
    pub response: ResponseDoc,
}

/// What one handler argument (an axum extractor) adds to its operation's description.
pub trait DocArg {
    fn describe(_op: &mut OperationDoc) {}
}

impl DocArg for State<AppState> {}
impl DocArg for crate::authz::Caller {}
impl DocArg for crate::workspace::ActiveWorkspace {}
impl DocArg for crate::workspace::WorkspaceRegistry {}
impl DocArg for crate::workspace::WorkspaceWebhooks {}
impl DocArg for crate::handlers::session::Origin {}
impl DocArg for HeaderMap {}
impl DocArg for crate::graphql::Head {}
impl DocArg for Uri {}
impl DocArg for Method {}
impl<P> DocArg for Path<P> {}
impl<P> DocArg for Result<Path<P>, PathRejection> {}

impl DocArg for Body {
    fn describe(op: &mut OperationDoc) {
        op.raw_body = true;
    }
}

impl<T: JsonSchema> DocArg for Result<Query<T>, QueryRejection> {
    fn describe(op: &mut OperationDoc) {
        op.query = Some(schema_of::<T>);
    }
}

impl<T: JsonSchema> DocArg for MlflowRequest<T> {
    fn describe(op: &mut OperationDoc) {
        op.request = Some(schema_of::<T>);
    }
}

/// What a handler's result says of its answer.
pub trait DocReturn {
    fn response() -> ResponseDoc;
}

impl<U: JsonSchema> DocReturn for ApiResult<Json<U>> {
    fn response() -> ResponseDoc {
        ResponseDoc::Json(schema_of::<U>)
    }
}

impl<U: JsonSchema> DocReturn for Json<U> {
    fn response() -> ResponseDoc {
        ResponseDoc::Json(schema_of::<U>)
    }
}

impl DocReturn for ApiResult<Response> {
    fn response() -> ResponseDoc {
        ResponseDoc::Any
    }
}

impl DocReturn for Response {
    fn response() -> ResponseDoc {
        ResponseDoc::Any
    }
}

impl DocReturn for ApiError {
    fn response() -> ResponseDoc {
        ResponseDoc::Any
    }
}

/// The description of a handler, from its arguments and result (the marker `M` tells the
/// arities apart, as axum's `Handler` does).
pub trait Describe<M> {
    fn doc() -> OperationDoc;
}

macro_rules! describe_fn {
    ($($arg:ident),*) => {
        impl<F, Fut, R, $($arg,)*> Describe<(R, $($arg,)*)> for F
        where
            F: FnOnce($($arg,)*) -> Fut,
            Fut: Future<Output = R>,
            R: DocReturn,
            $($arg: DocArg,)*
        {
            fn doc() -> OperationDoc {
                #[allow(unused_mut)]
                let mut op = OperationDoc::default();
                $($arg::describe(&mut op);)*
                op.response = R::response();
                op
            }
        }
    };
}

describe_fn!();
describe_fn!(A1);
describe_fn!(A1, A2);
describe_fn!(A1, A2, A3);
describe_fn!(A1, A2, A3, A4);
describe_fn!(A1, A2, A3, A4, A5);
describe_fn!(A1, A2, A3, A4, A5, A6);

/// The document as JSON text, built once from the route table.
pub fn document() -> &'static str {
    static DOC: OnceLock<String> = OnceLock::new();
    DOC.get_or_init(|| build(&crate::routes::table()).to_string())
}

/// Builds the OpenAPI 3.1 document of `routes`. Request schemas are inlined (their types are
/// read with serde's deserialize rules); response schemas are shared under
/// `#/components/schemas` (written with the serialize rules: fields left out when empty are
/// not required).
pub fn build(routes: &[Route]) -> Value {
    let mut requests = SchemaSettings::draft2020_12()
        .with(|s| {
            s.inline_subschemas = true;
            s.meta_schema = None;
            s.contract = Contract::Deserialize;
        })
        .into_generator();
    let mut responses = SchemaSettings::draft2020_12()
        .with(|s| {
            s.definitions_path = "/components/schemas".into();
            s.meta_schema = None;
            s.contract = Contract::Serialize;
        })
        .into_generator();
    let mut paths: Map<String, Value> = Map::new();
    for route in routes {
        let doc = route.doc;
        for (i, path) in route.mount.paths(route.path).into_iter().enumerate() {
            let operation = operation(route, &doc, i, &path, &mut requests, &mut responses);
            let (openapi_path, _) = openapi_path(&path);
            let item = paths
                .entry(openapi_path)
                .or_insert_with(|| Value::Object(Map::new()));
            if let Value::Object(item) = item {
                item.insert(route.method.as_str().to_ascii_lowercase(), operation);
            }
        }
    }
    let mut schemas = responses.take_definitions(true);
    schemas.insert("Error".into(), error_schema());
    schemas.insert(
        "GatewayError".into(),
        json!({
            "type": "object",
            "properties": {"detail": {"type": ["string", "object"]}},
            "required": ["detail"],
        }),
    );
    json!({
        "openapi": "3.1.0",
        "info": {
            "title": "Keel",
            "version": env!("CARGO_PKG_VERSION"),
            "description": "Keel's HTTP API: the MLflow REST API (tracking, artifacts, logged \
                models, model and prompt registry, webhooks, traces) and Keel's own routes. \
                Generated from Keel's route table and wire types. Every route under \
                /api/ is also served under /ajax-api/. Errors are \
                {\"error_code\", \"message\"} with MLflow's HTTP status per code; the AI \
                gateway's calls (/gateway/...) answer theirs as {\"detail\": ...}.",
        },
        "paths": paths,
        "components": {"schemas": schemas},
    })
}

/// An axum path (`/runs/{run_id}`, `/artifacts/{*path}`) as an OpenAPI path, with its
/// parameter names.
fn openapi_path(path: &str) -> (String, Vec<String>) {
    let mut names = Vec::new();
    let mut out = String::with_capacity(path.len());
    let mut rest = path;
    while let Some(open) = rest.find('{') {
        out.push_str(&rest[..open]);
        let Some(close) = rest[open..].find('}') else {
            break;
        };
        let name = rest[open + 1..open + close].trim_start_matches('*');
        out.push('{');
        out.push_str(name);
        out.push('}');
        names.push(name.to_owned());
        rest = &rest[open + close + 1..];
    }
    out.push_str(rest);
    (out, names)
}

fn operation(
    route: &Route,
    doc: &OperationDoc,
    mount_index: usize,
    path: &str,
    requests: &mut SchemaGenerator,
    responses: &mut SchemaGenerator,
) -> Value {
    let (_, path_params) = openapi_path(path);
    let mut parameters: Vec<Value> = path_params
        .iter()
        .map(|name| {
            json!({"name": name, "in": "path", "required": true, "schema": {"type": "string"}})
        })
        .collect();
    let mut op = Map::new();
    let prefix = if mount_index == 0 { "" } else { "ajax_" };
    op.insert(
        "operationId".into(),
        json!(format!(
            "{prefix}{}_{}",
            route.method.as_str().to_ascii_lowercase(),
            path.trim_start_matches('/')
                .replace(['/', '.', '-', '{', '}', '*'], "_")
        )),
    );
    op.insert("summary".into(), json!(route.meta.action));
    op.insert("tags".into(), json!([format!("{:?}", route.meta.resource)]));
    let reads_query = matches!(route.method, Method::GET | Method::HEAD);
    if let Some(request) = doc.request {
        let schema = request(requests).to_value();
        if reads_query {
            parameters.extend(query_parameters(&schema));
        } else {
            op.insert(
                "requestBody".into(),
                json!({"content": {"application/json": {"schema": schema}}}),
            );
        }
    } else if doc.raw_body {
        op.insert(
            "requestBody".into(),
            json!({"content": {"application/octet-stream": {"schema": {}}}}),
        );
    }
    if let Some(query) = doc.query {
        parameters.extend(query_parameters(&query(requests).to_value()));
    }
    if !parameters.is_empty() {
        op.insert("parameters".into(), Value::Array(parameters));
    }
    let (ok_status, ok) = success(doc.response, responses);
    // The AI gateway's calls answer errors as the reference's gateway does.
    let error = if path.starts_with("/gateway/") {
        json!({
            "description": "A gateway error ({\"detail\": ...}), or an MLflow error from \
                authentication.",
            "content": {"application/json": {"schema": {"oneOf": [
                {"$ref": "#/components/schemas/GatewayError"},
                {"$ref": "#/components/schemas/Error"},
            ]}}},
        })
    } else {
        json!({
            "description": "An MLflow error.",
            "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}},
        })
    };
    op.insert(
        "responses".into(),
        json!({ ok_status: ok, "default": error }),
    );
    Value::Object(op)
}

/// The status and description of a successful response.
fn success(response: ResponseDoc, responses: &mut SchemaGenerator) -> (&'static str, Value) {
    let body = |content: Value| json!({"description": "Success.", "content": content});
    match response {
        ResponseDoc::Json(schema) => (
            "200",
            body(json!({"application/json": {"schema": schema(responses).to_value()}})),
        ),
        ResponseDoc::Text => (
            "200",
            body(json!({"text/plain": {"schema": {"type": "string"}}})),
        ),
        ResponseDoc::Any => (
            "200",
            json!({
                "description": "Success: the body is the stored file or in the request's encoding.",
                "content": {"*/*": {"schema": {}}},
            }),
        ),
        ResponseDoc::Redirect => (
            "302",
            json!({
                "description": "Found: the browser is sent on (the Location header).",
                "headers": {"Location": {"schema": {"type": "string"}}},
            }),
        ),
    }
}

/// A GET request's message as query parameters: one per property, repeated for lists.
fn query_parameters(schema: &Value) -> Vec<Value> {
    let required: Vec<&str> = schema
        .get("required")
        .and_then(Value::as_array)
        .map(|r| r.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default();
    let Some(properties) = schema.get("properties").and_then(Value::as_object) else {
        return Vec::new();
    };
    properties
        .iter()
        .map(|(name, property)| {
            json!({
                "name": name,
                "in": "query",
                "required": required.contains(&name.as_str()),
                "style": "form",
                "explode": true,
                "schema": query_schema(property),
            })
        })
        .collect()
}

/// A property's schema as a query string carries it: text, or a list of texts. (The server
/// reads numbers and booleans from their text; the schema says which text is meant.)
fn query_schema(property: &Value) -> Value {
    let is_array = property
        .get("type")
        .is_some_and(|t| t == "array" || t.as_array().is_some_and(|a| a.contains(&json!("array"))));
    if is_array {
        let items = property.get("items").cloned().unwrap_or_else(|| json!({}));
        json!({"type": "array", "items": scalar_schema(&items)})
    } else {
        scalar_schema(property)
    }
}

fn scalar_schema(schema: &Value) -> Value {
    let types: Vec<&str> = match schema.get("type") {
        Some(Value::String(t)) => vec![t.as_str()],
        Some(Value::Array(ts)) => ts.iter().filter_map(Value::as_str).collect(),
        _ => Vec::new(),
    };
    if types.contains(&"integer") {
        json!({"type": "integer", "format": "int64", "minimum": i64::MIN, "maximum": i64::MAX})
    } else if types.contains(&"number") {
        json!({"type": "number"})
    } else if types.contains(&"boolean") {
        json!({"type": "boolean"})
    } else if let Some(values) = schema.get("enum") {
        json!({"type": "string", "enum": values})
    } else {
        json!({"type": "string"})
    }
}

/// MLflow's error body.
fn error_schema() -> Value {
    json!({
        "type": "object",
        "properties": {
            "error_code": {"type": "string"},
            "message": {"type": "string"},
        },
        "required": ["error_code", "message"],
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_become_openapi_templates() {
        assert_eq!(
            openapi_path("/api/2.0/mlflow-artifacts/artifacts/{*path}"),
            (
                "/api/2.0/mlflow-artifacts/artifacts/{path}".to_owned(),
                vec!["path".to_owned()]
            )
        );
        assert_eq!(openapi_path("/health"), ("/health".to_owned(), Vec::new()));
    }

    #[test]
    fn every_route_is_described() {
        let routes = crate::routes::table();
        let doc = build(&routes);
        let paths = doc["paths"].as_object().expect("paths");
        for route in &routes {
            for path in route.mount.paths(route.path) {
                let (openapi, _) = openapi_path(&path);
                let method = route.method.as_str().to_ascii_lowercase();
                assert!(
                    paths.get(&openapi).and_then(|p| p.get(&method)).is_some(),
                    "{method} {openapi} is missing"
                );
            }
        }
        // A JSON route documents its body and answer with the wire types.
        let create = &paths["/api/2.0/mlflow/runs/create"]["post"];
        let body = &create["requestBody"]["content"]["application/json"]["schema"];
        assert!(body["properties"]["experiment_id"].is_object(), "{body}");
        let ok = &create["responses"]["200"]["content"]["application/json"]["schema"];
        assert!(
            ok["$ref"]
                .as_str()
                .is_some_and(|r| r.starts_with("#/components/schemas/")),
            "{ok}"
        );
        // A GET route reads its message from the query string.
        let get = &paths["/api/2.0/mlflow/runs/get"]["get"];
        let params = get["parameters"].as_array().expect("parameters");
        assert!(
            params
                .iter()
                .any(|p| p["name"] == "run_id" && p["in"] == "query"),
            "{get}"
        );
        // Every $ref resolves.
        let text = doc.to_string();
        let schemas = doc["components"]["schemas"].as_object().expect("schemas");
        for part in text.split("\"$ref\":\"#/components/schemas/").skip(1) {
            let name = part.split('"').next().expect("name");
            assert!(schemas.contains_key(name), "unresolved $ref {name}");
        }
    }
}
