//! Identity and access: who a caller is (users, service accounts, API tokens, passwords) and
//! what they may do (MLflow's permission levels, decided by Cedar policies).
//!
//! No HTTP here: the server crate extracts credentials and resources from requests and asks
//! this crate.

pub mod actions;
pub mod admin;
pub mod assess;
pub mod cache;
pub mod cached_store;
pub mod entities;
pub mod grants;
pub mod oidc;
pub mod password;
pub mod permission;
pub mod policy;
pub mod scope;
pub mod service;
pub mod store;
pub mod throttle;
pub mod token;
pub mod ttl;

pub use actions::{Action, ResourceKind};
pub use permission::{Capability, Permission};
