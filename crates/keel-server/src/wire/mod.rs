//! Wire types of the MLflow REST API, separate from domain types and converted explicitly.

pub mod assessments;
pub mod audit;
pub mod auth;
pub mod entities;
pub mod gateway;
pub mod logged_models;
pub mod otlp;
pub mod proto;
pub mod registry;
pub mod requests;
pub mod trace_analytics;
pub mod trace_spans;
pub mod traces;
pub mod traces_v2;
pub mod webhooks;
