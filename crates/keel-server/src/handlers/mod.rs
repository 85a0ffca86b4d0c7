//! Thin HTTP handlers: extract the wire message, call one domain function, shape the response.

pub mod access;
pub mod accounts;
pub mod artifact_headers;
pub mod artifacts;
pub mod audit;
pub mod experiments;
pub mod gateway;
pub mod gateway_budgets;
pub mod gateway_calls;
pub mod gateway_guardrails;
pub mod logged_models;
pub mod meta;
pub mod multipart;
pub mod presigned;
pub mod promptlab;
pub mod registry;
pub mod runs;
pub mod session;
pub mod stream;
pub mod tokens;
pub mod trace_edits;
pub mod trace_search;
pub mod trace_spans;
pub mod traces;
pub mod traces_v2;
pub mod ui;
pub mod webhooks;
pub mod workspaces;

use axum::Json;
use serde::Serialize;

/// The `{}` body of responses that carry nothing.
#[derive(Debug, Serialize, schemars::JsonSchema)]
pub struct Empty {}

pub fn empty() -> Json<Empty> {
    Json(Empty {})
}
