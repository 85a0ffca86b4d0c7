//! Shared state handed to every handler.

use keel_core::Tracking;

/// What handlers need: the domain services.
#[derive(Debug, Clone)]
pub struct AppState {
    pub tracking: Tracking,
}
