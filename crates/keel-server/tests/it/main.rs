//! The keel-server integration tests: the whole app in-process over a real SQLite store.
//!
//! One test binary (see matklad's "Delete Cargo Integration Tests"); each module covers one
//! concern and drives the router with `tower::ServiceExt::oneshot`.

mod artifact_security;
mod audit;
mod authz;
mod authz_cves;
mod bad_input;
mod batch;
mod connections;
mod fuzz;
mod gateway;
mod history;
mod limits;
mod logged_models;
mod metrics;
mod multipart;
mod oidc;
mod openapi;
mod registry;
mod search;
mod semantics;
mod session;
mod support;
mod tls;
mod tokens;
mod trace_ids;
mod trace_search;
mod trace_spans;
mod traces;
mod ui;
mod webhooks;
mod wire;
mod workspaces;
