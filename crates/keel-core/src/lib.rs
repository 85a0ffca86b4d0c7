//! Keel's domain layer: entities, validation rules, store traits and the services that use them.
//!
//! Nothing here knows about HTTP or SQL. Services create IDs and timestamps; stores persist what
//! they are given.

pub mod clock;
pub mod entities;
pub mod error;
pub mod names;
pub mod paging;
pub mod store;
pub mod tracking;
pub mod uri;
pub mod validation;

pub use entities::*;
pub use error::{Error, ErrorCode, Result};
pub use store::TrackingStore;
pub use tracking::Tracking;
